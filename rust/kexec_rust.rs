// SPDX-License-Identifier: GPL-2.0

//! kexec and kdump in Rust.
//!
//! This crate is linked into vmlinux when `CONFIG_KEXEC_RUST=y`. In this version it
//! serves the kexec_load system call (checks, segment validation, image set-up and
//! install); the kimage internals, kexec_file_load, the kexec reboot, the crash path
//! and /proc/vmcore are still served by the C implementation. Later versions move
//! those here one by one, and the boot banner names which parts are in Rust.
//!
//! `segment`, `request` and `entry` are pure logic, also built and tested on the
//! host (tools/logic); `load` is the kernel-facing layer.

use kernel::prelude::*;

pub mod entry;
mod load;
pub mod request;
pub mod segment;

module! {
    type: KexecRust,
    name: "kexec_rust",
    authors: ["kexec_rust developers"],
    description: "kexec and kdump in Rust",
    license: "GPL",
}

/// Which implementation serves each part of kexec/kdump in this build.
const PARTS: &str = "kexec_load: Rust, kimage: C, kexec reboot: C, crash: C, vmcore: C";

struct KexecRust;

impl kernel::Module for KexecRust {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("Rust kexec/kdump overlay active ({PARTS})\n");
        Ok(KexecRust)
    }
}

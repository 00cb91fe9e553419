// SPDX-License-Identifier: GPL-2.0

//! kexec and kdump in Rust.
//!
//! This crate is linked into vmlinux when `CONFIG_KEXEC_RUST=y`, and replaces
//! kernel/kexec.c and kernel/kexec_core.c: the kexec_load system call, the
//! kimage (its pages, entry list and control pages), the kexec reboot, the
//! kexec lock and images, the load sysctls and `/sys/kernel/kexec*` (`kexec`).
//! With `CONFIG_KEXEC_RUST_CRASH` it also replaces kernel/crash_reserve.c,
//! kernel/crash_core.c and kernel/vmcore_info.c: `crashkernel=` and the
//! reservation, the panic path, the CPU notes, the elfcorehdr and VMCOREINFO
//! (`crash`). With `CONFIG_KEXEC_RUST_RELOCATE` it also replaces the arch's
//! machine_kexec and relocate stub (x86_64: arch/x86/kernel/machine_kexec_64.c
//! and relocate_kernel_64.S; arm64: machine_kexec.c, relocate_kernel.S and
//! cpu-reset.S): `machine_kexec` (arch/<arch>/machine_kexec.rs of the overlay,
//! a module of this crate) and the assembly stub next to it. With
//! `CONFIG_KEXEC_RUST_FILE` it also replaces kernel/kexec_file.c and the arch's
//! loader (x86_64: kexec-bzimage64.c; arm64: kexec_image.c and
//! machine_kexec_file.c): kexec_file_load and the bzImage or Image loader
//! (`file`; without it the C kexec_file_load calls into this crate through
//! the C functions it provides).
//! With `CONFIG_KEXEC_RUST_VMCORE` the capture kernel's side is
//! ours too, in place of fs/proc/vmcore.c, arch/x86/kernel/crash_dump_64.c
//! and kernel/elfcorehdr.c: `elfcorehdr=` and /proc/vmcore (`vmcore`). The
//! boot banner names which parts are in Rust.
//!
//! `segment`, `request`, `entry`, `control`, `crashkernel`, `elfcore`,
//! `corehdr`, `vmcoreinfo`, `purgatory`, `hole`, `bzimage` and `arm64_image` are pure logic, also built and tested on the
//! host (tools/logic). The kernel-facing layer is in folders, one per part:
//! `kexec/`, `crash/`, `file/` and `vmcore/` here, `machine_kexec` and the
//! file loaders in arch/<arch>/ of the overlay.
//! Each has an `ffi` module, the functions C calls, which turn C pointers into
//! Rust types at once; the types at the edge (`kexec::page::Pages`,
//! `kexec::image::Kimage` and its owner `ImageBox`,
//! `crash::reserve::CrashResource`, ...) state their invariants and hold the
//! `unsafe` that touches C's structures.

use kernel::prelude::*;

mod abi;
#[cfg(all(CONFIG_KEXEC_RUST_FILE, CONFIG_ARM64))]
pub mod arm64_image;
#[cfg(CONFIG_KEXEC_RUST_FILE)]
pub mod bzimage;
pub mod control;
pub mod corehdr;
#[cfg(CONFIG_KEXEC_RUST_CRASH)]
mod crash;
pub mod crashkernel;
pub mod elfcore;
pub mod entry;
#[cfg(CONFIG_KEXEC_RUST_FILE)]
mod file;
#[cfg(CONFIG_KEXEC_RUST_FILE)]
pub mod hole;
mod kexec;
#[cfg(CONFIG_KEXEC_RUST_RELOCATE)]
#[cfg_attr(CONFIG_X86_64, path = "../arch/x86/machine_kexec.rs")]
#[cfg_attr(CONFIG_ARM64, path = "../arch/arm64/machine_kexec.rs")]
mod machine_kexec;
pub mod purgatory;
pub mod request;
pub mod segment;
#[cfg(CONFIG_KEXEC_RUST_VMCORE)]
mod vmcore;
pub mod vmcoreinfo;

module! {
    type: KexecRust,
    name: "kexec_rust",
    authors: ["kexec_rust developers"],
    description: "kexec and kdump in Rust",
    license: "GPL",
}

/// Which implementation serves each part of kexec/kdump in this build.
fn part(rust: bool) -> &'static str {
    if rust {
        "Rust"
    } else {
        "C"
    }
}

struct KexecRust;

impl kernel::Module for KexecRust {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!(
            "Rust kexec/kdump overlay active (kexec_load: Rust, kimage: Rust, kexec reboot: Rust, \
             machine_kexec and relocate stub: {}, kexec_file: {}, crash: {}, vmcore: {})\n",
            if cfg!(CONFIG_KEXEC_RUST_RELOCATE) {
                "Rust+asm"
            } else {
                "C"
            },
            part(cfg!(CONFIG_KEXEC_RUST_FILE)),
            part(cfg!(CONFIG_KEXEC_RUST_CRASH)),
            part(cfg!(CONFIG_KEXEC_RUST_VMCORE)),
        );
        kexec::state::register_sysctls();
        kexec::sysfs::register()?;
        Ok(KexecRust)
    }
}

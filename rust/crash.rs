// SPDX-License-Identifier: GPL-2.0

//! kdump in the crashed kernel (`CONFIG_KEXEC_RUST_CRASH`), in place of
//! kernel/crash_reserve.c, kernel/crash_core.c and kernel/vmcore_info.c.
//!
//! * `reserve`: `crashk_res` and `crashk_low_res` ([`reserve::CrashResource`]),
//!   `crashkernel=` at early boot and the reservation, and shrinking it through
//!   `/sys/kernel/kexec_crash_size`.
//! * `panic`: the panic path into the crash image, the per-CPU crash notes,
//!   and CPU hotplug updates of a loaded crash image.
//! * `headers`: the elfcorehdr that kexec_file_load gives a crash image.
//! * `vmcoreinfo`: the running kernel's VMCOREINFO and its safe copy.
//! * `ffi`: the C interface, which turns C pointers into Rust types at once.

mod ffi;
mod headers;
mod panic;
pub(crate) mod reserve;
mod vmcoreinfo;

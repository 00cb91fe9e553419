// SPDX-License-Identifier: GPL-2.0

//! The kexec core, in place of kernel/kexec.c and kernel/kexec_core.c.
//!
//! * `page`: the image's pages as owned values ([`page::Pages`], the C page
//!   lists, and page access by physical address); with `image`'s accessor, the
//!   only code that touches `struct page`.
//! * `image`: [`image::Kimage`], the image as a Rust type over C's `struct
//!   kimage`, and [`image::ImageBox`], which owns one.
//! * `state`: the image slots, the kexec lock, the load sysctls.
//! * `reservation`: the crash kernel reservation as the load path reads it.
//! * `load`: the kexec_load system call.
//! * `reboot`: the kexec reboot.
//! * `sysfs`: `/sys/kernel/kexec/` and its old names.
//! * `ffi`: the C interface (the functions C calls), which turns C pointers
//!   into the types above at once.

pub(crate) mod ffi;
pub(crate) mod image;
pub(crate) mod load;
pub(crate) mod page;
mod reboot;
pub(crate) mod reservation;
pub(crate) mod state;
pub(crate) mod sysfs;

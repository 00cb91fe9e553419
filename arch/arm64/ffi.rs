// SPDX-License-Identifier: GPL-2.0

//! The C interface of the arm64 arch side: the functions of
//! arch/arm64/kernel/machine_kexec.c that the kexec core (ours, or C's
//! kexec_file.c) and the panic path call, and the allocator the trans_pgd
//! library calls back. Each turns its C arguments into Rust types at once;
//! signatures are checked against bindgen's prototypes.

use super::*;
use crate::kexec::ffi::matches_c;

/// Checks that `image` can be jumped to (`machine_kexec_prepare`).
///
/// # Safety
///
/// `image` is an image being loaded that the caller uses alone.
#[no_mangle]
pub(crate) unsafe extern "C" fn machine_kexec_prepare(image: *mut bindings::kimage) -> c_int {
    // SAFETY: by the caller's contract.
    match prepare(unsafe { Kimage::from_raw(image) }) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
matches_c!(machine_kexec_prepare: unsafe extern "C" fn(*mut bindings::kimage) -> c_int);

/// Nothing to undo (`machine_kexec_cleanup`): the tables and the stub's copy
/// are control pages, which go with the image.
///
/// # Safety
///
/// `image` is an image being freed.
#[no_mangle]
pub(crate) unsafe extern "C" fn machine_kexec_cleanup(_image: *mut bindings::kimage) {}
matches_c!(machine_kexec_cleanup: unsafe extern "C" fn(*mut bindings::kimage));

/// Readies a loaded image for the jump (`machine_kexec_post_load`).
///
/// # Safety
///
/// `image` is an image whose segments are loaded, which the caller uses alone
/// under the kexec lock.
#[no_mangle]
pub(crate) unsafe extern "C" fn machine_kexec_post_load(image: *mut bindings::kimage) -> c_int {
    // SAFETY: by the caller's contract.
    match post_load(unsafe { Kimage::from_raw(image) }) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
matches_c!(machine_kexec_post_load: unsafe extern "C" fn(*mut bindings::kimage) -> c_int);

/// Jumps to `image` (`machine_kexec`); does not return.
///
/// # Safety
///
/// `image` is the loaded image, made ready by `machine_kexec_post_load` and
/// held by the caller (under the kexec lock) for the jump.
#[no_mangle]
pub(crate) unsafe extern "C" fn machine_kexec(image: *mut bindings::kimage) {
    // SAFETY: by the caller's contract.
    jump(unsafe { Kimage::from_raw(image) })
}
matches_c!(machine_kexec: unsafe extern "C" fn(*mut bindings::kimage));

/// Stops the other CPUs and saves this one's registers
/// (`machine_crash_shutdown`).
///
/// # Safety
///
/// Called once on the panic path by the CPU that owns the panic, with valid
/// `regs`.
#[no_mangle]
pub(crate) unsafe extern "C" fn machine_crash_shutdown(regs: *mut bindings::pt_regs) {
    // SAFETY: by the caller's contract.
    unsafe { crash_shutdown(regs) }
}
matches_c!(machine_crash_shutdown: unsafe extern "C" fn(*mut bindings::pt_regs));

/// `trans_pgd_info::trans_alloc_page`: a zeroed control page of the image in
/// `arg`, or null.
///
/// # Safety
///
/// `arg` is the image whose tables are being built (`Tables::new` sets it),
/// which the library uses alone.
pub(super) unsafe extern "C" fn alloc_table_page(arg: *mut c_void) -> *mut c_void {
    // SAFETY: by the contract.
    let image = unsafe { Kimage::from_raw(arg.cast()) };
    super::alloc_table_page(image).map_or(core::ptr::null_mut(), |va| va as *mut c_void)
}

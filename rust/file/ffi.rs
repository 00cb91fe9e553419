// SPDX-License-Identifier: GPL-2.0

//! The C interface of kexec_file_load: the system call's entry (from
//! kexec_glue.c), `kexec_add_buffer` and `kexec_locate_mem_hole` for the C
//! code that adds buffers to an image being built (crash.c's ELF core
//! header), and `kimage_file_post_load_cleanup`, which `kimage_free` runs for
//! a file-mode image.

use super::{load, place};
use crate::kexec::ffi::matches_c;
use crate::kexec::image::Kimage;
use kernel::bindings;
use kernel::prelude::*;

/// Entry point of the kexec_file_load system call. The descriptors are the
/// `int`s the syscall wrapper truncated the registers to.
#[no_mangle]
pub(crate) extern "C" fn kexec_rust_file_load(
    kernel_fd: c_int,
    initrd_fd: c_int,
    cmdline_len: c_ulong,
    cmdline_ptr: *const c_char,
    flags: c_ulong,
) -> c_long {
    // `cmdline_ptr` is a user address: only `memdup_user` reads through it.
    let req = load::Request {
        kernel_fd,
        initrd_fd,
        cmdline_len: cmdline_len as u64,
        cmdline_ptr: cmdline_ptr as usize,
        flags: flags as u64,
    };
    match load::file_load(req) {
        Ok(()) => 0,
        Err(e) => e.to_errno() as c_long,
    }
}

/// Places the buffer `kbuf` describes and adds it to `kbuf->image`
/// (`kexec_add_buffer`).
///
/// # Safety
///
/// `kbuf` is valid, and its image is one kexec_file_load is building, which
/// the caller (called by that load, under the kexec lock) uses alone; the
/// buffer stays valid until the load's segments are copied.
#[no_mangle]
pub(crate) unsafe extern "C" fn kexec_add_buffer(kbuf: *mut bindings::kexec_buf) -> c_int {
    // SAFETY: by the contract.
    let (kbuf, image) = unsafe { (&mut *kbuf, Kimage::from_raw((*kbuf).image)) };
    match place::add(image, kbuf) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
matches_c!(kexec_add_buffer: unsafe extern "C" fn(*mut bindings::kexec_buf) -> c_int);

/// Finds a place for `kbuf` without adding it (`kexec_locate_mem_hole`).
///
/// # Safety
///
/// As for [`kexec_add_buffer`].
#[no_mangle]
pub(crate) unsafe extern "C" fn kexec_locate_mem_hole(kbuf: *mut bindings::kexec_buf) -> c_int {
    // SAFETY: by the contract.
    let (kbuf, image) = unsafe { (&mut *kbuf, Kimage::from_raw((*kbuf).image)) };
    match place::locate(image, kbuf) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
matches_c!(kexec_locate_mem_hole: unsafe extern "C" fn(*mut bindings::kexec_buf) -> c_int);

/// Frees what a file-mode load left in the image (`kimage_file_post_load_cleanup`).
///
/// # Safety
///
/// `image` is a file-mode image being freed or finished, used alone, under
/// the kexec lock.
#[no_mangle]
pub(crate) unsafe extern "C" fn kimage_file_post_load_cleanup(image: *mut bindings::kimage) {
    // SAFETY: by the contract.
    load::post_load_cleanup(unsafe { Kimage::from_raw(image) });
}
matches_c!(kimage_file_post_load_cleanup: unsafe extern "C" fn(*mut bindings::kimage));

// SPDX-License-Identifier: GPL-2.0

//! The C interface of the kexec core: the functions of kernel/kexec.c and
//! kernel/kexec_core.c that the rest of the kernel calls (the syscall glue,
//! reboot, kernel/kexec_file.c, IMA, the crash code).
//!
//! Each one turns its C arguments into owned or borrowed Rust types at once
//! and calls the safe code of the other modules; a function that takes a
//! pointer is `unsafe` and says what it relies on. The signatures are checked
//! at build time against the C prototypes that bindgen generates from the
//! kernel's headers ([`matches_c`]).

use super::image::{ImageBox, Kimage};
use super::page::PageList;
use super::state::{self, KexecLock};
use super::{load, reboot, sysfs};
use crate::control;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::ordering;

/// Checks at build time that our definition of a C function has the type of
/// the prototype bindgen generated for it.
macro_rules! matches_c {
    ($name:ident : $ty:ty) => {
        const _: [$ty; 2] = [$name, bindings::$name];
    };
}
pub(crate) use matches_c;

fn errno_of(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Entry point of the kexec_load system call (native and compat), from kexec_glue.c.
#[no_mangle]
pub(crate) extern "C" fn kexec_rust_load(
    entry: c_ulong,
    nr_segments: c_ulong,
    segments: *mut c_void,
    flags: c_ulong,
    compat: bool,
) -> c_long {
    // `segments` is a user address: only `UserSlice` reads through it.
    errno_of(load::load(
        entry as u64,
        nr_segments as u64,
        segments as usize,
        flags as u64,
        compat,
    )) as c_long
}

/// Boots the loaded image (`kernel_kexec`): `-EBUSY` if a load holds the kexec
/// lock, `-EINVAL` if no image is loaded; otherwise it does not return.
#[no_mangle]
pub(crate) extern "C" fn kernel_kexec() -> c_int {
    errno_of(reboot::reboot())
}
matches_c!(kernel_kexec: unsafe extern "C" fn() -> c_int);

/// Whether the caller may load an image of `image_type` (`kexec_load_permitted`).
#[no_mangle]
pub(crate) extern "C" fn kexec_load_permitted(image_type: c_int) -> bool {
    state::load_permitted(image_type as u32)
}
matches_c!(kexec_load_permitted: unsafe extern "C" fn(c_int) -> bool);

/// An empty image for kexec_file_load (`do_kimage_alloc_init`); null without memory.
#[no_mangle]
pub(crate) extern "C" fn do_kimage_alloc_init() -> *mut bindings::kimage {
    ImageBox::new().map_or(core::ptr::null_mut(), ImageBox::into_raw)
}
matches_c!(do_kimage_alloc_init: unsafe extern "C" fn() -> *mut bindings::kimage);

/// Checks the segments of `image` (`sanity_check_segment_list`): 0, or the
/// errno of the first broken rule (which is logged).
///
/// # Safety
///
/// `image` came from `do_kimage_alloc_init`, and the caller uses it alone and
/// holds the kexec lock.
#[no_mangle]
pub(crate) unsafe extern "C" fn sanity_check_segment_list(image: *mut bindings::kimage) -> c_int {
    // SAFETY: by the caller's contract.
    let (image, lock) = unsafe { (Kimage::from_raw(image), KexecLock::held_by_caller()) };
    errno_of(image.check_segments(&lock))
}
matches_c!(sanity_check_segment_list: unsafe extern "C" fn(*mut bindings::kimage) -> c_int);

/// Whether any segment's destination overlaps `[start, end]`, both inclusive
/// (`kimage_is_destination_range`).
///
/// # Safety
///
/// `image` came from `do_kimage_alloc_init` and the caller uses it alone.
#[no_mangle]
pub(crate) unsafe extern "C" fn kimage_is_destination_range(
    image: *mut bindings::kimage,
    start: c_ulong,
    end: c_ulong,
) -> c_int {
    // SAFETY: by the caller's contract.
    let image = unsafe { Kimage::from_raw(image) };
    control::overlaps_destination(image.segments().as_slice(), start as u64, end as u64) as c_int
}
matches_c!(kimage_is_destination_range: unsafe extern "C" fn(*mut bindings::kimage, c_ulong, c_ulong) -> c_int);

/// Frees every page on one of an image's page lists (`kimage_free_page_list`;
/// kexec_file.c's error path passes `&image->control_pages`).
///
/// # Safety
///
/// `list` is a page list of an image from `do_kimage_alloc_init`, which the
/// caller uses alone.
#[no_mangle]
pub(crate) unsafe extern "C" fn kimage_free_page_list(list: *mut bindings::list_head) {
    // SAFETY: by the caller's contract, the list holds only pages of the image.
    unsafe { PageList::new(list) }.clear();
}
matches_c!(kimage_free_page_list: unsafe extern "C" fn(*mut bindings::list_head));

/// `2^order` control pages for `image` (`kimage_alloc_control_pages`), or null.
///
/// # Safety
///
/// `image` came from `do_kimage_alloc_init`, and the caller uses it alone.
#[no_mangle]
pub(crate) unsafe extern "C" fn kimage_alloc_control_pages(
    image: *mut bindings::kimage,
    order: c_uint,
) -> *mut bindings::page {
    // SAFETY: by the caller's contract.
    let image = unsafe { Kimage::from_raw(image) };
    image
        .alloc_control_pages(order)
        .map_or(core::ptr::null_mut(), |c| c.as_ptr())
}
matches_c!(kimage_alloc_control_pages: unsafe extern "C" fn(*mut bindings::kimage, c_uint) -> *mut bindings::page);

/// Copies segment `idx` of `image` into place (`kimage_load_segment`).
///
/// # Safety
///
/// `image` came from `do_kimage_alloc_init` and was prepared; the caller uses
/// it alone, under the kexec lock.
#[no_mangle]
pub(crate) unsafe extern "C" fn kimage_load_segment(
    image: *mut bindings::kimage,
    idx: c_int,
) -> c_int {
    // SAFETY: by the caller's contract.
    let image = unsafe { Kimage::from_raw(image) };
    let Ok(idx) = usize::try_from(idx) else {
        return ENOMEM.to_errno();
    };
    errno_of(image.load_segment(idx).inspect_err(|e| {
        pr_debug!("kexec: loading segment {} failed ({:?})\n", idx, e);
    }))
}
matches_c!(kimage_load_segment: unsafe extern "C" fn(*mut bindings::kimage, c_int) -> c_int);

/// Ends the entry list of `image` (`kimage_terminate`).
///
/// # Safety
///
/// As for [`kimage_load_segment`].
#[no_mangle]
pub(crate) unsafe extern "C" fn kimage_terminate(image: *mut bindings::kimage) {
    // SAFETY: by the caller's contract.
    unsafe { Kimage::from_raw(image) }.terminate();
}
matches_c!(kimage_terminate: unsafe extern "C" fn(*mut bindings::kimage));

/// Frees `image` and everything it holds (`kimage_free`); null is ignored.
///
/// # Safety
///
/// `image` is null or came from `do_kimage_alloc_init`, and the caller gives
/// up its only reference.
#[no_mangle]
pub(crate) unsafe extern "C" fn kimage_free(image: *mut bindings::kimage) {
    // SAFETY: by the caller's contract.
    drop(unsafe { ImageBox::from_raw(image) });
}
matches_c!(kimage_free: unsafe extern "C" fn(*mut bindings::kimage));

/// Maps the source pages of segment `idx` into one virtual range, for IMA
/// (`kimage_map_segment`); null on failure.
///
/// # Safety
///
/// `image` is a loaded image that the caller uses alone.
#[no_mangle]
pub(crate) unsafe extern "C" fn kimage_map_segment(
    image: *mut bindings::kimage,
    idx: c_int,
) -> *mut c_void {
    // SAFETY: by the caller's contract.
    let image = unsafe { Kimage::from_raw(image) };
    let Ok(idx) = usize::try_from(idx) else {
        return core::ptr::null_mut();
    };
    image.map_segment(idx).unwrap_or(core::ptr::null_mut())
}
matches_c!(kimage_map_segment: unsafe extern "C" fn(*mut bindings::kimage, c_int) -> *mut c_void);

/// Undoes [`kimage_map_segment`].
///
/// # Safety
///
/// `addr` came from [`kimage_map_segment`] and is not used after.
#[no_mangle]
pub(crate) unsafe extern "C" fn kimage_unmap_segment(addr: *mut c_void) {
    // SAFETY: a CMA address is left alone; a vmap'ed one is unmapped, once.
    unsafe {
        if bindings::is_vmalloc_addr(addr) {
            bindings::vunmap(addr);
        }
    }
}
matches_c!(kimage_unmap_segment: unsafe extern "C" fn(*mut c_void));

/// The show callback of every `/sys/kernel/kexec/` attribute.
///
/// # Safety
///
/// Called by sysfs with one of our attributes and a page-sized buffer.
pub(crate) unsafe extern "C" fn sysfs_show(
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs hands show functions a buffer of PAGE_SIZE bytes.
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), super::page::PAGE_SIZE) };
    match sysfs::show(attr as usize, page) {
        Ok(len) => len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// The store callback of the writable attributes: `count` on success.
///
/// # Safety
///
/// Called by sysfs with one of our attributes and a NUL-terminated copy of
/// what was written.
pub(crate) unsafe extern "C" fn sysfs_store(
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: sysfs terminates the copy it passes.
    let input = unsafe { CStr::from_char_ptr(buf) };
    match sysfs::store(attr as usize, input) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// The proc handler of the two load-limit sysctls: reads show the limit,
/// writes may only lower it.
///
/// # Safety
///
/// Called by the sysctl core with one of our table entries and its buffer
/// arguments.
pub(crate) unsafe extern "C" fn sysctl_limit(
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    // SAFETY: the sysctl core passes one of our entries.
    let table = unsafe { &*table };
    let limit = state::limit_of(table.data as usize);
    // `proc_dointvec` over a local int starting at `val`.
    let dointvec = |mut val: c_int, lenp: *mut usize, ppos: *mut bindings::loff_t| {
        let tmp = state::int_entry_over(&mut val, table.mode as u16);
        // SAFETY: `tmp` is an int entry over the local `val`, which outlives
        // the call; the buffer arguments are the sysctl core's, passed through.
        let ret = unsafe { bindings::proc_dointvec(&tmp, write, buffer, lenp, ppos) };
        (ret, val)
    };
    if write == 0 {
        return dointvec(limit.load(ordering::Relaxed), lenp, ppos).0;
    }
    // A write past the start of the file is ignored by proc_dointvec (with the
    // default kernel.sysctl_writes_strict=1): it parses nothing and succeeds.
    // Stock then stores its never-written local (0 with INIT_STACK_ALL_ZERO),
    // which forbids every later load; here the limit stays as it is. Nothing
    // parsed is told from a written i32::MIN by parsing the same kernel copy
    // of the text again from another start value.
    // SAFETY: the sysctl core passes valid pointers for the call.
    let (len0, pos0) = unsafe { (*lenp, *ppos) };
    let (ret, val) = dointvec(c_int::MIN, lenp, ppos);
    if ret != 0 {
        return ret;
    }
    if val == c_int::MIN && pos0 != 0 {
        let (mut len, mut pos) = (len0, pos0);
        if dointvec(0, &mut len, &mut pos) == (0, 0) {
            return 0;
        }
    }
    match state::set_limit(limit, val) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

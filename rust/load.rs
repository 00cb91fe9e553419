// SPDX-License-Identifier: GPL-2.0

//! The kexec_load(2) system call.
//!
//! The C glue's `SYSCALL_DEFINE4(kexec_load)` calls [`kexec_rust_load`]. It checks
//! the caller and the arguments, copies the segment list from userspace, validates
//! it with [`crate::segment::validate`] and logs the rule a refused load broke, then
//! builds and installs the image. In this version the image itself (`struct kimage`,
//! its entry list, control pages and the segment copy) is still kernel/kexec_core.c's;
//! the next step moves it to [`crate::entry`].

use crate::request::{self, RequestError};
use crate::segment::{self, Limits, Segment};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{ordering, Atomic};
use kernel::uaccess::{UserPtr, UserSlice};

// Functions and data of kernel/kexec_core.c declared in its internal header
// (kernel/kexec_internal.h), which the bindings do not include, and the two values
// the C glue computes from macros.
extern "C" {
    fn do_kimage_alloc_init() -> *mut bindings::kimage;
    fn sanity_check_segment_list(image: *mut bindings::kimage) -> c_int;
    fn kimage_free_page_list(list: *mut bindings::list_head);
    fn kimage_free(image: *mut bindings::kimage);
    fn kimage_load_segment(image: *mut bindings::kimage, idx: c_int) -> c_int;
    fn kimage_terminate(image: *mut bindings::kimage);
    static mut __kexec_lock: bindings::atomic_t;
    fn kexec_rust_destination_limit() -> c_ulong;
    fn kexec_rust_totalram_pages() -> c_ulong;
}

/// `KEXEC_TYPE_CRASH`.
const KEXEC_TYPE_CRASH: u32 = 1;

/// Turns a C return value (0 or -errno) into a `Result`.
fn to_result(ret: c_int) -> Result {
    if ret == 0 {
        Ok(())
    } else {
        Err(Error::from_errno(ret))
    }
}

fn errno(positive: i32) -> Error {
    Error::from_errno(-positive)
}

fn refuse(e: RequestError) -> Error {
    pr_err!("kexec_load refused: {}\n", format_args!("{e}"));
    errno(e.errno())
}

/// The kexec lock (`__kexec_lock`), taken by trylock as C does: a load that finds
/// it held fails with `EBUSY`, and the panic path can take it from any context.
///
/// # Invariants
///
/// While a `KexecLock` exists, this task holds `__kexec_lock`.
struct KexecLock(());

impl KexecLock {
    fn lock_word() -> &'static Atomic<i32> {
        // SAFETY: `__kexec_lock` is a static `atomic_t`, whose only field is an
        // `int` updated with atomic operations everywhere it is used; it lives for
        // the kernel's lifetime.
        unsafe { Atomic::from_ptr(core::ptr::addr_of_mut!(__kexec_lock.counter)) }
    }

    fn try_lock() -> Option<Self> {
        Self::lock_word().cmpxchg(0, 1, ordering::Acquire).ok().map(|_| KexecLock(()))
    }
}

impl Drop for KexecLock {
    fn drop(&mut self) {
        // By the type invariant we hold the lock.
        Self::lock_word().store(0, ordering::Release);
    }
}

/// The image slot a load replaces: `kexec_image` or `kexec_crash_image`.
fn slot(crash: bool) -> &'static Atomic<*mut bindings::kimage> {
    let p = if crash {
        core::ptr::addr_of_mut!(bindings::kexec_crash_image)
    } else {
        core::ptr::addr_of_mut!(bindings::kexec_image)
    };
    // SAFETY: the image pointers are statics that live for the kernel's lifetime and
    // are only replaced with atomic exchanges under the kexec lock or read by the
    // panic path after taking it.
    unsafe { Atomic::from_ptr(p) }
}

/// Frees an image (or nothing, for null) with kexec_core's `kimage_free`.
fn free_image(image: *mut bindings::kimage) {
    if !image.is_null() {
        // SAFETY: `image` came from `do_kimage_alloc_init` and was set up by
        // `alloc_image`, or was taken out of an image slot; nothing else refers to it.
        unsafe { kimage_free(image) };
    }
}

/// The crash kernel reservation `[start, end]` (`[0, 0]` when there is none).
fn crash_window() -> (u64, u64) {
    // SAFETY: `crashk_res` is set up at early boot and its bounds only shrink under
    // the kexec lock, which the callers hold.
    unsafe { (bindings::crashk_res.start, bindings::crashk_res.end) }
}

fn limits(crash: bool) -> Limits {
    // SAFETY: both glue functions only read kernel state.
    let (destination_limit, total_ram_pages) =
        unsafe { (kexec_rust_destination_limit(), kexec_rust_totalram_pages()) };
    Limits {
        destination_limit: destination_limit as u64,
        total_ram_pages: total_ram_pages as u64,
        crash_window: if crash { Some(crash_window()) } else { None },
    }
}

/// Allocates a `struct kimage` for the validated `segs` as kimage_alloc_init() does:
/// the control code page, and for a normal image the swap page.
fn alloc_image(entry: u64, segs: &[Segment], crash: bool) -> Result<*mut bindings::kimage> {
    // SAFETY: allocates and initialises a zeroed `struct kimage`.
    let image = unsafe { do_kimage_alloc_init() };
    if image.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `image` is a valid, exclusively owned `struct kimage`.
    let img = unsafe { &mut *image };
    img.start = entry as c_ulong;
    img.nr_segments = segs.len() as c_ulong;
    for (dst, s) in img.segment.iter_mut().zip(segs) {
        dst.__bindgen_anon_1.buf = s.buf as usize as *mut c_void;
        dst.bufsz = s.bufsz as usize;
        dst.mem = s.mem as c_ulong;
        dst.memsz = s.memsz as usize;
    }
    if crash {
        img.control_page = crash_window().0 as c_ulong;
        img.set_type(KEXEC_TYPE_CRASH);
    }

    let fail = |image: *mut bindings::kimage, e: Error| {
        // SAFETY: the image has no entries yet; its control pages are on its list,
        // and kfree releases the structure (kimage_free would also run arch cleanup
        // for an image that was never prepared).
        unsafe {
            kimage_free_page_list(core::ptr::addr_of_mut!((*image).control_pages));
            bindings::kfree(image.cast());
        }
        Err(e)
    };

    // Our validation above decided; kexec_core's check repeats it and accepts the
    // destination memory where that applies. A disagreement is a bug in ours.
    // SAFETY: `image` is valid and holds the segments.
    if let Err(e) = to_result(unsafe { sanity_check_segment_list(image) }) {
        pr_err!("kexec_load: kexec_core refused segments that passed validation ({e:?})\n");
        return fail(image, e);
    }
    // SAFETY: `image` is valid; order 0 is KEXEC_CONTROL_PAGE_SIZE (4096) on x86_64.
    let control = unsafe { bindings::kimage_alloc_control_pages(image, 0) };
    if control.is_null() {
        pr_err!("kexec_load: no memory for the control code page\n");
        return fail(image, ENOMEM);
    }
    img.control_code_page = control;
    if !crash {
        // SAFETY: as above.
        let swap = unsafe { bindings::kimage_alloc_control_pages(image, 0) };
        if swap.is_null() {
            pr_err!("kexec_load: no memory for the swap page\n");
            return fail(image, ENOMEM);
        }
        img.swap_page = swap;
    }
    Ok(image)
}

/// Prepares `image` for the machine and copies every segment into it.
fn prepare_and_load(image: *mut bindings::kimage, flags: u64, crash: bool) -> Result {
    // SAFETY: `image` is a valid, exclusively owned image for the whole function.
    let img = unsafe { &mut *image };
    if flags & request::KEXEC_PRESERVE_CONTEXT != 0 {
        img.set_preserve_context(1);
    }
    #[cfg(CONFIG_CRASH_HOTPLUG)]
    // SAFETY: `image` is valid.
    if crash && unsafe { bindings::arch_crash_hotplug_support(image, flags as c_ulong) } != 0 {
        img.set_hotplug_support(1);
    }
    #[cfg(not(CONFIG_CRASH_HOTPLUG))]
    let _ = crash;

    // SAFETY: `image` is valid and fully allocated.
    to_result(unsafe { bindings::machine_kexec_prepare(image) })?;
    // Copied after machine_kexec_prepare(), which may touch crash memory.
    // SAFETY: as above.
    to_result(unsafe { bindings::kimage_crash_copy_vmcoreinfo(image) })?;
    for i in 0..img.nr_segments as c_int {
        // SAFETY: `i` indexes a validated segment of `image`.
        to_result(unsafe { kimage_load_segment(image, i) })?;
    }
    // SAFETY: every segment is loaded.
    unsafe { kimage_terminate(image) };
    // machine_kexec_post_load() is an empty inline on x86_64.
    Ok(())
}

/// do_kexec_load(): replace (or with no segments, remove) the normal or crash image.
fn do_load(entry: u64, segs: &[Segment], flags: u64) -> Result {
    let _lock = KexecLock::try_lock().ok_or(EBUSY)?;
    let crash = flags & request::KEXEC_ON_CRASH != 0;
    let slot = slot(crash);

    if crash && !slot.load(ordering::Relaxed).is_null() {
        // SAFETY: we hold the kexec lock; the reservation is made writable while
        // a crash image is replaced, and protected again below.
        unsafe { bindings::arch_kexec_unprotect_crashkres() };
    }
    if segs.is_empty() {
        free_image(slot.xchg(core::ptr::null_mut(), ordering::Full));
        return Ok(());
    }
    if crash {
        // The new crash kernel is written straight into the reservation: the old
        // one is gone from here on, even if this load fails.
        free_image(slot.xchg(core::ptr::null_mut(), ordering::Full));
    }

    if crash {
        let (start, end) = crash_window();
        request::check_crash_entry(entry, start, end).map_err(refuse)?;
    }
    segment::validate(segs, &limits(crash)).map_err(|v| {
        pr_err!("kexec_load refused: {}\n", format_args!("{v}"));
        errno(v.errno())
    })?;
    let image = alloc_image(entry, segs, crash)?;

    let (ret, leftover) = match prepare_and_load(image, flags, crash) {
        Ok(()) => (Ok(()), slot.xchg(image, ordering::Full)),
        Err(e) => (Err(e), image),
    };
    if crash && !slot.load(ordering::Relaxed).is_null() {
        // SAFETY: we hold the kexec lock.
        unsafe { bindings::arch_kexec_protect_crashkres() };
    }
    free_image(leftover);
    ret
}

fn load(entry: u64, count: u64, user_segs: usize, flags: u64, compat: bool) -> Result {
    let crash = flags & request::KEXEC_ON_CRASH != 0;
    let image_type = if crash { KEXEC_TYPE_CRASH } else { 0 };
    // SAFETY: a plain query of the caller's capability and the sysctls.
    if !unsafe { bindings::kexec_load_permitted(image_type as c_int) } {
        return Err(EPERM);
    }
    #[cfg(CONFIG_SECURITY)]
    {
        // SAFETY: LSM hooks for loading a kexec image; no pointers are passed.
        to_result(unsafe {
            bindings::security_kernel_load_data(bindings::kernel_load_data_id_LOADING_KEXEC_IMAGE, false)
        })?;
        // SAFETY: as above.
        to_result(unsafe { bindings::security_locked_down(bindings::lockdown_reason_LOCKDOWN_KEXEC) })?;
    }
    request::check_flags_and_count(count, flags, request::accepted_flags(cfg!(CONFIG_KEXEC_JUMP)))
        .map_err(refuse)?;
    request::check_arch(flags, request::KEXEC_ARCH_X86_64, compat).map_err(refuse)?;

    let n = count as usize;
    let size = if compat { request::COMPAT_SEGMENT_BYTES } else { request::SEGMENT_BYTES };
    let mut raw = [0u8; request::KEXEC_SEGMENT_MAX * request::SEGMENT_BYTES];
    UserSlice::new(UserPtr::from_addr(user_segs), n * size)
        .reader()
        .read_slice(&mut raw[..n * size])?;
    let mut segs = [Segment::default(); request::KEXEC_SEGMENT_MAX];
    request::decode_segments(&raw[..n * size], &mut segs[..n], compat);
    do_load(entry, &segs[..n], flags)
}

/// Entry point of the kexec_load system call (native and compat).
#[no_mangle]
pub extern "C" fn kexec_rust_load(
    entry: c_ulong,
    nr_segments: c_ulong,
    segments: *mut c_void,
    flags: c_ulong,
    compat: bool,
) -> c_long {
    match load(entry as u64, nr_segments as u64, segments as usize, flags as u64, compat) {
        Ok(()) => 0,
        Err(e) => e.to_errno() as c_long,
    }
}

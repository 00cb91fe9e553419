// SPDX-License-Identifier: GPL-2.0

//! The kexec_load(2) system call.
//!
//! The C glue's `SYSCALL_DEFINE4(kexec_load)` calls [`kexec_rust_load`]. It checks
//! the caller and the arguments in the order of the C implementation (so an input
//! that breaks several rules gets the same errno), copies the segment list from
//! userspace, validates it with [`crate::segment::validate`] and logs the rule a
//! refused load broke, then builds the image with [`crate::kimage`] and installs it.

use crate::kimage::{self, KEXEC_TYPE_CRASH};
use crate::request::{self, RequestError};
use crate::segment::{self, Segment};
use crate::state::{self, KexecLock};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::ordering;
use kernel::uaccess::{UserPtr, UserSlice};

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

/// An image being built; freed on drop unless installed.
///
/// # Invariants
///
/// `raw` is a valid kimage from `do_kimage_alloc_init` that nothing else refers
/// to. Until `prepared` is set, it holds no pages but its control pages.
struct Image {
    raw: *mut bindings::kimage,
    prepared: bool,
}

impl Image {
    fn as_mut(&mut self) -> &mut bindings::kimage {
        // SAFETY: by the type invariant the image is valid and ours.
        unsafe { &mut *self.raw }
    }

    /// Gives the image up (to an image slot).
    fn into_raw(self) -> *mut bindings::kimage {
        let p = self.raw;
        core::mem::forget(self);
        p
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        if self.prepared {
            kimage::kimage_free(self.raw);
        } else {
            // SAFETY: by the type invariant the unprepared image holds only its
            // control pages, and it is dropped here, never used again.
            unsafe { kimage::discard_unprepared(self.raw) };
        }
    }
}

/// kimage_alloc_init(): a kimage for the validated `segs`, with its control code
/// page and, for a normal image, the swap page.
fn alloc_image(entry: u64, segs: &[Segment], crash: bool) -> Result<Image> {
    let raw = kimage::do_kimage_alloc_init();
    if raw.is_null() {
        return Err(ENOMEM);
    }
    let mut image = Image { raw, prepared: false };
    let img = image.as_mut();
    img.start = entry as c_ulong;
    img.nr_segments = segs.len() as c_ulong;
    for (dst, s) in img.segment.iter_mut().zip(segs) {
        dst.__bindgen_anon_1.buf = s.buf as usize as *mut c_void;
        dst.bufsz = s.bufsz as usize;
        dst.mem = s.mem as c_ulong;
        dst.memsz = s.memsz as usize;
    }
    if crash {
        img.control_page = kimage::crash_window().0 as c_ulong;
        img.set_type(KEXEC_TYPE_CRASH);
    }
    // The segments passed `segment::validate` already; this accepts their memory.
    to_result(kimage::sanity_check_segment_list(image.raw))?;
    // KEXEC_CONTROL_PAGE_SIZE is one page on x86_64: order 0.
    let control = kimage::kimage_alloc_control_pages(image.raw, 0);
    if control.is_null() {
        pr_err!("kexec_load: no memory for the control code page\n");
        return Err(ENOMEM);
    }
    image.as_mut().control_code_page = control;
    if !crash {
        let swap = kimage::kimage_alloc_control_pages(image.raw, 0);
        if swap.is_null() {
            pr_err!("kexec_load: no memory for the swap page\n");
            return Err(ENOMEM);
        }
        image.as_mut().swap_page = swap;
    }
    Ok(image)
}

/// Prepares `image` for the machine and copies every segment into it.
fn prepare_and_load(image: &mut Image, flags: u64, crash: bool) -> Result {
    if flags & request::KEXEC_PRESERVE_CONTEXT != 0 {
        image.as_mut().set_preserve_context(1);
    }
    #[cfg(CONFIG_CRASH_HOTPLUG)]
    // SAFETY: the image is valid.
    if crash && unsafe { bindings::arch_crash_hotplug_support(image.raw, flags as c_ulong) } != 0 {
        image.as_mut().set_hotplug_support(1);
    }
    #[cfg(not(CONFIG_CRASH_HOTPLUG))]
    let _ = crash;

    // From here on, freeing the image includes the arch cleanup, as in C (also
    // when machine_kexec_prepare() itself fails).
    image.prepared = true;
    // SAFETY: the image is valid and fully allocated.
    to_result(unsafe { bindings::machine_kexec_prepare(image.raw) })?;
    // Copied after machine_kexec_prepare(), which may touch crash memory.
    // SAFETY: as above.
    to_result(unsafe { bindings::kimage_crash_copy_vmcoreinfo(image.raw) })?;
    let n = image.as_mut().nr_segments as c_int;
    for i in 0..n {
        to_result(kimage::kimage_load_segment(image.raw, i))?;
    }
    kimage::kimage_terminate(image.raw);
    // machine_kexec_post_load() is an empty inline on x86_64.
    Ok(())
}

/// do_kexec_load(): replace (or with no segments, remove) the normal or crash image.
fn do_load(entry: u64, segs: &[Segment], flags: u64) -> Result {
    let _lock = KexecLock::try_lock().ok_or(EBUSY)?;
    let crash = flags & request::KEXEC_ON_CRASH != 0;
    let slot = state::slot(crash);

    if crash && !slot.load(ordering::Relaxed).is_null() {
        // SAFETY: we hold the kexec lock; the reservation is made writable while
        // a crash image is replaced, and protected again below.
        unsafe { bindings::arch_kexec_unprotect_crashkres() };
    }
    if segs.is_empty() {
        kimage::kimage_free(slot.xchg(core::ptr::null_mut(), ordering::Full));
        return Ok(());
    }
    if crash {
        // The new crash kernel is written straight into the reservation: the old
        // one is gone from here on, even if this load fails.
        kimage::kimage_free(slot.xchg(core::ptr::null_mut(), ordering::Full));
    }

    let ret = (|| {
        if crash {
            let (start, end) = kimage::crash_window();
            request::check_crash_entry(entry, start, end).map_err(refuse)?;
        }
        segment::validate(segs, &kimage::limits(crash)).map_err(|v| {
            pr_err!("kexec_load refused: {}\n", format_args!("{v}"));
            errno(v.errno())
        })?;
        let mut image = alloc_image(entry, segs, crash)?;
        prepare_and_load(&mut image, flags, crash)?;
        // Install the new image; the old one (if any) is freed.
        kimage::kimage_free(slot.xchg(image.into_raw(), ordering::Full));
        Ok(())
    })();
    if crash && !slot.load(ordering::Relaxed).is_null() {
        // SAFETY: we hold the kexec lock.
        unsafe { bindings::arch_kexec_protect_crashkres() };
    }
    ret
}

fn load(entry: u64, count: u64, user_segs: usize, flags: u64, compat: bool) -> Result {
    let crash = flags & request::KEXEC_ON_CRASH != 0;
    let image_type = if crash { KEXEC_TYPE_CRASH } else { 0 };
    if !state::kexec_load_permitted(image_type as c_int) {
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
pub(crate) extern "C" fn kexec_rust_load(
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

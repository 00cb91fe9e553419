// SPDX-License-Identifier: GPL-2.0

//! The kexec_load(2) system call.
//!
//! The C glue's `SYSCALL_DEFINE4(kexec_load)` calls `kexec_rust_load` (ffi.rs),
//! which calls [`load`]. It checks the caller and the arguments in the order of
//! the C implementation (so an input that breaks several rules gets the same
//! errno), copies the segment list from userspace, validates it with
//! [`crate::segment::validate`] and logs the rule a refused load broke, then
//! builds the image with [`super::image`] and installs it.

use super::image::{ImageBox, Kimage, KEXEC_TYPE_CRASH};
use super::reservation;
use super::state::{self, KexecLock};
use crate::request::{self, RequestError};
use crate::segment::{self, Segment};
use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::uaccess::{UserPtr, UserSlice};

fn errno(positive: i32) -> Error {
    Error::from_errno(-positive)
}

fn refuse(e: RequestError) -> Error {
    pr_err!("kexec_load refused: {}\n", format_args!("{e}"));
    errno(e.errno())
}

/// kimage_alloc_init(): an image for the validated `segs`, with its control code
/// page and, for a normal image, the swap page.
fn alloc_image(entry: u64, segs: &[Segment], crash: bool, lock: &KexecLock) -> Result<ImageBox> {
    let mut image = ImageBox::new()?;
    image.c_mut().start = entry as c_ulong;
    image.set_segments(segs);
    if crash {
        image.c_mut().control_page = reservation::window(lock).0 as c_ulong;
        image.c_mut().set_type(KEXEC_TYPE_CRASH);
    }
    // The segments passed `segment::validate` already; this accepts their memory.
    image.check_segments(lock)?;
    image.alloc_code_and_swap_pages(crash, |what| {
        let page = if what == "swap" {
            "swap page"
        } else {
            "control code page"
        };
        pr_err!("kexec_load: no memory for the {}\n", page);
    })?;
    Ok(image)
}

/// Prepares `image` for the machine and copies every segment into it.
fn prepare_and_load(image: &mut ImageBox, flags: u64, crash: bool) -> Result {
    if flags & request::KEXEC_PRESERVE_CONTEXT != 0 {
        image.c_mut().set_preserve_context(1);
    }
    prepare(image, flags, crash)?;
    copy_segments(image, |_, _| ())
}

/// Hands a complete image (all segments known, control pages allocated) to
/// the arch: crash hotplug support for a crash image (`flags` are the
/// system call's), `machine_kexec_prepare`, then a crash image's copy of
/// VMCOREINFO. From here on, freeing the image includes the arch cleanup.
/// Shared by kexec_load and kexec_file_load.
pub(crate) fn prepare(image: &mut ImageBox, flags: u64, crash: bool) -> Result {
    #[cfg(CONFIG_CRASH_HOTPLUG)]
    // SAFETY: the arch looks at the image and the flags.
    if crash
        && unsafe { bindings::arch_crash_hotplug_support(image.as_ptr(), flags as c_ulong) } != 0
    {
        image.c_mut().set_hotplug_support(1);
    }
    #[cfg(not(CONFIG_CRASH_HOTPLUG))]
    let _ = (crash, flags);

    image.set_prepared();
    // SAFETY: the image is complete but for its segments' data; the arch sets
    // up its own state in it, which `machine_kexec_cleanup` undoes.
    to_result(unsafe { bindings::machine_kexec_prepare(image.as_ptr()) })?;
    // Copied after machine_kexec_prepare(), which may touch crash memory.
    // SAFETY: the image is ours, under the kexec lock.
    to_result(unsafe { bindings::kimage_crash_copy_vmcoreinfo(image.as_ptr()) })
}

/// Copies every segment into the image, in index order, calling `before`
/// with each index first, then ends the entry list.
pub(crate) fn copy_segments(image: &mut ImageBox, before: impl Fn(&Kimage, usize)) -> Result {
    for i in 0..image.c().nr_segments as usize {
        before(image, i);
        image.load_segment(i).inspect_err(|e| {
            pr_debug!("kexec: loading segment {} failed ({:?})\n", i, e);
        })?;
    }
    image.terminate();
    // The arch's last look at the complete image: on arm64 the copy of the
    // linear map and the stub's page that the reboot switches to, or the
    // cache clean of a crash image's segments (an empty inline on x86_64).
    #[cfg(CONFIG_ARM64)]
    // SAFETY: the image is complete and ours, under the kexec lock.
    to_result(unsafe { bindings::machine_kexec_post_load(image.as_ptr()) })?;
    Ok(())
}

/// do_kexec_load(): replace (or with no segments, remove) the normal or crash image.
fn do_load(entry: u64, segs: &[Segment], flags: u64) -> Result {
    let mut lock = KexecLock::try_lock().ok_or(EBUSY)?;
    let crash = flags & request::KEXEC_ON_CRASH != 0;
    let slot = state::slot(crash);

    if crash && slot.is_loaded() {
        // SAFETY: we hold the kexec lock; the reservation is made writable while
        // a crash image is replaced, and protected again below.
        unsafe { bindings::kexec_rust_arch_unprotect_crashkres() };
    }
    if segs.is_empty() {
        drop(slot.replace(&mut lock, None));
        return Ok(());
    }
    if crash {
        // The new crash kernel is written straight into the reservation: the old
        // one is gone from here on, even if this load fails.
        drop(slot.replace(&mut lock, None));
    }

    let ret = (|| {
        if crash {
            let (start, end) = reservation::window(&lock);
            request::check_crash_entry(entry, start, end).map_err(refuse)?;
        }
        segment::validate(segs, &super::image::limits(crash, &lock)).map_err(|v| {
            pr_err!("kexec_load refused: {}\n", format_args!("{v}"));
            errno(v.errno())
        })?;
        let mut image = alloc_image(entry, segs, crash, &lock)?;
        prepare_and_load(&mut image, flags, crash)?;
        // Install the new image; the old one (if any) is freed.
        drop(slot.replace(&mut lock, Some(image)));
        Ok(())
    })();
    if crash && slot.is_loaded() {
        // SAFETY: we hold the kexec lock.
        unsafe { bindings::kexec_rust_arch_protect_crashkres() };
    }
    ret
}

/// The kexec_load system call: `count` segments at user address `user_segs`.
pub(crate) fn load(entry: u64, count: u64, user_segs: usize, flags: u64, compat: bool) -> Result {
    let crash = flags & request::KEXEC_ON_CRASH != 0;
    let image_type = if crash {
        KEXEC_TYPE_CRASH
    } else {
        bindings::KEXEC_TYPE_DEFAULT
    };
    if !state::load_permitted(image_type) {
        return Err(EPERM);
    }
    #[cfg(CONFIG_SECURITY)]
    {
        // SAFETY: LSM hooks for loading a kexec image; no pointers are passed.
        to_result(unsafe {
            bindings::security_kernel_load_data(
                bindings::kernel_load_data_id_LOADING_KEXEC_IMAGE,
                false,
            )
        })?;
        // SAFETY: as above.
        to_result(unsafe {
            bindings::security_locked_down(bindings::lockdown_reason_LOCKDOWN_KEXEC)
        })?;
    }
    request::check_flags_and_count(
        count,
        flags,
        request::accepted_flags(cfg!(CONFIG_KEXEC_JUMP)),
    )
    .map_err(refuse)?;
    request::check_arch(flags, request::KEXEC_ARCH_NATIVE, compat).map_err(refuse)?;

    let n = count as usize;
    let size = if compat {
        request::COMPAT_SEGMENT_BYTES
    } else {
        request::SEGMENT_BYTES
    };
    let mut raw = [0u8; request::KEXEC_SEGMENT_MAX * request::SEGMENT_BYTES];
    UserSlice::new(UserPtr::from_addr(user_segs), n * size)
        .reader()
        .read_slice(&mut raw[..n * size])?;
    let mut segs = [Segment::default(); request::KEXEC_SEGMENT_MAX];
    request::decode_segments(&raw[..n * size], &mut segs[..n], compat);
    do_load(entry, &segs[..n], flags)
}

// SPDX-License-Identifier: GPL-2.0

//! The kexec state that the rest of the kernel links against: the loaded
//! images, the kexec lock, the in-progress flag, and who may load.
//!
//! The symbols keep their C names and layouts because C reads them:
//! `kexec_image` and `kexec_crash_image` (arch code, kexec_file.c, the panic
//! path), `__kexec_lock` (the `kexec_trylock()` inline of
//! kernel/kexec_internal.h), `kexec_in_progress` (x86 reboot and SMP code) and
//! `kexec_file_dbg_print` (kexec_file.c). Each is one of the kernel crate's
//! atomics, so Rust reads and writes them without `unsafe` and C sees the plain
//! C type it declares.
//!
//! The sysctls `kernel.kexec_load_disabled`, `kernel.kexec_load_limit_panic`
//! and `kernel.kexec_load_limit_reboot` are registered by [`register_sysctls`].

use super::image::{ImageBox, Kimage, KEXEC_TYPE_CRASH};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{ordering, Atomic};

/// An image slot: C's `struct kimage *`.
///
/// # Invariants
///
/// A non-null value is a prepared image from [`ImageBox::into_raw`] (or C's
/// kexec_file_load, which builds images the same way) that the slot owns. The
/// value changes only under the kexec lock.
#[repr(transparent)]
pub(crate) struct ImageSlot(Atomic<*mut bindings::kimage>);

impl ImageSlot {
    const fn new() -> Self {
        ImageSlot(Atomic::new(core::ptr::null_mut()))
    }

    /// Whether an image is loaded (a snapshot: only the lock holder can rely on it).
    pub(crate) fn is_loaded(&self) -> bool {
        !self.0.load(ordering::Relaxed).is_null()
    }

    /// Puts `image` in the slot (or empties it) and returns what was there.
    pub(crate) fn replace(
        &self,
        _lock: &mut KexecLock,
        image: Option<ImageBox>,
    ) -> Option<ImageBox> {
        let new = image.map_or(core::ptr::null_mut(), ImageBox::into_raw);
        let old = self.0.xchg(new, ordering::Full);
        // SAFETY: a non-null slot value is an image the slot owned (invariant);
        // it leaves the slot here, under the lock.
        unsafe { ImageBox::from_raw(old) }
    }

    /// The loaded image, for as long as the lock is held.
    pub(crate) fn get<'a>(&self, _lock: &'a mut KexecLock) -> Option<&'a mut Kimage> {
        let p = self.0.load(ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: the slot owns a valid image (invariant), which stays while we
        // hold the lock, and the lock's exclusive borrow gives us sole use.
        Some(unsafe { Kimage::from_raw(p) })
    }
}

/// The image `kexec -e` boots (`struct kimage *kexec_image`).
#[no_mangle]
pub(crate) static kexec_image: ImageSlot = ImageSlot::new();

/// The image a panic boots (`struct kimage *kexec_crash_image`).
#[no_mangle]
pub(crate) static kexec_crash_image: ImageSlot = ImageSlot::new();

/// The kexec lock (`atomic_t __kexec_lock`): 1 while a load, an exec or the panic
/// path owns the images. Taken only by trylock, so the panic path, which may run
/// in NMI context, never waits.
#[no_mangle]
pub(crate) static __kexec_lock: Atomic<i32> = Atomic::new(0);

/// Set once a kexec reboot has started (`bool kexec_in_progress`).
#[no_mangle]
pub(crate) static kexec_in_progress: Atomic<bool> = Atomic::new(false);

/// Whether kexec_file_load prints its debug messages (`bool kexec_file_dbg_print`).
#[no_mangle]
pub(crate) static kexec_file_dbg_print: Atomic<bool> = Atomic::new(false);

// C reads these as a pointer, an `atomic_t` and two `bool`s.
const _: () =
    assert!(core::mem::size_of::<ImageSlot>() == core::mem::size_of::<*mut bindings::kimage>());
const _: () =
    assert!(core::mem::size_of::<Atomic<i32>>() == core::mem::size_of::<bindings::atomic_t>());
const _: () = assert!(core::mem::size_of::<Atomic<bool>>() == core::mem::size_of::<bool>());

/// The image slot a load replaces.
pub(crate) fn slot(crash: bool) -> &'static ImageSlot {
    if crash {
        &kexec_crash_image
    } else {
        &kexec_image
    }
}

/// Holding the kexec lock. Functions that read or change what the lock
/// protects (the image slots, the crash reservation) take the guard.
///
/// # Invariants
///
/// While a `KexecLock` exists, `__kexec_lock` is 1 and this value owns it.
pub(crate) struct KexecLock(());

impl KexecLock {
    /// Takes the lock if it is free.
    pub(crate) fn try_lock() -> Option<Self> {
        __kexec_lock
            .cmpxchg(0, 1, ordering::Acquire)
            .ok()
            .map(|_| KexecLock(()))
    }

    /// The lock that C code holds while it calls into us (kexec_file_load's
    /// path calls the kimage functions with it held). Not released on drop.
    ///
    /// # Safety
    ///
    /// The caller's caller holds the kexec lock for at least as long as the
    /// value lives.
    pub(crate) unsafe fn held_by_caller() -> core::mem::ManuallyDrop<Self> {
        // A caller that breaks the contract is a bug worth a warning (and a
        // failed test: the scenarios fail on any WARNING in the log).
        kernel::warn_on!(__kexec_lock.load(ordering::Relaxed) != 1);
        // INVARIANT: the lock is held, by C, on our behalf.
        core::mem::ManuallyDrop::new(KexecLock(()))
    }
}

impl Drop for KexecLock {
    fn drop(&mut self) {
        // By the type invariant we own the lock.
        __kexec_lock.store(0, ordering::Release);
    }
}

// ---------------------------------------------------------------------------
// Who may load.

/// `kernel.kexec_load_disabled`: once 1, loads are refused until reboot.
static LOAD_DISABLED: Atomic<i32> = Atomic::new(0);
/// `kernel.kexec_load_limit_reboot`: loads of normal images left (-1: no limit).
static LIMIT_REBOOT: Atomic<i32> = Atomic::new(-1);
/// `kernel.kexec_load_limit_panic`: loads of crash images left (-1: no limit).
static LIMIT_PANIC: Atomic<i32> = Atomic::new(-1);

fn limit(crash: bool) -> &'static Atomic<i32> {
    if crash {
        &LIMIT_PANIC
    } else {
        &LIMIT_REBOOT
    }
}

/// Whether the caller may load an image of `image_type`, consuming one load of
/// the matching limit: needs CAP_SYS_BOOT, loads not disabled, and a limit that
/// is not used up.
pub(crate) fn load_permitted(image_type: u32) -> bool {
    // SAFETY: a capability check of the current task.
    if !unsafe { bindings::capable(bindings::CAP_SYS_BOOT as c_int) } {
        return false;
    }
    if LOAD_DISABLED.load(ordering::Relaxed) != 0 {
        return false;
    }
    let limit = limit(image_type == KEXEC_TYPE_CRASH);
    let mut cur = limit.load(ordering::Relaxed);
    loop {
        let next = match cur {
            0 => return false,
            -1 => return true,
            n => n - 1,
        };
        match limit.cmpxchg(cur, next, ordering::Relaxed) {
            Ok(_) => return true,
            Err(seen) => cur = seen,
        }
    }
}

/// A new value for a load limit: it may only go down from where it is (or be set
/// once from "no limit"), and never below 0.
pub(crate) fn set_limit(limit: &Atomic<i32>, val: i32) -> Result {
    if val < 0 {
        return Err(EINVAL);
    }
    let mut cur = limit.load(ordering::Relaxed);
    loop {
        if cur != -1 && val >= cur {
            return Err(EINVAL);
        }
        match limit.cmpxchg(cur, val, ordering::Relaxed) {
            Ok(_) => return Ok(()),
            Err(seen) => cur = seen,
        }
    }
}

/// The load limit whose sysctl entry has `data` (for `ffi::sysctl_limit`).
pub(crate) fn limit_of(data: usize) -> &'static Atomic<i32> {
    limit(data == LIMIT_PANIC.as_ptr() as usize)
}

/// A temporary int sysctl entry over `val`, with `mode`, for `proc_dointvec`.
pub(crate) fn int_entry_over(val: &mut c_int, mode: u16) -> bindings::ctl_table {
    bindings::ctl_table {
        mode: mode as _,
        ..int_entry(c"", val, 0, None)
    }
}

type Handler = unsafe extern "C" fn(
    *const bindings::ctl_table,
    c_int,
    *mut c_void,
    *mut usize,
    *mut bindings::loff_t,
) -> c_int;

/// A sysctl entry over an int.
const fn int_entry(
    name: &'static CStr,
    data: *mut c_int,
    mode: u16,
    handler: Option<Handler>,
) -> bindings::ctl_table {
    let mut t: bindings::ctl_table = pin_init::zeroed();
    t.procname = name.as_ptr().cast();
    t.data = data.cast();
    t.maxlen = core::mem::size_of::<c_int>() as c_int;
    t.mode = mode as _;
    t.proc_handler = handler;
    t
}

/// The bound of `kernel.kexec_load_disabled` (C's `SYSCTL_ONE`). A static of
/// our own: a pointer computed at compile time into the extern
/// `sysctl_vals[]`, which bindgen declares with length 0, loses its offset.
static ONE: c_int = 1;
const SYSCTL_ONE: *mut c_void = (&raw const ONE).cast_mut().cast();
// `LOAD_DISABLED` is written by `proc_dointvec_minmax` as a plain int.
const _: () = assert!(core::mem::size_of::<Atomic<i32>>() == core::mem::size_of::<c_int>());

/// The sysctl entries, registered once; the sysctl core only reads them.
#[repr(transparent)]
struct Sysctls([bindings::ctl_table; 3]);

// SAFETY: never written after it is built (at compile time); the pointers in
// it point at statics.
unsafe impl Sync for Sysctls {}

static SYSCTLS: Sysctls = Sysctls([
    // 0 -> 1 only: proc_dointvec_minmax with min = max = 1.
    bindings::ctl_table {
        extra1: SYSCTL_ONE,
        extra2: SYSCTL_ONE,
        ..int_entry(
            c"kexec_load_disabled",
            LOAD_DISABLED.as_ptr(),
            0o644,
            Some(bindings::proc_dointvec_minmax),
        )
    },
    int_entry(
        c"kexec_load_limit_panic",
        LIMIT_PANIC.as_ptr(),
        0o644,
        Some(super::ffi::sysctl_limit),
    ),
    int_entry(
        c"kexec_load_limit_reboot",
        LIMIT_REBOOT.as_ptr(),
        0o644,
        Some(super::ffi::sysctl_limit),
    ),
]);

/// Registers `kernel.kexec_load_disabled` and the two load limits.
pub(crate) fn register_sysctls() {
    // SAFETY: the table is a static that is never written; the sysctl core keeps
    // a pointer to it.
    let ret = unsafe {
        bindings::register_sysctl_sz(c"kernel".as_char_ptr(), SYSCTLS.0.as_ptr(), SYSCTLS.0.len())
    };
    if ret.is_null() {
        pr_err!("failed to register the kexec sysctls\n");
    }
}

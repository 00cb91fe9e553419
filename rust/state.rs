// SPDX-License-Identifier: GPL-2.0

//! The kexec state that the rest of the kernel links against: the loaded
//! images, the kexec lock, the in-progress flag, and who may load.
//!
//! The symbols keep their C names and types because C reads them:
//! `kexec_image` and `kexec_crash_image` (arch code, kexec_file.c, the panic
//! path in crash_core.c), `__kexec_lock` (the `kexec_trylock()` inline of
//! kernel/kexec_internal.h, used by the panic path), `kexec_in_progress`
//! (x86 reboot and SMP code) and `kexec_file_dbg_print` (kexec_file.c).
//!
//! The sysctls `kernel.kexec_load_disabled`, `kernel.kexec_load_limit_panic`
//! and `kernel.kexec_load_limit_reboot` are registered by [`register_sysctls`].

use crate::kimage::KEXEC_TYPE_CRASH;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{ordering, Atomic};

/// The image `kexec -e` boots (`struct kimage *kexec_image`).
#[no_mangle]
pub(crate) static kexec_image: Atomic<*mut bindings::kimage> = Atomic::new(core::ptr::null_mut());

/// The image a panic boots (`struct kimage *kexec_crash_image`).
#[no_mangle]
pub(crate) static kexec_crash_image: Atomic<*mut bindings::kimage> =
    Atomic::new(core::ptr::null_mut());

/// The kexec lock (`atomic_t __kexec_lock`): 1 while a load, an exec or the panic
/// path owns the images. Taken only by trylock, so the panic path, which may run
/// in NMI context, never waits.
#[no_mangle]
pub(crate) static __kexec_lock: Atomic<i32> = Atomic::new(0);

/// Set once a kexec reboot has started (`bool kexec_in_progress`).
#[no_mangle]
pub(crate) static mut kexec_in_progress: bool = false;

/// Whether kexec_file_load prints its debug messages (`bool kexec_file_dbg_print`).
#[no_mangle]
pub(crate) static mut kexec_file_dbg_print: bool = false;

/// The image slot a load replaces.
pub(crate) fn slot(crash: bool) -> &'static Atomic<*mut bindings::kimage> {
    if crash {
        &kexec_crash_image
    } else {
        &kexec_image
    }
}

/// Holding the kexec lock.
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
static mut LOAD_DISABLED: c_int = 0;
/// `kernel.kexec_load_limit_reboot`: loads of normal images left (-1: no limit).
static mut LIMIT_REBOOT: c_int = -1;
/// `kernel.kexec_load_limit_panic`: loads of crash images left (-1: no limit).
static mut LIMIT_PANIC: c_int = -1;

/// The atomic view of one of the `c_int` sysctl values above.
fn cell(p: *mut c_int) -> &'static Atomic<i32> {
    // SAFETY: `p` points to one of this module's statics, which live forever;
    // every access to them goes through this atomic view (the sysctl handlers
    // and `kexec_load_permitted`), except `proc_dointvec_minmax` on
    // LOAD_DISABLED, which writes a whole aligned int.
    unsafe { Atomic::from_ptr(p) }
}

fn limit_cell(crash: bool) -> &'static Atomic<i32> {
    if crash {
        cell(core::ptr::addr_of_mut!(LIMIT_PANIC))
    } else {
        cell(core::ptr::addr_of_mut!(LIMIT_REBOOT))
    }
}

/// Whether the caller may load an image of `image_type`, consuming one load of
/// the matching limit: needs CAP_SYS_BOOT, loads not disabled, and a limit that
/// is not used up.
#[no_mangle]
pub(crate) extern "C" fn kexec_load_permitted(image_type: c_int) -> bool {
    // SAFETY: a capability check of the current task.
    if !unsafe { bindings::capable(bindings::CAP_SYS_BOOT as c_int) } {
        return false;
    }
    if cell(core::ptr::addr_of_mut!(LOAD_DISABLED)).load(ordering::Relaxed) != 0 {
        return false;
    }
    let limit = limit_cell(image_type == KEXEC_TYPE_CRASH as c_int);
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
fn set_limit(limit: &Atomic<i32>, val: i32) -> Result {
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

/// The proc handler of the two load-limit sysctls; `table.data` is one of the
/// limit statics.
unsafe extern "C" fn limit_handler(
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    // SAFETY: the sysctl core passes its table entry, whose `data` we set to one
    // of the limit statics in `register_sysctls`.
    let limit = cell(unsafe { (*table).data } as *mut c_int);
    let mut val: c_int = if write != 0 {
        0
    } else {
        limit.load(ordering::Relaxed)
    };
    // SAFETY: a zeroed `ctl_table` is an empty entry; the fields set make it an
    // int entry over the local `val`, which outlives the call below.
    let mut tmp: bindings::ctl_table = unsafe { core::mem::zeroed() };
    tmp.data = (&mut val as *mut c_int).cast();
    tmp.maxlen = core::mem::size_of::<c_int>() as c_int;
    // SAFETY: as above.
    tmp.mode = unsafe { (*table).mode };
    if write != 0 {
        // SAFETY: the buffer arguments are the sysctl core's, passed through.
        let ret = unsafe { bindings::proc_dointvec(&tmp, write, buffer, lenp, ppos) };
        if ret != 0 {
            return ret;
        }
        return match set_limit(limit, val) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        };
    }
    // SAFETY: as above.
    unsafe { bindings::proc_dointvec(&tmp, write, buffer, lenp, ppos) }
}

/// The sysctl entries; filled in by [`register_sysctls`] before the sysctl core
/// sees them, never changed after.
static mut SYSCTLS: [bindings::ctl_table; 3] =
    // SAFETY: all-zero is a valid (empty) `ctl_table`.
    unsafe { core::mem::zeroed() };

/// Registers `kernel.kexec_load_disabled` and the two load limits.
pub(crate) fn register_sysctls() {
    // SAFETY: runs once at boot, before the table is registered; afterwards the
    // sysctl core only reads it. `sysctl_vals` is the kernel's constant array
    // of small integers; index 1 holds 1 (`SYSCTL_ONE`).
    unsafe {
        let one = core::ptr::addr_of!(bindings::sysctl_vals)
            .cast::<c_int>()
            .wrapping_add(1) as *mut c_void;
        let t = &mut *core::ptr::addr_of_mut!(SYSCTLS);
        // 0 -> 1 only: proc_dointvec_minmax with min = max = 1.
        t[0].procname = c"kexec_load_disabled".as_char_ptr();
        t[0].data = core::ptr::addr_of_mut!(LOAD_DISABLED).cast();
        t[0].maxlen = core::mem::size_of::<c_int>() as c_int;
        t[0].mode = 0o644;
        t[0].proc_handler = Some(bindings::proc_dointvec_minmax);
        t[0].extra1 = one;
        t[0].extra2 = one;
        t[1].procname = c"kexec_load_limit_panic".as_char_ptr();
        t[1].data = core::ptr::addr_of_mut!(LIMIT_PANIC).cast();
        t[1].mode = 0o644;
        t[1].proc_handler = Some(limit_handler);
        t[2].procname = c"kexec_load_limit_reboot".as_char_ptr();
        t[2].data = core::ptr::addr_of_mut!(LIMIT_REBOOT).cast();
        t[2].mode = 0o644;
        t[2].proc_handler = Some(limit_handler);
        if bindings::register_sysctl_sz(c"kernel".as_char_ptr(), t.as_ptr(), t.len()).is_null() {
            pr_err!("failed to register the kexec sysctls\n");
        }
    }
}

/// A global that C code also reads or writes by its name, with the C type `T`.
///
/// Accesses go through the raw pointer [`CGlobal::get`]; every user states how
/// its accesses are ordered (at init, under the kexec lock, or on the one CPU the
/// panic path runs on).
#[repr(transparent)]
pub(crate) struct CGlobal<T>(core::cell::UnsafeCell<T>);

// SAFETY: the type gives out only raw pointers; the synchronisation is the users'
// (see the type's documentation).
unsafe impl<T> Sync for CGlobal<T> {}

impl<T> CGlobal<T> {
    /// A global with initial value `value`.
    pub(crate) const fn new(value: T) -> Self {
        CGlobal(core::cell::UnsafeCell::new(value))
    }

    /// The global's address.
    pub(crate) const fn get(&self) -> *mut T {
        self.0.get()
    }
}

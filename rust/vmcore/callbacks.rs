// SPDX-License-Identifier: GPL-2.0

//! Drivers' say over old memory (`register_vmcore_cb()`): a driver that knows
//! that some page frames of the crashed kernel must not be read (a balloon's
//! or virtio-mem's unplugged memory, Xen HVM's, the AMD GART aperture, memory
//! that was never accepted) registers a `struct vmcore_cb` whose `pfn_is_ram`
//! says so. /proc/vmcore serves such a page as zeros, to read() and mmap()
//! alike, as the stock kernel does.
//!
//! The callbacks sit in a fixed table of slots that registration fills and
//! unregistration empties with atomic exchanges. A reader takes a [`Reader`]
//! (counted in [`READERS`]) for as long as it acts on their answers; an
//! unregistration empties its slot, then waits until no reader is left, so
//! that the driver may free its callback when it returns (the stock kernel
//! uses SRCU for the same). Registration may come before any initcall (Xen
//! and the GART are registered from setup_arch()), so nothing here needs to
//! be initialised.

use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{ordering, Atomic};

/// How many callbacks can be registered at once. The stock kernel keeps a
/// list; the kernel's own users register one each (Xen, GART, unaccepted
/// memory) or one per virtio-mem device.
const SLOTS: usize = 16;

/// The registered callbacks; null for a free slot.
static SLOT: [Atomic<*mut bindings::vmcore_cb>; SLOTS] =
    [const { Atomic::new(core::ptr::null_mut()) }; SLOTS];

/// How many slots are in use: 0 lets readers skip the per-page questions.
static REGISTERED: Atomic<usize> = Atomic::new(0);

/// How many [`Reader`]s exist.
static READERS: Atomic<usize> = Atomic::new(0);

/// Registers `cb` (`register_vmcore_cb`); it stays registered until
/// [`unregister`]. A full table is logged and the callback left out.
pub(crate) fn register(cb: *mut bindings::vmcore_cb) {
    if super::file::ever_opened() {
        pr_warn!("vmcore: Unexpected vmcore callback registration\n");
    }
    for s in &SLOT {
        if s.cmpxchg(core::ptr::null_mut(), cb, ordering::Full).is_ok() {
            REGISTERED.fetch_add(1, ordering::Full);
            return;
        }
    }
    pr_err!(
        "vmcore: no room for another vmcore callback ({SLOTS} registered): \
         its memory will be read as RAM\n"
    );
}

/// Unregisters `cb` (`unregister_vmcore_cb`); when this returns, no reader is
/// still acting on its answers.
pub(crate) fn unregister(cb: *mut bindings::vmcore_cb) {
    if super::file::ever_opened() {
        pr_warn!("vmcore: Unexpected vmcore callback unregistration\n");
    }
    let Some(s) = SLOT.iter().find(|s| s.load(ordering::Relaxed) == cb) else {
        return;
    };
    if s.cmpxchg(cb, core::ptr::null_mut(), ordering::Full)
        .is_err()
    {
        return;
    }
    REGISTERED.fetch_sub(1, ordering::Full);
    // A reader that loaded `cb` from the slot counted itself first (both fully
    // ordered): wait for every reader that may have.
    while READERS.load(ordering::Acquire) != 0 {
        // SAFETY: sleeps a millisecond; this runs in process context.
        unsafe { bindings::msleep(1) };
    }
}

/// The right to ask the registered callbacks, for as long as it lives.
///
/// # Invariants
///
/// It is counted in [`READERS`] from its creation until its drop.
pub(crate) struct Reader(());

impl Reader {
    /// A reader, or `None` if no callback is registered (every page is RAM).
    pub(crate) fn get() -> Option<Self> {
        if REGISTERED.load(ordering::Relaxed) == 0 {
            return None;
        }
        READERS.fetch_add(1, ordering::Full);
        // INVARIANT: counted just above.
        Some(Reader(()))
    }

    /// Whether page frame `pfn` of old memory may be read: no callback says
    /// it is not RAM.
    pub(crate) fn pfn_is_ram(&self, pfn: u64) -> bool {
        SLOT.iter().all(|s| {
            let cb = s.load(ordering::Acquire);
            if cb.is_null() {
                return true;
            }
            // SAFETY: `cb` was registered and, as this reader is counted
            // (type invariant), its unregistration has not returned yet.
            match unsafe { (*cb).pfn_is_ram } {
                // SAFETY: as above; the driver's callback takes its own
                // structure and a page frame number.
                Some(f) => unsafe { f(cb, pfn as c_ulong) },
                None => true,
            }
        })
    }

    /// Splits `[phys, phys + len)` into runs of pages that are all RAM or all
    /// not, and calls `f(start, len, ram)` for each in order; stops at the
    /// first error.
    pub(crate) fn for_each_run(
        &self,
        phys: u64,
        len: u64,
        mut f: impl FnMut(u64, u64, bool) -> Result,
    ) -> Result {
        let page = kernel::page::PAGE_SIZE as u64;
        let end = phys + len;
        let mut at = phys;
        let mut ram = self.pfn_is_ram(at / page);
        while at < end {
            let mut run_end = ((at / page + 1) * page).min(end);
            let mut next = ram;
            while run_end < end {
                next = self.pfn_is_ram(run_end / page);
                if next != ram {
                    break;
                }
                run_end = (run_end + page).min(end);
            }
            f(at, run_end - at, ram)?;
            at = run_end;
            ram = next;
        }
        Ok(())
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        READERS.fetch_sub(1, ordering::Release);
    }
}

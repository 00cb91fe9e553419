// SPDX-License-Identifier: GPL-2.0

//! The crash kernel reservation as the load path sees it: `crashk_res`, and
//! `crashk_low_res` for the part below 4 GiB that goes with a high reservation.
//!
//! The resources are defined by crash/reserve.rs (or by C's
//! kernel/crash_reserve.c when `KEXEC_RUST_CRASH` is off); both set them at
//! early boot and change them afterwards only under the kexec lock. [`window`]
//! takes the lock's guard; the `_unlocked` reads are for code that C calls
//! with the lock held on its behalf, and for the low part, which only boot
//! and the shrink under the lock change.

use super::state::KexecLock;
use kernel::bindings;

/// `[start, end]` of a resource (`end == 0`: none).
fn range(res: *const bindings::resource) -> (u64, u64) {
    // SAFETY: `res` is one of the two static crash resources; their bounds are
    // plain integers, read as a snapshot (see `window_unlocked`).
    unsafe {
        (
            core::ptr::read_volatile(&raw const (*res).start),
            core::ptr::read_volatile(&raw const (*res).end),
        )
    }
}

/// The reservation `[start, end]` (`[0, 0]` when there is none).
pub(crate) fn window(_lock: &KexecLock) -> (u64, u64) {
    window_unlocked()
}

/// [`window`] for code that C calls with the lock held on its behalf (the
/// kimage functions under kexec_file_load) or at boot: the reservation does
/// not change meanwhile.
pub(crate) fn window_unlocked() -> (u64, u64) {
    range(&raw const bindings::crashk_res)
}

/// The low part `[start, end]` (`[0, 0]` when there is none).
pub(crate) fn low_window_unlocked() -> (u64, u64) {
    range(&raw const bindings::crashk_low_res)
}

// SPDX-License-Identifier: GPL-2.0

//! The crash kernel's memory: `crashkernel=` at early boot, the reservation, and
//! the "Crash kernel" resources (replaces kernel/crash_reserve.c).
//!
//! `setup_arch()` calls [`parse_crashkernel`] and then
//! [`reserve_crashkernel_generic`], as with the stock kernel. The parsing is
//! [`crate::crashkernel`]'s; a malformed value is logged with the rule it broke and
//! the kernel boots without a reservation. The reservation follows the stock
//! policy on x86_64: below 4 GiB first, then above it with an extra low
//! reservation for DMA; `,high` the other way round; `@offset` exactly there or
//! not at all.

use crate::crashkernel;
use crate::state::CGlobal;
use crate::sys;
use kernel::bindings;
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;

const fn crash_resource() -> bindings::resource {
    bindings::resource {
        start: 0,
        end: 0,
        name: c"Crash kernel".as_ptr().cast(),
        flags: (bindings::IORESOURCE_BUSY | bindings::IORESOURCE_SYSTEM_RAM) as _,
        desc: bindings::IORES_DESC_CRASH_KERNEL as _,
        parent: core::ptr::null_mut(),
        sibling: core::ptr::null_mut(),
        child: core::ptr::null_mut(),
    }
}

/// The crash kernel's reservation (`struct resource crashk_res`), empty while
/// `end` is 0. Written at early boot and, when shrunk, under the kexec lock.
#[no_mangle]
pub(crate) static crashk_res: CGlobal<bindings::resource> = CGlobal::new(crash_resource());

/// The low part that goes with a reservation above 4 GiB (`crashk_low_res`).
#[no_mangle]
pub(crate) static crashk_low_res: CGlobal<bindings::resource> = CGlobal::new(crash_resource());

/// CMA ranges for the crash kernel (`struct range crashk_cma_ranges[]`): none, as
/// this build has no CMA (Kconfig).
#[no_mangle]
pub(crate) static crashk_cma_ranges: CGlobal<[bindings::range; 0]> = CGlobal::new([]);

/// Parses `crashkernel=` for `setup_arch()` (`parse_crashkernel`). Returns 0 and
/// fills the outputs when there is something to reserve; otherwise `-EINVAL`,
/// after logging the broken rule if a value was malformed.
///
/// # Safety
///
/// `cmdline` is a C string; the outputs are valid for writes (`low_size`,
/// `cma_size` and `high` may be null if the caller does not support them).
#[no_mangle]
pub(crate) unsafe extern "C" fn parse_crashkernel(
    cmdline: *mut c_char,
    system_ram: u64,
    crash_size: *mut u64,
    crash_base: *mut u64,
    low_size: *mut u64,
    cma_size: *mut u64,
    high: *mut bool,
) -> c_int {
    // SAFETY: by the caller's contract.
    let line = unsafe { core::ffi::CStr::from_ptr(cmdline.cast()) }.to_bytes();
    // SAFETY: an arch constant.
    let default_low = unsafe { sys::kexec_rust_crash_low_size_default() };
    // SAFETY: the outputs are valid for writes, by the caller's contract.
    unsafe {
        *crash_size = 0;
        *crash_base = 0;
    }
    let req = match crashkernel::parse(line, system_ram, default_low) {
        Ok(req) => req,
        Err(crashkernel::Error::Absent) => return -(crashkernel::EINVAL),
        Err(e) => {
            pr_warn!(
                "{}; no memory is reserved for a crash kernel\n",
                format_args!("{e}")
            );
            return -e.errno();
        }
    };
    if req.high && high.is_null() {
        pr_warn!("crashkernel=...,high is not supported here; no memory is reserved\n");
        return -(crashkernel::EINVAL);
    }
    // SAFETY: the outputs are valid for writes; the optional ones are checked.
    unsafe {
        *crash_size = req.size;
        *crash_base = req.base;
        if !low_size.is_null() {
            *low_size = req.low_size;
        }
        if !cma_size.is_null() {
            *cma_size = req.cma_size;
        }
        if !high.is_null() {
            *high = req.high;
        }
    }
    0
}

/// Allocates `size` bytes of memblock memory within `[start, end)`; 0 if none.
// Like every function here that calls memblock, it is early-boot code (`__init`).
#[link_section = ".init.text"]
fn memblock_alloc(size: u64, start: u64, end: u64) -> u64 {
    // SAFETY: early boot, memblock is the allocator; the arguments are plain values.
    unsafe { sys::memblock_phys_alloc_range(size, sys::kexec_rust_crash_align(), start, end) }
}

/// Inserts a reservation into /proc/iomem.
///
/// # Safety
///
/// `res` is one of the two static crash resources.
unsafe fn insert_into_iomem(res: *mut bindings::resource) {
    // SAFETY: `iomem_resource` is the root of the iomem tree; `res` is static.
    unsafe { bindings::insert_resource(core::ptr::addr_of_mut!(bindings::iomem_resource), res) };
}

#[link_section = ".init.text"]
fn reserve_low(size: u64) -> Result {
    // SAFETY: an arch constant.
    let low_max = unsafe { sys::kexec_rust_crash_addr_low_max() };
    let base = memblock_alloc(size, 0, low_max);
    if base == 0 {
        pr_err!("cannot allocate crashkernel low memory (size:0x{size:x}).\n");
        return Err(ENOMEM);
    }
    pr_info!(
        "crashkernel low memory reserved: 0x{:08x} - 0x{:08x} ({} MB)\n",
        base,
        base + size,
        size >> 20
    );
    // SAFETY: early boot, single-threaded: nothing else touches the resource yet.
    unsafe {
        let res = crashk_low_res.get();
        (*res).start = base;
        (*res).end = base + size - 1;
        insert_into_iomem(res);
    }
    Ok(())
}

/// Reserves the crash kernel's memory at early boot
/// (`reserve_crashkernel_generic`).
#[no_mangle]
#[link_section = ".init.text"]
pub(crate) extern "C" fn reserve_crashkernel_generic(
    size: u64,
    base: u64,
    low_size: u64,
    high: bool,
) {
    // SAFETY: arch constants.
    let (low_max, high_max) = unsafe {
        (
            sys::kexec_rust_crash_addr_low_max(),
            sys::kexec_rust_crash_addr_high_max(),
        )
    };
    let fixed = base != 0;
    let mut low_size = low_size;
    let (mut start, mut end) = if fixed {
        (base, base.saturating_add(size))
    } else if high {
        (low_max, high_max)
    } else {
        (0, low_max)
    };
    let got = loop {
        let got = memblock_alloc(size, start, end);
        if got != 0 {
            break got;
        }
        if fixed {
            pr_warn!("crashkernel reservation failed - memory is in use.\n");
            return;
        }
        if !high && end == low_max {
            // Nothing below 4 GiB: go high, with a low part for DMA.
            (start, end) = (low_max, high_max);
            // SAFETY: an arch constant.
            low_size = unsafe { sys::kexec_rust_crash_low_size_default() };
            continue;
        }
        if high && end == high_max && low_max != high_max {
            // Nothing above 4 GiB: try below.
            (start, end) = (0, low_max);
            continue;
        }
        pr_warn!("cannot allocate crashkernel (size:0x{size:x})\n");
        return;
    };
    if got >= low_max && low_size != 0 && reserve_low(low_size).is_err() {
        // SAFETY: frees the block allocated above.
        unsafe { sys::memblock_phys_free(got, size) };
        return;
    }
    pr_info!(
        "crashkernel reserved: 0x{:016x} - 0x{:016x} ({} MB)\n",
        got,
        got + size,
        size >> 20
    );
    // SAFETY: early boot, single-threaded; the resources are static.
    unsafe {
        sys::kexec_rust_kmemleak_ignore_phys(got);
        let low = crashk_low_res.get();
        if (*low).end != 0 {
            sys::kexec_rust_kmemleak_ignore_phys((*low).start);
        }
        let res = crashk_res.get();
        (*res).start = got;
        (*res).end = got + size - 1;
        insert_into_iomem(res);
    }
}

/// `crashkernel=SIZE,cma` (`reserve_crashkernel_cma`): this build has no CMA.
#[no_mangle]
pub(crate) extern "C" fn reserve_crashkernel_cma(cma_size: u64) {
    if cma_size != 0 {
        pr_warn!("crashkernel CMA reservation not supported\n");
    }
}

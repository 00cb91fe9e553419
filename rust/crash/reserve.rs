// SPDX-License-Identifier: GPL-2.0

//! The crash kernel's memory: `crashkernel=` at early boot, the reservation, and
//! the "Crash kernel" resources (replaces kernel/crash_reserve.c).
//!
//! `setup_arch()` calls `parse_crashkernel` and then
//! `reserve_crashkernel_generic` (ffi.rs: [`parse`], [`reserve_generic`]), as
//! with the stock kernel. The reservation is [`crashk_res`] and
//! [`crashk_low_res`], of type [`CrashResource`]; `/sys/kernel/kexec_crash_size`
//! shrinks it ([`shrink`]). The parsing is
//! [`crate::crashkernel`]'s; a malformed value is logged with the rule it broke and
//! the kernel boots without a reservation. The reservation follows the stock
//! policy on x86_64: below 4 GiB first, then above it with an extra low
//! reservation for DMA; `,high` the other way round; `@offset` exactly there or
//! not at all.

use crate::crashkernel;
use crate::kexec::state::KexecLock;
use kernel::bindings;
use kernel::prelude::*;
#[cfg(CONFIG_CMA)]
use kernel::sync::atomic::{ordering, Atomic};
use kernel::types::Opaque;

/// One of the crash kernel's resources (`struct resource`), which C also reads
/// by name and which sits in the iomem tree.
///
/// # Invariants
///
/// `start` and `end` are written only at early boot (one CPU, nothing else
/// running) and, when the reservation shrinks, under the kexec lock; the tree
/// links are the resource tree's, changed under its lock by
/// `insert_resource`/`release_resource`.
#[repr(transparent)]
pub(crate) struct CrashResource(Opaque<bindings::resource>);

// SAFETY: see the type invariant: every write is serialised (boot, the kexec
// lock, or the resource tree's lock).
unsafe impl Sync for CrashResource {}

impl CrashResource {
    const fn new() -> Self {
        CrashResource(Opaque::new(bindings::resource {
            start: 0,
            end: 0,
            name: c"Crash kernel".as_ptr().cast(),
            flags: (bindings::IORESOURCE_BUSY | bindings::IORESOURCE_SYSTEM_RAM) as _,
            desc: bindings::IORES_DESC_CRASH_KERNEL as _,
            parent: core::ptr::null_mut(),
            sibling: core::ptr::null_mut(),
            child: core::ptr::null_mut(),
        }))
    }

    /// `[start, end]`, `end == 0` when empty.
    fn bounds(&self) -> (u64, u64) {
        let r = self.0.get();
        // SAFETY: the bounds are plain integers, written only as the invariant says.
        unsafe {
            (
                core::ptr::read_volatile(&raw const (*r).start),
                core::ptr::read_volatile(&raw const (*r).end),
            )
        }
    }

    fn set_bounds(&self, start: u64, end: u64, _lock: &KexecLock) {
        // SAFETY: under the kexec lock (the guard proves it).
        unsafe { self.set_bounds_at_boot(start, end) }
    }

    /// # Safety
    ///
    /// Early boot, or the kexec lock held.
    unsafe fn set_bounds_at_boot(&self, start: u64, end: u64) {
        let r = self.0.get();
        // SAFETY: by the requirements no one else writes the bounds.
        unsafe {
            (*r).start = start;
            (*r).end = end;
        }
    }

    /// Bytes reserved.
    pub(crate) fn size(&self, _lock: &KexecLock) -> u64 {
        match self.bounds() {
            (_, 0) => 0,
            (start, end) => end - start + 1,
        }
    }

    /// Puts the resource into /proc/iomem.
    fn insert(&self) {
        // SAFETY: the resource is static; the tree takes its own lock.
        unsafe { bindings::insert_resource(&raw mut bindings::iomem_resource, self.0.get()) };
    }

    /// Takes the resource out of /proc/iomem and empties it.
    fn release(&self, lock: &KexecLock) {
        // SAFETY: the resource is in the tree (it has a size); the tree takes its lock.
        unsafe { bindings::release_resource(self.0.get()) };
        self.set_bounds(0, 0, lock);
    }

    /// Gives `[start + new_size, end]` back to the page allocator and to
    /// /proc/iomem as System RAM.
    fn shrink(&self, new_size: u64, lock: &KexecLock) -> Result {
        let (start, end) = self.bounds();
        let freed_start = start + new_size;
        let freed = KBox::new(
            bindings::resource {
                start: freed_start,
                end,
                name: c"System RAM".as_ptr().cast(),
                flags: (bindings::IORESOURCE_BUSY | bindings::IORESOURCE_SYSTEM_RAM) as _,
                desc: 0,
                parent: core::ptr::null_mut(),
                sibling: core::ptr::null_mut(),
                child: core::ptr::null_mut(),
            },
            GFP_KERNEL,
        )?;
        if new_size == 0 {
            self.release(lock);
        } else {
            self.set_bounds(start, freed_start - 1, lock);
        }
        // SAFETY: the range was reserved at boot and is no longer part of the
        // reservation; the new resource belongs to the iomem tree from here on,
        // as in C.
        unsafe {
            bindings::kexec_rust_crash_free_reserved_phys_range(
                freed_start as c_ulong,
                end as c_ulong,
            );
            bindings::insert_resource(&raw mut bindings::iomem_resource, KBox::into_raw(freed));
        }
        Ok(())
    }
}

/// The crash kernel's reservation (`struct resource crashk_res`), empty while
/// `end` is 0.
#[no_mangle]
pub(crate) static crashk_res: CrashResource = CrashResource::new();

/// The low part that goes with a reservation above 4 GiB (`crashk_low_res`).
#[no_mangle]
pub(crate) static crashk_low_res: CrashResource = CrashResource::new();

/// CMA ranges for the crash kernel (`struct range crashk_cma_ranges[]`): none, as
/// this build has no CMA.
#[cfg(not(CONFIG_CMA))]
#[no_mangle]
pub(crate) static crashk_cma_ranges: [bindings::range; 0] = [];

/// The crash kernel's ranges of CMA memory, `crashkernel=SIZE,cma`: normal
/// memory for the running kernel's movable pages, all of it RAM to the capture
/// kernel (which may overwrite it: the dump leaves it out). The x86 code
/// (arch/x86/kernel/crash.c) reads the table as `crashk_cma_ranges[]` and its
/// length as `crashk_cma_cnt`.
///
/// # Invariants
///
/// Written only by [`reserve_cma`], at early boot (one CPU, nothing else
/// running); read-only afterwards.
#[cfg(CONFIG_CMA)]
#[repr(transparent)]
pub(crate) struct CmaRanges(Opaque<[bindings::range; CMA_RANGES_MAX]>);

/// At most this many CMA ranges (`CRASHKERNEL_CMA_RANGES_MAX`).
#[cfg(CONFIG_CMA)]
const CMA_RANGES_MAX: usize = bindings::CRASHK_CMA_RANGES_MAX as usize;

// SAFETY: see the type invariant: written once at boot, before any reader.
#[cfg(CONFIG_CMA)]
unsafe impl Sync for CmaRanges {}

/// The table (`crashk_cma_ranges`); the first [`crashk_cma_cnt`] entries are used.
#[cfg(CONFIG_CMA)]
#[no_mangle]
pub(crate) static crashk_cma_ranges: CmaRanges = CmaRanges(Opaque::new(
    [bindings::range { start: 0, end: 0 }; CMA_RANGES_MAX],
));

/// How many of [`crashk_cma_ranges`] are used (`int crashk_cma_cnt`).
#[cfg(CONFIG_CMA)]
#[no_mangle]
pub(crate) static crashk_cma_cnt: Atomic<i32> = Atomic::new(0);

/// The CMA ranges reserved at boot, `[start, end]` each.
pub(crate) fn cma_ranges() -> &'static [bindings::range] {
    #[cfg(CONFIG_CMA)]
    {
        let n = (crashk_cma_cnt.load(ordering::Acquire).max(0) as usize).min(CMA_RANGES_MAX);
        // SAFETY: by the invariant the table no longer changes once the count is
        // set, and the count is set after the entries it covers.
        let table: &[bindings::range; CMA_RANGES_MAX] = unsafe { &*crashk_cma_ranges.0.get() };
        &table[..n]
    }
    #[cfg(not(CONFIG_CMA))]
    {
        &[]
    }
}

const _: () =
    assert!(core::mem::size_of::<CrashResource>() == core::mem::size_of::<bindings::resource>());

/// The reservation's size in bytes, both parts.
pub(crate) fn size(lock: &KexecLock) -> u64 {
    crashk_res.size(lock) + crashk_low_res.size(lock)
}

/// Shrinks the reservation to `new_size` bytes, rounded up to the arch's
/// alignment; `EINVAL` if it would grow. The caller has checked that no crash
/// image is loaded.
pub(crate) fn shrink(new_size: u64, lock: &KexecLock) -> Result {
    let align = Arch::get().mem_align;
    let low_size = crashk_low_res.size(lock);
    let old_size = size(lock);
    // A size near 2^64 cannot be rounded up: it is larger than any reservation.
    let Some(new_size) = new_size.checked_next_multiple_of(align.max(1)) else {
        return Err(EINVAL);
    };
    if new_size >= old_size {
        return if new_size == old_size {
            Ok(())
        } else {
            Err(EINVAL)
        };
    }
    let ret = if low_size > new_size {
        // The high part goes entirely, the low one keeps `new_size`.
        crashk_res
            .shrink(0, lock)
            .and_then(|()| crashk_low_res.shrink(new_size, lock))
    } else {
        crashk_res.shrink(new_size - low_size, lock)
    };
    if crashk_res.bounds().1 == 0 && crashk_low_res.bounds().1 != 0 {
        // Only the low part is left: it becomes the reservation.
        let (start, end) = crashk_low_res.bounds();
        crashk_low_res.release(lock);
        crashk_res.set_bounds(start, end, lock);
        crashk_res.insert();
    }
    ret
}

/// Parses `crashkernel=` in `line` for `setup_arch()`: the reservation to
/// make, or the (positive) errno, after logging the broken rule if a value
/// was malformed. `high_ok`: the arch takes `,high` requests.
pub(crate) fn parse(
    line: &[u8],
    system_ram: u64,
    high_ok: bool,
) -> core::result::Result<crashkernel::Request, i32> {
    let default_low = Arch::get().low_size_default;
    let req = match crashkernel::parse(line, system_ram, default_low) {
        Ok(req) => req,
        Err(crashkernel::Error::Absent) => return Err(crashkernel::EINVAL),
        Err(e) => {
            pr_warn!(
                "{}; no memory is reserved for a crash kernel\n",
                format_args!("{e}")
            );
            return Err(e.errno());
        }
    };
    if req.high && !high_ok {
        pr_warn!("crashkernel=...,high is not supported here; no memory is reserved\n");
        return Err(crashkernel::EINVAL);
    }
    Ok(req)
}

/// The arch's crashkernel= limits and defaults (macros of asm/crash_reserve.h
/// and asm/kexec.h).
struct Arch {
    /// `CRASH_ALIGN`: where a reservation may start.
    align: u64,
    /// `CRASH_ADDR_LOW_MAX`: the end of the low (DMA-able) region.
    low_max: u64,
    /// `CRASH_ADDR_HIGH_MAX`.
    high_max: u64,
    /// `DEFAULT_CRASH_KERNEL_LOW_SIZE`: the low part that goes with a high reservation.
    low_size_default: u64,
    /// `KEXEC_CRASH_MEM_ALIGN`: the unit of `kexec_crash_size`.
    mem_align: u64,
}

impl Arch {
    fn get() -> Self {
        // SAFETY: the helpers return constants.
        unsafe {
            Arch {
                align: bindings::kexec_rust_crash_align(),
                low_max: bindings::kexec_rust_crash_addr_low_max(),
                high_max: bindings::kexec_rust_crash_addr_high_max(),
                low_size_default: bindings::kexec_rust_crash_low_size_default(),
                mem_align: bindings::kexec_rust_crash_mem_align() as u64,
            }
        }
    }
}

/// Allocates `size` bytes of memblock memory within `[start, end)`; 0 if none.
// Like every function here that calls memblock, it is early-boot code (`__init`).
#[link_section = ".init.text"]
fn memblock_alloc(size: u64, start: u64, end: u64) -> u64 {
    // SAFETY: early boot, memblock is the allocator; the arguments are plain values.
    unsafe { bindings::memblock_phys_alloc_range(size, Arch::get().align, start, end) }
}

#[link_section = ".init.text"]
fn reserve_low(size: u64) -> Result {
    let base = memblock_alloc(size, 0, Arch::get().low_max);
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
    unsafe { crashk_low_res.set_bounds_at_boot(base, base + size - 1) };
    if inserted_early() {
        crashk_low_res.insert();
    }
    Ok(())
}

/// Reserves the crash kernel's memory at early boot
/// (`reserve_crashkernel_generic`).
#[link_section = ".init.text"]
pub(crate) fn reserve_generic(size: u64, base: u64, low_size: u64, high: bool) {
    let arch = Arch::get();
    let (low_max, high_max) = (arch.low_max, arch.high_max);
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
            low_size = arch.low_size_default;
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
        unsafe { bindings::memblock_phys_free(got, size) };
        return;
    }
    pr_info!(
        "crashkernel reserved: 0x{:016x} - 0x{:016x} ({} MB)\n",
        got,
        got + size,
        size >> 20
    );
    // SAFETY: tells kmemleak not to scan the reserved blocks.
    unsafe {
        bindings::kexec_rust_kmemleak_ignore_phys(got);
        let (low_start, low_end) = crashk_low_res.bounds();
        if low_end != 0 {
            bindings::kexec_rust_kmemleak_ignore_phys(low_start);
        }
    }
    // SAFETY: early boot, single-threaded.
    unsafe { crashk_res.set_bounds_at_boot(got, got + size - 1) };
    if inserted_early() {
        crashk_res.insert();
    }
}

/// Whether the arch puts the reservation into /proc/iomem as it reserves it
/// (x86: `HAVE_ARCH_ADD_CRASH_RES_TO_IOMEM_EARLY`). Elsewhere (arm64) its RAM
/// resources are registered after the reservation, so the reservation goes in
/// at an early initcall ([`insert_boot_resources`]).
fn inserted_early() -> bool {
    // SAFETY: returns a constant.
    unsafe { bindings::kexec_rust_crash_res_early() }
}

/// Puts the reservations made at boot into /proc/iomem, from an early
/// initcall, where the arch does not do it at reservation time.
pub(crate) fn insert_boot_resources() {
    if inserted_early() {
        return;
    }
    for res in [&crashk_res, &crashk_low_res] {
        let (start, end) = res.bounds();
        if start < end {
            res.insert();
        }
    }
}

/// `crashkernel=SIZE,cma` (`reserve_crashkernel_cma`): this build has no CMA.
#[cfg(not(CONFIG_CMA))]
pub(crate) fn reserve_cma(cma_size: u64) {
    if cma_size != 0 {
        pr_warn!("crashkernel CMA reservation not supported\n");
    }
}

/// `crashkernel=SIZE,cma` (`reserve_crashkernel_cma`): declares CMA areas named
/// "crashkernel" for `cma_size` bytes, in one area if memblock has room for it,
/// else in areas of half the size, then a quarter, and so on, down to a page,
/// at most [`CMA_RANGES_MAX`] of them. What it got is logged, and is in
/// `/sys/kernel/kexec/crash_cma_ranges`.
#[cfg(CONFIG_CMA)]
#[link_section = ".init.text"]
pub(crate) fn reserve_cma(cma_size: u64) {
    if cma_size == 0 {
        return;
    }
    let page = kernel::page::PAGE_SIZE as u64;
    let mut request = cma_size.next_multiple_of(page);
    let mut reserved = 0u64;
    let mut n = 0usize;
    // SAFETY: early boot, one CPU: nothing reads the table before the count
    // below is stored (type invariant).
    let table = unsafe { &mut *crashk_cma_ranges.0.get() };
    while cma_size > reserved && n < CMA_RANGES_MAX {
        let mut area: *mut bindings::cma = core::ptr::null_mut();
        // SAFETY: early boot, memblock is the allocator; `area` receives the
        // new area, which lives for the kernel's lifetime.
        let ret = unsafe {
            bindings::cma_declare_contiguous_nid(
                0,
                request,
                0,
                0,
                0,
                false,
                c"crashkernel".as_char_ptr(),
                &mut area,
                bindings::NUMA_NO_NODE,
            )
        };
        if ret != 0 {
            // No room for a block this large: try halves.
            if request <= page {
                break;
            }
            request = (request / 2).next_multiple_of(page);
            continue;
        }
        // SAFETY: `area` was just declared and is valid for ever.
        let (base, size) = unsafe { (bindings::cma_get_base(area), bindings::cma_get_size(area)) };
        table[n] = bindings::range {
            start: base,
            end: base + size as u64 - 1,
        };
        n += 1;
        reserved += request;
    }
    crashk_cma_cnt.store(n as i32, ordering::Release);
    if cma_size > reserved {
        pr_warn!(
            "crashkernel CMA reservation failed: {} MB requested, {} MB reserved in {} ranges\n",
            cma_size >> 20,
            reserved >> 20,
            n
        );
    } else {
        pr_info!(
            "crashkernel CMA reserved: {} MB in {} ranges\n",
            reserved >> 20,
            n
        );
    }
}

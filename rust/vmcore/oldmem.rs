// SPDX-License-Identifier: GPL-2.0

//! The crashed kernel's memory, as the capture kernel reads it.
//!
//! Old memory is not part of this kernel's direct map: each read maps it,
//! copies, and unmaps. The stock kernel does that one 4 KiB page at a time
//! (arch/x86/kernel/crash_dump_64.c); here a read maps as much of its request
//! as it can at once, up to [`MAX_MAP`], so that the cost of the mapping (a
//! walk of the resource tree, a virtual area, a TLB flush on unmap) is paid
//! once per request rather than once per page. A piece that cannot be mapped
//! whole is read page by page, so that what is served, and what fails, is what
//! the stock kernel serves. A user's buffer is pinned and written directly
//! (see [`copy_to_iter`]).

use super::callbacks::Reader;
use kernel::bindings;
use kernel::iov::IovIterDest;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

use core::ptr::NonNull;

/// The largest piece of old memory one mapping covers.
pub(crate) const MAX_MAP: usize = 4 << 20;

/// Why a range of old memory cannot be mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unmappable {
    /// It wraps around, or ends past what this CPU can address.
    BeyondPhysBits {
        /// This CPU's physical address width.
        bits: u32,
    },
    /// A page of it is memory this kernel uses (not reserved RAM).
    InUse {
        /// The page's physical address.
        at: u64,
    },
    /// Part of it is no RAM of this machine (arm64: outside the device
    /// tree's memory nodes).
    NotRam {
        /// The first address outside.
        at: u64,
    },
}

impl core::fmt::Display for Unmappable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Unmappable::BeyondPhysBits { bits } => {
                write!(f, "it lies beyond the CPU's {bits}-bit physical addresses")
            }
            Unmappable::InUse { at } => write!(f, "page {at:#x} is this kernel's own memory"),
            Unmappable::NotRam { at } => {
                write!(
                    f,
                    "{at:#x} is not in the machine's memory (the device tree's memory nodes)"
                )
            }
        }
    }
}

/// Checks that `[phys, phys + len)` is old memory that may be mapped: within
/// the CPU's physical address width and not in this kernel's use. These are
/// the cases in which `ioremap()` warns (the stock kernel reaches them with a
/// bad elfcorehdr); here they are refused before mapping.
pub(crate) fn check_mappable(phys: u64, len: u64) -> core::result::Result<(), Unmappable> {
    // SAFETY: no precondition.
    let bits = unsafe { bindings::kexec_rust_phys_bits() };
    let end = phys
        .checked_add(len)
        .ok_or(Unmappable::BeyondPhysBits { bits })?;
    if bits < 64 && end > 1u64 << bits {
        return Err(Unmappable::BeyondPhysBits { bits });
    }
    #[cfg(CONFIG_ARM64)]
    if let Some(at) = first_outside_dt_memory(phys, end) {
        return Err(Unmappable::NotRam { at });
    }
    let first = phys / PAGE_SIZE as u64;
    let last = end.div_ceil(PAGE_SIZE as u64);
    // Only this kernel's System RAM can hold a page in use: the pages of the
    // range that are in it are looked at, the rest (old memory, normally all
    // of it) costs one walk of the resource tree.
    let mut found = InUseSearch { pfn: None };
    // SAFETY: `found` outlives the call, which passes it only to the callback.
    unsafe {
        bindings::walk_system_ram_range(
            first as _,
            (last - first) as _,
            (&mut found as *mut InUseSearch).cast(),
            Some(super::ffi::find_ram_in_use),
        )
    };
    match found.pfn {
        Some(pfn) => Err(Unmappable::InUse {
            at: pfn * PAGE_SIZE as u64,
        }),
        None => Ok(()),
    }
}

/// The first address of `[start, end)` that none of the device tree's memory
/// ranges holds, or `None` if they hold all of it. On arm64 the capture kernel
/// knows the crashed kernel's RAM only from there (its own memory is what
/// `linux,usable-memory-range` leaves it), and reading a physical address
/// that nothing backs is a synchronous external abort, where x86 reads
/// all-ones: such a range must not be mapped.
#[cfg(CONFIG_ARM64)]
fn first_outside_dt_memory(start: u64, end: u64) -> Option<u64> {
    let mut at = start;
    // Each pass extends `at` through a range that holds it; ranges may touch.
    while at < end {
        let mut next = None;
        let mut node = core::ptr::null_mut();
        loop {
            // SAFETY: `node` is null or the node the last call returned, whose
            // reference the call drops; the result holds a reference until the
            // next call (none is left when it returns null).
            node = unsafe { bindings::kexec_rust_of_next_memory_node(node) };
            if node.is_null() {
                break;
            }
            for i in 0.. {
                let mut r: bindings::resource = pin_init::zeroed();
                // SAFETY: `node` is a live node; `r` is ours to fill.
                if unsafe { bindings::kexec_rust_of_reg_resource(node, i, &mut r) } != 0 {
                    break;
                }
                if r.start <= at && at <= r.end {
                    next = Some(next.map_or(r.end + 1, |n: u64| n.max(r.end + 1)));
                }
            }
        }
        match next {
            Some(n) => at = n,
            None => return Some(at),
        }
    }
    None
}

/// What `ffi::find_ram_in_use` reports: the first page this kernel uses.
pub(crate) struct InUseSearch {
    /// Its page frame number, once found.
    pub(crate) pfn: Option<u64>,
}

impl InUseSearch {
    /// Looks at the System RAM pages `[start, start + count)` until one is in
    /// this kernel's use (not reserved); returns whether one was found.
    pub(crate) fn scan(&mut self, start: u64, count: u64) -> bool {
        for pfn in start..start + count {
            // SAFETY: no precondition; looks the page up only if it is valid.
            if unsafe { bindings::kexec_rust_ram_in_use(pfn as _) } {
                self.pfn = Some(pfn);
                return true;
            }
            if pfn % 4096 == 4095 {
                // SAFETY: no lock is held (the resource walk holds none
                // while it calls back).
                unsafe { bindings::kexec_rust_cond_resched() };
            }
        }
        false
    }
}

/// A mapping of whole pages of the crashed kernel's memory.
///
/// # Invariants
///
/// `ptr` is the start of a cacheable kernel mapping of `len` bytes made by
/// `ioremap_cache()` or `ioremap_encrypted()` (on arm64 possibly the linear
/// map, which `iounmap()` leaves alone), and is unmapped only by `drop`.
/// Nothing writes old memory while the capture kernel runs, so the bytes may
/// be read as a slice.
pub(crate) struct OldMap {
    ptr: NonNull<u8>,
    len: usize,
}

impl OldMap {
    /// Maps `len` bytes of old memory at `phys`, both multiples of the page
    /// size; with `encrypted`, with the memory encryption bit set (SME). Fails
    /// with `ENOMEM` when the range cannot be mapped (see [`check_mappable`]).
    pub(crate) fn new(phys: u64, len: usize, encrypted: bool) -> Result<Self> {
        if len == 0 || phys % PAGE_SIZE as u64 != 0 || len % PAGE_SIZE != 0 {
            return Err(EINVAL);
        }
        check_mappable(phys, len as u64).map_err(|_| ENOMEM)?;
        // SAFETY: the ioremap functions have no precondition; they return
        // null for a range they refuse.
        #[cfg(CONFIG_X86)]
        let p = unsafe {
            if encrypted {
                bindings::ioremap_encrypted(phys, len as _)
            } else {
                bindings::kexec_rust_ioremap_cache(phys, len as _)
            }
        };
        // (No memory encryption here.)
        #[cfg(not(CONFIG_X86))]
        let _ = encrypted;
        // SAFETY: as above.
        #[cfg(not(CONFIG_X86))]
        let p = unsafe { bindings::kexec_rust_ioremap_cache(phys, len as _) };
        let ptr = NonNull::new(p.cast::<u8>()).ok_or(ENOMEM)?;
        // INVARIANT: a successful ioremap of `len` bytes, unmapped by `drop`.
        Ok(Self { ptr, len })
    }

    /// The mapped bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: by the type invariants, `len` bytes at `ptr` are mapped and
        // not written while the mapping lives.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for OldMap {
    fn drop(&mut self) {
        // SAFETY: by the type invariants, `ptr` came from an ioremap function
        // and is unmapped only here.
        unsafe { bindings::iounmap(self.ptr.as_ptr().cast()) };
    }
}

/// Calls `f` with each piece of old memory `[phys, phys + count)` in order,
/// each piece mapped; a piece is at most [`MAX_MAP`] bytes and never crosses
/// a `MAX_MAP` boundary. Stops at the first error of `f` or of a mapping.
pub(crate) fn for_each_piece(
    mut phys: u64,
    mut count: usize,
    encrypted: bool,
    mut f: impl FnMut(&[u8]) -> Result,
) -> Result {
    // After a piece that could not be mapped whole: page by page up to here.
    let mut by_page_until = 0u64;
    while count > 0 {
        let off = (phys % MAX_MAP as u64) as usize;
        let page_off = off % PAGE_SIZE;
        let base = phys - page_off as u64;
        let want = if phys < by_page_until {
            count.min(PAGE_SIZE - page_off)
        } else {
            count.min(MAX_MAP - off)
        };
        let span = (page_off + want).next_multiple_of(PAGE_SIZE);
        let (map, n) = match OldMap::new(base, span, encrypted) {
            Ok(map) => (map, want),
            // Read what can be read page by page, as the stock kernel does, so
            // that the same bytes are served and the same page fails.
            Err(_) if span > PAGE_SIZE => {
                by_page_until = phys - off as u64 + MAX_MAP as u64;
                (
                    OldMap::new(base, PAGE_SIZE, encrypted)?,
                    want.min(PAGE_SIZE - page_off),
                )
            }
            Err(e) => return Err(e),
        };
        f(&map.bytes()[page_off..page_off + n])?;
        drop(map);
        phys += n as u64;
        count -= n;
        if count > 0 {
            // SAFETY: no lock is held; reads of old memory may sleep.
            unsafe { bindings::kexec_rust_cond_resched() };
        }
    }
    Ok(())
}

/// Copies `count` bytes of old memory at `phys` to `dest`. A short copy (a
/// fault in the user's buffer) is `EFAULT`, as in the stock kernel.
///
/// A user buffer (`read()`, `readv()`) is pinned a batch of pages at a time and
/// written through the kernel's mapping of those pages with [`copy_words`];
/// any other destination goes through `copy_to_iter()`.
pub(crate) fn copy_to_iter(
    dest: &mut IovIterDest<'_>,
    phys: u64,
    count: usize,
    encrypted: bool,
) -> Result {
    let Some(reader) = Reader::get() else {
        return copy_ram_to_iter(dest, phys, count, encrypted);
    };
    // Pages a driver says are not RAM read as zeros, and are not touched.
    reader.for_each_run(phys, count as u64, |start, len, ram| {
        if ram {
            return copy_ram_to_iter(dest, start, len as usize, encrypted);
        }
        let mut left = len as usize;
        while left > 0 {
            let k = left.min(ZEROES.len());
            if dest.copy_to_iter(&ZEROES[..k]) < k {
                return Err(EFAULT);
            }
            left -= k;
        }
        Ok(())
    })
}

/// A page of zeros, for old memory that is not RAM.
static ZEROES: [u8; PAGE_SIZE] = [0; PAGE_SIZE];

/// [`copy_to_iter`] of old memory that is all RAM.
fn copy_ram_to_iter(
    dest: &mut IovIterDest<'_>,
    phys: u64,
    count: usize,
    encrypted: bool,
) -> Result {
    // SAFETY: `as_raw` is a valid iterator for the call.
    let user = unsafe { bindings::kexec_rust_user_backed_iter(dest.as_raw()) };
    for_each_piece(phys, count, encrypted, |mut b| {
        if !user {
            if dest.copy_to_iter(b) < b.len() {
                return Err(EFAULT);
            }
            return Ok(());
        }
        while !b.is_empty() {
            let Ok(mut pinned) = PinnedDest::extract(dest, b.len()) else {
                // Pages that cannot be pinned (a buffer in a device's
                // mapping, say): copy_to_user() can still write them.
                if dest.copy_to_iter(b) < b.len() {
                    return Err(EFAULT);
                }
                break;
            };
            let n = pinned.fill(b);
            b = &b[n..];
        }
        Ok(())
    })
}

/// How many user pages are pinned at once.
const PIN_BATCH: usize = 64;

/// User pages of a destination iterator, pinned so that the kernel can write
/// them through its own mapping.
///
/// # Invariants
///
/// `pages[..n]` were pinned by `iov_iter_extract_pages()` from a user-backed
/// destination iterator, for `len` bytes starting at `offset0` in the first
/// page; they are unpinned, and marked dirty, only by `drop`.
struct PinnedDest {
    pages: [*mut bindings::page; PIN_BATCH],
    n: usize,
    offset0: usize,
    len: usize,
}

impl PinnedDest {
    /// Pins up to `max` bytes of `dest`'s next user pages and advances it past
    /// them. `EFAULT` when not one byte could be pinned.
    fn extract(dest: &mut IovIterDest<'_>, max: usize) -> Result<Self> {
        let mut pages = [core::ptr::null_mut(); PIN_BATCH];
        let mut list = pages.as_mut_ptr();
        let mut offset0 = 0usize;
        // SAFETY: `list` points to room for `PIN_BATCH` page pointers, so the
        // function fills it rather than allocating; the iterator is valid.
        let got = unsafe {
            bindings::iov_iter_extract_pages(
                dest.as_raw(),
                &mut list,
                max,
                PIN_BATCH as _,
                0,
                &mut offset0,
            )
        };
        if got <= 0 {
            return Err(EFAULT);
        }
        let len = got as usize;
        let n = (offset0 + len).div_ceil(PAGE_SIZE);
        // INVARIANT: `n` pages pinned for `len` bytes from `offset0`.
        Ok(Self {
            pages,
            n,
            offset0,
            len,
        })
    }

    /// Writes the first bytes of `src` into the pinned pages, as many as they
    /// hold, and returns how many.
    fn fill(&mut self, src: &[u8]) -> usize {
        let total = self.len.min(src.len());
        let mut done = 0;
        let mut off = self.offset0;
        for &page in &self.pages[..self.n] {
            if done == total {
                break;
            }
            let k = (PAGE_SIZE - off).min(total - done);
            // SAFETY: by the type invariants the page is pinned for writing
            // and has a kernel mapping (no highmem on x86_64); `off + k` is
            // within it.
            let dst = unsafe {
                core::slice::from_raw_parts_mut(
                    bindings::kexec_rust_page_address(page)
                        .cast::<u8>()
                        .add(off),
                    k,
                )
            };
            copy_words(dst, &src[done..done + k]);
            done += k;
            off = 0;
        }
        done
    }
}

impl Drop for PinnedDest {
    fn drop(&mut self) {
        // SAFETY: by the type invariants, `pages[..n]` are pinned by us and
        // unpinned only here; they were written, hence dirty.
        unsafe {
            bindings::unpin_user_pages_dirty_lock(self.pages.as_mut_ptr(), self.n as _, true)
        };
    }
}

/// Copies `src` into `dst` (of the same length) with `memcpy()`: arm64's
/// moves 16 bytes per load/store pair, under TCG too (x86's, `rep movsb`,
/// does not: see the x86_64 version).
#[cfg(not(CONFIG_X86_64))]
fn copy_words(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
}

/// Copies `src` into `dst` (of the same length) eight bytes at a time.
///
/// The kernel's `memcpy()` and `copy_to_user()` use `rep movsb` on CPUs that
/// announce fast string moves; QEMU's TCG, on which our tests and benchmarks
/// run, executes that one byte per step, which made the copy, not the mapping,
/// the cost of a read. On hardware both are bounded by memory bandwidth.
#[cfg(CONFIG_X86_64)]
fn copy_words(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    let words = n / 8;
    if words > 0 {
        // SAFETY: reads `8 * words` bytes of `src` and writes as many of `dst`,
        // both within their slices; unaligned 8-byte moves are allowed on x86.
        unsafe {
            core::arch::asm!(
                "2:",
                "mov {t}, qword ptr [{s}]",
                "mov qword ptr [{d}], {t}",
                "add {s}, 8",
                "add {d}, 8",
                "dec {w}",
                "jnz 2b",
                s = inout(reg) src.as_ptr() => _,
                d = inout(reg) dst.as_mut_ptr() => _,
                w = inout(reg) words => _,
                t = out(reg) _,
                options(nostack),
            );
        }
    }
    for i in words * 8..n {
        dst[i] = src[i];
    }
}

/// Copies old memory at `phys` into `out`.
pub(crate) fn copy_to_slice(out: &mut [u8], phys: u64, encrypted: bool) -> Result {
    let mut at = 0;
    for_each_piece(phys, out.len(), encrypted, |b| {
        out[at..at + b.len()].copy_from_slice(b);
        at += b.len();
        Ok(())
    })
}

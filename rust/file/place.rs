// SPDX-License-Identifier: GPL-2.0

//! Placing a file-mode image's buffers (`kexec_add_buffer`,
//! `kexec_locate_mem_hole`).
//!
//! A buffer asks for `memsz` bytes aligned to `buf_align` between `buf_min`
//! and `buf_max`, from the top or from the bottom. The kernel walks the memory
//! a segment may use (for a normal image every top-level System RAM resource,
//! or where memblock is kept after boot (arm64) memblock's free ranges,
//! highest first when placing top-down; for a crash image the reservation) and
//! takes the first place in the walk that no segment of the image overlaps;
//! [`crate::hole::search_range`] is that search within one range.

use crate::hole::{self, HoleRequest};
use crate::kexec::image::{Kimage, SEGMENT_MAX};
use crate::kexec::reservation;
use kernel::bindings;
use kernel::prelude::*;

/// `KEXEC_BUF_MEM_UNKNOWN`: the caller has not chosen an address.
const MEM_UNKNOWN: c_ulong = 0;
/// Bytes in a page.
const PAGE_SIZE: c_ulong = bindings::PAGE_SIZE as c_ulong;

/// A buffer to place, as C's `struct kexec_buf` without the image.
pub(crate) fn kbuf(
    buffer: *const u8,
    bufsz: usize,
    memsz: u64,
    align: u64,
    min: u64,
    max: u64,
    top_down: bool,
) -> bindings::kexec_buf {
    // SAFETY: all-zero is a valid `kexec_buf` (null pointers, false).
    let mut k: bindings::kexec_buf = unsafe { core::mem::zeroed() };
    k.buffer = buffer as *mut c_void;
    k.bufsz = bufsz as c_ulong;
    k.memsz = memsz as c_ulong;
    k.buf_align = align as c_ulong;
    k.buf_min = min as c_ulong;
    k.buf_max = max as c_ulong;
    k.top_down = top_down;
    k
}

/// `get_order(size)`: the smallest order of pages that holds `size` bytes.
fn order_of(size: c_ulong) -> u32 {
    let pages = size.saturating_sub(1) >> bindings::PAGE_SHIFT;
    c_ulong::BITS - pages.leading_zeros()
}

/// Takes a block of the default CMA area as the buffer's memory
/// (`kexec_alloc_contig`): a normal image's segment in such a block is in
/// place already and needs no copy at kexec time. Not for crash images, nor
/// when userspace asked for none (`KEXEC_FILE_NO_CMA`); a block that overlaps
/// an earlier segment, or is aligned less than the buffer asks, is given
/// back. The block ignores the buffer's bounds, as in C. Without
/// `CONFIG_DMA_CMA`, or without a default area, there is never a block.
fn alloc_contig(image: &Kimage, kbuf: &mut bindings::kexec_buf) -> bool {
    if image.c().no_cma() != 0 || image.is_crash() {
        return false;
    }
    let pages = kbuf.memsz >> bindings::PAGE_SHIFT;
    // SAFETY: asks the CMA allocator for `pages` pages, without a warning.
    let block = unsafe {
        bindings::kexec_rust_dma_alloc_contiguous(pages as usize, order_of(kbuf.buf_align))
    };
    if block.is_null() {
        return false;
    }
    // SAFETY: `block` is the first page of the block just allocated.
    let mem =
        (unsafe { bindings::kexec_rust_page_to_boot_pfn(block) } as u64) << bindings::PAGE_SHIFT;
    // A block the buffer cannot use goes back, and the buffer is placed by
    // the search instead (hole::BlockMisfit says why each happens; the C
    // code keeps a misaligned block).
    if let Err(why) = hole::check_block(
        mem,
        kbuf.memsz as u64,
        kbuf.buf_align as u64,
        image.segments().as_slice(),
    ) {
        pr_debug!("kexec_file: CMA block at {:#x} not used: {:?}\n", mem, why);
        // SAFETY: the block is ours and unused.
        unsafe { bindings::kexec_rust_dma_release_from_contiguous(block, pages as c_int) };
        return false;
    }
    kbuf.mem = mem as c_ulong;
    kbuf.cma = block;
    // SAFETY: the block's pages, now the segment's; the arch's hook (memory
    // encryption) runs on them as on every page an image takes, and
    // `kimage_free` runs the matching one before it gives the block back.
    unsafe {
        bindings::kexec_rust_arch_post_alloc_pages(
            bindings::kexec_rust_page_address(block),
            pages as c_uint,
            0,
        )
    };
    true
}

/// Finds a place for `kbuf` and sets `kbuf.mem` (`kexec_locate_mem_hole`);
/// `EADDRNOTAVAIL` if there is none. An address already set is kept as is.
pub(crate) fn locate(image: &Kimage, kbuf: &mut bindings::kexec_buf) -> Result {
    if kbuf.mem != MEM_UNKNOWN {
        return Ok(());
    }
    // SAFETY: reads a boot-time flag.
    let kho = !image.is_crash() && unsafe { bindings::kexec_rust_kho_is_enabled() };
    if !kho && alloc_contig(image, kbuf) {
        return Ok(());
    }
    let req = HoleRequest {
        memsz: kbuf.memsz as u64,
        align: kbuf.buf_align as u64,
        min: kbuf.buf_min as u64,
        max: kbuf.buf_max as u64,
        top_down: kbuf.top_down,
    };
    #[cfg(CONFIG_CRASH_DUMP)]
    let random = if kbuf.random {
        // SAFETY: no arguments; any value will do.
        Some(unsafe { bindings::get_random_u16() })
    } else {
        None
    };
    #[cfg(not(CONFIG_CRASH_DUMP))]
    let random = None;
    let table = image.segments();
    let taken = table.as_slice();
    let mut found = None;
    let mut each = |start: u64, end: u64, flags: u64| -> bool {
        // Memory a driver will find and manage is not for us.
        if flags & u64::from(bindings::IORESOURCE_SYSRAM_DRIVER_MANAGED) != 0 {
            return false;
        }
        found = hole::search_range(start, end, &req, taken, random);
        found.is_some()
    };
    if kho {
        // With kexec handover on, only KHO's scratch areas: any other memory
        // may hold state that is handed over. They are walked in their order,
        // top_down or not, and their flags do not matter.
        walk(Walk::KhoScratch, &mut each);
    } else if image.is_crash() {
        let (start, end) = reservation::window_unlocked();
        walk(Walk::Crash { start, end }, &mut each);
    } else if cfg!(CONFIG_ARCH_KEEP_MEMBLOCK) {
        // Where memblock is kept after boot (arm64), its free ranges: memory
        // that boot did not reserve.
        walk(
            Walk::MemblockFree {
                top_down: kbuf.top_down,
            },
            &mut each,
        );
    } else if kbuf.top_down {
        walk(Walk::RamTopDown, &mut each);
    } else {
        walk(Walk::RamBottomUp, &mut each);
    }
    match found {
        Some(mem) => {
            kbuf.mem = mem as c_ulong;
            Ok(())
        }
        None => Err(EADDRNOTAVAIL),
    }
}

/// Which memory a search walks.
enum Walk {
    /// The crash reservation `[start, end]` (the "Crash kernel" resource).
    Crash { start: u64, end: u64 },
    /// System RAM, highest range first.
    RamTopDown,
    /// System RAM, lowest range first.
    RamBottomUp,
    /// Kexec handover's scratch areas, in their order.
    KhoScratch,
    /// memblock's memory less its reservations, highest range first if
    /// `top_down` (only where memblock is kept after boot).
    #[cfg_attr(not(CONFIG_ARCH_KEEP_MEMBLOCK), allow(dead_code))]
    MemblockFree { top_down: bool },
}

/// Calls `f(start, end, flags)` (inclusive end) for each range of `which`
/// until it returns true.
fn walk(which: Walk, f: &mut dyn FnMut(u64, u64, u64) -> bool) {
    type Each<'a> = &'a mut dyn FnMut(u64, u64, u64) -> bool;

    /// # Safety
    ///
    /// `res` is a valid resource and `arg` the `Each` below.
    unsafe extern "C" fn each(res: *mut bindings::resource, arg: *mut c_void) -> c_int {
        // SAFETY: the walkers pass a valid resource and our argument.
        let (res, f) = unsafe { (&*res, &mut *arg.cast::<Each<'_>>()) };
        c_int::from(f(res.start, res.end, res.flags as u64))
    }

    let mut f: Each<'_> = f;
    let arg = (&raw mut f).cast::<c_void>();
    // SAFETY: `f` outlives the walk; `each` has the walkers' callback type.
    // The walkers' own errors (no such resource, no memory for the reverse
    // walk's array) mean that nothing was found, as in C.
    unsafe {
        match which {
            Walk::Crash { start, end } => {
                bindings::walk_iomem_res_desc(
                    bindings::IORES_DESC_CRASH_KERNEL as c_ulong,
                    (bindings::IORESOURCE_SYSTEM_RAM | bindings::IORESOURCE_BUSY) as c_ulong,
                    start,
                    end,
                    arg,
                    Some(each),
                );
            }
            Walk::RamTopDown => {
                bindings::walk_system_ram_res_rev(0, u64::MAX, arg, Some(each));
            }
            Walk::RamBottomUp => {
                bindings::walk_system_ram_res(0, u64::MAX, arg, Some(each));
            }
            Walk::KhoScratch => kho_scratch(&mut *f),
            Walk::MemblockFree { top_down } => memblock_free(top_down, &mut *f),
        }
    }
}

/// Places `kbuf` and appends it to the image's segments (`kexec_add_buffer`):
/// the memory size is rounded up to a page and the alignment raised to one,
/// in the caller's structure, which also gets the address. `EINVAL` for an
/// image that is not being built by kexec_file_load, when the image has all
/// its segments already, or once its control pages exist (their search
/// assumes every segment is known); `EADDRNOTAVAIL` if there is no place.
pub(crate) fn add(image: &mut Kimage, kbuf: &mut bindings::kexec_buf) -> Result {
    if !image.is_file_mode() {
        return Err(EINVAL);
    }
    if image.c().nr_segments as usize >= SEGMENT_MAX {
        return Err(EINVAL);
    }
    if image.has_control_pages() {
        pr_err!("kexec_add_buffer: control pages are allocated already\n");
        return Err(EINVAL);
    }
    kbuf.memsz = kbuf.memsz.checked_add(PAGE_SIZE - 1).ok_or(EINVAL)? & !(PAGE_SIZE - 1);
    kbuf.buf_align = kbuf.buf_align.max(PAGE_SIZE);
    kbuf.cma = core::ptr::null_mut();
    locate(image, kbuf)?;
    image
        .push_segment(
            kbuf.cma,
            kbuf.buffer.cast(),
            kbuf.bufsz as usize,
            kbuf.mem as u64,
            kbuf.memsz as u64,
        )
        .inspect_err(|_| {
            if !kbuf.cma.is_null() {
                // SAFETY: the block `alloc_contig` just took; no segment has it.
                unsafe {
                    bindings::kexec_rust_arch_pre_free_pages(
                        bindings::kexec_rust_page_address(kbuf.cma),
                        (kbuf.memsz >> bindings::PAGE_SHIFT) as c_uint,
                    );
                    bindings::kexec_rust_dma_release_from_contiguous(
                        kbuf.cma,
                        (kbuf.memsz >> bindings::PAGE_SHIFT) as c_int,
                    );
                }
                kbuf.cma = core::ptr::null_mut();
            }
        })
}

/// Calls `f` for each of kexec handover's scratch areas until it returns true.
#[cfg(CONFIG_KEXEC_HANDOVER)]
fn kho_scratch(f: &mut dyn FnMut(u64, u64, u64) -> bool) {
    // SAFETY: the array is set up at boot and not changed afterwards.
    let count = unsafe { bindings::kexec_rust_kho_scratch_count() };
    for i in 0..count {
        // SAFETY: `i` is an index into the array.
        let (addr, size) = unsafe {
            (
                bindings::kexec_rust_kho_scratch_addr(i),
                bindings::kexec_rust_kho_scratch_size(i),
            )
        };
        // As in C, an empty area makes an end one below its start; the
        // search finds no room in it.
        if f(addr, addr.wrapping_add(size).wrapping_sub(1), 0) {
            break;
        }
    }
}

/// Without kexec handover there is no scratch area (and no caller).
#[cfg(not(CONFIG_KEXEC_HANDOVER))]
fn kho_scratch(_f: &mut dyn FnMut(u64, u64, u64) -> bool) {}

/// Calls `f` for each free memblock range (inclusive end), highest first if
/// `top_down`, until it returns true. Such a range has no flags.
#[cfg(CONFIG_ARCH_KEEP_MEMBLOCK)]
fn memblock_free(top_down: bool, f: &mut dyn FnMut(u64, u64, u64) -> bool) {
    // The iterators start from 0 going up and from u64::MAX going down, and
    // end at u64::MAX.
    let mut idx: u64 = if top_down { u64::MAX } else { 0 };
    loop {
        let (mut start, mut end): (bindings::phys_addr_t, bindings::phys_addr_t) = (0, 0);
        // SAFETY: memblock is kept after boot (ARCH_KEEP_MEMBLOCK); the
        // outputs are ours.
        unsafe {
            if top_down {
                bindings::kexec_rust_memblock_prev_free(&mut idx, &mut start, &mut end);
            } else {
                bindings::kexec_rust_memblock_next_free(&mut idx, &mut start, &mut end);
            }
        }
        if idx == u64::MAX || f(start, end - 1, 0) {
            break;
        }
    }
}

/// Without memblock after boot there is no such walk (and no caller).
#[cfg(not(CONFIG_ARCH_KEEP_MEMBLOCK))]
fn memblock_free(_top_down: bool, _f: &mut dyn FnMut(u64, u64, u64) -> bool) {}

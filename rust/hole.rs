// SPDX-License-Identifier: GPL-2.0

//! Where kexec_file_load puts a buffer inside one range of memory.
//!
//! `kexec_add_buffer` walks the ranges of System RAM (or the crash kernel
//! reservation) and asks, for each range, whether the buffer fits there and
//! where: [`search_range`] answers that question the way the C callback
//! (`locate_mem_hole_callback` in kernel/kexec_file.c) does. It skips a range
//! that is too small or wholly outside `[min, max]`; otherwise it takes the
//! highest (top-down) or lowest (bottom-up) aligned candidate, and while the
//! candidate overlaps a segment the image already has it moves one page down
//! (or up), re-aligns and tries again, until a candidate fits or leaves the
//! range.
//!
//! The result is the C code's for every input it handles sanely, including
//! its alignment arithmetic, which assumes a power of two (`ALIGN` and
//! `ALIGN_DOWN` are mask operations, used here as they are, without "fixing"
//! other alignments). Where the C code's unsigned arithmetic would wrap
//! around 0 or `u64::MAX` (a top-down search stepping below address 0, a
//! bottom-up candidate whose end overflows), the C code would go on searching
//! from the other end of the address space; here the range is simply given
//! up. The search moves at least a page per step and stops when it leaves the
//! range, so it ends after at most as many steps as the range has pages, as
//! in C, where each step past a conflict costs one page.
//!
//! Pure logic, tested on the host against a model of the C loops
//! (tools/logic/tests/hole.rs).

use crate::segment::Segment;

/// The page size: the step past a conflicting segment.
pub const PAGE_SIZE: u64 = 4096;

/// The bounds a loader asks a buffer's address to be chosen within (a
/// `struct kexec_buf`'s `buf_min`, `buf_max`, `buf_align` and `top_down`),
/// before `kexec_add_buffer` rounds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The lowest address.
    pub min: u64,
    /// The highest address of the buffer's last byte.
    pub max: u64,
    /// The alignment the loader asks for (0: a page).
    pub align: u64,
    /// Whether the highest free place is taken, else the lowest.
    pub top_down: bool,
}

impl Placement {
    /// The alignment the buffer gets: kexec_add_buffer raises it to a page.
    pub fn segment_align(&self) -> u64 {
        self.align.max(PAGE_SIZE)
    }
}

/// What a `struct kexec_buf` asks for, as `kexec_add_buffer` passes it on:
/// `memsz` already rounded up to a page and `align` already at least
/// [`PAGE_SIZE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoleRequest {
    /// Bytes to place (`memsz`); never 0 from `kexec_add_buffer`.
    pub memsz: u64,
    /// Alignment of the start (`buf_align`), a power of two in practice.
    pub align: u64,
    /// Lowest allowed start (`buf_min`).
    pub min: u64,
    /// Highest allowed last byte (`buf_max`, inclusive).
    pub max: u64,
    /// Whether the highest candidate is wanted (`top_down`), else the lowest.
    pub top_down: bool,
}

/// Whether any of `taken` overlaps `[start, end_inclusive]`, as
/// `kimage_is_destination_range` decides it: a segment covers
/// `[mem, mem + memsz - 1]`, computed with the C code's wrap-around (so an
/// empty segment covers nothing above its start and everything below it).
pub fn overlaps(taken: &[Segment], start: u64, end_inclusive: u64) -> bool {
    crate::control::overlaps_destination(taken, start, end_inclusive)
}

/// Why a contiguous (CMA) block the allocator returned cannot hold a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockMisfit {
    /// The block starts below a multiple of the buffer's alignment: the CMA
    /// allocator aligns to at most `CONFIG_CMA_ALIGNMENT` pages (1 MiB by
    /// default), and a bzImage kernel asks for its `kernel_alignment`, 2 MiB
    /// or more. The C code takes such a block, and the kernel then moves up
    /// to its alignment and decompresses over the buffer after it.
    Misaligned,
    /// The block overlaps a segment of the image (tested as the C code tests
    /// it, with `mem + memsz` as the last byte: one byte too far).
    Overlaps,
}

/// Whether a block at `mem` can hold a buffer of `memsz` bytes aligned to
/// `align` (0 or 1 for none) among the segments `taken`.
pub fn check_block(mem: u64, memsz: u64, align: u64, taken: &[Segment]) -> Result<(), BlockMisfit> {
    if align > 1 && mem % align != 0 {
        return Err(BlockMisfit::Misaligned);
    }
    if overlaps(taken, mem, mem.wrapping_add(memsz)) {
        return Err(BlockMisfit::Overlaps);
    }
    Ok(())
}

/// The mask `ALIGN` and `ALIGN_DOWN` use for `align`: `align - 1`, so that
/// an alignment of 0 gives the C result (every candidate aligns to 0).
fn mask(align: u64) -> u64 {
    align.wrapping_sub(1)
}

/// `ALIGN(x, align)`, or `None` where the C addition wraps.
fn align_up(x: u64, mask: u64) -> Option<u64> {
    Some(x.checked_add(mask)? & !mask)
}

/// `ALIGN_DOWN(x, align)`: `(x - mask + mask) & ~mask`, which is exact in
/// modular arithmetic.
fn align_down(x: u64, mask: u64) -> u64 {
    x & !mask
}

/// `kexec_random_range_start`: `start + (end - start) / 65535 * r` for
/// `start <= end`; the result lies in `[start, end]`.
fn random_start(start: u64, end: u64, r: u16) -> Option<u64> {
    let step = end.checked_sub(start)? / u64::from(u16::MAX);
    start.checked_add(step.checked_mul(u64::from(r))?)
}

/// The address in the memory range `[start, end]` (both inclusive) that the
/// C hole callback would choose for `req`, or `None` where it returns 0 (try
/// the next range).
///
/// `taken` are the image's segments so far; a candidate that [`overlaps`] one
/// of them is given up for the next one a page lower (top-down) or higher
/// (bottom-up), aligned again. `random` is `Some(r)` when the `kexec_buf`
/// asks for a random start (`kbuf->random`, only the dm-crypt keys set it),
/// `r` being the random 16-bit number the kernel drew: the first candidate is
/// then moved `r / 65535` of the way towards the end of the range, as
/// `kexec_random_range_start` does. With `top_down` that candidate is computed
/// as the C code computes it and may then end past `end` and `max` (no caller
/// combines the two).
///
/// `None` also where the C arithmetic would wrap around 0 or `u64::MAX`
/// (where C goes on from the other end of the address space) and for a range
/// whose `end` is below its `start`. The C code computes the size of the
/// range `[0, u64::MAX]` as 0 and skips it; so does this function.
///
/// An empty request (`memsz == 0`) is answered as C answers it: a bzImage
/// whose `init_size` rounds to 0 in 32 bits asks for one. The first top-down
/// candidate is then one past the range's last byte (aligned down), and the
/// overlap test is made with an end one below the start, so only a segment
/// that straddles the candidate conflicts. The segment rules refuse such a
/// segment later (its data is larger than its memory) unless it has no data
/// either.
pub fn search_range(
    start: u64,
    end: u64,
    req: &HoleRequest,
    taken: &[Segment],
    random: Option<u16>,
) -> Option<u64> {
    if end < start {
        return None;
    }
    // The C size `end - start + 1`, 0 for the whole address space.
    let size = (end - start).wrapping_add(1);
    if size < req.memsz || end < req.min || start > req.max {
        return None;
    }
    // Each step moves a candidate by a page or more, and every candidate that
    // does not end the search lies in `[start, end]`.
    let steps = (end - start) / PAGE_SIZE + 2;
    if req.top_down {
        top_down(start, end, req, taken, random, steps)
    } else {
        bottom_up(start, end, req, taken, random, steps)
    }
}

/// `candidate + memsz - 1`: the last byte, one below the start for an empty
/// request; `None` where C would wrap.
fn last_byte(candidate: u64, memsz: u64) -> Option<u64> {
    match memsz {
        0 => candidate.checked_sub(1),
        n => candidate.checked_add(n - 1),
    }
}

/// `locate_mem_hole_top_down`, for at most `steps` candidates.
fn top_down(
    start: u64,
    end: u64,
    req: &HoleRequest,
    taken: &[Segment],
    random: Option<u16>,
    steps: u64,
) -> Option<u64> {
    let mask = mask(req.align);
    let last = end.min(req.max);
    // `last - memsz + 1`.
    let mut candidate = match req.memsz {
        0 => last.checked_add(1)?,
        n => last.checked_sub(n - 1)?,
    };
    if let Some(r) = random {
        candidate = random_start(candidate, last, r)?;
    }
    for _ in 0..steps {
        candidate = align_down(candidate, mask);
        if candidate < start || candidate < req.min {
            return None;
        }
        let candidate_end = last_byte(candidate, req.memsz)?;
        if !overlaps(taken, candidate, candidate_end) {
            return Some(candidate);
        }
        candidate = candidate.checked_sub(PAGE_SIZE)?;
    }
    // Unreachable: the candidate falls below `start` first.
    None
}

/// `locate_mem_hole_bottom_up`, for at most `steps` candidates.
fn bottom_up(
    start: u64,
    end: u64,
    req: &HoleRequest,
    taken: &[Segment],
    random: Option<u16>,
    steps: u64,
) -> Option<u64> {
    let mask = mask(req.align);
    let mut candidate = start.max(req.min);
    if let Some(r) = random {
        candidate = random_start(candidate, end, r)?;
    }
    for _ in 0..steps {
        candidate = align_up(candidate, mask)?;
        let candidate_end = last_byte(candidate, req.memsz)?;
        if candidate_end > end || candidate_end > req.max {
            return None;
        }
        if !overlaps(taken, candidate, candidate_end) {
            return Some(candidate);
        }
        candidate = candidate.checked_add(PAGE_SIZE)?;
    }
    // Unreachable: the candidate's end passes `end` first.
    None
}

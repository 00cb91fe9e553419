// SPDX-License-Identifier: GPL-2.0

//! Where control pages may go.
//!
//! Control pages hold what the jump to the new kernel needs while the copy runs:
//! the relocate stub's code, the identity-map page tables, the VMCOREINFO copy of
//! a crash image. They are read during the copy, so none may be a destination.
//!
//! A normal image takes them from the page allocator and holds back every block
//! that lands on a destination or above the control limit until one fits
//! ([`alloc_normal`]: the kernel's allocator, which the host relocation tests
//! also run, on their hostile allocators). A crash image cannot allocate:
//! everything it uses must already sit in the crash kernel reservation, so its
//! control pages are carved out of the holes that the segments leave there,
//! walking upwards from a cursor ([`crash_hole`]).
//!
//! Pure logic, tested on the host.

use crate::segment::{Segment, PAGE_SIZE};

/// Whether a block of control pages at `[start, start + size)` may be used: it
/// ends below `limit` (`KEXEC_CONTROL_MEMORY_LIMIT`, exclusive, compared in
/// pages as the C implementation does) and overlaps no destination.
pub fn normal_block_fits(segs: &[Segment], start: u64, size: u64, limit: u64) -> bool {
    let end_pfn = (start / PAGE_SIZE).saturating_add(size / PAGE_SIZE);
    let last = start.saturating_add(size - 1);
    end_pfn < limit / PAGE_SIZE && !overlaps_destination(segs, start, last)
}

/// Control pages for a normal image: blocks of `size` bytes from `alloc` until
/// one fits ([`normal_block_fits`]). Every block that does not fit is passed to
/// `hold`, which must keep it allocated until this returns, so that the
/// allocator cannot hand it out again; the caller frees the held blocks after.
/// Errors from `alloc` or `hold` end the search.
pub fn alloc_normal<B, E>(
    segs: &[Segment],
    size: u64,
    limit: u64,
    mut alloc: impl FnMut() -> Result<B, E>,
    start_of: impl Fn(&B) -> u64,
    mut hold: impl FnMut(B) -> Result<(), E>,
) -> Result<B, E> {
    loop {
        let block = alloc()?;
        if normal_block_fits(segs, start_of(&block), size, limit) {
            return Ok(block);
        }
        hold(block)?;
    }
}

/// Whether any segment's destination overlaps `[start, end]` (both ends
/// inclusive), computed as the C implementation does: a segment covers
/// `[mem, mem + memsz - 1]`, with the same wrap-around for an empty segment
/// (which then covers nothing above its start, and everything below).
pub fn overlaps_destination(segs: &[Segment], start: u64, end: u64) -> bool {
    segs.iter().any(|s| {
        let last = s.mem.wrapping_add(s.memsz).wrapping_sub(1);
        end >= s.mem && start <= last
    })
}

/// Rounds `v` up to a multiple of `align` (a power of two), or `None` on overflow.
fn align_up(v: u64, align: u64) -> Option<u64> {
    Some(v.checked_add(align - 1)? & !(align - 1))
}

/// Finds room for `size` bytes (a power of two, at least a page) of crash control
/// pages: the lowest `size`-aligned block at or above `cursor` that overlaps no
/// segment, ends inside the reservation (`window_end`, inclusive) and at or below
/// `limit` (inclusive). Returns its start; the caller moves the cursor to its end.
///
/// When a block overlaps a segment, the search goes on from the first aligned
/// address at or above that segment's last byte, as the C implementation does.
/// Unlike it, an overflow ends the search instead of wrapping around.
pub fn crash_hole(
    segs: &[Segment],
    cursor: u64,
    size: u64,
    window_end: u64,
    limit: u64,
) -> Option<u64> {
    debug_assert!(size.is_power_of_two());
    let mut start = align_up(cursor, size)?;
    loop {
        let end = start.checked_add(size - 1)?;
        if end > window_end || end > limit {
            return None;
        }
        let blocker = segs.iter().find(|s| {
            let last = s.mem.wrapping_add(s.memsz).wrapping_sub(1);
            end >= s.mem && start <= last
        });
        match blocker {
            None => return Some(start),
            Some(s) => {
                let last = s.mem.wrapping_add(s.memsz).wrapping_sub(1);
                let next = align_up(last, size)?;
                // An empty segment below the block "covers" it through the
                // wrap-around; stepping must still make progress.
                start = if next > start {
                    next
                } else {
                    start.checked_add(size)?
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: u64 = 4096;
    const WIN_START: u64 = 0x3000_0000;
    const WIN_END: u64 = 0x35ff_ffff;

    fn seg(mem: u64, memsz: u64) -> Segment {
        Segment {
            buf: 0,
            bufsz: 0,
            mem,
            memsz,
        }
    }

    #[test]
    fn empty_window_gives_the_cursor() {
        assert_eq!(
            crash_hole(&[], WIN_START, PAGE, WIN_END, u64::MAX),
            Some(WIN_START)
        );
    }

    #[test]
    fn segments_are_stepped_over() {
        // The kernel at the start of the window, the initrd right after it.
        let segs = [
            seg(WIN_START, 0x100_0000),
            seg(WIN_START + 0x100_0000, 0x40_0000),
        ];
        assert_eq!(
            crash_hole(&segs, WIN_START, PAGE, WIN_END, u64::MAX),
            Some(WIN_START + 0x140_0000)
        );
    }

    #[test]
    fn holes_between_segments_are_used() {
        let segs = [seg(WIN_START, 2 * PAGE), seg(WIN_START + 3 * PAGE, PAGE)];
        assert_eq!(
            crash_hole(&segs, WIN_START, PAGE, WIN_END, u64::MAX),
            Some(WIN_START + 2 * PAGE)
        );
        // The next page after the hole is the second segment, then free again.
        assert_eq!(
            crash_hole(&segs, WIN_START + 3 * PAGE, PAGE, WIN_END, u64::MAX),
            Some(WIN_START + 4 * PAGE)
        );
    }

    #[test]
    fn larger_orders_are_aligned() {
        let segs = [seg(WIN_START, PAGE)];
        // Four pages, aligned to 16 KiB: the first block overlaps, the next is free.
        assert_eq!(
            crash_hole(&segs, WIN_START, 4 * PAGE, WIN_END, u64::MAX),
            Some(WIN_START + 4 * PAGE)
        );
        assert_eq!(
            crash_hole(&[], WIN_START + PAGE, 4 * PAGE, WIN_END, u64::MAX),
            Some(WIN_START + 4 * PAGE)
        );
    }

    #[test]
    fn a_full_window_has_no_room() {
        let segs = [seg(WIN_START, WIN_END + 1 - WIN_START)];
        assert_eq!(crash_hole(&segs, WIN_START, PAGE, WIN_END, u64::MAX), None);
        // The last page of the window is still usable.
        let segs = [seg(WIN_START, WIN_END + 1 - WIN_START - PAGE)];
        assert_eq!(
            crash_hole(&segs, WIN_START, PAGE, WIN_END, u64::MAX),
            Some(WIN_END + 1 - PAGE)
        );
    }

    #[test]
    fn the_control_limit_is_respected() {
        assert_eq!(
            crash_hole(&[], WIN_START, PAGE, WIN_END, WIN_START + PAGE - 2),
            None
        );
        assert_eq!(
            crash_hole(&[], WIN_START, PAGE, WIN_END, WIN_START + PAGE - 1),
            Some(WIN_START)
        );
    }

    #[test]
    fn overflow_ends_the_search() {
        assert_eq!(
            crash_hole(&[], u64::MAX - 10, PAGE, u64::MAX, u64::MAX),
            None
        );
        let segs = [seg(u64::MAX - PAGE + 1, PAGE)];
        assert_eq!(
            crash_hole(&segs, u64::MAX - PAGE + 1, PAGE, u64::MAX, u64::MAX),
            None
        );
    }

    #[test]
    fn normal_blocks_skip_destinations_and_the_limit() {
        let segs = [seg(0x10_0000, 0x2000)];
        // Free addresses, in the order a hostile allocator gives them.
        let mut free = [0x10_1000u64, 0x10_0000, 0x20_0000, 0x8000].into_iter();
        let mut held = std::vec::Vec::new();
        let got = alloc_normal(
            &segs,
            PAGE,
            0x10_0000,
            || free.next().ok_or(()),
            |b| *b,
            |b| {
                held.push(b);
                Ok(())
            },
        );
        // Two destinations and one block above the limit are held back.
        assert_eq!(got, Ok(0x8000));
        assert_eq!(held, [0x10_1000, 0x10_0000, 0x20_0000]);
        // The last page below the limit fits, the one ending at it does not.
        assert!(normal_block_fits(&[], 0xf_e000, PAGE, 0x10_0000));
        assert!(!normal_block_fits(&[], 0xf_f000, PAGE, 0x10_0000));
        // Running out of memory ends the search.
        let mut none = core::iter::empty::<u64>();
        assert_eq!(
            alloc_normal(
                &segs,
                PAGE,
                u64::MAX,
                || none.next().ok_or(()),
                |b| *b,
                |_| Ok(())
            ),
            Err(())
        );
    }

    #[test]
    fn destination_overlap_is_inclusive_as_in_c() {
        let segs = [seg(0x10_0000, 0x2000)];
        assert!(overlaps_destination(&segs, 0x10_1fff, 0x10_2fff));
        assert!(!overlaps_destination(&segs, 0x10_2000, 0x10_2fff));
        assert!(overlaps_destination(&segs, 0x0f_f000, 0x10_0000));
        assert!(!overlaps_destination(&segs, 0x0f_f000, 0x0f_ffff));
        assert!(!overlaps_destination(&[], 0, u64::MAX));
    }
}

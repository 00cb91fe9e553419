// SPDX-License-Identifier: GPL-2.0

//! The hole search (rust/hole.rs) against a model of the C callback.
//!
//! `model` is `locate_mem_hole_callback` with `locate_mem_hole_top_down` and
//! `_bottom_up` from kernel/kexec_file.c, line by line, in the C code's
//! wrapping unsigned arithmetic, with `kimage_is_destination_range` and the
//! `ALIGN`/`ALIGN_DOWN` macros written out. It reports where an operation
//! wraps around, and stops there. Over many random requests, ranges and
//! segment lists, `search_range` must give the model's answer wherever the
//! model does not wrap, and `None` wherever it does. Then hand cases: the
//! kernel's own placements in a 1 GiB guest.

use kexec_logic::hole::{check_block, overlaps, search_range, BlockMisfit, HoleRequest, PAGE_SIZE};
use kexec_logic::segment::Segment;

/// A small deterministic PRNG (xorshift64*), so failures reproduce from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

fn seg(mem: u64, memsz: u64) -> Segment {
    Segment {
        buf: 0,
        bufsz: 0,
        mem,
        memsz,
    }
}

fn req(memsz: u64, align: u64, min: u64, max: u64, top_down: bool) -> HoleRequest {
    HoleRequest {
        memsz,
        align,
        min,
        max,
        top_down,
    }
}

/// What the C callback does with one range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum C {
    /// Returns 1 with `kbuf->mem` set.
    Found(u64),
    /// Returns 0: try the next range.
    Next,
    /// Some operation wrapped around 0 or 2^64 on the way.
    Wrapped,
}

/// The model's view of the unsigned arithmetic: the C result and whether it
/// wrapped.
fn sub(a: u64, b: u64, wrapped: &mut bool) -> u64 {
    let (v, o) = a.overflowing_sub(b);
    *wrapped |= o;
    v
}

fn add(a: u64, b: u64, wrapped: &mut bool) -> u64 {
    let (v, o) = a.overflowing_add(b);
    *wrapped |= o;
    v
}

/// `a + b - 1` evaluated left to right, as C does: the addition may wrap
/// and the subtraction come back, which leaves the result exact.
fn add_minus_one(a: u64, b: u64, wrapped: &mut bool) -> u64 {
    let (v, o1) = a.overflowing_add(b);
    let (v, o2) = v.overflowing_sub(1);
    *wrapped |= o1 != o2;
    v
}

fn mul(a: u64, b: u64, wrapped: &mut bool) -> u64 {
    let (v, o) = a.overflowing_mul(b);
    *wrapped |= o;
    v
}

/// `kimage_is_destination_range`, as in kexec_core.c (its own wrap-around for
/// an empty or wrapping segment is part of the rule, not a search wrap).
fn c_is_destination_range(segs: &[Segment], start: u64, end: u64) -> bool {
    for s in segs {
        let mstart = s.mem;
        let mend = mstart.wrapping_add(s.memsz).wrapping_sub(1);
        if end >= mstart && start <= mend {
            return true;
        }
    }
    false
}

/// `__ALIGN_KERNEL(x, a)`: `(x + (a - 1)) & ~(a - 1)`.
fn c_align(x: u64, a: u64, wrapped: &mut bool) -> u64 {
    let mask = a.wrapping_sub(1);
    add(x, mask, wrapped) & !mask
}

/// `ALIGN_DOWN(x, a)`: `__ALIGN_KERNEL(x - (a - 1), a)`. The subtraction and
/// the addition inside cancel out: a wrap in one is undone by the other, so
/// the result is always exact and nothing is recorded.
fn c_align_down(x: u64, a: u64) -> u64 {
    let mask = a.wrapping_sub(1);
    x.wrapping_sub(mask).wrapping_add(mask) & !mask
}

/// `kexec_random_range_start`: `start + (end - start) / USHRT_MAX * i`.
fn c_random(start: u64, end: u64, i: u16, wrapped: &mut bool) -> u64 {
    let d = sub(end, start, wrapped) / 65535;
    add(start, mul(d, i as u64, wrapped), wrapped)
}

/// `locate_mem_hole_callback` for the resource `[start, end]`.
fn model(start: u64, end: u64, r: &HoleRequest, segs: &[Segment], random: Option<u16>) -> C {
    model_counting(start, end, r, segs, random, &mut 0)
}

/// [`model`], adding the number of conflicts it stepped past to `conflicts`.
fn model_counting(
    start: u64,
    end: u64,
    r: &HoleRequest,
    segs: &[Segment],
    random: Option<u16>,
    conflicts: &mut u64,
) -> C {
    let sz = end.wrapping_sub(start).wrapping_add(1);
    if sz < r.memsz {
        return C::Next;
    }
    // A resource never ends below its start; if one did, only an empty
    // request would get past the size test, on a size that wrapped.
    if end < start {
        return C::Wrapped;
    }
    if end < r.min || start > r.max {
        return C::Next;
    }
    let mut w = false;
    // Far more steps than any generated case needs: a model that does not end
    // is a bug in the test.
    let mut steps = 0u64;
    if r.top_down {
        let mut temp_end = end.min(r.max);
        // temp_end - memsz + 1: the two steps may wrap and come back.
        let (a, o1) = temp_end.overflowing_sub(r.memsz);
        let (mut temp_start, o2) = a.overflowing_add(1);
        w |= o1 != o2;
        if let Some(i) = random {
            temp_start = c_random(temp_start, temp_end, i, &mut w);
        }
        loop {
            if w {
                return C::Wrapped;
            }
            steps += 1;
            assert!(steps < 50_000_000, "the model does not end");
            temp_start = c_align_down(temp_start, r.align);
            if temp_start < start || temp_start < r.min {
                return C::Next;
            }
            temp_end = add_minus_one(temp_start, r.memsz, &mut w);
            if w {
                return C::Wrapped;
            }
            if c_is_destination_range(segs, temp_start, temp_end) {
                *conflicts += 1;
                temp_start = sub(temp_start, PAGE_SIZE, &mut w);
                continue;
            }
            return C::Found(temp_start);
        }
    } else {
        let mut temp_start = start.max(r.min);
        if let Some(i) = random {
            temp_start = c_random(temp_start, end, i, &mut w);
        }
        loop {
            if w {
                return C::Wrapped;
            }
            steps += 1;
            assert!(steps < 50_000_000, "the model does not end");
            temp_start = c_align(temp_start, r.align, &mut w);
            let temp_end = add_minus_one(temp_start, r.memsz, &mut w);
            if w {
                return C::Wrapped;
            }
            if temp_end > end || temp_end > r.max {
                return C::Next;
            }
            if c_is_destination_range(segs, temp_start, temp_end) {
                *conflicts += 1;
                temp_start = add(temp_start, PAGE_SIZE, &mut w);
                continue;
            }
            return C::Found(temp_start);
        }
    }
}

/// An address somewhere interesting: low memory, around 4 GiB, near the top
/// of the address space, or anywhere.
fn base(rng: &mut Rng) -> u64 {
    match rng.below(6) {
        0 => rng.below(64 * MIB),
        1 => 4 * GIB - 64 * MIB + rng.below(128 * MIB),
        2 => u64::MAX - rng.below(64 * MIB),
        3 => rng.below(1 << 40),
        4 => rng.next(),
        _ => rng.below(64) * PAGE_SIZE,
    }
}

/// A value near `v`: a few pages (or bytes) either side, saturating.
fn near(rng: &mut Rng, v: u64) -> u64 {
    let d = if rng.one_in(2) {
        rng.below(16) * PAGE_SIZE
    } else {
        rng.below(3 * PAGE_SIZE)
    };
    if rng.one_in(2) {
        v.saturating_add(d)
    } else {
        v.saturating_sub(d)
    }
}

fn alignment(rng: &mut Rng) -> u64 {
    match rng.below(12) {
        0 => 0,
        1 => 1 + rng.below(3 * PAGE_SIZE),
        2 => 1 << rng.below(64),
        3 => u64::MAX,
        4 => 3 * PAGE_SIZE,
        5 => 2 * MIB,
        6 => 1 << (12 + rng.below(10)),
        _ => PAGE_SIZE,
    }
}

/// One random case: a range, a request and the segments already placed.
fn case(rng: &mut Rng) -> (u64, u64, HoleRequest, Vec<Segment>, Option<u16>) {
    let start = base(rng);
    let pages = match rng.below(8) {
        0 => rng.below(4),
        1..=5 => 1 + rng.below(512),
        6 => 1 + rng.below(8192),
        _ => rng.below(1 << 40),
    };
    let mut end = start
        .saturating_add(pages.saturating_mul(PAGE_SIZE))
        .saturating_sub(1);
    if rng.one_in(8) {
        end = near(rng, end);
    }
    if rng.one_in(50) {
        end = start.wrapping_sub(1 + rng.below(PAGE_SIZE));
    }
    let few_segments = end.wrapping_sub(start) / PAGE_SIZE < 8192;
    let memsz = match rng.below(10) {
        // An empty request: a bzImage whose init_size rounds to 0.
        0 if rng.one_in(3) => 0,
        0 => 1 + rng.below(3 * PAGE_SIZE),
        1 => rng.below(1 << 40) + 1,
        2 if rng.one_in(4) => rng.next().max(1),
        _ => (1 + rng.below(64)) * PAGE_SIZE,
    };
    let align = alignment(rng);
    let min = match rng.below(4) {
        0 => 0,
        1 => near(rng, start),
        2 => near(rng, end),
        _ => start.saturating_add(rng.below(pages.max(1)) * PAGE_SIZE),
    };
    let max = match rng.below(4) {
        0 | 1 => u64::MAX,
        2 => near(rng, end),
        _ => start.saturating_add(rng.below(pages.max(1)) * PAGE_SIZE),
    };
    let top_down = rng.one_in(2);
    let mut segs = Vec::new();
    // Big requests only skip small numbers of pages if nothing is in the way.
    if memsz <= 1024 * PAGE_SIZE {
        for _ in 0..rng.below(7) {
            let at = match rng.below(4) {
                0 => near(rng, start),
                1 => near(rng, end),
                2 => near(rng, end.saturating_sub(memsz)),
                _ => start.saturating_add(rng.below(pages.clamp(1, 1 << 20)) * PAGE_SIZE),
            };
            let size = match rng.below(8) {
                0 => 1 + rng.below(3 * PAGE_SIZE),
                // An empty segment "covers" everything below its start.
                1 if few_segments || at != 0 => 0,
                _ => (1 + rng.below(256)) * PAGE_SIZE,
            };
            segs.push(seg(at, size));
        }
    }
    let random = match rng.below(4) {
        0 => Some(rng.next() as u16),
        1 if rng.one_in(2) => Some(*[0u16, 1, 65534, 65535].get(rng.below(4) as usize).unwrap()),
        _ => None,
    };
    let r = req(memsz, align, min, max, top_down);
    (start, end, r, segs, random)
}

#[test]
fn equals_the_c_callback_where_it_does_not_wrap() {
    let mut rng = Rng(0x6b65_7865_635f_686f);
    let (mut found, mut next, mut wrapped) = (0u32, 0u32, 0u32);
    let (mut found_after_conflicts, mut found_random, mut odd_alignment) = (0u32, 0u32, 0u32);
    for n in 0..300_000 {
        let (start, end, r, segs, random) = case(&mut rng);
        let got = search_range(start, end, &r, &segs, random);
        let mut conflicts = 0;
        let want = model_counting(start, end, &r, &segs, random, &mut conflicts);
        let ctx =
            || format!("case {n}: [{start:#x}, {end:#x}] {r:x?} random {random:?} segs {segs:x?}");
        match want {
            C::Found(a) => {
                found += 1;
                found_after_conflicts += u32::from(conflicts > 0);
                found_random += u32::from(random.is_some());
                odd_alignment += u32::from(!r.align.is_power_of_two());
                assert_eq!(got, Some(a), "{}", ctx());
            }
            C::Next => {
                next += 1;
                assert_eq!(got, None, "{}", ctx());
            }
            C::Wrapped => {
                wrapped += 1;
                assert_eq!(got, None, "stock wraps here: {}", ctx());
            }
        }
        if let Some(a) = got {
            // What a found hole always satisfies (a random top-down start may
            // end past the range, as in C).
            let mask = r.align.wrapping_sub(1);
            let last = a.wrapping_add(r.memsz).wrapping_sub(1);
            assert_eq!(a & mask, 0, "{}", ctx());
            assert!(a >= start && a >= r.min, "{}", ctx());
            assert!(!overlaps(&segs, a, last), "{}", ctx());
            if !(r.top_down && random.is_some()) {
                assert!(last <= end && last <= r.max, "{}", ctx());
            }
        }
    }
    println!(
        "{found} found ({found_after_conflicts} past conflicts, {found_random} from a random \
         start, {odd_alignment} with an alignment not a power of two), {next} next range, \
         {wrapped} where C wraps"
    );
    // The generator must reach each outcome often.
    assert!(found > 50_000 && next > 50_000 && wrapped > 1_000);
    assert!(found_after_conflicts > 10_000 && found_random > 10_000 && odd_alignment > 5_000);
}

/// With a power-of-two alignment of a page or more and no random start, the
/// search is exhaustive: no aligned slot in the range is better than the one
/// found (or there is none when nothing is found).
#[test]
fn power_of_two_alignment_finds_the_best_slot() {
    let mut rng = Rng(0x686f_6c65_5f62_6573);
    for n in 0..20_000 {
        let start = base(&mut rng) & !(PAGE_SIZE - 1);
        let pages = 1 + rng.below(300);
        let Some(end) = start.checked_add(pages * PAGE_SIZE - 1) else {
            continue;
        };
        let align = PAGE_SIZE << rng.below(4);
        let memsz = (1 + rng.below(24)) * PAGE_SIZE;
        let min = if rng.one_in(2) {
            0
        } else {
            start + rng.below(pages) * PAGE_SIZE
        };
        let max = if rng.one_in(2) {
            u64::MAX
        } else {
            start + rng.below(pages) * PAGE_SIZE + rng.below(PAGE_SIZE)
        };
        let top_down = rng.one_in(2);
        let segs: Vec<Segment> = (0..rng.below(6))
            .map(|_| {
                seg(
                    start + rng.below(pages * PAGE_SIZE),
                    1 + rng.below(16 * PAGE_SIZE),
                )
            })
            .collect();
        let r = req(memsz, align, min, max, top_down);
        let got = search_range(start, end, &r, &segs, None);
        let fits = |a: u64| {
            let Some(last) = a.checked_add(memsz - 1) else {
                return false;
            };
            a >= start && a >= min && last <= end && last <= max && !overlaps(&segs, a, last)
        };
        let Some(first) = start.checked_next_multiple_of(align) else {
            continue;
        };
        let mut slots = (first..=end).step_by(align as usize).filter(|&a| fits(a));
        let best = if top_down { slots.last() } else { slots.next() };
        assert_eq!(
            got, best,
            "case {n}: [{start:#x}, {end:#x}] {r:x?} segs {segs:x?}"
        );
    }
}

/// 1 GiB of guest RAM as QEMU's e820 gives it: the range System RAM walks first.
const RAM: (u64, u64) = (0x10_0000, 0x3ffd_ffff);

#[test]
fn top_down_takes_the_highest_aligned_slot() {
    let (s, e) = RAM;
    let r = req(0x5000, PAGE_SIZE, 0x3000, u64::MAX, true);
    assert_eq!(search_range(s, e, &r, &[], None), Some(0x3ffd_b000));
    let r = req(0x5000, 0x1_0000, 0x3000, u64::MAX, true);
    assert_eq!(search_range(s, e, &r, &[], None), Some(0x3ffd_0000));
    // The last byte may be the range's last.
    let r = req(PAGE_SIZE, PAGE_SIZE, 0, u64::MAX, true);
    assert_eq!(search_range(0x1000, 0x1fff, &r, &[], None), Some(0x1000));
    // A range exactly as big as the request, and one a byte smaller.
    let r = req(0x2000, PAGE_SIZE, 0, u64::MAX, true);
    assert_eq!(search_range(0x4000, 0x5fff, &r, &[], None), Some(0x4000));
    assert_eq!(search_range(0x4000, 0x5ffe, &r, &[], None), None);
}

#[test]
fn a_conflict_steps_one_page_then_aligns_again() {
    let (s, e) = RAM;
    // Purgatory at the top: the next buffer starts right below it.
    let purgatory = seg(0x3ffd_b000, 0x5000);
    let r = req(0x2000, PAGE_SIZE, 0x3000, u64::MAX, true);
    assert_eq!(
        search_range(s, e, &r, &[purgatory], None),
        Some(0x3ffd_9000)
    );
    // A segment that starts and ends mid-page: page-aligned slots step over
    // both of its pages.
    let odd = seg(0x3ffd_d800, 0x1000);
    let r = req(0x1000, PAGE_SIZE, 0, u64::MAX, true);
    assert_eq!(search_range(s, e, &r, &[odd], None), Some(0x3ffd_f000));
    let r = req(0x3000, PAGE_SIZE, 0, u64::MAX, true);
    assert_eq!(search_range(s, e, &r, &[odd], None), Some(0x3ffd_a000));
    // With 2 MiB alignment a page down is the next 2 MiB slot down.
    let blocker = seg(0x3fe0_0000, PAGE_SIZE);
    let r = req(0x10_0000, 2 * MIB, 0, u64::MAX, true);
    assert_eq!(search_range(s, e, &r, &[blocker], None), Some(0x3fc0_0000));
    // A conflict down to the range's start: next range.
    let all = seg(s, e - s + 1);
    assert_eq!(search_range(s, e, &r, &[all], None), None);
    // Overlap ends are inclusive: touching is not overlapping.
    assert!(overlaps(&[seg(0x1000, 0x1000)], 0x1fff, 0x2fff));
    assert!(!overlaps(&[seg(0x1000, 0x1000)], 0x2000, 0x2fff));
    assert!(!overlaps(&[seg(0x1000, 0x1000)], 0, 0xfff));
    // An empty segment at 0 covers everything, as in C.
    assert!(overlaps(&[seg(0, 0)], 0x1000, 0x1fff));
}

#[test]
fn bottom_up_takes_the_lowest_slot() {
    // The elfcorehdr in a 256 MiB crash reservation.
    let (s, e) = (0x2a00_0000, 0x39ff_ffff);
    let r = req(0x1000, PAGE_SIZE, 0, u64::MAX, false);
    assert_eq!(search_range(s, e, &r, &[], None), Some(s));
    let taken = [seg(s, 0x3000), seg(s + 0x4000, 0x1000)];
    assert_eq!(search_range(s, e, &r, &taken, None), Some(s + 0x3000));
    let r = req(0x2000, PAGE_SIZE, 0, u64::MAX, false);
    assert_eq!(search_range(s, e, &r, &taken, None), Some(s + 0x5000));
    // Alignment up from an unaligned range start.
    let r = req(0x1000, 2 * MIB, 0, u64::MAX, false);
    assert_eq!(
        search_range(0x10_1000, 0x3fff_ffff, &r, &[], None),
        Some(0x20_0000)
    );
    // The last slot, then none.
    let r = req(0x1000, PAGE_SIZE, 0, u64::MAX, false);
    let full = [seg(s, e - s + 1 - 0x1000)];
    assert_eq!(search_range(s, e, &r, &full, None), Some(e - 0xfff));
    let full = [seg(s, e - s + 1)];
    assert_eq!(search_range(s, e, &r, &full, None), None);
}

#[test]
fn min_and_max_clip_the_range() {
    let (s, e) = RAM;
    // A range wholly outside [min, max] is skipped.
    let r = req(0x1000, PAGE_SIZE, 0, 0x7fff_ffff, true);
    assert_eq!(
        search_range(0x1_0000_0000, 0x1_3fff_ffff, &r, &[], None),
        None
    );
    let r = req(0x1000, PAGE_SIZE, 0x4000_0000, u64::MAX, true);
    assert_eq!(search_range(s, e, &r, &[], None), None);
    // max inside the range: the buffer ends at or below it.
    let r = req(0x5000, PAGE_SIZE, 0, 0x1fff_ffff, true);
    assert_eq!(search_range(s, e, &r, &[], None), Some(0x1fff_b000));
    let r = req(0x5000, PAGE_SIZE, 0, 0x1fff_f7ff, true);
    assert_eq!(search_range(s, e, &r, &[], None), Some(0x1fff_a000));
    // min inside the range: top-down gives up below it...
    let r = req(0x2_0000, PAGE_SIZE, 0x3ffd_0000, u64::MAX, true);
    assert_eq!(search_range(s, e, &r, &[], None), None);
    let r = req(0x1_0000, PAGE_SIZE, 0x3ffd_0000, u64::MAX, true);
    assert_eq!(search_range(s, e, &r, &[], None), Some(0x3ffd_0000));
    // ...and bottom-up starts there, aligned up.
    let r = req(0x1000, 2 * MIB, 0x1000_0001, u64::MAX, false);
    assert_eq!(search_range(s, e, &r, &[], None), Some(0x1020_0000));
    // max below the first bottom-up candidate's end.
    let r = req(0x2000, PAGE_SIZE, 0, s + 0x1000, false);
    assert_eq!(search_range(s, e, &r, &[], None), None);
}

#[test]
fn random_start() {
    // The dm-crypt keys: bottom-up from a random point of the reservation.
    let (s, e) = (0x2a00_0000, 0x39ff_ffff);
    let r = req(0x1000, PAGE_SIZE, 0, u64::MAX, false);
    // (e - s) / 65535 = 0x1000: each unit of r is one page.
    assert_eq!(search_range(s, e, &r, &[], Some(0)), Some(s));
    assert_eq!(search_range(s, e, &r, &[], Some(1)), Some(s + 0x1000));
    assert_eq!(search_range(s, e, &r, &[], Some(0x8000)), Some(0x3200_0000));
    assert_eq!(search_range(s, e, &r, &[], Some(65535)), Some(0x39ff_f000));
    // Too close to the end for the buffer: next range, not a wrap to the start.
    let r2 = req(0x2000, PAGE_SIZE, 0, u64::MAX, false);
    assert_eq!(search_range(s, e, &r2, &[], Some(65535)), None);
    // The random point is aligned up, then conflicts step a page.
    let taken = [seg(0x3200_0000, 0x3000)];
    assert_eq!(
        search_range(s, e, &r, &taken, Some(0x8000)),
        Some(0x3200_3000)
    );
    // From buf_min when it is above the range's start.
    let r = req(0x1000, PAGE_SIZE, 0x3000_0000, u64::MAX, false);
    // (e - min) / 65535 = 0xa00: r = 3 moves 0x1e00, aligned up to 0x2000.
    assert_eq!(search_range(s, e, &r, &[], Some(3)), Some(0x3000_2000));
    assert_eq!(search_range(s, e, &r, &[], Some(0x100)), Some(0x300a_0000));
    // Top-down as C computes it: the random point is between the first
    // candidate and the range's end (memsz - 1 further up at most), so the
    // buffer may pass the end. No caller asks for this.
    let r = req(0x100_0000, PAGE_SIZE, 0, u64::MAX, true);
    assert_eq!(search_range(s, e, &r, &[], Some(0)), Some(0x3900_0000));
    // (memsz - 1) / 65535 = 0x100; 0x39000000 + 0xffff00, aligned down.
    assert_eq!(search_range(s, e, &r, &[], Some(65535)), Some(0x39ff_f000));
    // Below 64 KiB the random point cannot move.
    let r = req(0x4000, PAGE_SIZE, 0, u64::MAX, true);
    assert_eq!(search_range(s, e, &r, &[], Some(65535)), Some(e - 0x3fff));
}

#[test]
fn the_kernels_placements_in_a_1_gib_guest() {
    let (s, e) = RAM;
    let mut segs = Vec::new();
    let mut place = |r: HoleRequest| {
        let at = search_range(s, e, &r, &segs, None).expect("placed");
        segs.push(seg(at, r.memsz));
        at
    };
    // Purgatory: 0x5000 (the built-in object's layout), above 0x3000.
    assert_eq!(
        place(req(0x5000, PAGE_SIZE, 0x3000, u64::MAX, true)),
        0x3ffd_b000
    );
    // Boot parameters and command line: two pages, align 16 raised to a page.
    assert_eq!(
        place(req(0x2000, PAGE_SIZE, 0x3000, u64::MAX, true)),
        0x3ffd_9000
    );
    // The kernel: init_size 0xa87000, kernel_alignment 2 MiB, pref_address
    // 16 MiB. The highest 2 MiB slot below the end fits under the others.
    assert_eq!(
        place(req(0xa8_7000, 2 * MIB, 0x100_0000, u64::MAX, true)),
        0x3f40_0000
    );
    // The initrd, above 16 MiB: the gap between kernel and boot parameters is
    // too small, so page by page down to right below the kernel.
    assert_eq!(
        place(req(0x123_5000, PAGE_SIZE, 0x100_0000, u64::MAX, true)),
        0x3e1c_b000
    );
    // None of them overlap, and all are inside the RAM range.
    for (i, a) in segs.iter().enumerate() {
        assert!(a.mem >= s && a.mem + a.memsz - 1 <= e);
        for b in &segs[..i] {
            assert!(a.mem + a.memsz <= b.mem || b.mem + b.memsz <= a.mem);
        }
    }
    // An initrd too big for what is left above 16 MiB: next range.
    let r = req(
        0x3e1c_b000 - 0x100_0000 + PAGE_SIZE,
        PAGE_SIZE,
        0x100_0000,
        u64::MAX,
        true,
    );
    assert_eq!(search_range(s, e, &r, &segs, None), None);
    let r = req(
        0x3e1c_b000 - 0x100_0000,
        PAGE_SIZE,
        0x100_0000,
        u64::MAX,
        true,
    );
    assert_eq!(search_range(s, e, &r, &segs, None), Some(0x100_0000));
}

#[test]
fn never_wraps_around() {
    // Top-down in a range starting at 0 where every slot conflicts: C would
    // step below 0 to the top of the address space.
    let r = req(0x1000, PAGE_SIZE, 0, u64::MAX, true);
    let taken = [seg(0, 0x10_0000)];
    assert_eq!(search_range(0, 0xf_ffff, &r, &taken, None), None);
    assert_eq!(model(0, 0xf_ffff, &r, &taken, None), C::Wrapped);
    // Bottom-up at the top of the address space: the end overflows.
    let r = req(0x2000, PAGE_SIZE, 0, u64::MAX, false);
    let taken = [seg(u64::MAX - 0x3fff, 0x3000)];
    assert_eq!(
        search_range(u64::MAX - 0x3fff, u64::MAX, &r, &taken, None),
        None
    );
    assert_eq!(
        model(u64::MAX - 0x3fff, u64::MAX, &r, &taken, None),
        C::Wrapped
    );
    // The last slot of the address space is fine.
    let taken = [seg(u64::MAX - 0x3fff, 0x2000)];
    assert_eq!(
        search_range(u64::MAX - 0x3fff, u64::MAX, &r, &taken, None),
        Some(u64::MAX - 0x1fff)
    );
    // Aligning up past u64::MAX.
    let r = req(0x1000, 2 * MIB, 0, u64::MAX, false);
    assert_eq!(
        search_range(u64::MAX - 0xf_ffff, u64::MAX, &r, &[], None),
        None
    );
    // The range [0, u64::MAX] has size 0 in C: skipped.
    let r = req(0x1000, PAGE_SIZE, 0, u64::MAX, true);
    assert_eq!(search_range(0, u64::MAX, &r, &[], None), None);
    // A range ending just below 2^64 is fine.
    assert_eq!(
        search_range(1 << 63, u64::MAX, &r, &[], None),
        Some(u64::MAX - 0xfff)
    );
    // Reversed range, empty request, alignment 0 and u64::MAX: no panic.
    assert_eq!(search_range(0x2000, 0x1fff, &r, &[], None), None);
    assert_eq!(search_range(0x2000, 0x1000, &r, &[], Some(7)), None);
    // An empty request, as C answers it: one past the range's last byte,
    // aligned down (top-down), or the range's first aligned address.
    assert_eq!(
        search_range(0, 0xffff, &req(0, PAGE_SIZE, 0, u64::MAX, true), &[], None),
        Some(0x10000)
    );
    assert_eq!(
        search_range(
            0x1000,
            0x3ffdffff,
            &req(0, 0x20_0000, 0x100_0000, u64::MAX, true),
            &[],
            None
        ),
        Some(0x3fe0_0000)
    );
    assert_eq!(
        search_range(
            0x1000,
            0xffff,
            &req(0, PAGE_SIZE, 0, u64::MAX, false),
            &[],
            None
        ),
        Some(0x1000)
    );
    for align in [0, 1, 3, u64::MAX, 1 << 63] {
        for top_down in [false, true] {
            for random in [None, Some(0), Some(65535)] {
                for (s, e) in [(0, 0xffff), (u64::MAX - 0xffff, u64::MAX), (0x1000, 0x1000)] {
                    let r = req(0x1000, align, 0, u64::MAX, top_down);
                    let got = search_range(s, e, &r, &[], random);
                    match model(s, e, &r, &[], random) {
                        C::Found(a) => assert_eq!(got, Some(a)),
                        _ => assert_eq!(got, None),
                    }
                }
            }
        }
    }
    // An alignment of 0 puts everything at 0 (ALIGN_DOWN(x, 0) == 0).
    let r = req(0x1000, 0, 0, u64::MAX, true);
    assert_eq!(search_range(0, 0xffff, &r, &[], None), Some(0));
    assert_eq!(search_range(0x1000, 0xffff, &r, &[], None), None);
}

#[test]
fn a_long_walk_ends() {
    // Every slot of a 4 GiB range conflicts: a million steps, then next range.
    let r = req(PAGE_SIZE, PAGE_SIZE, 0, u64::MAX, true);
    let taken = [seg(0x1_0000_0000, 4 * GIB)];
    assert_eq!(
        search_range(0x1_0000_0000, 0x1_ffff_ffff, &r, &taken, None),
        None
    );
    let r = req(PAGE_SIZE, PAGE_SIZE, 0, u64::MAX, false);
    assert_eq!(
        search_range(0x1_0000_0000, 0x1_ffff_ffff, &r, &taken, None),
        None
    );
}

/// A CMA block for a bzImage kernel (2 MiB kernel_alignment) at a 1 MiB
/// boundary, as the allocator returns with CONFIG_CMA_ALIGNMENT=8: refused,
/// though the C code takes it (the kexec-cma scenario shows what follows).
#[test]
fn cma_block_below_the_buffers_alignment_is_refused() {
    let kernel = 0xa9_9000;
    assert_eq!(
        check_block(0x3b10_0000, kernel, 2 * MIB, &[]),
        Err(BlockMisfit::Misaligned)
    );
    assert_eq!(check_block(0x3b20_0000, kernel, 2 * MIB, &[]), Ok(()));
    // Page-aligned buffers (initrd, boot_params, purgatory) take any block.
    assert_eq!(check_block(0x3b00_8000, 0x47_7000, PAGE_SIZE, &[]), Ok(()));
    // No alignment at all (0 or 1) takes any block.
    assert_eq!(check_block(0x3b00_8123, PAGE_SIZE, 0, &[]), Ok(()));
    assert_eq!(check_block(0x3b00_8123, PAGE_SIZE, 1, &[]), Ok(()));
}

/// A block that overlaps a segment is refused; one that ends right where a
/// segment starts too, since the C test takes `mem + memsz` as the last byte.
#[test]
fn cma_block_overlapping_a_segment_is_refused() {
    let taken = [seg(0x3b00_0000, 0x1000)];
    assert_eq!(
        check_block(0x3b00_0000, 0x1000, PAGE_SIZE, &taken),
        Err(BlockMisfit::Overlaps)
    );
    assert_eq!(
        check_block(0x3aff_f000, 0x1000, PAGE_SIZE, &taken),
        Err(BlockMisfit::Overlaps)
    );
    assert_eq!(check_block(0x3b00_1000, 0x1000, PAGE_SIZE, &taken), Ok(()));
    // Misalignment is reported first, as the block is given back either way.
    let taken = [seg(0x3b10_0000, 0x1000)];
    assert_eq!(
        check_block(0x3b10_0000, 0x1000, 2 * MIB, &taken),
        Err(BlockMisfit::Misaligned)
    );
}

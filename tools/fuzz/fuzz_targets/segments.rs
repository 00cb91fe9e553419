// SPDX-License-Identifier: GPL-2.0

//! kexec_load(2)'s argument checks (rust/request.rs), segment validation
//! (rust/segment.rs) and the placement of control pages (rust/control.rs), in
//! the order rust/kexec/load.rs runs them, on arbitrary flags, counts, entry
//! points, raw segment records and machine limits.
//!
//! Invariants: no panic or overflow; the first broken rule is the one a model
//! of the C checks finds (same segment, same rule, same errno); an accepted
//! list is page aligned, does not wrap, ends below the limit, has no overlap,
//! fits in half of RAM and, for a crash image, in the reservation; a control
//! block found for it is aligned, inside the limits and on no destination,
//! and is the lowest such block.

#![no_main]

use kexec_logic::control::{alloc_normal, crash_hole, normal_block_fits, overlaps_destination};
use kexec_logic::request::{
    accepted_flags, check_arch, check_crash_entry, check_flags_and_count, decode_segments, RequestError,
    COMPAT_SEGMENT_BYTES, KEXEC_ARCH_X86_64, KEXEC_ON_CRASH, KEXEC_SEGMENT_MAX, SEGMENT_BYTES,
};
use kexec_logic::segment::{validate, Limits, Rule, Segment, Violation, EADDRNOTAVAIL, EINVAL, PAGE_SIZE};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::fmt::Write;

/// An address: mostly page-aligned and small, sometimes anything.
fn addr(u: &mut Unstructured<'_>) -> Result<u64> {
    Ok(match u.int_in_range(0..=7u8)? {
        0 => u.arbitrary::<u64>()?,
        1 => u64::MAX - u.int_in_range(0..=3 * PAGE_SIZE)?,
        2 => u.int_in_range(0..=64u64)? * PAGE_SIZE + u.int_in_range(0..=2u64)? * 0x800,
        _ => u.int_in_range(0..=0x4000u64)? * PAGE_SIZE,
    })
}

fn message(d: &impl std::fmt::Display) -> String {
    let mut s = String::new();
    write!(s, "{d}").unwrap();
    s
}

/// The C checks, pass by pass, written from kernel/kexec_core.c.
fn model(segs: &[Segment], l: &Limits) -> Option<Violation> {
    let v = |segment, rule| Some(Violation { segment, rule });
    for (i, s) in segs.iter().enumerate() {
        let end = s.mem as u128 + s.memsz as u128;
        if end > u64::MAX as u128 {
            return v(i, Rule::Wraps);
        }
        if s.mem % PAGE_SIZE != 0 || !end.is_multiple_of(PAGE_SIZE as u128) {
            return v(i, Rule::Unaligned);
        }
        if end >= l.destination_limit as u128 {
            return v(i, Rule::AboveLimit { limit: l.destination_limit });
        }
    }
    for i in 0..segs.len() {
        for j in 0..i {
            let (a, b) = (&segs[i], &segs[j]);
            if a.mem < b.mem + b.memsz && b.mem < a.mem + a.memsz {
                return v(i, Rule::Overlaps { other: j });
            }
        }
    }
    for (i, s) in segs.iter().enumerate() {
        if s.bufsz > s.memsz {
            return v(i, Rule::BufferLargerThanMemory);
        }
    }
    let allowed = l.total_ram_pages / 2;
    let mut total: u128 = 0;
    for (i, s) in segs.iter().enumerate() {
        let pages = s.memsz.div_ceil(PAGE_SIZE);
        if pages > allowed {
            return v(i, Rule::SegmentTooLarge { pages, allowed });
        }
        total += pages as u128;
    }
    if total > allowed as u128 {
        let pages = total.min(u64::MAX as u128) as u64;
        return v(segs.len().saturating_sub(1), Rule::ImageTooLarge { pages, allowed });
    }
    if let Some((start, end)) = l.crash_window {
        for (i, s) in segs.iter().enumerate() {
            if s.mem < start || (s.mem + s.memsz).wrapping_sub(1) > end {
                return v(i, Rule::OutsideCrashWindow { start, end });
            }
        }
    }
    None
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let count: u64 = if u.ratio(1, 16)? { u.arbitrary()? } else { u.int_in_range(0..=17)? };
    let mut flags: u64 = if u.ratio(1, 4)? { u.arbitrary()? } else { u.int_in_range(0..=15)? };
    if u.ratio(1, 2)? {
        flags |= KEXEC_ARCH_X86_64;
    }
    let compat: bool = u.arbitrary()?;
    let jump: bool = u.arbitrary()?;
    let entry = addr(u)?;
    let window = (addr(u)?, addr(u)?.wrapping_sub(1));
    let limits = Limits {
        destination_limit: if u.arbitrary()? { u64::MAX } else { addr(u)? },
        total_ram_pages: if u.arbitrary()? { u64::MAX } else { u.int_in_range(0..=0x10_0000)? },
        crash_window: None,
    };

    // The argument checks, in load.rs's order.
    let args = check_flags_and_count(count, flags, accepted_flags(jump))
        .and_then(|()| check_arch(flags, KEXEC_ARCH_X86_64, compat));
    if let Err(e) = args {
        assert_eq!(e.errno(), EINVAL);
        assert!(!message(&e).is_empty());
        match e {
            RequestError::UnknownFlags { flags: f } => assert!(f != 0 && f & !0xffff == 0 && f & flags == f),
            RequestError::TooManySegments { count: c } => assert!(c == count && c > KEXEC_SEGMENT_MAX as u64),
            RequestError::ForeignArch { .. } => {}
            RequestError::CrashEntryOutside { .. } => unreachable!(),
        }
        return Ok(());
    }
    let n = count as usize;
    assert!(n <= KEXEC_SEGMENT_MAX);

    // The raw records: half of the time built from addresses, else raw bytes.
    let size = if compat { COMPAT_SEGMENT_BYTES } else { SEGMENT_BYTES };
    let width = size / 4;
    let mut raw = vec![0u8; n * size];
    for rec in raw.chunks_mut(size) {
        if u.arbitrary()? {
            u.fill_buffer(rec)?;
        } else {
            let mem = addr(u)?;
            let memsz = if u.ratio(1, 8)? { addr(u)? } else { u.int_in_range(0..=16u64)? * PAGE_SIZE };
            let bufsz = u.int_in_range(0..=memsz.saturating_add(1))?;
            for (k, v) in [addr(u)?, bufsz, mem, memsz].into_iter().enumerate() {
                rec[k * width..(k + 1) * width].copy_from_slice(&v.to_le_bytes()[..width]);
            }
        }
    }
    let mut segs = [Segment::default(); KEXEC_SEGMENT_MAX];
    decode_segments(&raw, &mut segs[..n], compat);
    let segs = &segs[..n];
    for (s, rec) in segs.iter().zip(raw.chunks(size)) {
        let field = |k: usize| {
            let mut b = [0u8; 8];
            b[..width].copy_from_slice(&rec[k * width..(k + 1) * width]);
            u64::from_le_bytes(b)
        };
        assert_eq!((s.buf, s.bufsz, s.mem, s.memsz), (field(0), field(1), field(2), field(3)));
    }

    let crash = flags & KEXEC_ON_CRASH != 0;
    if crash {
        match check_crash_entry(entry, window.0, window.1) {
            Ok(()) => assert!(window.0 <= entry && entry <= window.1),
            Err(e) => {
                assert!(entry < window.0 || entry > window.1);
                assert_eq!(e.errno(), EADDRNOTAVAIL);
                assert!(!message(&e).is_empty());
                return Ok(());
            }
        }
    }
    let limits = Limits { crash_window: crash.then_some(window), ..limits };
    let valid = match validate(segs, &limits) {
        Err(v) => {
            assert_eq!(Some(v), model(segs, &limits), "{segs:x?} {limits:x?}");
            let want = match v.rule {
                Rule::Wraps | Rule::Unaligned | Rule::AboveLimit { .. } | Rule::OutsideCrashWindow { .. } => {
                    EADDRNOTAVAIL
                }
                _ => EINVAL,
            };
            assert_eq!(v.errno(), want);
            assert!(message(&v).starts_with("segment"), "{}", message(&v));
            return Ok(());
        }
        Ok(valid) => valid,
    };
    assert_eq!(model(segs, &limits), None, "accepted {segs:x?} {limits:x?}");
    assert_eq!(valid.as_slice(), segs);
    let mut pages = 0u128;
    for (i, s) in segs.iter().enumerate() {
        let end = s.mem.checked_add(s.memsz).expect("an accepted segment wraps");
        assert!(s.mem % PAGE_SIZE == 0 && end % PAGE_SIZE == 0);
        assert!(end < limits.destination_limit && s.bufsz <= s.memsz);
        assert_eq!(s.range(), (s.mem, end));
        for p in &segs[..i] {
            assert!(end <= p.mem || p.mem + p.memsz <= s.mem, "{s:x?} overlaps {p:x?}");
        }
        if let Some((ws, we)) = limits.crash_window {
            assert!(s.mem >= ws && (s.memsz == 0 || end - 1 <= we));
        }
        pages += s.pages() as u128;
    }
    assert!(pages <= (limits.total_ram_pages / 2) as u128);
    for _ in 0..4 {
        let (a, b) = (addr(u)?, addr(u)?);
        let want = segs.iter().any(|s| s.mem < b && a < s.mem + s.memsz);
        assert_eq!(valid.is_destination(a, b), want);
        if a <= b {
            let want_c = segs.iter().any(|s| b >= s.mem && a <= (s.mem + s.memsz).wrapping_sub(1));
            assert_eq!(overlaps_destination(segs, a, b), want_c);
        }
    }

    // Control pages: a crash image's from the holes in its reservation.
    let order = u.int_in_range(0..=4u32)?;
    let size = PAGE_SIZE << order;
    let cursor = if u.arbitrary()? { window.0 } else { addr(u)? };
    let limit = if u.arbitrary()? { u64::MAX } else { addr(u)? };
    let hole = crash_hole(segs, cursor, size, window.1, limit);
    let fits = |start: u64| {
        let end = start + (size - 1);
        end <= window.1 && end <= limit && !overlaps_destination(segs, start, end)
    };
    let first = cursor.checked_add(size - 1).map(|c| c & !(size - 1));
    if let Some(start) = hole {
        assert!(start >= cursor && start % size == 0, "{start:#x} for cursor {cursor:#x}");
        assert!(start.checked_add(size - 1).is_some() && fits(start), "{start:#x} does not fit");
        // Nothing lower fits (checked where the gap is small).
        let first = first.unwrap();
        if (start - first) / size <= 512 {
            let mut c = first;
            while c < start {
                assert!(!fits(c), "{c:#x} fits, below {start:#x}");
                c += size;
            }
        }
    } else if let Some(first) = first {
        // Nothing fits, as far as a short search can tell.
        let top = window.1.min(limit);
        let mut c = first;
        for _ in 0..512 {
            match c.checked_add(size - 1) {
                Some(end) if end <= top => assert!(!fits(c), "{c:#x} fits but crash_hole found none"),
                _ => break,
            }
            match c.checked_add(size) {
                Some(next) => c = next,
                None => break,
            }
        }
    }

    // A normal image's from the allocator, holding back what does not fit.
    let mut blocks = Vec::new();
    for _ in 0..u.int_in_range(0..=8)? {
        blocks.push(addr(u)? & !(size - 1));
    }
    let mut next = blocks.iter().copied();
    let mut held = Vec::new();
    let got = alloc_normal(
        segs,
        size,
        limit,
        || next.next().ok_or(()),
        |b| *b,
        |b| {
            held.push(b);
            Ok(())
        },
    );
    let model_fit = |b: u64| {
        (b / PAGE_SIZE).saturating_add(size / PAGE_SIZE) < limit / PAGE_SIZE
            && !overlaps_destination(segs, b, b.saturating_add(size - 1))
    };
    match blocks.iter().position(|&b| model_fit(b)) {
        Some(k) => {
            assert_eq!(got, Ok(blocks[k]));
            assert_eq!(held, blocks[..k]);
            assert!(normal_block_fits(segs, blocks[k], size, limit));
        }
        None => {
            assert_eq!(got, Err(()));
            assert_eq!(held, blocks);
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});

// SPDX-License-Identifier: GPL-2.0

//! The entry-list planner (rust/entry.rs) on simulated physical memory with a
//! hostile allocator chosen by the input: arbitrary segments (placed in that
//! memory), an arbitrary order of free pages (destinations first, a few pages
//! only, ...), the control page allocated first or last (rust/control.rs), the
//! list resumed between segments, memory running out, a failing set-aside.
//!
//! Invariants: no panic or overflow; memory never read or written outside the
//! simulated pages; a plan that completes copies, replayed as the relocate
//! stub copies (`entry::relocate`), exactly each segment's bytes (zero past
//! `bufsz`) to its destination pages and changes no other page; every source
//! and indirection page is its own destination or none; one source page per
//! destination page, none used twice; freeing the image returns every page
//! the list owns, each once (also after a failure half way).

#![no_main]

use kexec_logic::control;
use kexec_logic::entry::{
    self, EntryList, OutOfMemory, PageStore, Planner, ENTRIES_PER_PAGE, IND_INDIRECTION, IND_SOURCE,
};
use kexec_logic::segment::{validate, Limits, Segment, PAGE_SIZE};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;

const WORDS: usize = ENTRIES_PER_PAGE;

/// A set of pages of the simulated memory (a bitmap: cheaper than a tree in
/// the checks made on every entry read and write).
struct PageSet {
    base: u64,
    bits: Vec<bool>,
    len: usize,
}

impl PageSet {
    fn new(base: u64, pages: u64) -> Self {
        PageSet { base, bits: vec![false; pages as usize], len: 0 }
    }
    fn slot(&mut self, a: u64) -> &mut bool {
        let i = a.checked_sub(self.base).map(|o| (o / PAGE_SIZE) as usize);
        match i {
            Some(i) if a.is_multiple_of(PAGE_SIZE) && i < self.bits.len() => &mut self.bits[i],
            _ => panic!("page {a:#x} is outside memory"),
        }
    }
    fn insert(&mut self, a: u64) -> bool {
        let new = !std::mem::replace(self.slot(a), true);
        self.len += new as usize;
        new
    }
    fn remove(&mut self, a: &u64) -> bool {
        let had = std::mem::replace(self.slot(*a), false);
        self.len -= had as usize;
        had
    }
    fn contains(&self, a: &u64) -> bool {
        let i = a.wrapping_sub(self.base) / PAGE_SIZE;
        *a >= self.base && (i as usize) < self.bits.len() && self.bits[i as usize]
    }
    fn len(&self) -> usize {
        self.len
    }
    fn is_empty(&self) -> bool {
        self.len == 0
    }
    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.bits.iter().enumerate().filter(|(_, &b)| b).map(|(i, _)| self.base + i as u64 * PAGE_SIZE)
    }
}

impl std::fmt::Debug for PageSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter().map(|a| format!("{a:#x}"))).finish()
    }
}

/// `pages` pages of physical memory at `base`, a free list and the pages out.
struct Machine {
    base: u64,
    mem: Vec<[u64; WORDS]>,
    free: Vec<u64>,
    allocated: PageSet,
    set_aside: BTreeSet<u64>,
    /// set_aside() fails after this many more calls (`None`: never).
    set_aside_budget: Option<u32>,
    /// The stub's copy is running: it writes destinations, which need not
    /// have been allocated.
    replaying: bool,
}

impl Machine {
    fn index(&self, a: u64) -> usize {
        assert!(a.is_multiple_of(PAGE_SIZE), "unaligned page {a:#x}");
        let i = a.checked_sub(self.base).map(|o| o / PAGE_SIZE);
        match i {
            Some(i) if i < self.mem.len() as u64 => i as usize,
            _ => panic!("page {a:#x} is outside memory [{:#x}, +{} pages)", self.base, self.mem.len()),
        }
    }
    fn page(&self, a: u64) -> &[u64; WORDS] {
        &self.mem[self.index(a)]
    }
    fn page_mut(&mut self, a: u64) -> &mut [u64; WORDS] {
        let i = self.index(a);
        &mut self.mem[i]
    }
}

impl PageStore for Machine {
    fn alloc(&mut self) -> Option<u64> {
        let p = self.free.pop()?;
        assert!(self.allocated.insert(p), "page {p:#x} handed out twice");
        Some(p)
    }
    fn read_entry(&self, page: u64, index: usize) -> u64 {
        assert!(self.allocated.contains(&page), "entry read from page {page:#x}, which is not allocated");
        self.page(page)[index]
    }
    fn write_entry(&mut self, page: u64, index: usize, value: u64) {
        assert!(self.allocated.contains(&page), "entry written to page {page:#x}, which is not allocated");
        self.page_mut(page)[index] = value;
    }
    fn copy_page(&mut self, dst: u64, src: u64) {
        assert!(
            self.replaying || (self.allocated.contains(&dst) && self.allocated.contains(&src)),
            "copy {src:#x} -> {dst:#x} of a page not allocated"
        );
        let s = *self.page(src);
        *self.page_mut(dst) = s;
    }
    fn set_aside(&mut self, page: u64) -> std::result::Result<(), OutOfMemory> {
        assert!(self.allocated.contains(&page), "set aside {page:#x}, which is not allocated");
        if let Some(b) = self.set_aside_budget.as_mut() {
            if *b == 0 {
                // The caller still owns the page: give it back as the kernel would.
                self.allocated.remove(&page);
                self.free.insert(0, page);
                return Err(OutOfMemory);
            }
            *b -= 1;
        }
        assert!(self.set_aside.insert(page), "page {page:#x} set aside twice");
        Ok(())
    }
    fn take_set_aside(&mut self, page: u64) -> bool {
        self.set_aside.remove(&page)
    }
    fn release_set_aside(&mut self) {
        for p in std::mem::take(&mut self.set_aside) {
            assert!(self.allocated.remove(&p));
            self.free.push(p);
        }
    }
    fn free(&mut self, page: u64) {
        assert!(self.allocated.remove(&page), "page {page:#x} freed but not allocated (double free?)");
        assert!(!self.set_aside.contains(&page), "page {page:#x} freed while set aside");
        self.free.push(page);
    }
}

/// The page a segment has at byte offset `off` (a page multiple): words made
/// from `seed` and the address, zero past bufsz. Whole pages at a time, so
/// that the checks cost little next to the code under test.
fn seg_page(seed: u64, seg: &Segment, off: u64) -> [u64; WORDS] {
    let mut p = [0u64; WORDS];
    let data = seg.bufsz.saturating_sub(off).min(PAGE_SIZE) as usize;
    let at = seg.mem + off;
    for (w, word) in p[..data.div_ceil(8)].iter_mut().enumerate() {
        *word = seed ^ (at + 8 * w as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    if !data.is_multiple_of(8) {
        // The last partial word: only its low bytes are data.
        p[data / 8] &= (1u64 << (8 * (data % 8))) - 1;
    }
    p
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    // Memory: up to 560 pages (more than one indirection page's worth),
    // usually few; physical addresses below 2^52 as on real machines.
    let pages: u64 = if u.ratio(1, 32)? { u.int_in_range(512..=560)? } else { u.int_in_range(1..=48)? };
    let base = u.int_in_range(0..=(1u64 << 20))? * PAGE_SIZE;
    let mut segs: Vec<Segment> = Vec::new();
    let nsegs = u.int_in_range(0..=20u32)?;
    for _ in 0..nsegs {
        let start = u.int_in_range(0..=pages - 1)?;
        let len = u.int_in_range(0..=(pages - start).min(if pages > 64 { pages } else { 16 }))?;
        let (ms, me) = (base + start * PAGE_SIZE, base + (start + len) * PAGE_SIZE);
        if segs.iter().any(|s| me > s.mem && ms < s.mem + s.memsz) {
            continue;
        }
        let memsz = len * PAGE_SIZE;
        let bufsz = match u.int_in_range(0..=3u8)? {
            0 => memsz,
            1 => 0,
            _ => u.int_in_range(0..=memsz)?,
        };
        segs.push(Segment { buf: 0x7000_0000, bufsz, mem: ms, memsz });
    }
    let limits =
        Limits { destination_limit: base + pages * PAGE_SIZE + 1, total_ram_pages: pages * 2, crash_window: None };
    let valid = validate(&segs, &limits).expect("the generator made bad segments");
    let dests: BTreeSet<u64> = segs.iter().flat_map(|s| (0..s.pages()).map(move |n| s.mem + n * PAGE_SIZE)).collect();

    // Free pages, in the order the allocator hands them out (from the end).
    let all: Vec<u64> = (0..pages).map(|p| base + p * PAGE_SIZE).collect();
    let mut free: Vec<u64> = match u.int_in_range(0..=4u8)? {
        0 => all.iter().rev().copied().collect(),
        1 => all.clone(),
        2 => {
            // Destinations first, highest first: the worst case for conflicts.
            let mut v = all.clone();
            v.sort_by_key(|a| (dests.contains(a), *a));
            v
        }
        _ => {
            // Picked by the input, then maybe the rest.
            let mut v = Vec::new();
            let mut seen = BTreeSet::new();
            while !u.is_empty() && v.len() < all.len() && !u.ratio(1, 16)? {
                let p = all[u.choose_index(all.len())?];
                if seen.insert(p) {
                    v.push(p);
                }
            }
            if u.arbitrary()? {
                v.extend(all.iter().filter(|p| !seen.contains(p)));
            }
            v.reverse();
            v
        }
    };
    // Sometimes only a few pages are free.
    if u.ratio(1, 8)? {
        let keep = u.int_in_range(0..=free.len())?;
        free.drain(..free.len() - keep);
    }
    let mut mem = vec![[0u64; WORDS]; pages as usize];
    for (i, p) in mem.iter_mut().enumerate() {
        // Garbage: whatever was in RAM before.
        p[0] = 0xdead_0000_0000 | i as u64;
        p[WORDS - 1] = (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d) | 7;
    }
    let set_aside_budget = if u.ratio(1, 8)? { Some(u.int_in_range(0..=8)?) } else { None };
    let mut m = Machine {
        base,
        mem,
        free,
        allocated: PageSet::new(base, pages),
        set_aside: BTreeSet::new(),
        set_aside_budget,
        replaying: false,
    };
    let data_seed: u64 = u.arbitrary()?;
    let control_first: bool = u.arbitrary()?;
    let resume: bool = u.arbitrary()?;

    let alloc_control = |planner: &mut Planner<'_, Machine>| {
        let store = std::cell::RefCell::new(planner.store());
        control::alloc_normal(
            &segs,
            PAGE_SIZE,
            u64::MAX,
            || store.borrow_mut().alloc().ok_or(OutOfMemory),
            |p| *p,
            |p| store.borrow_mut().set_aside(p),
        )
    };

    // Plan as kexec_load does (one planner for every segment), or as
    // image.rs does for kexec_file_load (the list resumed for each segment).
    let n = segs.len();
    // Each round loads segments [from, to).
    let rounds: Vec<(usize, usize)> =
        if resume { (0..=n).map(|k| (k, (k + 1).min(n))).collect() } else { vec![(0, n)] };
    let mut list = EntryList::new();
    let mut control = None;
    let mut failed = false;
    for (round, &(from, to)) in rounds.iter().enumerate() {
        let last = round + 1 == rounds.len();
        let mut planner = Planner::resume(&mut m, valid, list);
        let r = (|| -> std::result::Result<(), OutOfMemory> {
            if round == 0 && control_first {
                control = Some(alloc_control(&mut planner)?);
            }
            for (k, &seg) in segs.iter().enumerate().take(to).skip(from) {
                planner.load_segment(k, |store: &mut Machine, page, off| -> std::result::Result<(), OutOfMemory> {
                    assert!(off < seg.memsz && off.is_multiple_of(PAGE_SIZE));
                    *store.page_mut(page) = seg_page(data_seed, &seg, off);
                    Ok(())
                })?;
            }
            if last && !control_first {
                control = Some(alloc_control(&mut planner)?);
            }
            Ok(())
        })();
        if r.is_err() {
            failed = true;
            list = planner.into_list();
            break;
        }
        list = if last { planner.finish() } else { planner.into_list() };
    }

    if failed {
        // Out of memory half way: freeing the image must free every page.
        m.release_set_aside();
        list.release(&mut m);
        if let Some(c) = control {
            assert!(m.allocated.remove(&c));
        }
        assert!(m.allocated.is_empty(), "pages leaked after a failure: {:x?}", m.allocated);
        return Ok(());
    }
    let control = control.expect("no control page");
    assert!(!dests.contains(&control), "control page {control:#x} is a destination");
    assert!(m.set_aside.is_empty(), "pages still set aside after finish()");

    // Every source page is its own destination or none; indirection pages none.
    let mut sources = Vec::new();
    let mut entries = 0;
    let mut dest = 0;
    list.walk(&m, |e| {
        entries += 1;
        if e & entry::IND_DESTINATION != 0 {
            dest = e & !(PAGE_SIZE - 1);
        } else if e & IND_SOURCE != 0 {
            let src = e & !(PAGE_SIZE - 1);
            assert!(src == dest || !dests.contains(&src), "source {src:#x} for {dest:#x} is another destination");
            sources.push(src);
            dest += PAGE_SIZE;
        } else if e & IND_INDIRECTION != 0 {
            let p = e & !(PAGE_SIZE - 1);
            assert!(!dests.contains(&p), "indirection page {p:#x} is a destination");
        }
    });
    let total_pages: u64 = segs.iter().map(Segment::pages).sum();
    assert_eq!(sources.len() as u64, total_pages, "one source per destination page");
    let uniq: BTreeSet<_> = sources.iter().collect();
    assert_eq!(uniq.len(), sources.len(), "a source page used twice");

    // Replay as the stub does and compare with the model: each destination
    // holds its segment's bytes, every other page is as it was.
    let before = m.mem.clone();
    m.replaying = true;
    let copied = entry::relocate(&mut m, list.head(), entries + 16).expect("the list does not end in IND_DONE");
    m.replaying = false;
    assert_eq!(copied as u64, total_pages);
    for seg in &segs {
        for n in 0..seg.pages() {
            let d = seg.mem + n * PAGE_SIZE;
            let want = seg_page(data_seed, seg, n * PAGE_SIZE);
            if *m.page(d) != want {
                let w = (0..WORDS).find(|&w| m.page(d)[w] != want[w]).unwrap();
                panic!("{d:#x} word {w} is wrong after relocation: {:#x}, not {:#x}", m.page(d)[w], want[w]);
            }
        }
    }
    for (i, old) in before.iter().enumerate() {
        let a = base + i as u64 * PAGE_SIZE;
        if !dests.contains(&a) {
            assert!(&m.mem[i] == old, "non-destination page {a:#x} changed");
        }
    }
    // Freeing returns every page the list owns, each once: only the control
    // page (on its own list in the kernel) is left.
    list.release(&mut m);
    assert_eq!(list.head(), 0);
    assert_eq!(m.allocated.iter().collect::<Vec<_>>(), vec![control], "pages leaked");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});

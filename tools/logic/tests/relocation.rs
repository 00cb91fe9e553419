// SPDX-License-Identifier: GPL-2.0

//! The relocation model: simulated physical memory and page allocators (some of
//! them hostile), an image planned by `entry::Planner` for random segment layouts,
//! and the list replayed exactly as the relocate stub copies. After the replay
//! every destination must hold its segment's bytes (zero past bufsz) and every
//! other page must be as it was.
//!
//! The replay runs twice: once with the Rust model (`entry::relocate`) and once
//! with the relocate stub's own copy loop, arch/x86/relocate_walk.S, assembled
//! here from the same file the kernel stub includes. The simulated memory lives
//! at its host address (the "physical" address of a page is where it is in this
//! process), so the assembly follows the entries as pointers, as it does on the
//! identity map. Both must leave every byte of memory the same.

use kexec_logic::control;
use kexec_logic::entry::{self, OutOfMemory, PageStore, Planner, ENTRIES_PER_PAGE, IND_DONE, IND_SOURCE};
use kexec_logic::segment::{validate, Limits, Segment, PAGE_SIZE};
use std::collections::{BTreeMap, BTreeSet};

/// A small deterministic PRNG (xorshift64*), so failures reproduce from the seed.
struct Rng(u64);

// The stub's copy loop, as a SysV function `walk(head)` (see the file's header).
#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".text",
    ".p2align 4",
    "kexec_logic_stub_walk:",
    include_str!("../../../arch/x86/relocate_walk.S"),
    "ret",
    options(att_syntax)
);

#[cfg(target_arch = "x86_64")]
extern "sysv64" {
    fn kexec_logic_stub_walk(head: u64);
}

// The arm64 stub's copy loop, as an AAPCS64 function `walk(head, _, offset)`
// (see arch/arm64/relocate_walk.S), with a plain dc civac loop for the cache
// maintenance the kernel does with its own macro. On an x86_64 host these
// tests run under qemu-aarch64-static (tools/logic/arm64-test.sh).
#[cfg(target_arch = "aarch64")]
std::arch::global_asm!(
    r".macro kr_clean_to_poc start, end, linesz, tmp
	sub	\tmp, \linesz, #1
	bic	\start, \start, \tmp
1:	dc	civac, \start
	add	\start, \start, \linesz
	cmp	\start, \end
	b.lo	1b
.endm",
    ".text",
    ".p2align 4",
    "kexec_logic_stub_walk_a64:",
    include_str!("../../../arch/arm64/relocate_walk.S"),
    "ret",
);

#[cfg(target_arch = "aarch64")]
extern "C" {
    fn kexec_logic_stub_walk_a64(head: u64, unused: u64, phys_offset: u64);
}

/// Runs the stub's own copy loop over the list at `head`, on the host.
///
/// # Safety
///
/// The list and every page it names are in this process's memory at the
/// addresses the entries hold, and only destination pages may be written.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
unsafe fn stub_walk(head: u64) {
    // SAFETY: by the caller's contract.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        kexec_logic_stub_walk(head)
    };
    // SAFETY: by the caller's contract; no offset: entries hold host addresses.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        kexec_logic_stub_walk_a64(head, 0, 0)
    };
}

/// One page of simulated memory, page-aligned in the host too.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, align(4096))]
struct Page([u64; ENTRIES_PER_PAGE]);

/// `pages` pages of memory and their base address: the host address of the first.
fn host_memory(pages: u64) -> (Vec<Page>, u64) {
    let mem = vec![Page([0; ENTRIES_PER_PAGE]); pages as usize];
    let base = mem.as_ptr() as u64;
    (mem, base)
}

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
}

/// How the simulated buddy allocator hands out free pages.
#[derive(Clone, Copy, Debug)]
enum Order {
    Ascending,
    Descending,
    Random,
    /// Destination pages first, in reverse destination order: the worst case for
    /// the conflict rule.
    DestinationsFirst,
}

/// Physical memory of `pages` pages, each holding 512 u64 words, at `base`.
struct Machine {
    mem: Vec<Page>,
    base: u64,
    free: Vec<u64>,
    allocated: BTreeSet<u64>,
    set_aside: BTreeSet<u64>,
}

impl Machine {
    fn new((mut mem, base): (Vec<Page>, u64), order: Order, dests: &BTreeSet<u64>, rng: &mut Rng) -> Self {
        let pages = mem.len() as u64;
        // Garbage everywhere: whatever was in RAM before.
        for (i, p) in mem.iter_mut().enumerate() {
            p.0[0] = 0xdead_0000_0000 | i as u64;
            p.0[ENTRIES_PER_PAGE - 1] = rng.next();
        }
        let mut all: Vec<u64> = (0..pages).map(|p| base + p * PAGE_SIZE).collect();
        match order {
            Order::Ascending => all.reverse(), // `free` pops from the end
            Order::Descending => {}
            Order::Random => {
                for i in (1..all.len()).rev() {
                    let j = rng.below(i as u64 + 1) as usize;
                    all.swap(i, j);
                }
            }
            Order::DestinationsFirst => {
                all.sort_by_key(|a| (dests.contains(a), std::cmp::Reverse(*a)));
                // Popped from the end: destinations come out first, highest first.
                all.reverse();
                all.sort_by_key(|a| dests.contains(a));
            }
        }
        Machine { mem, base, free: all, allocated: BTreeSet::new(), set_aside: BTreeSet::new() }
    }

    fn page(&self, a: u64) -> &[u64; ENTRIES_PER_PAGE] {
        &self.mem[((a - self.base) / PAGE_SIZE) as usize].0
    }

    fn page_mut(&mut self, a: u64) -> &mut [u64; ENTRIES_PER_PAGE] {
        &mut self.mem[((a - self.base) / PAGE_SIZE) as usize].0
    }
}

impl PageStore for Machine {
    fn alloc(&mut self) -> Option<u64> {
        let p = self.free.pop()?;
        self.allocated.insert(p);
        Some(p)
    }
    fn read_entry(&self, page: u64, index: usize) -> u64 {
        self.page(page)[index]
    }
    fn write_entry(&mut self, page: u64, index: usize, value: u64) {
        self.page_mut(page)[index] = value;
    }
    fn copy_page(&mut self, dst: u64, src: u64) {
        let s = *self.page(src);
        *self.page_mut(dst) = s;
    }
    fn set_aside(&mut self, page: u64) -> Result<(), OutOfMemory> {
        assert!(self.set_aside.insert(page), "page {page:#x} set aside twice");
        Ok(())
    }
    fn take_set_aside(&mut self, page: u64) -> bool {
        self.set_aside.remove(&page)
    }
    fn release_set_aside(&mut self) {
        for p in std::mem::take(&mut self.set_aside) {
            self.allocated.remove(&p);
            self.free.push(p);
        }
    }
    fn free(&mut self, page: u64) {
        assert!(self.allocated.remove(&page), "page {page:#x} freed but not allocated (double free?)");
        assert!(!self.set_aside.contains(&page), "page {page:#x} freed while set aside");
        self.free.push(page);
    }
}

/// The word a segment has at byte offset `off` (data past bufsz is zero).
fn seg_word(seed: u64, seg: &Segment, off: u64) -> u64 {
    if off + 8 <= seg.bufsz {
        seed ^ (seg.mem + off).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    } else if off < seg.bufsz {
        // The last partial word: only its low bufsz - off bytes are data.
        let full = seed ^ (seg.mem + off).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        full & ((1u64 << (8 * (seg.bufsz - off))) - 1)
    } else {
        0
    }
}

/// Random non-overlapping, page-aligned segments inside `pages` pages from `base`.
fn random_segments(rng: &mut Rng, base: u64, pages: u64) -> Vec<Segment> {
    let n = 1 + rng.below(6);
    let mut segs: Vec<Segment> = Vec::new();
    for _ in 0..n * 4 {
        if segs.len() as u64 == n {
            break;
        }
        let len = 1 + rng.below(pages / 8);
        let start = rng.below(pages - len);
        let (ms, me) = (base + start * PAGE_SIZE, base + (start + len) * PAGE_SIZE);
        if segs.iter().any(|s| me > s.mem && ms < s.mem + s.memsz) {
            continue;
        }
        let memsz = len * PAGE_SIZE;
        let bufsz = match rng.below(4) {
            0 => memsz,
            1 => 0,
            _ => rng.below(memsz + 1),
        };
        segs.push(Segment { buf: 0x7000_0000, bufsz, mem: ms, memsz });
    }
    segs
}

struct Outcome {
    copied: usize,
    indirection_pages: usize,
}

/// Plans, replays and checks one image; panics with the seed on any violation.
/// A control page for the image being planned, found by the kernel's own
/// allocator (`control::alloc_normal`, which `Kimage::alloc_control_pages`
/// calls): pages that do not fit are set aside in the store until the planner
/// finishes, where the kernel frees them at once; either way they are held
/// while the search runs.
fn alloc_control(planner: &mut Planner<'_, Machine>, segs: &[Segment]) -> Result<u64, OutOfMemory> {
    let store = std::cell::RefCell::new(planner.store());
    control::alloc_normal(
        segs,
        PAGE_SIZE,
        u64::MAX,
        || store.borrow_mut().alloc().ok_or(OutOfMemory),
        |p| *p,
        |p| store.borrow_mut().set_aside(p),
    )
}

fn run_case(seed: u64, order: Order, pages: u64, control_first: bool) -> Outcome {
    run_case_loading(seed, order, pages, control_first, false)
}

/// [`run_case`], loading the segments in reverse index order when `reverse`: the
/// planner's per-segment index then gives up and it finds sources by walking.
fn run_case_loading(seed: u64, order: Order, pages: u64, control_first: bool, reverse: bool) -> Outcome {
    let mut rng = Rng(seed | 1);
    let memory = host_memory(pages);
    let base = memory.1;
    let segs = random_segments(&mut rng, base, pages);
    let limits = Limits { destination_limit: base + pages * PAGE_SIZE + 1, total_ram_pages: pages * 2, crash_window: None };
    let valid = validate(&segs, &limits).unwrap_or_else(|v| panic!("seed {seed}: generator made bad segments: {v}"));
    let dests: BTreeSet<u64> =
        segs.iter().flat_map(|s| (0..s.pages()).map(move |n| s.mem + n * PAGE_SIZE)).collect();
    let mut m = Machine::new(memory, order, &dests, &mut rng);
    let data_seed = rng.next();

    let mut planner = Planner::new(&mut m, valid);
    // The kernel allocates the control page first, which sets aside every
    // destination page the allocator offers before a usable one; half of the cases
    // allocate it last so that the segments meet the hostile allocator head-on.
    let mut control = None;
    if control_first {
        control = Some(alloc_control(&mut planner, &segs).expect("control page"));
    }
    let mut load_order: Vec<usize> = (0..segs.len()).collect();
    if reverse {
        load_order.reverse();
    }
    for i in load_order {
        let seg = &segs[i];
        planner
            .load_segment(i, |store: &mut Machine, page, off| -> Result<(), OutOfMemory> {
                let p = store.page_mut(page);
                for (w, word) in p.iter_mut().enumerate() {
                    *word = seg_word(data_seed, seg, off + 8 * w as u64);
                }
                Ok(())
            })
            .unwrap_or_else(|_| panic!("seed {seed}: out of memory"));
    }
    if !control_first {
        control = Some(alloc_control(&mut planner, &segs).expect("control page"));
    }
    let control = control.unwrap();
    assert!(!dests.contains(&control), "seed {seed}: control page {control:#x} is a destination");
    let list = planner.finish();

    // Every source and indirection page is its own destination or none.
    let mut sources = Vec::new();
    let mut ind_pages = Vec::new();
    let mut entries = 0;
    list.walk(&m, |e| {
        entries += 1;
        if e & IND_SOURCE != 0 {
            sources.push(e & !(PAGE_SIZE - 1));
        }
        if e & entry::IND_INDIRECTION != 0 {
            ind_pages.push(e & !(PAGE_SIZE - 1));
        }
    });
    for p in &ind_pages {
        assert!(!dests.contains(p), "seed {seed}: indirection page {p:#x} is a destination");
    }
    let total_pages: u64 = segs.iter().map(Segment::pages).sum();
    assert_eq!(sources.len() as u64, total_pages, "seed {seed}: one source per destination page");
    let uniq: BTreeSet<_> = sources.iter().collect();
    assert_eq!(uniq.len(), sources.len(), "seed {seed}: a source page used twice");
    assert!(m.set_aside.is_empty());

    // Replay as the stub does and compare.
    let before_all = m.mem.clone();
    let before: BTreeMap<u64, [u64; ENTRIES_PER_PAGE]> =
        (0..pages).map(|p| (base + p * PAGE_SIZE, *m.page(base + p * PAGE_SIZE))).collect();
    let copied = entry::relocate(&mut m, list.head(), entries + 16).unwrap_or_else(|| panic!("seed {seed}: no IND_DONE"));
    assert_eq!(copied as u64, total_pages);
    for seg in &segs {
        for n in 0..seg.pages() {
            let dest = seg.mem + n * PAGE_SIZE;
            let got = m.page(dest);
            for w in 0..ENTRIES_PER_PAGE {
                let want = seg_word(data_seed, seg, n * PAGE_SIZE + 8 * w as u64);
                assert_eq!(got[w], want, "seed {seed} {order:?}: {dest:#x} word {w} is wrong after relocation");
            }
        }
    }
    for (addr, old) in before {
        if !dests.contains(&addr) {
            assert_eq!(m.page(addr), &old, "seed {seed}: non-destination page {addr:#x} changed");
        }
    }
    // The same list through the stub's own assembly, from the same memory.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        let by_model = m.mem.clone();
        m.mem.copy_from_slice(&before_all);
        // SAFETY: the model just walked this list inside `m.mem`, whose pages
        // sit at the addresses the entries name; the walk writes destination
        // pages only, all of them inside `m.mem`.
        unsafe { stub_walk(list.head()) };
        if let Some(i) = (0..m.mem.len()).find(|&i| m.mem[i] != by_model[i]) {
            panic!("seed {seed} {order:?}: the stub's assembly and the model differ in page {i}");
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = before_all;
    // Freeing the image returns every page the list owns, each once: only the
    // control page (kept on its own list in the kernel) is still allocated.
    let mut list = list;
    list.release(&mut m);
    assert_eq!(m.allocated.iter().copied().collect::<Vec<_>>(), vec![control], "seed {seed}: pages leaked");
    assert_eq!(list.head(), 0);
    Outcome { copied, indirection_pages: ind_pages.len() }
}

#[test]
fn random_layouts_relocate_exactly_under_every_allocator() {
    let mut cases = 0;
    for seed in 1..=750u64 {
        for order in [Order::Ascending, Order::Descending, Order::Random, Order::DestinationsFirst] {
            run_case(seed * 7919, order, 1024, seed % 2 == 0);
            cases += 1;
        }
    }
    assert_eq!(cases, 3000);
}

#[test]
fn large_images_chain_many_indirection_pages() {
    // Over 511 source pages needs a chain of indirection pages.
    let mut max_ind = 0;
    for seed in 1..=12u64 {
        let o = run_case(seed * 104_729, Order::DestinationsFirst, 8192, seed % 2 == 0);
        max_ind = max_ind.max(o.indirection_pages);
        assert!(o.copied > 0);
    }
    assert!(max_ind >= 2, "no case needed a second indirection page");
}

#[test]
fn empty_image_is_just_done() {
    let segs: [Segment; 0] = [];
    let valid = validate(&segs, &Limits { destination_limit: 1 << 40, total_ram_pages: 8, crash_window: None }).unwrap();
    let mut m = Machine::new(host_memory(8), Order::Ascending, &BTreeSet::new(), &mut Rng(1));
    let list = Planner::new(&mut m, valid).finish();
    assert_eq!(list.head(), IND_DONE);
    assert_eq!(entry::relocate(&mut m, list.head(), 4), Some(0));
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        let before = m.mem.clone();
        // SAFETY: the list is just IND_DONE: the walk reads and writes nothing.
        unsafe { stub_walk(list.head()) };
        assert!(m.mem == before);
    }
}

#[test]
fn out_of_memory_is_reported_not_hidden() {
    let memory = host_memory(8);
    let base = memory.1;
    let segs = [Segment { buf: 0, bufsz: 0, mem: base, memsz: 6 * PAGE_SIZE }];
    let valid = validate(&segs, &Limits { destination_limit: 1 << 60, total_ram_pages: 16, crash_window: None }).unwrap();
    let mut m = Machine::new(memory, Order::Descending, &BTreeSet::new(), &mut Rng(1));
    let mut p = Planner::new(&mut m, valid);
    // 6 destinations out of 8 pages: the first two allocations are non-destinations
    // (an indirection page and one source), the rest must come from set-aside pages
    // until memory runs out or the segment is placed.
    let r = p.load_segment(0, |_: &mut Machine, _, _| -> Result<(), OutOfMemory> { Ok(()) });
    assert!(r.is_ok(), "6 pages fit in 8: {r:?}");
    let memory = host_memory(8);
    let base = memory.1;
    let segs = [Segment { buf: 0, bufsz: 0, mem: base, memsz: 8 * PAGE_SIZE }];
    let valid = validate(&segs, &Limits { destination_limit: 1 << 60, total_ram_pages: 16, crash_window: None }).unwrap();
    let mut m = Machine::new(memory, Order::Descending, &BTreeSet::new(), &mut Rng(1));
    let mut p = Planner::new(&mut m, valid);
    // Every page is a destination: the indirection page cannot be placed.
    let r = p.load_segment(0, |_: &mut Machine, _, _| -> Result<(), OutOfMemory> { Ok(()) });
    assert_eq!(r, Err(OutOfMemory));
}

#[test]
fn a_failed_load_frees_every_page() {
    // Memory runs out part way through a segment: the half-built list (resumed
    // between segments, as kexec_file_load drives it) must free all it holds.
    let mut failures = 0;
    for seed in 1..=200u64 {
        let mut rng = Rng(seed);
        let pages = 64;
        let memory = host_memory(pages);
        let base = memory.1;
        let segs = random_segments(&mut rng, base, pages);
        let limits = Limits { destination_limit: base + pages * PAGE_SIZE + 1, total_ram_pages: pages * 2, crash_window: None };
        let valid = validate(&segs, &limits).unwrap();
        let dests: BTreeSet<u64> =
            segs.iter().flat_map(|s| (0..s.pages()).map(move |n| s.mem + n * PAGE_SIZE)).collect();
        let mut m = Machine::new(memory, Order::Random, &dests, &mut rng);
        // Leave only a few pages free.
        let keep = 1 + rng.below(pages / 2) as usize;
        let drop_n = m.free.len().saturating_sub(keep);
        m.free.drain(..drop_n);
        let mut list = entry::EntryList::new();
        let mut failed = false;
        for i in 0..segs.len() {
            let mut p = Planner::resume(&mut m, valid, list);
            let r = p.load_segment(i, |_: &mut Machine, _, _| -> Result<(), OutOfMemory> { Ok(()) });
            list = p.into_list();
            if r.is_err() {
                failed = true;
                break;
            }
        }
        m.release_set_aside();
        list.release(&mut m);
        assert!(m.allocated.is_empty(), "seed {seed} (failed={failed}): {} pages leaked", m.allocated.len());
        failures += failed as u32;
    }
    assert!(failures > 20, "only {failures} of 200 cases ran out of memory");
}

#[test]
fn out_of_order_loads_relocate_exactly_too() {
    for seed in 1..=250u64 {
        for order in [Order::Random, Order::DestinationsFirst] {
            run_case_loading(seed * 6271, order, 1024, seed % 2 == 0, true);
        }
    }
}

/// The arm64 walk turns each physical address of the list into the address it
/// copies through (the linear map's copy) by subtracting the offset it is
/// given: entries here hold host address + offset. It also leaves a page that
/// is its own source in place, and stops at IND_DONE.
#[cfg(target_arch = "aarch64")]
#[test]
fn arm64_walk_subtracts_the_linear_map_offset() {
    use kexec_logic::entry::{IND_DESTINATION, IND_INDIRECTION};
    let (mut mem, base) = host_memory(5);
    let offset = 0x4000_0000_0000u64;
    let at = |i: u64| base + i * PAGE_SIZE;
    // Page 0: the indirection page; 1: a source; 2-3: the destination, whose
    // second page is its own source; 4: untouched.
    for (i, p) in mem.iter_mut().enumerate() {
        p.0 = [0x1111_0000 * (i as u64 + 1); ENTRIES_PER_PAGE];
    }
    mem[1].0[7] = 0xfeed;
    let list = [
        (at(2) + offset) | IND_DESTINATION,
        (at(1) + offset) | IND_SOURCE,
        (at(3) + offset) | IND_SOURCE,
        IND_DONE,
    ];
    mem[0].0[..list.len()].copy_from_slice(&list);
    let want: Vec<Page> = {
        let mut w = mem.clone();
        w[2] = w[1];
        w
    };
    // SAFETY: every entry names a page of `mem` once the offset is taken off;
    // the walk writes page 2 only (page 3 is in place).
    unsafe { kexec_logic_stub_walk_a64((at(0) + offset) | IND_INDIRECTION, 0, offset) };
    for i in 0..mem.len() {
        assert!(mem[i] == want[i], "page {i} differs after the walk");
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Found by the coverage-guided fuzzer (tools/fuzz, target `entry`): a source
//! page was lost when the indirection page its entry needed could not be had.
use kexec_logic::entry::{EntryList, OutOfMemory, PageStore, Planner, ENTRIES_PER_PAGE};
use kexec_logic::segment::{validate, Limits, Segment, PAGE_SIZE};
use std::collections::{BTreeMap, BTreeSet};

/// Pages at 4 KiB steps from 0x1000_0000; `free` pops from the end.
struct Store {
    mem: BTreeMap<u64, Box<[u64; ENTRIES_PER_PAGE]>>,
    free: Vec<u64>,
    allocated: BTreeSet<u64>,
    set_aside: BTreeSet<u64>,
}

impl PageStore for Store {
    fn alloc(&mut self) -> Option<u64> {
        let p = self.free.pop()?;
        self.allocated.insert(p);
        Some(p)
    }
    fn read_entry(&self, page: u64, index: usize) -> u64 {
        self.mem.get(&page).map_or(0, |p| p[index])
    }
    fn write_entry(&mut self, page: u64, index: usize, value: u64) {
        self.mem.entry(page).or_insert_with(|| Box::new([0; ENTRIES_PER_PAGE]))[index] = value;
    }
    fn copy_page(&mut self, dst: u64, src: u64) {
        let s = self.mem.get(&src).cloned().unwrap_or_else(|| Box::new([0; ENTRIES_PER_PAGE]));
        self.mem.insert(dst, s);
    }
    fn set_aside(&mut self, page: u64) -> Result<(), OutOfMemory> {
        self.set_aside.insert(page);
        Ok(())
    }
    fn take_set_aside(&mut self, page: u64) -> bool {
        self.set_aside.remove(&page)
    }
    fn release_set_aside(&mut self) {
        for p in std::mem::take(&mut self.set_aside) {
            self.allocated.remove(&p);
        }
    }
    fn free(&mut self, page: u64) {
        assert!(self.allocated.remove(&page), "double free of {page:#x}");
    }
}

#[test]
fn a_failed_indirection_page_loses_no_source_page() {
    // One segment of 511 pages at 0x2000_0000; 1 + 511 free pages elsewhere:
    // the first indirection page holds the destination and 510 sources, the
    // 511th source page is allocated, then the second indirection page is not.
    const BASE: u64 = 0x1000_0000;
    let segs = [Segment { buf: 0, bufsz: 0, mem: 0x2000_0000, memsz: 511 * PAGE_SIZE }];
    let valid = validate(&segs, &Limits::structural()).unwrap();
    let mut s = Store {
        mem: BTreeMap::new(),
        free: (0..512).rev().map(|i| BASE + i * PAGE_SIZE).collect(),
        allocated: BTreeSet::new(),
        set_aside: BTreeSet::new(),
    };
    let mut p = Planner::new(&mut s, valid);
    let r = p.load_segment(0, |_: &mut Store, _, _| -> Result<(), OutOfMemory> { Ok(()) });
    assert_eq!(r, Err(OutOfMemory));
    let mut list: EntryList = p.into_list();
    s.release_set_aside();
    list.release(&mut s);
    assert!(s.allocated.is_empty(), "pages leaked: {:x?}", s.allocated);
}

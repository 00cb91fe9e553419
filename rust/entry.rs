// SPDX-License-Identifier: GPL-2.0

//! The kimage entry list and the placement of source pages.
//!
//! The relocate stub copies the new kernel into place with the MMU's kernel
//! mappings gone, following a list of 64-bit entries kept in "indirection" pages:
//!
//! * `addr | IND_DESTINATION`: the next source pages go to `addr`, `addr + 4096`, ...
//! * `addr | IND_SOURCE`: copy the page at `addr` to the current destination and
//!   advance it by a page.
//! * `addr | IND_INDIRECTION`: continue reading entries from the page at `addr`.
//! * `IND_DONE`: stop.
//!
//! The list starts in `head` (outside any page); each indirection page holds 511
//! entries and uses its last slot to chain to the next page. The encoding is the
//! upstream one: the stub and kexec-tools-independent arch code read it.
//!
//! The copy runs in list order and reads each source page and each indirection
//! page while it goes, so no copy may overwrite a page that is still to be read.
//! [`Planner`] keeps the invariant that makes this true: every page it hands out
//! (source or indirection) either is not inside any destination range, or is the
//! very destination it will be copied to. A freshly allocated page that is some
//! later destination is set aside until that destination comes up; one that is the
//! destination of a source page already placed takes that page's data and its
//! place in the list, and the old source page is used instead.
//!
//! Pure logic over [`PageStore`]: the kernel implements it with real pages, the
//! host tests with simulated physical memory and hostile allocators.

use crate::segment::{Segments, PAGE_SIZE};

/// A destination entry.
pub const IND_DESTINATION: u64 = 1 << 0;
/// An indirection entry.
pub const IND_INDIRECTION: u64 = 1 << 1;
/// The end of the list.
pub const IND_DONE: u64 = 1 << 2;
/// A source entry.
pub const IND_SOURCE: u64 = 1 << 3;

const PAGE_MASK: u64 = !(PAGE_SIZE - 1);
/// Entries per indirection page.
pub const ENTRIES_PER_PAGE: usize = (PAGE_SIZE / 8) as usize;

/// The allocator ran out of pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;

/// Physical pages as the planner sees them. Addresses are physical and page aligned.
pub trait PageStore {
    /// Allocates a page, or `None` when memory is exhausted.
    fn alloc(&mut self) -> Option<u64>;
    /// Reads entry `index` of the indirection page at `page`.
    fn read_entry(&self, page: u64, index: usize) -> u64;
    /// Writes entry `index` of the indirection page at `page`.
    fn write_entry(&mut self, page: u64, index: usize, value: u64);
    /// Copies the page at `src` to the page at `dst`.
    fn copy_page(&mut self, dst: u64, src: u64);
    /// Keeps an allocated page aside for later (a future destination, or a page
    /// unfit for a control page); released by [`PageStore::release_set_aside`].
    fn set_aside(&mut self, page: u64) -> Result<(), OutOfMemory>;
    /// Takes back the set-aside page at `page`, if there is one.
    fn take_set_aside(&mut self, page: u64) -> bool;
    /// Frees every page still set aside.
    fn release_set_aside(&mut self);
    /// Frees a page that the list owns (a source or an indirection page).
    fn free(&mut self, page: u64);
}

/// Where the next entry goes: the `head` word or a slot of an indirection page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The `head` word, outside any page.
    Head,
    /// Slot `index` of the indirection page at physical address `page`.
    Page {
        /// The indirection page.
        page: u64,
        /// The slot, below [`ENTRIES_PER_PAGE`].
        index: usize,
    },
}

/// The entry list under construction.
///
/// # Invariants
///
/// `cur` is the slot after the last entry written (or `Head` when none was), and
/// it holds 0; `Head` is never the chaining slot, and the chaining slot of a page is
/// index [`ENTRIES_PER_PAGE`] - 1.
#[derive(Debug)]
pub struct EntryList {
    head: u64,
    cur: Slot,
}

impl Default for EntryList {
    fn default() -> Self {
        Self::new()
    }
}

impl EntryList {
    /// An empty list.
    pub const fn new() -> Self {
        EntryList {
            head: 0,
            cur: Slot::Head,
        }
    }

    /// The first entry, as the relocate stub takes it (`kimage->head`).
    pub fn head(&self) -> u64 {
        self.head
    }

    /// The slot the next entry goes to (after the last one written).
    pub fn cur(&self) -> Slot {
        self.cur
    }

    /// A list taken back from where it was kept between calls: `head` and `cur`
    /// must be what [`EntryList::head`] and [`EntryList::cur`] returned for a list
    /// built in the same store, unchanged since.
    pub fn from_parts(head: u64, cur: Slot) -> Self {
        EntryList { head, cur }
    }

    /// Frees every page the list owns, each once: the source pages and the
    /// indirection pages. An indirection page is freed only after the entry that
    /// chains away from it has been read. The list is empty afterwards.
    pub fn release<S: PageStore>(&mut self, s: &mut S) {
        let mut slot = Slot::Head;
        let mut current_page: Option<u64> = None;
        loop {
            let e = self.read(s, slot);
            if e == 0 || e & IND_DONE != 0 {
                break;
            }
            if e & IND_INDIRECTION != 0 {
                let next = e & PAGE_MASK;
                if let Some(p) = current_page.replace(next) {
                    s.free(p);
                }
                slot = Slot::Page {
                    page: next,
                    index: 0,
                };
                continue;
            }
            if e & IND_SOURCE != 0 {
                s.free(e & PAGE_MASK);
            }
            slot = match slot {
                Slot::Head => break,
                Slot::Page { page, index } if index + 1 < ENTRIES_PER_PAGE => Slot::Page {
                    page,
                    index: index + 1,
                },
                // A full page whose last slot is not a chain: a corrupt list.
                Slot::Page { .. } => break,
            };
        }
        if let Some(p) = current_page {
            s.free(p);
        }
        *self = EntryList::new();
    }

    fn read(&self, s: &impl PageStore, slot: Slot) -> u64 {
        match slot {
            Slot::Head => self.head,
            Slot::Page { page, index } => s.read_entry(page, index),
        }
    }

    fn write(&mut self, s: &mut impl PageStore, slot: Slot, v: u64) {
        match slot {
            Slot::Head => self.head = v,
            Slot::Page { page, index } => s.write_entry(page, index, v),
        }
    }

    /// Calls `f(slot, entry)` for every entry before `IND_DONE` (or the first 0),
    /// following indirections, in the order the stub reads them.
    fn for_each(&self, s: &impl PageStore, mut f: impl FnMut(Slot, u64) -> bool) {
        let mut slot = Slot::Head;
        loop {
            let e = self.read(s, slot);
            if e == 0 || e & IND_DONE != 0 || !f(slot, e) {
                return;
            }
            slot = if e & IND_INDIRECTION != 0 {
                Slot::Page {
                    page: e & PAGE_MASK,
                    index: 0,
                }
            } else {
                match slot {
                    Slot::Head => return,
                    Slot::Page { page, index } => Slot::Page {
                        page,
                        index: index + 1,
                    },
                }
            };
        }
    }

    /// Calls `f(entry)` for every entry, following indirections.
    pub fn walk(&self, s: &impl PageStore, mut f: impl FnMut(u64)) {
        self.for_each(s, |_, e| {
            f(e);
            true
        });
    }

    /// Writes `IND_DONE` after the last entry.
    pub fn terminate(&mut self, s: &mut impl PageStore) {
        if self.read(s, self.cur) != 0 {
            self.cur = self.advance(self.cur);
        }
        self.write(s, self.cur, IND_DONE);
    }

    fn advance(&self, slot: Slot) -> Slot {
        match slot {
            // Head is the chaining slot of the (empty) page before the first one.
            Slot::Head => Slot::Head,
            Slot::Page { page, index } => Slot::Page {
                page,
                index: index + 1,
            },
        }
    }

    fn is_chaining(slot: Slot) -> bool {
        match slot {
            Slot::Head => true,
            Slot::Page { index, .. } => index == ENTRIES_PER_PAGE - 1,
        }
    }
}

/// Builds an image's entry list, placing each source page so that the copy is safe.
pub struct Planner<'a, S: PageStore> {
    store: &'a mut S,
    segments: Segments<'a>,
    list: EntryList,
    index: Index,
}

/// The most segments the planner indexes (`KEXEC_SEGMENT_MAX`); an image with
/// more is planned with full list walks.
pub const INDEXED_SEGMENTS: usize = 16;

/// Where each segment's entries are in the list, so that the source of a
/// destination page is found without walking the list.
///
/// Entries are counted in list order, not counting the chaining slots: entry
/// number `n` is slot `n % 511` of the `n / 511`-th indirection page. A loaded
/// segment is one `IND_DESTINATION` entry at `start` followed by one
/// `IND_SOURCE` entry per page placed, in destination order.
///
/// # Invariants
///
/// When `valid`, segments `0..next` were loaded in index order, each with its
/// destination entry at `start[i]` and `placed[i]` source entries after it, and
/// `len` is the number of entries in the list.
#[derive(Debug, Clone, Copy)]
struct Index {
    valid: bool,
    len: u64,
    next: usize,
    start: [u64; INDEXED_SEGMENTS],
    placed: [u64; INDEXED_SEGMENTS],
}

impl Index {
    const fn new(segments: usize) -> Self {
        Index {
            valid: segments <= INDEXED_SEGMENTS,
            len: 0,
            next: 0,
            start: [0; INDEXED_SEGMENTS],
            placed: [0; INDEXED_SEGMENTS],
        }
    }

    /// Accounts for an entry appended to the list.
    fn appended(&mut self, entry: u64, segs: &[crate::segment::Segment]) {
        if !self.valid {
            return;
        }
        if entry & IND_DESTINATION != 0 {
            // The next segment in index order must be the one starting here.
            match segs.get(self.next) {
                Some(s) if s.mem == entry & PAGE_MASK && self.next < INDEXED_SEGMENTS => {
                    self.start[self.next] = self.len;
                    self.placed[self.next] = 0;
                    self.next += 1;
                }
                _ => self.valid = false,
            }
        } else if entry & IND_SOURCE != 0 {
            match self.next.checked_sub(1) {
                Some(cur) => self.placed[cur] += 1,
                None => self.valid = false,
            }
        }
        self.len += 1;
    }
}

/// A page that will be a destination: `None` for pages whose address does not
/// matter (indirection pages, control pages).
pub type Destination = Option<u64>;

impl<'a, S: PageStore> Planner<'a, S> {
    /// A planner for the validated `segments`, allocating from `store`.
    pub fn new(store: &'a mut S, segments: Segments<'a>) -> Self {
        Self::resume(store, segments, EntryList::new())
    }

    /// A planner that goes on with `list`, built earlier for the same segments in
    /// the same store.
    pub fn resume(store: &'a mut S, segments: Segments<'a>, list: EntryList) -> Self {
        let segs = segments.as_slice();
        let mut index = Index::new(segs.len());
        list.for_each(&*store, |_, e| {
            if e & IND_INDIRECTION == 0 {
                index.appended(e, segs);
            }
            true
        });
        Planner {
            store,
            segments,
            list,
            index,
        }
    }

    /// Gives the list back unterminated, to be resumed later.
    pub fn into_list(self) -> EntryList {
        self.list
    }

    /// The store.
    pub fn store(&mut self) -> &mut S {
        self.store
    }

    /// The entry list so far.
    pub fn list(&self) -> &EntryList {
        &self.list
    }

    /// Finishes the list with `IND_DONE`, frees every page set aside and returns the
    /// list.
    pub fn finish(mut self) -> EntryList {
        self.list.terminate(self.store);
        self.store.release_set_aside();
        self.list
    }

    /// The slot of entry number `n` (chaining slots not counted).
    fn slot_of(&self, n: u64) -> Slot {
        let per_page = (ENTRIES_PER_PAGE - 1) as u64;
        let mut page = self.list.head & PAGE_MASK;
        for _ in 0..n / per_page {
            page = self.store.read_entry(page, ENTRIES_PER_PAGE - 1) & PAGE_MASK;
        }
        Slot::Page {
            page,
            index: (n % per_page) as usize,
        }
    }

    /// The slot holding the source entry whose destination is `page`, if any.
    fn source_for(&self, page: u64) -> Option<Slot> {
        let found = self.source_for_indexed(page);
        // Host tests run with debug assertions: the index must agree with a walk.
        debug_assert_eq!(
            found,
            self.source_for_by_walk(page),
            "index and walk disagree for {page:#x}"
        );
        found
    }

    fn source_for_indexed(&self, page: u64) -> Option<Slot> {
        if !self.index.valid {
            return self.source_for_by_walk(page);
        }
        let segs = self.segments.as_slice();
        for (i, s) in segs.iter().enumerate().take(self.index.next) {
            let (start, end) = s.range();
            if page >= start && page < end {
                let k = (page - start) / PAGE_SIZE;
                if k >= self.index.placed[i] {
                    return None;
                }
                return Some(self.slot_of(self.index.start[i] + 1 + k));
            }
        }
        None
    }

    /// [`Planner::source_for`] by walking the whole list.
    fn source_for_by_walk(&self, page: u64) -> Option<Slot> {
        let mut dest = 0;
        let mut found = None;
        self.list.for_each(self.store, |slot, e| {
            if e & IND_DESTINATION != 0 {
                dest = e & PAGE_MASK;
            } else if e & IND_SOURCE != 0 {
                if dest == page {
                    found = Some(slot);
                    return false;
                }
                dest += PAGE_SIZE;
            }
            true
        });
        found
    }

    /// Allocates a page that may be read while the stub copies: it is either
    /// `dest` itself or no destination at all.
    pub fn alloc_page(&mut self, dest: Destination) -> Result<u64, OutOfMemory> {
        if let Some(d) = dest {
            if self.store.take_set_aside(d) {
                return Ok(d);
            }
        }
        loop {
            let p = self.store.alloc().ok_or(OutOfMemory)?;
            if Some(p) == dest || !self.segments.is_destination(p, p + PAGE_SIZE) {
                return Ok(p);
            }
            if let Some(slot) = self.source_for(p) {
                // `p` is the destination of a source page already placed: move
                // that page's data into `p`, which is then already where it must
                // end up, and use the old source page (no destination) instead.
                let entry = self.list.read(self.store, slot);
                let old = entry & PAGE_MASK;
                self.store.copy_page(p, old);
                self.list.write(self.store, slot, p | (entry & !PAGE_MASK));
                return Ok(old);
            }
            self.store.set_aside(p)?;
        }
    }

    fn add_entry(&mut self, entry: u64) -> Result<(), OutOfMemory> {
        if self.list.read(self.store, self.list.cur) != 0 {
            self.list.cur = self.list.advance(self.list.cur);
        }
        if EntryList::is_chaining(self.list.cur) {
            let page = self.alloc_page(None)?;
            let cur = self.list.cur;
            self.list.write(self.store, cur, page | IND_INDIRECTION);
            self.list.cur = Slot::Page { page, index: 0 };
        }
        let cur = self.list.cur;
        self.list.write(self.store, cur, entry);
        self.list.cur = self.list.advance(cur);
        let cur = self.list.cur;
        self.list.write(self.store, cur, 0);
        self.index.appended(entry, self.segments.as_slice());
        Ok(())
    }

    /// Starts a segment: the next source pages go to `dest` onwards.
    pub fn set_destination(&mut self, dest: u64) -> Result<(), OutOfMemory> {
        self.add_entry((dest & PAGE_MASK) | IND_DESTINATION)
    }

    /// Appends a source page.
    pub fn add_source(&mut self, page: u64) -> Result<(), OutOfMemory> {
        self.add_entry((page & PAGE_MASK) | IND_SOURCE)
    }

    /// Places segment `index`: for each destination page, allocates a safe source
    /// page, calls `fill(store, page, offset_in_segment)` to write its contents,
    /// and appends it to the list.
    pub fn load_segment<E>(
        &mut self,
        index: usize,
        mut fill: impl FnMut(&mut S, u64, u64) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<OutOfMemory>,
    {
        let seg = self.segments.as_slice()[index];
        self.set_destination(seg.mem)?;
        for n in 0..seg.pages() {
            let dest = seg.mem + n * PAGE_SIZE;
            let page = self.alloc_page(Some(dest))?;
            // Until its entry is written, the page belongs to no list: when
            // the entry needs an indirection page that cannot be had, give
            // the page back here or nothing ever frees it.
            if let Err(e) = self.add_source(page) {
                self.store.free(page);
                return Err(e.into());
            }
            fill(self.store, page, n * PAGE_SIZE)?;
        }
        Ok(())
    }
}

/// Does what the relocate stub does: walks the list from `head` and copies each
/// source page to its destination, reading entries from memory as it goes.
///
/// This is the model of the stub's copy loop, arch/x86/relocate_walk.S, step for
/// step: `entry` is its `%rax`, `ptr` its `%r8` (`None` is 0), `dest` its `%r9`;
/// the flags are tested in the same order, an entry with none of them is
/// skipped, and a source that is already its destination is not copied. The
/// host relocation tests run both on every image they plan. The count returned
/// includes the pages found in place.
/// Returns the number of pages copied, or `None` if the walk did not end in
/// `IND_DONE` within `max_entries` entries.
pub fn relocate(s: &mut impl PageStore, head: u64, max_entries: usize) -> Option<usize> {
    let mut entry = head;
    let mut ptr: Option<(u64, usize)> = None;
    let mut dest = 0u64;
    let mut copied = 0;
    for _ in 0..max_entries {
        if entry & IND_DESTINATION != 0 {
            dest = entry & PAGE_MASK;
        } else if entry & IND_INDIRECTION != 0 {
            ptr = Some((entry & PAGE_MASK, 0));
        } else if entry & IND_DONE != 0 {
            return Some(copied);
        } else if entry & IND_SOURCE != 0 {
            let src = entry & PAGE_MASK;
            // A page already at its destination is not copied onto itself.
            if src != dest {
                s.copy_page(dest, src);
            }
            dest += PAGE_SIZE;
            copied += 1;
        }
        let (page, index) = ptr?;
        entry = s.read_entry(page, index);
        ptr = Some((page, index + 1));
    }
    None
}

// SPDX-License-Identifier: GPL-2.0

//! The kimage: a loaded image's pages, its entry list and its control pages.
//!
//! `struct kimage` stays the C structure, because the arch code
//! (`machine_kexec*`), `kernel/kexec_file.c` and `kernel/crash_core.c` read and
//! fill it. What kernel/kexec_core.c did with it is here, behind the same C
//! functions (`do_kimage_alloc_init`, `sanity_check_segment_list`,
//! `kimage_alloc_control_pages`, `kimage_load_segment`, `kimage_terminate`,
//! `kimage_free`, ...), built on the pure logic of [`crate::segment`],
//! [`crate::entry`] and [`crate::control`]:
//!
//! * segment rules: [`crate::segment::validate`], which also logs the rule broken;
//! * the entry list and the placement of source pages: [`crate::entry::Planner`]
//!   over [`ImageStore`], the kernel's [`PageStore`], whose state lives in the
//!   kimage (`head`, `entry`, `last_entry`, `dest_pages`, `unusable_pages`) so
//!   that kexec_file_load can drive the load one segment at a time;
//! * crash control pages: [`crate::control::crash_hole`].

use crate::control;
use crate::entry::{EntryList, OutOfMemory, PageStore, Planner, Slot, ENTRIES_PER_PAGE};
use crate::segment::{self, Limits, Segment, Segments, PAGE_SIZE};
use crate::sys;
use kernel::bindings;
use kernel::prelude::*;
use kernel::uaccess::{UserPtr, UserSlice, UserSliceReader};

/// `KEXEC_TYPE_CRASH`.
pub(crate) const KEXEC_TYPE_CRASH: u32 = 1;
const PAGE_SHIFT: u32 = 12;

impl From<OutOfMemory> for Error {
    fn from(_: OutOfMemory) -> Error {
        ENOMEM
    }
}

/// A copy of an image's segment list, as the pure logic takes it.
pub(crate) struct SegmentTable {
    segs: [Segment; bindings::KEXEC_SEGMENT_MAX as usize],
    n: usize,
}

impl SegmentTable {
    /// The segments of `image`.
    fn of(image: &bindings::kimage) -> Self {
        let mut segs = [Segment::default(); bindings::KEXEC_SEGMENT_MAX as usize];
        let n = (image.nr_segments as usize).min(segs.len());
        for (dst, s) in segs.iter_mut().zip(&image.segment[..n]) {
            // SAFETY: both members of the union are pointers of the same size;
            // only the address is taken.
            let buf = unsafe { s.__bindgen_anon_1.buf } as usize as u64;
            *dst = Segment { buf, bufsz: s.bufsz as u64, mem: s.mem as u64, memsz: s.memsz as u64 };
        }
        SegmentTable { segs, n }
    }

    pub(crate) fn as_slice(&self) -> &[Segment] {
        &self.segs[..self.n]
    }
}

/// The crash kernel reservation `[start, end]` (`[0, 0]` when there is none).
pub(crate) fn crash_window() -> (u64, u64) {
    // SAFETY: `crashk_res` is set up at early boot; its bounds only shrink under
    // the kexec lock, which every caller of the load path holds.
    unsafe { (bindings::crashk_res.start, bindings::crashk_res.end) }
}

/// The machine's limits for a normal (`crash == false`) or crash image.
pub(crate) fn limits(crash: bool) -> Limits {
    // SAFETY: the helpers only read kernel state.
    let (destination_limit, total_ram_pages) =
        unsafe { (sys::kexec_rust_destination_limit(), sys::kexec_rust_totalram_pages()) };
    Limits {
        destination_limit: destination_limit as u64,
        total_ram_pages: total_ram_pages as u64,
        crash_window: if crash { Some(crash_window()) } else { None },
    }
}

fn is_crash(image: &bindings::kimage) -> bool {
    image.type_() == KEXEC_TYPE_CRASH
}

/// Checks `image`'s segments; logs the broken rule and returns its errno.
fn check_segments(image: &bindings::kimage) -> Result {
    let table = SegmentTable::of(image);
    let crash = cfg!(CONFIG_CRASH_DUMP) && is_crash(image);
    segment::validate(table.as_slice(), &limits(crash)).map_err(|v| {
        pr_err!("kexec: image refused: {}\n", format_args!("{v}"));
        Error::from_errno(-v.errno())
    })?;
    for s in table.as_slice() {
        // The destinations come from System RAM, not from the allocator: accept
        // them before the copy writes to them.
        // SAFETY: `[mem, mem + memsz)` is a validated, non-wrapping range.
        unsafe { sys::kexec_rust_accept_memory(s.mem as bindings::phys_addr_t, s.memsz as c_ulong) };
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Pages.

/// Allocates `2^order` pages for an image and marks them reserved, as the copy
/// will write to them behind the allocator's back. `None` when memory is short
/// or the task is being killed.
fn alloc_pages(gfp: bindings::gfp_t, order: u32) -> Option<*mut bindings::page> {
    // SAFETY: a query of the current task.
    if unsafe { sys::kexec_rust_fatal_signal_pending() } {
        return None;
    }
    // SAFETY: a plain page allocation; zeroing is done below, after the arch hook.
    let page = unsafe { bindings::alloc_pages(gfp & !bindings::__GFP_ZERO, order) };
    if page.is_null() {
        return None;
    }
    let count = 1u32 << order;
    // SAFETY: `page` heads a fresh allocation of `count` pages that we own.
    unsafe {
        sys::kexec_rust_set_page_order(page, order);
        for i in 0..count as usize {
            sys::kexec_rust_set_page_reserved(page.add(i));
        }
        bindings::arch_kexec_post_alloc_pages(sys::kexec_rust_page_address(page), count as c_uint, gfp);
        if gfp & bindings::__GFP_ZERO != 0 {
            for i in 0..count as usize {
                sys::kexec_rust_clear_highpage(page.add(i));
            }
        }
    }
    Some(page)
}

/// Frees pages from [`alloc_pages`].
///
/// # Safety
///
/// `page` came from [`alloc_pages`], is no longer on any list and is not used
/// after this call.
unsafe fn free_pages(page: *mut bindings::page) {
    // SAFETY: by the function's requirements `page` heads an allocation from
    // `alloc_pages`, which recorded its order.
    unsafe {
        let order = sys::kexec_rust_page_order(page);
        let count = 1u32 << order;
        bindings::arch_kexec_pre_free_pages(sys::kexec_rust_page_address(page), count as c_uint);
        for i in 0..count as usize {
            sys::kexec_rust_clear_page_reserved(page.add(i));
        }
        bindings::__free_pages(page, order);
    }
}

/// Frees every page on `list` (linked through `page->lru`).
///
/// # Safety
///
/// `list` is a valid list head whose entries all came from [`alloc_pages`].
unsafe fn free_page_list(list: *mut bindings::list_head) {
    loop {
        // SAFETY: `list` is a valid list head.
        let page = unsafe { sys::kexec_rust_page_list_first(list) };
        if page.is_null() {
            return;
        }
        // SAFETY: `page` is on `list`; once unlinked nothing refers to it.
        unsafe {
            sys::kexec_rust_page_list_del(page);
            free_pages(page);
        }
    }
}

fn phys_of(page: *mut bindings::page) -> u64 {
    // SAFETY: `page` is a valid `struct page`; this is arithmetic on its pfn.
    (unsafe { sys::kexec_rust_page_to_boot_pfn(page) } as u64) << PAGE_SHIFT
}

fn page_of(phys: u64) -> *mut bindings::page {
    // SAFETY: arithmetic on the memory map; callers pass addresses of RAM.
    unsafe { sys::kexec_rust_boot_pfn_to_page((phys >> PAGE_SHIFT) as c_ulong) }
}

// ---------------------------------------------------------------------------
// The page store of an image.

/// The kernel's [`PageStore`] for one image: real pages from the buddy
/// allocator, indirection pages read and written through the direct map, and
/// the image's `dest_pages` list for pages set aside.
///
/// # Invariants
///
/// `image` is valid and exclusively used through this store while it exists.
/// Every address the planner passes to `read_entry`, `write_entry`, `copy_page`
/// and `free` is one that `alloc` returned (the contract of [`PageStore`]), so
/// it is a page of RAM that this image owns.
struct ImageStore {
    image: *mut bindings::kimage,
}

impl ImageStore {
    fn entry_ptr(&self, page: u64, index: usize) -> *mut u64 {
        debug_assert!(index < ENTRIES_PER_PAGE);
        // SAFETY: by the type invariant `page` is a page of RAM the image owns,
        // which the direct map covers (GFP_HIGHUSER is never highmem on x86_64).
        let base = unsafe { sys::kexec_rust_boot_phys_to_virt(page as c_ulong) } as *mut u64;
        base.wrapping_add(index)
    }
}

impl PageStore for ImageStore {
    fn alloc(&mut self) -> Option<u64> {
        // SAFETY: a read of a constant.
        let (gfp, limit) = unsafe { (sys::kexec_rust_source_gfp(), sys::kexec_rust_source_limit()) };
        loop {
            let page = alloc_pages(gfp, 0)?;
            let phys = phys_of(page);
            if (phys >> PAGE_SHIFT) > (limit as u64 >> PAGE_SHIFT) {
                // Out of the stub's reach: keep it until the image is freed, so
                // that the allocator does not hand it out again.
                // SAFETY: by the type invariant `image` is valid; `page` is ours.
                unsafe { sys::kexec_rust_page_list_add(page, &mut (*self.image).unusable_pages) };
                continue;
            }
            return Some(phys);
        }
    }

    fn read_entry(&self, page: u64, index: usize) -> u64 {
        // SAFETY: see `entry_ptr`; the slot is inside the page.
        unsafe { self.entry_ptr(page, index).read() }
    }

    fn write_entry(&mut self, page: u64, index: usize, value: u64) {
        // SAFETY: see `entry_ptr`; the slot is inside the page.
        unsafe { self.entry_ptr(page, index).write(value) }
    }

    fn copy_page(&mut self, dst: u64, src: u64) {
        // SAFETY: both are pages the image owns (type invariant).
        unsafe { sys::kexec_rust_copy_highpage(page_of(dst), page_of(src)) }
    }

    fn set_aside(&mut self, page: u64) -> Result<(), OutOfMemory> {
        // SAFETY: the image is valid and `page` is ours and on no list.
        unsafe { sys::kexec_rust_page_list_add(page_of(page), &mut (*self.image).dest_pages) };
        Ok(())
    }

    fn take_set_aside(&mut self, page: u64) -> bool {
        // Every page set aside came from `alloc_pages`, which marks it reserved;
        // free RAM and most pages of other owners are not. Testing the flag first
        // spares the walk of the list for nearly every destination page.
        // SAFETY: the helper reads the flags only of a page with a memory map
        // entry (`pfn_valid`); a destination outside RAM is never set aside.
        if !unsafe { sys::kexec_rust_reserved_ram_at(page as c_ulong) } {
            return false;
        }
        // The list can hold thousands of pages: compare the nodes' addresses with
        // the wanted page's `lru` node instead of converting each to an address.
        let target = page_of(page);
        // SAFETY: a constant; `want` is only compared, never dereferenced.
        let want = target.cast::<u8>().wrapping_add(unsafe { sys::kexec_rust_page_lru_offset() } as usize);
        // SAFETY: the image is valid; `dest_pages` is a well-formed list of our
        // pages, which nothing else changes while we plan.
        unsafe {
            let head: *mut bindings::list_head = &mut (*self.image).dest_pages;
            let mut node = (*head).next;
            while node != head {
                if node.cast::<u8>() == want {
                    sys::kexec_rust_page_list_del(target);
                    return true;
                }
                node = (*node).next;
            }
        }
        false
    }

    fn release_set_aside(&mut self) {
        // SAFETY: the image is valid; `dest_pages` holds only our pages.
        unsafe { free_page_list(&mut (*self.image).dest_pages) };
    }

    fn free(&mut self, page: u64) {
        // SAFETY: `page` is a source or indirection page of the list, allocated
        // by `alloc` and on no other list; the list no longer refers to it.
        unsafe { free_pages(page_of(page)) };
    }
}

/// The entry list kept in `image` (`head`, and `entry` as the next slot).
///
/// # Safety
///
/// `image` is valid and its list was built by [`save_list`] (or is the empty
/// list of a fresh image).
unsafe fn load_list(image: *mut bindings::kimage) -> EntryList {
    // SAFETY: `image` is valid.
    let img = unsafe { &mut *image };
    let head_ptr: *mut usize = &mut img.head;
    let cur = if img.entry.is_null() || img.entry == head_ptr {
        Slot::Head
    } else {
        let addr = img.entry as usize;
        let page_va = addr & !(PAGE_SIZE as usize - 1);
        // SAFETY: `entry` points into an indirection page of the direct map.
        let page = unsafe { sys::kexec_rust_virt_to_boot_phys(page_va as *mut c_void) } as u64;
        Slot::Page { page, index: (addr - page_va) / 8 }
    };
    EntryList::from_parts(img.head as u64, cur)
}

/// Stores `list` in `image`, where the arch code and [`load_list`] find it.
///
/// # Safety
///
/// `image` is valid and `list` belongs to it.
unsafe fn save_list(image: *mut bindings::kimage, list: &EntryList) {
    // SAFETY: `image` is valid.
    let img = unsafe { &mut *image };
    img.head = list.head() as usize;
    let store = ImageStore { image };
    let (entry, last) = match list.cur() {
        Slot::Head => {
            let p: *mut usize = &mut img.head;
            (p, p)
        }
        Slot::Page { page, index } => (
            store.entry_ptr(page, index).cast::<usize>(),
            store.entry_ptr(page, ENTRIES_PER_PAGE - 1).cast::<usize>(),
        ),
    };
    img.entry = entry;
    img.last_entry = last;
}

// ---------------------------------------------------------------------------
// Control pages.

/// Control pages for a normal image: from the allocator, below the control limit
/// and outside every destination. Pages that do not qualify are held until one
/// does (so that the allocator does not return them again), then freed.
fn alloc_normal_control_pages(image: *mut bindings::kimage, order: u32) -> *mut bindings::page {
    // SAFETY: reads of constants.
    let (gfp, limit) = unsafe { (sys::kexec_rust_control_gfp(), sys::kexec_rust_control_limit()) };
    let count = 1u64 << order;
    let mut rejected = core::mem::MaybeUninit::<bindings::list_head>::uninit();
    let rejected = rejected.as_mut_ptr();
    // SAFETY: initialises the local list head in place; it does not move below.
    unsafe { bindings::INIT_LIST_HEAD(rejected) };
    // SAFETY: `image` is valid for the whole function (caller's guarantee).
    let table = SegmentTable::of(unsafe { &*image });
    let found = loop {
        let Some(page) = alloc_pages(gfp, order) else {
            break core::ptr::null_mut();
        };
        let start = phys_of(page);
        let end_pfn = (start >> PAGE_SHIFT) + count;
        let last = (end_pfn << PAGE_SHIFT) - 1;
        if end_pfn >= (limit as u64 >> PAGE_SHIFT) || control::overlaps_destination(table.as_slice(), start, last) {
            // SAFETY: `page` is ours and on no list; `rejected` is initialised.
            unsafe { sys::kexec_rust_page_list_add(page, rejected) };
            continue;
        }
        // SAFETY: `image` is valid; the page is ours and on no list.
        unsafe { sys::kexec_rust_page_list_add(page, &mut (*image).control_pages) };
        break page;
    };
    // SAFETY: every page on `rejected` came from `alloc_pages`.
    unsafe { free_page_list(rejected) };
    found
}

/// Control pages for a crash image: the next hole in the reservation that no
/// segment uses.
fn alloc_crash_control_pages(image: *mut bindings::kimage, order: u32) -> *mut bindings::page {
    // SAFETY: `image` is valid (caller's guarantee).
    let img = unsafe { &mut *image };
    let table = SegmentTable::of(img);
    let size = PAGE_SIZE << order;
    // SAFETY: a read of a constant.
    let limit = unsafe { sys::kexec_rust_crash_control_limit() } as u64;
    let Some(start) = control::crash_hole(table.as_slice(), img.control_page as u64, size, crash_window().1, limit)
    else {
        return core::ptr::null_mut();
    };
    img.control_page = (start + size) as c_ulong;
    let page = page_of(start);
    // SAFETY: the pages are in the crash reservation, which the image owns while
    // it is loaded; the arch hook makes them usable (decrypted) for the copy.
    unsafe { bindings::arch_kexec_post_alloc_pages(sys::kexec_rust_page_address(page), 1 << order, 0) };
    page
}

// ---------------------------------------------------------------------------
// Loading segment data.

/// Where a segment's bytes come from: userspace (kexec_load) or a kernel buffer
/// (kexec_file_load).
enum Source {
    User(UserSliceReader),
    Kernel { ptr: *const u8, left: usize },
}

impl Source {
    fn of(image: &bindings::kimage, seg: &Segment) -> Self {
        if image.file_mode() != 0 {
            Source::Kernel { ptr: seg.buf as usize as *const u8, left: seg.bufsz as usize }
        } else {
            Source::User(UserSlice::new(UserPtr::from_addr(seg.buf as usize), seg.bufsz as usize).reader())
        }
    }

    /// Copies the next `out.len()` bytes into `out`.
    fn read(&mut self, out: &mut [u8]) -> Result {
        match self {
            Source::User(r) => r.read_slice(out),
            Source::Kernel { ptr, left } => {
                if out.len() > *left {
                    return Err(EFAULT);
                }
                // SAFETY: kexec_file_load's loaders give a kernel buffer of
                // `bufsz` bytes for the segment; `left` counts what is unread.
                unsafe { core::ptr::copy_nonoverlapping(*ptr, out.as_mut_ptr(), out.len()) };
                *ptr = ptr.wrapping_add(out.len());
                *left -= out.len();
                Ok(())
            }
        }
    }
}

/// The bytes of `seg`'s data that go into the page at `offset` in the segment:
/// a full page, the last partial one, or none past `bufsz`.
fn data_in_page(seg: &Segment, offset: u64) -> usize {
    seg.bufsz.saturating_sub(offset).min(PAGE_SIZE) as usize
}

/// Maps `page`, runs `f` on its bytes, unmaps it.
fn with_mapped<R>(page: *mut bindings::page, f: impl FnOnce(&mut [u8]) -> R) -> R {
    // SAFETY: `page` is a page of RAM the image owns; the local mapping covers
    // PAGE_SIZE bytes until `kunmap_local` below, and nothing else writes it.
    unsafe {
        let va = bindings::kmap_local_page(page) as *mut u8;
        let r = f(core::slice::from_raw_parts_mut(va, PAGE_SIZE as usize));
        bindings::kunmap_local(va as *const c_void);
        r
    }
}

/// Loads a normal segment: each destination page gets a source page placed by
/// the planner, filled from the source, zero past `bufsz`.
fn load_normal_segment(image: *mut bindings::kimage, idx: usize) -> Result {
    // SAFETY: `image` is valid (caller's guarantee).
    let table = SegmentTable::of(unsafe { &*image });
    let seg = table.as_slice()[idx];
    // The planner relies on the structural rules (aligned, non-overlapping
    // destinations, bufsz <= memsz); the caller checked them with the machine's
    // limits, checking them again costs nothing next to the copy.
    let segments: Segments<'_> = segment::validate(table.as_slice(), &Limits::structural()).map_err(|v| {
        pr_err!("kexec: segments changed after they were checked: {}\n", format_args!("{v}"));
        EINVAL
    })?;
    // SAFETY: `image` is valid.
    let mut source = Source::of(unsafe { &*image }, &seg);
    let mut store = ImageStore { image };
    // SAFETY: `image` is valid and its list is kept by `save_list`.
    let list = unsafe { load_list(image) };
    let mut planner = Planner::resume(&mut store, segments, list);
    let r = planner.load_segment(idx, |_, page, offset| -> Result {
        let chunk = data_in_page(&seg, offset);
        let r = with_mapped(page_of(page), |bytes| {
            bytes.fill(0);
            source.read(&mut bytes[..chunk])
        });
        // SAFETY: we may sleep here: no lock but the kexec lock is held.
        unsafe { sys::kexec_rust_cond_resched() };
        r
    });
    let list = planner.into_list();
    // SAFETY: `image` is valid; even a failed load leaves a consistent list,
    // which `kimage_free` releases.
    unsafe { save_list(image, &list) };
    r
}

/// Loads a crash segment straight into its destination in the reservation.
fn load_crash_segment(image: *mut bindings::kimage, idx: usize) -> Result {
    // SAFETY: `image` is valid (caller's guarantee).
    let img = unsafe { &*image };
    let seg = SegmentTable::of(img).as_slice()[idx];
    let mut source = Source::of(img, &seg);
    for n in 0..seg.pages() {
        let page = page_of(seg.mem + n * PAGE_SIZE);
        // SAFETY: the destination is inside the crash reservation (validated),
        // memory the kernel never hands out; the hooks bracket the write.
        unsafe { bindings::arch_kexec_post_alloc_pages(sys::kexec_rust_page_address(page), 1, 0) };
        let chunk = data_in_page(&seg, n * PAGE_SIZE);
        let r = with_mapped(page, |bytes| {
            bytes[chunk..].fill(0);
            source.read(&mut bytes[..chunk])
        });
        // SAFETY: as above.
        unsafe {
            sys::kexec_rust_flush_icache_page(page);
            bindings::arch_kexec_pre_free_pages(sys::kexec_rust_page_address(page), 1);
            sys::kexec_rust_cond_resched();
        }
        r?;
    }
    Ok(())
}

/// Loads a segment into pages that kexec_file_load took from CMA: one
/// contiguous, directly mapped block.
fn load_cma_segment(image: *mut bindings::kimage, idx: usize, cma: *mut bindings::page) -> Result {
    // SAFETY: `image` is valid (caller's guarantee).
    let img = unsafe { &*image };
    let seg = SegmentTable::of(img).as_slice()[idx];
    let mut source = Source::of(img, &seg);
    // SAFETY: the CMA block holds `memsz` bytes, directly mapped, owned by the image.
    let bytes = unsafe {
        core::slice::from_raw_parts_mut(sys::kexec_rust_page_address(cma) as *mut u8, seg.memsz as usize)
    };
    let (data, tail) = bytes.split_at_mut(seg.bufsz as usize);
    for chunk in data.chunks_mut(PAGE_SIZE as usize) {
        source.read(chunk)?;
        // SAFETY: no spinlock is held.
        unsafe { sys::kexec_rust_cond_resched() };
    }
    tail.fill(0);
    Ok(())
}

// ---------------------------------------------------------------------------
// The C interface of kernel/kexec_core.c.

/// Allocates an empty kimage.
#[no_mangle]
pub(crate) extern "C" fn do_kimage_alloc_init() -> *mut bindings::kimage {
    let Ok(b) = KBox::<bindings::kimage>::new_uninit(GFP_KERNEL | __GFP_ZERO) else {
        return core::ptr::null_mut();
    };
    // SAFETY: the allocation is zeroed, and all-zero is a valid `struct kimage`
    // (null pointers, zero counts, empty bitfields).
    let image = KBox::into_raw(unsafe { b.assume_init() });
    // SAFETY: `image` is a valid, exclusively owned kimage.
    unsafe {
        let img = &mut *image;
        img.entry = &mut img.head;
        img.last_entry = &mut img.head;
        // No crash cursor for a normal image.
        img.control_page = !0;
        img.set_type(0);
        bindings::INIT_LIST_HEAD(&mut img.control_pages);
        bindings::INIT_LIST_HEAD(&mut img.dest_pages);
        bindings::INIT_LIST_HEAD(&mut img.unusable_pages);
        #[cfg(CONFIG_CRASH_HOTPLUG)]
        {
            img.hp_action = bindings::KEXEC_CRASH_HP_NONE as c_int;
            img.elfcorehdr_index = -1;
            img.elfcorehdr_updated = false;
        }
    }
    image
}

/// Checks the segments of `image`: 0, or the errno of the first broken rule
/// (which is logged).
#[no_mangle]
pub(crate) extern "C" fn sanity_check_segment_list(image: *mut bindings::kimage) -> c_int {
    // SAFETY: the C callers pass an image they own.
    match check_segments(unsafe { &*image }) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Whether any segment's destination overlaps `[start, end]` (inclusive).
#[no_mangle]
pub(crate) extern "C" fn kimage_is_destination_range(image: *mut bindings::kimage, start: c_ulong, end: c_ulong) -> c_int {
    // SAFETY: the C callers pass an image they own.
    let table = SegmentTable::of(unsafe { &*image });
    control::overlaps_destination(table.as_slice(), start as u64, end as u64) as c_int
}

/// Frees every page on `list`.
#[no_mangle]
pub(crate) extern "C" fn kimage_free_page_list(list: *mut bindings::list_head) {
    // SAFETY: the callers pass one of an image's page lists, which hold only
    // pages from `alloc_pages`.
    unsafe { free_page_list(list) };
}

/// Allocates `2^order` control pages for `image`: memory that is no destination
/// and that the relocation may use.
#[no_mangle]
pub(crate) extern "C" fn kimage_alloc_control_pages(image: *mut bindings::kimage, order: c_uint) -> *mut bindings::page {
    // SAFETY: the callers pass an image they own.
    let img = unsafe { &*image };
    if is_crash(img) {
        if cfg!(CONFIG_CRASH_DUMP) {
            alloc_crash_control_pages(image, order)
        } else {
            core::ptr::null_mut()
        }
    } else {
        alloc_normal_control_pages(image, order)
    }
}

/// Copies segment `idx` of `image` into place (normal images: into source pages
/// on the entry list; crash images: straight into the reservation).
#[no_mangle]
pub(crate) extern "C" fn kimage_load_segment(image: *mut bindings::kimage, idx: c_int) -> c_int {
    // SAFETY: the callers pass an image they own, under the kexec lock.
    let img = unsafe { &*image };
    let idx = idx as usize;
    if idx >= img.nr_segments as usize || idx >= img.segment.len() {
        return ENOMEM.to_errno();
    }
    let cma = img.segment_cma[idx];
    let r = if !cma.is_null() {
        load_cma_segment(image, idx, cma)
    } else if is_crash(img) {
        if cfg!(CONFIG_CRASH_DUMP) { load_crash_segment(image, idx) } else { Err(ENOMEM) }
    } else {
        load_normal_segment(image, idx)
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            pr_debug!("kexec: loading segment {} failed ({:?})\n", idx, e);
            e.to_errno()
        }
    }
}

/// Ends the entry list with `IND_DONE`.
#[no_mangle]
pub(crate) extern "C" fn kimage_terminate(image: *mut bindings::kimage) {
    let mut store = ImageStore { image };
    // SAFETY: the callers pass an image they own; its list is ours.
    let mut list = unsafe { load_list(image) };
    list.terminate(&mut store);
    // SAFETY: as above.
    unsafe { save_list(image, &list) };
}

/// Frees `image` and every page it holds. Null is ignored.
#[no_mangle]
pub(crate) extern "C" fn kimage_free(image: *mut bindings::kimage) {
    if image.is_null() {
        return;
    }
    // SAFETY: the callers give up their (only) reference to `image`.
    unsafe {
        let img = &mut *image;
        #[cfg(CONFIG_CRASH_DUMP)]
        if !img.vmcoreinfo_data_copy.is_null() {
            bindings::crash_update_vmcoreinfo_safecopy(core::ptr::null_mut());
            bindings::vunmap(img.vmcoreinfo_data_copy);
        }
        free_page_list(&mut img.dest_pages);
        free_page_list(&mut img.unusable_pages);
        let mut store = ImageStore { image };
        let mut list = load_list(image);
        list.release(&mut store);
        save_list(image, &list);
        bindings::machine_kexec_cleanup(image);
        free_page_list(&mut img.control_pages);
        let nr = (img.nr_segments as usize).min(img.segment.len());
        for i in 0..nr {
            let cma = img.segment_cma[i];
            if !cma.is_null() {
                let pages = (img.segment[i].memsz as u64 >> PAGE_SHIFT) as c_uint;
                bindings::arch_kexec_pre_free_pages(sys::kexec_rust_page_address(cma), pages);
                sys::kexec_rust_dma_release_from_contiguous(cma, pages as c_int);
                img.segment_cma[i] = core::ptr::null_mut();
            }
        }
        #[cfg(CONFIG_KEXEC_FILE)]
        if img.file_mode() != 0 {
            sys::kimage_file_post_load_cleanup(image);
        }
        drop(KBox::from_raw(image));
    }
}

/// Frees an image that `machine_kexec_prepare` never saw, as C's
/// `kimage_alloc_init` does when it fails: its control pages and the structure.
/// `kimage_free` would also run `machine_kexec_cleanup`, which on x86 needs the
/// control code page that such an image may not have.
///
/// # Safety
///
/// `image` came from [`do_kimage_alloc_init`], holds no entries and no other
/// pages than its control pages, and is not used after this call.
pub(crate) unsafe fn discard_unprepared(image: *mut bindings::kimage) {
    // SAFETY: by the requirements the image is ours alone and was allocated by
    // `do_kimage_alloc_init` as a `KBox`; its control pages came from `alloc_pages`.
    unsafe {
        free_page_list(&mut (*image).control_pages);
        drop(KBox::from_raw(image));
    }
}

/// Maps the source pages of segment `idx` into one virtual range (for IMA).
#[no_mangle]
pub(crate) extern "C" fn kimage_map_segment(image: *mut bindings::kimage, idx: c_int) -> *mut c_void {
    // SAFETY: the callers pass an image they own.
    let img = unsafe { &*image };
    let idx = idx as usize;
    if idx >= img.nr_segments as usize || idx >= img.segment.len() {
        pr_err!("kexec: cannot map segment {}: the image has {}\n", idx, img.nr_segments);
        return core::ptr::null_mut();
    }
    let cma = img.segment_cma[idx];
    if !cma.is_null() {
        // SAFETY: CMA pages are directly mapped.
        return unsafe { sys::kexec_rust_page_address(cma) };
    }
    let seg = SegmentTable::of(img).as_slice()[idx];
    let (start, end) = (seg.mem, seg.mem + seg.memsz);
    let npages = (end.div_ceil(PAGE_SIZE) - start / PAGE_SIZE) as usize;
    let mut pages = KVec::<*mut bindings::page>::new();
    if pages.reserve(npages, GFP_KERNEL).is_err() {
        pr_err!("kexec: no memory to map segment {}\n", idx);
        return core::ptr::null_mut();
    }
    let store = ImageStore { image };
    // SAFETY: the image's list is ours.
    let list = unsafe { load_list(image) };
    let mut dest = 0u64;
    list.walk(&store, |e| {
        if pages.len() == npages {
            return;
        }
        if e & crate::entry::IND_DESTINATION != 0 {
            dest = e & !(PAGE_SIZE - 1);
        } else if e & crate::entry::IND_SOURCE != 0 {
            if dest >= start && dest < end {
                let _ = pages.push(page_of(e & !(PAGE_SIZE - 1)), GFP_KERNEL);
            }
            dest += PAGE_SIZE;
        }
    });
    if pages.len() < npages {
        pr_warn!("kexec: segment {} has {} of {} source pages\n", idx, pages.len(), npages);
    }
    // SAFETY: `pages` holds valid pages owned by the image.
    let va = unsafe { sys::kexec_rust_vmap_pages(pages.as_mut_ptr(), pages.len() as c_uint) };
    if va.is_null() {
        pr_err!("kexec: could not map segment {}\n", idx);
    }
    va
}

/// Undoes [`kimage_map_segment`].
#[no_mangle]
pub(crate) extern "C" fn kimage_unmap_segment(addr: *mut c_void) {
    // SAFETY: `addr` came from `kimage_map_segment`.
    unsafe {
        if bindings::is_vmalloc_addr(addr) {
            bindings::vunmap(addr);
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The kimage: a loaded image's segments, pages, entry list and control pages.
//!
//! [`Kimage`] is the Rust type of an image. Its storage is C's `struct kimage`,
//! because the arch code and crash.c (and, with `KEXEC_RUST_FILE=n`,
//! kernel/kexec_file.c, which frees a half-built one with `kfree`) read and
//! fill it; that structure is an
//! implementation detail reached through one accessor, [`Kimage::c`] /
//! [`Kimage::c_mut`]. [`ImageBox`] owns an image and frees everything it holds
//! when dropped. What kernel/kexec_core.c did with an image is here, on the
//! pure logic of [`crate::segment`], [`crate::entry`] and [`crate::control`]:
//!
//! * segment rules: [`crate::segment::validate`], which also logs the rule broken;
//! * the entry list and the placement of source pages: [`crate::entry::Planner`]
//!   over [`ImageStore`], the kernel's [`PageStore`], whose state lives in the
//!   image (`head`, `entry`, `dest_pages`, `unusable_pages`) so that
//!   kexec_file_load can drive the load one segment at a time;
//! * control pages: [`crate::control::alloc_normal`] and
//!   [`crate::control::crash_hole`].

use super::page::{
    self, ImagePage, KernelBuffer, KexecLimits, PageList, Pages, Source, PAGE_SHIFT, PAGE_SIZE,
};
use super::reservation;
use super::state::KexecLock;
use crate::control;
use crate::entry::{EntryList, OutOfMemory, PageStore, Planner, Slot, ENTRIES_PER_PAGE};
use crate::segment::{self, Limits, Segment, Segments};
use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;
use kernel::uaccess::{UserPtr, UserSlice};

/// `KEXEC_TYPE_CRASH`.
pub(crate) const KEXEC_TYPE_CRASH: u32 = bindings::KEXEC_TYPE_CRASH;
/// The most segments an image has.
pub(crate) const SEGMENT_MAX: usize = bindings::KEXEC_SEGMENT_MAX as usize;

impl From<OutOfMemory> for Error {
    fn from(_: OutOfMemory) -> Error {
        ENOMEM
    }
}

/// A copy of an image's segment list, as the pure logic takes it.
pub(crate) struct SegmentTable {
    segs: [Segment; SEGMENT_MAX],
    n: usize,
}

impl SegmentTable {
    pub(crate) fn as_slice(&self) -> &[Segment] {
        &self.segs[..self.n]
    }
}

/// The machine's limits for a normal (`crash == false`) or crash image.
pub(crate) fn limits(crash: bool, lock: &KexecLock) -> Limits {
    let m = KexecLimits::get();
    Limits {
        destination_limit: m.destination_limit,
        total_ram_pages: m.total_ram_pages,
        crash_window: if crash {
            Some(reservation::window(lock))
        } else {
            None
        },
    }
}

/// A kexec image.
///
/// # Invariants
///
/// The C structure was set up by [`ImageBox::new`] (or by C through
/// `do_kimage_alloc_init`, which is `ImageBox::new`); its page lists hold only
/// blocks from [`Pages::alloc`]; its entry list (`head`, `entry`,
/// `last_entry`) was built by this module; `segment_cma[i]`, when set, is a
/// CMA block of `segment[i].memsz` bytes that the image owns. Whoever holds a
/// `&mut Kimage` has the image to itself, with one exception: C that it calls
/// with [`Kimage::as_ptr`] may call back into us with that pointer (the arch's
/// `machine_kexec_cleanup`, the ident-mapping library's page allocator), and
/// the callback then uses the image while the caller waits. The type is
/// `!Unpin` (through `Opaque`), so such a `&mut` is not assumed unaliased;
/// callers keep no reference into the C fields (from [`Kimage::c`]) across
/// such a call.
#[repr(transparent)]
pub(crate) struct Kimage(Opaque<bindings::kimage>);

/// The control pages [`Kimage::alloc_control_pages`] found: owned by the image.
#[derive(Clone, Copy)]
pub(crate) struct ControlPages {
    /// The first page's physical address (the x86 machine_kexec maps it).
    #[cfg(CONFIG_KEXEC_RUST_RELOCATE)]
    phys: u64,
    page: NonNull<bindings::page>,
}

impl ControlPages {
    /// The first page's direct-map address.
    #[cfg(CONFIG_KEXEC_RUST_RELOCATE)]
    pub(crate) fn virt(&self) -> usize {
        page::boot_phys_to_virt(self.phys)
    }

    /// The `struct page`, for C.
    pub(crate) fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }
}

impl Kimage {
    /// The image C knows as `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is an image from [`ImageBox::new`] (directly or through C's
    /// `do_kimage_alloc_init`) that the caller may use alone for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::kimage) -> &'a mut Kimage {
        // SAFETY: `Kimage` is a transparent wrapper; validity and exclusive use
        // are the caller's promise.
        unsafe { &mut *ptr.cast::<Kimage>() }
    }

    /// The C structure, for C functions that take it.
    pub(crate) fn as_ptr(&self) -> *mut bindings::kimage {
        self.0.get()
    }

    /// The C structure's fields.
    pub(crate) fn c(&self) -> &bindings::kimage {
        // SAFETY: the structure is initialised (type invariant), and a shared
        // borrow of the image means no one writes it meanwhile.
        unsafe { &*self.0.get() }
    }

    /// The C structure's fields, for writing.
    pub(crate) fn c_mut(&mut self) -> &mut bindings::kimage {
        // SAFETY: initialised, and `&mut self` is exclusive use (type invariant).
        unsafe { &mut *self.0.get() }
    }

    /// Whether this is a crash image.
    pub(crate) fn is_crash(&self) -> bool {
        self.c().type_() == KEXEC_TYPE_CRASH
    }

    /// Whether kexec_file_load built the image (its segment buffers are kernel memory).
    pub(crate) fn is_file_mode(&self) -> bool {
        self.c().file_mode() != 0
    }

    /// The segments, as the pure logic takes them.
    pub(crate) fn segments(&self) -> SegmentTable {
        let img = self.c();
        let mut segs = [Segment::default(); SEGMENT_MAX];
        let n = (img.nr_segments as usize).min(SEGMENT_MAX);
        for (dst, s) in segs.iter_mut().zip(&img.segment[..n]) {
            // SAFETY: both members of the union are pointers of the same size;
            // only the address is taken.
            let buf = unsafe { s.__bindgen_anon_1.buf } as usize as u64;
            *dst = Segment {
                buf,
                bufsz: s.bufsz as u64,
                mem: s.mem as u64,
                memsz: s.memsz as u64,
            };
        }
        SegmentTable { segs, n }
    }

    /// Sets the segments (kexec_load; kexec_file_load adds its own one by one).
    pub(crate) fn set_segments(&mut self, segs: &[Segment]) {
        let img = self.c_mut();
        img.nr_segments = segs.len().min(SEGMENT_MAX) as c_ulong;
        for (dst, s) in img.segment.iter_mut().zip(segs) {
            dst.__bindgen_anon_1.buf = s.buf as usize as *mut c_void;
            dst.bufsz = s.bufsz as usize;
            dst.mem = s.mem as c_ulong;
            dst.memsz = s.memsz as usize;
        }
    }

    /// Appends a segment whose data is the kernel buffer `buf` (kexec_file_load's
    /// `kexec_add_buffer`); `cma` is null or the CMA block at `mem` that the
    /// segment lives in, which the image owns from here on. `EINVAL` (and the
    /// block is not taken) when the image has all its segments.
    #[cfg(CONFIG_KEXEC_RUST_FILE)]
    pub(crate) fn push_segment(
        &mut self,
        cma: *mut bindings::page,
        buf: *const c_void,
        bufsz: usize,
        mem: u64,
        memsz: u64,
    ) -> Result {
        let img = self.c_mut();
        let i = img.nr_segments as usize;
        let dst = img.segment.get_mut(i).ok_or(EINVAL)?;
        dst.__bindgen_anon_1.kbuf = buf as *mut c_void;
        dst.bufsz = bufsz;
        dst.mem = mem as c_ulong;
        dst.memsz = memsz as usize;
        img.segment_cma[i] = cma;
        img.nr_segments += 1;
        Ok(())
    }

    /// Whether control pages have been allocated.
    #[cfg(CONFIG_KEXEC_RUST_FILE)]
    pub(crate) fn has_control_pages(&self) -> bool {
        let head = &self.c().control_pages;
        !core::ptr::eq(head.next, head)
    }

    /// The control pages list.
    fn control_list(&mut self) -> PageList<'_> {
        // SAFETY: a page list of this image, which we use alone (invariant).
        unsafe { PageList::new(&raw mut self.c_mut().control_pages) }
    }

    /// The pages set aside for later destinations.
    fn dest_list(&mut self) -> PageList<'_> {
        // SAFETY: as above.
        unsafe { PageList::new(&raw mut self.c_mut().dest_pages) }
    }

    /// The pages out of the stub's reach, kept until the image is freed.
    fn unusable_list(&mut self) -> PageList<'_> {
        // SAFETY: as above.
        unsafe { PageList::new(&raw mut self.c_mut().unusable_pages) }
    }

    /// Checks the segments against the machine's limits and accepts their
    /// memory; logs the broken rule and returns its errno.
    pub(crate) fn check_segments(&self, lock: &KexecLock) -> Result {
        let table = self.segments();
        let crash = cfg!(CONFIG_CRASH_DUMP) && self.is_crash();
        segment::validate(table.as_slice(), &limits(crash, lock)).map_err(|v| {
            pr_err!("kexec: image refused: {}\n", format_args!("{v}"));
            Error::from_errno(-v.errno())
        })?;
        for s in table.as_slice() {
            // The destinations come from System RAM, not from the allocator:
            // accept them before the copy writes to them.
            // SAFETY: `[mem, mem + memsz)` is a validated, non-wrapping range.
            unsafe {
                bindings::kexec_rust_accept_memory(
                    s.mem as bindings::phys_addr_t,
                    s.memsz as c_ulong,
                )
            };
        }
        Ok(())
    }

    /// The control code page and, for a normal image (`!crash`), the swap
    /// page, once every segment is known (the end of `kimage_alloc_init` and
    /// of `kimage_file_alloc_init`). `no_memory(what)` logs the caller's line
    /// for the page that could not be had ("control" or "swap").
    pub(crate) fn alloc_code_and_swap_pages(
        &mut self,
        crash: bool,
        no_memory: impl Fn(&str),
    ) -> Result {
        // KEXEC_CONTROL_PAGE_SIZE is one page on x86_64: order 0.
        let control = self
            .alloc_control_pages(0)
            .inspect_err(|_| no_memory("control"))?;
        self.c_mut().control_code_page = control.as_ptr();
        if !crash {
            let swap = self
                .alloc_control_pages(0)
                .inspect_err(|_| no_memory("swap"))?;
            self.c_mut().swap_page = swap.as_ptr();
        }
        Ok(())
    }

    /// Allocates `2^order` control pages: memory that is no destination and
    /// that the stub may use. A normal image takes them from the allocator, a
    /// crash image from a hole in the reservation.
    pub(crate) fn alloc_control_pages(&mut self, order: u32) -> Result<ControlPages> {
        if self.is_crash() {
            if cfg!(CONFIG_CRASH_DUMP) {
                self.alloc_crash_control_pages(order)
            } else {
                Err(ENOMEM)
            }
        } else {
            self.alloc_normal_control_pages(order)
        }
    }

    fn alloc_normal_control_pages(&mut self, order: u32) -> Result<ControlPages> {
        let m = KexecLimits::get();
        let (gfp, limit) = (m.control_gfp, m.control_limit);
        let table = self.segments();
        // The blocks that do not fit are held on a local list, as in C (no
        // allocation), and go back to the allocator when it ends.
        let pages = page::with_local_list(|held| {
            control::alloc_normal(
                table.as_slice(),
                (PAGE_SIZE as u64) << order,
                limit,
                || Pages::alloc(gfp, order).ok_or(ENOMEM),
                |p| p.phys(),
                |p| {
                    held.push(p);
                    Ok(())
                },
            )
        })?;
        let control = ControlPages {
            #[cfg(CONFIG_KEXEC_RUST_RELOCATE)]
            phys: pages.phys(),
            page: NonNull::new(pages.as_ptr()).ok_or(ENOMEM)?,
        };
        self.control_list().push(pages);
        Ok(control)
    }

    fn alloc_crash_control_pages(&mut self, order: u32) -> Result<ControlPages> {
        let table = self.segments();
        let size = (PAGE_SIZE as u64) << order;
        let limit = KexecLimits::get().crash_control_limit;
        // The reservation does not change while an image is being built.
        let window_end = reservation::window_unlocked().1;
        let start = control::crash_hole(
            table.as_slice(),
            self.c().control_page as u64,
            size,
            window_end,
            limit,
        )
        .ok_or(ENOMEM)?;
        self.c_mut().control_page = (start + size) as c_ulong;
        // SAFETY: `crash_hole` found the block inside the reservation, clear of
        // every segment and below the cursor's earlier blocks.
        let page =
            NonNull::new(unsafe { page::prepare_crash_block(start, order) }).ok_or(ENOMEM)?;
        Ok(ControlPages {
            #[cfg(CONFIG_KEXEC_RUST_RELOCATE)]
            phys: start,
            page,
        })
    }

    /// The entry list kept in the C structure (`head`, and `entry` as the next slot).
    fn list(&self) -> EntryList {
        let img = self.c();
        let head_ptr = (&raw const img.head).cast_mut();
        let cur = if img.entry.is_null() || img.entry == head_ptr {
            Slot::Head
        } else {
            let addr = img.entry as usize;
            let page_va = addr & !(PAGE_SIZE - 1);
            Slot::Page {
                page: page::virt_to_boot_phys(page_va),
                index: (addr - page_va) / 8,
            }
        };
        EntryList::from_parts(img.head as u64, cur)
    }

    /// Stores `list` in the C structure, where the arch code and [`Kimage::list`] find it.
    fn save_list(&mut self, list: &EntryList) {
        let img = self.c_mut();
        img.head = list.head() as usize;
        let (entry, last) = match list.cur() {
            Slot::Head => {
                let p = &raw mut img.head;
                (p, p)
            }
            Slot::Page { page, index } => {
                let va = page::boot_phys_to_virt(page);
                (
                    (va + index * 8) as *mut usize,
                    (va + (ENTRIES_PER_PAGE - 1) * 8) as *mut usize,
                )
            }
        };
        img.entry = entry;
        img.last_entry = last;
    }

    /// Where `seg`'s bytes come from.
    fn source(&self, seg: &Segment) -> Source {
        if self.is_file_mode() {
            // SAFETY: kexec_file_load's loaders give each segment a kernel
            // buffer of `bufsz` bytes, which the load keeps until it has
            // copied every segment (this is only called then) and does not
            // write meanwhile. Afterwards the pointers dangle, as in C, and
            // nothing reads them.
            Source::Kernel(unsafe {
                KernelBuffer::new(seg.buf as usize as *const u8, seg.bufsz as usize)
            })
        } else {
            Source::User(
                UserSlice::new(UserPtr::from_addr(seg.buf as usize), seg.bufsz as usize).reader(),
            )
        }
    }

    /// Copies segment `idx` into place: a normal image's into source pages on
    /// the entry list, a crash image's straight into the reservation.
    pub(crate) fn load_segment(&mut self, idx: usize) -> Result {
        if idx >= (self.c().nr_segments as usize).min(SEGMENT_MAX) {
            return Err(ENOMEM);
        }
        if !self.c().segment_cma[idx].is_null() {
            self.load_cma_segment(idx)
        } else if self.is_crash() {
            if cfg!(CONFIG_CRASH_DUMP) {
                self.load_crash_segment(idx)
            } else {
                Err(ENOMEM)
            }
        } else {
            self.load_normal_segment(idx)
        }
    }

    fn load_normal_segment(&mut self, idx: usize) -> Result {
        let table = self.segments();
        let seg = table.as_slice()[idx];
        // The planner relies on the structural rules (aligned, non-overlapping
        // destinations, bufsz <= memsz); the caller checked them with the
        // machine's limits, checking them again costs nothing next to the copy.
        let segments: Segments<'_> = segment::validate(table.as_slice(), &Limits::structural())
            .map_err(|v| {
                pr_err!(
                    "kexec: segments changed after they were checked: {}\n",
                    format_args!("{v}")
                );
                EINVAL
            })?;
        let mut source = self.source(&seg);
        let list = self.list();
        let mut store = ImageStore::new(self);
        let mut planner = Planner::resume(&mut store, segments, list);
        let r = planner.load_segment(idx, |_, page, offset| -> Result {
            let chunk = data_in_page(&seg, offset);
            // SAFETY: the planner passes a page `ImageStore::alloc` gave it for
            // this image, which nothing else uses.
            let r = unsafe { ImagePage::at(page) }.with_bytes(|bytes| {
                bytes.fill(0);
                source.read(&mut bytes[..chunk])
            });
            page::cond_resched();
            r
        });
        let list = planner.into_list();
        // Even a failed load leaves a consistent list, which the image's drop releases.
        self.save_list(&list);
        r
    }

    fn load_crash_segment(&mut self, idx: usize) -> Result {
        let seg = self.segments().as_slice()[idx];
        let mut source = self.source(&seg);
        for n in 0..seg.pages() {
            let chunk = data_in_page(&seg, n * PAGE_SIZE as u64);
            // SAFETY: the destination lies in the crash reservation (the segments
            // were validated against it), memory the kernel never hands out and
            // that this image, under the kexec lock, alone writes.
            let mut page = unsafe { ImagePage::at(seg.mem + n * PAGE_SIZE as u64) };
            let r = page.write_crash(|bytes| {
                bytes[chunk..].fill(0);
                source.read(&mut bytes[..chunk])
            });
            page::cond_resched();
            r?;
        }
        Ok(())
    }

    fn load_cma_segment(&mut self, idx: usize) -> Result {
        let seg = self.segments().as_slice()[idx];
        let mut source = self.source(&seg);
        let cma = self.c().segment_cma[idx];
        // SAFETY: the CMA block holds `memsz` bytes, directly mapped, owned by
        // the image (type invariant).
        let bytes = unsafe {
            core::slice::from_raw_parts_mut(page::address_of(cma) as *mut u8, seg.memsz as usize)
        };
        let (data, tail) = bytes.split_at_mut(seg.bufsz as usize);
        for chunk in data.chunks_mut(PAGE_SIZE) {
            source.read(chunk)?;
            page::cond_resched();
        }
        tail.fill(0);
        Ok(())
    }

    /// Ends the entry list with `IND_DONE`.
    pub(crate) fn terminate(&mut self) {
        let mut list = self.list();
        list.terminate(&mut ImageStore::new(self));
        self.save_list(&list);
    }

    /// Maps the source pages of segment `idx` into one virtual range (for IMA).
    pub(crate) fn map_segment(&mut self, idx: usize) -> Result<*mut c_void> {
        if idx >= (self.c().nr_segments as usize).min(SEGMENT_MAX) {
            pr_err!(
                "kexec: cannot map segment {}: the image has {}\n",
                idx,
                self.c().nr_segments
            );
            return Err(EINVAL);
        }
        let cma = self.c().segment_cma[idx];
        if !cma.is_null() {
            // SAFETY: a CMA block the image owns (type invariant), directly mapped.
            return Ok(unsafe { page::address_of(cma) } as *mut c_void);
        }
        let seg = self.segments().as_slice()[idx];
        let (start, end) = (seg.mem, seg.mem + seg.memsz);
        let page_size = PAGE_SIZE as u64;
        let npages = (end.div_ceil(page_size) - start / page_size) as usize;
        let mut pages = KVec::<*mut bindings::page>::new();
        pages
            .reserve(npages, GFP_KERNEL)
            .inspect_err(|_| pr_err!("kexec: no memory to map segment {}\n", idx))?;
        let list = self.list();
        let mut dest = 0u64;
        list.walk(&ImageStore::new(self), |e| {
            if pages.len() == npages {
                return;
            }
            if e & crate::entry::IND_DESTINATION != 0 {
                dest = e & !(page_size - 1);
            } else if e & crate::entry::IND_SOURCE != 0 {
                if dest >= start && dest < end {
                    // SAFETY: a source page on this image's list.
                    let _ = pages.push(
                        unsafe { ImagePage::at(e & !(page_size - 1)) }.as_ptr(),
                        GFP_KERNEL,
                    );
                }
                dest += page_size;
            }
        });
        if pages.len() < npages {
            pr_warn!(
                "kexec: segment {} has {} of {} source pages\n",
                idx,
                pages.len(),
                npages
            );
        }
        // SAFETY: `pages` holds pages the image owns, which stay until it is freed.
        let va =
            unsafe { bindings::kexec_rust_vmap_pages(pages.as_mut_ptr(), pages.len() as c_uint) };
        if va.is_null() {
            pr_err!("kexec: could not map segment {}\n", idx);
            return Err(ENOMEM);
        }
        Ok(va)
    }

    /// Frees every page on the control list.
    fn free_control_pages(&mut self) {
        self.control_list().clear();
    }

    /// Frees what the image holds; with `prepared`, also the arch state and
    /// what kexec_file_load allocated.
    fn free_contents(&mut self, prepared: bool) {
        if !prepared {
            self.free_control_pages();
            // kexec_file_load may have taken CMA blocks for segments before it
            // failed (the C code leaks them on that path).
            self.free_cma_blocks();
            return;
        }
        #[cfg(CONFIG_CRASH_DUMP)]
        if !self.c().vmcoreinfo_data_copy.is_null() {
            // SAFETY: the copy was mapped by `kimage_crash_copy_vmcoreinfo`; the
            // panic path no longer uses it once the safe copy is reset.
            unsafe {
                bindings::crash_update_vmcoreinfo_safecopy(core::ptr::null_mut());
                bindings::vunmap(self.c().vmcoreinfo_data_copy);
            }
            self.c_mut().vmcoreinfo_data_copy = core::ptr::null_mut();
        }
        self.dest_list().clear();
        self.unusable_list().clear();
        let mut list = self.list();
        list.release(&mut ImageStore::new(self));
        self.save_list(&list);
        // SAFETY: the arch undoes what `machine_kexec_prepare` did to this image.
        unsafe { bindings::machine_kexec_cleanup(self.as_ptr()) };
        self.free_control_pages();
        self.free_cma_blocks();
        #[cfg(CONFIG_KEXEC_FILE)]
        if self.is_file_mode() {
            // SAFETY: frees what kexec_file_load allocated for this image.
            unsafe { bindings::kimage_file_post_load_cleanup(self.as_ptr()) };
        }
    }

    /// Gives back the CMA blocks that segments live in.
    fn free_cma_blocks(&mut self) {
        let nr = (self.c().nr_segments as usize).min(SEGMENT_MAX);
        for i in 0..nr {
            self.free_cma_block(i);
        }
    }

    /// Gives back the CMA block segment `i` lives in, if any.
    fn free_cma_block(&mut self, i: usize) {
        let cma = self.c().segment_cma[i];
        if !cma.is_null() {
            let pages = (self.c().segment[i].memsz as u64 >> PAGE_SHIFT) as c_uint;
            // SAFETY: a CMA block of `pages` pages that the image owns
            // (type invariant); forgotten below.
            unsafe {
                bindings::kexec_rust_arch_pre_free_pages(
                    page::address_of(cma) as *mut c_void,
                    pages,
                );
                bindings::kexec_rust_dma_release_from_contiguous(cma, pages as c_int);
            }
            self.c_mut().segment_cma[i] = core::ptr::null_mut();
        }
    }

    /// Drops the segments from index `n` on, with their CMA blocks, while
    /// kexec_file_load builds the image (a loader that tries another layout).
    /// Before the segments are copied, a segment owns nothing else.
    #[cfg(all(CONFIG_KEXEC_RUST_FILE, CONFIG_ARM64))]
    pub(crate) fn truncate_segments(&mut self, n: usize) {
        let nr = (self.c().nr_segments as usize).min(SEGMENT_MAX);
        for i in n..nr {
            self.free_cma_block(i);
        }
        if n < nr {
            self.c_mut().nr_segments = n as c_ulong;
        }
    }
}

/// The bytes of `seg`'s data that go into the page at `offset` in the segment:
/// a full page, the last partial one, or none past `bufsz`.
fn data_in_page(seg: &Segment, offset: u64) -> usize {
    seg.bufsz.saturating_sub(offset).min(PAGE_SIZE as u64) as usize
}

/// An image that this code owns: dropping it frees its pages, its arch state
/// and the structure.
///
/// # Invariants
///
/// `ptr` is a [`Kimage`] allocated by [`ImageBox::new`] as a `KBox` of the C
/// structure, and nothing else refers to it. Until `prepared` is set it holds
/// no pages but its control pages and the CMA blocks kexec_file_load took for
/// segments (which the arch's post-allocation hook has seen), and the arch has
/// not seen the image itself.
pub(crate) struct ImageBox {
    ptr: NonNull<Kimage>,
    prepared: bool,
}

impl ImageBox {
    /// An empty image (`do_kimage_alloc_init`).
    pub(crate) fn new() -> Result<ImageBox> {
        // All-zero is a valid `struct kimage`: null pointers, zero counts,
        // empty bitfields.
        let raw = KBox::into_raw(KBox::<bindings::kimage>::init(
            pin_init::init_zeroed(),
            GFP_KERNEL,
        )?);
        // SAFETY: `raw` is a fresh, exclusively owned structure; this
        // initialises what the invariants of `Kimage` need.
        unsafe {
            let img = &mut *raw;
            img.entry = &raw mut img.head;
            img.last_entry = &raw mut img.head;
            // No crash cursor for a normal image.
            img.control_page = !0;
            img.set_type(bindings::KEXEC_TYPE_DEFAULT);
            bindings::INIT_LIST_HEAD(&raw mut img.control_pages);
            bindings::INIT_LIST_HEAD(&raw mut img.dest_pages);
            bindings::INIT_LIST_HEAD(&raw mut img.unusable_pages);
            #[cfg(CONFIG_CRASH_HOTPLUG)]
            {
                img.hp_action = bindings::KEXEC_CRASH_HP_NONE as c_int;
                img.elfcorehdr_index = -1;
                img.elfcorehdr_updated = false;
            }
        }
        // INVARIANT: a fresh image, ours alone, unprepared.
        Ok(ImageBox {
            ptr: NonNull::new(raw.cast()).ok_or(ENOMEM)?,
            prepared: false,
        })
    }

    /// From here on, freeing the image includes the arch cleanup (also when
    /// `machine_kexec_prepare` itself fails part way).
    pub(crate) fn set_prepared(&mut self) {
        self.prepared = true;
    }

    /// Gives the image up, to an image slot or to C.
    pub(crate) fn into_raw(self) -> *mut bindings::kimage {
        let p = self.ptr.as_ptr().cast();
        core::mem::forget(self);
        p
    }

    /// Takes back an image given up with [`ImageBox::into_raw`] (or made by
    /// C's `do_kimage_alloc_init`); `None` for null. It is freed as a prepared
    /// image, as C's `kimage_free` does.
    ///
    /// # Safety
    ///
    /// `ptr` is null or such an image, and the caller gives up its only reference.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::kimage) -> Option<ImageBox> {
        // INVARIANT: by the requirements.
        Some(ImageBox {
            ptr: NonNull::new(ptr.cast())?,
            prepared: true,
        })
    }
}

impl core::ops::Deref for ImageBox {
    type Target = Kimage;

    fn deref(&self) -> &Kimage {
        // SAFETY: the image is valid and ours (type invariant).
        unsafe { self.ptr.as_ref() }
    }
}

impl core::ops::DerefMut for ImageBox {
    fn deref_mut(&mut self) -> &mut Kimage {
        // SAFETY: the image is valid and ours alone (type invariant).
        unsafe { self.ptr.as_mut() }
    }
}

impl Drop for ImageBox {
    fn drop(&mut self) {
        let prepared = self.prepared;
        self.free_contents(prepared);
        // SAFETY: allocated by `ImageBox::new` as a `KBox`; nothing refers to it.
        drop(unsafe { KBox::from_raw(self.ptr.as_ptr().cast::<bindings::kimage>()) });
    }
}

/// The kernel's [`PageStore`] for one image: real pages from the buddy
/// allocator, indirection pages read and written through the direct map, and
/// the image's `dest_pages` list for pages set aside. Every address the planner
/// passes back is one that `alloc` gave it (the contract of [`PageStore`]), so
/// it is a page of RAM this image owns.
struct ImageStore<'a> {
    image: &'a mut Kimage,
    /// Source pages: their flags and the highest address the stub reaches.
    gfp: bindings::gfp_t,
    limit: u64,
}

impl<'a> ImageStore<'a> {
    fn new(image: &'a mut Kimage) -> Self {
        let m = KexecLimits::get();
        ImageStore {
            image,
            gfp: m.source_gfp,
            limit: m.source_limit,
        }
    }
}

impl ImageStore<'_> {
    /// The page at `phys`, which the planner got from `alloc`.
    fn page(&self, phys: u64) -> ImagePage {
        // SAFETY: by the `PageStore` contract `phys` is a page `alloc` gave out,
        // which the image owns; the planner uses one at a time.
        unsafe { ImagePage::at(phys) }
    }
}

impl PageStore for ImageStore<'_> {
    fn alloc(&mut self) -> Option<u64> {
        let (gfp, limit) = (self.gfp, self.limit);
        loop {
            let pages = Pages::alloc(gfp, 0)?;
            if (pages.phys() >> PAGE_SHIFT) > (limit as u64 >> PAGE_SHIFT) {
                // Out of the stub's reach: keep it until the image is freed, so
                // that the allocator does not hand it out again.
                self.image.unusable_list().push(pages);
                continue;
            }
            return Some(pages.into_phys());
        }
    }

    fn read_entry(&self, page: u64, index: usize) -> u64 {
        self.page(page).words()[index]
    }

    fn write_entry(&mut self, page: u64, index: usize, value: u64) {
        self.page(page).words()[index] = value;
    }

    fn copy_page(&mut self, dst: u64, src: u64) {
        self.page(dst).copy_from(&self.page(src));
    }

    fn set_aside(&mut self, page: u64) -> Result<(), OutOfMemory> {
        // SAFETY: `page` came from `alloc` (`into_phys`) and the planner gives
        // it up here.
        let pages = unsafe { Pages::from_phys(page) };
        self.image.dest_list().push(pages);
        Ok(())
    }

    fn take_set_aside(&mut self, page: u64) -> bool {
        match self.image.dest_list().take(page) {
            Some(pages) => {
                // Back to the planner, which puts it on the entry list.
                pages.into_phys();
                true
            }
            None => false,
        }
    }

    fn release_set_aside(&mut self) {
        self.image.dest_list().clear();
    }

    fn free(&mut self, page: u64) {
        // SAFETY: a source or indirection page of the list, from `alloc`, that
        // the list no longer refers to.
        drop(unsafe { Pages::from_phys(page) });
    }
}

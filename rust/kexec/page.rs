// SPDX-License-Identifier: GPL-2.0

//! The pages of a kexec image, as owned values.
//!
//! A normal image takes its pages from the buddy allocator: the source pages
//! that hold the new kernel until the stub copies it, the indirection pages of
//! the entry list, and the control pages (the stub, its page tables). A crash
//! image writes straight into the crash kernel reservation. The stub writes
//! these pages behind the allocator's back, so allocated pages are marked
//! reserved, and the arch's hooks (memory encryption) run on them both ways.
//!
//! * [`Pages`]: a block of `2^order` pages that an image owns, freed on drop.
//! * [`PageList`]: one of C's `struct kimage` page lists (linked through
//!   `page->lru`, because kernel/kexec_file.c looks at them), which owns the
//!   [`Pages`] put on it.
//! * [`ImagePage`]: the bytes of one page an image may write, found by its
//!   physical address (the entry list names pages only by address).
//!
//! The logic above this file handles owned values and physical addresses; the
//! few `struct page` pointers it still names are the ones C keeps in `struct
//! kimage` (`control_code_page`, `swap_page`, `segment_cma`).

use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;
use kernel::uaccess::UserSliceReader;

/// Bytes in a page.
pub(crate) const PAGE_SIZE: usize = bindings::PAGE_SIZE as usize;
/// log2 of [`PAGE_SIZE`].
pub(crate) const PAGE_SHIFT: u32 = bindings::PAGE_SHIFT;
// The pure logic's page size is the kernel's.
const _: () = assert!(crate::segment::PAGE_SIZE == PAGE_SIZE as u64);
const _: () = assert!(crate::entry::ENTRIES_PER_PAGE * 8 == PAGE_SIZE);

/// The machine's kexec limits and allocation flags (macros of asm/kexec.h).
pub(crate) struct KexecLimits {
    /// `KEXEC_DESTINATION_MEMORY_LIMIT`: every segment ends below it.
    pub(crate) destination_limit: u64,
    /// `KEXEC_SOURCE_MEMORY_LIMIT`: the highest source page the stub reaches.
    pub(crate) source_limit: u64,
    /// `KEXEC_CONTROL_MEMORY_LIMIT`.
    pub(crate) control_limit: u64,
    /// `KEXEC_CRASH_CONTROL_MEMORY_LIMIT`.
    pub(crate) crash_control_limit: u64,
    /// `KEXEC_CONTROL_MEMORY_GFP`.
    pub(crate) control_gfp: bindings::gfp_t,
    /// The flags of source pages (`GFP_HIGHUSER`).
    pub(crate) source_gfp: bindings::gfp_t,
    /// `totalram_pages()` now.
    pub(crate) total_ram_pages: u64,
}

impl KexecLimits {
    /// The values of the running kernel.
    pub(crate) fn get() -> Self {
        // SAFETY: the helpers read constants and a counter.
        unsafe {
            KexecLimits {
                destination_limit: bindings::kexec_rust_destination_limit() as u64,
                source_limit: bindings::kexec_rust_source_limit() as u64,
                control_limit: bindings::kexec_rust_control_limit() as u64,
                crash_control_limit: bindings::kexec_rust_crash_control_limit() as u64,
                control_gfp: bindings::kexec_rust_control_gfp(),
                source_gfp: bindings::kexec_rust_source_gfp(),
                total_ram_pages: bindings::kexec_rust_totalram_pages() as u64,
            }
        }
    }
}

/// The physical address the new kernel sees for the kernel virtual address
/// `va` of the direct map (`virt_to_boot_phys`). Arithmetic only.
pub(crate) fn virt_to_boot_phys(va: usize) -> u64 {
    // SAFETY: address arithmetic on the direct map; nothing is dereferenced.
    unsafe { bindings::kexec_rust_virt_to_boot_phys(va as *mut c_void) as u64 }
}

/// The direct-map address of physical `phys` (`boot_phys_to_virt`). Arithmetic only.
pub(crate) fn boot_phys_to_virt(phys: u64) -> usize {
    // SAFETY: address arithmetic on the direct map; nothing is dereferenced.
    unsafe { bindings::kexec_rust_boot_phys_to_virt(phys as c_ulong) as usize }
}

/// The `struct page` of physical `phys`; arithmetic on the memory map, valid
/// for an address of RAM.
fn page_at(phys: u64) -> *mut bindings::page {
    // SAFETY: `boot_pfn_to_page` is arithmetic on the memory map.
    unsafe { bindings::kexec_rust_boot_pfn_to_page((phys >> PAGE_SHIFT) as c_ulong) }
}

fn phys_of(page: NonNull<bindings::page>) -> u64 {
    // SAFETY: `page` is a valid `struct page`; this is arithmetic on its pfn.
    (unsafe { bindings::kexec_rust_page_to_boot_pfn(page.as_ptr()) } as u64) << PAGE_SHIFT
}

/// A block of `2^order` physically contiguous pages that an image owns.
///
/// # Invariants
///
/// `head` heads a block of `2^order` pages from `alloc_pages` that this value
/// owns alone, at physical address `phys`. Each page is marked reserved, the
/// arch's post-allocation hook has run on the block, and the head's
/// `page_private` holds `order`.
pub(crate) struct Pages {
    head: NonNull<bindings::page>,
    order: u32,
    phys: u64,
}

impl Pages {
    /// Allocates `2^order` pages with `gfp`. `None` when memory is short or the
    /// task is being killed (a huge load must stay killable).
    pub(crate) fn alloc(gfp: bindings::gfp_t, order: u32) -> Option<Pages> {
        // SAFETY: a query of the current task.
        if unsafe { bindings::kexec_rust_fatal_signal_pending() } {
            return None;
        }
        // SAFETY: a plain allocation; zeroing is done below, after the arch hook
        // (which may change the pages' encryption).
        let head =
            NonNull::new(unsafe { bindings::alloc_pages(gfp & !bindings::__GFP_ZERO, order) })?;
        let count = 1usize << order;
        // SAFETY: `head` heads a fresh block of `count` pages that nothing else
        // knows of; marking them and recording the order makes the invariants hold.
        unsafe {
            bindings::kexec_rust_set_page_order(head.as_ptr(), order);
            for i in 0..count {
                bindings::kexec_rust_set_page_reserved(head.as_ptr().add(i));
            }
            bindings::kexec_rust_arch_post_alloc_pages(
                bindings::kexec_rust_page_address(head.as_ptr()),
                count as c_uint,
                gfp,
            );
            if gfp & bindings::__GFP_ZERO != 0 {
                for i in 0..count {
                    bindings::kexec_rust_clear_highpage(head.as_ptr().add(i));
                }
            }
        }
        Some(Pages {
            head,
            order,
            phys: phys_of(head),
        })
    }

    /// The physical address of the first page.
    pub(crate) fn phys(&self) -> u64 {
        self.phys
    }

    /// The head `struct page`, for the C fields that name a page
    /// (`control_code_page`, `swap_page`). The pages stay owned by this value.
    pub(crate) fn as_ptr(&self) -> *mut bindings::page {
        self.head.as_ptr()
    }

    /// Hands a single page to an entry list, which names it by physical
    /// address only; [`Pages::from_phys`] takes it back.
    pub(crate) fn into_phys(self) -> u64 {
        let phys = self.phys();
        core::mem::forget(self);
        phys
    }

    /// Takes back the pages at `phys`.
    ///
    /// # Safety
    ///
    /// `phys` came from [`Pages::into_phys`] and nothing else owns the pages now.
    pub(crate) unsafe fn from_phys(phys: u64) -> Pages {
        // SAFETY: by the requirements `phys` is RAM with a `struct page`, which
        // is never at address 0.
        let head = unsafe { NonNull::new_unchecked(page_at(phys)) };
        // SAFETY: by the requirements `head` heads a block from `Pages::alloc`,
        // which recorded its order in `page_private`.
        let order = unsafe { bindings::kexec_rust_page_order(head.as_ptr()) };
        Pages { head, order, phys }
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        let count = 1usize << self.order;
        // SAFETY: by the type invariant the block is ours, marked reserved, and
        // went through the post-allocation hook; nothing refers to it anymore.
        unsafe {
            bindings::kexec_rust_arch_pre_free_pages(
                bindings::kexec_rust_page_address(self.head.as_ptr()),
                count as c_uint,
            );
            for i in 0..count {
                bindings::kexec_rust_clear_page_reserved(self.head.as_ptr().add(i));
            }
            bindings::__free_pages(self.head.as_ptr(), self.order);
        }
    }
}

/// One of an image's page lists: `control_pages`, `dest_pages` or
/// `unusable_pages` of C's `struct kimage`.
///
/// # Invariants
///
/// `head` is an initialised list head; every entry on it is the head page of a
/// [`Pages`] block that the list owns; for `'a` nothing else changes the list.
pub(crate) struct PageList<'a> {
    head: NonNull<bindings::list_head>,
    _image: PhantomData<&'a mut bindings::list_head>,
}

impl<'a> PageList<'a> {
    /// The list at `head`.
    ///
    /// # Safety
    ///
    /// `head` is an initialised page list of an image that holds only blocks
    /// from [`Pages::alloc`], and the caller has exclusive use of it for `'a`.
    pub(crate) unsafe fn new(head: *mut bindings::list_head) -> Self {
        // INVARIANT: by the requirements.
        PageList {
            // SAFETY: an initialised list head is not null (requirements).
            head: unsafe { NonNull::new_unchecked(head) },
            _image: PhantomData,
        }
    }

    /// Puts `pages` on the list, which owns them from now on.
    pub(crate) fn push(&mut self, pages: Pages) {
        // SAFETY: the list is valid (invariant) and `pages` is on no list.
        unsafe { bindings::kexec_rust_page_list_add(pages.as_ptr(), self.head.as_ptr()) };
        core::mem::forget(pages);
    }

    /// Takes the first block off the list.
    pub(crate) fn pop(&mut self) -> Option<Pages> {
        // SAFETY: the list is valid (invariant).
        let page =
            NonNull::new(unsafe { bindings::kexec_rust_page_list_first(self.head.as_ptr()) })?;
        // SAFETY: `page` is on the list, which owned its block; unlinked, the
        // block is ours alone, with the order recorded at allocation.
        unsafe {
            bindings::kexec_rust_page_list_del(page.as_ptr());
            Some(Pages::from_phys(phys_of(page)))
        }
    }

    /// Takes the block whose first page is at `phys` off the list, if it is on it.
    pub(crate) fn take(&mut self, phys: u64) -> Option<Pages> {
        // Every block on the list is marked reserved, free RAM and most pages of
        // other owners are not: testing the flag first spares the walk of the
        // list for nearly every page asked about.
        // SAFETY: reads the flags of a page that has a memory map entry only.
        if !unsafe { bindings::kexec_rust_reserved_ram_at(phys as c_ulong) } {
            return None;
        }
        let target = page_at(phys);
        // SAFETY: a constant offset; `want` is only compared, never dereferenced.
        let want = target
            .cast::<u8>()
            .wrapping_add(unsafe { bindings::kexec_rust_page_lru_offset() } as usize);
        let head = self.head.as_ptr();
        // SAFETY: the list is valid and only we change it (invariant).
        let mut node = unsafe { (*head).next };
        while node != head {
            if node.cast::<u8>() == want {
                // SAFETY: `target` is on the list, which owned its block.
                unsafe {
                    bindings::kexec_rust_page_list_del(target);
                    return Some(Pages::from_phys(phys));
                }
            }
            // SAFETY: as above.
            node = unsafe { (*node).next };
        }
        None
    }

    /// Frees every block on the list.
    pub(crate) fn clear(&mut self) {
        while self.pop().is_some() {}
    }
}

/// Where a segment's bytes come from.
pub(crate) enum Source {
    /// kexec_load: the caller's buffer.
    User(UserSliceReader),
    /// kexec_file_load: a kernel buffer the loaders filled.
    Kernel(KernelBuffer),
}

/// A kernel buffer read front to back.
///
/// # Invariants
///
/// `ptr` is valid for reads of `left` bytes, which nothing writes while this
/// value exists.
pub(crate) struct KernelBuffer {
    ptr: *const u8,
    left: usize,
}

impl KernelBuffer {
    /// The `len` bytes at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is valid for reads of `len` bytes for as long as the value lives,
    /// and nothing writes them meanwhile.
    pub(crate) unsafe fn new(ptr: *const u8, len: usize) -> Self {
        // INVARIANT: by the requirements.
        KernelBuffer { ptr, left: len }
    }
}

impl Source {
    /// Copies the next `out.len()` bytes into `out`; `EFAULT` past the end.
    pub(crate) fn read(&mut self, out: &mut [u8]) -> Result {
        match self {
            Source::User(r) => r.read_slice(out),
            Source::Kernel(b) => {
                if out.len() > b.left {
                    return Err(EFAULT);
                }
                // SAFETY: `left` bytes at `ptr` are readable (invariant).
                unsafe { core::ptr::copy_nonoverlapping(b.ptr, out.as_mut_ptr(), out.len()) };
                b.ptr = b.ptr.wrapping_add(out.len());
                b.left -= out.len();
                Ok(())
            }
        }
    }
}

/// One page of RAM that an image may write, found by its physical address: a
/// page the image owns (source, indirection, control) or a page of the crash
/// reservation that a crash image loads into.
///
/// # Invariants
///
/// `phys` is the page-aligned address of directly mapped RAM that the image
/// owns and that nothing else reads or writes while this value exists.
pub(crate) struct ImagePage {
    phys: u64,
}

impl ImagePage {
    /// The page at `phys`.
    ///
    /// # Safety
    ///
    /// `phys` is page aligned, the page is RAM that the caller's image owns
    /// (allocated for it, or in the crash reservation it loads into), and the
    /// caller has exclusive use of it while the value lives.
    pub(crate) unsafe fn at(phys: u64) -> Self {
        // INVARIANT: by the requirements.
        ImagePage { phys }
    }

    fn page(&self) -> *mut bindings::page {
        page_at(self.phys)
    }

    /// The page as 64-bit words, through the direct map (entry list pages are
    /// GFP_HIGHUSER, never highmem on 64-bit).
    pub(crate) fn words(&mut self) -> &mut [u64] {
        // SAFETY: the page is directly mapped RAM that only we use (invariant).
        unsafe {
            core::slice::from_raw_parts_mut(boot_phys_to_virt(self.phys) as *mut u64, PAGE_SIZE / 8)
        }
    }

    /// Maps the page, runs `f` on its bytes, unmaps it.
    pub(crate) fn with_bytes<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        // SAFETY: the local mapping covers PAGE_SIZE bytes until
        // `kunmap_local`, and only we use the page (invariant).
        unsafe {
            let va = bindings::kmap_local_page(self.page()).cast::<u8>();
            let r = f(core::slice::from_raw_parts_mut(va, PAGE_SIZE));
            bindings::kunmap_local(va.cast());
            r
        }
    }

    /// Runs `f` on the page's bytes, read-only (the page may be mapped
    /// read-only, as a loaded crash image's are). Only the crash path reads
    /// a loaded image.
    #[cfg(all(CONFIG_KEXEC_RUST_CRASH, CONFIG_CRASH_HOTPLUG))]
    pub(crate) fn read<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        // SAFETY: the local mapping covers PAGE_SIZE bytes until
        // `kunmap_local`, and nothing writes the page meanwhile (invariant).
        unsafe {
            let va = bindings::kmap_local_page(self.page()).cast::<u8>();
            let r = f(core::slice::from_raw_parts(va, PAGE_SIZE));
            bindings::kunmap_local(va.cast());
            r
        }
    }

    /// Copies the page `src` into this one.
    pub(crate) fn copy_from(&mut self, src: &ImagePage) {
        // SAFETY: both are pages of RAM that only we use (invariant).
        unsafe { bindings::kexec_rust_copy_highpage(self.page(), src.page()) };
    }

    /// Writes the page as a crash image's destination: through the arch's
    /// hooks around the write (the reservation may be encrypted memory), and
    /// with the instruction cache made coherent afterwards.
    pub(crate) fn write_crash<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let va = boot_phys_to_virt(self.phys) as *mut c_void;
        // SAFETY: the page is in the crash reservation (invariant), directly
        // mapped at `va`; the hooks bracket the write as the arch requires.
        unsafe { bindings::kexec_rust_arch_post_alloc_pages(va, 1, 0) };
        let r = self.with_bytes(f);
        // SAFETY: as above.
        unsafe {
            bindings::kexec_rust_flush_icache_page(self.page());
            bindings::kexec_rust_arch_pre_free_pages(va, 1);
        }
        r
    }

    /// The `struct page`, for C that takes one; the page stays the image's.
    pub(crate) fn as_ptr(&self) -> *mut bindings::page {
        self.page()
    }
}

/// A block of pages a crash image carved out of the reservation, made usable
/// for the copy by the arch hook (decrypted under SME); not owned: the
/// reservation is not freed.
///
/// # Safety
///
/// `[phys, phys + 2^order pages)` lies in the crash kernel reservation and is
/// used by no other part of the image.
pub(crate) unsafe fn prepare_crash_block(phys: u64, order: u32) -> *mut bindings::page {
    let va = boot_phys_to_virt(phys) as *mut c_void;
    // SAFETY: by the requirements the block is reservation memory, directly
    // mapped at `va`, that only this image uses.
    unsafe { bindings::kexec_rust_arch_post_alloc_pages(va, 1 << order, 0) };
    page_at(phys)
}

/// A page list on the stack for the length of `f`, freed (with every block
/// still on it) when `f` returns: where blocks are held without allocating.
pub(crate) fn with_local_list<R>(f: impl FnOnce(&mut PageList<'_>) -> R) -> R {
    let mut head = bindings::list_head {
        next: core::ptr::null_mut(),
        prev: core::ptr::null_mut(),
    };
    // SAFETY: `head` is a local that stays in place until this function returns.
    unsafe { bindings::INIT_LIST_HEAD(&mut head) };
    // SAFETY: an initialised, empty list that only this function uses.
    let mut list = unsafe { PageList::new(&raw mut head) };
    let r = f(&mut list);
    list.clear();
    r
}

/// Lets the task be preempted between pages of a long load.
pub(crate) fn cond_resched() {
    // SAFETY: called only where sleeping is allowed (the load path holds no
    // spinlock, only the kexec lock).
    unsafe { bindings::kexec_rust_cond_resched() };
}

/// The direct-map address of a lowmem page that C names (`page_address`).
///
/// # Safety
///
/// `page` is a valid `struct page`.
pub(crate) unsafe fn address_of(page: *mut bindings::page) -> usize {
    // SAFETY: arithmetic on a valid `struct page` (the caller's promise).
    unsafe { bindings::kexec_rust_page_address(page) as usize }
}

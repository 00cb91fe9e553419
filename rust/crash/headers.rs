// SPDX-License-Identifier: GPL-2.0

//! The elfcorehdr that kexec_file_load gives a crash image: System RAM from the
//! arch, minus the crash kernel's memory and what the arch excludes, as the ELF
//! core header that [`crate::elfcore`] writes.
//!
//! C's `struct crash_mem` (a count and a flexible array of ranges) is passed
//! between the arch hooks and us; [`CrashMem`] is our view of one and
//! [`CrashMemBox`] one that we allocate.

use super::panic::{cpu_note_addresses, NOTE_BUF_SIZE};
use crate::elfcore::{self, CoreLayout, KernelMap, Range};
use crate::kexec::state::{kexec_file_dbg_print, KexecLock};
use crate::vmcoreinfo::NOTE_SIZE as VMCOREINFO_NOTE_SIZE;
use core::mem::size_of;
use core::ptr::NonNull;
use kernel::alloc::VVec;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::ordering;

// `Range` is read and written in place of C's `struct range`.
const _: () = assert!(size_of::<Range>() == size_of::<bindings::range>());
const _: () =
    assert!(core::mem::offset_of!(bindings::range, end) == core::mem::offset_of!(Range, end));

/// The ranges of a C `struct crash_mem`.
///
/// # Invariants
///
/// `ranges` is the structure's whole array (`max_nr_ranges` slots) and `nr`
/// its count, both valid and used by nothing else for `'a`.
pub(crate) struct CrashMem<'a> {
    ranges: &'a mut [Range],
    nr: &'a mut c_uint,
}

impl<'a> CrashMem<'a> {
    /// The `crash_mem` at `mem`.
    ///
    /// # Safety
    ///
    /// `mem` is a valid `crash_mem` with `max_nr_ranges` slots, which the
    /// caller uses alone for `'a`.
    pub(crate) unsafe fn from_raw(mem: *mut bindings::crash_mem) -> Self {
        // SAFETY: `Range` has the layout of `struct range` (checked above); the
        // array has `max_nr_ranges` elements by the caller's promise.
        unsafe {
            let cap = (*mem).max_nr_ranges as usize;
            let ranges = (&raw mut (*mem).ranges).cast::<Range>();
            CrashMem {
                ranges: core::slice::from_raw_parts_mut(ranges, cap),
                nr: &mut (*mem).nr_ranges,
            }
        }
    }

    /// The ranges in use.
    pub(crate) fn ram(&self) -> &[Range] {
        &self.ranges[..(*self.nr as usize).min(self.ranges.len())]
    }

    /// Cuts `[start, end]` out (`crash_exclude_mem_range`); `ENOMEM` if a
    /// range must split and there is no free slot.
    pub(crate) fn exclude(&mut self, start: u64, end: u64) -> Result {
        let mut len = (*self.nr as usize).min(self.ranges.len());
        let ret = elfcore::exclude(self.ranges, &mut len, start, end);
        *self.nr = len as c_uint;
        ret.map_err(|elfcore::NoRoom| ENOMEM)
    }

    /// Cuts the crash kernel's own memory out (`crash_exclude_core_ranges`).
    pub(crate) fn exclude_core_ranges(&mut self, lock: &KexecLock) -> Result {
        let (start, end) = crate::kexec::reservation::window(lock);
        self.exclude(start, end)?;
        let (low_start, low_end) = crate::kexec::reservation::low_window_unlocked();
        if low_end != 0 {
            self.exclude(low_start, low_end)?;
        }
        // The CMA ranges are the capture kernel's to use: not part of the dump.
        for r in super::reserve::cma_ranges() {
            self.exclude(r.start, r.end)?;
        }
        Ok(())
    }
}

/// A `struct crash_mem` with room for `max` ranges, which we allocated.
///
/// # Invariants
///
/// `ptr` is a zeroed `kvzalloc` allocation of a `crash_mem` with
/// `max_nr_ranges` slots, owned by this value.
struct CrashMemBox {
    ptr: NonNull<bindings::crash_mem>,
}

impl CrashMemBox {
    fn new(max: u32) -> Result<Self> {
        let bytes = size_of::<bindings::crash_mem>() + max as usize * size_of::<bindings::range>();
        // SAFETY: a zeroed allocation, which we own from here.
        let ptr = NonNull::new(
            unsafe { bindings::kexec_rust_kvzalloc(bytes) }.cast::<bindings::crash_mem>(),
        )
        .ok_or(ENOMEM)?;
        // SAFETY: the allocation has room for the header; INVARIANT: now it says
        // how many slots it has.
        unsafe { (*ptr.as_ptr()).max_nr_ranges = max };
        Ok(CrashMemBox { ptr })
    }

    fn view(&mut self) -> CrashMem<'_> {
        // SAFETY: a valid `crash_mem` that we own (invariant), borrowed mutably.
        unsafe { CrashMem::from_raw(self.ptr.as_ptr()) }
    }
}

impl Drop for CrashMemBox {
    fn drop(&mut self) {
        // SAFETY: allocated by `kvzalloc` (invariant), not used after.
        unsafe { bindings::kvfree(self.ptr.as_ptr().cast()) };
    }
}

/// Builds the elfcorehdr for `ram` into a new vmalloc buffer
/// (`crash_prepare_elf64_headers`), which the caller frees with `vfree`.
pub(crate) fn prepare_elf64_headers(
    ram: &[Range],
    need_kernel_map: bool,
) -> Result<(*mut c_void, usize)> {
    let cpu_notes = cpu_note_addresses()?;
    // SAFETY: link-time and boot-time constants of the kernel image.
    let kernel_map = need_kernel_map.then(|| unsafe {
        KernelMap {
            vaddr: bindings::kexec_rust_kernel_text_start() as u64,
            paddr: bindings::kexec_rust_kernel_text_phys(),
            size: bindings::kexec_rust_kernel_image_size() as u64,
        }
    });
    let layout = CoreLayout {
        cpu_notes: &cpu_notes,
        cpu_note_size: NOTE_BUF_SIZE as u64,
        // Through the C symbol: a Xen PV kernel gives its own (the machine
        // address), as with stock.
        // SAFETY: no precondition.
        vmcoreinfo: (
            unsafe { bindings::paddr_vmcoreinfo_note() },
            VMCOREINFO_NOTE_SIZE as u64,
        ),
        kernel_map,
        ram,
        // SAFETY: the direct map's base is fixed after boot.
        page_offset: unsafe { bindings::kexec_rust_direct_map_base() } as u64,
    };
    let size = layout.size();
    let mut buf = VVec::<u8>::from_elem(0, size, GFP_KERNEL)?;
    elfcore::write_core_header(&mut buf, &layout).ok_or(ENOMEM)?;
    if kexec_file_dbg_print.load(ordering::Relaxed) {
        for r in ram {
            pr_info!(
                "Crash PT_LOAD ELF header. paddr=0x{:x}, sz=0x{:x} e_phnum={}\n",
                r.start,
                r.end - r.start + 1,
                layout.phnum()
            );
        }
    }
    // The caller owns the vmalloc buffer from here and frees it with `vfree`.
    let (ptr, len, _cap) = buf.into_raw_parts();
    Ok((ptr.cast(), len))
}

/// `cmem` without the memory sections that are offline.
///
/// Offline memory holds nothing of the running kernel, and memory taken out
/// (a DIMM unplugged) goes offline first: its notifier is the last chance to
/// rewrite a loaded crash image's header before the memory disappears, and at
/// that moment it is still System RAM. The stock kernel keeps it in the
/// header, so that the capture kernel reads memory that may no longer exist;
/// we leave it out.
#[cfg(CONFIG_MEMORY_HOTPLUG)]
fn without_offline_memory(mut cmem: CrashMemBox) -> Result<CrashMemBox> {
    let section = 1u64 << bindings::SECTION_SIZE_BITS;
    let mut offline = KVec::<(u64, u64)>::new();
    for r in cmem.view().ram() {
        let mut at = r.start / section * section;
        while at <= r.end {
            let next = at.saturating_add(section);
            let (s, e) = (at.max(r.start), (next - 1).min(r.end));
            // SAFETY: asks about one page frame (in the range, so not in a
            // hole of the section); no precondition.
            let online =
                unsafe { bindings::pfn_to_online_page((s >> kernel::page::PAGE_SHIFT) as c_ulong) };
            if online.is_null() {
                match offline.last_mut() {
                    Some(last) if last.1 + 1 == s => last.1 = e,
                    _ => offline.push((s, e), GFP_KERNEL)?,
                }
            }
            if next == u64::MAX {
                break;
            }
            at = next;
        }
    }
    if offline.is_empty() {
        return Ok(cmem);
    }
    // Each run cut out may split a range in two.
    let nr = cmem.view().ram().len();
    let mut out = CrashMemBox::new((nr + offline.len()) as u32)?;
    {
        let (src, dst) = (cmem.view(), out.view());
        for (d, r) in dst.ranges.iter_mut().zip(src.ram()) {
            *d = *r;
        }
        *dst.nr = nr as c_uint;
    }
    for (s, e) in offline {
        out.view().exclude(s, e)?;
    }
    Ok(out)
}

/// The elfcorehdr of the running system (`crash_prepare_headers`): the buffer,
/// its size and the number of memory ranges in it.
pub(crate) fn prepare_headers(
    need_kernel_map: bool,
    lock: &KexecLock,
) -> Result<(*mut c_void, usize, usize)> {
    // SAFETY: asks the arch for an upper bound on the number of ranges.
    let max = unsafe { bindings::arch_get_system_nr_ranges() };
    if max == 0 {
        return Err(ENOMEM);
    }
    let mut cmem = CrashMemBox::new(max)?;
    // SAFETY: the arch fills our `crash_mem`, within its slots.
    kernel::error::to_result(unsafe { bindings::arch_crash_populate_cmem(cmem.ptr.as_ptr()) })?;
    cmem.view().exclude_core_ranges(lock)?;
    #[cfg(CONFIG_MEMORY_HOTPLUG)]
    let mut cmem = without_offline_memory(cmem)?;
    // SAFETY: the arch cuts its own ranges out of our `crash_mem`.
    kernel::error::to_result(unsafe { bindings::arch_crash_exclude_ranges(cmem.ptr.as_ptr()) })?;
    let view = cmem.view();
    let nr = view.ram().len();
    let (buf, size) = prepare_elf64_headers(view.ram(), need_kernel_map)?;
    Ok((buf, size, nr))
}

// SPDX-License-Identifier: GPL-2.0

//! What /proc/vmcore serves, built once at boot from the crashed kernel's
//! elfcorehdr: the new ELF header and the merged notes, in one buffer that can
//! be mapped into user space, then the crashed kernel's memory, `PT_LOAD` by
//! `PT_LOAD`. The checks and the layout are [`crate::corehdr`]'s; this module
//! reads old memory and allocates.

use super::oldmem;
use crate::corehdr::{self, Defect, Layout, Load};
use crate::elfcore::{EHDR_SIZE, EM_NATIVE, PHDR_SIZE, PT_LOAD, PT_NOTE};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

use core::ptr::NonNull;

/// A zeroed buffer of whole pages that may be mapped into user space.
///
/// # Invariants
///
/// `ptr` points to `len` bytes (a multiple of the page size, not 0) allocated
/// by `vmalloc_user()`, owned by this value and freed only by `drop`.
pub(crate) struct UserBuf {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the buffer is plain memory owned by the value; `&UserBuf` only
// reads it.
unsafe impl Send for UserBuf {}
// SAFETY: as above.
unsafe impl Sync for UserBuf {}

impl UserBuf {
    /// Allocates `len` zeroed bytes, rounded up to whole pages.
    pub(crate) fn new(len: usize) -> Result<Self> {
        let len = len.max(1).next_multiple_of(PAGE_SIZE);
        // SAFETY: no precondition; null on failure.
        let p = unsafe { bindings::vmalloc_user_noprof(len as _) };
        let ptr = NonNull::new(p.cast::<u8>()).ok_or(ENOMEM)?;
        // INVARIANT: `len` bytes from vmalloc_user(), freed by `drop`.
        Ok(Self { ptr, len })
    }

    /// The bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: by the type invariants, `len` bytes owned by `self`.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes, for writing.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: by the type invariants, `len` bytes owned by `self`, and
        // `&mut self` makes this the only reference.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// The start of the buffer, for `remap_vmalloc_range_partial()`.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for UserBuf {
    fn drop(&mut self) {
        // SAFETY: by the type invariants, allocated by vmalloc_user() and
        // freed only here.
        unsafe { bindings::vfree(self.ptr.as_ptr().cast()) };
    }
}

/// The dump: /proc/vmcore's bytes.
///
/// The file is `front` (the ELF header and program headers, padded to a page,
/// then the merged notes, padded to a page: `layout`), then each range of
/// `loads` at its file offset; `loads` are in file order, back to back.
pub(crate) struct Dump {
    /// The ELF header, program headers and merged notes.
    pub(crate) front: UserBuf,
    /// Where things are in the file.
    pub(crate) layout: Layout,
    /// Old memory, range by range.
    pub(crate) loads: KVec<Load>,
    /// Whether old memory is encrypted (SME): mapped with the encryption bit.
    pub(crate) encrypted: bool,
}

/// Why there is no dump.
pub(crate) enum Refusal {
    /// The header breaks a rule.
    Defect(Defect),
    /// Program header `index` (`None`: the header itself) names memory that
    /// cannot be read.
    Unmappable {
        /// Index of the program header.
        index: Option<usize>,
        /// Why.
        why: oldmem::Unmappable,
    },
    /// Old memory could not be read or memory allocated.
    Error(Error),
}

impl Refusal {
    /// The (positive) errno of the failed initcall.
    pub(crate) fn errno(&self) -> i32 {
        match self {
            Refusal::Defect(d) => d.errno(),
            Refusal::Unmappable { .. } => -EINVAL.to_errno(),
            Refusal::Error(e) => -e.to_errno(),
        }
    }
}

/// What the log says after "elfcorehdr at ADDR".
impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Refusal::Defect(d) => write!(f, "refused: {d}"),
            Refusal::Unmappable {
                index: Some(i),
                why,
            } => write!(f, "refused: program header {i}: {why}"),
            Refusal::Unmappable { index: None, why } => {
                write!(f, "refused: the header itself: {why}")
            }
            Refusal::Error(e) => write!(f, "could not be read (error {})", e.to_errno()),
        }
    }
}

impl From<Defect> for Refusal {
    fn from(d: Defect) -> Self {
        Refusal::Defect(d)
    }
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Error(e)
    }
}

impl From<kernel::alloc::AllocError> for Refusal {
    fn from(_: kernel::alloc::AllocError) -> Self {
        Refusal::Error(ENOMEM)
    }
}

/// Reads old memory at `phys` into a new buffer of `len` bytes.
fn read_old(phys: u64, len: usize, encrypted: bool) -> Result<VVec<u8>, Refusal> {
    let mut v = VVec::from_elem(0u8, len, GFP_KERNEL)?;
    oldmem::copy_to_slice(&mut v, phys, encrypted)?;
    Ok(v)
}

impl Dump {
    /// Reads the crashed kernel's elfcorehdr at `addr` (of `size` bytes when
    /// `elfcorehdr=` said so) and builds the dump. `header_encrypted` and
    /// `encrypted` say how the header and the rest of old memory are mapped.
    pub(crate) fn read(
        addr: u64,
        size: Option<u64>,
        header_encrypted: bool,
        encrypted: bool,
    ) -> Result<Dump, Refusal> {
        let segment = size.unwrap_or(u64::MAX);
        let page = addr & !(PAGE_SIZE as u64 - 1);
        oldmem::check_mappable(page, (addr - page) + EHDR_SIZE as u64)
            .map_err(|why| Refusal::Unmappable { index: None, why })?;
        let ehdr = read_old(addr, EHDR_SIZE, header_encrypted)?;
        let ehdr = corehdr::check_ehdr(&ehdr, segment, EM_NATIVE)?;
        oldmem::check_mappable(page, (addr - page) + ehdr.headers_size())
            .map_err(|why| Refusal::Unmappable { index: None, why })?;
        let old = read_old(addr, ehdr.headers_size() as usize, header_encrypted)?;

        // The notes: each PT_NOTE read whole, kept up to its real size.
        let mut notes = VVec::new();
        let mut note_sizes = KVec::new();
        let mut phdrs = KVec::with_capacity(ehdr.phnum as usize, GFP_KERNEL)?;
        corehdr::check_phdrs(&old, &ehdr, |_, p| {
            // Room for every program header was reserved above.
            let _ = phdrs.push_within_capacity(*p);
        })?;
        // Every range the file will read: old memory this kernel may map.
        for (index, p) in phdrs.iter().enumerate() {
            if p.ty == PT_NOTE || p.ty == PT_LOAD {
                let (start, end) = corehdr::widened(p);
                oldmem::check_mappable(start, end - start).map_err(|why| Refusal::Unmappable {
                    index: Some(index),
                    why,
                })?;
            }
        }
        for (i, p) in phdrs.iter().enumerate() {
            if p.ty != PT_NOTE {
                continue;
            }
            let seg = read_old(p.offset, p.memsz as usize, encrypted)?;
            let (real, dropped) = corehdr::notes_size(&seg);
            if dropped {
                pr_warn!(
                    "vmcore: program header {i}: a note runs past p_memsz {}; \
                     the notes before it are kept\n",
                    p.memsz
                );
            }
            if real == 0 {
                pr_warn!("vmcore: program header {i}: no notes in this PT_NOTE\n");
            }
            notes.extend_from_slice(&seg[..real as usize], GFP_KERNEL)?;
            note_sizes.push(real, GFP_KERNEL)?;
        }

        // The new header: at most one program header more than the old one.
        let room = (EHDR_SIZE + (ehdr.phnum as usize + 1) * PHDR_SIZE).next_multiple_of(PAGE_SIZE);
        let mut header = VVec::from_elem(0u8, room, GFP_KERNEL)?;
        let layout = corehdr::write_header(&old, &ehdr, &note_sizes, &mut header)?;
        let front_len = layout.headers + layout.notes_padded;
        let mut front = UserBuf::new(front_len as usize)?;
        let buf = front.bytes_mut();
        let h = layout.headers as usize;
        buf[..h].copy_from_slice(&header[..h]);
        buf[h..h + notes.len()].copy_from_slice(&notes);

        let nr_loads = phdrs.iter().filter(|p| p.ty == PT_LOAD).count();
        let mut loads = KVec::with_capacity(nr_loads, GFP_KERNEL)?;
        corehdr::loads(&old, &ehdr, &layout, |l| {
            // Capacity for every PT_LOAD was reserved above.
            let _ = loads.push_within_capacity(l);
        });
        Ok(Dump {
            front,
            layout,
            loads,
            encrypted,
        })
    }

    /// The size of the file.
    pub(crate) fn size(&self) -> u64 {
        self.layout.size
    }

    /// The bytes of `front` that are part of the file.
    pub(crate) fn front_len(&self) -> u64 {
        self.layout.headers + self.layout.notes_padded
    }
}

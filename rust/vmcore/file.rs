// SPDX-License-Identifier: GPL-2.0

//! /proc/vmcore: read() and mmap() of a [`Dump`], and the count of its opens.
//!
//! The file is the dump's front buffer (ELF header and merged notes) followed
//! by old memory; a read or a mapping that spans both is served piece by
//! piece, as in the stock kernel, with the same errors: `EFAULT` for a fault
//! in the user's buffer or old memory that cannot be mapped, `EINVAL` for a
//! mapping past the end, `EPERM` for a writable or executable one, `EAGAIN`
//! when the mapping cannot be made.

use super::callbacks::Reader;
use super::dump::Dump;
use super::oldmem;
use crate::corehdr;
use kernel::bindings;
use kernel::error::to_result;
use kernel::iov::IovIterDest;
use kernel::mm::virt::VmaNew;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::sync::atomic::{ordering::Relaxed, Atomic};

/// How many times /proc/vmcore is open.
static OPEN: Atomic<u32> = Atomic::new(0);

/// Whether /proc/vmcore has been opened at least once.
static OPENED: Atomic<bool> = Atomic::new(false);

/// Whether /proc/vmcore has been opened at least once (a vmcore callback that
/// comes or goes later is unusual, and logged).
pub(crate) fn ever_opened() -> bool {
    OPENED.load(Relaxed)
}

/// Counts an open; `EBUSY` when the count would wrap, as in the stock kernel.
pub(crate) fn open() -> Result {
    OPENED.store(true, Relaxed);
    let mut n = OPEN.load(Relaxed);
    loop {
        let next = n.checked_add(1).ok_or(EBUSY)?;
        match OPEN.cmpxchg(n, next, Relaxed) {
            Ok(_) => return Ok(()),
            Err(now) => n = now,
        }
    }
}

/// Counts a release.
pub(crate) fn release() {
    OPEN.fetch_sub(1, Relaxed);
}

/// Reads from file offset `*pos` into `dest`, as much as it holds up to the
/// end of the file, and advances `*pos` by what was read.
pub(crate) fn read(dump: &Dump, dest: &mut IovIterDest<'_>, pos: &mut i64) -> Result<usize> {
    let Ok(start) = u64::try_from(*pos) else {
        return Err(EINVAL);
    };
    if start >= dump.size() || dest.is_empty() {
        return Ok(0);
    }
    // `*pos` follows each piece, so that after a failure it is where the
    // failing piece starts, as in stock.
    let end = start + (dump.size() - start).min(dest.len() as u64);
    let mut at = start;

    if at < dump.front_len() {
        let n = (dump.front_len().min(end) - at) as usize;
        let b = &dump.front.bytes()[at as usize..at as usize + n];
        if dest.copy_to_iter(b) < n {
            return Err(EFAULT);
        }
        at += n as u64;
        *pos = at as i64;
    }

    let mut i = corehdr::load_at(&dump.loads, at);
    while at < end && i < dump.loads.len() {
        let l = &dump.loads[i];
        let n = ((l.offset + l.size).min(end) - at) as usize;
        // Any failure is EFAULT, as stock's read_from_oldmem() makes it.
        oldmem::copy_to_iter(dest, l.start + (at - l.offset), n, dump.encrypted)
            .map_err(|_| EFAULT)?;
        at += n as u64;
        *pos = at as i64;
        i += 1;
    }
    Ok((at - start) as usize)
}

/// Maps the file into `vma`, which is being set up: the front buffer and old
/// memory, read only.
pub(crate) fn mmap(dump: &Dump, vma: &VmaNew) -> Result {
    let size = (vma.end() - vma.start()) as u64;
    // SAFETY: `vma` is being set up by mmap(), which holds the mmap lock.
    let pgoff = unsafe { (*vma.as_ptr()).vm_pgoff } as u64;
    let start = pgoff.checked_mul(PAGE_SIZE as u64).ok_or(EINVAL)?;
    let end = start.checked_add(size).ok_or(EINVAL)?;
    if size > dump.size() || end > dump.size() {
        return Err(EINVAL);
    }
    if vma.writable() || vma.executable() {
        return Err(EPERM);
    }
    vma.try_clear_maywrite()?;
    vma.try_clear_mayexec()?;
    vma.set_mixedmap();
    // SAFETY: as above; `VM_OPS` lives forever.
    unsafe { (*vma.as_ptr()).vm_ops = &super::ffi::VM_OPS.0 };

    // On failure the mm core unmaps what was mapped (`unmap_region()` after a
    // failed `->mmap`), so the part made is not undone here.
    map_pieces(dump, vma, start, end).map_err(|_| EAGAIN)
}

fn map_pieces(dump: &Dump, vma: &VmaNew, mut at: u64, end: u64) -> Result {
    let mut uaddr = vma.start() as u64;
    if at < dump.front_len() {
        let n = dump.front_len().min(end) - at;
        // SAFETY: `front` is a vmalloc_user() buffer of at least `front_len`
        // bytes that lives as long as the dump (forever); `at` and `n` are
        // page multiples within it and within the vma.
        let r = unsafe {
            bindings::remap_vmalloc_range_partial(
                vma.as_ptr(),
                uaddr as _,
                dump.front.as_ptr().add(at as usize).cast(),
                0,
                n as _,
            )
        };
        to_result(r)?;
        at += n;
        uaddr += n;
    }
    let mut i = corehdr::load_at(&dump.loads, at);
    while at < end && i < dump.loads.len() {
        let l = &dump.loads[i];
        let n = (l.offset + l.size - at).min(end - at);
        let phys = l.start + (at - l.offset);
        match Reader::get() {
            None => map_old(vma, uaddr, phys, n)?,
            // Pages a driver says are not RAM get the zero page instead.
            Some(r) => r.for_each_run(phys, n, |start, len, ram| {
                let to = uaddr + (start - phys);
                if ram {
                    return map_old(vma, to, start, len);
                }
                // SAFETY: no precondition.
                let zero = unsafe { bindings::kexec_rust_zero_pfn() } as u64;
                let mut k = 0;
                while k < len {
                    remap(vma, to + k, zero, PAGE_SIZE as u64)?;
                    k += PAGE_SIZE as u64;
                }
                Ok(())
            })?,
        }
        at += n;
        uaddr += n;
        i += 1;
    }
    Ok(())
}

/// Maps `len` bytes of old memory at `phys` (page multiples) at `uaddr` of
/// `vma`, which is being set up.
fn map_old(vma: &VmaNew, uaddr: u64, phys: u64, len: u64) -> Result {
    remap(vma, uaddr, phys / PAGE_SIZE as u64, len)
}

/// Maps `len` bytes of page frames from `pfn` on (old memory, or the zero
/// page) read only at `uaddr` of `vma`, which is being set up.
fn remap(vma: &VmaNew, uaddr: u64, pfn: u64, len: u64) -> Result {
    // SAFETY: maps old memory, which no one else owns, or the zero page, read
    // only into this vma being set up; the callers keep the range within it.
    let r = unsafe {
        bindings::remap_pfn_range(
            vma.as_ptr(),
            uaddr as _,
            pfn as _,
            len as _,
            // With the encryption bit when memory is encrypted, as stock.
            bindings::kexec_rust_pgprot_encrypted((*vma.as_ptr()).vm_page_prot),
        )
    };
    to_result(r)
}

// SPDX-License-Identifier: GPL-2.0

//! The SHA-256 of a file-mode image's segments, which the purgatory checks
//! before it enters the new kernel (`kexec_calculate_store_digests`).
//!
//! Each segment but the purgatory's own (and, with `CRASH_HOTPLUG`, the crash
//! ELF core header, which a hotplug event rewrites in place) is hashed in
//! index order: its `bufsz` bytes of data, then zeros up to `memsz`. Its
//! `{mem, memsz}` goes into the next of the purgatory's 16 regions. The
//! purgatory hashes the same regions at boot and hangs on a mismatch, so the
//! bytes hashed here must be exactly those it will find. The hash is the
//! kernel's SHA-256 library.

use super::purgatory::Loaded;
use crate::kexec::image::{Kimage, SEGMENT_MAX};
use kernel::bindings;
use kernel::prelude::*;

/// Bytes of the digest.
const DIGEST_SIZE: usize = 32;
/// Bytes of one region: `{u64 start, u64 len}`.
const REGION_SIZE: usize = 16;

/// A SHA-256 computation with the kernel's library.
struct Sha256(bindings::sha256_ctx);

impl Sha256 {
    fn new() -> Sha256 {
        // SAFETY: all-zero is a valid context to initialise.
        let mut ctx: bindings::sha256_ctx = unsafe { core::mem::zeroed() };
        // SAFETY: `ctx` is a valid context.
        unsafe { bindings::sha256_init(&mut ctx) };
        Sha256(ctx)
    }

    fn update(&mut self, data: &[u8]) {
        // SAFETY: a valid context and `data.len()` readable bytes.
        unsafe { bindings::__sha256_update(&mut self.0.ctx, data.as_ptr(), data.len()) };
    }

    fn finish(mut self) -> [u8; DIGEST_SIZE] {
        let mut out = [0u8; DIGEST_SIZE];
        // SAFETY: a valid context and room for the digest.
        unsafe { bindings::sha256_final(&mut self.0, out.as_mut_ptr()) };
        out
    }
}

/// Zeros hashed for the part of a segment past its data.
static ZEROS: [u8; 4096] = [0; 4096];

/// Hashes the segments of `image` and stores the regions and the digest in
/// the purgatory's `purgatory_sha_regions` and `purgatory_sha256_digest`.
pub(crate) fn store(image: &Kimage, purgatory: &mut Loaded) -> Result {
    let mut sha = Sha256::new();
    let mut regions = [0u8; SEGMENT_MAX * REGION_SIZE];
    let mut next = 0;
    #[cfg(CONFIG_CRASH_HOTPLUG)]
    let elfcorehdr = image.c().elfcorehdr_index;
    let c = image.c();
    let n = (c.nr_segments as usize).min(SEGMENT_MAX);
    // Segments that all live in CMA blocks are in place already: nothing is
    // copied at kexec time, so nothing can be overwritten on the way, and
    // purgatory gets no region to check (and the digest of nothing).
    let only_cma = c.segment_cma[..n].iter().all(|p| !p.is_null());
    // With kexec handover on, every segment goes to KHO's scratch memory,
    // which holds only early boot and movable allocations: no DMA can still
    // be writing there, so there is nothing for purgatory to catch either.
    // SAFETY: reads a boot-time flag.
    let kho = unsafe { bindings::kexec_rust_kho_is_enabled() };
    let skip = !image.is_crash() && (kho || only_cma);
    if skip {
        pr_debug!("kexec_file: disabling checksum verification in purgatory\n");
    }
    for i in (0..n).filter(|_| !skip) {
        let seg = &c.segment[i];
        #[cfg(CONFIG_CRASH_HOTPLUG)]
        if i as c_int == elfcorehdr {
            continue;
        }
        // SAFETY: both union members are pointers; only the address is read.
        let buf = unsafe { seg.__bindgen_anon_1.kbuf }
            .cast::<u8>()
            .cast_const();
        if core::ptr::eq(buf, purgatory.buffer()) {
            continue;
        }
        // IMA writes its measurement list into its segment at kexec time.
        #[cfg(CONFIG_IMA_KEXEC)]
        if c.is_ima_segment_index_set && i as c_ulong == c.ima_segment_index {
            continue;
        }
        if seg.bufsz != 0 {
            // SAFETY: a file-mode segment's data is `bufsz` bytes of kernel
            // memory that the load owns until the segments are copied.
            let data = unsafe { core::slice::from_raw_parts(buf, seg.bufsz) };
            // In pieces, letting others run between them: an initrd can be
            // gigabytes.
            for chunk in data.chunks(1 << 20) {
                sha.update(chunk);
                crate::kexec::page::cond_resched();
            }
        }
        let mut zeros = seg.memsz.saturating_sub(seg.bufsz);
        while zeros > 0 {
            let n = zeros.min(ZEROS.len());
            sha.update(&ZEROS[..n]);
            zeros -= n;
            crate::kexec::page::cond_resched();
        }
        let slot = &mut regions[next * REGION_SIZE..(next + 1) * REGION_SIZE];
        slot[..8].copy_from_slice(&(seg.mem as u64).to_le_bytes());
        slot[8..].copy_from_slice(&(seg.memsz as u64).to_le_bytes());
        next += 1;
    }
    let digest = sha.finish();
    purgatory.set("purgatory_sha_regions", &regions)?;
    purgatory.set("purgatory_sha256_digest", &digest)?;
    Ok(())
}

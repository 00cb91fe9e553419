// SPDX-License-Identifier: GPL-2.0
//! Hand-made elfcorehdrs for the vmcore-bad scenario.
//!
//!     vmcore-pattern badhdr CASE
//!         First kernel: builds the header of CASE in locked memory (a header
//!         page, a notes page and a data page), prints "elfcorehdr=0x..." with
//!         its physical address, and sleeps until the crash. The init script
//!         loads the crash kernel with kexec_file_load and that elfcorehdr= in
//!         its command line, which comes after, and so overrides, the one the
//!         kernel writes itself.
//!     vmcore-pattern badcheck CASE
//!         Capture kernel: prints what /proc/vmcore is, and whether all of it
//!         can be read; for "good", also checks the data page.

use super::{die, mix, u64_at, PAGE};
use kexec_logic::elfcore::{Phdr, EHDR_SIZE, EM_NATIVE, ET_CORE, PHDR_SIZE, PT_LOAD, PT_NOTE};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;

/// Every case: its name and what it does to the header.
pub const CASES: &[&str] = &[
    "good",
    "magic",
    "class32",
    "machine",
    "phnum-0",
    "phnum-huge",
    "phoff",
    "note-namesz",
    "note-past",
    "note-huge",
    "load-overlap",
    "load-empty",
    "load-wrap",
    "load-hole",
    "load-beyond",
    "load-ownram",
    "hdr-outside",
    "hdr-beyond",
];

/// Writes `v` (little-endian bytes) at `off`.
fn put(b: &mut [u8], off: usize, v: &[u8]) {
    b[off..off + v.len()].copy_from_slice(v);
}

/// One note: header, name with its NUL padded to 4, descriptor padded to 4.
fn note(out: &mut Vec<u8>, name: &str, ty: u32, desc: &[u8]) {
    out.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
    out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.resize(out.len().next_multiple_of(4), 0);
    out.extend_from_slice(desc);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// A program header at index `i` of the header page, with its data at
/// physical address `offset` (also `p_paddr`, as in an elfcorehdr).
fn phdr(h: &mut [u8], i: usize, ty: u32, offset: u64, vaddr: u64, size: u64) {
    Phdr {
        ty,
        flags: 7,
        offset,
        vaddr,
        paddr: offset,
        filesz: size,
        memsz: size,
        align: if ty == PT_NOTE { 4 } else { PAGE as u64 },
    }
    .write(h, EHDR_SIZE + i * PHDR_SIZE);
}

/// The data page's pattern.
fn data_word(w: usize) -> u64 {
    mix(0xbad_0000 + w as u64)
}

/// The crash kernel's reservation in this kernel, from /proc/iomem.
/// Where in the crash window `load-ownram` points: RAM the capture kernel
/// uses. On arm64 kexec-tools puts the capture kernel's image at the
/// window's start, which the capture kernel reserves (its own image, not
/// memory it allocates from): there the case points 48 MiB further in.
#[cfg(target_arch = "aarch64")]
const OWNRAM_OFFSET: u64 = 48 << 20;
#[cfg(not(target_arch = "aarch64"))]
const OWNRAM_OFFSET: u64 = 0;

fn crash_window() -> u64 {
    let iomem = std::fs::read_to_string("/proc/iomem").unwrap_or_else(|e| die(format!("/proc/iomem: {e}")));
    for l in iomem.lines() {
        if l.contains("Crash kernel") {
            let r = l.trim().split(' ').next().unwrap_or("");
            if let Some((a, _)) = r.split_once('-') {
                return u64::from_str_radix(a, 16).unwrap_or(0);
            }
        }
    }
    die("no Crash kernel range in /proc/iomem".into())
}

pub fn make(case: &str) {
    if !CASES.contains(&case) {
        die(format!("unknown case {case}"));
    }
    let (mem, phys) = super::locked_pages(3);
    let (hdr_pa, notes_pa, data_pa) = (phys[0], phys[1], phys[2]);
    let (h, rest) = mem.split_at_mut(PAGE);
    let (notes_page, data) = rest.split_at_mut(PAGE);

    let mut notes = Vec::new();
    note(&mut notes, "CORE", 1, &[0u8; 336]);
    note(&mut notes, "VMCOREINFO", 0, b"OSRELEASE=vmcore-bad\nPAGESIZE=4096\n");
    for (w, c) in data.chunks_exact_mut(8).enumerate() {
        c.copy_from_slice(&data_word(w).to_le_bytes());
    }

    h[0..4].copy_from_slice(b"\x7fELF");
    h[4] = 2;
    h[5] = 1;
    h[6] = 1;
    put(h, 16, &ET_CORE.to_le_bytes());
    put(h, 18, &EM_NATIVE.to_le_bytes());
    put(h, 20, &1u32.to_le_bytes());
    put(h, 32, &(EHDR_SIZE as u64).to_le_bytes());
    put(h, 52, &(EHDR_SIZE as u16).to_le_bytes());
    put(h, 54, &(PHDR_SIZE as u16).to_le_bytes());
    put(h, 56, &2u16.to_le_bytes());
    phdr(h, 0, PT_NOTE, notes_pa, 0, notes.len() as u64);
    phdr(h, 1, PT_LOAD, data_pa, 0xffff_8880_0000_0000 + data_pa, PAGE as u64);

    let mut addr = hdr_pa;
    match case {
        "good" => {}
        "magic" => h[0] = 0,
        "class32" => h[4] = 1,
        // EM_S390: foreign on every architecture the tests run on.
        "machine" => put(h, 18, &22u16.to_le_bytes()),
        "phnum-0" => put(h, 56, &0u16.to_le_bytes()),
        "phnum-huge" => put(h, 56, &0xffffu16.to_le_bytes()),
        "phoff" => put(h, 32, &0x10_0000u64.to_le_bytes()),
        "note-namesz" => put(&mut notes, 0, &0xffff_ffffu32.to_le_bytes()),
        "note-past" => put(&mut notes, 4, &8192u32.to_le_bytes()),
        "note-huge" => phdr(h, 0, PT_NOTE, notes_pa, 0, 1 << 40),
        "load-overlap" => {
            put(h, 56, &3u16.to_le_bytes());
            phdr(h, 2, PT_LOAD, data_pa, 0, PAGE as u64);
        }
        "load-empty" => {
            // A PT_LOAD of no bytes before the data page's.
            put(h, 56, &3u16.to_le_bytes());
            phdr(h, 1, PT_LOAD, data_pa, 0, 0);
            phdr(h, 2, PT_LOAD, data_pa, 0, PAGE as u64);
        }
        "load-wrap" => phdr(h, 1, PT_LOAD, u64::MAX - 0xfff, 0, 2 * PAGE as u64),
        // Within the CPU's reach but no memory there (QEMU's bus answers).
        "load-hole" => phdr(h, 1, PT_LOAD, 0x7f_0000_0000, 0, PAGE as u64),
        "load-beyond" => phdr(h, 1, PT_LOAD, 1 << 50, 0, PAGE as u64),
        "load-ownram" => phdr(h, 1, PT_LOAD, crash_window() + OWNRAM_OFFSET, 0, 16 * PAGE as u64),
        "hdr-outside" => addr = 0x7f_0000_0000,
        "hdr-beyond" => addr = 1 << 50,
        _ => unreachable!(),
    }
    notes_page[..notes.len()].copy_from_slice(&notes);
    println!("elfcorehdr={addr:#x}");
    super::sleep_forever()
}

pub fn check(case: &str) {
    let f = match File::open("/proc/vmcore") {
        Ok(f) => f,
        Err(e) => {
            println!("{case}: no /proc/vmcore ({e})");
            return;
        }
    };
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut eh = [0u8; 64];
    let phnum = match f.read_exact_at(&mut eh, 0) {
        Ok(()) => u16::from_le_bytes([eh[56], eh[57]]),
        Err(_) => 0,
    };
    let mut all = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    let mut read = "all read".to_string();
    while off < size {
        match f.read_at(&mut buf, off) {
            Ok(0) => {
                read = format!("read stops at {off}");
                break;
            }
            Ok(n) => {
                if all.len() < 64 << 20 {
                    all.extend_from_slice(&buf[..n]);
                }
                off += n as u64;
            }
            Err(e) => {
                read = format!("read at {off} fails: {e}");
                break;
            }
        }
    }
    // The whole file mapped at once must hold what read() returned.
    if read == "all read" && size > 0 && size <= 64 << 20 {
        // SAFETY: a fresh read-only shared mapping of the file, unmapped below.
        let p = unsafe {
            libc::mmap(std::ptr::null_mut(), size as usize, libc::PROT_READ, libc::MAP_SHARED, f.as_raw_fd(), 0)
        };
        if p == libc::MAP_FAILED {
            read += &format!(", mmap fails: {}", std::io::Error::last_os_error());
        } else {
            // SAFETY: `p` maps `size` readable bytes.
            let same = unsafe { std::slice::from_raw_parts(p as *const u8, size as usize) } == &all[..];
            read += if same { ", mmap the same" } else { ", mmap DIFFERS" };
            // SAFETY: unmapping our own mapping.
            unsafe { libc::munmap(p, size as usize) };
        }
    }
    let mut what = format!("{case}: /proc/vmcore of {size} bytes, {phnum} program headers, {read}");
    if case == "good" {
        // The one PT_LOAD (the data page) is the last page of the file.
        let mut page = vec![0u8; PAGE];
        let ok = size >= PAGE as u64
            && f.read_exact_at(&mut page, size - PAGE as u64).is_ok()
            && page.chunks_exact(8).enumerate().all(|(w, c)| u64_at(c, 0) == data_word(w));
        what += if ok { ", data page intact" } else { ", data page WRONG" };
    }
    println!("{what}");
}

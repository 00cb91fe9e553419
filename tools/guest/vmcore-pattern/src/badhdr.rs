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
use std::fs::File;
use std::os::unix::fs::FileExt;

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
    "load-wrap",
    "load-beyond",
    "load-ownram",
    "hdr-outside",
    "hdr-beyond",
];

fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// One note: header, name with its NUL padded to 4, descriptor padded to 4.
fn note(out: &mut Vec<u8>, name: &str, ty: u32, desc: &[u8]) {
    let at = out.len();
    out.resize(at + 12, 0);
    put32(out, at, name.len() as u32 + 1);
    put32(out, at + 4, desc.len() as u32);
    put32(out, at + 8, ty);
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.resize(out.len().next_multiple_of(4), 0);
    out.extend_from_slice(desc);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// A program header at index `i` of the header page.
fn phdr(h: &mut [u8], i: usize, ty: u32, offset: u64, vaddr: u64, size: u64) {
    let at = 64 + i * 56;
    put32(h, at, ty);
    put32(h, at + 4, 7);
    put64(h, at + 8, offset);
    put64(h, at + 16, vaddr);
    put64(h, at + 24, offset);
    put64(h, at + 32, size);
    put64(h, at + 40, size);
    put64(h, at + 48, if ty == 4 { 4 } else { PAGE as u64 });
}

/// The data page's pattern.
fn data_word(w: usize) -> u64 {
    mix(0xbad_0000 + w as u64)
}

/// The crash kernel's reservation in this kernel, from /proc/iomem.
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
    put16(h, 16, 4);
    put16(h, 18, 62);
    put32(h, 20, 1);
    put64(h, 32, 64);
    put16(h, 52, 64);
    put16(h, 54, 56);
    put16(h, 56, 2);
    phdr(h, 0, 4, notes_pa, 0, notes.len() as u64);
    phdr(h, 1, 1, data_pa, 0xffff_8880_0000_0000 + data_pa, PAGE as u64);

    let mut addr = hdr_pa;
    match case {
        "good" => {}
        "magic" => h[0] = 0,
        "class32" => h[4] = 1,
        "machine" => put16(h, 18, 183),
        "phnum-0" => put16(h, 56, 0),
        "phnum-huge" => put16(h, 56, 0xffff),
        "phoff" => put64(h, 32, 0x10_0000),
        "note-namesz" => put32(&mut notes, 0, 0xffff_ffff),
        "note-past" => put32(&mut notes, 4, 8192),
        "note-huge" => put64(h, 64 + 40, 1 << 40),
        "load-overlap" => {
            put16(h, 56, 3);
            phdr(h, 2, 1, data_pa, 0, PAGE as u64);
        }
        "load-wrap" => phdr(h, 1, 1, u64::MAX - 0xfff, 0, 2 * PAGE as u64),
        "load-beyond" => phdr(h, 1, 1, 1 << 50, 0, PAGE as u64),
        "load-ownram" => phdr(h, 1, 1, crash_window(), 0, 16 * PAGE as u64),
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
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    let mut read = "all read".to_string();
    while off < size {
        match f.read_at(&mut buf, off) {
            Ok(0) => {
                read = format!("read stops at {off}");
                break;
            }
            Ok(n) => off += n as u64,
            Err(e) => {
                read = format!("read at {off} fails: {e}");
                break;
            }
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

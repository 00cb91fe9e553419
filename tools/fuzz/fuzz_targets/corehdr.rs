// SPDX-License-Identifier: GPL-2.0

//! The capture kernel's elfcorehdr parser and /proc/vmcore layout
//! (rust/corehdr.rs), driven as rust/vmcore/dump.rs drives it.
//!
//! Input: the crashed kernel's memory, from physical address 0, with the
//! elfcorehdr at 0 and `elfcorehdr=` giving the input's length as its size;
//! memory past the input reads as zeros. A `PT_NOTE`'s notes are read from
//! there, as `Dump::read` reads them.
//!
//! Invariants: no panic or overflow whatever the bytes; every refusal names
//! its defect; an accepted header gives a layout whose parts are page
//! multiples in order (headers, notes, then the `PT_LOAD`s back to back, each
//! a whole number of pages from a page-aligned address, ending at the file's
//! size); the new header is itself accepted, has one `PT_NOTE` first and the
//! same `PT_LOAD`s, each inside its range of the file; `load_at` finds the
//! range that holds each file offset.

#![no_main]

use kexec_logic::corehdr::{
    check_ehdr, check_phdrs, load_at, loads, notes_size, widened, write_header, Load, MAX_DUMP, MAX_NOTE_SEGMENT,
    PAGE_SIZE,
};
use kexec_logic::elfcore::{Phdr, EHDR_SIZE, EM_X86_64, PHDR_SIZE, PT_LOAD, PT_NOTE};
use libfuzzer_sys::fuzz_target;
use std::fmt::Write;

/// `len` bytes of old memory at `at`: the input, then zeros.
fn read_old(mem: &[u8], at: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    if let Ok(at) = usize::try_from(at) {
        if at < mem.len() {
            let n = (mem.len() - at).min(len);
            v[..n].copy_from_slice(&mem[at..at + n]);
        }
    }
    v
}

fn message(d: &impl std::fmt::Display) -> String {
    let mut s = String::new();
    write!(s, "{d}").unwrap();
    s
}

fuzz_target!(|mem: &[u8]| {
    let segment = mem.len() as u64;
    let ehdr = match check_ehdr(&read_old(mem, 0, EHDR_SIZE), segment, EM_X86_64) {
        Ok(e) => e,
        Err(d) => {
            assert!(!message(&d).is_empty());
            assert_eq!(d.errno(), 22);
            return;
        }
    };
    assert!(ehdr.phnum > 0 && ehdr.headers_size() <= segment);
    let old = read_old(mem, 0, ehdr.headers_size() as usize);

    let mut phdrs = Vec::new();
    if let Err(d) = check_phdrs(&old, &ehdr, |i, p| {
        assert_eq!(i, phdrs.len());
        phdrs.push(*p);
    }) {
        assert!(!message(&d).is_empty());
        return;
    }
    assert_eq!(phdrs.len(), ehdr.phnum as usize);
    let mut total = 0u64;
    let mut seen_load = false;
    for (i, p) in phdrs.iter().enumerate() {
        assert_eq!(Some(*p), Phdr::read(mem, EHDR_SIZE + i * PHDR_SIZE));
        if p.ty == PT_NOTE || p.ty == PT_LOAD {
            let (s, e) = widened(p);
            assert!(s <= p.offset && p.offset + p.memsz <= e && s % PAGE_SIZE == 0 && e % PAGE_SIZE == 0);
            if p.ty == PT_LOAD {
                total += e - s;
                seen_load = true;
            } else {
                assert!(!seen_load && p.memsz <= MAX_NOTE_SEGMENT);
            }
        }
    }
    assert!(total <= MAX_DUMP);

    // The notes, each PT_NOTE read whole and kept up to its real size.
    let mut notes = Vec::new();
    let mut note_sizes = Vec::new();
    for p in phdrs.iter().filter(|p| p.ty == PT_NOTE) {
        let seg = read_old(mem, p.offset, p.memsz as usize);
        let (real, _dropped) = notes_size(&seg);
        assert!(real <= p.memsz && real % 4 == 0);
        notes.extend_from_slice(&seg[..real as usize]);
        note_sizes.push(real);
    }

    let room = (EHDR_SIZE + (ehdr.phnum as usize + 1) * PHDR_SIZE).next_multiple_of(PAGE_SIZE as usize);
    let mut header = vec![0xaau8; room];
    let layout = match write_header(&old, &ehdr, &note_sizes, &mut header) {
        Ok(l) => l,
        Err(d) => {
            assert!(!message(&d).is_empty());
            return;
        }
    };
    let nr_notes = note_sizes.len();
    let nr_loads = phdrs.iter().filter(|p| p.ty == PT_LOAD).count();
    assert_eq!(layout.phnum as usize, ehdr.phnum as usize - nr_notes + 1);
    assert_eq!(layout.headers % PAGE_SIZE, 0);
    assert!(layout.headers >= (EHDR_SIZE + layout.phnum as usize * PHDR_SIZE) as u64);
    assert!(layout.headers <= room as u64);
    assert_eq!(layout.notes, notes.len() as u64);
    assert_eq!(layout.notes_padded, layout.notes.next_multiple_of(PAGE_SIZE));
    let front = layout.headers + layout.notes_padded;
    assert!(layout.size >= front);
    // The front buffer, as Dump::read fills it.
    let mut buf = vec![0u8; front as usize];
    let h = layout.headers as usize;
    buf[..h].copy_from_slice(&header[..h]);
    buf[h..h + notes.len()].copy_from_slice(&notes);

    // The PT_LOADs: back to back from the front, whole pages, ending at size.
    let mut ls: Vec<Load> = Vec::new();
    loads(&old, &ehdr, &layout, |l| ls.push(l));
    assert!(ls.len() <= nr_loads);
    let mut at = front;
    for l in &ls {
        assert!(l.size > 0 && l.size % PAGE_SIZE == 0 && l.start % PAGE_SIZE == 0, "{l:x?}");
        assert_eq!(l.offset, at, "PT_LOADs not back to back: {ls:x?}");
        assert!(l.start.checked_add(l.size).is_some());
        at = l.offset + l.size;
    }
    assert_eq!(at, layout.size, "the file does not end with the last PT_LOAD");

    // The new header is accepted: one PT_NOTE, first; the same PT_LOADs,
    // each inside its range of the file.
    let again = check_ehdr(&buf, front, EM_X86_64).expect("own header refused");
    assert_eq!(again.phnum, layout.phnum);
    let mut new = Vec::new();
    check_phdrs(&buf, &again, |_, p| new.push(*p)).expect("own program headers refused");
    assert_eq!(new.len(), layout.phnum as usize);
    assert_eq!(
        (new[0].ty, new[0].offset, new[0].filesz, new[0].memsz),
        (PT_NOTE, layout.headers, layout.notes, layout.notes)
    );
    assert!(new[1..].iter().all(|p| p.ty != PT_NOTE));
    let old_rest: Vec<&Phdr> = phdrs.iter().filter(|p| p.ty != PT_NOTE).collect();
    assert_eq!(old_rest.len(), new.len() - 1);
    let mut k = 0;
    for (o, n) in old_rest.iter().zip(&new[1..]) {
        if o.ty != PT_LOAD {
            assert_eq!(*o, n);
            continue;
        }
        assert_eq!(
            (o.ty, o.vaddr, o.paddr, o.filesz, o.memsz, o.flags),
            (n.ty, n.vaddr, n.paddr, n.filesz, n.memsz, n.flags)
        );
        assert!(n.offset >= front && n.offset + n.memsz <= layout.size, "{n:x?} outside the file");
        let (s, e) = widened(o);
        if e > s {
            // The data sits at its offset within its first page.
            let l = ls[k];
            assert_eq!((l.start, l.size), (s, e - s));
            assert_eq!(n.offset, l.offset + (o.offset - s));
            k += 1;
        }
    }
    assert_eq!(k, ls.len());

    // load_at: every offset maps to the range that holds it.
    let mut probes = vec![0, front.saturating_sub(1), front, layout.size, layout.size.saturating_sub(1), u64::MAX];
    for l in &ls {
        probes.extend([l.offset, l.offset + l.size - 1, l.offset + l.size]);
    }
    for pos in probes {
        let i = load_at(&ls, pos);
        assert!(ls[..i].iter().all(|l| l.offset + l.size <= pos));
        if i < ls.len() {
            assert!(ls[i].offset + ls[i].size > pos);
        }
        if pos >= front && pos < layout.size {
            assert!(i < ls.len() && ls[i].offset <= pos, "no range holds {pos:#x}");
        }
    }
});

// SPDX-License-Identifier: GPL-2.0

//! The crashed kernel's side of a dump (rust/elfcore.rs): RAM ranges cut as a
//! crash load cuts them, the elfcorehdr written for arbitrary CPU notes,
//! VMCOREINFO, kernel map and ranges, and the per-CPU notes.
//!
//! Invariants: no panic or overflow; `exclude` gives what an interval model
//! gives (sorted, disjoint, the cut range gone) or, on `NoRoom`, changes
//! nothing; the header is written only into a buffer of `size()` bytes and
//! reads back, with the `object` crate, field for field; the capture kernel's
//! parser (rust/corehdr.rs) accepts it whenever its ranges are sane and lays
//! it out; notes read back with `corehdr::notes_size`.

#![no_main]

use kexec_logic::corehdr;
use kexec_logic::elfcore::{
    append_note, exclude, final_note, note_size, write_core_header, CoreLayout, KernelMap, NoRoom, Range, EHDR_SIZE,
    EM_X86_64, HEADER_ALIGN, NHDR_SIZE, NT_PRSTATUS, PF_RWX, PHDR_SIZE, PT_LOAD, PT_NOTE,
};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use object::elf::{FileHeader64, ET_CORE};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian as LE;

/// A physical address: mostly page-aligned and below 2^46, sometimes anything.
fn addr(u: &mut Unstructured<'_>) -> Result<u64> {
    Ok(match u.int_in_range(0..=5u8)? {
        0 => u.arbitrary()?,
        1 => u64::MAX - u.int_in_range(0..=0x10000)?,
        2 => u.int_in_range(0..=(1u64 << 46))?,
        _ => u.int_in_range(0..=(1u64 << 34))? * 4096,
    })
}

/// `ranges` minus `[a, b]`, by intervals.
fn model_exclude(ranges: &[Range], a: u64, b: u64) -> Vec<Range> {
    let mut out = Vec::new();
    for r in ranges {
        if r.end < a || r.start > b {
            out.push(*r);
            continue;
        }
        if r.start < a {
            out.push(Range { start: r.start, end: a - 1 });
        }
        if r.end > b {
            out.push(Range { start: b + 1, end: r.end });
        }
    }
    out
}

fn check_notes(u: &mut Unstructured<'_>) -> Result<()> {
    // Notes as crash_save_cpu() and the VMCOREINFO note write them.
    let mut buf = vec![0xa5u8; u.int_in_range(0..=1024)?];
    let mut off = 0;
    let mut sizes = Vec::new();
    for _ in 0..u.int_in_range(0..=4)? {
        let name: &[u8] = match u.int_in_range(0..=2u8)? {
            0 => b"CORE",
            1 => b"VMCOREINFO",
            _ => {
                let n = u.int_in_range(0..=12)?;
                u.bytes(n)?
            }
        };
        let n = u.int_in_range(0..=400)?;
        let desc = u.bytes(n)?;
        let ty = if u.arbitrary()? { NT_PRSTATUS } else { u.arbitrary()? };
        let before = buf.clone();
        match append_note(&mut buf, off, name, ty, desc) {
            Some(end) => {
                assert_eq!(end, off + note_size(name.len(), desc.len()));
                assert_eq!(&buf[off + NHDR_SIZE..off + NHDR_SIZE + name.len()], name);
                assert_eq!(buf[off + NHDR_SIZE + name.len()], 0, "the name's NUL");
                sizes.push(end - off);
                off = end;
            }
            None => {
                assert!(off + note_size(name.len(), desc.len()) > buf.len());
                assert!(buf == before, "a note that does not fit was written");
                break;
            }
        }
    }
    let Some(end) = final_note(&mut buf, off) else {
        assert!(off + NHDR_SIZE > buf.len());
        return Ok(());
    };
    assert_eq!(end, off + NHDR_SIZE);
    // The capture kernel finds the same notes (each name has its NUL, so
    // namesz is never 0 before the final note).
    assert_eq!(corehdr::notes_size(&buf[..end]), (off as u64, false));
    assert_eq!(corehdr::notes_size(&buf[..off]), (off as u64, false));
    Ok(())
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    check_notes(u)?;

    // Sorted, disjoint RAM ranges, with some free slots for splits.
    let mut ranges = Vec::new();
    let mut at = addr(u)?;
    for _ in 0..u.int_in_range(0..=24)? {
        let len = if u.ratio(1, 8)? { u.arbitrary::<u64>()? } else { u.int_in_range(0..=(1u64 << 32))? };
        let Some(end) = at.checked_add(len) else { break };
        ranges.push(Range { start: at, end });
        let gap = if u.ratio(1, 8)? { u.arbitrary::<u64>()? } else { u.int_in_range(0..=(1u64 << 30))? };
        match end.checked_add(2).and_then(|e| e.checked_add(gap)) {
            Some(next) => at = next,
            None => break,
        }
    }
    let slack = u.int_in_range(0..=3usize)?;
    let mut buf = ranges.clone();
    buf.resize(ranges.len() + slack, Range { start: 0, end: 0 });
    let mut len = ranges.len();
    // The cuts: the first MiB, the reservation, anything.
    for _ in 0..u.int_in_range(0..=4)? {
        let (mut a, mut b) = match u.int_in_range(0..=3u8)? {
            0 => (0, 0xf_ffff),
            1 => {
                // Inside one of the ranges, often.
                let r = if len > 0 { buf[u.choose_index(len)?] } else { Range { start: 0, end: 0 } };
                let a = u.int_in_range(r.start..=r.end)?;
                (a, u.int_in_range(a..=r.end)?)
            }
            _ => (addr(u)?, addr(u)?),
        };
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        let old = buf[..len].to_vec();
        let all = buf.clone();
        match exclude(&mut buf, &mut len, a, b) {
            Ok(()) => {
                assert_eq!(buf[..len], model_exclude(&old, a, b)[..], "{old:x?} minus {a:#x}..={b:#x}");
                assert!(buf[..len].windows(2).all(|w| w[0].end < w[1].start));
            }
            Err(NoRoom) => {
                assert_eq!(len, buf.len(), "NoRoom with a free slot");
                assert!(old.iter().any(|r| r.start < a && b < r.end), "NoRoom without a split");
                assert!(buf == all, "NoRoom changed the ranges");
            }
        }
    }
    let ram = &buf[..len];

    // The header.
    let ncpus = u.int_in_range(0..=64usize)?;
    let mut cpu_notes = Vec::with_capacity(ncpus);
    for _ in 0..ncpus {
        cpu_notes.push(addr(u)?);
    }
    let cpu_note_size = if u.ratio(1, 8)? { u.arbitrary()? } else { u.int_in_range(0..=0x1000)? };
    let vmcoreinfo = (addr(u)?, if u.ratio(1, 8)? { u.arbitrary()? } else { 4132 });
    let kernel_map =
        if u.arbitrary()? { Some(KernelMap { vaddr: addr(u)?, paddr: addr(u)?, size: addr(u)? }) } else { None };
    let page_offset = if u.arbitrary()? { 0xffff_8880_0000_0000 } else { u.arbitrary()? };
    let layout = CoreLayout { cpu_notes: &cpu_notes, cpu_note_size, vmcoreinfo, kernel_map, ram, page_offset };
    let size = layout.size();
    let phnum = layout.phnum();
    assert_eq!(phnum, ncpus + 1 + kernel_map.is_some() as usize + ram.len());
    assert!(size.is_multiple_of(HEADER_ALIGN) && size >= EHDR_SIZE + phnum * PHDR_SIZE);
    let short = u.int_in_range(0..=size)?;
    let mut b = vec![0xaau8; short];
    assert_eq!(write_core_header(&mut b, &layout), (short == size).then_some(size));
    let mut b = vec![0xaau8; size + u.int_in_range(0..=64)?];
    assert_eq!(write_core_header(&mut b, &layout), Some(size));
    assert!(b[size..].iter().all(|&x| x == 0xaa), "written past size()");
    let b = &b[..size];
    assert!(b[EHDR_SIZE + phnum * PHDR_SIZE..].iter().all(|&x| x == 0), "padding is not zero");

    // Read back with an independent ELF reader.
    let hdr = FileHeader64::<LE>::parse(b).expect("object refuses the header");
    let e = hdr.endian().unwrap();
    assert_eq!(hdr.e_type(e), ET_CORE);
    assert_eq!(hdr.e_machine(e), EM_X86_64);
    let phdrs = hdr.program_headers(e, b).expect("object refuses the program headers");
    assert_eq!(phdrs.len(), phnum);
    let mut want: Vec<(u32, u32, u64, u64, u64)> = Vec::new();
    for &p in &cpu_notes {
        want.push((PT_NOTE, 0, p, 0, cpu_note_size));
    }
    want.push((PT_NOTE, 0, vmcoreinfo.0, 0, vmcoreinfo.1));
    if let Some(k) = kernel_map {
        want.push((PT_LOAD, PF_RWX, k.paddr, k.vaddr, k.size));
    }
    for r in ram {
        want.push((
            PT_LOAD,
            PF_RWX,
            r.start,
            page_offset.wrapping_add(r.start),
            r.end.wrapping_sub(r.start).wrapping_add(1),
        ));
    }
    for (p, w) in phdrs.iter().zip(&want) {
        let got = (p.p_type(e), p.p_flags(e), p.p_paddr(e), p.p_vaddr(e), p.p_filesz(e));
        assert_eq!(got, *w);
        assert_eq!((p.p_offset(e), p.p_memsz(e), p.p_align(e)), (w.2, w.4, 0));
    }

    // The capture kernel's parser takes it whenever the ranges are sane.
    let ehdr = corehdr::check_ehdr(b, size as u64, EM_X86_64).expect("corehdr refuses the ELF header");
    assert_eq!(ehdr.phnum as usize, phnum);
    let wraps = |start: u64, len: u64| start.checked_add(len).and_then(|e| e.checked_add(4095)).is_none();
    let sane = want.iter().all(|w| !wraps(w.2, w.4) && (w.0 != PT_NOTE || w.4 <= corehdr::MAX_NOTE_SEGMENT))
        && want
            .iter()
            .filter(|w| w.0 == PT_LOAD)
            .map(|w| (w.2 + w.4).next_multiple_of(4096) - (w.2 & !4095))
            .try_fold(0u64, |acc, n| acc.checked_add(n).filter(|&t| t <= corehdr::MAX_DUMP))
            .is_some();
    let checked = corehdr::check_phdrs(b, &ehdr, |i, p| {
        assert_eq!((p.ty, p.offset, p.filesz), (want[i].0, want[i].2, want[i].4));
    });
    if sane {
        checked.expect("corehdr refuses sane program headers");
        let note_sizes: Vec<u64> = want.iter().filter(|w| w.0 == PT_NOTE).map(|w| w.4.min(0x800)).collect();
        let mut out = vec![0u8; (EHDR_SIZE + (phnum + 1) * PHDR_SIZE).next_multiple_of(4096)];
        let l = corehdr::write_header(b, &ehdr, &note_sizes, &mut out).expect("no layout");
        assert_eq!(l.phnum as usize, phnum - ncpus);
        assert_eq!(l.notes, note_sizes.iter().sum::<u64>());
        let mut n = 0;
        corehdr::loads(b, &ehdr, &l, |_| n += 1);
        assert!(n <= ram.len() + kernel_map.is_some() as usize);
    } else {
        assert!(checked.is_err(), "corehdr accepts a wrapping or oversized range");
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});

// SPDX-License-Identifier: GPL-2.0

//! The purgatory's layout and symbols (rust/purgatory.rs: `Object`,
//! `buf_layout`, `place_sections`, `find_symbol`) against a model of
//! `kexec_purgatory_setup_kbuf`, `_setup_sechdrs` and `_find_symbol` from
//! kernel/kexec_file.c that reads the object with the `object` crate.
//!
//! Small objects are built here, by hand (text, rodata, data and bss with odd
//! alignments, global and local symbols, with and without `purgatory_start`)
//! and at random; the real purgatory of the kernel build is checked too when
//! it is there.

use kexec_logic::purgatory::{
    buf_layout, place_sections, BufLayout, Error, Object, Shdr, Sym, SHF_ALLOC, SHF_EXECINSTR,
    SHT_NOBITS, SHT_SYMTAB,
};
use object::elf::{FileHeader64, SectionHeader64};
use object::read::elf::{FileHeader, SectionHeader, Sym as _, SymbolTable};
use object::{LittleEndian as LE, SectionIndex};

const SHT_PROGBITS: u32 = 1;
const SHT_STRTAB: u32 = 3;
const SHF_WRITE: u64 = 1;
const STB_LOCAL: u8 = 0;
const STB_GLOBAL: u8 = 1;
const STB_WEAK: u8 = 2;
const REAL: &str = "/var/cache/kexec-rust/build/rust/arch/x86/purgatory/purgatory.ro";

/// A section to build: its header fields and, unless it is bss, its bytes.
#[derive(Clone, Debug)]
struct Sec {
    name: String,
    kind: u32,
    flags: u64,
    addr: u64,
    align: u64,
    data: Vec<u8>,
    /// `sh_size` of a bss section (the others' is their data's length).
    nobits: u64,
    link: u32,
    info: u32,
    entsize: u64,
}

fn sec(name: &str, kind: u32, flags: u64, align: u64, size: usize) -> Sec {
    // Recognisable bytes: each section's are different.
    let seed = name
        .bytes()
        .fold(7u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
    Sec {
        name: name.into(),
        kind,
        flags,
        addr: 0,
        align,
        data: (0..size).map(|i| seed.wrapping_add(i as u8)).collect(),
        nobits: 0,
        link: 0,
        info: 0,
        entsize: 0,
    }
}

fn text(name: &str, align: u64, size: usize) -> Sec {
    sec(name, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, align, size)
}

fn rodata(name: &str, align: u64, size: usize) -> Sec {
    sec(name, SHT_PROGBITS, SHF_ALLOC, align, size)
}

fn data(name: &str, align: u64, size: usize) -> Sec {
    sec(name, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, align, size)
}

fn bss(name: &str, align: u64, size: u64) -> Sec {
    let mut s = sec(name, SHT_NOBITS, SHF_ALLOC | SHF_WRITE, align, 0);
    s.nobits = size;
    s
}

fn other(name: &str, size: usize) -> Sec {
    sec(name, SHT_PROGBITS, 0, 1, size)
}

/// A symbol: name, binding, section index, value, size.
type Symbol<'a> = (&'a str, u8, u16, u64, u64);

/// A symbol table and its string table, to go at indices `at` and `at + 1`.
fn symtab(syms: &[Symbol<'_>], at: u32) -> [Sec; 2] {
    let mut strings = vec![0u8];
    let mut table = vec![0u8; 24];
    for &(name, bind, shndx, value, size) in syms {
        let st_name = strings.len() as u32;
        strings.extend_from_slice(name.as_bytes());
        strings.push(0);
        table.extend_from_slice(&st_name.to_le_bytes());
        table.push(bind << 4);
        table.push(0);
        table.extend_from_slice(&shndx.to_le_bytes());
        table.extend_from_slice(&value.to_le_bytes());
        table.extend_from_slice(&size.to_le_bytes());
    }
    let mut t = sec(".symtab", SHT_SYMTAB, 0, 8, 0);
    t.data = table;
    t.link = at + 1;
    t.info = 1;
    t.entsize = 24;
    let mut s = sec(".strtab", SHT_STRTAB, 0, 1, 0);
    s.data = strings;
    [t, s]
}

/// An ELF64 x86_64 relocatable object: section 0 is null, `secs` are 1 to
/// n, then the section name table.
fn build(entry: u64, secs: &[Sec]) -> Vec<u8> {
    let mut names = vec![0u8];
    let mut name_at = Vec::new();
    for s in secs.iter().map(|s| s.name.as_str()).chain([".shstrtab"]) {
        name_at.push(names.len() as u32);
        names.extend_from_slice(s.as_bytes());
        names.push(0);
    }
    let mut shstrtab = sec(".shstrtab", SHT_STRTAB, 0, 1, 0);
    shstrtab.data = names;
    let all: Vec<&Sec> = secs.iter().chain([&shstrtab]).collect();

    let mut out = vec![0u8; 64];
    let mut offsets = Vec::new();
    for s in &all {
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        offsets.push(out.len() as u64);
        if s.kind != SHT_NOBITS {
            out.extend_from_slice(&s.data);
        }
    }
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let shoff = out.len() as u64;
    out.extend_from_slice(&[0u8; 64]);
    for (i, s) in all.iter().enumerate() {
        let size = if s.kind == SHT_NOBITS {
            s.nobits
        } else {
            s.data.len() as u64
        };
        out.extend_from_slice(&name_at[i].to_le_bytes());
        out.extend_from_slice(&s.kind.to_le_bytes());
        out.extend_from_slice(&s.flags.to_le_bytes());
        out.extend_from_slice(&s.addr.to_le_bytes());
        out.extend_from_slice(&offsets[i].to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&s.link.to_le_bytes());
        out.extend_from_slice(&s.info.to_le_bytes());
        out.extend_from_slice(&s.align.to_le_bytes());
        out.extend_from_slice(&s.entsize.to_le_bytes());
    }
    let shnum = all.len() as u16 + 1;
    let h = &mut out[..64];
    h[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    h[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    h[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[24..32].copy_from_slice(&entry.to_le_bytes());
    h[40..48].copy_from_slice(&shoff.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes());
    h[58..60].copy_from_slice(&64u16.to_le_bytes());
    h[60..62].copy_from_slice(&shnum.to_le_bytes());
    h[62..64].copy_from_slice(&(shnum - 1).to_le_bytes());
    out
}

// The model: the C functions over the section headers the `object` crate reads.

type Headers<'a> = &'a [SectionHeader64<LE>];

fn headers(bytes: &[u8]) -> (&FileHeader64<LE>, Headers<'_>) {
    let h = FileHeader64::<LE>::parse(bytes).expect("the object crate reads the ELF header");
    let s = h
        .section_headers(LE, bytes)
        .expect("and the section headers");
    (h, s)
}

/// `ALIGN(x, a)` of the kernel, 0 for `a == 0` as in C; panics on overflow,
/// which the generated objects never reach.
fn c_align(x: u64, a: u64) -> u64 {
    let mask = a.wrapping_sub(1);
    x.checked_add(mask).expect("model overflow") & !mask
}

/// `kexec_purgatory_setup_kbuf`: bufsz, memsz, buf_align.
fn model_kbuf(sh: Headers<'_>) -> BufLayout {
    let (mut align, mut bss_align, mut bufsz, mut bss_sz) = (1u64, 1u64, 0u64, 0u64);
    for s in sh {
        if s.sh_flags(LE) & SHF_ALLOC == 0 {
            continue;
        }
        let a = s.sh_addralign(LE);
        if s.sh_type(LE) != SHT_NOBITS {
            if align < a {
                align = a;
            }
            bufsz = c_align(bufsz, a) + s.sh_size(LE);
        } else {
            if bss_align < a {
                bss_align = a;
            }
            bss_sz = c_align(bss_sz, a) + s.sh_size(LE);
        }
    }
    bufsz = c_align(bufsz, bss_align);
    if align < bss_align {
        align = bss_align;
    }
    BufLayout {
        bufsz,
        memsz: bufsz + bss_sz,
        align,
    }
}

/// `kexec_purgatory_find_symbol`.
fn model_find(bytes: &[u8], name: &str) -> Option<Sym> {
    let h = FileHeader64::<LE>::parse(bytes).ok()?;
    let sections = h.sections(LE, bytes).ok()?;
    let shnum = sections.len();
    for (i, s) in sections.iter().enumerate() {
        if s.sh_type(LE) != SHT_SYMTAB || s.sh_link(LE) as usize >= shnum {
            continue;
        }
        let table =
            SymbolTable::<FileHeader64<LE>, &[u8]>::parse(LE, bytes, &sections, SectionIndex(i), s)
                .ok()?;
        for sym in table.symbols() {
            if sym.st_bind() != STB_GLOBAL {
                continue;
            }
            if sym.name(LE, table.strings()).ok() != Some(name.as_bytes()) {
                continue;
            }
            let shndx = sym.st_shndx(LE);
            if shndx == 0 || shndx as usize >= shnum {
                return None;
            }
            return Some(Sym {
                shndx,
                value: sym.st_value(LE),
                size: sym.st_size(LE),
            });
        }
    }
    None
}

/// `kexec_purgatory_setup_sechdrs` with `kbuf->mem == mem`: each section's
/// (sh_addr, sh_offset) and `image->start`; also copies the sections into a
/// buffer of `bufsz` bytes, as C does.
fn model_sechdrs(bytes: &[u8], mem: u64) -> (Vec<(u64, u64)>, u64, Vec<u8>) {
    let (h, sh) = headers(bytes);
    let kbuf = model_kbuf(sh);
    let mut buf = vec![0u8; kbuf.bufsz as usize];
    let mut out: Vec<(u64, u64)> = sh
        .iter()
        .map(|s| (s.sh_addr(LE), s.sh_offset(LE)))
        .collect();
    let mut offset = 0u64;
    let mut bss_addr = mem + kbuf.bufsz;
    let e_entry = h.e_entry(LE);
    let mut start = e_entry;
    let entry_sym = model_find(bytes, "purgatory_start");
    let mut start_fixed = false;
    for (i, s) in sh.iter().enumerate() {
        if s.sh_flags(LE) & SHF_ALLOC == 0 {
            continue;
        }
        let align = s.sh_addralign(LE);
        if s.sh_type(LE) == SHT_NOBITS {
            bss_addr = c_align(bss_addr, align);
            out[i].0 = bss_addr;
            bss_addr += s.sh_size(LE);
            continue;
        }
        offset = c_align(offset, align);
        let exec = s.sh_flags(LE) & SHF_EXECINSTR != 0;
        if let Some(sym) = entry_sym {
            if !start_fixed && i == sym.shndx as usize && exec && sym.value < s.sh_size(LE) {
                start = mem + offset + sym.value;
                start_fixed = true;
            }
        }
        let (addr, size) = (s.sh_addr(LE), s.sh_size(LE));
        if !start_fixed
            && exec
            && e_entry >= addr
            && e_entry < addr.wrapping_add(size)
            && start == e_entry
        {
            start -= addr;
            start += mem + offset;
            start_fixed = true;
        }
        let src = &bytes[s.sh_offset(LE) as usize..][..size as usize];
        buf[offset as usize..][..size as usize].copy_from_slice(src);
        out[i] = (mem + offset, offset);
        offset += size;
    }
    (out, start, buf)
}

/// Runs `place_sections` and the copy the kernel makes; the headers, entry
/// and buffer.
fn place(obj: &Object<'_>, mem: u64) -> Result<(Vec<Shdr>, u64, Vec<u8>), Error> {
    let mut out = vec![Shdr::default(); obj.shnum()];
    let start = place_sections(obj, mem, &mut out)?;
    let mut buf = vec![0u8; buf_layout(obj).bufsz as usize];
    for (i, w) in out.iter().enumerate() {
        let o = obj.shdr(i).unwrap();
        if o.flags & SHF_ALLOC == 0 {
            assert_eq!(*w, o, "section {i} is not placed");
            continue;
        }
        if o.kind == SHT_NOBITS {
            assert_eq!(
                *w,
                Shdr { addr: w.addr, ..o },
                "bss section {i} only gets an address"
            );
            continue;
        }
        let src = obj
            .bytes_at(o.offset, o.size)
            .expect("parse checked the data");
        buf[w.offset as usize..][..w.size as usize].copy_from_slice(src);
    }
    Ok((out, start, buf))
}

/// The Rust functions give the model's layout, addresses, entry and bytes,
/// and the placement is sane: every allocated section inside the segment,
/// aligned, the sections with data in the buffer without overlapping.
fn check_against_model(bytes: &[u8], mem: u64) -> (Vec<Shdr>, u64) {
    let obj = Object::parse(bytes).expect("parses");
    let (_, sh) = headers(bytes);
    let layout = buf_layout(&obj);
    assert_eq!(layout, model_kbuf(sh));
    let (out, start, buf) = place(&obj, mem).expect("places");
    let (want, want_start, want_buf) = model_sechdrs(bytes, mem);
    assert_eq!(start, want_start, "entry");
    assert_eq!(buf, want_buf, "buffer");
    for (i, w) in out.iter().enumerate() {
        assert_eq!((w.addr, w.offset), want[i], "section {i}");
        let o = obj.shdr(i).unwrap();
        assert_eq!(
            (w.name, w.kind, w.flags, w.size),
            (o.name, o.kind, o.flags, o.size)
        );
        assert_eq!(
            (w.link, w.info, w.addralign, w.entsize),
            (o.link, o.info, o.addralign, o.entsize)
        );
    }
    let placed: Vec<&Shdr> = out.iter().filter(|s| s.flags & SHF_ALLOC != 0).collect();
    for (k, s) in placed.iter().enumerate() {
        let a = s.addralign.max(1);
        if a.is_power_of_two() {
            assert_eq!(s.addr % a, 0, "{s:?} aligned");
        }
        assert!(
            s.addr >= mem && s.addr + s.size <= mem + layout.memsz,
            "{s:?} in the segment"
        );
        if s.kind != SHT_NOBITS {
            assert_eq!(s.addr, mem + s.offset);
            assert!(s.offset + s.size <= layout.bufsz);
        } else {
            assert!(s.addr >= mem + layout.bufsz, "bss after the data");
        }
        for t in &placed[..k] {
            assert!(
                s.size == 0
                    || t.size == 0
                    || s.addr + s.size <= t.addr
                    || t.addr + t.size <= s.addr,
                "{s:?} overlaps {t:?}"
            );
        }
    }
    (out, start)
}

/// text (align 16), rodata (32), data (4096), bss (64, then 4096), a
/// non-allocated section, string rodata (1), more text; symbols.
fn sample(syms: &[Symbol<'_>], entry: u64) -> Vec<u8> {
    let mut secs = vec![
        text(".text", 16, 0x123),            // 1
        rodata(".rodata", 32, 0x41),         // 2
        data(".data", 4096, 0x1008),         // 3
        bss(".bss", 64, 0x300),              // 4
        other(".comment", 0x29),             // 5
        rodata(".rodata.str1.1", 1, 0x33),   // 6
        bss(".bss.page", 4096, 0x1000),      // 7
        text(".text.hot", 16, 0x80),         // 8
        data(".kexec-purgatory", 16, 0x120), // 9
    ];
    secs.extend(symtab(syms, 10));
    build(entry, &secs)
}

const MEM: u64 = 0x3ffd_b000;

#[test]
fn sample_layout_by_hand() {
    let bytes = sample(&[("purgatory_start", STB_GLOBAL, 1, 0x10, 0)], 0);
    let obj = Object::parse(&bytes).unwrap();
    // Data: .text 0..0x123, .rodata at 0x140..0x181, .data at 0x1000..0x2008,
    // .rodata.str1.1 at 0x2008..0x203b, .text.hot at 0x2040..0x20c0,
    // .kexec-purgatory at 0x20c0..0x21e0, rounded up to 4096 for the bss.
    // Bss: .bss 0..0x300, .bss.page at 0x1000..0x2000.
    assert_eq!(
        buf_layout(&obj),
        BufLayout {
            bufsz: 0x3000,
            memsz: 0x5000,
            align: 4096
        }
    );
    let (out, start) = check_against_model(&bytes, MEM);
    let at = |i: usize| (out[i].addr - MEM, out[i].offset);
    assert_eq!(at(1), (0, 0));
    assert_eq!(at(2), (0x140, 0x140));
    assert_eq!(at(3), (0x1000, 0x1000));
    assert_eq!(at(6), (0x2008, 0x2008));
    assert_eq!(at(8), (0x2040, 0x2040));
    assert_eq!(at(9), (0x20c0, 0x20c0));
    // The bss sections keep their object offsets.
    assert_eq!(out[4].addr, MEM + 0x3000);
    assert_eq!(out[7].addr, MEM + 0x4000);
    assert_eq!(out[4].offset, obj.shdr(4).unwrap().offset);
    // Non-allocated sections are untouched.
    for i in [0, 5, 10, 11, 12] {
        assert_eq!(out[i], obj.shdr(i).unwrap());
    }
    assert_eq!(start, MEM + 0x10);
}

#[test]
fn entry_point_rules() {
    let g = STB_GLOBAL;
    let cases: [(&[Symbol<'_>], u64, u64); 9] = [
        // purgatory_start in .text.
        (&[("purgatory_start", g, 1, 0x10, 0)], 0x20, MEM + 0x10),
        // In .text.hot, the second executable section, with e_entry in none.
        (&[("purgatory_start", g, 8, 0x8, 0)], 0x5000, MEM + 0x2048),
        // In .text.hot, but e_entry is in .text, which comes first and wins.
        (&[("purgatory_start", g, 8, 0x8, 0)], 0x20, MEM + 0x20),
        // Absent: e_entry inside .text (object address 0) is rebased there.
        (&[("other", g, 1, 0x10, 0)], 0x20, MEM + 0x20),
        // Local: not found, so e_entry.
        (
            &[("purgatory_start", STB_LOCAL, 1, 0x10, 0)],
            0x20,
            MEM + 0x20,
        ),
        // Weak: not found either.
        (
            &[("purgatory_start", STB_WEAK, 1, 0x10, 0)],
            0x20,
            MEM + 0x20,
        ),
        // In a section that is not executable: e_entry.
        (&[("purgatory_start", g, 2, 0x10, 0)], 0x20, MEM + 0x20),
        // Past its section's end: e_entry.
        (&[("purgatory_start", g, 1, 0x123, 0)], 0x20, MEM + 0x20),
        // e_entry in no executable section, no symbol: unchanged.
        (&[], 0x5000, 0x5000),
    ];
    for (syms, entry, want) in cases {
        let bytes = sample(syms, entry);
        let (_, start) = check_against_model(&bytes, MEM);
        assert_eq!(start, want, "{syms:?} e_entry {entry:#x}");
    }
    // e_entry inside .text and .text.hot (both at object address 0): the first
    // one decides, later ones never move it.
    let bytes = sample(&[], 0x40);
    assert_eq!(check_against_model(&bytes, MEM).1, MEM + 0x40);
    // e_entry only inside .text.hot (past the end of .text).
    let mut secs = vec![text(".text", 16, 0x20), text(".text.hot", 16, 0x80)];
    secs[1].addr = 0x1000;
    let bytes = build(0x1010, &secs);
    assert_eq!(check_against_model(&bytes, MEM).1, MEM + 0x20 + 0x10);
    // A section whose end wraps around contains nothing, as in C.
    let mut secs = vec![text(".text", 16, 0x20)];
    secs[0].addr = u64::MAX - 0x10;
    let bytes = build(u64::MAX - 8, &secs);
    assert_eq!(check_against_model(&bytes, MEM).1, u64::MAX - 8);
}

#[test]
fn find_symbol_rules() {
    let g = STB_GLOBAL;
    let bytes = sample(
        &[
            ("stack", STB_LOCAL, 3, 0, 0x1000),
            ("stack_end", g, 3, 0x1000, 0),
            ("stack", g, 3, 0, 0x1000),
            ("entry64_regs", g, 2, 0x8, 136),
            ("undefined", g, 0, 0, 0),
            ("badsection", g, 200, 0, 0),
            ("twice", g, 2, 1, 1),
            ("twice", g, 2, 2, 2),
            ("late_undefined", g, 3, 0, 8),
        ],
        0,
    );
    let obj = Object::parse(&bytes).unwrap();
    let sym = |n: &str| obj.find_symbol(n.as_bytes());
    assert_eq!(
        sym("stack_end"),
        Some(Sym {
            shndx: 3,
            value: 0x1000,
            size: 0
        })
    );
    // The global one, not the local one before it.
    assert_eq!(
        sym("stack"),
        Some(Sym {
            shndx: 3,
            value: 0,
            size: 0x1000
        })
    );
    assert_eq!(
        sym("entry64_regs"),
        Some(Sym {
            shndx: 2,
            value: 8,
            size: 136
        })
    );
    assert_eq!(
        sym("twice"),
        Some(Sym {
            shndx: 2,
            value: 1,
            size: 1
        })
    );
    for n in [
        "undefined",
        "badsection",
        "nothing",
        "stack_",
        "stack_end\0",
        "",
        "entry64_regs2",
    ] {
        assert_eq!(sym(n), None, "{n:?}");
    }
    for n in [
        "stack_end",
        "stack",
        "entry64_regs",
        "twice",
        "undefined",
        "badsection",
        "nothing",
    ] {
        assert_eq!(sym(n), model_find(&bytes, n), "{n}");
    }

    // Two symbol tables: the first match decides, also when it is undefined.
    let mut secs = vec![text(".text", 16, 0x40)];
    secs.extend(symtab(&[("a", g, 1, 1, 0), ("u", g, 0, 0, 0)], 2));
    secs.extend(symtab(
        &[("a", g, 1, 2, 0), ("b", g, 1, 3, 0), ("u", g, 1, 4, 0)],
        4,
    ));
    let bytes = build(0, &secs);
    let obj = Object::parse(&bytes).unwrap();
    assert_eq!(obj.find_symbol(b"a").map(|s| s.value), Some(1));
    assert_eq!(obj.find_symbol(b"b").map(|s| s.value), Some(3));
    assert_eq!(obj.find_symbol(b"u"), None);
    for n in ["a", "b", "u"] {
        assert_eq!(obj.find_symbol(n.as_bytes()), model_find(&bytes, n));
    }

    // A symbol table whose string table index is out of range is passed over.
    let mut secs2 = secs.clone();
    secs2[1].link = 99;
    let bytes = build(0, &secs2);
    let obj = Object::parse(&bytes).unwrap();
    assert_eq!(obj.find_symbol(b"a").map(|s| s.value), Some(2));
    assert_eq!(obj.find_symbol(b"u").map(|s| s.value), Some(4));

    // The first symbol table (2) or its strings (3) outside the object: its
    // names match nothing and the second table answers. No panic.
    for (field, value) in [(24, u64::MAX - 4), (32, 1 << 40), (24, 1 << 20)] {
        for table in [2, 3] {
            let mut b = build(0, &secs);
            patch_shdr(&mut b, table, field, value);
            let obj = Object::parse(&b).unwrap();
            for (n, want) in [("a", Some(2)), ("b", Some(3)), ("u", Some(4)), ("", None)] {
                assert_eq!(
                    obj.find_symbol(n.as_bytes()).map(|s| s.value),
                    want,
                    "{n:?}"
                );
            }
        }
    }
    // A name running to the end of its string table without a NUL matches
    // nothing (the first table's undefined "u" is not seen: the second
    // table's answers).
    let mut secs3 = secs.clone();
    secs3[2].data.pop();
    let bytes = build(0, &secs3);
    let obj = Object::parse(&bytes).unwrap();
    assert_eq!(obj.find_symbol(b"u").map(|s| s.value), Some(4));
    assert_eq!(obj.find_symbol(b"a").map(|s| s.value), Some(1));
}

#[test]
fn header_checks() {
    let good = sample(&[], 0);
    assert!(Object::parse(&good).is_ok());
    let rule = |b: &[u8]| match Object::parse(b) {
        Err(Error::NotRelocatable(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let with = |at: usize, v: &[u8]| {
        let mut b = good.clone();
        b[at..at + v.len()].copy_from_slice(v);
        b
    };
    assert!(rule(&good[..63]).contains("shorter"));
    assert!(rule(&[]).contains("shorter"));
    assert!(rule(&with(0, b"\x7fELG")).contains("magic"));
    assert!(rule(&with(4, &[1])).contains("ELFCLASS64"));
    assert!(rule(&with(5, &[2])).contains("little endian"));
    assert!(rule(&with(16, &2u16.to_le_bytes())).contains("ET_REL"));
    assert!(rule(&with(18, &3u16.to_le_bytes())).contains("EM_X86_64"));
    assert!(rule(&with(58, &40u16.to_le_bytes())).contains("e_shentsize"));
    assert!(rule(&with(60, &0xffffu16.to_le_bytes())).contains("section headers"));
    assert!(rule(&with(40, &u64::MAX.to_le_bytes())).contains("section headers"));
    assert!(rule(&with(40, &(good.len() as u64 - 63).to_le_bytes())).contains("section headers"));
    // The section headers end exactly at the end.
    let shoff = u64::from_le_bytes(good[40..48].try_into().unwrap()) as usize;
    let shnum = u16::from_le_bytes(good[60..62].try_into().unwrap()) as usize;
    assert_eq!(shoff + 64 * shnum, good.len());
    assert!(rule(&good[..good.len() - 1]).contains("section headers"));
    // No sections at all: an empty layout, e_entry as the entry.
    let none = with(60, &0u16.to_le_bytes());
    let obj = Object::parse(&none).unwrap();
    assert_eq!(obj.shnum(), 0);
    assert_eq!(obj.shdr(0), None);
    assert_eq!(
        buf_layout(&obj),
        BufLayout {
            bufsz: 0,
            memsz: 0,
            align: 1
        }
    );
    assert_eq!(place_sections(&obj, MEM, &mut []), Ok(0));
    // Every message reads.
    let e = Object::parse(&[]).unwrap_err();
    assert!(format!("{e}").contains("relocatable"));
}

/// Sets field `at` (offset in the header) of section `i` of `bytes` to `v`.
fn patch_shdr(bytes: &mut [u8], i: usize, at: usize, v: u64) {
    let shoff = u64::from_le_bytes(bytes[40..48].try_into().unwrap()) as usize;
    let p = shoff + 64 * i + at;
    bytes[p..p + 8].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn bounds_and_overflow() {
    let good = sample(&[], 0);
    // An allocated section's bytes outside the object.
    for (at, v) in [(24, good.len() as u64), (32, 1 << 40), (24, u64::MAX)] {
        let mut b = good.clone();
        patch_shdr(&mut b, 3, at, v);
        assert_eq!(Object::parse(&b).unwrap_err(), Error::SectionOutside(3));
    }
    // A bss or non-allocated section's may be anywhere.
    let mut b = good.clone();
    patch_shdr(&mut b, 4, 24, u64::MAX);
    patch_shdr(&mut b, 5, 24, u64::MAX);
    assert!(Object::parse(&b).is_ok());
    // A bss section as big as the address space.
    let mut b = good.clone();
    patch_shdr(&mut b, 7, 32, u64::MAX - 0x1000);
    assert_eq!(Object::parse(&b).unwrap_err(), Error::LayoutOverflow);
    // An alignment that overflows the running size.
    let mut b = good.clone();
    patch_shdr(&mut b, 6, 48, 1 << 63);
    patch_shdr(&mut b, 8, 48, 1 << 63);
    assert_eq!(Object::parse(&b).unwrap_err(), Error::LayoutOverflow);
    let mut b = good.clone();
    patch_shdr(&mut b, 8, 48, u64::MAX);
    assert_eq!(Object::parse(&b).unwrap_err(), Error::LayoutOverflow);

    let obj = Object::parse(&good).unwrap();
    let n = obj.shnum();
    let memsz = buf_layout(&obj).memsz;
    let mut out = vec![Shdr::default(); n - 1];
    assert_eq!(
        place_sections(&obj, MEM, &mut out),
        Err(Error::TooFewHeaders {
            need: n,
            have: n - 1
        })
    );
    // More room than needed: the rest is left alone.
    let mut out = vec![
        Shdr {
            name: 7,
            ..Shdr::default()
        };
        n + 2
    ];
    assert!(place_sections(&obj, MEM, &mut out).is_ok());
    assert_eq!(out[n].name, 7);
    // The segment as high as it goes: its end, mem + memsz, must be an address.
    let top = u64::MAX - memsz + 1 - 0x1000;
    assert!(place(&obj, top).is_ok());
    assert_eq!(
        place(&obj, top + 0x1000).unwrap_err(),
        Error::LayoutOverflow
    );
    assert_eq!(place(&obj, u64::MAX).unwrap_err(), Error::LayoutOverflow);
    // A segment not aligned to the layout's alignment: the second bss section
    // would leave it (the model, C, puts it there anyway).
    assert!(place(&obj, MEM + 0x800).is_ok());
    assert_eq!(place(&obj, MEM + 0xf00).unwrap_err(), Error::BssOutside(7));
    let (c, _, _) = model_sechdrs(&good, MEM + 0xf00);
    assert_eq!(c[7].0 + 0x1000, MEM + 0xf00 + memsz + 0x100);
    assert!(format!("{}", Error::BssOutside(4)).contains("bss"));
}

#[test]
fn alignment_zero_is_one() {
    let mut zero = sample(&[], 0);
    let mut one = zero.clone();
    for i in [1, 2, 6, 4] {
        patch_shdr(&mut zero, i, 48, 0);
        patch_shdr(&mut one, i, 48, 1);
    }
    let (z, o) = (Object::parse(&zero).unwrap(), Object::parse(&one).unwrap());
    assert_eq!(buf_layout(&z), buf_layout(&o));
    let (zo, zs, zb) = place(&z, MEM).unwrap();
    let (oo, os, ob) = place(&o, MEM).unwrap();
    assert_eq!((zs, zb), (os, ob));
    for (a, b) in zo.iter().zip(&oo) {
        assert_eq!((a.addr, a.offset), (b.addr, b.offset));
    }
    // With alignment 1 the model (C) agrees.
    check_against_model(&one, MEM);
}

/// A small deterministic PRNG (xorshift64*), so failures reproduce from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_objects_against_the_model() {
    let mut rng = Rng(0x7075_7267_6174_6f72);
    let aligns = [1u64, 1, 2, 4, 8, 16, 16, 32, 64, 4096, 4096, 3, 24];
    let (mut checked, mut pow2) = (0, 0);
    for n in 0..3000 {
        let count = rng.below(10) as usize;
        let mut secs = Vec::new();
        for k in 0..count {
            let align = aligns[rng.below(aligns.len() as u64) as usize];
            let size = rng.below(300) as usize;
            let name = format!(".s{k}");
            let mut s = match rng.below(6) {
                0 => text(&name, align, size),
                1 => rodata(&name, align, size),
                2 => data(&name, align, size),
                3 => bss(&name, align, rng.below(0x3000)),
                4 => other(&name, size),
                _ => sec(
                    &name,
                    SHT_PROGBITS,
                    SHF_ALLOC | SHF_EXECINSTR | SHF_WRITE,
                    align,
                    size,
                ),
            };
            s.addr = if rng.below(4) == 0 {
                rng.below(0x400)
            } else {
                0
            };
            secs.push(s);
        }
        let syms: Vec<Symbol<'_>> = (0..rng.below(4))
            .map(|_| {
                let bind = [STB_GLOBAL, STB_GLOBAL, STB_LOCAL, STB_WEAK][rng.below(4) as usize];
                (
                    "purgatory_start",
                    bind,
                    rng.below(count as u64 + 6) as u16,
                    rng.below(0x140),
                    0,
                )
            })
            .collect();
        secs.extend(symtab(&syms, count as u32 + 1));
        let bytes = build(rng.below(0x200), &secs);
        let obj = Object::parse(&bytes).unwrap();
        let layout = buf_layout(&obj);
        let all_pow2 = secs.iter().all(|s| s.align.is_power_of_two());
        // Where the hole search would put it: ALIGN_DOWN to the layout's
        // alignment, at least a page.
        let mask = layout.align.max(4096) - 1;
        let mem = (0x10_0000 + rng.below(0x1000) * 4096) & !mask;
        assert_eq!(
            obj.find_symbol(b"purgatory_start"),
            model_find(&bytes, "purgatory_start"),
            "case {n}"
        );
        match place(&obj, mem) {
            Ok(_) => {
                check_against_model(&bytes, mem);
                checked += 1;
                pow2 += all_pow2 as u32;
            }
            // Mask arithmetic with other alignments can push a bss section
            // past memsz; the C code would too, we refuse.
            Err(Error::BssOutside(_)) => assert!(!all_pow2, "case {n}"),
            Err(e) => panic!("case {n}: {e:?}"),
        }
    }
    println!("{checked} objects equal to the model ({pow2} with power-of-two alignments only)");
    assert!(checked > 2500 && pow2 > 1000);
}

#[test]
fn the_real_purgatory() {
    let Ok(bytes) = std::fs::read(REAL) else {
        println!("SKIPPED: no purgatory object at {REAL} (build a kernel first)");
        return;
    };
    let obj = Object::parse(&bytes).expect("the real purgatory parses");
    let sym = |n: &str| {
        let s = obj
            .find_symbol(n.as_bytes())
            .unwrap_or_else(|| panic!("{n} not found"));
        assert_eq!(Some(s), model_find(&bytes, n), "{n}");
        s
    };
    let start = sym("purgatory_start");
    let regs = sym("entry64_regs");
    let stack_end = sym("stack_end");
    let regions = sym("purgatory_sha_regions");
    let digest = sym("purgatory_sha256_digest");
    assert_eq!(regs.size, 136);
    assert_eq!(regions.size, 256);
    assert_eq!(digest.size, 32);
    // Local and undefined names do not match.
    assert_eq!(obj.find_symbol(b"lstack_end"), None);
    assert_eq!(obj.find_symbol(b"no_such_symbol"), None);

    let (_, sh) = headers(&bytes);
    let layout = buf_layout(&obj);
    assert_eq!(layout, model_kbuf(sh));
    // Self-consistent: every allocated section's size is counted, the data is
    // rounded up to the bss alignment, the alignment is the largest one.
    let alloc: Vec<Shdr> = (0..obj.shnum())
        .filter_map(|i| obj.shdr(i))
        .filter(|s| s.flags & SHF_ALLOC != 0)
        .collect();
    let data: u64 = alloc
        .iter()
        .filter(|s| s.kind != SHT_NOBITS)
        .map(|s| s.size)
        .sum();
    let bss: u64 = alloc
        .iter()
        .filter(|s| s.kind == SHT_NOBITS)
        .map(|s| s.size)
        .sum();
    let bss_align = alloc
        .iter()
        .filter(|s| s.kind == SHT_NOBITS)
        .map(|s| s.addralign.max(1))
        .max()
        .unwrap_or(1);
    let max_align = alloc.iter().map(|s| s.addralign.max(1)).max().unwrap_or(1);
    assert!(layout.bufsz >= data && layout.bufsz.is_multiple_of(bss_align));
    assert!(layout.memsz - layout.bufsz >= bss);
    assert_eq!(layout.align, max_align);
    println!(
        "real purgatory: {} sections, {layout:x?}, purgatory_start {start:x?}",
        obj.shnum()
    );

    for mem in [
        MEM,
        0x3000,
        0x1_0000_0000,
        0x7fff_f000 - layout.memsz.next_multiple_of(4096),
    ] {
        let mem = mem.next_multiple_of(layout.align);
        let (out, entry) = check_against_model(&bytes, mem);
        // The entry is purgatory_start's final address.
        let text = &out[start.shndx as usize];
        assert_eq!(entry, text.addr + start.value);
        assert_ne!(text.flags & SHF_EXECINSTR, 0);
        // The variables are inside the buffer, with the object's bytes there.
        let (_, _, buf) = place(&obj, mem).unwrap();
        for s in [regs, regions, digest] {
            let w = out[s.shndx as usize];
            assert_ne!(w.kind, SHT_NOBITS);
            let o = obj.shdr(s.shndx as usize).unwrap();
            let at = (w.offset + s.value) as usize;
            let from = (o.offset + s.value) as usize;
            assert_eq!(
                &buf[at..at + s.size as usize],
                &bytes[from..from + s.size as usize]
            );
        }
        // stack_end is the end of the stack in .data, inside the segment.
        let stack_addr = out[stack_end.shndx as usize].addr + stack_end.value;
        assert!(stack_addr > mem && stack_addr <= mem + layout.memsz);
    }
}

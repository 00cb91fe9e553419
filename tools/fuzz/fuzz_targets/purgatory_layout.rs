// SPDX-License-Identifier: GPL-2.0

//! The purgatory's layout and symbols (rust/purgatory.rs: `Object::parse`,
//! `buf_layout`, `place_sections`, `Object::find_symbol`) on objects built
//! from the input: an ELF header that is mostly valid, section headers with
//! arbitrary fields over a blob of bytes, a symbol table and its strings; now
//! and then the raw input instead. The segment's address is arbitrary or, as
//! the hole search gives it, aligned down to the layout's alignment.
//!
//! Invariants: no panic or overflow. A found symbol names a section of the
//! object. Placed sections: non-allocated ones unchanged; those with data one
//! after the other inside the buffer at `mem + offset`; bss ones after the
//! data, inside the segment. With power-of-two alignments and an aligned
//! segment, placing never fails. The entry point is `e_entry` or inside the
//! buffer.

#![no_main]

use kexec_logic::purgatory::{
    buf_layout, place_sections, Error, Object, Shdr, SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS, SHT_SYMTAB,
};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

const NAMES: &[u8] = b"\0purgatory_start\0entry64_regs\0a\0";
const PIECES: [&[u8]; 4] = [b"purgatory_start", b"entry64_regs", b"a", b""];

fn small(u: &mut Unstructured<'_>, max: u64) -> Result<u64> {
    Ok(if u.ratio(1, 16)? { u.arbitrary()? } else { u.int_in_range(0..=max)? })
}

/// An object: header, a blob (names, then symbols, then input bytes), section headers.
fn build(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut out = vec![0u8; 64];
    out[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    out[16..18].copy_from_slice(&1u16.to_le_bytes());
    out[18..20].copy_from_slice(&62u16.to_le_bytes());
    out[24..32].copy_from_slice(&small(u, 0x400)?.to_le_bytes());
    out[58..60].copy_from_slice(&64u16.to_le_bytes());
    let names_at = out.len() as u64;
    out.extend_from_slice(NAMES);
    let syms_at = out.len() as u64;
    let nsyms = u.int_in_range(0..=6usize)?;
    for _ in 0..nsyms {
        let name = *u.choose(&[0u32, 1, 17, 30, 32, 99])?;
        out.extend_from_slice(&name.to_le_bytes());
        out.push(u.int_in_range(0..=2u8)? << 4);
        out.push(0);
        out.extend_from_slice(&(small(u, 12)? as u16).to_le_bytes());
        out.extend_from_slice(&small(u, 0x200)?.to_le_bytes());
        out.extend_from_slice(&small(u, 0x100)?.to_le_bytes());
    }
    let blob = u.int_in_range(0..=512usize)?;
    out.extend_from_slice(u.bytes(blob.min(u.len()))?);
    let len = out.len() as u64;
    let shnum = u.int_in_range(0..=12u16)?;
    for i in 0..shnum {
        let mut h = [0u8; 64];
        let (kind, offset, size, link) = match u.int_in_range(0..=5u8)? {
            // The symbol table and its strings, at the next index (or any).
            0 => (SHT_SYMTAB, syms_at, nsyms as u64 * 24, u32::from(i) + u32::from(u.ratio(3, 4)?)),
            1 => (3, names_at, NAMES.len() as u64, 0),
            2 => (SHT_NOBITS, small(u, len)?, small(u, 0x3000)?, 0),
            _ => {
                let offset = small(u, len)?;
                (1, offset, small(u, len.saturating_sub(offset))?, 0)
            }
        };
        let link = if u.ratio(1, 8)? { u.arbitrary()? } else { link };
        let flags = u.int_in_range(0..=7u64)? & (SHF_ALLOC | SHF_EXECINSTR | 1);
        let flags = if u.ratio(3, 4)? { flags | SHF_ALLOC } else { flags };
        let align = match u.int_in_range(0..=7u8)? {
            0 => u.arbitrary()?,
            1 => 0,
            2 => u.int_in_range(0..=64u64)?,
            _ => 1u64 << u.int_in_range(0..=12u32)?,
        };
        h[4..8].copy_from_slice(&kind.to_le_bytes());
        h[8..16].copy_from_slice(&flags.to_le_bytes());
        h[16..24].copy_from_slice(&small(u, 0x400)?.to_le_bytes());
        h[24..32].copy_from_slice(&offset.to_le_bytes());
        h[32..40].copy_from_slice(&size.to_le_bytes());
        h[40..44].copy_from_slice(&link.to_le_bytes());
        h[48..56].copy_from_slice(&align.to_le_bytes());
        out.extend_from_slice(&h);
    }
    out[40..48].copy_from_slice(&len.to_le_bytes());
    out[60..62].copy_from_slice(&shnum.to_le_bytes());
    // Now and then a broken header field.
    if u.ratio(1, 16)? {
        let at = u.int_in_range(0..=63usize)?;
        out[at] = u.arbitrary()?;
    }
    Ok(out)
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let bytes = if u.ratio(1, 16)? { u.bytes(u.len())?.to_vec() } else { build(u)? };
    let obj = match Object::parse(&bytes) {
        Ok(obj) => obj,
        Err(e) => {
            assert!(matches!(e, Error::NotRelocatable(_) | Error::SectionOutside(_) | Error::LayoutOverflow));
            assert!(!format!("{e}").is_empty());
            return Ok(());
        }
    };
    let n = obj.shnum();
    let layout = buf_layout(&obj);
    assert!(layout.bufsz <= layout.memsz && layout.align >= 1);
    for name in PIECES {
        if let Some(s) = obj.find_symbol(name) {
            assert!(s.shndx != 0 && usize::from(s.shndx) < n, "{s:?}");
        }
    }
    let aligned = u.ratio(3, 4)?;
    let mem = if aligned {
        let unit = layout.align.max(4096);
        small(u, 1 << 40)? & !(unit - 1)
    } else {
        u.arbitrary()?
    };
    let mut out = vec![Shdr::default(); n];
    let pow2 = (0..n)
        .filter_map(|i| obj.shdr(i))
        .filter(|s| s.flags & SHF_ALLOC != 0)
        .all(|s| s.addralign <= 1 || s.addralign.is_power_of_two());
    match place_sections(&obj, mem, &mut out) {
        Ok(entry) => {
            let mut next = 0u64;
            for (i, w) in out.iter().enumerate() {
                let o = obj.shdr(i).unwrap();
                if o.flags & SHF_ALLOC == 0 {
                    assert_eq!(*w, o);
                } else if o.kind == SHT_NOBITS {
                    assert_eq!(*w, Shdr { addr: w.addr, ..o });
                    assert!(w.addr >= mem + layout.bufsz && w.addr + w.size <= mem + layout.memsz);
                } else {
                    assert_eq!(*w, Shdr { addr: w.addr, offset: w.offset, ..o });
                    assert!(w.offset >= next && w.offset + w.size <= layout.bufsz);
                    assert_eq!(w.addr, mem + w.offset);
                    assert!(obj.bytes_at(o.offset, o.size).is_some());
                    next = w.offset + w.size;
                }
            }
            assert!(entry == obj.entry() || (entry >= mem && entry - mem < layout.bufsz));
        }
        Err(Error::LayoutOverflow) => assert!(mem.checked_add(layout.memsz).is_none() || !(aligned && pow2)),
        Err(Error::BssOutside(i)) => assert!(!(aligned && pow2), "bss section {i}"),
        Err(e) => panic!("{e:?}"),
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});

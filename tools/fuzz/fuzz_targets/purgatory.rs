// SPDX-License-Identifier: GPL-2.0

//! Purgatory's RELA relocations (rust/purgatory.rs) on an ELF-ish object made
//! from the input: a section's bytes and final address, the other sections'
//! addresses, a symbol table and raw `Elf64_Rela` records, applied one after
//! the other as arch/x86/machine_kexec.rs applies them.
//!
//! Invariants: no panic or overflow; each answer is what a model of the
//! x86_64 psABI rules (in 128-bit arithmetic) gives, error for error; a
//! refused relocation writes nothing; an applied one writes exactly its
//! field, inside the section, and nothing else.

#![no_main]

use kexec_logic::purgatory::{
    apply, Error, Rela, Symbol, R_X86_64_32, R_X86_64_32S, R_X86_64_64, R_X86_64_NONE, R_X86_64_PC32, R_X86_64_PLT32,
    SHN_ABS, SHN_COMMON, SHN_UNDEF,
};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::fmt::Write;

/// What `rela` must do to a section of `len` bytes at `section_addr`: the
/// bytes to write at the offset, or the error.
fn model(
    len: usize,
    section_addr: u64,
    rela: &Rela,
    sym: Symbol,
    sections: &[u64],
) -> std::result::Result<Vec<u8>, Error> {
    let base: u128 = match sym.shndx {
        SHN_UNDEF => return Err(Error::Undefined),
        SHN_COMMON => return Err(Error::Common),
        SHN_ABS => 0,
        i => *sections.get(i as usize).ok_or(Error::BadSection(i))? as u128,
    };
    let kind = rela.info as u32;
    // S + A, modulo 2^64.
    let value = ((sym.value as u128 + base) as i128 + rela.addend as i128).rem_euclid(1 << 64) as u64;
    let bytes: Vec<u8> = match kind {
        R_X86_64_NONE => return Ok(Vec::new()),
        R_X86_64_64 => value.to_le_bytes().to_vec(),
        R_X86_64_32 => {
            if value > u32::MAX as u64 {
                return Err(Error::Overflow { kind, value });
            }
            (value as u32).to_le_bytes().to_vec()
        }
        R_X86_64_32S => {
            let signed = value as i64 as i128;
            if signed < i32::MIN as i128 || signed > i32::MAX as i128 {
                return Err(Error::Overflow { kind, value });
            }
            (signed as i32).to_le_bytes().to_vec()
        }
        R_X86_64_PC32 | R_X86_64_PLT32 => {
            let place = (section_addr as u128 + rela.offset as u128) % (1 << 64);
            let rel = ((value as u128 + (1 << 64) - place) % (1 << 64)) as u64;
            let signed = rel as i64 as i128;
            if signed < i32::MIN as i128 || signed > i32::MAX as i128 {
                return Err(Error::Overflow { kind, value: rel });
            }
            (signed as i32).to_le_bytes().to_vec()
        }
        other => return Err(Error::UnknownType(other)),
    };
    if rela.offset as u128 + bytes.len() as u128 > len as u128 {
        return Err(Error::OutsideSection { offset: rela.offset, width: bytes.len() });
    }
    Ok(bytes)
}

fn pick(u: &mut Unstructured<'_>, near: u64) -> Result<u64> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => u.arbitrary()?,
        1 => near.wrapping_add(u.int_in_range(0..=0x100)?),
        _ => u.int_in_range(0..=0x1_0000_0000u64)?,
    })
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let n = u.int_in_range(0..=64)?;
    let mut section = u.bytes(n)?.to_vec();
    let section_addr: u64 = if u.arbitrary()? { u.arbitrary()? } else { u.int_in_range(0..=0x1_0000_0000u64)? };
    let mut sections = Vec::new();
    for _ in 0..u.int_in_range(0..=8)? {
        sections.push(pick(u, section_addr)?);
    }
    let mut symbols = Vec::new();
    for _ in 0..u.int_in_range(1..=8)? {
        let shndx = match u.int_in_range(0..=4u8)? {
            0 => SHN_UNDEF,
            1 => SHN_ABS,
            2 => SHN_COMMON,
            3 => u.arbitrary()?,
            _ => u.int_in_range(1..=9)?,
        };
        symbols.push(Symbol { shndx, value: pick(u, section_addr)? });
    }
    while !u.is_empty() {
        // One Elf64_Rela: r_offset, r_info (symbol << 32 | type), r_addend.
        let offset = if u.ratio(1, 8)? { u.arbitrary()? } else { u.int_in_range(0..=section.len() as u64 + 8)? };
        let kind: u32 = if u.ratio(1, 8)? {
            u.arbitrary()?
        } else {
            *u.choose(&[R_X86_64_NONE, R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_32, R_X86_64_32S])?
        };
        let sym = u.choose_index(symbols.len())?;
        let addend: i64 = if u.arbitrary()? { u.arbitrary()? } else { u.int_in_range(-16..=16)? };
        let rela = Rela { offset, info: ((sym as u64) << 32) | kind as u64, addend };
        assert_eq!((rela.sym() as usize, rela.kind()), (sym, kind));
        let before = section.clone();
        let got = apply(&mut section, section_addr, &rela, symbols[sym], |i| sections.get(i as usize).copied());
        let want = model(before.len(), section_addr, &rela, symbols[sym], &sections);
        match (got, want) {
            (Ok(()), Ok(bytes)) => {
                let at = offset as usize;
                for (i, (&new, &old)) in section.iter().zip(&before).enumerate() {
                    if i >= at && i < at + bytes.len() {
                        assert_eq!(new, bytes[i - at], "byte {i} of {rela:x?}");
                    } else {
                        assert_eq!(new, old, "byte {i} outside the field of {rela:x?} changed");
                    }
                }
            }
            (Err(e), Err(w)) => {
                assert_eq!(e, w, "{rela:x?} with {:x?}", symbols[sym]);
                assert!(section == before, "{e:?} wrote to the section");
                let mut msg = String::new();
                write!(msg, "{e}").unwrap();
                assert!(!msg.is_empty());
            }
            (g, w) => panic!("{rela:x?} with {:x?}: got {g:?}, model {w:?}", symbols[sym]),
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});

// SPDX-License-Identifier: GPL-2.0

//! x86_64 RELA relocations of the purgatory that kexec_file_load places with a
//! new kernel.
//!
//! The kernel carries purgatory as a relocatable ELF object. kexec_file.c lays
//! its allocated sections out in one buffer, decides where that buffer will sit
//! in physical memory and, for every RELA section, asks the arch to apply each
//! relocation ([`apply`]) to the section's bytes in the buffer, with the
//! sections' final addresses. Only the types the x86_64 purgatory is built
//! with are known: `R_X86_64_NONE`, `_64`, `_32`, `_32S`, `_PC32` and `_PLT32`;
//! any other refuses the load.
//!
//! Every rule is checked before anything is written: the patched bytes must lie
//! inside the section, and each stored value must fit its field. The stock
//! kernel trusts its built-in purgatory and checks neither the offset nor a
//! PC-relative value's range; it also writes an overflowing absolute value
//! before it refuses the load. The result for a well-formed purgatory is the
//! same bytes.
//!
//! Pure logic, built into the kernel and tested on the host (tools/logic).

/// No relocation.
pub const R_X86_64_NONE: u32 = 0;
/// Absolute, 64 bits: `S + A`.
pub const R_X86_64_64: u32 = 1;
/// PC-relative, 32 bits: `S + A - P`.
pub const R_X86_64_PC32: u32 = 2;
/// PC-relative call through the PLT, 32 bits; without a PLT, `S + A - P`.
pub const R_X86_64_PLT32: u32 = 4;
/// Absolute, zero-extended 32 bits.
pub const R_X86_64_32: u32 = 10;
/// Absolute, sign-extended 32 bits.
pub const R_X86_64_32S: u32 = 11;

/// An undefined symbol.
pub const SHN_UNDEF: u16 = 0;
/// An absolute symbol: its value is an address.
pub const SHN_ABS: u16 = 0xfff1;
/// A common symbol, not yet allocated.
pub const SHN_COMMON: u16 = 0xfff2;

/// One `Elf64_Rela`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rela {
    /// Offset of the patched field in its section.
    pub offset: u64,
    /// Symbol index (high 32 bits) and type (low 32 bits).
    pub info: u64,
    /// The addend `A`.
    pub addend: i64,
}

impl Rela {
    /// The symbol table index.
    pub fn sym(&self) -> u32 {
        (self.info >> 32) as u32
    }

    /// The relocation type.
    pub fn kind(&self) -> u32 {
        self.info as u32
    }
}

/// The symbol a relocation refers to, as far as relocating goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol {
    /// `st_shndx`: the section it is defined in, or a special index.
    pub shndx: u16,
    /// `st_value`: its offset in that section (or address, for `SHN_ABS`).
    pub value: u64,
}

/// Why a relocation was refused. Every one is `ENOEXEC` in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The symbol is not defined in the purgatory.
    Undefined,
    /// The symbol is a common symbol.
    Common,
    /// The symbol's section index is not a section of the object.
    BadSection(u16),
    /// A type this arch does not implement.
    UnknownType(u32),
    /// The value does not fit the field of this type.
    Overflow {
        /// The relocation type.
        kind: u32,
        /// The value that did not fit.
        value: u64,
    },
    /// The field at this offset, this many bytes wide, is not inside the
    /// section.
    OutsideSection {
        /// The relocation's offset.
        offset: u64,
        /// The width of the field.
        width: usize,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Undefined => write!(f, "the symbol is undefined"),
            Error::Common => write!(f, "the symbol is in a common section"),
            Error::BadSection(s) => write!(f, "the symbol's section {s} does not exist"),
            Error::UnknownType(t) => write!(f, "relocation type {t} is not supported"),
            Error::Overflow { kind, value } => {
                write!(f, "value {value:#x} does not fit a type {kind} field")
            }
            Error::OutsideSection { offset, width } => {
                write!(
                    f,
                    "the {width}-byte field at offset {offset:#x} is outside the section"
                )
            }
        }
    }
}

fn store(section: &mut [u8], offset: u64, bytes: &[u8]) -> Result<(), Error> {
    let outside = Error::OutsideSection {
        offset,
        width: bytes.len(),
    };
    let start = usize::try_from(offset).map_err(|_| outside)?;
    let end = start.checked_add(bytes.len()).ok_or(outside)?;
    section
        .get_mut(start..end)
        .ok_or(outside)?
        .copy_from_slice(bytes);
    Ok(())
}

/// Applies one relocation to `section`, the bytes of the section it patches,
/// which will run at `section_addr`. `sym` is the relocation's symbol and
/// `section_addr_of(i)` the final address of section `i`, or `None` if the
/// object has no section `i`. Nothing is written when an error is returned.
pub fn apply(
    section: &mut [u8],
    section_addr: u64,
    rela: &Rela,
    sym: Symbol,
    section_addr_of: impl Fn(u16) -> Option<u64>,
) -> Result<(), Error> {
    let base = match sym.shndx {
        SHN_UNDEF => return Err(Error::Undefined),
        SHN_COMMON => return Err(Error::Common),
        SHN_ABS => 0,
        i => section_addr_of(i).ok_or(Error::BadSection(i))?,
    };
    // S + A, in the wrapping arithmetic of an address.
    let value = sym
        .value
        .wrapping_add(base)
        .wrapping_add(rela.addend as u64);
    let kind = rela.kind();
    match kind {
        R_X86_64_NONE => Ok(()),
        R_X86_64_64 => store(section, rela.offset, &value.to_le_bytes()),
        R_X86_64_32 => {
            let v = u32::try_from(value).map_err(|_| Error::Overflow { kind, value })?;
            store(section, rela.offset, &v.to_le_bytes())
        }
        R_X86_64_32S => {
            let v = i32::try_from(value as i64).map_err(|_| Error::Overflow { kind, value })?;
            store(section, rela.offset, &v.to_le_bytes())
        }
        R_X86_64_PC32 | R_X86_64_PLT32 => {
            let place = section_addr.wrapping_add(rela.offset);
            let rel = value.wrapping_sub(place);
            let v = i32::try_from(rel as i64).map_err(|_| Error::Overflow { kind, value: rel })?;
            store(section, rela.offset, &v.to_le_bytes())
        }
        other => Err(Error::UnknownType(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rela(offset: u64, kind: u32, addend: i64) -> Rela {
        Rela {
            offset,
            info: (7u64 << 32) | kind as u64,
            addend,
        }
    }

    fn sections(i: u16) -> Option<u64> {
        (i < 8).then_some(0x10_0000 * i as u64)
    }

    #[test]
    fn absolute_and_relative_values() {
        let mut s = [0u8; 32];
        let sym = Symbol {
            shndx: 2,
            value: 0x40,
        };
        apply(&mut s, 0x10_0000, &rela(0, R_X86_64_64, 8), sym, sections).unwrap();
        assert_eq!(u64::from_le_bytes(s[0..8].try_into().unwrap()), 0x20_0048);
        apply(&mut s, 0x10_0000, &rela(8, R_X86_64_32, 0), sym, sections).unwrap();
        assert_eq!(u32::from_le_bytes(s[8..12].try_into().unwrap()), 0x20_0040);
        apply(
            &mut s,
            0x10_0000,
            &rela(12, R_X86_64_PC32, -4),
            sym,
            sections,
        )
        .unwrap();
        // S + A - P = 0x200040 - 4 - 0x10000c
        assert_eq!(i32::from_le_bytes(s[12..16].try_into().unwrap()), 0x10_0030);
        apply(
            &mut s,
            0x30_0000,
            &rela(16, R_X86_64_PLT32, -4),
            sym,
            sections,
        )
        .unwrap();
        assert_eq!(
            i32::from_le_bytes(s[16..20].try_into().unwrap()),
            -0x10_0000 + 0x40 - 4 - 16
        );
        let abs = Symbol {
            shndx: SHN_ABS,
            value: (-8i64) as u64,
        };
        apply(&mut s, 0, &rela(20, R_X86_64_32S, 0), abs, sections).unwrap();
        assert_eq!(i32::from_le_bytes(s[20..24].try_into().unwrap()), -8);
    }

    #[test]
    fn refusals_write_nothing() {
        let sym = Symbol { shndx: 1, value: 0 };
        let cases: [(Rela, Symbol, Error); 7] = [
            (
                rela(0, R_X86_64_64, 0),
                Symbol {
                    shndx: SHN_UNDEF,
                    value: 0,
                },
                Error::Undefined,
            ),
            (
                rela(0, R_X86_64_64, 0),
                Symbol {
                    shndx: SHN_COMMON,
                    value: 0,
                },
                Error::Common,
            ),
            (
                rela(0, R_X86_64_64, 0),
                Symbol { shndx: 9, value: 0 },
                Error::BadSection(9),
            ),
            (rela(0, 42, 0), sym, Error::UnknownType(42)),
            (
                rela(0, R_X86_64_32, 1 << 32),
                sym,
                Error::Overflow {
                    kind: R_X86_64_32,
                    value: 0x1_0010_0000,
                },
            ),
            (
                rela(0, R_X86_64_32S, 0x8000_0000 - 0x10_0000),
                sym,
                Error::Overflow {
                    kind: R_X86_64_32S,
                    value: 0x8000_0000,
                },
            ),
            (
                rela(13, R_X86_64_64, 0),
                sym,
                Error::OutsideSection {
                    offset: 13,
                    width: 8,
                },
            ),
        ];
        for (r, s, want) in cases {
            let mut buf = [0xaau8; 20];
            assert_eq!(apply(&mut buf, 0, &r, s, sections), Err(want));
            assert_eq!(buf, [0xaa; 20], "{want:?} wrote to the section");
        }
        // A PC-relative distance beyond 2 GiB would be truncated into a wrong jump.
        let far = Symbol {
            shndx: SHN_ABS,
            value: 0x1_0000_0000,
        };
        let mut buf = [0u8; 4];
        assert!(matches!(
            apply(&mut buf, 0, &rela(0, R_X86_64_PC32, 0), far, sections),
            Err(Error::Overflow { .. })
        ));
        // Offsets that overflow usize arithmetic are outside, not a panic.
        assert!(matches!(
            apply(&mut buf, 0, &rela(u64::MAX, R_X86_64_32, 0), sym, sections),
            Err(Error::OutsideSection { .. })
        ));
        // NONE writes nothing, wherever it points.
        apply(
            &mut buf,
            0,
            &rela(u64::MAX, R_X86_64_NONE, 0),
            sym,
            sections,
        )
        .unwrap();
    }
}

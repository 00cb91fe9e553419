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
//! Before relocating, the object is laid out: [`Object`] checks its header,
//! [`buf_layout`] sizes the one buffer its allocated sections go in (the
//! purgatory's segment), [`place_sections`] gives each section its offset in
//! that buffer and its final address once the segment's address is known, and
//! finds the entry point; [`Object::find_symbol`] finds the variables the
//! loader sets. These follow `kexec_purgatory_setup_kbuf`,
//! `kexec_purgatory_setup_sechdrs` and `kexec_purgatory_find_symbol` in
//! kernel/kexec_file.c, with bounds and overflow checks the C code does not
//! make (it trusts the object built into the kernel).
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

/// Why a relocation, or the layout of the object, was refused. Every one is
/// `ENOEXEC` in the kernel.
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
    /// The object is not an x86_64 ELF64 relocatable object whose section
    /// headers lie inside it: the rule it breaks.
    NotRelocatable(&'static str),
    /// The bytes of this allocated section are not inside the object.
    SectionOutside(usize),
    /// The buffer's size, or an address in it, overflows 64 bits.
    LayoutOverflow,
    /// Room for fewer working section headers than the object has sections.
    TooFewHeaders {
        /// The object's section count.
        need: usize,
        /// The room given.
        have: usize,
    },
    /// This bss section would end past the purgatory's segment.
    BssOutside(usize),
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
            Error::NotRelocatable(rule) => write!(f, "not a relocatable x86_64 object: {rule}"),
            Error::SectionOutside(i) => write!(f, "section {i} lies outside the object"),
            Error::LayoutOverflow => write!(f, "the layout overflows 64 bits"),
            Error::TooFewHeaders { need, have } => {
                write!(f, "room for {have} section headers, {need} needed")
            }
            Error::BssOutside(i) => write!(f, "bss section {i} ends past the segment"),
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

// The layout of the object: kexec_purgatory_setup_kbuf, _setup_sechdrs and
// kexec_purgatory_find_symbol.

/// `sh_type` of a symbol table.
pub const SHT_SYMTAB: u32 = 2;
/// `sh_type` of a relocation section with addends.
pub const SHT_RELA: u32 = 4;
/// `sh_type` of a section that occupies no bytes in the object (bss).
pub const SHT_NOBITS: u32 = 8;
/// `sh_type` of a relocation section without addends.
pub const SHT_REL: u32 = 9;
/// `sh_flags`: the section is part of the loaded image.
pub const SHF_ALLOC: u64 = 2;
/// `sh_flags`: the section holds code.
pub const SHF_EXECINSTR: u64 = 4;

/// `ET_REL`: a relocatable object.
const ET_REL: u16 = 1;
/// `EM_X86_64`.
const EM_X86_64: u16 = 62;
/// `STB_GLOBAL`, the binding in the high nibble of `st_info`.
const STB_GLOBAL: u8 = 1;
/// `sizeof(Elf64_Ehdr)`.
const EHDR_SIZE: usize = 64;
/// `sizeof(Elf64_Shdr)`.
const SHDR_SIZE: usize = 64;
/// `sizeof(Elf64_Sym)`.
const SYM_SIZE: usize = 24;

/// ELF section header fields the layout needs, as in an `Elf64_Shdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shdr {
    /// `sh_name`: offset of the name in the section name string table.
    pub name: u32,
    /// `sh_type`.
    pub kind: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// `sh_addr`: the address (0 in the object; the final one once placed).
    pub addr: u64,
    /// `sh_offset`: the offset of the bytes in the object (in the buffer once
    /// placed, for an allocated section with data).
    pub offset: u64,
    /// `sh_size`.
    pub size: u64,
    /// `sh_link`.
    pub link: u32,
    /// `sh_info`.
    pub info: u32,
    /// `sh_addralign`; 0 and 1 both mean none.
    pub addralign: u64,
    /// `sh_entsize`.
    pub entsize: u64,
}

/// A symbol found by [`Object::find_symbol`] (fields of an `Elf64_Sym`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sym {
    /// `st_shndx`: a section of the object (never `SHN_UNDEF`).
    pub shndx: u16,
    /// `st_value`: the offset in that section.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
}

/// The sizes and alignment of the purgatory's one buffer
/// (`kexec_purgatory_setup_kbuf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufLayout {
    /// Bytes of data: the allocated sections with data, each aligned, then
    /// rounded up to the bss alignment.
    pub bufsz: u64,
    /// `bufsz` and the bss sections after it.
    pub memsz: u64,
    /// The largest alignment of any allocated section, at least 1.
    pub align: u64,
}

/// The little-endian integer of `N` bytes at `at` in `bytes`.
fn le<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    le(bytes, at).map(u16::from_le_bytes)
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    le(bytes, at).map(u32::from_le_bytes)
}

fn le64(bytes: &[u8], at: usize) -> Option<u64> {
    le(bytes, at).map(u64::from_le_bytes)
}

/// The `size` bytes at `offset` in `bytes`, if they are all there.
fn slice_at(bytes: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(size).ok()?;
    bytes.get(start..start.checked_add(len)?)
}

/// A section's alignment for the layout. The C `ALIGN(x, 0)` is 0, which would
/// throw the running size away; here 0 means 1 (no alignment), which is what
/// the ELF specification says. The same result for every alignment from 1 up.
fn section_align(sh: &Shdr) -> u64 {
    sh.addralign.max(1)
}

/// `ALIGN(x, align)` for `align >= 1`, as the C mask arithmetic computes it
/// (for a power of two, the next multiple), or `None` on overflow.
fn align_up(x: u64, align: u64) -> Option<u64> {
    let mask = align - 1;
    Some(x.checked_add(mask)? & !mask)
}

/// The purgatory object built into the kernel, its header checked.
///
/// # Invariants
///
/// `bytes` starts with an ELF64, little-endian, x86_64 `ET_REL` header whose
/// `e_shnum` section headers of 64 bytes lie inside `bytes`; the bytes of
/// every allocated section with data lie inside `bytes`; `layout` is
/// [`buf_layout`]'s result, computed without overflow.
#[derive(Clone, Copy)]
pub struct Object<'a> {
    bytes: &'a [u8],
    shoff: usize,
    shnum: usize,
    layout: BufLayout,
}

impl core::fmt::Debug for Object<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Object")
            .field("len", &self.bytes.len())
            .field("shnum", &self.shnum)
            .field("entry", &self.entry())
            .field("layout", &self.layout)
            .finish()
    }
}

impl<'a> Object<'a> {
    /// A view of the relocatable object in `bytes`. Refused with
    /// [`Error::NotRelocatable`] unless the header is ELF64, little endian,
    /// `ET_REL`, `EM_X86_64`, with 64-byte section headers, all inside
    /// `bytes`; with [`Error::SectionOutside`] if an allocated section's
    /// bytes are not inside `bytes`; with [`Error::LayoutOverflow`] if the
    /// buffer's size overflows. The C code trusts its built-in object and
    /// checks none of this.
    pub fn parse(bytes: &'a [u8]) -> Result<Object<'a>, Error> {
        let bad = Error::NotRelocatable;
        if bytes.len() < EHDR_SIZE {
            return Err(bad("shorter than an ELF64 header"));
        }
        if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
            return Err(bad("no ELF magic"));
        }
        if bytes.get(4) != Some(&2) {
            return Err(bad("not ELFCLASS64"));
        }
        if bytes.get(5) != Some(&1) {
            return Err(bad("not little endian"));
        }
        if le16(bytes, 16) != Some(ET_REL) {
            return Err(bad("not ET_REL"));
        }
        if le16(bytes, 18) != Some(EM_X86_64) {
            return Err(bad("not EM_X86_64"));
        }
        if le16(bytes, 58) != Some(SHDR_SIZE as u16) {
            return Err(bad("e_shentsize is not 64"));
        }
        let shnum = usize::from(le16(bytes, 60).ok_or(bad("no e_shnum"))?);
        let shoff = le64(bytes, 40).ok_or(bad("no e_shoff"))?;
        let table = shnum
            .checked_mul(SHDR_SIZE)
            .and_then(|len| slice_at(bytes, shoff, len as u64));
        if table.is_none() {
            return Err(bad("the section headers are not inside the object"));
        }
        let mut obj = Object {
            bytes,
            // Fits: `slice_at` found the table inside `bytes`.
            shoff: usize::try_from(shoff).map_err(|_| bad("e_shoff"))?,
            shnum,
            layout: BufLayout {
                bufsz: 0,
                memsz: 0,
                align: 1,
            },
        };
        for i in 0..shnum {
            let sh = obj.shdr(i).ok_or(bad("section header"))?;
            if sh.flags & SHF_ALLOC != 0
                && sh.kind != SHT_NOBITS
                && slice_at(bytes, sh.offset, sh.size).is_none()
            {
                return Err(Error::SectionOutside(i));
            }
        }
        obj.layout = obj.compute_layout().ok_or(Error::LayoutOverflow)?;
        Ok(obj)
    }

    /// `kexec_purgatory_setup_kbuf`'s sizes, or `None` on overflow.
    fn compute_layout(&self) -> Option<BufLayout> {
        let (mut bufsz, mut align) = (0u64, 1u64);
        let (mut bss_sz, mut bss_align) = (0u64, 1u64);
        for i in 0..self.shnum {
            let sh = self.shdr(i)?;
            if sh.flags & SHF_ALLOC == 0 {
                continue;
            }
            let a = section_align(&sh);
            if sh.kind == SHT_NOBITS {
                bss_align = bss_align.max(a);
                bss_sz = align_up(bss_sz, a)?.checked_add(sh.size)?;
            } else {
                align = align.max(a);
                bufsz = align_up(bufsz, a)?.checked_add(sh.size)?;
            }
        }
        let bufsz = align_up(bufsz, bss_align)?;
        Some(BufLayout {
            bufsz,
            memsz: bufsz.checked_add(bss_sz)?,
            align: align.max(bss_align),
        })
    }

    /// `e_entry`.
    pub fn entry(&self) -> u64 {
        le64(self.bytes, 24).unwrap_or(0)
    }

    /// `e_shnum`: the number of sections.
    pub fn shnum(&self) -> usize {
        self.shnum
    }

    /// The object's header of section `i`, or `None` past the last.
    pub fn shdr(&self, i: usize) -> Option<Shdr> {
        if i >= self.shnum {
            return None;
        }
        let at = self.shoff.checked_add(i.checked_mul(SHDR_SIZE)?)?;
        let b = self.bytes.get(at..at.checked_add(SHDR_SIZE)?)?;
        Some(Shdr {
            name: le32(b, 0)?,
            kind: le32(b, 4)?,
            flags: le64(b, 8)?,
            addr: le64(b, 16)?,
            offset: le64(b, 24)?,
            size: le64(b, 32)?,
            link: le32(b, 40)?,
            info: le32(b, 44)?,
            addralign: le64(b, 48)?,
            entsize: le64(b, 56)?,
        })
    }

    /// The whole object.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The `size` bytes at `offset` in the object, if they are all inside it
    /// (for an allocated section with data, [`Object::parse`] checked that
    /// they are).
    pub fn bytes_at(&self, offset: u64, size: u64) -> Option<&'a [u8]> {
        slice_at(self.bytes, offset, size)
    }

    /// The first global symbol called `name` (without its NUL) over all
    /// symbol tables in section order, as `kexec_purgatory_find_symbol` finds
    /// it. `None` when there is none, and when the first match is undefined or
    /// names a section the object does not have (the C code's "not found"; it
    /// does not look further). Local and weak symbols never match. A symbol
    /// table whose string table is not a section is passed over, as in C; so
    /// is one not inside the object, and a name not NUL-terminated inside its
    /// string table never matches (the C code would read past them).
    pub fn find_symbol(&self, name: &[u8]) -> Option<Sym> {
        for i in 0..self.shnum {
            let sh = self.shdr(i)?;
            if sh.kind != SHT_SYMTAB || sh.link as usize >= self.shnum {
                continue;
            }
            let strtab = self.shdr(sh.link as usize)?;
            let strings = self.bytes_at(strtab.offset, strtab.size).unwrap_or(&[]);
            let Some(table) = self.bytes_at(sh.offset, sh.size) else {
                continue;
            };
            for sym in table.chunks_exact(SYM_SIZE) {
                let info = sym.get(4).copied().unwrap_or(0);
                if info >> 4 != STB_GLOBAL {
                    continue;
                }
                let st_name = le32(sym, 0)? as usize;
                let this = strings
                    .get(st_name..)
                    .and_then(|s| s.split(|&b| b == 0).next().filter(|n| n.len() < s.len()));
                if this != Some(name) {
                    continue;
                }
                let shndx = le16(sym, 6)?;
                if shndx == SHN_UNDEF || usize::from(shndx) >= self.shnum {
                    return None;
                }
                return Some(Sym {
                    shndx,
                    value: le64(sym, 8)?,
                    size: le64(sym, 16)?,
                });
            }
        }
        None
    }
}

/// The size and alignment of the purgatory's buffer, as
/// `kexec_purgatory_setup_kbuf` computes them: over the allocated sections in
/// index order, those with data are laid out one after the other, each at its
/// alignment, the bss sections likewise in a separate area; the data is
/// rounded up to the largest bss alignment, and the bss follows it. A section
/// alignment of 0 counts as 1 (see [`Shdr::addralign`]).
pub fn buf_layout(obj: &Object<'_>) -> BufLayout {
    obj.layout
}

/// Places the sections once the buffer's address `mem` is known
/// (`kexec_purgatory_setup_sechdrs`) and returns the entry point
/// (`image->start`).
///
/// `out[i]` becomes the working header of section `i`: a copy of the
/// object's, where an allocated section gets its final address in `addr`
/// and, if it has data, its offset in the buffer in `offset`. The caller
/// copies each allocated section with data, `size` bytes from the object's
/// offset (`obj.shdr(i)`) to the buffer's (`out[i]`). Sections with data are
/// placed as [`buf_layout`] sized them, from `mem`; bss sections from
/// `mem + bufsz`, each aligned in address.
///
/// The entry point is `e_entry` unless a section moves it, the first time
/// one does: the executable section that holds `purgatory_start` (a global
/// symbol, below the section's size) makes it that symbol's final address;
/// otherwise the first executable section whose object addresses
/// `[sh_addr, sh_addr + sh_size)` contain `e_entry` rebases `e_entry` to
/// where the section goes. The sum `sh_addr + sh_size` wraps as in C.
///
/// [`Error::TooFewHeaders`] if `out` is shorter than the object's section
/// count, [`Error::LayoutOverflow`] if an address overflows, and
/// [`Error::BssOutside`] if a bss section would end past `mem + memsz`,
/// which only happens if `mem` is not aligned to the layout's alignment
/// (the C code would let it run into whatever follows).
pub fn place_sections(obj: &Object<'_>, mem: u64, out: &mut [Shdr]) -> Result<u64, Error> {
    let layout = obj.layout;
    let n = obj.shnum();
    let have = out.len();
    let out = out
        .get_mut(..n)
        .ok_or(Error::TooFewHeaders { need: n, have })?;
    let entry = obj.entry();
    let entry_sym = obj.find_symbol(b"purgatory_start");
    let buf_end = mem.checked_add(layout.bufsz).ok_or(Error::LayoutOverflow)?;
    let bss_end = mem.checked_add(layout.memsz).ok_or(Error::LayoutOverflow)?;
    let mut start = entry;
    let mut fixed = false;
    let mut offset = 0u64;
    let mut bss_addr = buf_end;
    for (i, slot) in out.iter_mut().enumerate() {
        let mut sh = obj.shdr(i).ok_or(Error::LayoutOverflow)?;
        if sh.flags & SHF_ALLOC != 0 {
            let align = section_align(&sh);
            if sh.kind == SHT_NOBITS {
                sh.addr = align_up(bss_addr, align).ok_or(Error::LayoutOverflow)?;
                bss_addr = sh.addr.checked_add(sh.size).ok_or(Error::LayoutOverflow)?;
                if bss_addr > bss_end {
                    return Err(Error::BssOutside(i));
                }
            } else {
                offset = align_up(offset, align).ok_or(Error::LayoutOverflow)?;
                let addr = mem.checked_add(offset).ok_or(Error::LayoutOverflow)?;
                let exec = sh.flags & SHF_EXECINSTR != 0;
                if !fixed && exec {
                    if let Some(s) = entry_sym.filter(|s| usize::from(s.shndx) == i) {
                        if s.value < sh.size {
                            start = addr.checked_add(s.value).ok_or(Error::LayoutOverflow)?;
                            fixed = true;
                        }
                    }
                }
                if !fixed && exec && entry >= sh.addr && entry < sh.addr.wrapping_add(sh.size) {
                    start = addr
                        .checked_add(entry - sh.addr)
                        .ok_or(Error::LayoutOverflow)?;
                    fixed = true;
                }
                sh.addr = addr;
                sh.offset = offset;
                offset = offset.checked_add(sh.size).ok_or(Error::LayoutOverflow)?;
                // As `buf_layout` computed it, so never taken.
                if offset > layout.bufsz {
                    return Err(Error::LayoutOverflow);
                }
            }
        }
        *slot = sh;
    }
    Ok(start)
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

// SPDX-License-Identifier: GPL-2.0

//! ELF notes and the ELF64 core header ("elfcorehdr") of a crash dump.
//!
//! The crashed kernel leaves three things for the capture kernel: a note buffer per
//! CPU with its registers (`NT_PRSTATUS`), the VMCOREINFO note, and an ELF64 core
//! header whose program headers point at them (`PT_NOTE`) and at every range of RAM
//! to dump (`PT_LOAD`). The capture kernel's /proc/vmcore is built from that header.
//! This module writes all three into caller-provided buffers, and cuts ranges out of
//! the list of RAM ranges (the crash kernel's own memory is not dumped).
//!
//! Pure logic: no allocation and no kernel dependency.

/// `sizeof(Elf64_Ehdr)`.
pub const EHDR_SIZE: usize = 64;
/// `sizeof(Elf64_Phdr)`.
pub const PHDR_SIZE: usize = 56;
/// `sizeof(Elf64_Nhdr)`: namesz, descsz, type.
pub const NHDR_SIZE: usize = 12;
/// The elfcorehdr is padded to this (`ELF_CORE_HEADER_ALIGN`).
pub const HEADER_ALIGN: usize = 4096;

/// `PT_LOAD`.
pub const PT_LOAD: u32 = 1;
/// `PT_NOTE`.
pub const PT_NOTE: u32 = 4;
/// `PF_R | PF_W | PF_X`.
pub const PF_RWX: u32 = 7;
/// `ET_CORE`.
pub const ET_CORE: u16 = 4;
/// `EM_X86_64`.
pub const EM_X86_64: u16 = 62;
/// `EM_AARCH64`.
pub const EM_AARCH64: u16 = 183;
/// The machine this code is built for (`ELF_ARCH`): the core headers' `e_machine`.
#[cfg(target_arch = "aarch64")]
pub const EM_NATIVE: u16 = EM_AARCH64;
/// The machine this code is built for (`ELF_ARCH`): the core headers' `e_machine`.
#[cfg(not(target_arch = "aarch64"))]
pub const EM_NATIVE: u16 = EM_X86_64;
/// `NT_PRSTATUS`.
pub const NT_PRSTATUS: u32 = 1;

/// Bytes a note with a `name_len`-byte name (without its NUL) and `desc_len` bytes
/// of data takes, each part padded to 4 bytes.
pub const fn note_size(name_len: usize, desc_len: usize) -> usize {
    NHDR_SIZE + (name_len + 1).next_multiple_of(4) + desc_len.next_multiple_of(4)
}

/// Writes a note at `buf[off..]`: header, `name` with its NUL, `desc`, each padded
/// to 4 bytes with zeros. Returns the offset after it, or `None` (and writes
/// nothing) if it does not fit.
pub fn append_note(buf: &mut [u8], off: usize, name: &[u8], ty: u32, desc: &[u8]) -> Option<usize> {
    let size = note_size(name.len(), desc.len());
    let end = off.checked_add(size)?;
    let out = buf.get_mut(off..end)?;
    out.fill(0);
    out[0..4].copy_from_slice(&(name.len() as u32 + 1).to_le_bytes());
    out[4..8].copy_from_slice(&(desc.len() as u32).to_le_bytes());
    out[8..12].copy_from_slice(&ty.to_le_bytes());
    out[NHDR_SIZE..NHDR_SIZE + name.len()].copy_from_slice(name);
    let desc_at = NHDR_SIZE + (name.len() + 1).next_multiple_of(4);
    out[desc_at..desc_at + desc.len()].copy_from_slice(desc);
    Some(end)
}

/// Writes the empty note that ends a note list at `buf[off..]`. Returns the offset
/// after it, or `None` if it does not fit.
pub fn final_note(buf: &mut [u8], off: usize) -> Option<usize> {
    let end = off.checked_add(NHDR_SIZE)?;
    buf.get_mut(off..end)?.fill(0);
    Some(end)
}

/// An inclusive physical range `[start, end]`, laid out as C's `struct range`
/// so that a `struct crash_mem`'s array can be used in place.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// First byte.
    pub start: u64,
    /// Last byte.
    pub end: u64,
}

/// A cut needed one more range than the list has room for (`ENOMEM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom;

/// Removes `[start, end]` (inclusive) from the sorted, disjoint ranges
/// `ranges[..*len]`, keeping them sorted: ranges inside it go, ranges that
/// overlap one end are trimmed, a range that holds it strictly inside is split in
/// two, which needs a free slot in `ranges`. On `NoRoom` the ranges before the
/// split are already cut, as in the stock kernel.
pub fn exclude(ranges: &mut [Range], len: &mut usize, start: u64, end: u64) -> Result<(), NoRoom> {
    let mut i = 0;
    while i < *len {
        let r = ranges[i];
        if start > r.end {
            i += 1;
            continue;
        }
        if end < r.start {
            // Sorted: nothing further can overlap.
            break;
        }
        let cut_start = start.max(r.start);
        let cut_end = end.min(r.end);
        if cut_start == r.start && cut_end == r.end {
            ranges.copy_within(i + 1..*len, i);
            *len -= 1;
            continue;
        }
        if cut_start > r.start && cut_end < r.end {
            if *len >= ranges.len() {
                return Err(NoRoom);
            }
            ranges.copy_within(i + 1..*len, i + 2);
            ranges[i].end = cut_start - 1;
            ranges[i + 1] = Range {
                start: cut_end + 1,
                end: r.end,
            };
            *len += 1;
            i += 2;
            continue;
        }
        if cut_start != r.start {
            ranges[i].end = cut_start - 1;
        } else {
            ranges[i].start = cut_end + 1;
        }
        i += 1;
    }
    Ok(())
}

/// The kernel image mapping that gets its own `PT_LOAD`, for tools that read the
/// kernel's text through its link-time addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelMap {
    /// Virtual address of `_text`.
    pub vaddr: u64,
    /// Physical address of `_text`.
    pub paddr: u64,
    /// `_end - _text`.
    pub size: u64,
}

/// What the core header describes.
pub struct CoreLayout<'a> {
    /// The physical address of each possible CPU's note buffer.
    pub cpu_notes: &'a [u64],
    /// The size of one CPU's note buffer (`sizeof(note_buf_t)`).
    pub cpu_note_size: u64,
    /// The physical address and size of the VMCOREINFO note.
    pub vmcoreinfo: (u64, u64),
    /// The kernel image mapping, if it gets a `PT_LOAD` of its own.
    pub kernel_map: Option<KernelMap>,
    /// The RAM to dump.
    pub ram: &'a [Range],
    /// The virtual address of physical address 0 in the direct map (`PAGE_OFFSET`).
    pub page_offset: u64,
}

impl CoreLayout<'_> {
    /// The number of program headers.
    pub fn phnum(&self) -> usize {
        self.cpu_notes.len() + 1 + usize::from(self.kernel_map.is_some()) + self.ram.len()
    }

    /// Bytes the header takes, padded to [`HEADER_ALIGN`]. As in the stock
    /// kernel, room for the kernel map's header is counted even without one.
    pub fn size(&self) -> usize {
        let phdrs = self.cpu_notes.len() + 1 + 1 + self.ram.len();
        (EHDR_SIZE + phdrs * PHDR_SIZE).next_multiple_of(HEADER_ALIGN)
    }
}

fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// A program header (`Elf64_Phdr`), as the crashed kernel writes it here and
/// the capture kernel reads it back (crate::corehdr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Phdr {
    /// `p_type`.
    pub ty: u32,
    /// `p_flags`.
    pub flags: u32,
    /// `p_offset`: in an elfcorehdr, the physical address of the data.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_paddr`.
    pub paddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
    /// `p_align`.
    pub align: u64,
}

fn get32(b: &[u8], off: usize) -> u32 {
    let mut v = [0u8; 4];
    v.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(v)
}
fn get64(b: &[u8], off: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(v)
}

impl Phdr {
    /// The header at `b[off..off + PHDR_SIZE]`, or `None` past the end.
    pub fn read(b: &[u8], off: usize) -> Option<Phdr> {
        let b = b.get(off..off.checked_add(PHDR_SIZE)?)?;
        Some(Phdr {
            ty: get32(b, 0),
            flags: get32(b, 4),
            offset: get64(b, 8),
            vaddr: get64(b, 16),
            paddr: get64(b, 24),
            filesz: get64(b, 32),
            memsz: get64(b, 40),
            align: get64(b, 48),
        })
    }

    /// Writes the header at `b[off..off + PHDR_SIZE]` (which must be in bounds).
    pub fn write(&self, b: &mut [u8], off: usize) {
        put32(b, off, self.ty);
        put32(b, off + 4, self.flags);
        put64(b, off + 8, self.offset);
        put64(b, off + 16, self.vaddr);
        put64(b, off + 24, self.paddr);
        put64(b, off + 32, self.filesz);
        put64(b, off + 40, self.memsz);
        put64(b, off + 48, self.align);
    }
}

/// One program header of an elfcorehdr: type, flags, vaddr, and the physical
/// address (in both `p_offset` and `p_paddr`) and size of the data.
fn put_phdr(b: &mut [u8], off: usize, ty: u32, flags: u32, vaddr: u64, paddr: u64, size: u64) {
    Phdr {
        ty,
        flags,
        offset: paddr,
        vaddr,
        paddr,
        filesz: size,
        memsz: size,
        align: 0,
    }
    .write(b, off);
}

/// Writes the core header of `layout` into `buf`, which must hold at least
/// `layout.size()` bytes; returns the bytes written (`layout.size()`), or `None`
/// if `buf` is too small. Program headers come in the stock kernel's order: the
/// CPUs' notes, VMCOREINFO, the kernel map, then the RAM ranges.
pub fn write_core_header(buf: &mut [u8], layout: &CoreLayout<'_>) -> Option<usize> {
    let size = layout.size();
    let out = buf.get_mut(..size)?;
    out.fill(0);
    out[0..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // ELFCLASS64
    out[5] = 1; // ELFDATA2LSB
    out[6] = 1; // EV_CURRENT
    put16(out, 16, ET_CORE);
    put16(out, 18, EM_NATIVE);
    put32(out, 20, 1);
    put64(out, 32, EHDR_SIZE as u64);
    put16(out, 52, EHDR_SIZE as u16);
    put16(out, 54, PHDR_SIZE as u16);
    put16(out, 56, layout.phnum() as u16);

    let mut off = EHDR_SIZE;
    for &paddr in layout.cpu_notes {
        put_phdr(out, off, PT_NOTE, 0, 0, paddr, layout.cpu_note_size);
        off += PHDR_SIZE;
    }
    let (info, info_size) = layout.vmcoreinfo;
    put_phdr(out, off, PT_NOTE, 0, 0, info, info_size);
    off += PHDR_SIZE;
    if let Some(k) = layout.kernel_map {
        put_phdr(out, off, PT_LOAD, PF_RWX, k.vaddr, k.paddr, k.size);
        off += PHDR_SIZE;
    }
    for r in layout.ram {
        let len = r.end.wrapping_sub(r.start).wrapping_add(1);
        put_phdr(
            out,
            off,
            PT_LOAD,
            PF_RWX,
            layout.page_offset.wrapping_add(r.start),
            r.start,
            len,
        );
        off += PHDR_SIZE;
    }
    Some(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64) -> Range {
        Range { start, end }
    }

    #[test]
    fn exclude_cases() {
        let mut v = [r(0, 99), r(200, 299), r(0, 0)];
        let mut n = 2;
        exclude(&mut v, &mut n, 50, 60).unwrap();
        assert_eq!(&v[..n], &[r(0, 49), r(61, 99), r(200, 299)]);
        exclude(&mut v, &mut n, 0, 1000).unwrap();
        assert_eq!(n, 0);
        let mut v = [r(0, 99)];
        let mut n = 1;
        assert_eq!(exclude(&mut v, &mut n, 10, 20), Err(NoRoom));
        exclude(&mut v, &mut n, 90, 200).unwrap();
        assert_eq!(&v[..n], &[r(0, 89)]);
    }

    #[test]
    fn notes() {
        let mut b = [0xffu8; 64];
        let end = append_note(&mut b, 0, b"CORE", NT_PRSTATUS, &[1, 2, 3]).unwrap();
        assert_eq!(end, 12 + 8 + 4);
        assert_eq!(&b[0..12], &[5, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&b[12..24], b"CORE\0\0\0\0\x01\x02\x03\0");
        assert_eq!(final_note(&mut b, end), Some(end + 12));
        assert_eq!(append_note(&mut b, 60, b"CORE", 1, &[]), None);
    }
}

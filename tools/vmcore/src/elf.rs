// SPDX-License-Identifier: GPL-2.0

//! A small, bounds-checked reader for ELF64 little-endian core files: the file
//! header, the program headers and the notes in PT_NOTE segments.

use std::fmt;

/// `p_type` of a loadable segment.
pub const PT_LOAD: u32 = 1;
/// `p_type` of a note segment.
pub const PT_NOTE: u32 = 4;
/// `e_type` of a core file.
pub const ET_CORE: u16 = 4;
/// `e_machine` of x86_64.
pub const EM_X86_64: u16 = 62;
/// `n_type` of a per-CPU register note.
pub const NT_PRSTATUS: u32 = 1;

/// Why a file is not a well-formed ELF64 core.
#[derive(Debug, PartialEq, Eq)]
pub struct ElfError(pub String);

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, ElfError> {
    Err(ElfError(msg.into()))
}

/// One program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phdr {
    pub p_type: u32,
    pub offset: u64,
    pub paddr: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

/// One note: its name (without the terminating NUL), type and descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub name: String,
    pub n_type: u32,
    pub desc: Vec<u8>,
}

/// The parts of an ELF64 file header the checker needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub e_type: u16,
    pub e_machine: u16,
    pub phoff: u64,
    pub phentsize: u16,
    pub phnum: u16,
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// Parses the ELF64 little-endian file header at the start of `b`.
pub fn parse_header(b: &[u8]) -> Result<Header, ElfError> {
    if b.len() < 64 {
        return err("file shorter than an ELF64 header");
    }
    if &b[0..4] != b"\x7fELF" {
        return err("no ELF magic");
    }
    if b[4] != 2 {
        return err(format!("EI_CLASS is {}, not ELFCLASS64", b[4]));
    }
    if b[5] != 1 {
        return err(format!("EI_DATA is {}, not little-endian", b[5]));
    }
    let h = Header {
        e_type: u16_at(b, 16).unwrap(),
        e_machine: u16_at(b, 18).unwrap(),
        phoff: u64_at(b, 32).unwrap(),
        phentsize: u16_at(b, 54).unwrap(),
        phnum: u16_at(b, 56).unwrap(),
    };
    if h.phentsize != 56 {
        return err(format!("e_phentsize is {}, not 56", h.phentsize));
    }
    Ok(h)
}

/// Parses the program header table; `b` must hold at least the table.
pub fn parse_phdrs(b: &[u8], h: &Header) -> Result<Vec<Phdr>, ElfError> {
    let mut out = Vec::with_capacity(h.phnum as usize);
    for i in 0..h.phnum as u64 {
        let off = h
            .phoff
            .checked_add(i * 56)
            .and_then(|o| usize::try_from(o).ok())
            .ok_or_else(|| ElfError("program header offset overflows".into()))?;
        let field = |rel: usize| u64_at(b, off + rel);
        let p = (|| {
            Some(Phdr {
                p_type: u32_at(b, off)?,
                offset: field(8)?,
                vaddr: field(16)?,
                paddr: field(24)?,
                filesz: field(32)?,
                memsz: field(40)?,
            })
        })()
        .ok_or_else(|| ElfError(format!("program header {i} lies past the end of the data")))?;
        out.push(p);
    }
    Ok(out)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Parses the notes in a PT_NOTE segment's bytes. Trailing zero padding (the
/// kernel's per-CPU note buffers are zero-filled past their last note) ends the
/// walk.
pub fn parse_notes(mut b: &[u8]) -> Result<Vec<Note>, ElfError> {
    let mut out = Vec::new();
    while b.len() >= 12 {
        let namesz = u32_at(b, 0).unwrap() as usize;
        let descsz = u32_at(b, 4).unwrap() as usize;
        let n_type = u32_at(b, 8).unwrap();
        if namesz == 0 && descsz == 0 && n_type == 0 {
            break;
        }
        let name_end = 12usize
            .checked_add(namesz)
            .ok_or_else(|| ElfError("note name size overflows".into()))?;
        let desc_start = align4(name_end);
        let desc_end = desc_start
            .checked_add(descsz)
            .ok_or_else(|| ElfError("note descriptor size overflows".into()))?;
        if desc_end > b.len() {
            return err(format!(
                "note {} ({} bytes of name, {} of descriptor) runs past its segment",
                out.len(),
                namesz,
                descsz
            ));
        }
        let raw_name = &b[12..name_end];
        let name = String::from_utf8_lossy(raw_name.strip_suffix(&[0]).unwrap_or(raw_name)).into_owned();
        out.push(Note { name, n_type, desc: b[desc_start..desc_end].to_vec() });
        b = &b[align4(desc_end).min(b.len())..];
    }
    Ok(out)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Encodes one note the way the kernel lays it out.
    pub fn note(name: &str, n_type: u32, desc: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
        v.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        v.extend_from_slice(&n_type.to_le_bytes());
        v.extend_from_slice(name.as_bytes());
        v.push(0);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v.extend_from_slice(desc);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    /// Builds an ELF64 core: header, program headers, then each segment's bytes.
    pub fn core(segments: &[(u32, u64, u64, Vec<u8>)]) -> Vec<u8> {
        let phoff = 64u64;
        let mut data_off = phoff + 56 * segments.len() as u64;
        let mut f = vec![0u8; 64];
        f[0..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[6] = 1;
        f[16..18].copy_from_slice(&ET_CORE.to_le_bytes());
        f[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        f[32..40].copy_from_slice(&phoff.to_le_bytes());
        f[52..54].copy_from_slice(&64u16.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        let mut body = Vec::new();
        for (p_type, paddr, memsz, bytes) in segments {
            let mut ph = vec![0u8; 56];
            ph[0..4].copy_from_slice(&p_type.to_le_bytes());
            ph[8..16].copy_from_slice(&data_off.to_le_bytes());
            ph[24..32].copy_from_slice(&paddr.to_le_bytes());
            ph[32..40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
            ph[40..48].copy_from_slice(&memsz.to_le_bytes());
            f.extend_from_slice(&ph);
            body.extend_from_slice(bytes);
            data_off += bytes.len() as u64;
        }
        f.extend_from_slice(&body);
        f
    }

    #[test]
    fn header_and_phdrs_round_trip() {
        let f = core(&[(PT_NOTE, 0, 0, note("CORE", 1, &[1, 2, 3])), (PT_LOAD, 0x1000, 8, vec![7; 8])]);
        let h = parse_header(&f).unwrap();
        assert_eq!((h.e_type, h.e_machine, h.phnum), (ET_CORE, EM_X86_64, 2));
        let ph = parse_phdrs(&f, &h).unwrap();
        assert_eq!(ph[1].p_type, PT_LOAD);
        assert_eq!(ph[1].paddr, 0x1000);
        assert_eq!(&f[ph[1].offset as usize..][..8], &[7; 8]);
    }

    #[test]
    fn rejects_bad_magic_class_and_truncation() {
        let mut f = core(&[]);
        assert!(parse_header(&f[..40]).is_err());
        f[4] = 1;
        assert_eq!(parse_header(&f).unwrap_err().0, "EI_CLASS is 1, not ELFCLASS64");
        f[0] = 0;
        assert!(parse_header(&f).is_err());
    }

    #[test]
    fn phdr_table_past_end_is_an_error() {
        let f = core(&[(PT_LOAD, 0, 0, vec![])]);
        let h = parse_header(&f).unwrap();
        assert!(parse_phdrs(&f[..100], &h).is_err());
    }

    #[test]
    fn notes_parse_with_padding_and_stop_at_zeros() {
        let mut b = note("CORE", NT_PRSTATUS, &[9; 5]);
        b.extend(note("VMCOREINFO", 0, b"OSRELEASE=7.3\n"));
        b.extend(vec![0; 24]);
        let n = parse_notes(&b).unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].name, "CORE");
        assert_eq!(n[0].desc, vec![9; 5]);
        assert_eq!(n[1].name, "VMCOREINFO");
        assert_eq!(n[1].desc, b"OSRELEASE=7.3\n");
    }

    #[test]
    fn note_running_past_segment_is_an_error() {
        let b = note("CORE", 1, &[0; 16]);
        assert!(parse_notes(&b[..20]).is_err());
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The parts of an ELF64 little-endian core file the checker needs (the file
//! header, the program headers and the notes in PT_NOTE segments), read with
//! the `object` crate and copied into plain types for the report.

use object::elf::{FileHeader64, ProgramHeader64, ELFCLASS64, ELFDATA2LSB, ELFMAG, EV_CURRENT};
use object::read::elf::{FileHeader, NoteIterator, ProgramHeader};
use object::{LittleEndian, ReadRef};
use std::fmt;

pub use object::elf::{EM_AARCH64, EM_X86_64, ET_CORE, NT_PRSTATUS, PT_LOAD, PT_NOTE};

/// The byte order of every core the checker accepts.
const LE: LittleEndian = LittleEndian;

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

/// A core file opened with `object`: its file header and program header table,
/// checked by [`Core::parse`], and the data they were read from.
///
/// The data is a [`ReadRef`]: a byte slice, or an [`object::ReadCache`] over a
/// file, which reads only the parts asked for (the headers and the notes, never
/// the PT_LOAD segments).
#[derive(Debug, Clone, Copy)]
pub struct Core<'data, R: ReadRef<'data>> {
    data: R,
    header: &'data FileHeader64<LittleEndian>,
    phdrs: &'data [ProgramHeader64<LittleEndian>],
}

impl<'data, R: ReadRef<'data>> Core<'data, R> {
    /// Reads the file header and the program header table. Fails unless the file
    /// is ELF64 little-endian with 56-byte program headers that lie in the file.
    pub fn parse(data: R) -> Result<Self, ElfError> {
        let header = FileHeader64::<LittleEndian>::parse(data)
            .and_then(|h| h.endian().map(|_| h))
            .map_err(|e| unsupported(data, e))?;
        let phentsize = header.e_phentsize(LE);
        if usize::from(phentsize) != std::mem::size_of::<ProgramHeader64<LittleEndian>>() {
            return err(format!("e_phentsize is {phentsize}, not 56"));
        }
        let phdrs = header.program_headers(LE, data).map_err(|e| {
            ElfError(format!(
                "program header table ({} entries at {:#x}): {e}",
                header.e_phnum(LE),
                header.e_phoff(LE)
            ))
        })?;
        Ok(Core { data, header, phdrs })
    }

    /// `e_type` of the file header.
    pub fn e_type(&self) -> u16 {
        self.header.e_type(LE)
    }

    /// `e_machine` of the file header.
    pub fn e_machine(&self) -> u16 {
        self.header.e_machine(LE)
    }

    /// The size of the file in bytes.
    pub fn size(&self) -> u64 {
        // Parsing already learnt the size (every read is checked against it), so
        // this does not fail in practice.
        self.data.len().unwrap_or(0)
    }

    /// The program headers, in file order.
    pub fn phdrs(&self) -> Vec<Phdr> {
        self.phdrs
            .iter()
            .map(|p| Phdr {
                p_type: p.p_type(LE),
                offset: p.p_offset(LE),
                paddr: p.p_paddr(LE),
                vaddr: p.p_vaddr(LE),
                filesz: p.p_filesz(LE),
                memsz: p.p_memsz(LE),
            })
            .collect()
    }

    /// The notes in program header `index`, which must be a PT_NOTE segment that
    /// lies in the file. See [`parse_notes`].
    pub fn notes(&self, index: usize) -> Result<Vec<Note>, ElfError> {
        let p = &self.phdrs[index];
        let seg = p.data(LE, self.data).or_else(|()| {
            err(format!(
                "{:#x} bytes at {:#x} lie past the end of the file ({:#x})",
                p.p_filesz(LE),
                p.p_offset(LE),
                self.size()
            ))
        })?;
        parse_notes(seg, p.p_align(LE))
    }
}

/// Names the field that makes `object` reject a file header, which it reports
/// only as unsupported.
fn unsupported<'data>(data: impl ReadRef<'data>, e: object::read::Error) -> ElfError {
    let Ok(header) = data.read_at::<FileHeader64<LittleEndian>>(0) else {
        return ElfError("file shorter than an ELF64 header".into());
    };
    let ident = header.e_ident();
    ElfError(if ident.magic != ELFMAG {
        "no ELF magic".into()
    } else if ident.class != ELFCLASS64 {
        format!("EI_CLASS is {}, not ELFCLASS64", ident.class)
    } else if ident.data != ELFDATA2LSB {
        format!("EI_DATA is {}, not little-endian", ident.data)
    } else if ident.version != EV_CURRENT {
        format!("EI_VERSION is {}, not EV_CURRENT", ident.version)
    } else {
        e.to_string()
    })
}

/// Reads the notes in a PT_NOTE segment's bytes with `object`'s note iterator;
/// `p_align` is the segment's (0 to 4 means 4-byte alignment, as Linux writes
/// its notes; 8 means 8; anything else is an error).
///
/// Trailing zero padding ends the walk: an all-zero note header, or zero bytes
/// too few to hold a header after the last note (the kernel's per-CPU note
/// buffers are zero-filled past their last note). A note that runs past the end
/// of the segment is an error.
pub fn parse_notes(seg: &[u8], p_align: u64) -> Result<Vec<Note>, ElfError> {
    let mut notes = NoteIterator::<FileHeader64<LittleEndian>>::new(LE, p_align, seg)
        .map_err(|e| ElfError(format!("p_align is {p_align}: {e}")))?;
    let mut out = Vec::new();
    // Where the last note's descriptor ends in `seg`.
    let mut end = 0;
    loop {
        match notes.next() {
            Ok(None) => break,
            Ok(Some(n)) => {
                if n.n_namesz(LE) == 0 && n.n_descsz(LE) == 0 && n.n_type(LE) == 0 {
                    break;
                }
                // The descriptor is a subslice of `seg`; its place there is where
                // the walk has got to.
                end = n.desc().as_ptr() as usize - seg.as_ptr() as usize + n.desc().len();
                out.push(Note {
                    name: String::from_utf8_lossy(n.name()).into_owned(),
                    n_type: n.n_type(LE),
                    desc: n.desc().to_vec(),
                });
            }
            Err(_) if seg[end..].iter().all(|&b| b == 0) => break,
            Err(e) => return err(format!("note {} runs past its segment ({e})", out.len())),
        }
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

    fn parse_err(f: &[u8]) -> String {
        Core::parse(f).unwrap_err().0
    }

    #[test]
    fn header_and_phdrs_round_trip() {
        let f = core(&[(PT_NOTE, 0, 0, note("CORE", 1, &[1, 2, 3])), (PT_LOAD, 0x1000, 8, vec![7; 8])]);
        let c = Core::parse(f.as_slice()).unwrap();
        assert_eq!((c.e_type(), c.e_machine(), c.size()), (ET_CORE, EM_X86_64, f.len() as u64));
        let ph = c.phdrs();
        assert_eq!(ph.len(), 2);
        assert_eq!(ph[1].p_type, PT_LOAD);
        assert_eq!(ph[1].paddr, 0x1000);
        assert_eq!(&f[ph[1].offset as usize..][..8], &[7; 8]);
        let n = c.notes(0).unwrap();
        assert_eq!(n, vec![Note { name: "CORE".into(), n_type: 1, desc: vec![1, 2, 3] }]);
    }

    #[test]
    fn rejects_bad_magic_class_data_and_truncation() {
        let mut f = core(&[]);
        assert_eq!(parse_err(&f[..40]), "file shorter than an ELF64 header");
        f[5] = 2;
        assert_eq!(parse_err(&f), "EI_DATA is 2, not little-endian");
        f[4] = 1;
        assert_eq!(parse_err(&f), "EI_CLASS is 1, not ELFCLASS64");
        f[0] = 0;
        assert_eq!(parse_err(&f), "no ELF magic");
    }

    #[test]
    fn rejects_other_program_header_sizes() {
        let mut f = core(&[]);
        f[54] = 32;
        assert_eq!(parse_err(&f), "e_phentsize is 32, not 56");
    }

    #[test]
    fn phdr_table_past_end_is_an_error() {
        let f = core(&[(PT_LOAD, 0, 0, vec![])]);
        assert!(parse_err(&f[..100]).starts_with("program header table (1 entries at 0x40): "));
    }

    #[test]
    fn note_segment_past_end_is_an_error() {
        let f = core(&[(PT_NOTE, 0, 0, note("CORE", 1, &[0; 16]))]);
        let c = Core::parse(&f[..f.len() - 1]).unwrap();
        assert_eq!(c.notes(0).unwrap_err().0, "0x24 bytes at 0x78 lie past the end of the file (0x9b)");
    }

    #[test]
    fn notes_parse_with_padding_and_stop_at_zeros() {
        let mut b = note("CORE", NT_PRSTATUS, &[9; 5]);
        b.extend(note("VMCOREINFO", 0, b"OSRELEASE=7.3\n"));
        for zeros in [0, 4, 8, 12, 24] {
            let mut b = b.clone();
            b.extend(vec![0; zeros]);
            let n = parse_notes(&b, 4).unwrap();
            assert_eq!(n.len(), 2, "{zeros} bytes of padding");
            assert_eq!(n[0].name, "CORE");
            assert_eq!(n[0].desc, vec![9; 5]);
            assert_eq!(n[1].name, "VMCOREINFO");
            assert_eq!(n[1].desc, b"OSRELEASE=7.3\n");
        }
    }

    #[test]
    fn note_running_past_segment_is_an_error() {
        let b = note("CORE", 1, &[0; 16]);
        assert_eq!(parse_notes(&b[..20], 4).unwrap_err().0, "note 0 runs past its segment (Invalid ELF note descsz)");
        // Bytes after the last note that are too few for a header are padding
        // only if they are zero.
        let mut b = note("CORE", 1, &[0; 16]);
        b.extend([0, 0, 0, 1]);
        assert_eq!(parse_notes(&b, 4).unwrap_err().0, "note 1 runs past its segment (ELF note is too short)");
    }

    #[test]
    fn note_alignment_follows_p_align() {
        // With 8-byte alignment the descriptor of a 5-byte name starts at 24, not 20.
        // Read with 4-byte alignment, the last 4 bytes are junk after the note.
        let mut b = note("CORE", 1, &[]);
        b[4] = 4;
        b.extend([0, 0, 0, 0, 1, 2, 3, 4]);
        assert_eq!(parse_notes(&b, 8).unwrap()[0].desc, vec![1, 2, 3, 4]);
        assert_eq!(parse_notes(&b, 4).unwrap_err().0, "note 1 runs past its segment (ELF note is too short)");
        assert_eq!(parse_notes(&b, 4096).unwrap_err().0, "p_align is 4096: Invalid ELF note alignment");
    }
}

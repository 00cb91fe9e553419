// SPDX-License-Identifier: GPL-2.0

//! The crashed kernel's ELF core header as the capture kernel reads it: the
//! checks, the merge of the per-CPU and VMCOREINFO `PT_NOTE`s into one, and the
//! layout of `/proc/vmcore` (the ELF header, one `PT_NOTE`, the `PT_LOAD`s with
//! their file offsets).
//!
//! The header is what [`crate::elfcore`] (or kexec-tools) wrote in the crashed
//! kernel, read back with the same [`Phdr`] type. The layout is the stock
//! kernel's (fs/proc/vmcore.c), so that makedumpfile, crash and drgn see the
//! same file: the headers padded to a page, the merged notes at the next page
//! (padded to a page too), then each `PT_LOAD` widened to whole pages, one after
//! the other, the data starting at its offset within its first page.
//!
//! Unlike the stock parser, every rule is checked before anything is used, and
//! a header that breaks one is refused with the rule named ([`Defect`]): a
//! program header table that is not right after the ELF header or does not fit
//! in the elfcorehdr segment, a `PT_NOTE` after a `PT_LOAD` or too big for the
//! stock kernel to read, a range that wraps around. A note that runs past its
//! segment is dropped with what follows it, as stock does. `PT_LOAD`s may
//! overlap (kexec-tools writes one for the kernel's text inside the RAM range
//! that holds it). Pure logic: no allocation, no kernel dependency.

use crate::elfcore::{Phdr, EHDR_SIZE, NHDR_SIZE, PHDR_SIZE, PT_LOAD, PT_NOTE};
use core::fmt;

/// The page size of the layout.
pub const PAGE_SIZE: u64 = 4096;

/// The largest `PT_NOTE` the capture kernel reads: the stock kernel reads each
/// one into a single kmalloc() buffer, whose limit on x86_64 is 4 MiB.
pub const MAX_NOTE_SEGMENT: u64 = 4 << 20;

/// The largest dump: the `PT_LOAD`s (widened to pages) may add up to this
/// many bytes, which leaves room for the headers below the largest file
/// offset (`loff_t`).
pub const MAX_DUMP: u64 = 1 << 62;

/// `elfcorehdr=` as the stock kernel reads it: `[size[KMG]@]offset[KMG]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfcorehdrParam {
    /// The header's physical address (0 when there was no number, as stock).
    pub addr: u64,
    /// Its size, when given.
    pub size: Option<u64>,
    /// Whether the value was well formed (`-EINVAL` otherwise; the address is
    /// still set, which is what makes the kernel a kdump kernel).
    pub ok: bool,
}

/// Parses the value of `elfcorehdr=`.
pub fn parse_elfcorehdr(arg: &[u8]) -> ElfcorehdrParam {
    let (first, end) = crate::crashkernel::memparse(arg, 0);
    if arg.get(end) == Some(&b'@') {
        let (addr, end2) = crate::crashkernel::memparse(arg, end + 1);
        return ElfcorehdrParam {
            addr,
            size: Some(first),
            ok: end2 > 0,
        };
    }
    ElfcorehdrParam {
        addr: first,
        size: None,
        ok: end > 0,
    }
}

/// The index in `loads` (in file order, see [`loads`]) of the range that holds
/// file offset `pos`, or `loads.len()` when `pos` is past them all.
pub fn load_at(loads: &[Load], pos: u64) -> usize {
    loads.partition_point(|l| l.offset + l.size <= pos)
}

/// What is wrong with an elfcorehdr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// Fewer bytes than an ELF header.
    Short {
        /// Bytes there are.
        len: u64,
    },
    /// Not `\x7fELF`.
    Magic,
    /// Not ELFCLASS64 or not little-endian.
    Class,
    /// `EI_VERSION` or `e_version` is not `EV_CURRENT`.
    Version,
    /// Not `ET_CORE`.
    NotCore {
        /// `e_type`.
        ty: u16,
    },
    /// For another machine than this one.
    Machine {
        /// `e_machine`.
        machine: u16,
    },
    /// `e_ehsize` or `e_phentsize` is not the ELF64 size.
    EntrySize,
    /// No program headers.
    NoProgramHeaders,
    /// The program headers are not right after the ELF header (the stock kernel
    /// assumes they are and reads garbage otherwise).
    ProgramHeadersMoved {
        /// `e_phoff`.
        phoff: u64,
    },
    /// The program header table runs past the elfcorehdr segment.
    ProgramHeadersOutside {
        /// `e_phnum`.
        phnum: u16,
        /// The segment's size.
        size: u64,
    },
    /// A `PT_NOTE` comes after a `PT_LOAD` (the merged note must be first).
    NoteAfterLoad {
        /// Index of the program header.
        index: usize,
    },
    /// A `PT_NOTE` or `PT_LOAD` whose range wraps around the address space.
    Wraps {
        /// Index of the program header.
        index: usize,
    },
    /// The `PT_LOAD`s add up to more than a file offset can hold.
    TooLarge {
        /// Index of the program header that went over.
        index: usize,
    },
    /// With no `PT_NOTE` to merge, the merged one would be program header
    /// 65,536.
    TooManyProgramHeaders,
    /// A `PT_NOTE` larger than the stock kernel can read in one piece.
    NoteTooBig {
        /// Index of the program header.
        index: usize,
        /// Its `p_memsz`.
        size: u64,
    },
    /// No room in the caller's buffer for the new header.
    NoRoom,
}

impl Defect {
    /// The (positive) errno the stock kernel gives a header it refuses.
    pub fn errno(&self) -> i32 {
        22
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Defect::Short { len } => write!(f, "{len} bytes, shorter than an ELF header"),
            Defect::Magic => write!(f, "no ELF magic"),
            Defect::Class => write!(f, "not a little-endian ELF64 file"),
            Defect::Version => write!(f, "ELF version is not EV_CURRENT"),
            Defect::NotCore { ty } => write!(f, "ELF type {ty}, not ET_CORE"),
            Defect::Machine { machine } => write!(f, "ELF machine {machine}, not this one"),
            Defect::EntrySize => write!(f, "ELF or program header size is not ELF64's"),
            Defect::NoProgramHeaders => write!(f, "no program headers"),
            Defect::ProgramHeadersMoved { phoff } => {
                write!(
                    f,
                    "program headers at offset {phoff}, not right after the ELF header"
                )
            }
            Defect::ProgramHeadersOutside { phnum, size } => {
                write!(
                    f,
                    "{phnum} program headers do not fit in the {size}-byte elfcorehdr"
                )
            }
            Defect::NoteAfterLoad { index } => {
                write!(f, "program header {index}: PT_NOTE after a PT_LOAD")
            }
            Defect::Wraps { index } => write!(f, "program header {index}: range wraps around"),
            Defect::TooLarge { index } => write!(
                f,
                "program header {index}: the PT_LOADs add up to more than {MAX_DUMP} bytes"
            ),
            Defect::TooManyProgramHeaders => {
                write!(
                    f,
                    "65535 program headers and no PT_NOTE: no room for the merged one"
                )
            }
            Defect::NoteTooBig { index, size } => write!(
                f,
                "program header {index}: PT_NOTE of {size} bytes, more than {MAX_NOTE_SEGMENT}"
            ),
            Defect::NoRoom => write!(f, "no room for the new header"),
        }
    }
}

fn get16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}
fn get32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}
fn get64(b: &[u8], off: usize) -> u64 {
    (get32(b, off) as u64) | ((get32(b, off + 4) as u64) << 32)
}

/// The checked ELF header: how many program headers follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ehdr {
    /// `e_phnum`.
    pub phnum: u16,
}

impl Ehdr {
    /// Bytes of the ELF header and its program headers.
    pub fn headers_size(&self) -> u64 {
        EHDR_SIZE as u64 + self.phnum as u64 * PHDR_SIZE as u64
    }
}

/// Checks the ELF header at the start of `b`, an elfcorehdr segment of
/// `segment_size` bytes, for `machine` (`EM_X86_64`, ...), in the order of the
/// stock kernel's checks, then the ones it does not make.
pub fn check_ehdr(b: &[u8], segment_size: u64, machine: u16) -> Result<Ehdr, Defect> {
    if b.len() < EHDR_SIZE {
        return Err(Defect::Short {
            len: b.len() as u64,
        });
    }
    if &b[0..4] != b"\x7fELF" {
        return Err(Defect::Magic);
    }
    let ty = get16(b, 16);
    if ty != 4 {
        return Err(Defect::NotCore { ty });
    }
    let m = get16(b, 18);
    if m != machine {
        return Err(Defect::Machine { machine: m });
    }
    if b[4] != 2 || b[5] != 1 {
        return Err(Defect::Class);
    }
    if b[6] != 1 || get32(b, 20) != 1 {
        return Err(Defect::Version);
    }
    if get16(b, 52) as usize != EHDR_SIZE || get16(b, 54) as usize != PHDR_SIZE {
        return Err(Defect::EntrySize);
    }
    let phnum = get16(b, 56);
    if phnum == 0 {
        return Err(Defect::NoProgramHeaders);
    }
    let phoff = get64(b, 32);
    if phoff != EHDR_SIZE as u64 {
        return Err(Defect::ProgramHeadersMoved { phoff });
    }
    let e = Ehdr { phnum };
    if e.headers_size() > segment_size {
        return Err(Defect::ProgramHeadersOutside {
            phnum,
            size: segment_size,
        });
    }
    Ok(e)
}

/// The real size of a note segment: its notes up to the first one with an empty
/// name, each with its padded name and data, as long as they fit in the
/// segment's `notes.len()` bytes; a note that would run past the end is
/// dropped, with what came before it kept (as the stock kernel does, which
/// warns). Returns the size and whether a note was dropped.
pub fn notes_size(notes: &[u8]) -> (u64, bool) {
    let max = notes.len() as u64;
    let mut size = 0u64;
    loop {
        let at = size as usize;
        if at + NHDR_SIZE > notes.len() {
            // No room for another header: what is there is the end.
            return (size, false);
        }
        let namesz = get32(notes, at) as u64;
        if namesz == 0 {
            return (size, false);
        }
        let descsz = get32(notes, at + 4) as u64;
        let sz = NHDR_SIZE as u64 + namesz.next_multiple_of(4) + descsz.next_multiple_of(4);
        if size + sz > max {
            return (size, true);
        }
        size += sz;
    }
}

/// One `PT_LOAD` of /proc/vmcore: old memory `[start, start + size)` (whole
/// pages) at file offset `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// First physical address, page aligned.
    pub start: u64,
    /// Bytes, whole pages.
    pub size: u64,
    /// Where the range starts in /proc/vmcore.
    pub offset: u64,
}

/// The layout of /proc/vmcore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Bytes of the new ELF header and program headers, padded to a page.
    pub headers: u64,
    /// Bytes of the merged notes, and the same padded to a page.
    pub notes: u64,
    /// [`Layout::notes`] padded to a page.
    pub notes_padded: u64,
    /// The number of program headers of the new header.
    pub phnum: u16,
    /// The size of /proc/vmcore.
    pub size: u64,
}

/// Reads the program headers that follow `ehdr` in `b` (which holds at least
/// [`Ehdr::headers_size`] bytes) and checks them: every `PT_NOTE` before every
/// `PT_LOAD`, no range that wraps, no `PT_NOTE` too big to read. Calls
/// `f(index, phdr)` for each, in order.
pub fn check_phdrs(b: &[u8], ehdr: &Ehdr, mut f: impl FnMut(usize, &Phdr)) -> Result<(), Defect> {
    let mut seen_load = false;
    let mut total = 0u64;
    for i in 0..ehdr.phnum as usize {
        let p = Phdr::read(b, EHDR_SIZE + i * PHDR_SIZE).ok_or(Defect::ProgramHeadersOutside {
            phnum: ehdr.phnum,
            size: b.len() as u64,
        })?;
        match p.ty {
            PT_NOTE if seen_load => return Err(Defect::NoteAfterLoad { index: i }),
            PT_NOTE | PT_LOAD => {
                if p.ty == PT_NOTE && p.memsz > MAX_NOTE_SEGMENT {
                    return Err(Defect::NoteTooBig {
                        index: i,
                        size: p.memsz,
                    });
                }
                if p.offset.checked_add(p.memsz).is_none()
                    || p.offset
                        .checked_add(p.memsz)
                        .and_then(|e| e.checked_add(PAGE_SIZE - 1))
                        .is_none()
                {
                    return Err(Defect::Wraps { index: i });
                }
                if p.ty == PT_LOAD {
                    // PT_LOADs may overlap: kexec-tools gives the kernel's text
                    // its own PT_LOAD inside the RAM range that holds it.
                    seen_load = true;
                    let (s, e) = widened(&p);
                    total = total.saturating_add(e - s);
                    if total > MAX_DUMP {
                        return Err(Defect::TooLarge { index: i });
                    }
                }
            }
            _ => {}
        }
        f(i, &p);
    }
    Ok(())
}

/// `[start, end)` of a `PT_NOTE` or `PT_LOAD` widened to whole pages (checked
/// not to wrap by [`check_phdrs`]).
pub fn widened(p: &Phdr) -> (u64, u64) {
    let start = p.offset & !(PAGE_SIZE - 1);
    let end = (p.offset + p.memsz).next_multiple_of(PAGE_SIZE);
    (start, end)
}

/// Calls `f(phdr, load)` for each program header of `b` after its PT_NOTEs,
/// in order, with the old memory and file offset of each `PT_LOAD` (`None` for
/// the others); the first `PT_LOAD` starts at file offset `first`.
fn walk_after_notes(b: &[u8], ehdr: &Ehdr, first: u64, mut f: impl FnMut(&Phdr, Option<Load>)) {
    let mut file_off = first;
    for i in 0..ehdr.phnum as usize {
        let Some(p) = Phdr::read(b, EHDR_SIZE + i * PHDR_SIZE) else {
            return;
        };
        match p.ty {
            PT_NOTE => {}
            PT_LOAD => {
                let (start, end) = widened(&p);
                f(
                    &p,
                    Some(Load {
                        start,
                        size: end - start,
                        offset: file_off,
                    }),
                );
                file_off += end - start;
            }
            _ => f(&p, None),
        }
    }
}

/// Writes the header of /proc/vmcore into `out` from the checked headers in
/// `b` (see [`check_phdrs`]) and the real sizes of their `PT_NOTE`s
/// (`note_sizes[k]` for the `k`-th, from [`notes_size`]), and returns the
/// layout. `out` must hold [`Layout::headers`] bytes, which are all written.
pub fn write_header(
    b: &[u8],
    ehdr: &Ehdr,
    note_sizes: &[u64],
    out: &mut [u8],
) -> Result<Layout, Defect> {
    let mut nr_notes = 0usize;
    check_phdrs(b, ehdr, |_, p| {
        if p.ty == PT_NOTE {
            nr_notes += 1;
        }
    })?;
    let notes: u64 = note_sizes.iter().take(nr_notes).sum();
    // The merged note replaces the PT_NOTEs: one, then the others in order.
    let phnum = ehdr.phnum as usize - nr_notes + 1;
    if phnum > u16::MAX as usize {
        return Err(Defect::TooManyProgramHeaders);
    }
    let headers = ((EHDR_SIZE + phnum * PHDR_SIZE) as u64).next_multiple_of(PAGE_SIZE);
    let notes_padded = notes.next_multiple_of(PAGE_SIZE);
    let out = out.get_mut(..headers as usize).ok_or(Defect::NoRoom)?;
    out.fill(0);
    out[..EHDR_SIZE].copy_from_slice(&b[..EHDR_SIZE]);
    out[56..58].copy_from_slice(&(phnum as u16).to_le_bytes());
    let note = Phdr {
        ty: PT_NOTE,
        flags: 0,
        offset: headers,
        vaddr: 0,
        paddr: 0,
        filesz: notes,
        memsz: notes,
        align: 4,
    };
    note.write(out, EHDR_SIZE);
    let mut at = EHDR_SIZE + PHDR_SIZE;
    let mut size = headers + notes_padded;
    walk_after_notes(b, ehdr, size, |p, load| {
        let mut p = *p;
        if let Some(l) = load {
            // The data starts at its offset within its first page.
            p.offset = l.offset + (p.offset - l.start);
            size = l.offset + l.size;
        }
        p.write(out, at);
        at += PHDR_SIZE;
    });
    Ok(Layout {
        headers,
        notes,
        notes_padded,
        phnum: phnum as u16,
        size,
    })
}

/// The `PT_LOAD`s of a header that [`write_header`] wrote, with the old memory
/// each one maps: calls `f` for each that holds bytes of the file, in file
/// order (a `PT_LOAD` of no whole page holds none, and is left out).
pub fn loads(old: &[u8], ehdr: &Ehdr, layout: &Layout, mut f: impl FnMut(Load)) {
    walk_after_notes(
        old,
        ehdr,
        layout.headers + layout.notes_padded,
        |_, load| {
            if let Some(l) = load.filter(|l| l.size > 0) {
                f(l);
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elfcore::{write_core_header, CoreLayout, Range, EM_X86_64};

    fn sample() -> std::vec::Vec<u8> {
        let cpu_notes = [0x10_0000u64, 0x10_1000];
        let ram = [
            Range {
                start: 0x10_0000,
                end: 0x3fff_ffff,
            },
            Range {
                start: 0x1_0000_0000,
                end: 0x1_3fff_ffff,
            },
        ];
        let layout = CoreLayout {
            cpu_notes: &cpu_notes,
            cpu_note_size: 0x200,
            vmcoreinfo: (0x20_0000, 0x1024),
            kernel_map: None,
            ram: &ram,
            page_offset: 0xffff_8880_0000_0000,
        };
        let mut b = std::vec![0u8; layout.size()];
        write_core_header(&mut b, &layout).unwrap();
        b
    }

    #[test]
    fn what_elfcore_writes_is_accepted_and_merged() {
        let b = sample();
        let e = check_ehdr(&b, b.len() as u64, EM_X86_64).unwrap();
        assert_eq!(e.phnum, 5);
        let mut out = std::vec![0u8; 8192];
        let l = write_header(&b, &e, &[0x150, 0x150, 0x800], &mut out).unwrap();
        // Three PT_NOTEs become one: 1 + 2 PT_LOADs.
        assert_eq!(l.phnum, 3);
        assert_eq!(l.headers, 4096);
        assert_eq!(l.notes, 0xaa0);
        assert_eq!(l.notes_padded, 4096);
        let note = Phdr::read(&out, EHDR_SIZE).unwrap();
        assert_eq!((note.ty, note.offset, note.filesz), (PT_NOTE, 4096, 0xaa0));
        let first = Phdr::read(&out, EHDR_SIZE + PHDR_SIZE).unwrap();
        assert_eq!(
            (first.ty, first.offset, first.paddr),
            (PT_LOAD, 8192, 0x10_0000)
        );
        let second = Phdr::read(&out, EHDR_SIZE + 2 * PHDR_SIZE).unwrap();
        assert_eq!(second.offset, 8192 + 0x3ff0_0000);
        let mut v = std::vec::Vec::new();
        loads(&b, &e, &l, |x| v.push(x));
        assert_eq!(
            v,
            [
                Load {
                    start: 0x10_0000,
                    size: 0x3ff0_0000,
                    offset: 8192
                },
                Load {
                    start: 0x1_0000_0000,
                    size: 0x4000_0000,
                    offset: 8192 + 0x3ff0_0000
                }
            ]
        );
        assert_eq!(l.size, 8192 + 0x3ff0_0000 + 0x4000_0000);
    }

    #[test]
    fn header_defects_are_named() {
        let b = sample();
        let n = b.len() as u64;
        let bad = |f: &dyn Fn(&mut [u8])| {
            let mut c = b.clone();
            f(&mut c);
            check_ehdr(&c, n, EM_X86_64).unwrap_err()
        };
        assert_eq!(bad(&|c| c[0] = 0), Defect::Magic);
        assert_eq!(bad(&|c| c[4] = 1), Defect::Class);
        assert_eq!(bad(&|c| c[16] = 2), Defect::NotCore { ty: 2 });
        assert_eq!(bad(&|c| c[18] = 3), Defect::Machine { machine: 3 });
        assert_eq!(
            bad(&|c| c[56..58].copy_from_slice(&0u16.to_le_bytes())),
            Defect::NoProgramHeaders
        );
        assert_eq!(
            bad(&|c| c[32] = 0x80),
            Defect::ProgramHeadersMoved { phoff: 0x80 }
        );
        assert_eq!(
            bad(&|c| c[56..58].copy_from_slice(&0xffffu16.to_le_bytes())),
            Defect::ProgramHeadersOutside {
                phnum: 0xffff,
                size: n
            }
        );
        assert_eq!(
            check_ehdr(&b[..10], n, EM_X86_64),
            Err(Defect::Short { len: 10 })
        );
    }

    #[test]
    fn load_defects_are_named() {
        let b = sample();
        let e = check_ehdr(&b, b.len() as u64, EM_X86_64).unwrap();
        let mut c = b.clone();
        // The second RAM range over the first: accepted, as stock (kexec-tools
        // writes the kernel's text as a PT_LOAD inside a RAM range).
        let at = EHDR_SIZE + 4 * PHDR_SIZE + 8;
        c[at..at + 8].copy_from_slice(&0x2000_0000u64.to_le_bytes());
        assert_eq!(check_phdrs(&c, &e, |_, _| {}), Ok(()));
        c[at..at + 8].copy_from_slice(&(u64::MAX - 10).to_le_bytes());
        assert_eq!(
            check_phdrs(&c, &e, |_, _| {}),
            Err(Defect::Wraps { index: 4 })
        );
        // A PT_NOTE after the PT_LOADs.
        let mut c = b.clone();
        let at = EHDR_SIZE + 4 * PHDR_SIZE;
        c[at..at + 4].copy_from_slice(&PT_NOTE.to_le_bytes());
        assert_eq!(
            check_phdrs(&c, &e, |_, _| {}),
            Err(Defect::NoteAfterLoad { index: 4 })
        );
        // PT_LOADs that add up to more than a file can hold.
        let mut c = b.clone();
        for i in [3, 4] {
            let at = EHDR_SIZE + i * PHDR_SIZE + 40;
            c[at..at + 8].copy_from_slice(&((1u64 << 61) + 4096).to_le_bytes());
        }
        assert!(matches!(
            check_phdrs(&c, &e, |_, _| {}),
            Err(Defect::TooLarge { index: 4 })
        ));
        // A PT_NOTE bigger than the stock kernel reads.
        let mut c = b.clone();
        let at = EHDR_SIZE + 40;
        c[at..at + 8].copy_from_slice(&(MAX_NOTE_SEGMENT + 1).to_le_bytes());
        assert_eq!(
            check_phdrs(&c, &e, |_, _| {}),
            Err(Defect::NoteTooBig {
                index: 0,
                size: MAX_NOTE_SEGMENT + 1
            })
        );
    }

    #[test]
    fn no_room_for_the_merged_note() {
        let b = sample();
        let mut c = std::vec![0u8; EHDR_SIZE + 0xffff * PHDR_SIZE];
        c[..EHDR_SIZE].copy_from_slice(&b[..EHDR_SIZE]);
        c[56..58].copy_from_slice(&0xffffu16.to_le_bytes());
        let e = check_ehdr(&c, c.len() as u64, EM_X86_64).unwrap();
        let mut out = std::vec![0u8; c.len() + 2 * PAGE_SIZE as usize];
        // 65,535 PT_NULL headers and no PT_NOTE: the merged one would be the 65,536th.
        assert_eq!(
            write_header(&c, &e, &[], &mut out),
            Err(Defect::TooManyProgramHeaders)
        );
        // One PT_NOTE among them takes its place.
        c[EHDR_SIZE..EHDR_SIZE + 4].copy_from_slice(&PT_NOTE.to_le_bytes());
        assert_eq!(
            write_header(&c, &e, &[0], &mut out).map(|l| l.phnum),
            Ok(0xffff)
        );
    }

    #[test]
    fn elfcorehdr_param_as_stock() {
        let p = |s: &str| parse_elfcorehdr(s.as_bytes());
        assert_eq!(
            p("0x1000"),
            ElfcorehdrParam {
                addr: 0x1000,
                size: None,
                ok: true
            }
        );
        assert_eq!(
            p("4K"),
            ElfcorehdrParam {
                addr: 4096,
                size: None,
                ok: true
            }
        );
        assert_eq!(
            p("64K@16M"),
            ElfcorehdrParam {
                addr: 16 << 20,
                size: Some(64 << 10),
                ok: true
            }
        );
        // No number: the address is 0 and the value refused, as stock.
        assert_eq!(
            p(""),
            ElfcorehdrParam {
                addr: 0,
                size: None,
                ok: false
            }
        );
        assert_eq!(
            p("x"),
            ElfcorehdrParam {
                addr: 0,
                size: None,
                ok: false
            }
        );
        // "@" with nothing after it: end is past the "@", so accepted, as stock.
        assert_eq!(
            p("4K@"),
            ElfcorehdrParam {
                addr: 0,
                size: Some(4096),
                ok: true
            }
        );
    }

    #[test]
    fn load_at_finds_the_range() {
        let l = |start, size, offset| Load {
            start,
            size,
            offset,
        };
        let loads = [
            l(0x1000, 0x2000, 0x3000),
            l(0x9000, 0, 0x5000),
            l(0x10000, 0x1000, 0x5000),
        ];
        assert_eq!(load_at(&loads, 0x3000), 0);
        assert_eq!(load_at(&loads, 0x4fff), 0);
        // The empty range is skipped.
        assert_eq!(load_at(&loads, 0x5000), 2);
        assert_eq!(load_at(&loads, 0x6000), 3);
    }

    #[test]
    fn note_sizes_stop_at_the_empty_note_or_the_end() {
        let mut n = [0u8; 64];
        let end = crate::elfcore::append_note(&mut n, 0, b"CORE", 1, &[7; 10]).unwrap();
        assert_eq!(notes_size(&n), (end as u64, false));
        // A note whose data runs past the segment is dropped.
        n[end..end + 4].copy_from_slice(&5u32.to_le_bytes());
        n[end + 4..end + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(notes_size(&n), (end as u64, true));
        assert_eq!(notes_size(&[]), (0, false));
    }

    /// Random and mutated headers: nothing panics, and every accepted header
    /// gives a header that is itself accepted (one PT_NOTE, the PT_LOADs at
    /// increasing file offsets inside the file) and PT_LOADs that read back to
    /// what `loads` reports. `COREHDR_FUZZ=N` sets the number of headers.
    #[test]
    fn fuzz_headers() {
        let base = sample();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let runs: u64 = std::env::var("COREHDR_FUZZ")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let mut accepted = 0;
        let mut out = std::vec![0u8; 1 << 16];
        for _ in 0..runs {
            let mut b = base.clone();
            // Mostly inside the ELF and program headers, where it matters.
            for _ in 0..1 + next() % 4 {
                let at = (next() % 400) as usize;
                b[at] = next() as u8;
            }
            if next() % 8 == 0 {
                let at = 56;
                b[at..at + 2].copy_from_slice(&((next() % 80) as u16).to_le_bytes());
            }
            let len = if next() % 4 == 0 {
                (next() % b.len() as u64) as usize
            } else {
                b.len()
            };
            let b = &b[..len];
            let Ok(e) = check_ehdr(b, b.len() as u64, EM_X86_64) else {
                continue;
            };
            let sizes = [next() % 0x2000, next() % 0x2000, next() % 0x2000, 0, 0];
            let Ok(l) = write_header(b, &e, &sizes, &mut out) else {
                continue;
            };
            accepted += 1;
            let again = check_ehdr(&out[..l.headers as usize], l.headers, EM_X86_64)
                .expect("own header refused");
            assert_eq!(again.phnum, l.phnum);
            let mut notes = 0;
            check_phdrs(&out, &again, |i, p| {
                if p.ty == PT_NOTE {
                    assert_eq!(i, 0);
                    notes += 1;
                }
                if p.ty == PT_LOAD {
                    assert!(p.offset.saturating_add(p.memsz) <= l.size);
                }
            })
            .expect("own program headers refused");
            assert_eq!(notes, 1);
            let mut i = 1;
            // A PT_LOAD of no whole page holds no bytes: `loads` leaves it out.
            let holds_bytes =
                |p: &Phdr| p.ty == PT_LOAD && (p.memsz > 0 || p.offset % PAGE_SIZE != 0);
            loads(b, &e, &l, |ld| {
                while !holds_bytes(&Phdr::read(&out, EHDR_SIZE + i * PHDR_SIZE).unwrap()) {
                    i += 1;
                }
                let p = Phdr::read(&out, EHDR_SIZE + i * PHDR_SIZE).unwrap();
                assert!(p.offset >= ld.offset && p.offset < ld.offset + ld.size.max(1));
                assert_eq!(ld.start % PAGE_SIZE, 0);
                assert!(ld.offset + ld.size <= l.size);
                i += 1;
            });
        }
        std::eprintln!("corehdr fuzz: {runs} headers, {accepted} accepted and laid out");
        assert!(
            accepted > runs / 100,
            "too few mutated headers were accepted ({accepted})"
        );
    }
}

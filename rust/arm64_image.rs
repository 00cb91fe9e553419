// SPDX-License-Identifier: GPL-2.0

//! The arm64 `Image` format as kexec_file_load reads it, without the kernel:
//! the header rules that decide whether a file can be loaded, and the bounds
//! each of the image's buffers is placed within (the kernel, the crash ELF
//! core header, the initrd and the device tree). The memory side is
//! arch/arm64/image.rs of the overlay.
//!
//! The header is 64 bytes at the start of the file
//! (Documentation/arch/arm64/booting.rst): two instructions, `text_offset`,
//! `image_size` and `flags` as little-endian u64s at 8, 16 and 24, and the
//! magic "ARM\x64" at 56. The rules and their errno are the stock loader's;
//! each [`Refusal`] also says which rule the file broke.

use core::fmt;

/// Length of the header.
pub const HEADER_LEN: usize = 64;
/// Offset of the magic.
const MAGIC_AT: usize = 56;
/// The magic, "ARM\x64".
pub const MAGIC: [u8; 4] = *b"ARM\x64";

/// `flags` bit 0: the kernel is big-endian.
pub const FLAG_BE: u64 = 1 << 0;
/// `flags` bits 1-2: the page size the kernel was built for.
const FLAG_PAGE_SIZE_SHIFT: u32 = 1;
const FLAG_PAGE_SIZE_MASK: u64 = 3;

/// The alignment of the kernel's load address (`MIN_KIMG_ALIGN`, 2 MiB).
pub const KERNEL_ALIGN: u64 = 2 << 20;
/// The ELF core header's alignment: the largest arm64 page size (64 KiB).
pub const ELFCOREHDR_ALIGN: u64 = 64 << 10;
/// The device tree's alignment, so that it never crosses a 2 MiB boundary.
pub const DTB_ALIGN: u64 = 2 << 20;
/// The initrd must lie in the 32 GiB window that starts at the 1 GiB
/// boundary at or below the kernel.
const INITRD_WINDOW: u64 = 32 << 30;
const GIB: u64 = 1 << 30;

/// errno values (positive) the rules return.
const EINVAL: i32 = 22;

/// The page size a kernel was built for (`flags` bits 1-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSize {
    /// 0: not given (kernels before v3.17 have no such field).
    Unspecified,
    /// 1: 4 KiB.
    K4,
    /// 2: 16 KiB.
    K16,
    /// 3: 64 KiB.
    K64,
}

impl PageSize {
    fn from_flags(flags: u64) -> PageSize {
        match (flags >> FLAG_PAGE_SIZE_SHIFT) & FLAG_PAGE_SIZE_MASK {
            0 => PageSize::Unspecified,
            1 => PageSize::K4,
            2 => PageSize::K16,
            _ => PageSize::K64,
        }
    }

    fn kib(self) -> u32 {
        match self {
            PageSize::Unspecified => 0,
            PageSize::K4 => 4,
            PageSize::K16 => 16,
            PageSize::K64 => 64,
        }
    }
}

/// What the rules need to know about the running kernel and its CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// The running kernel is big-endian.
    pub big_endian: bool,
    /// Every CPU can run EL1 in either endianness.
    pub mixed_endian: bool,
    /// The CPUs support the 4 KiB translation granule.
    pub granule_4k: bool,
    /// ... the 16 KiB one.
    pub granule_16k: bool,
    /// ... the 64 KiB one.
    pub granule_64k: bool,
}

/// Why the loader refused a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The file is shorter than the header (image_probe).
    TooShort {
        /// The file's length.
        len: u64,
    },
    /// There is no "ARM\x64" at 56 (image_probe).
    NoMagic {
        /// The four bytes found there.
        found: [u8; 4],
    },
    /// `image_size` is 0: a kernel older than v3.17, whose header does not
    /// say how much memory it needs (image_load).
    NoImageSize,
    /// The kernel's endianness is not the running kernel's, and not every CPU
    /// can switch (image_load).
    Endianness {
        /// The file's kernel is big-endian.
        big_endian: bool,
    },
    /// The kernel needs a page size the CPUs do not support (image_load).
    PageSize {
        /// The page size in KiB.
        kib: u32,
    },
}

impl Refusal {
    /// The (positive) errno the kernel returns for this refusal: every rule
    /// of the arm64 loader returns `EINVAL`, a bad magic included (the probe
    /// of the only loader answers for the whole search).
    pub fn errno(&self) -> i32 {
        EINVAL
    }

    /// The stock loader's own log line for this refusal, if it logs one
    /// (it logs none of them).
    pub fn stock_message(&self) -> Option<&'static str> {
        None
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::TooShort { len } => write!(
                f,
                "an arm64 Image starts with a {HEADER_LEN}-byte header, this file has {len} bytes"
            ),
            Refusal::NoMagic { found } => write!(
                f,
                "no \"ARM\\x64\" magic at offset {MAGIC_AT} (found {:02x} {:02x} {:02x} {:02x}): \
                 not an arm64 Image",
                found[0], found[1], found[2], found[3]
            ),
            Refusal::NoImageSize => write!(
                f,
                "the Image header's image_size is 0 (a kernel older than v3.17): the memory it \
                 needs is unknown"
            ),
            Refusal::Endianness { big_endian } => {
                write!(
                f,
                "the Image is a {} kernel, this kernel is {} and the CPUs cannot run mixed-endian",
                if big_endian { "big-endian" } else { "little-endian" },
                if big_endian { "little-endian" } else { "big-endian" }
            )
            }
            Refusal::PageSize { kib } => write!(
                f,
                "the Image was built for {kib} KiB pages, which these CPUs do not support"
            ),
        }
    }
}

fn le64(file: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&file[at..at + 8]);
    u64::from_le_bytes(b)
}

/// The fields of an Image header the loader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The offset of the kernel's text from the 2 MiB-aligned load address.
    pub text_offset: u64,
    /// The memory the kernel needs from its text, bss included.
    pub image_size: u64,
    /// The flags word.
    pub flags: u64,
}

impl Header {
    /// Whether `file` is an arm64 Image (`image_probe`): long enough for the
    /// header and with its magic.
    pub fn probe(file: &[u8]) -> Result<Header, Refusal> {
        if file.len() < HEADER_LEN {
            return Err(Refusal::TooShort {
                len: file.len() as u64,
            });
        }
        let mut found = [0u8; 4];
        found.copy_from_slice(&file[MAGIC_AT..MAGIC_AT + 4]);
        if found != MAGIC {
            return Err(Refusal::NoMagic { found });
        }
        Ok(Header {
            text_offset: le64(file, 8),
            image_size: le64(file, 16),
            flags: le64(file, 24),
        })
    }

    /// The rules `image_load` starts with, in its order: a nonzero
    /// `image_size`, an endianness the CPUs can run, a page size they support.
    pub fn check_load(&self, machine: &Machine) -> Result<(), Refusal> {
        if self.image_size == 0 {
            return Err(Refusal::NoImageSize);
        }
        let big_endian = self.flags & FLAG_BE != 0;
        if big_endian != machine.big_endian && !machine.mixed_endian {
            return Err(Refusal::Endianness { big_endian });
        }
        let page = PageSize::from_flags(self.flags);
        let supported = match page {
            PageSize::Unspecified => true,
            PageSize::K4 => machine.granule_4k,
            PageSize::K16 => machine.granule_16k,
            PageSize::K64 => machine.granule_64k,
        };
        if !supported {
            return Err(Refusal::PageSize { kib: page.kib() });
        }
        Ok(())
    }

    /// The memory the kernel's buffer asks for: the image and the offset of
    /// its text below it (wrapping as the C arithmetic does; a wrapped size
    /// fails the segment rules later).
    pub fn kernel_memsz(&self) -> u64 {
        self.image_size.wrapping_add(self.text_offset)
    }

    /// The kernel's segment once placed at `mem` with `memsz` bytes (the
    /// buffer's rounded size): it starts at the text, `text_offset` above the
    /// aligned address, which is also where the image is entered.
    pub fn kernel_segment(&self, mem: u64, memsz: u64) -> (u64, u64) {
        (
            mem.wrapping_add(self.text_offset),
            memsz.wrapping_sub(self.text_offset),
        )
    }
}

/// The bounds of each buffer.
pub use crate::hole::Placement;

/// The kernel: anywhere, 2 MiB aligned, the lowest place first, above `min`
/// (0 at first; after a try whose other buffers did not fit, the end of the
/// place that was tried).
pub fn kernel_placement(min: u64) -> Placement {
    Placement {
        min,
        max: u64::MAX,
        align: KERNEL_ALIGN,
        top_down: false,
    }
}

/// The other buffers go above the kernel's buffer at `mem` with `memsz`
/// bytes: the lowest address they may use.
pub fn above_kernel(mem: u64, memsz: u64) -> u64 {
    mem.wrapping_add(memsz)
}

/// The crash ELF core header: above the kernel, the highest place first.
pub fn elfcorehdr_placement(min: u64) -> Placement {
    Placement {
        min,
        max: u64::MAX,
        align: ELFCOREHDR_ALIGN,
        top_down: true,
    }
}

/// The initrd: above the kernel, the lowest place first, below the end of
/// the 32 GiB window that starts at the 1 GiB boundary at or below the
/// kernel's buffer at `kernel_mem`.
pub fn initrd_placement(min: u64, kernel_mem: u64) -> Placement {
    Placement {
        min,
        max: (kernel_mem & !(GIB - 1)).wrapping_add(INITRD_WINDOW),
        align: 0,
        top_down: false,
    }
}

/// The device tree: above the kernel, the highest place first, aligned so
/// that it never crosses a 2 MiB boundary.
pub fn dtb_placement(min: u64) -> Placement {
    Placement {
        min,
        max: u64::MAX,
        align: DTB_ALIGN,
        top_down: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(text_offset: u64, image_size: u64, flags: u64) -> [u8; HEADER_LEN] {
        let mut f = [0u8; HEADER_LEN];
        f[8..16].copy_from_slice(&text_offset.to_le_bytes());
        f[16..24].copy_from_slice(&image_size.to_le_bytes());
        f[24..32].copy_from_slice(&flags.to_le_bytes());
        f[MAGIC_AT..MAGIC_AT + 4].copy_from_slice(&MAGIC);
        f
    }

    const LE_4K: Machine = Machine {
        big_endian: false,
        mixed_endian: false,
        granule_4k: true,
        granule_16k: false,
        granule_64k: true,
    };

    #[test]
    fn probe_reads_the_fields() {
        let f = image(0x80000, 0x1234000, 0xa);
        let h = Header::probe(&f).unwrap();
        assert_eq!(h.text_offset, 0x80000);
        assert_eq!(h.image_size, 0x1234000);
        assert_eq!(h.flags, 0xa);
    }

    #[test]
    fn probe_refuses_short_files_and_bad_magic() {
        let f = image(0, 1, 0);
        assert_eq!(Header::probe(&f[..63]), Err(Refusal::TooShort { len: 63 }));
        assert_eq!(Header::probe(&[]), Err(Refusal::TooShort { len: 0 }));
        let mut g = f;
        g[59] = 0x65;
        assert_eq!(
            Header::probe(&g),
            Err(Refusal::NoMagic {
                found: [b'A', b'R', b'M', 0x65]
            })
        );
        // A longer file with the header at its start is fine.
        let mut long = [0u8; 200];
        long[..HEADER_LEN].copy_from_slice(&f);
        assert!(Header::probe(&long).is_ok());
    }

    #[test]
    fn load_rules_in_order() {
        let h = Header::probe(&image(0, 0, 1)).unwrap();
        // image_size 0 is reported before the endianness.
        assert_eq!(h.check_load(&LE_4K), Err(Refusal::NoImageSize));
        let be = Header::probe(&image(0, 4096, 1 | (2 << 1))).unwrap();
        assert_eq!(
            be.check_load(&LE_4K),
            Err(Refusal::Endianness { big_endian: true })
        );
        let mixed = Machine {
            mixed_endian: true,
            ..LE_4K
        };
        // Mixed-endian CPUs take it; then the 16K pages are refused.
        assert_eq!(be.check_load(&mixed), Err(Refusal::PageSize { kib: 16 }));
        for (field, ok) in [(0, true), (1, true), (2, false), (3, true)] {
            let h = Header::probe(&image(0, 4096, field << 1)).unwrap();
            assert_eq!(h.check_load(&LE_4K).is_ok(), ok, "page size field {field}");
        }
        let only_16k = Machine {
            granule_4k: false,
            granule_16k: true,
            granule_64k: false,
            ..LE_4K
        };
        let h = Header::probe(&image(0, 4096, 1 << 1)).unwrap();
        assert_eq!(h.check_load(&only_16k), Err(Refusal::PageSize { kib: 4 }));
        for r in [
            Refusal::TooShort { len: 0 },
            Refusal::NoMagic { found: [0; 4] },
            Refusal::NoImageSize,
            Refusal::Endianness { big_endian: true },
            Refusal::PageSize { kib: 64 },
        ] {
            assert_eq!(r.errno(), EINVAL);
        }
    }

    #[test]
    fn kernel_segment_starts_at_the_text() {
        let h = Header::probe(&image(0x80000, 0x2000000, 0)).unwrap();
        assert_eq!(h.kernel_memsz(), 0x2080000);
        assert_eq!(
            h.kernel_segment(0x4020_0000, 0x2080000),
            (0x4028_0000, 0x2000000)
        );
        // A text offset that wraps the size is kept wrapping, as in C.
        let w = Header::probe(&image(u64::MAX, 2, 0)).unwrap();
        assert_eq!(w.kernel_memsz(), 1);
    }

    #[test]
    fn placements() {
        assert_eq!(kernel_placement(0).align, 2 << 20);
        assert!(!kernel_placement(0).top_down);
        assert_eq!(above_kernel(0x4000_0000, 0x200_0000), 0x4200_0000);
        let i = initrd_placement(0x4200_0000, 0x4000_0000);
        assert_eq!(i.max, 0x4000_0000 + (32 << 30));
        let i = initrd_placement(0x1_8200_0000, 0x1_7fe0_0000);
        assert_eq!(i.max, 0x1_4000_0000 + (32 << 30));
        assert!(!i.top_down);
        assert_eq!(i.align, 0);
        let e = elfcorehdr_placement(5);
        assert_eq!((e.min, e.align, e.top_down), (5, 64 << 10, true));
        let d = dtb_placement(7);
        assert_eq!(
            (d.min, d.max, d.align, d.top_down),
            (7, u64::MAX, 2 << 20, true)
        );
    }

    #[test]
    fn refusals_name_the_rule() {
        extern crate std;
        use std::string::ToString;
        let s = Refusal::NoMagic {
            found: [0x4d, 0x5a, 0, 0],
        }
        .to_string();
        assert!(s.contains("4d 5a 00 00") && s.contains("offset 56"), "{s}");
        assert!(Refusal::PageSize { kib: 16 }.to_string().contains("16 KiB"));
    }
}

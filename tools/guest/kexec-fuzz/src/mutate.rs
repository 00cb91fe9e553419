// SPDX-License-Identifier: GPL-2.0

//! Kernel files for kexec_file_load: mutated copies of the real kernel image
//! and synthetic files with a header planted in random bytes, for the image
//! format of the architecture the fuzzer runs on (`NATIVE`: the bzImage on
//! x86_64, the arm64 Image on aarch64). A mutation is a small value (a few
//! offsets and bytes) so that a call can print it and a replay can rebuild the
//! same file; offsets count from the start of the file or from its end, never
//! from anything that differs between two kernels' images.
//!
//! Pure logic: host tests cover it (both formats).

use crate::rng::Rng;
use std::fmt;

/// An image format: where its header is and what its loader reads there.
pub struct Format {
    /// How a call's summary names the real image.
    pub name: &'static str,
    /// The header fields the kernel's probe and load read: offset and width
    /// in bytes.
    pub fields: &'static [(u32, u32)],
    /// The bytes [start, end) that bit flips go to most often.
    pub header: (u32, u32),
    /// Lengths to cut the file to that end it inside or at the header.
    pub cuts: &'static [u32],
    /// Plants a header that passes the probe, its other fields random or
    /// interesting, in a file of random bytes.
    pub plant: fn(&mut Rng, &mut Put<'_>),
    /// Keeps a mutation from making an image the loader takes but the guest
    /// cannot hold twice (see `tame_image`); no random numbers drawn.
    pub tame: fn(Mutation) -> Mutation,
}

/// The bzImage (Documentation/arch/x86/boot.rst): the setup header fields
/// that bzImage64_probe and bzImage64_load read.
#[cfg_attr(target_arch = "aarch64", allow(dead_code))]
pub const BZIMAGE: Format = Format {
    name: "bzImage",
    fields: &[
        (0x1f1, 1), // setup_sects
        (0x1fe, 2), // boot_flag
        (0x201, 1), // the jump's second byte: where the header ends
        (0x202, 4), // "HdrS"
        (0x206, 2), // version
        (0x211, 1), // loadflags
        (0x214, 4), // code32_start
        (0x218, 4), // ramdisk_image
        (0x21c, 4), // ramdisk_size
        (0x230, 4), // kernel_alignment
        (0x234, 1), // relocatable_kernel
        (0x235, 1), // min_alignment
        (0x236, 2), // xloadflags
        (0x238, 4), // cmdline_size
        (0x248, 4), // payload_offset
        (0x24c, 4), // payload_length
        (0x258, 8), // pref_address
        (0x260, 4), // init_size
        (0x264, 4), // handover_offset
        (0x268, 4), // kernel_info_offset
    ],
    header: (0x1f1, 0x27f),
    cuts: &[0, 1, 511, 512, 1023, 1024, 0x1f1, 0x202, 0x207, 0x237, 0x26c, 0x300],
    plant: plant_bzimage,
    tame: |m| m,
};

/// The arm64 Image (Documentation/arch/arm64/booting.rst): its 64-byte
/// header, all of which image_probe and image_load read or pass on.
#[cfg_attr(not(any(test, target_arch = "aarch64")), allow(dead_code))]
pub const IMAGE: Format = Format {
    name: "Image",
    fields: &[
        (0x00, 4), // code0
        (0x04, 4), // code1
        (0x08, 8), // text_offset
        (0x10, 8), // image_size
        (0x18, 8), // flags: endianness, page size, placement
        (0x20, 8), // res2
        (0x28, 8), // res3
        (0x30, 8), // res4
        (0x38, 4), // magic "ARM\x64"
        (0x3c, 4), // res5 (the PE header's offset)
    ],
    header: (0, 0x40),
    cuts: &[0, 1, 8, 0x10, 0x18, 0x37, 0x38, 0x3b, 0x3c, 0x3f, 0x40, 0x41],
    plant: plant_image,
    tame: tame_image,
};

#[cfg(not(target_arch = "aarch64"))]
pub const NATIVE: &Format = &BZIMAGE;
#[cfg(target_arch = "aarch64")]
pub const NATIVE: &Format = &IMAGE;

/// Little-endian writes into a file, dropped past its end.
pub struct Put<'a>(&'a mut [u8]);

impl Put<'_> {
    pub fn put(&mut self, off: usize, width: usize, v: u64) {
        for i in 0..width {
            if let Some(b) = self.0.get_mut(off + i) {
                *b = (v >> (8 * i)) as u8;
            }
        }
    }
}

/// A length: from the start of the file or back from its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Len {
    Abs(u32),
    FromEnd(u32),
}

impl Len {
    pub fn resolve(self, total: usize) -> usize {
        match self {
            Len::Abs(n) => (n as usize).min(total),
            Len::FromEnd(n) => total.saturating_sub(n as usize),
        }
    }
}

/// One change to a copy of the bzImage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Little-endian `value` in `width` bytes at `off`.
    Set {
        off: u32,
        width: u32,
        value: u64,
    },
    /// XOR of one byte.
    Flip {
        off: u32,
        mask: u8,
    },
    Truncate(Len),
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mutation::Set { off, width, value } => write!(f, "{off:#x}:{width}={value:#x}"),
            Mutation::Flip { off, mask } => write!(f, "{off:#x}^{mask:#x}"),
            Mutation::Truncate(Len::Abs(n)) => write!(f, "trunc={n:#x}"),
            Mutation::Truncate(Len::FromEnd(n)) => write!(f, "trunc=end-{n:#x}"),
        }
    }
}

/// A value that tends to matter for a field `width` bytes wide.
fn interesting(rng: &mut Rng, width: u32) -> u64 {
    let bits = width * 8;
    let max = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let v = match rng.below(10) {
        0 => 0,
        1 => 1,
        2 => max,
        3 => max >> 1,
        4 => (max >> 1) + 1,
        5 => 1u64 << rng.below(bits as u64),
        6 => rng.below(16),
        7 => 0x1000 * rng.below(0x1000),
        _ => rng.next_u64(),
    };
    v & max
}

/// The Image's `image_size`: the loader takes any value up to half the
/// guest's RAM and allocates that much for the image while it is loaded. Two
/// such images of a few hundred MiB (the loaded one and the next, or two
/// threads' in the four-thread run) leave a 1 GiB guest nothing, and the OOM
/// killer takes the fuzzer, on either kernel. So values from 64 MiB up to
/// 1 GiB (which is past half and refused) are folded below 64 MiB, and flips
/// leave bits 26 to 29 of the field alone.
const IMAGE_SIZE: u32 = 0x10;
const TAME_BITS: std::ops::Range<u64> = 26..30;

#[cfg_attr(not(any(test, target_arch = "aarch64")), allow(dead_code))]
fn tame_image(m: Mutation) -> Mutation {
    match m {
        Mutation::Set { off: IMAGE_SIZE, width, value } if (1 << TAME_BITS.start..1 << TAME_BITS.end).contains(&value) => {
            Mutation::Set { off: IMAGE_SIZE, width, value: value & ((1 << TAME_BITS.start) - 1) }
        }
        Mutation::Flip { off, mask } if off == IMAGE_SIZE + 3 => {
            // Byte 3 of the field holds bits 24 to 31.
            let spared = TAME_BITS.clone().fold(0u8, |a, b| a | 1 << (b - 24));
            let mask = mask & !spared;
            Mutation::Flip { off, mask: if mask == 0 { 1 } else { mask } }
        }
        m => m,
    }
}

/// One random mutation of a file in format `fmt`, mostly in its header.
pub fn mutation_of(fmt: &Format, rng: &mut Rng) -> Mutation {
    (fmt.tame)(wild_mutation_of(fmt, rng))
}

fn wild_mutation_of(fmt: &Format, rng: &mut Rng) -> Mutation {
    match rng.weighted(&[40, 20, 12, 28]) {
        0 => {
            let &(off, width) = rng.pick(fmt.fields);
            Mutation::Set { off, width, value: interesting(rng, width) }
        }
        1 => Mutation::Flip { off: rng.range(fmt.header.0 as u64, fmt.header.1 as u64) as u32, mask: 1 << rng.below(8) },
        2 => Mutation::Flip { off: rng.below(64 << 10) as u32, mask: rng.range(1, 255) as u8 },
        _ => Mutation::Truncate(match rng.below(4) {
            0 => Len::Abs(*rng.pick(fmt.cuts)),
            1 => Len::Abs(rng.range(1024, 64 << 10) as u32),
            2 => Len::FromEnd(rng.range(1, 4096) as u32),
            _ => Len::FromEnd(rng.range(4096, 2 << 20) as u32),
        }),
    }
}

/// One to three mutations of the native format.
pub fn mutations(rng: &mut Rng) -> Vec<Mutation> {
    mutations_of(NATIVE, rng)
}

pub fn mutations_of(fmt: &Format, rng: &mut Rng) -> Vec<Mutation> {
    let n = rng.range(1, 3);
    (0..n).map(|_| mutation_of(fmt, rng)).collect()
}

/// The image with `muts` applied, in order; writes past the end are dropped.
pub fn apply(image: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut out = image.to_vec();
    for m in muts {
        match *m {
            Mutation::Set { off, width, value } => {
                for i in 0..width as usize {
                    if let Some(b) = out.get_mut(off as usize + i) {
                        *b = (value >> (8 * i)) as u8;
                    }
                }
            }
            Mutation::Flip { off, mask } => {
                if let Some(b) = out.get_mut(off as usize) {
                    *b ^= mask;
                }
            }
            Mutation::Truncate(len) => {
                let n = len.resolve(out.len());
                out.truncate(n);
            }
        }
    }
    out
}

/// A file of `len` random bytes from `seed`; with `header`, a header of the
/// native format that passes its probe is planted and the fields its loader
/// reads are random or interesting.
pub fn synthetic(seed: u64, len: usize, header: bool) -> Vec<u8> {
    synthetic_of(NATIVE, seed, len, header)
}

pub fn synthetic_of(fmt: &Format, seed: u64, len: usize, header: bool) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = vec![0u8; len];
    rng.fill(&mut out);
    if header {
        (fmt.plant)(&mut rng, &mut Put(&mut out[..]));
    }
    out
}

#[cfg_attr(target_arch = "aarch64", allow(dead_code))]
fn plant_bzimage(rng: &mut Rng, f: &mut Put<'_>) {
    f.put(0x1fe, 2, 0xaa55);
    f.put(0x202, 4, u32::from_le_bytes(*b"HdrS") as u64);
    f.put(0x206, 2, 0x020f);
    f.put(0x211, 1, 0x01); // LOADED_HIGH
    f.put(0x236, 2, 0x03); // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
    let setup_sects = *rng.pick(&[0u64, 1, 4, 15, 30, 63, 255]);
    f.put(0x1f1, 1, setup_sects);
    f.put(0x201, 1, rng.below(256));
    let cmdline_size = *rng.pick(&[0u64, 255, 2047, 2048, 4095, 0xffff_ffff]);
    f.put(0x238, 4, cmdline_size);
    let init_size = *rng.pick(&[0u64, 0x1000, 0x10_0000, 0x100_0000, 0x7fff_ffff, 0xffff_ffff]);
    f.put(0x260, 4, init_size);
    let align = *rng.pick(&[0u64, 1, 0x1000, 0x20_0000, 0x1234, 0x8000_0000]);
    f.put(0x230, 4, align);
    let pref = *rng.pick(&[0u64, 0x100_0000, 0x1_0000_0000, u64::MAX - 0xfff]);
    f.put(0x258, 8, pref);
}

#[cfg_attr(not(any(test, target_arch = "aarch64")), allow(dead_code))]
fn plant_image(rng: &mut Rng, f: &mut Put<'_>) {
    f.put(0x38, 4, u32::from_le_bytes(*b"ARM\x64") as u64);
    // Little-endian, a 4 KiB page, or any of the other 16 flag values.
    let flags = if rng.chance(500) { 0b010 } else { rng.below(16) };
    f.put(0x18, 8, flags);
    let text_offset = *rng.pick(&[0u64, 0x8_0000, 0x1000, 0x1234, 0x20_0000, u64::MAX - 0xfff]);
    f.put(0x08, 8, text_offset);
    let image_size =
        *rng.pick(&[0u64, 0x1000, 0x10_0000, 0x200_0000, 0x4000_0000, 0x1_0000_0000, u64::MAX - 0xfff, u64::MAX]);
    f.put(0x10, 8, image_size);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Vec<u8> {
        let mut img = synthetic(1, 128 << 10, true);
        img[0x1f1] = 4;
        img
    }

    #[test]
    fn mutations_repeat_per_seed() {
        let a: Vec<Vec<Mutation>> = {
            let mut r = Rng::new(9);
            (0..100).map(|_| mutations(&mut r)).collect()
        };
        let mut r = Rng::new(9);
        for m in &a {
            assert_eq!(&mutations(&mut r), m);
        }
        let img = image();
        for m in &a {
            assert_eq!(apply(&img, m), apply(&img, m));
        }
    }

    #[test]
    fn apply_sets_flips_and_truncates() {
        let img = image();
        let out = apply(&img, &[Mutation::Set { off: 0x206, width: 2, value: 0x0100 }]);
        assert_eq!(&out[0x206..0x208], &[0x00, 0x01]);
        assert_eq!(out.len(), img.len());
        let out = apply(&img, &[Mutation::Flip { off: 0x211, mask: 1 }]);
        assert_eq!(out[0x211], img[0x211] ^ 1);
        assert_eq!(apply(&img, &[Mutation::Truncate(Len::Abs(0x202))]).len(), 0x202);
        assert_eq!(apply(&img, &[Mutation::Truncate(Len::FromEnd(10))]).len(), img.len() - 10);
        assert_eq!(apply(&img, &[Mutation::Truncate(Len::FromEnd(u32::MAX))]).len(), 0);
        // Past the end after a truncation: nothing happens.
        let out = apply(&img, &[Mutation::Truncate(Len::Abs(16)), Mutation::Set { off: 0x1f1, width: 1, value: 9 }]);
        assert_eq!(out, img[..16].to_vec());
    }

    #[test]
    fn synthetic_headers_pass_the_probe_fields() {
        let f = synthetic(5, 8192, true);
        assert_eq!(&f[0x202..0x206], b"HdrS");
        assert_eq!(u16::from_le_bytes([f[0x1fe], f[0x1ff]]), 0xaa55);
        assert!(u16::from_le_bytes([f[0x206], f[0x207]]) >= 0x020c);
        assert_eq!(synthetic(5, 8192, true), f);
        assert_ne!(synthetic(6, 8192, true), f);
        // Short files keep their length.
        assert_eq!(synthetic(5, 100, true).len(), 100);
    }

    #[test]
    fn image_headers_pass_the_probe_and_mutations_stay_in_reach() {
        let f = synthetic_of(&IMAGE, 5, 8192, true);
        assert_eq!(&f[0x38..0x3c], b"ARM\x64");
        assert_eq!(synthetic_of(&IMAGE, 5, 8192, true), f);
        assert_eq!(synthetic_of(&IMAGE, 5, 0x3a, true).len(), 0x3a);
        // Little-endian 4 KiB-page headers often enough to get past the flags.
        let le4k = (0..1000)
            .filter(|&s| {
                let f = synthetic_of(&IMAGE, s, 128, true);
                u64::from_le_bytes(f[0x18..0x20].try_into().unwrap()) == 0b010
            })
            .count();
        assert!(le4k > 400, "{le4k} of 1000");
        let mut r = Rng::new(3);
        let (mut in_header, mut n) = (0, 0);
        for _ in 0..2000 {
            match mutation_of(&IMAGE, &mut r) {
                Mutation::Set { off, width, .. } => {
                    assert!(off + width <= 0x40);
                    in_header += 1;
                }
                Mutation::Flip { off, .. } => in_header += (off < 0x40) as i32,
                Mutation::Truncate(_) => {}
            }
            n += 1;
        }
        assert!(in_header * 2 > n, "{in_header} of {n} in the header");
        // No image_size from 64 MiB to 1 GiB, by a set or by a flip of the
        // real image's (5.6 MiB) or any other.
        let mut r = Rng::new(4);
        for _ in 0..20000 {
            for base in [0x56_0000u64, 0, 0x3fff_ffff] {
                let mut img = vec![0u8; 0x40];
                img[0x10..0x18].copy_from_slice(&base.to_le_bytes());
                let m = mutation_of(&IMAGE, &mut r);
                let out = apply(&img, &[m.clone()]);
                if out.len() < 0x18 {
                    continue;
                }
                let size = u64::from_le_bytes(out[0x10..0x18].try_into().unwrap());
                let was = (1 << 26..1 << 30).contains(&base);
                assert!(was || !(1 << 26..1 << 30).contains(&size), "{m} made image_size {size:#x} from {base:#x}");
            }
        }
        assert_eq!(tame_image(Mutation::Set { off: 0x10, width: 8, value: 1 << 28 }).to_string(), "0x10:8=0x0");
        assert_eq!(tame_image(Mutation::Flip { off: 0x13, mask: 0x10 }).to_string(), "0x13^0x1");
        // The native format is the host's.
        assert_eq!(NATIVE.name, if cfg!(target_arch = "aarch64") { "Image" } else { "bzImage" });
    }

    #[test]
    fn display_is_short_and_stable() {
        let mut a = Rng::new(2);
        let mut b = Rng::new(2);
        for _ in 0..200 {
            let s = mutation_of(NATIVE, &mut a).to_string();
            assert!(!s.is_empty() && s.len() < 40);
            assert_eq!(s, mutation_of(NATIVE, &mut b).to_string());
        }
    }
}

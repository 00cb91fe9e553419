// SPDX-License-Identifier: GPL-2.0

//! The pure-logic modules of the kernel crate (`rust/`), compiled unchanged for the
//! host so that `cargo test` runs their unit tests and the property tests in
//! `tests/`. `no_std` outside tests, as in the kernel.
#![cfg_attr(not(test), no_std)]

#[path = "../../../rust/segment.rs"]
pub mod segment;

#[path = "../../../rust/entry.rs"]
pub mod entry;

#[path = "../../../rust/request.rs"]
pub mod request;

#[path = "../../../rust/control.rs"]
pub mod control;

#[path = "../../../rust/crashkernel.rs"]
pub mod crashkernel;

#[path = "../../../rust/elfcore.rs"]
pub mod elfcore;

#[path = "../../../rust/corehdr.rs"]
pub mod corehdr;

#[path = "../../../rust/vmcoreinfo.rs"]
pub mod vmcoreinfo;

#[path = "../../../rust/purgatory.rs"]
pub mod purgatory;

#[path = "../../../rust/bzimage.rs"]
pub mod bzimage;

#[path = "../../../rust/hole.rs"]
pub mod hole;

#[path = "../../../rust/arm64_image.rs"]
pub mod arm64_image;

/// A [`crashkernel::parse`] result in the format tools/crashkernel/oracle.sh's
/// build of the stock parser prints: `ret=-N`, or `ret=0` and every field.
pub struct ResultLine(pub Result<crashkernel::Request, crashkernel::Error>);

impl core::fmt::Display for ResultLine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0 {
            Err(e) => write!(f, "ret=-{}", e.errno()),
            Ok(r) => write!(
                f,
                "ret=0 size={:#x} base={:#x} low={:#x} cma={:#x} high={}",
                r.size, r.base, r.low_size, r.cma_size, u8::from(r.high)
            ),
        }
    }
}

/// Random `crashkernel=` command lines, built from the grammar's pieces so that
/// many of them get deep into the parser. For the differential test against the
/// stock parser and for the fuzz tests. Never contains a NUL, a newline or a tab.
pub mod fuzzgen {
    extern crate alloc;
    use alloc::vec::Vec;

    /// A xorshift generator: reproducible from its seed.
    pub struct Gen(u64);

    const PIECES: &[&[u8]] = &[
        b"crashkernel=", b"crashkernel=", b"crashkernel=", b" ", b"0", b"1", b"16", b"64", b"96",
        b"512", b"0x", b"0x10", b"077", b"9", b"K", b"M", b"G", b"T", b"E", b"m", b"k", b"-", b":",
        b",", b"@", b",high", b",low", b",cma", b"x", b"junk", b"99999999999999999999", b"ff",
        b"console=ttyS0", b"=", b"\xff",
    ];

    impl Gen {
        /// A generator from `seed`.
        pub fn new(seed: u64) -> Self {
            Gen(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
        }

        /// The next random number.
        pub fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        /// A random RAM size, default low size and command line.
        pub fn case(&mut self) -> (u64, u64, Vec<u8>) {
            let ram = match self.next() % 4 {
                0 => 1 << 30,
                1 => 8 << 30,
                2 => (self.next() % (64 << 30)) + 1,
                _ => 200 << 20,
            };
            let low = (self.next() % 512) << 20;
            let mut cmd = Vec::new();
            let pieces = 1 + self.next() % 14;
            for _ in 0..pieces {
                if self.next() % 8 == 0 {
                    // A random printable byte now and then.
                    cmd.push(b' ' + (self.next() % 95) as u8);
                } else {
                    cmd.extend_from_slice(PIECES[(self.next() % PIECES.len() as u64) as usize]);
                }
            }
            (ram, low, cmd)
        }
    }
}

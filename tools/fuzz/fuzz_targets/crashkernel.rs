// SPDX-License-Identifier: GPL-2.0

//! `crashkernel=` (rust/crashkernel.rs): any command line and any RAM size.
//!
//! Input: the RAM size (8 bytes, little-endian), the default low size (8
//! bytes), then the command line. Never a panic or an overflow; every
//! reservation is self-consistent (a size above zero and below the RAM, a
//! base only for a plain value, a low size only with `,high`); every refusal
//! says why in a non-empty message and is `EINVAL`; the answer is `Absent`
//! exactly when no value of a kind that counts is there; a word in front
//! changes nothing.

#![no_main]

use kexec_logic::crashkernel::{parse, Error, Request, EINVAL};
use kexec_logic::ResultLine;
use libfuzzer_sys::fuzz_target;
use std::fmt::Write;

const NAME: &[u8] = b"crashkernel=";

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(d) = data.get(at..) {
        let n = d.len().min(8);
        b[..n].copy_from_slice(&d[..n]);
    }
    u64::from_le_bytes(b)
}

/// The words (from `crashkernel=` to the next space) of the command line up to
/// its first NUL, as the parser looks for them: anywhere, even inside a word.
fn values(cmdline: &[u8]) -> Vec<&[u8]> {
    let cmdline = match cmdline.iter().position(|&b| b == 0) {
        Some(n) => &cmdline[..n],
        None => cmdline,
    };
    let mut out = Vec::new();
    for start in 0..cmdline.len() {
        if cmdline[start..].starts_with(NAME) {
            let end = cmdline[start..].iter().position(|&b| b == b' ').map_or(cmdline.len(), |p| start + p);
            out.push(&cmdline[start..end]);
        }
    }
    out
}

fn check(cmdline: &[u8], ram: u64, low: u64, r: &Result<Request, Error>) {
    let words = values(cmdline);
    let plain = words.iter().any(|w| ![&b",high"[..], b",low", b",cma"].iter().any(|s| w.ends_with(s)));
    let high = words.iter().any(|w| w.ends_with(b",high"));
    let lows = words.iter().any(|w| w.ends_with(b",low"));
    let cma = words.iter().any(|w| w.ends_with(b",cma"));
    match r {
        Ok(req) => {
            assert!(req.size > 0, "a reservation of 0 bytes: {req:?}");
            assert!(req.size < ram, "{req:?} does not fit RAM {ram:#x}");
            assert!(plain || high, "a reservation from no value: {req:?}");
            if req.high {
                // ,high only counts when there is no plain value.
                assert!(!plain && high, "{req:?}");
                assert_eq!(req.base, 0, "a base with ,high: {req:?}");
                if !lows {
                    assert_eq!(req.low_size, low, "the default low size was not used: {req:?}");
                }
            } else {
                assert!(plain, "{req:?}");
                assert_eq!(req.low_size, 0, "a low size without ,high: {req:?}");
            }
            if !cma {
                assert_eq!(req.cma_size, 0, "a CMA size without ,cma: {req:?}");
            }
        }
        Err(e) => {
            assert_eq!(e.errno(), EINVAL);
            let mut msg = String::new();
            write!(msg, "{e}").unwrap();
            assert!(!msg.is_empty(), "an empty message for {e:?}");
            match e {
                Error::Absent => assert!(!plain && !high, "Absent, but there is a value: {words:?}"),
                Error::Invalid { kind, .. } => {
                    assert!(plain || high, "{e:?} without a value");
                    assert!(["", ",high", ",low"].contains(kind), "{e:?}");
                    assert!(msg.starts_with("crashkernel=...") && msg.len() > "crashkernel=...: ".len(), "{msg}");
                }
            }
        }
    }
    // The line tools/crashkernel compares with the stock parser.
    let mut line = String::new();
    write!(line, "{}", ResultLine(*r)).unwrap();
    assert!(line.starts_with("ret="));
}

fuzz_target!(|data: &[u8]| {
    let ram = u64_at(data, 0);
    let low = u64_at(data, 8);
    let cmdline = data.get(16..).unwrap_or(&[]);
    let r = parse(cmdline, ram, low);
    check(cmdline, ram, low, &r);
    // A word in front changes nothing: "quiet " cannot end in a prefix of
    // "crashkernel=", so it adds no value and cuts none.
    let mut prefixed = b"quiet ".to_vec();
    prefixed.extend_from_slice(cmdline);
    assert_eq!(parse(&prefixed, ram, low), r, "a word in front changed the answer");
    // Nor does anything after the first NUL, which ends the C string.
    let mut cut = cmdline.to_vec();
    cut.extend_from_slice(b"\0 crashkernel=64M");
    if !cmdline.contains(&0) {
        assert_eq!(parse(&cut, ram, low), r, "bytes after a NUL were read");
    }
});

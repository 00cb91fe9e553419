// SPDX-License-Identifier: GPL-2.0

//! `memparse()` (rust/crashkernel.rs) and `elfcorehdr=` (rust/corehdr.rs)
//! against a model written from the kernel's `simple_strtoull()` and
//! `memparse()`, in 128-bit arithmetic.
//!
//! Input: a start index (1 byte), then the string.

#![no_main]

use kexec_logic::corehdr::parse_elfcorehdr;
use kexec_logic::crashkernel::memparse;
use libfuzzer_sys::fuzz_target;

fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// `simple_strtoull(s + i, &end, 0)`, saturating, and `end`.
fn model_strtoull(s: &[u8], i: usize) -> (u64, usize) {
    let (base, mut i) = if at(s, i) == b'0' && (at(s, i + 1) | 0x20) == b'x' && at(s, i + 2).is_ascii_hexdigit() {
        (16u128, i + 2)
    } else if at(s, i) == b'0' {
        (8, i)
    } else {
        (10, i)
    };
    let mut v: u128 = 0;
    while let Some(d) = (at(s, i) as char).to_digit(36).filter(|&d| (d as u128) < base && at(s, i) != 0) {
        v = (v * base + d as u128).min(u64::MAX as u128);
        i += 1;
    }
    (v as u64, i)
}

fn model_memparse(s: &[u8], i: usize) -> (u64, usize) {
    let (v, end) = model_strtoull(s, i);
    if end == i {
        return (v, end);
    }
    let shift = match at(s, end) {
        b'k' | b'K' => 10,
        b'm' | b'M' => 20,
        b'g' | b'G' => 30,
        b't' | b'T' => 40,
        b'p' | b'P' => 50,
        b'e' | b'E' => 60,
        _ => return (v, end),
    };
    (((v as u128) << shift).min(u64::MAX as u128) as u64, end + 1)
}

fuzz_target!(|data: &[u8]| {
    let Some((&start, s)) = data.split_first() else {
        return;
    };
    let i = start as usize % (s.len() + 2);
    let got = memparse(s, i);
    assert_eq!(got, model_memparse(s, i), "memparse({:?}, {i})", String::from_utf8_lossy(s));
    assert!(got.1 >= i && got.1 <= s.len().max(i));

    // elfcorehdr=[size@]addr.
    let p = parse_elfcorehdr(s);
    let (first, end) = model_memparse(s, 0);
    if at(s, end) == b'@' && end < s.len() {
        let (addr, end2) = model_memparse(s, end + 1);
        assert_eq!((p.addr, p.size, p.ok), (addr, Some(first), end2 > 0));
    } else {
        assert_eq!((p.addr, p.size, p.ok), (first, None, end > 0));
    }
});

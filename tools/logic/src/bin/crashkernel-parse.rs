// SPDX-License-Identifier: GPL-2.0

//! The Rust crashkernel= parser on the command line, for the differential test
//! against the stock parser (tools/crashkernel/compare.sh).
//!
//! `crashkernel-parse` reads lines "SYSTEM_RAM<TAB>DEFAULT_LOW<TAB>CMDLINE" and
//! prints one result line each, in the oracle's format.
//! `crashkernel-parse --generate N SEED` prints N random input lines instead.

use kexec_logic::{crashkernel, fuzzgen, ResultLine};
use std::io::{BufRead, Write};

fn number(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).expect("hex number"),
        None => s.parse().expect("number"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.get(1).map(String::as_str) == Some("--generate") {
        let n: usize = args.get(2).and_then(|s| s.parse().ok()).expect("--generate N SEED");
        let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).expect("--generate N SEED");
        let mut g = fuzzgen::Gen::new(seed);
        for _ in 0..n {
            let (ram, low, cmd) = g.case();
            out.write_all(format!("{ram}\t{low}\t").as_bytes()).unwrap();
            out.write_all(&cmd).unwrap();
            out.write_all(b"\n").unwrap();
        }
        return;
    }
    for line in std::io::stdin().lock().split(b'\n') {
        let line = line.expect("stdin");
        let mut parts = line.splitn(3, |&b| b == b'\t');
        let ram = number(std::str::from_utf8(parts.next().unwrap()).unwrap());
        let low = number(std::str::from_utf8(parts.next().expect("DEFAULT_LOW")).unwrap());
        let cmd = parts.next().expect("CMDLINE");
        writeln!(out, "{}", ResultLine(crashkernel::parse(cmd, ram, low))).unwrap();
    }
}

// SPDX-License-Identifier: GPL-2.0

//! vmcore-check --cpus N --release R --iomem FILE [--layout OUT] VMCORE
//!
//! FILE is the crashed kernel's /proc/iomem. Exits 0 and prints a one-line summary
//! when every rule holds; otherwise prints each broken rule and exits 1.

use std::process::ExitCode;
use vmcore_check::{check, ranges, Expect, Machine};

fn usage() -> ExitCode {
    eprintln!("usage: vmcore-check --cpus N --release R --iomem FILE [--layout OUT] [--not-dumped START-END]... [--machine x86_64|aarch64] VMCORE");
    ExitCode::from(2)
}

fn parse_range(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once('-')?;
    let hex = |x: &str| u64::from_str_radix(x.trim_start_matches("0x"), 16).ok();
    Some((hex(a)?, hex(b)?))
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut cpus, mut release, mut iomem, mut layout, mut path) = (None, None, None, None, None);
    let mut not_dumped = Vec::new();
    let mut machine = Machine::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cpus" => cpus = args.next().and_then(|v| v.parse::<usize>().ok()),
            "--release" => release = args.next(),
            "--iomem" => iomem = args.next(),
            "--layout" => layout = args.next(),
            "--machine" => {
                machine = match args.next().as_deref() {
                    Some("x86_64") => Machine::X86_64,
                    Some("aarch64") => Machine::Aarch64,
                    _ => return usage(),
                }
            }
            // RAM the kernel leaves out of the dump on purpose, START-END in hex
            // (half-open): kexec_file_load's elfcorehdr skips the first MiB on x86.
            "--not-dumped" => match args.next().as_deref().and_then(parse_range) {
                Some(r) => not_dumped.push(r),
                None => return usage(),
            },
            _ if path.is_none() && !a.starts_with("--") => path = Some(a),
            _ => return usage(),
        }
    }
    let (Some(cpus), Some(release), Some(iomem), Some(path)) = (cpus, release, iomem, path) else {
        return usage();
    };
    let text = match std::fs::read_to_string(&iomem) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("vmcore-check: {iomem}: {e}");
            return ExitCode::from(2);
        }
    };
    let entries = ranges::parse_iomem(&text);
    let want = Expect {
        cpus,
        release,
        ram: ranges::named(&entries, "System RAM", true),
        crash: {
            let mut v = ranges::named(&entries, "Crash kernel", false).ranges().to_vec();
            v.extend(not_dumped);
            ranges::RangeSet::from_ranges(v)
        },
        machine,
    };
    let file = match std::fs::File::open(&path) {
        Ok(f) => object::ReadCache::new(f),
        Err(e) => {
            eprintln!("vmcore-check: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    match check(&file, &want) {
        Ok(r) => {
            if let Some(out) = layout {
                if let Err(e) = std::fs::write(&out, r.layout()) {
                    eprintln!("vmcore-check: {out}: {e}");
                    return ExitCode::from(2);
                }
            }
            let loads = r.phdrs.iter().filter(|p| p.p_type == vmcore_check::elf::PT_LOAD).count();
            println!(
                "vmcore OK: {} PT_LOAD covering {} MiB of RAM (crash kernel's {} MiB excluded), {} NT_PRSTATUS, VMCOREINFO with {} keys",
                loads,
                r.loaded.bytes() >> 20,
                want.crash.bytes() >> 20,
                r.prstatus(),
                r.vmcoreinfo.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in errors {
                println!("vmcore BAD: {e}");
            }
            ExitCode::from(1)
        }
    }
}

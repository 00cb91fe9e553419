// SPDX-License-Identifier: GPL-2.0

//! vmcore-check --cpus N --release R --iomem FILE [--layout OUT] VMCORE
//!
//! FILE is the crashed kernel's /proc/iomem. Exits 0 and prints a one-line summary
//! when every rule holds; otherwise prints each broken rule and exits 1.

use std::process::ExitCode;
use vmcore_check::{check, ranges, Expect};

fn usage() -> ExitCode {
    eprintln!("usage: vmcore-check --cpus N --release R --iomem FILE [--layout OUT] VMCORE");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut cpus, mut release, mut iomem, mut layout, mut path) = (None, None, None, None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cpus" => cpus = args.next().and_then(|v| v.parse::<usize>().ok()),
            "--release" => release = args.next(),
            "--iomem" => iomem = args.next(),
            "--layout" => layout = args.next(),
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
        crash: ranges::named(&entries, "Crash kernel", false),
    };
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
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

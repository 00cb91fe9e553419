// SPDX-License-Identifier: GPL-2.0

//! The crashkernel= parser against the stock kernel's answers.
//!
//! tools/crashkernel/cases.txt holds the inputs (RAM size, default low size,
//! command line) and expected.txt what the stock parser, built from the kernel
//! source by tools/crashkernel/oracle.sh, printed for each; tools/crashkernel/
//! compare.sh checks that expected.txt still is what the oracle prints.

use kexec_logic::crashkernel::{parse, Error, Request};
use kexec_logic::fuzzgen::Gen;
use kexec_logic::ResultLine;

fn lines(name: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/../crashkernel/{name}", env!("CARGO_MANIFEST_DIR"));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

fn number(s: &[u8]) -> u64 {
    std::str::from_utf8(s).unwrap().parse().unwrap()
}

#[test]
fn every_case_gets_the_stock_answer() {
    let cases = lines("cases.txt");
    let expected = lines("expected.txt");
    assert_eq!(cases.len(), expected.len(), "cases.txt and expected.txt differ in length");
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut wrong = Vec::new();
    for (case, want) in cases.iter().zip(&expected) {
        let mut parts = case.splitn(3, |&b| b == b'\t');
        let ram = number(parts.next().unwrap());
        let low = number(parts.next().unwrap());
        let cmd = parts.next().unwrap();
        let got = ResultLine(parse(cmd, ram, low)).to_string();
        if got.as_bytes() != want.as_slice() {
            wrong.push(format!(
                "{:?}: got {got}, stock {}",
                String::from_utf8_lossy(cmd),
                String::from_utf8_lossy(want)
            ));
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases differ:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}

/// Each case's log line, as the kernel prints it (`ok` for a reservation,
/// `absent` for no value): tools/crashkernel/messages.txt, one line per case of
/// cases.txt, read and checked by hand to name the defect of each rejected
/// value. `CRASHKERNEL_MESSAGES=write` rewrites the file from the parser (to be
/// read again before it is committed).
#[test]
fn every_rejection_names_its_defect() {
    let cases = lines("cases.txt");
    let got: Vec<String> = cases
        .iter()
        .map(|case| {
            let mut parts = case.splitn(3, |&b| b == b'\t');
            let ram = number(parts.next().unwrap());
            let low = number(parts.next().unwrap());
            match parse(parts.next().unwrap(), ram, low) {
                Ok(_) => "ok".to_string(),
                Err(Error::Absent) => "absent".to_string(),
                Err(e) => e.to_string(),
            }
        })
        .collect();
    let path = format!("{}/../crashkernel/messages.txt", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("CRASHKERNEL_MESSAGES").as_deref() == Ok("write") {
        std::fs::write(&path, got.join("\n") + "\n").unwrap();
    }
    let want = lines("messages.txt");
    assert_eq!(want.len(), cases.len(), "messages.txt and cases.txt differ in length");
    let wrong: Vec<String> = cases
        .iter()
        .zip(got.iter().zip(&want))
        .filter(|(_, (g, w))| g.as_bytes() != w.as_slice())
        .map(|(c, (g, w))| format!("{:?}: {g} (want {})", String::from_utf8_lossy(c), String::from_utf8_lossy(w)))
        .collect();
    assert!(wrong.is_empty(), "{} messages differ:\n{}", wrong.len(), wrong.join("\n"));
}

/// What every successful parse must satisfy, whatever the input.
fn check_invariants(ram: u64, r: &Result<Request, Error>) {
    if let Ok(r) = r {
        assert!(r.size > 0 && r.size < ram, "{r:?} for RAM {ram}");
    }
}

#[test]
fn fuzz_grammar_pieces_never_panic() {
    let mut g = Gen::new(1);
    for _ in 0..300_000 {
        let (ram, low, cmd) = g.case();
        check_invariants(ram, &parse(&cmd, ram, low));
    }
}

#[test]
fn fuzz_random_bytes_never_panic() {
    let mut g = Gen::new(7);
    let mut buf = Vec::new();
    for _ in 0..300_000 {
        buf.clear();
        buf.extend_from_slice(b"crashkernel=");
        let n = g.next() % 40;
        for _ in 0..n {
            buf.push(g.next() as u8);
        }
        let ram = g.next();
        check_invariants(ram, &parse(&buf, ram, g.next()));
        // Also with the prefix cut anywhere, NULs included.
        let cut = (g.next() % (buf.len() as u64 + 1)) as usize;
        check_invariants(ram, &parse(&buf[cut..], ram, 0));
    }
}

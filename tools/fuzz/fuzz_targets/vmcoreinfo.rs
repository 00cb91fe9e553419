// SPDX-License-Identifier: GPL-2.0

//! The VMCOREINFO text and note (rust/vmcoreinfo.rs), as rust/crash/
//! vmcoreinfo.rs builds them: lines formatted into a `Line`, appended to a
//! page, the note written from the text.
//!
//! Invariants: no panic or overflow; each line is what was formatted, cut at
//! `LINE_MAX` bytes; the text is the lines' bytes cut at the buffer's size,
//! and "full" is reported exactly when it is full; `keys` gives the part
//! before `=` of each non-empty line; the note always fits in `NOTE_SIZE`,
//! holds the text under the name `VMCOREINFO`, and reads back with
//! `corehdr::notes_size`.

#![no_main]

use kexec_logic::corehdr::notes_size;
use kexec_logic::elfcore::{append_note, final_note, NHDR_SIZE};
use kexec_logic::vmcoreinfo::{append, keys, Line, BYTES, LINE_MAX, NOTE_NAME, NOTE_SIZE};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::fmt::Write;

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    // The page, or a smaller buffer to reach the end sooner.
    let cap = if u.arbitrary()? { BYTES } else { u.int_in_range(0..=BYTES)? };
    let mut page = vec![0u8; cap];
    let mut size = 0usize;
    let mut text: Vec<u8> = Vec::new();
    while !u.is_empty() {
        let mut line = Line::new();
        let mut want = String::new();
        match u.int_in_range(0..=3u8)? {
            // The shapes of the kernel's lines.
            0 => {
                let name: &str = u.arbitrary()?;
                let v: u64 = u.arbitrary()?;
                writeln!(line, "SYMBOL({name})={v:x}").unwrap();
                writeln!(want, "SYMBOL({name})={v:x}").unwrap();
            }
            1 => {
                let (s, f, v): (&str, &str, i64) = u.arbitrary()?;
                writeln!(line, "OFFSET({s}.{f})={v}").unwrap();
                writeln!(want, "OFFSET({s}.{f})={v}").unwrap();
            }
            _ => {
                // Any pieces, written one by one.
                for _ in 0..u.int_in_range(0..=4)? {
                    let piece: &str = u.arbitrary()?;
                    line.write_str(piece).unwrap();
                    want.push_str(piece);
                }
            }
        }
        let want = &want.as_bytes()[..want.len().min(LINE_MAX)];
        assert_eq!(line.as_bytes(), want, "the line is not what was formatted");
        let full = append(&mut page, &mut size, line.as_bytes());
        text.extend_from_slice(line.as_bytes());
        let n = text.len().min(cap);
        assert_eq!(size, n);
        assert_eq!(full, size == cap);
        assert_eq!(&page[..size], &text[..n]);
    }
    let data = &page[..size];
    let want: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| match l.iter().position(|&b| b == b'=') {
            Some(e) => &l[..e],
            None => l,
        })
        .collect();
    assert_eq!(keys(data).collect::<Vec<_>>(), want);

    // The note, as update_note() writes it.
    let mut note = vec![0x5au8; NOTE_SIZE];
    let end =
        append_note(&mut note, 0, NOTE_NAME, 0, &data[..size.min(BYTES)]).expect("the text does not fit its note");
    let after = final_note(&mut note, end).expect("no room for the final note");
    assert!(after <= NOTE_SIZE);
    assert_eq!(u32::from_le_bytes(note[0..4].try_into().unwrap()) as usize, NOTE_NAME.len() + 1);
    assert_eq!(u32::from_le_bytes(note[4..8].try_into().unwrap()) as usize, size);
    assert_eq!(&note[NHDR_SIZE..NHDR_SIZE + NOTE_NAME.len() + 1], b"VMCOREINFO\0");
    let desc = NHDR_SIZE + (NOTE_NAME.len() + 1).next_multiple_of(4);
    assert_eq!(&note[desc..desc + size], data);
    assert_eq!(notes_size(&note[..after]), (end as u64, false));
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});

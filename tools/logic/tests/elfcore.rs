// SPDX-License-Identifier: GPL-2.0

//! The elfcorehdr builder against independent ELF readers: the `object` crate and
//! binutils' `readelf`. Ranges are cut as a crash load cuts them (the crash
//! kernel's reservation, the first MiB), then the header is written and read back.

use kexec_logic::elfcore::{exclude, write_core_header, CoreLayout, KernelMap, Range, NoRoom, PT_LOAD, PT_NOTE};
use kexec_logic::fuzzgen::Gen;
use object::elf::{FileHeader64, ET_CORE, EM_X86_64};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian as LE;

const PAGE_OFFSET: u64 = 0xffff_8880_0000_0000;

fn layout_ram() -> Vec<Range> {
    // The RAM of a 1 GiB q35 guest, minus the first MiB and a 96 MiB reservation.
    let mut ram = vec![Range { start: 0x1000, end: 0x9_efff }, Range { start: 0x10_0000, end: 0x3ffd_ffff }, Range { start: 0, end: 0 }, Range { start: 0, end: 0 }];
    let mut n = 2;
    exclude(&mut ram, &mut n, 0, 0xf_ffff).unwrap();
    exclude(&mut ram, &mut n, 0x3900_0000, 0x3eff_ffff).unwrap();
    ram.truncate(n);
    ram
}

#[test]
fn header_reads_back_with_object() {
    let ram = layout_ram();
    assert_eq!(ram, [Range { start: 0x10_0000, end: 0x38ff_ffff }, Range { start: 0x3f00_0000, end: 0x3ffd_ffff }]);
    let notes = [0x3fc1_5000u64, 0x3fc2_5000];
    let layout = CoreLayout {
        cpu_notes: &notes,
        cpu_note_size: 368,
        vmcoreinfo: (0x2a0_0000, 4132),
        kernel_map: Some(KernelMap { vaddr: 0xffff_ffff_8100_0000, paddr: 0x100_0000, size: 0x7f_7000 }),
        ram: &ram,
        page_offset: PAGE_OFFSET,
    };
    let mut buf = vec![0xaa; layout.size()];
    assert_eq!(write_core_header(&mut buf, &layout), Some(4096));

    let hdr = FileHeader64::<LE>::parse(buf.as_slice()).expect("object parses the ELF header");
    let e = hdr.endian().unwrap();
    assert_eq!(hdr.e_type(e), ET_CORE);
    assert_eq!(hdr.e_machine(e), EM_X86_64);
    let phdrs = hdr.program_headers(e, buf.as_slice()).expect("object parses the program headers");
    assert_eq!(phdrs.len(), 2 + 1 + 1 + 2);
    let kinds: Vec<u32> = phdrs.iter().map(|p| p.p_type(e)).collect();
    assert_eq!(kinds, [PT_NOTE, PT_NOTE, PT_NOTE, PT_LOAD, PT_LOAD, PT_LOAD]);
    assert_eq!(phdrs[0].p_paddr(e), 0x3fc1_5000);
    assert_eq!(phdrs[0].p_offset(e), 0x3fc1_5000);
    assert_eq!(phdrs[2].p_filesz(e), 4132);
    assert_eq!(phdrs[3].p_vaddr(e), 0xffff_ffff_8100_0000);
    let last = &phdrs[5];
    assert_eq!((last.p_paddr(e), last.p_memsz(e)), (0x3f00_0000, 0xfe_0000));
    assert_eq!(last.p_vaddr(e), PAGE_OFFSET + 0x3f00_0000);
    // Zero padding after the headers, up to the page.
    assert!(buf[64 + 6 * 56..].iter().all(|&b| b == 0));

    // binutils agrees, when it is installed (the harness installs it).
    let path = std::env::temp_dir().join(format!("elfcorehdr-{}.core", std::process::id()));
    std::fs::write(&path, &buf).unwrap();
    if let Ok(out) = std::process::Command::new("readelf").args(["-W", "-h", "-l"]).arg(&path).output() {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && out.stderr.is_empty(), "readelf: {}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("CORE (Core file)"), "{text}");
        assert_eq!(text.lines().filter(|l| l.trim_start().starts_with("LOAD")).count(), 3, "{text}");
        assert_eq!(text.lines().filter(|l| l.trim_start().starts_with("NOTE")).count(), 3, "{text}");
    }
    let _ = std::fs::remove_file(&path);
}

/// The set of bytes a range list covers, for small address spaces.
fn covered(ranges: &[Range], space: u64) -> Vec<bool> {
    let mut v = vec![false; space as usize];
    for r in ranges {
        for a in r.start..=r.end {
            v[a as usize] = true;
        }
    }
    v
}

#[test]
fn exclude_matches_a_byte_model() {
    let mut g = Gen::new(3);
    for _ in 0..20_000 {
        // Sorted, disjoint ranges in a 256-byte space, with some free slots.
        let mut ranges = Vec::new();
        let mut at = g.next() % 8;
        while at < 250 && ranges.len() < 6 {
            let len = 1 + g.next() % 30;
            let end = (at + len - 1).min(255);
            ranges.push(Range { start: at, end });
            at = end + 2 + g.next() % 20;
        }
        let slack = (g.next() % 2) as usize;
        let mut buf = ranges.clone();
        buf.resize(ranges.len() + slack, Range { start: 0, end: 0 });
        let mut n = ranges.len();
        let a = g.next() % 256;
        let b = (a + g.next() % 80).min(255);
        let before = covered(&ranges, 256);
        match exclude(&mut buf, &mut n, a, b) {
            Ok(()) => {
                let after = covered(&buf[..n], 256);
                for x in 0..256u64 {
                    let want = before[x as usize] && !(a..=b).contains(&x);
                    assert_eq!(after[x as usize], want, "byte {x}: {ranges:?} minus {a}..={b} gave {:?}", &buf[..n]);
                }
                assert!(buf[..n].windows(2).all(|w| w[0].end < w[1].start), "not sorted: {:?}", &buf[..n]);
            }
            Err(NoRoom) => {
                // Only a split can run out of room, and only without a free slot.
                assert_eq!(slack, 0);
                assert!(ranges.iter().any(|r| r.start < a && b < r.end), "{ranges:?} minus {a}..={b}");
            }
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Checks that a vmcore saved by a kdump capture kernel is what makedumpfile,
//! crash and drgn expect: an ELF64 x86_64 core with one PT_NOTE that holds an
//! NT_PRSTATUS note per CPU of the crashed kernel and a VMCOREINFO note, and PT_LOAD
//! segments that cover the crashed kernel's System RAM except the crash kernel's
//! own reservation.

pub mod elf;
pub mod ranges;

use elf::{Note, Phdr, NT_PRSTATUS, PT_LOAD, PT_NOTE};
use object::ReadRef;
use ranges::RangeSet;
use std::collections::BTreeSet;

/// What the crashed kernel looked like, from its serial log.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// Online CPUs of the crashed kernel.
    pub cpus: usize,
    /// `uname -r` of the crashed kernel.
    pub release: String,
    /// System RAM of the crashed kernel.
    pub ram: RangeSet,
    /// Its crash kernel reservation.
    pub crash: RangeSet,
    /// Its architecture.
    pub machine: Machine,
}

/// The architecture of the crashed kernel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Machine {
    /// x86_64.
    #[default]
    X86_64,
    /// arm64 (4 KiB pages, 48-bit virtual addresses).
    Aarch64,
}

impl Machine {
    /// The core file's `e_machine`.
    pub fn e_machine(self) -> u16 {
        match self {
            Machine::X86_64 => elf::EM_X86_64,
            Machine::Aarch64 => elf::EM_AARCH64,
        }
    }

    /// Its name in `EM_*`.
    pub fn name(self) -> &'static str {
        match self {
            Machine::X86_64 => "EM_X86_64",
            Machine::Aarch64 => "EM_AARCH64",
        }
    }

    /// Where the kernel image is mapped: a PT_LOAD at or above it maps the
    /// image, below it the direct map (x86_64: the top 2 GiB; arm64: the
    /// upper half of the kernel's addresses, above the linear map).
    fn kernel_map(self) -> u64 {
        match self {
            Machine::X86_64 => 0xffff_ffff_8000_0000,
            Machine::Aarch64 => 0xffff_8000_0000_0000,
        }
    }
}

/// What the checker found; `layout()` is the part two kernels must agree on.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub phdrs: Vec<Phdr>,
    pub notes: Vec<Note>,
    pub vmcoreinfo: Vec<(String, String)>,
    pub loaded: RangeSet,
    /// The architecture it was checked as (where its kernel image is mapped).
    pub machine: Machine,
}

impl Report {
    /// The number of NT_PRSTATUS notes.
    pub fn prstatus(&self) -> usize {
        self.notes.iter().filter(|n| n.name == "CORE" && n.n_type == NT_PRSTATUS).count()
    }

    /// A value from VMCOREINFO.
    pub fn info(&self, key: &str) -> Option<&str> {
        self.vmcoreinfo.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A text summary for diffing the vmcores of two kernels: header facts, the
    /// program headers (addresses and sizes, not file offsets) and the sorted set
    /// of notes and VMCOREINFO keys.
    pub fn layout(&self) -> String {
        let mut s = String::new();
        for p in &self.phdrs {
            let kind = match p.p_type {
                PT_NOTE => "PT_NOTE".to_string(),
                PT_LOAD => "PT_LOAD".to_string(),
                t => format!("type {t:#x}"),
            };
            if p.p_type == PT_NOTE {
                s += &format!("phdr {kind}\n");
            } else if p.vaddr >= self.machine.kernel_map() {
                // The kernel image: its size is the build's, not the dump's.
                s += &format!("phdr {kind} kernel text paddr={:#x}\n", p.paddr);
            } else {
                s += &format!("phdr {kind} paddr={:#x} memsz={:#x}\n", p.paddr, p.memsz);
            }
        }
        let notes: BTreeSet<_> = self.notes.iter().map(|n| format!("note {} type={}", n.name, n.n_type)).collect();
        for n in notes {
            s += &n;
            s.push('\n');
        }
        // Every key; with its value where the value describes the configuration's
        // types and constants (sizes, offsets, lengths, numbers), which two builds
        // of one tree and one config must agree on. Addresses and the crash time
        // differ between builds and runs and are left out.
        let lines: BTreeSet<_> = self
            .vmcoreinfo
            .iter()
            .map(|(k, v)| {
                let typed = ["SIZE(", "OFFSET(", "LENGTH(", "NUMBER("].iter().any(|p| k.starts_with(p));
                if (typed && k != "NUMBER(phys_base)") || k == "PAGESIZE" {
                    format!("vmcoreinfo {k}={v}")
                } else {
                    format!("vmcoreinfo {k}")
                }
            })
            .collect();
        for l in lines {
            s += &l;
            s.push('\n');
        }
        s
    }
}

/// Reads and checks a vmcore: a byte slice, or for a file on disk an
/// [`object::ReadCache`] over it (only the headers and the notes are read).
/// Returns the report, or every rule that failed.
pub fn check<'data>(data: impl ReadRef<'data>, want: &Expect) -> Result<Report, Vec<String>> {
    let mut errors = Vec::new();
    let core = elf::Core::parse(data).map_err(|e| vec![e.0])?;
    if core.e_type() != elf::ET_CORE {
        errors.push(format!("e_type is {}, not ET_CORE", core.e_type()));
    }
    if core.e_machine() != want.machine.e_machine() {
        errors.push(format!("e_machine is {}, not {}", core.e_machine(), want.machine.name()));
    }
    let phdrs = core.phdrs();

    let mut report = Report { phdrs: phdrs.clone(), machine: want.machine, ..Default::default() };
    let size = core.size();
    for (i, p) in phdrs.iter().enumerate() {
        if p.offset.checked_add(p.filesz).is_none_or(|end| end > size) {
            errors.push(format!("segment {i} ({:#x}+{:#x}) lies past the end of the file ({size:#x})", p.offset, p.filesz));
        }
    }

    let note_segs: Vec<usize> = (0..phdrs.len()).filter(|&i| phdrs[i].p_type == PT_NOTE).collect();
    if note_segs.len() != 1 {
        errors.push(format!("{} PT_NOTE segments, expected exactly one", note_segs.len()));
    }
    for &i in &note_segs {
        match core.notes(i) {
            Ok(n) => report.notes.extend(n),
            Err(e) => errors.push(format!("PT_NOTE: {e}")),
        }
    }

    if report.prstatus() != want.cpus {
        errors.push(format!("{} NT_PRSTATUS notes, expected one per CPU ({})", report.prstatus(), want.cpus));
    }
    match report.notes.iter().find(|n| n.name == "VMCOREINFO") {
        None => errors.push("no VMCOREINFO note".into()),
        Some(n) => {
            report.vmcoreinfo = String::from_utf8_lossy(&n.desc)
                .lines()
                .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.trim_end_matches('\0').to_string())))
                .collect();
        }
    }
    if !report.vmcoreinfo.is_empty() {
        match report.info("OSRELEASE") {
            Some(r) if r == want.release => {}
            other => errors.push(format!("VMCOREINFO OSRELEASE is {other:?}, expected {:?}", want.release)),
        }
        match report.info("PAGESIZE") {
            Some("4096") => {}
            other => errors.push(format!("VMCOREINFO PAGESIZE is {other:?}, expected \"4096\"")),
        }
    }

    report.loaded = RangeSet::from_ranges(
        phdrs
            .iter()
            .filter(|p| p.p_type == PT_LOAD)
            .map(|p| (p.paddr, p.paddr.saturating_add(p.memsz)))
            .collect(),
    );
    let needed = want.ram.minus(&want.crash);
    let missing = needed.minus(&report.loaded);
    if missing.bytes() > 0 {
        errors.push(format!(
            "{} bytes of System RAM not in any PT_LOAD, first at {:#x}-{:#x}",
            missing.bytes(),
            missing.ranges()[0].0,
            missing.ranges()[0].1
        ));
    }
    let leaked = report.loaded.intersect(&want.crash);
    if leaked.bytes() > 0 {
        errors.push(format!("PT_LOAD segments cover {} bytes of the crash kernel reservation", leaked.bytes()));
    }
    if needed.bytes() == 0 {
        errors.push("the expected System RAM is empty (no /proc/iomem from the first kernel?)".into());
    }

    if errors.is_empty() {
        Ok(report)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::elf::tests::{core, note};
    use super::*;

    fn expect() -> Expect {
        Expect {
            cpus: 2,
            release: "7.3.4".into(),
            ram: RangeSet::from_ranges(vec![(0x1000, 0x9f000), (0x100000, 0x800000)]),
            crash: RangeSet::from_ranges(vec![(0x400000, 0x600000)]),
            machine: Machine::X86_64,
        }
    }

    fn notes(cpus: usize, info: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for _ in 0..cpus {
            b.extend(note("CORE", NT_PRSTATUS, &[0; 336]));
        }
        b.extend(note("VMCOREINFO", 0, info.as_bytes()));
        b
    }

    const INFO: &str = "OSRELEASE=7.3.4\nPAGESIZE=4096\nSYMBOL(init_uts_ns)=ffffffff82000000\n";

    fn good() -> Vec<u8> {
        core(&[
            (PT_NOTE, 0, 0, notes(2, INFO)),
            (PT_LOAD, 0x1000, 0x9e000, vec![]),
            (PT_LOAD, 0x100000, 0x300000, vec![]),
            (PT_LOAD, 0x600000, 0x200000, vec![]),
        ])
    }

    #[test]
    fn a_good_core_passes_and_reports_its_layout() {
        let r = check(good().as_slice(), &expect()).unwrap();
        assert_eq!(r.prstatus(), 2);
        assert_eq!(r.info("OSRELEASE"), Some("7.3.4"));
        let l = r.layout();
        assert!(l.contains("phdr PT_LOAD paddr=0x600000 memsz=0x200000\n"));
        assert!(l.contains("vmcoreinfo SYMBOL(init_uts_ns)\n"));
        assert!(l.contains("note CORE type=1\n"));
    }

    #[test]
    fn missing_cpu_note_fails() {
        let f = core(&[(PT_NOTE, 0, 0, notes(1, INFO)), (PT_LOAD, 0x1000, 0x7ff000, vec![])]);
        let e = check(f.as_slice(), &expect()).unwrap_err();
        assert!(e.iter().any(|m| m.contains("1 NT_PRSTATUS notes")), "{e:?}");
    }

    #[test]
    fn uncovered_ram_fails_and_names_the_hole() {
        let f = core(&[(PT_NOTE, 0, 0, notes(2, INFO)), (PT_LOAD, 0x1000, 0x9e000, vec![]), (PT_LOAD, 0x100000, 0x300000, vec![])]);
        let e = check(f.as_slice(), &expect()).unwrap_err();
        assert_eq!(e, vec!["2097152 bytes of System RAM not in any PT_LOAD, first at 0x600000-0x800000".to_string()]);
    }

    #[test]
    fn dumping_the_crash_reservation_fails() {
        let f = core(&[(PT_NOTE, 0, 0, notes(2, INFO)), (PT_LOAD, 0x1000, 0x7ff000, vec![])]);
        let e = check(f.as_slice(), &expect()).unwrap_err();
        assert!(e[0].contains("crash kernel reservation"), "{e:?}");
    }

    #[test]
    fn wrong_release_pagesize_or_no_vmcoreinfo_fail() {
        let bad = "OSRELEASE=6.1\nPAGESIZE=65536\n";
        let mut f = good();
        let at = f.windows(INFO.len()).position(|w| w == INFO.as_bytes()).unwrap();
        f[at..at + bad.len()].copy_from_slice(bad.as_bytes());
        let e = check(f.as_slice(), &expect()).unwrap_err();
        assert!(e.iter().any(|m| m.contains("OSRELEASE")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("PAGESIZE")), "{e:?}");

        let f = core(&[(PT_NOTE, 0, 0, note("CORE", 1, &[0; 8]).repeat(2)), (PT_LOAD, 0x1000, 0x7ff000, vec![])]);
        let e = check(f.as_slice(), &Expect { crash: RangeSet::default(), ..expect() }).unwrap_err();
        assert_eq!(e, vec!["no VMCOREINFO note".to_string()]);
    }

    #[test]
    fn truncated_file_and_two_note_segments_fail() {
        let mut f = core(&[(PT_NOTE, 0, 0, notes(2, INFO)), (PT_NOTE, 0, 0, vec![]), (PT_LOAD, 0x1000, 0x7ff000, vec![1; 64])]);
        f.truncate(f.len() - 10);
        let e = check(f.as_slice(), &Expect { crash: RangeSet::default(), ..expect() }).unwrap_err();
        assert!(e.iter().any(|m| m.contains("past the end of the file")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("2 PT_NOTE segments")), "{e:?}");
    }
}

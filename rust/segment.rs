// SPDX-License-Identifier: GPL-2.0

//! Validation of a kexec segment list.
//!
//! A segment list from userspace becomes a [`Segments`] only through [`validate`],
//! which applies the rules the C implementation applies, in the same order, so that
//! an input breaking several rules gets the same errno. Pure logic: no allocation,
//! no kernel dependency; the same file runs under `cargo test` on the host.

use core::fmt;

/// The page size the segment rules are written for.
pub const PAGE_SIZE: u64 = 4096;

/// `EINVAL`.
pub const EINVAL: i32 = 22;
/// `EADDRNOTAVAIL`.
pub const EADDRNOTAVAIL: i32 = 99;

/// One segment as userspace describes it (`struct kexec_segment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    /// Userspace (or, for file loads, kernel) address of the data.
    pub buf: u64,
    /// Bytes of data at `buf`.
    pub bufsz: u64,
    /// Physical destination.
    pub mem: u64,
    /// Bytes reserved at `mem`; the part past `bufsz` is zero-filled.
    pub memsz: u64,
}

impl Segment {
    /// The half-open destination range `[mem, mem + memsz)`, which [`validate`]
    /// guarantees does not wrap.
    pub fn range(&self) -> (u64, u64) {
        (self.mem, self.mem.wrapping_add(self.memsz))
    }

    /// The number of destination pages.
    pub fn pages(&self) -> u64 {
        self.memsz.div_ceil(PAGE_SIZE)
    }
}

/// What the machine allows; the caller fills it from the running kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `KEXEC_DESTINATION_MEMORY_LIMIT`: every segment must end below it.
    pub destination_limit: u64,
    /// `totalram_pages()`: the image may use at most half of it.
    pub total_ram_pages: u64,
    /// For a crash image, the crash kernel reservation `[start, end]` (inclusive,
    /// as `crashk_res`); `None` for a normal image.
    pub crash_window: Option<(u64, u64)>,
}

impl Limits {
    /// No machine limits: only the rules that the placement of pages relies on
    /// (alignment, no wrap, no overlap, `bufsz <= memsz`) can fail.
    pub const fn structural() -> Self {
        Limits {
            destination_limit: u64::MAX,
            total_ram_pages: u64::MAX,
            crash_window: None,
        }
    }
}

/// The rule a segment list broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `mem + memsz` overflows.
    Wraps,
    /// `mem` or `mem + memsz` is not page aligned.
    Unaligned,
    /// The segment ends at or above the destination memory limit.
    AboveLimit {
        /// `KEXEC_DESTINATION_MEMORY_LIMIT`.
        limit: u64,
    },
    /// The segment overlaps an earlier one.
    Overlaps {
        /// The index of the earlier segment.
        other: usize,
    },
    /// `bufsz > memsz`.
    BufferLargerThanMemory,
    /// The segment alone needs more than half of RAM.
    SegmentTooLarge {
        /// Pages the segment needs.
        pages: u64,
        /// Half of RAM, in pages.
        allowed: u64,
    },
    /// All segments together need more than half of RAM.
    ImageTooLarge {
        /// Pages all segments need.
        pages: u64,
        /// Half of RAM, in pages.
        allowed: u64,
    },
    /// A crash image segment lies outside the crash kernel reservation.
    OutsideCrashWindow {
        /// First byte of the reservation.
        start: u64,
        /// Last byte of the reservation.
        end: u64,
    },
}

/// A broken rule and the segment that broke it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation {
    /// Index of the offending segment.
    pub segment: usize,
    /// The rule.
    pub rule: Rule,
}

impl Violation {
    /// The (positive) errno the C implementation returns for this rule.
    pub fn errno(&self) -> i32 {
        match self.rule {
            Rule::Wraps
            | Rule::Unaligned
            | Rule::AboveLimit { .. }
            | Rule::OutsideCrashWindow { .. } => EADDRNOTAVAIL,
            Rule::Overlaps { .. }
            | Rule::BufferLargerThanMemory
            | Rule::SegmentTooLarge { .. }
            | Rule::ImageTooLarge { .. } => EINVAL,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = self.segment;
        match self.rule {
            Rule::Wraps => write!(f, "segment {i}: mem + memsz wraps around the address space"),
            Rule::Unaligned => write!(f, "segment {i}: mem and mem + memsz must be page aligned"),
            Rule::AboveLimit { limit } => {
                write!(
                    f,
                    "segment {i}: ends at or above the destination limit {limit:#x}"
                )
            }
            Rule::Overlaps { other } => write!(f, "segment {i}: overlaps segment {other}"),
            Rule::BufferLargerThanMemory => write!(f, "segment {i}: bufsz is larger than memsz"),
            Rule::SegmentTooLarge { pages, allowed } => {
                write!(
                    f,
                    "segment {i}: needs {pages} pages, more than half of RAM ({allowed})"
                )
            }
            Rule::ImageTooLarge { pages, allowed } => {
                write!(
                    f,
                    "segments need {pages} pages in all, more than half of RAM ({allowed})"
                )
            }
            Rule::OutsideCrashWindow { start, end } => write!(
                f,
                "segment {i}: outside the crash kernel reservation {start:#x}-{end:#x}"
            ),
        }
    }
}

/// A segment list that passed [`validate`].
///
/// # Invariants
///
/// Every segment is page aligned at both ends, does not wrap, ends below the
/// destination limit, has `bufsz <= memsz`, and overlaps no other segment; all
/// together need at most half of RAM; for a crash image each lies inside the crash
/// kernel reservation.
#[derive(Debug, Clone, Copy)]
pub struct Segments<'a>(&'a [Segment]);

impl<'a> Segments<'a> {
    /// The validated segments.
    pub fn as_slice(&self) -> &'a [Segment] {
        self.0
    }

    /// Whether any byte of `[start, end)` is a destination of some segment.
    pub fn is_destination(&self, start: u64, end: u64) -> bool {
        self.0.iter().any(|s| {
            let (ms, me) = s.range();
            me > start && ms < end
        })
    }
}

/// Checks `segs` against the kexec rules, in the order the C implementation checks
/// them, and returns the first violation.
pub fn validate<'a>(segs: &'a [Segment], limits: &Limits) -> Result<Segments<'a>, Violation> {
    let fail = |segment, rule| Err(Violation { segment, rule });

    for (i, s) in segs.iter().enumerate() {
        let Some(end) = s.mem.checked_add(s.memsz) else {
            return fail(i, Rule::Wraps);
        };
        if s.mem % PAGE_SIZE != 0 || end % PAGE_SIZE != 0 {
            return fail(i, Rule::Unaligned);
        }
        if end >= limits.destination_limit {
            return fail(
                i,
                Rule::AboveLimit {
                    limit: limits.destination_limit,
                },
            );
        }
    }

    for (i, s) in segs.iter().enumerate() {
        let (ms, me) = s.range();
        for (j, p) in segs[..i].iter().enumerate() {
            let (ps, pe) = p.range();
            if me > ps && ms < pe {
                return fail(i, Rule::Overlaps { other: j });
            }
        }
    }

    for (i, s) in segs.iter().enumerate() {
        if s.bufsz > s.memsz {
            return fail(i, Rule::BufferLargerThanMemory);
        }
    }

    let allowed = limits.total_ram_pages / 2;
    let mut total: u64 = 0;
    for (i, s) in segs.iter().enumerate() {
        if s.pages() > allowed {
            return fail(
                i,
                Rule::SegmentTooLarge {
                    pages: s.pages(),
                    allowed,
                },
            );
        }
        total = total.saturating_add(s.pages());
    }
    if total > allowed {
        return fail(
            segs.len().saturating_sub(1),
            Rule::ImageTooLarge {
                pages: total,
                allowed,
            },
        );
    }

    if let Some((start, end)) = limits.crash_window {
        for (i, s) in segs.iter().enumerate() {
            // As in C, the last byte is mem + memsz - 1, so an empty segment at the
            // start of the window passes.
            let last = s.mem.wrapping_add(s.memsz).wrapping_sub(1);
            if s.mem < start || last > end {
                return fail(i, Rule::OutsideCrashWindow { start, end });
            }
        }
    }

    Ok(Segments(segs))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn limits() -> Limits {
        Limits {
            destination_limit: 1 << 46,
            total_ram_pages: 262144,
            crash_window: None,
        }
    }

    fn seg(mem: u64, memsz: u64, bufsz: u64) -> Segment {
        Segment {
            buf: 0x1000,
            bufsz,
            mem,
            memsz,
        }
    }

    fn broken(segs: &[Segment], l: &Limits) -> (usize, Rule, i32) {
        let v = validate(segs, l).unwrap_err();
        (v.segment, v.rule, v.errno())
    }

    #[test]
    fn a_typical_bzimage_layout_passes() {
        let segs = [
            seg(0x100000, 4 * MIB, 3 * MIB + 5),
            seg(0x7f00_0000, 8 * MIB, 8 * MIB),
            seg(0x9000, 0x1000, 0x400),
        ];
        let v = validate(&segs, &limits()).unwrap();
        assert!(v.is_destination(0x100000, 0x101000));
        assert!(v.is_destination(0x4ff000, 0x500000));
        assert!(!v.is_destination(0x500000, 0x501000));
        assert!(!v.is_destination(0x8000, 0x9000));
    }

    #[test]
    fn no_segments_is_valid() {
        assert!(validate(&[], &limits()).is_ok());
    }

    #[test]
    fn zero_length_segment_is_valid() {
        assert!(validate(&[seg(0x200000, 0, 0)], &limits()).is_ok());
    }

    #[test]
    fn wrap_is_eaddrnotavail() {
        assert_eq!(
            broken(&[seg(0xffff_ffff_ffff_f000, 0x2000, 0)], &limits()),
            (0, Rule::Wraps, EADDRNOTAVAIL)
        );
    }

    #[test]
    fn unaligned_start_or_end_is_eaddrnotavail() {
        assert_eq!(
            broken(&[seg(0x100800, 0x1000, 0)], &limits()).1,
            Rule::Unaligned
        );
        assert_eq!(
            broken(&[seg(0x100000, 0x1800, 0)], &limits()),
            (0, Rule::Unaligned, EADDRNOTAVAIL)
        );
    }

    #[test]
    fn ending_at_the_limit_is_eaddrnotavail() {
        let l = limits();
        let lim = l.destination_limit;
        assert_eq!(
            broken(&[seg(lim - 0x1000, 0x1000, 0)], &l),
            (0, Rule::AboveLimit { limit: lim }, EADDRNOTAVAIL)
        );
        assert!(validate(&[seg(lim - 0x2000, 0x1000, 0)], &l).is_ok());
    }

    #[test]
    fn overlap_by_one_page_is_einval() {
        let segs = [seg(0x100000, 0x3000, 0), seg(0x102000, 0x1000, 0)];
        assert_eq!(
            broken(&segs, &limits()),
            (1, Rule::Overlaps { other: 0 }, EINVAL)
        );
        let touching = [seg(0x100000, 0x3000, 0), seg(0x103000, 0x1000, 0)];
        assert!(validate(&touching, &limits()).is_ok());
    }

    #[test]
    fn buffer_larger_than_memory_is_einval() {
        assert_eq!(
            broken(&[seg(0x100000, 0x1000, 0x1001)], &limits()),
            (0, Rule::BufferLargerThanMemory, EINVAL)
        );
    }

    #[test]
    fn one_segment_over_half_of_ram_is_einval() {
        let l = Limits {
            total_ram_pages: 100,
            ..limits()
        };
        assert_eq!(
            broken(&[seg(0, 51 * PAGE_SIZE, 0)], &l).1,
            Rule::SegmentTooLarge {
                pages: 51,
                allowed: 50
            }
        );
        assert!(validate(&[seg(0, 50 * PAGE_SIZE, 0)], &l).is_ok());
    }

    #[test]
    fn structural_limits_keep_only_the_placement_rules() {
        let l = Limits::structural();
        assert!(validate(&[seg(0xffff_0000_0000, 1 << 40, 0)], &l).is_ok());
        assert_eq!(broken(&[seg(0x1800, 0x1000, 0)], &l).1, Rule::Unaligned);
        assert_eq!(
            broken(&[seg(0x1000, 0x1000, 0), seg(0x1000, 0x1000, 0)], &l).1,
            Rule::Overlaps { other: 0 }
        );
        assert_eq!(
            broken(&[seg(0x1000, 0x1000, 0x1001)], &l).1,
            Rule::BufferLargerThanMemory
        );
    }

    #[test]
    fn all_segments_over_half_of_ram_is_einval() {
        let l = Limits {
            total_ram_pages: 100,
            ..limits()
        };
        let segs = [seg(0, 30 * PAGE_SIZE, 0), seg(0x100000, 21 * PAGE_SIZE, 0)];
        assert_eq!(
            broken(&segs, &l),
            (
                1,
                Rule::ImageTooLarge {
                    pages: 51,
                    allowed: 50
                },
                EINVAL
            )
        );
    }

    #[test]
    fn crash_segment_outside_window_is_eaddrnotavail() {
        let l = Limits {
            crash_window: Some((0x3000_0000, 0x35ff_ffff)),
            ..limits()
        };
        assert!(validate(&[seg(0x3000_0000, 0x600_0000, 0)], &l).is_ok());
        assert_eq!(broken(&[seg(0x2fff_f000, 0x2000, 0)], &l).2, EADDRNOTAVAIL);
        let v = validate(&[seg(0x35ff_f000, 0x2000, 0)], &l).unwrap_err();
        assert_eq!(
            v.rule,
            Rule::OutsideCrashWindow {
                start: 0x3000_0000,
                end: 0x35ff_ffff
            }
        );
        // An empty segment at the window's start passes, as in C.
        assert!(validate(&[seg(0x3000_0000, 0, 0)], &l).is_ok());
    }

    #[test]
    fn errors_come_in_c_order() {
        // Segment 1 is unaligned and segment 0 is too big: the address pass runs first.
        let segs = [seg(0x100000, 0x1000, 0x2000), seg(0x200800, 0x1000, 0)];
        assert_eq!(
            broken(&segs, &limits()),
            (1, Rule::Unaligned, EADDRNOTAVAIL)
        );
        // Overlap is found before bufsz > memsz.
        let segs = [seg(0x100000, 0x1000, 0x2000), seg(0x100000, 0x1000, 0)];
        assert_eq!(broken(&segs, &limits()).1, Rule::Overlaps { other: 0 });
    }

    #[test]
    fn messages_name_the_segment_and_rule() {
        let v = validate(
            &[seg(0x100000, 0x1000, 0), seg(0x100000, 0x1000, 0)],
            &limits(),
        )
        .unwrap_err();
        let mut s = std::string::String::new();
        core::fmt::write(&mut s, format_args!("{v}")).unwrap();
        assert_eq!(s, "segment 1: overlaps segment 0");
    }
}

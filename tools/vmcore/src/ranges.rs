// SPDX-License-Identifier: GPL-2.0

//! Physical address ranges: /proc/iomem parsing and set arithmetic on half-open
//! intervals `[start, end)`.

/// A sorted, merged set of half-open physical ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet(Vec<(u64, u64)>);

impl RangeSet {
    /// Builds a set from possibly unsorted, overlapping ranges; empty ones are dropped.
    pub fn from_ranges(mut v: Vec<(u64, u64)>) -> Self {
        v.retain(|(s, e)| s < e);
        v.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
        for (s, e) in v {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        RangeSet(out)
    }

    /// The ranges, sorted and disjoint.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.0
    }

    /// The number of bytes covered.
    pub fn bytes(&self) -> u64 {
        self.0.iter().map(|(s, e)| e - s).sum()
    }

    /// The part of `self` that `other` does not cover.
    pub fn minus(&self, other: &RangeSet) -> RangeSet {
        let mut out = Vec::new();
        for &(s, e) in &self.0 {
            let mut cur = s;
            for &(os, oe) in &other.0 {
                if oe <= cur || os >= e {
                    continue;
                }
                if os > cur {
                    out.push((cur, os));
                }
                cur = cur.max(oe);
                if cur >= e {
                    break;
                }
            }
            if cur < e {
                out.push((cur, e));
            }
        }
        RangeSet(out)
    }

    /// The part of `self` that `other` also covers.
    pub fn intersect(&self, other: &RangeSet) -> RangeSet {
        self.minus(&self.minus(other))
    }
}

/// One line of /proc/iomem: depth (indentation / 2), name and half-open range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IomemEntry {
    pub depth: usize,
    pub name: String,
    pub start: u64,
    pub end: u64,
}

/// Parses /proc/iomem text ("  00001000-0009fbff : System RAM"); lines that do not
/// have that shape are skipped.
pub fn parse_iomem(text: &str) -> Vec<IomemEntry> {
    text.lines()
        .filter_map(|raw| {
            let line = raw.trim_end_matches('\r');
            let indent = line.len() - line.trim_start().len();
            let (range, name) = line.trim_start().split_once(" : ")?;
            let (s, e) = range.split_once('-')?;
            let start = u64::from_str_radix(s, 16).ok()?;
            let end = u64::from_str_radix(e, 16).ok()?.checked_add(1)?;
            Some(IomemEntry { depth: indent / 2, name: name.to_string(), start, end })
        })
        .collect()
}

/// The ranges of the top-level entries called `name` (any depth if `top_only` is false).
pub fn named(entries: &[IomemEntry], name: &str, top_only: bool) -> RangeSet {
    RangeSet::from_ranges(
        entries
            .iter()
            .filter(|e| e.name == name && (!top_only || e.depth == 0))
            .map(|e| (e.start, e.end))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const IOMEM: &str = concat!(
        "00000000-00000fff : Reserved\n",
        "00001000-0009fbff : System RAM\n",
        "000f0000-000fffff : Reserved\n",
        "  000f0000-000fffff : System ROM\n",
        "00100000-3ffdffff : System RAM\n",
        "  01000000-01ffffff : Kernel code\n",
        "  37000000-3cffffff : Crash kernel\n",
        "fee00000-fee00fff : Reserved\n",
    );

    #[test]
    fn iomem_parses_depth_names_and_inclusive_ends() {
        let e = parse_iomem(IOMEM);
        assert_eq!(e.len(), 8);
        assert_eq!(e[1], IomemEntry { depth: 0, name: "System RAM".into(), start: 0x1000, end: 0x9fc00 });
        assert_eq!(e[6].depth, 1);
        assert_eq!(e[6].name, "Crash kernel");
    }

    #[test]
    fn named_top_level_only() {
        let e = parse_iomem(IOMEM);
        assert_eq!(named(&e, "System RAM", true).ranges(), &[(0x1000, 0x9fc00), (0x100000, 0x3ffe0000)]);
        assert_eq!(named(&e, "Crash kernel", true).bytes(), 0);
        assert_eq!(named(&e, "Crash kernel", false).bytes(), 0x6000000);
    }

    #[test]
    fn set_merges_and_subtracts() {
        let a = RangeSet::from_ranges(vec![(10, 20), (0, 5), (4, 8), (30, 30)]);
        assert_eq!(a.ranges(), &[(0, 8), (10, 20)]);
        let b = RangeSet::from_ranges(vec![(2, 3), (7, 12), (18, 40)]);
        assert_eq!(a.minus(&b).ranges(), &[(0, 2), (3, 7), (12, 18)]);
        assert_eq!(a.intersect(&b).ranges(), &[(2, 3), (7, 8), (10, 12), (18, 20)]);
        assert_eq!(a.minus(&RangeSet::default()), a);
    }
}

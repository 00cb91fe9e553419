// SPDX-License-Identifier: GPL-2.0

//! The `crashkernel=` boot parameter.
//!
//! Every syntax the stock kernel accepts on x86_64, with the same result for every
//! input, good or bad (the host tests run both parsers over the same strings):
//!
//! * `crashkernel=SIZE[@OFFSET]`
//! * `crashkernel=START-[END]:SIZE[,START-[END]:SIZE...][@OFFSET]`: the size of the
//!   first range that holds the machine's RAM (rounded up to 128 MiB);
//! * `crashkernel=SIZE,high` with an optional `crashkernel=SIZE,low`, used only when
//!   no plain `crashkernel=` is given;
//! * `crashkernel=SIZE,cma`, an extra CMA reservation beside any of the above.
//!
//! Numbers are C integers (decimal, `0x` hex or `0` octal) with an optional
//! K/M/G/T/P/E suffix; one that overflows saturates. Of several `crashkernel=` of a
//! kind, the last one counts. Where the stock parser is lax (text between the size
//! and `@`, an empty `@`), this one is lax in the same way: a command line that
//! boots with a reservation on one kernel boots with the same one on the other.
//!
//! Pure logic: no allocation and no kernel dependency.

use core::fmt;

/// `EINVAL`: a malformed value, or a size of zero or not below the RAM size.
pub const EINVAL: i32 = 22;

const NAME: &[u8] = b"crashkernel=";
const SUFFIX_HIGH: &[u8] = b",high";
const SUFFIX_LOW: &[u8] = b",low";
const SUFFIX_CMA: &[u8] = b",cma";
const SUFFIXES: [&[u8]; 3] = [SUFFIX_HIGH, SUFFIX_LOW, SUFFIX_CMA];
const SZ_128M: u64 = 128 << 20;

/// What a command line asks to reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Request {
    /// Bytes to reserve for the crash kernel; never zero in a parsed request.
    pub size: u64,
    /// A fixed physical base, or 0 to let the kernel choose.
    pub base: u64,
    /// Bytes to reserve below 4 GiB beside a high reservation (`,low`, or the
    /// default the caller passed when `,high` came without `,low`).
    pub low_size: u64,
    /// Bytes of CMA to reserve (`,cma`); 0 for none.
    pub cma_size: u64,
    /// The size came from `crashkernel=SIZE,high`.
    pub high: bool,
}

/// The rule a `crashkernel=` value broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A number was expected at this point.
    NumberExpected,
    /// A number was expected after `@`.
    NumberExpectedAfterAt,
    /// A range's start must be followed by `-`.
    DashExpected,
    /// A range must be followed by `:` and the size.
    ColonExpected,
    /// A range's end must lie above its start.
    EndNotAboveStart,
    /// A size in a range list must be smaller than the RAM (rounded up to 128 MiB).
    RangeSizeTooBig,
    /// Only `@OFFSET`, a known suffix or the end of the value may follow the size.
    UnexpectedChar(u8),
    /// A value that ends in `,high`, `,low` or `,cma` must have that suffix
    /// right after its size, and nothing else.
    SuffixExpected(&'static str),
    /// `crashkernel=SIZE,high` needs a size above zero.
    HighSizeZero,
    /// The size is zero.
    SizeZero,
    /// No range of the list holds the RAM size (rounded up to 128 MiB).
    NoRangeMatches,
    /// The size is not smaller than the RAM.
    SizeNotBelowRam,
}

/// Why a command line gives no reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// There is no `crashkernel=` (nor `crashkernel=SIZE,high`): nothing to
    /// reserve and nothing to report.
    Absent,
    /// A value is malformed or asks for an impossible size (`EINVAL`).
    Invalid {
        /// The broken rule.
        rule: Rule,
        /// Which value broke it: its suffix (`""`, `",high"`, `",low"`).
        kind: &'static str,
    },
}

impl Error {
    /// The errno the stock `parse_crashkernel()` returns for this input: `EINVAL`
    /// in every case, also when there is no value at all (its callers do not tell
    /// the two apart; this parser does, so that only a bad value is logged).
    pub fn errno(&self) -> i32 {
        EINVAL
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::NumberExpected => f.write_str("a size or address was expected"),
            Rule::NumberExpectedAfterAt => f.write_str("an offset was expected after '@'"),
            Rule::DashExpected => f.write_str("'-' expected after a range's start"),
            Rule::ColonExpected => f.write_str("':' expected after a range"),
            Rule::EndNotAboveStart => f.write_str("a range's end must be above its start"),
            Rule::RangeSizeTooBig => f.write_str("a size in the range list is not below the RAM size"),
            Rule::UnexpectedChar(b',') => f.write_str(
                "an unknown suffix after the size (expected '@offset', ',high', ',low', ',cma' or the end)",
            ),
            Rule::UnexpectedChar(c) if c.is_ascii_graphic() => write!(
                f,
                "unexpected '{}' after the size (expected '@offset', ',high', ',low', ',cma' or the end)",
                *c as char
            ),
            Rule::UnexpectedChar(c) => write!(f, "unexpected byte 0x{c:02x} after the size"),
            Rule::SuffixExpected(sfx) => {
                write!(f, "'{sfx}' must follow the size directly, with nothing between or after")
            }
            Rule::HighSizeZero => f.write_str("crashkernel=SIZE,high needs a size above zero"),
            Rule::SizeZero => f.write_str("the size is zero"),
            Rule::NoRangeMatches => {
                f.write_str("no range of the list holds the RAM size (rounded up to 128 MiB)")
            }
            Rule::SizeNotBelowRam => f.write_str("the size is not below the RAM size"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Absent => f.write_str("no crashkernel= on the command line"),
            Error::Invalid { rule, kind } => write!(f, "crashkernel=...{kind}: {rule}"),
        }
    }
}

/// The byte at `i`, or 0 (the C string's terminator) past the end.
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// The command line up to its first NUL, as a C string would be.
fn c_str(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    }
}

fn find(s: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from > s.len() {
        return None;
    }
    s[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn find_byte(s: &[u8], from: usize, b: u8) -> Option<usize> {
    s.get(from..)?
        .iter()
        .position(|&c| c == b)
        .map(|p| p + from)
}

/// A C integer at `s[i..]` as the kernel's `simple_strtoull(s, &end, 0)` reads it:
/// `0x` (followed by a hex digit) for hex, a leading `0` for octal, saturating at
/// `u64::MAX`. Returns the value and the index after it.
fn strtoull(s: &[u8], i: usize) -> (u64, usize) {
    let mut i = i;
    let base: u64 = if at(s, i) == b'0' {
        if at(s, i + 1).eq_ignore_ascii_case(&b'x') && at(s, i + 2).is_ascii_hexdigit() {
            i += 2;
            16
        } else {
            8
        }
    } else {
        10
    };
    let mut value: u64 = 0;
    loop {
        let c = at(s, i);
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' | b'A'..=b'F' => c.to_ascii_lowercase() - b'a' + 10,
            _ => break,
        };
        if u64::from(digit) >= base {
            break;
        }
        value = value.saturating_mul(base).saturating_add(u64::from(digit));
        i += 1;
    }
    (value, i)
}

/// A size as the kernel's `memparse()` reads it: a C integer and an optional
/// K/M/G/T/P/E suffix (either case); a shift that overflows saturates. Returns the
/// value and the index after it; the index is `i` when there was no number.
pub fn memparse(s: &[u8], i: usize) -> (u64, usize) {
    let (value, end) = strtoull(s, i);
    let shift = match at(s, end).to_ascii_uppercase() {
        b'E' => 60,
        b'P' => 50,
        b'T' => 40,
        b'G' => 30,
        b'M' => 20,
        b'K' => 10,
        _ => 0,
    };
    if shift == 0 || end == i {
        return (value, end);
    }
    let shifted = if value.leading_zeros() >= shift {
        value << shift
    } else {
        u64::MAX
    };
    (shifted, end + 1)
}

/// The position just after `crashkernel=` of the last value of the kind looked
/// for: with no suffix, the last one that does not end in a known suffix; with a
/// suffix, the last one that ends in it. A value runs to the next space. As in the
/// stock kernel, `crashkernel=` is found anywhere, even inside another word.
fn last_value(cmdline: &[u8], suffix: Option<&[u8]>) -> Option<usize> {
    let mut found = None;
    let mut p = find(cmdline, 0, NAME);
    while let Some(start) = p {
        let end = find_byte(cmdline, start, b' ').unwrap_or(cmdline.len());
        let word = &cmdline[start..end];
        let take = match suffix {
            None => !SUFFIXES.iter().any(|sfx| word.ends_with(sfx)),
            Some(sfx) => word.ends_with(sfx),
        };
        if take {
            found = Some(start + NAME.len());
        }
        p = find(cmdline, start + 1, NAME);
    }
    found
}

/// What one `crashkernel=` value gave: the size and base written so far (the
/// stock parser writes them before it checks what follows, and the caller looks
/// at them even after an error) and the result.
struct Parsed {
    size: u64,
    base: u64,
    result: Result<(), Rule>,
    /// A range list none of whose ranges holds the RAM size.
    no_range_matched: bool,
}

impl Parsed {
    fn new() -> Self {
        Parsed {
            size: 0,
            base: 0,
            result: Ok(()),
            no_range_matched: false,
        }
    }

    fn fail(mut self, rule: Rule) -> Self {
        self.result = Err(rule);
        self
    }
}

/// `START-[END]:SIZE[,...][@OFFSET]` at `s[i..]`.
fn parse_ranges(s: &[u8], i: usize, system_ram: u64) -> Parsed {
    let mut out = Parsed::new();
    out.no_range_matched = true;
    let total = system_ram.div_ceil(SZ_128M).wrapping_mul(SZ_128M);
    let mut cur = i;
    loop {
        let (start, next) = memparse(s, cur);
        if next == cur {
            return out.fail(Rule::NumberExpected);
        }
        cur = next;
        if at(s, cur) != b'-' {
            return out.fail(Rule::DashExpected);
        }
        cur += 1;
        let mut end = u64::MAX;
        if at(s, cur) != b':' {
            let (e, next) = memparse(s, cur);
            if next == cur {
                return out.fail(Rule::NumberExpected);
            }
            cur = next;
            if e <= start {
                return out.fail(Rule::EndNotAboveStart);
            }
            end = e;
        }
        if at(s, cur) != b':' {
            return out.fail(Rule::ColonExpected);
        }
        cur += 1;
        let (size, next) = memparse(s, cur);
        if next == cur {
            return out.fail(Rule::NumberExpected);
        }
        cur = next;
        if size >= total {
            return out.fail(Rule::RangeSizeTooBig);
        }
        if total >= start && total < end {
            out.size = size;
            out.no_range_matched = false;
            break;
        }
        let sep = at(s, cur);
        cur += 1;
        if sep != b',' {
            break;
        }
    }
    if out.size > 0 {
        // Whatever follows the matching entry up to '@' or the end of the word is
        // skipped, unchecked, as the stock parser does.
        while !matches!(at(s, cur), 0 | b' ' | b'@') {
            cur += 1;
        }
        if at(s, cur) == b'@' {
            cur += 1;
            let (base, next) = memparse(s, cur);
            out.base = base;
            if next == cur {
                return out.fail(Rule::NumberExpectedAfterAt);
            }
        }
    }
    out
}

/// `SIZE[@OFFSET]` at `s[i..]`.
fn parse_simple(s: &[u8], i: usize) -> Parsed {
    let mut out = Parsed::new();
    let (size, cur) = memparse(s, i);
    out.size = size;
    if cur == i {
        return out.fail(Rule::NumberExpected);
    }
    match at(s, cur) {
        // An empty offset reads as 0 and what follows it is not looked at: lax,
        // but it is what the stock kernel accepts.
        b'@' => out.base = memparse(s, cur + 1).0,
        0 | b' ' => {}
        c => return out.fail(Rule::UnexpectedChar(c)),
    }
    out
}

/// `SIZE` followed by exactly `suffix` at `s[i..]`.
fn parse_suffixed(s: &[u8], i: usize, suffix: &[u8]) -> Parsed {
    let mut out = Parsed::new();
    let (size, cur) = memparse(s, i);
    out.size = size;
    if cur == i {
        return out.fail(Rule::NumberExpected);
    }
    let rule = Rule::SuffixExpected(match suffix {
        SUFFIX_HIGH => ",high",
        SUFFIX_LOW => ",low",
        _ => ",cma",
    });
    if !s[cur..].starts_with(suffix) {
        return out.fail(rule);
    }
    match at(s, cur + suffix.len()) {
        0 | b' ' => out,
        _ => out.fail(rule),
    }
}

/// The last value of a kind: `None` if there is none.
fn parse_kind(cmdline: &[u8], system_ram: u64, suffix: Option<&[u8]>) -> Option<Parsed> {
    let start = last_value(cmdline, suffix)?;
    Some(match suffix {
        Some(sfx) => parse_suffixed(cmdline, start, sfx),
        None => {
            // A ':' before the value's end makes it a range list.
            let colon = find_byte(cmdline, start, b':');
            let space = find_byte(cmdline, start, b' ');
            match (colon, space) {
                (Some(c), Some(sp)) if c < sp => parse_ranges(cmdline, start, system_ram),
                (Some(_), None) => parse_ranges(cmdline, start, system_ram),
                _ => parse_simple(cmdline, start),
            }
        }
    })
}

fn invalid(rule: Rule, kind: &'static str) -> Error {
    Error::Invalid { rule, kind }
}

/// Parses the `crashkernel=` values of `cmdline` for a machine with `system_ram`
/// bytes of RAM. `default_low` is the low reservation that goes with `,high` when
/// no `,low` is given.
///
/// Returns what to reserve; the errors are those of the stock parser, in the same
/// cases, with the rule that was broken.
pub fn parse(cmdline: &[u8], system_ram: u64, default_low: u64) -> Result<Request, Error> {
    let cmdline = c_str(cmdline);
    let mut req = Request::default();
    // Which value the size came from, and whether it was a range list that
    // held no range for this RAM size: for the size checks' message.
    let mut kind = "";
    let mut no_range_matched = false;
    let mut result: Result<(), Error> = match parse_kind(cmdline, system_ram, None) {
        None => Err(Error::Absent),
        Some(p) => {
            req.size = p.size;
            req.base = p.base;
            no_range_matched = p.no_range_matched;
            p.result.map_err(|r| invalid(r, ""))
        }
    };

    if result == Err(Error::Absent) {
        // No plain value: look for SIZE,high and an optional SIZE,low.
        let high = parse_kind(cmdline, 0, Some(SUFFIX_HIGH));
        let Some(high) = high else {
            return Err(Error::Absent);
        };
        req.size = high.size;
        high.result.map_err(|r| invalid(r, ",high"))?;
        if req.size == 0 {
            return Err(invalid(Rule::HighSizeZero, ",high"));
        }
        match parse_kind(cmdline, 0, Some(SUFFIX_LOW)) {
            None => req.low_size = default_low,
            Some(low) => {
                req.low_size = low.size;
                low.result.map_err(|r| invalid(r, ",low"))?;
            }
        }
        req.high = true;
        kind = ",high";
        result = Ok(());
    }

    // The CMA size is taken as parsed, even from a malformed value.
    if let Some(cma) = parse_kind(cmdline, 0, Some(SUFFIX_CMA)) {
        req.cma_size = cma.size;
    }

    // A malformed value keeps its own rule over the size checks.
    if result.is_ok() {
        if req.size == 0 && no_range_matched {
            result = Err(invalid(Rule::NoRangeMatches, kind));
        } else if req.size == 0 {
            result = Err(invalid(Rule::SizeZero, kind));
        } else if req.size >= system_ram {
            result = Err(invalid(Rule::SizeNotBelowRam, kind));
        }
    }
    result.map(|()| req)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u64 = 1 << 20;
    const G: u64 = 1 << 30;

    #[test]
    fn memparse_matches_the_kernel() {
        assert_eq!(memparse(b"64M", 0), (64 * M, 3));
        assert_eq!(memparse(b"0x10k", 0), (16 << 10, 5));
        assert_eq!(memparse(b"010", 0), (8, 3));
        assert_eq!(memparse(b"09", 0), (0, 1));
        assert_eq!(memparse(b"0x", 0), (0, 1));
        assert_eq!(memparse(b"M", 0), (0, 0));
        assert_eq!(memparse(b"16E", 0), (u64::MAX, 3));
        assert_eq!(memparse(b"99999999999999999999999", 0).0, u64::MAX);
    }

    #[test]
    fn simple_and_ranges() {
        let r = parse(b"crashkernel=96M", G, 256 * M).unwrap();
        assert_eq!((r.size, r.base, r.high), (96 * M, 0, false));
        let r = parse(b"crashkernel=512M-2G:64M,2G-:128M@16M", G, 0).unwrap();
        assert_eq!((r.size, r.base), (64 * M, 16 * M));
        assert_eq!(parse(b"quiet", G, 0), Err(Error::Absent));
        assert_eq!(
            parse(b"crashkernel=64Mx", G, 0).unwrap_err().errno(),
            EINVAL
        );
    }

    #[test]
    fn high_and_low() {
        let r = parse(b"crashkernel=256M,high", 8 * G, 200 * M).unwrap();
        assert_eq!((r.size, r.low_size, r.high), (256 * M, 200 * M, true));
        let r = parse(b"crashkernel=256M,high crashkernel=64M,low", 8 * G, 200 * M).unwrap();
        assert_eq!(r.low_size, 64 * M);
        // A plain value wins over ,high.
        let r = parse(b"crashkernel=256M,high crashkernel=96M", 8 * G, 200 * M).unwrap();
        assert_eq!((r.size, r.high), (96 * M, false));
    }
}

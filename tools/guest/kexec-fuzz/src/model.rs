// SPDX-License-Identifier: GPL-2.0

//! What the kernel's state must be after a call, given the state before and the
//! call's answer. The rules are the stock C kernel's (kernel/kexec.c,
//! kernel/kexec_file.c, kernel/crash_core.c, kernel/ksysfs.c, lib/kstrtox.c);
//! the only documented difference of ours is allowed where it applies (a
//! `kexec_crash_size` write whose rounding overflows).
//!
//! Pure logic: host tests cover it.

/// `PAGE_SIZE` and `KEXEC_CRASH_MEM_ALIGN` on x86_64.
pub const PAGE: u64 = 4096;

pub const ENOENT: i32 = 2;
pub const ENOMEM: i32 = 12;
pub const EBUSY: i32 = 16;
pub const EINVAL: i32 = 22;

/// The three values of /sys/kernel that the fuzzer watches; `None` when the read
/// failed (`kexec_crash_size` answers EBUSY while another thread holds the kexec
/// lock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct State {
    pub loaded: Option<u64>,
    pub crash_loaded: Option<u64>,
    pub crash_size: Option<u64>,
}

impl State {
    pub fn show(v: Option<u64>) -> String {
        v.map_or("?".into(), |v| v.to_string())
    }
}

/// What a call may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// kexec_load or kexec_file_load of the normal (`crash == false`) or crash
    /// image; `unload`: nr_segments 0 or KEXEC_FILE_UNLOAD.
    Load { crash: bool, unload: bool },
    /// A write of these bytes to /sys/kernel/kexec_crash_size.
    CrashSize { bytes: Vec<u8> },
    /// A write to a sysctl that must be refused (the fuzzer only writes values
    /// the kernel must refuse there), or accepted without effect when empty.
    RefusedSysctl { empty: bool },
}

/// The answer of a call: its return value and errno (0 on success).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    pub ret: i64,
    pub errno: i32,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.ret >= 0
    }
}

/// `kstrtoull(s, 0, &v)` as lib/kstrtox.c does it, on the bytes a sysfs store
/// sees (the write, cut at its first NUL). `None` where the kernel refuses
/// (EINVAL or ERANGE, both EINVAL for `kexec_crash_size`).
pub fn kstrtoull(bytes: &[u8]) -> Option<u64> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let mut s = &bytes[..end];
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    if at(s, 0) == b'+' {
        s = &s[1..];
    }
    // _parse_integer_fixup_radix with base 0.
    let base: u64 = if at(s, 0) == b'0' {
        if at(s, 1) | 0x20 == b'x' && at(s, 2).is_ascii_hexdigit() {
            s = &s[2..];
            16
        } else {
            8
        }
    } else {
        10
    };
    // _parse_integer_limit: consumes digits until one is not valid in the base.
    let mut res: u64 = 0;
    let mut overflow = false;
    let mut n = 0;
    for &c in s {
        let lc = c | 0x20;
        let val = if c.is_ascii_digit() {
            (c - b'0') as u64
        } else if (b'a'..=b'f').contains(&lc) {
            (lc - b'a' + 10) as u64
        } else {
            break;
        };
        if val >= base {
            break;
        }
        match res.checked_mul(base).and_then(|r| r.checked_add(val)) {
            Some(r) => res = r,
            None => {
                res = u64::MAX;
                overflow = true;
            }
        }
        n += 1;
    }
    if overflow || n == 0 {
        return None;
    }
    let mut rest = &s[n..];
    if rest.first() == Some(&b'\n') {
        rest = &rest[1..];
    }
    if !rest.is_empty() {
        return None;
    }
    Some(res)
}

/// The stock kernel's `roundup(v, KEXEC_CRASH_MEM_ALIGN)` on an unsigned long:
/// it wraps to 0 for the last 4095 values below 2^64.
pub fn roundup_wrapping(v: u64) -> u64 {
    (v.wrapping_add(PAGE - 1) / PAGE) * PAGE
}

/// Whether writing `bytes` to kexec_crash_size would shrink a reservation of
/// `cur` bytes on the stock kernel (what the fuzzer avoids outside its final
/// phase, and always in replay).
pub fn is_shrink(bytes: &[u8], cur: u64) -> bool {
    !bytes.is_empty() && kstrtoull(bytes).is_some_and(|v| roundup_wrapping(v) < cur)
}

/// Checks one call in a single-threaded run: `pre` was read just before it,
/// `post` just after. Returns a description of the mismatch.
pub fn check_single(pre: &State, post: &State, effect: &Effect, a: Answer) -> Result<(), String> {
    if post.loaded.is_none() || post.crash_loaded.is_none() || post.crash_size.is_none() {
        return Err("a /sys/kernel/kexec_* file could not be read with one thread running".into());
    }
    if a.errno == EBUSY {
        return Err("EBUSY with one thread running: the kexec lock is held by nobody".into());
    }
    if a.ok() && a.errno != 0 || !a.ok() && a.errno == 0 {
        return Err(format!("return value {} with errno {}", a.ret, a.errno));
    }
    let same = |what: &str, x: Option<u64>, y: Option<u64>| {
        if x == y {
            Ok(())
        } else {
            Err(format!("{what} changed from {} to {}", State::show(x), State::show(y)))
        }
    };
    match effect {
        Effect::Load { crash, unload } => {
            if a.ok() && a.ret != 0 {
                return Err(format!("a load returned {} instead of 0", a.ret));
            }
            same("kexec_crash_size", pre.crash_size, post.crash_size)?;
            let (mine, theirs, pre_mine, pre_theirs, name, other) = if *crash {
                (post.crash_loaded, post.loaded, pre.crash_loaded, pre.loaded, "kexec_crash_loaded", "kexec_loaded")
            } else {
                (post.loaded, post.crash_loaded, pre.loaded, pre.crash_loaded, "kexec_loaded", "kexec_crash_loaded")
            };
            same(other, pre_theirs, theirs)?;
            if a.ok() {
                let want = if *unload { 0 } else { 1 };
                if mine != Some(want) {
                    return Err(format!(
                        "{name} is {} after a successful {}, expected {want}",
                        State::show(mine),
                        if *unload { "unload" } else { "load" }
                    ));
                }
            } else if mine != pre_mine && !(*crash && mine == Some(0)) {
                // A failed crash load may have dropped the old crash image (the
                // stock kernel frees it before loading the new one).
                return Err(format!(
                    "{name} changed from {} to {} although the call failed",
                    State::show(pre_mine),
                    State::show(mine)
                ));
            }
            Ok(())
        }
        Effect::CrashSize { bytes } => {
            same("kexec_loaded", pre.loaded, post.loaded)?;
            same("kexec_crash_loaded", pre.crash_loaded, post.crash_loaded)?;
            let cur = pre.crash_size.unwrap_or(0);
            let new = post.crash_size.unwrap_or(0);
            if bytes.is_empty() {
                // sysfs answers an empty write with 0 without calling the store.
                if a.ret != 0 {
                    return Err(format!("an empty write returned {}", a.ret));
                }
                return same("kexec_crash_size", pre.crash_size, post.crash_size);
            }
            let expect_err = |e: i32, why: &str| -> Result<(), String> {
                if a.ok() || a.errno != e {
                    return Err(format!(
                        "expected {} ({why}), got ret={} errno={}",
                        crate::errno_name(e),
                        a.ret,
                        crate::errno_name(a.errno)
                    ));
                }
                same("kexec_crash_size", pre.crash_size, post.crash_size)
            };
            let Some(v) = kstrtoull(bytes) else {
                return expect_err(EINVAL, "not a number for kstrtoul");
            };
            if pre.crash_loaded == Some(1) {
                return expect_err(ENOENT, "a crash image is loaded");
            }
            let eff = roundup_wrapping(v);
            if a.ok() && a.ret != bytes.len().min(PAGE as usize) as i64 {
                return Err(format!("a successful write of {} bytes returned {}", bytes.len(), a.ret));
            }
            if v.checked_next_multiple_of(PAGE).is_none() {
                // Documented difference: ours refuses a size whose rounding
                // overflows, the stock kernel wraps it to 0 and frees it all.
                return match (a.ok(), a.errno) {
                    (true, _) if new == 0 => Ok(()),
                    (false, EINVAL) if new == cur => Ok(()),
                    _ => Err(format!("size {v} rounds past 2^64: expected success with size 0 or EINVAL, got ret={} errno={} size {new}",
                        a.ret, crate::errno_name(a.errno))),
                };
            }
            if eff > cur {
                return expect_err(EINVAL, "larger than the reservation");
            }
            if !a.ok() {
                if a.errno == ENOMEM && new == cur {
                    return Ok(());
                }
                return Err(format!("size {v} (rounded {eff}) <= {cur} refused with {}", crate::errno_name(a.errno)));
            }
            if new != eff {
                return Err(format!("wrote {v} (rounded {eff}) to a reservation of {cur}: size is now {new}"));
            }
            Ok(())
        }
        Effect::RefusedSysctl { empty } => {
            same("kexec_loaded", pre.loaded, post.loaded)?;
            same("kexec_crash_loaded", pre.crash_loaded, post.crash_loaded)?;
            same("kexec_crash_size", pre.crash_size, post.crash_size)?;
            match (*empty, a.ok(), a.errno) {
                (true, true, _) if a.ret == 0 => Ok(()),
                (false, false, EINVAL) => Ok(()),
                _ => Err(format!(
                    "expected {}, got ret={} errno={}",
                    if *empty { "0" } else { "EINVAL" },
                    a.ret,
                    crate::errno_name(a.errno)
                )),
            }
        }
    }
}

/// The checks that hold with several threads calling at once: every value
/// reads as 0 or 1, and the reservation never grows (`last_size` is this
/// thread's previous reading); before any thread may shrink it, it keeps its
/// size (`fixed`).
pub fn check_concurrent(post: &State, last_size: Option<u64>, fixed: Option<u64>, a: Answer) -> Result<(), String> {
    for (name, v) in [("kexec_loaded", post.loaded), ("kexec_crash_loaded", post.crash_loaded)] {
        match v {
            Some(0) | Some(1) => {}
            other => return Err(format!("{name} reads {}", State::show(other))),
        }
    }
    if a.ok() && a.errno != 0 || !a.ok() && a.errno == 0 {
        return Err(format!("return value {} with errno {}", a.ret, a.errno));
    }
    if let Some(size) = post.crash_size {
        if let Some(last) = last_size {
            if size > last {
                return Err(format!("kexec_crash_size grew from {last} to {size}"));
            }
        }
        if let Some(f) = fixed {
            if size != f {
                return Err(format!("kexec_crash_size is {size}, expected {f}: nobody may shrink it yet"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(l: u64, c: u64, s: u64) -> State {
        State { loaded: Some(l), crash_loaded: Some(c), crash_size: Some(s) }
    }
    const OK: Answer = Answer { ret: 0, errno: 0 };
    fn err(e: i32) -> Answer {
        Answer { ret: -1, errno: e }
    }

    #[test]
    fn kstrtoull_matches_the_kernel() {
        assert_eq!(kstrtoull(b"0"), Some(0));
        assert_eq!(kstrtoull(b"123\n"), Some(123));
        assert_eq!(kstrtoull(b"+123"), Some(123));
        assert_eq!(kstrtoull(b"123\n\n"), None);
        assert_eq!(kstrtoull(b"-1"), None);
        assert_eq!(kstrtoull(b" 1"), None);
        assert_eq!(kstrtoull(b""), None);
        assert_eq!(kstrtoull(b"+"), None);
        assert_eq!(kstrtoull(b"0x10"), Some(16));
        assert_eq!(kstrtoull(b"0X1f"), Some(31));
        assert_eq!(kstrtoull(b"0x"), None);
        assert_eq!(kstrtoull(b"0xg"), None);
        assert_eq!(kstrtoull(b"010"), Some(8));
        assert_eq!(kstrtoull(b"08"), None);
        assert_eq!(kstrtoull(b"1a"), None);
        assert_eq!(kstrtoull(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(kstrtoull(b"18446744073709551616"), None);
        assert_eq!(kstrtoull(b"0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(kstrtoull(b"0x10000000000000000"), None);
        assert_eq!(kstrtoull(b"42\0junk"), Some(42));
        assert_eq!(kstrtoull(b"\0"), None);
        assert_eq!(kstrtoull(b"1 "), None);
    }

    #[test]
    fn rounding_wraps_like_c() {
        assert_eq!(roundup_wrapping(0), 0);
        assert_eq!(roundup_wrapping(1), PAGE);
        assert_eq!(roundup_wrapping(PAGE), PAGE);
        assert_eq!(roundup_wrapping(u64::MAX - PAGE + 1), u64::MAX - PAGE + 1);
        assert_eq!(roundup_wrapping(u64::MAX - PAGE + 2), 0);
        assert_eq!(roundup_wrapping(u64::MAX), 0);
        let cur = 96 << 20;
        assert!(!is_shrink(b"100663296", cur));
        assert!(!is_shrink(b"100659201", cur));
        assert!(is_shrink(b"100659200", cur));
        assert!(is_shrink(b"18446744073709551615", cur));
        assert!(!is_shrink(b"18446744073709547520", cur));
        assert!(!is_shrink(b"junk", cur));
        assert!(!is_shrink(b"", cur));
    }

    #[test]
    fn loads() {
        let eff = Effect::Load { crash: false, unload: false };
        assert!(check_single(&st(0, 0, 8), &st(1, 0, 8), &eff, OK).is_ok());
        assert!(check_single(&st(0, 0, 8), &st(0, 0, 8), &eff, OK).is_err());
        assert!(check_single(&st(1, 0, 8), &st(1, 0, 8), &eff, err(EINVAL)).is_ok());
        assert!(check_single(&st(1, 0, 8), &st(0, 0, 8), &eff, err(EINVAL)).is_err());
        assert!(check_single(&st(0, 1, 8), &st(1, 0, 8), &eff, OK).is_err());
        assert!(check_single(&st(0, 0, 8), &st(1, 0, 4), &eff, OK).is_err());
        assert!(check_single(&st(0, 0, 8), &st(0, 0, 8), &eff, err(EBUSY)).is_err());
        let unload = Effect::Load { crash: false, unload: true };
        assert!(check_single(&st(1, 0, 8), &st(0, 0, 8), &unload, OK).is_ok());
        let crash = Effect::Load { crash: true, unload: false };
        assert!(check_single(&st(0, 1, 8), &st(0, 0, 8), &crash, err(EINVAL)).is_ok());
        assert!(check_single(&st(0, 1, 8), &st(0, 1, 8), &crash, err(EINVAL)).is_ok());
        assert!(check_single(&st(0, 0, 8), &st(0, 1, 8), &crash, err(EINVAL)).is_err());
        assert!(check_single(&st(0, 0, 8), &st(0, 1, 8), &crash, OK).is_ok());
        assert!(check_single(&st(1, 0, 8), &st(0, 1, 8), &crash, OK).is_err());
    }

    #[test]
    fn crash_size_writes() {
        let w = |s: &[u8]| Effect::CrashSize { bytes: s.to_vec() };
        let cur = 96 << 20;
        let n = |s: &str| Answer { ret: s.len() as i64, errno: 0 };
        assert!(check_single(&st(0, 0, cur), &st(0, 0, cur), &w(b"junk"), err(EINVAL)).is_ok());
        assert!(check_single(&st(0, 0, cur), &st(0, 0, cur), &w(b"100663296"), n("100663296")).is_ok());
        assert!(check_single(&st(0, 0, cur), &st(0, 0, cur), &w(b"100663297"), err(EINVAL)).is_ok());
        assert!(check_single(&st(0, 0, cur), &st(0, 0, 4096), &w(b"1\n"), n("1\n")).is_ok());
        assert!(check_single(&st(0, 0, cur), &st(0, 0, 8192), &w(b"1\n"), n("1\n")).is_err());
        assert!(check_single(&st(0, 1, cur), &st(0, 1, cur), &w(b"1"), err(ENOENT)).is_ok());
        assert!(check_single(&st(0, 1, cur), &st(0, 1, 4096), &w(b"1"), n("1")).is_err());
        // Rounding past 2^64: stock frees it all, ours refuses.
        let max = b"18446744073709551615";
        assert!(check_single(&st(0, 0, cur), &st(0, 0, 0), &w(max), n("18446744073709551615")).is_ok());
        assert!(check_single(&st(0, 0, cur), &st(0, 0, cur), &w(max), err(EINVAL)).is_ok());
        assert!(check_single(&st(0, 0, cur), &st(0, 0, 4096), &w(max), n("18446744073709551615")).is_err());
        assert!(check_single(&st(0, 0, cur), &st(0, 0, cur), &w(b""), OK).is_ok());
    }

    #[test]
    fn refused_sysctls_and_concurrency() {
        let e = Effect::RefusedSysctl { empty: false };
        assert!(check_single(&st(0, 0, 8), &st(0, 0, 8), &e, err(EINVAL)).is_ok());
        assert!(check_single(&st(0, 0, 8), &st(0, 0, 8), &e, Answer { ret: 2, errno: 0 }).is_err());
        let s = st(1, 0, 8);
        assert!(check_concurrent(&s, Some(8), Some(8), OK).is_ok());
        assert!(check_concurrent(&s, Some(4), None, OK).is_err());
        assert!(check_concurrent(&st(2, 0, 8), None, None, OK).is_err());
        let unread = State { crash_size: None, ..s };
        assert!(check_concurrent(&unread, Some(4), Some(4), err(EBUSY)).is_ok());
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The arguments of kexec_load(2): flags, segment count, architecture and the raw
//! segment records, checked in the order the C implementation checks them.
//!
//! Pure logic: the kernel side copies the segment records from userspace into a
//! fixed buffer and hands the bytes to [`decode_segments`].

use crate::segment::{Segment, EADDRNOTAVAIL, EINVAL};
use core::fmt;

/// Load a crash (kdump) kernel.
pub const KEXEC_ON_CRASH: u64 = 0x1;
/// Return to this kernel after the new one ran (KEXEC_JUMP).
pub const KEXEC_PRESERVE_CONTEXT: u64 = 0x2;
/// The elfcorehdr of a crash image may be updated after the load.
pub const KEXEC_UPDATE_ELFCOREHDR: u64 = 0x4;
/// Userspace supports crash hotplug.
pub const KEXEC_CRASH_HOTPLUG_SUPPORT: u64 = 0x8;
/// The bits that name an architecture.
pub const KEXEC_ARCH_MASK: u64 = 0xffff_0000;
/// "Whatever this kernel runs on".
pub const KEXEC_ARCH_DEFAULT: u64 = 0;
/// x86_64 (`EM_X86_64 << 16`).
pub const KEXEC_ARCH_X86_64: u64 = 62 << 16;
/// arm64 (`EM_AARCH64 << 16`).
pub const KEXEC_ARCH_AARCH64: u64 = 183 << 16;
/// The architecture this code is built for (`KEXEC_ARCH`).
#[cfg(target_arch = "aarch64")]
pub const KEXEC_ARCH_NATIVE: u64 = KEXEC_ARCH_AARCH64;
/// The architecture this code is built for (`KEXEC_ARCH`).
#[cfg(not(target_arch = "aarch64"))]
pub const KEXEC_ARCH_NATIVE: u64 = KEXEC_ARCH_X86_64;
/// The most segments one load may carry.
pub const KEXEC_SEGMENT_MAX: usize = 16;
/// Bytes of one native `struct kexec_segment`.
pub const SEGMENT_BYTES: usize = 32;
/// Bytes of one `struct compat_kexec_segment`.
pub const COMPAT_SEGMENT_BYTES: usize = 16;

/// The flags this kernel accepts (`KEXEC_FLAGS`): `preserve_context` only with
/// KEXEC_JUMP.
pub const fn accepted_flags(preserve_context: bool) -> u64 {
    KEXEC_ON_CRASH
        | KEXEC_UPDATE_ELFCOREHDR
        | KEXEC_CRASH_HOTPLUG_SUPPORT
        | if preserve_context {
            KEXEC_PRESERVE_CONTEXT
        } else {
            0
        }
}

/// Why the arguments were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// Flag bits outside the architecture mask that this kernel does not know.
    UnknownFlags {
        /// The unknown bits.
        flags: u64,
    },
    /// More than [`KEXEC_SEGMENT_MAX`] segments.
    TooManySegments {
        /// The count asked for.
        count: u64,
    },
    /// An architecture other than this kernel's (or, for a 32-bit caller, none).
    ForeignArch {
        /// The architecture bits of the flags.
        arch: u64,
    },
    /// A crash image's entry point outside the crash kernel reservation.
    CrashEntryOutside {
        /// The entry point.
        entry: u64,
        /// First byte of the reservation.
        start: u64,
        /// Last byte of the reservation.
        end: u64,
    },
}

impl RequestError {
    /// The (positive) errno the C implementation returns.
    pub fn errno(&self) -> i32 {
        match self {
            RequestError::CrashEntryOutside { .. } => EADDRNOTAVAIL,
            _ => EINVAL,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RequestError::UnknownFlags { flags } if flags == KEXEC_PRESERVE_CONTEXT => {
                write!(f, "KEXEC_PRESERVE_CONTEXT needs a kernel built with CONFIG_KEXEC_JUMP")
            }
            RequestError::UnknownFlags { flags } => write!(f, "unknown flags {flags:#x}"),
            RequestError::TooManySegments { count } => {
                write!(f, "{count} segments, at most {KEXEC_SEGMENT_MAX} allowed")
            }
            RequestError::ForeignArch { arch } if arch == KEXEC_ARCH_DEFAULT => {
                write!(f, "a 32-bit caller must name the architecture")
            }
            RequestError::ForeignArch { arch } => {
                write!(f, "image is for architecture {:#x}, not this one", arch >> 16)
            }
            RequestError::CrashEntryOutside { entry, start, end } => write!(
                f,
                "crash image entry {entry:#x} is outside the crash kernel reservation {start:#x}-{end:#x}"
            ),
        }
    }
}

/// The flag bits kexec_load(2) looks at, besides the architecture: the low 16.
/// The C check masks with `~KEXEC_ARCH_MASK`, computed in a 32-bit `unsigned
/// int` and then widened, so bits 32-63 of a 64-bit caller's flags are
/// ignored, not refused.
pub const FLAG_BITS: u64 = (!(KEXEC_ARCH_MASK as u32)) as u64;

/// The flag and count rules, checked after the permission checks.
pub fn check_flags_and_count(count: u64, flags: u64, accepted: u64) -> Result<(), RequestError> {
    let unknown = flags & FLAG_BITS & !accepted;
    if unknown != 0 {
        return Err(RequestError::UnknownFlags { flags: unknown });
    }
    if count > KEXEC_SEGMENT_MAX as u64 {
        return Err(RequestError::TooManySegments { count });
    }
    Ok(())
}

/// The architecture rule: a native caller may say "default" or this kernel's
/// architecture. A 32-bit (compat) caller must name an architecture, and, as in
/// the C implementation, any named one passes: only "default" is refused.
pub fn check_arch(flags: u64, native: u64, compat: bool) -> Result<(), RequestError> {
    let arch = flags & KEXEC_ARCH_MASK;
    let ok = if compat {
        arch != KEXEC_ARCH_DEFAULT
    } else {
        arch == native || arch == KEXEC_ARCH_DEFAULT
    };
    if ok {
        Ok(())
    } else {
        Err(RequestError::ForeignArch { arch })
    }
}

/// A crash image's entry point must lie inside the reservation `[start, end]`.
pub fn check_crash_entry(entry: u64, start: u64, end: u64) -> Result<(), RequestError> {
    if entry < start || entry > end {
        Err(RequestError::CrashEntryOutside { entry, start, end })
    } else {
        Ok(())
    }
}

fn le(bytes: &[u8], at: usize, width: usize) -> u64 {
    let mut v = 0u64;
    for (i, b) in bytes[at..at + width].iter().enumerate() {
        v |= (*b as u64) << (8 * i);
    }
    v
}

/// Decodes `out.len()` segment records from `bytes` (native or compat layout).
/// `bytes` must hold exactly that many records.
pub fn decode_segments(bytes: &[u8], out: &mut [Segment], compat: bool) {
    let (size, width) = if compat {
        (COMPAT_SEGMENT_BYTES, 4)
    } else {
        (SEGMENT_BYTES, 8)
    };
    for (i, s) in out.iter_mut().enumerate() {
        let at = i * size;
        *s = Segment {
            buf: le(bytes, at, width),
            bufsz: le(bytes, at + width, width),
            mem: le(bytes, at + 2 * width, width),
            memsz: le(bytes, at + 3 * width, width),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_flags_and_arch_bits_pass() {
        let acc = accepted_flags(false);
        assert_eq!(
            check_flags_and_count(1, KEXEC_ON_CRASH | KEXEC_ARCH_X86_64, acc),
            Ok(())
        );
        assert_eq!(
            check_flags_and_count(
                16,
                KEXEC_UPDATE_ELFCOREHDR | KEXEC_CRASH_HOTPLUG_SUPPORT,
                acc
            ),
            Ok(())
        );
        assert_eq!(check_flags_and_count(0, 0, acc), Ok(()));
    }

    #[test]
    fn unknown_flags_are_einval() {
        let e = check_flags_and_count(1, 0x10 | KEXEC_ON_CRASH, accepted_flags(false)).unwrap_err();
        assert_eq!(e, RequestError::UnknownFlags { flags: 0x10 });
        assert_eq!(e.errno(), EINVAL);
    }

    #[test]
    fn preserve_context_needs_kexec_jump() {
        assert!(check_flags_and_count(1, KEXEC_PRESERVE_CONTEXT, accepted_flags(false)).is_err());
        assert!(check_flags_and_count(1, KEXEC_PRESERVE_CONTEXT, accepted_flags(true)).is_ok());
    }

    #[test]
    fn flag_bits_above_31_are_ignored_as_in_c() {
        assert_eq!(FLAG_BITS, 0xffff);
        let acc = accepted_flags(false);
        assert_eq!(check_flags_and_count(1, 1 << 32, acc), Ok(()));
        assert_eq!(
            check_flags_and_count(1, 1 << 63 | KEXEC_ON_CRASH, acc),
            Ok(())
        );
        assert_eq!(
            check_flags_and_count(1, 1 << 40 | 0x10, acc),
            Err(RequestError::UnknownFlags { flags: 0x10 })
        );
        // Nor do they name an architecture.
        assert_eq!(check_arch(1 << 48, KEXEC_ARCH_X86_64, false), Ok(()));
    }

    #[test]
    fn flags_are_checked_before_the_count() {
        let e = check_flags_and_count(17, 0x40, accepted_flags(false)).unwrap_err();
        assert_eq!(e, RequestError::UnknownFlags { flags: 0x40 });
    }

    #[test]
    fn more_than_16_segments_are_einval() {
        assert_eq!(
            check_flags_and_count(17, 0, accepted_flags(false)),
            Err(RequestError::TooManySegments { count: 17 })
        );
        assert!(check_flags_and_count(u64::MAX, 0, accepted_flags(false)).is_err());
    }

    #[test]
    fn arch_rules_native_and_compat() {
        assert!(check_arch(0, KEXEC_ARCH_X86_64, false).is_ok());
        assert!(check_arch(KEXEC_ARCH_X86_64, KEXEC_ARCH_X86_64, false).is_ok());
        assert_eq!(
            check_arch(3 << 16, KEXEC_ARCH_X86_64, false),
            Err(RequestError::ForeignArch { arch: 3 << 16 })
        );
        assert!(check_arch(0, KEXEC_ARCH_X86_64, true).is_err());
        assert!(check_arch(KEXEC_ARCH_X86_64, KEXEC_ARCH_X86_64, true).is_ok());
        // C's compat entry point refuses only "default", not a foreign arch.
        assert!(check_arch(3 << 16, KEXEC_ARCH_X86_64, true).is_ok());
    }

    #[test]
    fn crash_entry_must_be_inside_the_window() {
        assert!(check_crash_entry(0x3000_0000, 0x3000_0000, 0x35ff_ffff).is_ok());
        assert!(check_crash_entry(0x35ff_ffff, 0x3000_0000, 0x35ff_ffff).is_ok());
        let e = check_crash_entry(0x3600_0000, 0x3000_0000, 0x35ff_ffff).unwrap_err();
        assert_eq!(e.errno(), EADDRNOTAVAIL);
        // No reservation ([0, 0]): only entry 0 passes, as in C.
        assert!(check_crash_entry(0, 0, 0).is_ok());
        assert!(check_crash_entry(0x1000, 0, 0).is_err());
    }

    #[test]
    fn segments_decode_native_and_compat() {
        let mut raw = [0u8; 64];
        for (i, v) in [0x7f00_1000u64, 0x2345, 0x10_0000, 0x3000, 1, 2, 3, 4]
            .iter()
            .enumerate()
        {
            raw[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        let mut out = [Segment::default(); 2];
        decode_segments(&raw, &mut out, false);
        assert_eq!(
            out[0],
            Segment {
                buf: 0x7f00_1000,
                bufsz: 0x2345,
                mem: 0x10_0000,
                memsz: 0x3000
            }
        );
        assert_eq!(
            out[1],
            Segment {
                buf: 1,
                bufsz: 2,
                mem: 3,
                memsz: 4
            }
        );

        let mut raw = [0u8; 16];
        for (i, v) in [0x8000_1000u32, 0x10, 0x20_0000, 0x1000].iter().enumerate() {
            raw[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        let mut out = [Segment::default(); 1];
        decode_segments(&raw, &mut out, true);
        assert_eq!(
            out[0],
            Segment {
                buf: 0x8000_1000,
                bufsz: 0x10,
                mem: 0x20_0000,
                memsz: 0x1000
            }
        );
    }

    #[test]
    fn messages_name_the_rule() {
        let mut s = std::string::String::new();
        core::fmt::write(
            &mut s,
            format_args!("{}", RequestError::TooManySegments { count: 17 }),
        )
        .unwrap();
        assert_eq!(s, "17 segments, at most 16 allowed");
        let e =
            check_flags_and_count(1, KEXEC_PRESERVE_CONTEXT, accepted_flags(false)).unwrap_err();
        let mut s = std::string::String::new();
        core::fmt::write(&mut s, format_args!("{e}")).unwrap();
        assert_eq!(
            s,
            "KEXEC_PRESERVE_CONTEXT needs a kernel built with CONFIG_KEXEC_JUMP"
        );
        assert_eq!(e.errno(), EINVAL);
    }
}

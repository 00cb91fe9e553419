// SPDX-License-Identifier: GPL-2.0

//! The calls, as values: what to pass, described symbolically (a buffer "in
//! the random arena at offset N", an address "N bytes past the start of the
//! crash reservation", a file descriptor "of a mutated kernel image") so that the
//! same seed gives the same calls on any kernel and in any run, and a call's
//! one-line summary names no pointer or anything else a kernel or a run
//! chooses. main.rs turns a description into real pointers and descriptors.
//!
//! Weights: most calls fail fast in argument checking; about one in four
//! loads an image (a few pages at a valid address). File loads that get as far
//! as hashing the image take about half a second each under QEMU's TCG; they
//! are under 2% of the calls (52 of 3000 in `run`, 23 of 2000 in `replay`,
//! seeds 2 and 1) and still most of the time.
//!
//! Pure logic: host tests cover it.

use crate::model::{self, PAGE};
use crate::mutate::{self, Mutation};
use crate::rng::Rng;
use std::fmt::{self, Write as _};

pub const KEXEC_ON_CRASH: u64 = 0x1;
pub const KEXEC_PRESERVE_CONTEXT: u64 = 0x2;
pub const KEXEC_UPDATE_ELFCOREHDR: u64 = 0x4;
pub const KEXEC_CRASH_HOTPLUG_SUPPORT: u64 = 0x8;
/// The kernel's own KEXEC_ARCH, and another one it must refuse.
#[cfg(not(target_arch = "aarch64"))]
pub const KEXEC_ARCH_NATIVE: u64 = 62 << 16; // KEXEC_ARCH_X86_64
#[cfg(not(target_arch = "aarch64"))]
pub const KEXEC_ARCH_FOREIGN: u64 = 3 << 16; // KEXEC_ARCH_386
#[cfg(target_arch = "aarch64")]
pub const KEXEC_ARCH_NATIVE: u64 = 183 << 16; // KEXEC_ARCH_AARCH64
#[cfg(target_arch = "aarch64")]
pub const KEXEC_ARCH_FOREIGN: u64 = 40 << 16; // KEXEC_ARCH_ARM

pub const KEXEC_FILE_UNLOAD: u64 = 0x1;
pub const KEXEC_FILE_ON_CRASH: u64 = 0x2;
pub const KEXEC_FILE_NO_INITRAMFS: u64 = 0x4;
pub const KEXEC_FILE_DEBUG: u64 = 0x8;
pub const KEXEC_FILE_NO_CMA: u64 = 0x10;
pub const KEXEC_FILE_FORCE_DTB: u64 = 0x20;

/// Size of the arena of random bytes that segment buffers point into; a guard
/// page follows it.
pub const ARENA: u64 = 4 << 20;
/// Readable pages in front of the hole that `Buf::Hole` buffers run into.
pub const HOLE_PAGES: u64 = 16;
/// Size of the region command lines are written into; a hole follows it.
pub const CMD_REGION: u64 = 4 * PAGE;
/// The base of the destinations of normal loads that are meant to succeed:
/// 256 MiB into RAM (which starts at 0 on x86 and at 1 GiB on QEMU's arm64
/// `virt`).
#[cfg(not(target_arch = "aarch64"))]
pub const BASE: u64 = 0x1000_0000;
#[cfg(target_arch = "aarch64")]
pub const BASE: u64 = 0x5000_0000;

/// A physical address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addr {
    Abs(u64),
    /// Relative to the start of the crash reservation.
    Crash(i64),
    /// Relative to the end of the crash reservation (its last byte + 1).
    CrashEnd(i64),
}

/// A segment size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    Abs(u64),
    /// The crash reservation's size plus this.
    Crash(i64),
}

/// A userspace buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buf {
    /// In the arena of random bytes, at this offset.
    Arena(u64),
    Null,
    /// The last `n` readable bytes before an unmapped page.
    Hole(u64),
    /// A page that was mapped and then unmapped.
    Unmapped,
    /// A kernel address.
    Kernel,
    /// A non-canonical or kernel-half address (never one a process could map).
    Wild(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seg {
    pub buf: Buf,
    pub bufsz: u64,
    pub mem: Addr,
    pub memsz: Size,
}

/// Where the segment array itself is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Array {
    Here,
    Null,
    /// Address 1.
    One,
    Unmapped,
    Kernel,
    /// Only the first `n` entries are readable, then an unmapped page.
    Partial(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Load {
    pub entry: Addr,
    pub nr: u64,
    pub array: Array,
    pub segs: Vec<Seg>,
    pub flags: u64,
}

/// A file descriptor for kexec_file_load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fd {
    /// The kernel the guest booted (/boot/bzImage, /boot/Image on arm64).
    Kernel,
    Mutant(Vec<Mutation>),
    /// `len` random bytes from `seed`, with a planted setup header or without.
    Synthetic {
        seed: u64,
        len: u32,
        header: bool,
    },
    Initrd,
    Minus1,
    /// A descriptor number that was just closed.
    Closed,
    Dir,
    DevNull,
    Empty,
    WriteOnly,
    /// An O_PATH descriptor of the kernel.
    OPath,
    /// A copy of the kernel that is also open for writing (ETXTBSY).
    Busy,
    /// A sparse file larger than kexec_file_load reads (4 GiB).
    Sparse(u64),
    Num(i32),
}

/// Where a command line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmdAt {
    /// At the start of a zeroed region: reading past the text reads zeros.
    Start,
    /// Ending right before an unmapped page.
    AtHole,
    Null,
    Unmapped,
    Kernel,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmdline {
    pub at: CmdAt,
    pub text: Vec<u8>,
    pub len: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLoad {
    pub kernel: Fd,
    pub initrd: Fd,
    pub cmdline: Cmdline,
    pub flags: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    CrashSize,
    LimitPanic,
    LimitReboot,
    Disabled,
}

impl Target {
    pub fn path(self) -> &'static str {
        match self {
            Target::CrashSize => "/sys/kernel/kexec_crash_size",
            Target::LimitPanic => "/proc/sys/kernel/kexec_load_limit_panic",
            Target::LimitReboot => "/proc/sys/kernel/kexec_load_limit_reboot",
            Target::Disabled => "/proc/sys/kernel/kexec_load_disabled",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Target::CrashSize => "crash_size",
            Target::LimitPanic => "limit_panic",
            Target::LimitReboot => "limit_reboot",
            Target::Disabled => "load_disabled",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    pub target: Target,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Load(Load),
    File(FileLoad),
    Write(Write),
}

impl Op {
    /// What the call may change, for model::check_single.
    pub fn effect(&self) -> model::Effect {
        match self {
            Op::Load(l) => model::Effect::Load { crash: l.flags & KEXEC_ON_CRASH != 0, unload: l.nr == 0 },
            Op::File(f) => model::Effect::Load {
                crash: f.flags & KEXEC_FILE_ON_CRASH != 0,
                unload: f.flags & KEXEC_FILE_UNLOAD != 0,
            },
            Op::Write(w) => match w.target {
                Target::CrashSize => model::Effect::CrashSize { bytes: w.bytes.clone() },
                _ => model::Effect::RefusedSysctl { empty: w.bytes.is_empty() },
            },
        }
    }

    /// A load (not an unload) of either kind.
    pub fn is_load(&self) -> bool {
        match self {
            Op::Load(l) => l.nr != 0,
            Op::File(f) => f.flags & KEXEC_FILE_UNLOAD == 0,
            Op::Write(_) => false,
        }
    }
}

fn hex_signed(f: &mut fmt::Formatter<'_>, base: &str, off: i64) -> fmt::Result {
    match off {
        0 => write!(f, "{base}"),
        o if o < 0 => write!(f, "{base}-{:#x}", o.unsigned_abs()),
        o => write!(f, "{base}+{o:#x}"),
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Addr::Abs(a) => write!(f, "{a:#x}"),
            Addr::Crash(o) => hex_signed(f, "cs", o),
            Addr::CrashEnd(o) => hex_signed(f, "ce", o),
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Size::Abs(a) => write!(f, "{a:#x}"),
            Size::Crash(o) => hex_signed(f, "csz", o),
        }
    }
}

impl fmt::Display for Buf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Buf::Arena(o) => write!(f, "a+{o:#x}"),
            Buf::Null => write!(f, "null"),
            Buf::Hole(n) => write!(f, "hole-{n:#x}"),
            Buf::Unmapped => write!(f, "unmapped"),
            Buf::Kernel => write!(f, "kernel"),
            Buf::Wild(a) => write!(f, "wild:{a:#x}"),
        }
    }
}

impl fmt::Display for Load {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let array = match self.array {
            Array::Here => "here".to_string(),
            Array::Null => "null".into(),
            Array::One => "1".into(),
            Array::Unmapped => "unmapped".into(),
            Array::Kernel => "kernel".into(),
            Array::Partial(n) => format!("partial{n}"),
        };
        write!(f, "kexec_load entry={} nr={:#x} flags={:#x} segs@{array} [", self.entry, self.nr, self.flags)?;
        for (i, s) in self.segs.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{}/{:#x}->{}/{}", s.buf, s.bufsz, s.mem, s.memsz)?;
        }
        write!(f, "]")
    }
}

impl fmt::Display for Fd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fd::Kernel => write!(f, "{}", mutate::NATIVE.name),
            Fd::Mutant(m) => {
                write!(f, "{}(", mutate::NATIVE.name)?;
                for (i, m) in m.iter().enumerate() {
                    write!(f, "{}{m}", if i > 0 { "," } else { "" })?;
                }
                write!(f, ")")
            }
            Fd::Synthetic { seed, len, header } => {
                write!(f, "synthetic({seed:#x},{len}{})", if *header { ",hdr" } else { "" })
            }
            Fd::Initrd => write!(f, "initrd"),
            Fd::Minus1 => write!(f, "-1"),
            Fd::Closed => write!(f, "closed"),
            Fd::Dir => write!(f, "dir"),
            Fd::DevNull => write!(f, "/dev/null"),
            Fd::Empty => write!(f, "empty"),
            Fd::WriteOnly => write!(f, "wronly"),
            Fd::OPath => write!(f, "opath"),
            Fd::Busy => write!(f, "busy"),
            Fd::Sparse(n) => write!(f, "sparse({n:#x})"),
            Fd::Num(n) => write!(f, "fd{n}"),
        }
    }
}

/// Bytes as a short quoted string: printable ASCII as is, the rest escaped,
/// long runs abbreviated with a count and a checksum so a line stays short.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    let shown = if bytes.len() > 48 { &bytes[..40] } else { bytes };
    for &b in shown {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            b'\n' => out.push_str("\\n"),
            0 => out.push_str("\\0"),
            b' '..=b'~' => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if shown.len() < bytes.len() {
        let sum = bytes.iter().fold(0u32, |s, &b| s.wrapping_mul(31).wrapping_add(b as u32));
        let _ = write!(out, "...({} bytes, sum {sum:08x})", bytes.len());
    }
    out.push('"');
    out
}

impl Cmdline {
    /// Whether the bzImage loader takes this command line: readable, its last
    /// byte a NUL, and short enough to leave room for "elfcorehdr=" in a
    /// 2048-byte command line.
    pub fn valid(&self) -> bool {
        let n = self.len;
        if n == 0 {
            return true;
        }
        let last = match self.at {
            CmdAt::Start | CmdAt::AtHole if n <= self.text.len() as u64 => self.text[n as usize - 1],
            CmdAt::Start if n <= CMD_REGION => 0,
            _ => return false,
        };
        last == 0 && n <= 2048 - 30
    }
}

impl fmt::Display for Cmdline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = match self.at {
            CmdAt::Start => "start",
            CmdAt::AtHole => "athole",
            CmdAt::Null => "null",
            CmdAt::Unmapped => "unmapped",
            CmdAt::Kernel => "kernel",
        };
        write!(f, "cmdline@{at} len={:#x} {}", self.len, quote(&self.text))
    }
}

impl fmt::Display for FileLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kexec_file_load kernel={} initrd={} {} flags={:#x}",
            self.kernel, self.initrd, self.cmdline, self.flags
        )
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Load(l) => l.fmt(f),
            Op::File(x) => x.fmt(f),
            Op::Write(w) => write!(f, "write {} {}", w.target.name(), quote(&w.bytes)),
        }
    }
}

/// What the generator may look at: kernel state that both kernels share.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// The size of the crash reservation now.
    pub crash_size: u64,
    /// kexec_load_limit_panic and kexec_load_limit_reboot now.
    pub limits: [i64; 2],
    /// The last 1% of a run: kexec_crash_size may shrink.
    pub final_phase: bool,
    /// Replay: no shrinks, and the rare slow calls rarer still.
    pub replay: bool,
}

/// An address that no process maps: the kernel half or non-canonical.
fn wild(rng: &mut Rng) -> u64 {
    rng.next_u64() | 1 << 63
}

fn flags_extra(rng: &mut Rng) -> u64 {
    match rng.weighted(&[60, 10, 3, 2, 8, 10, 2, 5]) {
        0 => 0,
        1 => KEXEC_ARCH_NATIVE,
        2 => KEXEC_ARCH_FOREIGN,
        3 => rng.next_u64() & 0xffff_0000,
        4 => rng.next_u64() & (KEXEC_PRESERVE_CONTEXT | KEXEC_UPDATE_ELFCOREHDR | KEXEC_CRASH_HOTPLUG_SUPPORT),
        5 => 1 << rng.below(64),
        6 => rng.next_u64(),
        _ => rng.next_u64() & 0xffff_ffff_0000_0000,
    }
}

fn pages(rng: &mut Rng, lo: u64, hi: u64) -> u64 {
    rng.range(lo, hi) * PAGE
}

fn small_memsz(rng: &mut Rng) -> u64 {
    if rng.chance(60) {
        pages(rng, 5, 256)
    } else {
        pages(rng, 1, 4)
    }
}

fn arena_buf(rng: &mut Rng, bufsz: u64) -> Buf {
    if bufsz > ARENA {
        return Buf::Arena(0);
    }
    let off = rng.below(ARENA - bufsz + 1);
    Buf::Arena(if rng.chance(500) { off & !(PAGE - 1) } else { off })
}

/// A load meant to succeed: a few pages of random bytes at free addresses.
fn valid_load(rng: &mut Rng, crash: bool) -> Load {
    let n = rng.range(1, if crash { 3 } else { 4 });
    let mut mem = if crash { pages(rng, 0, 2048) } else { BASE + pages(rng, 0, 4096) };
    let mut segs = Vec::new();
    for _ in 0..n {
        let memsz = small_memsz(rng);
        let bufsz = if rng.chance(500) { memsz } else { rng.below(memsz + 1) };
        let buf = if bufsz == 0 && rng.chance(300) { Buf::Null } else { arena_buf(rng, bufsz) };
        let at = if crash { Addr::Crash(mem as i64) } else { Addr::Abs(mem) };
        segs.push(Seg { buf, bufsz, mem: at, memsz: Size::Abs(memsz) });
        mem += memsz + pages(rng, 0, 3);
    }
    let entry = match (crash, rng.below(4)) {
        (true, 0) => Addr::Crash(0),
        (true, _) => segs[0].mem,
        (false, 0) => Addr::Abs(rng.next_u64()),
        (false, _) => segs[0].mem,
    };
    let mut flags = if crash { KEXEC_ON_CRASH } else { 0 };
    flags |= match rng.below(8) {
        0 => KEXEC_ARCH_NATIVE,
        1 if crash => KEXEC_CRASH_HOTPLUG_SUPPORT,
        2 if crash => KEXEC_UPDATE_ELFCOREHDR | KEXEC_CRASH_HOTPLUG_SUPPORT,
        3 => 1 << rng.range(32, 63),
        _ => 0,
    };
    Load { entry, nr: n, array: Array::Here, segs, flags }
}

fn random_addr(rng: &mut Rng, crash: bool, prev: Option<&Seg>) -> Addr {
    let w: &[u32] =
        if crash { &[6, 4, 2, 4, 2, 2, 2, 2, 30, 14, 8, 10] } else { &[30, 14, 4, 8, 6, 6, 4, 4, 4, 2, 2, 10] };
    match rng.weighted(w) {
        0 => Addr::Abs(BASE + pages(rng, 0, 4096)),
        1 => Addr::Abs(pages(rng, 0, 0x40000)),
        2 => Addr::Abs(0),
        3 => Addr::Abs(BASE + pages(rng, 0, 4096) + rng.range(1, PAGE - 1)),
        4 => Addr::Abs((1 << 32) + pages(rng, 0, 1 << 20)),
        5 => Addr::Abs(*rng.pick(&[(1 << 46) - PAGE, 1 << 46, (1 << 52) - PAGE, 1 << 52, (1 << 57) - PAGE, 1 << 63])),
        6 => Addr::Abs(u64::MAX - (PAGE - 1) - pages(rng, 0, 15)),
        7 => Addr::Abs(rng.next_u64()),
        8 => Addr::Crash(pages(rng, 0, 4096) as i64),
        9 => Addr::CrashEnd(-(pages(rng, 1, 256) as i64)),
        10 => match rng.below(4) {
            0 => Addr::Crash(-(PAGE as i64)),
            1 => Addr::CrashEnd(0),
            2 => Addr::Crash(rng.range(1, PAGE - 1) as i64),
            _ => Addr::CrashEnd(-(rng.range(1, PAGE - 1) as i64)),
        },
        _ => match prev {
            // Overlapping or touching the previous segment.
            Some(p) => {
                let d = rng.range(0, 4) as i64 - 2;
                match p.mem {
                    Addr::Abs(a) => Addr::Abs(a.wrapping_add((d * PAGE as i64) as u64)),
                    Addr::Crash(o) => Addr::Crash(o + d * PAGE as i64),
                    Addr::CrashEnd(o) => Addr::CrashEnd(o + d * PAGE as i64),
                }
            }
            None => Addr::Abs(BASE),
        },
    }
}

/// A segment size; the reservation's size only for crash loads (a normal
/// image of that size would take ~100 MiB of memory while it is loaded).
fn random_memsz(rng: &mut Rng, crash: bool) -> Size {
    let w = if crash { 4 } else { 0 };
    match rng.weighted(&[40, 14, 8, 10, 10, w, w]) {
        0 => Size::Abs(pages(rng, 1, 4)),
        1 => Size::Abs(pages(rng, 5, 256)),
        2 => Size::Abs(0),
        3 => Size::Abs(pages(rng, 0, 16) + rng.range(1, PAGE - 1)),
        4 => Size::Abs(*rng.pick(&[1 << 32, 1 << 40, 1 << 63, u64::MAX, u64::MAX - PAGE + 1, 1 << 46, 0x8000_0000])),
        5 => Size::Crash(-(pages(rng, 0, 2) as i64)),
        _ => Size::Crash(PAGE as i64),
    }
}

fn random_seg(rng: &mut Rng, crash: bool, prev: Option<&Seg>) -> Seg {
    let mem = random_addr(rng, crash, prev);
    let memsz = random_memsz(rng, crash);
    let m = match memsz {
        Size::Abs(m) => m,
        Size::Crash(_) => 96 << 20,
    };
    let bufsz = match rng.weighted(&[30, 30, 15, 10, 5, 5, 5]) {
        0 => m.min(ARENA),
        1 => rng.below(m.min(ARENA) + 1),
        2 => 0,
        3 => m.saturating_add(rng.range(1, PAGE)),
        4 => u64::MAX,
        5 => 1 << 40,
        _ => rng.below(PAGE),
    };
    let buf = match rng.weighted(&[80, 4, 5, 4, 3, 4]) {
        0 => arena_buf(rng, bufsz),
        1 => Buf::Null,
        2 => Buf::Hole(rng.range(0, HOLE_PAGES * PAGE)),
        3 => Buf::Unmapped,
        4 => Buf::Kernel,
        _ => Buf::Wild(wild(rng)),
    };
    Seg { buf, bufsz, mem, memsz }
}

/// A load with every argument drawn from edge cases, crash or normal.
fn random_load(rng: &mut Rng) -> Load {
    let crash = rng.chance(400);
    let n = match rng.weighted(&[10, 50, 20, 10, 5, 5]) {
        0 => 0,
        1 => rng.range(1, 3),
        2 => rng.range(4, 16),
        3 => rng.range(17, 20),
        4 => 16,
        _ => 0,
    };
    let mut segs: Vec<Seg> = Vec::new();
    for _ in 0..n {
        let s = random_seg(rng, crash, segs.last());
        segs.push(s);
    }
    let nr = if rng.chance(50) { *rng.pick(&[1 << 32, 1 << 40, u64::MAX, 1 << 63, 0x8000_0001, 17]) } else { n };
    let entry = match rng.below(6) {
        0 => Addr::Abs(0),
        1 => Addr::Abs(rng.next_u64()),
        2 => Addr::Crash(pages(rng, 0, 16) as i64),
        3 => Addr::CrashEnd(-1),
        4 => Addr::CrashEnd(0),
        _ => segs.first().map_or(Addr::Abs(BASE), |s| s.mem),
    };
    let array = match rng.weighted(&[88, 3, 2, 3, 2, 2]) {
        0 => Array::Here,
        1 => Array::Null,
        2 => Array::One,
        3 => Array::Unmapped,
        4 => Array::Kernel,
        _ => Array::Partial(rng.below(n.max(1))),
    };
    let flags = if crash { KEXEC_ON_CRASH } else { 0 } | flags_extra(rng);
    Load { entry, nr, array, segs, flags }
}

/// A valid load with one argument broken.
fn broken_load(rng: &mut Rng) -> Load {
    let crash = rng.chance(400);
    let mut l = valid_load(rng, crash);
    let i = rng.below(l.segs.len() as u64) as usize;
    match rng.below(9) {
        0 => l.array = *rng.pick(&[Array::Null, Array::One, Array::Unmapped, Array::Kernel]),
        1 => l.array = Array::Partial(rng.below(l.nr)),
        2 => l.segs[i].buf = *rng.pick(&[Buf::Null, Buf::Unmapped, Buf::Kernel, Buf::Hole(PAGE)]),
        3 => {
            // The buffer runs into a hole part-way.
            let s = &mut l.segs[i];
            s.bufsz = s.bufsz.max(2 * PAGE);
            s.memsz = Size::Abs(s.bufsz.next_multiple_of(PAGE));
            s.buf = Buf::Hole(rng.range(1, (s.bufsz - 1).min(HOLE_PAGES * PAGE)));
        }
        4 => {
            l.segs[i].bufsz = rng.range(1, PAGE)
                + match l.segs[i].memsz {
                    Size::Abs(m) => m,
                    _ => 0,
                }
        }
        5 => l.flags ^= 1 << rng.below(64),
        6 => l.entry = random_addr(rng, !crash, None),
        7 => {
            let p = l.segs[i].clone();
            l.segs.push(Seg { mem: random_addr(rng, crash, Some(&p)), ..p });
            l.nr += 1;
        }
        _ => l.segs[i].mem = random_addr(rng, !crash, None),
    }
    l
}

fn unload(rng: &mut Rng, crash: bool) -> Load {
    // nr_segments 0: the other arguments are ignored, whatever they are.
    let array = *rng.pick(&[Array::Here, Array::Here, Array::Null, Array::Kernel]);
    let entry = if rng.chance(500) { Addr::Abs(0) } else { Addr::Abs(rng.next_u64()) };
    let mut flags = if crash { KEXEC_ON_CRASH } else { 0 };
    if rng.chance(300) {
        flags |= flags_extra(rng);
    }
    Load { entry, nr: 0, array, segs: Vec::new(), flags }
}

fn cmdline(rng: &mut Rng) -> Cmdline {
    let good = |rng: &mut Rng| {
        let mut t = format!("console=ttyS0 panic=-1 kexec-fuzz={}", rng.below(1000)).into_bytes();
        t.push(0);
        t
    };
    let with_nul = |rng: &mut Rng, n: usize| {
        let mut t = rng.printable(n.saturating_sub(1));
        t.push(0);
        t
    };
    let (at, text, len) = match rng.weighted(&[20, 25, 12, 8, 10, 5, 6, 7, 3, 4]) {
        0 => (CmdAt::Start, Vec::new(), 0),
        1 => {
            let t = good(rng);
            let n = t.len() as u64;
            (CmdAt::Start, t, n)
        }
        2 => {
            let n = rng.range(1, 200) as usize;
            let t = with_nul(rng, n);
            (CmdAt::AtHole, t, n as u64)
        }
        3 => {
            let n = rng.range(1, 100) as usize;
            let t = rng.printable(n);
            (CmdAt::Start, t, n as u64)
        }
        4 => {
            // Around COMMAND_LINE_SIZE (2048) and past a page.
            let n = *rng.pick(&[2000usize, 2046, 2047, 2048, 2049, 2100, 4095, 4096, 4097, 8000]);
            let t = with_nul(rng, n);
            (*rng.pick(&[CmdAt::Start, CmdAt::AtHole]), t, n as u64)
        }
        5 => {
            // The length stops short of the NUL.
            let t = good(rng);
            let n = rng.range(1, t.len() as u64 - 1);
            (CmdAt::Start, t, n)
        }
        6 => {
            // The length runs past the text: into zeros, or into the hole.
            let t = good(rng);
            let n = t.len() as u64 + rng.range(1, 64);
            (*rng.pick(&[CmdAt::Start, CmdAt::AtHole]), t, n)
        }
        7 => {
            let at = *rng.pick(&[CmdAt::Null, CmdAt::Unmapped, CmdAt::Kernel]);
            (at, Vec::new(), rng.range(1, 100))
        }
        8 => (CmdAt::Start, good(rng), *rng.pick(&[1 << 20, 1 << 32, u64::MAX, CMD_REGION])),
        _ => (CmdAt::Start, vec![0], 1),
    };
    Cmdline { at, text, len }
}

fn bad_fd(rng: &mut Rng) -> Fd {
    match rng.weighted(&[10, 10, 10, 8, 10, 8, 6, 8, 4, 6, 6]) {
        0 => Fd::Minus1,
        1 => Fd::Closed,
        2 => Fd::Dir,
        3 => Fd::DevNull,
        4 => Fd::Empty,
        5 => Fd::WriteOnly,
        6 => Fd::OPath,
        7 => Fd::Initrd,
        8 => Fd::Sparse(*rng.pick(&[(4 << 30) + 1, 5 << 30, 1 << 62])),
        9 => Fd::Num(*rng.pick(&[9999, i32::MAX, i32::MIN, -2])),
        _ => Fd::Busy,
    }
}

fn synthetic(rng: &mut Rng) -> Fd {
    let len = match rng.below(4) {
        0 => rng.range(0, 1100),
        1 => rng.range(1100, 16 << 10),
        _ => rng.range(16 << 10, 64 << 10),
    } as u32;
    Fd::Synthetic { seed: rng.next_u64(), len, header: rng.chance(700) }
}

fn initrd_fd(rng: &mut Rng) -> Fd {
    match rng.weighted(&[70, 10, 5, 15]) {
        0 => Fd::Initrd,
        1 => Fd::Kernel,
        2 => synthetic(rng),
        _ => bad_fd(rng),
    }
}

fn file_flags(rng: &mut Rng, crash: bool) -> u64 {
    let mut f = if crash { KEXEC_FILE_ON_CRASH } else { 0 };
    if rng.chance(250) {
        f |= KEXEC_FILE_NO_INITRAMFS;
    }
    if rng.chance(50) {
        f |= KEXEC_FILE_DEBUG;
    }
    if rng.chance(50) {
        f |= KEXEC_FILE_NO_CMA;
    }
    if rng.chance(30) {
        f |= KEXEC_FILE_FORCE_DTB;
    }
    f
}

/// A kexec_file_load. `slow`: per mille of these that load the real kernel
/// with valid arguments (they hash every segment).
fn file_load(rng: &mut Rng, slow: u64) -> FileLoad {
    let crash = rng.chance(400);
    if rng.chance(slow) {
        // The real thing, normal or crash.
        let mut flags = if crash { KEXEC_FILE_ON_CRASH } else { 0 };
        let initrd = if rng.chance(300) {
            flags |= KEXEC_FILE_NO_INITRAMFS;
            bad_fd(rng)
        } else {
            Fd::Initrd
        };
        let mut t = b"console=ttyS0 panic=-1".to_vec();
        t.push(0);
        let len = t.len() as u64;
        return FileLoad { kernel: Fd::Kernel, initrd, cmdline: Cmdline { at: CmdAt::Start, text: t, len }, flags };
    }
    match rng.weighted(&[15, 8, 30, 22, 12, 13]) {
        0 => {
            // Flags outside KEXEC_FILE_FLAGS: refused before anything is read.
            let bad = match rng.below(3) {
                0 => 1 << rng.range(6, 63),
                1 => rng.next_u64() | 0x40,
                _ => 0x40 << rng.below(58) | rng.below(0x40),
            };
            FileLoad { kernel: Fd::Kernel, initrd: Fd::Initrd, cmdline: cmdline(rng), flags: bad }
        }
        1 => {
            let kernel = if rng.chance(500) { Fd::Kernel } else { bad_fd(rng) };
            let flags = KEXEC_FILE_UNLOAD | file_flags(rng, crash);
            FileLoad { kernel, initrd: initrd_fd(rng), cmdline: cmdline(rng), flags }
        }
        2 => FileLoad {
            kernel: bad_fd(rng),
            initrd: initrd_fd(rng),
            cmdline: cmdline(rng),
            flags: file_flags(rng, crash),
        },
        3 => {
            // A mutated kernel; the command line is broken more often than
            // not, so that a mutant the loader accepts seldom gets as far as
            // the slow hashing.
            let kernel = Fd::Mutant(mutate::mutations(rng));
            let mut cmd = cmdline(rng);
            if rng.chance(700) {
                cmd = Cmdline { at: CmdAt::Start, text: rng.printable(8), len: 8 };
            }
            FileLoad { kernel, initrd: initrd_fd(rng), cmdline: cmd, flags: file_flags(rng, crash) }
        }
        4 => FileLoad {
            kernel: synthetic(rng),
            initrd: initrd_fd(rng),
            cmdline: cmdline(rng),
            flags: file_flags(rng, crash),
        },
        _ => {
            // The real kernel with a broken initrd or command line.
            let mut cmd = cmdline(rng);
            let mut initrd = initrd_fd(rng);
            let mut flags = file_flags(rng, crash);
            if initrd == Fd::Initrd || flags & KEXEC_FILE_NO_INITRAMFS != 0 {
                if rng.chance(500) {
                    initrd = bad_fd(rng);
                    flags &= !KEXEC_FILE_NO_INITRAMFS;
                } else {
                    while cmd.valid() {
                        cmd = cmdline(rng);
                    }
                }
            }
            FileLoad { kernel: Fd::Kernel, initrd, cmdline: cmd, flags }
        }
    }
}

const LIMIT_REFUSED: &[&[u8]] = &[
    b"-1",
    b"-1\n",
    b"-2",
    b"-2147483648",
    b"2147483648",
    b"4294967296",
    b"99999999999999999999999",
    b" ",
    b"\n",
    b"\t\n",
    b"x",
    b"junk\n",
    b"-",
    b"0x",
    b"--1",
    b"+-1",
];
const DISABLED_REFUSED: &[&[u8]] = &[
    b"0",
    b"0\n",
    b"2",
    b"-1",
    b"00",
    b"0x0",
    b"-0",
    b"2147483648",
    b"99999999999999999999999",
    b" ",
    b"\n",
    b"x",
    b"",
    b"0 0",
    b"-2147483648",
];

fn crash_size_bytes(rng: &mut Rng, cur: u64, shrink_ok: bool) -> Vec<u8> {
    let num = |rng: &mut Rng, v: u64| -> Vec<u8> {
        let mut s = match rng.weighted(&[70, 15, 5]) {
            0 => v.to_string(),
            1 => format!("{v:#x}"),
            _ => format!("0{v:o}"),
        };
        if rng.chance(100) {
            s.insert(0, '+');
        }
        if rng.chance(500) {
            s.push('\n');
        }
        s.into_bytes()
    };
    let k = rng.weighted(&[10, 10, 12, 10, 8, 10, 6, 8, 8, 6, 4, 4, 4, if shrink_ok { 40 } else { 0 }]);
    let value = match k {
        0 => cur,
        1 => cur.saturating_sub(rng.range(1, PAGE - 1)),
        2 => cur.saturating_add(rng.range(1, PAGE)),
        3 => cur.saturating_add(pages(rng, 1, 1 << 20)),
        4 => cur.saturating_mul(2),
        5 => rng.next_u64(),
        6 => {
            let near = u64::MAX - rng.below(8192);
            *rng.pick(&[u64::MAX, u64::MAX - PAGE + 1, u64::MAX - PAGE + 2, near])
        }
        // Real shrinks, mostly by a few pages so that the reservation stays
        // useful for the calls after; about one in ten gives (nearly) all of it
        // back, and on the stock kernel so does a size that rounds past 2^64.
        13 => match rng.weighted(&[50, 15, 20, 3, 2, 5, 5]) {
            0 => cur.saturating_sub(pages(rng, 1, 16)),
            1 => cur.saturating_sub(pages(rng, 1, 16) + rng.range(1, PAGE - 1)),
            2 => cur / 2 + rng.below(cur / 2 + 1),
            3 => rng.below(cur.max(1)),
            4 => 0,
            5 => *rng.pick(&[1, PAGE, PAGE + 1]),
            _ => u64::MAX - rng.below(PAGE - 1),
        },
        _ => 0,
    };
    let mut b = match k {
        0..=6 | 13 => num(rng, value),
        7 => rng
            .pick(&[
                &b"18446744073709551616"[..],
                b"0x10000000000000000",
                b"99999999999999999999999",
                b"-1",
                b"-0",
                b"-4096",
            ])
            .to_vec(),
        8 => {
            let n = rng.range(1, 24) as usize;
            rng.printable(n)
        }
        9 => {
            // Valid digits, then junk or a NUL.
            let mut s = cur.to_string().into_bytes();
            s.push(*rng.pick(&[0u8, b' ', b'x', b'\n', b'K']));
            s.extend(rng.printable(3));
            s
        }
        10 => rng.pick(&[&b""[..], b"\n", b"0x", b"08", b" 1", b"+", b"0x\n", b"\0"]).to_vec(),
        11 => {
            let mut s = vec![b'1'; rng.range(20, 4096) as usize];
            if rng.chance(500) {
                s[0] = b'0';
            }
            s
        }
        _ => format!("-{cur}").into_bytes(),
    };
    if !shrink_ok && model::is_shrink(&b, cur) {
        b = format!("{cur}\n").into_bytes();
    }
    // A shrink to less than half (on the stock kernel also a size that rounds
    // past 2^64, which frees it all) only one time in ten: the next run in the
    // same boot still wants a reservation to load crash images into.
    let drastic = |b: &[u8]| model::kstrtoull(b).is_some_and(|v| model::roundup_wrapping(v) < cur / 2);
    if shrink_ok && !b.is_empty() && drastic(&b) && !rng.chance(100) {
        b = cur.saturating_sub(pages(rng, 1, 16)).to_string().into_bytes();
    }
    b
}

fn write_op(rng: &mut Rng, ctx: &Ctx) -> Write {
    let shrink_ok = ctx.final_phase && !ctx.replay;
    match rng.weighted(&[75, 10, 10, 5]) {
        0 => Write { target: Target::CrashSize, bytes: crash_size_bytes(rng, ctx.crash_size, shrink_ok) },
        i @ (1 | 2) => {
            let target = if i == 1 { Target::LimitPanic } else { Target::LimitReboot };
            let cur = ctx.limits[i - 1];
            let bytes = if cur >= 0 && rng.chance(300) {
                // Not lower than the limit: refused, and the limit stays.
                (cur + rng.below(1000) as i64).min(i32::MAX as i64).to_string().into_bytes()
            } else {
                rng.pick(LIMIT_REFUSED).to_vec()
            };
            Write { target, bytes }
        }
        _ => Write { target: Target::Disabled, bytes: rng.pick(DISABLED_REFUSED).to_vec() },
    }
}

/// The next call.
pub fn op(rng: &mut Rng, ctx: &Ctx) -> Op {
    let op = any_op(rng, ctx);
    if ctx.replay {
        op
    } else {
        spare_memory(op)
    }
}

/// A normal kexec_load with an empty segment at physical address 0 makes
/// every page a destination (both kernels compute a segment's last byte as
/// `mem + memsz - 1`, which wraps to the top of the address space): the search
/// for the control page takes all free memory before it fails with ENOMEM.
/// One thread survives that (the replay keeps such calls, 2 in 2000), but
/// the other threads of a run that allocate meanwhile get the OOM killer. So
/// runs move such a segment to the second page.
fn spare_memory(mut op: Op) -> Op {
    if let Op::Load(l) = &mut op {
        if l.flags & KEXEC_ON_CRASH == 0 {
            for s in &mut l.segs {
                if s.mem == Addr::Abs(0) && s.memsz == Size::Abs(0) {
                    s.mem = Addr::Abs(PAGE);
                }
            }
        }
    }
    op
}

fn any_op(rng: &mut Rng, ctx: &Ctx) -> Op {
    let fin = ctx.final_phase && !ctx.replay;
    // valid normal, valid crash, unload normal, unload crash, random,
    // broken, file, write.
    let w: [u32; 8] = if fin { [8, 6, 4, 12, 30, 10, 10, 30] } else { [10, 8, 4, 4, 36, 14, 14, 10] };
    match rng.weighted(&w) {
        0 => Op::Load(valid_load(rng, false)),
        1 => Op::Load(valid_load(rng, true)),
        2 => Op::Load(unload(rng, false)),
        3 => Op::Load(unload(rng, true)),
        4 => Op::Load(random_load(rng)),
        5 => Op::Load(broken_load(rng)),
        6 => Op::File(file_load(rng, if ctx.replay { 50 } else { 100 })),
        _ => Op::Write(write_op(rng, ctx)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx {
        Ctx { crash_size: 96 << 20, limits: [-1, -1], final_phase: false, replay: true }
    }

    #[test]
    fn runs_have_no_empty_normal_segment_at_zero() {
        let run = Ctx { replay: false, ..ctx() };
        let (mut r1, mut r2) = (Rng::new(3), Rng::new(3));
        let (mut in_replay, mut in_run) = (0, 0);
        let at_zero = |op: &Op| match op {
            Op::Load(l) => {
                l.flags & KEXEC_ON_CRASH == 0
                    && l.segs.iter().any(|s| s.mem == Addr::Abs(0) && s.memsz == Size::Abs(0))
            }
            _ => false,
        };
        for _ in 0..20000 {
            in_replay += at_zero(&op(&mut r1, &ctx())) as u32;
            in_run += at_zero(&op(&mut r2, &run)) as u32;
        }
        assert!(in_replay > 0);
        assert_eq!(in_run, 0);
    }

    #[test]
    fn same_seed_same_calls() {
        let mut a = Rng::new(11);
        let mut b = Rng::new(11);
        for _ in 0..5000 {
            let x = op(&mut a, &ctx());
            assert_eq!(x, op(&mut b, &ctx()));
            assert_eq!(x.to_string(), x.to_string());
        }
    }

    #[test]
    fn no_shrink_outside_the_final_phase() {
        let mut r = Rng::new(12);
        let c = ctx();
        for _ in 0..20000 {
            if let Op::Write(w) = op(&mut r, &c) {
                if w.target == Target::CrashSize {
                    assert!(!model::is_shrink(&w.bytes, c.crash_size), "{}", quote(&w.bytes));
                }
            }
        }
        let fin = Ctx { final_phase: true, replay: false, ..c };
        let shrinks = (0..20000)
            .filter(|_| matches!(op(&mut r, &fin), Op::Write(w) if model::is_shrink(&w.bytes, c.crash_size)))
            .count();
        assert!(shrinks > 100, "{shrinks} shrinks in the final phase");
    }

    #[test]
    fn refused_sysctl_values_are_refused() {
        // What proc_dointvec would accept as a non-negative int sets a limit.
        for s in LIMIT_REFUSED.iter().chain(DISABLED_REFUSED) {
            let t = std::str::from_utf8(s).unwrap().trim();
            if let Ok(v) = t.parse::<i64>() {
                assert!(!(0..=i32::MAX as i64).contains(&v) || DISABLED_REFUSED.contains(s), "{t}");
                assert_ne!(v, 1, "{t}");
            }
            assert!(!t.starts_with("0x1") && t != "01");
        }
    }

    #[test]
    fn valid_segment_arrays_hold_nr_entries() {
        // The kernel copies nr entries: with the array "here" and nr <= 16,
        // the fuzzer must provide all of them, or the kernel reads stale bytes.
        let mut r = Rng::new(13);
        for _ in 0..20000 {
            if let Op::Load(l) = op(&mut r, &ctx()) {
                if l.array == Array::Here && l.nr <= 16 {
                    assert_eq!(l.segs.len() as u64, l.nr, "{l}");
                }
                if let Array::Partial(n) = l.array {
                    assert!(n < l.nr.max(1), "{l}");
                }
            }
        }
    }

    #[test]
    fn the_mix() {
        let mut r = Rng::new(14);
        let (mut loads, mut files, mut writes, mut slow) = (0, 0, 0, 0);
        for _ in 0..100000 {
            match op(&mut r, &Ctx { replay: false, ..ctx() }) {
                Op::Load(_) => loads += 1,
                Op::File(f) => {
                    files += 1;
                    let ok_initrd = f.initrd == Fd::Initrd || f.flags & KEXEC_FILE_NO_INITRAMFS != 0;
                    if f.kernel == Fd::Kernel && f.flags & !0x3e == 0 && f.cmdline.valid() && ok_initrd {
                        slow += 1;
                    }
                }
                Op::Write(_) => writes += 1,
            }
        }
        assert!(loads > 70000 && files > 10000 && writes > 8000, "{loads} {files} {writes}");
        // Valid real-kernel file loads: about one call in a hundred.
        assert!((300..2000).contains(&slow), "{slow} slow file loads in 100000 calls");
    }

    #[test]
    fn summaries_are_one_short_line() {
        let mut r = Rng::new(15);
        for _ in 0..20000 {
            let s = op(&mut r, &ctx()).to_string();
            assert!(!s.contains('\n') && s.len() < 1200, "{s}");
        }
    }
}

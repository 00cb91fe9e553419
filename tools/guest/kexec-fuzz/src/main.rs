// SPDX-License-Identifier: GPL-2.0

//! kexec-fuzz: a seeded fuzzer of the kexec system calls and their sysfs and
//! sysctl files, run in the guest as root.
//!
//!     kexec-fuzz run SEED CALLS [THREADS] [--disable-last]
//!     kexec-fuzz replay SEED CALLS
//!     kexec-fuzz race ROUNDS
//!
//! Each call is drawn from a SplitMix64 stream seeded with SEED (rng.rs), as a
//! description (gen.rs) that main.rs turns into pointers and descriptors: a
//! kexec_load with random, mutated or valid segment lists (a few pages at a
//! free address load for real; nothing is ever executed), a kexec_file_load
//! of the real kernel image, a mutated copy (mutate.rs), a synthetic file or a bad
//! descriptor, with good and bad command lines and flags, or a write to
//! /sys/kernel/kexec_crash_size or the kexec sysctls. After every call the
//! program reads /sys/kernel/kexec_loaded, kexec_crash_loaded and
//! kexec_crash_size and checks that they are what the answer implies
//! (model.rs, with the stock kernel's rules).
//!
//! `run`: one thread replays the same calls for the same seed; with THREADS >
//! 1 the threads call at once (thread t draws from stream t + 1 of the seed),
//! each call is checked only for what holds under concurrency, and the full
//! check comes after they are joined. kexec_crash_size only ever shrinks in the
//! last 1% of each thread's calls. At the end both images are unloaded and
//! MemAvailable plus the per-CPU free lists (after dropping caches and
//! shrinking every slab cache, which on a KASAN kernel also empties its
//! quarantine), plus what shrinking the reservation gave back, is compared
//! with the start: more than 32 MiB less fails. Then one summary line. `--disable-last` writes kexec_load_disabled=1 as the very last
//! call and checks that loads are refused from then on.
//!
//! `replay`: one thread, deterministic, no shrinks and no limit changes; one
//! line per call, `NNNNN summary: ret=R errno=NAME loaded=L crash_loaded=C
//! crash_size=S`, naming no pointer, so that the lines of two kernels can be
//! diffed. Its summary goes to stderr.
//!
//! On a state mismatch, or a warning, oops, sanitizer or lockdep report in the
//! kernel log (read from /dev/kmsg after every call: the console is quiet and
//! the log buffer wraps long before the end), the program prints the call,
//! the state before and after, the kernel's lines and the last 20 calls, and
//! exits 1.
//!
//! `race`: the reproducer of the one kernel bug the runs found so far
//! (race.rs).
//!
//! Measured on the rust and stock kernels (2 cores, TCG, 1 GiB guest, 2026-11-30):
//! `replay 1 2000` 14 s; `run 2 3000 1` 31 s, about 95 calls/s, of which 28 s
//! are its 52 successful file loads (the rest run at about 900 calls/s);
//! `run 3 3000 4` 6-10 s, 300-500 calls/s, two thirds of them EBUSY; the
//! fuzz scenario 55-62 s in all. `run 8 20000 1` 230 s (87 calls/s). The debug
//! kernel (KASAN, lockdep, DEBUG_PAGEALLOC) runs 11-13 calls/s, its fuzz
//! scenario 490 s. MemAvailable drift at the end over 20 runs on the three
//! kernels: -9 to +19 MiB (18 MiB at most since large buffers go straight to
//! mmap: glibc kept the 2.8 MB mutants in its arenas), so the slack stays at
//! 32 MiB.

mod gen;
#[path = "../../common/memory.rs"]
mod memory;
mod model;
mod mutate;
mod race;
mod rng;
mod sys;

use gen::{Addr, Array, Buf, CmdAt, Fd, Op, Size, Target};
use model::{Answer, State, PAGE};
use rng::Rng;
use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const DIR: &str = "/tmp/kexec-fuzz";
#[cfg(not(target_arch = "aarch64"))]
const KERNEL: &str = "/boot/bzImage";
#[cfg(target_arch = "aarch64")]
const KERNEL: &str = "/boot/Image";
const INITRD: &str = "/boot/initrd.gz";
const KERNEL_ADDR: u64 = 0xffff_ffff_8100_0000;
/// MemAvailable may end this much lower than it started.
const SLACK_KB: i64 = 32 << 10;
/// Calls remembered for a mismatch report.
const RING: usize = 20;

pub fn errno_name(e: i32) -> String {
    let name = match e {
        0 => "0",
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::EKEYREJECTED => "EKEYREJECTED",
        libc::EMSGSIZE => "EMSGSIZE",
        n => return format!("errno{n}"),
    };
    name.into()
}

fn die(msg: &str) -> ! {
    eprintln!("kexec-fuzz: {msg}");
    std::process::exit(2);
}

/// What all threads share: the arena of random bytes that segment buffers
/// point into (a hole follows it), an unmapped page, and the kernel image.
struct Shared {
    arena: u64,
    unmapped: u64,
    bz: Vec<u8>,
}

/// Per-thread scratch memory and file names, and the crash window as this
/// thread last saw it.
struct Exec<'a> {
    sh: &'a Shared,
    tid: usize,
    /// Segment arrays that run into a hole end here.
    seg_hole: u64,
    /// `Buf::Hole` buffers end here.
    buf_hole: u64,
    /// Command lines: CMD_REGION bytes, then a hole.
    cmd: u64,
    crash: Option<(u64, u64)>,
}

impl<'a> Exec<'a> {
    fn new(sh: &'a Shared, tid: usize) -> Self {
        let buf_hole = sys::map_with_hole(gen::HOLE_PAGES * PAGE);
        // SAFETY: the readable pages in front of the hole are ours alone.
        unsafe { sys::bytes_mut(buf_hole - gen::HOLE_PAGES * PAGE, gen::HOLE_PAGES * PAGE) }.fill(0x5a);
        Exec {
            sh,
            tid,
            seg_hole: sys::map_with_hole(PAGE),
            buf_hole,
            cmd: sys::map_with_hole(gen::CMD_REGION) - gen::CMD_REGION,
            crash: sys::crash_window(),
        }
    }

    /// The crash window as [start, end + 1); a made-up one when there is none.
    fn window(&self) -> (u64, u64) {
        self.crash.map_or((0x3000_0000, 0x3000_0000 + (96 << 20)), |(s, e)| (s, e + 1))
    }

    fn addr(&self, a: Addr) -> u64 {
        let (cs, ce) = self.window();
        match a {
            Addr::Abs(x) => x,
            Addr::Crash(o) => cs.wrapping_add(o as u64),
            Addr::CrashEnd(o) => ce.wrapping_add(o as u64),
        }
    }

    fn size(&self, s: Size) -> u64 {
        let (cs, ce) = self.window();
        match s {
            Size::Abs(x) => x,
            Size::Crash(o) => (ce - cs).wrapping_add(o as u64),
        }
    }

    fn buf(&self, b: Buf) -> u64 {
        match b {
            Buf::Arena(o) => self.sh.arena + o,
            Buf::Null => 0,
            Buf::Hole(n) => self.buf_hole - n,
            Buf::Unmapped => self.sh.unmapped,
            Buf::Kernel => KERNEL_ADDR,
            Buf::Wild(x) => x,
        }
    }

    fn path(&self, what: &str) -> String {
        format!("{DIR}/t{}-{what}", self.tid)
    }

    /// Opens the descriptor a call names; `writer` gets a second descriptor
    /// to close afterwards.
    fn open_fd(&self, fd: &Fd, writer: &mut Vec<i32>) -> i32 {
        let rd = libc::O_RDONLY;
        match fd {
            Fd::Kernel => sys::open(KERNEL, rd),
            Fd::Mutant(m) => {
                let p = self.path("mutant");
                if fs::write(&p, mutate::apply(&self.sh.bz, m)).is_err() {
                    die(&format!("cannot write {p}"));
                }
                sys::open(&p, rd)
            }
            Fd::Synthetic { seed, len, header } => {
                let p = self.path("synthetic");
                if fs::write(&p, mutate::synthetic(*seed, *len as usize, *header)).is_err() {
                    die(&format!("cannot write {p}"));
                }
                sys::open(&p, rd)
            }
            Fd::Initrd => sys::open(INITRD, rd),
            Fd::Minus1 => -1,
            Fd::Closed => -1, // resolved once every other descriptor is open
            Fd::Dir => sys::open("/", rd | libc::O_DIRECTORY),
            Fd::DevNull => sys::open("/dev/null", rd),
            Fd::Empty => sys::open(&format!("{DIR}/empty"), rd),
            Fd::WriteOnly => sys::open(&format!("{DIR}/wronly"), libc::O_WRONLY),
            Fd::OPath => sys::open(KERNEL, libc::O_PATH),
            Fd::Busy => {
                let p = format!("{DIR}/busy");
                writer.push(sys::open(&p, libc::O_WRONLY));
                sys::open(&p, rd)
            }
            Fd::Sparse(n) => {
                let p = self.path("sparse");
                sys::close(sys::open(&p, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC));
                let c = std::ffi::CString::new(p.clone()).expect("path");
                // SAFETY: truncate(2) of our own file by a NUL-terminated path.
                unsafe { libc::truncate(c.as_ptr(), *n as i64) };
                sys::open(&p, rd)
            }
            Fd::Num(n) => *n,
        }
    }

    fn run(&mut self, op: &Op) -> Answer {
        match op {
            Op::Load(l) => {
                let segs: Vec<sys::KSeg> = l
                    .segs
                    .iter()
                    .map(|s| sys::KSeg {
                        buf: self.buf(s.buf),
                        bufsz: s.bufsz,
                        mem: self.addr(s.mem),
                        memsz: self.size(s.memsz),
                    })
                    .collect();
                let ptr = match l.array {
                    Array::Here => segs.as_ptr() as u64,
                    Array::Null => 0,
                    Array::One => 1,
                    Array::Unmapped => self.sh.unmapped,
                    Array::Kernel => KERNEL_ADDR,
                    Array::Partial(n) => {
                        let n = (n as usize).min(segs.len());
                        let size = std::mem::size_of::<sys::KSeg>();
                        let at = self.seg_hole - (n * size) as u64;
                        // SAFETY: the last n entries' worth of the page in
                        // front of the hole, ours alone.
                        let dst = unsafe { sys::bytes_mut(at, (n * size) as u64) };
                        for (i, s) in segs[..n].iter().enumerate() {
                            for (j, v) in [s.buf, s.bufsz, s.mem, s.memsz].iter().enumerate() {
                                dst[i * size + j * 8..][..8].copy_from_slice(&v.to_ne_bytes());
                            }
                        }
                        at
                    }
                };
                sys::kexec_load(self.addr(l.entry), l.nr, ptr, l.flags)
            }
            Op::File(f) => {
                let mut writers = Vec::new();
                let mut k = self.open_fd(&f.kernel, &mut writers);
                let mut i = self.open_fd(&f.initrd, &mut writers);
                let mut closed = Vec::new();
                for (d, fd) in [(&f.kernel, &mut k), (&f.initrd, &mut i)] {
                    if *d == Fd::Closed {
                        let n = sys::open("/dev/null", libc::O_RDONLY);
                        sys::close(n);
                        *fd = n;
                        closed.push(n);
                    }
                }
                let c = &f.cmdline;
                let ptr = match c.at {
                    CmdAt::Start => {
                        // SAFETY: the command line region is ours alone.
                        let r = unsafe { sys::bytes_mut(self.cmd, gen::CMD_REGION) };
                        r.fill(0);
                        r[..c.text.len()].copy_from_slice(&c.text);
                        self.cmd
                    }
                    CmdAt::AtHole => {
                        let at = self.cmd + gen::CMD_REGION - c.text.len() as u64;
                        // SAFETY: as above.
                        unsafe { sys::bytes_mut(at, c.text.len() as u64) }.copy_from_slice(&c.text);
                        at
                    }
                    CmdAt::Null => 0,
                    CmdAt::Unmapped => self.sh.unmapped,
                    CmdAt::Kernel => KERNEL_ADDR,
                };
                let a = sys::kexec_file_load(k, i, c.len, ptr, f.flags);
                for fd in [k, i].into_iter().chain(writers) {
                    if fd > 2 && !closed.contains(&fd) && !matches!(f.kernel, Fd::Num(n) if n == fd) {
                        sys::close(fd);
                    }
                }
                a
            }
            Op::Write(w) => sys::write_once(w.target.path(), &w.bytes),
        }
    }
}

/// Counts for the summary line.
#[derive(Default)]
struct Stats {
    calls: u64,
    loads: u64,
    files: u64,
    writes: u64,
    loaded_ok: u64,
    files_ok: u64,
    files_ok_secs: f64,
    /// Successful writes to kexec_crash_size (most leave it as it was).
    size_writes: u64,
    errnos: BTreeMap<String, u64>,
}

impl Stats {
    fn count(&mut self, op: &Op, a: Answer, secs: f64) {
        self.calls += 1;
        match op {
            Op::Load(_) => self.loads += 1,
            Op::File(_) => self.files += 1,
            Op::Write(_) => self.writes += 1,
        }
        if a.ok() && op.is_load() {
            self.loaded_ok += 1;
            if let Op::File(_) = op {
                self.files_ok += 1;
                self.files_ok_secs += secs;
            }
        }
        if !a.ok() {
            *self.errnos.entry(errno_name(a.errno)).or_default() += 1;
        }
    }

    fn add(&mut self, o: &Stats) {
        self.calls += o.calls;
        self.loads += o.loads;
        self.files += o.files;
        self.writes += o.writes;
        self.loaded_ok += o.loaded_ok;
        self.files_ok += o.files_ok;
        self.files_ok_secs += o.files_ok_secs;
        self.size_writes += o.size_writes;
        for (k, v) in &o.errnos {
            *self.errnos.entry(k.clone()).or_default() += v;
        }
    }

    fn errnos(&self) -> String {
        let mut v: Vec<_> = self.errnos.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.iter().map(|(k, n)| format!("{k}={n}")).collect::<Vec<_>>().join(" ")
    }
}

fn show(s: &State) -> String {
    format!(
        "loaded={} crash_loaded={} crash_size={}",
        State::show(s.loaded),
        State::show(s.crash_loaded),
        State::show(s.crash_size)
    )
}

fn answer_text(a: Answer) -> String {
    format!("ret={} errno={}", a.ret, errno_name(a.errno))
}

/// The sysctl value a refused write must leave alone.
fn sysctl_before(op: &Op) -> Option<(String, Option<String>)> {
    match op {
        Op::Write(w) if w.target != Target::CrashSize => {
            let p = w.target.path().to_string();
            let v = sys::read_small(&p);
            Some((p, v))
        }
        _ => None,
    }
}

fn sysctl_check(before: &Option<(String, Option<String>)>) -> Result<(), String> {
    if let Some((p, v)) = before {
        let now = sys::read_small(p);
        if &now != v {
            return Err(format!("{p} changed from {v:?} to {now:?} on a write it must refuse"));
        }
    }
    Ok(())
}

/// A complaint in what the kernel logged since the last look: the line and
/// the log around it (the rest of a report comes a moment later).
fn kernel_complaint(kmsg: &mut Option<sys::Kmsg>) -> Option<(String, Vec<String>)> {
    let k = kmsg.as_mut()?;
    let mut lines = k.drain();
    let pos = lines.iter().position(|l| sys::is_complaint(l))?;
    std::thread::sleep(std::time::Duration::from_millis(300));
    lines.extend(k.drain());
    let excerpt = lines[pos.saturating_sub(5)..].iter().take(60).cloned().collect();
    Some((format!("the kernel logged: {}", lines[pos]), excerpt))
}

struct Mismatch<'a> {
    seed: u64,
    tid: Option<usize>,
    index: u64,
    desc: &'a str,
    a: Answer,
    pre: Option<State>,
    post: State,
    why: String,
    /// Kernel log lines that go with it.
    kernel: Vec<String>,
}

fn report(m: Mismatch<'_>, ring: &VecDeque<String>) -> ! {
    // One report, whole: the first thread to get here exits the program.
    static ONE: Mutex<()> = Mutex::new(());
    let _one = ONE.lock();
    let who = m.tid.map_or(String::new(), |t| format!(", thread {t}"));
    println!("kexec-fuzz: MISMATCH at call {} (seed {}{who}): {}", m.index, m.seed, m.why);
    println!("kexec-fuzz: call {:05} {}: {}", m.index, m.desc, answer_text(m.a));
    if let Some(pre) = m.pre {
        println!("kexec-fuzz: state before: {}", show(&pre));
    }
    println!("kexec-fuzz: state after:  {}", show(&m.post));
    match m.tid {
        None => println!("kexec-fuzz: replay: kexec-fuzz replay {} {}", m.seed, m.index + 1),
        Some(t) => {
            println!("kexec-fuzz: thread {t} draws from Rng::fork({}, {}); its calls alone: see below", m.seed, t + 1)
        }
    }
    if !m.kernel.is_empty() {
        println!("kexec-fuzz: kernel log:");
        for l in &m.kernel {
            println!("  {l}");
        }
    }
    println!("kexec-fuzz: the last {} calls{who}:", ring.len());
    for l in ring {
        println!("  {l}");
    }
    std::process::exit(1);
}

fn setup(seed: u64) -> Shared {
    let bz = fs::read(KERNEL).unwrap_or_else(|e| die(&format!("cannot read {KERNEL}: {e}")));
    let arena = sys::map_with_hole(gen::ARENA) - gen::ARENA;
    // SAFETY: the arena is ours; it is only read (by the kernel) from here on.
    Rng::fork(seed, 0xa7e7a).fill(unsafe { sys::bytes_mut(arena, gen::ARENA) });
    Shared { arena, unmapped: sys::unmapped_page(), bz }
}

fn make_files() {
    let _ = fs::remove_dir_all(DIR);
    fs::create_dir_all(DIR).unwrap_or_else(|e| die(&format!("cannot create {DIR}: {e}")));
    let ok = fs::write(format!("{DIR}/empty"), b"").is_ok()
        && fs::write(format!("{DIR}/wronly"), vec![0x11u8; 4096]).is_ok()
        && fs::write(format!("{DIR}/busy"), vec![0x22u8; 4096]).is_ok();
    if !ok {
        die(&format!("cannot create the files in {DIR}"));
    }
}

fn unload_both() -> (Answer, Answer) {
    (sys::kexec_load(0, 0, 0, 0), sys::kexec_load(0, 0, 0, gen::KEXEC_ON_CRASH))
}

/// One thread's calls, each checked against the state before it; `replay`
/// prints one line per call.
fn single(seed: u64, calls: u64, replay: bool, sh: &Shared, t0: Instant) -> Stats {
    let mut ex = Exec::new(sh, 0);
    let mut rng = Rng::new(seed);
    let mut stats = Stats::default();
    let mut ring = VecDeque::new();
    let mut kmsg = sys::Kmsg::open();
    let mut pre = sys::state();
    let limits = sys::limits();
    let final_from = calls - calls / 100;
    for i in 0..calls {
        let ctx = gen::Ctx { crash_size: pre.crash_size.unwrap_or(0), limits, final_phase: i >= final_from, replay };
        let op = gen::op(&mut rng, &ctx);
        let desc = op.to_string();
        let before = sysctl_before(&op);
        let t = Instant::now();
        let a = ex.run(&op);
        let secs = t.elapsed().as_secs_f64();
        let post = sys::state();
        stats.count(&op, a, secs);
        if replay {
            println!("{i:05} {desc}: {} {}", answer_text(a), show(&post));
        }
        if ring.len() == RING {
            ring.pop_front();
        }
        ring.push_back(format!("{i:05} {desc}: {} -> {}", answer_text(a), show(&post)));
        let check = model::check_single(&pre, &post, &op.effect(), a).and_then(|()| sysctl_check(&before));
        if let Err(why) = check {
            let kernel = kmsg.as_mut().map(|k| k.drain()).unwrap_or_default();
            report(Mismatch { seed, tid: None, index: i, desc: &desc, a, pre: Some(pre), post, why, kernel }, &ring);
        }
        if let Some((why, kernel)) = kernel_complaint(&mut kmsg) {
            report(Mismatch { seed, tid: None, index: i, desc: &desc, a, pre: Some(pre), post, why, kernel }, &ring);
        }
        if matches!(&op, Op::Write(w) if w.target == Target::CrashSize && !w.bytes.is_empty()) && a.ok() {
            stats.size_writes += 1;
        }
        if post.crash_size != pre.crash_size {
            ex.crash = sys::crash_window();
        }
        pre = post;
        if !replay && (i + 1) % 10_000 == 0 {
            eprintln!("kexec-fuzz: progress {} calls, {:.1} s", i + 1, t0.elapsed().as_secs_f64());
        }
    }
    stats
}

/// Several threads at once; returns the merged stats and the smallest size a
/// successful kexec_crash_size write asked for.
fn concurrent(seed: u64, calls: u64, threads: usize, sh: Arc<Shared>, t0: Instant) -> (Stats, u64) {
    let initial = sys::state().crash_size.unwrap_or(0);
    let any_final = Arc::new(AtomicBool::new(false));
    let min_size = Arc::new(AtomicU64::new(initial));
    let done = Arc::new(AtomicU64::new(0));
    let total = Arc::new(Mutex::new(Stats::default()));
    let limits = sys::limits();
    let mut handles = Vec::new();
    for t in 0..threads {
        let mine = calls / threads as u64 + u64::from((t as u64) < calls % threads as u64);
        let (sh, any_final, min_size, done, total) =
            (sh.clone(), any_final.clone(), min_size.clone(), done.clone(), total.clone());
        let h = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                let mut ex = Exec::new(&sh, t);
                let mut rng = Rng::fork(seed, t as u64 + 1);
                let mut stats = Stats::default();
                let mut ring = VecDeque::new();
                let mut last = Some(initial);
                let mut kmsg = sys::Kmsg::open();
                let mut backoff = 1;
                let final_from = mine - mine / 100;
                for i in 0..mine {
                    let final_phase = i >= final_from;
                    if final_phase {
                        any_final.store(true, Ordering::SeqCst);
                    }
                    let ctx = gen::Ctx { crash_size: last.unwrap_or(initial), limits, final_phase, replay: false };
                    let op = gen::op(&mut rng, &ctx);
                    let desc = op.to_string();
                    let before = sysctl_before(&op);
                    let t1 = Instant::now();
                    let a = ex.run(&op);
                    let secs = t1.elapsed().as_secs_f64();
                    let post = sys::state();
                    stats.count(&op, a, secs);
                    if ring.len() == RING {
                        ring.pop_front();
                    }
                    ring.push_back(format!("{i:05} {desc}: {} -> {}", answer_text(a), show(&post)));
                    let fixed = if any_final.load(Ordering::SeqCst) { None } else { Some(initial) };
                    let mut check = model::check_concurrent(&post, last, fixed, a).and_then(|()| sysctl_check(&before));
                    if check.is_ok() {
                        check = concurrent_op_check(&op, a);
                    }
                    if let Err(why) = check {
                        let kernel = kmsg.as_mut().map(|k| k.drain()).unwrap_or_default();
                        report(
                            Mismatch { seed, tid: Some(t), index: i, desc: &desc, a, pre: None, post, why, kernel },
                            &ring,
                        );
                    }
                    if let Some((why, kernel)) = kernel_complaint(&mut kmsg) {
                        let why = format!("{why} (another thread's call may have caused it)");
                        report(
                            Mismatch { seed, tid: Some(t), index: i, desc: &desc, a, pre: None, post, why, kernel },
                            &ring,
                        );
                    }
                    if let Op::Write(w) = &op {
                        if w.target == Target::CrashSize && a.ok() && !w.bytes.is_empty() {
                            if let Some(v) = model::kstrtoull(&w.bytes) {
                                min_size.fetch_min(model::roundup_wrapping(v), Ordering::SeqCst);
                            }
                            stats.size_writes += 1;
                            ex.crash = sys::crash_window();
                        }
                    }
                    if post.crash_size.is_some() {
                        last = post.crash_size;
                    }
                    if a.errno == libc::EBUSY {
                        // Another thread holds the kexec lock, perhaps for a
                        // file load's half second: back off (1, 2, 4 ... 64
                        // ms) rather than spend the calls on more EBUSY.
                        std::thread::sleep(std::time::Duration::from_millis(backoff));
                        backoff = (backoff * 2).min(64);
                    } else {
                        backoff = 1;
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n % 10_000 == 0 {
                        eprintln!("kexec-fuzz: progress {n} calls, {:.1} s", t0.elapsed().as_secs_f64());
                    }
                }
                total.lock().expect("stats lock").add(&stats);
            })
            .unwrap_or_else(|e| die(&format!("cannot start a thread: {e}")));
        handles.push(h);
    }
    for h in handles {
        if h.join().is_err() {
            die("a fuzzing thread panicked");
        }
    }
    let stats = std::mem::take(&mut *total.lock().expect("stats lock"));
    (stats, min_size.load(Ordering::SeqCst))
}

/// What holds for one call whatever the other threads do.
fn concurrent_op_check(op: &Op, a: Answer) -> Result<(), String> {
    match op {
        Op::Load(_) | Op::File(_) if a.ok() && a.ret != 0 => Err(format!("a load returned {}", a.ret)),
        Op::Write(w) if w.target != Target::CrashSize => {
            let empty = w.bytes.is_empty();
            match (empty, a.ok(), a.errno) {
                (true, true, _) if a.ret == 0 => Ok(()),
                (false, false, libc::EINVAL) => Ok(()),
                _ => Err(format!("a write to {} that must be refused: {}", w.target.path(), answer_text(a))),
            }
        }
        Op::Write(w) if a.ok() && a.ret != w.bytes.len() as i64 => {
            Err(format!("a write of {} bytes returned {}", w.bytes.len(), a.ret))
        }
        _ => Ok(()),
    }
}

/// kexec_load_disabled=1, then loads must be refused.
fn disable_last() -> Result<(), String> {
    let w = sys::write_once(Target::Disabled.path(), b"1");
    if !w.ok() {
        return Err(format!("writing 1 to kexec_load_disabled: {}", answer_text(w)));
    }
    let checks = [
        ("kexec_load unload", sys::kexec_load(0, 0, 0, 0)),
        ("kexec_load crash unload", sys::kexec_load(0, 0, 0, gen::KEXEC_ON_CRASH)),
        ("kexec_file_load unload", sys::kexec_file_load(-1, -1, 0, 0, gen::KEXEC_FILE_UNLOAD)),
    ];
    for (what, a) in checks {
        if a.ok() || a.errno != libc::EPERM {
            return Err(format!("{what} with kexec_load_disabled=1: {}, expected EPERM", answer_text(a)));
        }
    }
    let back = sys::write_once(Target::Disabled.path(), b"0");
    if back.ok() {
        return Err("kexec_load_disabled went back to 0".into());
    }
    match sys::read_small(Target::Disabled.path()).as_deref() {
        Some("1") => Ok(()),
        v => Err(format!("kexec_load_disabled reads {v:?} after writing 1")),
    }
}

fn parse_u64(s: &str, what: &str) -> u64 {
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.unwrap_or_else(|_| die(&format!("{what} must be a number, not '{s}'")))
}

fn usage() -> ! {
    die("usage: kexec-fuzz run SEED CALLS [THREADS] [--disable-last] | kexec-fuzz replay SEED CALLS | kexec-fuzz race ROUNDS")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let disable = args.iter().any(|a| a == "--disable-last");
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).filter(|a| *a != "--disable-last").collect();
    if let ["race", n] = args.as_slice() {
        std::process::exit(race::race(parse_u64(n, "ROUNDS")));
    }
    let (mode, seed, calls, threads) = match args.as_slice() {
        ["replay", s, c] => ("replay", parse_u64(s, "SEED"), parse_u64(c, "CALLS"), 1),
        ["run", s, c] => ("run", parse_u64(s, "SEED"), parse_u64(c, "CALLS"), 1),
        ["run", s, c, t] => {
            ("run", parse_u64(s, "SEED"), parse_u64(c, "CALLS"), parse_u64(t, "THREADS").max(1) as usize)
        }
        _ => usage(),
    };
    let replay = mode == "replay";
    // Large buffers (the mutated kernel images, megabytes each) straight from mmap and back
    // to the kernel when freed: glibc would otherwise raise its threshold and
    // keep megabytes in each thread's arena, which reads as lost MemAvailable.
    // SAFETY: mallopt(3) before any thread exists.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10) };
    let sh = Arc::new(setup(seed));
    let start = sys::state();
    if start.loaded.is_none() || start.crash_loaded.is_none() || start.crash_size.is_none() {
        die(&format!("cannot read /sys/kernel/kexec_*: {}", show(&start)));
    }
    let mem_before = if replay { 0 } else { sys::mem_available_kb(3) };
    make_files();
    let t0 = Instant::now();
    let (stats, min_size) = if threads == 1 {
        let s = single(seed, calls, replay, &sh, t0);
        (s, 0)
    } else {
        concurrent(seed, calls, threads, sh.clone(), t0)
    };
    let secs = t0.elapsed().as_secs_f64();

    // Unload both and check the end state.
    let (u1, u2) = unload_both();
    let end = sys::state();
    let _ = fs::remove_dir_all(DIR);
    let mut problems = Vec::new();
    if !u1.ok() || !u2.ok() {
        problems.push(format!("unloading at the end: {} / {}", answer_text(u1), answer_text(u2)));
    }
    if end.loaded != Some(0) || end.crash_loaded != Some(0) {
        problems.push(format!("after unloading both: {}", show(&end)));
    }
    if threads > 1 && end.crash_size != Some(min_size.min(start.crash_size.unwrap_or(0))) {
        problems.push(format!(
            "kexec_crash_size is {} after the threads, expected {} (start {}, smallest successful write {min_size})",
            State::show(end.crash_size),
            min_size.min(start.crash_size.unwrap_or(0)),
            State::show(start.crash_size)
        ));
    }
    // SAFETY: malloc_trim(3) gives free heap memory back to the kernel.
    unsafe { libc::malloc_trim(0) };
    let freed_kb = (start.crash_size.unwrap_or(0).saturating_sub(end.crash_size.unwrap_or(0)) / 1024) as i64;
    let drift = if replay { 0 } else { mem_before as i64 + freed_kb - sys::mem_available_kb(5) as i64 };
    if !replay && drift > SLACK_KB {
        problems.push(format!("MemAvailable dropped by {drift} KiB (more than {SLACK_KB} KiB)"));
    }

    let summary = format!(
        "kexec-fuzz: seed {seed}, {} calls in {secs:.1} s ({} kexec_load, {} kexec_file_load, {} writes), {} loads succeeded, errnos: {}, {} state mismatches, MemAvailable drift {drift} KiB",
        stats.calls, stats.loads, stats.files, stats.writes, stats.loaded_ok, stats.errnos(), problems.len()
    );
    let mut detail = format!(
        "kexec-fuzz: {threads} thread(s), {:.0} calls/s; {} file loads succeeded ({:.1} s); kexec_crash_size {} -> {} ({} successful writes)",
        stats.calls as f64 / secs.max(1e-9),
        stats.files_ok,
        stats.files_ok_secs,
        State::show(start.crash_size),
        State::show(end.crash_size),
        stats.size_writes
    );
    if !replay {
        detail += &format!("; MemAvailable {mem_before} KiB at the start");
    }
    if replay {
        eprintln!("{summary}");
        eprintln!("{detail}");
    } else {
        println!("{summary}");
        println!("{detail}");
    }
    if !problems.is_empty() {
        for p in &problems {
            println!("kexec-fuzz: MISMATCH at the end: {p}");
        }
        std::process::exit(1);
    }
    if disable {
        if let Err(e) = disable_last() {
            println!("kexec-fuzz: MISMATCH after kexec_load_disabled=1: {e}");
            std::process::exit(1);
        }
        println!("kexec-fuzz: kexec_load_disabled=1 as the last call: every load refused with EPERM");
    }
}

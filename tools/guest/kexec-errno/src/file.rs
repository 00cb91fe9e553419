// SPDX-License-Identifier: GPL-2.0

//! `kexec-errno file`: the kexec_file_load(2) corpus, the deterministic suite of
//! Documentation/kexec-file-port.rst section 6 (its T-numbers are in the case
//! names). Runs in the guest as root, booted with crashkernel=. For each case
//! it prints one line:
//!
//!     NN name: errno=NAME loaded=L crash_loaded=C crash_size=S
//!
//! then, indented, the kernel's log lines of the call from kexec_file_load's
//! own files (prefixes `kexec_file:`, `kexec-bzImage64:`, `kexec:`,
//! `crash_core:`, ...; not `kexec_rust:`, whose lines are ours alone, except
//! that `kexec_rust: kexec_file: ` and `kexec_rust: kexec-bzImage64: `, the
//! Rust port's stock lines under the crate's own prefix, count as stock's),
//! with addresses masked, and "Crash PT_LOAD ELF header" lines only counted. The
//! host runs it on the stock and on the rust kernel and diffs the output, so
//! nothing in it may depend on anything but the kernel's behaviour: the
//! bzImage is each flavour's own, so no size, address or time is printed.
//!
//! The files the cases need (truncated and patched copies of /boot/bzImage,
//! sparse files larger than the limits, random bytes, an empty file) are made
//! in a tmpfs of its own. Unless a case says otherwise it starts with nothing
//! loaded. What cannot be undone comes last, in this order: the reboot load
//! limit, shrinking the crash reservation to 1 MiB and to nothing (the crash
//! loads "without a reservation"), the panic load limit, kexec_load_disabled.

use std::ffi::CString;
use std::fs;
use std::io::Error;
use std::ptr;

const DIR: &str = "/tmp/kexec-file-errno";
/// The flavour's kernel: a bzImage on x86, the raw Image on arm64.
#[cfg(not(target_arch = "aarch64"))]
const KERNEL: &str = "/boot/bzImage";
#[cfg(target_arch = "aarch64")]
const KERNEL: &str = "/boot/Image";
/// arm64's `COMMAND_LINE_SIZE`: the Image header has no cmdline_size, so the
/// command line cases take their lengths from it.
const ARM64_COMMAND_LINE_SIZE: u64 = 2048;
/// arm64 Image header offsets (Documentation/arch/arm64/booting.rst).
const IMG_TEXT_OFFSET: usize = 8;
const IMG_IMAGE_SIZE: usize = 16;
const IMG_FLAGS: usize = 24;
const IMG_MAGIC: usize = 56;
const INITRD: &str = "/boot/initrd.gz";
const PAGE: u64 = 4096;
const KERNEL_ADDR: u64 = 0xffff_ffff_8100_0000;

const UNLOAD: u64 = 0x1;
const ON_CRASH: u64 = 0x2;
const NO_INITRAMFS: u64 = 0x4;
const DEBUG: u64 = 0x8;
const NO_CMA: u64 = 0x10;
const FORCE_DTB: u64 = 0x20;

/// Setup header offsets (Documentation/arch/x86/boot.rst).
const SETUP_SECTS: usize = 0x1f1;
const BOOT_FLAG: usize = 0x1fe;
const HDRS: usize = 0x202;
const VERSION: usize = 0x206;
const LOADFLAGS: usize = 0x211;
const XLOADFLAGS: usize = 0x236;
const CMDLINE_SIZE: usize = 0x238;
const LOADED_HIGH: u8 = 1 << 0;
const XLF_KERNEL_64: u16 = 1 << 0;
const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;
const XLF_5LEVEL: u16 = 1 << 5;
/// `MAX_ELFCOREHDR_STR_LEN`: room bzImage64_load keeps for `elfcorehdr=0x... `.
const ELFCOREHDR_ROOM: u64 = 30;

fn errno_name(e: i32) -> String {
    let name = match e {
        0 => "0",
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ENOSYS => "ENOSYS",
        libc::ENODATA => "ENODATA",
        libc::ELIBBAD => "ELIBBAD",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENOKEY => "ENOKEY",
        libc::EKEYREJECTED => "EKEYREJECTED",
        n => return format!("errno{n}"),
    };
    name.into()
}

/// The raw system call with 64-bit arguments (the kernel truncates the
/// descriptors to `int`): the errno, or 0.
fn kfl(kernel: u64, initrd: u64, len: u64, cmdline: u64, flags: u64) -> i32 {
    // SAFETY: a raw system call; the kernel validates every argument, which is
    // what this program tests. It reads our memory only.
    let r = unsafe { libc::syscall(libc::SYS_kexec_file_load, kernel, initrd, len, cmdline, flags) };
    if r < 0 {
        Error::last_os_error().raw_os_error().unwrap_or(0)
    } else {
        0
    }
}

/// A descriptor as the 64-bit register value the C library would pass.
fn fd(n: i32) -> u64 {
    n as i64 as u64
}

/// kexec_load of one page at 256 MiB, for the cases that mix the two calls.
fn kexec_load_page(page: *const u8) -> i32 {
    #[repr(C)]
    struct Seg {
        buf: *const u8,
        bufsz: usize,
        mem: u64,
        memsz: u64,
    }
    let m: u64 = 0x1000_0000;
    let seg = [Seg { buf: page, bufsz: PAGE as usize, mem: m, memsz: PAGE }];
    // SAFETY: a raw system call reading our segment list and page.
    let r = unsafe { libc::syscall(libc::SYS_kexec_load, m, 1u64, seg.as_ptr(), 0u64) };
    if r < 0 {
        Error::last_os_error().raw_os_error().unwrap_or(0)
    } else {
        0
    }
}

fn kexec_load_unload() -> i32 {
    // SAFETY: the unload form of kexec_load reads nothing.
    let r = unsafe { libc::syscall(libc::SYS_kexec_load, 0u64, 0u64, ptr::null::<u8>(), 0u64) };
    if r < 0 {
        Error::last_os_error().raw_os_error().unwrap_or(0)
    } else {
        0
    }
}

/// A command line that lives as long as the program: (length, pointer).
fn text(bytes: Vec<u8>) -> (u64, u64) {
    let v = bytes.leak();
    (v.len() as u64, v.as_ptr() as u64)
}

/// `len` bytes of `console=ttyS0 xxx...`, the last one NUL when `nul`.
fn cmdline_of(len: usize, nul: bool) -> (u64, u64) {
    let mut v: Vec<u8> = b"console=ttyS0 ".iter().copied().chain(std::iter::repeat(b'x')).take(len).collect();
    if nul {
        *v.last_mut().expect("len > 0") = 0;
    }
    text(v)
}

fn die(msg: &str) -> ! {
    println!("kexec-errno file: {msg}");
    std::process::exit(2);
}

fn cpath(path: &str) -> CString {
    CString::new(path).expect("path without NUL")
}

fn open(path: &str, flags: i32) -> i32 {
    let p = cpath(path);
    // SAFETY: `p` is a NUL-terminated path.
    let fd = unsafe { libc::open(p.as_ptr(), flags, 0o644) };
    if fd < 0 {
        die(&format!("cannot open {path}: {}", Error::last_os_error()));
    }
    fd
}

fn close(fd: i32) {
    // SAFETY: closing a descriptor this program opened.
    unsafe { libc::close(fd) };
}

fn file(name: &str, bytes: &[u8]) -> String {
    let p = format!("{DIR}/{name}");
    fs::write(&p, bytes).unwrap_or_else(|e| die(&format!("cannot write {p}: {e}")));
    p
}

/// A sparse file of `size` bytes (tmpfs reads its holes as zeros without
/// allocating).
fn sparse(name: &str, size: u64) -> String {
    let p = format!("{DIR}/{name}");
    let fd = open(&p, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC);
    // SAFETY: ftruncate(2) of our own descriptor.
    if unsafe { libc::ftruncate(fd, size as i64) } != 0 {
        die(&format!("cannot extend {p} to {size} bytes: {}", Error::last_os_error()));
    }
    close(fd);
    p
}

fn sys(path: &str) -> String {
    fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_else(|_| "missing".into())
}

fn meminfo_kb(key: &str) -> u64 {
    let text = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// One write(2) to a sysfs or sysctl file: "ok" or the errno's name.
fn write_knob(path: &str, value: &str) -> String {
    match fs::write(path, value) {
        Ok(()) => "ok".into(),
        Err(e) => errno_name(e.raw_os_error().unwrap_or(0)),
    }
}

/// /dev/kmsg from where it stood when last drained.
struct Kmsg {
    fd: i32,
}

impl Kmsg {
    fn open() -> Option<Kmsg> {
        let p = cpath("/dev/kmsg");
        // SAFETY: `p` is a NUL-terminated path.
        let fd = unsafe { libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK) };
        if fd < 0 {
            return None;
        }
        // SAFETY: seeking our own descriptor to the end of the log.
        unsafe { libc::lseek(fd, 0, libc::SEEK_END) };
        Some(Kmsg { fd })
    }

    /// The messages logged since the last call, without their record headers.
    fn drain(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: reading one record into our own buffer.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                if Error::last_os_error().raw_os_error() == Some(libc::EPIPE) {
                    out.push("(kernel log records lost)".into());
                    continue;
                }
                return out;
            }
            if n == 0 {
                return out;
            }
            let rec = String::from_utf8_lossy(&buf[..n as usize]);
            let line = rec.lines().next().unwrap_or("");
            out.push(line.split_once(';').map_or(line, |(_, m)| m).to_string());
        }
    }
}

/// The prefixes of the files that serve kexec_file_load in stock (their
/// `pr_fmt`s), and the signature verifier's.
const LOG_PREFIXES: &[&str] =
    &["kexec_file", "kexec-bzImage64", "kexec_file(Image)", "kexec", "kexec_core", "crash_core", "crash hp", "PEFILE"];

/// `0x...` and runs of 8 or more hex digits (hashed pointers, e820 ranges)
/// become `#`: they are addresses and sizes, which differ between builds.
fn mask(line: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let hex = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_hexdigit());
        if word.len() > 2 && (word.starts_with("0x") || word.starts_with("0X")) && hex(&word[2..]) {
            out.push_str("0x#");
        } else if word.len() >= 8 && hex(word) {
            out.push('#');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in line.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The lines of `raw` that kexec_file_load's files logged, and the
/// allocator's warnings (T37 must have none), masked.
fn kernel_lines(raw: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut pt_load = 0;
    for l in raw {
        // The Rust crate's messages all start with its module's prefix; those
        // that carry stock's text keep stock's prefix after it.
        let l = match l.strip_prefix("kexec_rust: ") {
            Some(rest)
                if rest.starts_with("kexec_file: ")
                    || rest.starts_with("kexec-bzImage64: ")
                    || rest.starts_with("kexec_file(Image): ") =>
            {
                rest.to_string()
            }
            _ => l,
        };
        // arm64's stock loader logs this line without a newline, so it reaches
        // /dev/kmsg only with the next message, in a later case or never; ours
        // ends it. The case's answer (EADDRNOTAVAIL) is compared all the same.
        if l.ends_with("Could not find any suitable kernel location!") {
            continue;
        }
        // Stock's and the Rust elfcorehdr's wordings differ (spec 1.10): count them.
        if l.contains("Crash PT_LOAD ELF header") {
            pt_load += 1;
            continue;
        }
        let prefix = l.split_once(": ").map_or("", |(p, _)| p);
        // An allocator's warning names the caller (kexec-errno) as its prefix.
        let alloc = l.contains("vmalloc error") || l.contains("allocation failure");
        if LOG_PREFIXES.contains(&prefix) || alloc || l.starts_with("(kernel log") {
            out.push(mask(&l));
        }
    }
    if pt_load > 0 {
        out.push(format!("({pt_load} lines \"Crash PT_LOAD ELF header...\")"));
    }
    out
}

/// Who runs a call in a child process.
#[derive(Clone, Copy)]
enum Caller {
    /// setgid/setuid 65534: every capability is gone.
    Nobody,
    /// Still uid 0, CAP_SYS_BOOT dropped from the effective and permitted sets.
    RootWithoutSysBoot,
}

/// Runs `f` in a child as `who`; its errno, or -1 if the child could not
/// drop its privileges or report.
fn in_child(who: Caller, f: impl FnOnce() -> i32) -> i32 {
    let mut pipe = [0i32; 2];
    // SAFETY: pipe() fills two descriptors.
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    // SAFETY: fork in a single-threaded program.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let dropped = match who {
            // SAFETY: dropping privileges in the child.
            Caller::Nobody => unsafe { libc::setgid(65534) == 0 && libc::setuid(65534) == 0 },
            Caller::RootWithoutSysBoot => drop_sys_boot(),
        };
        let e = if dropped { f() } else { -1 };
        // SAFETY: writing 4 bytes from a local to our pipe, then leaving.
        unsafe {
            libc::write(pipe[1], (&e as *const i32).cast(), 4);
            libc::_exit(0);
        }
    }
    let mut e = -1i32;
    // SAFETY: reading 4 bytes into a local; waiting for our child.
    unsafe {
        if libc::read(pipe[0], (&mut e as *mut i32).cast(), 4) != 4 {
            e = -1;
        }
        libc::waitpid(pid, ptr::null_mut(), 0);
        libc::close(pipe[0]);
        libc::close(pipe[1]);
    }
    e
}

/// capset(2) without CAP_SYS_BOOT (22) in the effective and permitted sets.
fn drop_sys_boot() -> bool {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    const CAP_SYS_BOOT: u32 = 22;
    let mut h = Header { version: VERSION_3, pid: 0 };
    let mut d = [Data::default(); 2];
    // SAFETY: capget(2) fills our header and two data structures.
    if unsafe { libc::syscall(libc::SYS_capget, &mut h as *mut Header, d.as_mut_ptr()) } != 0 {
        return false;
    }
    d[0].effective &= !(1 << CAP_SYS_BOOT);
    d[0].permitted &= !(1 << CAP_SYS_BOOT);
    // SAFETY: capset(2) reads our header and data.
    unsafe { libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()) == 0 }
}

/// Numbers the cases and prints their lines.
struct Run {
    n: usize,
    kmsg: Option<Kmsg>,
}

impl Run {
    fn case(&mut self, name: &str, call: impl FnOnce() -> i32) -> i32 {
        if let Some(k) = self.kmsg.as_mut() {
            k.drain();
        }
        let e = call();
        let log = self.kmsg.as_mut().map(|k| k.drain()).unwrap_or_default();
        // Where a crash load's debug lines put the elfcorehdr: stock's
        // kexec_add_buffer places it bottom-up, at the reservation's start.
        let hdr = log.iter().find_map(|l| {
            let hex = l.split("Loaded ELF headers at 0x").nth(1)?.split(|c: char| !c.is_ascii_hexdigit()).next()?;
            u64::from_str_radix(hex, 16).ok()
        });
        self.n += 1;
        println!(
            "{:02} {name}: errno={} loaded={} crash_loaded={} crash_size={}",
            self.n,
            if e < 0 { "child-failed".into() } else { errno_name(e) },
            sys("/sys/kernel/kexec_loaded"),
            sys("/sys/kernel/kexec_crash_loaded"),
            sys("/sys/kernel/kexec_crash_size"),
        );
        for l in kernel_lines(log) {
            println!("   log: {l}");
        }
        if let Some(h) = hdr {
            let at_start = crate::crash_window().is_some_and(|(s, _)| s == h);
            println!("   elfcorehdr at the reservation's start: {}", if at_start { "yes" } else { "no" });
        }
        e
    }

    /// A line about the setup between cases.
    fn note(&self, what: &str) {
        println!("   {what}");
    }
}

/// Unloads both images; says so only when that fails.
fn reset() {
    for flags in [UNLOAD, UNLOAD | ON_CRASH] {
        let e = kfl(fd(-1), fd(-1), 0, 0, flags);
        if e != 0 {
            println!("   reset: unload with flags {flags:#x}: {}", errno_name(e));
        }
    }
}

/// A copy of the bzImage with `f` applied.
fn patched(bz: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut v = bz.to_vec();
    f(&mut v);
    v
}

fn put16(v: &mut [u8], off: usize, x: u16) {
    v[off..off + 2].copy_from_slice(&x.to_le_bytes());
}

fn get16(v: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([v[off], v[off + 1]])
}

/// Deterministic bytes (xorshift64) that are no kernel.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The arm64 Image cases, in place of the bzImage ones: the header's rules
/// (its length, magic, image_size, endianness and page-size flags), offsets
/// and sizes that leave no place, and crash loads whose kernel fills the
/// reservation so that the other buffers never fit above it (the loader's
/// retry at higher places, until the kernel itself finds none).
fn arm64_image_cases(run: &mut Run, img: &[u8], i_: u64, clen: u64, cptr: u64, crash_size: u64) {
    let rd = libc::O_RDONLY;
    let load_img = |name: &str, bytes: &[u8], flags: u64| {
        let f = open(&file(name, bytes), rd);
        let e = kfl(fd(f), i_, clen, cptr, flags);
        close(f);
        e
    };
    let put64 = |v: &mut Vec<u8>, off: usize, x: u64| v[off..off + 8].copy_from_slice(&x.to_le_bytes());
    let get64 = |off: usize| u64::from_le_bytes(img[off..off + 8].try_into().expect("8 bytes"));
    let with = |f: &dyn Fn(&mut Vec<u8>)| patched(img, f);
    let flags = get64(IMG_FLAGS);
    let size = get64(IMG_IMAGE_SIZE);
    run.case("Image cut at 63 bytes", || load_img("cut-63", &img[..63], 0));
    run.case("Image cut at 64 bytes (the header alone)", || load_img("cut-64", &img[..64], 0));
    reset();
    run.case("Image cut in half", || load_img("cut-half", &img[..img.len() / 2], 0));
    reset();
    run.case("no ARM\\x64 magic", || load_img("no-magic", &with(&|v| v[IMG_MAGIC + 3] = b'A'), 0));
    run.case("image_size 0", || load_img("size-0", &with(&|v| put64(v, IMG_IMAGE_SIZE, 0)), 0));
    run.case("image_size 0 and no magic", || {
        load_img("size-0-no-magic", &with(&|v| {
            put64(v, IMG_IMAGE_SIZE, 0);
            v[IMG_MAGIC] = 0;
        }), 0)
    });
    run.case("big-endian flag", || load_img("be", &with(&|v| put64(v, IMG_FLAGS, flags | 1)), 0));
    reset();
    for (field, kib) in [(0u64, "unspecified"), (1, "4K"), (2, "16K"), (3, "64K")] {
        let name = format!("page size {kib}");
        let bytes = with(&|v| put64(v, IMG_FLAGS, (flags & !6) | field << 1));
        run.case(&name, || load_img(&format!("page-{field}"), &bytes, 0));
        reset();
    }
    run.case("image_size 1 (smaller than the file)", || load_img("size-1", &with(&|v| put64(v, IMG_IMAGE_SIZE, 1)), 0));
    reset();
    run.case("image_size 2^40", || load_img("size-2-40", &with(&|v| put64(v, IMG_IMAGE_SIZE, 1 << 40)), 0));
    run.case("image_size 2^64 - 4096 (rounds past the top)", || {
        load_img("size-wrap", &with(&|v| put64(v, IMG_IMAGE_SIZE, 0u64.wrapping_sub(4096))), 0)
    });
    run.case("text_offset 0x80000", || load_img("text-80000", &with(&|v| put64(v, IMG_TEXT_OFFSET, 0x80000)), 0));
    reset();
    run.case("text_offset 0x1001 (not page aligned)", || {
        load_img("text-1001", &with(&|v| put64(v, IMG_TEXT_OFFSET, 0x1001)), 0)
    });
    reset();
    run.case("text_offset 2^63", || load_img("text-2-63", &with(&|v| put64(v, IMG_TEXT_OFFSET, 1 << 63)), 0));
    run.case("text_offset 2^64 - image_size (wraps to 0)", || {
        load_img("text-wrap", &with(&|v| put64(v, IMG_TEXT_OFFSET, 0u64.wrapping_sub(size))), 0)
    });
    reset();
    run.case("busybox, initrd fd -1", || {
        let b = open("/bin/busybox", rd);
        let e = kfl(fd(b), fd(-1), clen, cptr, 0);
        close(b);
        e
    });
    // Crash loads against the reservation's size.
    if crash_size > 0 {
        run.case("crash load, image_size the reservation's size", || {
            load_img("crash-full", &with(&|v| put64(v, IMG_IMAGE_SIZE, crash_size)), ON_CRASH)
        });
        run.case("crash load, image_size 4 MiB short of the reservation", || {
            load_img("crash-4m-short", &with(&|v| put64(v, IMG_IMAGE_SIZE, crash_size - (4 << 20))), ON_CRASH)
        });
        run.case("crash load, image_size 16 MiB short of the reservation", || {
            load_img("crash-16m-short", &with(&|v| put64(v, IMG_IMAGE_SIZE, crash_size - (16 << 20))), ON_CRASH)
        });
        run.case("crash load of a normal Image after those", || load_img("crash-ok", img, ON_CRASH | DEBUG));
        reset();
    }
}

/// `kexec-errno file-debug KERNEL INITRD CMDLINE`: one kexec_file_load of the
/// two files with KEXEC_FILE_DEBUG (kexec-tools 2.0.25 has no way to ask for
/// it), so that the kernel logs the segments it placed; exits with the errno.
pub fn load_debug(args: &[String]) -> ! {
    let [kernel, initrd, cmdline] = args else {
        die("usage: kexec-errno file-debug KERNEL INITRD CMDLINE");
    };
    let k = open(kernel, libc::O_RDONLY);
    let i = open(initrd, libc::O_RDONLY);
    let (len, ptr) = text(cmdline.bytes().chain([0]).collect());
    let e = kfl(fd(k), fd(i), len, ptr, DEBUG);
    close(k);
    close(i);
    if e != 0 {
        println!("kexec-errno file-debug: kexec_file_load: {}", errno_name(e));
    }
    std::process::exit(e);
}

pub fn run() {
    // Our own tmpfs: sparse files must read as zeros without taking memory.
    let _ = fs::create_dir_all(DIR);
    let (src, dir, ty) = (cpath("tmpfs"), cpath(DIR), cpath("tmpfs"));
    // SAFETY: mount(2) with NUL-terminated strings and no data.
    let mounted = unsafe { libc::mount(src.as_ptr(), dir.as_ptr(), ty.as_ptr(), 0, ptr::null()) } == 0;
    let bz = fs::read(KERNEL).unwrap_or_else(|e| die(&format!("cannot read {KERNEL}: {e}")));
    let arm64 = bz.len() >= 64 && &bz[IMG_MAGIC..IMG_MAGIC + 4] == b"ARM\x64";
    if !arm64 && (bz.len() < 1024 || &bz[HDRS..HDRS + 4] != b"HdrS") {
        die(&format!("{KERNEL} is neither a bzImage nor an arm64 Image"));
    }
    let sects = match bz[SETUP_SECTS] {
        0 => 4,
        n => n as usize,
    };
    let kern16 = (sects + 1) * 512;
    let cmdline_size = if arm64 {
        ARM64_COMMAND_LINE_SIZE
    } else {
        u32::from_le_bytes(bz[CMDLINE_SIZE..CMDLINE_SIZE + 4].try_into().expect("4 bytes")) as u64
    };
    let crash_size: u64 = sys("/sys/kernel/kexec_crash_size").parse().unwrap_or(0);
    let ram_pages = meminfo_kb("MemTotal:") / 4;

    // 5-level paging decides T30: the kernel hides the la57 flag when it runs on 4 levels.
    let la57 = fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("flags") && l.split_whitespace().any(|w| w == "la57"));

    // Only facts both kernels share.
    if arm64 {
        println!(
            "kexec-file-errno: own tmpfs {}, crash reservation {}, arm64 Image, command lines sized from {}",
            if mounted { "mounted" } else { "not mounted" },
            if crash_size > 0 { "present" } else { "absent" },
            cmdline_size
        );
    } else {
        println!(
            "kexec-file-errno: own tmpfs {}, crash reservation {}, 5-level paging {}, bzImage setup_sects >= 2: {}, cmdline_size {}",
            if mounted { "mounted" } else { "not mounted" },
            if crash_size > 0 { "present" } else { "absent" },
            if la57 { "on" } else { "off" },
            sects >= 2,
            cmdline_size
        );
    }

    // The files.
    let rd = libc::O_RDONLY;
    let b = open(KERNEL, rd);
    let i = open(INITRD, rd);
    let busybox = open("/bin/busybox", rd);
    let random = open(&file("random", &random_bytes(65536)), rd);
    let empty = open(&file("empty", b""), rd);
    // Three copies: each descriptor with write access on a file of its own, so
    // that the O_RDWR case is refused for its own write access.
    let wronly = open(&file("bz-wronly", &bz), libc::O_WRONLY);
    let rw_path = file("bz-rw", &bz);
    let busy_path = file("bz-busy", &bz);
    let opath = open(KERNEL, libc::O_PATH);
    let rdwr = open(&rw_path, libc::O_RDWR);
    let root_dir = open("/", rd | libc::O_DIRECTORY);
    let devnull = open("/dev/null", rd);
    let proc_version = open("/proc/version", rd);
    let sys_loaded = open("/sys/kernel/kexec_loaded", rd);
    let sys_crash_size = open("/sys/kernel/kexec_crash_size", rd);
    let mut pipe = [0i32; 2];
    // SAFETY: pipe() fills two descriptors.
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    let memfd = {
        let name = cpath("kexec-file-errno");
        // SAFETY: memfd_create(2) with a NUL-terminated name.
        let m = unsafe { libc::memfd_create(name.as_ptr(), 0) };
        if m < 0 {
            die(&format!("memfd_create: {}", Error::last_os_error()));
        }
        // SAFETY: writing our own buffer to our memfd.
        let w = unsafe { libc::write(m, bz.as_ptr().cast(), bz.len()) };
        if w != bz.len() as isize {
            die("short write to the memfd");
        }
        m
    };
    let sparse_rd = |name: &str, size: u64| open(&sparse(name, size), rd);
    let big_kernel = sparse_rd("kernel-4g-plus-1", (4 << 30) + 1);
    let initrd_5g = sparse_rd("initrd-5g", 5 << 30);
    let initrd_half = sparse_rd("initrd-half-ram", (ram_pages / 2 + 1) * PAGE);
    let initrd_ram = sparse_rd("initrd-over-ram", (ram_pages << 12) + (64 << 20));
    let initrd_over_crash = sparse_rd("initrd-over-reservation", crash_size + (16 << 20));
    // A descriptor number that was open a moment ago: closed right before the
    // call, so that no later open() takes the number.
    let closed = || {
        let c = open(KERNEL, rd);
        close(c);
        c
    };
    let page = text(vec![0xcc; PAGE as usize]).1 as *const u8;
    // 16 bytes that start 8 bytes before an unmapped page.
    let holed = {
        // SAFETY: a fresh private anonymous mapping of two pages.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                2 * PAGE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        // SAFETY: filling the first page of our mapping, unmapping the second.
        unsafe {
            ptr::write_bytes(p as *mut u8, b'a', PAGE as usize);
            libc::munmap((p as *mut u8).add(PAGE as usize).cast(), PAGE as usize);
        }
        p as u64 + PAGE - 8
    };

    let (clen, cptr) = text(b"console=ttyS0\0".to_vec());
    let mut run = Run { n: 0, kmsg: Kmsg::open() };
    let b_ = fd(b);
    let i_ = fd(i);
    let m1 = fd(-1);
    // The usual load: kernel K, the initrd, the command line, `flags`.
    let load = |k: i32, flags: u64| kfl(fd(k), i_, clen, cptr, flags);

    // Unload (T9-T12).
    run.case("T9 unload with nothing loaded", || kfl(m1, m1, 0, 0, UNLOAD));
    run.case("crash unload with nothing loaded", || kfl(m1, m1, 0, 0, UNLOAD | ON_CRASH));
    run.case("load bzImage, initrd, command line", || load(b, 0));
    run.case("T10 unload ignores descriptors, command line and other flags", || {
        kfl(12345, fd(-7), 99, 1, UNLOAD | NO_INITRAMFS | DEBUG | NO_CMA | FORCE_DTB)
    });
    run.case("load again", || load(b, 0));
    run.case("T46 crash load", || load(b, ON_CRASH));
    run.note(&format!("crash_hotplug={}", sys("/sys/devices/system/cpu/crash_hotplug")));
    run.case("T11 crash unload leaves the normal image", || kfl(m1, m1, 0, 0, UNLOAD | ON_CRASH));
    run.case("T12 unload with flag 0x40", || kfl(m1, m1, 0, 0, UNLOAD | 0x40));
    run.case("T11 unload", || kfl(m1, m1, 0, 0, UNLOAD));
    run.note(&format!("kexec_load of one page: {}", errno_name(kexec_load_page(page))));
    run.case("unload of a kexec_load image", || kfl(m1, m1, 0, 0, UNLOAD));
    run.case("file load after that", || load(b, 0));
    run.case("kexec_load unload of a file image", kexec_load_unload);
    run.note(&format!("kexec_load of one page: {}", errno_name(kexec_load_page(page))));
    run.case("file load replaces a kexec_load image", || load(b, 0));
    reset();

    // Flags (T5).
    run.case("T5 flag 0x40", || load(b, 0x40));
    run.case("T5 flag bit 32", || load(b, 1 << 32));
    run.case("flag bit 63 with ON_CRASH", || load(b, 1 << 63 | ON_CRASH));
    run.case("unload with flag bit 32", || kfl(m1, m1, 0, 0, UNLOAD | 1 << 32));
    run.case("T54 NO_CMA and FORCE_DTB", || load(b, NO_CMA | FORCE_DTB));
    reset();

    // The kernel descriptor (T13-T22).
    run.case("T13 kernel fd -1", || load(-1, 0));
    run.case("T14 kernel fd just closed", || load(closed(), 0));
    run.case("kernel fd 1000000", || load(1_000_000, 0));
    run.case("T15 kernel fd with bit 32 set", || kfl(1 << 32 | b_, i_, clen, cptr, 0));
    reset();
    run.case("T16 kernel fd O_WRONLY", || load(wronly, 0));
    run.case("T16 kernel fd O_PATH", || load(opath, 0));
    run.case("T17 kernel fd a directory", || load(root_dir, 0));
    run.case("T17 kernel fd /dev/null", || load(devnull, 0));
    run.case("T17 kernel fd a pipe", || load(pipe[0], 0));
    run.case("T18 kernel fd O_RDWR", || load(rdwr, 0));
    let busy_writer = open(&busy_path, libc::O_WRONLY);
    let busy = open(&busy_path, rd);
    run.case("T18 kernel file open for writing elsewhere", || load(busy, 0));
    close(busy_writer);
    run.case("kernel file after its writer closed", || load(busy, 0));
    reset();
    run.case("T19 kernel in a memfd", || load(memfd, 0));
    reset();
    run.case("T20 kernel an empty file", || load(empty, 0));
    run.case("T20 kernel /proc/version", || load(proc_version, 0));
    run.case("T21 kernel a sparse file of 4 GiB + 1", || load(big_kernel, 0));
    run.case("T22 kernel /sys/kernel/kexec_loaded", || load(sys_loaded, 0));
    run.case("T22 kernel /sys/kernel/kexec_crash_size", || load(sys_crash_size, 0));

    // The image (T23-T32).
    run.case("T23 kernel busybox", || load(busybox, 0));
    run.case("kernel 64 KiB of random bytes", || load(random, 0));
    if arm64 {
        arm64_image_cases(&mut run, &bz, i_, clen, cptr, crash_size);
    } else {
        let cut = |len: usize| open(&file(&format!("cut-{len}"), &bz[..len.min(bz.len())]), rd);
        let cut_512 = cut(512);
        let cut_1023 = cut(1023);
        let cut_1024 = cut(1024);
        let cut_k16_less = cut(kern16 - 1);
        let cut_k16 = cut(kern16);
        let cut_k16_page = cut(kern16 + PAGE as usize);
        let cut_half = cut(bz.len() / 2);
        let variant = |name: &str, f: &dyn Fn(&mut Vec<u8>)| open(&file(name, &patched(&bz, f)), rd);
        let v020b = variant("version-020b", &|v| put16(v, VERSION, 0x020b));
        let v020c = variant("version-020c", &|v| put16(v, VERSION, 0x020c));
        let no_hdrs = variant("no-hdrs", &|v| v[HDRS] = b'X');
        let no_boot_flag = variant("no-boot-flag", &|v| put16(v, BOOT_FLAG, 0x55aa));
        let no_loaded_high = variant("no-loaded-high", &|v| v[LOADFLAGS] &= !LOADED_HIGH);
        let xlf = |name: &str, bit: u16| {
            let x = get16(&bz, XLOADFLAGS) & !bit;
            variant(name, &move |v| put16(v, XLOADFLAGS, x))
        };
        let no_xlf64 = xlf("no-xlf-kernel-64", XLF_KERNEL_64);
        let no_xlf4g = xlf("no-xlf-above-4g", XLF_CAN_BE_LOADED_ABOVE_4G);
        let no_xlf5 = xlf("no-xlf-5level", XLF_5LEVEL);
        // init_size rounds up to a page in 32 bits: 0 and anything above
        // 0xfffff000 give the kernel buffer no memory at all.
        let init0 = variant("init-size-0", &|v| v[0x260..0x264].copy_from_slice(&0u32.to_le_bytes()));
        let init_wrap = variant("init-size-wrap", &|v| {
            v[0x260..0x264].copy_from_slice(&0xffff_f800u32.to_le_bytes())
        });
        let cmd100 = variant("cmdline-size-100", &|v| v[CMDLINE_SIZE..CMDLINE_SIZE + 4].copy_from_slice(&100u32.to_le_bytes()));
        // setup_sects 0 means 4: the loader then wants (4 + 1) * 512 bytes.
        let sects0 = |len: usize| {
            let mut v = bz[..len].to_vec();
            v[SETUP_SECTS] = 0;
            open(&file(&format!("sects0-{len}"), &v), rd)
        };
        let sects0_short = sects0(5 * 512 - 1);
        let sects0_exact = sects0(5 * 512);
        run.case("bzImage cut at 512 bytes", || load(cut_512, 0));
        run.case("T24 bzImage cut at 1023 bytes", || load(cut_1023, 0));
        run.case("T25 bzImage cut at 1024 bytes", || load(cut_1024, 0));
        run.case("T25 bzImage cut 1 byte short of its setup", || load(cut_k16_less, 0));
        run.case("T26 bzImage cut after its setup", || load(cut_k16, 0));
        reset();
        run.case("T26 bzImage cut one page after its setup", || load(cut_k16_page, 0));
        reset();
        run.case("bzImage cut in half", || load(cut_half, 0));
        reset();
        run.case("setup_sects 0, cut 1 byte short of 5 sectors", || load(sects0_short, 0));
        run.case("setup_sects 0, cut at 5 sectors", || load(sects0_exact, 0));
        reset();
        run.case("T27 boot protocol 2.11", || load(v020b, 0));
        run.case("boot protocol 2.12", || load(v020c, 0));
        reset();
        run.case("T28 no HdrS", || load(no_hdrs, 0));
        run.case("T28 no boot flag", || load(no_boot_flag, 0));
        run.case("T29 LOADED_HIGH clear", || load(no_loaded_high, 0));
        run.case("T29 XLF_KERNEL_64 clear", || load(no_xlf64, 0));
        run.case("T29 XLF_CAN_BE_LOADED_ABOVE_4G clear", || load(no_xlf4g, 0));
        run.case("T30 XLF_5LEVEL clear", || load(no_xlf5, 0));
        run.case("init_size 0", || load(init0, 0));
        run.case("init_size 0xfffff800 (rounds to 0)", || load(init_wrap, 0));
        let (l70, p70) = cmdline_of(70, true);
        let (l80, p80) = cmdline_of(80, true);
        let (l101, p101) = cmdline_of(101, true);
        run.case("cmdline_size 100, command line of 70", || kfl(fd(cmd100), i_, l70, p70, 0));
        reset();
        run.case("T31 cmdline_size 100, command line of 80", || kfl(fd(cmd100), i_, l80, p80, 0));
        run.case("T31 cmdline_size 100, command line of 101", || kfl(fd(cmd100), i_, l101, p101, 0));
        run.case("T32 bzImage cut at 1024 bytes, initrd fd -1", || kfl(fd(cut_1024), m1, clen, cptr, 0));
        run.case("T32 busybox, initrd fd -1", || kfl(fd(busybox), m1, clen, cptr, 0));

    }

    // The command line (T33-T39).
    let (l3, p3) = text(b"abc".to_vec());
    let (l5k, p5k) = cmdline_of(5000, false);
    let (l5kn, p5kn) = cmdline_of(5000, true);
    let (lnul, pnul) = text(b"\0".to_vec());
    let (lmax, pmax) = cmdline_of((cmdline_size - ELFCOREHDR_ROOM) as usize, true);
    let (lmax1, pmax1) = cmdline_of((cmdline_size - ELFCOREHDR_ROOM + 1) as usize, true);
    let (lsz, psz) = cmdline_of(cmdline_size as usize, true);
    let (lsz1, psz1) = cmdline_of(cmdline_size as usize + 1, true);
    let (lab, pab) = text(b"a\0b\0".to_vec());
    run.case("T33 command line length 0, pointer NULL", || kfl(b_, i_, 0, 0, 0));
    reset();
    run.case("T33 command line length 0, pointer 1", || kfl(b_, i_, 0, 1, 0));
    reset();
    run.case("command line only a NUL", || kfl(b_, i_, lnul, pnul, 0));
    reset();
    run.case("T34 command line abc without NUL", || kfl(b_, i_, l3, p3, 0));
    run.case("T34 5000 bytes without NUL", || kfl(b_, i_, l5k, p5k, 0));
    run.case("T34 5000 bytes with NUL", || kfl(b_, i_, l5kn, p5kn, 0));
    run.case("T35 command line pointer NULL, length 16", || kfl(b_, i_, 16, 0, 0));
    run.case("T35 command line at a kernel address", || kfl(b_, i_, 16, KERNEL_ADDR, 0));
    run.case("T35 command line runs into an unmapped page", || kfl(b_, i_, 16, holed, 0));
    run.case("T36 command line of cmdline_size - 30", || kfl(b_, i_, lmax, pmax, 0));
    reset();
    run.case("T36 command line of cmdline_size - 29", || kfl(b_, i_, lmax1, pmax1, 0));
    run.case("command line of cmdline_size", || kfl(b_, i_, lsz, psz, 0));
    run.case("T36 command line of cmdline_size + 1", || kfl(b_, i_, lsz1, psz1, 0));
    run.case("T37 command line length 2^40", || kfl(b_, i_, 1 << 40, cptr, 0));
    run.case("T38 a NUL b NUL, length 4", || kfl(b_, i_, lab, pab, 0));
    reset();
    run.case("T39 initrd fd -1, command line without NUL", || kfl(b_, m1, l3, p3, 0));

    // The initrd (T40-T45).
    run.case("T40 initrd fd -1", || kfl(b_, m1, clen, cptr, 0));
    run.case("initrd fd just closed", || kfl(b_, fd(closed()), clen, cptr, 0));
    run.case("initrd fd O_WRONLY", || kfl(b_, fd(wronly), clen, cptr, 0));
    run.case("T41 NO_INITRAMFS, initrd fd -1", || kfl(b_, m1, clen, cptr, NO_INITRAMFS));
    reset();
    run.case("T41 NO_INITRAMFS with an initrd fd", || load(b, NO_INITRAMFS));
    reset();
    run.case("NO_INITRAMFS with a directory as initrd", || kfl(b_, fd(root_dir), clen, cptr, NO_INITRAMFS));
    reset();
    run.case("T42 initrd a directory", || kfl(b_, fd(root_dir), clen, cptr, 0));
    run.case("T42 initrd an empty file", || kfl(b_, fd(empty), clen, cptr, 0));
    run.case("initrd a pipe", || kfl(b_, fd(pipe[0]), clen, cptr, 0));
    run.case("initrd O_RDWR", || kfl(b_, fd(rdwr), clen, cptr, 0));
    run.case("T43 initrd a sparse file of 5 GiB", || kfl(b_, fd(initrd_5g), clen, cptr, 0));
    run.case("T44 initrd of half of RAM + 1 page", || kfl(b_, fd(initrd_half), clen, cptr, 0));
    // vmalloc refuses more than RAM with a "vmalloc error" line and a stack
    // dump, on both kernels alike.
    run.case("initrd larger than RAM", || kfl(b_, fd(initrd_ram), clen, cptr, 0));
    run.case("T45 the bzImage as kernel and initrd", || kfl(b_, b_, clen, cptr, 0));
    reset();
    run.case("initrd fd with bit 32 set", || kfl(b_, 1 << 32 | i_, clen, cptr, 0));
    reset();

    // Debug output (T55, T41).
    run.case("T55 load with DEBUG", || load(b, DEBUG));
    run.case("T55 load without DEBUG right after", || load(b, 0));
    reset();
    run.case("T41 NO_INITRAMFS with DEBUG", || load(b, NO_INITRAMFS | DEBUG));
    reset();

    // Crash loads (T46-T52).
    run.case("T46 crash load with DEBUG", || load(b, ON_CRASH | DEBUG));
    run.case("crash load again replaces it", || load(b, ON_CRASH));
    run.case("crash load with flag 0x40 keeps the loaded one", || load(b, ON_CRASH | 0x40));
    run.case("T49 crash load, initrd larger than the reservation", || kfl(b_, fd(initrd_over_crash), clen, cptr, ON_CRASH));
    run.case("crash load after that failure", || load(b, ON_CRASH));
    run.case("T50 crash load of busybox", || load(busybox, ON_CRASH));
    run.case("crash load for T52", || load(b, ON_CRASH));
    run.case("crash load, kernel fd -1", || load(-1, ON_CRASH));
    run.case("crash load, NO_INITRAMFS", || load(b, ON_CRASH | NO_INITRAMFS));
    run.case("T52 crash unload", || kfl(m1, m1, 0, 0, UNLOAD | ON_CRASH));
    run.case("T52 crash load after the unload", || load(b, ON_CRASH));
    run.case("crash load, command line of cmdline_size - 30", || kfl(b_, i_, lmax, pmax, ON_CRASH));
    run.case("crash load, command line of cmdline_size - 29", || kfl(b_, i_, lmax1, pmax1, ON_CRASH));
    run.case("normal load", || load(b, 0));
    run.case("T51 normal load of busybox keeps the loaded one", || load(busybox, 0));
    run.case("normal load, kernel fd -1, keeps the loaded one", || load(-1, 0));
    run.case("crash load beside the normal image", || load(b, ON_CRASH));
    run.note(&format!("shrink kexec_crash_size with a crash image loaded: {}", write_knob("/sys/kernel/kexec_crash_size", "1048576")));
    run.case("crash unload leaves the normal image", || kfl(m1, m1, 0, 0, UNLOAD | ON_CRASH));

    // Privilege (T1, T2, T6), with the normal image still loaded.
    run.case("T1 unprivileged load", || in_child(Caller::Nobody, || load(b, 0)));
    run.case("T2 unprivileged unload", || in_child(Caller::Nobody, || kfl(m1, m1, 0, 0, UNLOAD)));
    run.case("T6 unprivileged, flag 0x40", || in_child(Caller::Nobody, || load(b, 0x40)));
    run.case("unprivileged crash load", || in_child(Caller::Nobody, || load(b, ON_CRASH)));
    run.case("root without CAP_SYS_BOOT, load", || in_child(Caller::RootWithoutSysBoot, || load(b, 0)));
    run.case("root without CAP_SYS_BOOT, unload", || in_child(Caller::RootWithoutSysBoot, || kfl(m1, m1, 0, 0, UNLOAD)));

    // Concurrent loaders (T8): every answer 0 or EBUSY, something loaded at the end.
    reset();
    run.case("T8 2 concurrent loaders: only success or EBUSY", || {
        let mut kids = Vec::new();
        for _ in 0..2 {
            // SAFETY: fork in a single-threaded program; the child only makes system calls and exits.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                let mut bad = 0;
                for _ in 0..3 {
                    let e = kfl(b_, m1, clen, cptr, NO_INITRAMFS);
                    if e != 0 && e != libc::EBUSY {
                        bad += 1;
                    }
                }
                // SAFETY: leaving the child.
                unsafe { libc::_exit(bad) };
            }
            kids.push(pid);
        }
        let mut bad = 0;
        for pid in kids {
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            bad += if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 1 };
        }
        if bad == 0 {
            0
        } else {
            libc::EINVAL
        }
    });

    // Global state, last. The reboot load limit (T3): a failed call uses up
    // the load; the crash counter is another.
    let limit_reboot = "/proc/sys/kernel/kexec_load_limit_reboot";
    let limit_panic = "/proc/sys/kernel/kexec_load_limit_panic";
    run.note(&format!("set kexec_load_limit_reboot=1: {}", write_knob(limit_reboot, "1")));
    run.case("T3 kernel fd -1 under a reboot limit of 1", || kfl(m1, m1, 0, 0, 0));
    run.case("T3 load after the limit was used up", || load(b, 0));
    run.case("unload after the limit was used up", || kfl(m1, m1, 0, 0, UNLOAD));
    run.note(&format!("raise kexec_load_limit_reboot to 5: {}", write_knob(limit_reboot, "5")));
    run.note(&format!("kexec_load_limit_reboot={}", sys(limit_reboot)));
    run.case("T3 crash load under the used-up reboot limit", || load(b, ON_CRASH));
    run.case("crash unload under the used-up reboot limit", || kfl(m1, m1, 0, 0, UNLOAD | ON_CRASH));

    // Crash loads into a reservation too small, then without one (T47, T48).
    run.note(&format!("shrink kexec_crash_size to 1 MiB: {}", write_knob("/sys/kernel/kexec_crash_size", "1048576")));
    run.case("crash load into a 1 MiB reservation", || load(b, ON_CRASH));
    run.note(&format!("shrink kexec_crash_size to 0: {}", write_knob("/sys/kernel/kexec_crash_size", "0")));
    run.case("T47 crash load without a reservation", || load(b, ON_CRASH));
    run.case("T48 crash load without a reservation, command line of cmdline_size - 29", || kfl(b_, i_, lmax1, pmax1, ON_CRASH));
    run.case("crash load of busybox without a reservation", || load(busybox, ON_CRASH));
    run.case("crash load without a reservation, NO_INITRAMFS", || load(b, ON_CRASH | NO_INITRAMFS));
    run.case("crash unload without a reservation", || kfl(m1, m1, 0, 0, UNLOAD | ON_CRASH));

    // The panic load limit (T4), then kexec_load_disabled (T7).
    run.note(&format!("set kexec_load_limit_panic=1: {}", write_knob(limit_panic, "1")));
    run.case("T4 crash unload under a panic limit of 1", || kfl(m1, m1, 0, 0, UNLOAD | ON_CRASH));
    run.case("T4 crash load after the limit was used up", || load(b, ON_CRASH));
    run.note(&format!("kexec_load_limit_panic={}", sys(limit_panic)));
    run.note(&format!("set kexec_load_disabled=1: {}", write_knob("/proc/sys/kernel/kexec_load_disabled", "1")));
    run.case("T7 load with kexec_load_disabled", || load(b, 0));
    run.case("T7 unload with kexec_load_disabled", || kfl(m1, m1, 0, 0, UNLOAD));
    run.case("T7 crash unload with kexec_load_disabled", || kfl(m1, m1, 0, 0, UNLOAD | ON_CRASH));
    run.note(&format!("set kexec_load_disabled=0 again: {}", write_knob("/proc/sys/kernel/kexec_load_disabled", "0")));
    println!("kexec-file-errno: {} cases", run.n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_hides_addresses_and_keeps_words() {
        assert_eq!(
            mask("kexec-bzImage64: Loaded 64bit kernel at 0x7a000000 bufsz=0x2c1000 memsz=0x3e0d000"),
            "kexec-bzImage64: Loaded 64bit kernel at 0x# bufsz=0x# memsz=0x#"
        );
        assert_eq!(mask("kexec-bzImage64: 0000000000100000-000000007ffdffff (1)"), "kexec-bzImage64: #-# (1)");
        assert_eq!(mask("kexec_file: kernel: 00000000c0ffee11 kernel_size: 0x2d3a10"), "kexec_file: kernel: # kernel_size: 0x#");
        assert_eq!(mask("kexec_file: nr_segments = 3"), "kexec_file: nr_segments = 3");
    }

    #[test]
    fn kernel_lines_keep_kexec_prefixes_and_count_pt_loads() {
        let raw = vec![
            "kexec-bzImage64: Not a bzImage".to_string(),
            "kexec_rust: kexec: image refused: segment 0 is over half of RAM".to_string(),
            "kexec_rust: kexec-bzImage64: Kernel command line too long".to_string(),
            "crash_core: Crash PT_LOAD ELF header. phdr=0000000012345678 vaddr=0x1".to_string(),
            "kexec_rust: Crash PT_LOAD ELF header. paddr=0x1000, sz=0x9f000 e_phnum=2".to_string(),
            "random: crng init done".to_string(),
            "kexec-errno: vmalloc error: size 1140850688, exceeds total pages, mode:0xdc0(GFP_KERNEL|__GFP_ZERO)".to_string(),
            "CPU: 1 UID: 0 PID: 97 Comm: kexec-errno Not tainted 7.3.0 #1".to_string(),
            "kexec_rust: kexec_file(Image): Loaded kernel at 0x48000000 bufsz=0x10 memsz=0x20".to_string(),
            "kexec_file(Image): Could not find any suitable kernel location!".to_string(),
            "kexec_rust: kexec_file_load refused: the Image header's image_size is 0".to_string(),
        ];
        assert_eq!(
            kernel_lines(raw),
            vec![
                "kexec-bzImage64: Not a bzImage".to_string(),
                "kexec-bzImage64: Kernel command line too long".to_string(),
                "kexec-errno: vmalloc error: size #, exceeds total pages, mode:0x#(GFP_KERNEL|__GFP_ZERO)".to_string(),
                "kexec_file(Image): Loaded kernel at 0x# bufsz=0x# memsz=0x#".to_string(),
                "(2 lines \"Crash PT_LOAD ELF header...\")".to_string(),
            ]
        );
    }
}

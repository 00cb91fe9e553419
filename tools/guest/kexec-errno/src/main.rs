// SPDX-License-Identifier: GPL-2.0

//! kexec-errno: runs in the guest as root and calls kexec_load(2) directly with a
//! corpus of bad and edge-case inputs. For each case it prints one line:
//!
//!     NN name: ret=R errno=NAME loaded=L crash_loaded=C
//!
//! The host runs it on the stock and on the rust kernel and diffs the output, so
//! every line must depend only on the kernel's behaviour (no addresses, no times).
//! Cases that change global state (load limits, kexec_load_disabled) run last.
//! The guest boots with crashkernel= so crash loads have a window to aim at.
//!
//! `kexec-errno file` runs the kexec_file_load corpus instead (file.rs),
//! `kexec-errno file-debug KERNEL INITRD CMDLINE` makes one kexec_file_load
//! with KEXEC_FILE_DEBUG, and `kexec-errno fault` reboots into a page of `ud2`
//! (see `fault`).

mod file;

use std::fs;
use std::io::Error;
use std::ptr;

const PAGE: u64 = 4096;
const KEXEC_ON_CRASH: u64 = 0x1;
const KEXEC_PRESERVE_CONTEXT: u64 = 0x2;
const KEXEC_UPDATE_ELFCOREHDR: u64 = 0x4;
const KEXEC_CRASH_HOTPLUG_SUPPORT: u64 = 0x8;
const KEXEC_ARCH_386: u64 = 3 << 16;
/// The architecture's own value of kexec_load's arch field, its name, and
/// where its RAM starts in QEMU's machine (q35 at 0, virt at 1 GiB).
#[cfg(target_arch = "aarch64")]
const NATIVE: (u64, &str, u64) = (183 << 16, "aarch64", 0x4000_0000);
#[cfg(not(target_arch = "aarch64"))]
const NATIVE: (u64, &str, u64) = (62 << 16, "x86_64", 0);
/// A destination in ordinary RAM, away from the kernel and the crash window.
const DEST: u64 = NATIVE.2 + 0x1000_0000;

/// `struct kexec_segment`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct Seg {
    buf: *const u8,
    bufsz: usize,
    mem: u64,
    memsz: u64,
}

fn seg(buf: *const u8, bufsz: u64, mem: u64, memsz: u64) -> Seg {
    Seg { buf, bufsz: bufsz as usize, mem, memsz }
}

/// Raw kexec_load: returns (ret, errno).
fn kexec_load(entry: u64, nr: u64, segs: *const Seg, flags: u64) -> (i64, i32) {
    // SAFETY: a raw system call; the kernel validates every argument, which is
    // what this program tests.
    let r = unsafe { libc::syscall(libc::SYS_kexec_load, entry, nr, segs, flags) };
    let e = if r < 0 { Error::last_os_error().raw_os_error().unwrap_or(0) } else { 0 };
    (r, e)
}

fn errno_name(e: i32) -> String {
    match e {
        0 => "0".into(),
        libc::EPERM => "EPERM".into(),
        libc::EINVAL => "EINVAL".into(),
        libc::EFAULT => "EFAULT".into(),
        libc::ENOMEM => "ENOMEM".into(),
        libc::EBUSY => "EBUSY".into(),
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL".into(),
        libc::ENOEXEC => "ENOEXEC".into(),
        libc::EOPNOTSUPP => "EOPNOTSUPP".into(),
        libc::E2BIG => "E2BIG".into(),
        n => format!("errno{n}"),
    }
}

fn sys(name: &str) -> String {
    fs::read_to_string(format!("/sys/kernel/{name}")).map(|s| s.trim().to_string()).unwrap_or_else(|_| "missing".into())
}

fn report(n: usize, name: &str, (r, e): (i64, i32)) {
    println!(
        "{n:02} {name}: ret={} errno={} loaded={} crash_loaded={}",
        if r < 0 { -1 } else { r },
        errno_name(e),
        sys("kexec_loaded"),
        sys("kexec_crash_loaded")
    );
}

/// Page-aligned anonymous memory that stays mapped for the program's life.
fn buffer(len: u64, fill: u8) -> *const u8 {
    // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
    let p = unsafe {
        libc::mmap(ptr::null_mut(), len as usize, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
    };
    assert_ne!(p, libc::MAP_FAILED, "mmap of {len} bytes failed");
    // SAFETY: `p` is a writable mapping of `len` bytes.
    unsafe { ptr::write_bytes(p as *mut u8, fill, len as usize) };
    p as *const u8
}

/// A buffer whose first `ok` bytes are readable and whose next page is not mapped.
fn buffer_with_hole(ok: u64) -> *const u8 {
    let p = buffer(ok + PAGE, 0x5a);
    // SAFETY: unmapping the last page of our own mapping.
    unsafe { libc::munmap(p.add(ok as usize) as *mut libc::c_void, PAGE as usize) };
    p
}

/// The crash kernel reservation from /proc/iomem, as [start, end].
fn crash_window() -> Option<(u64, u64)> {
    let text = fs::read_to_string("/proc/iomem").ok()?;
    let line = text.lines().find(|l| l.ends_with(": Crash kernel"))?;
    let (s, e) = line.trim().split(" : ").next()?.split_once('-')?;
    Some((u64::from_str_radix(s, 16).ok()?, u64::from_str_radix(e, 16).ok()?))
}

fn mem_total_pages() -> u64 {
    let text = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb: u64 = text
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    kb / 4
}

fn write_proc(path: &str, v: &str) -> bool {
    fs::write(path, v).is_ok()
}

/// Runs `f` in a child process that has dropped root, returns its result.
fn as_nobody(f: impl FnOnce() -> (i64, i32)) -> (i64, i32) {
    let mut pipe = [0i32; 2];
    // SAFETY: pipe() fills two descriptors.
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    // SAFETY: fork in a single-threaded program.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: dropping privileges in the child, then writing our result to the pipe.
        unsafe {
            libc::setgid(65534);
            libc::setuid(65534);
        }
        let (r, e) = f();
        let out = [r as i32, e];
        // SAFETY: writing 8 bytes from a local array to our pipe.
        unsafe {
            libc::write(pipe[1], out.as_ptr() as *const libc::c_void, 8);
            libc::_exit(0);
        }
    }
    let mut out = [0i32; 2];
    // SAFETY: reading 8 bytes into a local array; waiting for our child.
    unsafe {
        libc::read(pipe[0], out.as_mut_ptr() as *mut libc::c_void, 8);
        libc::waitpid(pid, ptr::null_mut(), 0);
        libc::close(pipe[0]);
        libc::close(pipe[1]);
    }
    (out[0] as i64, out[1])
}

/// `kexec-errno fault`: loads one page of `ud2` instructions as an image whose
/// entry point is that page and reboots into it. The relocate stub copies the
/// page and jumps there; the CPU raises #UD while the stub's IDT is still
/// loaded, which exercises the stub's exception reporter. Does not return on
/// success.
fn fault() -> ! {
    let page = buffer(PAGE, 0);
    // SAFETY: `page` is our own writable page; 0x0f 0x0b is ud2.
    unsafe {
        for i in (0..PAGE as usize).step_by(2) {
            *(page as *mut u8).add(i) = 0x0f;
            *(page as *mut u8).add(i + 1) = 0x0b;
        }
    }
    let m: u64 = DEST;
    let one = [seg(page, PAGE, m, PAGE)];
    let (r, e) = kexec_load(m, 1, one.as_ptr(), 0);
    if r < 0 {
        println!("kexec-errno fault: kexec_load failed: {}", errno_name(e));
        std::process::exit(1);
    }
    println!("kexec-errno fault: loaded a page of ud2 at {m:#x}, rebooting into it");
    // SAFETY: a plain reboot(2) into the image just loaded.
    unsafe { libc::sync() };
    // SAFETY: as above.
    let r = unsafe { libc::reboot(libc::LINUX_REBOOT_CMD_KEXEC) };
    println!("kexec-errno fault: reboot returned {r}: {}", Error::last_os_error());
    std::process::exit(1);
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("fault") => fault(),
        Some("file") => {
            file::run();
            return;
        }
        Some("file-debug") => file::load_debug(&std::env::args().skip(2).collect::<Vec<_>>()),
        _ => {}
    }
    let crash = crash_window();
    let ram_pages = mem_total_pages();
    let page = buffer(PAGE, 0xcc);
    let big = buffer(64 << 20, 0x11);
    let holed = buffer_with_hole(PAGE);
    let m: u64 = DEST;
    let one = [seg(page, PAGE, m, PAGE)];
    let mut n = 0;
    let mut case = |name: &str, res: (i64, i32)| {
        n += 1;
        report(n, name, res);
    };
    let load = |segs: &[Seg], flags: u64| kexec_load(m, segs.len() as u64, segs.as_ptr(), flags);

    // Only facts both kernels share: MemTotal differs with the kernel's own size.
    println!("kexec-errno: crash window {}", if crash.is_some() { "present" } else { "absent" });

    // Loading and unloading.
    case("unload with nothing loaded", kexec_load(0, 0, ptr::null(), 0));
    case("load one page", load(&one, 0));
    case("load again replaces the image", load(&one, 0));
    case("unload", kexec_load(0, 0, ptr::null(), 0));
    case("unload twice", kexec_load(0, 0, ptr::null(), 0));
    case("entry 0, outside every segment", kexec_load(0, 1, one.as_ptr(), 0));
    case(&format!("load with arch {}", NATIVE.1), load(&one, NATIVE.0));
    case("64 MiB segment", load(&[seg(big, 64 << 20, m, 64 << 20)], 0));
    case("bufsz one page + 1, memsz two pages", load(&[seg(big, PAGE + 1, m, 2 * PAGE)], 0));
    case("bufsz 0, memsz one page", load(&[seg(big, 0, m, PAGE)], 0));
    case("zero-length segment", load(&[seg(page, 0, m, 0)], 0));
    case("two touching segments", load(&[seg(page, PAGE, m, PAGE), seg(page, PAGE, m + PAGE, PAGE)], 0));
    let sixteen: Vec<Seg> = (0..16).map(|i| seg(page, PAGE, m + 2 * i * PAGE, PAGE)).collect();
    case("16 segments", load(&sixteen, 0));
    case("destination above RAM (4 GiB)", load(&[seg(page, PAGE, 1 << 32, PAGE)], 0));
    case("destination page 0", load(&[seg(page, PAGE, 0, PAGE)], 0));
    case("unload after edge cases", kexec_load(0, 0, ptr::null(), 0));

    // Flags and counts.
    case("unknown flag 0x10", load(&one, 0x10));
    case("unknown flag bit 15", load(&one, 1 << 15));
    // Bits 32-63: the C check's mask is 32 bits wide, so they are ignored.
    case("flag bit 32", load(&one, 1 << 32));
    case("flag bit 63 with KEXEC_ON_CRASH", load(&one, 1 << 63 | 1));
    case("flag bits 40 and 4", load(&one, 1 << 40 | 0x10));
    case("unload with flag bit 47", kexec_load(0, 0, ptr::null(), 1 << 47));
    case("foreign arch i386", load(&one, KEXEC_ARCH_386));
    case("preserve context without KEXEC_JUMP", load(&one, KEXEC_PRESERVE_CONTEXT));
    case("update elfcorehdr on a normal image", load(&one, KEXEC_UPDATE_ELFCOREHDR));
    case("17 segments", kexec_load(m, 17, sixteen.as_ptr(), 0));
    case("2^40 segments", kexec_load(m, 1 << 40, sixteen.as_ptr(), 0));
    case("u64::MAX segments", kexec_load(m, u64::MAX, sixteen.as_ptr(), 0));
    case("17 segments and a bad flag", kexec_load(m, 17, sixteen.as_ptr(), 0x40));

    // User pointers.
    case("NULL segment list", kexec_load(m, 1, ptr::null(), 0));
    case("segment list at an unmapped address", kexec_load(m, 1, 0xdead_0000 as *const Seg, 0));
    case("segment list at a kernel address", kexec_load(m, 1, 0xffff_ffff_8100_0000u64 as *const Seg, 0));
    case("segment buffer unmapped", load(&[seg(0xdead_0000 as *const u8, PAGE, m, PAGE)], 0));
    case("segment buffer runs into a hole", load(&[seg(holed, 2 * PAGE, m, 2 * PAGE)], 0));
    case("segment buffer NULL with bufsz 0", load(&[seg(ptr::null(), 0, m, PAGE)], 0));
    case("segment buffer at a kernel address", load(&[seg(0xffff_ffff_8100_0000u64 as *const u8, PAGE, m, PAGE)], 0));

    // Segment rules.
    case("mem not page aligned", load(&[seg(page, 16, m + 16, PAGE)], 0));
    case("memsz not page aligned", load(&[seg(page, 16, m, PAGE + 16)], 0));
    case("mem + memsz wraps", load(&[seg(page, PAGE, u64::MAX - PAGE + 1, 2 * PAGE)], 0));
    case("ends at 2^52 (above the limit)", load(&[seg(page, PAGE, (1 << 52) - PAGE, PAGE)], 0));
    case("ends at 2^63", load(&[seg(page, PAGE, (1 << 63) - PAGE, PAGE)], 0));
    case("two identical segments", load(&[seg(page, PAGE, m, PAGE), seg(page, PAGE, m, PAGE)], 0));
    case("overlap by one page", load(&[seg(big, 2 * PAGE, m, 2 * PAGE), seg(page, PAGE, m + PAGE, PAGE)], 0));
    case("overlap, later segment first", load(&[seg(page, PAGE, m + PAGE, PAGE), seg(big, 2 * PAGE, m, 2 * PAGE)], 0));
    case("bufsz > memsz", load(&[seg(big, 2 * PAGE, m, PAGE)], 0));
    case("zero-length segment with data", load(&[seg(page, PAGE, m, 0)], 0));
    case("segment over half of RAM", load(&[seg(page, PAGE, m, (ram_pages / 2 + 1) * PAGE)], 0));
    let half = (ram_pages / 4 + 1) * PAGE;
    case("segments together over half of RAM", load(&[seg(page, PAGE, m, half), seg(page, PAGE, m + half, half)], 0));
    case("unaligned and overlapping: address rule first", load(&[seg(page, PAGE, m, PAGE), seg(page, PAGE, m + 8, PAGE)], 0));
    case("normal image still loaded after failures", (0, 0));

    // Crash images.
    match crash {
        Some((cs, ce)) => {
            let c1 = [seg(page, PAGE, cs, PAGE)];
            case("crash load at window start", kexec_load(cs, 1, c1.as_ptr(), KEXEC_ON_CRASH));
            case("crash load at window end", kexec_load(cs, 1, [seg(page, PAGE, ce + 1 - PAGE, PAGE)].as_ptr(), KEXEC_ON_CRASH));
            case("crash segment below window", kexec_load(cs, 1, [seg(page, PAGE, cs - PAGE, PAGE)].as_ptr(), KEXEC_ON_CRASH));
            case("crash load again after a failure", kexec_load(cs, 1, c1.as_ptr(), KEXEC_ON_CRASH));
            case("crash segment straddles window end", kexec_load(cs, 1, [seg(page, PAGE, ce + 1 - PAGE, 2 * PAGE)].as_ptr(), KEXEC_ON_CRASH));
            case("crash load with hotplug support", kexec_load(cs, 1, c1.as_ptr(), KEXEC_ON_CRASH | KEXEC_CRASH_HOTPLUG_SUPPORT));
            case("crash load with update elfcorehdr", kexec_load(cs, 1, c1.as_ptr(), KEXEC_ON_CRASH | KEXEC_UPDATE_ELFCOREHDR));
            case("crash segment buffer unmapped", kexec_load(cs, 1, [seg(0xdead_0000 as *const u8, PAGE, cs, PAGE)].as_ptr(), KEXEC_ON_CRASH));
            case("crash load 4 MiB", kexec_load(cs, 1, [seg(big, 4 << 20, cs, 4 << 20)].as_ptr(), KEXEC_ON_CRASH));
            // The segment fills the whole reservation: no hole is left for the
            // control page, and the half-built image must be dropped cleanly.
            case(
                "crash segment fills the reservation",
                kexec_load(cs, 1, [seg(page, PAGE, cs, ce + 1 - cs)].as_ptr(), KEXEC_ON_CRASH),
            );
            case("crash unload", kexec_load(0, 0, ptr::null(), KEXEC_ON_CRASH));
            case("crash unload twice", kexec_load(0, 0, ptr::null(), KEXEC_ON_CRASH));
        }
        None => {
            case("crash load without a reservation", load(&[seg(page, PAGE, m, PAGE)], KEXEC_ON_CRASH));
            case("crash unload without a reservation", kexec_load(0, 0, ptr::null(), KEXEC_ON_CRASH));
        }
    }

    // Privilege.
    case("unprivileged load", as_nobody(|| load(&one, 0)));
    case("unprivileged unload", as_nobody(|| kexec_load(0, 0, ptr::null(), 0)));
    case("unprivileged bad flags", as_nobody(|| load(&one, 0x10)));

    // Concurrent loads: every result must be success or EBUSY.
    let mut kids = Vec::new();
    for _ in 0..4 {
        // SAFETY: fork in a single-threaded program; the child only makes system calls and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let mut bad = 0;
            for _ in 0..20 {
                let (r, e) = load(&[seg(big, 8 << 20, m, 8 << 20)], 0);
                if r < 0 && e != libc::EBUSY {
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
        bad += libc::WEXITSTATUS(status);
    }
    case("4 concurrent loaders: only success or EBUSY", if bad == 0 { (0, 0) } else { (-1, libc::EINVAL) });

    // Global state, last.
    case("unload before limits", kexec_load(0, 0, ptr::null(), 0));
    let lim = write_proc("/proc/sys/kernel/kexec_load_limit_reboot", "1");
    println!("   set kexec_load_limit_reboot=1: {}", if lim { "ok" } else { "failed" });
    case("first load under a limit of 1", load(&one, 0));
    case("second load over the limit", load(&one, 0));
    case("unload over the limit", kexec_load(0, 0, ptr::null(), 0));
    let lim = write_proc("/proc/sys/kernel/kexec_load_limit_reboot", "5");
    println!("   raise kexec_load_limit_reboot back to 5: {}", if lim { "ok (must not raise)" } else { "refused" });
    let dis = write_proc("/proc/sys/kernel/kexec_load_disabled", "1");
    println!("   set kexec_load_disabled=1: {}", if dis { "ok" } else { "failed" });
    case("crash load with kexec disabled", kexec_load(0, 0, ptr::null(), KEXEC_ON_CRASH));
    case("load with kexec disabled", load(&one, 0));
    let back = write_proc("/proc/sys/kernel/kexec_load_disabled", "0");
    println!("   set kexec_load_disabled=0 again: {}", if back { "ok" } else { "refused" });
    println!("kexec-errno: {n} cases");
}

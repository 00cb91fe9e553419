// SPDX-License-Identifier: GPL-2.0

//! kexec-bench: runs in the guest and measures with the guest's monotonic clock.
//!
//!     kexec-bench load KERNEL MIB[,MIB...] REPS
//!         For each initrd size, REPS times: kexec_load(2) of KERNEL plus an
//!         initrd of MIB MiB of random data, timed around the system call, then
//!         an untimed unload. Prints one line per size:
//!             BENCH load_MIB ms=t1,t2,... median=M
//!
//!     kexec-bench fileload KERNEL MIB[,MIB...] REPS
//!         The same with kexec_file_load(2): KERNEL and an initrd file of MIB
//!         MiB of random data in tmpfs, timed around the call (which reads both
//!         files, lays the image out, hashes every segment and copies them),
//!         then an untimed unload. Prints
//!             BENCH fileload_MIB ms=t1,t2,... median=M
//!
//!     kexec-bench vmcore
//!         Reads all of /proc/vmcore with read() and 4 KiB, 64 KiB and 1 MiB
//!         buffers, and through mmap() in 4 MiB windows. Prints one line per mode:
//!             BENCH vmcore_MODE bytes=N ms=T mbps=R
//!
//!     kexec-bench memcpy
//!         The guest's own copy speed, the limit the copies above work against:
//!         256 MiB copied with the C library's memcpy, and page by page with a
//!         loop of 8-byte moves, 5 times each. Prints the median of each:
//!             BENCH memcpy_256m mbps=R
//!             BENCH copyloop_page mbps=R
//!
//!     kexec-bench tsc
//!         The time-stamp counter, for intervals that span a kexec (the TSC is
//!         not reset by it; under QEMU's -icount it follows the executed
//!         instructions), and the guest's monotonic clock beside it:
//!             KR-INFO tsc=TICKS mono_ns=NS
//!
//!     kexec-bench leak KERNEL INITRD CYCLES [FILE_CYCLES]
//!         Load and unload CYCLES times in each of four ways: kexec_load of the
//!         KERNEL and INITRD bytes, the same into the crash reservation, and
//!         kexec_file_load of the two files, normal and crash (FILE_CYCLES
//!         times, default CYCLES: each takes most of a second under TCG). Before, at every
//!         tenth of the cycles and after, with the page cache dropped and the
//!         slab caches shrunk, prints (memavail: MemAvailable plus the per-CPU
//!         free lists)
//!             LEAK WAY cycle=N memavail_kb=A slab_kb=S sunreclaim_kb=U vmalloc_kb=V
//!         and at the end of each way
//!             LEAK WAY done cycles=N drift memavail_kb=dA slab_kb=dS sunreclaim_kb=dU
//!         (drift: before minus after for MemAvailable, after minus before for
//!         the others; positive means memory gone). Exits 1 on a failed call.
//!
//! The segments of `load` are not a bootable image (no purgatory): they are what
//! kexec_load copies, which is what is timed. The kernel goes to 16 MiB, the
//! initrd to 256 MiB (into RAM: above 1 GiB on arm64's virt machine), as
//! kexec-tools would place them on a small machine.

use std::fs::File;
use std::io::{Error, Read};
use std::os::unix::io::AsRawFd;
use std::time::Instant;

#[path = "../../common/memory.rs"]
mod memory;

const MIB: usize = 1 << 20;
/// Where RAM starts: 0 on a PC, 1 GiB on QEMU's arm64 virt machine.
#[cfg(target_arch = "aarch64")]
const RAM_BASE: u64 = 0x4000_0000;
#[cfg(not(target_arch = "aarch64"))]
const RAM_BASE: u64 = 0;
const KERNEL_DEST: u64 = RAM_BASE + (16 << 20);
const INITRD_DEST: u64 = RAM_BASE + (256 << 20);

#[repr(C)]
struct Seg {
    buf: *const u8,
    bufsz: usize,
    mem: u64,
    memsz: u64,
}

fn kexec_load(entry: u64, segs: &[Seg]) -> Result<(), Error> {
    // SAFETY: a raw system call; `segs` and the buffers it points to stay alive
    // for the call.
    let r = unsafe { libc::syscall(libc::SYS_kexec_load, entry, segs.len() as u64, segs.as_ptr(), 0u64) };
    if r < 0 {
        Err(Error::last_os_error())
    } else {
        Ok(())
    }
}

fn page_up(n: usize) -> u64 {
    (n as u64).div_ceil(4096) * 4096
}

/// `len` bytes of xorshift output: incompressible, different in every page.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    let mut x = seed | 1;
    for chunk in v.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    v
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn bench_load(kernel_path: &str, sizes: &str, reps: usize) -> Result<(), String> {
    let mut kernel = Vec::new();
    File::open(kernel_path)
        .and_then(|mut f| f.read_to_end(&mut kernel))
        .map_err(|e| format!("reading {kernel_path}: {e}"))?;
    for size in sizes.split(',') {
        let mib: usize = size.parse().map_err(|_| format!("bad size '{size}'"))?;
        let initrd = random_bytes(mib * MIB, 0x9e37_79b9 ^ mib as u64);
        let segs = [
            Seg { buf: kernel.as_ptr(), bufsz: kernel.len(), mem: KERNEL_DEST, memsz: page_up(kernel.len()) },
            Seg { buf: initrd.as_ptr(), bufsz: initrd.len(), mem: INITRD_DEST, memsz: page_up(initrd.len()) },
        ];
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t = Instant::now();
            kexec_load(KERNEL_DEST, &segs).map_err(|e| format!("kexec_load with a {mib} MiB initrd: {e}"))?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            kexec_load(0, &[]).map_err(|e| format!("unload: {e}"))?;
        }
        let list: Vec<String> = times.iter().map(|t| format!("{t:.1}")).collect();
        let m = median(&mut times);
        println!("BENCH load_{mib} ms={} median={m:.1}", list.join(","));
    }
    Ok(())
}

/// kexec_file_load of `kernel_path` plus an initrd file of each size (random
/// bytes in tmpfs), `reps` times each, timed around the call (reading both
/// files, the loader, the digest and the copy into the image's pages), each
/// followed by an untimed unload.
fn bench_fileload(kernel_path: &str, sizes: &str, reps: usize) -> Result<(), String> {
    let kfile = File::open(kernel_path).map_err(|e| format!("{kernel_path}: {e}"))?;
    let cmdline = b"console=ttyS0\0";
    for size in sizes.split(',') {
        let mib: usize = size.parse().map_err(|_| format!("bad size '{size}'"))?;
        let path = format!("/tmp/bench-initrd-{mib}");
        std::fs::write(&path, random_bytes(mib * MIB, 0x7f4a_7c15 ^ mib as u64))
            .map_err(|e| format!("writing {path}: {e}"))?;
        let ifile = File::open(&path).map_err(|e| format!("{path}: {e}"))?;
        let call = |flags: u64| {
            let len = if flags & KEXEC_FILE_UNLOAD != 0 { 0 } else { cmdline.len() };
            // SAFETY: a raw system call on open files and a NUL-terminated command line.
            syscall_result(unsafe {
                libc::syscall(
                    libc::SYS_kexec_file_load,
                    kfile.as_raw_fd(),
                    ifile.as_raw_fd(),
                    len as u64,
                    cmdline.as_ptr(),
                    flags,
                )
            })
        };
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t = Instant::now();
            call(0).map_err(|e| format!("kexec_file_load with a {mib} MiB initrd: {e}"))?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            call(KEXEC_FILE_UNLOAD).map_err(|e| format!("kexec_file_load unload: {e}"))?;
        }
        drop(ifile);
        let _ = std::fs::remove_file(&path);
        let list: Vec<String> = times.iter().map(|t| format!("{t:.1}")).collect();
        let m = median(&mut times);
        println!("BENCH fileload_{mib} ms={} median={m:.1}", list.join(","));
    }
    Ok(())
}

fn report(mode: &str, bytes: u64, secs: f64) {
    println!("BENCH vmcore_{mode} bytes={bytes} ms={:.1} mbps={:.1}", secs * 1e3, bytes as f64 / secs / 1e6);
}

fn bench_vmcore() -> Result<(), String> {
    let path = "/proc/vmcore";
    for (mode, bufsz) in [("read4k", 4096usize), ("read64k", 64 << 10), ("read1m", MIB)] {
        let mut f = File::open(path).map_err(|e| format!("{path}: {e}"))?;
        let mut buf = vec![0u8; bufsz];
        let mut total = 0u64;
        let t = Instant::now();
        loop {
            let n = f.read(&mut buf).map_err(|e| format!("reading {path}: {e}"))?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        report(mode, total, t.elapsed().as_secs_f64());
    }

    let f = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    let window = 4 * MIB as u64;
    let mut sum = 0u64;
    let t = Instant::now();
    let mut off = 0u64;
    while off < size {
        let len = window.min(size - off) as usize;
        // SAFETY: a fresh read-only shared mapping of part of the file, unmapped
        // below; nothing else refers to it.
        let p = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, f.as_raw_fd(), off as i64)
        };
        if p == libc::MAP_FAILED {
            println!("BENCH vmcore_mmap unsupported: {}", Error::last_os_error());
            return Ok(());
        }
        // SAFETY: `p` maps `len` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, len) };
        // Touch every word so each page is really read.
        for w in bytes.chunks_exact(8) {
            sum = sum.wrapping_add(u64::from_le_bytes(w.try_into().unwrap()));
        }
        // SAFETY: unmapping our own mapping.
        unsafe { libc::munmap(p, len) };
        off += len as u64;
    }
    std::hint::black_box(sum);
    report("mmap", size, t.elapsed().as_secs_f64());
    Ok(())
}

/// Copies `src` into `dst` one 4 KiB page at a time, eight bytes per move
/// (volatile, so that the compiler does not make it a memcpy call).
fn copy_pages(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.chunks_exact_mut(4096).zip(src.chunks_exact(4096)) {
        let (dp, sp) = (d.as_mut_ptr() as *mut u64, s.as_ptr() as *const u64);
        for w in 0..512 {
            // SAFETY: word `w` of a 4 KiB page that both slices hold; the
            // vectors are 8-byte aligned and so are their pages.
            unsafe { dp.add(w).write_volatile(sp.add(w).read_volatile()) };
        }
    }
}

fn bench_memcpy() -> Result<(), String> {
    let n = 256 * MIB;
    let src: Vec<u64> = (0..n as u64 / 8).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
    let mut dst = vec![0u64; n / 8];
    // SAFETY: viewing the u64 vectors as their bytes.
    let (s, d) = unsafe {
        (
            std::slice::from_raw_parts(src.as_ptr() as *const u8, n),
            std::slice::from_raw_parts_mut(dst.as_mut_ptr() as *mut u8, n),
        )
    };
    d.copy_from_slice(s); // Touch every destination page once before timing.
    for (name, page_loop) in [("memcpy_256m", false), ("copyloop_page", true)] {
        let mut secs = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            if page_loop {
                copy_pages(d, s);
            } else {
                d.copy_from_slice(std::hint::black_box(s));
            }
            std::hint::black_box(&d);
            secs.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let ms = median(&mut secs);
        println!("BENCH {name} mbps={:.1}", n as f64 / (ms / 1e3) / 1e6);
    }
    Ok(())
}

/// The counters of /proc/meminfo a leak would move, in KiB.
struct Mem {
    avail: i64,
    slab: i64,
    sunreclaim: i64,
    vmalloc: i64,
}

/// Reads the counters after dropping the page cache and shrinking every slab
/// cache (`/sys/kernel/slab/*/shrink`, where the kernel has it: on a KASAN
/// kernel this also frees the objects held in its quarantine, which would
/// otherwise read as tens of MiB lost). `avail` counts the free pages held in
/// the per-CPU lists (`count:` of each pageset in /proc/zoneinfo), which
/// MemAvailable does not.
fn meminfo() -> Result<Mem, String> {
    let _ = std::fs::write("/proc/sys/vm/drop_caches", "3");
    memory::shrink_slabs();
    let per_cpu_kb = memory::per_cpu_free_kb() as i64;
    let text = std::fs::read_to_string("/proc/meminfo").map_err(|e| format!("/proc/meminfo: {e}"))?;
    let field = |name: &str| -> Result<i64, String> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .ok_or(format!("no {name} in /proc/meminfo"))
    };
    Ok(Mem {
        avail: field("MemAvailable")? + per_cpu_kb,
        slab: field("Slab")?,
        sunreclaim: field("SUnreclaim")?,
        vmalloc: field("VmallocUsed")?,
    })
}

/// The crash reservation from /proc/iomem: (start, size).
fn crash_window() -> Result<(u64, u64), String> {
    let text = std::fs::read_to_string("/proc/iomem").map_err(|e| format!("/proc/iomem: {e}"))?;
    let line = text.lines().find(|l| l.contains("Crash kernel")).ok_or("no Crash kernel in /proc/iomem")?;
    let range = line.trim().split(' ').next().unwrap_or("");
    let (a, b) = range.split_once('-').ok_or(format!("bad iomem line '{line}'"))?;
    let a = u64::from_str_radix(a, 16).map_err(|e| e.to_string())?;
    let b = u64::from_str_radix(b, 16).map_err(|e| e.to_string())?;
    Ok((a, b + 1 - a))
}

const KEXEC_ON_CRASH: u64 = 1;
const KEXEC_FILE_UNLOAD: u64 = 1;
const KEXEC_FILE_ON_CRASH: u64 = 2;

fn syscall_result(r: libc::c_long) -> Result<(), Error> {
    if r < 0 {
        Err(Error::last_os_error())
    } else {
        Ok(())
    }
}

fn leak(kernel_path: &str, initrd_path: &str, raw_cycles: usize, file_cycles: usize) -> Result<(), String> {
    let read = |p: &str| std::fs::read(p).map_err(|e| format!("reading {p}: {e}"));
    let (kernel, initrd) = (read(kernel_path)?, read(initrd_path)?);
    let kfile = File::open(kernel_path).map_err(|e| format!("{kernel_path}: {e}"))?;
    let ifile = File::open(initrd_path).map_err(|e| format!("{initrd_path}: {e}"))?;
    let cmdline = b"console=ttyS0 krleak=1\0";
    let (cstart, csize) = crash_window()?;
    let kmem = page_up(kernel.len());
    if kmem + page_up(initrd.len()) > csize {
        return Err(format!("kernel and initrd do not fit the {csize}-byte crash reservation"));
    }
    let normal = [
        Seg { buf: kernel.as_ptr(), bufsz: kernel.len(), mem: KERNEL_DEST, memsz: kmem },
        Seg { buf: initrd.as_ptr(), bufsz: initrd.len(), mem: INITRD_DEST, memsz: page_up(initrd.len()) },
    ];
    let crash = [
        Seg { buf: kernel.as_ptr(), bufsz: kernel.len(), mem: cstart, memsz: kmem },
        Seg { buf: initrd.as_ptr(), bufsz: initrd.len(), mem: cstart + kmem, memsz: page_up(initrd.len()) },
    ];
    let raw_load = |entry: u64, segs: &[Seg], flags: u64| {
        // SAFETY: a raw system call; `segs` and its buffers outlive it.
        syscall_result(unsafe {
            libc::syscall(libc::SYS_kexec_load, entry, segs.len() as u64, segs.as_ptr(), flags)
        })
    };
    let file_load = |flags: u64| {
        let len = if flags & KEXEC_FILE_UNLOAD != 0 { 0 } else { cmdline.len() };
        // SAFETY: a raw system call on open files and a NUL-terminated command line.
        syscall_result(unsafe {
            libc::syscall(
                libc::SYS_kexec_file_load,
                kfile.as_raw_fd(),
                ifile.as_raw_fd(),
                len as u64,
                cmdline.as_ptr(),
                flags,
            )
        })
    };
    type Way<'a> = (&'a str, Box<dyn Fn() -> Result<(), Error> + 'a>, Box<dyn Fn() -> Result<(), Error> + 'a>);
    let ways: [Way; 4] = [
        ("kexec_load", Box::new(|| raw_load(KERNEL_DEST, &normal, 0)), Box::new(|| raw_load(0, &[], 0))),
        (
            "kexec_load-crash",
            Box::new(|| raw_load(cstart, &crash, KEXEC_ON_CRASH)),
            Box::new(|| raw_load(0, &[], KEXEC_ON_CRASH)),
        ),
        ("kexec_file_load", Box::new(|| file_load(0)), Box::new(|| file_load(KEXEC_FILE_UNLOAD))),
        (
            "kexec_file_load-crash",
            Box::new(|| file_load(KEXEC_FILE_ON_CRASH)),
            Box::new(|| file_load(KEXEC_FILE_UNLOAD | KEXEC_FILE_ON_CRASH)),
        ),
    ];
    let show = |way: &str, n: usize, m: &Mem| {
        println!(
            "LEAK {way} cycle={n} memavail_kb={} slab_kb={} sunreclaim_kb={} vmalloc_kb={}",
            m.avail, m.slab, m.sunreclaim, m.vmalloc
        );
    };
    for (way, load, unload) in &ways {
        let cycles = if way.starts_with("kexec_file_load") { file_cycles } else { raw_cycles };
        let step = (cycles / 10).max(1);
        // One round first, so that one-time allocations (a cache created on
        // first use) do not count as a leak.
        load().and_then(|()| unload()).map_err(|e| format!("{way}: first round: {e}"))?;
        let before = meminfo()?;
        show(way, 0, &before);
        let t = Instant::now();
        for n in 1..=cycles {
            load().map_err(|e| format!("{way} cycle {n}: load: {e}"))?;
            unload().map_err(|e| format!("{way} cycle {n}: unload: {e}"))?;
            if n % step == 0 && n != cycles {
                show(way, n, &meminfo()?);
            }
        }
        let secs = t.elapsed().as_secs_f64();
        let after = meminfo()?;
        show(way, cycles, &after);
        println!(
            "LEAK {way} done cycles={cycles} secs={secs:.1} drift memavail_kb={} slab_kb={} sunreclaim_kb={}",
            before.avail - after.avail,
            after.slab - before.slab,
            after.sunreclaim - before.sunreclaim
        );
    }
    Ok(())
}

/// Prints the time-stamp counter and the monotonic clock (see the top).
fn tsc() -> Result<(), String> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC only reads the counter; user space may run it unless
        // CR4.TSD is set, which Linux does not do for this process.
        let ticks = unsafe { core::arch::x86_64::_rdtsc() };
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid timespec the call writes.
        if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
            return Err(format!("clock_gettime: {}", Error::last_os_error()));
        }
        println!("KR-INFO tsc={ticks} mono_ns={}", ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64);
        Ok(())
    }
    #[cfg(not(target_arch = "x86_64"))]
    Err("no time-stamp counter reader for this architecture".to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let r = match args.get(1).map(String::as_str) {
        Some("load") if args.len() == 5 => {
            let reps = args[4].parse().unwrap_or(0);
            if reps == 0 {
                Err("REPS must be a positive number".to_string())
            } else {
                bench_load(&args[2], &args[3], reps)
            }
        }
        Some("fileload") if args.len() == 5 => {
            let reps = args[4].parse().unwrap_or(0);
            if reps == 0 {
                Err("REPS must be a positive number".to_string())
            } else {
                bench_fileload(&args[2], &args[3], reps)
            }
        }
        Some("vmcore") => bench_vmcore(),
        Some("memcpy") => bench_memcpy(),
        Some("tsc") => tsc(),
        Some("leak") if args.len() == 5 || args.len() == 6 => {
            let n: usize = args[4].parse().unwrap_or(0);
            let f: usize = args.get(5).map_or(Some(n), |a| a.parse().ok()).unwrap_or(0);
            if n == 0 || f == 0 {
                Err("CYCLES and FILE_CYCLES must be positive numbers".to_string())
            } else {
                leak(&args[2], &args[3], n, f)
            }
        }
        _ => Err("usage: kexec-bench load KERNEL MIB[,MIB...] REPS | kexec-bench fileload KERNEL MIB[,MIB...] REPS | \
                  kexec-bench vmcore | kexec-bench memcpy | kexec-bench tsc | \
                  kexec-bench leak KERNEL INITRD CYCLES [FILE_CYCLES]"
            .to_string()),
    };
    if let Err(e) = r {
        eprintln!("kexec-bench: {e}");
        std::process::exit(1);
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The system side: raw kexec system calls, writes to sysfs and procfs, the
//! kernel state read back, and memory with holes in it.

use crate::model::{Answer, State, PAGE};
use std::ffi::CString;
use std::fs;
use std::io::Error;
use std::ptr;

fn answer(r: i64) -> Answer {
    if r < 0 {
        Answer { ret: -1, errno: Error::last_os_error().raw_os_error().unwrap_or(0) }
    } else {
        Answer { ret: r, errno: 0 }
    }
}

/// `struct kexec_segment`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct KSeg {
    pub buf: u64,
    pub bufsz: u64,
    pub mem: u64,
    pub memsz: u64,
}

pub fn kexec_load(entry: u64, nr: u64, segs: u64, flags: u64) -> Answer {
    // SAFETY: a raw system call; the kernel validates every argument, which is
    // what this program tests. It reads our memory only.
    answer(unsafe { libc::syscall(libc::SYS_kexec_load, entry, nr, segs, flags) })
}

pub fn kexec_file_load(kernel: i32, initrd: i32, len: u64, cmdline: u64, flags: u64) -> Answer {
    // SAFETY: as above; the kernel reads the descriptors and the command line.
    answer(unsafe { libc::syscall(libc::SYS_kexec_file_load, kernel as i64, initrd as i64, len, cmdline, flags) })
}

fn cpath(path: &str) -> CString {
    CString::new(path).expect("path without NUL")
}

pub fn open(path: &str, flags: i32) -> i32 {
    let p = cpath(path);
    // SAFETY: `p` is a NUL-terminated path.
    unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC, 0o644) }
}

pub fn close(fd: i32) {
    if fd >= 0 {
        // SAFETY: closing a descriptor this program opened.
        unsafe { libc::close(fd) };
    }
}

/// One write(2) of `bytes` to `path`, as a shell's `echo` does it.
pub fn write_once(path: &str, bytes: &[u8]) -> Answer {
    let fd = open(path, libc::O_WRONLY);
    if fd < 0 {
        return answer(-1);
    }
    // SAFETY: writing from our own slice.
    let r = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) } as i64;
    let a = answer(r);
    close(fd);
    a
}

/// The file's content up to 64 bytes, trimmed, with one read(2).
pub fn read_small(path: &str) -> Option<String> {
    let fd = open(path, libc::O_RDONLY);
    if fd < 0 {
        return None;
    }
    let mut buf = [0u8; 64];
    // SAFETY: reading into our own buffer.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    close(fd);
    if n < 0 {
        return None;
    }
    Some(String::from_utf8_lossy(&buf[..n as usize]).trim().to_string())
}

pub fn read_u64(path: &str) -> Option<u64> {
    read_small(path)?.parse().ok()
}

pub fn read_i64(path: &str) -> Option<i64> {
    read_small(path)?.parse().ok()
}

pub fn state() -> State {
    State {
        loaded: read_u64("/sys/kernel/kexec_loaded"),
        crash_loaded: read_u64("/sys/kernel/kexec_crash_loaded"),
        crash_size: read_u64("/sys/kernel/kexec_crash_size"),
    }
}

pub fn limits() -> [i64; 2] {
    [
        read_i64("/proc/sys/kernel/kexec_load_limit_panic").unwrap_or(-1),
        read_i64("/proc/sys/kernel/kexec_load_limit_reboot").unwrap_or(-1),
    ]
}

/// The crash kernel reservation from /proc/iomem, as [start, end].
pub fn crash_window() -> Option<(u64, u64)> {
    let text = fs::read_to_string("/proc/iomem").ok()?;
    let line = text.lines().find(|l| l.ends_with(": Crash kernel"))?;
    let (s, e) = line.trim().split(" : ").next()?.split_once('-')?;
    Some((u64::from_str_radix(s, 16).ok()?, u64::from_str_radix(e, 16).ok()?))
}

/// MemAvailable plus the per-CPU free lists, in KiB, after dropping the page
/// cache and slab caches: the highest of `n` readings 200 ms apart (memory
/// freed through RCU comes back with a delay).
pub fn mem_available_kb(n: u32) -> u64 {
    let mut best = 0;
    for i in 0..n {
        if i > 0 {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        // SAFETY: sync(2) takes no arguments.
        unsafe { libc::sync() };
        let _ = fs::write("/proc/sys/vm/drop_caches", "3");
        crate::memory::shrink_slabs();
        let text = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kb: u64 = text
            .lines()
            .find(|l| l.starts_with("MemAvailable:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        best = best.max(kb + crate::memory::per_cpu_free_kb());
    }
    best
}

/// A private anonymous mapping of `len` bytes that lives as long as the program.
pub fn map(len: u64) -> u64 {
    // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED, "mmap of {len} bytes failed");
    p as u64
}

/// Unmaps one page of a mapping made by [`map`].
pub fn unmap_page(addr: u64) {
    // SAFETY: the page belongs to a mapping of ours that nothing refers to
    // through a Rust reference.
    let r = unsafe { libc::munmap(addr as *mut libc::c_void, PAGE as usize) };
    assert_eq!(r, 0, "munmap failed");
}

/// `len` readable bytes followed by an unmapped page: returns the address of
/// the first byte after the readable ones.
pub fn map_with_hole(len: u64) -> u64 {
    let p = map(len + 2 * PAGE);
    unmap_page(p + len);
    p + len
}

/// An address whose page was mapped and then unmapped; the pages around it
/// stay mapped so that no later mapping lands on it.
pub fn unmapped_page() -> u64 {
    let p = map(3 * PAGE);
    unmap_page(p + PAGE);
    p + PAGE
}

/// The bytes `[addr, addr + len)` of one of our mappings.
///
/// # Safety
///
/// The range must lie inside a live mapping of this program, and no other
/// reference to it may exist while the slice lives.
pub unsafe fn bytes_mut<'a>(addr: u64, len: u64) -> &'a mut [u8] {
    // SAFETY: the caller's promise.
    unsafe { std::slice::from_raw_parts_mut(addr as *mut u8, len as usize) }
}

/// A reader of the kernel log (/dev/kmsg) from the moment it was opened: the
/// console is quiet during a run and the log buffer wraps long before the
/// end, so the fuzzer watches the log after every call itself.
pub struct Kmsg {
    fd: i32,
}

impl Kmsg {
    pub fn open() -> Option<Kmsg> {
        let fd = open("/dev/kmsg", libc::O_RDONLY | libc::O_NONBLOCK);
        if fd < 0 {
            return None;
        }
        // SAFETY: seeking our own descriptor to the end of the log.
        unsafe { libc::lseek(fd, 0, libc::SEEK_END) };
        Some(Kmsg { fd })
    }

    /// The messages logged since the last call, without their prefixes.
    pub fn drain(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: reading one record into our own buffer.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                if Error::last_os_error().raw_os_error() == Some(libc::EPIPE) {
                    // Records were overwritten before we read them.
                    out.push("kexec-fuzz: (kernel log records lost)".into());
                    continue;
                }
                return out;
            }
            if n == 0 {
                return out;
            }
            let rec = String::from_utf8_lossy(&buf[..n as usize]);
            let text = rec.lines().next().unwrap_or("");
            out.push(text.split_once(';').map_or(text, |(_, m)| m).to_string());
        }
    }
}

impl Drop for Kmsg {
    fn drop(&mut self) {
        close(self.fd);
    }
}

/// What in a kernel log line means the kernel complained: a warning, an oops,
/// a sanitizer or lockdep report, a Rust panic.
pub fn is_complaint(line: &str) -> bool {
    const WORDS: &[&str] = &[
        "WARNING:",
        "BUG:",
        "Oops",
        "general protection fault",
        "kernel BUG at",
        "KASAN",
        "KFENCE",
        "UBSAN",
        "possible circular locking",
        "possible recursive locking",
        "inconsistent lock state",
        "suspicious RCU usage",
        "DEBUG_LOCKS_WARN_ON",
        "list_add corruption",
        "list_del corruption",
        "refcount_t:",
        "panicked at",
        "Kernel panic",
    ];
    WORDS.iter().any(|w| line.contains(w))
}

// SPDX-License-Identifier: GPL-2.0
//! Proves that /proc/vmcore serves the crashed kernel's memory byte for byte.
//!
//!     vmcore-pattern fill DEV MIB SEED
//!         First kernel: fills MIB MiB of locked anonymous memory with a pattern
//!         derived from SEED and each page's index, finds every page's physical
//!         address in /proc/self/pagemap, writes SEED and the page frame numbers
//!         to the block device DEV, prints "pattern ready", and sleeps so that
//!         the memory is still there when the kernel crashes.
//!     vmcore-pattern check DEV
//!         Capture kernel: reads the record from DEV, finds each page in
//!         /proc/vmcore through its PT_LOADs, and checks every byte twice: with
//!         read() at unaligned offsets and of mixed sizes (1 byte to over
//!         1 MiB), and through mmap() windows. Prints one summary line and
//!         exits 1 on the first wrong byte.
//!         With LO HI (hexadecimal physical addresses) after DEV, also says how
//!         many of the pages lie in [LO, HI).
//!     vmcore-pattern layout [LO HI]...
//!         Capture kernel: the number of NT_PRSTATUS notes in /proc/vmcore, and
//!         for each [LO, HI) how many of its bytes the PT_LOADs cover.
//!     vmcore-pattern loads
//!         Capture kernel: each PT_LOAD of /proc/vmcore as "load START END"
//!         (physical addresses, END exclusive, by memsz).
//!     vmcore-pattern vmem-map START SIZE
//!         First kernel, virtio-mem scenario: which pages of the device's
//!         memory [START, START + SIZE) (hexadecimal) are plugged, from
//!         /proc/kpageflags (an unplugged page of an added block is
//!         PageOffline, one of a block never added has no page), printed as
//!         "LO-HI,..." (hexadecimal, HI exclusive).
//!     vmcore-pattern vmem START SIZE PLUGGED
//!         Capture kernel, virtio-mem scenario: PLUGGED is what vmem-map
//!         printed before the crash; the host filled the device's memory with
//!         a non-zero pattern before anything was plugged. Every page of the
//!         device in the PT_LOADs is read with read() and through mmap(): both
//!         must agree, and every unplugged page must read as zeros (the
//!         driver's vmcore callback says it is not RAM). Prints a summary.
//!     vmcore-pattern badhdr CASE | badcheck CASE | badcases
//!         Hand-made elfcorehdrs for the vmcore-bad scenario (badhdr.rs).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::process::exit;

mod badhdr;

use kexec_logic::elfcore::{Phdr, EHDR_SIZE, PHDR_SIZE, PT_LOAD, PT_NOTE};

const PAGE: usize = 4096;
const MAGIC: &[u8; 8] = b"KRPATTRN";

fn die(msg: String) -> ! {
    eprintln!("vmcore-pattern: {msg}");
    exit(1)
}

/// splitmix64: a well-mixed 64-bit function of its input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The pattern of page `index`: 512 words, each a function of seed, page, word.
fn page_pattern(seed: u64, index: u64, out: &mut [u8]) {
    let base = mix(seed ^ index.wrapping_mul(0x1000_0000_01b3));
    for (w, chunk) in out.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(base ^ w as u64).to_le_bytes());
    }
}

/// `n` pages of locked anonymous memory and each page's physical address,
/// from /proc/self/pagemap (bits 0-54 of an entry, bit 63 present; root only).
fn locked_pages(n: usize) -> (&'static mut [u8], Vec<u64>) {
    let len = n * PAGE;
    // SAFETY: a fresh private anonymous mapping, used only here and never unmapped.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        die(format!("mmap of {n} pages: {}", std::io::Error::last_os_error()));
    }
    // Locked so that no page moves or leaves memory before the crash.
    // SAFETY: locking our own mapping.
    if unsafe { libc::mlock(p, len) } != 0 {
        die(format!("mlock: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `p` maps `len` writable bytes that nothing else refers to, forever.
    let mem = unsafe { std::slice::from_raw_parts_mut(p as *mut u8, len) };
    let pm = File::open("/proc/self/pagemap").unwrap_or_else(|e| die(format!("pagemap: {e}")));
    let mut entries = vec![0u8; n * 8];
    pm.read_exact_at(&mut entries, (p as u64 / PAGE as u64) * 8)
        .unwrap_or_else(|e| die(format!("reading pagemap: {e}")));
    let phys = entries
        .chunks_exact(8)
        .enumerate()
        .map(|(i, e)| {
            let e = u64::from_le_bytes(e.try_into().unwrap());
            let pfn = e & ((1 << 55) - 1);
            if e >> 63 == 0 || pfn == 0 {
                die(format!("page {i} not present or its frame hidden (pagemap entry {e:#x}; root?)"));
            }
            pfn * PAGE as u64
        })
        .collect();
    (mem, phys)
}

fn sleep_forever() -> ! {
    std::io::stdout().flush().ok();
    loop {
        // SAFETY: plain pause; the memory stays mapped while we sleep.
        unsafe { libc::pause() };
    }
}

fn fill(dev: &str, mib: usize, seed: u64) {
    let pages = (mib << 20) / PAGE;
    let (mem, phys) = locked_pages(pages);
    for i in 0..pages {
        page_pattern(seed, i as u64, &mut mem[i * PAGE..(i + 1) * PAGE]);
    }
    let mut rec = Vec::with_capacity(24 + pages * 8);
    rec.extend_from_slice(MAGIC);
    rec.extend_from_slice(&seed.to_le_bytes());
    rec.extend_from_slice(&(pages as u64).to_le_bytes());
    for pa in &phys {
        rec.extend_from_slice(&(pa / PAGE as u64).to_le_bytes());
    }
    let mut d = OpenOptions::new().write(true).open(dev).unwrap_or_else(|e| die(format!("{dev}: {e}")));
    d.write_all(&rec).and_then(|_| d.sync_all()).unwrap_or_else(|e| die(format!("writing {dev}: {e}")));
    println!("pattern ready: {pages} pages, seed {seed}");
    sleep_forever()
}


fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

/// The PT_LOADs of /proc/vmcore, read with the kernel crate's own `Phdr`.
fn loads(f: &File) -> Vec<Phdr> {
    phdrs(f).into_iter().filter(|p| p.ty == PT_LOAD).collect()
}

/// Every program header of /proc/vmcore.
fn phdrs(f: &File) -> Vec<Phdr> {
    let mut eh = [0u8; EHDR_SIZE];
    f.read_exact_at(&mut eh, 0).unwrap_or_else(|e| die(format!("ELF header: {e}")));
    if &eh[..4] != b"\x7fELF" || eh[4] != 2 {
        die("/proc/vmcore is not an ELF64 file".into());
    }
    let phoff = u64_at(&eh, 32);
    let phnum = u16::from_le_bytes([eh[56], eh[57]]) as usize;
    let mut ph = vec![0u8; phnum * PHDR_SIZE];
    f.read_exact_at(&mut ph, phoff).unwrap_or_else(|e| die(format!("program headers: {e}")));
    (0..phnum).filter_map(|i| Phdr::read(&ph, i * PHDR_SIZE)).collect()
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_else(|_| die(format!("bad address {s}")))
}

/// How many NT_PRSTATUS notes the PT_NOTE segments hold, and for each range
/// `[lo, hi)` how many of its bytes are in a PT_LOAD.
fn layout(ranges: &[String]) {
    let f = File::open("/proc/vmcore").unwrap_or_else(|e| die(format!("/proc/vmcore: {e}")));
    let ph = phdrs(&f);
    let mut prstatus = 0;
    for n in ph.iter().filter(|p| p.ty == PT_NOTE) {
        let mut b = vec![0u8; n.filesz as usize];
        f.read_exact_at(&mut b, n.offset).unwrap_or_else(|e| die(format!("PT_NOTE: {e}")));
        let mut off = 0usize;
        while off + 12 <= b.len() {
            let word = |k: usize| u32::from_le_bytes(b[off + k..off + k + 4].try_into().unwrap()) as usize;
            let (namesz, descsz, ty) = (word(0), word(4), word(8));
            if namesz == 0 && descsz == 0 {
                break;
            }
            if ty == 1 && b.get(off + 12..off + 16) == Some(b"CORE") {
                prstatus += 1;
            }
            off += 12 + namesz.next_multiple_of(4) + descsz.next_multiple_of(4);
        }
    }
    let mut out = format!("prstatus={prstatus}");
    for r in ranges.chunks_exact(2) {
        let (lo, hi) = (hex(&r[0]), hex(&r[1]));
        let covered: u64 = ph
            .iter()
            .filter(|p| p.ty == PT_LOAD)
            .map(|p| (p.paddr.max(lo), (p.paddr + p.memsz).min(hi)))
            .filter(|(a, b)| a < b)
            .map(|(a, b)| b - a)
            .sum();
        out.push_str(&format!("; {lo:#x}-{hi:#x}: {covered} of {} bytes in PT_LOADs", hi - lo));
    }
    println!("{out}");
}

/// Where physical address `pa` is in the file.
fn file_offset(loads: &[Phdr], pa: u64) -> Option<u64> {
    loads
        .iter()
        .find(|l| pa >= l.paddr && pa + PAGE as u64 <= l.paddr + l.filesz)
        .map(|l| l.offset + (pa - l.paddr))
}

fn check(dev: &str, within: Option<(u64, u64)>) {
    let mut d = File::open(dev).unwrap_or_else(|e| die(format!("{dev}: {e}")));
    let mut head = [0u8; 24];
    d.read_exact(&mut head).unwrap_or_else(|e| die(format!("reading {dev}: {e}")));
    if &head[..8] != MAGIC {
        die(format!("no pattern record on {dev}"));
    }
    let seed = u64_at(&head, 8);
    let pages = u64_at(&head, 16) as usize;
    let mut pfns = vec![0u8; pages * 8];
    d.seek(SeekFrom::Start(24)).and_then(|_| d.read_exact(&mut pfns)).unwrap_or_else(|e| die(format!("{e}")));

    let f = File::open("/proc/vmcore").unwrap_or_else(|e| die(format!("/proc/vmcore: {e}")));
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let loads = loads(&f);
    // (file offset, page index), in file order.
    let mut where_: Vec<(u64, u64)> = pfns
        .chunks_exact(8)
        .enumerate()
        .map(|(i, c)| {
            let pa = u64::from_le_bytes(c.try_into().unwrap()) * PAGE as u64;
            let off = file_offset(&loads, pa)
                .unwrap_or_else(|| die(format!("page {i} at {pa:#x} is in no PT_LOAD of /proc/vmcore")));
            (off, i as u64)
        })
        .collect();
    where_.sort();
    let by_off = |off: u64| where_.binary_search_by_key(&off, |&(o, _)| o).ok().map(|k| where_[k].1);
    let mut want = vec![0u8; PAGE];

    // read(): each read starts before a page not yet checked, at an unaligned
    // offset, with a size from the menu; every known page in what it returns is
    // checked, whole or in part. A page that read did not cover whole is then
    // read alone.
    let sizes = [1usize, 17, 4095, 4097, 12289, 65536, 65536 + 123, 1 << 20, (1 << 20) + 4097];
    let mut rng = seed ^ 0x5eed;
    let mut checked = vec![false; pages];
    let mut buf = vec![0u8; (1 << 20) + 2 * PAGE];
    let (mut reads, mut bytes_checked) = (0u64, 0u64);
    for k in 0..where_.len() {
        let (off, idx) = where_[k];
        if !checked[idx as usize] {
            rng = mix(rng);
            let back = (rng % PAGE as u64).min(off);
            let n = sizes[(rng >> 20) as usize % sizes.len()];
            let start = off - back;
            let got = f.read_at(&mut buf[..n], start).unwrap_or_else(|e| die(format!("read at {start}: {e}")));
            if got != n.min((size - start) as usize) {
                die(format!("short read at {start}: {got} of {n}"));
            }
            reads += 1;
            // Every page of the pattern that this read touched.
            let first = start / PAGE as u64 * PAGE as u64;
            let mut p = first;
            while p < start + got as u64 {
                if let Some(i) = by_off(p) {
                    page_pattern(seed, i, &mut want);
                    let lo = start.max(p);
                    let hi = (start + got as u64).min(p + PAGE as u64);
                    let have = &buf[(lo - start) as usize..(hi - start) as usize];
                    let exp = &want[(lo - p) as usize..(hi - p) as usize];
                    if have != exp {
                        let at = have.iter().zip(exp).position(|(a, b)| a != b).unwrap();
                        die(format!("read(): page {i} (file offset {p}) differs at byte {}", lo - p + at as u64));
                    }
                    bytes_checked += have.len() as u64;
                    if lo == p && hi == p + PAGE as u64 {
                        checked[i as usize] = true;
                    }
                }
                p += PAGE as u64;
            }
            if !checked[idx as usize] {
                // The read did not cover the page whole: a read of the page.
                let tail = f.read_at(&mut buf[..PAGE], off).unwrap_or_else(|e| die(format!("{e}")));
                page_pattern(seed, idx, &mut want);
                if tail != PAGE || buf[..PAGE] != want[..] {
                    die(format!("read(): page {idx} (file offset {off}) differs"));
                }
                reads += 1;
                bytes_checked += PAGE as u64;
                checked[idx as usize] = true;
            }
        }
    }

    // mmap(): 16 MiB windows, page by page.
    let window = 16u64 << 20;
    let mut cur: Option<(u64, *const u8, usize)> = None;
    let mut maps = 0;
    for &(off, idx) in &where_ {
        let base = off / window * window;
        if cur.map(|c| c.0) != Some(base) {
            if let Some((_, p, len)) = cur.take() {
                // SAFETY: unmapping our own window.
                unsafe { libc::munmap(p as *mut _, len) };
            }
            let len = window.min(size - base) as usize;
            // SAFETY: a fresh read-only shared mapping of part of the file.
            let p = unsafe {
                libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, f.as_raw_fd(), base as i64)
            };
            if p == libc::MAP_FAILED {
                die(format!("mmap at {base}: {}", std::io::Error::last_os_error()));
            }
            cur = Some((base, p as *const u8, len));
            maps += 1;
        }
        let (base, p, _) = cur.unwrap();
        // SAFETY: the window maps [base, base + len) and the page is inside it.
        let have = unsafe { std::slice::from_raw_parts(p.add((off - base) as usize), PAGE) };
        page_pattern(seed, idx, &mut want);
        if have != &want[..] {
            die(format!("mmap(): page {idx} (file offset {off}) differs"));
        }
    }
    let inside = within.map_or(String::new(), |(lo, hi)| {
        let n = pfns
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()) * PAGE as u64)
            .filter(|pa| (lo..hi).contains(pa))
            .count();
        format!("; {n} of the pages in {lo:#x}-{hi:#x}")
    });
    println!(
        "vmcore-pattern: {pages} pages (seed {seed}) match: read() {reads} reads, {bytes_checked} bytes checked; \
         mmap() {maps} windows; vmcore {size} bytes, {} PT_LOADs{inside}",
        loads.len()
    );
}

/// KPF_OFFLINE and KPF_NOPAGE of /proc/kpageflags.
const KPF_OFFLINE: u64 = 1 << 23;
const KPF_NOPAGE: u64 = 1 << 20;

/// The plugged ranges of a virtio-mem device (see the top of the file).
fn vmem_map(start: u64, size: u64) {
    let f = File::open("/proc/kpageflags").unwrap_or_else(|e| die(format!("/proc/kpageflags: {e}")));
    let pages = (size / PAGE as u64) as usize;
    // The file ends at the highest page frame the kernel has: the device's
    // blocks not added lie beyond it and stay zero here, which is no page.
    let mut flags = vec![0u8; pages * 8];
    let mut got = 0;
    while got < flags.len() {
        match f.read_at(&mut flags[got..], start / PAGE as u64 * 8 + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => die(format!("reading kpageflags: {e}")),
        }
    }
    for e in flags[got / 8 * 8..].chunks_exact_mut(8) {
        e.copy_from_slice(&KPF_NOPAGE.to_le_bytes());
    }
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for (i, e) in flags.chunks_exact(8).enumerate() {
        let e = u64::from_le_bytes(e.try_into().unwrap());
        if e & (KPF_OFFLINE | KPF_NOPAGE) != 0 {
            continue;
        }
        let pa = start + (i * PAGE) as u64;
        match ranges.last_mut() {
            Some(r) if r.1 == pa => r.1 += PAGE as u64,
            _ => ranges.push((pa, pa + PAGE as u64)),
        }
    }
    let out: Vec<String> = ranges.iter().map(|(a, b)| format!("{a:#x}-{b:#x}")).collect();
    println!("{}", if out.is_empty() { "none".into() } else { out.join(",") });
}

fn ranges(s: &str) -> Vec<(u64, u64)> {
    if s == "none" {
        return Vec::new();
    }
    s.split(',')
        .map(|r| {
            let (a, b) = r.split_once('-').unwrap_or_else(|| die(format!("bad range {r}")));
            (hex(a), hex(b))
        })
        .collect()
}

/// The virtio-mem check (see the top of the file).
fn vmem(start: u64, size: u64, plugged: &[(u64, u64)]) {
    let f = File::open("/proc/vmcore").unwrap_or_else(|e| die(format!("/proc/vmcore: {e}")));
    let end = start + size;
    let (mut plugged_pages, mut unplugged_pages, mut nonzero_plugged) = (0u64, 0u64, 0u64);
    let mut buf = vec![0u8; 1 << 20];
    for l in loads(&f) {
        let (lo, hi) = (l.paddr.max(start), (l.paddr + l.filesz).min(end));
        if lo >= hi {
            continue;
        }
        // mmap() wants a page-aligned file offset: the device's part of the PT_LOAD.
        let off = l.offset + (lo - l.paddr);
        let len = (hi - lo) as usize;
        if off % PAGE as u64 != 0 || len % PAGE != 0 {
            die(format!("PT_LOAD at {:#x}: the device's part is not page-aligned in the file", l.paddr));
        }
        // SAFETY: a fresh read-only shared mapping of part of the file.
        let p = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, f.as_raw_fd(), off as i64)
        };
        if p == libc::MAP_FAILED {
            die(format!("mmap of {len} bytes at {off}: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: the mapping is `len` readable bytes until the munmap below.
        let mapped = unsafe { std::slice::from_raw_parts(p as *const u8, len) };
        let mut done = 0usize;
        while done < len {
            let n = buf.len().min(len - done);
            let at = off + done as u64;
            let got = f.read_at(&mut buf[..n], at).unwrap_or_else(|e| die(format!("read at {at}: {e}")));
            if got != n {
                die(format!("short read at {at}: {got} of {n}"));
            }
            for (k, page) in buf[..n].chunks_exact(PAGE).enumerate() {
                let pa = lo + (done + k * PAGE) as u64;
                if page != &mapped[done + k * PAGE..done + (k + 1) * PAGE] {
                    die(format!("page {pa:#x}: read() and mmap() differ"));
                }
                if plugged.iter().any(|&(a, b)| (a..b).contains(&pa)) {
                    plugged_pages += 1;
                    nonzero_plugged += page.iter().any(|&b| b != 0) as u64;
                } else {
                    unplugged_pages += 1;
                    if let Some(i) = page.iter().position(|&b| b != 0) {
                        die(format!(
                            "unplugged page {pa:#x} is not zeros (byte {i} is {:#x}): the vmcore callback was not asked",
                            page[i]
                        ));
                    }
                }
            }
            done += n;
        }
        // SAFETY: unmapping the mapping made above, no longer used.
        unsafe { libc::munmap(p, len) };
    }
    if unplugged_pages == 0 {
        die(format!("no unplugged page of {start:#x}+{size:#x} is in a PT_LOAD: nothing to check"));
    }
    println!(
        "vmem: {unplugged_pages} unplugged pages in PT_LOADs read as zeros by read() and mmap(); \
         {plugged_pages} plugged pages ({nonzero_plugged} not zero) the same through both"
    );
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    match a.get(1).map(String::as_str) {
        Some("fill") if a.len() == 5 => {
            let mib = a[3].parse().unwrap_or_else(|_| die("bad MIB".into()));
            let seed = a[4].parse().unwrap_or_else(|_| die("bad SEED".into()));
            fill(&a[2], mib, seed)
        }
        Some("check") if a.len() == 3 => check(&a[2], None),
        Some("check") if a.len() == 5 => check(&a[2], Some((hex(&a[3]), hex(&a[4])))),
        Some("layout") if a.len() % 2 == 0 => layout(&a[2..]),
        Some("loads") if a.len() == 2 => {
            let f = File::open("/proc/vmcore").unwrap_or_else(|e| die(format!("/proc/vmcore: {e}")));
            for l in loads(&f) {
                println!("load {:#x} {:#x}", l.paddr, l.paddr + l.memsz);
            }
        }
        Some("vmem-map") if a.len() == 4 => vmem_map(hex(&a[2]), hex(&a[3])),
        Some("vmem") if a.len() == 5 => vmem(hex(&a[2]), hex(&a[3]), &ranges(&a[4])),
        Some("badhdr") if a.len() == 3 => badhdr::make(&a[2]),
        Some("badcheck") if a.len() == 3 => badhdr::check(&a[2]),
        Some("badcases") => println!("{}", badhdr::CASES.join(" ")),
        _ => die(
            "usage: vmcore-pattern fill DEV MIB SEED | check DEV [LO HI] | layout [LO HI]... | loads | vmem-map START SIZE | vmem START SIZE PLUGGED | badhdr CASE | badcheck CASE | badcases"
                .into(),
        ),
    }
}

// SPDX-License-Identifier: GPL-2.0

//! `kexec-fuzz race ROUNDS`: a focused reproducer for the oops the four-thread
//! run found (`kexec-fuzz run 9 20000 4`, after a `run 8 20000 1`, on the rust
//! kernel): a crash kexec_load faulted writing the relocate stub into its
//! control page at the start of the crash reservation, which was read-only.
//!
//! The window: kexec_file_load(KEXEC_FILE_UNLOAD |
//! KEXEC_FILE_ON_CRASH) takes the crash image out of its slot under the kexec
//! lock but frees it after kexec_unlock() (kernel/kexec_file.c), and only that
//! free runs machine_kexec_cleanup(), which makes the image's control page
//! writable again (machine_kexec_prepare() made it read-only and executable).
//! A crash kexec_load that takes the lock in between is given the same page
//! (the first free one of the reservation) and copies the stub into it.
//! Stock oopses within a few hundred rounds; with KEXEC_RUST the hook patch
//! 0008-kexec-file-free-under-lock.patch frees the image under the lock.
//!
//! Thread A loads a crash image (one page, 1 MiB into the reservation, so its
//! control page is the reservation's first page) and unloads it with
//! kexec_file_load, ROUNDS times, retrying each call while it gets EBUSY;
//! thread B loads crash images (one page, 2 MiB in) as fast as the lock lets
//! it. The kernel log is watched after every round; the first complaint, or
//! the lock held for 20 s with neither thread loading, ends the run with exit
//! status 1.

use crate::gen::{KEXEC_FILE_ON_CRASH, KEXEC_FILE_UNLOAD, KEXEC_ON_CRASH};
use crate::model::PAGE;
use crate::sys::{self, KSeg};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

fn crash_load(data: u64, at: u64) -> crate::model::Answer {
    let seg = [KSeg { buf: data, bufsz: PAGE, mem: at, memsz: PAGE }];
    sys::kexec_load(at, 1, seg.as_ptr() as u64, KEXEC_ON_CRASH)
}

pub fn race(rounds: u64) -> i32 {
    let Some((cs, _)) = sys::crash_window() else {
        println!("kexec-fuzz race: no crash reservation");
        return 2;
    };
    let data = sys::map(PAGE);
    let mut kmsg = sys::Kmsg::open();
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let b_loads = Arc::new(AtomicU64::new(0));
    let b_count = b_loads.clone();
    let b = std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if crash_load(data, cs + (2 << 20)).ok() {
                b_count.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let mut status = 0;
    let (mut a_loads, mut unloads) = (0u64, 0u64);
    // Thread A's calls are retried while B holds the lock. The lock is taken
    // with a trylock, which is not fair: on a slow machine B may win it over
    // and over for a long time. A gives up only when B has not loaded either
    // for BUSY_LIMIT: a thread that oopses inside a load never releases it.
    const BUSY_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);
    let until_not_busy = |f: &dyn Fn() -> crate::model::Answer| {
        let mut progress = std::time::Instant::now();
        let mut seen = b_loads.load(Ordering::Relaxed);
        loop {
            let a = f();
            if a.errno != libc::EBUSY {
                return a;
            }
            let now = b_loads.load(Ordering::Relaxed);
            if now != seen {
                (seen, progress) = (now, std::time::Instant::now());
            } else if progress.elapsed() > BUSY_LIMIT {
                return a;
            }
        }
    };
    for r in 0..rounds {
        let load = until_not_busy(&|| crash_load(data, cs + (1 << 20)));
        if load.ok() {
            a_loads += 1;
        }
        let unload = until_not_busy(&|| sys::kexec_file_load(-1, -1, 0, 0, KEXEC_FILE_UNLOAD | KEXEC_FILE_ON_CRASH));
        if unload.ok() {
            unloads += 1;
        }
        let lines = kmsg.as_mut().map(|k| k.drain()).unwrap_or_default();
        if let Some(pos) = lines.iter().position(|l| sys::is_complaint(l)) {
            println!("kexec-fuzz race: the kernel complained in round {r}:");
            for l in lines[pos.saturating_sub(2)..].iter().take(30) {
                println!("  {l}");
            }
            status = 1;
            break;
        }
        if load.errno == libc::EBUSY || unload.errno == libc::EBUSY {
            println!(
                "kexec-fuzz race: the kexec lock was held for over {}s with no load by either thread in round {r}",
                BUSY_LIMIT.as_secs()
            );
            status = 1;
            break;
        }
    }
    done.store(true, Ordering::Relaxed);
    if status != 0 {
        // Thread B may be gone with the oops, holding the kexec lock.
        return status;
    }
    let _ = b.join();
    let b_loads = b_loads.load(Ordering::Relaxed);
    println!(
        "kexec-fuzz race: {rounds} rounds without a complaint ({a_loads} loads and {unloads} file unloads by A, {b_loads} loads by B)"
    );
    let _ = sys::kexec_load(0, 0, 0, KEXEC_ON_CRASH);
    status
}

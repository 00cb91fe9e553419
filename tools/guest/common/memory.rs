// SPDX-License-Identifier: GPL-2.0

//! Memory readings shared by the guest programs that look for leaks
//! (kexec-fuzz, kexec-bench leak), included by path into each.

use std::fs;

/// Shrinks every slab cache (`/sys/kernel/slab/*/shrink`, where the kernel has
/// it): empty slabs go back to the page allocator, and on a KASAN kernel the
/// objects held in its quarantine (freed, but kept from reuse for a while, up
/// to 1/32 of memory) are freed first. Without it, a debug kernel's quarantine
/// filling up over a long run reads as tens of MiB of MemAvailable lost.
pub fn shrink_slabs() {
    let Ok(dir) = fs::read_dir("/sys/kernel/slab") else { return };
    for entry in dir.flatten() {
        let _ = fs::write(entry.path().join("shrink"), "1");
    }
}

/// Free pages held in the per-CPU lists (`count:` of every pageset in
/// /proc/zoneinfo), in KiB. They are free but not in MemFree: after the crash
/// reservation is given back, up to about 10 MiB of it can sit there.
pub fn per_cpu_free_kb() -> u64 {
    let text = fs::read_to_string("/proc/zoneinfo").unwrap_or_default();
    let pages: u64 = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("count:"))
        .filter_map(|v| v.trim().parse::<u64>().ok())
        .sum();
    pages * 4
}

// SPDX-License-Identifier: GPL-2.0

//! kdump in the capture kernel (`CONFIG_KEXEC_RUST_VMCORE`), in place of
//! fs/proc/vmcore.c, arch/x86/kernel/crash_dump_64.c and kernel/elfcorehdr.c.
//!
//! * `oldmem`: the crashed kernel's memory: [`oldmem::OldMap`], a mapping of
//!   part of it, and reads from it a whole request at a time (the stock kernel
//!   maps and unmaps every 4 KiB page).
//! * `dump`: what /proc/vmcore serves ([`dump::Dump`]), built at boot from the
//!   elfcorehdr that `elfcorehdr=` points at: the header checked and laid out by
//!   the pure [`crate::corehdr`], the notes merged into one buffer that can be
//!   mapped into user space ([`dump::UserBuf`]), the `PT_LOAD` ranges.
//! * `file`: /proc/vmcore itself: open, read, mmap, on a [`dump::Dump`].
//! * `callbacks`: drivers' `register_vmcore_cb()`, whose `pfn_is_ram` keeps
//!   pages of old memory out of reads and mappings (served as zeros).
//! * `ffi`: the C interface: `elfcorehdr=`, `elfcorehdr_addr` (which
//!   `is_kdump_kernel()` reads), the initcall, the `proc_ops`, and
//!   `read_from_oldmem()` for the dm-crypt key loader.

mod callbacks;
mod dump;
mod ffi;
mod file;
mod oldmem;

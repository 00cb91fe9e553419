// SPDX-License-Identifier: GPL-2.0

//! The panic path and what the capture kernel needs from the crashed one.
//!
//! * [`crash_kexec`]: at panic, with the kexec lock taken by trylock only (a
//!   panic that interrupts a load must not wait for it), save the registers and
//!   VMCOREINFO, stop the other CPUs and jump into the crash image.
//! * [`save_cpu`]: each CPU's `NT_PRSTATUS` note in its per-CPU buffer
//!   (`crash_notes`, whose addresses `/sys/devices/system/cpu/cpuN/crash_notes`
//!   shows to kexec-tools).
//! * [`copy_vmcoreinfo`]: a crash image's own copy of VMCOREINFO.
//! * CPU hotplug: a loaded crash image that allows it gets its elfcorehdr
//!   rewritten by the arch code when a CPU comes or goes.

use super::vmcoreinfo;
use crate::elfcore;
use crate::kexec::image::Kimage;
use crate::kexec::page;
#[cfg(CONFIG_CRASH_HOTPLUG)]
use crate::kexec::page::ImagePage;
#[cfg(CONFIG_CRASH_HOTPLUG)]
use crate::kexec::state::kexec_in_progress;
use crate::kexec::state::{kexec_crash_image, KexecLock};
use crate::vmcoreinfo::BYTES as VMCOREINFO_BYTES;
use core::mem::size_of;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{ordering, Atomic};
use kernel::task::Task;
#[cfg(all(CONFIG_CRASH_HOTPLUG, CONFIG_MEMORY_HOTPLUG))]
use kernel::types::Opaque;

/// The per-CPU note buffers (`note_buf_t __percpu *crash_notes`), allocated at
/// init and never freed.
#[no_mangle]
pub(crate) static crash_notes: Atomic<*mut bindings::note_buf_t> =
    Atomic::new(core::ptr::null_mut());

/// Bytes of one CPU's note buffer.
pub(crate) const NOTE_BUF_SIZE: usize = size_of::<bindings::note_buf_t>();

fn notes() -> *mut bindings::note_buf_t {
    crash_notes.load(ordering::Relaxed)
}

/// Gives a crash image a copy of the VMCOREINFO text in its own reserved
/// memory, mapped so that the panic path can still write it.
pub(crate) fn copy_vmcoreinfo(image: &mut Kimage) -> Result {
    if !image.is_crash() {
        return Ok(());
    }
    const _: () = assert!(VMCOREINFO_BYTES == page::PAGE_SIZE);
    let control = image
        .alloc_control_pages(0)
        .inspect_err(|_| pr_warn!("Could not allocate vmcoreinfo buffer\n"))?;
    let mut pages = [control.as_ptr()];
    // SAFETY: maps the page just allocated, which stays the image's until it is
    // freed (and the image unmaps the copy first).
    let copy = unsafe { bindings::kexec_rust_vmap_pages(pages.as_mut_ptr(), 1) };
    if copy.is_null() {
        pr_warn!("Could not vmap vmcoreinfo buffer\n");
        return Err(ENOMEM);
    }
    image.c_mut().vmcoreinfo_data_copy = copy;
    // SAFETY: `copy` maps a whole page, which stays mapped until the image is
    // freed, and the image resets the safe copy before it unmaps it.
    unsafe { vmcoreinfo::set_safecopy(copy.cast()) };
    Ok(())
}

/// Whether an oops in `task` must crash into the capture kernel right away
/// (`kexec_should_crash`).
pub(crate) fn should_crash(task: &Task) -> bool {
    // SAFETY: reads of two panic settings.
    let (post_notifiers, panic_on_oops) = unsafe {
        (
            bindings::crash_kexec_post_notifiers,
            bindings::panic_on_oops,
        )
    };
    // With crash_kexec_post_notifiers, panic() crashes after its notifiers.
    if post_notifiers {
        return false;
    }
    // SAFETY: a query of the current context.
    let in_interrupt = unsafe { bindings::kexec_rust_in_interrupt() };
    in_interrupt || task.pid() == 0 || task.tgid() == 1 || panic_on_oops != 0
}

/// Boots the crash image, if one is loaded and the kexec lock is free
/// (`__crash_kexec`). Runs only on the CPU that owns the panic.
pub(crate) fn crash_kexec_locked(regs: Option<&bindings::pt_regs>) {
    // A load on another CPU holds the lock: its image may be half written, so
    // give up rather than wait (we may be in NMI context).
    let Some(mut lock) = KexecLock::try_lock() else {
        return;
    };
    let Some(image) = kexec_crash_image.get(&mut lock) else {
        return;
    };
    let mut fixed: bindings::pt_regs = pin_init::zeroed();
    let regs = regs.map_or(core::ptr::null_mut(), |r| {
        (r as *const bindings::pt_regs).cast_mut()
    });
    // SAFETY: `fixed` is ours; `regs` is null or valid. The image stays loaded:
    // we hold the lock and machine_kexec does not return for a crash image.
    unsafe {
        bindings::kexec_rust_crash_setup_regs(&mut fixed, regs);
        vmcoreinfo::crash_save();
        bindings::machine_crash_shutdown(&mut fixed);
        wait_for_cma_dma();
        bindings::machine_kexec(image.as_ptr());
    }
}

/// How long the panic path waits for DMA into the crash kernel's CMA ranges
/// (`CMA_DMA_TIMEOUT_SEC`).
const CMA_DMA_TIMEOUT_MS: c_ulong = 10_000;

/// With `crashkernel=,cma`, the crashed kernel's devices may still be writing
/// into pages of the CMA ranges that the capture kernel is about to use: give
/// them time to finish first, as stock does.
fn wait_for_cma_dma() {
    if !super::reserve::cma_ranges().is_empty() {
        // SAFETY: a busy wait.
        unsafe { bindings::kexec_rust_mdelay(CMA_DMA_TIMEOUT_MS) };
    }
}

/// The panic path's entry (`crash_kexec`): the first CPU to get here boots the
/// crash image; the others return.
pub(crate) fn crash_kexec(regs: Option<&bindings::pt_regs>) {
    // SAFETY: `panic_try_start` makes this CPU the panic CPU if none is.
    if unsafe { bindings::panic_try_start() } {
        crash_kexec_locked(regs);
        // SAFETY: this CPU owns the panic, which it gives back.
        unsafe { bindings::panic_reset() };
    }
}

/// Writes `cpu`'s registers as an `NT_PRSTATUS` note into its buffer
/// (`crash_save_cpu`). Runs in NMI context on each CPU being stopped, for
/// itself: no locks, no allocation.
pub(crate) fn save_cpu(regs: &bindings::pt_regs, cpu: u32) {
    // SAFETY: `nr_cpu_ids` is fixed after boot.
    if cpu >= unsafe { bindings::nr_cpu_ids } || notes().is_null() {
        return;
    }
    // SAFETY: the buffer of a possible CPU is `note_buf_t` bytes, written only
    // by that CPU, here.
    let buf = unsafe {
        let p = bindings::kexec_rust_crash_note_buf(notes(), cpu);
        if p.is_null() {
            return;
        }
        core::slice::from_raw_parts_mut(p.cast::<u8>(), NOTE_BUF_SIZE)
    };
    let mut status: bindings::elf_prstatus = pin_init::zeroed();
    status.common.pr_pid = kernel::current!().pid();
    // SAFETY: fills our own struct from valid registers.
    unsafe {
        bindings::kexec_rust_elf_core_copy_regs(
            &mut status.pr_reg,
            (regs as *const bindings::pt_regs).cast_mut(),
        )
    };
    // SAFETY: `elf_prstatus` is plain data; we read its bytes.
    let desc = unsafe {
        core::slice::from_raw_parts(
            (&raw const status).cast::<u8>(),
            size_of::<bindings::elf_prstatus>(),
        )
    };
    if let Some(end) = elfcore::append_note(buf, 0, b"CORE", elfcore::NT_PRSTATUS, desc) {
        let _ = elfcore::final_note(buf, end);
    }
}

/// The physical address of each possible CPU's note buffer, in CPU order.
pub(crate) fn cpu_note_addresses() -> Result<KVec<u64>> {
    let mut out = KVec::new();
    // SAFETY: the possible mask and the note buffers are fixed after boot.
    let mut cpu = unsafe { bindings::kexec_rust_next_possible_cpu(-1) };
    // SAFETY: as above.
    while cpu < unsafe { bindings::nr_cpu_ids } {
        // SAFETY: `cpu` is a possible CPU.
        out.push(
            unsafe { bindings::kexec_rust_crash_note_phys(notes(), cpu) },
            GFP_KERNEL,
        )?;
        // SAFETY: as above.
        cpu = unsafe { bindings::kexec_rust_next_possible_cpu(cpu as c_int) };
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// CPU and memory hotplug: keep a loaded crash image's elfcorehdr current.

#[cfg(CONFIG_CRASH_HOTPLUG)]
kernel::sync::global_lock! {
    // SAFETY: initialised in `hotplug_init`, at subsys_initcall, before the
    // hotplug callbacks are registered and before userspace can read
    // crash_hotplug.
    unsafe(uninit) static HOTPLUG_LOCK: Mutex<()> = ();
}

#[cfg(CONFIG_CRASH_HOTPLUG)]
fn trylock_for_hotplug() -> Option<KexecLock> {
    let lock = KexecLock::try_lock();
    if lock.is_none() && !kexec_in_progress.load(ordering::Relaxed) {
        pr_info!("kexec_trylock() failed, kdump image may be inaccurate\n");
    }
    lock
}

/// Whether the loaded crash image lets the kernel rewrite it on hotplug
/// (`crash_check_hotplug_support`, for the crash_hotplug sysfs files).
#[cfg(CONFIG_CRASH_HOTPLUG)]
pub(crate) fn check_hotplug_support() -> bool {
    let _hp = HOTPLUG_LOCK.lock();
    let Some(mut lock) = trylock_for_hotplug() else {
        return false;
    };
    kexec_crash_image
        .get(&mut lock)
        .is_some_and(|image| image.c().hotplug_support() != 0)
}

/// The segment whose first bytes are an ELF header: the elfcorehdr (the last
/// such segment, as the C code picks).
#[cfg(CONFIG_CRASH_HOTPLUG)]
fn find_elfcorehdr(image: &Kimage) -> Option<usize> {
    image.segments().as_slice().iter().rposition(|s| {
        // SAFETY: the segment lies in the crash reservation, which this loaded
        // image owns and which nothing writes while we hold the kexec lock.
        unsafe { ImagePage::at(s.mem) }.read(|b| b.starts_with(b"\x7fELF"))
    })
}

/// A CPU or memory came or went (`action`, a `KEXEC_CRASH_HP_*` value; `cpu`
/// for a CPU, `arg` the `struct memory_notify` for memory): let the arch
/// rewrite the loaded crash image's elfcorehdr.
#[cfg(CONFIG_CRASH_HOTPLUG)]
pub(crate) fn handle_hotplug_event(action: u32, cpu: u32, arg: *mut c_void) {
    let _hp = HOTPLUG_LOCK.lock();
    let Some(mut lock) = trylock_for_hotplug() else {
        return;
    };
    let Some(image) = kexec_crash_image.get(&mut lock) else {
        return;
    };
    if image.c().hotplug_support() == 0 {
        return;
    }
    if action == bindings::KEXEC_CRASH_HP_ADD_CPU || action == bindings::KEXEC_CRASH_HP_REMOVE_CPU {
        pr_debug!("crash hp: hp_action {action}, cpu {cpu}\n");
    } else {
        pr_debug!("crash hp: hp_action {action}\n");
    }
    if image.c().elfcorehdr_index < 0 {
        if let Some(n) = find_elfcorehdr(image) {
            image.c_mut().elfcorehdr_index = n as c_int;
        }
    }
    if image.c().elfcorehdr_index < 0 {
        pr_err!("crash hp: unable to locate elfcorehdr segment\n");
        return;
    }
    image.c_mut().hp_action = action as c_int;
    // The arch hooks look the image up themselves: no borrow of it may be live
    // across them.
    // SAFETY: under the kexec lock; the reservation is made writable for the
    // rewrite and protected again below.
    unsafe { bindings::kexec_rust_arch_unprotect_crashkres() };
    if let Some(image) = kexec_crash_image.get(&mut lock) {
        // SAFETY: the arch rewrites the elfcorehdr of the image we hold; `arg`
        // is what the memory notifier was given, or null for a CPU.
        unsafe { bindings::arch_crash_handle_hotplug_event(image.as_ptr(), arg) };
        image.c_mut().hp_action = bindings::KEXEC_CRASH_HP_NONE as c_int;
        image.c_mut().elfcorehdr_updated = true;
    }
    // SAFETY: as above.
    unsafe { bindings::kexec_rust_arch_protect_crashkres() };
}

/// The memory hotplug notifier's block: built at compile time, then linked
/// into the notifier chain, which alone writes it (under the chain's lock).
#[cfg(all(CONFIG_CRASH_HOTPLUG, CONFIG_MEMORY_HOTPLUG))]
#[repr(transparent)]
struct MemoryNotifier(Opaque<bindings::notifier_block>);

// SAFETY: Rust never touches the block after building it; the notifier chain
// serialises its own writes.
#[cfg(all(CONFIG_CRASH_HOTPLUG, CONFIG_MEMORY_HOTPLUG))]
unsafe impl Sync for MemoryNotifier {}

#[cfg(all(CONFIG_CRASH_HOTPLUG, CONFIG_MEMORY_HOTPLUG))]
static MEMORY_NOTIFIER: MemoryNotifier = MemoryNotifier(Opaque::new(bindings::notifier_block {
    notifier_call: Some(super::ffi::memory_notify),
    next: core::ptr::null_mut(),
    priority: 0,
}));

/// Registers the hotplug callbacks: `cpu_online`/`cpu_offline` for CPUs and,
/// with memory hotplug, the memory notifier (all in ffi.rs); at
/// subsys_initcall.
#[cfg(CONFIG_CRASH_HOTPLUG)]
pub(crate) fn hotplug_init(
    cpu_online: unsafe extern "C" fn(c_uint) -> c_int,
    cpu_offline: unsafe extern "C" fn(c_uint) -> c_int,
) -> Result {
    // SAFETY: called once, before any use of the lock.
    unsafe { HOTPLUG_LOCK.init() };
    #[cfg(CONFIG_MEMORY_HOTPLUG)]
    // SAFETY: the block is a static that lives for ever; the chain links it.
    // The result is always 0 (a block is only refused twice).
    unsafe {
        bindings::register_memory_notifier(MEMORY_NOTIFIER.0.get())
    };
    // SAFETY: registers two callbacks that live forever; `false`: not called for
    // the CPUs already up.
    let hp = unsafe {
        bindings::__cpuhp_setup_state(
            bindings::cpuhp_state_CPUHP_BP_PREPARE_DYN,
            c"crash/cpuhp".as_char_ptr(),
            false,
            Some(cpu_online),
            Some(cpu_offline),
            false,
        )
    };
    if hp < 0 {
        pr_warn!("crash hp: cannot register the CPU hotplug callbacks ({hp})\n");
        return Err(Error::from_errno(hp));
    }
    Ok(())
}

/// Allocates the note buffers and builds VMCOREINFO; at subsys_initcall.
pub(crate) fn init() -> Result {
    // A CPU's notes must not straddle two pages: only the start address is
    // exported, and percpu memory may be vmalloc'ed. Aligning to the size rounded
    // up to a power of two keeps them in one page.
    const _: () = assert!(NOTE_BUF_SIZE <= page::PAGE_SIZE);
    let align = NOTE_BUF_SIZE.next_power_of_two().min(page::PAGE_SIZE);
    // SAFETY: a percpu allocation kept for the kernel's lifetime.
    let p = unsafe { bindings::kexec_rust_alloc_percpu_notes(NOTE_BUF_SIZE, align) };
    if p.is_null() {
        pr_warn!("Memory allocation for saving cpu register states failed\n");
    }
    crash_notes.store(p, ordering::Release);
    vmcoreinfo::init()
}

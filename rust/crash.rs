// SPDX-License-Identifier: GPL-2.0

//! The panic path and what the capture kernel needs from the crashed one
//! (replaces kernel/crash_core.c).
//!
//! * [`crash_kexec`] and [`__crash_kexec`]: at panic, with the kexec lock taken by
//!   trylock only (a panic that interrupts a load must not wait for it), save the
//!   registers and VMCOREINFO, stop the other CPUs and jump into the crash image.
//! * [`crash_save_cpu`]: each CPU's `NT_PRSTATUS` note in its per-CPU buffer
//!   (`crash_notes`, whose addresses `/sys/devices/system/cpu/cpuN/crash_notes`
//!   shows to kexec-tools).
//! * [`crash_prepare_elf64_headers`] and friends: the elfcorehdr for
//!   kexec_file_load's crash images, built by [`crate::elfcore`].
//! * `/sys/kernel/kexec_crash_size`: [`crash_get_memory_size`] and
//!   [`crash_shrink_memory`], which gives the tail of the reservation back.
//! * CPU hotplug: a loaded crash image that allows it gets its elfcorehdr
//!   rewritten by the arch code when a CPU comes or goes.

use crate::elfcore::{self, CoreLayout, KernelMap, Range};
use crate::kimage::KEXEC_TYPE_CRASH;
use crate::reserve::{crashk_low_res, crashk_res};
use crate::state::{kexec_crash_image, CGlobal, KexecLock};
use crate::sys;
use crate::vmcoreinfo::{BYTES as VMCOREINFO_BYTES, NOTE_SIZE as VMCOREINFO_NOTE_SIZE};
use crate::vmcoreinfo_data;
use core::mem::size_of;
use kernel::bindings;
use kernel::ffi::{c_int, c_uint, c_ulong, c_void};
use kernel::prelude::*;
use kernel::sync::atomic::ordering;

/// The per-CPU note buffers (`note_buf_t __percpu *crash_notes`), allocated at
/// init and never freed.
#[no_mangle]
pub(crate) static crash_notes: CGlobal<*mut bindings::note_buf_t> =
    CGlobal::new(core::ptr::null_mut());

const NOTE_BUF_SIZE: usize = size_of::<bindings::note_buf_t>();
const PAGE_SIZE: usize = bindings::PAGE_SIZE as usize;

fn notes() -> *mut bindings::note_buf_t {
    // SAFETY: written once at init, before any reader runs.
    unsafe { *crash_notes.get() }
}

/// Gives a crash image a copy of the VMCOREINFO text in its own reserved memory,
/// mapped so that the panic path can still write it (`kimage_crash_copy_vmcoreinfo`).
///
/// # Safety
///
/// `image` is a valid image under construction, under the kexec lock.
#[no_mangle]
pub(crate) unsafe extern "C" fn kimage_crash_copy_vmcoreinfo(
    image: *mut bindings::kimage,
) -> c_int {
    // SAFETY: by the caller's contract.
    let img = unsafe { &mut *image };
    if img.type_() != KEXEC_TYPE_CRASH {
        return 0;
    }
    const _: () = assert!(VMCOREINFO_BYTES == PAGE_SIZE);
    // SAFETY: allocates a page of the crash reservation for this image.
    let mut page = unsafe { bindings::kimage_alloc_control_pages(image, 0) };
    if page.is_null() {
        pr_warn!("Could not allocate vmcoreinfo buffer\n");
        return ENOMEM.to_errno();
    }
    // SAFETY: maps the page just allocated; it stays the image's until it is freed.
    let copy = unsafe { sys::kexec_rust_vmap_pages(&mut page, 1) };
    if copy.is_null() {
        pr_warn!("Could not vmap vmcoreinfo buffer\n");
        return ENOMEM.to_errno();
    }
    img.vmcoreinfo_data_copy = copy;
    // SAFETY: `copy` maps a whole page.
    unsafe { vmcoreinfo_data::crash_update_vmcoreinfo_safecopy(copy) };
    0
}

/// Whether an oops in task `p` must crash into the capture kernel right away
/// (`kexec_should_crash`).
///
/// # Safety
///
/// `p` is a valid task.
#[no_mangle]
pub(crate) unsafe extern "C" fn kexec_should_crash(p: *mut bindings::task_struct) -> c_int {
    // SAFETY: reads of two panic settings and of the task, valid by the contract.
    unsafe {
        // With crash_kexec_post_notifiers, panic() crashes after its notifiers.
        if bindings::crash_kexec_post_notifiers {
            return 0;
        }
        let fatal = sys::kexec_rust_in_interrupt()
            || sys::kexec_rust_task_pid(p) == 0
            || sys::kexec_rust_task_is_global_init(p)
            || bindings::panic_on_oops != 0;
        c_int::from(fatal)
    }
}

/// Whether a crash image is loaded (`kexec_crash_loaded`).
#[no_mangle]
pub(crate) extern "C" fn kexec_crash_loaded() -> c_int {
    c_int::from(!kexec_crash_image.load(ordering::Relaxed).is_null())
}

/// Boots the crash image, if one is loaded and the kexec lock is free
/// (`__crash_kexec`). Called only on the CPU that owns the panic.
///
/// # Safety
///
/// `regs` is null or the registers at the fault.
#[no_mangle]
pub(crate) unsafe extern "C" fn __crash_kexec(regs: *mut bindings::pt_regs) {
    // A load on another CPU holds the lock: its image may be half written, so
    // give up rather than wait (we may be in NMI context).
    let Some(_lock) = KexecLock::try_lock() else {
        return;
    };
    let image = kexec_crash_image.load(ordering::Acquire);
    if image.is_null() {
        return;
    }
    // SAFETY: all-zero is a valid `pt_regs`.
    let mut fixed: bindings::pt_regs = unsafe { core::mem::zeroed() };
    // SAFETY: `fixed` is ours; `regs` is null or valid. The image stays loaded:
    // we hold the lock and machine_kexec does not return for a crash image.
    unsafe {
        sys::kexec_rust_crash_setup_regs(&mut fixed, regs);
        vmcoreinfo_data::crash_save_vmcoreinfo();
        bindings::machine_crash_shutdown(&mut fixed);
        bindings::machine_kexec(image);
    }
}

/// The panic path's entry (`crash_kexec`): the first CPU to get here boots the
/// crash image; the others return.
///
/// # Safety
///
/// `regs` is null or the registers at the fault.
#[no_mangle]
#[inline(never)]
pub(crate) unsafe extern "C" fn crash_kexec(regs: *mut bindings::pt_regs) {
    // SAFETY: `panic_try_start` makes this CPU the panic CPU if none is.
    if unsafe { bindings::panic_try_start() } {
        // SAFETY: this CPU owns the panic; `regs` by the caller's contract.
        unsafe {
            __crash_kexec(regs);
            bindings::panic_reset();
        }
    }
}

/// Writes `cpu`'s registers as an `NT_PRSTATUS` note into its buffer
/// (`crash_save_cpu`). Runs in NMI context on each CPU being stopped: no locks,
/// no allocation.
///
/// # Safety
///
/// `regs` is valid; `cpu` is the calling CPU.
#[no_mangle]
pub(crate) unsafe extern "C" fn crash_save_cpu(regs: *mut bindings::pt_regs, cpu: c_int) {
    // SAFETY: `nr_cpu_ids` is fixed after boot.
    let nr = unsafe { bindings::nr_cpu_ids };
    let Ok(cpu) = c_uint::try_from(cpu) else {
        return;
    };
    if cpu >= nr || notes().is_null() {
        return;
    }
    // SAFETY: the buffer of a possible CPU is `note_buf_t` bytes, written only by
    // that CPU here.
    let buf = unsafe {
        let p = sys::kexec_rust_crash_note_buf(notes(), cpu);
        if p.is_null() {
            return;
        }
        core::slice::from_raw_parts_mut(p.cast::<u8>(), NOTE_BUF_SIZE)
    };
    // SAFETY: all-zero is a valid `elf_prstatus`.
    let mut status: bindings::elf_prstatus = unsafe { core::mem::zeroed() };
    // SAFETY: fills our own struct from valid registers and the current task.
    unsafe {
        status.common.pr_pid = sys::kexec_rust_current_pid();
        sys::kexec_rust_elf_core_copy_regs(&mut status.pr_reg, regs);
    }
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

/// The ranges of a `struct crash_mem` as a slice of its capacity, and its length.
///
/// # Safety
///
/// `mem` is a valid `crash_mem` with `max_nr_ranges` slots, not aliased.
unsafe fn ranges_of<'a>(mem: *mut bindings::crash_mem) -> (&'a mut [Range], &'a mut c_uint) {
    const _: () = assert!(size_of::<Range>() == size_of::<bindings::range>());
    // SAFETY: `Range` is `#[repr(C)]` with the fields of `struct range`; the array
    // has `max_nr_ranges` elements by the caller's contract.
    unsafe {
        let cap = (*mem).max_nr_ranges as usize;
        let ranges = core::ptr::addr_of_mut!((*mem).ranges).cast::<Range>();
        (
            core::slice::from_raw_parts_mut(ranges, cap),
            &mut (*mem).nr_ranges,
        )
    }
}

/// Cuts `[start, end]` out of `mem`'s ranges (`crash_exclude_mem_range`).
/// Returns `-ENOMEM` if a range must split and there is no free slot.
///
/// # Safety
///
/// `mem` is a valid `crash_mem`.
#[no_mangle]
pub(crate) unsafe extern "C" fn crash_exclude_mem_range(
    mem: *mut bindings::crash_mem,
    start: u64,
    end: u64,
) -> c_int {
    // SAFETY: by the caller's contract.
    let (ranges, nr) = unsafe { ranges_of(mem) };
    let mut len = (*nr as usize).min(ranges.len());
    let ret = elfcore::exclude(ranges, &mut len, start, end);
    *nr = len as c_uint;
    match ret {
        Ok(()) => 0,
        Err(elfcore::NoRoom) => ENOMEM.to_errno(),
    }
}

/// The arch hook for cutting a range (`arch_crash_exclude_mem_range`); x86 has
/// no special needs.
///
/// # Safety
///
/// `mem` points to a valid `crash_mem` pointer.
#[no_mangle]
pub(crate) unsafe extern "C" fn arch_crash_exclude_mem_range(
    mem: *mut *mut bindings::crash_mem,
    start: u64,
    end: u64,
) -> c_int {
    // SAFETY: by the caller's contract.
    unsafe { crash_exclude_mem_range(*mem, start, end) }
}

/// Cuts the crash kernel's own memory out of `cmem` (`crash_exclude_core_ranges`).
///
/// # Safety
///
/// `cmem` points to a valid `crash_mem` pointer.
#[no_mangle]
pub(crate) unsafe extern "C" fn crash_exclude_core_ranges(
    cmem: *mut *mut bindings::crash_mem,
) -> c_int {
    // SAFETY: the resources change only under the kexec lock, which the caller
    // (a crash load) holds; `cmem` by the caller's contract.
    unsafe {
        let res = &*crashk_res.get();
        let ret = arch_crash_exclude_mem_range(cmem, res.start, res.end);
        if ret != 0 {
            return ret;
        }
        let low = &*crashk_low_res.get();
        if low.end != 0 {
            return arch_crash_exclude_mem_range(cmem, low.start, low.end);
        }
    }
    0
}

/// Builds the elfcorehdr for `mem`'s ranges into a new vmalloc buffer
/// (`crash_prepare_elf64_headers`); the caller frees it with `vfree`.
///
/// # Safety
///
/// `mem` is a valid `crash_mem`; `addr` and `sz` are valid for writes.
#[no_mangle]
pub(crate) unsafe extern "C" fn crash_prepare_elf64_headers(
    mem: *mut bindings::crash_mem,
    need_kernel_map: c_int,
    addr: *mut *mut c_void,
    sz: *mut c_ulong,
) -> c_int {
    // The possible CPUs and their note buffers' physical addresses.
    let mut cpu_notes = KVec::new();
    // SAFETY: the possible mask and the note buffers are fixed after boot.
    let mut cpu = unsafe { sys::kexec_rust_next_possible_cpu(-1) };
    // SAFETY: as above.
    while cpu < unsafe { bindings::nr_cpu_ids } {
        // SAFETY: `cpu` is a possible CPU.
        let phys = unsafe { sys::kexec_rust_crash_note_phys(notes(), cpu) };
        if cpu_notes.push(phys, GFP_KERNEL).is_err() {
            return ENOMEM.to_errno();
        }
        // SAFETY: as above.
        cpu = unsafe { sys::kexec_rust_next_possible_cpu(cpu as c_int) };
    }
    // SAFETY: by the caller's contract, the ranges are `nr_ranges` valid entries.
    let (ranges, nr) = unsafe { ranges_of(mem) };
    let ram = &ranges[..(*nr as usize).min(ranges.len())];
    // SAFETY: link-time and boot-time constants of the kernel image.
    let kernel_map = (need_kernel_map != 0).then(|| unsafe {
        KernelMap {
            vaddr: sys::kexec_rust_kernel_text_start() as u64,
            paddr: sys::kexec_rust_kernel_text_phys(),
            size: sys::kexec_rust_kernel_image_size() as u64,
        }
    });
    let layout = CoreLayout {
        cpu_notes: &cpu_notes,
        cpu_note_size: NOTE_BUF_SIZE as u64,
        vmcoreinfo: (
            vmcoreinfo_data::paddr_vmcoreinfo_note(),
            VMCOREINFO_NOTE_SIZE as u64,
        ),
        kernel_map,
        ram,
        // SAFETY: the direct map's base is fixed after boot.
        page_offset: unsafe { sys::kexec_rust_direct_map_base() } as u64,
    };
    let size = layout.size();
    // SAFETY: a zeroed vmalloc buffer that the caller owns from here.
    let buf = unsafe { sys::kexec_rust_vzalloc(size as c_ulong) };
    if buf.is_null() {
        return ENOMEM.to_errno();
    }
    // SAFETY: `buf` has `size` bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), size) };
    if elfcore::write_core_header(out, &layout).is_none() {
        // SAFETY: frees the buffer allocated above.
        unsafe { bindings::vfree(buf) };
        return ENOMEM.to_errno();
    }
    // SAFETY: plain read of a flag.
    if unsafe { crate::state::kexec_file_dbg_print } {
        for r in ram {
            pr_info!(
                "Crash PT_LOAD ELF header. paddr=0x{:x}, sz=0x{:x} e_phnum={}\n",
                r.start,
                r.end - r.start + 1,
                layout.phnum()
            );
        }
    }
    // SAFETY: the outputs are valid by the caller's contract.
    unsafe {
        *addr = buf;
        *sz = size as c_ulong;
    }
    0
}

/// The elfcorehdr of the running system (`crash_prepare_headers`): System RAM
/// from the arch, minus the crash kernel's memory and what the arch excludes.
///
/// # Safety
///
/// `addr` and `sz` are valid for writes; `nr_mem_ranges` is null or valid.
#[no_mangle]
pub(crate) unsafe extern "C" fn crash_prepare_headers(
    need_kernel_map: c_int,
    addr: *mut *mut c_void,
    sz: *mut c_ulong,
    nr_mem_ranges: *mut c_ulong,
) -> c_int {
    // SAFETY: asks the arch for an upper bound on the number of ranges.
    let max = unsafe { bindings::arch_get_system_nr_ranges() };
    if max == 0 {
        return ENOMEM.to_errno();
    }
    let bytes = size_of::<bindings::crash_mem>() + max as usize * size_of::<bindings::range>();
    // SAFETY: a zeroed allocation of a `crash_mem` with `max` ranges.
    let mut cmem = unsafe { sys::kexec_rust_kvzalloc(bytes) }.cast::<bindings::crash_mem>();
    if cmem.is_null() {
        return ENOMEM.to_errno();
    }
    // SAFETY: `cmem` is ours with room for `max` ranges; the hooks fill and cut it.
    let ret = unsafe {
        (*cmem).max_nr_ranges = max;
        let mut ret = bindings::arch_crash_populate_cmem(cmem);
        if ret == 0 {
            ret = crash_exclude_core_ranges(&mut cmem);
        }
        if ret == 0 {
            ret = bindings::arch_crash_exclude_ranges(cmem);
        }
        if ret == 0 {
            if !nr_mem_ranges.is_null() {
                *nr_mem_ranges = (*cmem).nr_ranges as c_ulong;
            }
            ret = crash_prepare_elf64_headers(cmem, need_kernel_map, addr, sz);
        }
        bindings::kvfree(cmem.cast());
        ret
    };
    ret
}

fn resource_size(res: &bindings::resource) -> u64 {
    if res.end == 0 {
        0
    } else {
        res.end - res.start + 1
    }
}

/// The reservation's size, for `/sys/kernel/kexec_crash_size`
/// (`crash_get_memory_size`); `-EBUSY` while a load holds the kexec lock.
#[no_mangle]
pub(crate) extern "C" fn crash_get_memory_size() -> isize {
    let Some(_lock) = KexecLock::try_lock() else {
        return EBUSY.to_errno() as isize;
    };
    // SAFETY: the resources change only under the kexec lock, which we hold.
    let size = unsafe { resource_size(&*crashk_res.get()) + resource_size(&*crashk_low_res.get()) };
    size as isize
}

/// Gives `[old.start + new_size, old.end]` back to the page allocator and to
/// /proc/iomem as System RAM.
///
/// # Safety
///
/// `old` is one of the crash resources, under the kexec lock.
unsafe fn shrink_resource(old: *mut bindings::resource, new_size: u64) -> Result {
    // SAFETY: `old` is valid by the caller's contract.
    let (start, end) = unsafe { ((*old).start + new_size, (*old).end) };
    let freed = KBox::new(
        bindings::resource {
            start,
            end,
            name: c"System RAM".as_ptr().cast(),
            flags: (bindings::IORESOURCE_BUSY | bindings::IORESOURCE_SYSTEM_RAM) as _,
            desc: 0,
            parent: core::ptr::null_mut(),
            sibling: core::ptr::null_mut(),
            child: core::ptr::null_mut(),
        },
        GFP_KERNEL,
    )?;
    // SAFETY: the resource tree and the pages are changed under the kexec lock; the
    // new resource belongs to the iomem tree from here on, as in C.
    unsafe {
        if new_size == 0 {
            bindings::release_resource(old);
            (*old).start = 0;
            (*old).end = 0;
        } else {
            (*old).end = start - 1;
        }
        sys::kexec_rust_crash_free_reserved_phys_range(start as c_ulong, end as c_ulong);
        bindings::insert_resource(
            core::ptr::addr_of_mut!(bindings::iomem_resource),
            KBox::into_raw(freed),
        );
    }
    Ok(())
}

/// Shrinks the reservation to `new_size` bytes (`crash_shrink_memory`): refused
/// with `-ENOENT` while a crash image is loaded and `-EINVAL` if it would grow.
#[no_mangle]
pub(crate) extern "C" fn crash_shrink_memory(new_size: c_ulong) -> c_int {
    let Some(_lock) = KexecLock::try_lock() else {
        return EBUSY.to_errno();
    };
    if !kexec_crash_image.load(ordering::Relaxed).is_null() {
        return ENOENT.to_errno();
    }
    let res = crashk_res.get();
    let low = crashk_low_res.get();
    // SAFETY: the resources change only under the kexec lock, which we hold.
    let (low_size, old_size) = unsafe {
        (
            resource_size(&*low),
            resource_size(&*res) + resource_size(&*low),
        )
    };
    // SAFETY: an arch constant.
    let align = unsafe { sys::kexec_rust_crash_mem_align() } as u64;
    let new_size = (new_size as u64).div_ceil(align) * align;
    if new_size >= old_size {
        return if new_size == old_size {
            0
        } else {
            EINVAL.to_errno()
        };
    }
    // SAFETY: both resources are ours to change under the lock.
    let ret = unsafe {
        if low_size > new_size {
            // The high part goes entirely, the low one keeps `new_size`.
            shrink_resource(res, 0).and_then(|()| shrink_resource(low, new_size))
        } else {
            shrink_resource(res, new_size - low_size)
        }
    };
    // SAFETY: as above.
    unsafe {
        if (*res).end == 0 && (*low).end != 0 {
            // Only the low part is left: it becomes the reservation.
            (*res).start = (*low).start;
            (*res).end = (*low).end;
            bindings::release_resource(low);
            (*low).start = 0;
            (*low).end = 0;
            bindings::insert_resource(core::ptr::addr_of_mut!(bindings::iomem_resource), res);
        }
    }
    match ret {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

// ---------------------------------------------------------------------------
// CPU hotplug: keep a loaded crash image's list of CPUs current.

kernel::sync::global_lock! {
    // SAFETY: initialised in `init`, at subsys_initcall, before the CPU hotplug
    // callbacks are registered and before userspace can read crash_hotplug.
    unsafe(uninit) static HOTPLUG_LOCK: Mutex<()> = ();
}

/// Whether the loaded crash image lets the kernel rewrite it on hotplug
/// (`crash_check_hotplug_support`, for the crash_hotplug sysfs files).
#[no_mangle]
pub(crate) extern "C" fn crash_check_hotplug_support() -> c_int {
    let _hp = HOTPLUG_LOCK.lock();
    let Some(_lock) = KexecLock::try_lock() else {
        // SAFETY: plain read of a flag.
        if !unsafe { crate::state::kexec_in_progress } {
            pr_info!("kexec_trylock() failed, kdump image may be inaccurate\n");
        }
        return 0;
    };
    let image = kexec_crash_image.load(ordering::Acquire);
    if image.is_null() {
        return 0;
    }
    // SAFETY: the image stays loaded while we hold the kexec lock.
    unsafe { (*image).hotplug_support() as c_int }
}

/// Finds the segment whose first bytes are an ELF header: the elfcorehdr.
///
/// # Safety
///
/// `img` is the loaded crash image, under the kexec lock.
unsafe fn find_elfcorehdr(img: &bindings::kimage) -> Option<usize> {
    (0..img.nr_segments as usize).find(|&n| {
        let mem = img.segment[n].mem as c_ulong;
        // SAFETY: the segment lies in the crash reservation, which is RAM with a
        // direct mapping.
        unsafe {
            let page = sys::kexec_rust_boot_pfn_to_page(mem >> bindings::PAGE_SHIFT);
            let p = sys::kexec_rust_page_address(page).cast::<[u8; 4]>();
            !p.is_null() && *p == *b"\x7fELF"
        }
    })
}

fn handle_hotplug_event(action: u32, cpu: c_uint) {
    let _hp = HOTPLUG_LOCK.lock();
    let Some(_lock) = KexecLock::try_lock() else {
        // SAFETY: plain read of a flag.
        if !unsafe { crate::state::kexec_in_progress } {
            pr_info!("kexec_trylock() failed, kdump image may be inaccurate\n");
        }
        return;
    };
    let image = kexec_crash_image.load(ordering::Acquire);
    if image.is_null() {
        return;
    }
    // SAFETY: the image stays loaded while we hold the kexec lock.
    let img = unsafe { &mut *image };
    if img.hotplug_support() == 0 {
        return;
    }
    pr_debug!("crash hp: hp_action {action}, cpu {cpu}\n");
    if img.elfcorehdr_index < 0 {
        // SAFETY: under the kexec lock.
        if let Some(n) = unsafe { find_elfcorehdr(img) } {
            img.elfcorehdr_index = n as c_int;
        }
    }
    if img.elfcorehdr_index < 0 {
        pr_err!("crash hp: unable to locate elfcorehdr segment\n");
        return;
    }
    // SAFETY: the arch rewrites the elfcorehdr of the image we hold; the
    // reservation is made writable around it.
    unsafe {
        bindings::arch_kexec_unprotect_crashkres();
        img.hp_action = action as c_int;
        bindings::arch_crash_handle_hotplug_event(image, core::ptr::null_mut());
        img.hp_action = bindings::KEXEC_CRASH_HP_NONE as c_int;
        img.elfcorehdr_updated = true;
        bindings::arch_kexec_protect_crashkres();
    }
}

unsafe extern "C" fn cpu_online(cpu: c_uint) -> c_int {
    handle_hotplug_event(bindings::KEXEC_CRASH_HP_ADD_CPU, cpu);
    0
}

unsafe extern "C" fn cpu_offline(cpu: c_uint) -> c_int {
    handle_hotplug_event(bindings::KEXEC_CRASH_HP_REMOVE_CPU, cpu);
    0
}

/// Allocates the note buffers, builds VMCOREINFO and registers the hotplug
/// callbacks; called once at subsys_initcall by kexec_glue.c.
#[no_mangle]
pub(crate) extern "C" fn kexec_rust_crash_init() -> c_int {
    // A CPU's notes must not straddle two pages: only the start address is
    // exported, and percpu memory may be vmalloc'ed. Aligning to the size rounded
    // up to a power of two keeps them in one page.
    const _: () = assert!(NOTE_BUF_SIZE <= PAGE_SIZE);
    let align = NOTE_BUF_SIZE.next_power_of_two().min(PAGE_SIZE);
    // SAFETY: a percpu allocation kept for the kernel's lifetime; written before
    // any reader (sysfs, the panic path) can run.
    unsafe {
        let p = sys::kexec_rust_alloc_percpu_notes(NOTE_BUF_SIZE, align);
        if p.is_null() {
            pr_warn!("Memory allocation for saving cpu register states failed\n");
        }
        *crash_notes.get() = p;
    }
    let ret = vmcoreinfo_data::init();

    // SAFETY: called once, before any use of the lock.
    unsafe { HOTPLUG_LOCK.init() };
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
        return hp;
    }
    match ret {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

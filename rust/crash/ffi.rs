// SPDX-License-Identifier: GPL-2.0

//! The C interface of kdump in the crashed kernel: the functions of
//! kernel/crash_reserve.c, kernel/crash_core.c and kernel/vmcore_info.c that
//! the rest of the kernel calls (setup_arch, the panic and oops paths, the
//! NMI shutdown of the other CPUs, kexec_file_load, sysfs, printk).
//!
//! Each one turns its C arguments into Rust types at once and calls the safe
//! code of the other modules; a function that takes a pointer is `unsafe` and
//! says what it relies on. Signatures are checked against bindgen's prototypes.

use super::headers::{self, CrashMem};
use super::{panic, reserve, vmcoreinfo};
use crate::elfcore;
use crate::kexec::ffi::matches_c;
use crate::kexec::image::Kimage;
use crate::kexec::state::{kexec_crash_image, KexecLock};
use kernel::bindings;
use kernel::prelude::*;
use kernel::task::Task;

fn errno_of(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Parses `crashkernel=` for `setup_arch()` (`parse_crashkernel`): 0 and the
/// outputs filled when there is something to reserve; otherwise `-EINVAL` (or
/// the errno of the broken rule, which is logged).
///
/// # Safety
///
/// `cmdline` is a C string; `crash_size` and `crash_base` are valid for
/// writes; `low_size`, `cma_size` and `high` are null or valid for writes.
#[no_mangle]
pub(crate) unsafe extern "C" fn parse_crashkernel(
    cmdline: *mut c_char,
    system_ram: u64,
    crash_size: *mut u64,
    crash_base: *mut u64,
    low_size: *mut u64,
    cma_size: *mut u64,
    high: *mut bool,
) -> c_int {
    // SAFETY: by the caller's contract.
    let line = unsafe { CStr::from_char_ptr(cmdline) }.to_bytes();
    // SAFETY: by the caller's contract; the optional outputs are checked.
    let (crash_size, crash_base, low_size, cma_size, high) = unsafe {
        (
            &mut *crash_size,
            &mut *crash_base,
            low_size.as_mut(),
            cma_size.as_mut(),
            high.as_mut(),
        )
    };
    *crash_size = 0;
    *crash_base = 0;
    let req = match reserve::parse(line, system_ram, high.is_some()) {
        Ok(req) => req,
        Err(errno) => return -errno,
    };
    *crash_size = req.size;
    *crash_base = req.base;
    if let Some(p) = low_size {
        *p = req.low_size;
    }
    if let Some(p) = cma_size {
        *p = req.cma_size;
    }
    if let Some(p) = high {
        *p = req.high;
    }
    0
}
matches_c!(parse_crashkernel: unsafe extern "C" fn(*mut c_char, u64, *mut u64, *mut u64, *mut u64, *mut u64, *mut bool) -> c_int);

/// Reserves the crash kernel's memory at early boot (`reserve_crashkernel_generic`).
#[no_mangle]
#[link_section = ".init.text"]
pub(crate) extern "C" fn reserve_crashkernel_generic(
    size: u64,
    base: u64,
    low_size: u64,
    high: bool,
) {
    reserve::reserve_generic(size, base, low_size, high);
}
matches_c!(reserve_crashkernel_generic: unsafe extern "C" fn(u64, u64, u64, bool));

/// `crashkernel=SIZE,cma` (`reserve_crashkernel_cma`), after the reservation.
#[no_mangle]
#[link_section = ".init.text"]
pub(crate) extern "C" fn reserve_crashkernel_cma(cma_size: u64) {
    reserve::reserve_cma(cma_size);
}
matches_c!(reserve_crashkernel_cma: unsafe extern "C" fn(u64));

/// The reservation's size for `/sys/kernel/kexec_crash_size`
/// (`crash_get_memory_size`); `-EBUSY` while a load holds the kexec lock.
#[no_mangle]
pub(crate) extern "C" fn crash_get_memory_size() -> isize {
    match KexecLock::try_lock() {
        Some(lock) => reserve::size(&lock) as isize,
        None => EBUSY.to_errno() as isize,
    }
}
matches_c!(crash_get_memory_size: unsafe extern "C" fn() -> isize);

/// Shrinks the reservation to `new_size` bytes (`crash_shrink_memory`):
/// `-EBUSY` during a load, `-ENOENT` while a crash image is loaded, `-EINVAL`
/// if it would grow.
#[no_mangle]
pub(crate) extern "C" fn crash_shrink_memory(new_size: c_ulong) -> c_int {
    let Some(lock) = KexecLock::try_lock() else {
        return EBUSY.to_errno();
    };
    if kexec_crash_image.is_loaded() {
        return ENOENT.to_errno();
    }
    errno_of(reserve::shrink(new_size as u64, &lock))
}
matches_c!(crash_shrink_memory: unsafe extern "C" fn(c_ulong) -> c_int);

/// Gives a crash image its copy of VMCOREINFO (`kimage_crash_copy_vmcoreinfo`).
///
/// # Safety
///
/// `image` is an image under construction that the caller uses alone, under
/// the kexec lock.
#[no_mangle]
pub(crate) unsafe extern "C" fn kimage_crash_copy_vmcoreinfo(
    image: *mut bindings::kimage,
) -> c_int {
    // SAFETY: by the caller's contract.
    errno_of(panic::copy_vmcoreinfo(unsafe { Kimage::from_raw(image) }))
}
matches_c!(kimage_crash_copy_vmcoreinfo: unsafe extern "C" fn(*mut bindings::kimage) -> c_int);

/// Whether an oops in `p` must crash into the capture kernel (`kexec_should_crash`).
///
/// # Safety
///
/// `p` is a valid task.
#[no_mangle]
pub(crate) unsafe extern "C" fn kexec_should_crash(p: *mut bindings::task_struct) -> c_int {
    // SAFETY: `Task` is a transparent wrapper of `task_struct`; `p` is valid by
    // the caller's contract.
    let task = unsafe { &*p.cast::<Task>() };
    c_int::from(panic::should_crash(task))
}
matches_c!(kexec_should_crash: unsafe extern "C" fn(*mut bindings::task_struct) -> c_int);

/// Whether a crash image is loaded (`kexec_crash_loaded`).
#[no_mangle]
pub(crate) extern "C" fn kexec_crash_loaded() -> c_int {
    c_int::from(kexec_crash_image.is_loaded())
}
matches_c!(kexec_crash_loaded: unsafe extern "C" fn() -> c_int);

/// Boots the crash image if the kexec lock is free (`__crash_kexec`); on the
/// CPU that owns the panic.
///
/// # Safety
///
/// `regs` is null or the registers at the fault.
#[no_mangle]
pub(crate) unsafe extern "C" fn __crash_kexec(regs: *mut bindings::pt_regs) {
    // SAFETY: by the caller's contract.
    panic::crash_kexec_locked(unsafe { regs.as_ref() });
}
matches_c!(__crash_kexec: unsafe extern "C" fn(*mut bindings::pt_regs));

/// The panic path's entry (`crash_kexec`).
///
/// # Safety
///
/// `regs` is null or the registers at the fault.
#[no_mangle]
#[inline(never)]
pub(crate) unsafe extern "C" fn crash_kexec(regs: *mut bindings::pt_regs) {
    // SAFETY: by the caller's contract.
    panic::crash_kexec(unsafe { regs.as_ref() });
}
matches_c!(crash_kexec: unsafe extern "C" fn(*mut bindings::pt_regs));

/// Saves `cpu`'s registers in its crash note (`crash_save_cpu`).
///
/// # Safety
///
/// `regs` is valid and `cpu` is the calling CPU.
#[no_mangle]
pub(crate) unsafe extern "C" fn crash_save_cpu(regs: *mut bindings::pt_regs, cpu: c_int) {
    let Ok(cpu) = u32::try_from(cpu) else { return };
    // SAFETY: by the caller's contract.
    if let Some(regs) = unsafe { regs.as_ref() } {
        panic::save_cpu(regs, cpu);
    }
}
matches_c!(crash_save_cpu: unsafe extern "C" fn(*mut bindings::pt_regs, c_int));

/// Cuts `[start, end]` out of `mem` (`crash_exclude_mem_range`); `-ENOMEM`
/// without a free slot for a split.
///
/// # Safety
///
/// `mem` is a valid `crash_mem` that the caller uses alone.
#[no_mangle]
pub(crate) unsafe extern "C" fn crash_exclude_mem_range(
    mem: *mut bindings::crash_mem,
    start: u64,
    end: u64,
) -> c_int {
    // SAFETY: by the caller's contract.
    errno_of(unsafe { CrashMem::from_raw(mem) }.exclude(start, end))
}
matches_c!(crash_exclude_mem_range: unsafe extern "C" fn(*mut bindings::crash_mem, u64, u64) -> c_int);

/// The arch hook for cutting a range (`arch_crash_exclude_mem_range`); x86
/// has no special needs.
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
    errno_of(unsafe { CrashMem::from_raw(*mem) }.exclude(start, end))
}
matches_c!(arch_crash_exclude_mem_range: unsafe extern "C" fn(*mut *mut bindings::crash_mem, u64, u64) -> c_int);

/// Cuts the crash kernel's own memory out of `cmem` (`crash_exclude_core_ranges`).
///
/// # Safety
///
/// `cmem` points to a valid `crash_mem` pointer; the caller holds the kexec lock.
#[no_mangle]
pub(crate) unsafe extern "C" fn crash_exclude_core_ranges(
    cmem: *mut *mut bindings::crash_mem,
) -> c_int {
    // SAFETY: by the caller's contract.
    let (mut mem, lock) = unsafe { (CrashMem::from_raw(*cmem), KexecLock::held_by_caller()) };
    errno_of(mem.exclude_core_ranges(&lock))
}
matches_c!(crash_exclude_core_ranges: unsafe extern "C" fn(*mut *mut bindings::crash_mem) -> c_int);

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
    // SAFETY: by the caller's contract.
    let mem = unsafe { CrashMem::from_raw(mem) };
    match headers::prepare_elf64_headers(mem.ram(), need_kernel_map != 0) {
        Ok((buf, size)) => {
            // SAFETY: the outputs are valid for writes (caller's contract).
            unsafe {
                *addr = buf;
                *sz = size as c_ulong;
            }
            0
        }
        Err(e) => e.to_errno(),
    }
}
matches_c!(crash_prepare_elf64_headers: unsafe extern "C" fn(*mut bindings::crash_mem, c_int, *mut *mut c_void, *mut c_ulong) -> c_int);

/// The elfcorehdr of the running system (`crash_prepare_headers`).
///
/// # Safety
///
/// `addr` and `sz` are valid for writes, `nr_mem_ranges` is null or valid;
/// the caller (a crash load) holds the kexec lock.
#[no_mangle]
pub(crate) unsafe extern "C" fn crash_prepare_headers(
    need_kernel_map: c_int,
    addr: *mut *mut c_void,
    sz: *mut c_ulong,
    nr_mem_ranges: *mut c_ulong,
) -> c_int {
    // SAFETY: by the caller's contract.
    let lock = unsafe { KexecLock::held_by_caller() };
    match headers::prepare_headers(need_kernel_map != 0, &lock) {
        Ok((buf, size, nr)) => {
            // SAFETY: the outputs are valid for writes (caller's contract).
            unsafe {
                *addr = buf;
                *sz = size as c_ulong;
                if let Some(n) = nr_mem_ranges.as_mut() {
                    *n = nr as c_ulong;
                }
            }
            0
        }
        Err(e) => e.to_errno(),
    }
}
matches_c!(crash_prepare_headers: unsafe extern "C" fn(c_int, *mut *mut c_void, *mut c_ulong, *mut c_ulong) -> c_int);

/// Whether the loaded crash image may be rewritten on hotplug
/// (`crash_check_hotplug_support`).
#[cfg(CONFIG_CRASH_HOTPLUG)]
#[no_mangle]
pub(crate) extern "C" fn crash_check_hotplug_support() -> c_int {
    c_int::from(panic::check_hotplug_support())
}
#[cfg(CONFIG_CRASH_HOTPLUG)]
matches_c!(crash_check_hotplug_support: unsafe extern "C" fn() -> c_int);

#[cfg(CONFIG_CRASH_HOTPLUG)]
unsafe extern "C" fn cpu_online(cpu: c_uint) -> c_int {
    panic::handle_hotplug_event(bindings::KEXEC_CRASH_HP_ADD_CPU, cpu, core::ptr::null_mut());
    0
}

#[cfg(CONFIG_CRASH_HOTPLUG)]
unsafe extern "C" fn cpu_offline(cpu: c_uint) -> c_int {
    panic::handle_hotplug_event(
        bindings::KEXEC_CRASH_HP_REMOVE_CPU,
        cpu,
        core::ptr::null_mut(),
    );
    0
}

/// The memory hotplug notifier (`crash_memhp_notifier`): memory that came
/// online or went offline; `arg` is the `struct memory_notify` of the block.
#[cfg(all(CONFIG_CRASH_HOTPLUG, CONFIG_MEMORY_HOTPLUG))]
pub(crate) unsafe extern "C" fn memory_notify(
    _nb: *mut bindings::notifier_block,
    action: c_ulong,
    arg: *mut c_void,
) -> c_int {
    let invalid_cpu = bindings::KEXEC_CRASH_HP_INVALID_CPU as u32;
    if action == bindings::memory_block_state_MEM_ONLINE as c_ulong {
        panic::handle_hotplug_event(bindings::KEXEC_CRASH_HP_ADD_MEMORY, invalid_cpu, arg);
    } else if action == bindings::memory_block_state_MEM_OFFLINE as c_ulong {
        panic::handle_hotplug_event(bindings::KEXEC_CRASH_HP_REMOVE_MEMORY, invalid_cpu, arg);
    }
    bindings::NOTIFY_OK as c_int
}

/// The note buffers, VMCOREINFO and the hotplug callbacks; called once at
/// subsys_initcall by kexec_glue.c.
#[no_mangle]
pub(crate) extern "C" fn kexec_rust_crash_init() -> c_int {
    let ret = panic::init();
    #[cfg(CONFIG_CRASH_HOTPLUG)]
    let ret = ret.and(panic::hotplug_init(cpu_online, cpu_offline));
    errno_of(ret)
}

/// Puts the reservations made at boot into /proc/iomem: an early initcall on
/// the arches that do not insert them as they reserve (arm64).
#[no_mangle]
pub(crate) extern "C" fn kexec_rust_insert_crash_resources() -> c_int {
    reserve::insert_boot_resources();
    0
}

/// Counts one recovered hardware error of type `src` (`hwerr_log_error_type`).
#[no_mangle]
pub(crate) extern "C" fn hwerr_log_error_type(src: bindings::hwerr_error_type) {
    if let Ok(i) = usize::try_from(src) {
        vmcoreinfo::log_hwerr(i);
    }
}
matches_c!(hwerr_log_error_type: unsafe extern "C" fn(bindings::hwerr_error_type));

/// The end of `vmcoreinfo_append_str()` (kexec_glue.c), which formats C's lines.
///
/// # Safety
///
/// `line` points to `len` readable bytes.
#[no_mangle]
pub(crate) unsafe extern "C" fn kexec_rust_vmcoreinfo_append(line: *const c_char, len: usize) {
    // SAFETY: by the caller's contract.
    vmcoreinfo::append(unsafe { core::slice::from_raw_parts(line.cast::<u8>(), len) });
}

/// Makes `ptr` the safe copy of VMCOREINFO (`crash_update_vmcoreinfo_safecopy`).
///
/// # Safety
///
/// `ptr` is null or maps a page that stays mapped until this is called with
/// null; under the kexec lock.
#[no_mangle]
pub(crate) unsafe extern "C" fn crash_update_vmcoreinfo_safecopy(ptr: *mut c_void) {
    // SAFETY: by the caller's contract.
    unsafe { vmcoreinfo::set_safecopy(ptr.cast()) };
}
matches_c!(crash_update_vmcoreinfo_safecopy: unsafe extern "C" fn(*mut c_void));

/// At panic: the safe copy, `CRASHTIME` and the note (`crash_save_vmcoreinfo`).
#[no_mangle]
pub(crate) extern "C" fn crash_save_vmcoreinfo() {
    vmcoreinfo::crash_save();
}
matches_c!(crash_save_vmcoreinfo: unsafe extern "C" fn());

/// The physical address of the VMCOREINFO note (`paddr_vmcoreinfo_note`).
/// C's is a weak default that Xen PV overrides (arch/x86/xen/mmu_pv.c, with
/// the machine address); Rust has no weak definitions, so there it is not
/// defined here.
#[cfg(not(CONFIG_XEN_PV))]
#[no_mangle]
pub(crate) extern "C" fn paddr_vmcoreinfo_note() -> bindings::phys_addr_t {
    vmcoreinfo::note_phys()
}
#[cfg(not(CONFIG_XEN_PV))]
matches_c!(paddr_vmcoreinfo_note: unsafe extern "C" fn() -> bindings::phys_addr_t);

/// Writes a note to `buf` and returns the word after it (`append_elf_note`).
///
/// # Safety
///
/// `buf` has room for the note; `name` is a C string; `data` holds `data_len` bytes.
#[no_mangle]
pub(crate) unsafe extern "C" fn append_elf_note(
    buf: *mut u32,
    name: *mut c_char,
    ty: c_uint,
    data: *mut c_void,
    data_len: usize,
) -> *mut u32 {
    // SAFETY: by the caller's contract.
    unsafe {
        let name = CStr::from_char_ptr(name).to_bytes();
        let size = elfcore::note_size(name.len(), data_len);
        let out = core::slice::from_raw_parts_mut(buf.cast::<u8>(), size);
        let desc = core::slice::from_raw_parts(data.cast::<u8>(), data_len);
        let _ = elfcore::append_note(out, 0, name, ty, desc);
        buf.add(size / 4)
    }
}
matches_c!(append_elf_note: unsafe extern "C" fn(*mut u32, *mut c_char, c_uint, *mut c_void, usize) -> *mut u32);

/// Ends a note list at `buf` (`final_note`).
///
/// # Safety
///
/// `buf` has room for a note header.
#[no_mangle]
pub(crate) unsafe extern "C" fn final_note(buf: *mut u32) {
    // SAFETY: by the caller's contract.
    let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), elfcore::NHDR_SIZE) };
    let _ = elfcore::final_note(out, 0);
}
matches_c!(final_note: unsafe extern "C" fn(*mut u32));

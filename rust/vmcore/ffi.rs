// SPDX-License-Identifier: GPL-2.0

//! The C interface of the capture kernel's side of kdump: the variables and
//! functions of kernel/elfcorehdr.c, fs/proc/vmcore.c and
//! arch/x86/kernel/crash_dump_64.c that the rest of the kernel uses, and the
//! `proc_ops` of /proc/vmcore. Each function turns its C arguments into Rust
//! types at once and calls [`super::file`] or [`super::dump`].

use super::dump::Dump;
use super::{callbacks, file, oldmem};
use crate::corehdr;
use crate::kexec::ffi::matches_c;
use kernel::bindings;
use kernel::iov::IovIterDest;
use kernel::mm::virt::VmaNew;
use kernel::prelude::*;
use kernel::sync::atomic::{ordering::Relaxed, Atomic};
use kernel::sync::SetOnce;

/// `ELFCORE_ADDR_MAX`: no `elfcorehdr=`, not a kdump kernel.
const ADDR_MAX: u64 = u64::MAX;
/// `ELFCORE_ADDR_ERR`: a kdump kernel whose header has been consumed.
const ADDR_ERR: u64 = u64::MAX - 1;

/// The physical address of the crashed kernel's ELF core header, from
/// `elfcorehdr=` (`unsigned long long elfcorehdr_addr`); `is_kdump_kernel()`,
/// a C inline, reads it.
#[no_mangle]
pub(crate) static elfcorehdr_addr: Atomic<u64> = Atomic::new(ADDR_MAX);

/// Its size, when `elfcorehdr=` gave one (`unsigned long long elfcorehdr_size`).
#[no_mangle]
pub(crate) static elfcorehdr_size: Atomic<u64> = Atomic::new(0);

// C reads these as `unsigned long long`.
const _: () = assert!(core::mem::size_of::<Atomic<u64>>() == 8);

/// The dump, once the initcall has built it.
static DUMP: SetOnce<Dump> = SetOnce::new();

/// `elfcorehdr=[size[KMG]@]offset[KMG]`, from the early_param in kexec_glue.c.
///
/// # Safety
///
/// `arg` is null or a C string.
#[no_mangle]
pub(crate) unsafe extern "C" fn kexec_rust_elfcorehdr_param(arg: *const c_char) -> c_int {
    if arg.is_null() {
        return -(bindings::EINVAL as c_int);
    }
    // SAFETY: by the caller's contract.
    let arg = unsafe { CStr::from_char_ptr(arg) }.to_bytes();
    let p = corehdr::parse_elfcorehdr(arg);
    elfcorehdr_addr.store(p.addr, Relaxed);
    if let Some(size) = p.size {
        elfcorehdr_size.store(size, Relaxed);
    }
    if p.ok {
        0
    } else {
        -(bindings::EINVAL as c_int)
    }
}

/// Builds the dump and creates /proc/vmcore (an fs_initcall, from
/// kexec_glue.c), when this is a kdump kernel.
#[no_mangle]
pub(crate) extern "C" fn kexec_rust_vmcore_init() -> c_int {
    let addr = elfcorehdr_addr.load(Relaxed);
    if addr == ADDR_MAX || addr == ADDR_ERR {
        return 0;
    }
    let size = match elfcorehdr_size.load(Relaxed) {
        0 => None,
        n => Some(n),
    };
    // SAFETY: no precondition.
    let (header_enc, enc) = unsafe {
        (
            bindings::kexec_rust_cc_guest_mem_encrypt(),
            bindings::kexec_rust_cc_mem_encrypt(),
        )
    };
    let dump = match Dump::read(addr, size, header_enc, enc) {
        Ok(d) => d,
        Err(r) => {
            pr_warn!(
                "vmcore: elfcorehdr at {addr:#x} {}; no /proc/vmcore\n",
                format_args!("{r}")
            );
            return -r.errno();
        }
    };
    let (phnum, notes) = (dump.layout.phnum, dump.layout.notes);
    let (nr_loads, size) = (dump.loads.len(), dump.size());
    if !DUMP.populate(dump) {
        return -(bindings::EBUSY as c_int);
    }
    // The header has been read: still a kdump kernel, not to be read again.
    elfcorehdr_addr.store(ADDR_ERR, Relaxed);
    // SAFETY: the name is a C string and `PROC_OPS` lives forever.
    let pde = unsafe {
        bindings::proc_create(
            c"vmcore".as_char_ptr(),
            bindings::S_IRUSR as _,
            core::ptr::null_mut(),
            &PROC_OPS.0,
        )
    };
    if pde.is_null() {
        pr_warn!("vmcore: could not create /proc/vmcore\n");
        return 0;
    }
    // SAFETY: `pde` is the entry just created, never removed.
    unsafe { bindings::proc_set_size(pde, size as _) };
    pr_info!(
        "vmcore: /proc/vmcore of {size} bytes: {phnum} program headers, \
         {notes} bytes of notes, {nr_loads} ranges of old memory\n"
    );
    0
}

/// Copies `count` bytes of old memory at physical address `*ppos` to `iter`
/// and advances `*ppos` (used by the dm-crypt key loader).
///
/// # Safety
///
/// `iter` is a valid destination iterator and `ppos` valid for reads and
/// writes.
#[no_mangle]
pub(crate) unsafe extern "C" fn read_from_oldmem(
    iter: *mut bindings::iov_iter,
    count: usize,
    ppos: *mut u64,
    encrypted: bool,
) -> isize {
    // SAFETY: by the caller's contract.
    let (dest, pos) = unsafe { (IovIterDest::from_raw(iter), &mut *ppos) };
    if count == 0 {
        return 0;
    }
    if pos.checked_add(count as u64).is_none() {
        return -(bindings::EFAULT as isize);
    }
    match oldmem::copy_to_iter(dest, *pos, count, encrypted) {
        Ok(()) => {
            *pos += count as u64;
            count as isize
        }
        Err(_) => -(bindings::EFAULT as isize),
    }
}
matches_c!(read_from_oldmem: unsafe extern "C" fn(*mut bindings::iov_iter, usize, *mut u64, bool) -> isize);

/// Registers a driver's vmcore callbacks (`register_vmcore_cb`).
///
/// # Safety
///
/// `cb` stays valid until it is passed to [`unregister_vmcore_cb`].
#[no_mangle]
pub(crate) unsafe extern "C" fn register_vmcore_cb(cb: *mut bindings::vmcore_cb) {
    callbacks::register(cb);
}
matches_c!(register_vmcore_cb: unsafe extern "C" fn(*mut bindings::vmcore_cb));

/// Unregisters them (`unregister_vmcore_cb`); returns when no reader uses
/// them any more.
///
/// # Safety
///
/// Process context.
#[no_mangle]
pub(crate) unsafe extern "C" fn unregister_vmcore_cb(cb: *mut bindings::vmcore_cb) {
    callbacks::unregister(cb);
}
matches_c!(unregister_vmcore_cb: unsafe extern "C" fn(*mut bindings::vmcore_cb));

/// `walk_system_ram_range()` callback of `oldmem::check_mappable`: scans the
/// System RAM pages `[start, start + count)` for one this kernel uses, and
/// stops the walk (returns 1) when it finds one.
///
/// # Safety
///
/// `arg` is the `InUseSearch` that `check_mappable` passed.
pub(crate) unsafe extern "C" fn find_ram_in_use(
    start: c_ulong,
    count: c_ulong,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: by the caller's contract.
    let search = unsafe { &mut *arg.cast::<oldmem::InUseSearch>() };
    search.scan(start as u64, count as u64) as c_int
}

/// The file operations of /proc/vmcore.
struct ProcOps(bindings::proc_ops);

// SAFETY: only function pointers and flags, never written.
unsafe impl Sync for ProcOps {}

static PROC_OPS: ProcOps = ProcOps({
    let mut ops: bindings::proc_ops = pin_init::zeroed();
    ops.proc_open = Some(open);
    ops.proc_release = Some(release);
    ops.proc_read_iter = Some(read_iter);
    ops.proc_lseek = Some(bindings::default_llseek);
    ops.proc_mmap = Some(mmap);
    ops
});

/// Opens /proc/vmcore: counts the open (the pointers are not used).
extern "C" fn open(_inode: *mut bindings::inode, _file: *mut bindings::file) -> c_int {
    match file::open() {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Closes /proc/vmcore: counts the release (the pointers are not used).
extern "C" fn release(_inode: *mut bindings::inode, _file: *mut bindings::file) -> c_int {
    file::release();
    0
}

/// # Safety
///
/// Called by procfs with a valid kiocb and destination iterator.
unsafe extern "C" fn read_iter(iocb: *mut bindings::kiocb, iter: *mut bindings::iov_iter) -> isize {
    let Some(dump) = DUMP.as_ref() else {
        return 0;
    };
    // SAFETY: by the caller's contract; `ki_pos` is ours for this call.
    let (dest, pos) = unsafe { (IovIterDest::from_raw(iter), &mut (*iocb).ki_pos) };
    match file::read(dump, dest, pos) {
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by procfs's mmap with a vma being set up.
unsafe extern "C" fn mmap(_file: *mut bindings::file, vma: *mut bindings::vm_area_struct) -> c_int {
    let Some(dump) = DUMP.as_ref() else {
        return -(bindings::ENODEV as c_int);
    };
    // SAFETY: by the caller's contract, `vma` is undergoing its initial set-up.
    let vma = unsafe { VmaNew::from_raw(vma) };
    match file::mmap(dump, vma) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The mapping's operations: everything is mapped at mmap(); a fault (after
/// `madvise(MADV_DONTNEED)`, say) is `SIGBUS`, as in the stock kernel.
pub(crate) struct VmOps(pub(crate) bindings::vm_operations_struct);

// SAFETY: only function pointers, never written.
unsafe impl Sync for VmOps {}

pub(crate) static VM_OPS: VmOps = VmOps({
    let mut ops: bindings::vm_operations_struct = pin_init::zeroed();
    ops.fault = Some(fault);
    ops
});

/// # Safety
///
/// Called by the mm core for a fault in a vmcore mapping.
unsafe extern "C" fn fault(_vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t
}

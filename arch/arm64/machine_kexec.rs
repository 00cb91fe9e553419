// SPDX-License-Identifier: GPL-2.0

//! The arm64 arch side of kexec (`CONFIG_KEXEC_RUST_RELOCATE`), in place of
//! arch/arm64/kernel/machine_kexec.c, relocate_kernel.S and cpu-reset.S.
//!
//! * [`prepare`] (`machine_kexec_prepare`) refuses a normal image while CPUs
//!   are stuck in the kernel: they could not be taken offline for the jump.
//! * [`post_load`] (`machine_kexec_post_load`, called once the segments are
//!   in) readies the image for the jump. An image copied at kexec time gets a
//!   copy of the linear map in which every page is writable (the stub copies
//!   through it with the MMU and caches on), and under nVHE a copy of the EL2
//!   stub's vectors. An image loaded in place (a crash image) gets its
//!   segments cleaned to the point of coherency now: the capture kernel
//!   starts with the caches off. Every image gets the stub (`relocate_kernel.S`,
//!   next to this file) in its control page and a one-page identity map of
//!   that page, so that the crash path needs nothing the crashed kernel may
//!   have broken (upstream's in-place path jumps through the kernel's own idmap
//!   and cpu_soft_restart instead). All tables are taken from the image's
//!   control pages, built by the kernel's trans_pgd library (shared with
//!   hibernation).
//! * [`jump`] (`machine_kexec`) masks all exceptions, installs the identity
//!   map in TTBR0 and branches to the stub; it does not return. Both `kexec -e`
//!   (rust/kexec/reboot.rs) and a panic (rust/crash/panic.rs) end here.
//! * [`crash_shutdown`] (`machine_crash_shutdown`) stops the other CPUs
//!   (which save their registers in their crash notes), saves the crashing
//!   CPU's and masks the interrupt controllers' interrupts.
//!
//! The functions C calls are in `ffi.rs`, next to this file.

use crate::kexec::image::Kimage;
use crate::kexec::page;
use kernel::bindings;
use kernel::prelude::*;

#[path = "ffi.rs"]
mod ffi;

const PAGE_SIZE: usize = page::PAGE_SIZE;

/// The stub's code as linked into the kernel: `__relocate_new_kernel_start`
/// (which is `arm64_relocate_new_kernel`, vmlinux.lds.S checks it) to
/// `__relocate_new_kernel_end`, at most one page (checked there too).
fn stub() -> (usize, usize) {
    // SAFETY: addresses of linker symbols around the stub.
    let (start, end) = unsafe {
        (
            bindings::kexec_rust_stub_start(),
            bindings::kexec_rust_stub_end(),
        )
    };
    (start as usize, (end - start) as usize)
}

/// The control code page's linear-map address.
fn control_page_va(image: &Kimage) -> usize {
    // SAFETY: an image that reaches the arch hooks has its control code page, a
    // valid `struct page` the image owns.
    unsafe { page::address_of(image.c().control_code_page) }
}

/// A zeroed page from the image's control pages, so that no table can be
/// overwritten by the copy (`trans_pgd_info::trans_alloc_page`).
fn alloc_table_page(image: &mut Kimage) -> Option<usize> {
    let control = image.alloc_control_pages(0).ok()?;
    let va = control.virt();
    // SAFETY: a whole page of the linear map that the image owns and nothing
    // uses yet.
    unsafe { core::ptr::write_bytes(va as *mut u8, 0, PAGE_SIZE) };
    Some(va)
}

/// The trans_pgd library's state for `image`: its allocator takes control
/// pages of the image. Borrows the image mutably for as long as it lives.
struct Tables<'a> {
    info: bindings::trans_pgd_info,
    _image: core::marker::PhantomData<&'a mut Kimage>,
}

impl<'a> Tables<'a> {
    fn new(image: &'a mut Kimage) -> Self {
        Tables {
            info: bindings::trans_pgd_info {
                trans_alloc_page: Some(ffi::alloc_table_page),
                trans_alloc_arg: image.as_ptr().cast(),
            },
            _image: core::marker::PhantomData,
        }
    }

    /// A copy of the whole linear map, every page writable; the physical
    /// address of its top-level table.
    fn copy_linear_map(&mut self) -> Result<u64> {
        let mut pgd: *mut bindings::pgd_t = core::ptr::null_mut();
        // SAFETY: `info` allocates from the image (borrowed mutably for our
        // lifetime); the range is the running kernel's linear map.
        let ret = unsafe {
            bindings::kexec_rust_trans_pgd_create_copy(
                &mut self.info,
                &mut pgd,
                bindings::kexec_rust_linear_map_start(),
                bindings::kexec_rust_linear_map_end(),
            )
        };
        if ret != 0 {
            pr_err!("kexec: no control pages left for the copy of the linear map ({ret})\n");
            return Err(Error::from_errno(ret));
        }
        Ok(page::virt_to_boot_phys(pgd as usize))
    }

    /// An identity map of the one page at linear-map address `va`, read-only
    /// and executable: (TTBR0 value, T0SZ).
    fn idmap_page(&mut self, va: usize) -> Result<(u64, u64)> {
        let (mut ttbr0, mut t0sz) = (0, 0);
        // SAFETY: as above; `va` is a page of the image's.
        let ret = unsafe {
            bindings::kexec_rust_trans_pgd_idmap_page(
                &mut self.info,
                &mut ttbr0,
                &mut t0sz,
                va as *mut c_void,
            )
        };
        if ret != 0 {
            pr_err!("kexec: no control pages left for the stub's identity map ({ret})\n");
            return Err(Error::from_errno(ret));
        }
        Ok((ttbr0, t0sz as u64))
    }

    /// A copy of the EL2 stub's vectors, which the copy cannot overwrite.
    fn copy_el2_vectors(&mut self) -> Result<u64> {
        let mut vectors = 0;
        // SAFETY: as above.
        let ret = unsafe {
            bindings::kexec_rust_trans_pgd_copy_el2_vectors(&mut self.info, &mut vectors)
        };
        if ret != 0 {
            pr_err!("kexec: no control page left for the EL2 vectors ({ret})\n");
            return Err(Error::from_errno(ret));
        }
        Ok(vectors)
    }
}

/// Whether the kernel runs at EL1 with a hypervisor stub (nVHE) at EL2.
fn hyp_nvhe() -> bool {
    // SAFETY: a pure query.
    unsafe { bindings::kexec_rust_hyp_nvhe() }
}

/// Cleans and invalidates the linear-map range `[va, va + len)` to the point
/// of coherency.
fn clean_to_poc(va: usize, len: usize) {
    // SAFETY: cache maintenance by address of memory the kernel maps.
    unsafe { bindings::kexec_rust_dcache_clean_inval_poc(va as c_ulong, (va + len) as c_ulong) };
}

/// Refuses a normal image when CPUs are stuck in the kernel: `kexec -e`
/// could not take them offline (`EBUSY`, as stock).
fn prepare(image: &Kimage) -> Result {
    // SAFETY: a pure query.
    if !image.is_crash() && unsafe { bindings::kexec_rust_cpus_stuck_in_kernel() } {
        pr_err!("kexec: CPUs are stuck in the kernel and cannot be taken offline for kexec\n");
        return Err(EBUSY);
    }
    Ok(())
}

/// Readies a loaded image for [`jump`] (see the module's description).
fn post_load(image: &mut Kimage) -> Result {
    let in_place = image.c().head & bindings::IND_DONE as c_ulong != 0;
    if in_place {
        for seg in image.segments().as_slice() {
            clean_to_poc(page::boot_phys_to_virt(seg.mem), seg.memsz as usize);
        }
    }
    let control = control_page_va(image);
    let (ttbr1, vectors, (ttbr0, t0sz)) = {
        let mut tables = Tables::new(image);
        let vectors = if !in_place && hyp_nvhe() {
            tables.copy_el2_vectors()?
        } else {
            0
        };
        let ttbr1 = if in_place {
            0
        } else {
            tables.copy_linear_map()?
        };
        (ttbr1, vectors, tables.idmap_page(control)?)
    };
    let (start, len) = stub();
    // SAFETY: the stub's bytes (at most a page, vmlinux.lds.S checks it) into
    // the control page, which the image owns and nothing else uses.
    unsafe { core::ptr::copy_nonoverlapping(start as *const u8, control as *mut u8, len) };
    clean_to_poc(control, len);
    // SAFETY: the same range, now clean to the point of coherency.
    unsafe {
        bindings::kexec_rust_icache_inval_pou(control as c_ulong, (control + len) as c_ulong)
    };

    // PA - VA of the linear map, modulo 2^64 (the linear map lies above RAM),
    // from an untagged address: `control` came from page_address(), which
    // carries a memory tag under KASAN_HW_TAGS, and the stub's addresses must
    // carry none (the match-all tag), or MTE would check them in the copy.
    let control_pa = page::virt_to_boot_phys(control);
    let phys_offset = (control_pa as usize).wrapping_sub(page::boot_phys_to_virt(control_pa));
    // SAFETY: a pure query.
    let zero_page = unsafe { bindings::kexec_rust_zero_page_pa() };
    let arch = &mut image.c_mut().arch;
    arch.ttbr0 = ttbr0;
    arch.t0sz = t0sz as c_ulong;
    arch.ttbr1 = ttbr1;
    arch.el2_vectors = vectors;
    arch.zero_page = zero_page;
    arch.phys_offset = phys_offset as c_ulong;
    arch.kern_reloc = control_pa;
    Ok(())
}

/// Jumps to `image` through the relocate stub; does not return.
fn jump(image: &Kimage) -> ! {
    let crash = image.is_crash();
    // SAFETY: pure queries.
    let (stuck, online) = unsafe {
        (
            bindings::kexec_rust_cpus_stuck_in_kernel(),
            bindings::kexec_rust_online_cpus(),
        )
    };
    if crash {
        // SAFETY: a pure query.
        if stuck || unsafe { bindings::kexec_rust_crash_stop_failed() } {
            pr_warn!("kexec: some CPUs did not stop; the dump may hold stale state for them\n");
        }
    } else if stuck || online > 1 {
        // The reboot path takes the other CPUs offline first; the new kernel
        // would run beside them.
        panic!("kexec: {online} CPUs online (stuck in the kernel: {stuck}) at the jump");
    }
    let arch = &image.c().arch;
    let (head, start, dtb) = (image.c().head as u64, image.c().start as u64, arch.dtb_mem);
    let (ttbr0, t0sz, ttbr1, zero_page, phys_offset, stub) = (
        arch.ttbr0,
        arch.t0sz,
        arch.ttbr1,
        arch.zero_page,
        arch.phys_offset as u64,
        arch.kern_reloc,
    );
    let nvhe = hyp_nvhe();
    // The image was copied at kexec time with its own copy of the EL2
    // vectors; an image in place enters through the vectors EL2 has now.
    let el2 = if nvhe { arch.el2_vectors.max(1) } else { 0 };
    pr_info!("Bye!\n");

    // From here on nothing may fail or allocate: the machine is going down.
    // SAFETY: all exceptions masked for good; the EL2 vectors are the copy
    // post_load made (in a control page, never a destination); TTBR0 gets
    // the stub's identity map, built for this image, leaving the kernel's
    // mappings (TTBR1) alone.
    unsafe {
        bindings::kexec_rust_daif_mask();
        if nvhe && arch.el2_vectors != 0 {
            bindings::kexec_rust_hyp_set_vectors(arch.el2_vectors);
        }
        bindings::kexec_rust_install_ttbr0(ttbr0, t0sz);
    }
    // SAFETY: `stub` is the physical address of the stub's copy, identity
    // mapped read-only and executable in TTBR0 (no guarded-page bit, so BTI
    // does not apply); its arguments follow the contract at the top of
    // relocate_kernel.S, and it never returns. The branch is made here and
    // not through a Rust function pointer, which kCFI would check.
    unsafe {
        core::arch::asm!(
            "blr {stub}",
            stub = in(reg) stub,
            in("x0") head,
            in("x1") ttbr1,
            in("x2") phys_offset,
            in("x3") zero_page,
            in("x4") start,
            in("x5") dtb,
            in("x6") el2,
            options(noreturn),
        )
    }
}

/// Stops the other CPUs and saves the crashing one's registers before the
/// jump to the crash image (`machine_crash_shutdown`).
///
/// # Safety
///
/// Called once, on the panic path, by the CPU that owns the panic; `regs` is
/// valid.
unsafe fn crash_shutdown(regs: *mut bindings::pt_regs) {
    // SAFETY: by the caller's contract: interrupts off for good, the other
    // CPUs stopped (each saves its registers in its crash note first), this
    // CPU's note from `regs`.
    unsafe {
        bindings::kexec_rust_irq_disable();
        bindings::kexec_rust_crash_smp_send_stop();
        bindings::crash_save_cpu(regs, bindings::kexec_rust_this_cpu());
        bindings::kexec_rust_mask_interrupts();
    }
    pr_info!("Starting crashdump kernel...\n");
}

/// Hibernation and the crash reservation (`CONFIG_HIBERNATION`), in place of
/// the end of arch/arm64/kernel/machine_kexec.c: the reservation's pages that
/// hold no segment of the loaded crash image are left out of the
/// hibernation image, and the reservation is mapped again around the
/// snapshot so that a loaded crash kernel is saved and restored with it.
#[cfg(all(CONFIG_CRASH_DUMP, CONFIG_HIBERNATION))]
mod hibernation {
    use crate::kexec::reservation;
    use crate::kexec::state::{self, KexecLock};
    use kernel::bindings;
    use kernel::prelude::*;

    /// Whether `addr` is in the inclusive range `r` (an empty one, `end == 0`,
    /// holds nothing).
    fn within(r: (u64, u64), addr: u64) -> bool {
        r.1 != 0 && r.0 <= addr && addr <= r.1
    }

    /// Whether the page at `pfn` is in the crash reservation and holds
    /// nothing of the loaded crash image (`crash_is_nosave`): such a page is
    /// not saved. The image is its segments and, unlike upstream's, its
    /// control pages (the stub and its identity map, which the crash path
    /// jumps through): those were taken from the reservation's start up to
    /// `control_page`, between the segments. When the kexec lock is taken (a
    /// load under way, which hibernation's freezing of tasks rules out) the
    /// page is saved.
    #[no_mangle]
    pub(crate) extern "C" fn crash_is_nosave(pfn: c_ulong) -> bool {
        let addr = (pfn as u64) << bindings::PAGE_SHIFT;
        let (high, low) = (
            reservation::window_unlocked(),
            reservation::low_window_unlocked(),
        );
        if !within(high, addr) && !within(low, addr) {
            return false;
        }
        let Some(mut lock) = KexecLock::try_lock() else {
            return false;
        };
        match state::slot(true).get(&mut lock) {
            None => true,
            Some(image) => {
                let control = high.1 != 0 && high.0 <= addr && addr < image.c().control_page as u64;
                !control
                    && !image
                        .segments()
                        .as_slice()
                        .iter()
                        .any(|s| s.mem <= addr && addr - s.mem < s.memsz)
            }
        }
    }
    crate::kexec::ffi::matches_c!(crash_is_nosave: unsafe extern "C" fn(c_ulong) -> bool);

    /// Maps the reservation again before the snapshot, if a crash image is
    /// loaded (`crash_prepare_suspend`).
    #[no_mangle]
    pub(crate) extern "C" fn crash_prepare_suspend() {
        if state::slot(true).is_loaded() {
            // SAFETY: hibernation runs with tasks frozen: no load changes the
            // reservation meanwhile.
            unsafe { bindings::kexec_rust_arch_unprotect_crashkres() };
        }
    }
    crate::kexec::ffi::matches_c!(crash_prepare_suspend: unsafe extern "C" fn());

    /// Unmaps it again after the snapshot or the resume
    /// (`crash_post_resume`).
    #[no_mangle]
    pub(crate) extern "C" fn crash_post_resume() {
        if state::slot(true).is_loaded() {
            // SAFETY: as above.
            unsafe { bindings::kexec_rust_arch_protect_crashkres() };
        }
    }
    crate::kexec::ffi::matches_c!(crash_post_resume: unsafe extern "C" fn());

    /// Gives the pages of `[begin, end)`, which the reservation no longer
    /// holds, to the page allocator (`crash_free_reserved_phys_range`; with
    /// hibernation arm64 declares it instead of the generic inline).
    #[no_mangle]
    pub(crate) extern "C" fn crash_free_reserved_phys_range(begin: c_ulong, end: c_ulong) {
        let mut addr = begin;
        while addr < end {
            // SAFETY: the caller (the shrink of the reservation) gives up
            // reserved RAM pages that nothing uses any more.
            unsafe { bindings::kexec_rust_free_reserved_phys_page(addr) };
            addr += bindings::PAGE_SIZE as c_ulong;
        }
    }
    crate::kexec::ffi::matches_c!(crash_free_reserved_phys_range: unsafe extern "C" fn(c_ulong, c_ulong));
}

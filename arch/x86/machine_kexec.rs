// SPDX-License-Identifier: GPL-2.0

//! The x86_64 arch side of kexec (`CONFIG_KEXEC_RUST_RELOCATE`), in place of
//! arch/x86/kernel/machine_kexec_64.c.
//!
//! * [`machine_kexec_prepare`] builds the identity-mapped page table the
//!   relocate stub (`relocate_kernel.S`, next to this file) runs on, and puts
//!   the stub into the image's control page.
//! * [`machine_kexec`] hands the stub the entry list and jumps; it does not
//!   return. Both `kexec -e` (rust/reboot.rs) and a panic (rust/crash.rs) end
//!   here.
//! * The kimage hooks: page attributes of the control page and of the crash
//!   reservation, memory encryption of image pages, and for kexec_file_load
//!   the purgatory relocations (the rules are in `purgatory.rs`) and the
//!   bzImage loader table.
//!
//! The identity map covers what the stub and the code after it touch before
//! the new kernel sets up its own tables: all RAM the kernel maps (so every
//! source, destination and entry page, and the control page), each segment's
//! destination range even outside that RAM, the EFI system and configuration
//! tables on an EFI boot, the ACPI tables and ACPI NVS, and the early-console
//! MMIO UART if there is one. It is built by the kernel's
//! x86 identity-mapping library (`kernel_ident_mapping_init`, shared with
//! hibernation and the boot code), in pages taken from the image's control
//! pages, so none of them can be a destination. The one mapping outside the
//! identity: the control page at its kernel virtual address, where the stub
//! runs when it switches tables. The table gets the kernel's own top-level
//! entry for that address, so no intermediate tables need allocating or
//! freeing.

use crate::purgatory;
use crate::sys;
use core::ffi::c_void;
use kernel::bindings;
use kernel::ffi::{c_int, c_uint, c_ulong};
use kernel::prelude::*;

const PAGE_SIZE: usize = 4096;
const PAGE_SHIFT: u32 = 12;

/// `RELOC_KERNEL_CACHE_INCOHERENT` of asm/kexec.h: the stub's WBINVD flag.
const RELOC_CACHE_INCOHERENT: u64 = 1 << 1;

extern "C" {
    /// The relocate stub (relocate_kernel.S). Only its address is used: its
    /// copy in the control page is what runs.
    fn kexec_rust_relocate();
    /// Bounds of what is copied into the control page (vmlinux.lds.S).
    static __relocate_kernel_start: [u8; 0];
    static __relocate_kernel_end: [u8; 0];
    /// The bzImage loader (arch/x86/kernel/kexec-bzimage64.c).
    #[cfg(CONFIG_KEXEC_FILE)]
    static kexec_bzImage64_ops: bindings::kexec_file_ops;
    /// The early console's UART, by MMIO address or I/O port, if earlyprintk=
    /// named one (defined in relocate_kernel.S, set by early_printk.c).
    static kexec_debug_8250_mmio32: c_ulong;
    static kexec_debug_8250_port: u16;
    /// Where the stub's exception reporter finds that UART, in the stub.
    static kexec_rust_uart_mmio: u64;
    static kexec_rust_uart_port: u16;
    /// Size of the purgatory object built into the kernel
    /// (arch/x86/purgatory/kexec-purgatory.S).
    #[cfg(CONFIG_KEXEC_FILE)]
    static kexec_purgatory_size: usize;
}

fn control_page_va(image: &bindings::kimage) -> *mut u8 {
    // SAFETY: an image that reaches the arch hooks has its control code page.
    unsafe { sys::kexec_rust_page_address(image.control_code_page) }.cast()
}

/// `x86_mapping_info::alloc_pgt_page`: a zeroed page from the image's control
/// pages, so that no page table can be overwritten by the copy.
unsafe extern "C" fn alloc_table_page(context: *mut c_void) -> *mut c_void {
    let image: *mut bindings::kimage = context.cast();
    let page = crate::kimage::kimage_alloc_control_pages(image, 0);
    if page.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: a control page is a lowmem page owned by the image.
    let va = unsafe { sys::kexec_rust_page_address(page) };
    // SAFETY: `va` is a whole page that nothing else uses yet.
    unsafe { core::ptr::write_bytes(va.cast::<u8>(), 0, PAGE_SIZE) };
    va
}

/// Identity-maps physical `[start, end)` in `pgd`.
fn map(info: &mut bindings::x86_mapping_info, pgd: *mut bindings::pgd_t, start: u64, end: u64, what: &str) -> Result {
    // SAFETY: `pgd` is the image's table page; `info` allocates from the
    // image's control pages.
    let ret = unsafe { bindings::kernel_ident_mapping_init(info, pgd, start as c_ulong, end as c_ulong) };
    if ret != 0 {
        pr_err!("kexec: cannot identity-map {what} {start:#x}-{end:#x} ({ret})\n");
        return Err(Error::from_errno(ret));
    }
    Ok(())
}

struct AcpiWalk {
    info: *mut bindings::x86_mapping_info,
    pgd: *mut bindings::pgd_t,
}

unsafe extern "C" fn map_acpi_range(res: *mut bindings::resource, arg: *mut c_void) -> c_int {
    // SAFETY: `walk_iomem_res_desc` passes a valid resource and our argument.
    let (res, walk) = unsafe { (&*res, &*arg.cast::<AcpiWalk>()) };
    // SAFETY: the walk's pointers are live for the walk (see `map_acpi`).
    let info = unsafe { &mut *walk.info };
    match map(info, walk.pgd, res.start, res.end.saturating_add(1), "ACPI range") {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// On an EFI boot, the EFI system table and the configuration tables it points
/// at: the new kernel's decompressor reads them while it still runs on our
/// identity map when it has to find the ACPI RSDP itself (the boot parameters
/// do not carry it) or looks for other EFI tables, and they need not be in the
/// kernel's RAM map.
#[cfg(CONFIG_EFI)]
fn map_efi(info: &mut bindings::x86_mapping_info, pgd: *mut bindings::pgd_t) -> Result {
    // SAFETY: boot-time values, fixed after boot.
    let systab = unsafe { sys::kexec_rust_efi_systab() } as u64;
    if systab == 0 {
        return Ok(());
    }
    // SAFETY: as above.
    let size = unsafe { sys::kexec_rust_efi_systab_size() } as u64;
    map(info, pgd, systab, systab + size, "EFI system table")?;
    // SAFETY: the system table is firmware memory that stays in place.
    let kaddr = unsafe { bindings::memremap(systab, size as usize, bindings::MEMREMAP_WB as c_ulong) };
    if kaddr.is_null() {
        pr_err!("kexec: cannot map the EFI system table at {systab:#x} to read its table count\n");
        return Err(ENOMEM);
    }
    // SAFETY: `kaddr` maps the whole system table until the unmap below.
    let tables = unsafe { sys::kexec_rust_efi_nr_tables(kaddr) } as u64;
    // SAFETY: mapped just above.
    unsafe { bindings::memunmap(kaddr) };
    // SAFETY: boot-time values, as above.
    let (start, entry) =
        unsafe { (sys::kexec_rust_efi_config_tables() as u64, sys::kexec_rust_efi_config_table_size() as u64) };
    map(info, pgd, start, start + tables * entry, "EFI configuration tables")
}

#[cfg(not(CONFIG_EFI))]
fn map_efi(_info: &mut bindings::x86_mapping_info, _pgd: *mut bindings::pgd_t) -> Result {
    Ok(())
}

/// The ACPI tables and ACPI non-volatile storage, which the new kernel reads
/// early and which need not be in the kernel's RAM map.
fn map_acpi(info: &mut bindings::x86_mapping_info, pgd: *mut bindings::pgd_t) -> Result {
    let mut walk = AcpiWalk { info, pgd };
    let flags = (bindings::IORESOURCE_MEM | bindings::IORESOURCE_BUSY) as c_ulong;
    for desc in [bindings::IORES_DESC_ACPI_TABLES, bindings::IORES_DESC_ACPI_NV_STORAGE] {
        // SAFETY: `walk` outlives the call; the callback matches the walker.
        let ret = unsafe {
            bindings::walk_iomem_res_desc(
                desc as c_ulong,
                flags,
                0,
                u64::MAX,
                (&raw mut walk).cast(),
                Some(map_acpi_range),
            )
        };
        // EINVAL: no such resource, which is fine.
        if ret != 0 && ret != EINVAL.to_errno() {
            return Err(Error::from_errno(ret));
        }
    }
    Ok(())
}

fn build_identity_map(image: *mut bindings::kimage) -> Result {
    let guest_encrypted =
        // SAFETY: a pure query.
        unsafe { sys::kexec_rust_cc_platform_has(bindings::cc_attr_CC_ATTR_GUEST_MEM_ENCRYPT) };
    // SAFETY: flag values of the running kernel.
    let enc = if guest_encrypted { unsafe { sys::kexec_rust_page_enc() } } else { 0 };
    let mut info = bindings::x86_mapping_info {
        alloc_pgt_page: Some(alloc_table_page),
        context: image.cast(),
        // SAFETY: as above.
        page_flag: unsafe { sys::kexec_rust_ident_page_flag() } | enc,
        // SAFETY: as above.
        kernpg_flag: unsafe { sys::kexec_rust_ident_table_flag() } | enc,
        // SAFETY: set once at boot.
        direct_gbpages: unsafe { bindings::direct_gbpages } != 0,
        ..Default::default()
    };
    // SAFETY: `image` is live and being prepared by us only.
    let pgd = unsafe { alloc_table_page(image.cast()) }.cast::<bindings::pgd_t>();
    if pgd.is_null() {
        pr_err!("kexec: no control page left for the identity map's top-level table\n");
        return Err(ENOMEM);
    }
    // SAFETY: as above.
    unsafe { (*image).arch.pgd = pgd };

    // All RAM the kernel maps: every source, destination and entry page.
    // SAFETY: the direct map's ranges are fixed after boot.
    let ranges = unsafe {
        core::slice::from_raw_parts(
            (&raw const bindings::pfn_mapped).cast::<bindings::range>(),
            bindings::nr_pfn_mapped as usize,
        )
    };
    for r in ranges {
        map(&mut info, pgd, r.start << PAGE_SHIFT, r.end << PAGE_SHIFT, "RAM")?;
    }
    // Destinations may lie outside the RAM this kernel maps (mem= on the
    // first kernel's command line, or a jump back to an older kernel).
    // SAFETY: as above.
    let img = unsafe { &*image };
    for seg in img.segment.iter().take(img.nr_segments as usize) {
        let start = seg.mem as u64;
        map(&mut info, pgd, start, start + seg.memsz as u64, "segment")?;
    }
    map_efi(&mut info, pgd)?;
    map_acpi(&mut info, pgd)?;
    // SAFETY: written once during early boot.
    let uart = unsafe { kexec_debug_8250_mmio32 } as u64;
    if uart != 0 {
        let start = uart & !(PAGE_SIZE as u64 - 1);
        map(&mut info, pgd, start, (uart + PAGE_SIZE as u64 + 23) & !(PAGE_SIZE as u64 - 1), "MMIO UART")?;
    }

    // The control page at its kernel virtual address: the kernel's own
    // top-level entry, which maps it now.
    let va = control_page_va(img) as c_ulong;
    // SAFETY: pure arithmetic on the running kernel's paging mode.
    let slot = unsafe { sys::kexec_rust_pgd_index(va) } as usize;
    // SAFETY: CR3 holds the running kernel's top-level table, a lowmem page.
    let kernel_pgd = unsafe { sys::kexec_rust_boot_phys_to_virt(sys::kexec_rust_read_cr3_pa()) }.cast::<u64>();
    let ours = pgd.cast::<u64>();
    // SAFETY: both are whole table pages and `slot` is below 512.
    unsafe {
        if *ours.add(slot) != 0 {
            pr_err!("kexec: the identity map already uses top-level slot {slot} of the control page's address\n");
            return Err(EINVAL);
        }
        *ours.add(slot) = *kernel_pgd.add(slot);
    }
    Ok(())
}

/// Prepares `image` for [`machine_kexec`]: the identity map and the stub in
/// the control page, which becomes read-only and executable.
#[no_mangle]
pub(crate) extern "C" fn machine_kexec_prepare(image: *mut bindings::kimage) -> c_int {
    if let Err(e) = build_identity_map(image) {
        return e.to_errno();
    }
    // SAFETY: `image` is live; its control code page is ours.
    let control = control_page_va(unsafe { &*image });
    // SAFETY: linker symbols around the stub; its length fits the page (an
    // ASSERT in vmlinux.lds.S keeps it under KEXEC_CONTROL_CODE_MAX_SIZE).
    unsafe {
        let start = __relocate_kernel_start.as_ptr();
        let len = __relocate_kernel_end.as_ptr() as usize - start as usize;
        core::ptr::copy_nonoverlapping(start, control, len);
        // The exception reporter's UART, into the copy (it cannot read the
        // kernel's variables once the kernel's mappings are gone).
        let in_copy = |sym: *const u8| control.add(sym as usize - start as usize);
        in_copy((&raw const kexec_rust_uart_mmio).cast()).cast::<u64>().write_unaligned(kexec_debug_8250_mmio32 as u64);
        in_copy((&raw const kexec_rust_uart_port).cast()).cast::<u16>().write_unaligned(kexec_debug_8250_port);
        bindings::set_memory_rox(control as c_ulong, 1);
    }
    0
}

/// Undoes [`machine_kexec_prepare`]'s page attributes. Also safe after a
/// prepare that failed part way. The table pages are control pages and go
/// with the image.
#[no_mangle]
pub(crate) extern "C" fn machine_kexec_cleanup(image: *mut bindings::kimage) {
    // SAFETY: `image` is live and has its control code page.
    let control = control_page_va(unsafe { &*image }) as c_ulong;
    // SAFETY: the control page is a lowmem page of this image.
    unsafe {
        bindings::set_memory_nx(control, 1);
        bindings::set_memory_rw(control, 1);
    }
}

/// The CR4 bits the stub may leave set for the new image: the paging mode
/// (PAE, and LA57 if it is on: it cannot change with paging enabled), and on
/// TDX guests MCE, which the TDX module does not let a guest clear.
fn cr4_keep(tdx_guest: bool) -> u64 {
    let mut keep = (1u64 << bindings::X86_CR4_PAE_BIT) | (1u64 << bindings::X86_CR4_LA57_BIT);
    if tdx_guest {
        keep |= 1u64 << bindings::X86_CR4_MCE_BIT;
    }
    keep
}

/// Jumps to `image` through the relocate stub. Does not return, except for a
/// preserve-context image, which kexec_rust never loads past `kexec -e`
/// (rust/reboot.rs refuses it) and which is refused here too.
#[no_mangle]
pub(crate) extern "C" fn machine_kexec(image: *mut bindings::kimage) {
    // SAFETY: the caller holds the image for the jump.
    let img = unsafe { &*image };
    if img.preserve_context() != 0 {
        pr_err!("kexec: preserve-context (KEXEC_JUMP) images are not supported by kexec_rust\n");
        return;
    }
    let control = control_page_va(img);
    // SAFETY: `control` is the control page's direct-map address.
    let control_pa = unsafe { sys::kexec_rust_virt_to_phys(control.cast()) };
    // SAFETY: the table page is a control page, in the direct map.
    let pgd_pa = unsafe { sys::kexec_rust_virt_to_phys(img.arch.pgd.cast()) };
    // SAFETY: linker symbols; the stub entry lies inside the copied range.
    let stub = control as usize
        + (kexec_rust_relocate as usize - unsafe { __relocate_kernel_start.as_ptr() } as usize);

    // From here on nothing may fail or allocate: the machine is going down.
    // SAFETY: interrupts off for good; breakpoints and CET off, as the stub
    // runs without the kernel's handlers and clears CR0.WP.
    let (flags, cr4_keep) = unsafe {
        sys::kexec_rust_irq_disable();
        sys::kexec_rust_hw_breakpoint_disable();
        sys::kexec_rust_cet_disable();
        let flags = if sys::kexec_rust_cache_incoherent() { RELOC_CACHE_INCOHERENT } else { 0 };
        (flags, cr4_keep(sys::kexec_rust_tdx_guest()))
    };
    // SAFETY: `stub` is the stub's copy in the control page, executable since
    // prepare; its arguments follow the contract at the top of
    // relocate_kernel.S, and it never returns.
    unsafe {
        core::arch::asm!(
            "call {stub}",
            stub = in(reg) stub,
            in("rdi") img.head,
            in("rsi") control_pa,
            in("rdx") img.start as u64,
            in("rcx") pgd_pa,
            in("r8") flags,
            in("r9") cr4_keep,
            options(noreturn),
        )
    }
}

/// Pages handed to an image must be unencrypted when the host encrypts memory
/// (SME): the new kernel starts by reading them without encryption.
#[no_mangle]
pub(crate) extern "C" fn arch_kexec_post_alloc_pages(vaddr: *mut c_void, pages: c_uint, _gfp: bindings::gfp_t) -> c_int {
    // SAFETY: a pure query.
    if !unsafe { sys::kexec_rust_cc_platform_has(bindings::cc_attr_CC_ATTR_HOST_MEM_ENCRYPT) } {
        return 0;
    }
    // SAFETY: `vaddr` is the direct-map address of `pages` pages just allocated.
    unsafe { bindings::set_memory_decrypted(vaddr as c_ulong, pages as c_int) }
}

/// Undoes [`arch_kexec_post_alloc_pages`] before the pages are freed.
#[no_mangle]
pub(crate) extern "C" fn arch_kexec_pre_free_pages(vaddr: *mut c_void, pages: c_uint) {
    // SAFETY: a pure query.
    if !unsafe { sys::kexec_rust_cc_platform_has(bindings::cc_attr_CC_ATTR_HOST_MEM_ENCRYPT) } {
        return;
    }
    // SAFETY: as above, before the pages go back to the allocator.
    unsafe { bindings::set_memory_encrypted(vaddr as c_ulong, pages as c_int) };
}

#[cfg(CONFIG_CRASH_DUMP)]
fn mark_range(start: u64, end: u64, protect: bool) {
    // An unassigned reservation has end 0.
    if end == 0 || start > end {
        return;
    }
    let pages = ((end >> PAGE_SHIFT) - (start >> PAGE_SHIFT) + 1) as c_int;
    // SAFETY: the crash reservation is lowmem RAM with struct pages.
    unsafe {
        let page = sys::kexec_rust_boot_pfn_to_page((start >> PAGE_SHIFT) as c_ulong);
        if protect {
            bindings::set_pages_ro(page, pages);
        } else {
            bindings::set_pages_rw(page, pages);
        }
    }
}

#[cfg(CONFIG_CRASH_DUMP)]
fn mark_crash_reservation(protect: bool) {
    // SAFETY: the reservation is fixed while a crash image is loaded, and
    // the caller holds the kexec lock with the crash image in place.
    unsafe {
        let low = &*(&raw const bindings::crashk_low_res);
        mark_range(low.start, low.end, protect);
        let res = &*(&raw const bindings::crashk_res);
        let image = crate::state::kexec_crash_image.load(kernel::sync::atomic::ordering::Relaxed);
        if image.is_null() {
            mark_range(res.start, res.end, protect);
            return;
        }
        // The control page stays writable: the panic path writes the stub's
        // stack in it.
        let control = (sys::kexec_rust_page_to_boot_pfn((*image).control_code_page) as u64) << PAGE_SHIFT;
        mark_range(res.start, control.wrapping_sub(1), protect);
        mark_range(control + PAGE_SIZE as u64, res.end, protect);
    }
}

/// Makes the crash reservation read-only while a crash image is loaded, so
/// that a stray write cannot corrupt the capture kernel.
#[cfg(CONFIG_CRASH_DUMP)]
#[no_mangle]
pub(crate) extern "C" fn arch_kexec_protect_crashkres() {
    mark_crash_reservation(true);
}

/// Makes the crash reservation writable again (to load or unload).
#[cfg(CONFIG_CRASH_DUMP)]
#[no_mangle]
pub(crate) extern "C" fn arch_kexec_unprotect_crashkres() {
    mark_crash_reservation(false);
}

/// The kexec_file_load image loaders: the bzImage loader, then the end mark.
#[cfg(CONFIG_KEXEC_FILE)]
#[repr(transparent)]
pub(crate) struct Loaders([*const bindings::kexec_file_ops; 2]);

// SAFETY: the table is read-only and points at read-only statics.
#[cfg(CONFIG_KEXEC_FILE)]
unsafe impl Sync for Loaders {}

/// `kexec_file_loaders[]`, read by kernel/kexec_file.c.
#[cfg(CONFIG_KEXEC_FILE)]
#[no_mangle]
pub(crate) static kexec_file_loaders: Loaders = Loaders([&raw const kexec_bzImage64_ops, core::ptr::null()]);

/// Frees the elfcorehdr of a crash image, then what kexec_file.c allocated.
#[cfg(CONFIG_KEXEC_FILE)]
#[no_mangle]
pub(crate) extern "C" fn arch_kimage_file_post_load_cleanup(image: *mut bindings::kimage) -> c_int {
    // SAFETY: kexec_file.c calls this with its image under the kexec lock.
    unsafe {
        bindings::vfree((*image).elf_headers);
        (*image).elf_headers = core::ptr::null_mut();
        (*image).elf_headers_sz = 0;
        bindings::kexec_image_post_load_cleanup_default(image)
    }
}

/// A table of `count` `T`s at `offset` in the purgatory object, or `None` if
/// it is not inside the object.
#[cfg(CONFIG_KEXEC_FILE)]
fn table<'a, T>(object: &'a [u8], offset: u64, size: u64) -> Option<&'a [T]> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(size).ok()?;
    let bytes = object.get(start..start.checked_add(len)?)?;
    if bytes.as_ptr() as usize % core::mem::align_of::<T>() != 0 {
        return None;
    }
    // SAFETY: in bounds and aligned; the ELF structs are plain old data.
    Some(unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast(), len / core::mem::size_of::<T>()) })
}

/// The NUL-terminated name at `offset` of a string table, for messages.
#[cfg(CONFIG_KEXEC_FILE)]
fn name_at(object: &[u8], strtab: u64, offset: u32) -> &str {
    let start = (strtab as usize).saturating_add(offset as usize);
    let bytes = object.get(start..).unwrap_or(&[]);
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len().min(64));
    core::str::from_utf8(&bytes[..end]).unwrap_or("?")
}

/// Applies the RELA section `relsec` to `section` of purgatory (see
/// `purgatory.rs`). Refusals are `ENOEXEC`, logged with the rule and symbol.
#[cfg(CONFIG_KEXEC_FILE)]
#[no_mangle]
pub(crate) extern "C" fn arch_kexec_apply_relocations_add(
    pi: *mut bindings::purgatory_info,
    section: *mut bindings::Elf64_Shdr,
    relsec: *const bindings::Elf64_Shdr,
    symtabsec: *const bindings::Elf64_Shdr,
) -> c_int {
    // SAFETY: kexec_file.c passes the purgatory being set up: the object
    // built into the kernel, its working section headers (`shnum` of them)
    // and the buffer its allocated sections were laid out in.
    let (pi, section, relsec, symtabsec) = unsafe { (&*pi, &*section, &*relsec, &*symtabsec) };
    // SAFETY: as above; the object is `kexec_purgatory_size` bytes.
    let object = unsafe { core::slice::from_raw_parts(pi.ehdr.cast::<u8>(), kexec_purgatory_size) };
    // SAFETY: as above.
    let ehdr = unsafe { &*pi.ehdr };
    let shnum = ehdr.e_shnum;
    // SAFETY: as above: the working copy of the section headers.
    let sechdrs = unsafe { core::slice::from_raw_parts(pi.sechdrs, shnum as usize) };
    let enoexec = ENOEXEC.to_errno();

    if section.sh_type == bindings::SHT_NOBITS {
        pr_err!("kexec: purgatory relocations aimed at a section without data\n");
        return enoexec;
    }
    let (Some(relas), Some(syms)) = (
        table::<bindings::Elf64_Rela>(object, relsec.sh_offset, relsec.sh_size),
        table::<bindings::Elf64_Sym>(object, symtabsec.sh_offset, symtabsec.sh_size),
    ) else {
        pr_err!("kexec: purgatory's relocation or symbol table lies outside the object\n");
        return enoexec;
    };
    // The string table is not allocated: its working header keeps the
    // object's offset.
    let strtab = sechdrs.get(symtabsec.sh_link as usize).map_or(u64::MAX, |s| s.sh_offset);
    // SAFETY: the section's bytes in the buffer: sh_offset and sh_size were
    // set by kexec_file.c when it laid the buffer out.
    let bytes = unsafe {
        core::slice::from_raw_parts_mut(
            pi.purgatory_buf.cast::<u8>().add(section.sh_offset as usize),
            section.sh_size as usize,
        )
    };
    let section_addr_of = |i: u16| sechdrs.get(i as usize).map(|s| s.sh_addr);
    for r in relas {
        let rela = purgatory::Rela { offset: r.r_offset, info: r.r_info, addend: r.r_addend };
        let Some(sym) = syms.get(rela.sym() as usize) else {
            pr_err!("kexec: purgatory relocation names symbol {} of {}\n", rela.sym(), syms.len());
            return enoexec;
        };
        let symbol = purgatory::Symbol { shndx: sym.st_shndx, value: sym.st_value };
        if let Err(e) = purgatory::apply(bytes, section.sh_addr, &rela, symbol, section_addr_of) {
            pr_err!("kexec: purgatory relocation for {} refused: {}\n", name_at(object, strtab, sym.st_name), format_args!("{e}"));
            return enoexec;
        }
    }
    0
}

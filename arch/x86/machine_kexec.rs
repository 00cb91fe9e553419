// SPDX-License-Identifier: GPL-2.0

//! The x86_64 arch side of kexec (`CONFIG_KEXEC_RUST_RELOCATE`), in place of
//! arch/x86/kernel/machine_kexec_64.c.
//!
//! * [`prepare`] (`machine_kexec_prepare`) builds the identity-mapped page
//!   table the relocate stub (`relocate_kernel.S`, next to this file) runs on,
//!   and puts the stub into the image's control page.
//! * [`jump`] (`machine_kexec`) hands the stub the entry list and jumps; it
//!   does not return. Both `kexec -e` (rust/kexec/reboot.rs) and a panic
//!   (rust/crash/panic.rs) end here.
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
//!
//! The functions C calls are in `ffi.rs`, next to this file.

use crate::kexec::image::Kimage;
use crate::kexec::page;
use crate::kexec::state::{kexec_crash_image, KexecLock};
#[cfg(CONFIG_KEXEC_FILE)]
use crate::purgatory;
use kernel::bindings;
use kernel::prelude::*;

#[path = "ffi.rs"]
mod ffi;

const PAGE_SIZE: u64 = page::PAGE_SIZE as u64;
const PAGE_SHIFT: u32 = page::PAGE_SHIFT;

/// `RELOC_KERNEL_CACHE_INCOHERENT` of asm/kexec.h: the stub's WBINVD flag.
const RELOC_CACHE_INCOHERENT: u64 = 1 << 1;

/// The stub's code as linked into the kernel (`__relocate_kernel_start` to
/// `__relocate_kernel_end`), and where in it the entry point and the
/// exception reporter's UART variables are.
struct Stub {
    start: usize,
    len: usize,
    entry: usize,
    uart_mmio: usize,
    uart_port: usize,
}

impl Stub {
    fn get() -> Stub {
        // SAFETY: addresses of linker symbols around and inside the stub.
        let (start, end, entry, uart_mmio, uart_port) = unsafe {
            (
                bindings::kexec_rust_stub_start(),
                bindings::kexec_rust_stub_end(),
                bindings::kexec_rust_stub_entry(),
                bindings::kexec_rust_stub_uart_mmio(),
                bindings::kexec_rust_stub_uart_port(),
            )
        };
        let at = |sym: c_ulong| (sym - start) as usize;
        Stub {
            start: start as usize,
            len: (end - start) as usize,
            entry: at(entry),
            uart_mmio: at(uart_mmio),
            uart_port: at(uart_port),
        }
    }
}

/// The control code page's direct-map address.
fn control_page_va(image: &Kimage) -> usize {
    // SAFETY: an image that reaches the arch hooks has its control code page, a
    // valid `struct page` the image owns.
    unsafe { page::address_of(image.c().control_code_page) }
}

/// The control code page's physical address.
fn control_page_pa(image: &Kimage) -> u64 {
    page::virt_to_boot_phys(control_page_va(image))
}

/// A zeroed page from the image's control pages, so that no page table can be
/// overwritten by the copy (`x86_mapping_info::alloc_pgt_page`).
fn alloc_table_page(image: &mut Kimage) -> Option<usize> {
    let control = image.alloc_control_pages(0).ok()?;
    let va = control.virt();
    // SAFETY: a whole page of lowmem that the image owns and nothing uses yet.
    unsafe { core::ptr::write_bytes(va as *mut u8, 0, PAGE_SIZE as usize) };
    Some(va)
}

/// The identity map under construction: the kernel's ident-mapping library
/// state and the top-level table. The library allocates its tables from the
/// image (through `ffi::alloc_table_page`), so the map borrows the image
/// mutably for as long as it lives.
struct IdentMap<'a> {
    info: bindings::x86_mapping_info,
    pgd: *mut bindings::pgd_t,
    _image: core::marker::PhantomData<&'a mut Kimage>,
}

impl<'a> IdentMap<'a> {
    fn new(
        image: &'a mut Kimage,
        pgd: *mut bindings::pgd_t,
        page_flag: c_ulong,
        kernpg_flag: c_ulong,
        direct_gbpages: bool,
    ) -> Self {
        IdentMap {
            info: bindings::x86_mapping_info {
                alloc_pgt_page: Some(ffi::alloc_table_page),
                context: image.as_ptr().cast(),
                page_flag,
                kernpg_flag,
                direct_gbpages,
                ..Default::default()
            },
            pgd,
            _image: core::marker::PhantomData,
        }
    }

    /// Identity-maps physical `[start, end)`.
    fn map(&mut self, start: u64, end: u64, what: &str) -> Result {
        // SAFETY: `pgd` is the image's table page; `info` allocates further
        // tables from the image's control pages (its context is the image,
        // borrowed mutably for the map's lifetime).
        let ret = unsafe {
            bindings::kernel_ident_mapping_init(
                &mut self.info,
                self.pgd,
                start as c_ulong,
                end as c_ulong,
            )
        };
        if ret != 0 {
            pr_err!("kexec: cannot identity-map {what} {start:#x}-{end:#x} ({ret})\n");
            return Err(Error::from_errno(ret));
        }
        Ok(())
    }
}

/// On an EFI boot, the EFI system table and the configuration tables it points
/// at: the new kernel's decompressor reads them while it still runs on our
/// identity map when it has to find the ACPI RSDP itself (the boot parameters
/// do not carry it) or looks for other EFI tables, and they need not be in the
/// kernel's RAM map.
#[cfg(CONFIG_EFI)]
fn map_efi(map: &mut IdentMap<'_>) -> Result {
    // SAFETY: boot-time values, fixed after boot.
    let (systab, size, start, entry) = unsafe {
        (
            bindings::kexec_rust_efi_systab() as u64,
            bindings::kexec_rust_efi_systab_size() as u64,
            bindings::kexec_rust_efi_config_tables() as u64,
            bindings::kexec_rust_efi_config_table_size() as u64,
        )
    };
    if systab == 0 {
        return Ok(());
    }
    map.map(systab, systab + size, "EFI system table")?;
    // SAFETY: the system table is firmware memory that stays in place.
    let kaddr =
        unsafe { bindings::memremap(systab, size as usize, bindings::MEMREMAP_WB as c_ulong) };
    if kaddr.is_null() {
        pr_err!("kexec: cannot map the EFI system table at {systab:#x} to read its table count\n");
        return Err(ENOMEM);
    }
    // SAFETY: `kaddr` maps the whole system table until the unmap below.
    let tables = unsafe { bindings::kexec_rust_efi_nr_tables(kaddr) } as u64;
    // SAFETY: mapped just above.
    unsafe { bindings::memunmap(kaddr) };
    map.map(start, start + tables * entry, "EFI configuration tables")
}

#[cfg(not(CONFIG_EFI))]
fn map_efi(_map: &mut IdentMap<'_>) -> Result {
    Ok(())
}

/// The ACPI tables and ACPI non-volatile storage, which the new kernel reads
/// early and which need not be in the kernel's RAM map.
fn map_acpi(map: &mut IdentMap<'_>) -> Result {
    let flags = (bindings::IORESOURCE_MEM | bindings::IORESOURCE_BUSY) as c_ulong;
    for desc in [
        bindings::IORES_DESC_ACPI_TABLES,
        bindings::IORES_DESC_ACPI_NV_STORAGE,
    ] {
        ffi::walk_iomem(desc as c_ulong, flags, |start, end| {
            map.map(start, end, "ACPI range")
        })?;
    }
    Ok(())
}

fn build_identity_map(image: &mut Kimage) -> Result {
    // SAFETY: queries and flag values of the running kernel, fixed after boot.
    let (guest_encrypted, page_enc, page_flag, kernpg_flag, direct_gbpages, cr3) = unsafe {
        (
            bindings::kexec_rust_cc_platform_has(bindings::cc_attr_CC_ATTR_GUEST_MEM_ENCRYPT),
            bindings::kexec_rust_page_enc(),
            bindings::kexec_rust_ident_page_flag(),
            bindings::kexec_rust_ident_table_flag(),
            bindings::direct_gbpages != 0,
            bindings::kexec_rust_read_cr3_pa() as u64,
        )
    };
    let enc = if guest_encrypted { page_enc } else { 0 };
    let pgd = alloc_table_page(image).ok_or_else(|| {
        pr_err!("kexec: no control page left for the identity map's top-level table\n");
        ENOMEM
    })? as *mut bindings::pgd_t;
    image.c_mut().arch.pgd = pgd;
    let segments = image.segments();
    let control_va = control_page_va(image);
    let mut map = IdentMap::new(
        image,
        pgd,
        page_flag | enc,
        kernpg_flag | enc,
        direct_gbpages,
    );

    // All RAM the kernel maps: every source, destination and entry page.
    // SAFETY: the direct map's ranges are fixed after boot.
    let ranges = unsafe {
        core::slice::from_raw_parts(
            (&raw const bindings::pfn_mapped).cast::<bindings::range>(),
            bindings::nr_pfn_mapped as usize,
        )
    };
    for r in ranges {
        map.map(r.start << PAGE_SHIFT, r.end << PAGE_SHIFT, "RAM")?;
    }
    // Destinations may lie outside the RAM this kernel maps (mem= on the
    // first kernel's command line, or a jump back to an older kernel).
    for seg in segments.as_slice() {
        map.map(seg.mem, seg.mem + seg.memsz, "segment")?;
    }
    map_efi(&mut map)?;
    map_acpi(&mut map)?;
    // SAFETY: written once during early boot.
    let uart = unsafe { bindings::kexec_debug_8250_mmio32 } as u64;
    if uart != 0 {
        let start = uart & !(PAGE_SIZE - 1);
        map.map(
            start,
            (uart + PAGE_SIZE + 23) & !(PAGE_SIZE - 1),
            "MMIO UART",
        )?;
    }

    // The control page at its kernel virtual address: the kernel's own
    // top-level entry, which maps it now.
    // SAFETY: pure arithmetic on the running kernel's paging mode.
    let slot = unsafe { bindings::kexec_rust_pgd_index(control_va as c_ulong) } as usize;
    // CR3 holds the running kernel's top-level table, a lowmem page.
    let kernel_pgd = page::boot_phys_to_virt(cr3) as *const u64;
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

/// Prepares `image` for [`jump`]: the identity map and the stub in the
/// control page, which becomes read-only and executable.
fn prepare(image: &mut Kimage) -> Result {
    build_identity_map(image)?;
    let control = control_page_va(image);
    let stub = Stub::get();
    // SAFETY: the stub's bytes (linker symbols around it; an ASSERT in
    // vmlinux.lds.S keeps it under KEXEC_CONTROL_CODE_MAX_SIZE) into the
    // control page, which the image owns.
    unsafe {
        core::ptr::copy_nonoverlapping(stub.start as *const u8, control as *mut u8, stub.len)
    };
    // The exception reporter's UART, into the copy: it cannot read the
    // kernel's variables once the kernel's mappings are gone.
    // SAFETY: written once during early boot.
    let (mmio, port) = unsafe {
        (
            bindings::kexec_debug_8250_mmio32 as u64,
            bindings::kexec_debug_8250_port,
        )
    };
    // SAFETY: both variables lie inside the copy, which is ours.
    unsafe {
        ((control + stub.uart_mmio) as *mut u64).write_unaligned(mmio);
        ((control + stub.uart_port) as *mut u16).write_unaligned(port);
        bindings::set_memory_rox(control as c_ulong, 1);
    }
    Ok(())
}

/// Undoes [`prepare`]'s page attributes; also after a prepare that failed
/// part way. The table pages are control pages and go with the image.
fn cleanup(image: &Kimage) {
    let control = control_page_va(image) as c_ulong;
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

/// Jumps to `image` through the relocate stub; does not return, except for a
/// preserve-context image, which kexec_rust never loads past `kexec -e`
/// (reboot.rs refuses it) and which is refused here too.
fn jump(image: &Kimage) {
    if image.c().preserve_context() != 0 {
        pr_err!("kexec: preserve-context (KEXEC_JUMP) images are not supported by kexec_rust\n");
        return;
    }
    let control = control_page_va(image);
    let control_pa = control_page_pa(image);
    let pgd_pa = page::virt_to_boot_phys(image.c().arch.pgd as usize);
    let stub = control + Stub::get().entry;
    let (head, start) = (image.c().head, image.c().start as u64);

    // From here on nothing may fail or allocate: the machine is going down.
    // SAFETY: interrupts off for good; breakpoints and CET off, as the stub
    // runs without the kernel's handlers and clears CR0.WP.
    let (flags, cr4_keep) = unsafe {
        bindings::kexec_rust_irq_disable();
        bindings::kexec_rust_hw_breakpoint_disable();
        bindings::kexec_rust_cet_disable();
        let flags = if bindings::kexec_rust_cache_incoherent() {
            RELOC_CACHE_INCOHERENT
        } else {
            0
        };
        (flags, cr4_keep(bindings::kexec_rust_tdx_guest()))
    };
    // SAFETY: `stub` is the stub's copy in the control page, executable since
    // prepare; its arguments follow the contract at the top of
    // relocate_kernel.S, and it never returns.
    //
    // The call is indirect; it is annotated for objtool as safe without a
    // retpoline (ANNOTATE_RETPOLINE_SAFE, <linux/annotate.h>): the other CPUs
    // are stopped and interrupts are off, and the stub never returns.
    unsafe {
        core::arch::asm!(
            "911:",
            ".pushsection .discard.annotate_insn, \"M\", @progbits, 8",
            ".long 911b - ., 2",
            ".popsection",
            "call {stub}",
            stub = in(reg) stub,
            in("rdi") head,
            in("rsi") control_pa,
            in("rdx") start,
            in("rcx") pgd_pa,
            in("r8") flags,
            in("r9") cr4_keep,
            options(noreturn),
        )
    }
}

/// Whether the host encrypts memory (SME): pages handed to an image must then
/// be unencrypted, as the new kernel starts by reading them without encryption.
fn host_encrypts() -> bool {
    // SAFETY: a pure query.
    unsafe { bindings::kexec_rust_cc_platform_has(bindings::cc_attr_CC_ATTR_HOST_MEM_ENCRYPT) }
}

#[cfg(CONFIG_CRASH_DUMP)]
fn mark_range(start: u64, end: u64, protect: bool) {
    // An unassigned reservation has end 0.
    if end == 0 || start > end {
        return;
    }
    let pages = ((end >> PAGE_SHIFT) - (start >> PAGE_SHIFT) + 1) as c_int;
    let va = page::boot_phys_to_virt(start) as c_ulong;
    // SAFETY: the crash reservation is lowmem RAM in the direct map.
    unsafe {
        if protect {
            bindings::set_memory_ro(va, pages);
        } else {
            bindings::set_memory_rw(va, pages);
        }
    }
}

/// Makes the crash reservation read-only (`protect`) or writable again. The
/// crash image's control page stays writable: the panic path writes the
/// stub's stack in it.
#[cfg(CONFIG_CRASH_DUMP)]
fn mark_crash_reservation(protect: bool, lock: &mut KexecLock) {
    let (low_start, low_end) = crate::kexec::reservation::low_window_unlocked();
    mark_range(low_start, low_end, protect);
    let (start, end) = crate::kexec::reservation::window(lock);
    let control = kexec_crash_image
        .get(lock)
        .map(|image| control_page_pa(image));
    match control {
        None => mark_range(start, end, protect),
        Some(control) => {
            mark_range(start, control.wrapping_sub(1), protect);
            mark_range(control + PAGE_SIZE, end, protect);
        }
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
    Some(unsafe {
        core::slice::from_raw_parts(bytes.as_ptr().cast(), len / core::mem::size_of::<T>())
    })
}

/// The NUL-terminated name at `offset` of a string table, for messages.
#[cfg(CONFIG_KEXEC_FILE)]
fn name_at(object: &[u8], strtab: u64, offset: u32) -> &str {
    let start = (strtab as usize).saturating_add(offset as usize);
    let bytes = object.get(start..).unwrap_or(&[]);
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(bytes.len().min(64));
    core::str::from_utf8(&bytes[..end]).unwrap_or("?")
}

/// The purgatory object being set up by kexec_file.c, as slices.
#[cfg(CONFIG_KEXEC_FILE)]
pub(crate) struct Purgatory<'a> {
    /// The object built into the kernel.
    pub(crate) object: &'a [u8],
    /// The working copy of its section headers.
    pub(crate) sechdrs: &'a [bindings::Elf64_Shdr],
}

/// Applies the RELA section `relsec` to `section` of purgatory, whose bytes in
/// the load buffer are `bytes` (see `purgatory.rs`). Refusals are `ENOEXEC`,
/// logged with the rule and symbol.
#[cfg(CONFIG_KEXEC_FILE)]
pub(crate) fn apply_relocations(
    p: &Purgatory<'_>,
    section: &bindings::Elf64_Shdr,
    bytes: &mut [u8],
    relsec: &bindings::Elf64_Shdr,
    symtabsec: &bindings::Elf64_Shdr,
) -> Result {
    let object = p.object;
    let (Some(relas), Some(syms)) = (
        table::<bindings::Elf64_Rela>(object, relsec.sh_offset, relsec.sh_size),
        table::<bindings::Elf64_Sym>(object, symtabsec.sh_offset, symtabsec.sh_size),
    ) else {
        pr_err!("kexec: purgatory's relocation or symbol table lies outside the object\n");
        return Err(ENOEXEC);
    };
    // The string table is not allocated: its working header keeps the
    // object's offset.
    let strtab = p
        .sechdrs
        .get(symtabsec.sh_link as usize)
        .map_or(u64::MAX, |s| s.sh_offset);
    let section_addr_of = |i: u16| p.sechdrs.get(i as usize).map(|s| s.sh_addr);
    for r in relas {
        let rela = purgatory::Rela {
            offset: r.r_offset,
            info: r.r_info,
            addend: r.r_addend,
        };
        let Some(sym) = syms.get(rela.sym() as usize) else {
            pr_err!(
                "kexec: purgatory relocation names symbol {} of {}\n",
                rela.sym(),
                syms.len()
            );
            return Err(ENOEXEC);
        };
        let symbol = purgatory::Symbol {
            shndx: sym.st_shndx,
            value: sym.st_value,
        };
        if let Err(e) = purgatory::apply(bytes, section.sh_addr, &rela, symbol, section_addr_of) {
            pr_err!(
                "kexec: purgatory relocation for {} refused: {}\n",
                name_at(object, strtab, sym.st_name),
                format_args!("{e}")
            );
            return Err(ENOEXEC);
        }
    }
    Ok(())
}

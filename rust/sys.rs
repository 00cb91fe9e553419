// SPDX-License-Identifier: GPL-2.0

//! C functions that the bindings do not carry: the one-line wrappers of
//! `helpers.c` around static inline functions and macros, and the few kernel
//! functions declared only in `kernel/kexec_internal.h`.
//!
//! Every function here is unsafe to call; the modules that use them state why
//! each call is sound.

use kernel::bindings;
use kernel::ffi::{c_int, c_uint, c_ulong, c_void};

// `struct page` and `struct kimage` end in zero-sized arrays that bindgen
// renders as field-less structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    // Limits of the machine (macros in asm/kexec.h).
    pub(crate) fn kexec_rust_destination_limit() -> c_ulong;
    pub(crate) fn kexec_rust_source_limit() -> c_ulong;
    pub(crate) fn kexec_rust_control_limit() -> c_ulong;
    pub(crate) fn kexec_rust_crash_control_limit() -> c_ulong;
    pub(crate) fn kexec_rust_control_gfp() -> bindings::gfp_t;
    pub(crate) fn kexec_rust_source_gfp() -> bindings::gfp_t;
    pub(crate) fn kexec_rust_totalram_pages() -> c_ulong;

    // Pages and physical addresses.
    pub(crate) fn kexec_rust_boot_pfn_to_page(pfn: c_ulong) -> *mut bindings::page;
    pub(crate) fn kexec_rust_page_to_boot_pfn(page: *mut bindings::page) -> c_ulong;
    pub(crate) fn kexec_rust_page_address(page: *mut bindings::page) -> *mut c_void;
    pub(crate) fn kexec_rust_boot_phys_to_virt(phys: c_ulong) -> *mut c_void;
    pub(crate) fn kexec_rust_virt_to_boot_phys(addr: *mut c_void) -> c_ulong;
    pub(crate) fn kexec_rust_virt_to_phys(addr: *mut c_void) -> u64;
    pub(crate) fn kexec_rust_set_page_reserved(page: *mut bindings::page);
    pub(crate) fn kexec_rust_reserved_ram_at(phys: c_ulong) -> bool;
    pub(crate) fn kexec_rust_clear_page_reserved(page: *mut bindings::page);
    pub(crate) fn kexec_rust_set_page_order(page: *mut bindings::page, order: c_uint);
    pub(crate) fn kexec_rust_page_order(page: *mut bindings::page) -> c_uint;
    pub(crate) fn kexec_rust_copy_highpage(to: *mut bindings::page, from: *mut bindings::page);
    pub(crate) fn kexec_rust_clear_highpage(page: *mut bindings::page);
    pub(crate) fn kexec_rust_flush_icache_page(page: *mut bindings::page);
    pub(crate) fn kexec_rust_accept_memory(start: bindings::phys_addr_t, size: c_ulong);
    pub(crate) fn kexec_rust_dma_release_from_contiguous(pages: *mut bindings::page, count: c_int);
    pub(crate) fn kexec_rust_vmap_pages(pages: *mut *mut bindings::page, count: c_uint) -> *mut c_void;

    // Lists of pages linked through `page->lru`.
    pub(crate) fn kexec_rust_page_list_add(page: *mut bindings::page, head: *mut bindings::list_head);
    pub(crate) fn kexec_rust_page_list_del(page: *mut bindings::page);
    pub(crate) fn kexec_rust_page_lru_offset() -> c_ulong;
    pub(crate) fn kexec_rust_page_list_first(head: *mut bindings::list_head) -> *mut bindings::page;

    // The task and the reboot path.
    pub(crate) fn kexec_rust_fatal_signal_pending() -> bool;
    pub(crate) fn kexec_rust_cond_resched();
    pub(crate) fn kexec_rust_liveupdate_reboot() -> c_int;
    pub(crate) fn kexec_rust_kmsg_dump_shutdown();

    // kernel/kexec_internal.h (kernel/kexec_file.c).
    #[cfg(CONFIG_KEXEC_FILE)]
    pub(crate) fn kimage_file_post_load_cleanup(image: *mut bindings::kimage);
}

// kdump: helpers.c's wrappers under CONFIG_KEXEC_RUST_CRASH, and the memblock and
// kallsyms declarations that the bindings lack.
#[cfg(CONFIG_KEXEC_RUST_CRASH)]
#[allow(improper_ctypes)]
extern "C" {
    // helpers.c.
    pub(crate) fn kexec_rust_crash_align() -> u64;
    pub(crate) fn kexec_rust_crash_addr_low_max() -> u64;
    pub(crate) fn kexec_rust_crash_addr_high_max() -> u64;
    pub(crate) fn kexec_rust_crash_low_size_default() -> u64;
    pub(crate) fn kexec_rust_kmemleak_ignore_phys(phys: bindings::phys_addr_t);
    pub(crate) fn kexec_rust_crash_free_reserved_phys_range(begin: c_ulong, end: c_ulong);
    pub(crate) fn kexec_rust_crash_mem_align() -> c_ulong;
    pub(crate) fn kexec_rust_in_interrupt() -> bool;
    pub(crate) fn kexec_rust_task_is_global_init(p: *mut bindings::task_struct) -> bool;
    pub(crate) fn kexec_rust_task_pid(p: *mut bindings::task_struct) -> c_int;
    pub(crate) fn kexec_rust_current_pid() -> c_int;
    pub(crate) fn kexec_rust_crash_setup_regs(out: *mut bindings::pt_regs, regs: *mut bindings::pt_regs);
    pub(crate) fn kexec_rust_elf_core_copy_regs(out: *mut bindings::elf_gregset_t, regs: *mut bindings::pt_regs);
    pub(crate) fn kexec_rust_alloc_percpu_notes(size: usize, align: usize) -> *mut bindings::note_buf_t;
    pub(crate) fn kexec_rust_crash_note_buf(notes: *mut bindings::note_buf_t, cpu: c_uint) -> *mut c_void;
    pub(crate) fn kexec_rust_crash_note_phys(notes: *mut bindings::note_buf_t, cpu: c_uint) -> u64;
    pub(crate) fn kexec_rust_next_possible_cpu(cpu: c_int) -> c_uint;
    pub(crate) fn kexec_rust_kernel_text_start() -> c_ulong;
    pub(crate) fn kexec_rust_kernel_image_size() -> c_ulong;
    pub(crate) fn kexec_rust_kernel_text_phys() -> u64;
    pub(crate) fn kexec_rust_direct_map_base() -> c_ulong;
    pub(crate) fn kexec_rust_kvzalloc(size: usize) -> *mut c_void;
    pub(crate) fn kexec_rust_vzalloc(size: c_ulong) -> *mut c_void;
    pub(crate) fn kexec_rust_alloc_zeroed_exact(size: usize) -> *mut c_void;
    pub(crate) fn kexec_rust_os_release() -> *const u8;
    pub(crate) fn kexec_rust_uts_namespace_name_offset() -> c_ulong;
    pub(crate) fn kexec_rust_node_online_map_addr() -> c_ulong;
    pub(crate) fn kexec_rust_swapper_pg_dir_addr() -> c_ulong;
    pub(crate) fn kexec_rust_vmalloc_start() -> c_ulong;
    pub(crate) fn kexec_rust_vmemmap_addr() -> c_ulong;
    pub(crate) fn kexec_rust_nr_section_roots() -> c_ulong;
    pub(crate) fn kexec_rust_max_physmem_bits() -> core::ffi::c_long;

    // include/linux/memblock.h, which the bindings do not include.
    pub(crate) fn memblock_phys_alloc_range(
        size: bindings::phys_addr_t,
        align: bindings::phys_addr_t,
        start: bindings::phys_addr_t,
        end: bindings::phys_addr_t,
    ) -> bindings::phys_addr_t;
    pub(crate) fn memblock_phys_free(base: bindings::phys_addr_t, size: bindings::phys_addr_t) -> c_int;

    // kernel/kallsyms_internal.h: the tables that VMCOREINFO points at.
    pub(crate) static kallsyms_names: [u8; 0];
    pub(crate) static kallsyms_num_syms: c_uint;
    pub(crate) static kallsyms_token_table: [u8; 0];
    pub(crate) static kallsyms_token_index: [u16; 0];
    pub(crate) static kallsyms_offsets: [c_int; 0];
}

// helpers.c, for the x86 machine_kexec hooks (arch/x86/machine_kexec.rs).
#[cfg(CONFIG_KEXEC_RUST_RELOCATE)]
extern "C" {
    pub(crate) fn kexec_rust_irq_disable();
    pub(crate) fn kexec_rust_hw_breakpoint_disable();
    pub(crate) fn kexec_rust_cet_disable();
    pub(crate) fn kexec_rust_cache_incoherent() -> bool;
    pub(crate) fn kexec_rust_tdx_guest() -> bool;
    pub(crate) fn kexec_rust_cc_platform_has(attr: bindings::cc_attr) -> bool;
    pub(crate) fn kexec_rust_ident_page_flag() -> c_ulong;
    pub(crate) fn kexec_rust_ident_table_flag() -> c_ulong;
    pub(crate) fn kexec_rust_page_enc() -> c_ulong;
    pub(crate) fn kexec_rust_pgd_index(va: c_ulong) -> c_ulong;
    pub(crate) fn kexec_rust_read_cr3_pa() -> c_ulong;
}

// helpers.c: the EFI tables for the identity map.
#[cfg(all(CONFIG_KEXEC_RUST_RELOCATE, CONFIG_EFI))]
extern "C" {
    pub(crate) fn kexec_rust_efi_systab() -> c_ulong;
    pub(crate) fn kexec_rust_efi_systab_size() -> c_ulong;
    pub(crate) fn kexec_rust_efi_nr_tables(systab: *const c_void) -> c_ulong;
    pub(crate) fn kexec_rust_efi_config_tables() -> c_ulong;
    pub(crate) fn kexec_rust_efi_config_table_size() -> c_ulong;
}

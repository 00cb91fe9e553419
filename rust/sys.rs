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

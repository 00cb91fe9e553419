// SPDX-License-Identifier: GPL-2.0

//! The running kernel's VMCOREINFO (replaces kernel/vmcore_info.c).
//!
//! At boot [`init`] fills a page with the `KEY=VALUE` lines that makedumpfile,
//! crash and drgn read (the same keys as the stock kernel on this configuration:
//! the printk ring buffer's and the arch's lines come from their own C code
//! through `vmcoreinfo_append_str()`), and wraps it in an ELF note whose physical
//! address `/sys/kernel/vmcoreinfo` shows. A crash image keeps a copy of the page
//! in the crash kernel's reserved memory; at panic the copy, with `CRASHTIME`
//! added, becomes the note, so a corrupted first copy does not spoil the dump.
//!
//! The C symbols keep their names and types: `vmcoreinfo_data`,
//! `vmcoreinfo_size` and `vmcoreinfo_note` are read by /proc/kcore.

use crate::elfcore;
use crate::state::CGlobal;
use crate::sys;
use crate::vmcoreinfo::{self, Line, BYTES, NOTE_NAME, NOTE_SIZE};
use core::fmt::Write;
use core::mem::{offset_of, size_of};
use kernel::bindings;
use kernel::ffi::{c_char, c_uint, c_void};
use kernel::prelude::*;

/// The text (`unsigned char *vmcoreinfo_data`): a page, or the crash image's safe
/// copy once a panic has switched to it.
#[no_mangle]
pub(crate) static vmcoreinfo_data: CGlobal<*mut u8> = CGlobal::new(core::ptr::null_mut());

/// Bytes of text (`size_t vmcoreinfo_size`).
#[no_mangle]
pub(crate) static vmcoreinfo_size: CGlobal<usize> = CGlobal::new(0);

/// The ELF note that carries the text (`u32 *vmcoreinfo_note`), [`NOTE_SIZE`] bytes.
#[no_mangle]
pub(crate) static vmcoreinfo_note: CGlobal<*mut u32> = CGlobal::new(core::ptr::null_mut());

/// The copy in the crash kernel's memory, if a crash image is loaded.
static SAFECOPY: CGlobal<*mut u8> = CGlobal::new(core::ptr::null_mut());

/// Set once the text has filled its page, so that the warning is given once.
static FULL_WARNED: CGlobal<bool> = CGlobal::new(false);

/// Counters of recovered hardware errors by type, which crash tools read
/// (`struct hwerr_info hwerr_data[HWERR_RECOV_MAX]`).
#[repr(C)]
pub(crate) struct HwerrInfo {
    count: bindings::atomic_t,
    timestamp: bindings::time64_t,
}

const HWERR_RECOV_MAX: usize = bindings::hwerr_error_type_HWERR_RECOV_MAX as usize;

/// `hwerr_data`: updated only through [`hwerr_log_error_type`].
#[no_mangle]
pub(crate) static hwerr_data: CGlobal<[HwerrInfo; HWERR_RECOV_MAX]> =
    // SAFETY: all-zero is a valid `HwerrInfo` (a zero count and timestamp).
    CGlobal::new(unsafe { core::mem::zeroed() });

/// Counts one recovered hardware error of type `src` (`hwerr_log_error_type`).
#[no_mangle]
pub(crate) extern "C" fn hwerr_log_error_type(src: bindings::hwerr_error_type) {
    let Ok(i) = usize::try_from(src) else { return };
    if i >= HWERR_RECOV_MAX {
        return;
    }
    // SAFETY: `i` is in bounds; the fields are updated with atomic operations, as C
    // does, so concurrent callers do not race.
    unsafe {
        let e = (*hwerr_data.get()).as_mut_ptr().add(i);
        bindings::atomic_inc(core::ptr::addr_of_mut!((*e).count));
        core::ptr::write_volatile(
            core::ptr::addr_of_mut!((*e).timestamp),
            bindings::ktime_get_real_seconds(),
        );
    }
}

/// Appends bytes to the text; called for every line, ours and C's.
fn append(bytes: &[u8]) {
    // SAFETY: `vmcoreinfo_data` is null or a page of `BYTES` bytes (allocated in
    // `init`, or the safe copy, also `BYTES` bytes); lines are appended at init and
    // at panic, which do not run concurrently with each other.
    unsafe {
        let data = *vmcoreinfo_data.get();
        if data.is_null() {
            return;
        }
        let page = core::slice::from_raw_parts_mut(data, BYTES);
        let size = &mut *vmcoreinfo_size.get();
        if vmcoreinfo::append(page, size, bytes) && !*FULL_WARNED.get() {
            *FULL_WARNED.get() = true;
            pr_warn!("vmcoreinfo data exceeds its page ({BYTES} bytes); truncated\n");
        }
    }
}

/// The end of `vmcoreinfo_append_str()` (kexec_glue.c), which formats C's lines.
#[no_mangle]
pub(crate) unsafe extern "C" fn kexec_rust_vmcoreinfo_append(line: *const c_char, len: usize) {
    // SAFETY: the glue passes a buffer of `len` formatted bytes.
    append(unsafe { core::slice::from_raw_parts(line.cast::<u8>(), len) });
}

/// Formats one line and appends it.
fn line(args: core::fmt::Arguments<'_>) {
    let mut l = Line::new();
    let _ = l.write_fmt(args);
    append(l.as_bytes());
}

/// Writes the note from the text: one `VMCOREINFO` note and the empty one.
fn update_note() {
    // SAFETY: the note is `NOTE_SIZE` bytes (allocated in `init`) and the text is
    // `vmcoreinfo_size` bytes of `vmcoreinfo_data`; both stay allocated forever.
    unsafe {
        let note = *vmcoreinfo_note.get();
        let size = *vmcoreinfo_size.get();
        if note.is_null() || size == 0 {
            return;
        }
        let buf = core::slice::from_raw_parts_mut(note.cast::<u8>(), NOTE_SIZE);
        let text = core::slice::from_raw_parts(*vmcoreinfo_data.get(), size);
        if let Some(end) = elfcore::append_note(buf, 0, NOTE_NAME, 0, text) {
            let _ = elfcore::final_note(buf, end);
        }
    }
}

/// Makes `ptr` (a page in the crash kernel's memory, or null) the safe copy of
/// the text (`crash_update_vmcoreinfo_safecopy`).
#[no_mangle]
pub(crate) unsafe extern "C" fn crash_update_vmcoreinfo_safecopy(ptr: *mut c_void) {
    // SAFETY: the caller passes null or a mapping of at least `BYTES` bytes; the
    // text is `vmcoreinfo_size <= BYTES` bytes.
    unsafe {
        if !ptr.is_null() && !(*vmcoreinfo_data.get()).is_null() {
            core::ptr::copy_nonoverlapping(
                *vmcoreinfo_data.get(),
                ptr.cast::<u8>(),
                *vmcoreinfo_size.get(),
            );
        }
        *SAFECOPY.get() = ptr.cast();
    }
}

/// At panic: switches to the safe copy, adds `CRASHTIME` and rewrites the note
/// (`crash_save_vmcoreinfo`).
#[no_mangle]
pub(crate) extern "C" fn crash_save_vmcoreinfo() {
    // SAFETY: reads of pointers set at init and at load; the panic path runs on one
    // CPU with the others stopped.
    unsafe {
        if (*vmcoreinfo_note.get()).is_null() {
            return;
        }
        let copy = *SAFECOPY.get();
        if !copy.is_null() {
            *vmcoreinfo_data.get() = copy;
        }
    }
    // SAFETY: reads the real-time clock, safe in any context.
    let now = unsafe { bindings::ktime_get_real_seconds() };
    line(format_args!("CRASHTIME={now}\n"));
    update_note();
}

/// The physical address of the note (`paddr_vmcoreinfo_note`), which
/// `/sys/kernel/vmcoreinfo` shows and the elfcorehdr points at.
#[no_mangle]
pub(crate) extern "C" fn paddr_vmcoreinfo_note() -> bindings::phys_addr_t {
    // SAFETY: the note is a direct-map allocation (or null, giving 0 as C does).
    unsafe { sys::kexec_rust_virt_to_phys((*vmcoreinfo_note.get()).cast()) }
}

/// Writes a note to `buf` and returns the word after it (`append_elf_note`).
///
/// # Safety
///
/// `buf` must have room for the note; `name` must be a C string.
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
        let name = core::ffi::CStr::from_ptr(name.cast()).to_bytes();
        let size = elfcore::note_size(name.len(), data_len);
        let out = core::slice::from_raw_parts_mut(buf.cast::<u8>(), size);
        let desc = core::slice::from_raw_parts(data.cast::<u8>(), data_len);
        let _ = elfcore::append_note(out, 0, name, ty, desc);
        buf.add(size / 4)
    }
}

/// Ends a note list at `buf` (`final_note`).
///
/// # Safety
///
/// `buf` must have room for a note header.
#[no_mangle]
pub(crate) unsafe extern "C" fn final_note(buf: *mut u32) {
    // SAFETY: by the caller's contract.
    let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), elfcore::NHDR_SIZE) };
    let _ = elfcore::final_note(out, 0);
}

macro_rules! symbol {
    ($name:literal, $addr:expr) => {
        line(format_args!(
            concat!("SYMBOL(", $name, ")={:x}\n"),
            $addr as usize
        ))
    };
}
macro_rules! size {
    ($name:literal, $ty:ty) => {
        line(format_args!(
            concat!("SIZE(", $name, ")={}\n"),
            size_of::<$ty>()
        ))
    };
}
macro_rules! offset {
    ($name:literal, $ty:ty, $($field:tt)+) => {
        line(format_args!(concat!("OFFSET(", $name, ")={}\n"), offset_of!($ty, $($field)+)))
    };
}
macro_rules! number {
    ($name:literal, $value:expr) => {
        line(format_args!(
            concat!("NUMBER(", $name, ")={}\n"),
            $value as i64
        ))
    };
}
macro_rules! length {
    ($name:literal, $value:expr) => {
        line(format_args!(
            concat!("LENGTH(", $name, ")={}\n"),
            $value as u64
        ))
    };
}

/// The page type values that tell free, slab, hugetlb and offline pages apart:
/// `PGTY_x << 24`, which C computes in an `int` (so it comes out negative) and
/// prints as a `long`.
const fn page_type_value(t: bindings::pagetype) -> i64 {
    ((t as u32) << 24) as i32 as i64
}

/// Writes the generic lines, in the stock kernel's order.
///
/// # Safety
///
/// Called once, at init, after the text page is allocated.
unsafe fn write_lines() {
    use bindings as b;
    // SAFETY: the helpers read constants and addresses of kernel symbols; the
    // release string is a C string in `init_uts_ns`.
    unsafe {
        let release = core::ffi::CStr::from_ptr(sys::kexec_rust_os_release().cast());
        let mut l = Line::new();
        let _ = l.write_str("OSRELEASE=");
        let _ = l.write_str(release.to_str().unwrap_or("?"));
        let _ = l.write_str("\n");
        append(l.as_bytes());

        let mut l = Line::new();
        let _ = l.write_str("BUILD-ID=");
        for byte in &*core::ptr::addr_of!(b::vmlinux_build_id) {
            let _ = write!(l, "{byte:02x}");
        }
        let _ = l.write_str("\n");
        append(l.as_bytes());
        line(format_args!("PAGESIZE={}\n", b::PAGE_SIZE));

        symbol!("init_uts_ns", core::ptr::addr_of!(b::init_uts_ns));
        line(format_args!(
            "OFFSET(uts_namespace.name)={}\n",
            sys::kexec_rust_uts_namespace_name_offset()
        ));
        symbol!("node_online_map", sys::kexec_rust_node_online_map_addr());
        symbol!("swapper_pg_dir", sys::kexec_rust_swapper_pg_dir_addr());
        symbol!("_stext", core::ptr::addr_of!(b::_stext));
        line(format_args!(
            "NUMBER(VMALLOC_START)=0x{:x}\n",
            sys::kexec_rust_vmalloc_start()
        ));

        symbol!("mem_map", core::ptr::addr_of!(b::mem_map));
        symbol!("contig_page_data", core::ptr::addr_of!(b::contig_page_data));
        symbol!("vmemmap", sys::kexec_rust_vmemmap_addr());
        symbol!("mem_section", b::mem_section);
        length!("mem_section", sys::kexec_rust_nr_section_roots());
        size!("mem_section", b::mem_section);
        offset!(
            "mem_section.section_mem_map",
            b::mem_section,
            section_mem_map
        );
        number!("SECTION_SIZE_BITS", b::SECTION_SIZE_BITS);
        number!("MAX_PHYSMEM_BITS", sys::kexec_rust_max_physmem_bits());

        size!("page", b::page);
        size!("pglist_data", b::pglist_data);
        size!("zone", b::zone);
        size!("free_area", b::free_area);
        size!("list_head", b::list_head);
        size!("nodemask_t", b::nodemask_t);
        offset!("page.flags", b::page, flags);
        offset!("page._refcount", b::page, _refcount);
        offset!(
            "page.mapping",
            b::page,
            __bindgen_anon_1.__bindgen_anon_1.mapping
        );
        offset!(
            "page.lru",
            b::page,
            __bindgen_anon_1.__bindgen_anon_1.__bindgen_anon_1.lru
        );
        offset!("page._mapcount", b::page, __bindgen_anon_2._mapcount);
        offset!(
            "page.private",
            b::page,
            __bindgen_anon_1.__bindgen_anon_1.private
        );
        offset!(
            "page.compound_info",
            b::page,
            __bindgen_anon_1.__bindgen_anon_3.compound_info
        );
        offset!("pglist_data.node_zones", b::pglist_data, node_zones);
        offset!("pglist_data.nr_zones", b::pglist_data, nr_zones);
        offset!("pglist_data.node_start_pfn", b::pglist_data, node_start_pfn);
        offset!(
            "pglist_data.node_spanned_pages",
            b::pglist_data,
            node_spanned_pages
        );
        offset!("pglist_data.node_id", b::pglist_data, node_id);
        offset!("zone.free_area", b::zone, free_area);
        offset!("zone.vm_stat", b::zone, vm_stat);
        offset!("zone.spanned_pages", b::zone, spanned_pages);
        offset!("free_area.free_list", b::free_area, free_list);
        offset!("list_head.next", b::list_head, next);
        offset!("list_head.prev", b::list_head, prev);
        length!("zone.free_area", b::NR_PAGE_ORDERS);
        b::log_buf_vmcoreinfo_setup();
        length!("free_area.free_list", b::migratetype_MIGRATE_TYPES);
        number!("NR_FREE_PAGES", b::zone_stat_item_NR_FREE_PAGES);
        number!("PG_lru", b::pageflags_PG_lru);
        number!("PG_private", b::pageflags_PG_private);
        number!("PG_swapcache", b::pageflags_PG_swapcache);
        number!("PG_swapbacked", b::pageflags_PG_swapbacked);
        number!(
            "PAGE_SLAB_MAPCOUNT_VALUE",
            page_type_value(b::pagetype_PGTY_slab)
        );
        number!("PG_head_mask", 1i64 << b::pageflags_PG_head);
        number!(
            "PAGE_BUDDY_MAPCOUNT_VALUE",
            page_type_value(b::pagetype_PGTY_buddy)
        );
        number!(
            "PAGE_HUGETLB_MAPCOUNT_VALUE",
            page_type_value(b::pagetype_PGTY_hugetlb)
        );
        number!(
            "PAGE_OFFLINE_MAPCOUNT_VALUE",
            page_type_value(b::pagetype_PGTY_offline)
        );

        symbol!("kallsyms_names", core::ptr::addr_of!(sys::kallsyms_names));
        symbol!(
            "kallsyms_num_syms",
            core::ptr::addr_of!(sys::kallsyms_num_syms)
        );
        symbol!(
            "kallsyms_token_table",
            core::ptr::addr_of!(sys::kallsyms_token_table)
        );
        symbol!(
            "kallsyms_token_index",
            core::ptr::addr_of!(sys::kallsyms_token_index)
        );
        symbol!(
            "kallsyms_offsets",
            core::ptr::addr_of!(sys::kallsyms_offsets)
        );

        b::arch_crash_save_vmcoreinfo();
    }
}

/// Allocates the text and the note and writes both (at subsys_initcall).
pub(crate) fn init() -> Result {
    // SAFETY: allocations of zeroed pages that are never freed; the statics are
    // written here, before anything reads them.
    unsafe {
        let data = sys::kexec_rust_alloc_zeroed_exact(BYTES);
        if data.is_null() {
            pr_warn!("no memory for the vmcoreinfo text\n");
            return Err(ENOMEM);
        }
        let note = sys::kexec_rust_alloc_zeroed_exact(NOTE_SIZE);
        if note.is_null() {
            bindings::free_pages_exact(data, BYTES);
            pr_warn!("no memory for the vmcoreinfo note\n");
            return Err(ENOMEM);
        }
        *vmcoreinfo_data.get() = data.cast();
        *vmcoreinfo_note.get() = note.cast();
        write_lines();
    }
    update_note();
    Ok(())
}

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
use crate::vmcoreinfo::{self, Line, BYTES, NOTE_NAME, NOTE_SIZE};
use core::fmt::Write;
use core::mem::{offset_of, size_of};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{ordering, Atomic};

/// The text (`unsigned char *vmcoreinfo_data`): a page of [`BYTES`] bytes, or
/// the crash image's safe copy (as large) once a panic has switched to it.
#[no_mangle]
pub(crate) static vmcoreinfo_data: Atomic<*mut u8> = Atomic::new(core::ptr::null_mut());

/// Bytes of text (`size_t vmcoreinfo_size`).
#[no_mangle]
pub(crate) static vmcoreinfo_size: Atomic<usize> = Atomic::new(0);

/// The ELF note that carries the text (`u32 *vmcoreinfo_note`), [`NOTE_SIZE`] bytes.
#[no_mangle]
pub(crate) static vmcoreinfo_note: Atomic<*mut u32> = Atomic::new(core::ptr::null_mut());

/// The copy in the crash kernel's memory, if a crash image is loaded.
static SAFECOPY: Atomic<*mut u8> = Atomic::new(core::ptr::null_mut());

/// Set once the text has filled its page, so that the warning is given once.
static FULL_WARNED: Atomic<bool> = Atomic::new(false);

/// Counters of recovered hardware errors by type, which crash tools read
/// (`struct hwerr_info { atomic_t count; time64_t timestamp; }`).
#[repr(C)]
pub(crate) struct HwerrInfo {
    count: Atomic<i32>,
    timestamp: Atomic<i64>,
}

// The C structure is private to kernel/vmcore_info.c (no binding): check the
// layout that crash tools read against its members' types.
const _: () = assert!(size_of::<HwerrInfo>() == 2 * size_of::<bindings::time64_t>());
const _: () = assert!(offset_of!(HwerrInfo, timestamp) == size_of::<bindings::time64_t>());
const _: () = assert!(size_of::<Atomic<i32>>() == size_of::<bindings::atomic_t>());

const HWERR_RECOV_MAX: usize = bindings::hwerr_error_type_HWERR_RECOV_MAX as usize;

/// `hwerr_data[HWERR_RECOV_MAX]`.
#[no_mangle]
pub(crate) static hwerr_data: [HwerrInfo; HWERR_RECOV_MAX] = [const {
    HwerrInfo {
        count: Atomic::new(0),
        timestamp: Atomic::new(0),
    }
}; HWERR_RECOV_MAX];

/// Counts one recovered hardware error of type `src` (`hwerr_log_error_type`).
pub(crate) fn log_hwerr(src: usize) {
    let Some(e) = hwerr_data.get(src) else { return };
    e.count.fetch_add(1, ordering::Relaxed);
    // SAFETY: reads the real-time clock, safe in any context.
    e.timestamp.store(
        unsafe { bindings::ktime_get_real_seconds() },
        ordering::Relaxed,
    );
}

/// The text page and its length, for appending.
///
/// # Safety
///
/// Only one writer at a time: lines are appended at init (before anything
/// reads the text) and at panic (one CPU, the others stopped), which never
/// overlap; the safe copy is filled under the kexec lock before it is used.
unsafe fn text_page() -> Option<&'static mut [u8]> {
    let data = vmcoreinfo_data.load(ordering::Relaxed);
    if data.is_null() {
        return None;
    }
    // SAFETY: `vmcoreinfo_data` is a page of `BYTES` bytes (allocated in `init`,
    // or the safe copy, also `BYTES` bytes); one writer, by the requirements.
    Some(unsafe { core::slice::from_raw_parts_mut(data, BYTES) })
}

/// Appends bytes to the text; called for every line, ours and C's.
pub(crate) fn append(bytes: &[u8]) {
    // SAFETY: lines are appended at init and at panic only (see `text_page`).
    let Some(page) = (unsafe { text_page() }) else {
        return;
    };
    let mut size = vmcoreinfo_size.load(ordering::Relaxed);
    let full = vmcoreinfo::append(page, &mut size, bytes);
    vmcoreinfo_size.store(size, ordering::Relaxed);
    if full && !FULL_WARNED.xchg(true, ordering::Relaxed) {
        pr_warn!("vmcoreinfo data exceeds its page ({BYTES} bytes); truncated\n");
    }
}

/// Formats one line and appends it.
fn line(args: core::fmt::Arguments<'_>) {
    let mut l = Line::new();
    let _ = l.write_fmt(args);
    append(l.as_bytes());
}

/// Writes the note from the text: one `VMCOREINFO` note and the empty one.
fn update_note() {
    let note = vmcoreinfo_note.load(ordering::Relaxed);
    let size = vmcoreinfo_size.load(ordering::Relaxed);
    // SAFETY: init and panic only (see `text_page`).
    let Some(page) = (unsafe { text_page() }) else {
        return;
    };
    if note.is_null() || size == 0 {
        return;
    }
    // SAFETY: the note is `NOTE_SIZE` bytes, allocated in `init` and never
    // freed; it is written only here, at init and at panic.
    let buf = unsafe { core::slice::from_raw_parts_mut(note.cast::<u8>(), NOTE_SIZE) };
    if let Some(end) = elfcore::append_note(buf, 0, NOTE_NAME, 0, &page[..size.min(BYTES)]) {
        let _ = elfcore::final_note(buf, end);
    }
}

/// Makes `copy` (a page in the crash kernel's memory, or null) the safe copy
/// of the text (`crash_update_vmcoreinfo_safecopy`).
///
/// # Safety
///
/// `copy` is null or a mapping of at least [`BYTES`] bytes that stays mapped
/// until this is called again with null; called under the kexec lock.
pub(crate) unsafe fn set_safecopy(copy: *mut u8) {
    let data = vmcoreinfo_data.load(ordering::Relaxed);
    if !copy.is_null() && !data.is_null() {
        // SAFETY: both are at least `BYTES` bytes; the text is
        // `vmcoreinfo_size <= BYTES` of them.
        unsafe {
            core::ptr::copy_nonoverlapping(
                data,
                copy,
                vmcoreinfo_size.load(ordering::Relaxed).min(BYTES),
            )
        };
    }
    SAFECOPY.store(copy, ordering::Release);
}

/// At panic: switches to the safe copy, adds `CRASHTIME` and rewrites the note
/// (`crash_save_vmcoreinfo`).
pub(crate) fn crash_save() {
    if vmcoreinfo_note.load(ordering::Relaxed).is_null() {
        return;
    }
    let copy = SAFECOPY.load(ordering::Acquire);
    if !copy.is_null() {
        vmcoreinfo_data.store(copy, ordering::Relaxed);
    }
    // SAFETY: reads the real-time clock, safe in any context.
    let now = unsafe { bindings::ktime_get_real_seconds() };
    line(format_args!("CRASHTIME={now}\n"));
    update_note();
}

#[cfg(not(CONFIG_XEN_PV))]
/// The physical address of the note (`paddr_vmcoreinfo_note`), which
/// `/sys/kernel/vmcoreinfo` shows and the elfcorehdr points at.
pub(crate) fn note_phys() -> u64 {
    // SAFETY: address arithmetic on a direct-map allocation (before `init`,
    // on null, which gives what C's `__pa(NULL)` gives).
    unsafe { bindings::kexec_rust_virt_to_phys(vmcoreinfo_note.load(ordering::Relaxed).cast()) }
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

/// Values that C has only as macros or behind functions, read once.
struct Values {
    release: &'static core::ffi::CStr,
    build_id: &'static [u8],
    uts_name_offset: c_ulong,
    node_online_map: c_ulong,
    swapper_pg_dir: c_ulong,
    vmalloc_start: c_ulong,
    #[cfg(CONFIG_SPARSEMEM_VMEMMAP)]
    vmemmap: c_ulong,
    nr_section_roots: c_ulong,
    max_physmem_bits: isize,
    mem_section: *mut *mut bindings::mem_section,
}

impl Values {
    fn read() -> Self {
        // SAFETY: the helpers read constants and addresses of kernel symbols;
        // the release string is a C string in `init_uts_ns` and the build ID a
        // byte array, both fixed after boot.
        unsafe {
            Values {
                release: core::ffi::CStr::from_ptr(bindings::kexec_rust_os_release().cast()),
                build_id: &*(&raw const bindings::vmlinux_build_id),
                uts_name_offset: bindings::kexec_rust_uts_namespace_name_offset(),
                node_online_map: bindings::kexec_rust_node_online_map_addr(),
                swapper_pg_dir: bindings::kexec_rust_swapper_pg_dir_addr(),
                vmalloc_start: bindings::kexec_rust_vmalloc_start(),
                #[cfg(CONFIG_SPARSEMEM_VMEMMAP)]
                vmemmap: bindings::kexec_rust_vmemmap_addr(),
                nr_section_roots: bindings::kexec_rust_nr_section_roots(),
                max_physmem_bits: bindings::kexec_rust_max_physmem_bits(),
                mem_section: bindings::mem_section,
            }
        }
    }
}

/// Writes the generic lines, in the stock kernel's order (the printk ring
/// buffer's and the arch's come from their own C code).
fn write_lines() {
    use bindings as b;
    let m = Values::read();
    {
        let release = m.release;
        let mut l = Line::new();
        let _ = l.write_str("OSRELEASE=");
        let _ = l.write_str(release.to_str().unwrap_or("?"));
        let _ = l.write_str("\n");
        append(l.as_bytes());

        let mut l = Line::new();
        let _ = l.write_str("BUILD-ID=");
        for byte in m.build_id {
            let _ = write!(l, "{byte:02x}");
        }
        let _ = l.write_str("\n");
        append(l.as_bytes());
        line(format_args!("PAGESIZE={}\n", b::PAGE_SIZE));

        symbol!("init_uts_ns", &raw const b::init_uts_ns);
        line(format_args!(
            "OFFSET(uts_namespace.name)={}\n",
            m.uts_name_offset
        ));
        symbol!("node_online_map", m.node_online_map);
        symbol!("swapper_pg_dir", m.swapper_pg_dir);
        symbol!("_stext", &raw const b::_stext);
        line(format_args!(
            "NUMBER(VMALLOC_START)=0x{:x}\n",
            m.vmalloc_start
        ));

        // Without NUMA, the one node's page array and data (with NUMA they
        // are per node, found through node_data).
        #[cfg(not(CONFIG_NUMA))]
        {
            symbol!("mem_map", &raw const b::mem_map);
            symbol!("contig_page_data", &raw const b::contig_page_data);
        }
        #[cfg(CONFIG_SPARSEMEM_VMEMMAP)]
        symbol!("vmemmap", m.vmemmap);
        #[cfg(CONFIG_SPARSEMEM)]
        {
            symbol!("mem_section", m.mem_section);
            length!("mem_section", m.nr_section_roots);
            size!("mem_section", b::mem_section);
            offset!(
                "mem_section.section_mem_map",
                b::mem_section,
                section_mem_map
            );
            number!("SECTION_SIZE_BITS", b::SECTION_SIZE_BITS);
            number!("MAX_PHYSMEM_BITS", m.max_physmem_bits);
        }

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
        // SAFETY: the printk code appends its lines through `vmcoreinfo_append_str`.
        unsafe { b::log_buf_vmcoreinfo_setup() };
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
        // Pages taken out of use after a memory error.
        #[cfg(CONFIG_MEMORY_FAILURE)]
        number!("PG_hwpoison", b::pageflags_PG_hwpoison);
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
        // Memory that a confidential guest has not accepted yet.
        #[cfg(CONFIG_UNACCEPTED_MEMORY)]
        number!(
            "PAGE_UNACCEPTED_MAPCOUNT_VALUE",
            page_type_value(b::pagetype_PGTY_unaccepted)
        );

        #[cfg(CONFIG_KALLSYMS)]
        {
            symbol!("kallsyms_names", &raw const b::kallsyms_names);
            symbol!("kallsyms_num_syms", &raw const b::kallsyms_num_syms);
            symbol!("kallsyms_token_table", &raw const b::kallsyms_token_table);
            symbol!("kallsyms_token_index", &raw const b::kallsyms_token_index);
            symbol!("kallsyms_offsets", &raw const b::kallsyms_offsets);
        }

        // SAFETY: the arch appends its lines through `vmcoreinfo_append_str`.
        unsafe { b::arch_crash_save_vmcoreinfo() };
    }
}

/// Allocates the text and the note and writes both (at subsys_initcall).
pub(crate) fn init() -> Result {
    // SAFETY: zeroed pages that are never freed.
    let data = unsafe { bindings::kexec_rust_alloc_zeroed_exact(BYTES) };
    if data.is_null() {
        pr_warn!("no memory for the vmcoreinfo text\n");
        return Err(ENOMEM);
    }
    // SAFETY: as above.
    let note = unsafe { bindings::kexec_rust_alloc_zeroed_exact(NOTE_SIZE) };
    if note.is_null() {
        // SAFETY: frees the page allocated above, which nothing uses.
        unsafe { bindings::free_pages_exact(data, BYTES) };
        pr_warn!("no memory for the vmcoreinfo note\n");
        return Err(ENOMEM);
    }
    vmcoreinfo_data.store(data.cast(), ordering::Release);
    vmcoreinfo_note.store(note.cast(), ordering::Release);
    write_lines();
    update_note();
    Ok(())
}

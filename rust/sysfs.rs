// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/kexec/`: `loaded`, `crash_loaded`, `crash_size`,
//! `crash_cma_ranges`, `crash_elfcorehdr_size`, and the links under their old
//! names in `/sys/kernel/` (`kexec_loaded`, `kexec_crash_loaded`,
//! `kexec_crash_size`, ...) that kexec-tools and kdump scripts read.

use crate::state;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::ordering;

/// A sysfs show buffer (one page) as a `fmt::Write` sink that stops at its end.
struct ShowBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for ShowBuf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            Err(core::fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// Formats `args` into a show buffer and returns the length, as `sysfs_emit`.
///
/// # Safety
///
/// `buf` is the page-sized buffer sysfs passes to a show function.
unsafe fn emit(buf: *mut c_char, args: core::fmt::Arguments<'_>) -> isize {
    // SAFETY: sysfs hands show functions a zeroed buffer of PAGE_SIZE bytes.
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), bindings::PAGE_SIZE as usize) };
    let mut w = ShowBuf { buf: page, len: 0 };
    let _ = core::fmt::write(&mut w, args);
    w.len as isize
}

unsafe extern "C" fn loaded_show(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    let loaded = !state::kexec_image.load(ordering::Relaxed).is_null();
    // SAFETY: `buf` is the show buffer.
    unsafe { emit(buf, format_args!("{}\n", loaded as i32)) }
}

#[cfg(CONFIG_CRASH_DUMP)]
unsafe extern "C" fn crash_loaded_show(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: a read of the crash image slot (crash_core.c).
    let loaded = unsafe { bindings::kexec_crash_loaded() };
    // SAFETY: `buf` is the show buffer.
    unsafe { emit(buf, format_args!("{}\n", loaded)) }
}

#[cfg(CONFIG_CRASH_DUMP)]
unsafe extern "C" fn crash_size_show(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: takes the kexec lock and reads the reservation's size.
    let size = unsafe { bindings::crash_get_memory_size() };
    if size < 0 {
        return size;
    }
    // SAFETY: `buf` is the show buffer.
    unsafe { emit(buf, format_args!("{}\n", size)) }
}

#[cfg(CONFIG_CRASH_DUMP)]
unsafe extern "C" fn crash_size_store(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    let mut size: u64 = 0;
    // SAFETY: sysfs passes a NUL-terminated copy of what was written.
    if unsafe { bindings::kstrtoull(buf, 0, &mut size) } != 0 {
        return EINVAL.to_errno() as isize;
    }
    // SAFETY: shrinks the reservation under the kexec lock (crash_core.c).
    let ret = unsafe { bindings::crash_shrink_memory(size as c_ulong) };
    if ret < 0 {
        ret as isize
    } else {
        count as isize
    }
}

#[cfg(CONFIG_CRASH_DUMP)]
unsafe extern "C" fn crash_cma_ranges_show(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    #[cfg(CONFIG_CMA)]
    {
        // SAFETY: `buf` is the show buffer, of PAGE_SIZE bytes.
        let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), bindings::PAGE_SIZE as usize) };
        let mut w = ShowBuf { buf: page, len: 0 };
        // SAFETY: the CMA ranges are set at boot and constant afterwards.
        let (count, ranges) = unsafe {
            (bindings::crashk_cma_cnt as usize, core::ptr::addr_of!(bindings::crashk_cma_ranges).cast::<bindings::range>())
        };
        for i in 0..count {
            // SAFETY: `i` is below the number of ranges filled in at boot.
            let r = unsafe { &*ranges.add(i) };
            let _ = core::fmt::write(&mut w, format_args!("{:08x}-{:08x}\n", r.start, r.end));
        }
        return w.len as isize;
    }
    #[cfg(not(CONFIG_CMA))]
    {
        let _ = buf;
        0
    }
}

#[cfg(CONFIG_CRASH_HOTPLUG)]
unsafe extern "C" fn crash_elfcorehdr_size_show(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: a computation over the possible CPUs and memory ranges.
    let size = unsafe { bindings::arch_crash_get_elfcorehdr_size() };
    // SAFETY: `buf` is the show buffer.
    unsafe { emit(buf, format_args!("{}\n", size)) }
}

type Show = unsafe extern "C" fn(*mut bindings::kobject, *mut bindings::kobj_attribute, *mut c_char) -> isize;
type Store =
    unsafe extern "C" fn(*mut bindings::kobject, *mut bindings::kobj_attribute, *const c_char, usize) -> isize;

/// One attribute: its name in `/sys/kernel/kexec/`, its old name in
/// `/sys/kernel/`, and its functions.
struct Attr {
    name: &'static CStr,
    link: &'static CStr,
    show: Show,
    store: Option<Store>,
}

const ATTRS: &[Attr] = &[
    Attr { name: c"loaded", link: c"kexec_loaded", show: loaded_show, store: None },
    #[cfg(CONFIG_CRASH_DUMP)]
    Attr { name: c"crash_loaded", link: c"kexec_crash_loaded", show: crash_loaded_show, store: None },
    #[cfg(CONFIG_CRASH_DUMP)]
    Attr {
        name: c"crash_size",
        link: c"kexec_crash_size",
        show: crash_size_show,
        store: Some(crash_size_store),
    },
    #[cfg(all(CONFIG_CRASH_DUMP, CONFIG_CRASH_RESERVE))]
    Attr {
        name: c"crash_cma_ranges",
        link: c"kexec_crash_cma_ranges",
        show: crash_cma_ranges_show,
        store: None,
    },
    #[cfg(CONFIG_CRASH_HOTPLUG)]
    Attr {
        name: c"crash_elfcorehdr_size",
        link: c"crash_elfcorehdr_size",
        show: crash_elfcorehdr_size_show,
        store: None,
    },
];

const MAX_ATTRS: usize = 5;

/// The C attribute structures sysfs keeps pointers to; filled in once by
/// [`register`], never changed after.
static mut KOBJ_ATTRS: [bindings::kobj_attribute; MAX_ATTRS] =
    // SAFETY: all-zero is a valid (unnamed, empty) attribute.
    unsafe { core::mem::zeroed() };
static mut ATTR_PTRS: [*mut bindings::attribute; MAX_ATTRS + 1] = [core::ptr::null_mut(); MAX_ATTRS + 1];
static mut GROUP: bindings::attribute_group =
    // SAFETY: all-zero is a valid, empty group.
    unsafe { core::mem::zeroed() };

/// Creates `/sys/kernel/kexec/` with its attributes, and the old names.
pub(crate) fn register() -> Result {
    // SAFETY: runs once at boot, before sysfs knows the structures; sysfs only
    // reads them afterwards. `kernel_kobj` exists from core_initcall on.
    unsafe {
        let attrs = &mut *core::ptr::addr_of_mut!(KOBJ_ATTRS);
        let ptrs = &mut *core::ptr::addr_of_mut!(ATTR_PTRS);
        for (i, a) in ATTRS.iter().enumerate() {
            let k = &mut attrs[i];
            k.attr.name = a.name.as_char_ptr();
            k.attr.mode = if a.store.is_some() { 0o644 } else { 0o444 };
            k.__bindgen_anon_1.show = Some(a.show);
            k.__bindgen_anon_2.store = a.store;
            ptrs[i] = &mut k.attr;
        }
        let group = &mut *core::ptr::addr_of_mut!(GROUP);
        group.__bindgen_anon_2.attrs = ptrs.as_mut_ptr();

        let kobj = bindings::kobject_create_and_add(c"kexec".as_char_ptr(), bindings::kernel_kobj);
        if kobj.is_null() {
            pr_err!("failed to create /sys/kernel/kexec\n");
            return Err(ENOMEM);
        }
        let ret = bindings::sysfs_create_group(kobj, group);
        if ret != 0 {
            bindings::kobject_put(kobj);
            return Err(Error::from_errno(ret));
        }
        for a in ATTRS {
            let ret = bindings::compat_only_sysfs_link_entry_to_kobj(
                bindings::kernel_kobj,
                kobj,
                a.name.as_char_ptr(),
                a.link.as_char_ptr(),
            );
            if ret != 0 {
                pr_err!("cannot create the /sys/kernel/{:?} link ({})\n", a.link, ret);
            }
        }
    }
    Ok(())
}

// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/kexec/`: `loaded`, `crash_loaded`, `crash_size`,
//! `crash_cma_ranges`, `crash_elfcorehdr_size`, and the links under their old
//! names in `/sys/kernel/` (`kexec_loaded`, `kexec_crash_loaded`,
//! `kexec_crash_size`, ...) that kexec-tools and kdump scripts read.
//!
//! Each attribute is a safe function that writes into a [`ShowBuf`] (or reads
//! a written value); sysfs calls them through one pair of C callbacks in
//! ffi.rs, which find the attribute by the address sysfs hands them ([`show`],
//! [`store`]).

use super::state;
use core::fmt::Write;
use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A sysfs show buffer (one page) as a `fmt::Write` sink that stops at its end.
pub(crate) struct ShowBuf<'a> {
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

type ShowFn = fn(&mut ShowBuf<'_>) -> Result;
type StoreFn = fn(&CStr) -> Result;

fn loaded(w: &mut ShowBuf<'_>) -> Result {
    let _ = writeln!(w, "{}", state::kexec_image.is_loaded() as i32);
    Ok(())
}

#[cfg(CONFIG_CRASH_DUMP)]
fn crash_loaded(w: &mut ShowBuf<'_>) -> Result {
    // SAFETY: a read of the crash image slot.
    let loaded = unsafe { bindings::kexec_crash_loaded() };
    let _ = writeln!(w, "{loaded}");
    Ok(())
}

#[cfg(CONFIG_CRASH_DUMP)]
fn crash_size(w: &mut ShowBuf<'_>) -> Result {
    // SAFETY: takes the kexec lock and reads the reservation's size.
    let size = unsafe { bindings::crash_get_memory_size() };
    if size < 0 {
        return Err(Error::from_errno(size as c_int));
    }
    let _ = writeln!(w, "{size}");
    Ok(())
}

#[cfg(CONFIG_CRASH_DUMP)]
fn crash_size_store(input: &CStr) -> Result {
    let mut size: u64 = 0;
    // SAFETY: `input` is a C string; `size` is ours.
    if unsafe { bindings::kstrtoull(input.as_char_ptr(), 0, &mut size) } != 0 {
        return Err(EINVAL);
    }
    // SAFETY: shrinks the reservation under the kexec lock.
    let ret = unsafe { bindings::crash_shrink_memory(size as c_ulong) };
    kernel::error::to_result(ret)
}

#[cfg(CONFIG_CRASH_DUMP)]
fn crash_cma_ranges(w: &mut ShowBuf<'_>) -> Result {
    #[cfg(CONFIG_CMA)]
    {
        // SAFETY: the CMA ranges are set at boot and constant afterwards.
        let ranges = unsafe {
            core::slice::from_raw_parts(
                (&raw const bindings::crashk_cma_ranges).cast::<bindings::range>(),
                bindings::crashk_cma_cnt as usize,
            )
        };
        for r in ranges {
            let _ = writeln!(w, "{:08x}-{:08x}", r.start, r.end);
        }
    }
    let _ = w;
    Ok(())
}

#[cfg(CONFIG_CRASH_HOTPLUG)]
fn crash_elfcorehdr_size(w: &mut ShowBuf<'_>) -> Result {
    // SAFETY: a computation over the possible CPUs and memory ranges.
    let size = unsafe { bindings::arch_crash_get_elfcorehdr_size() };
    let _ = writeln!(w, "{size}");
    Ok(())
}

/// One attribute: its name in `/sys/kernel/kexec/`, its old name in
/// `/sys/kernel/`, and its functions.
struct Attr {
    name: &'static CStr,
    link: &'static CStr,
    show: ShowFn,
    store: Option<StoreFn>,
}

const ATTRS: &[Attr] = &[
    Attr {
        name: c"loaded",
        link: c"kexec_loaded",
        show: loaded,
        store: None,
    },
    #[cfg(CONFIG_CRASH_DUMP)]
    Attr {
        name: c"crash_loaded",
        link: c"kexec_crash_loaded",
        show: crash_loaded,
        store: None,
    },
    #[cfg(CONFIG_CRASH_DUMP)]
    Attr {
        name: c"crash_size",
        link: c"kexec_crash_size",
        show: crash_size,
        store: Some(crash_size_store),
    },
    #[cfg(all(CONFIG_CRASH_DUMP, CONFIG_CRASH_RESERVE))]
    Attr {
        name: c"crash_cma_ranges",
        link: c"kexec_crash_cma_ranges",
        show: crash_cma_ranges,
        store: None,
    },
    #[cfg(CONFIG_CRASH_HOTPLUG)]
    Attr {
        name: c"crash_elfcorehdr_size",
        link: c"crash_elfcorehdr_size",
        show: crash_elfcorehdr_size,
        store: None,
    },
];

/// The index in [`ATTRS`] of the attribute at `addr`, one of [`KOBJ_ATTRS`].
fn index_of(addr: usize) -> Option<usize> {
    let first = KOBJ_ATTRS.0.get() as usize;
    let i = addr.checked_sub(first)? / core::mem::size_of::<bindings::kobj_attribute>();
    (i < N).then_some(i)
}

/// Shows the attribute at `addr` into `buf` (a page): the length written.
pub(crate) fn show(addr: usize, buf: &mut [u8]) -> Result<usize> {
    let a = &ATTRS[index_of(addr).ok_or(EINVAL)?];
    let mut w = ShowBuf { buf, len: 0 };
    (a.show)(&mut w)?;
    Ok(w.len)
}

/// Stores `input` into the attribute at `addr`.
pub(crate) fn store(addr: usize, input: &CStr) -> Result {
    let store = ATTRS[index_of(addr).ok_or(EINVAL)?].store.ok_or(EINVAL)?;
    store(input)
}

/// A C structure that sysfs keeps a pointer to: built at compile time, never
/// written by Rust afterwards.
#[repr(transparent)]
struct Registered<T>(Opaque<T>);

// SAFETY: Rust never writes the values after they are built; sysfs reads
// them (and its lockdep bookkeeping may write inside them, under sysfs's own
// locks).
unsafe impl Sync for Registered<[bindings::kobj_attribute; N]> {}
// SAFETY: as above.
unsafe impl Sync for Registered<[*mut bindings::attribute; N + 1]> {}
// SAFETY: as above.
unsafe impl Sync for Registered<bindings::attribute_group> {}

const N: usize = ATTRS.len();

const fn kobj_attrs() -> [bindings::kobj_attribute; N] {
    let mut out: [bindings::kobj_attribute; N] = pin_init::zeroed();
    let mut i = 0;
    while i < N {
        let a = &ATTRS[i];
        out[i].attr.name = a.name.as_ptr().cast();
        out[i].attr.mode = if a.store.is_some() { 0o644 } else { 0o444 };
        out[i].__bindgen_anon_1.show = Some(super::ffi::sysfs_show);
        out[i].__bindgen_anon_2.store = if a.store.is_some() {
            Some(super::ffi::sysfs_store)
        } else {
            None
        };
        i += 1;
    }
    out
}

/// The attributes, in the order of `ATTRS`.
static KOBJ_ATTRS: Registered<[bindings::kobj_attribute; N]> =
    Registered(Opaque::new(kobj_attrs()));

// `struct attribute` is the first member of `struct kobj_attribute`: a pointer
// to one is a pointer to the other.
const _: () = assert!(core::mem::offset_of!(bindings::kobj_attribute, attr) == 0);

const fn attr_ptrs() -> [*mut bindings::attribute; N + 1] {
    let mut out = [core::ptr::null_mut(); N + 1];
    let first = Opaque::cast_into(&raw const KOBJ_ATTRS.0).cast::<bindings::kobj_attribute>();
    let mut i = 0;
    while i < N {
        out[i] = first.wrapping_add(i).cast();
        i += 1;
    }
    out
}

/// The NULL-terminated attribute list of the group.
static ATTR_PTRS: Registered<[*mut bindings::attribute; N + 1]> =
    Registered(Opaque::new(attr_ptrs()));

const fn group() -> bindings::attribute_group {
    let mut g: bindings::attribute_group = pin_init::zeroed();
    g.__bindgen_anon_2.attrs = Opaque::cast_into(&raw const ATTR_PTRS.0).cast();
    g
}

static GROUP: Registered<bindings::attribute_group> = Registered(Opaque::new(group()));

/// Creates `/sys/kernel/kexec/` with its attributes, and the old names.
pub(crate) fn register() -> Result {
    // SAFETY: `kernel_kobj` exists from core_initcall on; the group and its
    // attributes are statics that live forever.
    unsafe {
        let kobj = bindings::kobject_create_and_add(c"kexec".as_char_ptr(), bindings::kernel_kobj);
        if kobj.is_null() {
            pr_err!("failed to create /sys/kernel/kexec\n");
            return Err(ENOMEM);
        }
        let ret = bindings::sysfs_create_group(kobj, GROUP.0.get());
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
                pr_err!(
                    "cannot create the /sys/kernel/{:?} link ({})\n",
                    a.link,
                    ret
                );
            }
        }
    }
    Ok(())
}

// SPDX-License-Identifier: GPL-2.0

//! The next kernel's device tree for kexec_file_load on arm64, in place of
//! `of_kexec_alloc_and_setup_fdt` (drivers/of/kexec.c, which other
//! architectures keep using): a copy of the tree the running kernel booted
//! with, edited through the kernel's libfdt.
//!
//! In /chosen the copy loses what described this boot (the old ELF core
//! header, usable memory, initrd, seeds and IMA buffer, and the memory
//! reservations of the old tree and initrd) and gets the new command line
//! (`bootargs`), the new initrd (`linux,initrd-start`/`-end`, reserved), for
//! a crash image the ELF core header (`linux,elfcorehdr`, reserved) and the
//! memory the capture kernel may use (`linux,usable-memory-range`: the
//! crash reservation, its low part and the CMA ranges), kexec handover's
//! metadata, fresh `kaslr-seed` and `rng-seed` when the RNG is ready, IMA's
//! measurement buffer, and `linux,booted-from-kexec`. The properties, their
//! order and sizes are the C function's, so that the next kernel cannot tell
//! the two apart; what differs is that a failure says which edit failed.

use crate::kexec::image::Kimage;
use kernel::bindings;
use kernel::prelude::*;

/// Room for the edits, beyond the old tree and the command line.
const EXTRA_SPACE: usize = 0x1000;
/// Bytes of `rng-seed`.
const RNG_SEED_SIZE: usize = 128;
/// libfdt's "not found".
const FDT_ERR_NOTFOUND: c_int = 1;

/// A device tree being built: a kvmalloc buffer that is freed unless it is
/// handed out by [`Fdt::into_raw`].
struct Fdt {
    buf: *mut c_void,
}

impl Drop for Fdt {
    fn drop(&mut self) {
        // SAFETY: `buf` is the kvmalloc buffer this value owns.
        unsafe { bindings::kvfree(self.buf) };
    }
}

/// Why an edit failed: what was being done and libfdt's (negative) error or
/// an errno.
struct Failed(&'static str, c_int);

type Edit<T> = core::result::Result<T, Failed>;

/// `ret` as an edit's outcome: libfdt returns 0 or a negative error.
fn check(what: &'static str, ret: c_int) -> Edit<()> {
    if ret < 0 {
        Err(Failed(what, ret))
    } else {
        Ok(())
    }
}

/// As [`check`], a missing property being no failure.
fn check_found(what: &'static str, ret: c_int) -> Edit<()> {
    if ret == -FDT_ERR_NOTFOUND {
        Ok(())
    } else {
        check(what, ret)
    }
}

/// The value of `cells` big-endian 32-bit cells at `p` (`of_read_number`).
///
/// # Safety
///
/// `p` is readable for `cells` cells.
unsafe fn read_cells(p: *const u8, cells: usize) -> u64 {
    let mut v = 0u64;
    for i in 0..cells {
        let mut b = [0u8; 4];
        // SAFETY: within the `cells` cells the caller vouches for.
        unsafe { core::ptr::copy_nonoverlapping(p.add(4 * i), b.as_mut_ptr(), 4) };
        v = (v << 32) | u64::from(u32::from_be_bytes(b));
    }
    v
}

impl Fdt {
    fn ptr(&self) -> *mut c_void {
        self.buf
    }

    fn into_raw(self) -> *mut c_void {
        let p = self.buf;
        core::mem::forget(self);
        p
    }

    /// Deletes the memory reservation of exactly `[start, start + size)`:
    /// `Ok(true)` if there was one, `Ok(false)` if not.
    fn del_mem_rsv(&self, start: u64, size: u64) -> Edit<bool> {
        // SAFETY: `buf` is a valid tree (opened by `new`).
        let n = unsafe { bindings::kexec_rust_fdt_num_mem_rsv(self.ptr()) };
        for i in 0..n.max(0) {
            let (mut a, mut s) = (0u64, 0u64);
            // SAFETY: as above; the outputs are ours.
            let ret =
                unsafe { bindings::kexec_rust_fdt_get_mem_rsv(self.ptr(), i, &mut a, &mut s) };
            if ret != 0 {
                pr_err!("Malformed device tree.\n");
                return Err(Failed("reading a memory reservation", ret));
            }
            if a == start && s == size {
                // SAFETY: as above, `i` is a reservation's index.
                let ret = unsafe { bindings::kexec_rust_fdt_del_mem_rsv(self.ptr(), i) };
                if ret != 0 {
                    pr_err!("Error deleting device tree reservation.\n");
                    return Err(Failed("deleting a memory reservation", ret));
                }
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn del_prop(&self, node: c_int, name: &core::ffi::CStr) -> c_int {
        // SAFETY: a valid tree, a node offset of it and a NUL-terminated name.
        unsafe { bindings::kexec_rust_fdt_delprop(self.ptr(), node, name.as_ptr().cast()) }
    }

    fn set_prop(&self, node: c_int, name: &core::ffi::CStr, val: &[u8]) -> c_int {
        // SAFETY: as above; `val` is readable for its length.
        unsafe {
            bindings::kexec_rust_fdt_setprop(
                self.ptr(),
                node,
                name.as_ptr().cast(),
                val.as_ptr().cast(),
                val.len() as c_int,
            )
        }
    }

    fn set_u64(&self, node: c_int, name: &core::ffi::CStr, v: u64) -> c_int {
        self.set_prop(node, name, &v.to_be_bytes())
    }

    /// Appends `<addr size>` in the root's cell sizes to `name`.
    fn append_range(&self, node: c_int, name: &core::ffi::CStr, addr: u64, size: u64) -> c_int {
        // SAFETY: as for `del_prop`.
        unsafe {
            bindings::kexec_rust_fdt_appendprop_addrrange(
                self.ptr(),
                node,
                name.as_ptr().cast(),
                addr,
                size,
            )
        }
    }

    fn add_mem_rsv(&self, addr: u64, size: u64) -> c_int {
        // SAFETY: a valid tree.
        unsafe { bindings::kexec_rust_fdt_add_mem_rsv(self.ptr(), addr, size) }
    }

    /// The property `name` of `node`: its bytes' address and length.
    fn get_prop(&self, node: c_int, name: &core::ffi::CStr) -> Option<(*const u8, usize)> {
        let mut len: c_int = 0;
        // SAFETY: as for `del_prop`; the output is ours.
        let p = unsafe {
            bindings::kexec_rust_fdt_getprop(self.ptr(), node, name.as_ptr().cast(), &mut len)
        };
        (!p.is_null() && len >= 0).then_some((p.cast(), len as usize))
    }
}

/// The next kernel's device tree for `image` (`of_kexec_alloc_and_setup_fdt`),
/// unpacked, or null (the failure logged).
pub(super) fn setup(image: &Kimage, initrd: u64, initrd_len: u64, cmdline: &[u8]) -> *mut c_void {
    match build(image, initrd, initrd_len, cmdline) {
        Ok(fdt) => fdt.into_raw(),
        Err(Failed(what, ret)) => {
            pr_err!(
                "kexec_file_load: the next kernel's device tree: {} failed ({})\n",
                what,
                ret
            );
            core::ptr::null_mut()
        }
    }
}

fn build(image: &Kimage, initrd: u64, initrd_len: u64, cmdline: &[u8]) -> Edit<Fdt> {
    // The command line up to its first NUL, with it, as C's string functions
    // see it (a NUL-terminated line with more NULs inside ends at the first).
    let cmdline = match cmdline.iter().position(|&b| b == 0) {
        Some(n) => &cmdline[..=n],
        None => cmdline,
    };
    // SAFETY: the boot tree is set at boot and only read afterwards.
    let (old, old_pa) = unsafe {
        (
            bindings::kexec_rust_initial_fdt(),
            bindings::kexec_rust_initial_fdt_pa(),
        )
    };
    if old.is_null() {
        return Err(Failed("finding the boot device tree", ENOENT.to_errno()));
    }
    // SAFETY: a valid tree.
    let old_size = unsafe { bindings::kexec_rust_fdt_size(old) } as usize;
    // The command line with its NUL, as C's strlen() counts it (without).
    let cmd_len = cmdline.len().saturating_sub(1);
    let size = old_size + cmd_len + EXTRA_SPACE;
    // SAFETY: an allocation of `size` bytes, freed by `Fdt`.
    let buf = unsafe { bindings::kexec_rust_kvmalloc(size) };
    if buf.is_null() {
        return Err(Failed("allocating the tree", ENOMEM.to_errno()));
    }
    let fdt = Fdt { buf };
    // SAFETY: `old` is valid; `buf` has `size` bytes.
    let ret = unsafe { bindings::kexec_rust_fdt_open_into(old, fdt.ptr(), size as c_int) };
    if ret < 0 {
        pr_err!("Error {} setting up the new device tree.\n", ret);
        return Err(Failed("copying the boot tree", ret));
    }
    // The boot tree's own reservation is not the next kernel's.
    if let Err(e) = fdt.del_mem_rsv(old_pa, old_size as u64) {
        pr_err!("Error removing memory reservation.\n");
        return Err(e);
    }

    // SAFETY: a valid tree and a NUL-terminated path.
    let mut chosen =
        unsafe { bindings::kexec_rust_fdt_path_offset(fdt.ptr(), c"/chosen".as_ptr().cast()) };
    if chosen == -FDT_ERR_NOTFOUND {
        // SAFETY: as above.
        chosen = unsafe {
            let root = bindings::kexec_rust_fdt_path_offset(fdt.ptr(), c"/".as_ptr().cast());
            bindings::kexec_rust_fdt_add_subnode(fdt.ptr(), root, c"chosen".as_ptr().cast())
        };
    }
    check("finding /chosen", chosen)?;

    check_found(
        "deleting linux,elfcorehdr",
        fdt.del_prop(chosen, c"linux,elfcorehdr"),
    )?;
    check_found(
        "deleting linux,usable-memory-range",
        fdt.del_prop(chosen, c"linux,usable-memory-range"),
    )?;

    // The initrd this kernel booted with, if any, is not reserved any more;
    // the firmware may have reserved it rounded up to a page.
    if let Some((p, len)) = fdt.get_prop(chosen, c"linux,initrd-start") {
        // SAFETY: the property's `len` bytes.
        let start = unsafe { read_cells(p, len / 4) };
        let Some((q, len)) = fdt.get_prop(chosen, c"linux,initrd-end") else {
            return Err(Failed(
                "reading linux,initrd-end (linux,initrd-start has none)",
                EINVAL.to_errno(),
            ));
        };
        // SAFETY: as above.
        let end = unsafe { read_cells(q, len / 4) };
        let size = end.wrapping_sub(start);
        if !fdt.del_mem_rsv(start, size)? {
            let page = bindings::PAGE_SIZE as u64;
            fdt.del_mem_rsv(start, size.wrapping_add(page - 1) & !(page - 1))?;
        }
    }

    if initrd != 0 {
        check(
            "setting linux,initrd-start",
            fdt.set_u64(chosen, c"linux,initrd-start", initrd),
        )?;
        check(
            "setting linux,initrd-end",
            fdt.set_u64(chosen, c"linux,initrd-end", initrd + initrd_len),
        )?;
        check("reserving the initrd", fdt.add_mem_rsv(initrd, initrd_len))?;
    } else {
        check_found(
            "deleting linux,initrd-start",
            fdt.del_prop(chosen, c"linux,initrd-start"),
        )?;
        check_found(
            "deleting linux,initrd-end",
            fdt.del_prop(chosen, c"linux,initrd-end"),
        )?;
    }

    if image.is_crash() {
        crash_ranges(&fdt, chosen, image)?;
    }
    kho(&fdt, chosen, image)?;

    if cmdline.is_empty() {
        check_found("deleting bootargs", fdt.del_prop(chosen, c"bootargs"))?;
    } else {
        // `cmdline` ends with its NUL (the load checked it).
        check(
            "setting bootargs",
            fdt.set_prop(chosen, c"bootargs", cmdline),
        )?;
    }

    check_found("deleting kaslr-seed", fdt.del_prop(chosen, c"kaslr-seed"))?;
    // SAFETY: asks the RNG whether it is seeded.
    let rng = unsafe { bindings::kexec_rust_rng_is_initialized() };
    if rng {
        // SAFETY: no arguments.
        let seed = unsafe { bindings::get_random_u64() };
        check(
            "setting kaslr-seed",
            fdt.set_u64(chosen, c"kaslr-seed", seed),
        )?;
        let mut bytes = [0u8; RNG_SEED_SIZE];
        // SAFETY: fills our buffer.
        unsafe { bindings::get_random_bytes(bytes.as_mut_ptr().cast(), RNG_SEED_SIZE) };
        check(
            "setting rng-seed",
            fdt.set_prop(chosen, c"rng-seed", &bytes),
        )?;
    } else {
        pr_notice!("RNG is not initialised: omitting \"kaslr-seed\" property\n");
        pr_notice!("RNG is not initialised: omitting \"rng-seed\" property\n");
    }

    check(
        "setting linux,booted-from-kexec",
        fdt.set_prop(chosen, c"linux,booted-from-kexec", &[]),
    )?;

    ima(&fdt, chosen, image)?;
    Ok(fdt)
}

/// A crash image's ELF core header and the memory its kernel may use.
fn crash_ranges(fdt: &Fdt, chosen: c_int, image: &Kimage) -> Edit<()> {
    let c = image.c();
    let (hdr, hdr_sz) = (c.elf_load_addr as u64, c.elf_headers_sz as u64);
    check(
        "adding linux,elfcorehdr",
        fdt.append_range(chosen, c"linux,elfcorehdr", hdr, hdr_sz),
    )?;
    check(
        "reserving the ELF core header",
        fdt.add_mem_rsv(hdr, hdr_sz),
    )?;
    let usable = c"linux,usable-memory-range";
    let (start, end) = crate::kexec::reservation::window_unlocked();
    check(
        "adding linux,usable-memory-range",
        fdt.append_range(
            chosen,
            usable,
            start,
            end.wrapping_sub(start).wrapping_add(1),
        ),
    )?;
    let (lstart, lend) = crate::kexec::reservation::low_window_unlocked();
    if lend != 0 {
        check(
            "adding the low part to linux,usable-memory-range",
            fdt.append_range(chosen, usable, lstart, lend - lstart + 1),
        )?;
    }
    // SAFETY: the CMA ranges are set at boot and constant afterwards.
    let n = unsafe { bindings::kexec_rust_crashk_cma_count() };
    for i in 0..n.max(0) {
        // SAFETY: `i` is below the count.
        let (a, b) = unsafe {
            (
                bindings::kexec_rust_crashk_cma_start(i),
                bindings::kexec_rust_crashk_cma_end(i),
            )
        };
        check(
            "adding a CMA range to linux,usable-memory-range",
            fdt.append_range(chosen, usable, a, b - a + 1),
        )?;
    }
    Ok(())
}

/// Kexec handover's metadata and scratch area (`KEXEC_HANDOVER`).
#[cfg(CONFIG_KEXEC_HANDOVER)]
fn kho(fdt: &Fdt, chosen: c_int, image: &Kimage) -> Edit<()> {
    check_found(
        "deleting linux,kho-fdt",
        fdt.del_prop(chosen, c"linux,kho-fdt"),
    )?;
    check_found(
        "deleting linux,kho-scratch",
        fdt.del_prop(chosen, c"linux,kho-scratch"),
    )?;
    let k = &image.c().kho;
    if k.fdt == 0 || k.scratch.is_null() {
        return Ok(());
    }
    // SAFETY: `scratch` points into this image's segment table (KHO took the
    // segment it had just added).
    let scratch = unsafe { &*k.scratch };
    check(
        "adding linux,kho-fdt",
        fdt.append_range(chosen, c"linux,kho-fdt", k.fdt, bindings::PAGE_SIZE as u64),
    )?;
    check(
        "adding linux,kho-scratch",
        fdt.append_range(
            chosen,
            c"linux,kho-scratch",
            scratch.mem as u64,
            scratch.bufsz as u64,
        ),
    )
}

#[cfg(not(CONFIG_KEXEC_HANDOVER))]
fn kho(_fdt: &Fdt, _chosen: c_int, _image: &Kimage) -> Edit<()> {
    Ok(())
}

/// IMA's buffer: the one this kernel was given goes (with its reservation),
/// and with `IMA_KEXEC` the image's own is added.
fn ima(fdt: &Fdt, chosen: c_int, image: &Kimage) -> Edit<()> {
    if cfg!(CONFIG_HAVE_IMA_KEXEC) {
        let name = c"linux,ima-kexec-buffer";
        if let Some((p, len)) = fdt.get_prop(chosen, name) {
            // SAFETY: reads the live tree's root cell sizes.
            let (ac, sc) = unsafe {
                (
                    bindings::kexec_rust_of_root_addr_cells(),
                    bindings::kexec_rust_of_root_size_cells(),
                )
            };
            let old = (ac > 0 && sc > 0 && len >= 4 * (ac + sc) as usize).then(|| {
                // SAFETY: the property has `ac + sc` cells (checked).
                unsafe {
                    (
                        read_cells(p, ac as usize),
                        read_cells(p.add(4 * ac as usize), sc as usize),
                    )
                }
            });
            fdt.del_prop(chosen, name);
            if let Some((addr, size)) = old {
                if matches!(fdt.del_mem_rsv(addr, size), Ok(true)) {
                    pr_debug!("Removed old IMA buffer reservation.\n");
                }
            }
        }
    }
    #[cfg(CONFIG_IMA_KEXEC)]
    {
        let c = image.c();
        if c.ima_buffer_size != 0 {
            // SAFETY: a valid tree and a NUL-terminated path.
            let chosen = unsafe {
                bindings::kexec_rust_fdt_path_offset(fdt.ptr(), c"/chosen".as_ptr().cast())
            };
            check(
                "adding linux,ima-kexec-buffer",
                fdt.append_range(
                    chosen,
                    c"linux,ima-kexec-buffer",
                    c.ima_buffer_addr as u64,
                    c.ima_buffer_size as u64,
                ),
            )
            .map_err(|f| Failed(f.0, EINVAL.to_errno()))?;
            check(
                "reserving IMA's buffer",
                fdt.add_mem_rsv(c.ima_buffer_addr as u64, c.ima_buffer_size as u64),
            )
            .map_err(|f| Failed(f.0, EINVAL.to_errno()))?;
            pr_debug!(
                "IMA buffer at 0x{:x}, size = 0x{:x}\n",
                c.ima_buffer_addr,
                c.ima_buffer_size
            );
        }
    }
    #[cfg(not(CONFIG_IMA_KEXEC))]
    let _ = image;
    Ok(())
}

// SPDX-License-Identifier: GPL-2.0

//! The arm64 Image loader of kexec_file_load, in place of
//! arch/arm64/kernel/kexec_image.c and machine_kexec_file.c: the memory side
//! of [`crate::arm64_image`].
//!
//! [`probe`] applies the header rules to the file. [`load`] then places the
//! kernel (2 MiB aligned, the lowest place first) and above it, in the
//! kernel's order, the crash ELF core header (crash images), the initrd and
//! the next kernel's device tree, a copy of the running kernel's with its
//! edits (`fdt.rs`: the command line, the initrd, the crash kernel's memory,
//! the seeds). When the other buffers do not fit above a
//! place, the kernel goes to the next place up, as in C. There is no
//! purgatory: the relocate stub enters the kernel with the device tree's
//! address in x0.
//!
//! The C interface the crash ELF core header needs on arm64 is here too: the
//! memory ranges it describes are memblock's.

use super::place;
pub(crate) use crate::arm64_image::Header;

#[path = "fdt.rs"]
mod fdt;
use crate::arm64_image::{self as format, Machine, Placement, Refusal};
use crate::kexec::image::Kimage;
use kernel::bindings;
use kernel::prelude::*;

/// Logs a refusal with the rule it broke (the stock loader logs nothing).
fn refused(r: Refusal) -> Error {
    pr_err!("kexec_file_load refused: {}\n", format_args!("{r}"));
    Error::from_errno(-r.errno())
}

/// What the rules need to know about the running kernel and its CPUs.
fn machine() -> Machine {
    // SAFETY: the helpers read the system-wide CPU capabilities, final once
    // userspace runs.
    unsafe {
        Machine {
            big_endian: cfg!(CONFIG_CPU_BIG_ENDIAN),
            mixed_endian: bindings::kexec_rust_mixed_endian(),
            granule_4k: bindings::kexec_rust_granule_4k(),
            granule_16k: bindings::kexec_rust_granule_16k(),
            granule_64k: bindings::kexec_rust_granule_64k(),
        }
    }
}

/// Whether `file` is an arm64 Image (`image_probe`); `EINVAL`, logged with
/// the rule, if not.
pub(crate) fn probe(file: &[u8]) -> Result<Header> {
    Header::probe(file).map_err(refused)
}

/// What the loader leaves for the rest of the load: nothing, the device tree
/// hangs on the image (`arch.dtb`) until the load ends.
pub(crate) struct Loaded;

/// Places `len` bytes of `buf` in `memsz` bytes within `p` and adds them to
/// the image: where they went and the rounded size.
fn add(
    image: &mut Kimage,
    p: Placement,
    buf: *const u8,
    len: usize,
    memsz: u64,
) -> Result<(u64, u64)> {
    let mut kbuf = place::kbuf(buf, len, memsz, p.align, p.min, p.max, p.top_down);
    place::add(image, &mut kbuf)?;
    Ok((kbuf.mem as u64, kbuf.memsz as u64))
}

/// Builds the image's segments (`image_load`): `file` is the Image the probe
/// accepted as `header`, `cmdline` the user's (with its NUL, or empty).
pub(crate) fn load(
    image: &mut Kimage,
    header: &Header,
    file: &[u8],
    initrd: Option<&[u8]>,
    cmdline: &[u8],
) -> Result<Loaded> {
    header.check_load(&machine()).map_err(refused)?;
    let first = image.c().nr_segments as usize;
    let no_cma = image.c().no_cma();
    let mut min = 0;
    let mut other_failed = None;
    let placed = loop {
        let (mem, memsz) = match add(
            image,
            format::kernel_placement(min),
            file.as_ptr(),
            file.len(),
            header.kernel_memsz(),
        ) {
            Ok(v) => v,
            Err(e) => break Err(e),
        };
        match other_segments(image, mem, memsz, initrd, cmdline) {
            Ok(()) => break Ok(()),
            Err(e) => {
                pr_debug!(
                    "kexec_file(Image): the initrd, device tree or ELF core header do not fit \
                     above the kernel at 0x{:x} ({:?}): trying higher\n",
                    mem,
                    e
                );
                drop_from(image, first);
                other_failed = Some(e);
                // The next try searches above this place (a CMA block would
                // ignore the bound, and could come back each time).
                min = format::above_kernel(mem, memsz);
                image.c_mut().set_no_cma(1);
            }
        }
    };
    image.c_mut().set_no_cma(no_cma);
    if let Err(e) = placed {
        // The C line (which lacks its newline, so that it reaches the log
        // only with the next message).
        pr_err!("kexec_file(Image): Could not find any suitable kernel location!\n");
        match other_failed {
            Some(o) => pr_err!(
                "kexec_file_load refused: no place for the kernel's {:#x} bytes with the other \
                 buffers above it (they last failed with {:?})\n",
                header.kernel_memsz(),
                o
            ),
            None => pr_err!(
                "kexec_file_load refused: no free memory for the kernel's {:#x} bytes at a \
                 2 MiB boundary ({:?})\n",
                header.kernel_memsz(),
                e
            ),
        }
        return Err(e);
    }
    let seg = &mut image.c_mut().segment[first];
    let (mem, memsz) = header.kernel_segment(seg.mem as u64, seg.memsz as u64);
    seg.mem = mem as c_ulong;
    seg.memsz = memsz as usize;
    image.c_mut().start = mem as c_ulong;
    dprintk!(
        "kexec_file(Image): Loaded kernel at 0x{:x} bufsz=0x{:x} memsz=0x{:x}\n",
        mem,
        file.len(),
        memsz
    );
    Ok(Loaded)
}

/// Undoes a try of [`other_segments`]: the segments from `first` on (the
/// kernel's included) and what they hung on the image.
fn drop_from(image: &mut Kimage, first: usize) {
    image.truncate_segments(first);
    free_buffers(image);
    image.c_mut().arch.dtb_mem = 0;
}

/// Frees the ELF core header and the device tree hung on the image. The
/// device tree's address (`arch.dtb_mem`, its segment) stays: the reboot
/// hands it to the new kernel.
pub(crate) fn free_buffers(image: &mut Kimage) {
    let c = image.c_mut();
    // SAFETY: `dtb` is null or the kvmalloc buffer drivers/of made for this
    // image, which nothing else frees.
    unsafe { bindings::kvfree(c.arch.dtb) };
    c.arch.dtb = core::ptr::null_mut();
    // SAFETY: `elf_headers` is null or the vmalloc buffer of this image's
    // ELF core header.
    unsafe { bindings::vfree(c.elf_headers) };
    c.elf_headers = core::ptr::null_mut();
    c.elf_headers_sz = 0;
}

/// Adds the ELF core header (crash images), the initrd and the device tree
/// above the kernel's buffer at `kernel_mem` (`load_other_segments`).
fn other_segments(
    image: &mut Kimage,
    kernel_mem: u64,
    kernel_size: u64,
    initrd: Option<&[u8]>,
    cmdline: &[u8],
) -> Result {
    let min = format::above_kernel(kernel_mem, kernel_size);
    if image.is_crash() {
        let mut buf: *mut c_void = core::ptr::null_mut();
        let mut size: c_ulong = 0;
        // SAFETY: the outputs are ours; the caller holds the kexec lock, as
        // the header's builder requires.
        let ret = unsafe {
            bindings::crash_prepare_headers(1, &mut buf, &mut size, core::ptr::null_mut())
        };
        if ret != 0 {
            pr_err!("kexec_file: Preparing elf core header failed\n");
            return Err(Error::from_errno(ret));
        }
        let placed = add(
            image,
            format::elfcorehdr_placement(min),
            buf.cast(),
            size as usize,
            size as u64,
        );
        let c = image.c_mut();
        match placed {
            Ok((mem, memsz)) => {
                c.elf_headers = buf;
                c.elf_load_addr = mem as c_ulong;
                c.elf_headers_sz = size;
                dprintk!(
                    "kexec_file: Loaded elf core header at 0x{:x} bufsz=0x{:x} memsz=0x{:x}\n",
                    mem,
                    size,
                    memsz
                );
            }
            Err(e) => {
                // SAFETY: the buffer just built, which nothing else has.
                unsafe { bindings::vfree(buf) };
                return Err(e);
            }
        }
    }

    let initrd_len = initrd.map_or(0, <[u8]>::len);
    let mut initrd_mem = 0;
    if let Some(data) = initrd {
        let (mem, memsz) = add(
            image,
            format::initrd_placement(min, kernel_mem),
            data.as_ptr(),
            data.len(),
            data.len() as u64,
        )?;
        initrd_mem = mem;
        dprintk!(
            "kexec_file: Loaded initrd at 0x{:x} bufsz=0x{:x} memsz=0x{:x}\n",
            mem,
            data.len(),
            memsz
        );
    }

    let dtb = fdt::setup(image, initrd_mem, initrd_len as u64, cmdline);
    if dtb.is_null() {
        pr_err!("kexec_file: Preparing for new dtb failed\n");
        return Err(EINVAL);
    }
    // SAFETY: `dtb` is the valid device tree just built.
    let len = unsafe { bindings::kexec_rust_fdt_pack_size(dtb) } as usize;
    match add(
        image,
        format::dtb_placement(min),
        dtb.cast(),
        len,
        len as u64,
    ) {
        Ok((mem, memsz)) => {
            let arch = &mut image.c_mut().arch;
            arch.dtb = dtb;
            arch.dtb_mem = mem as bindings::phys_addr_t;
            dprintk!(
                "kexec_file: Loaded dtb at 0x{:x} bufsz=0x{:x} memsz=0x{:x}\n",
                mem,
                len,
                memsz
            );
            Ok(())
        }
        Err(e) => {
            // SAFETY: the device tree just built, which nothing else has.
            unsafe { bindings::kvfree(dtb) };
            Err(e)
        }
    }
}

/// Calls `f(start, end)` (end exclusive) for each range of memblock's memory
/// (`for_each_mem_range`: without hotpluggable or driver-managed memory).
#[cfg(CONFIG_CRASH_DUMP)]
fn each_memory_range(mut f: impl FnMut(u64, u64)) {
    let mut idx: u64 = 0;
    loop {
        let (mut start, mut end): (bindings::phys_addr_t, bindings::phys_addr_t) = (0, 0);
        // SAFETY: memblock is kept after boot on arm64 (ARCH_KEEP_MEMBLOCK);
        // the outputs are ours.
        unsafe { bindings::kexec_rust_memblock_next_memory(&mut idx, &mut start, &mut end) };
        if idx == u64::MAX {
            break;
        }
        f(start, end);
    }
}

/// An upper bound on the ranges of the crash ELF core header
/// (`arch_get_system_nr_ranges`): memblock's memory ranges, plus two for
/// cutting out the crash reservation, plus the CMA ranges.
#[cfg(CONFIG_CRASH_DUMP)]
#[no_mangle]
pub(crate) extern "C" fn arch_get_system_nr_ranges() -> c_uint {
    // SAFETY: the count is set at boot.
    let mut n = 2 + unsafe { bindings::kexec_rust_crashk_cma_count() } as c_uint;
    each_memory_range(|_, _| n += 1);
    n
}
crate::kexec::ffi::matches_c!(arch_get_system_nr_ranges: unsafe extern "C" fn() -> c_uint);

/// Fills `cmem` with memblock's memory ranges (`arch_crash_populate_cmem`),
/// inclusive ends.
///
/// # Safety
///
/// `cmem` is a valid `crash_mem` with room for
/// [`arch_get_system_nr_ranges`] ranges, used alone.
#[cfg(CONFIG_CRASH_DUMP)]
#[no_mangle]
pub(crate) unsafe extern "C" fn arch_crash_populate_cmem(cmem: *mut bindings::crash_mem) -> c_int {
    // SAFETY: by the contract.
    let cmem = unsafe { &mut *cmem };
    let max = cmem.max_nr_ranges as usize;
    // SAFETY: the flexible array has `max_nr_ranges` slots (contract).
    let ranges = unsafe { cmem.ranges.as_mut_slice(max) };
    let mut nr = cmem.nr_ranges as usize;
    let mut full = false;
    each_memory_range(|start, end| {
        match ranges.get_mut(nr) {
            Some(r) => {
                r.start = start;
                r.end = end - 1;
                nr += 1;
            }
            // More ranges than counted (memory added since): C writes past
            // its array; we stop.
            None => full = true,
        }
    });
    cmem.nr_ranges = nr as c_uint;
    if full {
        pr_warn!("kexec_file: memblock grew while the crash header's ranges were counted\n");
        return ENOMEM.to_errno();
    }
    0
}
crate::kexec::ffi::matches_c!(arch_crash_populate_cmem: unsafe extern "C" fn(*mut bindings::crash_mem) -> c_int);

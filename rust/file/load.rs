// SPDX-License-Identifier: GPL-2.0

//! The kexec_file_load(2) system call.
//!
//! The order of the checks is the C implementation's, because an input that
//! breaks several rules must get the same errno: permission (which uses up one
//! load of the limit even when the call then fails), the flags, the kexec
//! lock; for an unload nothing else is read. A crash load frees the loaded
//! crash image first, so a crash load that fails leaves none. Then the kernel
//! file is read and probed, its signature checked, the initrd read, the
//! command line copied and checked, and the loader lays the image out; the
//! segment rules, the control pages, the arch, the digest and the copy of the
//! segments follow, as for kexec_load. Whatever the call read or built is
//! freed when it returns; a replaced or refused image is freed before the
//! lock is released.

use super::loader;
use super::read::{Cmdline, FileBuf};
use crate::kexec::image::{ImageBox, Kimage, KEXEC_TYPE_CRASH};
use crate::kexec::reservation;
use crate::kexec::state::{self, kexec_file_dbg_print, KexecLock};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::ordering;

const UNLOAD: u64 = bindings::KEXEC_FILE_UNLOAD as u64;
const ON_CRASH: u64 = bindings::KEXEC_FILE_ON_CRASH as u64;
const NO_INITRAMFS: u64 = bindings::KEXEC_FILE_NO_INITRAMFS as u64;
const DEBUG: u64 = bindings::KEXEC_FILE_DEBUG as u64;
const NO_CMA: u64 = bindings::KEXEC_FILE_NO_CMA as u64;
const FORCE_DTB: u64 = bindings::KEXEC_FILE_FORCE_DTB as u64;
/// Every flag the call knows; any other bit of the 64 is refused.
const KNOWN: u64 = bindings::KEXEC_FILE_FLAGS as u64;

/// The arguments of one call.
pub(crate) struct Request {
    pub(crate) kernel_fd: i32,
    pub(crate) initrd_fd: i32,
    pub(crate) cmdline_len: u64,
    pub(crate) cmdline_ptr: usize,
    pub(crate) flags: u64,
}

/// Frees what the load built for itself and no longer needs, and ends its
/// debug output (`kimage_file_post_load_cleanup`): the crash ELF core header's
/// buffer, which crash.c hung on the image. Safe to call more than once.
pub(crate) fn post_load_cleanup(image: &mut Kimage) {
    let c = image.c_mut();
    // SAFETY: `elf_headers` is null or the vmalloc buffer crash.c made for
    // this image, which nothing else frees.
    unsafe { bindings::vfree(c.elf_headers) };
    c.elf_headers = core::ptr::null_mut();
    c.elf_headers_sz = 0;
    #[cfg(CONFIG_IMA_KEXEC)]
    {
        // SAFETY: `ima_buffer` is null or a vmalloc buffer IMA hung on this
        // image for us to free.
        unsafe { bindings::vfree(c.ima_buffer) };
        c.ima_buffer = core::ptr::null_mut();
    }
    // arm64: the device tree the loader hung on the image (its copy in the
    // segment stays).
    #[cfg(CONFIG_ARM64)]
    loader::free_buffers(image);
    kexec_file_dbg_print.store(false, ordering::Relaxed);
}

/// Ends the call's debug output however it returns.
struct DebugOutput;

impl Drop for DebugOutput {
    fn drop(&mut self) {
        kexec_file_dbg_print.store(false, ordering::Relaxed);
    }
}

/// The files and the command line, read in the kernel's order, with the
/// probe and the signature check between the kernel and the initrd.
struct Inputs {
    kernel: FileBuf,
    header: loader::Header,
    initrd: Option<FileBuf>,
    cmdline: Cmdline,
}

fn read_inputs(req: &Request) -> Result<Inputs> {
    let kernel = FileBuf::read(
        req.kernel_fd,
        bindings::kernel_read_file_id_READING_KEXEC_IMAGE,
    )?;
    if kexec_file_dbg_print.load(ordering::Relaxed) {
        // The C line, with the buffer's address hashed as `%p` hashes it.
        // SAFETY: a format with one pointer and one unsigned long, and both.
        unsafe {
            bindings::_printk(
                c"\x016kexec_file: kernel: %p kernel_size: %#lx\n"
                    .as_ptr()
                    .cast(),
                kernel.as_slice().as_ptr(),
                kernel.as_slice().len() as c_ulong,
            )
        };
    }
    let header = loader::probe(kernel.as_slice())?;
    #[cfg(CONFIG_KEXEC_SIG)]
    super::sig::validate(kernel.as_slice())?;
    let initrd = if req.flags & NO_INITRAMFS == 0 {
        Some(FileBuf::read(
            req.initrd_fd,
            bindings::kernel_read_file_id_READING_KEXEC_INITRAMFS,
        )?)
    } else {
        None
    };
    let cmdline = if req.cmdline_len != 0 {
        let len = usize::try_from(req.cmdline_len).map_err(|_| ENOMEM)?;
        let c = Cmdline::copy(req.cmdline_ptr, len)?;
        crate::bzimage::check_cmdline(c.as_slice()).map_err(|r| {
            pr_err!("kexec_file_load refused: {}\n", format_args!("{r}"));
            Error::from_errno(-r.errno())
        })?;
        // IMA measures the command line without its NUL (a no-op without IMA).
        // SAFETY: `c` is readable for its length; IMA looks the descriptor up
        // itself.
        unsafe {
            bindings::kexec_rust_ima_kexec_cmdline(
                req.kernel_fd,
                c.as_slice().as_ptr().cast(),
                (len - 1) as c_int,
            )
        };
        c
    } else {
        Cmdline::empty()
    };
    Ok(Inputs {
        kernel,
        header,
        initrd,
        cmdline,
    })
}

/// Allocates the control code page and, for a normal image, the swap page,
/// after the segment rules passed (the last part of `kimage_file_alloc_init`).
fn alloc_control(image: &mut ImageBox, crash: bool, lock: &KexecLock) -> Result {
    image.check_segments(lock)?;
    image.alloc_code_and_swap_pages(crash, |what| {
        // The C code's lines.
        let buffer = if what == "swap" {
            "swap buffer"
        } else {
            "control_code_buffer"
        };
        pr_err!("kexec_file: Could not allocate {}\n", buffer);
    })
}

/// Builds, prepares and copies the new image.
fn build(req: &Request, crash: bool, lock: &KexecLock) -> Result<ImageBox> {
    let mut image = ImageBox::new()?;
    if req.flags & DEBUG != 0 {
        kexec_file_dbg_print.store(true, ordering::Relaxed);
    }
    image.c_mut().set_file_mode(1);
    if crash {
        image.c_mut().control_page = reservation::window(lock).0 as c_ulong;
        image.c_mut().set_type(KEXEC_TYPE_CRASH);
    }
    let ret = (|| -> Result {
        let inputs = read_inputs(req)?;
        image.c_mut().set_no_cma(u32::from(req.flags & NO_CMA != 0));
        image.c_mut().force_dtb = req.flags & FORCE_DTB != 0;
        // IMA adds a segment for its measurement list, filled at kexec time
        // (not for a crash image); a failure only costs the hand-over, and
        // IMA logs it.
        #[cfg(CONFIG_IMA_KEXEC)]
        // SAFETY: the image is being built under the kexec lock; IMA adds
        // its buffer through our kexec_add_buffer and keeps no reference.
        unsafe {
            bindings::kexec_rust_ima_add_kexec_buffer(image.as_ptr())
        };
        // With kexec handover on, its metadata and scratch list go too.
        #[cfg(CONFIG_KEXEC_HANDOVER)]
        // SAFETY: as above; KHO records the FDT's address and the scratch
        // segment's place in the image.
        kernel::error::to_result(unsafe { bindings::kexec_rust_kho_fill_kimage(image.as_ptr()) })?;
        #[allow(unused_mut)]
        let mut loaded = loader::load(
            &mut image,
            &inputs.header,
            inputs.kernel.as_slice(),
            inputs.initrd.as_ref().map(FileBuf::as_slice),
            inputs.cmdline.as_slice(),
        )?;
        alloc_control(&mut image, crash, lock)?;

        crate::kexec::load::prepare(&mut image, req.flags, crash)?;
        #[cfg(CONFIG_X86_64)]
        super::digest::store(&image, &mut loaded.purgatory)?;
        #[cfg(not(CONFIG_X86_64))]
        let _ = &mut loaded;

        dprintk!("kexec_file: nr_segments = {}\n", image.c().nr_segments);
        crate::kexec::load::copy_segments(&mut image, |image, i| {
            if kexec_file_dbg_print.load(ordering::Relaxed) {
                let s = &image.c().segment[i];
                // The C line, with the buffer's address hashed.
                // SAFETY: the format's arguments in order: an int, a pointer
                // (only printed), a size_t, an unsigned long, a size_t.
                unsafe {
                    bindings::_printk(
                        c"\x016kexec_file: segment[%d]: buf=0x%p bufsz=0x%zx mem=0x%lx memsz=0x%zx\n"
                            .as_ptr()
                            .cast(),
                        i as c_int,
                        s.__bindgen_anon_1.kbuf,
                        s.bufsz,
                        s.mem,
                        s.memsz,
                    )
                };
            }
        })?;
        // IMA maps its segment's pages now, to write the measurement list
        // into them at kexec time (machine_kexec_post_load() ran at the end
        // of the copy).
        #[cfg(CONFIG_IMA_KEXEC)]
        if !crash {
            // SAFETY: the image is complete; IMA keeps the mapping until the
            // next load or the reboot, as in C.
            unsafe { bindings::kexec_rust_ima_kexec_post_load(image.as_ptr()) };
        }
        dprintk!(
            "kexec_file: kexec_file_load: type:{}, start:0x{:x} head:0x{:x} flags:0x{:x}\n",
            image.c().type_(),
            image.c().start,
            image.c().head,
            req.flags
        );
        Ok(())
    })();
    post_load_cleanup(&mut image);
    ret.map(|()| image)
}

/// kexec_file_load(2).
pub(crate) fn file_load(req: Request) -> Result {
    let crash = req.flags & ON_CRASH != 0;
    let image_type = if crash {
        KEXEC_TYPE_CRASH
    } else {
        bindings::KEXEC_TYPE_DEFAULT
    };
    // Uses up one load of the limit, whatever happens next.
    if !state::load_permitted(image_type) {
        return Err(EPERM);
    }
    if req.flags & !KNOWN != 0 {
        return Err(EINVAL);
    }
    let mut lock = KexecLock::try_lock().ok_or(EBUSY)?;
    let _debug = DebugOutput;
    let slot = state::slot(crash);
    if crash && slot.is_loaded() {
        // SAFETY: we hold the kexec lock; the reservation is made writable while
        // a crash image is replaced, and protected again below.
        unsafe { bindings::kexec_rust_arch_unprotect_crashkres() };
    }
    let ret = if req.flags & UNLOAD != 0 {
        drop(slot.replace(&mut lock, None));
        Ok(())
    } else {
        if crash {
            // The new crash kernel is written straight into the reservation: the
            // old one is gone from here on, even if this load fails.
            drop(slot.replace(&mut lock, None));
        }
        build(&req, crash, &lock).map(|image| {
            // Install the new image; the old one (if any) is freed.
            drop(slot.replace(&mut lock, Some(image)));
        })
    };
    if crash && slot.is_loaded() {
        // SAFETY: we hold the kexec lock.
        unsafe { bindings::kexec_rust_arch_protect_crashkres() };
    }
    ret
}

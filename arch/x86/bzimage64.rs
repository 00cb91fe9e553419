// SPDX-License-Identifier: GPL-2.0

//! The x86_64 bzImage loader of kexec_file_load, in place of
//! arch/x86/kernel/kexec-bzimage64.c: the memory side of [`crate::bzimage`].
//!
//! [`probe`] applies the format rules to the file. [`load`] then places, in
//! the kernel's order, the crash ELF core header (crash images; crash.c
//! builds it), the purgatory, one buffer for the boot parameters, the command
//! line, the EFI memory map and the setup_data items, the kernel (the file
//! after its real-mode part) and the initrd; it fills the boot parameters from
//! the running kernel's (the e820 map, or for a crash image the memory the
//! capture kernel may use; screen, ACPI, EFI and EDD information; an RNG
//! seed) and points the purgatory's entry registers at the new kernel. The
//! pure module decides every size, offset and stored value; this file only
//! copies what the running kernel has.

use super::place;
use super::purgatory;
pub(crate) use crate::bzimage::Header;
use crate::bzimage::{self, params, Machine, ParamsLayout};
use crate::kexec::image::Kimage;
use kernel::alloc::KVVec;
use kernel::bindings;
use kernel::prelude::*;

fn refused(r: bzimage::Refusal) -> Error {
    Error::from_errno(-r.errno())
}

/// Logs a refusal: the C loader's line, word for word (users and scripts
/// grep for it), then what exactly was wrong.
fn log_refusal(r: bzimage::Refusal) {
    let stock = r.stock_message().unwrap_or("refused");
    if r == bzimage::Refusal::Efi32 {
        pr_debug!("kexec-bzImage64: {}\n", stock);
    } else {
        pr_err!("kexec-bzImage64: {}\n", stock);
        pr_err!("kexec_file_load refused: {}\n", format_args!("{r}"));
    }
}

/// What the probe needs to know about the running kernel.
fn machine() -> Machine {
    // SAFETY: the helpers read boot-time flags.
    unsafe {
        Machine {
            efi_runtime_services: efi::runtime_services(),
            efi_64bit: efi::is_64bit(),
            five_level_paging: bindings::kexec_rust_pgtable_l5_enabled(),
        }
    }
}

/// Whether `file` is a bzImage this kernel can load (`bzImage64_probe`);
/// `ENOEXEC`, logged with the rule, if not.
pub(crate) fn probe(file: &[u8]) -> Result<Header> {
    Header::probe(file, &machine()).map_err(|r| {
        log_refusal(r);
        refused(r)
    })
}

/// What the loader leaves for the rest of the load: the purgatory (for the
/// digest) and the boot parameters buffer (a segment's data until the
/// segments are copied).
pub(crate) struct Loaded {
    pub(crate) purgatory: purgatory::Loaded,
    _params: KVVec<u8>,
}

/// The running kernel's `boot_params`, as bytes (its layout is the boot
/// protocol's, Documentation/arch/x86/zero-page.rst).
fn running_params() -> &'static [u8] {
    // SAFETY: `boot_params` is a 4096-byte structure set up at boot and only
    // read afterwards.
    unsafe {
        core::slice::from_raw_parts(
            bindings::kexec_rust_boot_params().cast::<u8>(),
            params::SIZE,
        )
    }
}

fn le(bytes: &[u8], at: usize, width: usize) -> u64 {
    bytes[at..at + width]
        .iter()
        .rev()
        .fold(0, |v, &b| (v << 8) | u64::from(b))
}

/// Offsets in `struct boot_params` of what is copied whole.
mod zp {
    /// `screen_info`, 64 bytes.
    pub(super) const SCREEN_INFO: usize = 0x000;
    pub(super) const SCREEN_INFO_LEN: usize = 0x40;
    /// `e820_entries`.
    pub(super) const E820_ENTRIES: usize = 0x1e8;
    /// `eddbuf_entries`.
    pub(super) const EDDBUF_ENTRIES: usize = 0x1e9;
    /// `edd_mbr_sig_buffer`, 16 u32.
    pub(super) const EDD_MBR_SIG_BUFFER: usize = 0x290;
    pub(super) const EDD_MBR_SIG_BUFFER_LEN: usize = 64;
    /// `e820_table`: 128 packed entries of 20 bytes.
    pub(super) const E820_TABLE: usize = 0x2d0;
    pub(super) const E820_ENTRY_LEN: usize = 20;
    /// `eddbuf`: 6 `edd_info` of 82 bytes.
    pub(super) const EDDBUF: usize = 0xd00;
    pub(super) const EDDBUF_LEN: usize = 492;
    /// `efi_info.efi_memmap_size`.
    pub(super) const EFI_MEMMAP_SIZE: usize = 0x1d4;
}

/// Copies `len` bytes at `at` from the running kernel's boot parameters.
fn inherit(buf: &mut [u8], at: usize, len: usize) {
    buf[at..at + len].copy_from_slice(&running_params()[at..at + len]);
}

/// The e820 entries the buffer holds, as the pure logic takes them.
fn e820_of(buf: &[u8]) -> KVVec<bzimage::E820Entry> {
    let n = usize::from(buf[zp::E820_ENTRIES]).min(bzimage::E820_MAX_ENTRIES_ZEROPAGE);
    let mut v = KVVec::with_capacity(n, GFP_KERNEL).unwrap_or_default();
    for i in 0..n {
        let at = zp::E820_TABLE + i * zp::E820_ENTRY_LEN;
        let e = bzimage::E820Entry {
            addr: le(buf, at, 8),
            size: le(buf, at + 8, 8),
            kind: le(buf, at + 16, 4) as u32,
        };
        dprintk!(
            "kexec-bzImage64: {:016x}-{:016x} ({})\n",
            e.addr,
            e.addr.wrapping_add(e.size).wrapping_sub(1),
            e.kind
        );
        // Capacity for 128 entries was asked for below; a failed push only
        // leaves an entry out of the memory size hint.
        let _ = v.push(e, GFP_KERNEL);
    }
    v
}

/// The normal image's memory map: the first 128 entries of the kexec e820 table.
fn copy_e820_kexec(buf: &mut [u8]) {
    // SAFETY: `e820_table_kexec` is a `struct e820_table` (a u32 count, then
    // packed 20-byte entries) set up at boot, which kexec only reads.
    let table = unsafe { bindings::kexec_rust_e820_table_kexec().cast::<u8>() };
    // SAFETY: the count is the table's first field.
    let nr = unsafe { table.cast::<u32>().read_unaligned() } as usize;
    let n = nr.min(bzimage::E820_MAX_ENTRIES_ZEROPAGE);
    let len = n * zp::E820_ENTRY_LEN;
    // SAFETY: the table holds at least `nr` entries after the count.
    let src = unsafe { core::slice::from_raw_parts(table.add(4), len) };
    buf[zp::E820_TABLE..zp::E820_TABLE + len].copy_from_slice(src);
    buf[zp::E820_ENTRIES] = n as u8;
}

/// The EFI state the running kernel hands on, when it has runtime services
/// and a memory map.
#[cfg(CONFIG_EFI)]
mod efi {
    use kernel::bindings;

    pub(super) fn runtime_services() -> bool {
        // SAFETY: reads a boot-time flag.
        unsafe { bindings::kexec_rust_efi_runtime_services() }
    }

    pub(super) fn is_64bit() -> bool {
        // SAFETY: reads a boot-time flag.
        unsafe { bindings::kexec_rust_efi_64bit() }
    }

    /// `efi.acpi20` and `efi.acpi`.
    pub(super) fn acpi_tables() -> Option<(u64, u64)> {
        // SAFETY: boot-time values.
        unsafe {
            Some((
                bindings::kexec_rust_efi_acpi20() as u64,
                bindings::kexec_rust_efi_acpi() as u64,
            ))
        }
    }

    /// `efi_get_runtime_map_size()`.
    pub(super) fn map_size() -> u32 {
        // SAFETY: reads the runtime map's size.
        unsafe { bindings::kexec_rust_efi_runtime_map_size() }.max(0) as u32
    }

    /// Copies the runtime map into `dst` (`efi_runtime_map_copy`).
    pub(super) fn copy_map(dst: &mut [u8]) {
        // SAFETY: `dst` is writable for its length.
        unsafe { bindings::kexec_rust_efi_runtime_map_copy(dst.as_mut_ptr().cast(), dst.len()) };
    }

    /// The running kernel's EFI state, `running` being its boot parameters.
    pub(super) fn state(running: &[u8]) -> Option<crate::bzimage::EfiState> {
        use super::{le, params, zp};
        if !runtime_services() || le(running, zp::EFI_MEMMAP_SIZE, 4) == 0 {
            return None;
        }
        let systab =
            le(running, params::EFI_SYSTAB, 4) | (le(running, params::EFI_SYSTAB_HI, 4) << 32);
        // SAFETY: boot-time values.
        unsafe {
            Some(crate::bzimage::EfiState {
                loader_signature: le(running, params::EFI_LOADER_SIGNATURE, 4) as u32,
                systab,
                memdesc_version: le(running, params::EFI_MEMDESC_VERSION, 4) as u32,
                memdesc_size: bindings::kexec_rust_efi_runtime_map_desc_size().max(0) as u32,
                secure_boot: running[params::SECURE_BOOT],
                fw_vendor: bindings::kexec_rust_efi_fw_vendor() as u64,
                tables: bindings::kexec_rust_efi_config_tables() as u64,
                smbios: bindings::kexec_rust_efi_smbios() as u64,
            })
        }
    }
}

#[cfg(not(CONFIG_EFI))]
mod efi {
    pub(super) fn runtime_services() -> bool {
        false
    }
    pub(super) fn is_64bit() -> bool {
        false
    }
    pub(super) fn acpi_tables() -> Option<(u64, u64)> {
        None
    }
    pub(super) fn map_size() -> u32 {
        0
    }
    pub(super) fn copy_map(_dst: &mut [u8]) {}
    pub(super) fn state(_running: &[u8]) -> Option<crate::bzimage::EfiState> {
        None
    }
}

/// Where IMA's segment went and its size, if it added one.
#[cfg(CONFIG_IMA_KEXEC)]
fn ima_buffer(image: &Kimage) -> Option<(u64, u64)> {
    let c = image.c();
    Some((c.ima_buffer_addr, c.ima_buffer_size as u64))
}

#[cfg(not(CONFIG_IMA_KEXEC))]
fn ima_buffer(_image: &Kimage) -> Option<(u64, u64)> {
    None
}

/// The kexec handover metadata, once KHO put both its FDT and its scratch
/// segment in the image.
fn kho_state(image: &Kimage) -> Option<bzimage::KhoState> {
    let kho = &image.c().kho;
    if kho.fdt == 0 || kho.scratch.is_null() {
        return None;
    }
    // SAFETY: `scratch` points into this image's segment table (KHO took the
    // segment it had just added).
    let scratch = unsafe { &*kho.scratch };
    Some(bzimage::KhoState {
        fdt: kho.fdt,
        scratch_addr: scratch.mem as u64,
        scratch_size: scratch.bufsz as u64,
    })
}

/// Adds `kbuf` to the image and returns where it went.
fn add(image: &mut Kimage, mut kbuf: bindings::kexec_buf) -> Result<(u64, u64)> {
    place::add(image, &mut kbuf)?;
    Ok((kbuf.mem as u64, kbuf.memsz as u64))
}

/// Builds the image's segments (`bzImage64_load`): `kernel` is the file the
/// probe accepted as `header`, `cmdline` the user's (with its NUL, or empty).
pub(crate) fn load(
    image: &mut Kimage,
    header: &Header,
    file: &[u8],
    initrd: Option<&[u8]>,
    cmdline: &[u8],
) -> Result<Loaded> {
    header.check_load(cmdline.len() as u64).map_err(|r| {
        log_refusal(r);
        refused(r)
    })?;
    let crash = image.is_crash();
    if crash {
        // crash.c builds the ELF core header and places it (bottom-up in the
        // reservation) through our kexec_add_buffer.
        // SAFETY: the image is being built by this call, under the kexec lock;
        // crash.c uses it only during the call.
        kernel::error::to_result(unsafe {
            bindings::kexec_rust_crash_load_segments(image.as_ptr())
        })?;
    }

    let pbuf = place::kbuf(
        core::ptr::null(),
        0,
        0,
        1,
        bzimage::MIN_PURGATORY_ADDR,
        u64::MAX,
        true,
    );
    let mut purgatory = purgatory::Loaded::load(image, pbuf).inspect_err(|_| {
        pr_err!("kexec-bzImage64: Loading purgatory failed\n");
    })?;
    dprintk!(
        "kexec-bzImage64: Loaded purgatory at {:#x}\n",
        purgatory.mem()
    );

    let efi_map_size = efi::map_size();
    let features = bzimage::Features {
        efi: cfg!(CONFIG_EFI),
        dtb_size: None,
        ima_kexec: cfg!(CONFIG_IMA_KEXEC),
        kexec_handover: cfg!(CONFIG_KEXEC_HANDOVER),
    };
    // check_load() bounded the length by cmdline_size, a u32.
    let layout = ParamsLayout::new(cmdline.len() as u32, false, efi_map_size, &features);
    let size = usize::try_from(layout.bufsz).map_err(|_| ENOMEM)?;
    let mut buf = KVVec::<u8>::from_elem(0, size, GFP_KERNEL)?;
    let hdr_range = header.setup_header_range();
    buf[hdr_range.clone()].copy_from_slice(&file[hdr_range]);

    let pb = layout.buffer();
    let (params_at, params_memsz) = add(
        image,
        place::kbuf(
            buf.as_ptr(),
            size,
            pb.memsz,
            pb.placement.align,
            pb.placement.min,
            pb.placement.max,
            pb.placement.top_down,
        ),
    )?;
    dprintk!(
        "kexec-bzImage64: Loaded boot_param, command line and misc at {:#x} bufsz={:#x} memsz={:#x}\n",
        params_at,
        size,
        params_memsz
    );

    let kb = header.kernel_buffer();
    let payload = &file[kb.offset as usize..];
    let (kernel_at, kernel_memsz) = add(
        image,
        place::kbuf(
            payload.as_ptr(),
            payload.len(),
            kb.memsz,
            kb.placement.align,
            kb.placement.min,
            kb.placement.max,
            kb.placement.top_down,
        ),
    )?;
    dprintk!(
        "kexec-bzImage64: Loaded 64bit kernel at {:#x} bufsz={:#x} memsz={:#x}\n",
        kernel_at,
        payload.len(),
        kernel_memsz
    );

    let initrd_at = match initrd {
        Some(data) => {
            let ib = bzimage::initrd_buffer(data.len() as u64);
            let (at, _) = add(
                image,
                place::kbuf(
                    data.as_ptr(),
                    data.len(),
                    ib.memsz,
                    ib.placement.align,
                    ib.placement.min,
                    ib.placement.max,
                    ib.placement.top_down,
                ),
            )?;
            dprintk!(
                "kexec-bzImage64: Loaded initrd at {:#x} bufsz={:#x} memsz={:#x}\n",
                at,
                data.len(),
                data.len()
            );
            Some((at, data.len() as u64))
        }
        None => None,
    };

    // The command line, with the capture kernel's elfcorehdr= first.
    let prefix = crash.then(|| bzimage::CrashPrefix {
        elfcorehdr: image.c().elf_load_addr as u64,
        dm_crypt_keys: 0,
    });
    let area = layout.cmdline_range();
    let n = bzimage::compose_cmdline(
        &mut buf[area.start as usize..area.end as usize],
        prefix.as_ref(),
        cmdline,
    )
    .map_err(|e| {
        pr_err!("kexec-bzImage64: command line: {}\n", format_args!("{e}"));
        EINVAL
    })?;
    if crate::kexec::state::kexec_file_dbg_print.load(kernel::sync::atomic::ordering::Relaxed) {
        let text = &buf[area.start as usize..area.start as usize + n.saturating_sub(1)];
        // As `%s` prints it: up to the first NUL.
        let text = text.split(|&b| b == 0).next().unwrap_or(&[]);
        pr_info!(
            "kexec-bzImage64: Final command line is: {}\n",
            kernel::str::BStr::from_bytes(text)
        );
    }

    // The purgatory enters the kernel's 64-bit entry with boot_params in rsi.
    let mut raw = [0u8; core::mem::size_of::<bindings::kexec_entry64_regs>()];
    purgatory.get("entry64_regs", &mut raw)?;
    let stack_end = purgatory.symbol_addr("stack_end").inspect_err(|_| {
        pr_err!("kexec-bzImage64: Could not find address of symbol stack_end\n");
    })?;
    let regs = bzimage::entry_regs(params_at, kernel_at, stack_end);
    for (field, value) in [
        (
            core::mem::offset_of!(bindings::kexec_entry64_regs, rbx),
            regs.rbx,
        ),
        (
            core::mem::offset_of!(bindings::kexec_entry64_regs, rsi),
            regs.rsi,
        ),
        (
            core::mem::offset_of!(bindings::kexec_entry64_regs, rip),
            regs.rip,
        ),
        (
            core::mem::offset_of!(bindings::kexec_entry64_regs, rsp),
            regs.rsp,
        ),
    ] {
        raw[field..field + 8].copy_from_slice(&value.to_le_bytes());
    }
    purgatory.set("entry64_regs", &raw)?;

    // What the running kernel hands on, then the loader's own fields. The
    // screen is the one the kernel uses now (firmware quirks and moved PCI
    // bars may have changed it since boot), not boot_params' copy.
    // SAFETY: `sysfb_primary_display.screen` is a 64-byte `struct screen_info`
    // the kernel set up at boot; kexec only reads it.
    let screen = unsafe {
        core::slice::from_raw_parts(
            bindings::kexec_rust_screen_info().cast::<u8>(),
            zp::SCREEN_INFO_LEN,
        )
    };
    buf[zp::SCREEN_INFO..zp::SCREEN_INFO + zp::SCREEN_INFO_LEN].copy_from_slice(screen);
    if crash {
        // SAFETY: `buf` is a zeroed `struct boot_params` (it is at least 4096
        // bytes); crash.c writes its e820 table from the reservation and the
        // ELF core header's place in `image`.
        kernel::error::to_result(unsafe {
            bindings::kexec_rust_crash_setup_memmap_entries(image.as_ptr(), buf.as_mut_ptr().cast())
        })?;
    } else {
        copy_e820_kexec(&mut buf);
    }
    dprintk!("kexec-bzImage64: E820 memmap:\n");
    let e820 = e820_of(&buf);
    let running = running_params();
    let inherited = bzimage::Inherited {
        hardware_subarch: le(running, bzimage::hdr::HARDWARE_SUBARCH, 4) as u32,
        acpi_rsdp_addr: bzimage::acpi_rsdp_addr(
            le(running, params::ACPI_RSDP_ADDR, 8),
            efi::acpi_tables(),
        ),
        mem_k: bzimage::mem_k(&e820),
        efi: efi::state(running),
        ima: ima_buffer(image),
        kho: kho_state(image),
        // SAFETY: reads the RNG's state.
        rng_seeded: unsafe { bindings::rng_is_initialized() },
    };
    if inherited.efi.is_some() && layout.efi_map_size != 0 {
        let at = layout.efi_map_offset as usize;
        efi::copy_map(&mut buf[at..at + layout.efi_map_size as usize]);
    }
    if inherited.rng_seeded {
        let at = (layout.rng + bzimage::SETUP_DATA_HEADER) as usize;
        let seed = &mut buf[at..at + bzimage::RNG_SEED_LEN as usize];
        // SAFETY: `seed` is writable for its length.
        unsafe { bindings::get_random_bytes(seed.as_mut_ptr().cast(), seed.len()) };
    }
    inherit(&mut buf, zp::EDDBUF, zp::EDDBUF_LEN);
    inherit(&mut buf, zp::EDDBUF_ENTRIES, 1);
    inherit(&mut buf, zp::EDD_MBR_SIG_BUFFER, zp::EDD_MBR_SIG_BUFFER_LEN);
    let at = bzimage::Addresses {
        params: params_at,
        kernel: kernel_at,
        initrd: initrd_at,
    };
    bzimage::boot_params_writes(header, &layout, &at, &inherited)
        .apply(&mut buf)
        .map_err(|w| {
            pr_err!(
                "kexec-bzImage64: boot_params store at {:#x} outside the buffer\n",
                w.offset
            );
            EINVAL
        })?;
    Ok(Loaded {
        purgatory,
        _params: buf,
    })
}

// SPDX-License-Identifier: GPL-2.0

//! The x86_64 bzImage loader of kexec_file_load, without the parts that touch
//! memory.
//!
//! kexec_file_load reads the new kernel's file into a buffer, asks each loader
//! of the arch whether the file is in its format, and lets the one that says
//! yes lay the image out. On x86_64 there is one loader, bzImage64
//! (arch/x86/kernel/kexec-bzimage64.c). This module is its pure half:
//!
//! - [`Header::probe`] applies the probe's format rules to the file's bytes and
//!   keeps the setup header fields the loader reads later;
//! - [`check_cmdline`] is the rule kexec_file.c applies to the command line it
//!   copies from userspace, and [`Header::check_load`] and
//!   [`Header::check_dm_crypt_keys`] are the rules the loader applies before it
//!   places anything; [`check`] runs the first three in the kernel's order;
//! - [`Header::kernel_buffer`], [`initrd_buffer`], [`ParamsLayout`] and
//!   [`PURGATORY`] describe the buffers the loader adds to the image: where
//!   their bytes come from, their sizes, and the bounds and alignment each is
//!   placed with;
//! - [`compose_cmdline`], [`boot_params_writes`] and [`entry_regs`] give the
//!   contents of the boot_params buffer and the purgatory's entry registers
//!   once the addresses are chosen, so that the kernel side only copies.
//!
//! The rules keep the kernel's order and errno, so a file that breaks several
//! gets the same answer. The layout reproduces the kernel's arithmetic, oddities
//! included (they are pointed out where they happen): a port that lays the
//! buffer out differently would hand the next kernel a different boot_params.
//!
//! Pure logic: no allocation and no kernel dependency; tested on the host
//! (tools/logic). The kernel side is arch/x86/bzimage64.rs of the overlay
//! (`CONFIG_KEXEC_RUST_FILE`).

use core::fmt;
use core::ops::Range;

/// `ENOEXEC`: the file is not an image this loader can load.
pub const ENOEXEC: i32 = 8;
/// `EINVAL`.
pub const EINVAL: i32 = 22;

/// The page size segments are placed with.
pub const PAGE_SIZE: u64 = 4096;

/// The size of a sector of the real-mode part.
pub const SECTOR_SIZE: u64 = 512;

/// The shortest file the probe accepts: a boot sector and one setup sector.
pub const MIN_FILE_LEN: u64 = 2 * SECTOR_SIZE;

/// What a `setup_sects` of 0 stands for (Documentation/arch/x86/boot.rst).
pub const DEFAULT_SETUP_SECTS: u64 = 4;

/// The boot protocol magic at [`hdr::HEADER`].
pub const MAGIC: [u8; 4] = *b"HdrS";

/// The boot sector signature at [`hdr::BOOT_FLAG`].
pub const BOOT_FLAG: u16 = 0xaa55;

/// The oldest boot protocol the loader accepts, 2.12: the first with
/// `xloadflags`.
pub const MIN_VERSION: u16 = 0x020c;

/// The boot protocol version from which `kernel_info_offset` is defined, 2.15.
pub const KERNEL_INFO_VERSION: u16 = 0x020f;

/// `loadflags`: the protected-mode code is loaded at 0x100000 (a bzImage).
pub const LOADED_HIGH: u8 = 1 << 0;

/// `xloadflags`: the kernel has the 64-bit entry point at 0x200.
pub const XLF_KERNEL_64: u16 = 1 << 0;
/// `xloadflags`: kernel, boot_params, command line and initrd may be above 4G.
pub const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;
/// `xloadflags`: the kernel has the 32-bit EFI handover entry point.
pub const XLF_EFI_HANDOVER_32: u16 = 1 << 2;
/// `xloadflags`: the kernel has the 64-bit EFI handover entry point.
pub const XLF_EFI_HANDOVER_64: u16 = 1 << 3;
/// `xloadflags`: the kernel supports kexec with EFI runtime services. The
/// loader does not check it.
pub const XLF_EFI_KEXEC: u16 = 1 << 4;
/// `xloadflags`: the kernel can boot with 5-level paging enabled.
pub const XLF_5LEVEL: u16 = 1 << 5;

/// Offsets of the `struct setup_header` fields the loader reads or writes.
///
/// The header sits at 0x1f1 both in the file and in `struct boot_params`, so
/// each offset is good for both. They follow from the packed `struct
/// setup_header` in arch/x86/include/uapi/asm/bootparam.h (the
/// `offsetof(struct boot_params, hdr)` of 0x1f1 plus the sizes of the fields
/// before it) and agree with the table in Documentation/arch/x86/boot.rst.
pub mod hdr {
    /// `offsetof(struct boot_params, hdr)`: where the setup header starts.
    pub const START: usize = 0x1f1;
    /// `setup_sects`, u8: sectors of setup code after the boot sector.
    pub const SETUP_SECTS: usize = 0x1f1;
    /// `boot_flag`, u16: the boot sector signature 0xaa55.
    pub const BOOT_FLAG: usize = 0x1fe;
    /// `jump`, u16: a short jump (0xeb, then its offset from 0x202). The offset
    /// byte, at 0x201, doubles as the length of the header after 0x202.
    pub const JUMP: usize = 0x200;
    /// The offset byte of `jump`.
    pub const JUMP_OFFSET: usize = 0x201;
    /// `header`, 4 bytes: "HdrS".
    pub const HEADER: usize = 0x202;
    /// `version`, u16: the boot protocol version, major in the high byte.
    pub const VERSION: usize = 0x206;
    /// `type_of_loader`, u8: written by the loader.
    pub const TYPE_OF_LOADER: usize = 0x210;
    /// `loadflags`, u8.
    pub const LOADFLAGS: usize = 0x211;
    /// `code32_start`, u32: the 32-bit entry point.
    pub const CODE32_START: usize = 0x214;
    /// `ramdisk_image`, u32: the initrd's address, low half.
    pub const RAMDISK_IMAGE: usize = 0x218;
    /// `ramdisk_size`, u32: the initrd's size, low half.
    pub const RAMDISK_SIZE: usize = 0x21c;
    /// `cmd_line_ptr`, u32: the command line's address, low half.
    pub const CMD_LINE_PTR: usize = 0x228;
    /// `kernel_alignment`, u32: the alignment the kernel wants.
    pub const KERNEL_ALIGNMENT: usize = 0x230;
    /// `relocatable_kernel`, u8.
    pub const RELOCATABLE_KERNEL: usize = 0x234;
    /// `min_alignment`, u8: the least alignment the kernel needs, as a power
    /// of two.
    pub const MIN_ALIGNMENT: usize = 0x235;
    /// `xloadflags`, u16.
    pub const XLOADFLAGS: usize = 0x236;
    /// `cmdline_size`, u32: the longest command line, without its NUL.
    pub const CMDLINE_SIZE: usize = 0x238;
    /// `hardware_subarch`, u32: written by the loader.
    pub const HARDWARE_SUBARCH: usize = 0x23c;
    /// `setup_data`, u64: the head of the `struct setup_data` list.
    pub const SETUP_DATA: usize = 0x250;
    /// `pref_address`, u64: the preferred load address.
    pub const PREF_ADDRESS: usize = 0x258;
    /// `init_size`, u32: memory the kernel needs from its start before it can
    /// read its memory map.
    pub const INIT_SIZE: usize = 0x260;
    /// `handover_offset`, u32: the EFI handover entry point's offset.
    pub const HANDOVER_OFFSET: usize = 0x264;
    /// `kernel_info_offset`, u32: where `kernel_info` is (protocol 2.15+).
    pub const KERNEL_INFO_OFFSET: usize = 0x268;
    /// The end of `struct setup_header` (its size is 0x7b).
    pub const END: usize = 0x26c;
}

/// Offsets of the `struct boot_params` fields outside the setup header that
/// the loader writes, from the offsets annotated in
/// arch/x86/include/uapi/asm/bootparam.h (`struct efi_info` at 0x1c0 holds
/// eight u32s; `ext_mem_k` is at 0x02 in `struct screen_info`).
pub mod params {
    /// `screen_info.ext_mem_k`, u16: KiB of memory above 1M, at most 0xfc00.
    pub const EXT_MEM_K: usize = 0x002;
    /// `acpi_rsdp_addr`, u64.
    pub const ACPI_RSDP_ADDR: usize = 0x070;
    /// `ext_ramdisk_image`, u32: the initrd's address, high half.
    pub const EXT_RAMDISK_IMAGE: usize = 0x0c0;
    /// `ext_ramdisk_size`, u32: the initrd's size, high half.
    pub const EXT_RAMDISK_SIZE: usize = 0x0c4;
    /// `ext_cmd_line_ptr`, u32: the command line's address, high half.
    pub const EXT_CMD_LINE_PTR: usize = 0x0c8;
    /// `efi_info.efi_loader_signature`, u32.
    pub const EFI_LOADER_SIGNATURE: usize = 0x1c0;
    /// `efi_info.efi_systab`, u32: the EFI system table, low half.
    pub const EFI_SYSTAB: usize = 0x1c4;
    /// `efi_info.efi_memdesc_size`, u32.
    pub const EFI_MEMDESC_SIZE: usize = 0x1c8;
    /// `efi_info.efi_memdesc_version`, u32.
    pub const EFI_MEMDESC_VERSION: usize = 0x1cc;
    /// `efi_info.efi_memmap`, u32: the EFI memory map, low half.
    pub const EFI_MEMMAP: usize = 0x1d0;
    /// `efi_info.efi_memmap_size`, u32.
    pub const EFI_MEMMAP_SIZE: usize = 0x1d4;
    /// `efi_info.efi_systab_hi`, u32: the EFI system table, high half.
    pub const EFI_SYSTAB_HI: usize = 0x1d8;
    /// `efi_info.efi_memmap_hi`, u32: the EFI memory map, high half.
    pub const EFI_MEMMAP_HI: usize = 0x1dc;
    /// `alt_mem_k`, u32: KiB of memory above 1M.
    pub const ALT_MEM_K: usize = 0x1e0;
    /// `secure_boot`, u8.
    pub const SECURE_BOOT: usize = 0x1ec;
    /// `sizeof(struct boot_params)`: the zero page.
    pub const SIZE: usize = 0x1000;
}

/// `sizeof(struct setup_data)`: the `next`, `type` and `len` before each item's
/// data.
pub const SETUP_DATA_HEADER: u64 = 16;
/// `sizeof(struct efi_setup_data)` (arch/x86/include/asm/setup_data.h).
pub const EFI_SETUP_DATA_LEN: u32 = 96;
/// `sizeof(struct ima_setup_data)`.
pub const IMA_SETUP_DATA_LEN: u32 = 16;
/// `sizeof(struct kho_data)`.
pub const KHO_DATA_LEN: u32 = 32;
/// `RNG_SEED_LENGTH`: bytes of seed the loader passes.
pub const RNG_SEED_LEN: u32 = 32;

/// `SETUP_DTB`: a device tree blob.
pub const SETUP_DTB: u32 = 2;
/// `SETUP_EFI`: a `struct efi_setup_data`.
pub const SETUP_EFI: u32 = 4;
/// `SETUP_IMA`: where the IMA measurement list is.
pub const SETUP_IMA: u32 = 8;
/// `SETUP_RNG_SEED`: random bytes for the next kernel's pool.
pub const SETUP_RNG_SEED: u32 = 9;
/// `SETUP_KEXEC_KHO`: where the kexec handover metadata is.
pub const SETUP_KEXEC_KHO: u32 = 10;

/// `MAX_ELFCOREHDR_STR_LEN`: room for "elfcorehdr=0x<16 digits> ".
pub const MAX_ELFCOREHDR_STR_LEN: u64 = 30;
/// `MAX_DMCRYPTKEYS_STR_LEN`: room for "dmcryptkeys=0x<16 digits> ".
pub const MAX_DMCRYPTKEYS_STR_LEN: u64 = 31;

/// The lowest address of the purgatory.
pub const MIN_PURGATORY_ADDR: u64 = 0x3000;
/// The lowest address of the boot_params buffer.
pub const MIN_BOOTPARAM_ADDR: u64 = 0x3000;
/// The lowest address of the kernel.
pub const MIN_KERNEL_LOAD_ADDR: u64 = 0x10_0000;
/// The lowest address of the initrd.
pub const MIN_INITRD_LOAD_ADDR: u64 = 0x100_0000;

/// The loader's `type_of_loader`: boot loader ID 0xd (kexec-tools) in the high
/// nibble, version 0.
pub const TYPE_OF_LOADER_KEXEC: u8 = 0xd << 4;

/// The 64-bit entry point's offset from the start of the protected-mode part.
pub const ENTRY_64_OFFSET: u64 = 0x200;

/// `E820_MAX_ENTRIES_ZEROPAGE`: the e820 entries boot_params holds.
pub const E820_MAX_ENTRIES_ZEROPAGE: usize = 128;
/// `E820_TYPE_RAM`.
pub const E820_TYPE_RAM: u32 = 1;

/// `EFI_INVALID_TABLE_ADDR`: an EFI table the firmware did not provide.
pub const EFI_INVALID_TABLE_ADDR: u64 = !0;

/// Why the loader refused a file or a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The file is shorter than a boot sector and one setup sector
    /// (bzImage64_probe).
    TooShort {
        /// The file's length.
        len: u64,
    },
    /// There is no "HdrS" at 0x202 (bzImage64_probe).
    NoMagic,
    /// The boot sector signature is not 0xaa55 (bzImage64_probe).
    NoBootFlag {
        /// The value at 0x1fe.
        found: u16,
    },
    /// The boot protocol is older than 2.12 (bzImage64_probe).
    OldProtocol {
        /// The file's protocol version.
        version: u16,
    },
    /// `loadflags` lacks `LOADED_HIGH`: a zImage (bzImage64_probe).
    NotLoadedHigh,
    /// `xloadflags` lacks `XLF_KERNEL_64` (bzImage64_probe).
    NoKernel64,
    /// `xloadflags` lacks `XLF_CAN_BE_LOADED_ABOVE_4G` (bzImage64_probe).
    NotAbove4G,
    /// The running kernel uses 32-bit EFI runtime services, which cannot reach
    /// a kernel above 4G (bzImage64_probe).
    Efi32,
    /// The running kernel uses 5-level paging and the file lacks `XLF_5LEVEL`
    /// (bzImage64_probe).
    No5Level,
    /// The command line's last byte is not a NUL
    /// (kimage_file_prepare_segments).
    CmdlineUnterminated {
        /// The last byte.
        last: u8,
    },
    /// The file is shorter than its real-mode part (bzImage64_load).
    Truncated {
        /// The file's length.
        len: u64,
        /// The real-mode part's size.
        kern16: u64,
    },
    /// The command line, with its NUL, is longer than `cmdline_size`
    /// (bzImage64_load).
    CmdlineTooLong {
        /// The command line's length with its NUL.
        len: u64,
        /// `cmdline_size`.
        max: u64,
    },
    /// No room left in `cmdline_size` for "elfcorehdr=0x<addr> "
    /// (bzImage64_load; checked for every image, not only crash ones).
    NoRoomForElfcorehdr {
        /// The command line's length with its NUL.
        len: u64,
        /// `cmdline_size`.
        max: u64,
    },
    /// No room left in `cmdline_size` for "dmcryptkeys=0x<addr> " as well
    /// (bzImage64_load, crash images with dm-crypt keys).
    NoRoomForDmCryptKeys {
        /// The command line's length with its NUL.
        len: u64,
        /// `cmdline_size`.
        max: u64,
    },
}

impl Refusal {
    /// What the C loader logs for this refusal (users and scripts grep for
    /// these), or `None` where it logs nothing.
    pub fn stock_message(&self) -> Option<&'static str> {
        Some(match self {
            Refusal::TooShort { .. } => "File is too short to be a bzImage",
            Refusal::NoMagic => "Not a bzImage",
            Refusal::NoBootFlag { .. } => "No x86 boot sector present",
            Refusal::OldProtocol { .. } => "Must be at least protocol version 2.12",
            Refusal::NotLoadedHigh => "zImage not a bzImage",
            Refusal::NoKernel64 => "Not a bzImage64. XLF_KERNEL_64 is not set.",
            Refusal::NotAbove4G => "XLF_CAN_BE_LOADED_ABOVE_4G is not set.",
            Refusal::Efi32 => "EFI is 32 bit. Can't load kernel above 4G.",
            Refusal::No5Level => "bzImage cannot handle 5-level paging mode.",
            Refusal::CmdlineUnterminated { .. } => return None,
            Refusal::Truncated { .. } => "bzImage truncated",
            Refusal::CmdlineTooLong { .. } => "Kernel command line too long",
            Refusal::NoRoomForElfcorehdr { .. } => {
                "Appending elfcorehdr=<addr> to command line exceeds maximum allowed length"
            }
            Refusal::NoRoomForDmCryptKeys { .. } => {
                "Appending dmcryptkeys=<addr> to command line exceeds maximum allowed length"
            }
        })
    }

    /// The (positive) errno the kernel returns for this refusal.
    pub fn errno(&self) -> i32 {
        match self {
            Refusal::TooShort { .. }
            | Refusal::NoMagic
            | Refusal::NoBootFlag { .. }
            | Refusal::OldProtocol { .. }
            | Refusal::NotLoadedHigh
            | Refusal::NoKernel64
            | Refusal::NotAbove4G
            | Refusal::Efi32
            | Refusal::No5Level
            | Refusal::Truncated { .. } => ENOEXEC,
            Refusal::CmdlineUnterminated { .. }
            | Refusal::CmdlineTooLong { .. }
            | Refusal::NoRoomForElfcorehdr { .. }
            | Refusal::NoRoomForDmCryptKeys { .. } => EINVAL,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::TooShort { len } => write!(
                f,
                "a bzImage is at least {MIN_FILE_LEN} bytes long, this file has {len}"
            ),
            Refusal::NoMagic => write!(f, "no \"HdrS\" magic at 0x202: not a bzImage"),
            Refusal::NoBootFlag { found } => write!(
                f,
                "boot sector signature is {found:#06x}, not {BOOT_FLAG:#06x}"
            ),
            Refusal::OldProtocol { version } => write!(
                f,
                "boot protocol {}.{:02} is older than 2.12",
                version >> 8,
                version & 0xff
            ),
            Refusal::NotLoadedHigh => write!(f, "loadflags lacks LOADED_HIGH: a zImage"),
            Refusal::NoKernel64 => write!(f, "xloadflags lacks XLF_KERNEL_64: no 64-bit entry"),
            Refusal::NotAbove4G => {
                write!(f, "xloadflags lacks XLF_CAN_BE_LOADED_ABOVE_4G")
            }
            Refusal::Efi32 => write!(
                f,
                "32-bit EFI runtime services cannot reach a kernel loaded above 4G"
            ),
            Refusal::No5Level => write!(f, "5-level paging is on and xloadflags lacks XLF_5LEVEL"),
            Refusal::CmdlineUnterminated { last } => {
                write!(f, "the command line's last byte is {last:#04x}, not a NUL")
            }
            Refusal::Truncated { len, kern16 } => write!(
                f,
                "the file ({len} bytes) is shorter than its real-mode part ({kern16} bytes)"
            ),
            Refusal::CmdlineTooLong { len, max } => write!(
                f,
                "the command line ({len} bytes) is longer than cmdline_size ({max})"
            ),
            Refusal::NoRoomForElfcorehdr { len, max } => write!(
                f,
                "the command line ({len} bytes) leaves no room for elfcorehdr= \
                 ({MAX_ELFCOREHDR_STR_LEN} bytes) within cmdline_size ({max})"
            ),
            Refusal::NoRoomForDmCryptKeys { len, max } => write!(
                f,
                "the command line ({len} bytes) leaves no room for elfcorehdr= and \
                 dmcryptkeys= ({} bytes) within cmdline_size ({max})",
                MAX_ELFCOREHDR_STR_LEN + MAX_DMCRYPTKEYS_STR_LEN
            ),
        }
    }
}

/// What the probe needs to know about the running kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Machine {
    /// `efi_enabled(EFI_RUNTIME_SERVICES)`.
    pub efi_runtime_services: bool,
    /// `efi_enabled(EFI_64BIT)`.
    pub efi_64bit: bool,
    /// `pgtable_l5_enabled()`.
    pub five_level_paging: bool,
}

/// Reads the little-endian value of `width` bytes at `offset`; bytes past the
/// end of `bytes` read as zero.
fn le(bytes: &[u8], offset: usize, width: usize) -> u64 {
    (0..width).fold(0, |value, i| {
        let byte = offset
            .checked_add(i)
            .and_then(|at| bytes.get(at))
            .copied()
            .unwrap_or(0);
        value | (u64::from(byte) << (8 * i))
    })
}

/// The setup header of a file the probe accepted.
///
/// # Invariants
///
/// The file was at least [`MIN_FILE_LEN`] bytes long, so every field was read
/// from the file; it had "HdrS", the boot sector signature, protocol 2.12 or
/// later, `LOADED_HIGH`, `XLF_KERNEL_64` and `XLF_CAN_BE_LOADED_ABOVE_4G`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    file_len: u64,
    setup_sects: u8,
    jump_offset: u8,
    version: u16,
    loadflags: u8,
    code32_start: u32,
    kernel_alignment: u32,
    relocatable_kernel: u8,
    min_alignment: u8,
    xloadflags: u16,
    cmdline_size: u32,
    copied_setup_data: u64,
    pref_address: u64,
    init_size: u32,
    handover_offset: u32,
    kernel_info_offset: u32,
}

impl Header {
    /// Applies bzImage64_probe's rules to `file`, in its order, and keeps the
    /// header fields the loader reads.
    pub fn probe(file: &[u8], machine: &Machine) -> Result<Header, Refusal> {
        let len = file.len() as u64;
        if len < MIN_FILE_LEN {
            return Err(Refusal::TooShort { len });
        }
        // From here on, every field read lies inside the file: the setup
        // header ends at 0x26c, below MIN_FILE_LEN.
        let field = |offset, width| le(file, offset, width);
        if file.get(hdr::HEADER..hdr::HEADER + MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(Refusal::NoMagic);
        }
        let boot_flag = field(hdr::BOOT_FLAG, 2) as u16;
        if boot_flag != BOOT_FLAG {
            return Err(Refusal::NoBootFlag { found: boot_flag });
        }
        let version = field(hdr::VERSION, 2) as u16;
        if version < MIN_VERSION {
            return Err(Refusal::OldProtocol { version });
        }
        let loadflags = field(hdr::LOADFLAGS, 1) as u8;
        if loadflags & LOADED_HIGH == 0 {
            return Err(Refusal::NotLoadedHigh);
        }
        let xloadflags = field(hdr::XLOADFLAGS, 2) as u16;
        if xloadflags & XLF_KERNEL_64 == 0 {
            return Err(Refusal::NoKernel64);
        }
        if xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G == 0 {
            return Err(Refusal::NotAbove4G);
        }
        if machine.efi_runtime_services && !machine.efi_64bit {
            return Err(Refusal::Efi32);
        }
        if xloadflags & XLF_5LEVEL == 0 && machine.five_level_paging {
            return Err(Refusal::No5Level);
        }
        let jump_offset = field(hdr::JUMP_OFFSET, 1) as u8;
        // The loader copies the setup header into boot_params before it links
        // its setup_data items in front of whatever `setup_data` holds then,
        // so the list ends in the file's value, as far as the copy reaches.
        let copy_end = Self::copy_range(jump_offset).end;
        let copied = file.get(..copy_end).unwrap_or(file);
        Ok(Header {
            file_len: len,
            setup_sects: field(hdr::SETUP_SECTS, 1) as u8,
            jump_offset,
            version,
            loadflags,
            code32_start: field(hdr::CODE32_START, 4) as u32,
            kernel_alignment: field(hdr::KERNEL_ALIGNMENT, 4) as u32,
            relocatable_kernel: field(hdr::RELOCATABLE_KERNEL, 1) as u8,
            min_alignment: field(hdr::MIN_ALIGNMENT, 1) as u8,
            xloadflags,
            cmdline_size: field(hdr::CMDLINE_SIZE, 4) as u32,
            copied_setup_data: le(copied, hdr::SETUP_DATA, 8),
            pref_address: field(hdr::PREF_ADDRESS, 8),
            init_size: field(hdr::INIT_SIZE, 4) as u32,
            handover_offset: field(hdr::HANDOVER_OFFSET, 4) as u32,
            kernel_info_offset: field(hdr::KERNEL_INFO_OFFSET, 4) as u32,
        })
    }

    /// Applies the rules bzImage64_load starts with, in its order: the file
    /// holds its whole real-mode part, and a command line of `cmdline_len`
    /// bytes (with its NUL, 0 for none) fits in `cmdline_size` with room to
    /// spare for "elfcorehdr=0x<addr> ".
    ///
    /// The room is demanded for every image, not only crash ones, and the
    /// length compared includes the NUL that `cmdline_size` does not count,
    /// so the first length check can never fail where the second would pass.
    pub fn check_load(&self, cmdline_len: u64) -> Result<(), Refusal> {
        let kern16 = self.kern16_size();
        if self.file_len < kern16 {
            return Err(Refusal::Truncated {
                len: self.file_len,
                kern16,
            });
        }
        let max = u64::from(self.cmdline_size);
        if cmdline_len > max {
            return Err(Refusal::CmdlineTooLong {
                len: cmdline_len,
                max,
            });
        }
        if cmdline_len.saturating_add(MAX_ELFCOREHDR_STR_LEN) > max {
            return Err(Refusal::NoRoomForElfcorehdr {
                len: cmdline_len,
                max,
            });
        }
        Ok(())
    }

    /// Applies the rule bzImage64_load adds for a crash image once its
    /// dm-crypt keys have been placed (`dm_crypt_keys_addr` is not 0): there
    /// is room for "dmcryptkeys=0x<addr> " as well. The crash segments are
    /// loaded between [`Header::check_load`] and this check, and their errors
    /// come first.
    pub fn check_dm_crypt_keys(&self, cmdline_len: u64) -> Result<(), Refusal> {
        let max = u64::from(self.cmdline_size);
        let need = cmdline_len
            .saturating_add(MAX_ELFCOREHDR_STR_LEN)
            .saturating_add(MAX_DMCRYPTKEYS_STR_LEN);
        if need > max {
            return Err(Refusal::NoRoomForDmCryptKeys {
                len: cmdline_len,
                max,
            });
        }
        Ok(())
    }

    /// The file's length.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// `setup_sects` as the file has it; see [`Header::setup_sects`].
    pub fn raw_setup_sects(&self) -> u8 {
        self.setup_sects
    }

    /// Sectors of setup code after the boot sector; a `setup_sects` of 0
    /// means 4.
    pub fn setup_sects(&self) -> u64 {
        match self.setup_sects {
            0 => DEFAULT_SETUP_SECTS,
            n => u64::from(n),
        }
    }

    /// Bytes of the real-mode part ("kern16"): the boot sector and the setup
    /// sectors. The protected-mode kernel follows it in the file.
    pub fn kern16_size(&self) -> u64 {
        (self.setup_sects() + 1) * SECTOR_SIZE
    }

    /// The boot protocol version, major in the high byte.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// `loadflags` as the file has it.
    pub fn loadflags(&self) -> u8 {
        self.loadflags
    }

    /// `xloadflags`.
    pub fn xloadflags(&self) -> u16 {
        self.xloadflags
    }

    /// Whether the kernel says it supports kexec with EFI runtime services
    /// (`XLF_EFI_KEXEC`). The loader passes the EFI state whether or not.
    pub fn efi_kexec(&self) -> bool {
        self.xloadflags & XLF_EFI_KEXEC != 0
    }

    /// `code32_start` as the file has it. The loader leaves it so: the 64-bit
    /// entry does not use it.
    pub fn code32_start(&self) -> u32 {
        self.code32_start
    }

    /// `kernel_alignment`: the alignment the kernel buffer is placed with
    /// (raised to a page). The loader trusts it to be a power of two.
    pub fn kernel_alignment(&self) -> u32 {
        self.kernel_alignment
    }

    /// `relocatable_kernel`. The loader does not check it.
    pub fn relocatable_kernel(&self) -> u8 {
        self.relocatable_kernel
    }

    /// `min_alignment`. The loader does not use it.
    pub fn min_alignment(&self) -> u8 {
        self.min_alignment
    }

    /// `cmdline_size`: the longest command line, without its NUL.
    pub fn cmdline_size(&self) -> u32 {
        self.cmdline_size
    }

    /// `pref_address`: the lowest address the kernel buffer is placed at, if
    /// it is above [`MIN_KERNEL_LOAD_ADDR`].
    pub fn pref_address(&self) -> u64 {
        self.pref_address
    }

    /// `init_size`: the kernel buffer's memory size, rounded up to a page.
    pub fn init_size(&self) -> u32 {
        self.init_size
    }

    /// `handover_offset`: the EFI handover entry point's offset in the
    /// protected-mode part. The loader enters at 0x200 instead.
    pub fn handover_offset(&self) -> u32 {
        self.handover_offset
    }

    /// `kernel_info_offset`, for protocol 2.15 and later. The loader does not
    /// read `kernel_info`.
    pub fn kernel_info_offset(&self) -> Option<u32> {
        (self.version >= KERNEL_INFO_VERSION).then_some(self.kernel_info_offset)
    }

    /// The `setup_data` that boot_params holds after the setup header copy:
    /// the file's, or the part of it the copy reaches, zero-filled.
    pub fn copied_setup_data(&self) -> u64 {
        self.copied_setup_data
    }

    fn copy_range(jump_offset: u8) -> Range<usize> {
        hdr::START..hdr::JUMP + 2 + usize::from(jump_offset)
    }

    /// The bytes the loader copies from the file into boot_params, at the same
    /// offsets: from 0x1f1 to 0x202 plus the jump's offset byte (taken
    /// unsigned, as the kernel builds with -funsigned-char). That is the setup
    /// header for the kernel's own `jump`, but the file decides: up to 0x301,
    /// past the end of the header into fields that the e820 and EDD copies
    /// overwrite afterwards. Always inside the file.
    pub fn setup_header_range(&self) -> Range<usize> {
        Self::copy_range(self.jump_offset)
    }

    /// The kernel buffer: the file after the real-mode part, in memory of
    /// `init_size` rounded up to a page, placed top-down at or above the
    /// greater of `pref_address` and [`MIN_KERNEL_LOAD_ADDR`].
    ///
    /// The rounding is done in 32 bits as the kernel does it, so an
    /// `init_size` above 0xfffff000 gives a memory size of 0; nothing in the
    /// loader checks that the memory size covers the file, which the segment
    /// list check refuses later (`EINVAL`). Meaningful after
    /// [`Header::check_load`].
    pub fn kernel_buffer(&self) -> Buffer {
        let kern16 = self.kern16_size();
        let memsz = self.init_size.wrapping_add(PAGE_SIZE as u32 - 1) & !(PAGE_SIZE as u32 - 1);
        Buffer {
            offset: kern16,
            bufsz: self.file_len.saturating_sub(kern16),
            memsz: u64::from(memsz),
            placement: Placement {
                min: self.pref_address.max(MIN_KERNEL_LOAD_ADDR),
                max: u64::MAX,
                align: u64::from(self.kernel_alignment),
                top_down: true,
            },
        }
    }
}

/// Applies kexec_file.c's rule to the command line copied from userspace:
/// unless it is empty, its last byte is a NUL.
pub fn check_cmdline(cmdline: &[u8]) -> Result<(), Refusal> {
    match cmdline.last() {
        Some(&last) if last != 0 => Err(Refusal::CmdlineUnterminated { last }),
        _ => Ok(()),
    }
}

/// Applies the probe's rules to `file`, then kexec_file.c's rule to
/// `cmdline`, then the rules bzImage64_load starts with: the order in which
/// kexec_file_load meets them. The kernel verifies the signature and reads the
/// initrd between the probe and the command line, so a port that does those
/// calls [`Header::probe`], [`check_cmdline`] and [`Header::check_load`]
/// itself.
pub fn check(file: &[u8], cmdline: &[u8], machine: &Machine) -> Result<Header, Refusal> {
    let header = Header::probe(file, machine)?;
    check_cmdline(cmdline)?;
    header.check_load(cmdline.len() as u64)?;
    Ok(header)
}

/// The bounds of each buffer (all of this loader's are placed top-down).
pub use crate::hole::Placement;

/// A buffer the loader adds to the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffer {
    /// Where its bytes start in their source: the kernel file for the kernel,
    /// the initrd file for the initrd, the boot_params buffer for that one.
    pub offset: u64,
    /// Bytes copied.
    pub bufsz: u64,
    /// Bytes of memory, before kexec_add_buffer rounds it up to a page.
    pub memsz: u64,
    /// Where it may go.
    pub placement: Placement,
}

impl Buffer {
    /// The memory size the segment gets: kexec_add_buffer rounds it up to a
    /// page.
    pub fn segment_memsz(&self) -> u64 {
        self.memsz.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
    }
}

/// The purgatory's bounds. kexec_load_purgatory raises the alignment to its
/// sections' largest and sizes the buffer from them.
pub const PURGATORY: Placement = Placement {
    min: MIN_PURGATORY_ADDR,
    max: u64::MAX,
    align: 1,
    top_down: true,
};

/// The initrd buffer for an initrd of `len` bytes: all of it, page aligned,
/// placed top-down at or above [`MIN_INITRD_LOAD_ADDR`]. The header's
/// `initrd_addr_max` is not consulted (the kernel can be loaded above 4G).
pub fn initrd_buffer(len: u64) -> Buffer {
    Buffer {
        offset: 0,
        bufsz: len,
        memsz: len,
        placement: Placement {
            min: MIN_INITRD_LOAD_ADDR,
            max: u64::MAX,
            align: PAGE_SIZE,
            top_down: true,
        },
    }
}

/// The parts of the boot_params buffer that the kernel's configuration and
/// state decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    /// `CONFIG_EFI`: whether the EFI item has a place in the setup_data area.
    /// Room for it is reserved either way.
    pub efi: bool,
    /// `fdt_totalsize(initial_boot_params)` when the device tree is carried
    /// over (`CONFIG_OF_FLATTREE`, `KEXEC_FILE_FORCE_DTB` and a boot DTB).
    pub dtb_size: Option<u32>,
    /// `CONFIG_IMA_KEXEC`: room for the IMA item.
    pub ima_kexec: bool,
    /// `CONFIG_KEXEC_HANDOVER`: room for the KHO item.
    pub kexec_handover: bool,
}

/// Where everything is in the boot_params buffer: `struct boot_params`, the
/// command line, the EFI memory map, and the setup_data items.
///
/// The command line area and the map are each padded to 16 bytes. Room is
/// always reserved for the EFI item and the RNG seed item, and for the DTB,
/// IMA and KHO items when [`Features`] has them; the items are laid out back
/// to back in that order, with no padding (a DTB of odd size leaves the items
/// after it unaligned, as in the kernel). Without `CONFIG_EFI` the items after
/// the EFI item start where it would have, and its room stays unused at the
/// end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamsLayout {
    /// Where the command line starts: right after `struct boot_params`.
    pub cmdline_offset: u64,
    /// Bytes reserved for it: its length and room for the crash prefix.
    pub cmdline_room: u64,
    /// Where the EFI runtime memory map goes.
    pub efi_map_offset: u64,
    /// The map's size (`efi_get_runtime_map_size()`); 0 for none.
    pub efi_map_size: u64,
    /// Where the setup_data area starts.
    pub setup_data_offset: u64,
    /// The EFI item, with `CONFIG_EFI`.
    pub efi: Option<u64>,
    /// The DTB item and the blob's length.
    pub dtb: Option<(u64, u32)>,
    /// The IMA item.
    pub ima: Option<u64>,
    /// The KHO item.
    pub kho: Option<u64>,
    /// The RNG seed item.
    pub rng: u64,
    /// The buffer's size.
    pub bufsz: u64,
}

const fn align16(n: u64) -> u64 {
    (n + 15) & !15
}

impl ParamsLayout {
    /// The layout for a command line of `cmdline_len` bytes (with its NUL, as
    /// [`Header::check_load`] accepted it: no longer than `cmdline_size`, a
    /// u32, so no sum here can overflow), room for "dmcryptkeys=" if
    /// `dm_crypt_keys` (a crash image whose keys were placed), an EFI runtime
    /// map of `efi_map_size` bytes, and the items `features` reserves.
    pub fn new(
        cmdline_len: u32,
        dm_crypt_keys: bool,
        efi_map_size: u32,
        features: &Features,
    ) -> ParamsLayout {
        let cmdline_offset = params::SIZE as u64;
        let mut cmdline_room = u64::from(cmdline_len) + MAX_ELFCOREHDR_STR_LEN;
        if dm_crypt_keys {
            cmdline_room += MAX_DMCRYPTKEYS_STR_LEN;
        }
        let efi_map_offset = align16(cmdline_offset + cmdline_room);
        let efi_map_size = u64::from(efi_map_size);
        let setup_data_offset = efi_map_offset + align16(efi_map_size);
        let efi_item = SETUP_DATA_HEADER + u64::from(EFI_SETUP_DATA_LEN);
        let rng_item = SETUP_DATA_HEADER + u64::from(RNG_SEED_LEN);

        // The kernel reserves room for the EFI and RNG seed items always, and
        // for the others when they are configured.
        let dtb_item = features
            .dtb_size
            .map(|size| SETUP_DATA_HEADER + u64::from(size));
        let ima_item = SETUP_DATA_HEADER + u64::from(IMA_SETUP_DATA_LEN);
        let kho_item = SETUP_DATA_HEADER + u64::from(KHO_DATA_LEN);
        let mut bufsz = setup_data_offset + efi_item + rng_item;
        bufsz += dtb_item.unwrap_or(0);
        if features.ima_kexec {
            bufsz += ima_item;
        }
        if features.kexec_handover {
            bufsz += kho_item;
        }

        // It fills them in one after the other, in this order; the EFI item
        // takes its place only with CONFIG_EFI.
        let mut next = setup_data_offset;
        let efi = features.efi.then_some(setup_data_offset);
        if features.efi {
            next += efi_item;
        }
        let dtb = features.dtb_size.zip(dtb_item).map(|(size, item)| {
            let at = next;
            next += item;
            (at, size)
        });
        let ima = features.ima_kexec.then(|| {
            let at = next;
            next += ima_item;
            at
        });
        let kho = features.kexec_handover.then(|| {
            let at = next;
            next += kho_item;
            at
        });
        let rng = next;
        ParamsLayout {
            cmdline_offset,
            cmdline_room,
            efi_map_offset,
            efi_map_size,
            setup_data_offset,
            efi,
            dtb,
            ima,
            kho,
            rng,
            bufsz,
        }
    }

    /// The boot_params buffer: all of it, placed top-down at or above
    /// [`MIN_BOOTPARAM_ADDR`], aligned to 16 bytes (a page, once
    /// kexec_add_buffer has raised it).
    pub fn buffer(&self) -> Buffer {
        Buffer {
            offset: 0,
            bufsz: self.bufsz,
            memsz: self.bufsz,
            placement: Placement {
                min: MIN_BOOTPARAM_ADDR,
                max: u64::MAX,
                align: 16,
                top_down: true,
            },
        }
    }

    /// The command line area, as a range of the buffer.
    pub fn cmdline_range(&self) -> Range<u64> {
        self.cmdline_offset..self.cmdline_offset + self.cmdline_room
    }
}

/// A command line that did not fit the room given for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom {
    /// Bytes needed.
    pub need: u64,
    /// Bytes there were.
    pub room: u64,
}

impl fmt::Display for NoRoom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes needed where there is room for {}",
            self.need, self.room
        )
    }
}

/// What a crash image's command line starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashPrefix {
    /// `image->elf_load_addr`: where the ELF core header is.
    pub elfcorehdr: u64,
    /// `image->dm_crypt_keys_addr`: where the dm-crypt keys are; 0 for none.
    pub dm_crypt_keys: u64,
}

/// "elfcorehdr=0x<addr> " and "dmcryptkeys=0x<addr> ", the most the prefix
/// can be.
const PREFIX_MAX: usize = (MAX_ELFCOREHDR_STR_LEN + MAX_DMCRYPTKEYS_STR_LEN) as usize;

/// A crash prefix being formatted, without allocation.
struct Prefix {
    bytes: [u8; PREFIX_MAX],
    len: usize,
}

impl Prefix {
    fn push(&mut self, s: &[u8]) {
        for &b in s {
            if let Some(slot) = self.bytes.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
    }

    /// Pushes `v` in lowercase hex without leading zeros, as `%lx` prints it.
    fn push_hex(&mut self, v: u64) {
        let digits = (64 - v.leading_zeros()).div_ceil(4).max(1);
        for i in (0..digits).rev() {
            let nibble = ((v >> (4 * i)) & 0xf) as usize;
            self.push(&[b"0123456789abcdef"[nibble]]);
        }
    }

    fn new(crash: &CrashPrefix) -> Prefix {
        let mut p = Prefix {
            bytes: [0; PREFIX_MAX],
            len: 0,
        };
        p.push(b"elfcorehdr=0x");
        p.push_hex(crash.elfcorehdr);
        p.push(b" ");
        if crash.dm_crypt_keys != 0 {
            p.push(b"dmcryptkeys=0x");
            p.push_hex(crash.dm_crypt_keys);
            p.push(b" ");
        }
        p
    }
}

/// Writes the command line the next kernel gets into `dst`, the command line
/// area of the boot_params buffer (zero-filled), and returns its length with
/// its NUL: for a crash image "elfcorehdr=0x<addr> " (and "dmcryptkeys=0x<addr>
/// " when there are keys) then `cmdline`, with the last byte made a NUL.
/// `cmdline` is the user's, with its NUL, as [`check_cmdline`] accepted it.
///
/// Nothing is written if it does not fit. With the room [`ParamsLayout`]
/// gives, it always fits. An empty result (no prefix and no command line)
/// writes nothing; the kernel writes its NUL one byte before the area, into
/// padding of `struct boot_params`, which is zero already.
pub fn compose_cmdline(
    dst: &mut [u8],
    crash: Option<&CrashPrefix>,
    cmdline: &[u8],
) -> Result<usize, NoRoom> {
    let prefix = match crash {
        Some(c) => Prefix::new(c),
        None => Prefix {
            bytes: [0; PREFIX_MAX],
            len: 0,
        },
    };
    let head = prefix.bytes.get(..prefix.len).unwrap_or(&[]);
    let total = head.len() + cmdline.len();
    let room = dst.len();
    let area = dst.get_mut(..total).ok_or(NoRoom {
        need: total as u64,
        room: room as u64,
    })?;
    let (first, rest) = area.split_at_mut(head.len());
    first.copy_from_slice(head);
    rest.copy_from_slice(cmdline);
    if let Some(last) = area.last_mut() {
        *last = 0;
    }
    Ok(total)
}

/// The width of a [`Write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// One byte.
    U8,
    /// Two bytes.
    U16,
    /// Four bytes.
    U32,
    /// Eight bytes.
    U64,
}

impl Width {
    /// The width in bytes.
    pub fn bytes(self) -> usize {
        match self {
            Width::U8 => 1,
            Width::U16 => 2,
            Width::U32 => 4,
            Width::U64 => 8,
        }
    }
}

/// A little-endian store into the boot_params buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Write {
    /// The offset in the buffer.
    pub offset: usize,
    /// How many bytes.
    pub width: Width,
    /// The value, which fits the width.
    pub value: u64,
}

impl Write {
    /// The range of the buffer it stores to.
    pub fn range(&self) -> Range<usize> {
        self.offset..self.offset.saturating_add(self.width.bytes())
    }
}

/// Enough for every store [`boot_params_writes`] makes.
pub const MAX_WRITES: usize = 48;

/// The stores that fill the loader's fields of the boot_params buffer, in the
/// kernel's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Writes {
    list: [Write; MAX_WRITES],
    len: usize,
}

impl Writes {
    fn new() -> Writes {
        Writes {
            list: [Write {
                offset: 0,
                width: Width::U8,
                value: 0,
            }; MAX_WRITES],
            len: 0,
        }
    }

    /// Adds a store of `value`, cut to `width`. [`boot_params_writes`] makes at
    /// most 46 stores, all at offsets inside the buffer, so neither the list
    /// filling up nor an offset beyond `usize` can drop one.
    fn push(&mut self, offset: impl TryInto<usize>, width: Width, value: u64) {
        let Ok(offset) = offset.try_into() else {
            return;
        };
        let bits = 8 * width.bytes() as u32;
        let value = value & u64::MAX.checked_shr(64 - bits).unwrap_or(u64::MAX);
        if let Some(slot) = self.list.get_mut(self.len) {
            *slot = Write {
                offset,
                width,
                value,
            };
            self.len += 1;
        }
    }

    /// The stores.
    pub fn as_slice(&self) -> &[Write] {
        self.list.get(..self.len).unwrap_or(&[])
    }

    /// Makes every store in `buf`, or none if one of them falls outside it (that
    /// one is returned).
    pub fn apply(&self, buf: &mut [u8]) -> Result<(), Write> {
        if let Some(w) = self.as_slice().iter().find(|w| w.range().end > buf.len()) {
            return Err(*w);
        }
        for w in self.as_slice() {
            if let Some(dst) = buf.get_mut(w.range()) {
                dst.copy_from_slice(&w.value.to_le_bytes()[..w.width.bytes()]);
            }
        }
        Ok(())
    }
}

/// Where the loader placed things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    /// The boot_params buffer.
    pub params: u64,
    /// The kernel buffer.
    pub kernel: u64,
    /// The initrd's address and length, if there is one.
    pub initrd: Option<(u64, u64)>,
}

/// The running kernel's EFI state that the next kernel inherits. Pass it when
/// EFI runtime services are enabled and boot_params has an EFI memory map (the
/// kernel passes nothing otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EfiState {
    /// `boot_params.efi_info.efi_loader_signature`.
    pub loader_signature: u32,
    /// The EFI system table (`efi_systab` and `efi_systab_hi`).
    pub systab: u64,
    /// `boot_params.efi_info.efi_memdesc_version`.
    pub memdesc_version: u32,
    /// `efi_get_runtime_map_desc_size()`.
    pub memdesc_size: u32,
    /// `boot_params.secure_boot`.
    pub secure_boot: u8,
    /// `efi_fw_vendor`.
    pub fw_vendor: u64,
    /// `efi_config_table`.
    pub tables: u64,
    /// `efi.smbios`.
    pub smbios: u64,
}

/// The kexec handover state: the KHO FDT and the scratch segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KhoState {
    /// `image->kho.fdt`: where the FDT is (a page).
    pub fdt: u64,
    /// `image->kho.scratch->mem`.
    pub scratch_addr: u64,
    /// `image->kho.scratch->bufsz`.
    pub scratch_size: u64,
}

/// `ext_mem_k` and `alt_mem_k`: KiB of RAM above 1M in the range that spans
/// 1M.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemK {
    /// `screen_info.ext_mem_k`, at most 0xfc00 (64M).
    pub ext_mem_k: u16,
    /// `alt_mem_k`.
    pub alt_mem_k: u32,
}

/// An e820 entry of the memory map the next kernel gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E820Entry {
    /// The first address.
    pub addr: u64,
    /// The size in bytes.
    pub size: u64,
    /// The type; [`E820_TYPE_RAM`] is RAM.
    pub kind: u32,
}

/// Computes [`MemK`] from the e820 entries boot_params gets, as the loader
/// does: the last RAM entry that starts at or below 1M and ends above it
/// decides, and none leaves both 0.
pub fn mem_k(entries: &[E820Entry]) -> MemK {
    const ONE_MEG: u64 = 0x10_0000;
    let mut mem = MemK::default();
    for e in entries.iter().filter(|e| e.kind == E820_TYPE_RAM) {
        let end = e.addr.wrapping_add(e.size).wrapping_sub(1);
        if e.addr <= ONE_MEG && end > ONE_MEG {
            let k = (end >> 10) - (ONE_MEG >> 10);
            mem.ext_mem_k = k.min(0xfc00) as u16;
            mem.alt_mem_k = k.min(u64::from(u32::MAX)) as u32;
        }
    }
    mem
}

/// The ACPI RSDP address the next kernel gets: the running kernel's
/// `boot_params.acpi_rsdp_addr`, or, with `CONFIG_EFI` (`efi_tables` is
/// `efi.acpi20` and `efi.acpi`) and no address there, the ACPI 2.0 table, or
/// the ACPI 1.0 one, that EFI provided.
pub fn acpi_rsdp_addr(boot: u64, efi_tables: Option<(u64, u64)>) -> u64 {
    match efi_tables {
        Some((acpi20, acpi)) if boot == 0 => {
            if acpi20 != EFI_INVALID_TABLE_ADDR {
                acpi20
            } else if acpi != EFI_INVALID_TABLE_ADDR {
                acpi
            } else {
                0
            }
        }
        _ => boot,
    }
}

/// What the running kernel hands on in boot_params.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inherited {
    /// `boot_params.hdr.hardware_subarch`.
    pub hardware_subarch: u32,
    /// See [`acpi_rsdp_addr`].
    pub acpi_rsdp_addr: u64,
    /// See [`mem_k`].
    pub mem_k: MemK,
    /// See [`EfiState`]; only used with [`Features::efi`].
    pub efi: Option<EfiState>,
    /// `image->ima_buffer_addr` and `ima_buffer_size`; the item is linked
    /// only with [`Features::ima_kexec`] and a size that is not 0.
    pub ima: Option<(u64, u64)>,
    /// See [`KhoState`]; only used with [`Features::kexec_handover`].
    pub kho: Option<KhoState>,
    /// `rng_is_initialized()`: whether an RNG seed item is linked.
    pub rng_seeded: bool,
}

/// The stores that fill the loader's fields in the boot_params buffer laid out
/// as `layout`, once the buffers are at `at`: the initrd and command line
/// pointers, the loader's ID, the inherited fields, and the setup_data list.
///
/// They go after the kernel side's copies: the setup header from the file (at
/// [`Header::setup_header_range`]), `screen_info`, the e820 table and its
/// count, the EDD data, the command line ([`compose_cmdline`]), the EFI map,
/// the DTB and the RNG seed's bytes. The list starts with the RNG seed item,
/// if there is one, then KHO, IMA, DTB and EFI, and ends in whatever
/// `setup_data` the file's header copy left ([`Header::copied_setup_data`]).
pub fn boot_params_writes(
    header: &Header,
    layout: &ParamsLayout,
    at: &Addresses,
    inherited: &Inherited,
) -> Writes {
    const LOW: u64 = 0xffff_ffff;
    let mut w = Writes::new();

    if let Some((addr, len)) = at.initrd {
        w.push(hdr::RAMDISK_IMAGE, Width::U32, addr & LOW);
        w.push(hdr::RAMDISK_SIZE, Width::U32, len & LOW);
        w.push(params::EXT_RAMDISK_IMAGE, Width::U32, addr >> 32);
        w.push(params::EXT_RAMDISK_SIZE, Width::U32, len >> 32);
    }

    let cmdline = at.params.wrapping_add(layout.cmdline_offset);
    w.push(hdr::CMD_LINE_PTR, Width::U32, cmdline & LOW);
    // The high half is stored only when it is not zero; the buffer holds zero
    // there otherwise.
    if cmdline >> 32 != 0 {
        w.push(params::EXT_CMD_LINE_PTR, Width::U32, cmdline >> 32);
    }

    w.push(
        hdr::TYPE_OF_LOADER,
        Width::U8,
        u64::from(TYPE_OF_LOADER_KEXEC),
    );
    // Every load flag is cleared, LOADED_HIGH included: the 64-bit entry does
    // not read them.
    w.push(hdr::LOADFLAGS, Width::U8, 0);

    w.push(
        hdr::HARDWARE_SUBARCH,
        Width::U32,
        u64::from(inherited.hardware_subarch),
    );
    w.push(
        params::EXT_MEM_K,
        Width::U16,
        u64::from(inherited.mem_k.ext_mem_k),
    );
    w.push(
        params::ALT_MEM_K,
        Width::U32,
        u64::from(inherited.mem_k.alt_mem_k),
    );
    w.push(params::ACPI_RSDP_ADDR, Width::U64, inherited.acpi_rsdp_addr);

    // Each linked item points at the list so far and becomes its head.
    let mut head = header.copied_setup_data();
    let mut link = |w: &mut Writes, offset: u64, kind: u32, len: u32| {
        w.push(offset, Width::U64, head);
        w.push(offset + 8, Width::U32, u64::from(kind));
        w.push(offset + 12, Width::U32, u64::from(len));
        head = at.params.wrapping_add(offset);
    };

    if let (Some(offset), Some(efi)) = (layout.efi, inherited.efi.as_ref()) {
        w.push(params::SECURE_BOOT, Width::U8, u64::from(efi.secure_boot));
        w.push(
            params::EFI_LOADER_SIGNATURE,
            Width::U32,
            u64::from(efi.loader_signature),
        );
        w.push(params::EFI_SYSTAB, Width::U32, efi.systab & LOW);
        w.push(params::EFI_SYSTAB_HI, Width::U32, efi.systab >> 32);
        w.push(
            params::EFI_MEMDESC_VERSION,
            Width::U32,
            u64::from(efi.memdesc_version),
        );
        w.push(
            params::EFI_MEMDESC_SIZE,
            Width::U32,
            u64::from(efi.memdesc_size),
        );
        if layout.efi_map_size != 0 {
            let map = at.params.wrapping_add(layout.efi_map_offset);
            w.push(params::EFI_MEMMAP, Width::U32, map & LOW);
            w.push(params::EFI_MEMMAP_HI, Width::U32, map >> 32);
            w.push(params::EFI_MEMMAP_SIZE, Width::U32, layout.efi_map_size);
        }
        let data = offset + SETUP_DATA_HEADER;
        w.push(data, Width::U64, efi.fw_vendor);
        w.push(data + 16, Width::U64, efi.tables);
        w.push(data + 24, Width::U64, efi.smbios);
        link(&mut w, offset, SETUP_EFI, EFI_SETUP_DATA_LEN);
    }

    if let Some((offset, size)) = layout.dtb {
        link(&mut w, offset, SETUP_DTB, size);
    }

    if let (Some(offset), Some((addr, size))) = (layout.ima, inherited.ima) {
        if size != 0 {
            let data = offset + SETUP_DATA_HEADER;
            w.push(data, Width::U64, addr);
            w.push(data + 8, Width::U64, size);
            link(&mut w, offset, SETUP_IMA, IMA_SETUP_DATA_LEN);
        }
    }

    if let Some(offset) = layout.kho {
        match inherited.kho {
            Some(kho) => {
                let data = offset + SETUP_DATA_HEADER;
                w.push(data, Width::U64, kho.fdt);
                w.push(data + 8, Width::U64, PAGE_SIZE);
                w.push(data + 16, Width::U64, kho.scratch_addr);
                w.push(data + 24, Width::U64, kho.scratch_size);
                link(&mut w, offset, SETUP_KEXEC_KHO, KHO_DATA_LEN);
            }
            None => {
                // The kernel fills in the item's type and length before it
                // finds there is nothing to hand over, and leaves it unlinked.
                w.push(offset + 8, Width::U32, u64::from(SETUP_KEXEC_KHO));
                w.push(offset + 12, Width::U32, u64::from(KHO_DATA_LEN));
            }
        }
    }

    if inherited.rng_seeded {
        link(&mut w, layout.rng, SETUP_RNG_SEED, RNG_SEED_LEN);
    }

    if head != header.copied_setup_data() {
        w.push(hdr::SETUP_DATA, Width::U64, head);
    }
    w
}

/// The registers purgatory enters the kernel with (part of `struct
/// kexec_entry64_regs`). The loader sets these four in the purgatory's
/// `entry64_regs` and leaves the others as the purgatory has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRegs {
    /// 0: the boot processor.
    pub rbx: u64,
    /// The boot_params buffer.
    pub rsi: u64,
    /// The 64-bit entry point: 0x200 into the kernel buffer.
    pub rip: u64,
    /// The purgatory's `stack_end`.
    pub rsp: u64,
}

/// The entry registers for boot_params at `params`, the kernel at `kernel` and
/// the purgatory's `stack_end` symbol at `stack_end`.
pub fn entry_regs(params: u64, kernel: u64, stack_end: u64) -> EntryRegs {
    EntryRegs {
        rbx: 0,
        rsi: params,
        rip: kernel.wrapping_add(ENTRY_64_OFFSET),
        rsp: stack_end,
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The bzImage64 loader's rules, layout and boot_params stores
//! (rust/bzimage.rs), on synthetic headers built field by field and on the
//! bzImage the project builds, when it is there.

use kexec_logic::bzimage::{
    acpi_rsdp_addr, boot_params_writes, check, check_cmdline, compose_cmdline, entry_regs, hdr,
    initrd_buffer, mem_k, params, Addresses, CrashPrefix, E820Entry, EfiState, Features, Header,
    Inherited, KhoState, Machine, MemK, NoRoom, ParamsLayout, Placement, Refusal, Width, Write,
    EINVAL, ENOEXEC, MAX_WRITES, PURGATORY, SETUP_DTB, SETUP_EFI, SETUP_IMA, SETUP_KEXEC_KHO,
    SETUP_RNG_SEED, TYPE_OF_LOADER_KEXEC, XLF_5LEVEL, XLF_CAN_BE_LOADED_ABOVE_4G, XLF_EFI_KEXEC,
    XLF_KERNEL_64,
};

const REAL_BZIMAGE: &str = "/var/cache/kexec-rust/build/rust/arch/x86/boot/bzImage";

fn put(file: &mut [u8], offset: usize, width: usize, value: u64) {
    file[offset..offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
}

fn get(buf: &[u8], offset: usize, width: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[..width].copy_from_slice(&buf[offset..offset + width]);
    u64::from_le_bytes(bytes)
}

/// A valid bzImage header in a file of `len` bytes: one setup sector (the
/// real-mode part is 1024 bytes), protocol 2.15, and the fields of a modern
/// kernel.
fn image(len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    put(&mut f, hdr::SETUP_SECTS, 1, 1);
    put(&mut f, hdr::BOOT_FLAG, 2, 0xaa55);
    put(&mut f, hdr::JUMP, 1, 0xeb);
    put(&mut f, hdr::JUMP_OFFSET, 1, 0x6a);
    f[hdr::HEADER..hdr::HEADER + 4].copy_from_slice(b"HdrS");
    put(&mut f, hdr::VERSION, 2, 0x020f);
    put(&mut f, hdr::LOADFLAGS, 1, 1);
    put(&mut f, hdr::CODE32_START, 4, 0x10_0000);
    put(&mut f, hdr::KERNEL_ALIGNMENT, 4, 0x20_0000);
    put(&mut f, hdr::RELOCATABLE_KERNEL, 1, 1);
    put(&mut f, hdr::MIN_ALIGNMENT, 1, 0x15);
    let xlf = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G | XLF_EFI_KEXEC | XLF_5LEVEL;
    put(&mut f, hdr::XLOADFLAGS, 2, xlf.into());
    put(&mut f, hdr::CMDLINE_SIZE, 4, 2047);
    put(&mut f, hdr::PREF_ADDRESS, 8, 0x100_0000);
    put(&mut f, hdr::INIT_SIZE, 4, 0x2_0000);
    put(&mut f, hdr::HANDOVER_OFFSET, 4, 0x190);
    put(&mut f, hdr::KERNEL_INFO_OFFSET, 4, 0x1234);
    f
}

const PLAIN: Machine = Machine {
    efi_runtime_services: false,
    efi_64bit: false,
    five_level_paging: false,
};

fn probe(f: &[u8]) -> Result<Header, Refusal> {
    Header::probe(f, &PLAIN)
}

fn with(offset: usize, width: usize, value: u64) -> Vec<u8> {
    let mut f = image(4096);
    put(&mut f, offset, width, value);
    f
}

fn xlf_without(flag: u16) -> Vec<u8> {
    let f = image(4096);
    let xlf = get(&f, hdr::XLOADFLAGS, 2) & !u64::from(flag);
    with(hdr::XLOADFLAGS, 2, xlf)
}

#[test]
fn a_valid_header_gives_its_fields() {
    let h = probe(&image(8192)).unwrap();
    assert_eq!(h.file_len(), 8192);
    assert_eq!(h.raw_setup_sects(), 1);
    assert_eq!(h.setup_sects(), 1);
    assert_eq!(h.kern16_size(), 1024);
    assert_eq!(h.version(), 0x020f);
    assert_eq!(h.loadflags(), 1);
    assert_eq!(h.xloadflags(), 0x33);
    assert!(h.efi_kexec());
    assert_eq!(h.code32_start(), 0x10_0000);
    assert_eq!(h.kernel_alignment(), 0x20_0000);
    assert_eq!(h.relocatable_kernel(), 1);
    assert_eq!(h.min_alignment(), 0x15);
    assert_eq!(h.cmdline_size(), 2047);
    assert_eq!(h.pref_address(), 0x100_0000);
    assert_eq!(h.init_size(), 0x2_0000);
    assert_eq!(h.handover_offset(), 0x190);
    assert_eq!(h.kernel_info_offset(), Some(0x1234));
    assert_eq!(h.copied_setup_data(), 0);
    assert_eq!(h.setup_header_range(), 0x1f1..0x26c);
    assert_eq!(h.setup_header_range().end, hdr::END);
    h.check_load(100).unwrap();
}

#[test]
fn kernel_info_offset_needs_protocol_2_15() {
    let h = probe(&with(hdr::VERSION, 2, 0x020e)).unwrap();
    assert_eq!(h.kernel_info_offset(), None);
}

#[test]
fn refuses_a_file_shorter_than_two_sectors() {
    let mut f = image(1024);
    assert!(probe(&f).is_ok());
    f.pop();
    assert_eq!(probe(&f), Err(Refusal::TooShort { len: 1023 }));
    assert_eq!(probe(&[]), Err(Refusal::TooShort { len: 0 }));
}

#[test]
fn refuses_a_file_without_hdrs() {
    let mut f = image(4096);
    f[hdr::HEADER + 3] = b's';
    assert_eq!(probe(&f), Err(Refusal::NoMagic));
}

#[test]
fn refuses_a_file_without_boot_flag() {
    assert_eq!(
        probe(&with(hdr::BOOT_FLAG, 2, 0x55aa)),
        Err(Refusal::NoBootFlag { found: 0x55aa })
    );
}

#[test]
fn refuses_protocols_before_2_12() {
    assert!(probe(&with(hdr::VERSION, 2, 0x020c)).is_ok());
    assert_eq!(
        probe(&with(hdr::VERSION, 2, 0x020b)),
        Err(Refusal::OldProtocol { version: 0x020b })
    );
}

#[test]
fn refuses_a_zimage() {
    // KASLR_FLAG and CAN_USE_HEAP are no substitute for LOADED_HIGH.
    assert_eq!(
        probe(&with(hdr::LOADFLAGS, 1, 0x82)),
        Err(Refusal::NotLoadedHigh)
    );
}

#[test]
fn refuses_a_kernel_without_64_bit_entry() {
    assert_eq!(probe(&xlf_without(XLF_KERNEL_64)), Err(Refusal::NoKernel64));
}

#[test]
fn refuses_a_kernel_that_must_stay_below_4g() {
    assert_eq!(
        probe(&xlf_without(XLF_CAN_BE_LOADED_ABOVE_4G)),
        Err(Refusal::NotAbove4G)
    );
}

#[test]
fn refuses_on_32_bit_efi_runtime_services() {
    let f = image(4096);
    let efi = |runtime, bits64| Machine {
        efi_runtime_services: runtime,
        efi_64bit: bits64,
        five_level_paging: false,
    };
    assert_eq!(Header::probe(&f, &efi(true, false)), Err(Refusal::Efi32));
    assert!(Header::probe(&f, &efi(true, true)).is_ok());
    assert!(Header::probe(&f, &efi(false, false)).is_ok());
}

#[test]
fn refuses_a_4_level_kernel_under_5_level_paging() {
    let la57 = Machine {
        five_level_paging: true,
        ..PLAIN
    };
    let f = xlf_without(XLF_5LEVEL);
    assert_eq!(Header::probe(&f, &la57), Err(Refusal::No5Level));
    assert!(Header::probe(&f, &PLAIN).is_ok());
    assert!(Header::probe(&image(4096), &la57).is_ok());
}

#[test]
fn refuses_a_command_line_without_its_nul() {
    assert_eq!(
        check_cmdline(b"console=ttyS0"),
        Err(Refusal::CmdlineUnterminated { last: b'0' })
    );
    assert_eq!(check_cmdline(b""), Ok(()));
    assert_eq!(check_cmdline(b"console=ttyS0\0"), Ok(()));
    // Only the last byte counts: an inner NUL is fine.
    assert_eq!(check_cmdline(b"a\0b\0"), Ok(()));
}

#[test]
fn refuses_a_file_shorter_than_its_real_mode_part() {
    // setup_sects 0 stands for 4: the real-mode part is 5 sectors.
    let mut f = image(2560);
    put(&mut f, hdr::SETUP_SECTS, 1, 0);
    let h = probe(&f).unwrap();
    assert_eq!(h.setup_sects(), 4);
    assert_eq!(h.kern16_size(), 2560);
    assert_eq!(h.check_load(0), Ok(()));
    f.pop();
    let h = probe(&f).unwrap();
    assert_eq!(
        h.check_load(0),
        Err(Refusal::Truncated {
            len: 2559,
            kern16: 2560
        })
    );
    // 255 setup sectors need 128 KiB.
    let f = with(hdr::SETUP_SECTS, 1, 255);
    assert_eq!(
        probe(&f).unwrap().check_load(0),
        Err(Refusal::Truncated {
            len: 4096,
            kern16: 256 * 512
        })
    );
}

#[test]
fn refuses_a_command_line_longer_than_cmdline_size() {
    let h = probe(&with(hdr::CMDLINE_SIZE, 4, 100)).unwrap();
    assert_eq!(
        h.check_load(101),
        Err(Refusal::CmdlineTooLong { len: 101, max: 100 })
    );
    // A cmdline_size of 0 refuses every command line, even none.
    let h = probe(&with(hdr::CMDLINE_SIZE, 4, 0)).unwrap();
    assert_eq!(
        h.check_load(0),
        Err(Refusal::NoRoomForElfcorehdr { len: 0, max: 0 })
    );
}

#[test]
fn refuses_a_command_line_without_room_for_elfcorehdr() {
    let h = probe(&with(hdr::CMDLINE_SIZE, 4, 100)).unwrap();
    assert_eq!(h.check_load(70), Ok(()));
    assert_eq!(
        h.check_load(71),
        Err(Refusal::NoRoomForElfcorehdr { len: 71, max: 100 })
    );
    assert_eq!(
        h.check_load(100),
        Err(Refusal::NoRoomForElfcorehdr { len: 100, max: 100 })
    );
    assert_eq!(
        h.check_load(u64::MAX),
        Err(Refusal::CmdlineTooLong {
            len: u64::MAX,
            max: 100
        })
    );
}

#[test]
fn refuses_a_command_line_without_room_for_dmcryptkeys() {
    let h = probe(&with(hdr::CMDLINE_SIZE, 4, 100)).unwrap();
    assert_eq!(h.check_dm_crypt_keys(39), Ok(()));
    assert_eq!(
        h.check_dm_crypt_keys(40),
        Err(Refusal::NoRoomForDmCryptKeys { len: 40, max: 100 })
    );
    assert_eq!(
        h.check_dm_crypt_keys(u64::MAX),
        Err(Refusal::NoRoomForDmCryptKeys {
            len: u64::MAX,
            max: 100
        })
    );
}

#[test]
fn the_first_broken_probe_rule_is_reported() {
    // The probe's rules in its order, each with a way to break it.
    type Breaker = fn(&mut Vec<u8>, &mut Machine);
    let rules: [(Breaker, Refusal); 9] = [
        (|f, _| f.truncate(1000), Refusal::TooShort { len: 1000 }),
        (|f, _| f[hdr::HEADER] = 0, Refusal::NoMagic),
        (
            |f, _| put(f, hdr::BOOT_FLAG, 2, 0),
            Refusal::NoBootFlag { found: 0 },
        ),
        (
            |f, _| put(f, hdr::VERSION, 2, 0x0200),
            Refusal::OldProtocol { version: 0x0200 },
        ),
        (|f, _| put(f, hdr::LOADFLAGS, 1, 0), Refusal::NotLoadedHigh),
        (
            |f, _| f[hdr::XLOADFLAGS] &= !(XLF_KERNEL_64 as u8),
            Refusal::NoKernel64,
        ),
        (
            |f, _| f[hdr::XLOADFLAGS] &= !(XLF_CAN_BE_LOADED_ABOVE_4G as u8),
            Refusal::NotAbove4G,
        ),
        (
            |_, m| {
                m.efi_runtime_services = true;
                m.efi_64bit = false;
            },
            Refusal::Efi32,
        ),
        (
            |f, m| {
                f[hdr::XLOADFLAGS] &= !(XLF_5LEVEL as u8);
                m.five_level_paging = true;
            },
            Refusal::No5Level,
        ),
    ];
    for first in 0..rules.len() {
        let mut f = image(4096);
        let mut m = PLAIN;
        // Break this rule and every later one; later breakers first, so that
        // truncation (the first rule) does not hide the others' offsets.
        for (breaker, _) in rules[first..].iter().rev() {
            breaker(&mut f, &mut m);
        }
        assert_eq!(Header::probe(&f, &m), Err(rules[first].1), "rule {first}");
    }
}

#[test]
fn check_meets_the_rules_in_the_kernels_order() {
    let mut truncated = image(1024);
    put(&mut truncated, hdr::SETUP_SECTS, 1, 2);
    // The command line is checked before the real-mode part: EINVAL wins.
    let e = check(&truncated, b"quiet", &PLAIN).unwrap_err();
    assert_eq!(e, Refusal::CmdlineUnterminated { last: b't' });
    assert_eq!(e.errno(), EINVAL);
    // The real-mode part before the command line's length.
    let long = vec![b'x'; 3000];
    let mut long = long;
    *long.last_mut().unwrap() = 0;
    assert_eq!(
        check(&truncated, &long, &PLAIN),
        Err(Refusal::Truncated {
            len: 1024,
            kern16: 1536
        })
    );
    // The probe before everything.
    assert_eq!(
        check(&truncated[..512], b"x", &PLAIN).unwrap_err().errno(),
        ENOEXEC
    );
    assert_eq!(
        check(&image(4096), &long, &PLAIN),
        Err(Refusal::CmdlineTooLong {
            len: 3000,
            max: 2047
        })
    );
    let h = check(&image(4096), b"console=ttyS0\0", &PLAIN).unwrap();
    assert_eq!(h.file_len(), 4096);
}

#[test]
fn every_refusal_has_its_errno_and_names_its_rule() {
    let cases: [(Refusal, i32, &str); 14] = [
        (Refusal::TooShort { len: 3 }, ENOEXEC, "at least 1024"),
        (Refusal::NoMagic, ENOEXEC, "HdrS"),
        (Refusal::NoBootFlag { found: 1 }, ENOEXEC, "0xaa55"),
        (
            Refusal::OldProtocol { version: 0x20b },
            ENOEXEC,
            "2.11 is older than 2.12",
        ),
        (Refusal::NotLoadedHigh, ENOEXEC, "LOADED_HIGH"),
        (Refusal::NoKernel64, ENOEXEC, "XLF_KERNEL_64"),
        (Refusal::NotAbove4G, ENOEXEC, "XLF_CAN_BE_LOADED_ABOVE_4G"),
        (Refusal::Efi32, ENOEXEC, "32-bit EFI"),
        (Refusal::No5Level, ENOEXEC, "XLF_5LEVEL"),
        (
            Refusal::CmdlineUnterminated { last: 7 },
            EINVAL,
            "not a NUL",
        ),
        (
            Refusal::Truncated { len: 1, kern16: 2 },
            ENOEXEC,
            "real-mode part (2 bytes)",
        ),
        (
            Refusal::CmdlineTooLong { len: 9, max: 8 },
            EINVAL,
            "longer than cmdline_size (8)",
        ),
        (
            Refusal::NoRoomForElfcorehdr { len: 9, max: 8 },
            EINVAL,
            "elfcorehdr=",
        ),
        (
            Refusal::NoRoomForDmCryptKeys { len: 9, max: 8 },
            EINVAL,
            "dmcryptkeys= (61 bytes)",
        ),
    ];
    for (refusal, errno, words) in cases {
        assert_eq!(refusal.errno(), errno, "{refusal:?}");
        let text = refusal.to_string();
        assert!(text.contains(words), "{refusal:?}: {text:?}");
    }
}

const ALL: Features = Features {
    efi: true,
    dtb_size: None,
    ima_kexec: true,
    kexec_handover: true,
};

#[test]
fn the_boot_params_buffer_layout() {
    // 4096 + 100 + 30 = 4226, padded to 4240; the map, 0x300 bytes, to 5008.
    let l = ParamsLayout::new(100, false, 0x300, &ALL);
    assert_eq!(l.cmdline_offset, 4096);
    assert_eq!(l.cmdline_room, 130);
    assert_eq!(l.cmdline_range(), 4096..4226);
    assert_eq!(l.efi_map_offset, 4240);
    assert_eq!(l.efi_map_size, 0x300);
    assert_eq!(l.setup_data_offset, 5008);
    // EFI 16 + 96, IMA 16 + 16, KHO 16 + 32, RNG 16 + 32.
    assert_eq!(l.efi, Some(5008));
    assert_eq!(l.dtb, None);
    assert_eq!(l.ima, Some(5120));
    assert_eq!(l.kho, Some(5152));
    assert_eq!(l.rng, 5200);
    assert_eq!(l.bufsz, 5248);
    let b = l.buffer();
    assert_eq!((b.offset, b.bufsz, b.memsz), (0, 5248, 5248));
    assert_eq!(b.segment_memsz(), 8192);
    assert_eq!(b.placement.min, 0x3000);
    assert_eq!(b.placement.max, u64::MAX);
    assert_eq!(b.placement.align, 16);
    assert_eq!(b.placement.segment_align(), 4096);
    assert!(b.placement.top_down);

    // With dm-crypt keys: 4096 + 100 + 61 = 4257, padded to 4272; an odd map
    // is padded too.
    let l = ParamsLayout::new(100, true, 0x301, &ALL);
    assert_eq!(l.cmdline_room, 161);
    assert_eq!(l.efi_map_offset, 4272);
    assert_eq!(l.setup_data_offset, 4272 + 0x310);
}

#[test]
fn the_minimal_layout_still_reserves_efi_and_rng() {
    let l = ParamsLayout::new(0, false, 0, &Features::default());
    assert_eq!(l.efi_map_offset, 4128);
    assert_eq!(l.setup_data_offset, 4128);
    assert_eq!(l.efi, None);
    assert_eq!((l.ima, l.kho), (None, None));
    // Without CONFIG_EFI the seed takes the EFI item's place...
    assert_eq!(l.rng, 4128);
    // ...and the EFI item's room stays at the end.
    assert_eq!(l.bufsz, 4128 + 112 + 48);
}

#[test]
fn a_dtb_of_odd_size_leaves_later_items_unaligned() {
    let features = Features {
        dtb_size: Some(0x1003),
        ..ALL
    };
    let l = ParamsLayout::new(1, false, 0, &features);
    assert_eq!(l.setup_data_offset, 4128);
    assert_eq!(l.dtb, Some((4128 + 112, 0x1003)));
    let ima = 4128 + 112 + 16 + 0x1003;
    assert_eq!(l.ima, Some(ima));
    assert_eq!(ima % 8, 3);
    assert_eq!(l.kho, Some(ima + 32));
    assert_eq!(l.rng, ima + 32 + 48);
    assert_eq!(l.bufsz, ima + 32 + 48 + 48);
}

#[test]
fn the_kernel_initrd_and_purgatory_buffers() {
    let f = image(0x5_0123);
    let h = probe(&f).unwrap();
    let k = h.kernel_buffer();
    assert_eq!(k.offset, 1024);
    assert_eq!(k.bufsz, 0x5_0123 - 1024);
    // init_size, page aligned: the file's size does not matter.
    assert_eq!(k.memsz, 0x2_0000);
    assert_eq!(k.placement.min, 0x100_0000);
    assert_eq!(k.placement.max, u64::MAX);
    assert_eq!(k.placement.align, 0x20_0000);
    assert!(k.placement.top_down);

    // pref_address below 1M is raised to 1M; above stays.
    let mut f = image(8192);
    put(&mut f, hdr::PREF_ADDRESS, 8, 0x8_0000);
    put(&mut f, hdr::INIT_SIZE, 4, 0x1_0001);
    put(&mut f, hdr::KERNEL_ALIGNMENT, 4, 0);
    let k = probe(&f).unwrap().kernel_buffer();
    assert_eq!(k.placement.min, 0x10_0000);
    assert_eq!(k.memsz, 0x1_1000);
    assert_eq!(k.placement.segment_align(), 4096);
    let k = probe(&with(hdr::PREF_ADDRESS, 8, 0x1_2345_6000))
        .unwrap()
        .kernel_buffer();
    assert_eq!(k.placement.min, 0x1_2345_6000);

    // The rounding is 32-bit: an init_size in the last page gives 0.
    let k = probe(&with(hdr::INIT_SIZE, 4, 0xffff_f001))
        .unwrap()
        .kernel_buffer();
    assert_eq!(k.memsz, 0);
    let k = probe(&with(hdr::INIT_SIZE, 4, 0xffff_f000))
        .unwrap()
        .kernel_buffer();
    assert_eq!(k.memsz, 0xffff_f000);

    let i = initrd_buffer(0x12_3456);
    assert_eq!((i.offset, i.bufsz, i.memsz), (0, 0x12_3456, 0x12_3456));
    assert_eq!(i.segment_memsz(), 0x12_4000);
    assert_eq!(i.placement.min, 0x100_0000);
    assert_eq!(i.placement.align, 4096);
    assert!(i.placement.top_down);

    assert_eq!(
        PURGATORY,
        Placement {
            min: 0x3000,
            max: u64::MAX,
            align: 1,
            top_down: true
        }
    );
    assert_eq!(PURGATORY.segment_align(), 4096);
}

#[test]
fn the_command_line_the_next_kernel_gets() {
    let mut dst = [0u8; 200];
    assert_eq!(compose_cmdline(&mut dst, None, b"quiet\0"), Ok(6));
    assert_eq!(&dst[..7], b"quiet\0\0");

    let crash = CrashPrefix {
        elfcorehdr: 0xbf00_0000,
        dm_crypt_keys: 0,
    };
    let mut dst = [0xffu8; 200];
    let n = compose_cmdline(&mut dst, Some(&crash), b"quiet\0").unwrap();
    assert_eq!(&dst[..n], b"elfcorehdr=0xbf000000 quiet\0");

    let crash = CrashPrefix {
        elfcorehdr: 0x1,
        dm_crypt_keys: 0xabc_d000,
    };
    let n = compose_cmdline(&mut dst, Some(&crash), b"ro\0").unwrap();
    assert_eq!(&dst[..n], b"elfcorehdr=0x1 dmcryptkeys=0xabcd000 ro\0");

    // Without a user command line, the prefix's space becomes the NUL.
    let n = compose_cmdline(&mut dst, Some(&crash), b"").unwrap();
    assert_eq!(&dst[..n], b"elfcorehdr=0x1 dmcryptkeys=0xabcd000\0");

    // Nothing at all writes nothing.
    let mut dst = [0xffu8; 4];
    assert_eq!(compose_cmdline(&mut dst, None, b""), Ok(0));
    assert_eq!(dst, [0xff; 4]);
}

#[test]
fn the_longest_prefix_fits_the_room_the_layout_gives() {
    let crash = CrashPrefix {
        elfcorehdr: u64::MAX,
        dm_crypt_keys: u64::MAX,
    };
    let cmdline = b"console=ttyS0\0";
    let l = ParamsLayout::new(cmdline.len() as u32, true, 0, &Features::default());
    let mut dst = vec![0u8; l.cmdline_room as usize];
    let n = compose_cmdline(&mut dst, Some(&crash), cmdline).unwrap();
    assert_eq!(n, 30 + 31 + cmdline.len());
    assert_eq!(n as u64, l.cmdline_room);
    assert_eq!(
        &dst[..61],
        b"elfcorehdr=0xffffffffffffffff dmcryptkeys=0xffffffffffffffff "
    );
    // One byte less and nothing is written.
    let mut short = vec![0u8; n - 1];
    assert_eq!(
        compose_cmdline(&mut short, Some(&crash), cmdline),
        Err(NoRoom {
            need: n as u64,
            room: n as u64 - 1
        })
    );
    assert!(short.iter().all(|&b| b == 0));
}

const EFI: EfiState = EfiState {
    loader_signature: 0x3436_4c45,
    systab: 0x1_7fe0_1018,
    memdesc_version: 1,
    memdesc_size: 48,
    secure_boot: 3,
    fw_vendor: 0x7f00_0100,
    tables: 0x7f00_0200,
    smbios: 0x7f00_0300,
};

const KHO: KhoState = KhoState {
    fdt: 0x2_0000_0000,
    scratch_addr: 0x3_0000_0000,
    scratch_size: 0x400_0000,
};

/// A header whose file carries a setup_data value of its own.
fn header_with_setup_data(value: u64, jump_offset: u64) -> Header {
    let mut f = with(hdr::SETUP_DATA, 8, value);
    put(&mut f, hdr::JUMP_OFFSET, 1, jump_offset);
    probe(&f).unwrap()
}

/// The setup_data list in `buf`, which sits at `base`, from hdr.setup_data:
/// each item's type and length, and where the list leaves the buffer.
fn walk(buf: &[u8], base: u64) -> (Vec<(u32, u32)>, u64) {
    let mut items = Vec::new();
    let mut next = get(buf, hdr::SETUP_DATA, 8);
    while next >= base && next < base + buf.len() as u64 {
        let at = (next - base) as usize;
        items.push((get(buf, at + 8, 4) as u32, get(buf, at + 12, 4) as u32));
        next = get(buf, at, 8);
        assert!(items.len() < 10, "a loop in the list");
    }
    (items, next)
}

#[test]
fn the_loaders_stores_into_boot_params() {
    let h = header_with_setup_data(0, 0x6a);
    let features = Features {
        dtb_size: Some(64),
        ..ALL
    };
    let l = ParamsLayout::new(20, false, 0x300, &features);
    let at = Addresses {
        params: 0x1_2345_0000,
        kernel: 0x1_0000_0000,
        initrd: Some((0x2_8000_0000, 0x1_0000_1000)),
    };
    let inherited = Inherited {
        hardware_subarch: 2,
        acpi_rsdp_addr: 0xe_0000,
        mem_k: MemK {
            ext_mem_k: 0xfc00,
            alt_mem_k: 0x1f_fc00,
        },
        efi: Some(EFI),
        ima: Some((0x4000_0000, 0x2000)),
        kho: Some(KHO),
        rng_seeded: true,
    };
    let w = boot_params_writes(&h, &l, &at, &inherited);
    // The most stores there can be: every item linked, both halves stored.
    assert_eq!(w.as_slice().len(), 46);
    assert!(w.as_slice().len() <= MAX_WRITES);
    let mut buf = vec![0u8; l.bufsz as usize];
    w.apply(&mut buf).unwrap();

    assert_eq!(get(&buf, hdr::RAMDISK_IMAGE, 4), 0x8000_0000);
    assert_eq!(get(&buf, params::EXT_RAMDISK_IMAGE, 4), 2);
    assert_eq!(get(&buf, hdr::RAMDISK_SIZE, 4), 0x1000);
    assert_eq!(get(&buf, params::EXT_RAMDISK_SIZE, 4), 1);
    assert_eq!(get(&buf, hdr::CMD_LINE_PTR, 4), 0x2345_1000);
    assert_eq!(get(&buf, params::EXT_CMD_LINE_PTR, 4), 1);
    assert_eq!(get(&buf, hdr::TYPE_OF_LOADER, 1), 0xd0);
    assert_eq!(u64::from(TYPE_OF_LOADER_KEXEC), 0xd0);
    assert_eq!(get(&buf, hdr::LOADFLAGS, 1), 0);
    assert_eq!(get(&buf, hdr::HARDWARE_SUBARCH, 4), 2);
    assert_eq!(get(&buf, params::EXT_MEM_K, 2), 0xfc00);
    assert_eq!(get(&buf, params::ALT_MEM_K, 4), 0x1f_fc00);
    assert_eq!(get(&buf, params::ACPI_RSDP_ADDR, 8), 0xe_0000);
    // code32_start is not the loader's: it stays as the file has it.
    assert!(w.as_slice().iter().all(|w| w.offset != hdr::CODE32_START));

    assert_eq!(get(&buf, params::SECURE_BOOT, 1), 3);
    assert_eq!(get(&buf, params::EFI_LOADER_SIGNATURE, 4), 0x3436_4c45);
    assert_eq!(get(&buf, params::EFI_SYSTAB, 4), 0x7fe0_1018);
    assert_eq!(get(&buf, params::EFI_SYSTAB_HI, 4), 1);
    assert_eq!(get(&buf, params::EFI_MEMDESC_VERSION, 4), 1);
    assert_eq!(get(&buf, params::EFI_MEMDESC_SIZE, 4), 48);
    let map = at.params + l.efi_map_offset;
    assert_eq!(get(&buf, params::EFI_MEMMAP, 4), map & 0xffff_ffff);
    assert_eq!(get(&buf, params::EFI_MEMMAP_HI, 4), map >> 32);
    assert_eq!(get(&buf, params::EFI_MEMMAP_SIZE, 4), 0x300);
    let efi = l.efi.unwrap() as usize;
    assert_eq!(get(&buf, efi + 16, 8), EFI.fw_vendor);
    assert_eq!(get(&buf, efi + 24, 8), 0);
    assert_eq!(get(&buf, efi + 32, 8), EFI.tables);
    assert_eq!(get(&buf, efi + 40, 8), EFI.smbios);
    let ima = l.ima.unwrap() as usize;
    assert_eq!(get(&buf, ima + 16, 8), 0x4000_0000);
    assert_eq!(get(&buf, ima + 24, 8), 0x2000);
    let kho = l.kho.unwrap() as usize;
    assert_eq!(get(&buf, kho + 16, 8), KHO.fdt);
    assert_eq!(get(&buf, kho + 24, 8), 4096);
    assert_eq!(get(&buf, kho + 32, 8), KHO.scratch_addr);
    assert_eq!(get(&buf, kho + 40, 8), KHO.scratch_size);

    // The last item filled in is the head; the first ends the list.
    assert_eq!(get(&buf, hdr::SETUP_DATA, 8), at.params + l.rng);
    let (items, end) = walk(&buf, at.params);
    assert_eq!(
        items,
        [
            (SETUP_RNG_SEED, 32),
            (SETUP_KEXEC_KHO, 32),
            (SETUP_IMA, 16),
            (SETUP_DTB, 64),
            (SETUP_EFI, 96)
        ]
    );
    assert_eq!(end, 0);
}

#[test]
fn items_without_state_are_not_linked() {
    let h = header_with_setup_data(0, 0x6a);
    let l = ParamsLayout::new(20, false, 0, &ALL);
    let at = Addresses {
        params: 0x8000_0000,
        kernel: 0x1_0000_0000,
        initrd: None,
    };
    let inherited = Inherited {
        efi: Some(EFI),
        ima: Some((0x4000_0000, 0)),
        ..Inherited::default()
    };
    let w = boot_params_writes(&h, &l, &at, &inherited);
    let mut buf = vec![0u8; l.bufsz as usize];
    w.apply(&mut buf).unwrap();
    // No initrd: its fields are left alone. A low command line: no high half.
    for offset in [
        hdr::RAMDISK_IMAGE,
        hdr::RAMDISK_SIZE,
        params::EXT_RAMDISK_IMAGE,
        params::EXT_RAMDISK_SIZE,
        params::EXT_CMD_LINE_PTR,
    ] {
        assert!(
            w.as_slice().iter().all(|w| w.offset != offset),
            "{offset:#x}"
        );
    }
    assert_eq!(get(&buf, hdr::CMD_LINE_PTR, 4), 0x8000_1000);
    // A map of 0 bytes: the EFI item is linked but efi_memmap stays 0.
    assert!(w.as_slice().iter().all(|w| w.offset != params::EFI_MEMMAP));
    // IMA with an empty buffer is not linked; KHO without state is not linked
    // but has its type and length; no seed, no seed item.
    let (items, end) = walk(&buf, at.params);
    assert_eq!(items, [(SETUP_EFI, 96)]);
    assert_eq!(end, 0);
    let kho = l.kho.unwrap() as usize;
    assert_eq!(get(&buf, kho, 8), 0);
    assert_eq!(get(&buf, kho + 8, 4), u64::from(SETUP_KEXEC_KHO));
    assert_eq!(get(&buf, kho + 12, 4), 32);
    assert!(buf[l.ima.unwrap() as usize..][..32].iter().all(|&b| b == 0));

    // Without CONFIG_EFI the EFI state is not used.
    let no_efi = Features { efi: false, ..ALL };
    let l = ParamsLayout::new(20, false, 0x300, &no_efi);
    let w = boot_params_writes(&h, &l, &at, &inherited);
    assert!(w.as_slice().iter().all(|w| w.offset != params::SECURE_BOOT));
    assert!(w.as_slice().iter().all(|w| w.offset != hdr::SETUP_DATA));
}

#[test]
fn the_list_ends_in_the_files_setup_data() {
    let l = ParamsLayout::new(1, false, 0, &Features::default());
    let at = Addresses {
        params: 0x10_0000,
        kernel: 0x100_0000,
        initrd: None,
    };
    let seeded = Inherited {
        rng_seeded: true,
        ..Inherited::default()
    };
    // The whole header is copied: the file's value ends the list.
    let h = header_with_setup_data(0xdead_beef_0000, 0x6a);
    assert_eq!(h.copied_setup_data(), 0xdead_beef_0000);
    let mut buf = vec![0u8; l.bufsz as usize];
    boot_params_writes(&h, &l, &at, &seeded)
        .apply(&mut buf)
        .unwrap();
    let (items, end) = walk(&buf, at.params);
    assert_eq!(items, [(SETUP_RNG_SEED, 32)]);
    assert_eq!(end, 0xdead_beef_0000);
    // A short jump copies only the two low bytes of setup_data.
    let h = header_with_setup_data(0x1122_3344_5566_7788, 0x50);
    assert_eq!(h.setup_header_range(), 0x1f1..0x252);
    assert_eq!(h.copied_setup_data(), 0x7788);
    // A jump that copies nothing of it.
    let h = header_with_setup_data(0x1122_3344_5566_7788, 0x4e);
    assert_eq!(h.copied_setup_data(), 0);
    // The longest copy the jump byte allows, 0x110 bytes.
    let h = header_with_setup_data(0, 0xff);
    assert_eq!(h.setup_header_range(), 0x1f1..0x301);
    // Nothing linked: setup_data is left as the copy has it.
    let h = header_with_setup_data(0x77, 0x6a);
    let w = boot_params_writes(&h, &l, &at, &Inherited::default());
    assert!(w.as_slice().iter().all(|w| w.offset != hdr::SETUP_DATA));
}

#[test]
fn stores_outside_the_buffer_write_nothing() {
    let h = probe(&image(4096)).unwrap();
    let l = ParamsLayout::new(1, false, 0, &Features::default());
    let at = Addresses {
        params: 0x10_0000,
        kernel: 0x100_0000,
        initrd: None,
    };
    let seeded = Inherited {
        rng_seeded: true,
        ..Inherited::default()
    };
    let w = boot_params_writes(&h, &l, &at, &seeded);
    // The seed item lies past the zero page.
    let mut page = vec![0u8; 4096];
    let e = w.apply(&mut page).unwrap_err();
    assert_eq!(e.offset as u64, l.rng);
    assert!(page.iter().all(|&b| b == 0));
    assert_eq!(
        Write {
            offset: 10,
            width: Width::U16,
            value: 1
        }
        .range(),
        10..12
    );
}

#[test]
fn memory_above_one_megabyte() {
    let ram = |addr, size| E820Entry {
        addr,
        size,
        kind: 1,
    };
    assert_eq!(mem_k(&[]), MemK::default());
    // Below 1M only, or starting above it: nothing.
    assert_eq!(
        mem_k(&[ram(0, 0xa_0000), ram(0x20_0000, 1 << 30)]),
        MemK::default()
    );
    // 0..64M: (64M - 1) >> 10 minus 1024 = 64511 KiB.
    let m = mem_k(&[ram(0, 64 << 20)]);
    assert_eq!(
        m,
        MemK {
            ext_mem_k: 64511,
            alt_mem_k: 64511
        }
    );
    // 1M..4G: ext_mem_k is capped at 64M.
    let m = mem_k(&[ram(0x10_0000, (4 << 30) - 0x10_0000)]);
    assert_eq!(m.ext_mem_k, 0xfc00);
    assert_eq!(m.alt_mem_k, (4 << 20) - 1 - 1024);
    // Reserved entries do not count; the last matching RAM entry decides.
    let reserved = E820Entry {
        kind: 2,
        ..ram(0, 8 << 30)
    };
    let m = mem_k(&[ram(0, 2 << 20), reserved, ram(0x8_0000, 3 << 20)]);
    assert_eq!(
        m.alt_mem_k,
        ((0x8_0000u64 + (3 << 20) - 1) >> 10) as u32 - 1024
    );
    // Beyond 4 TiB, alt_mem_k is capped.
    assert_eq!(mem_k(&[ram(0, 1 << 50)]).alt_mem_k, u32::MAX);
}

#[test]
fn the_rsdp_address() {
    let none = u64::MAX;
    assert_eq!(acpi_rsdp_addr(0xe_0000, Some((0x1000, 0x2000))), 0xe_0000);
    assert_eq!(acpi_rsdp_addr(0, Some((0x1000, 0x2000))), 0x1000);
    assert_eq!(acpi_rsdp_addr(0, Some((none, 0x2000))), 0x2000);
    assert_eq!(acpi_rsdp_addr(0, Some((none, none))), 0);
    assert_eq!(acpi_rsdp_addr(0, None), 0);
}

#[test]
fn the_entry_registers() {
    let r = entry_regs(0x7000_0000, 0x1_0000_0000, 0x7fff_f000);
    assert_eq!(r.rbx, 0);
    assert_eq!(r.rsi, 0x7000_0000);
    assert_eq!(r.rip, 0x1_0000_0200);
    assert_eq!(r.rsp, 0x7fff_f000);
}

#[test]
fn the_real_bzimage() {
    let file = match std::fs::read(REAL_BZIMAGE) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("skipped: {REAL_BZIMAGE}: {e}");
            return;
        }
    };
    let machine = Machine {
        efi_runtime_services: true,
        efi_64bit: true,
        five_level_paging: true,
    };
    let h = Header::probe(&file, &machine).unwrap();
    let k = h.kernel_buffer();
    eprintln!(
        "{REAL_BZIMAGE}: {} bytes, protocol {:#06x}, setup_sects {}, kern16 {:#x}, \
         xloadflags {:#x}, kernel_alignment {:#x}, pref_address {:#x}, init_size {:#x}, \
         cmdline_size {}, handover_offset {:#x}, kernel_info_offset {:?}, header copy {:?}",
        file.len(),
        h.version(),
        h.setup_sects(),
        h.kern16_size(),
        h.xloadflags(),
        h.kernel_alignment(),
        h.pref_address(),
        h.init_size(),
        h.cmdline_size(),
        h.handover_offset(),
        h.kernel_info_offset(),
        h.setup_header_range()
    );
    assert!(h.version() >= 0x020f);
    assert!(h.kern16_size() < file.len() as u64);
    assert!(h.kernel_alignment().is_power_of_two());
    assert!(h.kernel_alignment() >= 0x20_0000);
    assert_eq!(h.relocatable_kernel(), 1);
    assert_eq!(h.code32_start(), 0x10_0000);
    assert!(h.cmdline_size() >= 255);
    assert!(h.pref_address() >= 0x100_0000);
    assert_eq!(h.copied_setup_data(), 0);
    assert_eq!(h.setup_header_range(), 0x1f1..hdr::END);
    // The kernel's memory holds at least what the file gives it.
    assert_eq!(k.offset, h.kern16_size());
    assert!(k.memsz >= k.bufsz, "{k:?}");
    assert_eq!(k.memsz % 4096, 0);
    // kernel_info starts with "LToP", in the protected-mode part.
    let ki = (h.kern16_size() + u64::from(h.kernel_info_offset().unwrap())) as usize;
    assert_eq!(&file[ki..ki + 4], b"LToP");
    // A typical command line passes, with and without dm-crypt keys.
    let cmdline = b"console=ttyS0 root=/dev/vda rw\0";
    let h = check(&file, cmdline, &machine).unwrap();
    h.check_dm_crypt_keys(cmdline.len() as u64).unwrap();
}

// SPDX-License-Identifier: GPL-2.0

//! The pure modules' copies of C constants and layouts, checked at build time
//! against the bindings bindgen generates from the kernel's headers.
//!
//! The pure modules (segment, request, entry, elfcore, vmcoreinfo,
//! crashkernel, purgatory) are also built on the host, where there are no
//! bindings, so they spell the values out; a kernel whose headers disagree
//! does not build.

use crate::{corehdr, crashkernel, elfcore, entry, purgatory, request, segment, vmcoreinfo};
use core::mem::size_of;
use kernel::bindings as b;

macro_rules! same {
    ($($ours:expr => $c:expr),* $(,)?) => {
        $(const _: () = assert!($ours as u64 == $c as u64);)*
    };
}

// Pages and errnos.
same! {
    segment::PAGE_SIZE => b::PAGE_SIZE,
    corehdr::PAGE_SIZE => b::PAGE_SIZE,
    segment::EINVAL => b::EINVAL,
    segment::EADDRNOTAVAIL => b::EADDRNOTAVAIL,
    crashkernel::EINVAL => b::EINVAL,
    vmcoreinfo::BYTES => b::PAGE_SIZE,
    entry::ENTRIES_PER_PAGE * size_of::<b::kimage_entry_t>() => b::PAGE_SIZE,
}

// The kexec_load ABI (uapi/linux/kexec.h, linux/kexec.h).
same! {
    request::KEXEC_ON_CRASH => b::KEXEC_ON_CRASH,
    request::KEXEC_PRESERVE_CONTEXT => b::KEXEC_PRESERVE_CONTEXT,
    request::KEXEC_UPDATE_ELFCOREHDR => b::KEXEC_UPDATE_ELFCOREHDR,
    request::KEXEC_CRASH_HOTPLUG_SUPPORT => b::KEXEC_CRASH_HOTPLUG_SUPPORT,
    request::KEXEC_ARCH_MASK => b::KEXEC_ARCH_MASK,
    request::KEXEC_ARCH_DEFAULT => b::KEXEC_ARCH_DEFAULT,
    request::KEXEC_ARCH_X86_64 => b::KEXEC_ARCH_X86_64,
    request::KEXEC_ARCH_AARCH64 => b::KEXEC_ARCH_AARCH64,
    request::KEXEC_ARCH_NATIVE => b::KEXEC_ARCH,
    request::KEXEC_SEGMENT_MAX => b::KEXEC_SEGMENT_MAX,
    entry::INDEXED_SEGMENTS => b::KEXEC_SEGMENT_MAX,
    request::SEGMENT_BYTES => size_of::<b::kexec_segment>(),
}
#[cfg(CONFIG_COMPAT)]
same! { request::COMPAT_SEGMENT_BYTES => size_of::<b::compat_kexec_segment>() }

// The entry list that the relocate stub walks.
same! {
    entry::IND_DESTINATION => b::IND_DESTINATION,
    entry::IND_INDIRECTION => b::IND_INDIRECTION,
    entry::IND_DONE => b::IND_DONE,
    entry::IND_SOURCE => b::IND_SOURCE,
}

// ELF core headers and notes.
same! {
    elfcore::EHDR_SIZE => size_of::<b::Elf64_Ehdr>(),
    elfcore::PHDR_SIZE => size_of::<b::Elf64_Phdr>(),
    elfcore::NHDR_SIZE => size_of::<b::Elf64_Nhdr>(),
    elfcore::PT_LOAD => b::PT_LOAD,
    elfcore::PT_NOTE => b::PT_NOTE,
    elfcore::PF_RWX => b::PF_R | b::PF_W | b::PF_X,
    elfcore::ET_CORE => b::ET_CORE,
    elfcore::EM_X86_64 => b::EM_X86_64,
    elfcore::EM_AARCH64 => b::EM_AARCH64,
    elfcore::NT_PRSTATUS => b::NT_PRSTATUS,
}

// The machine the core headers name.
#[cfg(CONFIG_X86_64)]
same! { elfcore::EM_NATIVE => b::EM_X86_64 }
#[cfg(CONFIG_ARM64)]
same! { elfcore::EM_NATIVE => b::EM_AARCH64 }

// Purgatory relocations (x86_64's, in its asm/elf.h).
#[cfg(CONFIG_X86_64)]
same! {
    purgatory::R_X86_64_NONE => b::R_X86_64_NONE,
    purgatory::R_X86_64_64 => b::R_X86_64_64,
    purgatory::R_X86_64_PC32 => b::R_X86_64_PC32,
    purgatory::R_X86_64_PLT32 => b::R_X86_64_PLT32,
    purgatory::R_X86_64_32 => b::R_X86_64_32,
    purgatory::R_X86_64_32S => b::R_X86_64_32S,
}
same! {
    purgatory::SHN_UNDEF => b::SHN_UNDEF,
    purgatory::SHN_ABS => b::SHN_ABS,
    purgatory::SHN_COMMON => b::SHN_COMMON,
}

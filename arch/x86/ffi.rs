// SPDX-License-Identifier: GPL-2.0

//! The C interface of the x86_64 arch side: the functions of
//! arch/x86/kernel/machine_kexec_64.c that the kexec core (ours or C's
//! kexec_file.c) and the panic path call, and the C callbacks that the
//! identity-mapping library and the resource walker call back. Each turns its C
//! arguments into Rust types at once; signatures are checked against bindgen's
//! prototypes.

use super::*;
use crate::kexec::ffi::matches_c;

/// Prepares `image` for `machine_kexec` (`machine_kexec_prepare`).
///
/// # Safety
///
/// `image` is an image being loaded that the caller uses alone.
#[no_mangle]
pub(crate) unsafe extern "C" fn machine_kexec_prepare(image: *mut bindings::kimage) -> c_int {
    // SAFETY: by the caller's contract.
    match prepare(unsafe { Kimage::from_raw(image) }) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
matches_c!(machine_kexec_prepare: unsafe extern "C" fn(*mut bindings::kimage) -> c_int);

/// Undoes `machine_kexec_prepare` (`machine_kexec_cleanup`).
///
/// # Safety
///
/// `image` is an image being freed that the caller uses alone.
#[no_mangle]
pub(crate) unsafe extern "C" fn machine_kexec_cleanup(image: *mut bindings::kimage) {
    // SAFETY: by the caller's contract.
    cleanup(unsafe { Kimage::from_raw(image) });
}
matches_c!(machine_kexec_cleanup: unsafe extern "C" fn(*mut bindings::kimage));

/// Jumps to `image` (`machine_kexec`); does not return.
///
/// # Safety
///
/// `image` is the loaded image, held by the caller (under the kexec lock) for
/// the jump.
#[no_mangle]
pub(crate) unsafe extern "C" fn machine_kexec(image: *mut bindings::kimage) {
    // SAFETY: by the caller's contract.
    jump(unsafe { Kimage::from_raw(image) });
}
matches_c!(machine_kexec: unsafe extern "C" fn(*mut bindings::kimage));

/// Makes `pages` pages at `vaddr` usable by an image (`arch_kexec_post_alloc_pages`):
/// unencrypted when the host encrypts memory.
///
/// # Safety
///
/// `vaddr` is the direct-map address of `pages` pages that the caller owns.
#[no_mangle]
pub(crate) unsafe extern "C" fn arch_kexec_post_alloc_pages(
    vaddr: *mut c_void,
    pages: c_uint,
    _gfp: bindings::gfp_t,
) -> c_int {
    if !host_encrypts() {
        return 0;
    }
    // SAFETY: by the caller's contract.
    unsafe { bindings::set_memory_decrypted(vaddr as c_ulong, pages as c_int) }
}
matches_c!(arch_kexec_post_alloc_pages: unsafe extern "C" fn(*mut c_void, c_uint, bindings::gfp_t) -> c_int);

/// Undoes [`arch_kexec_post_alloc_pages`] before the pages are freed.
///
/// # Safety
///
/// As for [`arch_kexec_post_alloc_pages`].
#[no_mangle]
pub(crate) unsafe extern "C" fn arch_kexec_pre_free_pages(vaddr: *mut c_void, pages: c_uint) {
    if host_encrypts() {
        // SAFETY: by the caller's contract, before the pages go back to the allocator.
        unsafe { bindings::set_memory_encrypted(vaddr as c_ulong, pages as c_int) };
    }
}
matches_c!(arch_kexec_pre_free_pages: unsafe extern "C" fn(*mut c_void, c_uint));

/// Makes the crash reservation read-only while a crash image is loaded
/// (`arch_kexec_protect_crashkres`), so that a stray write cannot corrupt it.
///
/// # Safety
///
/// The caller holds the kexec lock.
#[cfg(CONFIG_CRASH_DUMP)]
#[no_mangle]
pub(crate) unsafe extern "C" fn arch_kexec_protect_crashkres() {
    // SAFETY: by the caller's contract.
    let mut lock = unsafe { KexecLock::held_by_caller() };
    mark_crash_reservation(true, &mut lock);
}
#[cfg(CONFIG_CRASH_DUMP)]
matches_c!(arch_kexec_protect_crashkres: unsafe extern "C" fn());

/// Makes the crash reservation writable again, to load or unload
/// (`arch_kexec_unprotect_crashkres`).
///
/// # Safety
///
/// The caller holds the kexec lock.
#[cfg(CONFIG_CRASH_DUMP)]
#[no_mangle]
pub(crate) unsafe extern "C" fn arch_kexec_unprotect_crashkres() {
    // SAFETY: by the caller's contract.
    let mut lock = unsafe { KexecLock::held_by_caller() };
    mark_crash_reservation(false, &mut lock);
}
#[cfg(CONFIG_CRASH_DUMP)]
matches_c!(arch_kexec_unprotect_crashkres: unsafe extern "C" fn());

/// `x86_mapping_info::alloc_pgt_page`: a zeroed control page of the image in
/// `context`, or null.
///
/// # Safety
///
/// `context` is the image whose identity map is being built
/// (`build_identity_map` sets it), which the builder uses alone.
pub(super) unsafe extern "C" fn alloc_table_page(context: *mut c_void) -> *mut c_void {
    // SAFETY: by the contract.
    let image = unsafe { Kimage::from_raw(context.cast()) };
    super::alloc_table_page(image).map_or(core::ptr::null_mut(), |va| va as *mut c_void)
}

/// Calls `f(start, end)` (half-open) for every iomem resource with `desc` and
/// `flags`, stopping at the first error. No such resource is not an error.
pub(super) fn walk_iomem(
    desc: c_ulong,
    flags: c_ulong,
    mut f: impl FnMut(u64, u64) -> Result,
) -> Result {
    type Walker<'a> = &'a mut dyn FnMut(u64, u64) -> Result;

    /// # Safety
    ///
    /// `res` is a valid resource and `arg` the `Walker` below.
    unsafe extern "C" fn each(res: *mut bindings::resource, arg: *mut c_void) -> c_int {
        // SAFETY: `walk_iomem_res_desc` passes a valid resource and our argument.
        let (res, f) = unsafe { (&*res, &mut *arg.cast::<Walker<'_>>()) };
        match f(res.start, res.end.saturating_add(1)) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    let mut walker: Walker<'_> = &mut f;
    // SAFETY: `walker` outlives the walk; `each` matches the walker's callback type.
    let ret = unsafe {
        bindings::walk_iomem_res_desc(
            desc,
            flags,
            0,
            u64::MAX,
            (&raw mut walker).cast(),
            Some(each),
        )
    };
    // EINVAL: no such resource, which is fine.
    if ret != 0 && ret != EINVAL.to_errno() {
        return Err(Error::from_errno(ret));
    }
    Ok(())
}

/// The kexec_file_load image loaders: the bzImage loader, then the end mark.
#[cfg(all(CONFIG_KEXEC_FILE, not(CONFIG_KEXEC_RUST_FILE)))]
#[repr(transparent)]
pub(crate) struct Loaders([*const bindings::kexec_file_ops; 2]);

// SAFETY: the table is read-only and points at read-only statics.
#[cfg(all(CONFIG_KEXEC_FILE, not(CONFIG_KEXEC_RUST_FILE)))]
unsafe impl Sync for Loaders {}

/// `kexec_file_loaders[]`, read by kernel/kexec_file.c.
#[cfg(all(CONFIG_KEXEC_FILE, not(CONFIG_KEXEC_RUST_FILE)))]
#[no_mangle]
pub(crate) static kexec_file_loaders: Loaders =
    Loaders([&raw const bindings::kexec_bzImage64_ops, core::ptr::null()]);

/// Frees the elfcorehdr of a crash image, then what kexec_file.c allocated
/// (`arch_kimage_file_post_load_cleanup`).
///
/// # Safety
///
/// `image` is kexec_file.c's image, used alone, under the kexec lock.
#[cfg(all(CONFIG_KEXEC_FILE, not(CONFIG_KEXEC_RUST_FILE)))]
#[no_mangle]
pub(crate) unsafe extern "C" fn arch_kimage_file_post_load_cleanup(
    image: *mut bindings::kimage,
) -> c_int {
    // SAFETY: by the caller's contract.
    let image = unsafe { Kimage::from_raw(image) };
    let c = image.c_mut();
    // SAFETY: `elf_headers` is null or the vmalloc buffer of the elfcorehdr.
    unsafe { bindings::vfree(c.elf_headers) };
    c.elf_headers = core::ptr::null_mut();
    c.elf_headers_sz = 0;
    // SAFETY: the generic part of the cleanup, on the same image.
    unsafe { bindings::kexec_image_post_load_cleanup_default(image.as_ptr()) }
}
#[cfg(all(CONFIG_KEXEC_FILE, not(CONFIG_KEXEC_RUST_FILE)))]
matches_c!(arch_kimage_file_post_load_cleanup: unsafe extern "C" fn(*mut bindings::kimage) -> c_int);

/// Applies the RELA section `relsec` to `section` of purgatory
/// (`arch_kexec_apply_relocations_add`); refusals are `-ENOEXEC`.
///
/// # Safety
///
/// kexec_file.c's purgatory being set up: `pi` holds the object built into the
/// kernel, its working section headers and the buffer its allocated sections
/// were laid out in; the section headers are among them.
#[cfg(all(CONFIG_KEXEC_FILE, not(CONFIG_KEXEC_RUST_FILE)))]
#[no_mangle]
pub(crate) unsafe extern "C" fn arch_kexec_apply_relocations_add(
    pi: *mut bindings::purgatory_info,
    section: *mut bindings::Elf64_Shdr,
    relsec: *const bindings::Elf64_Shdr,
    symtabsec: *const bindings::Elf64_Shdr,
) -> c_int {
    // SAFETY: by the caller's contract; the object is `kexec_purgatory_size`
    // bytes and has `e_shnum` working section headers.
    let (p, section, relsec, symtabsec) = unsafe {
        let pi = &*pi;
        let object =
            core::slice::from_raw_parts(pi.ehdr.cast::<u8>(), bindings::kexec_purgatory_size);
        let sechdrs = core::slice::from_raw_parts(pi.sechdrs, (*pi.ehdr).e_shnum as usize);
        (
            Purgatory { object, sechdrs },
            &*section,
            &*relsec,
            &*symtabsec,
        )
    };
    if section.sh_type == bindings::SHT_NOBITS {
        pr_err!("kexec: purgatory relocations aimed at a section without data\n");
        return ENOEXEC.to_errno();
    }
    // SAFETY: the section's bytes in the buffer: sh_offset and sh_size were
    // set by kexec_file.c when it laid the buffer out.
    let bytes = unsafe {
        let pi = &*pi;
        core::slice::from_raw_parts_mut(
            pi.purgatory_buf
                .cast::<u8>()
                .add(section.sh_offset as usize),
            section.sh_size as usize,
        )
    };
    match apply_relocations(&p, section, bytes, relsec, symtabsec) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
#[cfg(all(CONFIG_KEXEC_FILE, not(CONFIG_KEXEC_RUST_FILE)))]
matches_c!(arch_kexec_apply_relocations_add: unsafe extern "C" fn(*mut bindings::purgatory_info, *mut bindings::Elf64_Shdr, *const bindings::Elf64_Shdr, *const bindings::Elf64_Shdr) -> c_int);

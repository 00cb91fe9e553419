// SPDX-License-Identifier: GPL-2.0

//! kexec_file_load(2) in Rust, in place of kernel/kexec_file.c and the
//! arch's loader: arch/x86/kernel/kexec-bzimage64.c, or on arm64
//! arch/arm64/kernel/kexec_image.c and machine_kexec_file.c
//! (`CONFIG_KEXEC_RUST_FILE`).
//!
//! * `load`: the system call, in the order of the C implementation (so an
//!   input that breaks several rules gets the same errno): permission, flags,
//!   the lock, the files, the probe, the signature, the initrd, the command
//!   line, the loader, then the image is prepared, hashed and copied.
//! * `read`: the files as the kernel reads them (`kernel_read_file_from_fd`,
//!   with its LSM hooks and write denial) and the command line.
//! * `place`: `kexec_add_buffer` and the search for a hole in System RAM or in
//!   the crash reservation, over the pure search of [`crate::hole`].
//! * `purgatory` (x86_64): the purgatory built into the kernel, laid out by
//!   [`crate::purgatory`], relocated by the x86 code, and its variables.
//! * `digest` (x86_64): the SHA-256 of the segments that purgatory checks.
//! * `sig`: the signature and lockdown rules (`CONFIG_KEXEC_SIG`).
//! * `loader`: the arch's image loader. On x86_64 arch/x86/bzimage64.rs of
//!   the overlay, the bzImage loader over the pure rules and layout of
//!   [`crate::bzimage`]; on arm64 arch/arm64/image.rs, the Image loader over
//!   [`crate::arm64_image`], which has no purgatory (and so no digest).
//! * `ffi`: the functions C calls: the system call's entry, `kexec_add_buffer`
//!   for crash.c, and the cleanup `kimage_free` runs.
//!
//! Every buffer the call reads or builds (the files, the command line, the
//! purgatory, the boot parameters) is owned by the call and freed when it
//! returns, as the C code frees them at the end of a load. Only the ELF core
//! header of a crash load lives in the image (`elf_headers`), because
//! crash.c, which builds it, is still C.

/// `pr_info!` while a load runs with `KEXEC_FILE_DEBUG` (`kexec_dprintk`).
macro_rules! dprintk {
    ($($arg:tt)*) => {
        if crate::kexec::state::kexec_file_dbg_print.load(kernel::sync::atomic::ordering::Relaxed) {
            kernel::pr_info!($($arg)*);
        }
    };
}

#[cfg(CONFIG_X86_64)]
mod digest;
pub(crate) mod ffi;
mod load;
#[cfg_attr(CONFIG_X86_64, path = "../arch/x86/bzimage64.rs")]
#[cfg_attr(CONFIG_ARM64, path = "../arch/arm64/image.rs")]
mod loader;
mod place;
#[cfg(CONFIG_X86_64)]
mod purgatory;
mod read;
#[cfg(CONFIG_KEXEC_SIG)]
mod sig;

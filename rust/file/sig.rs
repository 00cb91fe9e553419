// SPDX-License-Identifier: GPL-2.0

//! The new kernel's signature (`CONFIG_KEXEC_SIG`), checked as stock checks
//! it: the PE signature of the bzImage against the kernel's trusted keys
//! (the builtin and secondary keyrings, then the platform keyring when no key
//! there matched), by the kernel's own verifier.
//!
//! A failure refuses the load when signatures are enforced
//! (`KEXEC_SIG_FORCE`, or IMA's architecture policy under Secure Boot, which
//! calls [`set_kexec_sig_enforced`]), with the verifier's errno; otherwise
//! only when the kernel is locked down and IMA will not appraise the image,
//! with `EPERM`. Else the load goes on.

use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{ordering, Atomic};

/// Whether a kernel that fails the check is refused whatever else holds.
static SIG_ENFORCE: Atomic<bool> = Atomic::new(cfg!(CONFIG_KEXEC_SIG_FORCE));

/// Makes signatures mandatory (`set_kexec_sig_enforced`, called by IMA).
#[no_mangle]
pub(crate) extern "C" fn set_kexec_sig_enforced() {
    SIG_ENFORCE.store(true, ordering::Relaxed);
}
crate::kexec::ffi::matches_c!(set_kexec_sig_enforced: unsafe extern "C" fn());

/// The verifier's answer for `kernel`: 0 or a negative errno. Without
/// `KEXEC_BZIMAGE_VERIFY_SIG` (on arm64 `KEXEC_IMAGE_VERIFY_SIG`) the loader has
/// no verifier: `EKEYREJECTED`.
fn verify(kernel: &[u8]) -> c_int {
    #[cfg(any(CONFIG_KEXEC_BZIMAGE_VERIFY_SIG, CONFIG_KEXEC_IMAGE_VERIFY_SIG))]
    {
        // SAFETY: `kernel` is readable for its length.
        let ret = unsafe {
            bindings::kexec_rust_verify_pe_secondary(
                kernel.as_ptr().cast(),
                kernel.len() as c_ulong,
            )
        };
        if ret == ENOKEY.to_errno() && cfg!(CONFIG_INTEGRITY_PLATFORM_KEYRING) {
            // SAFETY: as above.
            return unsafe {
                bindings::kexec_rust_verify_pe_platform(
                    kernel.as_ptr().cast(),
                    kernel.len() as c_ulong,
                )
            };
        }
        ret
    }
    #[cfg(not(any(CONFIG_KEXEC_BZIMAGE_VERIFY_SIG, CONFIG_KEXEC_IMAGE_VERIFY_SIG)))]
    {
        let _ = kernel;
        pr_debug!("kernel loader does not support signature verification.\n");
        EKEYREJECTED.to_errno()
    }
}

/// Checks the new kernel's signature (`kimage_validate_signature`).
pub(crate) fn validate(kernel: &[u8]) -> Result {
    let ret = verify(kernel);
    if ret == 0 {
        return Ok(());
    }
    if SIG_ENFORCE.load(ordering::Relaxed) {
        pr_notice!(
            "kexec_file: Enforced kernel signature verification failed ({}).\n",
            ret
        );
        return Err(Error::from_errno(ret));
    }
    // An image IMA will appraise may load even on a locked-down kernel.
    // SAFETY: the helpers ask IMA's policy and the lockdown LSM.
    let refused = unsafe {
        !bindings::kexec_rust_ima_appraise_kexec_signature()
            && bindings::kexec_rust_locked_down_kexec() != 0
    };
    if refused {
        pr_err!(
            "kexec_file_load refused: the kernel is locked down and the new kernel's signature \
             did not verify ({})\n",
            ret
        );
        return Err(EPERM);
    }
    pr_debug!(
        "kexec_file: kernel signature verification failed ({}).\n",
        ret
    );
    Ok(())
}

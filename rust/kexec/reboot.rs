// SPDX-License-Identifier: GPL-2.0

//! The kexec reboot: `reboot(LINUX_REBOOT_CMD_KEXEC)` ends in `kernel_kexec`
//! (ffi.rs), which calls [`reboot`]: it shuts the machine down as a reboot does
//! and hands the loaded image to the arch code (`machine_kexec`), which copies
//! it into place and jumps.
//!
//! Preserve-context images (KEXEC_JUMP: run the new kernel and come back) are
//! not supported: such an image is refused here with `EOPNOTSUPP` and the
//! machine is left untouched. Without `CONFIG_KEXEC_JUMP` the load already
//! refuses the flag, as the C implementation does.

use super::state::{self, KexecLock};
use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::sync::atomic::ordering;

/// Boots the loaded image: `EBUSY` if a load holds the kexec lock, `EINVAL` if
/// no image is loaded; otherwise it does not return.
pub(crate) fn reboot() -> Result {
    let mut lock = KexecLock::try_lock().ok_or(EBUSY)?;
    let image = state::kexec_image.get(&mut lock).ok_or(EINVAL)?;
    if image.c().preserve_context() != 0 {
        pr_err!("kexec: preserve-context (KEXEC_JUMP) images are not supported by kexec_rust\n");
        return Err(EOPNOTSUPP);
    }
    // SAFETY: hands live-update state over to the next kernel, or fails.
    to_result(unsafe { bindings::kexec_rust_liveupdate_reboot() })?;
    state::kexec_in_progress.store(true, ordering::Relaxed);
    // SAFETY: the reboot sequence of the C implementation, in its order: from
    // here on the machine goes down.
    unsafe {
        bindings::kernel_restart_prepare(c"kexec reboot".as_char_ptr().cast_mut());
        bindings::migrate_to_reboot_cpu();
        bindings::syscore_shutdown();
        // migrate_to_reboot_cpu() disabled CPU hotplug, but the arch's
        // machine_shutdown() takes the other CPUs offline through it.
        bindings::cpu_hotplug_enable();
    }
    pr_notice!("Starting new kernel\n");
    // SAFETY: as above; the image stays loaded while we hold the lock, and
    // machine_kexec() does not return for it.
    unsafe {
        bindings::machine_shutdown();
        bindings::kexec_rust_kmsg_dump_shutdown();
        bindings::machine_kexec(image.as_ptr());
    }
    Ok(())
}

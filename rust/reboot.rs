// SPDX-License-Identifier: GPL-2.0

//! The kexec reboot: `reboot(LINUX_REBOOT_CMD_KEXEC)` ends in [`kernel_kexec`],
//! which shuts the machine down as a reboot does and hands the loaded image to
//! the arch code (`machine_kexec`), which copies it into place and jumps.
//!
//! Preserve-context images (KEXEC_JUMP: run the new kernel and come back) are
//! not supported: such an image is refused here with `EOPNOTSUPP` and the
//! machine is left untouched. Without `CONFIG_KEXEC_JUMP` the load already
//! refuses the flag, as the C implementation does.

use crate::state::{self, KexecLock};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::ordering;

fn reboot() -> Result {
    let _lock = KexecLock::try_lock().ok_or(EBUSY)?;
    let image = state::kexec_image.load(ordering::Relaxed);
    if image.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: the loaded image stays valid while we hold the kexec lock.
    if unsafe { (*image).preserve_context() } != 0 {
        pr_err!("kexec: preserve-context (KEXEC_JUMP) images are not supported by kexec_rust\n");
        return Err(EOPNOTSUPP);
    }
    // SAFETY: hands live-update state over to the next kernel, or fails.
    let ret = unsafe { crate::sys::kexec_rust_liveupdate_reboot() };
    if ret != 0 {
        return Err(Error::from_errno(ret));
    }
    // SAFETY: the reboot sequence of the C implementation, in its order: from
    // here on the machine goes down. `kexec_in_progress` is only written here.
    unsafe {
        *core::ptr::addr_of_mut!(state::kexec_in_progress) = true;
        bindings::kernel_restart_prepare(c"kexec reboot".as_char_ptr().cast_mut());
        bindings::migrate_to_reboot_cpu();
        bindings::syscore_shutdown();
        // migrate_to_reboot_cpu() disabled CPU hotplug, but the arch's
        // machine_shutdown() takes the other CPUs offline through it.
        bindings::cpu_hotplug_enable();
    }
    pr_notice!("Starting new kernel\n");
    // SAFETY: as above; machine_kexec() does not return for a normal image.
    unsafe {
        bindings::machine_shutdown();
        crate::sys::kexec_rust_kmsg_dump_shutdown();
        bindings::machine_kexec(image);
    }
    Ok(())
}

/// Boots the loaded image: `EBUSY` if a load holds the kexec lock, `EINVAL` if
/// no image is loaded; otherwise it does not return.
#[no_mangle]
pub(crate) extern "C" fn kernel_kexec() -> c_int {
    match reboot() {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

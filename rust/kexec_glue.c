// SPDX-License-Identifier: GPL-2.0
/*
 * C glue for kexec_rust: the system call entry points, which only the
 * SYSCALL_DEFINE macros can declare. Everything else is in Rust (load.rs);
 * helpers.c wraps the static inline functions Rust calls.
 */
#include <linux/compat.h>
#include <linux/kexec.h>
#include <linux/mm.h>
#include <linux/syscalls.h>

long kexec_rust_load(unsigned long entry, unsigned long nr_segments,
		     void __user *segments, unsigned long flags, bool compat);

#ifdef CONFIG_KEXEC
SYSCALL_DEFINE4(kexec_load, unsigned long, entry, unsigned long, nr_segments,
		struct kexec_segment __user *, segments, unsigned long, flags)
{
	return kexec_rust_load(entry, nr_segments, segments, flags, false);
}

#ifdef CONFIG_COMPAT
COMPAT_SYSCALL_DEFINE4(kexec_load, compat_ulong_t, entry,
		       compat_ulong_t, nr_segments,
		       struct compat_kexec_segment __user *, segments,
		       compat_ulong_t, flags)
{
	return kexec_rust_load(entry, nr_segments, segments, flags, true);
}
#endif
#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * C glue for kexec_rust: the system call entry points, which only the
 * SYSCALL_DEFINE macros can declare, and two values that are C macros.
 * Everything else is in Rust (load.rs).
 */
#include <linux/compat.h>
#include <linux/kexec.h>
#include <linux/mm.h>
#include <linux/syscalls.h>

long kexec_rust_load(unsigned long entry, unsigned long nr_segments,
		     void __user *segments, unsigned long flags, bool compat);
unsigned long kexec_rust_destination_limit(void);
unsigned long kexec_rust_totalram_pages(void);

unsigned long kexec_rust_destination_limit(void)
{
	return KEXEC_DESTINATION_MEMORY_LIMIT;
}

unsigned long kexec_rust_totalram_pages(void)
{
	return totalram_pages();
}

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

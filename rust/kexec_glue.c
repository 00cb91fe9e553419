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

#ifdef CONFIG_KEXEC_RUST_FILE
long kexec_rust_file_load(int kernel_fd, int initrd_fd, unsigned long cmdline_len,
			  const char __user *cmdline_ptr, unsigned long flags);

/* kexec_file_load (rust/file/): the descriptors are ints, as in C. */
SYSCALL_DEFINE5(kexec_file_load, int, kernel_fd, int, initrd_fd,
		unsigned long, cmdline_len, const char __user *, cmdline_ptr,
		unsigned long, flags)
{
	return kexec_rust_file_load(kernel_fd, initrd_fd, cmdline_len, cmdline_ptr, flags);
}
#endif

#ifdef CONFIG_KEXEC_RUST_CRASH
/*
 * kdump (crash.rs, reserve.rs, vmcoreinfo_data.rs): what only C macros can
 * declare, an initcall, an early_param, the exports, and a printf-style
 * function for the C callers that add VMCOREINFO lines.
 */
#include <linux/crash_core.h>
#include <linux/vmcore_info.h>

int kexec_rust_crash_init(void);
static int __init kexec_rust_crash_initcall(void)
{
	return kexec_rust_crash_init();
}
subsys_initcall(kexec_rust_crash_initcall);

#include <linux/crash_reserve.h>
#ifndef HAVE_ARCH_ADD_CRASH_RES_TO_IOMEM_EARLY
/* The boot-time reservation joins /proc/iomem after the RAM resources (arm64). */
int kexec_rust_insert_crash_resources(void);
static int __init kexec_rust_crash_res_initcall(void)
{
	return kexec_rust_insert_crash_resources();
}
early_initcall(kexec_rust_crash_res_initcall);
#endif

/*
 * The arch hooks of the running system's memory ranges, weak in C's
 * kernel/crash_core.c and so here (Rust has no weak definitions): x86 has its
 * own, arm64 its first two (with KEXEC_FILE) and none of the last.
 */
unsigned int __weak arch_get_system_nr_ranges(void)
{
	return 0;
}

int __weak arch_crash_populate_cmem(struct crash_mem *cmem)
{
	return -1;
}

int __weak arch_crash_exclude_ranges(struct crash_mem *cmem)
{
	return 0;
}

/* crashkernel= is parsed by setup_arch(); this only marks it as known. */
static int __init kexec_rust_crashkernel_param(char *arg)
{
	return 0;
}
early_param("crashkernel", kexec_rust_crashkernel_param);

void kexec_rust_vmcoreinfo_append(const char *line, size_t len);
void vmcoreinfo_append_str(const char *fmt, ...)
{
	char line[0x50];
	va_list args;
	size_t len;

	va_start(args, fmt);
	len = vscnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	kexec_rust_vmcoreinfo_append(line, len);
}

EXPORT_SYMBOL_GPL(kexec_crash_loaded);
EXPORT_SYMBOL_GPL(crash_exclude_mem_range);
EXPORT_SYMBOL(paddr_vmcoreinfo_note);
EXPORT_SYMBOL_GPL(hwerr_log_error_type);
#endif

#ifdef CONFIG_KEXEC_RUST_VMCORE
/*
 * The capture kernel's /proc/vmcore (rust/vmcore/): the early_param for
 * elfcorehdr=, the fs_initcall that reads the header and creates the file,
 * and the export of the variable that is_kdump_kernel() reads.
 */
#include <linux/crash_dump.h>

int kexec_rust_elfcorehdr_param(const char *arg);
static int __init kexec_rust_elfcorehdr(char *arg)
{
	return kexec_rust_elfcorehdr_param(arg);
}
early_param("elfcorehdr", kexec_rust_elfcorehdr);

int kexec_rust_vmcore_init(void);
static int __init kexec_rust_vmcore_initcall(void)
{
	return kexec_rust_vmcore_init();
}
fs_initcall(kexec_rust_vmcore_initcall);

EXPORT_SYMBOL_GPL(elfcorehdr_addr);
#endif

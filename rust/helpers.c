// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers that let kexec_rust call static inline functions and
 * macros, which bindgen cannot turn into bindings. This is the pattern of the
 * kernel's own rust/helpers/: no logic lives here, only the call.
 */
#include <linux/cpu.h>
#include <linux/dma-map-ops.h>
#include <linux/highmem.h>
#include <linux/kexec.h>
#include <linux/kmsg_dump.h>
#include <linux/list.h>
#include <linux/liveupdate.h>
#include <linux/mm.h>
#include <linux/page-flags.h>
#include <linux/sched/signal.h>
#include <linux/vmalloc.h>

#define KR_HELPER(ret, name, params, call)	\
	ret kexec_rust_##name params;		\
	ret kexec_rust_##name params { return call; }
#define KR_VOID(name, params, call)		\
	void kexec_rust_##name params;		\
	void kexec_rust_##name params { call; }

/* The machine's kexec limits, which are macros. */
KR_HELPER(unsigned long, destination_limit, (void), KEXEC_DESTINATION_MEMORY_LIMIT)
KR_HELPER(unsigned long, source_limit, (void), KEXEC_SOURCE_MEMORY_LIMIT)
KR_HELPER(unsigned long, control_limit, (void), KEXEC_CONTROL_MEMORY_LIMIT)
KR_HELPER(unsigned long, crash_control_limit, (void), KEXEC_CRASH_CONTROL_MEMORY_LIMIT)
KR_HELPER(gfp_t, control_gfp, (void), KEXEC_CONTROL_MEMORY_GFP)
KR_HELPER(gfp_t, source_gfp, (void), GFP_HIGHUSER)
KR_HELPER(unsigned long, totalram_pages, (void), totalram_pages())

/* Pages and their physical addresses (the boot_ variants kexec uses). */
KR_HELPER(struct page *, boot_pfn_to_page, (unsigned long pfn), boot_pfn_to_page(pfn))
KR_HELPER(unsigned long, page_to_boot_pfn, (struct page *page), page_to_boot_pfn(page))
KR_HELPER(void *, page_address, (struct page *page), page_address(page))
KR_HELPER(void *, boot_phys_to_virt, (unsigned long phys), boot_phys_to_virt(phys))
KR_VOID(set_page_reserved, (struct page *page), SetPageReserved(page))
KR_HELPER(bool, reserved_ram_at, (unsigned long phys),
	  pfn_valid(phys >> PAGE_SHIFT) && PageReserved(boot_pfn_to_page(phys >> PAGE_SHIFT)))
KR_VOID(clear_page_reserved, (struct page *page), ClearPageReserved(page))
KR_VOID(set_page_order, (struct page *page, unsigned int order),
	  page->mapping = NULL; set_page_private(page, order))
KR_HELPER(unsigned int, page_order, (struct page *page), page_private(page))
KR_VOID(copy_highpage, (struct page *to, struct page *from), copy_highpage(to, from))
KR_VOID(clear_highpage, (struct page *page), clear_highpage(page))
KR_VOID(flush_icache_page, (struct page *page), kexec_flush_icache_page(page))
KR_VOID(accept_memory, (phys_addr_t start, unsigned long size), accept_memory(start, size))
KR_VOID(dma_release_from_contiguous, (struct page *pages, int count),
	  dma_release_from_contiguous(NULL, pages, count))

/* Lists of pages, linked through page->lru. */
KR_VOID(page_list_add, (struct page *page, struct list_head *head),
	  list_add(&page->lru, head))
KR_VOID(page_list_del, (struct page *page), list_del(&page->lru))
KR_HELPER(unsigned long, page_lru_offset, (void), offsetof(struct page, lru))
KR_HELPER(struct page *, page_list_first, (struct list_head *head),
	  list_first_entry_or_null(head, struct page, lru))

/* The task and the reboot path. */
KR_HELPER(bool, fatal_signal_pending, (void), fatal_signal_pending(current))
KR_VOID(cond_resched, (void), cond_resched())
KR_HELPER(int, liveupdate_reboot, (void), liveupdate_reboot())
KR_VOID(kmsg_dump_shutdown, (void), kmsg_dump(KMSG_DUMP_SHUTDOWN))
KR_HELPER(unsigned long, virt_to_boot_phys, (void *addr), virt_to_boot_phys(addr))
KR_HELPER(unsigned long long, virt_to_phys, (void *addr), __pa(addr))
KR_HELPER(void *, vmap_pages, (struct page **pages, unsigned int count),
	  vmap(pages, count, VM_MAP, PAGE_KERNEL))

#ifdef CONFIG_KEXEC_RUST_CRASH
#include <linux/crash_core.h>
#include <linux/crash_reserve.h>
#include <linux/elfcore.h>
#include <linux/kmemleak.h>
#include <linux/mmzone.h>
#include <linux/percpu.h>
#include <linux/utsname.h>
#include <asm/sections.h>

/* crashkernel=: the arch's limits and defaults (macros in asm/crash_reserve.h). */
KR_HELPER(unsigned long long, crash_align, (void), CRASH_ALIGN)
KR_HELPER(unsigned long long, crash_addr_low_max, (void), CRASH_ADDR_LOW_MAX)
KR_HELPER(unsigned long long, crash_addr_high_max, (void), CRASH_ADDR_HIGH_MAX)
KR_HELPER(unsigned long long, crash_low_size_default, (void), DEFAULT_CRASH_KERNEL_LOW_SIZE)
KR_VOID(kmemleak_ignore_phys, (phys_addr_t phys), kmemleak_ignore_phys(phys))
KR_VOID(crash_free_reserved_phys_range, (unsigned long begin, unsigned long end),
	crash_free_reserved_phys_range(begin, end))
KR_HELPER(unsigned long, crash_mem_align, (void), KEXEC_CRASH_MEM_ALIGN)

/* The panic path: the task, the registers and the per-CPU note buffers. */
KR_HELPER(bool, in_interrupt, (void), in_interrupt())
KR_HELPER(bool, task_is_global_init, (struct task_struct *p), is_global_init(p))
KR_HELPER(int, task_pid, (struct task_struct *p), p->pid)
KR_HELPER(int, current_pid, (void), current->pid)
KR_VOID(crash_setup_regs, (struct pt_regs *out, struct pt_regs *regs), crash_setup_regs(out, regs))
KR_VOID(elf_core_copy_regs, (elf_gregset_t *out, struct pt_regs *regs), elf_core_copy_regs(out, regs))
KR_HELPER(note_buf_t __percpu *, alloc_percpu_notes, (size_t size, size_t align),
	  __alloc_percpu(size, align))
KR_HELPER(void *, crash_note_buf, (note_buf_t __percpu *notes, unsigned int cpu),
	  per_cpu_ptr(notes, cpu))
KR_HELPER(unsigned long long, crash_note_phys, (note_buf_t __percpu *notes, unsigned int cpu),
	  per_cpu_ptr_to_phys(per_cpu_ptr(notes, cpu)))
KR_HELPER(unsigned int, next_possible_cpu, (int cpu), cpumask_next(cpu, cpu_possible_mask))

/* The kernel image and the direct map, for the ELF core header. */
KR_HELPER(unsigned long, kernel_text_start, (void), (unsigned long)_text)
KR_HELPER(unsigned long, kernel_image_size, (void), (unsigned long)(_end - _text))
KR_HELPER(unsigned long long, kernel_text_phys, (void), __pa_symbol(_text))
KR_HELPER(unsigned long, direct_map_base, (void), (unsigned long)__va(0))
KR_HELPER(void *, kvzalloc, (size_t size), kvzalloc(size, GFP_KERNEL))
KR_HELPER(void *, vzalloc, (unsigned long size), vzalloc(size))
KR_HELPER(void *, alloc_zeroed_exact, (size_t size), alloc_pages_exact(size, GFP_KERNEL | __GFP_ZERO))

/* VMCOREINFO values that C only has as macros or opaque types. */
KR_HELPER(const char *, os_release, (void), init_uts_ns.name.release)
KR_HELPER(unsigned long, uts_namespace_name_offset, (void), offsetof(struct uts_namespace, name))
KR_HELPER(unsigned long, node_online_map_addr, (void), (unsigned long)&node_online_map)
KR_HELPER(unsigned long, swapper_pg_dir_addr, (void), (unsigned long)swapper_pg_dir)
KR_HELPER(unsigned long, vmalloc_start, (void), (unsigned long)VMALLOC_START)
KR_HELPER(unsigned long, vmemmap_addr, (void), (unsigned long)vmemmap)
KR_HELPER(unsigned long, nr_section_roots, (void), NR_SECTION_ROOTS)
KR_HELPER(long, max_physmem_bits, (void), MAX_PHYSMEM_BITS)
#endif

#ifdef CONFIG_KEXEC_RUST_RELOCATE
#include <asm/cpu.h>
#include <asm/debugreg.h>
#include <asm/pgtable.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>
#include <linux/cc_platform.h>

/* machine_kexec (kexec_rust/arch/x86/machine_kexec.rs). */
KR_VOID(irq_disable, (void), local_irq_disable())
KR_VOID(hw_breakpoint_disable, (void), hw_breakpoint_disable())
KR_VOID(cet_disable, (void), cet_disable())
KR_HELPER(bool, cache_incoherent, (void), this_cpu_read(cache_state_incoherent))
KR_HELPER(bool, tdx_guest, (void), cpu_feature_enabled(X86_FEATURE_TDX_GUEST))
KR_HELPER(bool, cc_platform_has, (enum cc_attr attr), cc_platform_has(attr))
KR_HELPER(unsigned long, ident_page_flag, (void), __PAGE_KERNEL_LARGE_EXEC)
KR_HELPER(unsigned long, ident_table_flag, (void), _KERNPG_TABLE_NOENC)
KR_HELPER(unsigned long, page_enc, (void), _PAGE_ENC)
KR_HELPER(unsigned long, pgd_index, (unsigned long va), pgd_index(va))
KR_HELPER(unsigned long, read_cr3_pa, (void), read_cr3_pa())
#endif

#if defined(CONFIG_KEXEC_RUST_RELOCATE) && defined(CONFIG_EFI)
#include <linux/efi.h>
#include <asm/efi.h>
#include <asm/setup.h>

/* The EFI tables that machine_kexec adds to the identity map. */
KR_HELPER(unsigned long, efi_systab, (void),
	  efi_enabled(EFI_BOOT) ? boot_params.efi_info.efi_systab |
				  ((u64)boot_params.efi_info.efi_systab_hi << 32) : 0)
KR_HELPER(unsigned long, efi_systab_size, (void),
	  efi_enabled(EFI_64BIT) ? sizeof(efi_system_table_64_t) : sizeof(efi_system_table_32_t))
KR_HELPER(unsigned long, efi_nr_tables, (const void *systab),
	  efi_enabled(EFI_64BIT) ? ((const efi_system_table_64_t *)systab)->nr_tables
				 : ((const efi_system_table_32_t *)systab)->nr_tables)
KR_HELPER(unsigned long, efi_config_tables, (void), efi_config_table)
KR_HELPER(unsigned long, efi_config_table_size, (void),
	  efi_enabled(EFI_64BIT) ? sizeof(efi_config_table_64_t) : sizeof(efi_config_table_32_t))
#endif

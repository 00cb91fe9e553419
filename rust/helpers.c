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
KR_HELPER(void *, vmap_pages, (struct page **pages, unsigned int count),
	  vmap(pages, count, VM_MAP, PAGE_KERNEL))

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kexec_rust relocate stub for x86_64: leaves the old kernel's address space,
 * copies the new image into place and jumps to its entry point (purgatory).
 *
 * machine_kexec_prepare() (arch/x86/machine_kexec.rs) copies everything
 * between __relocate_kernel_start and __relocate_kernel_end, that is the
 * .text..relocate_kernel and .data..relocate_kernel sections of this file,
 * to the start of the image's control page, makes that page executable, and
 * builds an identity-mapped page table for the image. machine_kexec() calls
 * the copy at the control page's kernel virtual address. The rest of the
 * control page is the stub's stack.
 *
 * Register contract of kexec_rust_relocate (SysV order; it never returns):
 *   %rdi  first entry of the kimage entry list (kimage->head)
 *   %rsi  physical address of the control page
 *   %rdx  entry point of the new image (kimage->start), physical
 *   %rcx  physical address of the identity-mapped top-level page table; it
 *         also maps the control page at its kernel virtual address
 *   %r8   flags: RELOC_KERNEL_CACHE_INCOHERENT asks for WBINVD before the
 *         copy; RELOC_KERNEL_PRESERVE_CONTEXT is not supported (the caller
 *         refuses such images)
 *   %r9   the CR4 bits that may stay set on the way out (PAE and LA57, plus
 *         MCE on TDX guests, where it cannot be cleared)
 *   Interrupts must be off and DF clear.
 *
 * At the new entry point: paging on with the identity map, CR0 = PG|PE plus
 * whatever of the other bits was set except AM/WP/TS/EM, CR4 reduced to the
 * %r9 bits, this file's GDT loaded (__KERNEL32_CS, __KERNEL_CS, __KERNEL_DS
 * at their kernel selectors) with CS = __KERNEL_CS and the data segments =
 * __KERNEL_DS (reloaded from it), an empty IDT, every general register zero except %rsp, which
 * points at a zero quadword (purgatory reads it as "no return address", the
 * mark of a normal, not preserve-context, kexec) inside the control page.
 *
 * An exception anywhere in here, with the IDT empty, resets the machine.
 */

#include <linux/linkage.h>
#include <asm/kexec.h>
#include <asm/nospec-branch.h>
#include <asm/page_types.h>
#include <asm/processor-flags.h>
#include <asm/segment.h>
#include <asm/unwind_hints.h>

	.section .text..relocate_kernel,"ax"
	.code64
SYM_CODE_START_NOALIGN(kexec_rust_relocate)
	UNWIND_HINT_END_OF_STACK
	ANNOTATE_NOENDBR

	/*
	 * Flags to a known state (DF clear for the copies, AC and IF clear),
	 * and an empty IDT: from here until the new kernel sets up its own, an
	 * exception or NMI cannot run any of the old kernel's handlers.
	 */
	pushq	$0
	popfq
	pushq	$0
	pushq	$0
	lidt	(%rsp)
	addq	$16, %rsp

	/*
	 * Switch to the identity map. This instruction runs at the control
	 * page's kernel virtual address, and so does the next one: the new
	 * table maps that address too (prepare copied the kernel's top-level
	 * entry for it).
	 */
	movq	%rcx, %cr3

	/*
	 * Global pages off, which also drops the old kernel's global TLB
	 * entries; LASS off, as the identity addresses are in the lower half.
	 */
	movq	%cr4, %rax
	andq	$~(X86_CR4_PGE | X86_CR4_LASS), %rax
	movq	%rax, %cr4

	/* The stack: the top of the control page, by its physical address. */
	leaq	PAGE_SIZE(%rsi), %rsp

	/*
	 * Continue at the physical address of kexec_rust_identity: its
	 * virtual address in the copy, less the copy's virtual base (the page
	 * holding it, as the copy starts the page and is under a page long),
	 * plus the control page's physical address. The old kernel's stack is
	 * not mapped any more; nothing above touched it after the switch.
	 */
	leaq	kexec_rust_identity(%rip), %rax
	movq	%rax, %r10
	andq	$PAGE_MASK, %r10
	subq	%r10, %rax
	addq	%rsi, %rax
	ANNOTATE_RETPOLINE_SAFE
	jmp	*%rax
SYM_CODE_END(kexec_rust_relocate)

SYM_CODE_START_LOCAL_NOALIGN(kexec_rust_identity)
	UNWIND_HINT_END_OF_STACK
	ANNOTATE_NOENDBR
	/*
	 * Now on the identity map, at physical addresses. Our own GDT, in
	 * this page: the kernel's per-CPU GDT is not mapped any more. The
	 * data segment registers are reloaded from it; CS keeps its selector,
	 * which is the same 64-bit code descriptor in both tables.
	 */
	leaq	kexec_rust_gdt(%rip), %rax
	subq	$16, %rsp
	movw	$(kexec_rust_gdt_end - kexec_rust_gdt - 1), (%rsp)
	movq	%rax, 2(%rsp)
	lgdt	(%rsp)
	addq	$16, %rsp

	movl	$__KERNEL_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs

	/* CET off first: it forbids clearing CR0.WP. */
	movq	%cr4, %rax
	andq	$~X86_CR4_CET, %rax
	movq	%rax, %cr4

	/*
	 * CR0: paging and protected mode stay on; alignment checks, write
	 * protection (the copy writes anywhere), task-switched and FPU
	 * emulation off.
	 */
	movq	%cr0, %rax
	andq	$~(X86_CR0_AM | X86_CR0_WP | X86_CR0_TS | X86_CR0_EM), %rax
	orl	$(X86_CR0_PG | X86_CR0_PE), %eax
	movq	%rax, %cr0

	/* CR4: only the bits the caller allows (paging mode, TDX's MCE). */
	movq	%cr4, %rax
	andq	%r9, %rax
	movq	%rax, %cr4

	/* Flush the whole TLB. */
	movq	%cr3, %rax
	movq	%rax, %cr3

	/*
	 * Write back and invalidate the caches if the caller says they may
	 * hold lines that disagree with memory (memory encryption).
	 */
	testb	$RELOC_KERNEL_CACHE_INCOHERENT, %r8b
	jz	.Lcaches_done
	wbinvd
.Lcaches_done:

	/* The copy clobbers only caller-saved registers: the entry waits in %r12. */
	movq	%rdx, %r12
	call	kexec_rust_walk

	/*
	 * A serializing instruction after the copy, which may have written
	 * over code about to run: reload CR3 (also flushes the TLB).
	 */
	movq	%cr3, %rax
	movq	%rax, %cr3

	/* A zero "return address" for purgatory, then the entry point. */
	pushq	$0
	pushq	%r12

	xorl	%eax, %eax
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%esi, %esi
	xorl	%edi, %edi
	xorl	%ebp, %ebp
	xorl	%r8d, %r8d
	xorl	%r9d, %r9d
	xorl	%r10d, %r10d
	xorl	%r11d, %r11d
	xorl	%r12d, %r12d
	xorl	%r13d, %r13d
	xorl	%r14d, %r14d
	xorl	%r15d, %r15d

	/* Pops the entry point: jumps there with %rsp at the zero. */
	ANNOTATE_UNRET_SAFE
	ret
	int3
SYM_CODE_END(kexec_rust_identity)

/*
 * void kexec_rust_walk(u64 head): the copy loop, shared with the host tests.
 */
SYM_CODE_START_LOCAL_NOALIGN(kexec_rust_walk)
	UNWIND_HINT_END_OF_STACK
#include "relocate_walk.S"
	ANNOTATE_UNRET_SAFE
	ret
	int3
SYM_CODE_END(kexec_rust_walk)

	.section .data..relocate_kernel,"a"
	.balign	16
/*
 * The GDT loaded in identity mode: the null descriptor, then flat 32-bit
 * code, 64-bit code and data, at the kernel's own selectors. The accessed
 * bit is preset so that loading a segment never writes to this table.
 */
SYM_DATA_START_LOCAL(kexec_rust_gdt)
	.quad	0
	.quad	0x00cf9b000000ffff	/* __KERNEL32_CS: base 0, 4 GiB, 32-bit code */
	.quad	0x00af9b000000ffff	/* __KERNEL_CS: 64-bit code */
	.quad	0x00cf93000000ffff	/* __KERNEL_DS: base 0, 4 GiB, data */
SYM_DATA_END_LABEL(kexec_rust_gdt, SYM_L_LOCAL, kexec_rust_gdt_end)

.if (__KERNEL32_CS != 0x08) || (__KERNEL_CS != 0x10) || (__KERNEL_DS != 0x18)
	.error "kexec_rust_gdt does not match the kernel's segment selectors"
.endif

	/*
	 * Written by early_printk.c when earlyprintk= names an 8250 UART, for
	 * the stock stub's exception printer. This stub has none (see the
	 * admin guide); the symbols stay so that early_printk.c links.
	 */
	.data
SYM_DATA(kexec_debug_8250_mmio32, .quad 0)
SYM_DATA(kexec_debug_8250_port, .word 0)

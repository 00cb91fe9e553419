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
 * Exceptions: until the identity map is in place the IDT is empty, so an
 * exception resets the machine. From there on (in the copy, and in the new
 * image until it loads its own IDT) vectors 0-15 go to a reporter in this
 * page, which prints the vector, error code, RIP and CR2 on the early-console
 * UART, if earlyprintk= named one (machine_kexec_prepare() stores its port or
 * MMIO address in the copy), and then resets the machine.
 */

#include <linux/linkage.h>
#include <asm/kexec.h>
#include <asm/nospec-branch.h>
#include <asm/page_types.h>
#include <asm/processor-flags.h>
#include <asm/segment.h>
#include <asm/unwind_hints.h>

/* Bytes per entry of the exception reporter's vector table. */
#define KEXEC_RUST_VECTOR_SIZE 16

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

	/*
	 * The exception reporter's IDT, in this page: 16 interrupt gates,
	 * vector N to kexec_rust_vectors + N * KEXEC_RUST_VECTOR_SIZE, by
	 * physical address. Gate: offset 15:0, selector, type 0x8e (present,
	 * DPL 0, 64-bit interrupt gate) in the low quadword with offset 31:16
	 * on top, offset 63:32 in the high one.
	 */
	leaq	kexec_rust_idt(%rip), %r10
	leaq	kexec_rust_vectors(%rip), %r11
	movl	$16, %r13d
.Lidt_gate:
	movq	%r11, %rax
	andl	$0xffff, %eax
	orl	$(__KERNEL_CS << 16), %eax
	movq	%r11, %rbx
	shrq	$16, %rbx
	andl	$0xffff, %ebx
	shlq	$48, %rbx
	orq	%rbx, %rax
	movabsq	$(0x8e << 40), %rbx
	orq	%rbx, %rax
	movq	%rax, (%r10)
	movq	%r11, %rax
	shrq	$32, %rax
	movq	%rax, 8(%r10)
	addq	$16, %r10
	addq	$KEXEC_RUST_VECTOR_SIZE, %r11
	decl	%r13d
	jnz	.Lidt_gate
	leaq	kexec_rust_idt(%rip), %rax
	subq	$16, %rsp
	movw	$(16 * 16 - 1), (%rsp)
	movq	%rax, 2(%rsp)
	lidt	(%rsp)
	addq	$16, %rsp

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
 * The exception reporter. Each vector entry is KEXEC_RUST_VECTOR_SIZE bytes
 * and pushes a zero error code where the CPU pushes none, then the vector.
 */
.macro kexec_rust_vector nr, has_error
	.balign	KEXEC_RUST_VECTOR_SIZE
	UNWIND_HINT_ENTRY
	.if \has_error == 0
	pushq	$0
	.endif
	pushq	$\nr
	jmp	kexec_rust_exception
.endm

	.balign	KEXEC_RUST_VECTOR_SIZE
SYM_CODE_START_LOCAL_NOALIGN(kexec_rust_vectors)
	/* Reached through the stub's IDT, with CET off: no ENDBR needed. */
	ANNOTATE_NOENDBR
	kexec_rust_vector 0, 0		/* #DE */
	kexec_rust_vector 1, 0		/* #DB */
	kexec_rust_vector 2, 0		/* NMI */
	kexec_rust_vector 3, 0		/* #BP */
	kexec_rust_vector 4, 0		/* #OF */
	kexec_rust_vector 5, 0		/* #BR */
	kexec_rust_vector 6, 0		/* #UD */
	kexec_rust_vector 7, 0		/* #NM */
	kexec_rust_vector 8, 1		/* #DF */
	kexec_rust_vector 9, 0
	kexec_rust_vector 10, 1		/* #TS */
	kexec_rust_vector 11, 1		/* #NP */
	kexec_rust_vector 12, 1		/* #SS */
	kexec_rust_vector 13, 1		/* #GP */
	kexec_rust_vector 14, 1		/* #PF */
	kexec_rust_vector 15, 0
SYM_CODE_END(kexec_rust_vectors)

/* Prints the string at \label, then \value as 16 hex digits. */
.macro kexec_rust_report label, value
	leaq	\label(%rip), %rsi
	call	kexec_rust_puts
	movq	\value, %r14
	call	kexec_rust_puthex
.endm

/*
 * Stack on entry: vector, error code, then the CPU's frame (RIP, CS,
 * RFLAGS, RSP, SS). Prints one line and resets: nothing here returns.
 */
SYM_CODE_START_LOCAL_NOALIGN(kexec_rust_exception)
	UNWIND_HINT_END_OF_STACK
	ANNOTATE_NOENDBR
	VALIDATE_UNRET_END
	kexec_rust_report kexec_rust_msg_exception, 0(%rsp)
	kexec_rust_report kexec_rust_msg_error, 8(%rsp)
	kexec_rust_report kexec_rust_msg_rip, 16(%rsp)
	kexec_rust_report kexec_rust_msg_cr2, %cr2
	leaq	kexec_rust_msg_end(%rip), %rsi
	call	kexec_rust_puts

	/* Reset: an empty IDT, then an exception that cannot be delivered. */
	pushq	$0
	pushq	$0
	lidt	(%rsp)
	int3
	ud2
SYM_CODE_END(kexec_rust_exception)

/* Prints the NUL-terminated string at %rsi. Clobbers %rax, %rbx, %rdx, %rsi. */
SYM_CODE_START_LOCAL_NOALIGN(kexec_rust_puts)
	UNWIND_HINT_FUNC
.Lputs_next:
	movb	(%rsi), %bl
	testb	%bl, %bl
	jz	.Lputs_done
	call	kexec_rust_putc
	incq	%rsi
	jmp	.Lputs_next
.Lputs_done:
	ANNOTATE_UNRET_SAFE
	ret
SYM_CODE_END(kexec_rust_puts)

/* Prints %r14 as 16 hex digits. Clobbers %rax, %rbx, %rcx, %rdx, %r14. */
SYM_CODE_START_LOCAL_NOALIGN(kexec_rust_puthex)
	UNWIND_HINT_FUNC
	movl	$16, %ecx
.Lputhex_digit:
	rolq	$4, %r14
	movl	%r14d, %ebx
	andl	$0xf, %ebx
	addl	$'0', %ebx
	cmpb	$'9', %bl
	jbe	.Lputhex_put
	addb	$('a' - '0' - 10), %bl
.Lputhex_put:
	call	kexec_rust_putc
	decl	%ecx
	jnz	.Lputhex_digit
	ANNOTATE_UNRET_SAFE
	ret
SYM_CODE_END(kexec_rust_puthex)

/*
 * Prints the byte in %bl on the early-console 8250: by I/O port, else by
 * 32-bit MMIO registers, else nowhere. Clobbers %rax, %rdx.
 */
SYM_CODE_START_LOCAL_NOALIGN(kexec_rust_putc)
	UNWIND_HINT_FUNC
	movzwl	kexec_rust_uart_port(%rip), %edx
	testl	%edx, %edx
	jz	.Lputc_mmio
	addl	$5, %edx		/* line status register */
.Lputc_port_wait:
	inb	%dx, %al
	testb	$0x20, %al		/* transmitter holding register empty */
	jnz	.Lputc_port_ready
	pause
	jmp	.Lputc_port_wait
.Lputc_port_ready:
	subl	$5, %edx
	movb	%bl, %al
	outb	%al, %dx
	ANNOTATE_UNRET_SAFE
	ret
.Lputc_mmio:
	movq	kexec_rust_uart_mmio(%rip), %rdx
	testq	%rdx, %rdx
	jz	.Lputc_none
.Lputc_mmio_wait:
	movb	(5 * 4)(%rdx), %al	/* line status register */
	testb	$0x20, %al
	jnz	.Lputc_mmio_ready
	pause
	jmp	.Lputc_mmio_wait
.Lputc_mmio_ready:
	movb	%bl, (%rdx)
.Lputc_none:
	ANNOTATE_UNRET_SAFE
	ret
SYM_CODE_END(kexec_rust_putc)

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

/* The reporter's IDT, written by the stub itself. */
	.balign	16
SYM_DATA_START_LOCAL(kexec_rust_idt)
	.skip	16 * 16
SYM_DATA_END(kexec_rust_idt)

/* The early-console UART, stored in the copy by machine_kexec_prepare(). */
SYM_DATA(kexec_rust_uart_mmio, .quad 0)
SYM_DATA(kexec_rust_uart_port, .word 0)

SYM_DATA_LOCAL(kexec_rust_msg_exception, .asciz "\r\nkexec_rust stub: exception ")
SYM_DATA_LOCAL(kexec_rust_msg_error, .asciz " error ")
SYM_DATA_LOCAL(kexec_rust_msg_rip, .asciz " rip ")
SYM_DATA_LOCAL(kexec_rust_msg_cr2, .asciz " cr2 ")
SYM_DATA_LOCAL(kexec_rust_msg_end, .asciz "; resetting\r\n")

.if (__KERNEL32_CS != 0x08) || (__KERNEL_CS != 0x10) || (__KERNEL_DS != 0x18)
	.error "kexec_rust_gdt does not match the kernel's segment selectors"
.endif

	/*
	 * Written by early_printk.c when earlyprintk= names an 8250 UART;
	 * machine_kexec_prepare() copies them into the stub's copy for the
	 * exception reporter.
	 */
	.data
SYM_DATA(kexec_debug_8250_mmio32, .quad 0)
SYM_DATA(kexec_debug_8250_port, .word 0)

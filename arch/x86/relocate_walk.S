/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The copy loop of the kexec_rust relocate stub: walks the kimage entry list
 * and copies every source page to its destination.
 *
 * Plain GNU as, AT&T syntax, no preprocessor and no braces: the kernel stub
 * (relocate_kernel.S) includes this file inside kexec_rust_walk, and the host
 * tests (tools/logic/tests/stub.rs) assemble the very same text with
 * global_asm! and run it on simulated memory against the Rust model,
 * kexec_rust::entry::relocate. Keep the two in step: each block below names
 * the lines of the model it implements.
 *
 * Contract: a SysV leaf function, void walk(u64 head).
 *   %rdi  in: the first entry (kimage->head).
 *   Addresses in entries are used as pointers: physical ones in the stub,
 *   which runs on an identity map; host ones in the tests.
 *   Uses only caller-saved registers: %rax (current entry), %r8 (next entry
 *   slot, the model's ptr), %r9 (destination, the model's dest), and %rcx,
 *   %rsi, %rdi for rep movsq. Needs DF clear. Returns at IND_DONE.
 *   A source page that is already its own destination (the kimage uses a
 *   free destination page directly as its source) is not copied onto itself.
 *   Like the model, it starts with head as the current entry and has no
 *   indirection page until an IND_INDIRECTION entry names one; a list that
 *   reads an entry before that is malformed (the kimage never builds one).
 *
 * Entry flags (the upstream encoding): bit 0 IND_DESTINATION, bit 1
 * IND_INDIRECTION, bit 2 IND_DONE, bit 3 IND_SOURCE; tested in that order,
 * an entry with none of them is skipped. The page address is entry & ~0xfff.
 */
	movq	%rdi, %rax		/* entry = head */
	xorl	%r8d, %r8d		/* ptr = None */
	xorl	%r9d, %r9d		/* dest = 0 */

.Lwalk_entry:
	testb	$0x1, %al		/* IND_DESTINATION: dest = entry & PAGE_MASK */
	jz	.Lwalk_not_dest
	movq	%rax, %r9
	andq	$-4096, %r9
	jmp	.Lwalk_next

.Lwalk_not_dest:
	testb	$0x2, %al		/* IND_INDIRECTION: ptr = (entry & PAGE_MASK, 0) */
	jz	.Lwalk_not_ind
	movq	%rax, %r8
	andq	$-4096, %r8
	jmp	.Lwalk_next

.Lwalk_not_ind:
	testb	$0x4, %al		/* IND_DONE: return */
	jnz	.Lwalk_done

	testb	$0x8, %al		/* IND_SOURCE: src = entry & PAGE_MASK */
	jz	.Lwalk_next		/* none of the four: skip the entry */
	movq	%rax, %rsi
	andq	$-4096, %rsi
	cmpq	%rsi, %r9		/* src == dest: already in place, no copy */
	je	.Lwalk_placed
	movq	%r9, %rdi		/* copy_page(dest, src) */
	movl	$512, %ecx		/* 512 quadwords: one 4 KiB page */
	rep movsq
.Lwalk_placed:
	addq	$4096, %r9		/* dest += PAGE_SIZE */

.Lwalk_next:
	movq	(%r8), %rax		/* entry = read_entry(ptr); ptr.index += 1 */
	addq	$8, %r8
	jmp	.Lwalk_entry

.Lwalk_done:

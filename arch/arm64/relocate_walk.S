/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The copy loop of the kexec_rust arm64 relocate stub: walks the kimage entry
 * list, copies every source page to its destination and cleans each
 * destination page to the point of coherency, so that the new image, which
 * starts with the MMU and caches off, reads what was copied.
 *
 * Plain A64, no preprocessor and no braces: the kernel stub
 * (relocate_kernel.S) includes this file, and the host tests
 * (tools/logic/tests/relocation.rs) assemble the very same text with
 * global_asm! and run it, under qemu-aarch64-static, on simulated memory
 * against the Rust model, kexec_rust::entry::relocate. Keep the two in step:
 * each block below names the lines of the model it implements.
 *
 * The includer defines one macro before this file:
 *   kr_clean_to_poc start, end, linesz, tmp
 *     cleans and invalidates [start, end) to the point of coherency by D-cache
 *     lines of linesz bytes, without the final barrier; may clobber start and
 *     tmp. The kernel's is dcache_by_myline_op_nosync (with the errata
 *     workarounds patched in at boot), the host tests' a plain dc civac loop.
 *
 * Contract: void walk(u64 head, u64 unused, u64 phys_offset).
 *   x0  in: the first entry (kimage->head).
 *   x2  in: what to subtract from a physical address in an entry to get the
 *       address it is read or written at: PA - VA of the linear map (the stub
 *       runs on a copy of it); 0 in the host tests, whose entries hold host
 *       addresses.
 *   Uses only caller-saved registers and not x18: x9 (current entry), x10
 *   (next entry slot, the model's ptr), x11 (destination, the model's dest),
 *   x12 (source), x13 (D-cache line size), x14 (the page being cleaned), x1,
 *   x3-x8, x16, x17 (the copy). Returns at IND_DONE; x2 is kept.
 *   A source page that is already its own destination (the kimage uses a
 *   free destination page directly as its source) is not copied onto itself,
 *   but it is cleaned like every other destination page.
 *   Like the model, it starts with head as the current entry and has no
 *   indirection page until an IND_INDIRECTION entry names one; a list that
 *   reads an entry before that is malformed (the kimage never builds one).
 *
 * Entry flags (the upstream encoding): bit 0 IND_DESTINATION, bit 1
 * IND_INDIRECTION, bit 2 IND_DONE, bit 3 IND_SOURCE; tested in that order,
 * an entry with none of them is skipped. The page address is entry & ~0xfff.
 */
	mrs	x13, ctr_el0		/* line size = 4 << CTR_EL0.DminLine */
	ubfx	x13, x13, #16, #4
	mov	x1, #4
	lsl	x13, x1, x13
	mov	x9, x0			/* entry = head */
	mov	x10, xzr		/* ptr = None */
	mov	x11, xzr		/* dest = 0 */

.Lwalk_entry:
	tbz	x9, #0, .Lwalk_not_dest	/* IND_DESTINATION: dest = entry & PAGE_MASK */
	and	x11, x9, #0xfffffffffffff000
	sub	x11, x11, x2
	b	.Lwalk_next

.Lwalk_not_dest:
	tbz	x9, #1, .Lwalk_not_ind	/* IND_INDIRECTION: ptr = (entry & PAGE_MASK, 0) */
	and	x10, x9, #0xfffffffffffff000
	sub	x10, x10, x2
	b	.Lwalk_next

.Lwalk_not_ind:
	tbnz	x9, #2, .Lwalk_done	/* IND_DONE: return */

	tbz	x9, #3, .Lwalk_next	/* none of the four: skip the entry */
	and	x12, x9, #0xfffffffffffff000	/* IND_SOURCE: src = entry & PAGE_MASK */
	sub	x12, x12, x2
	mov	x14, x11		/* the page to clean: dest */
	cmp	x12, x11		/* src == dest: already in place, no copy */
	b.eq	.Lwalk_placed
.Lwalk_copy:				/* copy_page(dest, src), 64 bytes a turn */
	ldp	x3, x4, [x12]
	ldp	x5, x6, [x12, #16]
	ldp	x7, x8, [x12, #32]
	ldp	x16, x17, [x12, #48]
	add	x12, x12, #64
	stnp	x3, x4, [x11]
	stnp	x5, x6, [x11, #16]
	stnp	x7, x8, [x11, #32]
	stnp	x16, x17, [x11, #48]
	add	x11, x11, #64
	tst	x12, #0xfff
	b.ne	.Lwalk_copy
.Lwalk_placed:
	add	x11, x14, #4096		/* dest += PAGE_SIZE */
	kr_clean_to_poc x14, x11, x13, x1
	dsb	sy

.Lwalk_next:
	ldr	x9, [x10], #8		/* entry = read_entry(ptr); ptr.index += 1 */
	b	.Lwalk_entry

.Lwalk_done:

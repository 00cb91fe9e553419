/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kexec_rust relocate stub for arm64: copies the new image into place with the
 * MMU and caches on, cleans it to the point of coherency, turns the MMU off and
 * enters the image as Documentation/arch/arm64/booting.rst asks (x0 = the DTB's
 * physical address, x1-x3 zero, MMU off, D-cache clean to PoC, DAIF masked).
 *
 * machine_kexec_post_load() (arch/arm64/machine_kexec.rs) copies this section
 * (__relocate_new_kernel_start to __relocate_new_kernel_end in vmlinux.lds.S,
 * which also checks that it fits in one page and starts with this symbol) to
 * the image's control page and builds an identity map of that one page,
 * which machine_kexec() installs in TTBR0 before it branches here at the
 * page's physical address. For an image that is copied at kexec time it also
 * builds a copy of the linear map whose pages are all writable; the stub
 * switches TTBR1 to it before the copy, so that a copy over the old kernel's
 * text or page tables cannot pull the ground from under it. The copy of the
 * linear map and the identity map live in control pages, which are never
 * destinations.
 *
 * Register contract of arm64_relocate_new_kernel (it never returns):
 *   x0  first entry of the kimage entry list (kimage->head); an image loaded in
 *       place (a crash image) has IND_DONE here and nothing is copied
 *   x1  physical address of the linear map's copy, or 0 to keep TTBR1
 *   x2  PA - VA of the linear map (kimage->arch.phys_offset), which turns an
 *       entry's physical address into the address the copy uses
 *   x3  physical address of a zero page (break-before-make of TTBR1)
 *   x4  entry point of the new image (kimage->start), physical
 *   x5  physical address of the DTB for x0, or 0 (kexec_load: purgatory
 *       sets x0 itself)
 *   x6  nonzero when the kernel runs at EL1 under nVHE: the image is then
 *       entered at EL2 through HVC_SOFT_RESTART of the vectors EL2 has (for
 *       a copied image, the copy of the hyp stub's vectors that
 *       machine_kexec() installed, which nothing overwrites)
 *   DAIF masked; the stub uses no stack and no memory of its own.
 */

#include <linux/linkage.h>
#include <asm/assembler.h>
#include <asm/sysreg.h>
#include <asm/virt.h>

/* The walk's cache maintenance: the kernel's, with its errata workarounds. */
.macro kr_clean_to_poc start, end, linesz, tmp
	dcache_by_myline_op_nosync civac, \start, \end, \linesz, \tmp
.endm

	.section ".kexec_relocate.text", "ax"
SYM_CODE_START(arm64_relocate_new_kernel)
	/* Keep what the walk's registers would overwrite. */
	mov	x19, x4			/* entry */
	mov	x20, x5			/* dtb */
	mov	x21, x6			/* EL2 vectors */

	cbz	x1, 1f			/* TTBR1 = the linear map's copy */
	break_before_make_ttbr_switch x3, x1, x7, x8
1:

#include "relocate_walk.S"

	/* The copy's last clean is complete; no stale instructions remain. */
	dsb	nsh
	ic	iallu
	dsb	nsh
	isb

	/* MMU and caches off: from here on every address is physical. */
	mov_q	x9, INIT_SCTLR_EL1_MMU_OFF
	pre_disable_mmu_workaround
	msr	sctlr_el1, x9
	isb

	cbz	x21, .Lenter_el1
	/* nVHE: the EL2 stub's soft restart enters the image at EL2. */
	mov	x0, #HVC_SOFT_RESTART
	mov	x1, x19
	mov	x2, x20
	mov	x3, xzr
	mov	x4, xzr
	hvc	#0

.Lenter_el1:
	mov	x0, x20
	mov	x1, xzr
	mov	x2, xzr
	mov	x3, xzr
	br	x19
SYM_CODE_END(arm64_relocate_new_kernel)

/*
 * vmm/kvm_trampoline_x86_64.S - the only code ksentry runs in the guest
 * besides the guest program.  Layout and exits: kvm_layout.h.
 *
 * kvm_ring0_start.. is copied into the ring-0 code page.  Every exception
 * vector has a 16-byte stub that leaves for the sentry through its own
 * port; the sentry reads the frame the CPU pushed on the vCPU's trap
 * stack (and CR2), handles the trap, and resumes the stub, which drops the
 * error code (if the vector has one) and returns to ring 3 with iretq.
 * Ring-0 code is emulated instruction by instruction under PVM (~0.55 us
 * each), hence two or three instructions a path.  None touches user
 * memory: SMAP and SMEP are on.
 *
 * The hardware-KVM syscall entry (LSTAR) exits through KVM_PORT_SYSCALL
 * and returns with sysretq, to the rip (rcx) and rflags (r11) that the
 * sentry checked and wrote.  It runs on the user's stack pointer but
 * never touches the stack.  kvm_iret is where the sentry points a vCPU
 * that must return through iretq instead (a frame it wrote on the trap
 * stack).
 *
 * kvm_pvm_stub.. is the PVM syscall stub: under PVM `syscall` jumps to
 * LSTAR without leaving ring 3, so the stub is on a user page and rings
 * the doorbell with a store that clobbers nothing.  The sentry sets rip
 * and rflags from rcx and r11 itself, so nothing after the store runs.
 */
#include "vmm/kvm_layout.h"

	.section .rodata, "a"
	.balign 4096
	.globl kvm_ring0_start, kvm_ring0_end, kvm_pvm_stub, kvm_pvm_stub_exit, kvm_pvm_stub_end

.macro exc_stub vec, has_err
	.balign KVM_EXC_STUB_SIZE
	outb	%al, $(KVM_PORT_EXC + \vec)
	.if \has_err
	lea	8(%rsp), %rsp
	.endif
	iretq
.endm

kvm_ring0_start:
	exc_stub 0, 0	/* #DE */
	exc_stub 1, 0	/* #DB */
	exc_stub 2, 0	/* NMI */
	exc_stub 3, 0	/* #BP */
	exc_stub 4, 0	/* #OF */
	exc_stub 5, 0	/* #BR */
	exc_stub 6, 0	/* #UD */
	exc_stub 7, 0	/* #NM */
	exc_stub 8, 1	/* #DF */
	exc_stub 9, 0
	exc_stub 10, 1	/* #TS */
	exc_stub 11, 1	/* #NP */
	exc_stub 12, 1	/* #SS */
	exc_stub 13, 1	/* #GP */
	exc_stub 14, 1	/* #PF */
	exc_stub 15, 0
	exc_stub 16, 0	/* #MF */
	exc_stub 17, 1	/* #AC */
	exc_stub 18, 0	/* #MC */
	exc_stub 19, 0	/* #XM */
	exc_stub 20, 0	/* #VE */
	exc_stub 21, 1	/* #CP */
	exc_stub 22, 0
	exc_stub 23, 0
	exc_stub 24, 0
	exc_stub 25, 0
	exc_stub 26, 0
	exc_stub 27, 0
	exc_stub 28, 0
	exc_stub 29, 1	/* #VC */
	exc_stub 30, 1	/* #SX */
	exc_stub 31, 0

	.org kvm_ring0_start + KVM_SYSCALL_OFF
	outb	%al, $KVM_PORT_SYSCALL
	sysretq

	.org kvm_ring0_start + KVM_IRET_OFF
	iretq
kvm_ring0_end:

	.balign 16
kvm_pvm_stub:
	movabs	%al, KVM_DOORBELL_VA
kvm_pvm_stub_exit:
	ud2
kvm_pvm_stub_end:

	.section .note.GNU-stack, "", @progbits

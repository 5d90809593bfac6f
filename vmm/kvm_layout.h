/*
 * vmm/kvm_layout.h - where the KVM platform puts things, shared by the C
 * code and the trampoline's assembly.
 *
 * Guest virtual memory of every address space:
 *
 *   [0, PLATFORM_USER_END)            the guest program (the mm's VMAs)
 *   KVM_STUB_VA                       PVM syscall stub, user read+exec
 *   KVM_DOORBELL_VA                   doorbell, user write, no memslot
 *   ...                               (the rest of the user half is empty)
 *   KVM_TRAMP_VA and up               the trampoline: ring 0 only, shared
 *                                     by every address space
 *
 * The trampoline sits in the last PML4 slot:
 *
 *   KVM_TRAMP_VA + 0x0000   GDT (read+write: the CPU sets accessed bits)
 *   KVM_TRAMP_VA + 0x1000   IDT
 *   KVM_TRAMP_VA + 0x2000   ring-0 code (exception stubs, hardware syscall
 *                           entry), read+exec
 *   KVM_VCPU_AREA(i)        vCPU i: its TSS page, then its trap stack page
 *
 * Exits.  Guest code leaves for the sentry in two ways, both chosen so
 * that they clobber no guest register:
 *   - a one-byte store to the doorbell (KVM_EXIT_MMIO): the PVM syscall
 *     stub, in ring 3;
 *   - `out %al, $port` from ring 0 (KVM_EXIT_IO): exception vector N
 *     exits on port KVM_PORT_EXC + N, the hardware syscall entry on
 *     KVM_PORT_SYSCALL.
 */
#ifndef KSENTRY_VMM_KVM_LAYOUT_H
#define KSENTRY_VMM_KVM_LAYOUT_H

#define KVM_STUB_VA	    0x00007fffffff0000 /* == PLATFORM_USER_END */
#define KVM_DOORBELL_VA	    0x00007fffffff1000
#define KVM_TRAMP_VA	    0xffffff8000000000 /* PML4 slot 511 */
#define KVM_GDT_VA	    (KVM_TRAMP_VA + 0x0000)
#define KVM_IDT_VA	    (KVM_TRAMP_VA + 0x1000)
#define KVM_CODE_VA	    (KVM_TRAMP_VA + 0x2000)
#define KVM_VCPU_AREA_VA    (KVM_TRAMP_VA + 0x100000)
#define KVM_VCPU_AREA_SIZE  0x2000
#define KVM_VCPU_AREA(i)    (KVM_VCPU_AREA_VA + (i) * KVM_VCPU_AREA_SIZE)

/* Offsets inside the ring-0 code page. */
#define KVM_EXC_STUB_SIZE   16     /* vector N's stub is at N * 16 */
#define KVM_SYSCALL_OFF	    0x200  /* hardware syscall entry */
#define KVM_IRET_OFF	    0x210  /* hardware: return through iretq */

#define KVM_PORT_EXC	    0x80   /* + vector, 0..31 */
#define KVM_PORT_SYSCALL    0xa0

/* GDT selectors; STAR makes syscall/sysret use these. */
#define KVM_KERNEL_CS	    0x10
#define KVM_KERNEL_DS	    0x18
#define KVM_USER32_CS	    0x23
#define KVM_USER_DS	    0x2b
#define KVM_USER_CS	    0x33
#define KVM_TSS_SEL	    0x40

#endif

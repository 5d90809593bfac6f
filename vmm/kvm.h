/*
 * vmm/kvm.h - the KVM execution platform: guest ring 3 under KVM.
 *
 * One VM per sandbox.  All guest-physical memory is the memory file,
 * registered as memslot 0 at guest-physical 0.  Each address space is an
 * x86-64 page table in memory-file frames (platform/pagetable.h) whose
 * upper half is the trampoline (vmm/kvm_layout.h); each context is one
 * vCPU, from a pool, run by the host thread that created the context.
 *
 * At creation the platform probes which kind of KVM it has (design brief,
 * section 2) by running one `syscall` on a scratch vCPU:
 *   - hardware KVM (VMX/SVM): `syscall` enters ring 0 at LSTAR.  The entry
 *     stub is on a supervisor-only page; it exits with `out` and returns
 *     with sysretq (or iretq, see kvm_trampoline_x86_64.S).
 *   - PVM (kvm_pvm): `syscall` jumps to LSTAR but stays in ring 3.  The
 *     stub is on a user page and rings an MMIO doorbell; the sentry itself
 *     completes the sysret (rip = rcx, rflags = r11) through sync regs.
 * Either way one syscall is one VM exit, and the syscall path makes no
 * vCPU ioctl but KVM_RUN: registers move through kvm_run->s.regs.
 *
 * TLB shootdown and KVM's MMU.  The sentry writes guest page tables from
 * the host, behind the back of KVM's MMU, which under shadow paging (PVM)
 * keeps a shadow page per guest table frame and trusts it until the guest
 * itself writes that frame.  So (measured on PVM, see docs/architecture.md):
 *   - a leaf that is removed, replaced or loses rights is followed by
 *     madvise(MADV_DONTNEED) of the frames it mapped, on the sentry's
 *     mapping of the memory file: KVM's MMU notifier then drops every
 *     translation of those frames, on every vCPU, before madvise returns;
 *   - a table frame that leaves use is quarantined: it is not freed until
 *     a full MMU reset (deleting and re-adding a one-page dummy memslot,
 *     which makes KVM drop every shadow page), so no cached copy of it can
 *     be found again once the frame holds something else.
 * Neither a CR3 reload nor KVM_SET_SREGS makes KVM drop its copies.
 */
#ifndef KSENTRY_VMM_KVM_H
#define KSENTRY_VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/memfile.h"
#include "platform/platform.h"

enum kvm_mode {
	KVM_MODE_PVM,      /* syscall stays in ring 3: user stub + MMIO doorbell */
	KVM_MODE_HARDWARE, /* syscall enters ring 0: supervisor stub + out */
};

/*
 * Open /dev/kvm, check the API and the capabilities the platform needs,
 * create the VM over memory file @mf (which must outlive it), build the
 * trampoline and probe the kind of KVM.  Returns 0, or a negative errno
 * with a one-line reason in @why (naming what is missing).
 */
int kvm_platform_create(struct memfile *mf, struct platform **out, char *why, size_t whylen);

/*
 * The capabilities the platform needs, in the order it checks them.
 * kvm_missing_cap() asks @has (KVM_CHECK_EXTENSION's answer, or a test's)
 * for each and names the first one missing, and what it is for, in @why:
 * -ENOTSUP then, else 0.
 */
struct kvm_cap_need {
	long cap;
	const char *name;
	const char *use;
};
extern const struct kvm_cap_need kvm_caps_needed[];
int kvm_missing_cap(int (*has)(long cap, void *arg), void *arg, char *why, size_t whylen);

/*
 * Hardware KVM, back from a syscall: may the entry stub return with
 * sysretq?  Only to the address the CPU itself put in rcx at the
 * syscall (@entry_rcx), with rcx and r11 still holding the return rip and
 * rflags: any other return context (a signal frame, rt_sigreturn, exec)
 * chose its rip, and goes back through iretq (design brief, section 2).
 */
struct abi_regs;
bool kvm_sysret_ok(const struct abi_regs *r, uint64_t entry_rcx);

/* Which kind of KVM the probe found. */
enum kvm_mode kvm_platform_mode(const struct platform *p);

/* Full MMU resets done so far (quarantine flushes); for tests and --debug. */
unsigned long kvm_platform_resets(const struct platform *p);

#endif

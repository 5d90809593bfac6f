/*
 * vmm/ptrace.h - the ptrace execution platform.
 *
 * For hosts without /dev/kvm.  Each address space is a stub process whose
 * own address space holds nothing but one stub page; guest memory is the
 * memory file mapped into it with mmap (MAP_SHARED, MAP_FIXED), so the
 * sentry and the guest share frames exactly as with KVM.  Guest code runs
 * under PTRACE_SYSEMU: every syscall stops before the host executes it,
 * and faults and exceptions arrive as signal stops.  This is gVisor's
 * ptrace platform, cut down.
 *
 * A stub is traced by the host thread that created it, so an address
 * space and the contexts running in it belong to that thread (one task
 * per address space, until threads land).
 *
 * It is much slower than KVM (four ptrace calls and two context switches
 * per syscall) and exists so that the whole sentry can be run and tested
 * where KVM is missing.  It is no weaker a sandbox for the guest: the
 * guest never executes a host syscall, and the stub has no file
 * descriptor but the memory file and no mapping but guest memory.
 */
#ifndef KSENTRY_VMM_PTRACE_H
#define KSENTRY_VMM_PTRACE_H

#include "platform/memfile.h"
#include "platform/platform.h"

/* Where the stub page lives, at the top of the user half, above
 * PLATFORM_USER_END. */
#define PTRACE_STUB_ADDR PLATFORM_USER_END

/* Create the platform over memory file @mf.  0 or a negative errno. */
int ptrace_platform_create(struct memfile *mf, struct platform **out);

#endif

/*
 * platform/platform.h - what the kernel needs from an execution platform.
 *
 * The kernel never calls KVM.  It manages memory through an address space,
 * and runs guest code through a context; vmm/ implements both with KVM
 * (page tables in memory-file frames, vCPUs), and unit tests implement them
 * with fakes.  This is gVisor's platform.AddressSpace / platform.Context
 * split, cut down to what ksentry uses.
 *
 * An address space caches translations from guest virtual addresses to
 * memory-file ranges.  It is only a cache: the memory manager's VMAs and
 * PMAs are the truth, and everything mapped here can be dropped and
 * rebuilt from them.  Implementations embed struct platform_as first.
 */
#ifndef KSENTRY_PLATFORM_PLATFORM_H
#define KSENTRY_PLATFORM_PLATFORM_H

#include <stdint.h>

#include "platform/file_range.h"

struct platform_as;

struct platform_as_ops {
	/*
	 * Map the memory-file range @fr at guest virtual address @va with
	 * @prot (PROT_READ/WRITE/EXEC), replacing whatever was mapped there.
	 * @va and @fr are page aligned and non-empty; the caller has checked
	 * that [va, va + len) is in the user half.  0, -ENOMEM or -EINVAL.
	 * On an error part of the range may be mapped: callers unmap it.
	 */
	int (*map)(struct platform_as *as, uint64_t va, struct file_range fr, unsigned prot);

	/* Remove every mapping in [va, va + len).  Before this returns, no
	 * vCPU may still use a removed translation (TLB shootdown).  Never
	 * fails for a range the caller checked. */
	void (*unmap)(struct platform_as *as, uint64_t va, uint64_t len);

	/* Free the address space; nothing may run in it any more. */
	void (*destroy)(struct platform_as *as);
};

struct platform_as {
	const struct platform_as_ops *ops;
};

#endif

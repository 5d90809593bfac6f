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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/regs.h"
#include "platform/file_range.h"
#include "platform/fpu.h"

/*
 * The guest's usable user half ends here.  The top of the user half above
 * it, [PLATFORM_USER_END, 0x7ffffffff000), is kept for the platform's own
 * user-visible stub page (the PVM syscall stub, or the ptrace stub).
 */
#define PLATFORM_USER_END UINT64_C(0x00007fffffff0000)

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

/* Why platform_context_ops.run() returned. */
enum platform_trap_kind {
	PLATFORM_TRAP_SYSCALL,   /* number in regs->orig_rax; result goes in rax */
	PLATFORM_TRAP_FAULT,     /* page fault: addr, access known if possible */
	PLATFORM_TRAP_EXCEPTION, /* any other CPU exception, as a signal */
	PLATFORM_TRAP_KICKED,    /* interrupted by platform_context_ops.kick() */
};

struct platform_trap {
	enum platform_trap_kind kind;
	int signo;     /* FAULT and EXCEPTION: the Linux signal it maps to */
	int code;      /* its si_code (SEGV_MAPERR, SEGV_ACCERR, SI_KERNEL, ...) */
	uint64_t addr; /* the faulting address (si_addr) */
	unsigned access; /* FAULT: PROT_READ, PROT_WRITE or PROT_EXEC, if known; else 0 */
};

struct platform_context;

struct platform_context_ops {
	/*
	 * Run guest code from @regs until it traps, then store its registers
	 * back into @regs and say why in *@trap.  Returns 0, or a negative
	 * errno when the platform itself failed (the task cannot go on).
	 * Must be called on the host thread that created the context.
	 */
	int (*run)(struct platform_context *ctx, struct abi_regs *regs, struct platform_trap *trap);

	/*
	 * Make @ctx's current or next run() return PLATFORM_TRAP_KICKED soon,
	 * with the registers the guest had.  May be called from any thread,
	 * at any time the context exists; a kick while the context is not
	 * running is kept for the next run().  Optional (NULL: not supported).
	 */
	void (*kick)(struct platform_context *ctx);

	/*
	 * Read / write the FPU state of the context's guest: fpu_size bytes
	 * laid out as platform/fpu.h says.  set_fpu clears MXCSR's reserved
	 * bits and refuses (-EINVAL) a header XRSTOR would fault on.  Not
	 * while it runs; on the thread that runs it.  0 or a negative errno.
	 */
	int (*get_fpu)(struct platform_context *ctx, void *buf);
	int (*set_fpu)(struct platform_context *ctx, const void *buf);

	void (*destroy)(struct platform_context *ctx);
};

struct platform_context {
	const struct platform_context_ops *ops;
	size_t fpu_size;	/* get_fpu/set_fpu's buffer; <= PLATFORM_FPU_MAX */
	uint64_t fpu_xfeatures; /* its XSAVE components; 0: FXSAVE alone */
};

struct platform;

struct platform_ops {
	/* Create an empty address space for a new process. */
	int (*new_address_space)(struct platform *p, struct platform_as **out);

	/* Create a context that runs guest code in @as.  On platforms where
	 * an address space is tied to host threads (ptrace), call it on the
	 * task's own thread. */
	int (*new_context)(struct platform *p, struct platform_as *as,
			   struct platform_context **out);

	void (*destroy)(struct platform *p);
};

/* An execution platform: KVM (vmm/kvm*) or ptrace (vmm/ptrace*). */
struct platform {
	const struct platform_ops *ops;
	const char *name;        /* "kvm", "ptrace" */
	bool shared_as;          /* several contexts may run in one address space (threads) */
	bool tsc_host;           /* guest rdtsc reads the host's TSC (the vDSO clocks need it) */
	bool getcpu_host;        /* guest rdtscp's TSC_AUX is the host CPU's (vDSO getcpu) */
	const char *description; /* one line for --debug and bench output */
};

#endif

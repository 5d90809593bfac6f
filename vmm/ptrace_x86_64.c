/*
 * vmm/ptrace_x86_64.c - the ptrace platform; see ptrace.h.
 *
 * Life of a stub: new_address_space() forks.  The child, still running the
 * sentry's code, arranges to die with its parent, drops glibc's rseq
 * registration (the kernel would otherwise write the rseq area in the TLS
 * we are about to unmap, and kill the stub with SIGSEGV the first time it
 * is rescheduled), closes every fd but the memory file, asks to be traced,
 * copies the stub code to PTRACE_STUB_ADDR and jumps there.  The stub
 * unmaps everything else and stops.  From then on the parent thread moves
 * it between two kinds of stop:
 *   - injected host syscalls: rip = ptrace_stub_syscall, PTRACE_CONT, and
 *     the int3 after the syscall stops it again (SIGTRAP);
 *   - guest code: PTRACE_SYSEMU from the guest's registers, until a
 *     syscall-enter stop (SIGTRAP | 0x80) or a signal stop (a fault).
 * The stub dies by SIGKILL in destroy(), or with its tracer
 * (PTRACE_O_EXITKILL, PR_SET_PDEATHSIG).
 */
#include <cpuid.h>
#include <elf.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi/mman.h"
#include "vmm/ptrace.h"

/* Linux's TASK_SIZE for 4-level paging: the end of what the stub can map. */
#define HOST_TASK_SIZE UINT64_C(0x00007ffffffff000)
#define STUB_TABLE_OFF 2048

extern const char ptrace_stub_start[], ptrace_stub_syscall[], ptrace_stub_end[];

struct ptrace_platform {
	struct platform base;
	struct memfile *mf;
	uint64_t xfeatures;	/* the guest's share of the host's XCR0; 0: no XSAVE */
	size_t fpu_size;	/* its image (platform/fpu.h) */
	size_t regset_size;	/* NT_X86_XSTATE as the host kernel has it; atomic */
};

struct ptrace_as {
	struct platform_as base;
	struct platform_context ctx; /* the one context that runs in it */
	struct ptrace_platform *pp;
	pid_t pid;
	int memfd;
	struct user_regs_struct template; /* selectors and flags of a user task */
	int kicked; /* a kick's SIGSTOP was seen while not running guest code; atomic */
};

#define KICK_SIGNAL SIGSTOP

_Static_assert(sizeof(struct user_regs_struct) == sizeof(struct abi_regs), "regs layout");

static uint64_t stub_syscall_addr(void)
{
	return PTRACE_STUB_ADDR + (uint64_t)(ptrace_stub_syscall - ptrace_stub_start);
}

/* --- the child side: runs between fork and the stub's first stop --- */

static void __attribute__((noreturn)) stub_child(pid_t parent, int memfd)
{
	static const uint64_t table[] = {
		0, PTRACE_STUB_ADDR,
		PTRACE_STUB_ADDR + ABI_PAGE_SIZE, HOST_TASK_SIZE - PTRACE_STUB_ADDR - ABI_PAGE_SIZE,
		0, 0,
	};
	sigset_t none;
	unsigned char *page;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(120);
	if (__rseq_size > 0 &&
	    syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset, 32,
		    RSEQ_FLAG_UNREGISTER, RSEQ_SIG) &&
	    syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset, __rseq_size,
		    RSEQ_FLAG_UNREGISTER, RSEQ_SIG))
		_exit(121);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (memfd > 0 && syscall(SYS_close_range, 0, memfd - 1, 0))
		_exit(122);
	if (syscall(SYS_close_range, memfd + 1, ~0U, 0))
		_exit(122);
	if (ptrace(PTRACE_TRACEME, 0, 0, 0))
		_exit(123);
	page = mmap((void *)PTRACE_STUB_ADDR, ABI_PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (page == MAP_FAILED)
		_exit(124);
	memcpy(page, ptrace_stub_start, (size_t)(ptrace_stub_end - ptrace_stub_start));
	memcpy(page + STUB_TABLE_OFF, table, sizeof(table));
	if (mprotect(page, ABI_PAGE_SIZE, PROT_READ | PROT_EXEC))
		_exit(125);
	((void (*)(const void *))page)(page + STUB_TABLE_OFF);
	_exit(126);
}

/* --- the tracer side --- */

/* Wait for the next stop of @pid.  Returns 0 with *@status, or -ESRCH if
 * the stub is gone. */
static int stub_wait(pid_t pid, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, __WALL);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
	return WIFSTOPPED(*status) ? 0 : -ESRCH;
}

/* Run one host syscall in the stub.  Returns its result (which may be a
 * negative errno) in *@ret; the function's own result is 0 or -ESRCH. */
static int stub_syscall(struct ptrace_as *as, long nr, const uint64_t a[6], long *ret)
{
	struct user_regs_struct r = as->template;
	int status, err;

	r.rip = stub_syscall_addr();
	r.rax = (uint64_t)nr;
	r.orig_rax = UINT64_MAX; /* not in a syscall: no restart games */
	r.rdi = a[0];
	r.rsi = a[1];
	r.rdx = a[2];
	r.r10 = a[3];
	r.r8 = a[4];
	r.r9 = a[5];
	if (ptrace(PTRACE_SETREGS, as->pid, 0, &r) || ptrace(PTRACE_CONT, as->pid, 0, 0))
		return -ESRCH;
	for (;;) {
		err = stub_wait(as->pid, &status);
		if (err)
			return err;
		if (WSTOPSIG(status) != KICK_SIGNAL)
			break;
		/* A kick during a host syscall: keep it for the next run. */
		__atomic_store_n(&as->kicked, 1, __ATOMIC_RELEASE);
		if (ptrace(PTRACE_CONT, as->pid, 0, 0))
			return -ESRCH;
	}
	if (WSTOPSIG(status) != SIGTRAP || ptrace(PTRACE_GETREGS, as->pid, 0, &r))
		return -ESRCH;
	*ret = (long)r.rax;
	return 0;
}

static int ptrace_as_map(struct platform_as *pas, uint64_t va, struct file_range fr, unsigned prot)
{
	struct ptrace_as *as = (struct ptrace_as *)pas;
	uint64_t len = file_range_len(fr);
	/*
	 * The sentry maps ahead so that the guest does not fault, and that
	 * only pays if the host's page tables are filled now as well: a host
	 * fault costs ~8 us here.  MAP_POPULATE fills shared mappings
	 * read-only, so writable ones are filled with MADV_POPULATE_WRITE.
	 */
	const uint64_t mflags = MAP_SHARED | MAP_FIXED | (prot & PROT_WRITE ? 0 : MAP_POPULATE);
	const uint64_t a[6] = {va, len, prot, mflags, (uint64_t)as->memfd, fr.start};
	long ret;
	int err;

	if (va >= PLATFORM_USER_END || len > PLATFORM_USER_END - va)
		return -EINVAL;
	err = stub_syscall(as, __NR_mmap, a, &ret);
	if (err)
		return err;
	if (ret < 0)
		return (int)ret;
	if ((uint64_t)ret != va)
		return -ENOMEM;
	if (prot & PROT_WRITE) /* best effort: the guest faults in what fails */
		err = stub_syscall(as, __NR_madvise, (const uint64_t[6]){va, len, MADV_POPULATE_WRITE},
				   &ret);
	return err;
}

static void ptrace_as_unmap(struct platform_as *pas, uint64_t va, uint64_t len)
{
	struct ptrace_as *as = (struct ptrace_as *)pas;
	long ret;

	if (va >= PLATFORM_USER_END)
		return;
	if (len > PLATFORM_USER_END - va)
		len = PLATFORM_USER_END - va; /* never the stub page */
	if (len == 0)
		return;
	/* The stub is single-threaded and stopped: once munmap returns no CPU
	 * holds the old translations, which is the shootdown we need.  A dead
	 * stub has nothing left to unmap. */
	(void)stub_syscall(as, __NR_munmap, (const uint64_t[6]){va, len}, &ret);
}

static void ptrace_as_destroy(struct platform_as *pas)
{
	struct ptrace_as *as = (struct ptrace_as *)pas;
	int status;

	kill(as->pid, SIGKILL);
	while (waitpid(as->pid, &status, __WALL) < 0 && errno == EINTR)
		;
	free(as);
}

static const struct platform_as_ops ptrace_as_ops = {
	.map = ptrace_as_map,
	.unmap = ptrace_as_unmap,
	.destroy = ptrace_as_destroy,
};

/* fpu_cpuid_fn over the host CPU. */
static void host_cpuid_0xd(void *arg, unsigned sub, uint32_t *eax, uint32_t *ebx)
{
	uint32_t ecx, edx;

	__cpuid_count(0xd, sub, *eax, *ebx, ecx, edx);
}

/* The stub runs on the host CPU: the guest has what the host's XCR0 has
 * of the features signal frames carry. */
static void probe_xsave(struct ptrace_platform *p)
{
	uint32_t eax, ebx, ecx, edx, lo, hi;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx >> 27 & 1)) {
		p->fpu_size = FPU_FXSAVE_SIZE;
		return;
	}
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	p->xfeatures = (((uint64_t)hi << 32) | lo) & FPU_FEATURES_MASK;
	p->fpu_size = fpu_xsave_size(p->xfeatures, host_cpuid_0xd, NULL);
	if (p->fpu_size > PLATFORM_FPU_MAX) {
		p->xfeatures &= 7;
		p->fpu_size = fpu_xsave_size(p->xfeatures, host_cpuid_0xd, NULL);
	}
}

/* The stub's whole XSAVE image, as PTRACE_GETREGSET gives it, into a
 * buffer of regset_size bytes the caller frees. */
static int get_xstate(struct ptrace_platform *pp, pid_t pid, unsigned char **out)
{
	struct iovec iov = {.iov_len = __atomic_load_n(&pp->regset_size, __ATOMIC_RELAXED)};
	size_t want = iov.iov_len;

	if (!want)
		iov.iov_len = want = 65536; /* the first look: the kernel says its size */
	iov.iov_base = calloc(1, want);
	if (!iov.iov_base)
		return -ENOMEM;
	if (ptrace(PTRACE_GETREGSET, pid, NT_X86_XSTATE, &iov) || iov.iov_len < pp->fpu_size) {
		free(iov.iov_base);
		return -EIO;
	}
	__atomic_store_n(&pp->regset_size, iov.iov_len, __ATOMIC_RELAXED);
	*out = iov.iov_base;
	return 0;
}

/* Load @img (fpu_size bytes, header checked) into the stub; what the
 * image does not cover (PKRU, say) stays as the stub has it. */
static int set_xstate(struct ptrace_platform *pp, pid_t pid, const unsigned char *img)
{
	unsigned char *cur;
	struct iovec iov;
	uint64_t bv;
	int err = get_xstate(pp, pid, &cur);

	if (err)
		return err;
	bv = (fpu_xstate_bv(cur) & ~pp->xfeatures) | (fpu_xstate_bv(img) & pp->xfeatures);
	memcpy(cur, img, pp->fpu_size);
	fpu_set_xstate_bv(cur, bv);
	fpu_sanitize_mxcsr(cur);
	iov = (struct iovec){.iov_base = cur, .iov_len = pp->regset_size};
	err = ptrace(PTRACE_SETREGSET, pid, NT_X86_XSTATE, &iov) ? -errno : 0;
	free(cur);
	return err;
}

/* Give the stub the FPU state of a fresh process, not the sentry's. */
static int reset_fpu(struct ptrace_platform *pp, pid_t pid)
{
	unsigned char img[PLATFORM_FPU_MAX] = {0};
	struct user_fpregs_struct fp;

	if (pp->xfeatures) {
		uint16_t fcw = 0x37f;
		uint32_t mxcsr = 0x1f80;

		memcpy(img, &fcw, sizeof(fcw));
		memcpy(img + FPU_MXCSR_OFFSET, &mxcsr, sizeof(mxcsr));
		fpu_set_xstate_bv(img, 3); /* x87 and SSE as above; AVX and up in their init state */
		return set_xstate(pp, pid, img);
	}
	memset(&fp, 0, sizeof(fp));
	fp.cwd = 0x37f;
	fp.mxcsr = 0x1f80;
	return ptrace(PTRACE_SETFPREGS, pid, 0, &fp) ? -errno : 0;
}

static int ptrace_new_as(struct platform *p, struct platform_as **out)
{
	struct ptrace_platform *pp = (struct ptrace_platform *)p;
	struct ptrace_as *as;
	pid_t self = getpid();
	int status, err;

	as = calloc(1, sizeof(*as));
	if (!as)
		return -ENOMEM;
	as->base.ops = &ptrace_as_ops;
	as->memfd = pp->mf->fd;
	as->pp = pp;
	as->pid = fork();
	if (as->pid < 0) {
		err = -errno;
		goto err_free;
	}
	if (as->pid == 0)
		stub_child(self, as->memfd);

	err = stub_wait(as->pid, &status);
	if (err || WSTOPSIG(status) != SIGSTOP) {
		err = -ECHILD;
		goto err_kill;
	}
	if (ptrace(PTRACE_SETOPTIONS, as->pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL) ||
	    ptrace(PTRACE_GETREGS, as->pid, 0, &as->template)) {
		err = -errno;
		goto err_kill;
	}
	err = reset_fpu(pp, as->pid);
	if (err)
		goto err_kill;
	*out = &as->base;
	return 0;

err_kill:
	kill(as->pid, SIGKILL);
	while (waitpid(as->pid, &status, __WALL) < 0 && errno == EINTR)
		;
err_free:
	free(as);
	return err;
}

/* --- running guest code --- */

static int ptrace_run(struct platform_context *ctx, struct abi_regs *regs,
		      struct platform_trap *trap)
{
	struct ptrace_as *as = (struct ptrace_as *)((char *)ctx - offsetof(struct ptrace_as, ctx));
	struct user_regs_struct r;
	siginfo_t si;
	int status, err;

	memset(trap, 0, sizeof(*trap));
	if (__atomic_exchange_n(&as->kicked, 0, __ATOMIC_ACQ_REL)) {
		trap->kind = PLATFORM_TRAP_KICKED;
		return 0;
	}
	memcpy(&r, regs, sizeof(r));
	/* The guest chooses none of these: user selectors, and no syscall
	 * restart by the host on the way back. */
	r.cs = as->template.cs;
	r.ss = as->template.ss;
	r.ds = as->template.ds;
	r.es = as->template.es;
	r.fs = as->template.fs;
	r.gs = as->template.gs;
	r.orig_rax = UINT64_MAX;
	if (ptrace(PTRACE_SETREGS, as->pid, 0, &r) || ptrace(PTRACE_SYSEMU, as->pid, 0, 0))
		return -ESRCH;
	err = stub_wait(as->pid, &status);
	if (err)
		return err;
	if (ptrace(PTRACE_GETREGS, as->pid, 0, &r))
		return -ESRCH;
	memcpy(regs, &r, sizeof(r));

	if (WSTOPSIG(status) == KICK_SIGNAL) { /* suppressed: never delivered */
		trap->kind = PLATFORM_TRAP_KICKED;
		return 0;
	}
	if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
		trap->kind = PLATFORM_TRAP_SYSCALL;
		return 0;
	}
	if (ptrace(PTRACE_GETSIGINFO, as->pid, 0, &si))
		return -ESRCH;
	trap->signo = WSTOPSIG(status);
	trap->code = si.si_code;
	trap->addr = (uint64_t)si.si_addr;
	trap->kind = trap->signo == SIGSEGV && si.si_code > 0 && si.si_code != SI_KERNEL
			     ? PLATFORM_TRAP_FAULT
			     : PLATFORM_TRAP_EXCEPTION;
	return 0;
}

static struct ptrace_as *as_of_ctx(struct platform_context *ctx)
{
	return (struct ptrace_as *)((char *)ctx - offsetof(struct ptrace_as, ctx));
}

static int ptrace_get_fpu(struct platform_context *ctx, void *buf)
{
	struct ptrace_as *as = as_of_ctx(ctx);
	unsigned char *cur;
	int err;

	_Static_assert(sizeof(struct user_fpregs_struct) == FPU_FXSAVE_SIZE, "FXSAVE layout");
	if (!ctx->fpu_xfeatures)
		return ptrace(PTRACE_GETFPREGS, as->pid, 0, buf) ? -errno : 0;
	err = get_xstate(as->pp, as->pid, &cur);
	if (err)
		return err;
	memcpy(buf, cur, ctx->fpu_size);
	fpu_set_xstate_bv(buf, fpu_xstate_bv(cur) & ctx->fpu_xfeatures);
	free(cur);
	return 0;
}

static int ptrace_set_fpu(struct platform_context *ctx, const void *buf)
{
	struct ptrace_as *as = as_of_ctx(ctx);
	struct user_fpregs_struct fp;

	if (ctx->fpu_xfeatures)
		return fpu_header_ok(buf, ctx->fpu_xfeatures) ? set_xstate(as->pp, as->pid, buf)
							       : -EINVAL;
	memcpy(&fp, buf, sizeof(fp));
	fp.mxcsr &= FPU_MXCSR_MASK;
	return ptrace(PTRACE_SETFPREGS, as->pid, 0, &fp) ? -errno : 0;
}

/* Stop the stub with SIGSTOP, which the tracer sees as a signal stop and
 * suppresses: the guest never gets it. */
static void ptrace_kick(struct platform_context *ctx)
{
	kill(as_of_ctx(ctx)->pid, KICK_SIGNAL);
}

static void ptrace_context_destroy(struct platform_context *ctx)
{
	ctx->ops = NULL; /* lives inside its address space */
}

static const struct platform_context_ops ptrace_context_ops = {
	.run = ptrace_run,
	.kick = ptrace_kick,
	.get_fpu = ptrace_get_fpu,
	.set_fpu = ptrace_set_fpu,
	.destroy = ptrace_context_destroy,
};

static int ptrace_new_context(struct platform *p, struct platform_as *pas,
			      struct platform_context **out)
{
	struct ptrace_as *as = (struct ptrace_as *)pas;

	/* One stub process is one guest thread: no second context (threads
	 * need the KVM platform). */
	if (as->ctx.ops)
		return -EAGAIN;
	as->ctx.ops = &ptrace_context_ops;
	as->ctx.fpu_size = as->pp->fpu_size;
	as->ctx.fpu_xfeatures = as->pp->xfeatures;
	*out = &as->ctx;
	return 0;
}

static void ptrace_platform_destroy(struct platform *p)
{
	free(p);
}

static const struct platform_ops ptrace_platform_ops = {
	.new_address_space = ptrace_new_as,
	.new_context = ptrace_new_context,
	.destroy = ptrace_platform_destroy,
};

int ptrace_platform_create(struct memfile *mf, struct platform **out)
{
	struct ptrace_platform *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->base.ops = &ptrace_platform_ops;
	p->base.name = "ptrace";
	p->base.tsc_host = true; /* guest code is a host process */
	/* getcpu_host stays false: rdtscp in the stub would say the stub's
	 * CPU, and getcpu and sched_setaffinity are the task's thread's. */
	p->base.description = "ptrace (PTRACE_SYSEMU stub processes)";
	p->mf = mf;
	probe_xsave(p);
	*out = &p->base;
	return 0;
}

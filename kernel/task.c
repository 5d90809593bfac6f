/*
 * kernel/task.c - the loop that runs a task: guest code until it traps,
 * then the sentry serves the trap, until the guest exits or dies.
 *
 * Faults: a page fault on a page the mm can back is fixed and the guest
 * resumes; one that is not allowed (no VMA, wrong rights) kills the guest
 * with SIGSEGV, and running out of memory with SIGBUS.  Other exceptions
 * (SIGILL, SIGFPE, SIGTRAP, and SIGSEGV from privileged instructions) kill
 * it with their signal.  Signal handlers in the guest come with issue 5;
 * until then every such signal takes its default action, which for all of
 * these is to terminate.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/hoststdio.h"
#include "kernel/syscall.h"
#include "kernel/task.h"

static void init_rlimits(struct task *t)
{
	for (int i = 0; i < RLIM_NLIMITS; i++)
		t->rlimits[i] = (struct rlimit){RLIM_INFINITY, RLIM_INFINITY};
	t->rlimits[RLIMIT_STACK] = (struct rlimit){8 << 20, RLIM_INFINITY};
	t->rlimits[RLIMIT_NOFILE] = (struct rlimit){1024, 4096};
	t->rlimits[RLIMIT_CORE] = (struct rlimit){0, RLIM_INFINITY};
	t->rlimits[RLIMIT_NPROC] = (struct rlimit){4096, 4096};
}

/* fds 0-2: the host's stdio, where ksentry has them. */
static int install_stdio(struct task *t)
{
	static const int flags[3] = {O_RDONLY, O_WRONLY, O_WRONLY};

	for (int fd = 0; fd < 3; fd++) {
		struct vfs_file *f;

		if (t->k->host_stdio[fd] < 0)
			continue;
		f = hoststdio_file(t->k->host_stdio[fd], flags[fd]);
		if (!f)
			return -ENOMEM;
		if (fd_install(&t->fds, fd, f, false) != fd) {
			vfs_file_put(f);
			return -EMFILE;
		}
	}
	return 0;
}

int task_create(struct kernel *k, struct task **out)
{
	struct platform *p = k->platform;
	struct platform_as *as;
	struct task *t;
	int err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	err = p->ops->new_address_space(p, &as);
	if (err)
		goto err_free;
	mm_init(&t->mm, k->mf, as);
	err = p->ops->new_context(p, as, &t->ctx);
	if (err)
		goto err_mm;
	t->k = k;
	t->tid = 1;
	init_rlimits(t);
	fd_table_init(&t->fds, (int)t->rlimits[RLIMIT_NOFILE].rlim_cur);
	t->fs = (struct vfs_ctx){.vfs = &k->vfs, .root = vfs_path_get(k->vfs.root), .umask = 022};
	t->cwd = vfs_path_get(k->vfs.root);
	err = install_stdio(t);
	if (err) {
		task_destroy(t);
		return err;
	}
	if (!k->init)
		k->init = t;
	*out = t;
	return 0;

err_mm:
	mm_destroy(&t->mm);
err_free:
	free(t);
	return err;
}

void task_destroy(struct task *t)
{
	if (t->k->init == t)
		t->k->init = NULL;
	free(t->cmdline);
	free(t->environ);
	fd_table_destroy(&t->fds);
	vfs_path_put(t->cwd);
	vfs_path_put(t->fs.root);
	t->ctx->ops->destroy(t->ctx);
	mm_destroy(&t->mm);
	free(t);
}

void task_exit(struct task *t, int code)
{
	t->exited = true;
	t->wait_status = (code & 0xff) << 8;
}

void task_kill(struct task *t, int signo, const char *why, uint64_t addr)
{
	const char *name = sigabbrev_np(signo);

	fprintf(stderr, "ksentry: guest killed by SIG%s (%s) at rip 0x%lx", name ? name : "?", why,
		(unsigned long)t->regs.rip);
	if (signo == SIGSEGV || signo == SIGBUS)
		fprintf(stderr, ", address 0x%lx", (unsigned long)addr);
	fputc('\n', stderr);
	t->exited = true;
	t->wait_status = signo & 0x7f;
}

/* Serve a page fault.  A fault the mm says it fixed, at the same place
 * twice in a row, means the platform could not map it: give up rather
 * than loop. */
static void handle_fault(struct task *t, const struct platform_trap *trap)
{
	int err;

	if (trap->code == SEGV_ACCERR) {
		task_kill(t, SIGSEGV, "access to a page it may not touch that way", trap->addr);
		return;
	}
	if (t->last_fault_rip == t->regs.rip && t->last_fault_addr == trap->addr) {
		task_kill(t, SIGSEGV, "fault the sentry could not resolve", trap->addr);
		return;
	}
	err = mm_handle_fault(&t->mm, trap->addr, MM_ACCESS_READ);
	if (err == -ENOMEM) {
		task_kill(t, SIGBUS, "out of memory", trap->addr);
		return;
	}
	if (err) {
		task_kill(t, SIGSEGV, "no mapping", trap->addr);
		return;
	}
	t->last_fault_rip = t->regs.rip;
	t->last_fault_addr = trap->addr;
}

int task_run(struct task *t)
{
	struct platform_trap trap;

	while (!t->exited) {
		int err = t->ctx->ops->run(t->ctx, &t->regs, &trap);

		if (err) {
			fprintf(stderr, "ksentry: the platform failed to run the guest: %s\n",
				strerror(-err));
			t->exited = true;
			t->wait_status = SIGKILL;
			break;
		}
		switch (trap.kind) {
		case PLATFORM_TRAP_SYSCALL:
			t->last_fault_rip = t->last_fault_addr = 0;
			syscall_dispatch(t);
			break;
		case PLATFORM_TRAP_FAULT:
			handle_fault(t, &trap);
			break;
		case PLATFORM_TRAP_EXCEPTION:
			task_kill(t, trap.signo,
				  trap.signo == SIGSEGV ? "general protection fault" : "CPU exception",
				  trap.addr);
			break;
		case PLATFORM_TRAP_KICKED:
			break;
		}
	}
	return t->wait_status;
}

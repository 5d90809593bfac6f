/*
 * kernel/task.h - a task: one guest thread, run by one host thread.
 *
 * A task owns its registers and runs its guest code through a platform
 * context; between runs it is ordinary C on its host thread, and that is
 * where syscalls and faults are served.  Until fork and threads land
 * (issue 5) a task is also its own thread group and process: it owns its
 * mm, and its pid is 1 inside the sandbox.
 *
 * Life: task_create() (empty mm) -> exec_load() (program, stack,
 * registers) -> task_run() (until the guest exits or is killed) ->
 * task_destroy().
 */
#ifndef KSENTRY_KERNEL_TASK_H
#define KSENTRY_KERNEL_TASK_H

#include <limits.h>
#include <stdbool.h>
#include <sys/resource.h>

#include "abi/regs.h"
#include "kernel/kernel.h"
#include "kernel/mm.h"
#include "kernel/vfs/fdtable.h"
#include "kernel/vfs/ops.h"

struct task {
	struct kernel *k;
	struct mm mm;
	struct platform_context *ctx;
	struct abi_regs regs;

	int tid;                   /* == tgid: one thread per process for now */
	uint64_t clear_child_tid;  /* set_tid_address */
	uint64_t robust_list;      /* set_robust_list head */
	struct rlimit rlimits[RLIM_NLIMITS];
	struct fd_table fds;
	struct vfs_ctx fs;         /* namespace, root, umask */
	struct vfs_path cwd;
	char exe[PATH_MAX];        /* what /proc/self/exe names */
	char *cmdline, *environ;   /* NUL-separated copies from exec, for /proc */
	size_t cmdline_len, environ_len;

	bool exited;
	int wait_status;           /* as wait(2) encodes it, once exited */

	/* Fault loop guard: the last fault the sentry "fixed". */
	uint64_t last_fault_rip, last_fault_addr;
};

/* Make a task with an empty address space on the calling thread, which
 * must be the thread that will run it.  0 or a negative errno. */
int task_create(struct kernel *k, struct task **out);

void task_destroy(struct task *t);

/* Run @t until its guest exits or is killed.  Returns the wait status. */
int task_run(struct task *t);

/* End @t with exit code @code (exit, exit_group). */
void task_exit(struct task *t, int code);

/* End @t as if killed by @signo, saying why on stderr. */
void task_kill(struct task *t, int signo, const char *why, uint64_t addr);

#endif

/*
 * kernel/task.c - the loop that runs a task, and how a task blocks, is
 * woken and ends.
 *
 * The loop: deliver what signals are due, run guest code until it traps,
 * serve the trap (a syscall, a fault, an exception, a kick), again, until
 * the task has exited.  A page fault the mm can back is fixed and the
 * guest resumes; one it cannot (no VMA, wrong rights) becomes SIGSEGV, and
 * running out of memory SIGBUS.  Other exceptions become their signals.
 * A signal the guest handles is delivered to its handler; one it does not
 * takes its default action.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "abi/mman.h"
#include "kernel/hoststdio.h"
#include "kernel/process.h"
#include "kernel/signal.h"
#include "kernel/syscall.h"
#include "kernel/task.h"

static __thread struct task *current;

struct task *task_current(void)
{
	return current;
}

static void init_rlimits(struct task *t)
{
	for (int i = 0; i < RLIM_NLIMITS; i++)
		t->rlimits[i] = (struct rlimit){RLIM_INFINITY, RLIM_INFINITY};
	t->rlimits[RLIMIT_STACK] = (struct rlimit){8 << 20, RLIM_INFINITY};
	t->rlimits[RLIMIT_NOFILE] = (struct rlimit){1024, 4096};
	t->rlimits[RLIMIT_CORE] = (struct rlimit){0, RLIM_INFINITY};
	t->rlimits[RLIMIT_NPROC] = (struct rlimit){4096, 4096};
	t->rlimits[RLIMIT_SIGPENDING] = (struct rlimit){TASK_SIGQUEUE_MAX, TASK_SIGQUEUE_MAX};
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
		if (fd_install(t->fds, fd, f, false) != fd) {
			vfs_file_put(f);
			return -EMFILE;
		}
	}
	return 0;
}

struct task *task_alloc(struct kernel *k)
{
	struct task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->k = k;
	pthread_mutex_init(&t->wake_lock, NULL);
	t->thread = pthread_self();
	t->altstack.ss_flags = SS_DISABLE;
	return t;
}

/* Give @t a fresh, empty address space and its context, on this thread. */
int task_new_mm(struct task *t, struct mm **mm, struct platform_context **ctx)
{
	struct platform *p = t->k->platform;
	struct platform_as *as;
	int err;

	err = p->ops->new_address_space(p, &as);
	if (err)
		return err;
	*mm = mm_create(t->k->mf, &t->k->frames, as);
	if (!*mm) {
		as->ops->destroy(as);
		return -ENOMEM;
	}
	err = p->ops->new_context(p, as, ctx);
	if (err) {
		mm_put(*mm);
		*mm = NULL;
	}
	return err;
}

int task_create(struct kernel *k, struct task **out)
{
	struct task *t = task_alloc(k);
	int err;

	if (!t)
		return -ENOMEM;
	err = task_new_mm(t, &t->mm, &t->ctx);
	if (err)
		goto err_free;
	err = -ENOMEM;
	t->fds = fd_table_create(1024);
	if (!t->fds)
		goto err_free;
	init_rlimits(t);
	t->fs = (struct vfs_ctx){.vfs = &k->vfs, .root = vfs_path_get(k->vfs.root), .umask = 022};
	t->cwd = vfs_path_get(k->vfs.root);
	err = install_stdio(t);
	if (!err)
		err = process_attach_first(t);
	if (err)
		goto err_free;
	*out = t;
	return 0;

err_free:
	task_destroy(t);
	return err;
}

void task_set_path(struct task *t, struct vfs_path *slot, struct vfs_path p)
{
	struct vfs_path old;

	pthread_mutex_lock(&t->k->tasks_lock);
	old = *slot;
	*slot = p;
	pthread_mutex_unlock(&t->k->tasks_lock);
	if (old.dentry)
		vfs_path_put(old);
}

/* Drop the task's files, root and cwd before its parent can hear of the
 * exit, as Linux's exit_files and exit_fs come before exit_notify: a
 * shell that waited for a child must be able to umount the directory
 * the child worked in, and see the pipes it held closed.  The fields go
 * under tasks_lock because /proc/PID reads them from other tasks. */
static void task_release_files(struct task *t)
{
	struct fd_table *fds;

	pthread_mutex_lock(&t->k->tasks_lock);
	fds = t->fds;
	t->fds = NULL;
	pthread_mutex_unlock(&t->k->tasks_lock);
	if (fds)
		fd_table_put(fds);
	task_set_path(t, &t->fs.root, (struct vfs_path){0});
	task_set_path(t, &t->cwd, (struct vfs_path){0});
}

void task_destroy(struct task *t)
{
	if (!t->exited && t->tg)
		task_exit_group(t, SIGKILL);
	task_release_files(t);
	process_release_mm(t);
	process_detach(t); /* the task is no longer in its group */
	free(t->cmdline);
	free(t->environ);
	pthread_mutex_destroy(&t->wake_lock);
	if (t->counted) {
		struct kernel *k = t->k;

		pthread_mutex_lock(&k->tasks_lock);
		k->nr_task_structs--;
		pthread_cond_broadcast(&k->tasks_changed);
		pthread_mutex_unlock(&k->tasks_lock);
	}
	free(t);
}

void task_exit(struct task *t, int code)
{
	process_exit_thread(t, (code & 0xff) << 8);
}

void task_exit_group(struct task *t, int status)
{
	process_exit_group(t, status);
}

void task_kill(struct task *t, int signo, const char *why, uint64_t addr)
{
	const char *name = sigabbrev_np(signo);

	fprintf(stderr, "ksentry: guest killed by SIG%s (%s) at rip 0x%lx", name ? name : "?", why,
		(unsigned long)t->regs.rip);
	if (signo == SIGSEGV || signo == SIGBUS)
		fprintf(stderr, ", address 0x%lx", (unsigned long)addr);
	if (t->tg && t->tg->tgid != 1)
		fprintf(stderr, " (pid %d)", t->tg->tgid);
	fputc('\n', stderr);
	task_exit_group(t, signo & 0x7f);
}

/* --- blocking and waking --- */

bool task_signal_pending(struct task *t)
{
	return __atomic_load_n(&t->interrupt, __ATOMIC_ACQUIRE) != 0;
}

void task_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
}

struct timespec task_deadline_ms(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

int task_wait(struct task *t, pthread_cond_t *c, pthread_mutex_t *m,
	      const struct timespec *deadline)
{
	int r;

	if (!t) {
		r = deadline ? pthread_cond_timedwait(c, m, deadline) : pthread_cond_wait(c, m);
		return r == ETIMEDOUT ? -ETIMEDOUT : 0;
	}
	pthread_mutex_lock(&t->wake_lock);
	if (task_signal_pending(t)) {
		pthread_mutex_unlock(&t->wake_lock);
		return -ERESTARTSYS;
	}
	t->wait_cond = c;
	t->wait_mutex = m;
	pthread_mutex_unlock(&t->wake_lock);
	r = deadline ? pthread_cond_timedwait(c, m, deadline) : pthread_cond_wait(c, m);
	pthread_mutex_lock(&t->wake_lock);
	t->wait_cond = NULL;
	t->wait_mutex = NULL;
	pthread_mutex_unlock(&t->wake_lock);
	if (task_signal_pending(t))
		return -ERESTARTSYS;
	return r == ETIMEDOUT ? -ETIMEDOUT : 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spin with @m dropped until @ready, a signal, TASK_SPIN_NS or the
 * (CLOCK_MONOTONIC) @deadline if sooner; true if @ready said yes.  Takes
 * a spinner's place, or returns false at once.  *@spinners (if not NULL)
 * counts this spinner, changed under @m. */
static bool spin(struct task *t, pthread_mutex_t *m, const struct timespec *deadline,
		 bool (*ready)(void *), void *arg, unsigned *spinners)
{
	struct kernel *k = t->k;
	uint64_t until, end;
	bool yes = false;

	if (__atomic_add_fetch(&k->spinning, 1, __ATOMIC_RELAXED) > k->spin_max) {
		__atomic_sub_fetch(&k->spinning, 1, __ATOMIC_RELAXED);
		return false;
	}
	if (spinners)
		(*spinners)++;
	pthread_mutex_unlock(m);
	until = mono_ns() + TASK_SPIN_NS;
	/* Not past the caller's own deadline (a short ppoll timeout). */
	if (deadline) {
		end = (uint64_t)deadline->tv_sec * 1000000000u + (uint64_t)deadline->tv_nsec;
		if (end < until)
			until = end;
	}
	for (unsigned i = 1;; i++) {
		if (ready(arg)) {
			yes = true;
			break;
		}
		if (task_signal_pending(t) || ((i & 63) == 0 && mono_ns() > until))
			break;
		__builtin_ia32_pause();
	}
	__atomic_sub_fetch(&k->spinning, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(m);
	if (spinners)
		(*spinners)--;
	return yes;
}

int task_wait_spin(struct task *t, pthread_cond_t *c, pthread_mutex_t *m,
		   const struct timespec *deadline, bool (*ready)(void *), void *arg,
		   unsigned *spinners)
{
	/* Spun in vain: what came between its last look and @m taken again
	 * signalled no one, so look once more, under @m, before sleeping. */
	if (t && t->k->spin_max && (spin(t, m, deadline, ready, arg, spinners) || ready(arg)))
		return 0;
	return task_wait(t, c, m, deadline);
}

/*
 * The waiter holds its object's mutex while it registers (mutex ->
 * wake_lock), so the waker may not block on that mutex while it holds
 * wake_lock: it tries, and backs off.  The waiter checks the interrupt
 * flag under wake_lock before it waits, and releases the mutex only
 * inside pthread_cond_wait, so the wake-up cannot be lost.
 */
void task_interrupt(struct task *t)
{
	__atomic_store_n(&t->interrupt, 1, __ATOMIC_RELEASE);
	for (;;) {
		pthread_mutex_lock(&t->wake_lock);
		if (!t->wait_mutex) {
			pthread_mutex_unlock(&t->wake_lock);
			break;
		}
		if (pthread_mutex_trylock(t->wait_mutex) == 0) {
			pthread_cond_broadcast(t->wait_cond);
			pthread_mutex_unlock(t->wait_mutex);
			pthread_mutex_unlock(&t->wake_lock);
			break;
		}
		pthread_mutex_unlock(&t->wake_lock);
		sched_yield();
	}
	if (t->ctx && t->ctx->ops->kick && t != current)
		t->ctx->ops->kick(t->ctx);
}

/* --- the loop --- */

/* Serve a page fault.  A fault the mm says it fixed, at the same place
 * twice in a row, means the platform could not map it: give up rather
 * than loop. */
static void handle_fault(struct task *t, const struct platform_trap *trap)
{
	enum mm_access access;
	int err;

	/* Where the platform cannot tell, a fault on a present page is taken
	 * for a write (or a fetch, which the VMA check then refuses): the one
	 * such fault the mm can fix is copy-on-write. */
	if (trap->access)
		access = trap->access & PROT_WRITE ? MM_ACCESS_WRITE
			 : trap->access & PROT_EXEC ? MM_ACCESS_EXEC
						    : MM_ACCESS_READ;
	else
		access = trap->code == SEGV_ACCERR ? MM_ACCESS_WRITE : MM_ACCESS_READ;
	if (t->last_fault_rip == t->regs.rip && t->last_fault_addr == trap->addr &&
	    t->last_fault_access == (int)access) {
		signal_force(t, SIGSEGV, SEGV_ACCERR, trap->addr,
			     "fault the sentry could not resolve");
		return;
	}
	err = mm_handle_fault(t->mm, trap->addr, access);
	if (err == -ENOMEM) {
		signal_force(t, SIGBUS, BUS_ADRERR, trap->addr, "out of memory");
		return;
	}
	if (err) {
		signal_force(t, SIGSEGV, trap->code == SEGV_ACCERR ? SEGV_ACCERR : SEGV_MAPERR,
			     trap->addr,
			     trap->code == SEGV_ACCERR ? "access to a page it may not touch that way"
						       : "no mapping");
		return;
	}
	t->last_fault_rip = t->regs.rip;
	t->last_fault_addr = trap->addr;
	t->last_fault_access = (int)access;
}

static void serve_trap(struct task *t, const struct platform_trap *trap)
{
	switch (trap->kind) {
	case PLATFORM_TRAP_SYSCALL:
		t->last_fault_rip = t->last_fault_addr = 0;
		syscall_dispatch(t);
		break;
	case PLATFORM_TRAP_FAULT:
		handle_fault(t, trap);
		break;
	case PLATFORM_TRAP_EXCEPTION:
		signal_force(t, trap->signo, trap->code, trap->addr,
			     trap->signo == SIGSEGV ? "general protection fault" : "CPU exception");
		break;
	case PLATFORM_TRAP_KICKED:
		break;
	}
}

int task_run(struct task *t)
{
	struct platform_trap trap;

	current = t;
	t->thread = pthread_self();
	__atomic_store_n(&t->host_tid, gettid(), __ATOMIC_RELEASE); /* read under tasks_lock */
	while (!t->exited) {
		signal_deliver(t);
		if (t->exited)
			break;
		int err = t->ctx->ops->run(t->ctx, &t->regs, &trap);

		if (err) {
			fprintf(stderr, "ksentry: the platform failed to run the guest: %s\n",
				strerror(-err));
			task_exit_group(t, SIGKILL);
			break;
		}
		serve_trap(t, &trap);
	}
	current = NULL;
	return t->wait_status;
}

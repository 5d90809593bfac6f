/*
 * kernel/process.c - pids, thread groups, clone, exit, wait and execve.
 *
 * clone.  The parent makes the child's task, gives it a pid and puts it
 * in its group (CLONE_THREAD) or in a new group, then starts its host
 * thread and waits for it: the child makes its own platform context
 * there (the ptrace platform ties an address space to the thread that
 * made it).  For fork the parent then fills the child's mm with a
 * copy-on-write copy of its own (mm_fork changes the parent's address
 * space, which only the parent's thread may do), writes the tids
 * CLONE_*_SETTID ask for, and lets the child run.  With CLONE_VFORK the
 * parent then waits, killably, until the child has exec'd or exited.  A
 * platform whose address spaces take one context (ptrace) has no threads,
 * and runs vfork as fork.
 *
 * Rules kept here: tasks_lock is never taken with an object lock held
 * that a task may wait with (task.h), so waking a waiter cannot deadlock.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kernel/exec.h"
#include "kernel/process.h"
#include "kernel/signal.h"
#include "kernel/syscall.h"
#include "kernel/timer.h"


/* clone flags the sandbox implements; anything else is EINVAL. */
#define CLONE_SUPPORTED                                                                       \
	(CSIGNAL | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_PTRACE |         \
	 CLONE_VFORK | CLONE_PARENT | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |           \
	 CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_CHILD_SETTID |   \
	 CLONE_IO)

/* --- pids and groups --- */

static int alloc_pid(struct kernel *k)
{
	for (int i = 1; i < KERNEL_MAX_PIDS; i++) {
		int pid = k->next_pid;

		k->next_pid = pid + 1 < KERNEL_MAX_PIDS ? pid + 1 : 2;
		if (!k->tasks[pid] && !k->groups[pid])
			return pid;
	}
	return -EAGAIN;
}

struct task *process_find_task(struct kernel *k, int tid)
{
	return tid > 0 && tid < KERNEL_MAX_PIDS ? k->tasks[tid] : NULL;
}

struct thread_group *process_find_group(struct kernel *k, int tgid)
{
	struct thread_group *tg = tgid > 0 && tgid < KERNEL_MAX_PIDS ? k->groups[tgid] : NULL;

	return tg && !tg->zombie ? tg : NULL;
}

static void sighand_put(struct sighand *sh)
{
	if (sh && --sh->refs == 0)
		free(sh);
}

static void unlink_child(struct thread_group *tg)
{
	struct thread_group **pp;

	if (!tg->parent)
		return;
	for (pp = &tg->parent->children; *pp; pp = &(*pp)->sibling) {
		if (*pp == tg) {
			*pp = tg->sibling;
			break;
		}
	}
	tg->parent = NULL;
	tg->sibling = NULL;
}

void process_free_group(struct thread_group *tg)
{
	struct kernel *k = tg->k;

	unlink_child(tg);
	if (k->groups && k->groups[tg->tgid] == tg)
		k->groups[tg->tgid] = NULL;
	signal_pending_clear(k, &tg->shared);
	sighand_put(tg->sighand);
	free(tg);
}

/* A new group led by @t (its tid is the tgid), child of @parent. */
static struct thread_group *group_new(struct task *t, struct thread_group *parent,
				      struct sighand *sh)
{
	struct thread_group *tg = calloc(1, sizeof(*tg));

	if (!tg)
		return NULL;
	tg->k = t->k;
	tg->tgid = t->tid;
	tg->serial = ++t->k->next_serial;
	tg->sighand = sh;
	tg->exit_signal = SIGCHLD;
	tg->pgid = parent ? parent->pgid : t->tid;
	tg->sid = parent ? parent->sid : t->tid;
	clock_gettime(CLOCK_MONOTONIC, &tg->start_time);
	if (parent) {
		tg->parent = parent;
		tg->sibling = parent->children;
		parent->children = tg;
	}
	return tg;
}

static void group_add_thread(struct thread_group *tg, struct task *t)
{
	t->tg = tg;
	t->group_next = tg->threads;
	tg->threads = t;
	tg->nr_threads++;
}

int process_attach_first(struct task *t)
{
	struct kernel *k = t->k;
	struct sighand *sh = calloc(1, sizeof(*sh));
	struct thread_group *tg;
	int pid, err = -ENOMEM;

	if (!sh)
		return -ENOMEM;
	sh->refs = 1;
	pthread_mutex_lock(&k->tasks_lock);
	pid = alloc_pid(k);
	if (pid < 0) {
		err = pid;
		goto out_unlock;
	}
	t->tid = pid;
	tg = group_new(t, NULL, sh);
	if (!tg)
		goto out_unlock;
	group_add_thread(tg, t);
	k->tasks[pid] = t;
	k->groups[pid] = tg;
	k->nr_tasks++;
	k->nr_task_structs++;
	t->counted = true;
	if (!k->init)
		k->init = t;
	pthread_mutex_unlock(&k->tasks_lock);
	return 0;

out_unlock:
	pthread_mutex_unlock(&k->tasks_lock);
	free(sh);
	return err;
}

/* --- exit --- */

/* Wake @t, which may be waiting with tasks_lock, which the caller holds. */
static void interrupt_locked(struct task *t)
{
	bool on_tasks_lock;

	pthread_mutex_lock(&t->wake_lock);
	on_tasks_lock = t->wait_mutex == &t->k->tasks_lock;
	__atomic_store_n(&t->interrupt, 1, __ATOMIC_RELEASE);
	if (on_tasks_lock)
		pthread_cond_broadcast(t->wait_cond);
	pthread_mutex_unlock(&t->wake_lock);
	if (!on_tasks_lock)
		task_interrupt(t);
}

void signal_interrupt_locked(struct task *t)
{
	interrupt_locked(t);
}

void process_exit_thread(struct task *t, int status)
{
	struct thread_group *tg = t->tg;

	pthread_mutex_lock(&t->k->tasks_lock);
	if (!t->exited) {
		t->exited = true;
		if (tg->nr_threads == 1 && !tg->exiting) {
			tg->exiting = true;
			tg->exit_status = status;
		}
		t->wait_status = tg->exiting ? tg->exit_status : status;
	}
	pthread_mutex_unlock(&t->k->tasks_lock);
}

void process_exit_group(struct task *t, int status)
{
	struct thread_group *tg = t->tg;

	pthread_mutex_lock(&t->k->tasks_lock);
	if (!tg->exiting) {
		tg->exiting = true;
		tg->exit_status = status;
	}
	for (struct task *u = tg->threads; u; u = u->group_next) {
		if (u == t)
			continue;
		u->killed = true;
		interrupt_locked(u);
	}
	t->exited = true;
	t->wait_status = tg->exit_status;
	pthread_mutex_unlock(&t->k->tasks_lock);
}

/* @tg lost its last task: make it a zombie, hand its children on, and
 * tell its parent.  tasks_lock held. */
static void group_die(struct thread_group *tg)
{
	struct kernel *k = tg->k;
	struct thread_group *reaper = process_find_group(k, 1);
	struct thread_group *c, *next;

	tg->zombie = true;
	signal_pending_clear(k, &tg->shared);
	timer_group_exit(tg);
	if (reaper == tg)
		reaper = NULL;
	for (c = tg->children; c; c = next) {
		next = c->sibling;
		c->parent = NULL;
		c->sibling = NULL;
		if (reaper) {
			c->parent = reaper;
			c->sibling = reaper->children;
			reaper->children = c;
		} else if (c->zombie) {
			process_free_group(c);
		}
	}
	tg->children = NULL;
	if (!tg->parent)
		return; /* the first process: the kernel reads its status */
	if (tg->exit_signal == SIGCHLD) {
		const struct k_sigaction *a = &tg->parent->sighand->action[SIGCHLD - 1];

		if (a->handler == (uint64_t)SIG_IGN || (a->flags & SA_NOCLDWAIT)) {
			process_free_group(tg); /* reaped at once, as Linux does */
			return;
		}
	}
	if (tg->exit_signal > 0 && tg->exit_signal <= TASK_NSIG) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		si.si_signo = tg->exit_signal;
		si.si_code = WIFSIGNALED(tg->exit_status) ? CLD_KILLED : CLD_EXITED;
		si.si_pid = tg->tgid;
		si.si_status = WIFSIGNALED(tg->exit_status) ? WTERMSIG(tg->exit_status)
							      : WEXITSTATUS(tg->exit_status);
		signal_send_group_locked(tg->parent, tg->exit_signal, &si);
	}
}

/* Like Linux's exit_mm, before the exit is told to anyone: a parent
 * that reaps a child finds its mappings (and their charges) gone. */
void process_release_mm(struct task *t)
{
	struct platform_context *ctx;
	struct mm *mm = t->mm;

	if (mm && t->tg) {
		futex_exit_robust(t);
		if (t->clear_child_tid) {
			const uint32_t zero = 0;

			if (!mm_copy_out(mm, t->clear_child_tid, &zero, sizeof(zero)))
				futex_wake_address(t, t->clear_child_tid, 1);
		}
	}
	/* Kicks find t->ctx under tasks_lock; the ptrace context lives in
	 * the address space, so both go together. */
	pthread_mutex_lock(&t->k->tasks_lock);
	ctx = t->ctx;
	t->ctx = NULL;
	t->mm = NULL;
	pthread_mutex_unlock(&t->k->tasks_lock);
	if (ctx)
		ctx->ops->destroy(ctx);
	if (mm)
		mm_put(mm);
}

void process_detach(struct task *t)
{
	struct kernel *k = t->k;
	struct thread_group *tg = t->tg;
	struct task **pp;

	if (!tg)
		return;
	pthread_mutex_lock(&k->tasks_lock);
	for (pp = &tg->threads; *pp; pp = &(*pp)->group_next) {
		if (*pp == t) {
			*pp = t->group_next;
			break;
		}
	}
	signal_pending_clear(k, &t->pending);
	if (k->tasks[t->tid] == t)
		k->tasks[t->tid] = NULL;
	k->nr_tasks--;
	if (k->init == t)
		k->init = NULL;
	if (t->vfork_parent) {
		t->vfork_parent->vfork_done = true;
		t->vfork_parent = NULL;
	}
	if (--tg->nr_threads == 0)
		group_die(tg);
	pthread_cond_broadcast(&k->tasks_changed);
	pthread_mutex_unlock(&k->tasks_lock);
	t->tg = NULL;
}

void kernel_kill_all(struct kernel *k, struct task *self)
{
	pthread_mutex_lock(&k->tasks_lock);
	for (;;) {
		for (int pid = 1; pid < KERNEL_MAX_PIDS; pid++) {
			struct task *u = k->tasks[pid];

			if (u && u != self && !u->killed) {
				u->killed = true;
				interrupt_locked(u);
			}
		}
		/* Until every other task is freed, not only out of the table:
		 * task_destroy still drops its files and its mm after that. */
		if (k->nr_task_structs <= (self && self->counted ? 1 : 0))
			break;
		pthread_cond_wait(&k->tasks_changed, &k->tasks_lock);
	}
	pthread_mutex_unlock(&k->tasks_lock);
}

/* --- clone --- */

/* The parent's and the child's rendezvous; each holds a reference. */
struct clone_start {
	struct task *parent, *child;
	uint64_t flags;
	uint64_t child_tid; /* CLONE_CHILD_SETTID */
	bool have_fpu;
	unsigned char fpu[PLATFORM_FPU_MAX]; /* the parent's FPU state (platform/fpu.h) */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int state; /* 0 starting, 1 ready, -errno failed, 2 go, 3 abort */
	int refs;  /* atomic */
};

static void start_put(struct clone_start *s)
{
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
	}
}

static void start_set(struct clone_start *s, int state)
{
	pthread_mutex_lock(&s->lock);
	s->state = state;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int start_wait(struct clone_start *s, int unless)
{
	int state;

	pthread_mutex_lock(&s->lock);
	while (s->state == unless)
		pthread_cond_wait(&s->cond, &s->lock);
	state = s->state;
	pthread_mutex_unlock(&s->lock);
	return state;
}

/* The child's host thread: its platform context (and, for fork, its
 * copy of the parent's memory), then, once the parent says go, its life. */
static void *clone_thread(void *arg)
{
	struct clone_start *s = arg;
	struct task *c = s->child, *p = s->parent;
	struct platform *pl = c->k->platform;
	int err;

	c->thread = pthread_self();
	__atomic_store_n(&c->host_tid, gettid(), __ATOMIC_RELEASE); /* read under tasks_lock */
	if (s->flags & CLONE_VM) {
		c->mm = mm_get(p->mm);
		err = pl->ops->new_context(pl, c->mm->as, &c->ctx);
	} else {
		/* The parent fills it (mm_fork) on its own thread, which is the
		 * one that may change the parent's address space. */
		err = task_new_mm(c, &c->mm, &c->ctx);
	}
	if (!err && s->have_fpu && c->ctx->ops->set_fpu)
		err = c->ctx->ops->set_fpu(c->ctx, s->fpu);
	start_set(s, err ? err : 1);
	if (err || start_wait(s, 1) != 2) {
		start_put(s);
		return NULL; /* the parent cleans up */
	}
	/* As Linux's schedule_tail: the child's own write, into its own
	 * address space (a bad address is the child's problem only). */
	if ((s->flags & CLONE_CHILD_SETTID) &&
	    mm_copy_out(c->mm, s->child_tid, &c->tid, sizeof(c->tid)))
		c->clear_child_tid = 0;
	start_put(s);
	task_run(c);
	task_destroy(c);
	return NULL;
}

/* The child's sentry state, copied or shared as @flags say. */
static int clone_state(struct task *p, struct task *c, uint64_t flags)
{
	c->regs = p->regs;
	c->regs.rax = 0;
	memcpy(c->rlimits, p->rlimits, sizeof(c->rlimits));
	memcpy(c->exe, p->exe, sizeof(c->exe));
	if (p->cmdline && (c->cmdline = malloc(p->cmdline_len)))
		memcpy(c->cmdline, p->cmdline, c->cmdline_len = p->cmdline_len);
	if (p->environ && (c->environ = malloc(p->environ_len)))
		memcpy(c->environ, p->environ, c->environ_len = p->environ_len);
	c->fs = p->fs;
	vfs_path_get(c->fs.root);
	c->cwd = vfs_path_get(p->cwd);
	c->fds = flags & CLONE_FILES ? fd_table_get(p->fds) : fd_table_dup(p->fds);
	if (!c->fds)
		return -ENOMEM;
	c->blocked = p->blocked;
	if (!(flags & CLONE_VM) || (flags & CLONE_VFORK))
		c->altstack = p->altstack;
	return 0;
}

/* Put @c in its group: @p's (CLONE_THREAD) or a new one.  tasks_lock held. */
static int clone_attach(struct task *p, struct task *c, uint64_t flags)
{
	struct kernel *k = p->k;
	struct thread_group *tg;
	struct sighand *sh;
	int pid;

	if (k->nr_tasks >= k->max_tasks)
		return -EAGAIN;
	pid = alloc_pid(k);
	if (pid < 0)
		return pid;
	c->tid = pid;
	if (flags & CLONE_THREAD) {
		group_add_thread(p->tg, c);
	} else {
		if (flags & CLONE_SIGHAND) {
			sh = p->tg->sighand;
			sh->refs++;
		} else {
			sh = malloc(sizeof(*sh));
			if (!sh)
				return -ENOMEM;
			*sh = *p->tg->sighand;
			sh->refs = 1;
		}
		tg = group_new(c, flags & CLONE_PARENT && p->tg->parent ? p->tg->parent : p->tg, sh);
		if (!tg) {
			sighand_put(sh);
			return -ENOMEM;
		}
		tg->exit_signal = (int)(flags & CSIGNAL);
		group_add_thread(tg, c);
		k->groups[pid] = tg;
	}
	k->tasks[pid] = c;
	k->nr_tasks++;
	k->nr_task_structs++;
	c->counted = true;
	return 0;
}

static int64_t do_clone(struct task *p, uint64_t flags, uint64_t stack, uint64_t ptid,
			uint64_t ctid, uint64_t tls)
{
	struct kernel *k = p->k;
	struct thread_group *own = NULL;
	struct clone_start *s;
	pthread_attr_t attr;
	pthread_t th;
	struct task *c;
	int err, tid;

	if (flags & ~(uint64_t)CLONE_SUPPORTED)
		return -EINVAL; /* namespaces, pidfds, ... */
	if (((flags & CLONE_SIGHAND) && !(flags & CLONE_VM)) ||
	    ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND)))
		return -EINVAL;
	if ((flags & CLONE_SETTLS) && tls >= PLATFORM_USER_END)
		return -EPERM;
	if ((flags & CLONE_VM) && !k->platform->shared_as) {
		if (!(flags & CLONE_VFORK) || (flags & (CLONE_THREAD | CLONE_SIGHAND)))
			return -EAGAIN; /* threads need the KVM platform */
		flags &= ~(uint64_t)CLONE_VM; /* vfork as fork */
	}
	c = task_alloc(k);
	if (!c)
		return -ENOMEM;
	err = clone_state(p, c, flags);
	if (err)
		goto err_destroy;
	if (stack)
		c->regs.rsp = stack;
	if (flags & CLONE_SETTLS)
		c->regs.fs_base = tls;
	if (flags & CLONE_CHILD_CLEARTID)
		c->clear_child_tid = ctid;

	pthread_mutex_lock(&k->tasks_lock);
	err = p->tg->exiting ? -EINTR : clone_attach(p, c, flags);
	pthread_mutex_unlock(&k->tasks_lock);
	if (err)
		goto err_destroy;
	tid = c->tid;

	err = -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto err_detach;
	*s = (struct clone_start){.parent = p, .child = c, .flags = flags, .child_tid = ctid,
				  .refs = 2};
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	/* The child starts with the parent's FPU state, as on Linux. */
	s->have_fpu = p->ctx->ops->get_fpu && !p->ctx->ops->get_fpu(p->ctx, s->fpu);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = -pthread_create(&th, &attr, clone_thread, s);
	pthread_attr_destroy(&attr);
	if (err) {
		start_put(s); /* the thread's reference */
		start_put(s);
		goto err_detach;
	}
	err = start_wait(s, 0);
	err = err == 1 ? 0 : err;
	if (!err && !(flags & CLONE_VM))
		err = mm_fork(c->mm, p->mm);
	if (!err && (flags & CLONE_PARENT_SETTID))
		err = mm_copy_out(p->mm, ptid, &tid, sizeof(tid));
	if (!err && (flags & CLONE_VFORK)) {
		pthread_mutex_lock(&k->tasks_lock);
		c->vfork_parent = p;
		p->vfork_done = false;
		pthread_mutex_unlock(&k->tasks_lock);
	}
	if (err) {
		start_set(s, 3); /* the child thread ends; we clean up */
		start_put(s);
		goto err_detach;
	}
	start_set(s, 2); /* from here on the child owns itself */
	start_put(s);

	if (flags & CLONE_VFORK) {
		pthread_mutex_lock(&k->tasks_lock);
		while (!p->vfork_done && !p->killed)
			pthread_cond_wait(&k->tasks_changed, &k->tasks_lock);
		pthread_mutex_unlock(&k->tasks_lock);
	}
	return tid;

err_detach:
	/* Never ran: it leaves without a trace (no SIGCHLD, no zombie). */
	pthread_mutex_lock(&k->tasks_lock);
	own = c->tg != p->tg ? c->tg : NULL;
	if (own)
		own->exit_signal = 0;
	pthread_mutex_unlock(&k->tasks_lock);
err_destroy:
	c->exited = true;
	task_destroy(c);
	if (own) {
		pthread_mutex_lock(&k->tasks_lock);
		process_free_group(own);
		pthread_mutex_unlock(&k->tasks_lock);
	}
	return err;
}

int64_t sys_clone(struct task *t, const uint64_t a[6])
{
	/* x86-64: clone(flags, stack, parent_tid, child_tid, tls) */
	return do_clone(t, a[0], a[1], a[2], a[3], a[4]);
}

int64_t sys_fork(struct task *t, const uint64_t a[6])
{
	return do_clone(t, SIGCHLD, 0, 0, 0, 0);
}

int64_t sys_vfork(struct task *t, const uint64_t a[6])
{
	return do_clone(t, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
}

int64_t sys_clone3(struct task *t, const uint64_t a[6])
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
		uint64_t set_tid, set_tid_size, cgroup;
	} args;
	int err;

	if (a[1] < 64 || a[1] > 4096)
		return -EINVAL;
	memset(&args, 0, sizeof(args));
	err = mm_copy_in(t->mm, &args, a[0], a[1] < sizeof(args) ? a[1] : sizeof(args));
	if (err)
		return err;
	if ((args.flags & CSIGNAL) || args.exit_signal > TASK_NSIG || args.set_tid_size ||
	    (args.stack && !args.stack_size))
		return -EINVAL;
	return do_clone(t, args.flags | args.exit_signal, args.stack ? args.stack + args.stack_size : 0,
			args.parent_tid, args.child_tid, args.tls);
}

/* --- wait --- */

/* Does child @c match wait's @pid (Linux's encoding) for task @t? */
static bool wait_match(struct task *t, struct thread_group *c, int pid)
{
	if (pid > 0)
		return c->tgid == pid;
	if (pid == 0)
		return c->pgid == t->tg->pgid;
	if (pid < -1)
		return c->pgid == -pid;
	return true;
}

/* Find a zombie child for wait4/waitid.  Returns it (not yet freed), or
 * NULL with *@any saying whether any child matched.  tasks_lock held. */
static struct thread_group *wait_find(struct task *t, int pid, int options, bool *any)
{
	*any = false;
	for (struct thread_group *c = t->tg->children; c; c = c->sibling) {
		/* __WCLONE: only children that do not send SIGCHLD; __WALL: all. */
		bool clone_child = c->exit_signal != SIGCHLD;

		if (!wait_match(t, c, pid))
			continue;
		if (!(options & __WALL) && clone_child != !!(options & __WCLONE))
			continue;
		*any = true;
		if ((c->zombie && (options & WEXITED)) ||
		    ((options & WUNTRACED) && c->stopped && !c->stop_reported) ||
		    ((options & WCONTINUED) && c->continued))
			return c;
	}
	return NULL;
}

static int64_t do_wait(struct task *t, int pid, int options, int *status, int *tgid,
		       bool reap)
{
	struct kernel *k = t->k;
	struct thread_group *c;
	bool any;
	int err;

	pthread_mutex_lock(&k->tasks_lock);
	for (;;) {
		c = wait_find(t, pid, options, &any);
		if (c) {
			*tgid = c->tgid;
			if (c->zombie && (options & WEXITED)) {
				*status = c->exit_status;
				if (reap)
					process_free_group(c);
			} else if ((options & WUNTRACED) && c->stopped && !c->stop_reported) {
				*status = (c->stop_signo << 8) | 0x7f; /* WIFSTOPPED */
				if (reap)
					c->stop_reported = true;
			} else {
				*status = 0xffff; /* WIFCONTINUED */
				if (reap)
					c->continued = false;
			}
			err = 1;
			break;
		}
		if (!any) {
			err = -ECHILD;
			break;
		}
		if (options & WNOHANG) {
			err = 0;
			break;
		}
		err = task_wait(t, &k->tasks_changed, &k->tasks_lock, NULL);
		if (err == -ERESTARTSYS)
			break;
	}
	pthread_mutex_unlock(&k->tasks_lock);
	return err;
}

int64_t sys_wait4(struct task *t, const uint64_t a[6])
{
	int options = (int)a[2], status = 0, tgid = 0;
	int64_t r;

	if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD))
		return -EINVAL;
	r = do_wait(t, (int)a[0], options | WEXITED, &status, &tgid, true);
	if (r <= 0)
		return r;
	if (a[1] && mm_copy_out(t->mm, a[1], &status, sizeof(status)))
		return -EFAULT;
	if (a[3]) {
		struct rusage ru;

		memset(&ru, 0, sizeof(ru));
		if (mm_copy_out(t->mm, a[3], &ru, sizeof(ru)))
			return -EFAULT;
	}
	return tgid;
}

int64_t sys_waitid(struct task *t, const uint64_t a[6])
{
	int idtype = (int)a[0], id = (int)a[1], options = (int)a[3], status = 0, tgid = 0, pid;
	siginfo_t si;
	int64_t r;

	if (options & ~(WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WALL | __WCLONE |
			__WNOTHREAD))
		return -EINVAL;
	if (!(options & (WEXITED | WSTOPPED | WCONTINUED)))
		return -EINVAL;
	switch (idtype) {
	case P_ALL: pid = -1; break;
	case P_PID: pid = id > 0 ? id : -2; break;
	case P_PGID: pid = id > 0 ? -id : 0; break;
	default: return -EINVAL;
	}
	if (pid == -2)
		return -EINVAL;
	/* waitid's WSTOPPED is wait4's WUNTRACED (the same bit). */
	r = do_wait(t, pid, options, &status, &tgid, !(options & WNOWAIT));
	if (r < 0)
		return r;
	memset(&si, 0, sizeof(si));
	if (r > 0) {
		si.si_signo = SIGCHLD;
		si.si_pid = tgid;
		if (WIFSTOPPED(status)) {
			si.si_code = CLD_STOPPED;
			si.si_status = WSTOPSIG(status);
		} else if (WIFCONTINUED(status)) {
			si.si_code = CLD_CONTINUED;
			si.si_status = SIGCONT;
		} else {
			si.si_code = WIFSIGNALED(status) ? CLD_KILLED : CLD_EXITED;
			si.si_status = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
		}
	}
	if (a[2] && mm_copy_out(t->mm, a[2], &si, sizeof(si)))
		return -EFAULT;
	return 0;
}

/* --- execve --- */

#define EXEC_MAX_STRINGS 65536
#define EXEC_MAX_BYTES	 (UINT64_C(2) << 20)

static void free_strings(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Copy in a NULL-terminated array of strings (argv, envp). */
static int copy_strings(struct task *t, uint64_t uv, char ***out, uint64_t *bytes)
{
	char **v = NULL, buf[ABI_PAGE_SIZE * 32];
	size_t n = 0;
	int err = 0;

	*out = NULL;
	for (;;) {
		uint64_t p;
		long len;
		char **nv;

		if (!uv) /* Linux takes a NULL argv as empty */
			break;
		if (n == EXEC_MAX_STRINGS) {
			err = -E2BIG;
			break;
		}
		err = mm_copy_in(t->mm, &p, uv + n * 8, sizeof(p));
		if (err || !p)
			break;
		len = mm_copy_in_string(t->mm, buf, p, sizeof(buf));
		if (len < 0) {
			err = len == -ENAMETOOLONG ? -E2BIG : (int)len;
			break;
		}
		*bytes += (uint64_t)len + 1 + 8;
		if (*bytes > EXEC_MAX_BYTES) {
			err = -E2BIG;
			break;
		}
		nv = realloc(v, (n + 2) * sizeof(*v));
		if (!nv || !(nv[n] = strdup(buf))) {
			v = nv ? nv : v;
			err = -ENOMEM;
			break;
		}
		v = nv;
		v[++n] = NULL;
	}
	if (!err && !v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			err = -ENOMEM;
	}
	if (err) {
		if (v)
			v[n] = NULL;
		free_strings(v);
		return err;
	}
	*out = v;
	return 0;
}

/* A kick reads t->ctx under tasks_lock (interrupt_locked), even while
 * the task is in exec, so change it only there. */
static void swap_mm(struct task *t, struct mm *mm, struct platform_context *ctx)
{
	pthread_mutex_lock(&t->k->tasks_lock);
	t->mm = mm;
	t->ctx = ctx;
	pthread_mutex_unlock(&t->k->tasks_lock);
}

/* Other threads of the group end before the exec goes on. */
static int exec_single_thread(struct task *t)
{
	struct kernel *k = t->k;
	int err = 0;

	pthread_mutex_lock(&k->tasks_lock);
	for (struct task *u = t->tg->threads; u; u = u->group_next) {
		if (u != t) {
			u->killed = true;
			interrupt_locked(u);
		}
	}
	while (t->tg->nr_threads > 1 && !t->killed)
		pthread_cond_wait(&k->tasks_changed, &k->tasks_lock);
	if (t->killed)
		err = -EINTR;
	pthread_mutex_unlock(&k->tasks_lock);
	return err;
}

static int64_t do_execve(struct task *t, int dirfd, uint64_t upath, uint64_t uargv,
			 uint64_t uenvp, int flags)
{
	char path[VFS_PATH_MAX], msg[256], **argv = NULL, **envp = NULL;
	struct platform_context *ctx, *old_ctx;
	struct mm *mm, *old_mm;
	uint64_t bytes = 0;
	long len;
	int err;

	if (flags & ~AT_EMPTY_PATH)
		return -EINVAL;
	len = mm_copy_in_string(t->mm, path, upath, sizeof(path));
	if (len < 0)
		return len;
	if (dirfd != AT_FDCWD && path[0] != '/')
		return -ENOSYS; /* execveat relative to a directory fd: not yet */
	err = copy_strings(t, uargv, &argv, &bytes);
	if (!err)
		err = copy_strings(t, uenvp, &envp, &bytes);
	if (err)
		goto out_free;
	err = exec_single_thread(t);
	if (err)
		goto out_free;
	err = task_new_mm(t, &mm, &ctx);
	if (err)
		goto out_free;
	old_mm = t->mm;
	old_ctx = t->ctx;
	swap_mm(t, mm, ctx);
	err = exec_load(t, path, argv, envp, msg, sizeof(msg));
	if (err) {
		swap_mm(t, old_mm, old_ctx);
		ctx->ops->destroy(ctx);
		mm_put(mm);
		goto out_free;
	}
	old_ctx->ops->destroy(old_ctx);
	mm_put(old_mm);
	fd_close_on_exec(t->fds);
	signal_exec_reset(t);
	timer_exec(t);
	t->clear_child_tid = 0;
	t->robust_list = 0;
	pthread_mutex_lock(&t->k->tasks_lock);
	if (t->vfork_parent) {
		t->vfork_parent->vfork_done = true;
		t->vfork_parent = NULL;
		pthread_cond_broadcast(&t->k->tasks_changed);
	}
	pthread_mutex_unlock(&t->k->tasks_lock);
out_free:
	free_strings(argv);
	free_strings(envp);
	return err;
}

int64_t sys_execve(struct task *t, const uint64_t a[6])
{
	return do_execve(t, AT_FDCWD, a[0], a[1], a[2], 0);
}

int64_t sys_execveat(struct task *t, const uint64_t a[6])
{
	return do_execve(t, (int)a[0], a[1], a[2], a[3], (int)a[4]);
}

/* --- ids, groups and sessions --- */

int64_t sys_getppid(struct task *t, const uint64_t a[6])
{
	int ppid;

	pthread_mutex_lock(&t->k->tasks_lock);
	ppid = t->tg->parent ? t->tg->parent->tgid : 0;
	pthread_mutex_unlock(&t->k->tasks_lock);
	return ppid;
}

int64_t sys_getpgid(struct task *t, const uint64_t a[6])
{
	struct thread_group *tg;
	int64_t r;

	pthread_mutex_lock(&t->k->tasks_lock);
	tg = a[0] ? process_find_group(t->k, (int)a[0]) : t->tg;
	r = tg ? tg->pgid : -ESRCH;
	pthread_mutex_unlock(&t->k->tasks_lock);
	return r;
}

int64_t sys_getpgrp(struct task *t, const uint64_t a[6])
{
	return sys_getpgid(t, (const uint64_t[6]){0});
}

int64_t sys_setpgid(struct task *t, const uint64_t a[6])
{
	struct thread_group *tg;
	int pgid = (int)a[1];
	int64_t r = 0;

	if (pgid < 0)
		return -EINVAL;
	pthread_mutex_lock(&t->k->tasks_lock);
	tg = a[0] ? process_find_group(t->k, (int)a[0]) : t->tg;
	if (!tg || (tg != t->tg && tg->parent != t->tg))
		r = -ESRCH;
	else if (tg->sid == tg->tgid || tg->sid != t->tg->sid)
		r = -EPERM; /* a session leader, or in another session */
	else
		tg->pgid = pgid ? pgid : tg->tgid;
	pthread_mutex_unlock(&t->k->tasks_lock);
	return r;
}

int64_t sys_getsid(struct task *t, const uint64_t a[6])
{
	struct thread_group *tg;
	int64_t r;

	pthread_mutex_lock(&t->k->tasks_lock);
	tg = a[0] ? process_find_group(t->k, (int)a[0]) : t->tg;
	r = tg ? tg->sid : -ESRCH;
	pthread_mutex_unlock(&t->k->tasks_lock);
	return r;
}

int64_t sys_setsid(struct task *t, const uint64_t a[6])
{
	struct thread_group *tg = t->tg;
	int64_t r;

	pthread_mutex_lock(&t->k->tasks_lock);
	r = -EPERM; /* a group leader may not: its pgid is in use */
	if (tg->pgid != tg->tgid) {
		tg->sid = tg->pgid = tg->tgid;
		r = tg->tgid;
	}
	pthread_mutex_unlock(&t->k->tasks_lock);
	return r;
}

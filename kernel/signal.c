/*
 * kernel/signal.c - see signal.h.  Also the syscalls that wait for
 * signals or time: pause, rt_sigsuspend, rt_sigtimedwait, nanosleep.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/process.h"
#include "kernel/signal.h"
#include "kernel/syscall.h"

#define BIT(signo)    (UINT64_C(1) << ((signo) - 1))
#define UNBLOCKABLE   (BIT(SIGKILL) | BIT(SIGSTOP))
#define FIX_EFLAGS    UINT64_C(0x250dd5) /* what sigreturn may restore */
/* The software bytes of an XSAVE signal frame (Linux's _fpx_sw_bytes, in
 * FXSAVE's bytes 464-511), and the word after the image. */
#define ABI_FP_XSTATE_MAGIC1 0x46505853u
#define ABI_FP_XSTATE_MAGIC2 0x46505845u
#define ABI_UC_FP_XSTATE	 1

struct fpx_sw_bytes {
	uint32_t magic1, extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size, padding[7];
};
#define ABI_SA_RESTORER 0x04000000
#define ABI_SS_AUTODISARM (1u << 31)
#define ABI_MINSIGSTKSZ 2048

/* The kernel's x86-64 signal frame, as Linux lays it out. */
struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct k_stack {
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
};

struct k_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct k_stack uc_stack;
	struct k_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

struct rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	siginfo_t info;
};

_Static_assert(sizeof(struct k_sigcontext) == 256, "sigcontext layout");
_Static_assert(sizeof(struct k_ucontext) == 304, "ucontext layout");
_Static_assert(sizeof(siginfo_t) == 128, "siginfo layout");
_Static_assert(sizeof(struct rt_sigframe) == 440, "rt_sigframe layout");

enum default_action { ACT_TERM, ACT_CORE, ACT_IGNORE, ACT_STOP };

static enum default_action default_action(int signo)
{
	switch (signo) {
	case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH:
		return ACT_IGNORE;
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return ACT_STOP;
	case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
	case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
		return ACT_CORE;
	default:
		return ACT_TERM;
	}
}

static struct k_sigaction *action(struct thread_group *tg, int signo)
{
	return &tg->sighand->action[signo - 1];
}

/* Would @signo be thrown away on arrival?  (Blocked signals never are.) */
static bool ignored(struct task *t, int signo)
{
	const struct k_sigaction *a = action(t->tg, signo);

	if ((t->blocked | t->sigwait_set) & BIT(signo))
		return false;
	return a->handler == (uint64_t)SIG_IGN ||
	       (a->handler == (uint64_t)SIG_DFL && default_action(signo) == ACT_IGNORE);
}

/* Set or clear @t's interrupt flag from what is pending.  tasks_lock held. */
static void recalc(struct task *t)
{
	bool due = t->killed || t->tg->stopped ||
		   ((t->pending.set | t->tg->shared.set) & ~t->blocked);

	if (due)
		signal_interrupt_locked(t);
	else
		__atomic_store_n(&t->interrupt, 0, __ATOMIC_RELEASE);
}

static void fill_info(siginfo_t *dst, int signo, const siginfo_t *info)
{
	if (info) {
		*dst = *info;
	} else {
		memset(dst, 0, sizeof(*dst));
		dst->si_code = SI_KERNEL;
	}
	dst->si_signo = signo;
}

/* --- pending sets --- */

/* Room for one more real-time signal for @to (its RLIMIT_SIGPENDING, as
 * Linux takes the receiver's)?  Counted, as Linux counts per user, over
 * the whole sandbox. */
static bool rt_charge(struct kernel *k, const struct task *to)
{
	uint64_t limit = to ? to->rlimits[RLIMIT_SIGPENDING].rlim_cur : TASK_SIGQUEUE_MAX;

	if (limit > TASK_SIGQUEUE_MAX)
		limit = TASK_SIGQUEUE_MAX;
	if ((uint64_t)k->nr_sigqueued >= limit)
		return false;
	k->nr_sigqueued++;
	return true;
}

/* Make @signo pending in @p.  A standard signal already pending merges
 * with it.  Each real-time one is queued with its siginfo while the
 * sender's RLIMIT_SIGPENDING allows; past it, one sent with sigqueue
 * fails (-EAGAIN) and one sent with kill is pending without its own
 * siginfo, as in Linux.  tasks_lock held. */
static int pending_add(struct kernel *k, const struct task *to, struct sigpending *p, int signo,
		       const siginfo_t *info)
{
	bool rt = signo >= TASK_SIGRTMIN, queued = p->set & BIT(signo), charged = false;
	struct sigqueue_entry *q;

	if (queued && !rt)
		return 0;
	if (rt) {
		charged = rt_charge(k, to);
		if (!charged && info && info->si_code != SI_USER)
			return -EAGAIN;
		if (!charged && queued)
			return 0;
	}
	if (!queued) {
		p->set |= BIT(signo);
		p->charged |= charged ? BIT(signo) : 0;
		fill_info(&p->info[signo - 1], signo, info);
		return 0;
	}
	q = malloc(sizeof(*q));
	if (!q) {
		k->nr_sigqueued--;
		return -EAGAIN;
	}
	q->next = NULL;
	fill_info(&q->info, signo, info);
	if (p->more[signo - 1])
		p->last[signo - 1]->next = q;
	else
		p->more[signo - 1] = q;
	p->last[signo - 1] = q;
	return 0;
}

/* Take the oldest @signo off @p into @info.  tasks_lock held. */
static void pending_take(struct kernel *k, struct sigpending *p, int signo, siginfo_t *info)
{
	struct sigqueue_entry *q = p->more[signo - 1];

	*info = p->info[signo - 1];
	if (p->charged & BIT(signo))
		k->nr_sigqueued--;
	if (!q) {
		p->set &= ~BIT(signo);
		p->charged &= ~BIT(signo);
		return;
	}
	p->info[signo - 1] = q->info;
	p->charged |= BIT(signo); /* every queued one was */
	p->more[signo - 1] = q->next;
	free(q);
}

/* Drop every signal of @mask from @p, queued ones too.  tasks_lock held. */
static void pending_discard(struct kernel *k, struct sigpending *p, uint64_t mask)
{
	for (uint64_t m = p->set & mask; m; m &= m - 1) {
		int signo = __builtin_ctzll(m) + 1;
		struct sigqueue_entry *q;

		if (p->charged & BIT(signo))
			k->nr_sigqueued--;
		while ((q = p->more[signo - 1])) {
			p->more[signo - 1] = q->next;
			free(q);
			k->nr_sigqueued--;
		}
	}
	p->set &= ~mask;
	p->charged &= ~mask;
}

void signal_pending_clear(struct kernel *k, struct sigpending *p)
{
	pending_discard(k, p, ~UINT64_C(0));
}

/*
 * Is pid 1 immune to @signo?  As a pid namespace's init: a signal it has
 * no handler for is dropped, whoever sends it (itself included), unless
 * it is blocked (a handler may come before it is unblocked).  Faults do
 * not come this way (signal_force).
 */
static bool init_protected(struct thread_group *tg, int signo)
{
	if (tg->tgid != 1)
		return false;
	if (signo == SIGKILL || signo == SIGSTOP)
		return true;
	return action(tg, signo)->handler == (uint64_t)SIG_DFL && tg->threads &&
	       !((tg->threads->blocked | tg->threads->sigwait_set) & BIT(signo));
}

/* Tell @tg's parent about a stop or a continue.  tasks_lock held. */
static void notify_parent(struct thread_group *tg, int code, int status)
{
	struct thread_group *p = tg->parent;
	siginfo_t si;

	pthread_cond_broadcast(&tg->k->tasks_changed); /* wait(WUNTRACED | WCONTINUED) */
	if (!p || (action(p, SIGCHLD)->flags & SA_NOCLDSTOP))
		return;
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGCHLD;
	si.si_code = code;
	si.si_pid = tg->tgid;
	si.si_status = status;
	signal_send_group_locked(p, SIGCHLD, &si);
}

/* SIGCONT: a stopped group runs again; pending stops go.  tasks_lock held. */
static void group_continue(struct thread_group *tg)
{
	const uint64_t stops = BIT(SIGSTOP) | BIT(SIGTSTP) | BIT(SIGTTIN) | BIT(SIGTTOU);

	pending_discard(tg->k, &tg->shared, stops);
	for (struct task *t = tg->threads; t; t = t->group_next)
		pending_discard(tg->k, &t->pending, stops);
	if (!tg->stopped)
		return;
	tg->stopped = false;
	tg->continued = true;
	for (struct task *t = tg->threads; t; t = t->group_next)
		recalc(t);
	notify_parent(tg, CLD_CONTINUED, SIGCONT);
}

int signal_send_group_locked(struct thread_group *tg, int signo, const siginfo_t *info)
{
	struct task *t;
	int err;

	if (signo <= 0 || signo > TASK_NSIG || tg->zombie || init_protected(tg, signo))
		return 0;
	if (signo == SIGKILL) {
		if (!tg->exiting) {
			tg->exiting = true;
			tg->exit_status = SIGKILL;
		}
		for (t = tg->threads; t; t = t->group_next) {
			t->killed = true;
			signal_interrupt_locked(t);
		}
		return 0;
	}
	if (signo == SIGCONT)
		group_continue(tg);
	else if (default_action(signo) == ACT_STOP) {
		/* A stop cancels a pending continue, as a continue a stop. */
		pending_discard(tg->k, &tg->shared, BIT(SIGCONT));
		for (t = tg->threads; t; t = t->group_next)
			pending_discard(tg->k, &t->pending, BIT(SIGCONT));
	}
	if (tg->threads && ignored(tg->threads, signo) && !(tg->threads->blocked & BIT(signo)))
		return 0;
	err = pending_add(tg->k, tg->threads, &tg->shared, signo, info);
	/* Wake one thread that takes it: the main one if it can. */
	for (t = tg->threads; t; t = t->group_next) {
		if (!(t->blocked & BIT(signo))) {
			signal_interrupt_locked(t);
			break;
		}
	}
	return err;
}

int signal_send_thread_locked(struct task *t, int signo, const siginfo_t *info)
{
	int err;

	if (signo <= 0 || signo > TASK_NSIG || t->exited)
		return 0;
	if (signo == SIGKILL)
		return signal_send_group_locked(t->tg, signo, info);
	if (ignored(t, signo))
		return 0;
	err = pending_add(t->k, t, &t->pending, signo, info);
	recalc(t);
	return err;
}

void signal_set_temporary_mask(struct task *t, uint64_t mask)
{
	pthread_mutex_lock(&t->k->tasks_lock);
	if (!t->restore_mask) {
		t->saved_mask = t->blocked;
		t->restore_mask = true;
	}
	t->blocked = mask & ~UNBLOCKABLE;
	recalc(t);
	pthread_mutex_unlock(&t->k->tasks_lock);
}

void signal_raise(struct task *t, int signo)
{
	pthread_mutex_lock(&t->k->tasks_lock);
	signal_send_thread_locked(t, signo, NULL);
	pthread_mutex_unlock(&t->k->tasks_lock);
}

/* --- delivery --- */

/* Take the lowest deliverable signal off @t.  0 if none.  tasks_lock held. */
static int dequeue(struct task *t, uint64_t mask, siginfo_t *info)
{
	uint64_t own = t->pending.set & mask, shared = t->tg->shared.set & mask;
	int signo;

	if (own) {
		signo = __builtin_ctzll(own) + 1;
		pending_take(t->k, &t->pending, signo, info);
	} else if (shared) {
		signo = __builtin_ctzll(shared) + 1;
		pending_take(t->k, &t->tg->shared, signo, info);
	} else {
		return 0;
	}
	return signo;
}

static bool on_altstack(const struct task *t, uint64_t sp)
{
	return !(t->altstack.ss_flags & SS_DISABLE) && sp > (uint64_t)t->altstack.ss_sp &&
	       sp - (uint64_t)t->altstack.ss_sp <= t->altstack.ss_size;
}

/* Make the FPU image in @fx (ctx->fpu_size bytes) what a signal frame
 * holds, as Linux writes it: with XSAVE, the software bytes that say so
 * and MAGIC2 after the image.  Returns the frame's length. */
static size_t fpu_frame(const struct platform_context *ctx, unsigned char *fx)
{
	struct fpx_sw_bytes sw = {0};
	const uint32_t magic2 = ABI_FP_XSTATE_MAGIC2;

	if (!ctx->fpu_xfeatures)
		return FPU_FXSAVE_SIZE;
	sw.magic1 = ABI_FP_XSTATE_MAGIC1;
	sw.extended_size = (uint32_t)ctx->fpu_size + sizeof(magic2);
	sw.xfeatures = ctx->fpu_xfeatures;
	sw.xstate_size = (uint32_t)ctx->fpu_size;
	memcpy(fx + FPU_SW_OFFSET, &sw, sizeof(sw));
	memcpy(fx + ctx->fpu_size, &magic2, sizeof(magic2));
	return ctx->fpu_size + sizeof(magic2);
}

/* Read the FPU image of a frame at @addr into @fx (ctx->fpu_size bytes)
 * for set_fpu.  An XSAVE frame whose software bytes and MAGIC2 match is
 * taken whole, with only the components both it and the context name;
 * any other frame is FXSAVE's, and the other components start anew, as
 * Linux does with a legacy frame.  0, or -EFAULT (unreadable, or a header
 * XRSTOR would refuse). */
static int fpu_from_frame(struct task *t, uint64_t addr, unsigned char *fx)
{
	const struct platform_context *ctx = t->ctx;
	struct fpx_sw_bytes sw;
	uint32_t magic2 = 0;

	if (mm_copy_in(t->mm, fx, addr, FPU_FXSAVE_SIZE))
		return -EFAULT;
	if (!ctx->fpu_xfeatures)
		return 0;
	memcpy(&sw, fx + FPU_SW_OFFSET, sizeof(sw));
	if (sw.magic1 == ABI_FP_XSTATE_MAGIC1 && sw.xstate_size == ctx->fpu_size &&
	    sw.extended_size == ctx->fpu_size + sizeof(magic2) &&
	    !mm_copy_in(t->mm, &magic2, addr + ctx->fpu_size, sizeof(magic2)) &&
	    magic2 == ABI_FP_XSTATE_MAGIC2) {
		if (mm_copy_in(t->mm, fx, addr, ctx->fpu_size))
			return -EFAULT;
		fpu_set_xstate_bv(fx, fpu_xstate_bv(fx) & sw.xfeatures & ctx->fpu_xfeatures);
		return fpu_header_ok(fx, ctx->fpu_xfeatures) ? 0 : -EFAULT;
	}
	memset(fx + FPU_FXSAVE_SIZE, 0, ctx->fpu_size - FPU_FXSAVE_SIZE);
	fpu_set_xstate_bv(fx, 3);
	return 0;
}

/* Build the frame for handler @a of @signo on @t's stack and point the
 * registers at the handler.  -EFAULT if the stack cannot take it. */
static int setup_frame(struct task *t, int signo, const struct k_sigaction *a,
		       const siginfo_t *info, uint64_t old_mask)
{
	struct abi_regs *r = &t->regs;
	unsigned char fx[PLATFORM_FPU_MAX + 4];
	struct rt_sigframe f;
	uint64_t sp = r->rsp, fp = 0;
	size_t fpu_len = 0;

	if (!(a->flags & ABI_SA_RESTORER))
		return -EFAULT; /* x86-64 handlers return through sa_restorer */
	if ((a->flags & SA_ONSTACK) && !(t->altstack.ss_flags & SS_DISABLE) && !on_altstack(t, sp))
		sp = (uint64_t)t->altstack.ss_sp + t->altstack.ss_size;
	else
		sp -= 128; /* the red zone */
	if (t->ctx->ops->get_fpu && !t->ctx->ops->get_fpu(t->ctx, fx))
		fpu_len = fpu_frame(t->ctx, fx);
	if (fpu_len) {
		sp = (sp - fpu_len) & ~UINT64_C(63);
		fp = sp;
		if (mm_copy_out(t->mm, fp, fx, fpu_len))
			return -EFAULT;
	}
	sp = ((sp - sizeof(f)) & ~UINT64_C(15)) - 8;

	memset(&f, 0, sizeof(f));
	f.pretcode = a->restorer;
	f.uc.uc_flags = fpu_len > FPU_FXSAVE_SIZE ? ABI_UC_FP_XSTATE : 0;
	f.uc.uc_stack = (struct k_stack){.ss_sp = (uint64_t)t->altstack.ss_sp,
					 .ss_flags = t->altstack.ss_flags,
					 .ss_size = t->altstack.ss_size};
	f.uc.uc_mcontext = (struct k_sigcontext){
		.r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11, .r12 = r->r12,
		.r13 = r->r13, .r14 = r->r14, .r15 = r->r15, .rdi = r->rdi, .rsi = r->rsi,
		.rbp = r->rbp, .rbx = r->rbx, .rdx = r->rdx, .rax = r->rax, .rcx = r->rcx,
		.rsp = r->rsp, .rip = r->rip, .eflags = r->eflags, .cs = ABI_USER_CS,
		.ss = ABI_USER_SS, .oldmask = old_mask, .fpstate = fp,
		.cr2 = signo == SIGSEGV || signo == SIGBUS ? (uint64_t)info->si_addr : 0,
	};
	f.uc.uc_sigmask = old_mask;
	f.info = *info;
	if (mm_copy_out(t->mm, sp, &f, sizeof(f)))
		return -EFAULT;

	r->rsp = sp;
	r->rip = a->handler;
	r->rdi = (uint64_t)signo;
	r->rsi = sp + offsetof(struct rt_sigframe, info);
	r->rdx = sp + offsetof(struct rt_sigframe, uc);
	r->rax = 0;
	r->eflags &= ~UINT64_C(0x10500); /* DF, TF, RF */
	r->orig_rax = UINT64_MAX;
	return 0;
}

/* A syscall the signal interrupted: restart it, or fail it with EINTR. */
static void settle_restart(struct task *t, const struct k_sigaction *a)
{
	int64_t rv = (int64_t)t->regs.rax;

	if (!t->restart_syscall)
		return;
	t->restart_syscall = false;
	if (a && (rv == -ERESTARTNOHAND || (rv == -ERESTARTSYS && !(a->flags & SA_RESTART)))) {
		t->regs.rax = (uint64_t)-EINTR;
		return;
	}
	t->regs.rax = t->regs.orig_rax;
	t->regs.rip -= 2; /* back onto the syscall instruction */
}

/* The default action of @signo for @t.  Returns true if @t must stop
 * running (it is ending).  tasks_lock not held. */
/* A stop signal's default action: the whole group stops (each of its
 * tasks parks in signal_deliver until SIGCONT or SIGKILL). */
static void group_stop(struct task *t, int signo)
{
	struct thread_group *tg = t->tg;

	pthread_mutex_lock(&t->k->tasks_lock);
	if (!tg->stopped && !tg->exiting) {
		tg->stopped = true;
		tg->stop_signo = signo;
		tg->stop_reported = false;
		tg->continued = false;
		for (struct task *u = tg->threads; u; u = u->group_next)
			recalc(u);
		notify_parent(tg, CLD_STOPPED, signo);
	}
	pthread_mutex_unlock(&t->k->tasks_lock);
}

static bool take_default(struct task *t, int signo, const siginfo_t *info)
{
	switch (default_action(signo)) {
	case ACT_IGNORE:
		return false;
	case ACT_STOP:
		group_stop(t, signo);
		return false;
	case ACT_TERM:
	case ACT_CORE:
		break;
	}
	if (t->tg->tgid == 1) { /* the sandbox ends: say why */
		const char *name = sigabbrev_np(signo);

		fprintf(stderr, "ksentry: guest killed by SIG%s (signal %s)\n", name ? name : "?",
			info->si_code == SI_USER || info->si_code == SI_TKILL ? "from a process"
									     : "from the kernel");
	}
	task_exit_group(t, signo & 0x7f);
	return true;
}

void signal_deliver(struct task *t)
{
	struct kernel *k = t->k;

	if (!task_signal_pending(t) && !t->restart_syscall && !t->restore_mask)
		return;
	for (;;) {
		struct k_sigaction a;
		uint64_t old_mask;
		siginfo_t info;
		int signo;

		pthread_mutex_lock(&k->tasks_lock);
		/* Stopped: park here, off the vCPU, until continued or killed. */
		while (t->tg->stopped && !t->killed) {
			__atomic_store_n(&t->interrupt, 0, __ATOMIC_RELEASE);
			(void)task_wait(t, &k->tasks_changed, &k->tasks_lock, NULL);
		}
		if (t->killed) {
			int status = t->tg->exiting ? t->tg->exit_status : SIGKILL;

			pthread_mutex_unlock(&k->tasks_lock);
			process_exit_thread(t, status);
			return;
		}
		signo = dequeue(t, ~t->blocked, &info);
		if (!signo) {
			if (t->restore_mask) {
				t->blocked = t->saved_mask;
				t->restore_mask = false;
			}
			recalc(t);
			pthread_mutex_unlock(&k->tasks_lock);
			settle_restart(t, NULL);
			return;
		}
		a = *action(t->tg, signo);
		if (a.handler == (uint64_t)SIG_IGN) {
			pthread_mutex_unlock(&k->tasks_lock);
			continue;
		}
		if (a.handler == (uint64_t)SIG_DFL) {
			pthread_mutex_unlock(&k->tasks_lock);
			if (take_default(t, signo, &info))
				return;
			continue;
		}
		old_mask = t->restore_mask ? t->saved_mask : t->blocked;
		t->restore_mask = false;
		t->blocked = (old_mask | a.mask | (a.flags & SA_NODEFER ? 0 : BIT(signo))) &
			     ~UNBLOCKABLE;
		if (a.flags & SA_RESETHAND)
			*action(t->tg, signo) = (struct k_sigaction){0};
		recalc(t);
		pthread_mutex_unlock(&k->tasks_lock);

		settle_restart(t, &a);
		if (setup_frame(t, signo, &a, &info, old_mask)) {
			task_kill(t, SIGSEGV, "its stack cannot take a signal frame", t->regs.rsp);
			return;
		}
	}
}

void signal_force(struct task *t, int signo, int code, uint64_t addr, const char *why)
{
	struct kernel *k = t->k;
	const struct k_sigaction *a;
	bool fatal;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = signo;
	si.si_code = code;
	si.si_addr = (void *)addr;
	pthread_mutex_lock(&k->tasks_lock);
	a = action(t->tg, signo);
	/* Blocked or ignored, a fault is fatal all the same, as Linux's
	 * force_sig makes it. */
	fatal = a->handler == (uint64_t)SIG_DFL || a->handler == (uint64_t)SIG_IGN ||
		(t->blocked & BIT(signo)) || (t->pending.set & BIT(signo));
	if (!fatal) {
		t->pending.set |= BIT(signo);
		t->pending.info[signo - 1] = si;
		recalc(t);
	}
	pthread_mutex_unlock(&k->tasks_lock);
	if (fatal)
		task_kill(t, signo, why, addr);
}

void signal_exec_reset(struct task *t)
{
	struct kernel *k = t->k;
	struct sighand *sh = t->tg->sighand, *copy = NULL;

	pthread_mutex_lock(&k->tasks_lock);
	if (sh->refs > 1 && (copy = malloc(sizeof(*copy)))) {
		*copy = *sh;
		copy->refs = 1;
		sh->refs--;
		t->tg->sighand = sh = copy;
	}
	for (int i = 0; i < TASK_NSIG; i++) {
		if (sh->action[i].handler != (uint64_t)SIG_IGN)
			sh->action[i] = (struct k_sigaction){0};
	}
	t->altstack = (stack_t){.ss_flags = SS_DISABLE};
	pthread_mutex_unlock(&k->tasks_lock);
}

/* --- syscalls --- */

int64_t sys_rt_sigaction(struct task *t, const uint64_t a[6])
{
	int signo = (int)a[0];
	struct k_sigaction act, old;
	int err;

	if (signo < 1 || signo > TASK_NSIG || a[3] != 8)
		return -EINVAL;
	if (a[1]) {
		err = mm_copy_in(t->mm, &act, a[1], sizeof(act));
		if (err)
			return err;
		if (signo == SIGKILL || signo == SIGSTOP)
			return -EINVAL;
	}
	pthread_mutex_lock(&t->k->tasks_lock);
	old = *action(t->tg, signo);
	if (a[1]) {
		act.mask &= ~UNBLOCKABLE;
		*action(t->tg, signo) = act;
		/* Ignoring a pending signal discards it, everywhere in the group. */
		if (act.handler == (uint64_t)SIG_IGN ||
		    (act.handler == (uint64_t)SIG_DFL && default_action(signo) == ACT_IGNORE)) {
			pending_discard(t->k, &t->tg->shared, BIT(signo));
			for (struct task *u = t->tg->threads; u; u = u->group_next)
				pending_discard(t->k, &u->pending, BIT(signo));
		}
	}
	pthread_mutex_unlock(&t->k->tasks_lock);
	return a[2] ? mm_copy_out(t->mm, a[2], &old, sizeof(old)) : 0;
}

int64_t sys_rt_sigprocmask(struct task *t, const uint64_t a[6])
{
	uint64_t set = 0, old;
	int err;

	if (a[3] != 8)
		return -EINVAL;
	if (a[1]) {
		err = mm_copy_in(t->mm, &set, a[1], sizeof(set));
		if (err)
			return err;
		if (a[0] != SIG_BLOCK && a[0] != SIG_UNBLOCK && a[0] != SIG_SETMASK)
			return -EINVAL;
	}
	pthread_mutex_lock(&t->k->tasks_lock);
	old = t->blocked;
	if (a[1]) {
		if (a[0] == SIG_BLOCK)
			t->blocked |= set;
		else if (a[0] == SIG_UNBLOCK)
			t->blocked &= ~set;
		else
			t->blocked = set;
		t->blocked &= ~UNBLOCKABLE;
		recalc(t);
	}
	pthread_mutex_unlock(&t->k->tasks_lock);
	return a[2] ? mm_copy_out(t->mm, a[2], &old, sizeof(old)) : 0;
}

int64_t sys_rt_sigpending(struct task *t, const uint64_t a[6])
{
	uint64_t set;

	if (a[1] > 8)
		return -EINVAL;
	pthread_mutex_lock(&t->k->tasks_lock);
	set = (t->pending.set | t->tg->shared.set) & t->blocked;
	pthread_mutex_unlock(&t->k->tasks_lock);
	return mm_copy_out(t->mm, a[0], &set, a[1]);
}

int64_t sys_rt_sigreturn(struct task *t, const uint64_t a[6])
{
	struct abi_regs *r = &t->regs;
	unsigned char fx[PLATFORM_FPU_MAX];
	struct rt_sigframe f;
	struct k_sigcontext *sc = &f.uc.uc_mcontext;

	if (mm_copy_in(t->mm, &f, r->rsp - 8, sizeof(f))) {
		task_kill(t, SIGSEGV, "rt_sigreturn with no readable frame", r->rsp);
		return 0;
	}
	/* Everything below is the guest's to choose but the selectors and the
	 * privileged flags; the platform checks rip before it runs it. */
	r->r8 = sc->r8, r->r9 = sc->r9, r->r10 = sc->r10, r->r11 = sc->r11;
	r->r12 = sc->r12, r->r13 = sc->r13, r->r14 = sc->r14, r->r15 = sc->r15;
	r->rdi = sc->rdi, r->rsi = sc->rsi, r->rbp = sc->rbp, r->rbx = sc->rbx;
	r->rdx = sc->rdx, r->rax = sc->rax, r->rcx = sc->rcx, r->rsp = sc->rsp;
	r->rip = sc->rip;
	r->eflags = (r->eflags & ~FIX_EFLAGS) | (sc->eflags & FIX_EFLAGS);
	r->cs = ABI_USER_CS;
	r->ss = ABI_USER_SS;
	r->orig_rax = UINT64_MAX; /* no syscall to restart */
	if (sc->fpstate) {
		if (fpu_from_frame(t, sc->fpstate, fx) ||
		    (t->ctx->ops->set_fpu && t->ctx->ops->set_fpu(t->ctx, fx))) {
			task_kill(t, SIGSEGV, "rt_sigreturn with a bad FPU state", sc->fpstate);
			return 0;
		}
	}
	pthread_mutex_lock(&t->k->tasks_lock);
	t->blocked = f.uc.uc_sigmask & ~UNBLOCKABLE;
	recalc(t);
	pthread_mutex_unlock(&t->k->tasks_lock);
	return (int64_t)r->rax;
}

int64_t sys_sigaltstack(struct task *t, const uint64_t a[6])
{
	struct k_stack ss, old = {.ss_sp = (uint64_t)t->altstack.ss_sp,
				  .ss_flags = t->altstack.ss_flags,
				  .ss_size = t->altstack.ss_size};
	int err;

	if (on_altstack(t, t->regs.rsp))
		old.ss_flags = SS_ONSTACK;
	if (a[0]) {
		err = mm_copy_in(t->mm, &ss, a[0], sizeof(ss));
		if (err)
			return err;
		if (on_altstack(t, t->regs.rsp))
			return -EPERM;
		if ((uint32_t)ss.ss_flags & ~(uint32_t)(SS_DISABLE | ABI_SS_AUTODISARM))
			return -EINVAL;
		if (ss.ss_flags & SS_DISABLE) {
			t->altstack = (stack_t){.ss_flags = SS_DISABLE};
		} else {
			if (ss.ss_size < ABI_MINSIGSTKSZ)
				return -ENOMEM;
			t->altstack = (stack_t){.ss_sp = (void *)ss.ss_sp, .ss_flags = 0,
						.ss_size = ss.ss_size};
		}
	}
	return a[1] ? mm_copy_out(t->mm, a[1], &old, sizeof(old)) : 0;
}

/* kill(2) targets: a group, a process group, or everyone (-1). */
static int64_t kill_targets(struct task *t, int pid, int signo, const siginfo_t *si)
{
	struct kernel *k = t->k;
	int found = 0;

	if (pid > 0) {
		struct thread_group *tg = process_find_group(k, pid);

		if (!tg)
			return -ESRCH;
		return signal_send_group_locked(tg, signo, si);
	}
	for (int i = 1; i < KERNEL_MAX_PIDS; i++) {
		struct thread_group *tg = k->groups[i];

		if (!tg || tg->zombie)
			continue;
		if (pid == -1 ? (tg->tgid == 1 || tg == t->tg)
			      : tg->pgid != (pid == 0 ? t->tg->pgid : -pid))
			continue;
		found++;
		signal_send_group_locked(tg, signo, si);
	}
	return found ? 0 : -ESRCH;
}

static void user_info(struct task *t, siginfo_t *si, int signo, int code)
{
	memset(si, 0, sizeof(*si));
	si->si_signo = signo;
	si->si_code = code;
	si->si_pid = t->tg->tgid;
	si->si_uid = 0;
}

int64_t sys_kill(struct task *t, const uint64_t a[6])
{
	int signo = (int)a[1];
	siginfo_t si;
	int64_t r;

	if (signo < 0 || signo > TASK_NSIG)
		return -EINVAL;
	user_info(t, &si, signo, SI_USER);
	pthread_mutex_lock(&t->k->tasks_lock);
	r = kill_targets(t, (int)a[0], signo, &si);
	pthread_mutex_unlock(&t->k->tasks_lock);
	return r;
}

/* Send @si to thread @tid (of group @tgid if it is > 0). */
static int64_t send_thread(struct task *t, int tgid, int tid, const siginfo_t *si)
{
	struct task *u;
	int64_t r = 0;

	pthread_mutex_lock(&t->k->tasks_lock);
	u = process_find_task(t->k, tid);
	if (!u || (tgid > 0 && u->tg->tgid != tgid))
		r = -ESRCH;
	else if (!init_protected(u->tg, si->si_signo))
		r = signal_send_thread_locked(u, si->si_signo, si);
	pthread_mutex_unlock(&t->k->tasks_lock);
	return r;
}

static int64_t kill_thread(struct task *t, int tgid, int tid, int signo)
{
	siginfo_t si;

	if (signo < 0 || signo > TASK_NSIG || tid <= 0)
		return -EINVAL;
	user_info(t, &si, signo, SI_TKILL);
	return send_thread(t, tgid, tid, &si);
}

int64_t sys_tgkill(struct task *t, const uint64_t a[6])
{
	if ((int)a[0] <= 0)
		return -EINVAL;
	return kill_thread(t, (int)a[0], (int)a[1], (int)a[2]);
}

int64_t sys_tkill(struct task *t, const uint64_t a[6])
{
	return kill_thread(t, 0, (int)a[0], (int)a[1]);
}

/* The siginfo a sigqueue caller hands in.  Only the kernel may claim to
 * be the kernel or kill(2): a caller signalling another process must use
 * a negative si_code (SI_QUEUE and the like), as Linux requires. */
static int queue_info(struct task *t, int pid, int signo, uint64_t uinfo, siginfo_t *si)
{
	int err;

	if (signo < 0 || signo > TASK_NSIG)
		return -EINVAL;
	err = mm_copy_in(t->mm, si, uinfo, sizeof(*si));
	if (err)
		return err;
	if ((si->si_code >= 0 || si->si_code == SI_TKILL) && pid != t->tg->tgid)
		return -EPERM;
	si->si_signo = signo;
	return 0;
}

int64_t sys_rt_sigqueueinfo(struct task *t, const uint64_t a[6])
{
	siginfo_t si;
	int64_t r;
	int err = queue_info(t, (int)a[0], (int)a[1], a[2], &si);

	if (err)
		return err;
	if ((int)a[0] <= 0)
		return -ESRCH;
	pthread_mutex_lock(&t->k->tasks_lock);
	r = kill_targets(t, (int)a[0], (int)a[1], &si);
	pthread_mutex_unlock(&t->k->tasks_lock);
	return r;
}

int64_t sys_rt_tgsigqueueinfo(struct task *t, const uint64_t a[6])
{
	siginfo_t si;
	int err;

	if ((int)a[0] <= 0 || (int)a[1] <= 0)
		return -EINVAL;
	err = queue_info(t, (int)a[0], (int)a[2], a[3], &si);
	return err ? err : send_thread(t, (int)a[0], (int)a[1], &si);
}

/* --- waiting for signals and time --- */

int64_t sys_pause(struct task *t, const uint64_t a[6])
{
	struct kernel *k = t->k;

	pthread_mutex_lock(&k->tasks_lock);
	while (task_wait(t, &k->tasks_changed, &k->tasks_lock, NULL) != -ERESTARTSYS)
		;
	pthread_mutex_unlock(&k->tasks_lock);
	return -ERESTARTNOHAND;
}

int64_t sys_rt_sigsuspend(struct task *t, const uint64_t a[6])
{
	struct kernel *k = t->k;
	uint64_t mask;
	int err;

	if (a[1] != 8)
		return -EINVAL;
	err = mm_copy_in(t->mm, &mask, a[0], sizeof(mask));
	if (err)
		return err;
	pthread_mutex_lock(&k->tasks_lock);
	t->saved_mask = t->blocked;
	t->restore_mask = true;
	t->blocked = mask & ~UNBLOCKABLE;
	recalc(t);
	while (task_wait(t, &k->tasks_changed, &k->tasks_lock, NULL) != -ERESTARTSYS)
		;
	pthread_mutex_unlock(&k->tasks_lock);
	return -ERESTARTNOHAND;
}

/* An absolute CLOCK_MONOTONIC deadline @ts from now.  -EINVAL if bad. */
static int deadline_after(const struct timespec *ts, struct timespec *out)
{
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return -EINVAL;
	clock_gettime(CLOCK_MONOTONIC, out);
	out->tv_sec += ts->tv_sec;
	out->tv_nsec += ts->tv_nsec;
	if (out->tv_nsec >= 1000000000) {
		out->tv_sec++;
		out->tv_nsec -= 1000000000;
	}
	return 0;
}

int64_t sys_rt_sigtimedwait(struct task *t, const uint64_t a[6])
{
	struct kernel *k = t->k;
	struct timespec ts, deadline;
	uint64_t set, saved;
	siginfo_t si;
	int signo, err;

	if (a[3] != 8)
		return -EINVAL;
	err = mm_copy_in(t->mm, &set, a[0], sizeof(set));
	if (!err && a[2])
		err = mm_copy_in(t->mm, &ts, a[2], sizeof(ts));
	if (!err && a[2])
		err = deadline_after(&ts, &deadline);
	if (err)
		return err;
	set &= ~UNBLOCKABLE;
	pthread_mutex_lock(&k->tasks_lock);
	saved = t->blocked;
	for (;;) {
		signo = dequeue(t, set, &si);
		if (signo || t->killed)
			break;
		/* Waiting unblocks @set, so that its signals wake us (and
		 * sigwait_set keeps them from counting as unblocked). */
		t->blocked = saved & ~set;
		t->sigwait_set = set;
		recalc(t);
		err = task_wait(t, &k->tasks_changed, &k->tasks_lock, a[2] ? &deadline : NULL);
		t->blocked = saved;
		t->sigwait_set = 0;
		if (err == -ETIMEDOUT || (err == -ERESTARTSYS && !((t->pending.set | t->tg->shared.set) & set)))
			break;
	}
	recalc(t);
	pthread_mutex_unlock(&k->tasks_lock);
	if (!signo)
		return err == -ETIMEDOUT ? -EAGAIN : -EINTR;
	if (a[1] && mm_copy_out(t->mm, a[1], &si, sizeof(si)))
		return -EFAULT;
	return signo;
}

/* Sleep until the absolute CLOCK_MONOTONIC @deadline, or a signal. */
static int sleep_until(struct task *t, const struct timespec *deadline)
{
	struct kernel *k = t->k;
	int err;

	pthread_mutex_lock(&k->tasks_lock);
	do
		err = task_wait(t, &k->tasks_changed, &k->tasks_lock, deadline);
	while (err == 0);
	pthread_mutex_unlock(&k->tasks_lock);
	return err == -ETIMEDOUT ? 0 : -EINTR;
}

static void remaining(const struct timespec *deadline, struct timespec *rem)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	rem->tv_sec = deadline->tv_sec - now.tv_sec;
	rem->tv_nsec = deadline->tv_nsec - now.tv_nsec;
	if (rem->tv_nsec < 0) {
		rem->tv_sec--;
		rem->tv_nsec += 1000000000;
	}
	if (rem->tv_sec < 0)
		*rem = (struct timespec){0, 0};
}

int64_t sys_nanosleep(struct task *t, const uint64_t a[6])
{
	struct timespec req, deadline, rem;
	int err = mm_copy_in(t->mm, &req, a[0], sizeof(req));

	if (!err)
		err = deadline_after(&req, &deadline);
	if (err)
		return err;
	err = sleep_until(t, &deadline);
	if (err && a[1]) {
		remaining(&deadline, &rem);
		if (mm_copy_out(t->mm, a[1], &rem, sizeof(rem)))
			return -EFAULT;
	}
	return err;
}

int64_t sys_clock_nanosleep(struct task *t, const uint64_t a[6])
{
	struct timespec req, deadline, rem, now_clock, now_mono;
	int err;

	if (a[0] != CLOCK_REALTIME && a[0] != CLOCK_MONOTONIC && a[0] != CLOCK_BOOTTIME)
		return -EINVAL; /* CPU-time clocks cannot be slept on here */
	if (a[1] & ~(uint64_t)TIMER_ABSTIME)
		return -EINVAL;
	err = mm_copy_in(t->mm, &req, a[2], sizeof(req));
	if (err)
		return err;
	if (a[1] & TIMER_ABSTIME) {
		/* Turn the absolute time on @clock into one on CLOCK_MONOTONIC. */
		struct timespec rel;

		if (req.tv_nsec < 0 || req.tv_nsec >= 1000000000)
			return -EINVAL;
		clock_gettime((clockid_t)a[0], &now_clock);
		clock_gettime(CLOCK_MONOTONIC, &now_mono);
		rel.tv_sec = req.tv_sec - now_clock.tv_sec;
		rel.tv_nsec = req.tv_nsec - now_clock.tv_nsec;
		if (rel.tv_nsec < 0) {
			rel.tv_sec--;
			rel.tv_nsec += 1000000000;
		}
		if (rel.tv_sec < 0)
			return 0;
		err = deadline_after(&rel, &deadline);
	} else {
		err = deadline_after(&req, &deadline);
	}
	if (err)
		return err;
	err = sleep_until(t, &deadline);
	if (err && a[3] && !(a[1] & TIMER_ABSTIME)) {
		remaining(&deadline, &rem);
		if (mm_copy_out(t->mm, a[3], &rem, sizeof(rem)))
			return -EFAULT;
	}
	return err;
}

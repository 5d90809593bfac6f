/*
 * kernel/signal.h - signals: sending, delivery with real frames, return.
 *
 * A signal sent to a thread group (kill) is pending on the group until a
 * thread that does not block it takes it; one sent to a task (tgkill, a
 * fault) is pending on that task.  Signals below SIGRTMIN are not queued
 * (a second one while the first is pending is merged with it); real-time
 * signals queue, each with its siginfo, up to RLIMIT_SIGPENDING.
 *
 * Delivery happens on the way back to guest code (task_run calls
 * signal_deliver): a handled signal gets an x86-64 rt_sigframe (siginfo,
 * ucontext, and the FPU state as an XSAVE image, platform/fpu.h) on the
 * task's stack or alternate stack, and the handler runs; rt_sigreturn restores what the
 * frame holds, checked, since the guest may have rewritten it.  A signal
 * without a handler takes its default action: ignore, terminate or
 * (core-dumping signals) terminate; stop signals are ignored (no job
 * A stop signal's default action stops the whole process: its tasks park
 * in signal_deliver, off their vCPUs, until SIGCONT (or SIGKILL); the
 * parent hears of both (SIGCHLD with CLD_STOPPED / CLD_CONTINUED, unless
 * SA_NOCLDSTOP; wait's WUNTRACED / WCONTINUED).  A syscall a signal
 * interrupted is restarted or fails with EINTR by Linux's rules
 * (ERESTARTSYS and SA_RESTART).
 *
 * The sandbox's first process (pid 1) is protected as a pid namespace's
 * init is: a signal it has no handler for (and does not block), and
 * SIGKILL and SIGSTOP, are dropped, whoever sends them.
 *
 * Locking: kernel.tasks_lock (see task.h).
 */
#ifndef KSENTRY_KERNEL_SIGNAL_H
#define KSENTRY_KERNEL_SIGNAL_H

#include "kernel/task.h"

/* Deliver what is due to @t before it runs guest code again; end it if it
 * was killed.  On its own thread. */
void signal_deliver(struct task *t);

/*
 * A signal @t caused (a fault, an exception): delivered to its handler if
 * it has one it does not block, else fatal, with @why on stderr.
 */
void signal_force(struct task *t, int signo, int code, uint64_t addr, const char *why);

/* Make @signo pending on group @tg / task @t with @info (NULL: SI_KERNEL)
 * and wake a task that can take it.  0, or -EAGAIN for a real-time signal
 * from sigqueue that found the queue full.  tasks_lock held. */
int signal_send_group_locked(struct thread_group *tg, int signo, const siginfo_t *info);
int signal_send_thread_locked(struct task *t, int signo, const siginfo_t *info);
/* Drop everything pending in @p (a task or group going away).  tasks_lock
 * held. */
void signal_pending_clear(struct kernel *k, struct sigpending *p);

/* ppoll/pselect: block @mask until the syscall returns (restored then, or
 * after the handler a signal brings runs, as sigsuspend does). */
void signal_set_temporary_mask(struct task *t, uint64_t mask);

/* Send @signo to @t from the kernel (SIGPIPE). */
void signal_raise(struct task *t, int signo);

/* Wake @t to look at its signals; tasks_lock held (kernel/process.c). */
void signal_interrupt_locked(struct task *t);

/* execve: handlers back to SIG_DFL (SIG_IGN stays), no alternate stack,
 * dispositions no longer shared. */
void signal_exec_reset(struct task *t);

/* futex: wake up to @n waiters on @addr in @t's address space (used for
 * CLONE_CHILD_CLEARTID).  Returns how many woke. */
int futex_wake_address(struct task *t, uint64_t addr, int n);

/* @t exits: every robust futex it holds is marked FUTEX_OWNER_DIED and a
 * waiter woken, as Linux's exit_robust_list. */
void futex_exit_robust(struct task *t);

#endif

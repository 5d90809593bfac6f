/*
 * kernel/task.h - tasks (guest threads) and thread groups (processes).
 *
 * A task is one guest thread, run by one host thread: it runs its guest
 * code through a platform context, and between runs it is ordinary C on
 * its host thread, which is where its syscalls, faults and signals are
 * served.  A thread group is a process: the tasks that share a pid
 * (CLONE_THREAD), their signal handlers and process-wide pending signals,
 * their parent and children, and the exit status that wait(2) reaps.
 *
 * Life of a task: task_create() makes the first task of a sandbox on the
 * calling thread; clone() (kernel/process.c) makes the others, each on a
 * new host thread.  task_run() runs it until it exits; then the thread
 * that ran it calls task_destroy().  A thread group lives while it has
 * tasks, then as a zombie until its parent reaps it (or, parentless, until
 * the kernel goes).
 *
 * Blocking.  A task that blocks in the sentry waits on a condition
 * variable with task_wait(), which a signal for the task also wakes: the
 * caller then returns -EINTR or -ERESTARTSYS and the signal is delivered
 * on the way back to the guest.  task_current() is the task the calling
 * host thread runs, for code (file operations) that is not handed one.
 *
 * Locking: kernel.tasks_lock protects the pid table, every thread group's
 * fields, and every task's signal state (blocked, pending, altstack) and
 * group links.  task.wake_lock protects the wait registration.  Lock
 * order: tasks_lock -> wake_lock; an object's lock held across
 * task_wait() comes before both.
 */
#ifndef KSENTRY_KERNEL_TASK_H
#define KSENTRY_KERNEL_TASK_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <time.h>

#include "abi/regs.h"
#include "kernel/kernel.h"
#include "kernel/mm.h"
#include "kernel/vfs/fdtable.h"
#include "kernel/vfs/ops.h"

#define TASK_NSIG 64 /* signals 1..64 */
#define TASK_SIGRTMIN 32 /* the kernel's; libcs keep 32-34 for themselves */
/* Real-time signals queued in one sandbox, whatever RLIMIT_SIGPENDING the
 * guest sets itself: each is sentry memory. */
#define TASK_SIGQUEUE_MAX 16384

/* Signals pending on a task or on its group: a bit per number and what
 * the first one sent carries.  A real-time signal sent while its number
 * is pending queues behind it, oldest first, as long as the sandbox has
 * fewer real-time signals pending than the sender's RLIMIT_SIGPENDING
 * (kernel.nr_sigqueued); a standard one is merged with the one pending. */
struct sigqueue_entry {
	struct sigqueue_entry *next;
	siginfo_t info;
};

struct sigpending {
	uint64_t set;
	uint64_t charged;			 /* info[] counts in nr_sigqueued */
	siginfo_t info[TASK_NSIG];		 /* [signo - 1] */
	struct sigqueue_entry *more[TASK_NSIG]; /* real-time only */
	struct sigqueue_entry *last[TASK_NSIG]; /* the newest in more[] */
};

/* Linux's syscall-restart codes: never seen by the guest. */
#define ERESTARTSYS	      512 /* restart if SA_RESTART, else EINTR */
#define ERESTARTNOINTR	      513 /* always restart */
#define ERESTARTNOHAND	      514 /* restart if no handler runs, else EINTR */

/* struct sigaction as rt_sigaction(2) passes it on x86-64. */
struct k_sigaction {
	uint64_t handler; /* SIG_DFL (0), SIG_IGN (1) or an address */
	uint64_t flags;   /* SA_* */
	uint64_t restorer;
	uint64_t mask;    /* blocked while the handler runs */
};

/* Signal dispositions, shared by CLONE_SIGHAND tasks. */
struct sighand {
	int refs;			      /* tasks_lock */
	struct k_sigaction action[TASK_NSIG]; /* [signo - 1]; tasks_lock */
};

struct thread_group {
	struct kernel *k;
	int tgid;
	uint64_t serial;	       /* unique for the kernel's life (timers) */
	struct thread_group *parent;   /* NULL for the sandbox's first process */
	struct thread_group *children; /* first child; then child->sibling */
	struct thread_group *sibling;
	struct task *threads;	       /* live tasks, linked by task.group_next */
	int nr_threads;
	struct sighand *sighand;
	struct sigpending shared;	  /* kill(2)'s signals, for any thread */
	int exit_signal;		  /* sent to the parent at exit (SIGCHLD) */
	bool exiting;			  /* exit_group or a fatal signal: all go */
	int exit_status;		  /* wait status, once exiting */
	bool zombie;			  /* no tasks left; waiting to be reaped */
	bool stopped;			  /* by a stop signal, until SIGCONT */
	int stop_signo;
	bool stop_reported;		  /* wait(WUNTRACED) has seen this stop */
	bool continued;			  /* for wait(WCONTINUED), until seen */
	int pgid, sid;
	struct timespec start_time;
};

struct task {
	struct kernel *k;
	struct thread_group *tg;
	struct task *group_next; /* in tg->threads; tasks_lock */
	struct mm *mm;		 /* shared by CLONE_VM tasks */
	struct platform_context *ctx;
	struct abi_regs regs;
	pthread_t thread;
	pid_t host_tid; /* of @thread, once it runs: sched_setaffinity pins it */

	int tid;
	uint64_t syscall_seq;	  /* the number of the syscall being served (kernel.syscall_seq) */
	uint64_t clear_child_tid; /* set_tid_address, CLONE_CHILD_CLEARTID */
	uint64_t robust_list;	  /* set_robust_list head */
	struct rlimit rlimits[RLIM_NLIMITS];
	struct fd_table *fds;	  /* shared by CLONE_FILES tasks */
	struct vfs_ctx fs;	  /* namespace, root, umask */
	struct vfs_path cwd;
	char exe[PATH_MAX];	  /* what /proc/self/exe names */
	char *cmdline, *environ;  /* NUL-separated copies from exec, for /proc */
	size_t cmdline_len, environ_len;

	/* Signals; tasks_lock. */
	uint64_t blocked;
	struct sigpending pending;
	uint64_t sigwait_set;	  /* rt_sigtimedwait is waiting for these */
	uint64_t saved_mask;	  /* sigsuspend: restored after the handler */
	bool restore_mask;
	stack_t altstack;
	bool killed;		  /* must exit now: SIGKILL, exit_group, execve */

	/* Waking a blocked task; wake_lock. */
	pthread_mutex_t wake_lock;
	pthread_cond_t *wait_cond;
	pthread_mutex_t *wait_mutex;
	int interrupt;		  /* atomic: look at signals before blocking again */

	/* vfork: the parent waits until this task execs or exits. */
	struct task *vfork_parent; /* tasks_lock */
	bool vfork_done;	   /* in the parent; tasks_lock */

	bool exited;		  /* the task is done; wait_status says how */
	int wait_status;	  /* the group's, as wait(2) encodes it */
	bool restart_syscall;	  /* the last syscall returned -ERESTART* */
	bool counted;		  /* in kernel.nr_task_structs */

	/* Fault loop guard: the last fault the sentry "fixed". */
	uint64_t last_fault_rip, last_fault_addr;
	int last_fault_access;
};

/* The task the calling host thread runs, or NULL. */
struct task *task_current(void);

/* Make the first task of a sandbox (a new thread group without a parent)
 * with an empty address space, on the calling thread, which must be the
 * thread that will run it.  0 or a negative errno. */
int task_create(struct kernel *k, struct task **out);

/* Free @t once it has run to its end (or never ran), on its thread. */
void task_destroy(struct task *t);
/* Replace *@slot (the task's cwd or root) with @p, which it takes; the
 * old path is put.  Safe against /proc/PID readers of other tasks. */
void task_set_path(struct task *t, struct vfs_path *slot, struct vfs_path p);

/* Run @t until it exits.  Returns its group's wait status. */
int task_run(struct task *t);

/* exit(2): end this task; the last one out ends the group with @code. */
void task_exit(struct task *t, int code);

/* exit_group(2) and fatal signals: end every task of @t's group, which
 * exits with wait status @status. */
void task_exit_group(struct task *t, int status);

/* End @t's group as if killed by @signo, saying why on stderr. */
void task_kill(struct task *t, int signo, const char *why, uint64_t addr);

/* Initialise @c for task_wait: its deadlines are CLOCK_MONOTONIC. */
void task_cond_init(pthread_cond_t *c);

/* A deadline for task_wait: CLOCK_MONOTONIC now plus @ms. */
struct timespec task_deadline_ms(unsigned ms);

/*
 * Wait on @c with @m (held by the caller, as for pthread_cond_wait) until
 * woken, until the optional absolute CLOCK_MONOTONIC @deadline, or until a
 * signal for @t arrives.  Returns 0 (woken: check the condition again),
 * -ETIMEDOUT, or -ERESTARTSYS (a signal is pending: unwind and return it).
 * @t NULL (not a task's thread) waits plainly.
 */
int task_wait(struct task *t, pthread_cond_t *c, pthread_mutex_t *m,
	      const struct timespec *deadline);

/*
 * task_wait, after spinning up to TASK_SPIN_NS with @m dropped while
 * @ready(@arg) says no: a hand-off between two host threads through a
 * condition variable costs ~30 us here (the sleeper's CPU must be woken,
 * an IPI through the nested hypervisor), a spin ~0.5 us.  For waits whose
 * answer usually comes within tens of microseconds from a thread on
 * another CPU (a FUSE request and its server).  At most one spinner per
 * CPU of the sandbox but one, none on a single CPU, so that the thread
 * that must answer always has a CPU.  @ready is called without @m and
 * must read what it looks at atomically.  *@spinners (if not NULL) counts
 * the waiters spinning now, under @m: a waker that sees one need not wake
 * a sleeper, which would wake for nothing.  Returns as task_wait (0:
 * check the condition again).
 */
int task_wait_spin(struct task *t, pthread_cond_t *c, pthread_mutex_t *m,
		   const struct timespec *deadline, bool (*ready)(void *), void *arg,
		   unsigned *spinners);

#define TASK_SPIN_NS 150000

/* Is a signal pending for @t that it does not block (or must it exit)? */
bool task_signal_pending(struct task *t);

/* Wake @t from task_wait() and from guest code, to look at its signals. */
void task_interrupt(struct task *t);

#endif

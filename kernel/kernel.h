/*
 * kernel/kernel.h - the sentry: one per sandbox.
 *
 * struct kernel holds what every task of a sandbox shares: the memory file
 * and its accounting, the execution platform, the mount namespace, the
 * host's stdio (which the first task gets as fds 0-2), and the options
 * that change how syscalls are reported (--strace).  It outlives every
 * task.
 */
#ifndef KSENTRY_KERNEL_KERNEL_H
#define KSENTRY_KERNEL_KERNEL_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <pthread.h>
#include <sched.h>

#include "kernel/mm.h"
#include "platform/memacct.h"
#include "platform/memfile.h"
#include "platform/platform.h"
#include "kernel/vfs/vfs.h"

struct task;
struct kernel;
struct vdso;

/*
 * File systems the kernel does not know itself (FUSE, from fuse/): the
 * layering keeps kernel/ ignorant of them, and vmm/ wires them in.
 */
struct kernel_fs_hooks {
	/* open(2) of /dev/fuse: make @f a new connection's device file. */
	int (*dev_fuse_open)(struct kernel *k, struct vfs_file *f, int flags);
	/* mount(2) of @type with options @data: 0 with *@out, or -ENODEV if
	 * the type is not theirs, or another errno. */
	int (*mount)(struct task *t, const char *type, const char *data, struct vfs_fs **out);
	/* umount of a file system they made is fs->destroy, as for any. */
};

struct kernel {
	struct memfile *mf;
	struct memacct *acct;
	struct platform *platform;
	struct vfs vfs;     /* the sandbox's mount namespace */
	int host_stdio[3];  /* host fds behind the first task's fds 0, 1, 2 */
	FILE *strace;       /* where --strace lines go, or NULL */
	struct timespec boot_time; /* CLOCK_MONOTONIC at start, for uptime */
	cpu_set_t cpus;            /* the host CPUs the sandbox may use (its affinity at start) */
	unsigned spin_max;         /* task_wait_spin's spinners at most: CPUs - 1 */
	unsigned spinning;         /* task_wait_spin's spinners now; atomic */
	struct mm_frames frames;   /* owners of frames that fork shares */

	/* Tasks and processes; see kernel/task.h for what tasks_lock covers. */
	pthread_mutex_t tasks_lock;
	pthread_cond_t tasks_changed;	  /* a task ended, a group became a zombie */
	struct task **tasks;		  /* pid -> live task; tasks_lock */
	struct thread_group **groups;	  /* tgid -> live or zombie group; tasks_lock */
	int next_pid;			  /* where the pid search starts; tasks_lock */
	int nr_tasks;			  /* live tasks; tasks_lock */
	int nr_task_structs;		  /* tasks not yet freed (task_destroy); tasks_lock */
	long nr_sigqueued;		  /* real-time signals queued behind one; tasks_lock */
	int max_tasks;			  /* --max-tasks: clone past it is EAGAIN */
	const struct kernel_fs_hooks *fs_hooks; /* set once, before the first task */
	const void *fs_hooks_priv;		/* theirs (fuse: struct fuse_config) */
	struct task *init;		  /* the first task (pid 1), while it lives */

	uint64_t next_serial;		  /* thread_group.serial; tasks_lock */

	pthread_mutex_t timer_lock;	  /* protects the timer fields below */
	pthread_cond_t timer_cond;	  /* the timer list changed */
	struct ktimer *timers;
	pthread_t timer_thread;
	bool timer_thread_running, timer_stop;

	_Atomic uint64_t *syscall_counts; /* per syscall number, for --stats; or NULL */
	/* FUSE requests sent, by opcode (KERNEL_FUSE_OPS: the last counts
	 * every larger one), for --stats; or NULL. */
	_Atomic uint64_t *fuse_counts;
	_Atomic uint64_t syscall_seq;	  /* syscalls so far: each gets a number (task.syscall_seq) */

	struct vdso *vdso;		  /* kernel/vdso.h; NULL: none */

	pthread_mutex_t futex_lock;	  /* protects futex_waiters */
	struct futex_waiter *futex_waiters;
};

#define KERNEL_FUSE_OPS 64
#define KERNEL_MAX_PIDS 32768 /* pids are 1 .. KERNEL_MAX_PIDS - 1, as Linux's default */

/*
 * Set up @k over memory file @mf (charging @acct) running guests on
 * @platform.  The root file system is host directory @host_root, read-only,
 * under a tmpfs overlay that takes every write, with a fresh tmpfs on /tmp; or, if @host_root is NULL, an empty
 * tmpfs with /tmp, /etc, /home and /root.  Either way devfs is mounted on
 * /dev and procfs on /proc (where those directories exist).  Host stdio
 * starts unset (-1).  0 or a negative errno.
 */
int kernel_init(struct kernel *k, struct memfile *mf, struct memacct *acct,
		struct platform *platform, const char *host_root);

/* --mount HOST:GUEST[:ro|rw]: host directory @host_dir at @guest_dir
 * (made if missing), read-only unless @rw.  0 or -errno. */
int kernel_mount_host(struct kernel *k, const char *host_dir, const char *guest_dir, bool rw);

/* --tmpfs GUEST: a fresh tmpfs at @guest_dir, made if missing. */
int kernel_mount_tmpfs(struct kernel *k, const char *guest_dir);

/* Kill every task but the caller's and wait until they are gone (the
 * first process has exited: the sandbox ends, as a pid namespace does
 * when its init dies). */
void kernel_kill_all(struct kernel *k, struct task *self);

/* Tear down what kernel_init() built; every task must be gone. */
void kernel_destroy(struct kernel *k);

#endif

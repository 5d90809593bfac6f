/*
 * kernel/sys_process.c - identity, limits, time and randomness.
 *
 * The sandbox is single-user: the guest is uid 0 inside, which gives it no
 * power outside (it never makes a host syscall).  Processes and their
 * ids are in kernel/process.c.
 */
#include <string.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>

#include "kernel/process.h"
#include "kernel/syscall.h"
#include "kernel/vdso.h"

int64_t sys_exit(struct task *t, const uint64_t a[6])
{
	task_exit(t, (int)a[0]);
	return 0;
}

int64_t sys_exit_group(struct task *t, const uint64_t a[6])
{
	task_exit_group(t, ((int)a[0] & 0xff) << 8);
	return 0;
}

int64_t sys_getpid(struct task *t, const uint64_t a[6])
{
	return t->tg->tgid;
}

int64_t sys_gettid(struct task *t, const uint64_t a[6])
{
	return t->tid;
}

int64_t sys_getuid(struct task *t, const uint64_t a[6])
{
	return 0;
}

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

int64_t sys_arch_prctl(struct task *t, const uint64_t a[6])
{
	uint64_t *base;

	switch (a[0]) {
	case ARCH_SET_FS:
	case ARCH_SET_GS:
		/* Linux refuses bases outside the user half. */
		if (a[1] >= PLATFORM_USER_END)
			return -EPERM;
		base = a[0] == ARCH_SET_FS ? &t->regs.fs_base : &t->regs.gs_base;
		*base = a[1];
		return 0;
	case ARCH_GET_FS:
		return mm_copy_out(t->mm, a[1], &t->regs.fs_base, sizeof(uint64_t));
	case ARCH_GET_GS:
		return mm_copy_out(t->mm, a[1], &t->regs.gs_base, sizeof(uint64_t));
	default:
		return -EINVAL;
	}
}

int64_t sys_set_tid_address(struct task *t, const uint64_t a[6])
{
	t->clear_child_tid = a[0];
	return t->tid;
}

int64_t sys_set_robust_list(struct task *t, const uint64_t a[6])
{
	if (a[1] != 24) /* sizeof(struct robust_list_head) */
		return -EINVAL;
	t->robust_list = a[0];
	return 0;
}

int64_t sys_get_robust_list(struct task *t, const uint64_t a[6])
{
	const uint64_t len = 24;
	uint64_t head = t->robust_list;

	if (a[0] && (int)a[0] != t->tid) {
		struct task *u;

		pthread_mutex_lock(&t->k->tasks_lock);
		u = process_find_task(t->k, (int)a[0]);
		head = u ? u->robust_list : 0;
		pthread_mutex_unlock(&t->k->tasks_lock);
		if (!u)
			return -ESRCH;
	}
	if (mm_copy_out(t->mm, a[1], &head, sizeof(head)) || mm_copy_out(t->mm, a[2], &len, sizeof(len)))
		return -EFAULT;
	return 0;
}

int64_t sys_uname(struct task *t, const uint64_t a[6])
{
	struct utsname u;

	memset(&u, 0, sizeof(u));
	strcpy(u.sysname, "Linux");
	strcpy(u.nodename, "ksentry");
	strcpy(u.release, "6.1.0-ksentry");
	strcpy(u.version, "#1 SMP ksentry " KSENTRY_VERSION);
	strcpy(u.machine, "x86_64");
	strcpy(u.domainname, "(none)");
	return mm_copy_out(t->mm, a[0], &u, sizeof(u));
}

/* --- resource limits --- */

static int64_t get_limit(struct task *t, unsigned res, uint64_t old)
{
	if (res >= RLIM_NLIMITS)
		return -EINVAL;
	return old ? mm_copy_out(t->mm, old, &t->rlimits[res], sizeof(struct rlimit)) : 0;
}

static int64_t set_limit(struct task *t, unsigned res, uint64_t new)
{
	struct rlimit r;
	int err;

	if (res >= RLIM_NLIMITS)
		return -EINVAL;
	err = mm_copy_in(t->mm, &r, new, sizeof(r));
	if (err)
		return err;
	if (r.rlim_cur > r.rlim_max)
		return -EINVAL;
	t->rlimits[res] = r;
	return 0;
}

int64_t sys_prlimit64(struct task *t, const uint64_t a[6])
{
	struct rlimit old;
	int64_t err;

	if ((int)a[0] != 0 && (int)a[0] != t->tg->tgid && (int)a[0] != t->tid)
		return -ESRCH; /* other processes' limits: not yet */
	if (a[1] >= RLIM_NLIMITS)
		return -EINVAL;
	old = t->rlimits[a[1]];
	if (a[2]) {
		err = set_limit(t, (unsigned)a[1], a[2]);
		if (err)
			return err;
	}
	return a[3] ? mm_copy_out(t->mm, a[3], &old, sizeof(old)) : 0;
}

int64_t sys_getrlimit(struct task *t, const uint64_t a[6])
{
	return get_limit(t, (unsigned)a[0], a[1]);
}

int64_t sys_setrlimit(struct task *t, const uint64_t a[6])
{
	return set_limit(t, (unsigned)a[0], a[1]);
}

/* --- time --- */

static int host_clock(uint64_t id, clockid_t *out)
{
	switch (id) {
	case CLOCK_REALTIME:
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		*out = (clockid_t)id;
		return 0;
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
		/* The task's CPU time is its host thread's. */
		*out = CLOCK_THREAD_CPUTIME_ID;
		return 0;
	default:
		return -EINVAL;
	}
}

int64_t sys_clock_gettime(struct task *t, const uint64_t a[6])
{
	struct timespec ts;
	clockid_t id;
	int err = host_clock(a[0], &id);

	if (err)
		return err;
	if (!vdso_clock(t->k, id, &ts)) /* as the vDSO would say, once it can */
		clock_gettime(id, &ts);
	return mm_copy_out(t->mm, a[1], &ts, sizeof(ts));
}

int64_t sys_clock_getres(struct task *t, const uint64_t a[6])
{
	struct timespec ts;
	clockid_t id;
	int err = host_clock(a[0], &id);

	if (err)
		return err;
	clock_getres(id, &ts);
	return a[1] ? mm_copy_out(t->mm, a[1], &ts, sizeof(ts)) : 0;
}

int64_t sys_gettimeofday(struct task *t, const uint64_t a[6])
{
	struct timespec ts;
	struct {
		int64_t sec, usec;
	} tv;
	int err = 0;

	if (!vdso_clock(t->k, CLOCK_REALTIME, &ts))
		clock_gettime(CLOCK_REALTIME, &ts);
	tv.sec = ts.tv_sec;
	tv.usec = ts.tv_nsec / 1000;
	if (a[0])
		err = mm_copy_out(t->mm, a[0], &tv, sizeof(tv));
	if (!err && a[1]) {
		const int32_t tz[2] = {0, 0};

		err = mm_copy_out(t->mm, a[1], tz, sizeof(tz));
	}
	return err;
}

int64_t sys_time(struct task *t, const uint64_t a[6])
{
	struct timespec ts;
	int64_t now;

	if (!vdso_clock(t->k, CLOCK_REALTIME, &ts))
		clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec;

	if (a[0] && mm_copy_out(t->mm, a[0], &now, sizeof(now)))
		return -EFAULT;
	return now;
}

int64_t sys_getrandom(struct task *t, const uint64_t a[6])
{
	unsigned char buf[256];
	uint64_t done = 0, len = a[1];

	if (a[2] & ~(uint64_t)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	if (len > 33554431) /* Linux caps one call at 32 MiB - 1 */
		len = 33554431;
	while (done < len) {
		size_t n = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		ssize_t got = getrandom(buf, n, 0);
		int err;

		if (got <= 0)
			return done ? (int64_t)done : -EIO;
		err = mm_copy_out(t->mm, a[0] + done, buf, (size_t)got);
		if (err)
			return done ? (int64_t)done : err;
		done += (uint64_t)got;
	}
	return (int64_t)done;
}

int64_t sys_sched_yield(struct task *t, const uint64_t a[6])
{
	return 0;
}

/* --- accounting and scheduling --- */

/* CPU time of the calling host thread, as the task's (user and system
 * are not told apart: the guest's and the sentry's time are one). */
static struct timeval thread_cpu_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (struct timeval){.tv_sec = ts.tv_sec, .tv_usec = ts.tv_nsec / 1000};
}

int64_t sys_getrusage(struct task *t, const uint64_t a[6])
{
	struct rusage ru;

	if ((int)a[0] != RUSAGE_SELF && (int)a[0] != RUSAGE_CHILDREN && (int)a[0] != RUSAGE_THREAD)
		return -EINVAL;
	memset(&ru, 0, sizeof(ru));
	if ((int)a[0] != RUSAGE_CHILDREN)
		ru.ru_utime = thread_cpu_time();
	return mm_copy_out(t->mm, a[1], &ru, sizeof(ru));
}

int64_t sys_times(struct task *t, const uint64_t a[6])
{
	struct timeval cpu = thread_cpu_time();
	struct timespec now;
	struct {
		int64_t utime, stime, cutime, cstime;
	} tms = {.utime = cpu.tv_sec * 100 + cpu.tv_usec / 10000};

	if (a[0] && mm_copy_out(t->mm, a[0], &tms, sizeof(tms)))
		return -EFAULT;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->k->boot_time.tv_sec) * 100 +
	       (now.tv_nsec - t->k->boot_time.tv_nsec) / 10000000;
}

int64_t sys_sysinfo(struct task *t, const uint64_t a[6])
{
	struct sysinfo si;
	struct timespec now;
	uint64_t used = memfile_allocated(t->k->mf);

	memset(&si, 0, sizeof(si));
	clock_gettime(CLOCK_MONOTONIC, &now);
	si.uptime = now.tv_sec - t->k->boot_time.tv_sec;
	si.totalram = t->k->mf->size;
	si.freeram = t->k->mf->size - used;
	pthread_mutex_lock(&t->k->tasks_lock);
	si.procs = (unsigned short)t->k->nr_tasks;
	pthread_mutex_unlock(&t->k->tasks_lock);
	si.mem_unit = 1;
	return mm_copy_out(t->mm, a[0], &si, sizeof(si));
}

/*
 * sched_setaffinity (@set) or sched_getaffinity (@get) on the host thread
 * behind task @pid (0: the caller): tasks are host threads, so a task's
 * CPUs are its thread's.  Another task's is asked under tasks_lock, which
 * its exit takes before its thread can end: its host tid cannot have been
 * given to another thread meanwhile.  Returns 0, -ESRCH or -EINVAL.
 */
static int task_affinity(struct task *t, uint64_t pid, const cpu_set_t *set, cpu_set_t *get)
{
	struct task *u;
	pid_t host = 0;
	int r;

	if ((int)pid < 0)
		return -ESRCH;
	if (pid && (int)pid != t->tid) {
		pthread_mutex_lock(&t->k->tasks_lock);
		u = process_find_task(t->k, (int)pid);
		host = u ? u->host_tid : 0;
		if (host <= 0) {
			pthread_mutex_unlock(&t->k->tasks_lock);
			return -ESRCH;
		}
	}
	if (set && CPU_COUNT(set) == 0)
		r = -EINVAL; /* after the task was found, as Linux's order */
	else if (set ? sched_setaffinity(host, sizeof(*set), set)
		     : sched_getaffinity(host, sizeof(*get), get))
		r = errno == ESRCH ? -ESRCH : -EINVAL;
	else
		r = 0;
	if (host)
		pthread_mutex_unlock(&t->k->tasks_lock);
	return r;
}

/* A task's CPUs: its host thread's, which are the sandbox's (the host's
 * affinity at start) unless sched_setaffinity narrowed them. */
int64_t sys_sched_getaffinity(struct task *t, const uint64_t a[6])
{
	cpu_set_t set;
	size_t len = a[1] < sizeof(set) ? (size_t)a[1] : sizeof(set);
	int err;

	if (a[1] < sizeof(unsigned long) || (a[1] & (sizeof(unsigned long) - 1)))
		return -EINVAL;
	err = task_affinity(t, a[0], NULL, &set);
	if (err)
		return err;
	if (mm_copy_out(t->mm, a[2], &set, len))
		return -EFAULT;
	return (int64_t)len;
}

/* Pin a task's host thread to the CPUs asked for, of the sandbox's: as
 * Linux's, a mask shorter than the kernel's reads as zeros past its end,
 * longer is cut, and one without a CPU of the sandbox is EINVAL. */
int64_t sys_sched_setaffinity(struct task *t, const uint64_t a[6])
{
	cpu_set_t want, set;
	size_t len = a[1] < sizeof(want) ? (size_t)a[1] : sizeof(want);

	CPU_ZERO(&want);
	if (mm_copy_in(t->mm, &want, a[2], len))
		return -EFAULT;
	CPU_AND(&set, &want, &t->k->cpus);
	return task_affinity(t, a[0], &set, NULL);
}

int64_t sys_getcpu(struct task *t, const uint64_t a[6])
{
	unsigned cpu = (unsigned)sched_getcpu(), node = 0;

	if (a[0] && mm_copy_out(t->mm, a[0], &cpu, sizeof(cpu)))
		return -EFAULT;
	if (a[1] && mm_copy_out(t->mm, a[1], &node, sizeof(node)))
		return -EFAULT;
	return 0;
}

/* --- credentials: one user, root inside, nobody outside --- */

/* The ids a task may take: root may take any, and everyone is root.
 * The values are not kept: every id reads as 0 (documented). */
static int64_t id_ok(uint64_t id)
{
	return (uint32_t)id == UINT32_MAX || (uint32_t)id < (1u << 31) ? 0 : -EINVAL;
}

int64_t sys_setuid(struct task *t, const uint64_t a[6])
{
	return id_ok(a[0]);
}

int64_t sys_setresuid(struct task *t, const uint64_t a[6])
{
	return id_ok(a[0]) ? -EINVAL : id_ok(a[1]) ? -EINVAL : id_ok(a[2]);
}

int64_t sys_setreuid(struct task *t, const uint64_t a[6])
{
	return id_ok(a[0]) ? -EINVAL : id_ok(a[1]);
}

int64_t sys_getresuid(struct task *t, const uint64_t a[6])
{
	const uint32_t zero = 0;

	for (int i = 0; i < 3; i++)
		if (mm_copy_out(t->mm, a[i], &zero, sizeof(zero)))
			return -EFAULT;
	return 0;
}

int64_t sys_getgroups(struct task *t, const uint64_t a[6])
{
	return 0; /* no supplementary groups */
}

int64_t sys_setgroups(struct task *t, const uint64_t a[6])
{
	return a[0] > 65536 ? -EINVAL : 0;
}

/*
 * kernel/timer.c - interval timers: alarm, setitimer(ITIMER_REAL),
 * getitimer and the POSIX timers (timer_create and friends).
 *
 * Every armed timer of a kernel sits on one list, served by one host
 * thread, started with the first timer: it sleeps until the earliest
 * expiry (CLOCK_MONOTONIC; a CLOCK_REALTIME timer is converted when it is
 * armed, so setting the host's clock later does not move it), and sends
 * each expired timer's signal, re-arming periodic ones and counting the
 * periods it missed as overruns.
 *
 * A timer names its process by tgid and by the group's serial number, not
 * by pointer, so the timer thread can send its signal after dropping
 * timer_lock: a process that ended meanwhile (or whose pid was reused) is
 * simply not found.  A process's timers go when it ends.  Up to TIMER_MAX
 * POSIX timers per process.
 *
 * Lock order: tasks_lock -> timer_lock (timer_group_exit); the timer
 * thread never holds both.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "kernel/process.h"
#include "kernel/signal.h"
#include "kernel/syscall.h"
#include "kernel/timer.h"

#define TIMER_MAX  32
#define ITIMER_ID  -1 /* the id of a process's ITIMER_REAL */
#define NS	   1000000000L

struct ktimer {
	int tgid;
	uint64_t serial;	  /* the group's, at creation */
	int id;			  /* POSIX timer id, or ITIMER_ID */
	int tid;		  /* SIGEV_THREAD_ID target, else 0 */
	int signo;		  /* 0: SIGEV_NONE */
	union sigval value;
	clockid_t clock;
	struct timespec expiry;	  /* CLOCK_MONOTONIC; {0, 0}: disarmed */
	struct timespec interval;
	int overrun;		  /* of the last expiry that was signalled */
	struct ktimer *next;
};

static bool ts_zero(struct timespec a)
{
	return a.tv_sec == 0 && a.tv_nsec == 0;
}

static bool ts_before(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static struct timespec ts_add(struct timespec a, struct timespec b)
{
	a.tv_sec += b.tv_sec;
	a.tv_nsec += b.tv_nsec;
	if (a.tv_nsec >= NS) {
		a.tv_sec++;
		a.tv_nsec -= NS;
	}
	return a;
}

static struct timespec ts_sub(struct timespec a, struct timespec b)
{
	a.tv_sec -= b.tv_sec;
	a.tv_nsec -= b.tv_nsec;
	if (a.tv_nsec < 0) {
		a.tv_sec--;
		a.tv_nsec += NS;
	}
	if (a.tv_sec < 0)
		a = (struct timespec){0, 0};
	return a;
}

static struct timespec mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

static bool ts_valid(struct timespec a)
{
	return a.tv_sec >= 0 && a.tv_nsec >= 0 && a.tv_nsec < NS;
}

/* --- the timer thread --- */

/* Send @tm's signal; the group may be gone.  No lock held. */
static void fire(struct kernel *k, const struct ktimer *tm)
{
	struct thread_group *tg;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = tm->signo;
	if (tm->id == ITIMER_ID) {
		si.si_code = SI_KERNEL;
	} else {
		si.si_code = SI_TIMER;
		si.si_timerid = tm->id;
		si.si_overrun = tm->overrun;
		si.si_value = tm->value;
	}
	pthread_mutex_lock(&k->tasks_lock);
	tg = process_find_group(k, tm->tgid);
	if (tg && tg->serial == tm->serial) {
		struct task *t = tm->tid ? process_find_task(k, tm->tid) : NULL;

		if (t && t->tg == tg)
			signal_send_thread_locked(t, tm->signo, &si);
		else
			signal_send_group_locked(tg, tm->signo, &si);
	}
	pthread_mutex_unlock(&k->tasks_lock);
}

static void *timer_thread(void *arg)
{
	struct kernel *k = arg;

	/* Started by whichever task armed a timer first: not that task's
	 * pin (sched_setaffinity), the sandbox's CPUs. */
	(void)sched_setaffinity(0, sizeof(k->cpus), &k->cpus);
	pthread_mutex_lock(&k->timer_lock);
	while (!k->timer_stop) {
		struct timespec now = mono_now(), next = {0, 0};
		struct ktimer *due = NULL, **pp;

		for (pp = &k->timers; *pp; pp = &(*pp)->next) {
			struct ktimer *tm = *pp;

			if (ts_zero(tm->expiry))
				continue;
			if (!ts_before(now, tm->expiry)) {
				due = tm;
				break;
			}
			if (ts_zero(next) || ts_before(tm->expiry, next))
				next = tm->expiry;
		}
		if (!due) {
			if (ts_zero(next))
				pthread_cond_wait(&k->timer_cond, &k->timer_lock);
			else
				pthread_cond_timedwait(&k->timer_cond, &k->timer_lock, &next);
			continue;
		}
		/* Re-arm first (missed periods are overruns), then signal. */
		struct ktimer copy = *due;

		copy.overrun = 0;
		if (ts_zero(due->interval)) {
			due->expiry = (struct timespec){0, 0};
		} else {
			due->expiry = ts_add(due->expiry, due->interval);
			while (!ts_before(now, due->expiry) && copy.overrun < 1000000) {
				due->expiry = ts_add(due->expiry, due->interval);
				copy.overrun++;
			}
		}
		due->overrun = copy.overrun;
		pthread_mutex_unlock(&k->timer_lock);
		if (copy.signo)
			fire(k, &copy);
		pthread_mutex_lock(&k->timer_lock);
	}
	pthread_mutex_unlock(&k->timer_lock);
	return NULL;
}

/* Start the timer thread if it is not running.  timer_lock held. */
static int start_thread_locked(struct kernel *k)
{
	if (k->timer_thread_running)
		return 0;
	if (pthread_create(&k->timer_thread, NULL, timer_thread, k))
		return -EAGAIN;
	k->timer_thread_running = true;
	return 0;
}

void timer_kernel_init(struct kernel *k)
{
	pthread_mutex_init(&k->timer_lock, NULL);
	task_cond_init(&k->timer_cond);
}

void timer_kernel_destroy(struct kernel *k)
{
	pthread_mutex_lock(&k->timer_lock);
	k->timer_stop = true;
	pthread_cond_broadcast(&k->timer_cond);
	pthread_mutex_unlock(&k->timer_lock);
	if (k->timer_thread_running)
		pthread_join(k->timer_thread, NULL);
	while (k->timers) {
		struct ktimer *tm = k->timers;

		k->timers = tm->next;
		free(tm);
	}
	pthread_cond_destroy(&k->timer_cond);
	pthread_mutex_destroy(&k->timer_lock);
}

/* --- finding and arming --- */

/* @t's process's timer @id.  timer_lock held. */
static struct ktimer *find(struct task *t, int id)
{
	for (struct ktimer *tm = t->k->timers; tm; tm = tm->next)
		if (tm->tgid == t->tg->tgid && tm->serial == t->tg->serial && tm->id == id)
			return tm;
	return NULL;
}

/* What is left of @tm: its remaining time and interval. */
static struct itimerspec remaining(const struct ktimer *tm)
{
	struct itimerspec v = {.it_interval = tm->interval};

	if (!ts_zero(tm->expiry)) {
		v.it_value = ts_sub(tm->expiry, mono_now());
		if (ts_zero(v.it_value))
			v.it_value.tv_nsec = 1; /* due: not yet signalled */
	}
	return v;
}

/* Arm @tm to go off at @value (relative, or absolute on its clock if
 * @absolute), then every @interval.  timer_lock held. */
static int arm(struct kernel *k, struct ktimer *tm, struct timespec value,
	       struct timespec interval, bool absolute)
{
	tm->interval = interval;
	if (ts_zero(value)) {
		tm->expiry = (struct timespec){0, 0};
		return 0;
	}
	if (absolute) {
		struct timespec on_clock;

		clock_gettime(tm->clock, &on_clock);
		value = ts_sub(value, on_clock);
		if (ts_zero(value))
			value.tv_nsec = 1;
	}
	tm->expiry = ts_add(mono_now(), value);
	pthread_cond_broadcast(&k->timer_cond);
	return start_thread_locked(k);
}

/* The ITIMER_REAL of @t's process, made on first use.  timer_lock held. */
static struct ktimer *itimer_real(struct task *t)
{
	struct ktimer *tm = find(t, ITIMER_ID);

	if (tm)
		return tm;
	tm = calloc(1, sizeof(*tm));
	if (!tm)
		return NULL;
	*tm = (struct ktimer){.tgid = t->tg->tgid, .serial = t->tg->serial, .id = ITIMER_ID,
			     .signo = SIGALRM, .clock = CLOCK_MONOTONIC, .next = t->k->timers};
	t->k->timers = tm;
	return tm;
}

/* --- syscalls --- */

static struct timespec tv_to_ts(struct timeval tv)
{
	return (struct timespec){.tv_sec = tv.tv_sec, .tv_nsec = tv.tv_usec * 1000};
}

static struct timeval ts_to_tv(struct timespec ts)
{
	/* Rounded up, so a timer still armed never reads as zero. */
	struct timeval tv = {.tv_sec = ts.tv_sec, .tv_usec = (ts.tv_nsec + 999) / 1000};

	if (tv.tv_usec >= 1000000) {
		tv.tv_sec++;
		tv.tv_usec -= 1000000;
	}
	return tv;
}

static int64_t do_setitimer(struct task *t, const struct itimerval *nv, struct itimerval *ov)
{
	struct kernel *k = t->k;
	struct ktimer *tm;
	struct itimerspec old;
	int64_t err = 0;

	pthread_mutex_lock(&k->timer_lock);
	tm = itimer_real(t);
	if (!tm) {
		pthread_mutex_unlock(&k->timer_lock);
		return -ENOMEM;
	}
	old = remaining(tm);
	if (nv)
		err = arm(k, tm, tv_to_ts(nv->it_value), tv_to_ts(nv->it_interval), false);
	pthread_mutex_unlock(&k->timer_lock);
	if (ov) {
		ov->it_value = ts_to_tv(old.it_value);
		ov->it_interval = ts_to_tv(old.it_interval);
	}
	return err;
}

int64_t sys_setitimer(struct task *t, const uint64_t a[6])
{
	struct itimerval nv, ov;
	int64_t err;

	if (a[0] != ITIMER_REAL)
		return -EINVAL; /* ITIMER_VIRTUAL, ITIMER_PROF: not yet */
	if (a[1]) {
		err = mm_copy_in(t->mm, &nv, a[1], sizeof(nv));
		if (err)
			return err;
		if (nv.it_value.tv_sec < 0 || nv.it_value.tv_usec < 0 ||
		    nv.it_value.tv_usec >= 1000000 || nv.it_interval.tv_sec < 0 ||
		    nv.it_interval.tv_usec < 0 || nv.it_interval.tv_usec >= 1000000)
			return -EINVAL;
	}
	err = do_setitimer(t, a[1] ? &nv : NULL, &ov);
	if (!err && a[2] && mm_copy_out(t->mm, a[2], &ov, sizeof(ov)))
		return -EFAULT;
	return err;
}

int64_t sys_getitimer(struct task *t, const uint64_t a[6])
{
	struct itimerval ov;
	int64_t err;

	if (a[0] != ITIMER_REAL)
		return -EINVAL;
	err = do_setitimer(t, NULL, &ov);
	return err ? err : mm_copy_out(t->mm, a[1], &ov, sizeof(ov));
}

int64_t sys_alarm(struct task *t, const uint64_t a[6])
{
	struct itimerval nv = {.it_value = {.tv_sec = (time_t)(unsigned)a[0]}}, ov;
	int64_t err = do_setitimer(t, &nv, &ov);

	if (err)
		return err;
	/* Seconds left of the old alarm, rounded to nearest, at least 1. */
	return ov.it_value.tv_sec + (ov.it_value.tv_usec >= 500000) +
	       (ov.it_value.tv_sec == 0 && ov.it_value.tv_usec > 0 && ov.it_value.tv_usec < 500000);
}

struct k_sigevent {
	union sigval value;
	int32_t signo;
	int32_t notify;
	int32_t tid;
	int32_t pad[11];
};

_Static_assert(sizeof(struct k_sigevent) == 64, "sigevent layout");

int64_t sys_timer_create(struct task *t, const uint64_t a[6])
{
	struct kernel *k = t->k;
	struct k_sigevent ev = {.signo = SIGALRM, .notify = SIGEV_SIGNAL};
	struct ktimer *tm;
	int id, n = 0, err;

	if (a[0] != CLOCK_REALTIME && a[0] != CLOCK_MONOTONIC && a[0] != CLOCK_BOOTTIME)
		return -EINVAL;
	if (a[1]) {
		err = mm_copy_in(t->mm, &ev, a[1], sizeof(ev));
		if (err)
			return err;
	}
	if (ev.notify != SIGEV_SIGNAL && ev.notify != SIGEV_NONE &&
	    ev.notify != (SIGEV_SIGNAL | SIGEV_THREAD_ID))
		return -EINVAL;
	if (ev.notify != SIGEV_NONE && (ev.signo < 1 || ev.signo > TASK_NSIG))
		return -EINVAL;
	if (ev.notify & SIGEV_THREAD_ID) {
		struct task *u;

		pthread_mutex_lock(&k->tasks_lock);
		u = process_find_task(k, ev.tid);
		err = u && u->tg == t->tg ? 0 : -EINVAL;
		pthread_mutex_unlock(&k->tasks_lock);
		if (err)
			return err;
	}
	pthread_mutex_lock(&k->timer_lock);
	for (id = 0; id < TIMER_MAX && find(t, id); id++)
		;
	for (tm = k->timers; tm; tm = tm->next)
		n += tm->tgid == t->tg->tgid && tm->serial == t->tg->serial && tm->id != ITIMER_ID;
	err = id == TIMER_MAX || n >= TIMER_MAX ? -EAGAIN : 0;
	tm = err ? NULL : calloc(1, sizeof(*tm));
	if (!err && !tm)
		err = -ENOMEM;
	if (!err) {
		*tm = (struct ktimer){
			.tgid = t->tg->tgid, .serial = t->tg->serial, .id = id,
			.tid = (ev.notify & SIGEV_THREAD_ID) ? ev.tid : 0,
			.signo = ev.notify == SIGEV_NONE ? 0 : ev.signo,
			.clock = (clockid_t)a[0], .next = k->timers,
		};
		if (a[1])
			tm->value = ev.value;
		else
			tm->value.sival_int = id;
		k->timers = tm;
	}
	pthread_mutex_unlock(&k->timer_lock);
	if (err)
		return err;
	if (mm_copy_out(t->mm, a[2], &id, sizeof(id))) {
		pthread_mutex_lock(&k->timer_lock);
		tm->tgid = 0; /* unreachable; freed with the kernel */
		pthread_mutex_unlock(&k->timer_lock);
		return -EFAULT;
	}
	return 0;
}

int64_t sys_timer_settime(struct task *t, const uint64_t a[6])
{
	struct kernel *k = t->k;
	struct itimerspec nv, old;
	struct ktimer *tm;
	int64_t err;

	if (a[1] & ~(uint64_t)TIMER_ABSTIME)
		return -EINVAL;
	err = mm_copy_in(t->mm, &nv, a[2], sizeof(nv));
	if (err)
		return err;
	if (!ts_valid(nv.it_value) || !ts_valid(nv.it_interval))
		return -EINVAL;
	pthread_mutex_lock(&k->timer_lock);
	tm = find(t, (int)a[0]);
	if (!tm || (int)a[0] < 0) {
		pthread_mutex_unlock(&k->timer_lock);
		return -EINVAL;
	}
	old = remaining(tm);
	err = arm(k, tm, nv.it_value, nv.it_interval, a[1] & TIMER_ABSTIME);
	pthread_mutex_unlock(&k->timer_lock);
	if (!err && a[3] && mm_copy_out(t->mm, a[3], &old, sizeof(old)))
		return -EFAULT;
	return err;
}

int64_t sys_timer_gettime(struct task *t, const uint64_t a[6])
{
	struct itimerspec v;
	struct ktimer *tm;

	pthread_mutex_lock(&t->k->timer_lock);
	tm = (int)a[0] >= 0 ? find(t, (int)a[0]) : NULL;
	if (tm)
		v = remaining(tm);
	pthread_mutex_unlock(&t->k->timer_lock);
	if (!tm)
		return -EINVAL;
	return mm_copy_out(t->mm, a[1], &v, sizeof(v));
}

int64_t sys_timer_getoverrun(struct task *t, const uint64_t a[6])
{
	struct ktimer *tm;
	int64_t r;

	pthread_mutex_lock(&t->k->timer_lock);
	tm = (int)a[0] >= 0 ? find(t, (int)a[0]) : NULL;
	r = tm ? tm->overrun : -EINVAL;
	pthread_mutex_unlock(&t->k->timer_lock);
	return r;
}

int64_t sys_timer_delete(struct task *t, const uint64_t a[6])
{
	struct kernel *k = t->k;
	int64_t r = -EINVAL;

	pthread_mutex_lock(&k->timer_lock);
	for (struct ktimer **pp = &k->timers; *pp; pp = &(*pp)->next) {
		struct ktimer *tm = *pp;

		if ((int)a[0] >= 0 && tm->tgid == t->tg->tgid && tm->serial == t->tg->serial &&
		    tm->id == (int)a[0]) {
			*pp = tm->next;
			free(tm);
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&k->timer_lock);
	return r;
}

/* Free the timers of group (@tgid, @serial); all of them, or only the
 * POSIX ones. */
static void drop_timers(struct kernel *k, int tgid, uint64_t serial, bool posix_only)
{
	pthread_mutex_lock(&k->timer_lock);
	for (struct ktimer **pp = &k->timers; *pp;) {
		struct ktimer *tm = *pp;

		if (tm->tgid == tgid && tm->serial == serial && (!posix_only || tm->id != ITIMER_ID)) {
			*pp = tm->next;
			free(tm);
		} else {
			pp = &tm->next;
		}
	}
	pthread_mutex_unlock(&k->timer_lock);
}

void timer_exec(struct task *t)
{
	drop_timers(t->k, t->tg->tgid, t->tg->serial, true);
}

void timer_group_exit(struct thread_group *tg)
{
	drop_timers(tg->k, tg->tgid, tg->serial, false);
}

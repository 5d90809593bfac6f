/*
 * kernel/futex.c - futex(2): WAIT, WAKE, their BITSET forms, REQUEUE and
 * CMP_REQUEUE, with timeouts.
 *
 * A futex is named by (mm, address): private and shared futexes alike,
 * so a shared futex works between the threads of one process but not yet
 * across processes that map the same memory (docs/syscalls.md).  Waiters
 * sit on one list per kernel under futex_lock; the WAIT check reads the
 * futex word under that lock, so a wake-up that follows a change of the
 * word cannot be lost.  FUTEX_WAKE_OP and the PI operations are ENOSYS.
 *
 * Lock order: futex_lock -> mm.lock (reading the word).
 */
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/signal.h"
#include "kernel/syscall.h"

#define FUTEX_BITSET_ANY 0xffffffffu

struct futex_waiter {
	struct mm *mm;
	uint64_t addr;
	uint32_t bitset;
	bool woken;
	pthread_cond_t cond;
	struct futex_waiter *next;
};

static void unlink_waiter(struct kernel *k, struct futex_waiter *w)
{
	for (struct futex_waiter **pp = &k->futex_waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

/* Wake up to @n waiters on (@mm, @addr) whose bitset meets @bitset, and
 * move up to @requeue more to @addr2.  futex_lock held. */
static int wake_locked(struct kernel *k, struct mm *mm, uint64_t addr, uint32_t bitset, int n,
		       int requeue, uint64_t addr2)
{
	int woken = 0, moved = 0;

	for (struct futex_waiter *w = k->futex_waiters; w; w = w->next) {
		if (w->mm != mm || w->addr != addr || w->woken || !(w->bitset & bitset))
			continue;
		if (woken < n) {
			w->woken = true;
			pthread_cond_signal(&w->cond);
			woken++;
		} else if (moved < requeue) {
			w->addr = addr2;
			moved++;
		} else {
			break;
		}
	}
	return woken + moved;
}

int futex_wake_address(struct task *t, uint64_t addr, int n)
{
	struct kernel *k = t->k;
	int woken;

	pthread_mutex_lock(&k->futex_lock);
	woken = wake_locked(k, t->mm, addr, FUTEX_BITSET_ANY, n, 0, 0);
	pthread_mutex_unlock(&k->futex_lock);
	return woken;
}

static int64_t futex_wait(struct task *t, uint64_t addr, uint32_t val, uint32_t bitset,
			  const struct timespec *deadline)
{
	struct kernel *k = t->k;
	struct futex_waiter w = {.mm = t->mm, .addr = addr, .bitset = bitset};
	pthread_condattr_t ca;
	uint32_t cur;
	int err;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&k->futex_lock);
	err = mm_copy_in(t->mm, &cur, addr, sizeof(cur));
	if (!err && cur != val)
		err = -EAGAIN;
	if (!err) {
		w.next = k->futex_waiters;
		k->futex_waiters = &w;
		while (!w.woken) {
			err = task_wait(t, &w.cond, &k->futex_lock, deadline);
			if (err)
				break;
		}
		if (w.woken)
			err = 0; /* woken wins over a signal or timeout at the same time */
		unlink_waiter(k, &w);
	}
	pthread_mutex_unlock(&k->futex_lock);
	pthread_cond_destroy(&w.cond);
	return err;
}

/* A relative @ts as an absolute CLOCK_MONOTONIC deadline, or an absolute
 * one on CLOCK_REALTIME (if @realtime) or CLOCK_MONOTONIC. */
static int futex_deadline(struct task *t, uint64_t uts, bool absolute, bool realtime,
			  struct timespec *out)
{
	struct timespec ts, now;
	int err = mm_copy_in(t->mm, &ts, uts, sizeof(ts));

	if (err)
		return err;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
		return -EINVAL;
	if (absolute && !realtime) {
		*out = ts;
		return 0;
	}
	if (absolute) { /* realtime -> monotonic */
		struct timespec rt;

		clock_gettime(CLOCK_REALTIME, &rt);
		ts.tv_sec -= rt.tv_sec;
		ts.tv_nsec -= rt.tv_nsec;
		if (ts.tv_nsec < 0) {
			ts.tv_sec--;
			ts.tv_nsec += 1000000000;
		}
		if (ts.tv_sec < 0)
			ts = (struct timespec){0, 0};
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	out->tv_sec = now.tv_sec + ts.tv_sec;
	out->tv_nsec = now.tv_nsec + ts.tv_nsec;
	if (out->tv_nsec >= 1000000000) {
		out->tv_sec++;
		out->tv_nsec -= 1000000000;
	}
	return 0;
}

int64_t sys_futex(struct task *t, const uint64_t a[6])
{
	uint64_t addr = a[0], addr2 = a[4];
	int op = (int)a[1], cmd = op & FUTEX_CMD_MASK;
	bool realtime = op & FUTEX_CLOCK_REALTIME;
	uint32_t val = (uint32_t)a[2], val3 = (uint32_t)a[5];
	struct timespec deadline;
	struct kernel *k = t->k;
	uint32_t cur;
	int64_t r;
	int err;

	if (addr & 3)
		return -EINVAL;
	switch (cmd) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
		if (cmd == FUTEX_WAIT)
			val3 = FUTEX_BITSET_ANY;
		if (!val3)
			return -EINVAL;
		if (a[3]) {
			err = futex_deadline(t, a[3], cmd == FUTEX_WAIT_BITSET, realtime, &deadline);
			if (err)
				return err;
		}
		r = futex_wait(t, addr, val, val3, a[3] ? &deadline : NULL);
		return r == -ETIMEDOUT ? -ETIMEDOUT : r;
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
		if (cmd == FUTEX_WAKE)
			val3 = FUTEX_BITSET_ANY;
		if (!val3)
			return -EINVAL;
		pthread_mutex_lock(&k->futex_lock);
		r = wake_locked(k, t->mm, addr, val3, (int)(val > 0x7fffffff ? 0x7fffffff : val), 0, 0);
		pthread_mutex_unlock(&k->futex_lock);
		return r;
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE:
		if (addr2 & 3 || (int)a[3] < 0 || (int)val < 0)
			return -EINVAL;
		pthread_mutex_lock(&k->futex_lock);
		r = 0;
		if (cmd == FUTEX_CMP_REQUEUE) {
			err = mm_copy_in(t->mm, &cur, addr, sizeof(cur));
			r = err ? err : cur != val3 ? -EAGAIN : 0;
		}
		if (!r)
			r = wake_locked(k, t->mm, addr, FUTEX_BITSET_ANY, (int)val, (int)a[3], addr2);
		pthread_mutex_unlock(&k->futex_lock);
		return r;
	default:
		return -ENOSYS; /* WAKE_OP, the PI operations, WAIT_REQUEUE_PI */
	}
}

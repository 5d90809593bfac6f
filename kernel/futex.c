/*
 * kernel/futex.c - futex(2): WAIT, WAKE, their BITSET forms, REQUEUE and
 * CMP_REQUEUE, with timeouts.
 *
 * A futex is named as Linux names it: a private one (FUTEX_PRIVATE_FLAG,
 * or in private memory) by (mm, address); a shared one in MAP_SHARED
 * memory by the memory-file offset of its frame, so processes that share
 * the memory share the futex.  Waiters sit on one list per kernel under
 * futex_lock; the WAIT check reads the futex word under that lock, so a
 * wake-up that follows a change of the word cannot be lost.  WAKE_OP
 * changes the second word with a real atomic on the frame.  The PI
 * operations are ENOSYS.  Robust lists are walked when a task exits.
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

/* What names a futex: (mm, address), or (NULL, memory-file offset). */
struct futex_key {
	struct mm *mm;
	uint64_t addr;
};

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

static int key_of(struct task *t, uint64_t addr, bool private, struct futex_key *key)
{
	uint64_t off;
	int r;

	*key = (struct futex_key){.mm = t->mm, .addr = addr};
	if (private)
		return 0;
	r = mm_futex_key(t->mm, addr, &off);
	if (r < 0)
		return r;
	if (r == 1)
		*key = (struct futex_key){.mm = NULL, .addr = off};
	return 0;
}

int futex_wake_address(struct task *t, uint64_t addr, int n)
{
	struct kernel *k = t->k;
	struct futex_key key;
	int woken;

	if (key_of(t, addr, false, &key))
		return 0;
	pthread_mutex_lock(&k->futex_lock);
	woken = wake_locked(k, key.mm, key.addr, FUTEX_BITSET_ANY, n, 0, 0);
	pthread_mutex_unlock(&k->futex_lock);
	return woken;
}

/* --- robust lists --- */

struct robust_head {
	uint64_t next;
	int64_t futex_offset;
	uint64_t pending;
};

static uint32_t owner_died(uint32_t old, void *arg)
{
	uint32_t tid = *(uint32_t *)arg;

	return (old & FUTEX_TID_MASK) == tid ? (old & FUTEX_WAITERS) | FUTEX_OWNER_DIED : old;
}

/* The lock at @uaddr dies with its owner @t: mark it, wake a waiter. */
static void robust_release(struct task *t, uint64_t uaddr)
{
	uint32_t tid = (uint32_t)t->tid, old;

	if (mm_atomic_u32(t->mm, uaddr, owner_died, &tid, &old))
		return;
	if ((old & FUTEX_TID_MASK) == tid && (old & FUTEX_WAITERS))
		futex_wake_address(t, uaddr, 1);
}

void futex_exit_robust(struct task *t)
{
	struct robust_head h;
	uint64_t entry;
	int limit = 2048; /* Linux's ROBUST_LIST_LIMIT: a loop is not forever */

	if (!t->robust_list || !t->mm || mm_copy_in(t->mm, &h, t->robust_list, sizeof(h)))
		return;
	for (entry = h.next & ~UINT64_C(1); entry != t->robust_list && limit-- > 0;) {
		uint64_t next;

		if (mm_copy_in(t->mm, &next, entry, sizeof(next)))
			break;
		if (entry != (h.pending & ~UINT64_C(1)))
			robust_release(t, entry + (uint64_t)h.futex_offset);
		entry = next & ~UINT64_C(1);
	}
	if (h.pending)
		robust_release(t, (h.pending & ~UINT64_C(1)) + (uint64_t)h.futex_offset);
}

/* --- WAKE_OP --- */

struct wake_op {
	unsigned op;
	uint32_t oparg;
};

static uint32_t apply_op(uint32_t old, void *arg)
{
	const struct wake_op *w = arg;

	switch (w->op) {
	case FUTEX_OP_SET: return w->oparg;
	case FUTEX_OP_ADD: return old + w->oparg;
	case FUTEX_OP_OR: return old | w->oparg;
	case FUTEX_OP_ANDN: return old & ~w->oparg;
	default: return old ^ w->oparg; /* FUTEX_OP_XOR; others refused before */
	}
}

static int32_t sign12(uint32_t v)
{
	return (int32_t)(v << 20) >> 20;
}

static int64_t futex_wait(struct task *t, struct futex_key key, uint64_t addr, uint32_t val,
			  uint32_t bitset, const struct timespec *deadline)
{
	struct kernel *k = t->k;
	struct futex_waiter w = {.mm = key.mm, .addr = key.addr, .bitset = bitset};
	uint32_t cur;
	int err;

	task_cond_init(&w.cond);
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
	bool private = op & FUTEX_PRIVATE_FLAG;
	struct futex_key key, key2;
	struct timespec deadline;
	struct kernel *k = t->k;
	uint32_t cur;
	int64_t r;
	int err;

	if (addr & 3)
		return -EINVAL;
	err = key_of(t, addr, private, &key);
	if (err)
		return err;
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
		r = futex_wait(t, key, addr, val, val3, a[3] ? &deadline : NULL);
		return r == -ETIMEDOUT ? -ETIMEDOUT : r;
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
		if (cmd == FUTEX_WAKE)
			val3 = FUTEX_BITSET_ANY;
		if (!val3)
			return -EINVAL;
		pthread_mutex_lock(&k->futex_lock);
		r = wake_locked(k, key.mm, key.addr, val3, (int)(val > 0x7fffffff ? 0x7fffffff : val),
				0, 0);
		pthread_mutex_unlock(&k->futex_lock);
		return r;
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE:
		if (addr2 & 3 || (int)a[3] < 0 || (int)val < 0)
			return -EINVAL;
		err = key_of(t, addr2, private, &key2);
		if (err)
			return err;
		if (key2.mm != key.mm)
			return -EINVAL; /* requeue across kinds of key: not supported */
		pthread_mutex_lock(&k->futex_lock);
		r = 0;
		if (cmd == FUTEX_CMP_REQUEUE) {
			err = mm_copy_in(t->mm, &cur, addr, sizeof(cur));
			r = err ? err : cur != val3 ? -EAGAIN : 0;
		}
		if (!r)
			r = wake_locked(k, key.mm, key.addr, FUTEX_BITSET_ANY, (int)val, (int)a[3],
					key2.addr);
		pthread_mutex_unlock(&k->futex_lock);
		return r;
	case FUTEX_WAKE_OP: {
		unsigned opc = val3 >> 28, cmp = (val3 >> 24) & 15;
		struct wake_op w = {.op = opc & 7, .oparg = (uint32_t)sign12(val3 >> 12 & 0xfff)};
		int32_t cmparg = sign12(val3 & 0xfff), old;
		bool hit;

		if (addr2 & 3)
			return -EINVAL;
		if (opc & FUTEX_OP_OPARG_SHIFT) {
			if (w.oparg > 31)
				return -EINVAL;
			w.oparg = 1u << w.oparg;
		}
		if (w.op > FUTEX_OP_XOR || cmp > FUTEX_OP_CMP_GE)
			return -ENOSYS;
		err = key_of(t, addr2, private, &key2);
		if (err)
			return err;
		pthread_mutex_lock(&k->futex_lock);
		err = mm_atomic_u32(t->mm, addr2, apply_op, &w, (uint32_t *)&old);
		if (err) {
			pthread_mutex_unlock(&k->futex_lock);
			return err;
		}
		r = wake_locked(k, key.mm, key.addr, FUTEX_BITSET_ANY, (int)val, 0, 0);
		switch (cmp) {
		case FUTEX_OP_CMP_EQ: hit = old == cmparg; break;
		case FUTEX_OP_CMP_NE: hit = old != cmparg; break;
		case FUTEX_OP_CMP_LT: hit = old < cmparg; break;
		case FUTEX_OP_CMP_LE: hit = old <= cmparg; break;
		case FUTEX_OP_CMP_GT: hit = old > cmparg; break;
		default: hit = old >= cmparg; break;
		}
		if (hit)
			r += wake_locked(k, key2.mm, key2.addr, FUTEX_BITSET_ANY, (int)a[3], 0, 0);
		pthread_mutex_unlock(&k->futex_lock);
		return r;
	}
	default:
		return -ENOSYS; /* the PI operations, WAIT_REQUEUE_PI */
	}
}

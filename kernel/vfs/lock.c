/*
 * kernel/vfs/lock.c - see lock.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>

#include "kernel/task.h"
#include "kernel/vfs/lock.h"

struct file_lock {
	struct file_lock *next;
	struct vfs_inode *inode;
	enum vfs_lock_family fam;
	const void *owner;
	struct vfs_lock_range r;
};

/* An owner blocked on another, for deadlock detection. */
struct lock_waiter {
	struct lock_waiter *next;
	const void *owner, *blocker;
};

static pthread_mutex_t locks_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t locks_changed = PTHREAD_COND_INITIALIZER;
static struct file_lock *locks;	/* locks_lock */
static struct lock_waiter *waiters;	/* locks_lock */
static long nr_locks;			/* locks_lock */

static bool overlap(const struct vfs_lock_range *a, const struct vfs_lock_range *b)
{
	return a->start <= b->end && b->start <= a->end;
}

/* The first lock in the way of @owner taking @r.  locks_lock held. */
static struct file_lock *conflict(struct vfs_inode *inode, enum vfs_lock_family fam,
				  const void *owner, const struct vfs_lock_range *r)
{
	for (struct file_lock *l = locks; l; l = l->next)
		if (l->inode == inode && l->fam == fam && l->owner != owner &&
		    (l->r.type == F_WRLCK || r->type == F_WRLCK) && overlap(&l->r, r))
			return l;
	return NULL;
}

void vfs_lock_test(struct vfs_inode *inode, enum vfs_lock_family fam, const void *owner,
		   struct vfs_lock_range *r)
{
	struct file_lock *l;

	pthread_mutex_lock(&locks_lock);
	l = conflict(inode, fam, owner, r);
	if (l)
		*r = l->r;
	else
		r->type = F_UNLCK;
	pthread_mutex_unlock(&locks_lock);
}

/* Would @owner waiting on @blocker close a cycle?  locks_lock held. */
static bool deadlock(const void *owner, const void *blocker)
{
	for (int hops = 0; blocker && hops < 1024; hops++) {
		const struct lock_waiter *w;

		if (blocker == owner)
			return true;
		for (w = waiters; w && w->owner != blocker; w = w->next)
			;
		blocker = w ? w->blocker : NULL;
	}
	return false;
}

/* Give @owner exactly @r over [r->start, r->end]: cut that range out of
 * what it holds (@spare is a free node for a split), then add @fresh
 * unless unlocking.  Never fails; frees what it does not use.
 * locks_lock held. */
static void apply(struct vfs_inode *inode, enum vfs_lock_family fam, const void *owner,
		  const struct vfs_lock_range *r, struct file_lock *fresh, struct file_lock *spare)
{
	struct file_lock **pp = &locks;

	while (*pp) {
		struct file_lock *l = *pp;

		if (l->inode != inode || l->fam != fam || l->owner != owner || !overlap(&l->r, r)) {
			pp = &l->next;
			continue;
		}
		if (l->r.start < r->start && l->r.end > r->end) { /* split around r */
			*spare = *l;
			spare->r.start = r->end + 1;
			l->r.end = r->start - 1;
			spare->next = l->next;
			l->next = spare;
			spare = NULL;
			nr_locks++;
			break; /* nothing else of ours can overlap */
		} else if (l->r.start < r->start) {
			l->r.end = r->start - 1;
		} else if (l->r.end > r->end) {
			l->r.start = r->end + 1;
		} else {
			*pp = l->next;
			free(l);
			nr_locks--;
			continue;
		}
		pp = &l->next;
	}
	if (r->type != F_UNLCK) {
		*fresh = (struct file_lock){.next = locks, .inode = inode, .fam = fam,
					    .owner = owner, .r = *r};
		locks = fresh;
		nr_locks++;
		fresh = NULL;
	}
	free(fresh);
	free(spare);
	pthread_cond_broadcast(&locks_changed);
}

int vfs_lock_set(struct task *t, struct vfs_inode *inode, enum vfs_lock_family fam,
		 const void *owner, const struct vfs_lock_range *r, bool wait)
{
	struct file_lock *fresh = malloc(sizeof(*fresh)), *spare = malloc(sizeof(*spare)), *l;
	struct lock_waiter me = {.owner = owner};
	int err = 0;

	if (!fresh || !spare) {
		free(fresh);
		free(spare);
		return -ENOMEM;
	}
	pthread_mutex_lock(&locks_lock);
	while (r->type != F_UNLCK && (l = conflict(inode, fam, owner, r))) {
		if (!wait) {
			err = -EAGAIN;
			break;
		}
		if (fam == VFS_LOCK_POSIX && deadlock(owner, l->owner)) {
			err = -EDEADLK;
			break;
		}
		me.blocker = l->owner;
		me.next = waiters;
		waiters = &me;
		err = task_wait(t, &locks_changed, &locks_lock, NULL);
		for (struct lock_waiter **pp = &waiters; *pp; pp = &(*pp)->next) {
			if (*pp == &me) {
				*pp = me.next;
				break;
			}
		}
		if (err == -ERESTARTSYS)
			break;
		err = 0;
	}
	if (!err && r->type != F_UNLCK && nr_locks + 2 > VFS_LOCKS_MAX)
		err = -ENOLCK;
	if (err) {
		pthread_mutex_unlock(&locks_lock);
		free(fresh);
		free(spare);
		return err;
	}
	apply(inode, fam, owner, r, fresh, spare);
	pthread_mutex_unlock(&locks_lock);
	return 0;
}

void vfs_lock_release(struct vfs_inode *inode, const void *owner)
{
	bool changed = false;

	/* Every close comes here: skip the lock when there are no locks. */
	if (!__atomic_load_n(&nr_locks, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&locks_lock);
	for (struct file_lock **pp = &locks; *pp;) {
		struct file_lock *l = *pp;

		if (l->inode == inode && l->owner == owner) {
			*pp = l->next;
			free(l);
			nr_locks--;
			changed = true;
		} else {
			pp = &l->next;
		}
	}
	if (changed)
		pthread_cond_broadcast(&locks_changed);
	pthread_mutex_unlock(&locks_lock);
}

long vfs_lock_count(void)
{
	long n;

	pthread_mutex_lock(&locks_lock);
	n = nr_locks;
	pthread_mutex_unlock(&locks_lock);
	return n;
}

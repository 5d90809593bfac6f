/*
 * kernel/vfs/lock.h - advisory file locks.
 *
 * Two families, which never conflict with each other, as in Linux:
 * byte-range locks (fcntl's F_SETLK, owned by an fd table, so that the
 * threads of a process share them and any close of the file drops them;
 * and F_OFD_SETLK, owned by the open file description) and flock(2)
 * locks (owned by the description, on the whole file).  A lock conflicts
 * with another family member's if they overlap, have different owners,
 * and one is a write lock.
 *
 * One table for the sentry, keyed by inode: an inode stays alive while a
 * lock on it does, since every lock has a file open on it and closing it
 * drops the lock.  A guest may hold at most VFS_LOCKS_MAX locks in all
 * (ENOLCK past it), so that fragmenting ranges cannot eat the sentry.
 * Blocking requests (F_SETLKW, flock without LOCK_NB) wait interruptibly;
 * an fd-table owner that would wait on a chain of owners leading back to
 * itself gets EDEADLK.
 */
#ifndef KSENTRY_KERNEL_VFS_LOCK_H
#define KSENTRY_KERNEL_VFS_LOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define VFS_LOCKS_MAX 65536

struct task;
struct vfs_inode;

enum vfs_lock_family { VFS_LOCK_POSIX, VFS_LOCK_FLOCK };

/* A range [start, end] (end inclusive; UINT64_MAX: to the end of the
 * file) and a type: F_RDLCK, F_WRLCK or F_UNLCK.  @pid is what F_GETLK
 * reports for the holder (-1 for a description's lock). */
struct vfs_lock_range {
	short type;
	uint64_t start, end;
	pid_t pid;
};

/* F_GETLK: the first lock that would conflict with *@r, copied into *@r,
 * or r->type = F_UNLCK if none would. */
void vfs_lock_test(struct vfs_inode *inode, enum vfs_lock_family fam, const void *owner,
		   struct vfs_lock_range *r);

/* Take (or with F_UNLCK, drop) *@r for @owner; what @owner held in the
 * range is replaced.  0, -EAGAIN (a conflict and !@wait), -EDEADLK,
 * -ENOLCK, -ENOMEM, or -ERESTARTSYS (a signal while waiting, for @t). */
int vfs_lock_set(struct task *t, struct vfs_inode *inode, enum vfs_lock_family fam,
		 const void *owner, const struct vfs_lock_range *r, bool wait);

/* Drop every lock of @owner on @inode, both families. */
void vfs_lock_release(struct vfs_inode *inode, const void *owner);

/* Locks held now, for tests. */
long vfs_lock_count(void);

#endif

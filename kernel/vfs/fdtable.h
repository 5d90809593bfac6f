/*
 * kernel/vfs/fdtable.h - a process's file descriptor table.
 *
 * Maps small integers to file descriptions, with a close-on-exec bit each.
 * New fds take the lowest free number at or above a minimum, below the
 * RLIMIT_NOFILE limit given at creation (-EMFILE past it).
 *
 * Locking: @lock protects everything; file references are taken under it
 * and dropped outside it (a release may block).
 */
#ifndef KSENTRY_KERNEL_VFS_FDTABLE_H
#define KSENTRY_KERNEL_VFS_FDTABLE_H

#include <pthread.h>
#include <stdbool.h>

#include "kernel/vfs/vfs.h"

struct fd_table {
	pthread_mutex_t lock;
	struct vfs_file **files; /* protected by lock */
	bool *cloexec;           /* protected by lock */
	int size;                /* slots allocated */
	int limit;               /* fds must be below this */
	int refs;                /* tasks sharing it (CLONE_FILES); atomic */
};

void fd_table_init(struct fd_table *t, int limit);

/* Close every fd. */
void fd_table_destroy(struct fd_table *t);

/* A table on the heap with one reference; NULL when out of memory. */
struct fd_table *fd_table_create(int limit);

/* fork without CLONE_FILES: a new table (one reference) holding the same
 * files at the same fds, close-on-exec bits included.  NULL on ENOMEM. */
struct fd_table *fd_table_dup(struct fd_table *t);

/* Take / drop a reference on a heap table; the last put closes all. */
struct fd_table *fd_table_get(struct fd_table *t);
void fd_table_put(struct fd_table *t);

/* Install @f (the caller's reference moves in) at the lowest free fd >=
 * @min.  Returns the fd, -EMFILE or -ENOMEM (then the caller keeps @f). */
int fd_install(struct fd_table *t, int min, struct vfs_file *f, bool cloexec);

/* The file at @fd with a new reference, or NULL. */
struct vfs_file *fd_get(struct fd_table *t, int fd);

/* close(2): 0 or -EBADF. */
int fd_close(struct fd_table *t, int fd);

/* dup2/dup3: put @oldfd's file at @newfd, closing what was there.
 * Returns @newfd, -EBADF. */
int fd_dup_to(struct fd_table *t, int oldfd, int newfd, bool cloexec);

/* F_GETFD / F_SETFD. */
int fd_get_cloexec(struct fd_table *t, int fd);
int fd_set_cloexec(struct fd_table *t, int fd, bool cloexec);

/* close_range(2) without flags, or with CLOSE_RANGE_CLOEXEC. */
int fd_close_range(struct fd_table *t, unsigned first, unsigned last, bool cloexec_only);

/* Close every close-on-exec fd (execve). */
void fd_close_on_exec(struct fd_table *t);

#endif

/*
 * kernel/vfs/fdtable.c - see fdtable.h.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel/vfs/fdtable.h"
#include "kernel/vfs/lock.h"

/* @f left one of @t's fds: as Linux's filp_close, the file system hears
 * of it (FUSE's FLUSH) and the table's POSIX locks on the file go, then
 * the reference.  Outside t->lock: a release may block. */
static void fd_drop(struct fd_table *t, struct vfs_file *f)
{
	if (!f)
		return;
	if (f->inode)
		vfs_lock_release(f->inode, t);
	if (f->ops && f->ops->flush)
		f->ops->flush(f, t);
	vfs_file_put(f);
}

void fd_table_init(struct fd_table *t, int limit)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->limit = limit;
}

void fd_table_destroy(struct fd_table *t)
{
	fd_close_range(t, 0, ~0U, false);
	free(t->files);
	free(t->cloexec);
	pthread_mutex_destroy(&t->lock);
}

struct fd_table *fd_table_create(int limit)
{
	struct fd_table *t = malloc(sizeof(*t));

	if (t) {
		fd_table_init(t, limit);
		t->refs = 1;
	}
	return t;
}

struct fd_table *fd_table_get(struct fd_table *t)
{
	__atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
	return t;
}

void fd_table_put(struct fd_table *t)
{
	if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		fd_table_destroy(t);
		free(t);
	}
}

static int grow(struct fd_table *t, int fd);

struct fd_table *fd_table_dup(struct fd_table *t)
{
	struct fd_table *n = fd_table_create(t->limit);

	if (!n)
		return NULL;
	pthread_mutex_lock(&t->lock);
	if (t->size && grow(n, t->size - 1)) {
		pthread_mutex_unlock(&t->lock);
		fd_table_put(n);
		return NULL;
	}
	for (int fd = 0; fd < t->size; fd++) {
		n->files[fd] = t->files[fd] ? vfs_file_get(t->files[fd]) : NULL;
		n->cloexec[fd] = t->cloexec[fd];
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* Make room for fd @fd.  Caller holds the lock. */
static int grow(struct fd_table *t, int fd)
{
	int size = t->size ? t->size : 16;
	struct vfs_file **files;
	bool *cloexec;

	while (size <= fd)
		size *= 2;
	if (size <= t->size)
		return 0;
	files = realloc(t->files, (size_t)size * sizeof(*files));
	if (!files)
		return -ENOMEM;
	t->files = files;
	cloexec = realloc(t->cloexec, (size_t)size * sizeof(*cloexec));
	if (!cloexec)
		return -ENOMEM;
	t->cloexec = cloexec;
	memset(files + t->size, 0, (size_t)(size - t->size) * sizeof(*files));
	memset(cloexec + t->size, 0, (size_t)(size - t->size) * sizeof(*cloexec));
	t->size = size;
	return 0;
}

int fd_install(struct fd_table *t, int min, struct vfs_file *f, bool cloexec)
{
	int fd, err;

	if (min < 0)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	for (fd = min; fd < t->size && t->files[fd]; fd++)
		;
	err = -EMFILE;
	if (fd >= t->limit)
		goto out_unlock;
	err = grow(t, fd);
	if (err)
		goto out_unlock;
	t->files[fd] = f;
	t->cloexec[fd] = cloexec;
	err = fd;
out_unlock:
	pthread_mutex_unlock(&t->lock);
	return err;
}

struct vfs_file *fd_get(struct fd_table *t, int fd)
{
	struct vfs_file *f = NULL;

	pthread_mutex_lock(&t->lock);
	if (fd >= 0 && fd < t->size && t->files[fd])
		f = vfs_file_get(t->files[fd]);
	pthread_mutex_unlock(&t->lock);
	return f;
}

int fd_close(struct fd_table *t, int fd)
{
	struct vfs_file *f = NULL;

	pthread_mutex_lock(&t->lock);
	if (fd >= 0 && fd < t->size) {
		f = t->files[fd];
		t->files[fd] = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	if (!f)
		return -EBADF;
	fd_drop(t, f);
	return 0;
}

int fd_dup_to(struct fd_table *t, int oldfd, int newfd, bool cloexec)
{
	struct vfs_file *old = NULL;
	int err;

	if (newfd < 0)
		return -EBADF;
	pthread_mutex_lock(&t->lock);
	err = -EBADF;
	if (oldfd < 0 || oldfd >= t->size || !t->files[oldfd] || newfd >= t->limit)
		goto out_unlock;
	err = grow(t, newfd);
	if (err)
		goto out_unlock;
	old = t->files[newfd];
	t->files[newfd] = vfs_file_get(t->files[oldfd]);
	t->cloexec[newfd] = cloexec;
	err = newfd;
out_unlock:
	pthread_mutex_unlock(&t->lock);
	fd_drop(t, old);
	return err;
}

int fd_get_cloexec(struct fd_table *t, int fd)
{
	int ret = -EBADF;

	pthread_mutex_lock(&t->lock);
	if (fd >= 0 && fd < t->size && t->files[fd])
		ret = t->cloexec[fd] ? 1 : 0;
	pthread_mutex_unlock(&t->lock);
	return ret;
}

int fd_set_cloexec(struct fd_table *t, int fd, bool cloexec)
{
	int ret = -EBADF;

	pthread_mutex_lock(&t->lock);
	if (fd >= 0 && fd < t->size && t->files[fd]) {
		t->cloexec[fd] = cloexec;
		ret = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

int fd_close_range(struct fd_table *t, unsigned first, unsigned last, bool cloexec_only)
{
	if (first > last)
		return -EINVAL;
	for (;;) {
		struct vfs_file *f = NULL;

		pthread_mutex_lock(&t->lock);
		for (; first < (unsigned)t->size && first <= last; first++) {
			if (!t->files[first])
				continue;
			if (cloexec_only) {
				t->cloexec[first] = true;
				continue;
			}
			f = t->files[first];
			t->files[first] = NULL;
			break;
		}
		pthread_mutex_unlock(&t->lock);
		if (!f)
			return 0;
		fd_drop(t, f);
	}
}

void fd_close_on_exec(struct fd_table *t)
{
	for (int fd = 0;; fd++) {
		struct vfs_file *f = NULL;
		bool more;

		pthread_mutex_lock(&t->lock);
		more = fd < t->size;
		if (more && t->files[fd] && t->cloexec[fd]) {
			f = t->files[fd];
			t->files[fd] = NULL;
		}
		pthread_mutex_unlock(&t->lock);
		if (!more)
			return;
		fd_drop(t, f);
	}
}

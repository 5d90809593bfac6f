/*
 * kernel/vfs/file.c - open file descriptions.
 *
 * A file description holds its path (so fchdir, /proc/self/fd and "..":
 * work after a rename) and its inode; it is freed when the last fd and
 * the last in-flight syscall using it let go.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/vfs/lock.h"
#include "kernel/vfs/vfs.h"

static int mem_copy(struct vfs_io *io, void *p, size_t at, size_t n, bool to_caller)
{
	struct vfs_mem_io *m = (struct vfs_mem_io *)io;

	if (to_caller)
		memcpy(m->buf + at, p, n);
	else
		memcpy(p, m->buf + at, n);
	return 0;
}

void vfs_mem_io_init(struct vfs_mem_io *m, void *buf, size_t len)
{
	m->io = (struct vfs_io){.copy = mem_copy, .len = len};
	m->buf = buf;
}

ssize_t vfs_io_write_fd(struct vfs_io *io, int fd, int64_t off)
{
	static __thread unsigned char bounce[64 * 1024];
	size_t done = 0;

	while (done < io->len) {
		size_t n = io->len - done < sizeof(bounce) ? io->len - done : sizeof(bounce);
		int err = io->copy(io, bounce, done, n, false);
		ssize_t w;

		if (err)
			return done ? (ssize_t)done : err;
		w = off < 0 ? write(fd, bounce, n) : pwrite(fd, bounce, n, (off_t)(off + done));
		if (w < 0)
			return done ? (ssize_t)done : -errno;
		done += (size_t)w;
		if ((size_t)w < n)
			break;
	}
	return (ssize_t)done;
}

static struct vfs_file *file_alloc(int flags)
{
	struct vfs_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	atomic_init(&f->refs, 1);
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_init(&f->pos_lock, NULL);
	f->flags = flags;
	return f;
}

/* A fresh file on @inode (and @p, if it has a path), prepared by the file
 * system's open unless @flags has O_PATH.  Shared by both ways to open. */
static int open_file(struct vfs_inode *inode, const struct vfs_path *p, int flags,
		     struct vfs_file **out)
{
	struct vfs_file *f = file_alloc(flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC));
	int err;

	if (!f)
		return -ENOMEM;
	if (p)
		f->path = vfs_path_get(*p);
	f->inode = vfs_inode_get(inode);
	if (!(flags & O_PATH) && inode->ops->open) {
		err = inode->ops->open(inode, f, flags);
		if (err) {
			f->ops = NULL;
			vfs_file_put(f);
			return err;
		}
	}
	*out = f;
	return 0;
}

int vfs_open(struct vfs_path p, int flags, struct vfs_file **out)
{
	struct vfs_inode *inode = p.dentry->inode;
	int acc = flags & O_ACCMODE;

	if ((flags & O_DIRECTORY) && !vfs_is_dir(inode))
		return -ENOTDIR;
	if (vfs_is_dir(inode) && (acc != O_RDONLY || (flags & O_TRUNC)))
		return -EISDIR;
	if (S_ISLNK(inode->mode) && !(flags & O_PATH))
		return -ELOOP; /* O_NOFOLLOW on a symlink */
	return open_file(inode, &p, flags, out);
}

int vfs_open_inode(struct vfs_inode *inode, int flags, struct vfs_file **out)
{
	return open_file(inode, NULL, flags & ~O_PATH, out);
}

struct vfs_file *vfs_file_new_anon(const struct vfs_file_ops *ops, void *priv, int flags)
{
	struct vfs_file *f = file_alloc(flags);

	if (f) {
		f->ops = ops;
		f->priv = priv;
	}
	return f;
}

struct vfs_file *vfs_file_get(struct vfs_file *f)
{
	atomic_fetch_add(&f->refs, 1);
	return f;
}

void vfs_file_put(struct vfs_file *f)
{
	if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	if (f->inode)
		vfs_lock_release(f->inode, f); /* its OFD and flock locks */
	if (f->ops && f->ops->release)
		f->ops->release(f);
	vfs_inode_put(f->inode);
	vfs_path_put(f->path);
	pthread_mutex_destroy(&f->lock);
	pthread_mutex_destroy(&f->pos_lock);
	free(f);
}

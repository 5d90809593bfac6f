/*
 * kernel/pipe.c - see pipe.h.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "kernel/pipe.h"
#include "kernel/signal.h"
#include "kernel/task.h"

#define PIPE_SIZE (64 * 1024)

struct pipe {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* data, space, or an end went away */
	unsigned char buf[PIPE_SIZE];
	size_t head, len;       /* protected by lock */
	int readers, writers;   /* protected by lock */
	int refs;               /* ends alive; protected by lock */
	struct timespec created;
	ino_t ino;
};

static struct pipe *pipe_of(struct vfs_file *f)
{
	return f->priv;
}

static ssize_t pipe_read(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct pipe *p = pipe_of(f);
	size_t done = 0;
	int err = 0;

	if (io->len == 0)
		return 0;
	pthread_mutex_lock(&p->lock);
	while (p->len == 0 && p->writers > 0) {
		if (f->flags & O_NONBLOCK) {
			err = -EAGAIN;
			goto out_unlock;
		}
		err = task_wait(task_current(), &p->changed, &p->lock, NULL);
		if (err)
			goto out_unlock;
	}
	while (done < io->len && p->len > 0) {
		size_t chunk = p->len < PIPE_SIZE - p->head ? p->len : PIPE_SIZE - p->head;

		if (chunk > io->len - done)
			chunk = io->len - done;
		err = io->copy(io, p->buf + p->head, done, chunk, true);
		if (err)
			break;
		p->head = (p->head + chunk) % PIPE_SIZE;
		p->len -= chunk;
		done += chunk;
	}
	pthread_cond_broadcast(&p->changed);
out_unlock:
	pthread_mutex_unlock(&p->lock);
	return done ? (ssize_t)done : err;
}

static ssize_t pipe_write(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct pipe *p = pipe_of(f);
	size_t done = 0;
	int err = 0;

	pthread_mutex_lock(&p->lock);
	while (done < io->len) {
		size_t room = PIPE_SIZE - p->len, tail, chunk;

		if (p->readers == 0) {
			err = -EPIPE;
			break;
		}
		/* Small writes go in whole or not at all. */
		if (room == 0 || (io->len <= PIPE_BUF && room < io->len - done)) {
			if (f->flags & O_NONBLOCK) {
				err = -EAGAIN;
				break;
			}
			err = task_wait(task_current(), &p->changed, &p->lock, NULL);
			if (err)
				break;
			continue;
		}
		tail = (p->head + p->len) % PIPE_SIZE;
		chunk = room < PIPE_SIZE - tail ? room : PIPE_SIZE - tail;
		if (chunk > io->len - done)
			chunk = io->len - done;
		err = io->copy(io, p->buf + tail, done, chunk, false);
		if (err)
			break;
		p->len += chunk;
		done += chunk;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	if (err == -EPIPE && task_current()) /* after the unlock: see task.h */
		signal_raise(task_current(), SIGPIPE);
	return done ? (ssize_t)done : err;
}

static short pipe_poll(struct vfs_file *f, short events)
{
	struct pipe *p = pipe_of(f);
	short r = 0;

	pthread_mutex_lock(&p->lock);
	if ((f->flags & O_ACCMODE) == O_RDONLY) {
		if (p->len > 0)
			r |= POLLIN | POLLRDNORM;
		if (p->writers == 0)
			r |= POLLHUP;
	} else {
		if (PIPE_SIZE - p->len >= PIPE_BUF)
			r |= POLLOUT | POLLWRNORM;
		if (p->readers == 0)
			r |= POLLERR;
	}
	pthread_mutex_unlock(&p->lock);
	return r & (events | POLLHUP | POLLERR);
}

static long pipe_ioctl(struct vfs_file *f, unsigned long cmd, uint64_t arg, void *task)
{
	struct pipe *p = pipe_of(f);
	int n;

	if (cmd != FIONREAD)
		return -ENOTTY;
	pthread_mutex_lock(&p->lock);
	n = (int)p->len;
	pthread_mutex_unlock(&p->lock);
	return mm_copy_out(((struct task *)task)->mm, arg, &n, sizeof(n));
}


static int pipe_stat(struct vfs_file *f, struct stat *st)
{
	struct pipe *p = pipe_of(f);

	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFIFO | 0600;
	st->st_nlink = 1;
	st->st_ino = p->ino;
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = p->created;
	return 0;
}

static void pipe_release(struct vfs_file *f)
{
	struct pipe *p = pipe_of(f);
	bool last;

	pthread_mutex_lock(&p->lock);
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		p->readers--;
	else
		p->writers--;
	last = --p->refs == 0;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	if (last) {
		pthread_cond_destroy(&p->changed);
		pthread_mutex_destroy(&p->lock);
		free(p);
	}
}

static const struct vfs_file_ops pipe_ops = {
	.read = pipe_read,
	.write = pipe_write,
	.poll = pipe_poll,
	.ioctl = pipe_ioctl,
	.stat = pipe_stat,
	.release = pipe_release,
	.seekable = false,
};

int pipe_create(int flags, struct vfs_file **rd, struct vfs_file **wr)
{
	static _Atomic ino_t next_ino = 1;
	struct pipe *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
	p->readers = p->writers = p->refs = 1;
	p->ino = atomic_fetch_add(&next_ino, 1);
	clock_gettime(CLOCK_REALTIME, &p->created);
	*rd = vfs_file_new_anon(&pipe_ops, p, O_RDONLY | (flags & O_NONBLOCK));
	*wr = vfs_file_new_anon(&pipe_ops, p, O_WRONLY | (flags & O_NONBLOCK));
	if (!*rd || !*wr) {
		/* Undo by hand: release would count ends that never existed. */
		free(*rd);
		free(*wr);
		pthread_cond_destroy(&p->changed);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return -ENOMEM;
	}
	p->refs = 2;
	return 0;
}

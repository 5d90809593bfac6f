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
#include "kernel/pollwake.h"
#include "kernel/task.h"

#define PIPE_SIZE (64 * 1024)

struct pipe_fifo;

struct pipe {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* data, space, an end came or went away */
	unsigned char buf[PIPE_SIZE];
	size_t head, len;       /* protected by lock */
	int readers, writers;   /* protected by lock */
	/* Opens of each end so far (protected by lock): an open of a FIFO
	 * waiting for the other end is satisfied by one that came and went. */
	unsigned long r_opens, w_opens;
	int refs;               /* ends alive; protected by lock */
	struct pipe_fifo *fifo; /* the named pipe's inode state, or NULL; fixed */
	struct timespec created;
	ino_t ino;
};

/* A named pipe's state in its inode: the pipe while anyone has it open. */
struct pipe_fifo {
	pthread_mutex_t lock;
	struct pipe *pipe; /* protected by lock */
};

static struct pipe *pipe_of(struct vfs_file *f)
{
	return f->priv;
}

/* Data to read, or no writer left (task_wait_spin's test: no lock). */
static bool readable(void *arg)
{
	struct pipe *p = arg;

	return __atomic_load_n(&p->len, __ATOMIC_ACQUIRE) ||
	       !__atomic_load_n(&p->writers, __ATOMIC_ACQUIRE);
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
		err = task_wait_spin(task_current(), &p->changed, &p->lock, NULL, readable, p, NULL);
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
	poll_wake();
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
		poll_wake();
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
	if ((f->flags & O_ACCMODE) != O_WRONLY) {
		if (p->len > 0)
			r |= POLLIN | POLLRDNORM;
		if (p->writers == 0)
			r |= POLLHUP;
	}
	if ((f->flags & O_ACCMODE) != O_RDONLY) {
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

/* Let go of one end opened with @acc (O_RDWR is both); the last one frees
 * the pipe, and a named pipe's inode forgets it (its data goes too). */
static void pipe_put_end(struct pipe *p, int acc)
{
	struct pipe_fifo *fifo = p->fifo;
	bool last;

	if (fifo)
		pthread_mutex_lock(&fifo->lock);
	pthread_mutex_lock(&p->lock);
	if (acc != O_WRONLY)
		p->readers--;
	if (acc != O_RDONLY)
		p->writers--;
	last = --p->refs == 0;
	if (last && fifo)
		fifo->pipe = NULL;
	pthread_cond_broadcast(&p->changed);
	poll_wake();
	pthread_mutex_unlock(&p->lock);
	if (fifo)
		pthread_mutex_unlock(&fifo->lock);
	if (last) {
		pthread_cond_destroy(&p->changed);
		pthread_mutex_destroy(&p->lock);
		free(p);
	}
}

static void pipe_release(struct vfs_file *f)
{
	pipe_put_end(pipe_of(f), f->flags & O_ACCMODE);
}

/* A pipe holds nothing to write back: Linux's pipes have no fsync. */
static int pipe_fsync(struct vfs_file *f)
{
	return -EINVAL;
}

static const struct vfs_file_ops pipe_ops = {
	.read = pipe_read,
	.write = pipe_write,
	.poll = pipe_poll,
	.ioctl = pipe_ioctl,
	.fsync = pipe_fsync,
	.stat = pipe_stat,
	.release = pipe_release,
	.seekable = false,
};

/* A pipe with no ends yet. */
static struct pipe *pipe_new(void)
{
	static _Atomic ino_t next_ino = 1;
	struct pipe *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
	p->ino = atomic_fetch_add(&next_ino, 1);
	clock_gettime(CLOCK_REALTIME, &p->created);
	return p;
}

int pipe_create(int flags, struct vfs_file **rd, struct vfs_file **wr)
{
	struct pipe *p = pipe_new();

	if (!p)
		return -ENOMEM;
	p->readers = p->writers = p->refs = 1;
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

/* --- named pipes --- */

struct pipe_fifo *pipe_fifo_new(void)
{
	struct pipe_fifo *fifo = calloc(1, sizeof(*fifo));

	if (fifo)
		pthread_mutex_init(&fifo->lock, NULL);
	return fifo;
}

void pipe_fifo_free(struct pipe_fifo *fifo)
{
	if (!fifo)
		return;
	pthread_mutex_destroy(&fifo->lock);
	free(fifo);
}

int pipe_fifo_open(struct pipe_fifo *fifo, struct vfs_file *f, int flags)
{
	int acc = flags & O_ACCMODE, err = 0;
	unsigned long seen;
	struct pipe *p;

	pthread_mutex_lock(&fifo->lock);
	p = fifo->pipe;
	if (!p) {
		p = pipe_new();
		if (!p) {
			pthread_mutex_unlock(&fifo->lock);
			return -ENOMEM;
		}
		p->fifo = fifo;
		fifo->pipe = p;
	}
	pthread_mutex_lock(&p->lock);
	pthread_mutex_unlock(&fifo->lock);
	/* This end counts from here on, so the other side sees it come. */
	p->refs++;
	if (acc != O_WRONLY) {
		p->readers++;
		p->r_opens++;
	}
	if (acc != O_RDONLY) {
		p->writers++;
		p->w_opens++;
	}
	pthread_cond_broadcast(&p->changed);
	poll_wake();
	if (acc == O_RDONLY && !(flags & O_NONBLOCK)) {
		seen = p->w_opens;
		while (!err && p->writers == 0 && p->w_opens == seen)
			err = task_wait(task_current(), &p->changed, &p->lock, NULL);
	} else if (acc == O_WRONLY && (flags & O_NONBLOCK)) {
		if (p->readers == 0)
			err = -ENXIO;
	} else if (acc == O_WRONLY) {
		seen = p->r_opens;
		while (!err && p->readers == 0 && p->r_opens == seen)
			err = task_wait(task_current(), &p->changed, &p->lock, NULL);
	}
	pthread_mutex_unlock(&p->lock);
	if (err) {
		pipe_put_end(p, acc);
		return err;
	}
	f->ops = &pipe_ops;
	f->priv = p;
	return 0;
}

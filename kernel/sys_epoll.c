/*
 * kernel/sys_epoll.c - eventfd and epoll.
 *
 * eventfd is a 64-bit counter file: write adds, read takes (all of it, or
 * one in EFD_SEMAPHORE mode), blocking while it cannot, pollable.
 *
 * epoll keeps an interest list of (fd, file) pairs, each holding a file
 * reference, and epoll_wait asks every file on it for its readiness the
 * way poll does (sys_poll.c): files with a poll op are asked, host-backed
 * ones are polled on the host.  While nothing is ready the waiter sleeps
 * until kernel/pollwake.h says some file changed (every millisecond it
 * looks again instead if a host fd is on the list); a signal ends the
 * wait.  Events are
 * level-triggered; EPOLLET is accepted and served level-triggered (a
 * program that drains to EAGAIN, as edge-triggered ones must, sees no
 * difference but an extra wake-up), EPOLLONESHOT disarms after one report.
 * An entry whose fd was closed (or now names another file) is skipped, as
 * Linux drops it when the file goes.  Regular files cannot be watched
 * (EPERM, as on Linux).
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

#include "kernel/pollwake.h"
#include "kernel/signal.h"
#include "kernel/syscall.h"

#define EPOLL_MAX_EVENTS  65536
#define EPOLL_MAX_ENTRIES 65536
#define EPOLL_SLICE_NS	  1000000 /* how often a waiter looks again */
#define EVENTFD_MAX	  UINT64_C(0xfffffffffffffffe)

/* --- eventfd --- */

struct eventfd {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	uint64_t count; /* protected by lock */
	bool semaphore;
};

static struct eventfd *efd_of(struct vfs_file *f)
{
	return f->priv;
}

static ssize_t efd_read(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct eventfd *e = efd_of(f);
	uint64_t v;
	int err = 0;

	if (io->len < sizeof(v))
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	while (e->count == 0 && !err) {
		if (f->flags & O_NONBLOCK)
			err = -EAGAIN;
		else
			err = task_wait(task_current(), &e->changed, &e->lock, NULL);
	}
	if (!err) {
		v = e->semaphore ? 1 : e->count;
		err = io->copy(io, &v, 0, sizeof(v), true);
		if (!err) {
			e->count -= v;
			pthread_cond_broadcast(&e->changed);
			poll_wake();
		}
	}
	pthread_mutex_unlock(&e->lock);
	return err ? err : (ssize_t)sizeof(v);
}

static ssize_t efd_write(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct eventfd *e = efd_of(f);
	uint64_t v;
	int err;

	if (io->len < sizeof(v))
		return -EINVAL;
	err = io->copy(io, &v, 0, sizeof(v), false);
	if (err)
		return err;
	if (v == UINT64_MAX)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	while (EVENTFD_MAX - e->count < v && !err) {
		if (f->flags & O_NONBLOCK)
			err = -EAGAIN;
		else
			err = task_wait(task_current(), &e->changed, &e->lock, NULL);
	}
	if (!err) {
		e->count += v;
		pthread_cond_broadcast(&e->changed);
		poll_wake();
	}
	pthread_mutex_unlock(&e->lock);
	return err ? err : (ssize_t)sizeof(v);
}

static short efd_poll(struct vfs_file *f, short events)
{
	struct eventfd *e = efd_of(f);
	short r = 0;

	pthread_mutex_lock(&e->lock);
	if (e->count > 0)
		r |= POLLIN | POLLRDNORM;
	if (e->count < EVENTFD_MAX)
		r |= POLLOUT | POLLWRNORM;
	pthread_mutex_unlock(&e->lock);
	return r & (events | POLLERR | POLLHUP);
}

static int anon_stat(struct vfs_file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = 0600; /* an anonymous inode: no file type bits */
	st->st_nlink = 1;
	st->st_blksize = 4096;
	return 0;
}

static void efd_release(struct vfs_file *f)
{
	struct eventfd *e = efd_of(f);

	pthread_cond_destroy(&e->changed);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

static const struct vfs_file_ops efd_ops = {
	.read = efd_read,
	.write = efd_write,
	.poll = efd_poll,
	.stat = anon_stat,
	.release = efd_release,
	.seekable = false,
};

int64_t sys_eventfd2(struct task *t, const uint64_t a[6])
{
	struct eventfd *e;
	struct vfs_file *f;
	int fd;

	if (a[1] & ~(uint64_t)(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->changed, NULL);
	e->count = (uint32_t)a[0];
	e->semaphore = a[1] & EFD_SEMAPHORE;
	f = vfs_file_new_anon(&efd_ops, e, O_RDWR | (int)(a[1] & EFD_NONBLOCK));
	if (!f) {
		efd_release(&(struct vfs_file){.priv = e});
		return -ENOMEM;
	}
	fd = fd_install(t->fds, 0, f, a[1] & EFD_CLOEXEC);
	if (fd < 0)
		vfs_file_put(f);
	return fd;
}

int64_t sys_eventfd(struct task *t, const uint64_t a[6])
{
	return sys_eventfd2(t, (const uint64_t[6]){a[0], 0});
}

/* --- epoll --- */

struct epoll_entry {
	int fd;
	struct vfs_file *file; /* a reference */
	uint32_t events;       /* EPOLL* asked for */
	uint64_t data;
	bool disarmed;	       /* EPOLLONESHOT reported */
};

struct epoll {
	pthread_mutex_t lock;	    /* protects the entries */
	struct epoll_entry *entries;
	size_t n, cap;
};

static const struct vfs_file_ops epoll_ops;

static struct epoll *epoll_of(struct vfs_file *f)
{
	return f->ops == &epoll_ops ? f->priv : NULL;
}

static void epoll_release(struct vfs_file *f)
{
	struct epoll *ep = f->priv;

	for (size_t i = 0; i < ep->n; i++)
		vfs_file_put(ep->entries[i].file);
	free(ep->entries);
	pthread_mutex_destroy(&ep->lock);
	free(ep);
}

/* Readiness of @f for @events now, as poll would see it. */
static uint32_t file_ready(struct vfs_file *f, uint32_t events)
{
	short ev = (short)(events & 0xffff) | POLLERR | POLLHUP;

	if (f->ops && f->ops->host_fd) {
		struct pollfd p = {.fd = f->ops->host_fd(f), .events = ev};

		return poll(&p, 1, 0) > 0 ? (uint16_t)p.revents : 0;
	}
	if (f->ops && f->ops->poll)
		return (uint16_t)f->ops->poll(f, ev);
	return events & (EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM);
}

static struct epoll_entry *find_entry(struct epoll *ep, int fd, struct vfs_file *f)
{
	for (size_t i = 0; i < ep->n; i++)
		if (ep->entries[i].fd == fd && ep->entries[i].file == f)
			return &ep->entries[i];
	return NULL;
}

/*
 * Ready entries of @ep into @out (at most @max).  Returns how many, or
 * -ENOMEM; *@host says whether a host fd is among them (nothing tells us
 * when those change).  The files are asked with no lock held, a copy of
 * the entries in hand: a FUSE file's poll waits for its server.
 */
static int epoll_scan(struct task *t, struct epoll *ep, struct epoll_event *out, int max,
		      bool *host)
{
	struct epoll_entry *snap;
	size_t n;
	int got = 0;

	pthread_mutex_lock(&ep->lock);
	n = ep->n;
	snap = n ? malloc(n * sizeof(*snap)) : NULL;
	if (n && !snap) {
		pthread_mutex_unlock(&ep->lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		snap[i] = ep->entries[i];
		vfs_file_get(snap[i].file);
	}
	pthread_mutex_unlock(&ep->lock);
	*host = false;
	for (size_t i = 0; i < n && got < max; i++) {
		struct epoll_entry *e = &snap[i], *real;
		struct vfs_file *now;
		uint32_t r;
		bool report = true;

		if (e->disarmed)
			continue;
		now = fd_get(t->fds, e->fd);
		if (now)
			vfs_file_put(now);
		if (now != e->file)
			continue; /* closed since: Linux would have dropped it */
		*host |= e->file->ops && e->file->ops->host_fd;
		r = file_ready(e->file, e->events) & (e->events | EPOLLERR | EPOLLHUP);
		if (!r)
			continue;
		if (e->events & EPOLLONESHOT) {
			/* Reported once: by us, unless another waiter was first. */
			pthread_mutex_lock(&ep->lock);
			real = find_entry(ep, e->fd, e->file);
			report = real && !real->disarmed;
			if (report)
				real->disarmed = true;
			pthread_mutex_unlock(&ep->lock);
		}
		if (!report)
			continue;
		out[got].events = r;
		out[got].data.u64 = e->data;
		got++;
	}
	for (size_t i = 0; i < n; i++)
		vfs_file_put(snap[i].file);
	free(snap);
	return got;
}

static const struct vfs_file_ops epoll_ops = {
	.stat = anon_stat,
	.release = epoll_release,
	.seekable = false,
};

int64_t sys_epoll_create1(struct task *t, const uint64_t a[6])
{
	struct epoll *ep;
	struct vfs_file *f;
	int fd;

	if (a[0] & ~(uint64_t)EPOLL_CLOEXEC)
		return -EINVAL;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	pthread_mutex_init(&ep->lock, NULL);
	f = vfs_file_new_anon(&epoll_ops, ep, O_RDWR);
	if (!f) {
		pthread_mutex_destroy(&ep->lock);
		free(ep);
		return -ENOMEM;
	}
	fd = fd_install(t->fds, 0, f, a[0] & EPOLL_CLOEXEC);
	if (fd < 0)
		vfs_file_put(f);
	return fd;
}

int64_t sys_epoll_create(struct task *t, const uint64_t a[6])
{
	if ((int)a[0] <= 0)
		return -EINVAL;
	return sys_epoll_create1(t, (const uint64_t[6]){0});
}

int64_t sys_epoll_ctl(struct task *t, const uint64_t a[6])
{
	int op = (int)a[1], fd = (int)a[2];
	struct epoll_event ev = {0};
	struct vfs_file *epf, *f = NULL;
	struct epoll_entry *e;
	struct epoll *ep;
	int64_t err = 0;

	if (op != EPOLL_CTL_DEL && mm_copy_in(t->mm, &ev, a[3], sizeof(ev)))
		return -EFAULT;
	epf = fd_get(t->fds, (int)a[0]);
	if (!epf)
		return -EBADF;
	f = fd_get(t->fds, fd);
	ep = epoll_of(epf);
	if (!f)
		err = -EBADF;
	else if (!ep || f == epf)
		err = -EINVAL;
	else if (!(f->ops && (f->ops->poll || f->ops->host_fd)) && f->ops != &epoll_ops)
		err = -EPERM; /* regular files and directories */
	if (err)
		goto out_put;
	pthread_mutex_lock(&ep->lock);
	e = find_entry(ep, fd, f);
	switch (op) {
	case EPOLL_CTL_ADD:
		if (e) {
			err = -EEXIST;
		} else if (ep->n == EPOLL_MAX_ENTRIES) {
			err = -ENOSPC;
		} else if (ep->n == ep->cap) {
			size_t cap = ep->cap ? 2 * ep->cap : 8;
			struct epoll_entry *n = realloc(ep->entries, cap * sizeof(*n));

			if (!n)
				err = -ENOMEM;
			else
				ep->entries = n, ep->cap = cap;
		}
		if (!err)
			ep->entries[ep->n++] = (struct epoll_entry){
				.fd = fd, .file = vfs_file_get(f), .events = ev.events, .data = ev.data.u64};
		break;
	case EPOLL_CTL_MOD:
		if (!e) {
			err = -ENOENT;
		} else {
			e->events = ev.events;
			e->data = ev.data.u64;
			e->disarmed = false;
		}
		break;
	case EPOLL_CTL_DEL:
		if (!e) {
			err = -ENOENT;
		} else {
			vfs_file_put(e->file);
			*e = ep->entries[--ep->n];
		}
		break;
	default:
		err = -EINVAL;
	}
	pthread_mutex_unlock(&ep->lock);
out_put:
	if (f)
		vfs_file_put(f);
	vfs_file_put(epf);
	return err;
}

static int64_t do_epoll_wait(struct task *t, int epfd, uint64_t uevents, int max, int timeout_ms)
{
	struct epoll_event *out;
	struct timespec deadline, now;
	struct vfs_file *epf;
	struct epoll *ep;
	int64_t n;

	if (max <= 0 || max > EPOLL_MAX_EVENTS)
		return -EINVAL;
	epf = fd_get(t->fds, epfd);
	if (!epf)
		return -EBADF;
	ep = epoll_of(epf);
	out = ep ? calloc((size_t)max, sizeof(*out)) : NULL;
	if (!ep || !out) {
		vfs_file_put(epf);
		return ep ? -ENOMEM : -EINVAL;
	}
	deadline = task_deadline_ms(timeout_ms > 0 ? (unsigned)timeout_ms : 0);
	for (;;) {
		struct timespec slice = {0, EPOLL_SLICE_NS};
		uint64_t seen = poll_seq();
		bool host;

		n = epoll_scan(t, ep, out, max, &host);
		if (n || timeout_ms == 0)
			break;
		if (task_signal_pending(t)) {
			n = -EINTR;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout_ms > 0 && (now.tv_sec > deadline.tv_sec ||
				       (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)))
			break;
		if (host)
			nanosleep(&slice, NULL); /* a host fd: look again soon */
		else
			(void)poll_sleep(t, seen, timeout_ms > 0 ? &deadline : NULL);
	}
	if (n > 0 && mm_copy_out(t->mm, uevents, out, (size_t)n * sizeof(*out)))
		n = -EFAULT;
	free(out);
	vfs_file_put(epf);
	return n;
}

int64_t sys_epoll_wait(struct task *t, const uint64_t a[6])
{
	return do_epoll_wait(t, (int)a[0], a[1], (int)a[2], (int)a[3] < 0 ? -1 : (int)a[3]);
}

int64_t sys_epoll_pwait(struct task *t, const uint64_t a[6])
{
	if (a[4]) {
		uint64_t mask;

		if (a[5] != 8)
			return -EINVAL;
		if (mm_copy_in(t->mm, &mask, a[4], sizeof(mask)))
			return -EFAULT;
		signal_set_temporary_mask(t, mask);
	}
	return sys_epoll_wait(t, a);
}

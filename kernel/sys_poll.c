/*
 * kernel/sys_poll.c - poll and ppoll over the files that exist so far.
 *
 * Files backed by a host fd (the host's stdio) are polled on the host with
 * the guest's timeout; every other file is always ready for reading and
 * writing, as regular files are on Linux.  Pipes, sockets and eventfds,
 * which can be not ready, come with issue 5 and its wait queues; so does
 * interrupting the wait with a signal.
 */
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "kernel/syscall.h"

#define POLL_MAX 4096

static int64_t do_poll(struct task *t, uint64_t ufds, uint64_t nfds, int timeout_ms)
{
	struct pollfd *g, *h;
	int *map, nhost = 0, ready = 0, r;
	int64_t err = 0;

	if (nfds > POLL_MAX || nfds > t->rlimits[RLIMIT_NOFILE].rlim_cur)
		return -EINVAL;
	g = calloc(nfds + 1, sizeof(*g));
	h = calloc(nfds + 1, sizeof(*h));
	map = calloc(nfds + 1, sizeof(*map));
	if (!g || !h || !map) {
		err = -ENOMEM;
		goto out_free;
	}
	err = mm_copy_in(&t->mm, g, ufds, nfds * sizeof(*g));
	if (err)
		goto out_free;
	for (uint64_t i = 0; i < nfds; i++) {
		struct vfs_file *f;

		g[i].revents = 0;
		if (g[i].fd < 0)
			continue;
		f = fd_get(&t->fds, g[i].fd);
		if (!f) {
			g[i].revents = POLLNVAL;
		} else if (f->ops && f->ops->host_fd) {
			h[nhost] = (struct pollfd){.fd = f->ops->host_fd(f), .events = g[i].events};
			map[nhost++] = (int)i;
		} else {
			g[i].revents = g[i].events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
		}
		vfs_file_put(f);
		ready += g[i].revents != 0;
	}
	if (nhost) {
		r = poll(h, (nfds_t)nhost, ready ? 0 : timeout_ms);
		if (r < 0) {
			err = -errno;
			goto out_free;
		}
		for (int j = 0; j < nhost; j++) {
			g[map[j]].revents = h[j].revents;
			ready += h[j].revents != 0;
		}
	}
	err = mm_copy_out(&t->mm, ufds, g, nfds * sizeof(*g));
	if (!err)
		err = ready;
out_free:
	free(g);
	free(h);
	free(map);
	return err;
}

int64_t sys_poll(struct task *t, const uint64_t a[6])
{
	return do_poll(t, a[0], a[1], (int)a[2] < 0 ? -1 : (int)a[2]);
}

int64_t sys_ppoll(struct task *t, const uint64_t a[6])
{
	struct timespec ts;
	int timeout = -1, err;

	if (a[2]) {
		err = mm_copy_in(&t->mm, &ts, a[2], sizeof(ts));
		if (err)
			return err;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return -EINVAL;
		timeout = ts.tv_sec > INT_MAX / 1000 - 1 ? INT_MAX
							 : (int)(ts.tv_sec * 1000 + (ts.tv_nsec + 999999) / 1000000);
	}
	/* The signal mask (a[3]) matters once signals land (issue 5). */
	return do_poll(t, a[0], a[1], timeout);
}

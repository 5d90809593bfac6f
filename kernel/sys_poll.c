/*
 * kernel/sys_poll.c - poll and ppoll over the files that exist so far.
 *
 * Files backed by a host fd (the host's stdio) are polled on the host with
 * the guest's timeout; files with their own poll op (pipes) are asked, and
 * looked at again every millisecond while the guest waits; every other
 * file is always ready, as regular files are on Linux.  Real wait queues,
 * and interrupting the wait with a signal, come with issue 5.
 */
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "kernel/signal.h"
#include "kernel/syscall.h"

#define POLL_MAX 4096

/* One pass over the fds: readiness of files with their own poll op into
 * g[].revents, host-backed ones gathered into h[] for the host.  Returns
 * how many are ready; *@waitable counts the not-ready files with a poll op. */
static int poll_pass(struct task *t, struct pollfd *g, uint64_t nfds, struct pollfd *h, int *map,
		     int *nhost, int *waitable)
{
	int ready = 0;

	*nhost = *waitable = 0;
	for (uint64_t i = 0; i < nfds; i++) {
		struct vfs_file *f;

		g[i].revents = 0;
		if (g[i].fd < 0)
			continue;
		f = fd_get(t->fds, g[i].fd);
		if (!f) {
			g[i].revents = POLLNVAL;
		} else if (f->ops && f->ops->host_fd) {
			h[*nhost] = (struct pollfd){.fd = f->ops->host_fd(f), .events = g[i].events};
			map[(*nhost)++] = (int)i;
		} else if (f->ops && f->ops->poll) {
			g[i].revents = f->ops->poll(f, g[i].events);
			*waitable += g[i].revents == 0;
		} else {
			g[i].revents = g[i].events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
		}
		vfs_file_put(f);
		ready += g[i].revents != 0;
	}
	return ready;
}

static int64_t elapsed_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

#define POLL_SIGNAL_SLICE_MS 20

static int64_t do_poll(struct task *t, uint64_t ufds, uint64_t nfds, int timeout_ms)
{
	struct pollfd *g, *h;
	struct timespec t0;
	int *map, nhost, waitable, ready, r;
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
	err = mm_copy_in(t->mm, g, ufds, nfds * sizeof(*g));
	if (err)
		goto out_free;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int64_t left = timeout_ms < 0 ? -1 : timeout_ms - elapsed_ms(&t0);
		int wait;

		if (task_signal_pending(t)) {
			err = -ERESTARTNOHAND;
			goto out_free;
		}
		ready = poll_pass(t, g, nfds, h, map, &nhost, &waitable);
		/* Files with their own readiness have no host fd to sleep on:
		 * look again every millisecond (wait queues come with issue 5). */
		wait = ready || left == 0 ? 0 : waitable ? 1 : left < 0 ? -1 : (int)left;
		if (left > 0 && wait > left)
			wait = (int)left;
		/* The host's poll does not see our signals: wake to look. */
		if (wait < 0 || wait > POLL_SIGNAL_SLICE_MS)
			wait = POLL_SIGNAL_SLICE_MS;
		if (nhost) {
			r = poll(h, (nfds_t)nhost, wait);
			if (r < 0 && errno == EINTR)
				continue; /* a kick: look at signals */
			if (r < 0) {
				err = -errno;
				goto out_free;
			}
			for (int j = 0; j < nhost; j++) {
				g[map[j]].revents = h[j].revents;
				ready += h[j].revents != 0;
			}
		} else if (wait > 0) {
			struct timespec ms = {0, 1000000};

			nanosleep(&ms, NULL);
		}
		if (ready || left == 0 || (timeout_ms >= 0 && elapsed_ms(&t0) >= timeout_ms))
			break;
		if (!waitable && !nhost && timeout_ms < 0) {
			/* Nothing can become ready: sleep until a signal. */
			struct timespec ms = {0, POLL_SIGNAL_SLICE_MS * 1000000L};

			nanosleep(&ms, NULL);
		}
	}
	err = mm_copy_out(t->mm, ufds, g, nfds * sizeof(*g));
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
		err = mm_copy_in(t->mm, &ts, a[2], sizeof(ts));
		if (err)
			return err;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return -EINVAL;
		timeout = ts.tv_sec > INT_MAX / 1000 - 1 ? INT_MAX
							 : (int)(ts.tv_sec * 1000 + (ts.tv_nsec + 999999) / 1000000);
	}
	if (a[3]) {
		uint64_t mask;

		if (a[4] != 8)
			return -EINVAL;
		err = mm_copy_in(t->mm, &mask, a[3], sizeof(mask));
		if (err)
			return err;
		signal_set_temporary_mask(t, mask);
	}
	return do_poll(t, a[0], a[1], timeout);
}

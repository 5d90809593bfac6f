/*
 * kernel/sys_poll.c - poll and ppoll over the files that exist so far.
 *
 * Files backed by a host fd (the host's stdio) are polled on the host with
 * the guest's timeout; files with their own poll op (pipes, eventfds,
 * FUSE) are asked, and asked again when kernel/pollwake.h says something
 * changed; every other file is always ready, as regular files are on
 * Linux.  A signal ends the wait (the host poll is cut into 20 ms slices
 * to look).
 * select and pselect6 are poll underneath.
 */
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "kernel/pollwake.h"
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

/*
 * Wait until one of the @nfds fds of @g is ready (revents filled in), the
 * timeout passes, or a signal comes.  Returns how many are ready, or a
 * negative errno.  Without host fds the wait is poll_sleep's, woken by
 * the first change; with them the host's poll sleeps, in slices short
 * enough to see signals, and files of our own in the set are looked at
 * again every millisecond meanwhile.
 */
static int64_t poll_fds(struct task *t, struct pollfd *g, uint64_t nfds, int timeout_ms)
{
	struct pollfd *h;
	struct timespec t0, deadline;
	int *map, nhost, waitable, ready, r;
	int64_t err = 0;

	h = calloc(nfds + 1, sizeof(*h));
	map = calloc(nfds + 1, sizeof(*map));
	if (!h || !map) {
		err = -ENOMEM;
		goto out_free;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	deadline = task_deadline_ms(timeout_ms < 0 ? 0 : (unsigned)timeout_ms);
	for (;;) {
		int64_t left = timeout_ms < 0 ? -1 : timeout_ms - elapsed_ms(&t0);
		uint64_t seen = poll_seq();
		int wait;

		if (timeout_ms >= 0 && left < 0)
			left = 0;
		if (task_signal_pending(t)) {
			err = -ERESTARTNOHAND;
			goto out_free;
		}
		ready = poll_pass(t, g, nfds, h, map, &nhost, &waitable);
		if (nhost) {
			wait = ready || left == 0 ? 0 : waitable ? 1 : left < 0 ? -1 : (int)left;
			if (wait < 0 || wait > POLL_SIGNAL_SLICE_MS)
				wait = POLL_SIGNAL_SLICE_MS;
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
		} else if (!ready && left != 0) {
			/* Woken by a change (look again), a signal (the top
			 * sees it), or the deadline (one last look). */
			(void)poll_sleep(t, seen, timeout_ms < 0 ? NULL : &deadline);
			continue;
		}
		if (ready || left == 0 || (timeout_ms >= 0 && elapsed_ms(&t0) >= timeout_ms))
			break;
	}
	err = ready;
out_free:
	free(h);
	free(map);
	return err;
}

static int64_t do_poll(struct task *t, uint64_t ufds, uint64_t nfds, int timeout_ms)
{
	struct pollfd *g;
	int64_t err;

	if (nfds > POLL_MAX || nfds > t->rlimits[RLIMIT_NOFILE].rlim_cur)
		return -EINVAL;
	g = calloc(nfds + 1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	err = mm_copy_in(t->mm, g, ufds, nfds * sizeof(*g));
	if (!err)
		err = poll_fds(t, g, nfds, timeout_ms);
	if (err >= 0 && mm_copy_out(t->mm, ufds, g, nfds * sizeof(*g)))
		err = -EFAULT;
	free(g);
	return err;
}

/* --- select --- */

#define FDSET_WORDS(n) (((n) + 63) / 64)

/*
 * select(2) on top of poll_fds: the three sets become pollfds, the
 * results go back into the sets.  @timeout_ms -1 waits forever.
 */
static int64_t do_select(struct task *t, int nfds, uint64_t ur, uint64_t uw, uint64_t ue,
			 int timeout_ms)
{
	uint64_t sets[3][FDSET_WORDS(POLL_MAX)], out[3][FDSET_WORDS(POLL_MAX)];
	const uint64_t user[3] = {ur, uw, ue};
	const short evs[3] = {POLLIN | POLLRDNORM | POLLHUP | POLLERR,
			      POLLOUT | POLLWRNORM | POLLERR, POLLPRI};
	struct pollfd *g;
	size_t words = FDSET_WORDS((size_t)nfds), n = 0;
	int64_t ready;

	if (nfds < 0 || nfds > POLL_MAX || (uint64_t)nfds > t->rlimits[RLIMIT_NOFILE].rlim_cur)
		return -EINVAL;
	memset(sets, 0, sizeof(sets));
	memset(out, 0, sizeof(out));
	for (int s = 0; s < 3; s++)
		if (user[s] && mm_copy_in(t->mm, sets[s], user[s], words * 8))
			return -EFAULT;
	g = calloc((size_t)nfds + 1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	for (int fd = 0; fd < nfds; fd++) {
		short want = 0;

		for (int s = 0; s < 3; s++)
			if (sets[s][fd / 64] >> (fd % 64) & 1)
				want |= evs[s];
		if (want)
			g[n++] = (struct pollfd){.fd = fd, .events = want};
	}
	ready = poll_fds(t, g, n, timeout_ms);
	if (ready < 0)
		goto out_free;
	ready = 0;
	for (size_t i = 0; i < n; i++) {
		if (g[i].revents & POLLNVAL) {
			ready = -EBADF;
			goto out_free;
		}
		for (int s = 0; s < 3; s++) {
			if ((sets[s][g[i].fd / 64] >> (g[i].fd % 64) & 1) && (g[i].revents & evs[s])) {
				out[s][g[i].fd / 64] |= UINT64_C(1) << (g[i].fd % 64);
				ready++;
			}
		}
	}
	for (int s = 0; s < 3; s++)
		if (user[s] && mm_copy_out(t->mm, user[s], out[s], words * 8))
			ready = -EFAULT;
out_free:
	free(g);
	return ready;
}

static int timeout_of_timeval(struct task *t, uint64_t utv, int *ms)
{
	struct {
		int64_t sec, usec;
	} tv;

	*ms = -1;
	if (!utv)
		return 0;
	if (mm_copy_in(t->mm, &tv, utv, sizeof(tv)))
		return -EFAULT;
	if (tv.sec < 0 || tv.usec < 0 || tv.usec >= 1000000)
		return -EINVAL;
	*ms = tv.sec > INT_MAX / 1000 - 1 ? INT_MAX : (int)(tv.sec * 1000 + (tv.usec + 999) / 1000);
	return 0;
}

int64_t sys_select(struct task *t, const uint64_t a[6])
{
	int ms, err = timeout_of_timeval(t, a[4], &ms);

	return err ? err : do_select(t, (int)a[0], a[1], a[2], a[3], ms);
}

int64_t sys_pselect6(struct task *t, const uint64_t a[6])
{
	struct timespec ts;
	struct {
		uint64_t mask_ptr, size;
	} sig;
	int ms = -1;

	if (a[4]) {
		if (mm_copy_in(t->mm, &ts, a[4], sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return -EINVAL;
		ms = ts.tv_sec > INT_MAX / 1000 - 1 ? INT_MAX
						   : (int)(ts.tv_sec * 1000 + (ts.tv_nsec + 999999) / 1000000);
	}
	if (a[5]) {
		uint64_t mask;

		if (mm_copy_in(t->mm, &sig, a[5], sizeof(sig)))
			return -EFAULT;
		if (sig.mask_ptr) {
			if (sig.size != 8)
				return -EINVAL;
			if (mm_copy_in(t->mm, &mask, sig.mask_ptr, sizeof(mask)))
				return -EFAULT;
			signal_set_temporary_mask(t, mask);
		}
	}
	return do_select(t, (int)a[0], a[1], a[2], a[3], ms);
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

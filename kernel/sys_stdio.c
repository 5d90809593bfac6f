/*
 * kernel/sys_stdio.c - fds 0, 1 and 2: the host's stdio.
 *
 * Until the VFS lands (issue 4) a guest has exactly three file
 * descriptors, backed by the host fds ksentry was started with.  Data
 * moves through a bounce buffer with the guest's rights checked by
 * mm_copy_in/out; a bad buffer is -EFAULT before anything is written.
 */
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "abi/termios.h"
#include "kernel/syscall.h"

#define BOUNCE    (64 * 1024)
#define IOV_MAX_  1024

static int host_fd(struct task *t, uint64_t fd)
{
	if (fd > 2)
		return -EBADF;
	return t->k->host_stdio[fd] >= 0 ? t->k->host_stdio[fd] : -EBADF;
}

/* Write @len guest bytes at @buf to host fd @hfd.  Returns bytes written
 * (short if the host wrote short) or a negative errno if none were. */
static int64_t write_guest(struct task *t, int hfd, uint64_t buf, uint64_t len)
{
	static __thread unsigned char bounce[BOUNCE];
	uint64_t done = 0;

	while (done < len) {
		size_t n = len - done < BOUNCE ? (size_t)(len - done) : BOUNCE;
		ssize_t w;
		int err = mm_copy_in(&t->mm, bounce, buf + done, n);

		if (err)
			return done ? (int64_t)done : err;
		w = write(hfd, bounce, n);
		if (w < 0)
			return done ? (int64_t)done : -errno;
		done += (uint64_t)w;
		if ((size_t)w < n)
			break;
	}
	return (int64_t)done;
}

static int64_t read_guest(struct task *t, int hfd, uint64_t buf, uint64_t len)
{
	static __thread unsigned char bounce[BOUNCE];
	size_t n = len < BOUNCE ? (size_t)len : BOUNCE;
	ssize_t r;
	int err;

	if (n == 0)
		return 0;
	r = read(hfd, bounce, n);
	if (r < 0)
		return -errno;
	err = mm_copy_out(&t->mm, buf, bounce, (size_t)r);
	return err ? err : r;
}

int64_t sys_write(struct task *t, const uint64_t a[6])
{
	int hfd = host_fd(t, a[0]);

	if (hfd < 0)
		return hfd;
	if ((int64_t)a[2] < 0)
		return -EINVAL;
	return write_guest(t, hfd, a[1], a[2]);
}

int64_t sys_read(struct task *t, const uint64_t a[6])
{
	int hfd = host_fd(t, a[0]);

	if (hfd < 0)
		return hfd;
	if ((int64_t)a[2] < 0)
		return -EINVAL;
	return read_guest(t, hfd, a[1], a[2]);
}

/* Copy in and check an iovec array: at most IOV_MAX entries whose total
 * fits in ssize_t, as Linux requires. */
static int64_t get_iovecs(struct task *t, uint64_t uiov, uint64_t cnt, struct iovec *iov)
{
	uint64_t total = 0;
	int err;

	if (cnt > IOV_MAX_)
		return -EINVAL;
	err = mm_copy_in(&t->mm, iov, uiov, (size_t)cnt * sizeof(*iov));
	if (err)
		return err;
	for (uint64_t i = 0; i < cnt; i++)
		if (__builtin_add_overflow(total, (uint64_t)iov[i].iov_len, &total) ||
		    total > INT64_MAX)
			return -EINVAL;
	return 0;
}

typedef int64_t (*io_fn)(struct task *t, int hfd, uint64_t buf, uint64_t len);

static int64_t vector_io(struct task *t, const uint64_t a[6], io_fn fn)
{
	static __thread struct iovec iov[IOV_MAX_];
	int hfd = host_fd(t, a[0]);
	int64_t done = 0, err;

	if (hfd < 0)
		return hfd;
	err = get_iovecs(t, a[1], a[2], iov);
	if (err)
		return err;
	for (uint64_t i = 0; i < a[2]; i++) {
		int64_t n = fn(t, hfd, (uint64_t)iov[i].iov_base, iov[i].iov_len);

		if (n < 0)
			return done ? done : n;
		done += n;
		if ((uint64_t)n < iov[i].iov_len)
			break;
	}
	return done;
}

int64_t sys_writev(struct task *t, const uint64_t a[6])
{
	return vector_io(t, a, write_guest);
}

int64_t sys_readv(struct task *t, const uint64_t a[6])
{
	return vector_io(t, a, read_guest);
}

int64_t sys_close(struct task *t, const uint64_t a[6])
{
	if (a[0] > 2 || t->k->host_stdio[a[0]] < 0)
		return -EBADF;
	t->k->host_stdio[a[0]] = -1; /* the host fd stays open for ksentry */
	return 0;
}

int64_t sys_ioctl(struct task *t, const uint64_t a[6])
{
	int hfd = host_fd(t, a[0]);
	struct abi_termios tio;
	struct winsize ws;

	if (hfd < 0)
		return hfd;
	switch (a[1]) {
	case TCGETS:
		if (ioctl(hfd, TCGETS, &tio) < 0)
			return -errno;
		return mm_copy_out(&t->mm, a[2], &tio, sizeof(tio));
	case TIOCGWINSZ:
		if (ioctl(hfd, TIOCGWINSZ, &ws) < 0)
			return -errno;
		return mm_copy_out(&t->mm, a[2], &ws, sizeof(ws));
	default:
		return -ENOTTY;
	}
}

/* The stat of a stdio fd, with the host's identity numbers hidden. */
static int64_t stat_stdio(struct task *t, int hfd, uint64_t ustat)
{
	struct stat st;

	if (fstat(hfd, &st) < 0)
		return -errno;
	st.st_dev = 0;
	st.st_ino = (ino_t)hfd + 1;
	st.st_uid = 0;
	st.st_gid = 0;
	return mm_copy_out(&t->mm, ustat, &st, sizeof(st));
}

int64_t sys_fstat(struct task *t, const uint64_t a[6])
{
	int hfd = host_fd(t, a[0]);

	return hfd < 0 ? hfd : stat_stdio(t, hfd, a[1]);
}

int64_t sys_newfstatat(struct task *t, const uint64_t a[6])
{
	char path[2];
	long len;
	int hfd;

	len = mm_copy_in_string(&t->mm, path, a[1], sizeof(path));
	if (len == -EFAULT)
		return -EFAULT;
	if (len != 0 || !(a[3] & AT_EMPTY_PATH))
		return -ENOENT; /* paths need the VFS */
	hfd = host_fd(t, a[0]);
	return hfd < 0 ? hfd : stat_stdio(t, hfd, a[2]);
}

static int64_t do_readlink(struct task *t, uint64_t upath, uint64_t ubuf, uint64_t size)
{
	char path[PATH_MAX];
	size_t n;
	long len;
	int err;

	len = mm_copy_in_string(&t->mm, path, upath, sizeof(path));
	if (len < 0)
		return len;
	if ((int64_t)size <= 0)
		return -EINVAL;
	if (strcmp(path, "/proc/self/exe") != 0)
		return -ENOENT; /* other paths need the VFS */
	n = strlen(t->exe);
	if (n > size)
		n = (size_t)size;
	err = mm_copy_out(&t->mm, ubuf, t->exe, n);
	return err ? err : (int64_t)n;
}

int64_t sys_readlink(struct task *t, const uint64_t a[6])
{
	return do_readlink(t, a[0], a[1], a[2]);
}

int64_t sys_readlinkat(struct task *t, const uint64_t a[6])
{
	return do_readlink(t, a[1], a[2], a[3]);
}

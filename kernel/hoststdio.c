/*
 * kernel/hoststdio.c - see hoststdio.h.
 */
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "abi/termios.h"
#include "kernel/hoststdio.h"
#include "kernel/task.h"

#define BOUNCE (64 * 1024)

static int hfd_of(struct vfs_file *f)
{
	return (int)(intptr_t)f->priv;
}

static ssize_t stdio_read(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	static __thread unsigned char bounce[BOUNCE];
	size_t n = io->len < BOUNCE ? io->len : BOUNCE;
	ssize_t r;
	int err;

	if (n == 0)
		return 0;
	r = read(hfd_of(f), bounce, n);
	if (r <= 0)
		return r < 0 ? -errno : 0;
	err = io->copy(io, bounce, 0, (size_t)r, true);
	return err ? err : r;
}

static ssize_t stdio_write(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	(void)off;
	return vfs_io_write_fd(io, hfd_of(f), -1);
}

static long stdio_ioctl(struct vfs_file *f, unsigned long cmd, uint64_t arg, void *task)
{
	struct task *t = task;
	struct abi_termios tio;
	struct winsize ws;
	int err, v;

	switch (cmd) {
	case TCGETS:
		if (ioctl(hfd_of(f), TCGETS, &tio) < 0)
			return -errno;
		return mm_copy_out(t->mm, arg, &tio, sizeof(tio));
	case TCSETS:
	case TCSETSW:
	case TCSETSF:
		/* The guest may set its terminal's modes (a shell's raw mode),
		 * as a container runtime lets it: it is the user's terminal. */
		err = mm_copy_in(t->mm, &tio, arg, sizeof(tio));
		if (err)
			return err;
		return ioctl(hfd_of(f), cmd, &tio) < 0 ? -errno : 0;
	case TIOCGWINSZ:
		if (ioctl(hfd_of(f), TIOCGWINSZ, &ws) < 0)
			return -errno;
		return mm_copy_out(t->mm, arg, &ws, sizeof(ws));
	case TIOCSWINSZ:
		err = mm_copy_in(t->mm, &ws, arg, sizeof(ws));
		if (err)
			return err;
		return ioctl(hfd_of(f), TIOCSWINSZ, &ws) < 0 ? -errno : 0;
	case TCFLSH:
	case TCSBRK:
	case TCXONC:
		return ioctl(hfd_of(f), cmd, (int)arg) < 0 ? -errno : 0;
	case TIOCGPGRP:
		/* The terminal's foreground group is the sandbox's first
		 * process group, never a host one. */
		if (!isatty(hfd_of(f)))
			return -ENOTTY;
		v = 1;
		return mm_copy_out(t->mm, arg, &v, sizeof(v));
	case TIOCSPGRP:
		if (!isatty(hfd_of(f)))
			return -ENOTTY;
		err = mm_copy_in(t->mm, &v, arg, sizeof(v));
		return err ? err : v == 1 ? 0 : -EPERM;
	default:
		return -ENOTTY;
	}
}

static int stdio_stat(struct vfs_file *f, struct stat *st)
{
	if (fstat(hfd_of(f), st) < 0)
		return -errno;
	st->st_dev = 0;
	st->st_ino = (ino_t)hfd_of(f) + 1;
	st->st_uid = 0;
	st->st_gid = 0;
	return 0;
}

static const struct vfs_file_ops stdio_ops = {
	.host_fd = hfd_of,
	.read = stdio_read,
	.write = stdio_write,
	.ioctl = stdio_ioctl,
	.stat = stdio_stat,
	.seekable = false,
};

struct vfs_file *hoststdio_file(int hfd, int flags)
{
	return vfs_file_new_anon(&stdio_ops, (void *)(intptr_t)hfd, flags);
}

void hoststdio_attach(struct vfs_file *f, int hfd)
{
	f->ops = &stdio_ops;
	f->priv = (void *)(intptr_t)hfd;
}

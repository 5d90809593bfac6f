/*
 * kernel/devfs.c - /dev: the character devices every program expects.
 *
 * null reads as end of file and swallows writes; zero reads as zeros;
 * full reads as zeros and refuses writes with ENOSPC; random and urandom
 * read from the host's getrandom (the same pool either way, as on modern
 * Linux); tty is ksentry's terminal, when it has one.  fuse opens a FUSE
 * connection through the kernel's file system hooks (fuse/ registers
 * them; the kernel itself knows nothing of FUSE).
 *
 * A device node made elsewhere (mknod on tmpfs) with one of these numbers
 * opens the same device: vfs_chrdev_open, the sandbox's whole table of
 * character drivers.
 */
#include <string.h>
#include <sys/random.h>
#include <sys/sysmacros.h>

#include <unistd.h>

#include "kernel/devfs.h"
#include "kernel/kernel.h"
#include "kernel/hoststdio.h"
#include "kernel/vfs/synth.h"

#define CHUNK 4096

static ssize_t read_eof(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	return 0;
}

static ssize_t write_sink(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	return (ssize_t)io->len;
}

static ssize_t write_full(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	return -ENOSPC;
}

/* Fill the caller's buffer from @fill, a chunk at a time. */
static ssize_t read_fill(struct vfs_io *io, void (*fill)(unsigned char *, size_t))
{
	unsigned char buf[CHUNK];
	size_t done = 0;

	while (done < io->len) {
		size_t n = io->len - done < CHUNK ? io->len - done : CHUNK;
		int err;

		fill(buf, n);
		err = io->copy(io, buf, done, n, true);
		if (err)
			return done ? (ssize_t)done : err;
		done += n;
	}
	return (ssize_t)done;
}

static void fill_zero(unsigned char *buf, size_t n)
{
	memset(buf, 0, n);
}

static void fill_random(unsigned char *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = getrandom(buf + done, n - done, 0);

		if (r > 0)
			done += (size_t)r;
	}
}

static ssize_t read_zero(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	return read_fill(io, fill_zero);
}

static ssize_t read_random(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	return read_fill(io, fill_random);
}

static const struct vfs_file_ops null_ops = {.read = read_eof, .write = write_sink,
					     .seekable = true};
static const struct vfs_file_ops zero_ops = {.read = read_zero, .write = write_sink,
					     .seekable = true};
static const struct vfs_file_ops full_ops = {.read = read_zero, .write = write_full,
					     .seekable = true};
static const struct vfs_file_ops random_ops = {.read = read_random, .write = write_sink,
					       .seekable = true};

/* /dev/tty: the terminal ksentry runs on, if its stdin is one; without a
 * controlling terminal Linux says ENXIO too. */
static int tty_open(void *priv, struct vfs_file *f, int flags)
{
	if (!isatty(0))
		return -ENXIO;
	hoststdio_attach(f, 0);
	return 0;
}

/* makedev(1, minor) for minor < 256, as a constant expression. */
#define CHR(nm, ops, minor_)                                                                       \
	{                                                                                          \
		.name = nm, .mode = S_IFCHR | 0666, .fops = &ops, .rdev = (dev_t)(1 << 8 | (minor_))      \
	}

/* /dev/fuse: a new FUSE connection, if the sandbox has FUSE. */
static int fuse_open(void *priv, struct vfs_file *f, int flags)
{
	struct kernel *k = priv;

	if (!k || !k->fs_hooks || !k->fs_hooks->dev_fuse_open)
		return -ENODEV;
	return k->fs_hooks->dev_fuse_open(k, f, flags);
}

static const struct synth_node dev_nodes[] = {
	CHR("null", null_ops, 3),     CHR("zero", zero_ops, 5),
	CHR("full", full_ops, 7),     CHR("random", random_ops, 8),
	CHR("urandom", random_ops, 9),
	{.name = "tty", .mode = S_IFCHR | 0666, .open = tty_open, .rdev = (dev_t)(5 << 8 | 0)},
	{.name = "fuse", .mode = S_IFCHR | 0666, .open = fuse_open, .rdev = (dev_t)(10 << 8 | 229)},
	{.name = NULL},
};

int vfs_chrdev_open(dev_t rdev, struct vfs_file *f, int flags)
{
	for (const struct synth_node *n = dev_nodes; n->name; n++) {
		/* /dev/fuse needs its sandbox's hooks, which a node elsewhere
		 * does not carry: it has no driver there. */
		if (n->rdev != rdev || !strcmp(n->name, "fuse"))
			continue;
		if (n->open)
			return n->open(NULL, f, flags);
		f->ops = n->fops;
		return 0;
	}
	return -ENXIO;
}

static const struct synth_node dev_root = {.name = "/", .mode = S_IFDIR | 0755,
					   .children = dev_nodes};

int devfs_create(struct kernel *k, struct vfs_fs **out)
{
	return synth_create_fs("devtmpfs", &dev_root, k, out);
}

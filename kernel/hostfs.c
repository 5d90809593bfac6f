/*
 * kernel/hostfs.c - a host directory, read-only, as a file system.
 *
 * Each inode holds an O_PATH fd for its host object.  A lookup opens one
 * component beneath its directory's fd with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) and O_NOFOLLOW: the name
 * has no '/' and is neither "." nor "..", so the host kernel resolves
 * nothing, and a symlink is opened as itself.  The sentry reads the link
 * (readlinkat on the O_PATH fd) and resolves it in the sandbox's own
 * namespace, so no host symlink can lead outside the root.
 *
 * Data is read by reopening the O_PATH fd through the sentry's own
 * /proc/self/fd, which opens exactly that inode (no name is looked up
 * again, so a host rename race cannot swap the file).  Nothing is ever
 * written: the mount is read-only and the write operations are absent.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel/hostfs.h"

struct host_inode {
	struct vfs_inode base;
	int fd; /* O_PATH */
};

struct host_dir {
	int fd; /* O_RDONLY | O_DIRECTORY, for getdents64 */
	_Alignas(8) char buf[8192]; /* getdents64 records are 8-byte aligned */
	size_t len, at;
	bool eof;
};

static const struct vfs_inode_ops host_inode_ops;

static int fd_of(struct vfs_inode *i)
{
	return ((struct host_inode *)i)->fd;
}

static struct vfs_inode *inode_new(struct vfs_fs *fs, int fd, mode_t mode)
{
	struct host_inode *hi = calloc(1, sizeof(*hi));

	if (!hi)
		return NULL;
	vfs_inode_init(&hi->base, fs, &host_inode_ops, mode);
	hi->fd = fd;
	return &hi->base;
}

static int open_beneath(int dirfd, const char *name, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static int host_lookup(struct vfs_inode *dir, const char *name, struct vfs_inode **out)
{
	struct stat st;
	int fd;

	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -ENOENT; /* the VFS never asks; never let the host resolve */
	fd = open_beneath(fd_of(dir), name, O_PATH);
	if (fd < 0)
		return fd == -ELOOP || fd == -EXDEV ? -ENOENT : fd;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -EIO;
	}
	*out = inode_new(dir->fs, fd, st.st_mode);
	if (!*out) {
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

static int host_readlink(struct vfs_inode *inode, char *buf, size_t size)
{
	ssize_t n = readlinkat(fd_of(inode), "", buf, size);

	return n < 0 ? -errno : (int)n;
}

static int host_getattr(struct vfs_inode *inode, struct stat *st)
{
	if (fstat(fd_of(inode), st) < 0)
		return -errno;
	st->st_ino = inode->ino; /* the sandbox's numbers, not the host's */
	return 0;
}

/* Open the very inode behind @inode for @flags. */
static int reopen(struct vfs_inode *inode, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd_of(inode));
	/* Following this magic link is the point: it names the inode itself. */
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* --- files --- */

static ssize_t host_read(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	unsigned char buf[65536];
	size_t done = 0;

	while (done < io->len) {
		size_t n = io->len - done < sizeof(buf) ? io->len - done : sizeof(buf);
		ssize_t r = pread((int)(intptr_t)f->priv, buf, n, (off_t)(off + done));
		int err;

		if (r < 0)
			return done ? (ssize_t)done : -errno;
		if (r == 0)
			break;
		err = io->copy(io, buf, done, (size_t)r, true);
		if (err)
			return done ? (ssize_t)done : err;
		done += (size_t)r;
		if ((size_t)r < n)
			break;
	}
	return (ssize_t)done;
}

static void host_file_release(struct vfs_file *f)
{
	close((int)(intptr_t)f->priv);
}

static const struct vfs_file_ops host_file_ops = {
	.read = host_read,
	.release = host_file_release,
	.seekable = true,
};

/* Read the next host entry into *@d; false at the end or on error. */
static bool next_host_entry(struct host_dir *hd, struct dirent64 **d)
{
	if (hd->at >= hd->len) {
		long n;

		if (hd->eof)
			return false;
		n = syscall(SYS_getdents64, hd->fd, hd->buf, sizeof(hd->buf));
		if (n <= 0) {
			hd->eof = true;
			return false;
		}
		hd->len = (size_t)n;
		hd->at = 0;
	}
	*d = (struct dirent64 *)(hd->buf + hd->at);
	return true;
}

static int host_iterate(struct vfs_file *f, uint64_t *pos, vfs_emit_fn emit, void *ctx)
{
	struct host_dir *hd = f->priv;
	struct dirent64 *d;

	if (*pos == 0) {
		/* Fresh or rewound: start the host directory over. */
		lseek(hd->fd, 0, SEEK_SET);
		hd->len = hd->at = 0;
		hd->eof = false;
		*pos = 1;
	}
	while (next_host_entry(hd, &d)) {
		/* Host inode numbers are not shown; a stable hash stands in. */
		struct vfs_dirent e = {.ino = d->d_ino ^ 0x5a5a5a5a5a5aULL, .type = d->d_type,
				       .name = d->d_name, .len = strlen(d->d_name)};

		if (emit(ctx, &e))
			return 0;
		hd->at += d->d_reclen;
		(*pos)++;
	}
	return 0;
}

static void host_dir_release(struct vfs_file *f)
{
	struct host_dir *hd = f->priv;

	close(hd->fd);
	free(hd);
}

static const struct vfs_file_ops host_dir_ops = {
	.iterate = host_iterate,
	.release = host_dir_release,
	.seekable = true,
};

static int host_open(struct vfs_inode *inode, struct vfs_file *f, int flags)
{
	struct host_dir *hd;
	int fd;

	if ((flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	if (!S_ISREG(inode->mode) && !S_ISDIR(inode->mode))
		return -ENXIO; /* host devices, fifos and sockets stay on the host */
	fd = reopen(inode, O_RDONLY | (S_ISDIR(inode->mode) ? O_DIRECTORY : 0));
	if (fd < 0)
		return fd;
	if (S_ISREG(inode->mode)) {
		f->ops = &host_file_ops;
		f->priv = (void *)(intptr_t)fd;
		return 0;
	}
	hd = calloc(1, sizeof(*hd));
	if (!hd) {
		close(fd);
		return -ENOMEM;
	}
	hd->fd = fd;
	f->ops = &host_dir_ops;
	f->priv = hd;
	return 0;
}

static void host_evict(struct vfs_inode *inode)
{
	close(fd_of(inode));
	free(inode);
}

static const struct vfs_inode_ops host_inode_ops = {
	.lookup = host_lookup,
	.readlink = host_readlink,
	.getattr = host_getattr,
	.open = host_open,
	.evict = host_evict,
};

static void host_destroy(struct vfs_fs *fs)
{
	vfs_dentry_put(fs->root);
	free(fs);
}

int hostfs_create(const char *dir, struct vfs_fs **out)
{
	struct vfs_fs *fs;
	struct vfs_inode *root;
	struct stat st;
	int fd, err;

	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = -ENOMEM;
	fs = calloc(1, sizeof(*fs));
	if (!fs || fstat(fd, &st) < 0)
		goto err_close;
	fs->type = "hostfs";
	fs->magic = 0x6b736e74;
	fs->destroy = host_destroy;
	root = inode_new(fs, fd, st.st_mode);
	if (!root)
		goto err_close;
	if (vfs_fs_set_root(fs, root)) { /* the inode's evict closed fd */
		free(fs);
		return -ENOMEM;
	}
	*out = fs;
	return 0;
err_close:
	free(fs);
	close(fd);
	return err;
}

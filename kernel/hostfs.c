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
 * A cached name may go stale when the host tree changes (a --mount'ed
 * directory being worked in, a hostile host process swapping a directory
 * for a symlink): host_revalidate checks it on every walk through it.
 * Since the dentry cache pins one host fd per cached inode, an EMFILE
 * from the host makes vfs_shrink let the unused cached names go (closing
 * their fds), and the call is tried again.
 *
 * Data is read by reopening the O_PATH fd through the sentry's own
 * /proc/self/fd, which opens exactly that inode (no name is looked up
 * again, so a host rename race cannot swap the file).
 *
 * A host character device node opens as the sandbox's device of the same
 * number (vfs_chrdev_open), never as the host's; host FIFOs, sockets and
 * block devices do not open (ENXIO).
 *
 * A hostfs is read-only (its inodes have no write operations) unless it
 * was made writable (`--mount HOST:GUEST:rw`).  Then every change is one
 * *at call on a directory fd inside the mount with one component that is
 * neither "." nor "..": the host follows no symlink (O_NOFOLLOW, openat2
 * RESOLVE_BENEATH for creation; unlinkat, renameat2, mkdirat, symlinkat
 * and mknodat never follow a final link), and attribute changes go
 * through /proc/self/fd to the inode itself.  Device nodes cannot be made.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/hostfs.h"

struct host_inode {
	struct vfs_inode base;
	int fd; /* O_PATH */
	dev_t dev; /* the host object's identity, fixed: revalidate compares it */
	ino_t host_ino;
};

struct host_dir {
	int fd; /* O_RDONLY | O_DIRECTORY, for getdents64 */
	_Alignas(8) char buf[8192]; /* getdents64 records are 8-byte aligned */
	size_t len, at;
	uint64_t pos; /* iterate's position the stream is at: 1 + entries taken */
	bool eof;
};

static const struct vfs_inode_ops host_inode_ops, host_rw_inode_ops;

static bool writable(const struct vfs_fs *fs)
{
	return fs->priv != NULL;
}

static int fd_of(struct vfs_inode *i)
{
	return ((struct host_inode *)i)->fd;
}

static struct vfs_inode *inode_new(struct vfs_fs *fs, int fd, const struct stat *st)
{
	struct host_inode *hi = calloc(1, sizeof(*hi));

	if (!hi)
		return NULL;
	vfs_inode_init(&hi->base, fs, writable(fs) ? &host_rw_inode_ops : &host_inode_ops,
		       st->st_mode);
	hi->fd = fd;
	hi->dev = st->st_dev;
	hi->host_ino = st->st_ino;
	return &hi->base;
}

static int open_beneath_mode(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.mode = flags & O_CREAT ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	int err = fd < 0 ? errno : 0;

	if ((err == EMFILE || err == ENFILE) && vfs_shrink()) {
		fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		err = fd < 0 ? errno : 0;
	}
	return fd < 0 ? -err : (int)fd;
}

static int open_beneath(int dirfd, const char *name, int flags)
{
	return open_beneath_mode(dirfd, name, flags, 0);
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
	*out = inode_new(dir->fs, fd, &st);
	if (!*out) {
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Is @name in @dir still the host object @child was looked up as?  The
 * host tree may change under a sandbox (a --mount'ed directory being
 * worked in, or a hostile process swapping a directory for a symlink), so
 * a cached name is checked on each walk through it: one fstatat beneath
 * the directory's fd, following nothing, comparing device, inode number
 * and type.  A changed name is dropped and looked up afresh; what an open
 * file or a cwd already holds stays the object it was.
 */
static int host_revalidate(struct vfs_inode *dir, const char *name, struct vfs_inode *child)
{
	struct host_inode *hc = (struct host_inode *)child;
	struct stat st;

	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (fstatat(fd_of(dir), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return st.st_dev == hc->dev && st.st_ino == hc->host_ino &&
	       (st.st_mode & S_IFMT) == (child->mode & S_IFMT);
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
	int fd, err;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd_of(inode));
	/* Following this magic link is the point: it names the inode itself. */
	fd = open(path, flags | O_CLOEXEC);
	err = fd < 0 ? errno : 0;
	if ((err == EMFILE || err == ENFILE) && vfs_shrink()) {
		fd = open(path, flags | O_CLOEXEC);
		err = fd < 0 ? errno : 0;
	}
	return fd < 0 ? -err : fd;
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

static ssize_t host_write(struct vfs_file *f, struct vfs_io *io, uint64_t off);
static int host_fsync(struct vfs_file *f);

static const struct vfs_file_ops host_rw_file_ops = {
	.read = host_read,
	.write = host_write,
	.fsync = host_fsync,
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

/* Start the host directory over and take entries up to position @pos
 * (lseek and seekdir on the sandbox's fd; past the end: at the end). */
static void host_dir_seek(struct host_dir *hd, uint64_t pos)
{
	struct dirent64 *d;

	lseek(hd->fd, 0, SEEK_SET);
	hd->len = hd->at = 0;
	hd->eof = false;
	hd->pos = 1;
	while (hd->pos < pos && next_host_entry(hd, &d)) {
		hd->at += d->d_reclen;
		hd->pos++;
	}
}

static int host_iterate(struct vfs_file *f, uint64_t *pos, vfs_emit_fn emit, void *ctx)
{
	struct host_dir *hd = f->priv;
	struct dirent64 *d;

	if (*pos == 0) { /* fresh or rewound: start over */
		*pos = 1;
		hd->pos = 0;
	}
	if (hd->pos != *pos) {
		host_dir_seek(hd, *pos);
		if (hd->pos != *pos)
			return 0; /* sought past the end */
	}
	while (next_host_entry(hd, &d)) {
		/* Host inode numbers are not shown; a stable hash stands in. */
		struct vfs_dirent e = {.ino = d->d_ino ^ 0x5a5a5a5a5a5aULL, .type = d->d_type,
				       .name = d->d_name, .len = strlen(d->d_name)};

		if (emit(ctx, &e))
			return 0;
		hd->at += d->d_reclen;
		*pos = ++hd->pos;
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
	struct stat st;
	int fd;

	if (S_ISCHR(inode->mode)) {
		/* The sandbox's device of that number, never the host's. */
		if (fstat(fd_of(inode), &st) < 0)
			return -errno;
		return vfs_chrdev_open(st.st_rdev, f, flags);
	}
	if ((flags & O_ACCMODE) != O_RDONLY && (!writable(inode->fs) || !S_ISREG(inode->mode)))
		return writable(inode->fs) ? -EISDIR : -EROFS;
	if ((flags & O_ACCMODE) != O_RDONLY) {
		fd = reopen(inode, flags & O_ACCMODE);
		if (fd < 0)
			return fd;
		f->ops = &host_rw_file_ops;
		f->priv = (void *)(intptr_t)fd;
		return 0;
	}
	if (!S_ISREG(inode->mode) && !S_ISDIR(inode->mode))
		return -ENXIO; /* host fifos, sockets and block devices stay on the host */
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

/* --- writing (writable hostfs only) --- */

static ssize_t host_write(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	if (off > INT64_MAX)
		return -EFBIG;
	return vfs_io_write_fd(io, (int)(intptr_t)f->priv, (int64_t)off);
}

static int host_fsync(struct vfs_file *f)
{
	return fsync((int)(intptr_t)f->priv) ? -errno : 0;
}

/* One component the host may be asked about. */
static int name_ok(const char *name)
{
	return strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ? -EINVAL : 0;
}

/* After a successful *at call: the new object as an inode. */
static int made(struct vfs_inode *dir, const char *name, int r, struct vfs_inode **out)
{
	return r < 0 ? -errno : out ? host_lookup(dir, name, out) : 0;
}

static int host_create(struct vfs_inode *dir, const char *name, mode_t mode,
		       struct vfs_inode **out)
{
	int fd = name_ok(name) ?: open_beneath_mode(fd_of(dir), name, O_CREAT | O_EXCL | O_WRONLY,
						    mode & 07777);

	if (fd < 0)
		return fd;
	close(fd);
	return host_lookup(dir, name, out);
}

static int host_mkdir(struct vfs_inode *dir, const char *name, mode_t mode, struct vfs_inode **out)
{
	int err = name_ok(name);

	return err ? err : made(dir, name, mkdirat(fd_of(dir), name, mode & 07777), out);
}

static int host_mknod(struct vfs_inode *dir, const char *name, mode_t mode, dev_t dev,
		      struct vfs_inode **out)
{
	int err = name_ok(name);

	if (err)
		return err;
	if (!S_ISFIFO(mode) && !S_ISREG(mode))
		return -EPERM; /* no host device nodes, sockets, from a sandbox */
	return made(dir, name, mknodat(fd_of(dir), name, mode & (S_IFMT | 07777), 0), out);
}

static int host_symlink(struct vfs_inode *dir, const char *name, const char *target,
			struct vfs_inode **out)
{
	int err = name_ok(name);

	return err ? err : made(dir, name, symlinkat(target, fd_of(dir), name), out);
}

static int host_link(struct vfs_inode *dir, const char *name, struct vfs_inode *target)
{
	char path[64];
	int err = name_ok(name);

	if (err)
		return err;
	if (target->fs != dir->fs)
		return -EXDEV;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd_of(target));
	return made(dir, name, linkat(AT_FDCWD, path, fd_of(dir), name, AT_SYMLINK_FOLLOW), NULL);
}

static int host_unlink(struct vfs_inode *dir, const char *name, struct vfs_inode *victim)
{
	int err = name_ok(name);

	return err ? err : made(dir, name, unlinkat(fd_of(dir), name, 0), NULL);
}

static int host_rmdir(struct vfs_inode *dir, const char *name, struct vfs_inode *victim)
{
	int err = name_ok(name);

	return err ? err : made(dir, name, unlinkat(fd_of(dir), name, AT_REMOVEDIR), NULL);
}

static int host_rename(struct vfs_inode *odir, const char *oname, struct vfs_inode *ndir,
		       const char *nname, unsigned flags)
{
	int err = name_ok(oname) ?: name_ok(nname);

	if (err)
		return err;
	if (odir->fs != ndir->fs)
		return -EXDEV;
	return made(odir, oname,
		    (int)syscall(SYS_renameat2, fd_of(odir), oname, fd_of(ndir), nname, flags), NULL);
}

static int host_setattr(struct vfs_inode *inode, const struct vfs_setattr *a)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd_of(inode));
	if ((a->valid & VFS_ATTR_MODE) && !S_ISLNK(inode->mode) && chmod(path, a->mode & 07777))
		return -errno;
	if ((a->valid & (VFS_ATTR_UID | VFS_ATTR_GID)) &&
	    fchownat(fd_of(inode), "", a->valid & VFS_ATTR_UID ? a->uid : (uid_t)-1,
		     a->valid & VFS_ATTR_GID ? a->gid : (gid_t)-1, AT_EMPTY_PATH))
		return -errno;
	if ((a->valid & VFS_ATTR_SIZE) && (!S_ISREG(inode->mode) || truncate(path, (off_t)a->size)))
		return S_ISREG(inode->mode) ? -errno : -EINVAL;
	if (a->valid & (VFS_ATTR_ATIME | VFS_ATTR_MTIME)) {
		struct timespec ts[2] = {
			a->valid & VFS_ATTR_ATIME ? a->atime : (struct timespec){0, UTIME_OMIT},
			a->valid & VFS_ATTR_MTIME ? a->mtime : (struct timespec){0, UTIME_OMIT},
		};

		if (!S_ISLNK(inode->mode) && utimensat(AT_FDCWD, path, ts, 0))
			return -errno;
	}
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
	.revalidate = host_revalidate,
	.evict = host_evict,
};

static const struct vfs_inode_ops host_rw_inode_ops = {
	.lookup = host_lookup,
	.create = host_create,
	.mkdir = host_mkdir,
	.mknod = host_mknod,
	.symlink = host_symlink,
	.link = host_link,
	.unlink = host_unlink,
	.rmdir = host_rmdir,
	.rename = host_rename,
	.readlink = host_readlink,
	.getattr = host_getattr,
	.setattr = host_setattr,
	.open = host_open,
	.revalidate = host_revalidate,
	.evict = host_evict,
};

static void host_destroy(struct vfs_fs *fs)
{
	vfs_dentry_put(fs->root);
	free(fs);
}

int hostfs_create(const char *dir, struct vfs_fs **out)
{
	return hostfs_create_rw(dir, false, out);
}

int hostfs_create_rw(const char *dir, bool rw, struct vfs_fs **out)
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
	fs->priv = rw ? (void *)fs : NULL; /* non-NULL: writable */
	root = inode_new(fs, fd, &st);
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

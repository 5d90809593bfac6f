/*
 * kernel/sys_file.c - file syscalls: argument checking around kernel/vfs.
 *
 * Mostly argument checking, because user code is not trusted: every path
 * is copied in with a length limit, every buffer goes through the guest's
 * rights (struct guest_io), every fd is looked up and referenced for the
 * length of the call, every flag word is checked for unknown bits.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "abi/fcntl.h"
#include "abi/mman.h"
#include "kernel/syscall.h"
#include "kernel/vfs/lock.h"

#define IOV_MAX_ 1024

/* --- guest buffers as VFS I/O --- */

struct guest_io {
	struct vfs_io io;
	struct task *t;
	uint64_t addr;
};

static int guest_copy(struct vfs_io *io, void *buf, size_t at, size_t n, bool to_caller)
{
	struct guest_io *g = (struct guest_io *)io;

	if (to_caller)
		return mm_copy_out(g->t->mm, g->addr + at, buf, n);
	return mm_copy_in(g->t->mm, buf, g->addr + at, n);
}

/* Linux's access_ok: a buffer must lie in the user half before anything
 * else is looked at (a read of /dev/null into the kernel half is EFAULT,
 * though it would copy nothing). */
static bool user_range_ok(uint64_t addr, uint64_t len)
{
	return addr <= ABI_USER_END && len <= ABI_USER_END - addr;
}

static int guest_pin(struct vfs_io *io, size_t at, size_t n, bool to_caller,
		     struct vfs_io_pin *pin)
{
	struct guest_io *g = (struct guest_io *)io;
	struct mm_pin mp;
	int err = mm_pin(g->t->mm, g->addr + at, n, to_caller, &mp);

	if (!err)
		*pin = (struct vfs_io_pin){.p = mp.p, .len = mp.len, .frames_start = mp.fr.start,
					   .frames_end = mp.fr.end};
	return err;
}

static void guest_unpin(struct vfs_io *io, struct vfs_io_pin *pin)
{
	struct guest_io *g = (struct guest_io *)io;
	struct mm_pin mp = {.p = pin->p, .len = pin->len,
			    .fr = file_range_make(pin->frames_start, pin->frames_end)};

	mm_unpin(g->t->mm, &mp);
}

static struct guest_io guest_io(struct task *t, uint64_t addr, uint64_t len)
{
	return (struct guest_io){.io = {.copy = guest_copy, .pin = guest_pin, .unpin = guest_unpin,
					.len = (size_t)len},
				 .t = t, .addr = addr};
}

/* --- fds and paths from arguments --- */

static struct vfs_file *get_file(struct task *t, uint64_t fd)
{
	return fd > INT_MAX ? NULL : fd_get(t->fds, (int)fd);
}

/* As get_file, for calls that act on the open file itself: an O_PATH fd
 * only names a place, so it is -EBADF here as on Linux (NULL). */
static struct vfs_file *get_io_file(struct task *t, uint64_t fd)
{
	struct vfs_file *f = get_file(t, fd);

	if (f && (f->flags & O_PATH)) {
		vfs_file_put(f);
		return NULL;
	}
	return f;
}

static long get_path(struct task *t, uint64_t upath, char *path)
{
	long len = mm_copy_in_string(t->mm, path, upath, VFS_PATH_MAX);

	if (len == -ENAMETOOLONG)
		return -ENAMETOOLONG;
	return len < 0 ? -EFAULT : len;
}

/* Where a relative path starts: the cwd, or the directory open at @dirfd.
 * *@start gets references. */
static int get_start(struct task *t, int64_t dirfd, const char *path, struct vfs_path *start)
{
	struct vfs_file *f;

	if (path[0] == '/' || (int)dirfd == AT_FDCWD) {
		*start = vfs_path_get(path[0] == '/' ? t->fs.root : t->cwd);
		return 0;
	}
	f = get_file(t, (uint64_t)(uint32_t)dirfd);
	if (!f)
		return -EBADF;
	if (!f->path.dentry || !vfs_is_dir(f->inode)) {
		vfs_file_put(f);
		return -ENOTDIR;
	}
	*start = vfs_path_get(f->path);
	vfs_file_put(f);
	return 0;
}

/* A path and its start, copied in and checked; caller frees with
 * vfs_path_put(*start). */
static int path_args(struct task *t, int64_t dirfd, uint64_t upath, char *path,
		     struct vfs_path *start)
{
	long len = get_path(t, upath, path);

	if (len < 0)
		return (int)len;
	if (len == 0)
		return -ENOENT;
	return get_start(t, dirfd, path, start);
}

/*
 * What an empty path names under AT_EMPTY_PATH: the file open at @dirfd
 * itself (an O_PATH fd too), or the cwd for AT_FDCWD.  *@p gets
 * references.  -EBADF for a bad fd; -ENOENT for a file with no place in
 * the tree (a pipe, host stdio).
 */
static int empty_path_target(struct task *t, int64_t dirfd, struct vfs_path *p)
{
	struct vfs_file *f;

	if ((int)dirfd == AT_FDCWD) {
		*p = vfs_path_get(t->cwd);
		return 0;
	}
	f = get_file(t, (uint64_t)(uint32_t)dirfd);
	if (!f)
		return -EBADF;
	if (!f->path.dentry) {
		vfs_file_put(f);
		return -ENOENT;
	}
	*p = vfs_path_get(f->path);
	vfs_file_put(f);
	return 0;
}

/* --- open and close --- */

#define OPEN_FLAGS                                                                                 \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |     \
	 O_ASYNC | O_DIRECT | ABI_O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC |     \
	 O_SYNC | O_PATH | O_TMPFILE)

static int64_t do_openat(struct task *t, int64_t dirfd, uint64_t upath, uint64_t flags,
			 uint64_t mode)
{
	char path[VFS_PATH_MAX];
	struct vfs_path start;
	struct vfs_file *f;
	int err, fd;

	if (flags & ~(uint64_t)OPEN_FLAGS)
		return -EINVAL;
	if ((flags & O_TMPFILE) == O_TMPFILE)
		return -EOPNOTSUPP;
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	err = path_args(t, dirfd, upath, path, &start);
	if (err)
		return err;
	err = vfs_openat(&t->fs, start, path, (int)flags, (mode_t)mode & 07777, &f);
	vfs_path_put(start);
	if (err)
		return err;
	fd = fd_install(t->fds, 0, f, flags & O_CLOEXEC);
	if (fd < 0)
		vfs_file_put(f);
	return fd;
}

int64_t sys_openat(struct task *t, const uint64_t a[6])
{
	return do_openat(t, (int64_t)(int)a[0], a[1], a[2], a[3]);
}

int64_t sys_open(struct task *t, const uint64_t a[6])
{
	return do_openat(t, AT_FDCWD, a[0], a[1], a[2]);
}

int64_t sys_creat(struct task *t, const uint64_t a[6])
{
	return do_openat(t, AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, a[1]);
}

int64_t sys_close(struct task *t, const uint64_t a[6])
{
	return a[0] > INT_MAX ? -EBADF : fd_close(t->fds, (int)a[0]);
}

int64_t sys_close_range(struct task *t, const uint64_t a[6])
{
	if (a[2] & ~(uint64_t)(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE))
		return -EINVAL;
	return fd_close_range(t->fds, (unsigned)a[0], (unsigned)a[1], a[2] & CLOSE_RANGE_CLOEXEC);
}

/* --- read and write --- */

typedef ssize_t (*rw_fn)(struct vfs_file *f, struct vfs_io *io, int64_t off);

static int64_t rw(struct task *t, uint64_t fd, uint64_t buf, uint64_t len, int64_t off, rw_fn fn)
{
	struct vfs_file *f = get_file(t, fd);
	struct guest_io g;
	int64_t n;

	if (!f)
		return -EBADF;
	if (!user_range_ok(buf, len)) {
		vfs_file_put(f);
		return -EFAULT;
	}
	if (len > INT_MAX - ABI_PAGE_MASK)
		len = INT_MAX - ABI_PAGE_MASK; /* Linux's MAX_RW_COUNT */
	g = guest_io(t, buf, len);
	n = fn(f, &g.io, off);
	vfs_file_put(f);
	return n;
}

int64_t sys_read(struct task *t, const uint64_t a[6])
{
	return rw(t, a[0], a[1], a[2], -1, vfs_read);
}

int64_t sys_write(struct task *t, const uint64_t a[6])
{
	return rw(t, a[0], a[1], a[2], -1, vfs_write);
}

int64_t sys_pread64(struct task *t, const uint64_t a[6])
{
	return (int64_t)a[3] < 0 ? -EINVAL : rw(t, a[0], a[1], a[2], (int64_t)a[3], vfs_read);
}

int64_t sys_pwrite64(struct task *t, const uint64_t a[6])
{
	return (int64_t)a[3] < 0 ? -EINVAL : rw(t, a[0], a[1], a[2], (int64_t)a[3], vfs_write);
}

/*
 * readv and friends: one transfer over all the iovecs at once, as Linux
 * does (a writev to a pipe or to /dev/fuse is one write, not one per
 * iovec).  The copy function maps a position in the whole to a segment.
 */
struct guest_iov_io {
	struct vfs_io io;
	struct task *t;
	const struct iovec *iov;
	uint64_t n;
};

static int guest_iov_copy(struct vfs_io *io, void *buf, size_t at, size_t n, bool to_caller)
{
	struct guest_iov_io *g = (struct guest_iov_io *)io;
	unsigned char *b = buf;

	for (uint64_t i = 0; i < g->n && n > 0; i++) {
		size_t len = g->iov[i].iov_len, chunk;
		uint64_t base = (uint64_t)g->iov[i].iov_base;
		int err;

		if (at >= len) {
			at -= len;
			continue;
		}
		chunk = len - at < n ? len - at : n;
		err = to_caller ? mm_copy_out(g->t->mm, base + at, b, chunk)
				: mm_copy_in(g->t->mm, b, base + at, chunk);
		if (err)
			return err;
		b += chunk;
		n -= chunk;
		at = 0;
	}
	return n ? -EFAULT : 0;
}

static int64_t rwv(struct task *t, const uint64_t a[6], int64_t off, rw_fn fn)
{
	static __thread struct iovec iov[IOV_MAX_];
	struct guest_iov_io g;
	struct vfs_file *f;
	uint64_t total = 0;
	int64_t n;
	int err;

	if (a[2] > IOV_MAX_)
		return -EINVAL;
	err = mm_copy_in(t->mm, iov, a[1], (size_t)a[2] * sizeof(struct iovec));
	if (err)
		return err;
	for (uint64_t i = 0; i < a[2]; i++)
		if (__builtin_add_overflow(total, (uint64_t)iov[i].iov_len, &total) ||
		    total > SSIZE_MAX)
			return -EINVAL;
		else if (!user_range_ok((uint64_t)iov[i].iov_base, iov[i].iov_len))
			return -EFAULT;
	f = get_file(t, a[0]);
	if (!f)
		return -EBADF;
	g = (struct guest_iov_io){.io = {.copy = guest_iov_copy, .len = (size_t)total}, .t = t,
				  .iov = iov, .n = a[2]};
	n = total ? fn(f, &g.io, off) : 0;
	vfs_file_put(f);
	return n;
}

int64_t sys_readv(struct task *t, const uint64_t a[6])
{
	return rwv(t, a, -1, vfs_read);
}

int64_t sys_writev(struct task *t, const uint64_t a[6])
{
	return rwv(t, a, -1, vfs_write);
}

int64_t sys_preadv(struct task *t, const uint64_t a[6])
{
	return (int64_t)a[3] < 0 ? -EINVAL : rwv(t, a, (int64_t)a[3], vfs_read);
}

int64_t sys_pwritev(struct task *t, const uint64_t a[6])
{
	return (int64_t)a[3] < 0 ? -EINVAL : rwv(t, a, (int64_t)a[3], vfs_write);
}

int64_t sys_lseek(struct task *t, const uint64_t a[6])
{
	struct vfs_file *f = get_io_file(t, a[0]);
	int64_t r;

	if (!f)
		return -EBADF;
	r = vfs_lseek(f, (int64_t)a[1], (int)a[2]);
	vfs_file_put(f);
	return r;
}

/* --- directories --- */

/* getdents64's records, made in the sentry and copied out at once. */
struct dirent_buf {
	unsigned char *buf;
	size_t size, used;
	struct dirent64 *last; /* its d_off waits for the next entry's position */
	uint64_t first;	       /* where the first was read */
	bool full;	       /* an entry did not fit */
};

static int emit_dirent64(void *c, const struct vfs_dirent *d)
{
	struct dirent_buf *b = c;
	struct dirent64 *de = (struct dirent64 *)(b->buf + b->used);
	size_t reclen = (offsetof(struct dirent64, d_name) + d->len + 1 + 7) & ~(size_t)7;

	if (b->used + reclen > b->size) {
		b->full = true;
		return 1;
	}
	if (b->last)
		b->last->d_off = (int64_t)d->at; /* the entry before ends where this begins */
	else
		b->first = d->at;
	memset(de, 0, reclen);
	de->d_ino = d->ino;
	de->d_reclen = (unsigned short)reclen;
	de->d_type = d->type;
	memcpy(de->d_name, d->name, d->len);
	b->last = de;
	b->used += reclen;
	return 0;
}

#define GETDENTS_MAX (64 * 1024) /* records made per call, at most */

int64_t sys_getdents64(struct task *t, const uint64_t a[6])
{
	uint32_t size = (uint32_t)a[2];
	struct dirent_buf b = {.size = size < GETDENTS_MAX ? size : GETDENTS_MAX};
	struct vfs_file *f;
	uint64_t end = 0;
	int err;

	if (!user_range_ok(a[1], size))
		return -EFAULT;
	f = get_io_file(t, a[0]);
	if (!f)
		return -EBADF;
	b.buf = malloc(b.size ? b.size : 1);
	err = b.buf ? vfs_iterate_at(f, emit_dirent64, &b, &end) : -ENOMEM;
	if (!err && b.last)
		b.last->d_off = (int64_t)end;
	if (!err && b.used == 0 && b.full)
		err = -EINVAL; /* too small for the next entry */
	if (!err && (err = mm_copy_out(t->mm, a[1], b.buf, b.used)) != 0) {
		/* Not delivered: read them again next time. */
		pthread_mutex_lock(&f->pos_lock);
		f->dir_pos = b.first;
		__atomic_store_n(&f->offset, b.first, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&f->pos_lock);
	}
	vfs_file_put(f);
	free(b.buf);
	return err ? err : (int64_t)b.used;
}

int64_t sys_mkdirat(struct task *t, const uint64_t a[6])
{
	char path[VFS_PATH_MAX];
	struct vfs_path start;
	int err = path_args(t, (int)a[0], a[1], path, &start);

	if (err)
		return err;
	err = vfs_mkdirat(&t->fs, start, path, (mode_t)a[2]);
	vfs_path_put(start);
	return err;
}

int64_t sys_mkdir(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {(uint64_t)AT_FDCWD, a[0], a[1]};

	return sys_mkdirat(t, b);
}

int64_t sys_mknodat(struct task *t, const uint64_t a[6])
{
	char path[VFS_PATH_MAX];
	struct vfs_path start;
	int err = path_args(t, (int)a[0], a[1], path, &start);

	if (err)
		return err;
	err = vfs_mknodat(&t->fs, start, path, (mode_t)a[2], (dev_t)a[3]);
	vfs_path_put(start);
	return err;
}

int64_t sys_mknod(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {(uint64_t)AT_FDCWD, a[0], a[1], a[2]};

	return sys_mknodat(t, b);
}

int64_t sys_unlinkat(struct task *t, const uint64_t a[6])
{
	char path[VFS_PATH_MAX];
	struct vfs_path start;
	int err;

	if (a[2] & ~(uint64_t)AT_REMOVEDIR)
		return -EINVAL;
	err = path_args(t, (int)a[0], a[1], path, &start);
	if (err)
		return err;
	err = vfs_unlinkat(&t->fs, start, path, a[2] & AT_REMOVEDIR);
	vfs_path_put(start);
	return err;
}

int64_t sys_unlink(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {(uint64_t)AT_FDCWD, a[0], 0};

	return sys_unlinkat(t, b);
}

int64_t sys_rmdir(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {(uint64_t)AT_FDCWD, a[0], AT_REMOVEDIR};

	return sys_unlinkat(t, b);
}

int64_t sys_renameat2(struct task *t, const uint64_t a[6])
{
	char opath[VFS_PATH_MAX], npath[VFS_PATH_MAX];
	struct vfs_path ostart, nstart;
	int err = path_args(t, (int)a[0], a[1], opath, &ostart);

	if (err)
		return err;
	err = path_args(t, (int)a[2], a[3], npath, &nstart);
	if (!err) {
		err = vfs_renameat(&t->fs, ostart, opath, nstart, npath, (unsigned)a[4]);
		vfs_path_put(nstart);
	}
	vfs_path_put(ostart);
	return err;
}

int64_t sys_renameat(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {a[0], a[1], a[2], a[3], 0};

	return sys_renameat2(t, b);
}

int64_t sys_rename(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {(uint64_t)AT_FDCWD, a[0], (uint64_t)AT_FDCWD, a[1], 0};

	return sys_renameat2(t, b);
}

/* linkat(fd, "", ..., AT_EMPTY_PATH): a new name for the open file itself
 * (Linux asks CAP_DAC_READ_SEARCH, which the sandbox's root has).  A file
 * with no links left stays unlinked: -ENOENT, as Linux without O_TMPFILE. */
static int64_t link_empty_path(struct task *t, int64_t fd, int64_t ndirfd, uint64_t unpath)
{
	char npath[VFS_PATH_MAX];
	struct vfs_path old, nstart;
	struct stat st;
	int err;

	err = empty_path_target(t, fd, &old);
	if (err)
		return err;
	err = vfs_getattr(old.dentry->inode, &st);
	if (!err && (st.st_nlink == 0 || old.dentry->dead))
		err = -ENOENT;
	if (!err)
		err = path_args(t, ndirfd, unpath, npath, &nstart);
	if (!err) {
		err = vfs_link_path(&t->fs, old, nstart, npath);
		vfs_path_put(nstart);
	}
	vfs_path_put(old);
	return err;
}

int64_t sys_linkat(struct task *t, const uint64_t a[6])
{
	char opath[VFS_PATH_MAX], npath[VFS_PATH_MAX];
	struct vfs_path ostart, nstart;
	long len;
	int err;

	if (a[4] & ~(uint64_t)(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	len = get_path(t, a[1], opath);
	if (len < 0)
		return (int)len;
	if (len == 0)
		return a[4] & AT_EMPTY_PATH ? link_empty_path(t, (int)a[0], a[2], a[3]) : -ENOENT;
	err = get_start(t, (int)a[0], opath, &ostart);
	if (err)
		return err;
	err = path_args(t, (int)a[2], a[3], npath, &nstart);
	if (!err) {
		err = vfs_linkat(&t->fs, ostart, opath, nstart, npath, a[4] & AT_SYMLINK_FOLLOW);
		vfs_path_put(nstart);
	}
	vfs_path_put(ostart);
	return err;
}

int64_t sys_link(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {(uint64_t)AT_FDCWD, a[0], (uint64_t)AT_FDCWD, a[1], 0};

	return sys_linkat(t, b);
}

int64_t sys_symlinkat(struct task *t, const uint64_t a[6])
{
	char target[VFS_PATH_MAX], path[VFS_PATH_MAX];
	struct vfs_path start;
	long len = get_path(t, a[0], target);
	int err;

	if (len < 0)
		return len;
	err = path_args(t, (int)a[1], a[2], path, &start);
	if (err)
		return err;
	err = vfs_symlinkat(&t->fs, target, start, path);
	vfs_path_put(start);
	return err;
}

int64_t sys_symlink(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {a[0], (uint64_t)AT_FDCWD, a[1]};

	return sys_symlinkat(t, b);
}

int64_t sys_readlinkat(struct task *t, const uint64_t a[6])
{
	char path[VFS_PATH_MAX], buf[VFS_PATH_MAX];
	struct vfs_path start;
	int err, len;

	if ((int64_t)a[3] <= 0)
		return -EINVAL;
	err = path_args(t, (int)a[0], a[1], path, &start);
	if (err)
		return err;
	len = vfs_readlinkat(&t->fs, start, path, buf, sizeof(buf));
	vfs_path_put(start);
	if (len < 0)
		return len;
	if ((uint64_t)len > a[3])
		len = (int)a[3];
	err = mm_copy_out(t->mm, a[2], buf, (size_t)len);
	return err ? err : len;
}

int64_t sys_readlink(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {(uint64_t)AT_FDCWD, a[0], a[1], a[2]};

	return sys_readlinkat(t, b);
}

/* --- stat --- */

static int stat_file(struct vfs_file *f, struct stat *st)
{
	if (f->inode)
		return vfs_getattr(f->inode, st);
	return f->ops && f->ops->stat ? f->ops->stat(f, st) : -EBADF;
}

int64_t sys_fstat(struct task *t, const uint64_t a[6])
{
	struct vfs_file *f = get_file(t, a[0]);
	struct stat st;
	int err;

	if (!f)
		return -EBADF;
	err = stat_file(f, &st);
	vfs_file_put(f);
	return err ? err : mm_copy_out(t->mm, a[1], &st, sizeof(st));
}

int stat_lookup(struct task *t, int64_t dirfd, uint64_t upath, uint64_t flags, struct stat *st)
{
	char path[VFS_PATH_MAX];
	struct vfs_path start;
	struct vfs_file *f;
	long len;
	int err;

	len = get_path(t, upath, path);
	if (len < 0)
		return (int)len;
	if (len == 0) {
		if (!(flags & AT_EMPTY_PATH))
			return -ENOENT;
		if ((int)dirfd == AT_FDCWD)
			return vfs_getattr(t->cwd.dentry->inode, st);
		f = get_file(t, (uint64_t)(uint32_t)dirfd);
		if (!f)
			return -EBADF;
		err = stat_file(f, st);
		vfs_file_put(f);
		return err;
	}
	err = get_start(t, dirfd, path, &start);
	if (err)
		return err;
	err = vfs_statat(&t->fs, start, path, !(flags & AT_SYMLINK_NOFOLLOW), st);
	vfs_path_put(start);
	return err;
}

int64_t sys_newfstatat(struct task *t, const uint64_t a[6])
{
	struct stat st;
	int err;

	if (a[3] & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	err = stat_lookup(t, (int)a[0], a[1], a[3], &st);
	return err ? err : mm_copy_out(t->mm, a[2], &st, sizeof(st));
}

int64_t sys_stat(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {(uint64_t)AT_FDCWD, a[0], a[1], 0};

	return sys_newfstatat(t, b);
}

int64_t sys_lstat(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {(uint64_t)AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW};

	return sys_newfstatat(t, b);
}

int64_t sys_faccessat2(struct task *t, const uint64_t a[6])
{
	struct stat st;
	int err;

	if ((a[2] & ~(uint64_t)7) ||
	    (a[3] & ~(uint64_t)(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
		return -EINVAL;
	/* An empty path with AT_EMPTY_PATH asks about the fd's own file. */
	err = stat_lookup(t, (int)a[0], a[1], a[3] & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), &st);
	if (err)
		return err;
	/* The guest is root in its sandbox: only execute needs an x bit. */
	if ((a[2] & X_OK) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111))
		return -EACCES;
	return 0;
}

int64_t sys_faccessat(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {a[0], a[1], a[2], 0};

	return sys_faccessat2(t, b);
}

int64_t sys_access(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {(uint64_t)AT_FDCWD, a[0], a[1], 0};

	return sys_faccessat2(t, b);
}

/* --- attributes --- */

/* Change what @upath names from @dirfd; @at_flags may hold
 * AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH (an empty path: the fd's file). */
static int64_t setattr_at(struct task *t, int64_t dirfd, uint64_t upath, unsigned at_flags,
			  const struct vfs_setattr *attr)
{
	char path[VFS_PATH_MAX];
	struct vfs_path start, p;
	long len = get_path(t, upath, path);
	int err;

	if (len < 0)
		return (int)len;
	if (len == 0 && (at_flags & AT_EMPTY_PATH)) {
		err = empty_path_target(t, dirfd, &p);
		if (err)
			return err == -ENOENT ? -EINVAL : err; /* as setattr_fd */
	} else {
		err = len == 0 ? -ENOENT : get_start(t, dirfd, path, &start);
		if (err)
			return err;
		err = vfs_resolve(t->fs.vfs, t->fs.root, start, path,
				  at_flags & AT_SYMLINK_NOFOLLOW ? 0 : VFS_LOOKUP_FOLLOW, &p, NULL,
				  NULL);
		vfs_path_put(start);
		if (err)
			return err;
	}
	err = vfs_setattr_path(p, attr);
	vfs_path_put(p);
	return err;
}

static int64_t setattr_fd(struct task *t, uint64_t fd, const struct vfs_setattr *attr)
{
	struct vfs_file *f = get_io_file(t, fd);
	int err;

	if (!f)
		return -EBADF;
	err = f->path.dentry ? vfs_setattr_path(f->path, attr) : -EINVAL;
	vfs_file_put(f);
	return err;
}

int64_t sys_fchmodat(struct task *t, const uint64_t a[6])
{
	struct vfs_setattr attr = {.valid = VFS_ATTR_MODE, .mode = (mode_t)a[2] & 07777};

	return setattr_at(t, (int)a[0], a[1], 0, &attr);
}

int64_t sys_chmod(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {(uint64_t)AT_FDCWD, a[0], a[1]};

	return sys_fchmodat(t, b);
}

int64_t sys_fchmod(struct task *t, const uint64_t a[6])
{
	struct vfs_setattr attr = {.valid = VFS_ATTR_MODE, .mode = (mode_t)a[1] & 07777};

	return setattr_fd(t, a[0], &attr);
}

static struct vfs_setattr owner_attr(uint64_t uid, uint64_t gid)
{
	struct vfs_setattr attr = {0};

	if ((uint32_t)uid != (uint32_t)-1) {
		attr.valid |= VFS_ATTR_UID;
		attr.uid = (uid_t)uid;
	}
	if ((uint32_t)gid != (uint32_t)-1) {
		attr.valid |= VFS_ATTR_GID;
		attr.gid = (gid_t)gid;
	}
	return attr;
}

int64_t sys_fchownat(struct task *t, const uint64_t a[6])
{
	struct vfs_setattr attr = owner_attr(a[2], a[3]);

	if (a[4] & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	return setattr_at(t, (int)a[0], a[1], (unsigned)a[4], &attr);
}

int64_t sys_chown(struct task *t, const uint64_t a[6])
{
	struct vfs_setattr attr = owner_attr(a[1], a[2]);

	return setattr_at(t, AT_FDCWD, a[0], 0, &attr);
}

int64_t sys_lchown(struct task *t, const uint64_t a[6])
{
	struct vfs_setattr attr = owner_attr(a[1], a[2]);

	return setattr_at(t, AT_FDCWD, a[0], AT_SYMLINK_NOFOLLOW, &attr);
}

int64_t sys_fchown(struct task *t, const uint64_t a[6])
{
	struct vfs_setattr attr = owner_attr(a[1], a[2]);

	return setattr_fd(t, a[0], &attr);
}

int64_t sys_truncate(struct task *t, const uint64_t a[6])
{
	struct vfs_setattr attr = {.valid = VFS_ATTR_SIZE, .size = a[1]};

	return (int64_t)a[1] < 0 ? -EINVAL : setattr_at(t, AT_FDCWD, a[0], 0, &attr);
}

int64_t sys_ftruncate(struct task *t, const uint64_t a[6])
{
	struct vfs_setattr attr = {.valid = VFS_ATTR_SIZE, .size = a[1]};
	struct vfs_file *f;
	int err;

	if ((int64_t)a[1] < 0)
		return -EINVAL;
	f = get_io_file(t, a[0]);
	if (!f)
		return -EBADF;
	err = (f->flags & O_ACCMODE) == O_RDONLY ? -EINVAL
	      : f->path.dentry			 ? vfs_setattr_path(f->path, &attr)
						 : -EINVAL;
	vfs_file_put(f);
	return err;
}

int64_t sys_utimensat(struct task *t, const uint64_t a[6])
{
	struct timespec ts[2];
	struct vfs_setattr attr = {.valid = VFS_ATTR_ATIME | VFS_ATTR_MTIME};
	int err;

	if (a[3] & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[1] = ts[0];
	if (a[2]) {
		struct timespec now = ts[0];

		err = mm_copy_in(t->mm, ts, a[2], sizeof(ts));
		if (err)
			return err;
		for (int i = 0; i < 2; i++) {
			if (ts[i].tv_nsec == UTIME_NOW)
				ts[i] = now;
			else if (ts[i].tv_nsec == UTIME_OMIT)
				attr.valid &= ~(unsigned)(i ? VFS_ATTR_MTIME : VFS_ATTR_ATIME);
			else if (ts[i].tv_nsec < 0 || ts[i].tv_nsec >= 1000000000)
				return -EINVAL;
		}
	}
	attr.atime = ts[0];
	attr.mtime = ts[1];
	if (!a[1]) /* futimens */
		return setattr_fd(t, a[0], &attr);
	return setattr_at(t, (int)a[0], a[1], (unsigned)a[3], &attr);
}

int64_t sys_fsync(struct task *t, const uint64_t a[6])
{
	struct vfs_file *f = get_io_file(t, a[0]);
	int err;

	if (!f)
		return -EBADF;
	err = f->ops && f->ops->fsync ? f->ops->fsync(f) : 0;
	vfs_file_put(f);
	return err;
}

int64_t sys_sync(struct task *t, const uint64_t a[6])
{
	return 0; /* nothing the sentry holds needs writing back yet */
}

/* --- fd table --- */

int64_t sys_dup(struct task *t, const uint64_t a[6])
{
	struct vfs_file *f = get_file(t, a[0]);
	int fd;

	if (!f)
		return -EBADF;
	fd = fd_install(t->fds, 0, f, false);
	if (fd < 0)
		vfs_file_put(f);
	return fd;
}

int64_t sys_dup3(struct task *t, const uint64_t a[6])
{
	if (a[2] & ~(uint64_t)O_CLOEXEC)
		return -EINVAL;
	if (a[0] == a[1])
		return -EINVAL;
	if (a[0] > INT_MAX || a[1] > INT_MAX)
		return -EBADF;
	return fd_dup_to(t->fds, (int)a[0], (int)a[1], a[2] & O_CLOEXEC);
}

int64_t sys_dup2(struct task *t, const uint64_t a[6])
{
	struct vfs_file *f;

	if (a[0] != a[1]) {
		const uint64_t b[6] = {a[0], a[1], 0};

		return sys_dup3(t, b);
	}
	f = get_file(t, a[0]);
	if (!f)
		return -EBADF;
	vfs_file_put(f);
	return (int64_t)a[0];
}

#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)

/* --- advisory locks --- */

/* struct flock as x86-64 lays it out. */
struct k_flock {
	int16_t l_type, l_whence;
	int64_t l_start, l_len;
	int32_t l_pid;
};
_Static_assert(sizeof(struct k_flock) == 32, "struct flock");

#define LOCK_EOF INT64_MAX /* a range "to the end of the file", however it grows */

/* The byte range @fl names in @f, as Linux's flock_to_posix_lock. */
static int lock_range(struct vfs_file *f, const struct k_flock *fl, struct vfs_lock_range *r)
{
	int64_t base = 0, start, end;
	struct stat st;

	if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK)
		return -EINVAL;
	if (fl->l_whence == SEEK_CUR) {
		base = (int64_t)__atomic_load_n(&f->offset, __ATOMIC_RELAXED); /* see pos_lock */
	} else if (fl->l_whence == SEEK_END) {
		int err = vfs_getattr(f->inode, &st);

		if (err)
			return err;
		base = st.st_size;
	} else if (fl->l_whence != SEEK_SET) {
		return -EINVAL;
	}
	if (__builtin_add_overflow(base, fl->l_start, &start))
		return -EOVERFLOW;
	if (fl->l_len > 0) {
		if (__builtin_add_overflow(start, fl->l_len - 1, &end))
			return -EOVERFLOW;
	} else if (fl->l_len == 0) {
		end = LOCK_EOF;
	} else {
		end = start - 1;
		if (__builtin_add_overflow(start, fl->l_len, &start))
			return -EINVAL;
	}
	if (start < 0 || end < start)
		return -EINVAL;
	*r = (struct vfs_lock_range){.type = fl->l_type, .start = (uint64_t)start,
				     .end = (uint64_t)end};
	return 0;
}

/* F_GETLK, F_SETLK, F_SETLKW and their F_OFD_ forms. */
static int64_t fcntl_lock(struct task *t, struct vfs_file *f, int cmd, uint64_t uflock)
{
	bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
	const void *owner = ofd ? (const void *)f : (const void *)t->fds;
	struct vfs_lock_range r;
	struct k_flock fl;
	int acc = f->flags & O_ACCMODE;
	int err;

	if (!f->inode || (f->flags & O_PATH))
		return -EBADF;
	err = mm_copy_in(t->mm, &fl, uflock, sizeof(fl));
	if (err)
		return err;
	if (ofd && fl.l_pid != 0)
		return -EINVAL;
	err = lock_range(f, &fl, &r);
	if (err)
		return err;
	r.pid = ofd ? -1 : t->tg->tgid;
	if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
		if (r.type == F_UNLCK)
			return -EINVAL;
		err = f->ops && f->ops->lock ? f->ops->lock(f, owner, &r, true, false) : -ENOSYS;
		if (err == -ENOSYS)
			vfs_lock_test(f->inode, VFS_LOCK_POSIX, owner, &r);
		else if (err)
			return err;
		fl.l_type = r.type;
		if (r.type != F_UNLCK) {
			fl.l_whence = SEEK_SET;
			fl.l_start = (int64_t)r.start;
			fl.l_len = r.end == LOCK_EOF ? 0 : (int64_t)(r.end - r.start + 1);
			fl.l_pid = r.pid;
		}
		return mm_copy_out(t->mm, uflock, &fl, sizeof(fl));
	}
	if ((r.type == F_RDLCK && acc == O_WRONLY) || (r.type == F_WRLCK && acc == O_RDONLY))
		return -EBADF;
	err = f->ops && f->ops->lock
		      ? f->ops->lock(f, owner, &r, false, cmd == F_SETLKW || cmd == F_OFD_SETLKW)
		      : -ENOSYS;
	if (err != -ENOSYS)
		return err;
	return vfs_lock_set(t, f->inode, VFS_LOCK_POSIX, owner, &r,
			    cmd == F_SETLKW || cmd == F_OFD_SETLKW);
}

int64_t sys_flock(struct task *t, const uint64_t a[6])
{
	struct vfs_file *f = get_io_file(t, a[0]);
	int op = (int)a[1] & ~LOCK_NB;
	struct vfs_lock_range r = {.start = 0, .end = LOCK_EOF, .pid = -1};
	int64_t err;

	if (!f)
		return -EBADF;
	r.type = op == LOCK_SH ? F_RDLCK : op == LOCK_EX ? F_WRLCK : op == LOCK_UN ? F_UNLCK : -1;
	if (r.type < 0 || !f->inode)
		err = r.type < 0 ? -EINVAL : -EBADF;
	else
		err = vfs_lock_set(t, f->inode, VFS_LOCK_FLOCK, f, &r, !((int)a[1] & LOCK_NB));
	vfs_file_put(f);
	return err == -EAGAIN ? -EWOULDBLOCK : err;
}

int64_t sys_fcntl(struct task *t, const uint64_t a[6])
{
	struct vfs_file *f = get_file(t, a[0]);
	int64_t r;
	int fd;

	if (!f)
		return -EBADF;
	switch (a[1]) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (a[2] > INT_MAX) {
			r = -EINVAL;
			break;
		}
		fd = fd_install(t->fds, (int)a[2], vfs_file_get(f), a[1] == F_DUPFD_CLOEXEC);
		if (fd < 0)
			vfs_file_put(f);
		r = fd;
		break;
	case F_GETFD:
		r = fd_get_cloexec(t->fds, (int)a[0]);
		break;
	case F_SETFD:
		r = fd_set_cloexec(t->fds, (int)a[0], a[2] & FD_CLOEXEC);
		break;
	case F_GETFL:
		r = f->flags;
		break;
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		r = fcntl_lock(t, f, (int)a[1], a[2]);
		break;
	case F_SETFL:
		pthread_mutex_lock(&f->lock);
		f->flags = (f->flags & ~SETFL_MASK) | ((int)a[2] & SETFL_MASK);
		pthread_mutex_unlock(&f->lock);
		r = 0;
		break;
	default:
		r = -EINVAL;
		break;
	}
	vfs_file_put(f);
	return r;
}

int64_t sys_ioctl(struct task *t, const uint64_t a[6])
{
	struct vfs_file *f = get_io_file(t, a[0]);
	int64_t r;
	int nb;

	if (!f)
		return -EBADF;
	switch (a[1]) {
	case FIONBIO:
		r = mm_copy_in(t->mm, &nb, a[2], sizeof(nb));
		if (!r) {
			pthread_mutex_lock(&f->lock);
			f->flags = nb ? f->flags | O_NONBLOCK : f->flags & ~O_NONBLOCK;
			pthread_mutex_unlock(&f->lock);
		}
		break;
	case FIOCLEX:
	case FIONCLEX:
		r = fd_set_cloexec(t->fds, (int)a[0], a[1] == FIOCLEX);
		break;
	case FIONREAD:
		/* A regular file, on any file system: the bytes from the offset
		 * to the end (Linux answers it before the file system does). */
		if (f->inode && S_ISREG(f->inode->mode)) {
			struct stat st;

			r = vfs_getattr(f->inode, &st);
			if (!r) {
				nb = (int)(st.st_size -
					   (int64_t)__atomic_load_n(&f->offset, __ATOMIC_RELAXED));
				r = mm_copy_out(t->mm, a[2], &nb, sizeof(nb));
			}
			break;
		}
		r = f->ops && f->ops->ioctl ? f->ops->ioctl(f, a[1], a[2], t) : -ENOTTY;
		break;
	default:
		r = f->ops && f->ops->ioctl ? f->ops->ioctl(f, a[1], a[2], t) : -ENOTTY;
		break;
	}
	vfs_file_put(f);
	return r;
}

int64_t sys_umask(struct task *t, const uint64_t a[6])
{
	mode_t old = t->fs.umask;

	t->fs.umask = (mode_t)a[0] & 0777;
	return old;
}

/* --- working directory --- */

static int set_cwd(struct task *t, struct vfs_path p)
{
	if (!vfs_is_dir(p.dentry->inode)) {
		vfs_path_put(p);
		return -ENOTDIR;
	}
	task_set_path(t, &t->cwd, p);
	return 0;
}

int64_t sys_chdir(struct task *t, const uint64_t a[6])
{
	char path[VFS_PATH_MAX];
	struct vfs_path start, p;
	int err = path_args(t, AT_FDCWD, a[0], path, &start);

	if (err)
		return err;
	err = vfs_resolve(t->fs.vfs, t->fs.root, start, path,
			  VFS_LOOKUP_FOLLOW | VFS_LOOKUP_DIRECTORY, &p, NULL, NULL);
	vfs_path_put(start);
	return err ? err : set_cwd(t, p);
}

int64_t sys_fchdir(struct task *t, const uint64_t a[6])
{
	struct vfs_file *f = get_file(t, a[0]);
	int err;

	if (!f)
		return -EBADF;
	err = f->path.dentry ? set_cwd(t, vfs_path_get(f->path)) : -ENOTDIR;
	vfs_file_put(f);
	return err;
}

int64_t sys_getcwd(struct task *t, const uint64_t a[6])
{
	char buf[VFS_PATH_MAX];
	size_t start, len;
	int err = vfs_path_name(t->fs.root, t->cwd, buf, sizeof(buf), &start);

	if (err)
		return err;
	if (t->cwd.dentry->dead)
		return -ENOENT;
	len = sizeof(buf) - start;
	if (len > a[1])
		return -ERANGE;
	err = mm_copy_out(t->mm, a[0], buf + start, len);
	return err ? err : (int64_t)len;
}

/*
 * kernel/vfs/ops.c - the operations syscalls ask for, on paths.
 *
 * Each one resolves its path (or its parent and last name), applies the
 * rules Linux applies before a file system is asked (".", "..", trailing
 * slashes, O_EXCL, read-only mounts, renaming a directory under itself),
 * calls the file system, and keeps the dentry cache in step.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "kernel/task.h"
#include "kernel/vfs/ops.h"
#include "kernel/vfs/vfs_impl.h"

static int resolve(const struct vfs_ctx *c, struct vfs_path start, const char *path,
		   unsigned flags, struct vfs_path *out)
{
	return vfs_resolve(c->vfs, c->root, start, path, flags, out, NULL, NULL);
}

/* The parent of @path's last component, and that component. */
static int resolve_parent(const struct vfs_ctx *c, struct vfs_path start, const char *path,
			  struct vfs_path *parent, char *name, bool *trailing)
{
	int err = vfs_resolve(c->vfs, c->root, start, path, VFS_LOOKUP_PARENT, parent, name,
			      trailing);

	if (err)
		return err;
	if (name[0] == '\0' || !strcmp(name, ".") || !strcmp(name, "..")) {
		vfs_path_put(*parent);
		return -EEXIST; /* callers turn this into their own errno */
	}
	return 0;
}

static bool read_only(struct vfs_path p)
{
	return p.mnt->flags & MS_RDONLY;
}

/* --- creating --- */

typedef int (*make_fn)(struct vfs_inode *dir, const char *name, const void *arg,
		       struct vfs_inode **out);

struct make_args {
	mode_t mode;
	dev_t dev;
	const char *target;
	int open_flags; /* open(O_CREAT)'s; -1 for mknod */
};

static int do_mkdir(struct vfs_inode *dir, const char *name, const void *arg,
		    struct vfs_inode **out)
{
	const struct make_args *a = arg;

	return dir->ops->mkdir ? dir->ops->mkdir(dir, name, a->mode, out) : -EPERM;
}

static int do_mknod(struct vfs_inode *dir, const char *name, const void *arg,
		    struct vfs_inode **out)
{
	const struct make_args *a = arg;

	if ((S_ISREG(a->mode) || (a->mode & S_IFMT) == 0) && a->open_flags >= 0 &&
	    dir->ops->create_open)
		return dir->ops->create_open(dir, name, a->mode & 07777, a->open_flags, out);
	if (S_ISREG(a->mode) || (a->mode & S_IFMT) == 0)
		return dir->ops->create ? dir->ops->create(dir, name, a->mode & 07777, out) : -EPERM;
	return dir->ops->mknod ? dir->ops->mknod(dir, name, a->mode, a->dev, out) : -EPERM;
}

static int do_symlink(struct vfs_inode *dir, const char *name, const void *arg,
		      struct vfs_inode **out)
{
	const struct make_args *a = arg;

	return dir->ops->symlink ? dir->ops->symlink(dir, name, a->target, out) : -EPERM;
}

/* Create @path with @fn; "exists" is -EEXIST.  *@out (if not NULL) gets
 * the new dentry's path. */
static int make(const struct vfs_ctx *c, struct vfs_path start, const char *path, make_fn fn,
		const struct make_args *a, bool dir_ok_trailing, struct vfs_path *out)
{
	char name[VFS_NAME_MAX + 1];
	struct vfs_path parent;
	struct vfs_dentry *d;
	struct vfs_inode *inode;
	bool trailing;
	int err;

	err = resolve_parent(c, start, path, &parent, name, &trailing);
	if (err)
		return err;
	err = -EEXIST;
	if (vfs_dentry_lookup(parent.dentry, name, &d) == 0) {
		vfs_dentry_put(d);
		goto out_put;
	}
	err = -ENOENT;
	if (trailing && !dir_ok_trailing)
		goto out_put;
	err = -EROFS;
	if (read_only(parent))
		goto out_put;
	err = fn(parent.dentry->inode, name, a, &inode);
	if (err)
		goto out_put;
	err = vfs_dentry_add(parent.dentry, name, inode, &d);
	if (!err && out) {
		*out = (struct vfs_path){.mnt = parent.mnt, .dentry = d};
		atomic_fetch_add(&parent.mnt->refs, 1);
	} else if (!err) {
		vfs_dentry_put(d);
	}
out_put:
	vfs_path_put(parent);
	return err;
}

int vfs_mkdirat(const struct vfs_ctx *c, struct vfs_path start, const char *path, mode_t mode)
{
	struct make_args a = {.mode = mode & ~c->umask & 07777};

	return make(c, start, path, do_mkdir, &a, true, NULL);
}

int vfs_mknodat(const struct vfs_ctx *c, struct vfs_path start, const char *path, mode_t mode,
		dev_t dev)
{
	struct make_args a = {.mode = (mode & S_IFMT) | (mode & ~c->umask & 07777), .dev = dev,
			      .open_flags = -1};
	mode_t type = mode & S_IFMT;

	if (type == S_IFDIR || type == S_IFLNK)
		return -EINVAL;
	return make(c, start, path, do_mknod, &a, false, NULL);
}

int vfs_symlinkat(const struct vfs_ctx *c, const char *target, struct vfs_path start,
		  const char *path)
{
	struct make_args a = {.target = target};

	if (target[0] == '\0')
		return -ENOENT;
	if (strnlen(target, VFS_PATH_MAX) >= VFS_PATH_MAX)
		return -ENAMETOOLONG;
	return make(c, start, path, do_symlink, &a, false, NULL);
}

/* --- open --- */

static int truncate_file(struct vfs_path p)
{
	struct vfs_setattr a = {.valid = VFS_ATTR_SIZE, .size = 0};
	struct vfs_inode *inode = p.dentry->inode;

	if (!S_ISREG(inode->mode))
		return 0;
	if (read_only(p))
		return -EROFS;
	return inode->ops->setattr ? inode->ops->setattr(inode, &a) : -EPERM;
}

int vfs_openat(const struct vfs_ctx *c, struct vfs_path start, const char *path, int flags,
	       mode_t mode, struct vfs_file **out)
{
	unsigned lflags = flags & O_NOFOLLOW ? 0 : VFS_LOOKUP_FOLLOW;
	int acc = flags & O_ACCMODE;
	struct vfs_path p;
	int err;

	if (flags & O_DIRECTORY)
		lflags |= VFS_LOOKUP_DIRECTORY;
	if (flags & O_CREAT) {
		struct make_args a = {.mode = S_IFREG | (mode & ~c->umask & 07777),
				      .open_flags = flags};

		if (flags & O_DIRECTORY)
			return -EINVAL;
		err = make(c, start, path, do_mknod, &a, false, &p);
		if (err == -EEXIST && !(flags & O_EXCL))
			err = resolve(c, start, path, lflags, &p);
		else if (err == 0)
			flags &= ~O_TRUNC; /* new and empty */
		if (err)
			return err;
	} else {
		err = resolve(c, start, path, lflags, &p);
		if (err)
			return err;
	}
	if (S_ISLNK(p.dentry->inode->mode) && !(flags & O_PATH))
		err = -ELOOP;
	else if ((acc != O_RDONLY || (flags & O_TRUNC)) && read_only(p) &&
		 !S_ISCHR(p.dentry->inode->mode) && !S_ISFIFO(p.dentry->inode->mode))
		err = -EROFS; /* a device or a pipe is written, not the file system */
	if (!err && (flags & O_TRUNC) && acc != O_RDONLY)
		err = truncate_file(p);
	if (!err)
		err = vfs_open(p, flags, out);
	vfs_path_put(p);
	return err;
}

/* --- removing --- */

int vfs_unlinkat(const struct vfs_ctx *c, struct vfs_path start, const char *path, bool rmdir)
{
	char name[VFS_NAME_MAX + 1];
	struct vfs_path parent;
	struct vfs_dentry *d;
	struct vfs_inode *dir;
	bool trailing;
	int err;

	err = vfs_resolve(c->vfs, c->root, start, path, VFS_LOOKUP_PARENT, &parent, name,
			  &trailing);
	if (err)
		return err;
	if (name[0] == '\0' || !strcmp(name, ".") || !strcmp(name, "..")) {
		vfs_path_put(parent);
		return rmdir ? (!strcmp(name, "..") ? -ENOTEMPTY : name[0] ? -EINVAL : -EBUSY)
			     : -EISDIR;
	}
	err = vfs_dentry_lookup(parent.dentry, name, &d);
	if (err)
		goto out_put;
	dir = parent.dentry->inode;
	if (d->mountpoint)
		err = -EBUSY;
	else if (read_only(parent))
		err = -EROFS;
	else if (rmdir)
		err = !vfs_is_dir(d->inode) ? -ENOTDIR
		      : dir->ops->rmdir    ? dir->ops->rmdir(dir, name, d->inode)
					   : -EPERM;
	else if (trailing && !vfs_is_dir(d->inode))
		err = -ENOTDIR;
	else
		err = vfs_is_dir(d->inode) ? -EISDIR
		      : dir->ops->unlink   ? dir->ops->unlink(dir, name, d->inode)
					   : -EPERM;
	if (!err)
		vfs_dentry_drop(parent.dentry, d);
	vfs_dentry_put(d);
out_put:
	vfs_path_put(parent);
	return err;
}

/* --- links and renames --- */

int vfs_linkat(const struct vfs_ctx *c, struct vfs_path ostart, const char *opath,
	       struct vfs_path nstart, const char *npath, bool follow)
{
	struct vfs_path old;
	int err;

	err = resolve(c, ostart, opath, follow ? VFS_LOOKUP_FOLLOW : 0, &old);
	if (err)
		return err;
	err = vfs_link_path(c, old, nstart, npath);
	vfs_path_put(old);
	return err;
}

int vfs_link_path(const struct vfs_ctx *c, struct vfs_path old, struct vfs_path nstart,
		  const char *npath)
{
	char name[VFS_NAME_MAX + 1];
	struct vfs_path parent;
	struct vfs_dentry *d;
	bool trailing;
	int err;

	err = resolve_parent(c, nstart, npath, &parent, name, &trailing);
	if (err)
		return err;
	if (vfs_dentry_lookup(parent.dentry, name, &d) == 0) {
		vfs_dentry_put(d);
		err = -EEXIST;
	} else if (old.mnt != parent.mnt) {
		err = -EXDEV;
	} else if (vfs_is_dir(old.dentry->inode)) {
		err = -EPERM;
	} else if (read_only(parent)) {
		err = -EROFS;
	} else if (!parent.dentry->inode->ops->link) {
		err = -EPERM;
	} else {
		err = parent.dentry->inode->ops->link(parent.dentry->inode, name,
						      old.dentry->inode);
		if (!err && vfs_dentry_add(parent.dentry, name, vfs_inode_get(old.dentry->inode),
					   &d) == 0)
			vfs_dentry_put(d);
	}
	vfs_path_put(parent);
	return err;
}

/* Is @d at or below @ancestor? */
static bool is_under(struct vfs_dentry *d, struct vfs_dentry *ancestor)
{
	for (; d; d = d->parent)
		if (d == ancestor)
			return true;
	return false;
}

/* Bring the dentry cache in line with a rename the file system did: the
 * source dentry moves (with everything cached below it); what the target
 * name named is gone, or, for an exchange, moves the other way. */
static void move_dentries(struct vfs_dentry *odir, struct vfs_dentry *od, const char *oname,
			  struct vfs_dentry *ndir, struct vfs_dentry *nd, const char *nname,
			  bool exchange)
{
	if (nd && !exchange)
		vfs_dentry_drop(ndir, nd);
	if (od == nd)
		return;
	if (vfs_dentry_move(od, ndir, nname))
		vfs_dentry_drop(odir, od);
	if (nd && exchange && vfs_dentry_move(nd, odir, oname))
		vfs_dentry_drop(ndir, nd);
}

int vfs_renameat(const struct vfs_ctx *c, struct vfs_path ostart, const char *opath,
		 struct vfs_path nstart, const char *npath, unsigned flags)
{
	char oname[VFS_NAME_MAX + 1], nname[VFS_NAME_MAX + 1];
	struct vfs_path op, np;
	struct vfs_dentry *od = NULL, *nd = NULL;
	struct vfs_inode *odir;
	bool otrail, ntrail;
	int err;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE) ||
	    ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)))
		return -EINVAL;
	err = resolve_parent(c, ostart, opath, &op, oname, &otrail);
	if (err)
		return err == -EEXIST ? -EBUSY : err;
	err = resolve_parent(c, nstart, npath, &np, nname, &ntrail);
	if (err) {
		err = err == -EEXIST ? -EBUSY : err;
		goto out_op;
	}
	err = vfs_dentry_lookup(op.dentry, oname, &od);
	if (err)
		goto out_np;
	err = -EXDEV;
	if (op.mnt != np.mnt)
		goto out_od;
	err = -ENOTDIR;
	if ((otrail || ntrail) && !vfs_is_dir(od->inode))
		goto out_od;
	/* A directory cannot move under itself. */
	err = -EINVAL;
	if (vfs_is_dir(od->inode) && is_under(np.dentry, od))
		goto out_od;
	if (vfs_dentry_lookup(np.dentry, nname, &nd) == 0 && (nd->mountpoint || od->mountpoint)) {
		err = -EBUSY;
		goto out_od;
	}
	err = -EROFS;
	if (read_only(op))
		goto out_od;
	odir = op.dentry->inode;
	err = odir->ops->rename ? odir->ops->rename(odir, oname, np.dentry->inode, nname, flags)
				: -EPERM;
	if (!err)
		move_dentries(op.dentry, od, oname, np.dentry, nd, nname, flags & RENAME_EXCHANGE);
out_od:
	if (nd)
		vfs_dentry_put(nd);
	vfs_dentry_put(od);
out_np:
	vfs_path_put(np);
out_op:
	vfs_path_put(op);
	return err;
}

/* --- reading names and attributes --- */

int vfs_readlinkat(const struct vfs_ctx *c, struct vfs_path start, const char *path, char *buf,
		   size_t size)
{
	struct vfs_path p;
	struct vfs_inode *inode;
	int err = resolve(c, start, path, 0, &p);

	if (err)
		return err;
	inode = p.dentry->inode;
	err = S_ISLNK(inode->mode) && inode->ops->readlink ? inode->ops->readlink(inode, buf, size)
							   : -EINVAL;
	vfs_path_put(p);
	return err;
}

int vfs_getattr(struct vfs_inode *inode, struct stat *st)
{
	return inode->ops->getattr ? inode->ops->getattr(inode, st) : -EPERM;
}

int vfs_statat(const struct vfs_ctx *c, struct vfs_path start, const char *path, bool follow,
	       struct stat *st)
{
	struct vfs_path p;
	int err = resolve(c, start, path, follow ? VFS_LOOKUP_FOLLOW : 0, &p);

	if (err)
		return err;
	err = vfs_getattr(p.dentry->inode, st);
	vfs_path_put(p);
	return err;
}

int vfs_setattr_path(struct vfs_path p, const struct vfs_setattr *a)
{
	struct vfs_inode *inode = p.dentry->inode;

	if (read_only(p))
		return -EROFS;
	return inode->ops->setattr ? inode->ops->setattr(inode, a) : -EPERM;
}

/* --- file I/O --- */

ssize_t vfs_read(struct vfs_file *f, struct vfs_io *io, int64_t off)
{
	ssize_t n;

	if ((f->flags & O_ACCMODE) == O_WRONLY || (f->flags & O_PATH))
		return -EBADF;
	if (f->inode && vfs_is_dir(f->inode))
		return -EISDIR;
	if (!f->ops || !f->ops->read)
		return -EINVAL;
	if (off >= 0)
		return f->ops->seekable ? f->ops->read(f, io, (uint64_t)off) : -ESPIPE;
	/* No offset to keep (pipes, devices): no lock either, so that a
	 * reader blocked on the file (a FUSE server thread waiting for a
	 * request) never stops a writer on the same description. */
	if (!f->ops->seekable)
		return f->ops->read(f, io, 0);
	pthread_mutex_lock(&f->pos_lock);
	n = f->ops->read(f, io, f->offset);
	if (n > 0)
		__atomic_store_n(&f->offset, f->offset + (uint64_t)n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&f->pos_lock);
	return n;
}

/*
 * O_APPEND writes to one inode go one at a time, across file descriptions
 * and processes (Linux's inode lock): each finds the end the last one
 * left, so no appended data is written over.  The wait is interruptible,
 * so a writer queued behind a FUSE server that never answers can still
 * be killed.
 */
static pthread_mutex_t append_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t append_done = PTHREAD_COND_INITIALIZER; /* no deadline: any clock */

static int append_begin(struct vfs_inode *inode)
{
	struct task *t = task_current();
	int err = 0;

	pthread_mutex_lock(&append_mu);
	while (inode->appending && !err) {
		if (t)
			err = task_wait(t, &append_done, &append_mu, NULL);
		else
			pthread_cond_wait(&append_done, &append_mu);
	}
	if (!err)
		inode->appending = true;
	pthread_mutex_unlock(&append_mu);
	return err;
}

static void append_end(struct vfs_inode *inode)
{
	pthread_mutex_lock(&append_mu);
	inode->appending = false;
	pthread_cond_broadcast(&append_done);
	pthread_mutex_unlock(&append_mu);
}

ssize_t vfs_write(struct vfs_file *f, struct vfs_io *io, int64_t off)
{
	struct stat st;
	bool append = (f->flags & O_APPEND) && f->inode;
	ssize_t n;
	int err;

	if ((f->flags & O_ACCMODE) == O_RDONLY || (f->flags & O_PATH))
		return -EBADF;
	if (!f->ops || !f->ops->write)
		return -EINVAL;
	if (off >= 0)
		return f->ops->seekable ? f->ops->write(f, io, (uint64_t)off) : -ESPIPE;
	if (!f->ops->seekable)
		return f->ops->write(f, io, 0);
	if (append && (err = append_begin(f->inode)))
		return err;
	pthread_mutex_lock(&f->pos_lock);
	if (append && vfs_getattr(f->inode, &st) == 0)
		__atomic_store_n(&f->offset, (uint64_t)st.st_size, __ATOMIC_RELAXED);
	n = f->ops->write(f, io, f->offset);
	if (n > 0)
		__atomic_store_n(&f->offset, f->offset + (uint64_t)n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&f->pos_lock);
	if (append)
		append_end(f->inode);
	return n;
}

/*
 * SEEK_DATA / SEEK_HOLE from @off: ENXIO at or past the end; else the
 * file system's answer, or Linux's generic one (all data, the one hole
 * at the end).  f->pos_lock held.
 */
static int64_t seek_data(struct vfs_file *f, int64_t off, int whence)
{
	struct stat st;
	int64_t pos = -ENOSYS;

	if (!f->inode || !S_ISREG(f->inode->mode) || vfs_getattr(f->inode, &st) != 0)
		return -EINVAL;
	if (off < 0 || off >= st.st_size)
		return -ENXIO;
	if (f->ops->seek_data)
		pos = f->ops->seek_data(f, off, whence);
	if (pos == -ENOSYS)
		pos = whence == SEEK_DATA ? off : st.st_size;
	return pos;
}

int64_t vfs_lseek(struct vfs_file *f, int64_t off, int whence)
{
	struct stat st;
	int64_t base, pos;

	if (!f->ops || !f->ops->seekable)
		return -ESPIPE;
	pthread_mutex_lock(&f->pos_lock);
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)f->offset;
		break;
	case SEEK_END:
		base = f->inode && vfs_getattr(f->inode, &st) == 0 ? st.st_size : 0;
		break;
	case SEEK_DATA:
	case SEEK_HOLE:
		pos = seek_data(f, off, whence);
		if (pos >= 0)
			__atomic_store_n(&f->offset, (uint64_t)pos, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&f->pos_lock);
		return pos;
	default:
		pthread_mutex_unlock(&f->pos_lock);
		return -EINVAL;
	}
	if (__builtin_add_overflow(base, off, &pos) || pos < 0) {
		pthread_mutex_unlock(&f->pos_lock);
		return -EINVAL;
	}
	__atomic_store_n(&f->offset, (uint64_t)pos, __ATOMIC_RELAXED);
	if (f->inode && vfs_is_dir(f->inode))
		f->dir_pos = (uint64_t)pos; /* seekdir, rewinddir: iterate from there */
	pthread_mutex_unlock(&f->pos_lock);
	return pos;
}

/* Between a file system's iterate and the caller's emit: each entry
 * learns the position it was read at. */
struct iterate_at {
	vfs_emit_fn emit;
	void *ctx;
	const uint64_t *pos;
};

static int emit_at(void *c, const struct vfs_dirent *d)
{
	struct iterate_at *it = c;
	struct vfs_dirent e = *d;

	e.at = *it->pos;
	return it->emit(it->ctx, &e);
}

int vfs_iterate_at(struct vfs_file *f, vfs_emit_fn emit, void *ctx, uint64_t *end)
{
	struct iterate_at it = {emit, ctx, &f->dir_pos};
	int err;

	if (!f->inode || !vfs_is_dir(f->inode))
		return -ENOTDIR;
	if (!f->ops || !f->ops->iterate)
		return -ENOTDIR;
	pthread_mutex_lock(&f->pos_lock);
	err = f->ops->iterate(f, &f->dir_pos, emit_at, &it);
	/* A directory's offset is its position: lseek(SEEK_CUR) and
	 * telldir see where reading goes on. */
	__atomic_store_n(&f->offset, f->dir_pos, __ATOMIC_RELAXED);
	if (end)
		*end = f->dir_pos;
	pthread_mutex_unlock(&f->pos_lock);
	return err;
}

int vfs_iterate(struct vfs_file *f, vfs_emit_fn emit, void *ctx)
{
	return vfs_iterate_at(f, emit, ctx, NULL);
}

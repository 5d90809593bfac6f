/*
 * kernel/vfs/tmpfs.c - a file system in memory.
 *
 * Inodes live in sentry memory; file data lives in memory-file frames,
 * charged to Tmpfs, found through a per-file segment set from file offset
 * to memory-file offset (merging where the frames are contiguous).  Holes
 * read as zeros and cost nothing, so sparse files are cheap; truncation
 * frees the frames past the new end and zeroes the tail of the last page.
 *
 * A directory is a list of (name, inode) entries, each holding a reference
 * on its inode; nlink counts them (plus "." and ".." for directories).
 *
 * Special files open as Linux's do: a character device node as the
 * sandbox's device of that number (vfs_chrdev_open; ENXIO for numbers
 * with no driver), a FIFO as a named pipe shared by all its opens
 * (kernel/pipe.h).
 *
 * Locking: each inode's @lock protects its attributes, entries and data.
 * Operations on two directories (rename) lock them in address order.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>

#include "kernel/pipe.h"
#include "kernel/vfs/tmpfs.h"
#include "kernel/vfs/vfs_impl.h"
#include "platform/segset.h"

#define PG ABI_PAGE_SIZE

struct tmpfs_dirent {
	struct tmpfs_dirent *next;
	struct vfs_inode *inode; /* a reference */
	char name[];
};

struct tmpfs_xattr {
	struct tmpfs_xattr *next;
	size_t size;
	char *name;
	unsigned char value[];
};

struct tmpfs_inode {
	struct vfs_inode base;
	struct tmpfs_xattr *xattrs; /* protected by lock */
	size_t xattr_bytes;         /* names + values, for the per-inode cap */
	pthread_mutex_t lock;
	uid_t uid;
	gid_t gid;
	nlink_t nlink;
	dev_t rdev;
	uint64_t size;
	struct timespec atime, mtime, ctime;
	struct tmpfs_dirent *entries; /* directories */
	size_t nentries;
	struct segset pages;          /* regular files: offset -> memory-file offset */
	uint64_t backed;              /* bytes of frames held */
	char *target;                 /* symlinks */
	struct pipe_fifo *fifo;       /* FIFOs: the pipe its opens share; made at mknod */
};

struct tmpfs {
	struct vfs_fs base;
	struct memfile *mf;
	dev_t dev;
};

static const struct vfs_inode_ops tmpfs_inode_ops;

static struct tmpfs_inode *TI(struct vfs_inode *i)
{
	return (struct tmpfs_inode *)i;
}

static struct tmpfs *TFS(struct vfs_inode *i)
{
	return (struct tmpfs *)i->fs;
}

/* --- pages --- */

static bool page_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	return *(uint64_t *)lv + file_range_len(lr) == *(const uint64_t *)rv;
}

static void page_split(struct file_range r, void *v, uint64_t at, void *right)
{
	*(uint64_t *)right = *(uint64_t *)v + (at - r.start);
}

static const struct segset_ops page_ops = {
	.value_size = sizeof(uint64_t),
	.merge = page_merge,
	.split = page_split,
};

/* Free the frames of file range @r (page aligned).  Caller holds the lock. */
static void free_pages(struct tmpfs_inode *ti, struct file_range r)
{
	struct memfile *mf = TFS(&ti->base)->mf;
	struct segset_seg *seg;

	if (segset_reserve(&ti->pages, 2))
		r.end = UINT64_MAX; /* no node to split with: drop everything past r.start */
	seg = segset_lower_bound_seg(&ti->pages, r.start);
	while (seg && segset_seg_range(seg).start < r.end) {
		struct file_range sr;
		uint64_t off;

		seg = segset_isolate(&ti->pages, seg, r);
		if (abi_is_err(seg))
			return;
		sr = segset_seg_range(seg);
		off = *(uint64_t *)segset_seg_value(seg);
		memfile_free(mf, file_range_make(off, off + file_range_len(sr)));
		ti->backed -= file_range_len(sr);
		seg = segset_gap_next_seg(segset_remove(&ti->pages, seg));
	}
}

/* Give the pages of @r (page aligned) frames.  Caller holds the lock. */
static int back_pages(struct tmpfs_inode *ti, struct file_range r)
{
	struct memfile *mf = TFS(&ti->base)->mf;
	struct segset_gap g = segset_lower_bound_gap(&ti->pages, r.start);

	while (segset_gap_ok(g) && segset_gap_range(g).start < r.end) {
		struct file_range gr = file_range_intersect(segset_gap_range(g), r), fr;
		uint64_t len = file_range_len(gr);
		struct segset_seg *seg;
		int err;

		if (len == 0) {
			g = segset_gap_next_gap(g);
			continue;
		}
		while ((err = memfile_alloc(mf, len, PG, MEMACCT_TMPFS, &fr)) == -ENOMEM && len > PG)
			len = abi_page_round_down(len / 2);
		if (err)
			return err == -ENOMEM ? -ENOSPC : err;
		seg = segset_insert(&ti->pages, g, file_range_make(gr.start, gr.start + len),
				    &fr.start);
		if (abi_is_err(seg)) {
			memfile_free(mf, fr);
			return (int)abi_ptr_err(seg);
		}
		ti->backed += len;
		g = segset_lower_bound_gap(&ti->pages, gr.start + len - 1);
	}
	return 0;
}

/* Copy between file bytes [off, off + n) and the caller.  Unbacked pages
 * read as zeros; writes must have backed them first.  Caller holds the
 * lock. */
static int copy_data(struct tmpfs_inode *ti, struct vfs_io *io, uint64_t off, size_t n,
		     bool to_caller)
{
	static const unsigned char zeros[4096];
	struct memfile *mf = TFS(&ti->base)->mf;
	size_t done = 0;

	while (done < n) {
		uint64_t at = off + done;
		struct segset_seg *seg = segset_find(&ti->pages, at, NULL);
		size_t chunk = n - done;
		void *p;
		int err;

		if (seg) {
			uint64_t avail = segset_seg_range(seg).end - at;
			uint64_t moff = *(uint64_t *)segset_seg_value(seg) +
					(at - segset_seg_range(seg).start);

			if (chunk > avail)
				chunk = (size_t)avail;
			p = memfile_map(mf, file_range_make(moff, moff + chunk));
		} else {
			uint64_t next = abi_page_round_down(at) + PG;

			if (!to_caller)
				return -EIO; /* writes back their pages first */
			if (chunk > next - at)
				chunk = (size_t)(next - at);
			p = (void *)zeros;
		}
		err = io->copy(io, p, done, chunk, to_caller);
		if (err)
			return done ? (int)done : err;
		done += chunk;
	}
	return (int)done;
}

/* Zero the backed bytes of [from, to); holes read as zeros already.
 * Caller holds the lock. */
static int zero_range(struct tmpfs_inode *ti, uint64_t from, uint64_t to)
{
	while (from < to) {
		struct segset_seg *seg = segset_find(&ti->pages, from, NULL);
		uint64_t next = abi_page_round_down(from) + PG, stop = next < to ? next : to;

		if (seg) {
			uint64_t moff = *(uint64_t *)segset_seg_value(seg) +
					(from - segset_seg_range(seg).start);

			memset(memfile_map(TFS(&ti->base)->mf, file_range_make(moff, moff + stop - from)),
			       0, stop - from);
		}
		from = stop;
	}
	return 0;
}

/* --- inodes --- */

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static struct tmpfs_inode *inode_new(struct tmpfs *fs, mode_t mode)
{
	struct tmpfs_inode *ti = calloc(1, sizeof(*ti));

	if (!ti)
		return NULL;
	vfs_inode_init(&ti->base, &fs->base, &tmpfs_inode_ops, mode);
	pthread_mutex_init(&ti->lock, NULL);
	segset_init(&ti->pages, &page_ops);
	ti->nlink = S_ISDIR(mode) ? 2 : 1;
	now(&ti->atime);
	ti->mtime = ti->ctime = ti->atime;
	return ti;
}

static void tmpfs_evict(struct vfs_inode *inode)
{
	struct tmpfs_inode *ti = TI(inode);
	struct tmpfs_dirent *e = ti->entries;

	while (e) {
		struct tmpfs_dirent *next = e->next;

		vfs_inode_put(e->inode);
		free(e);
		e = next;
	}
	while (ti->xattrs) {
		struct tmpfs_xattr *x = ti->xattrs;

		ti->xattrs = x->next;
		free(x->name);
		free(x);
	}
	free_pages(ti, file_range_make(0, UINT64_MAX & ~ABI_PAGE_MASK));
	segset_clear(&ti->pages);
	free(ti->target);
	pipe_fifo_free(ti->fifo);
	pthread_mutex_destroy(&ti->lock);
	free(ti);
}

static struct tmpfs_dirent *find_entry(struct tmpfs_inode *dir, const char *name,
				       struct tmpfs_dirent ***link)
{
	struct tmpfs_dirent **pp;

	for (pp = &dir->entries; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->name, name)) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

static int tmpfs_lookup(struct vfs_inode *dir, const char *name, struct vfs_inode **out)
{
	struct tmpfs_inode *d = TI(dir);
	struct tmpfs_dirent *e;

	pthread_mutex_lock(&d->lock);
	e = find_entry(d, name, NULL);
	if (e)
		*out = vfs_inode_get(e->inode);
	pthread_mutex_unlock(&d->lock);
	return e ? 0 : -ENOENT;
}

/* Add @child under @name.  Caller holds dir's lock. */
static int add_entry(struct tmpfs_inode *d, const char *name, struct vfs_inode *child)
{
	size_t len = strlen(name);
	struct tmpfs_dirent *e;

	if (find_entry(d, name, NULL))
		return -EEXIST;
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->name, name, len + 1);
	e->inode = vfs_inode_get(child);
	e->next = d->entries;
	d->entries = e;
	d->nentries++;
	if (vfs_is_dir(child))
		d->nlink++;
	now(&d->mtime);
	d->ctime = d->mtime;
	return 0;
}

/* Make a new inode of @mode under @name; *@out gets a reference. */
static int make_node(struct vfs_inode *dir, const char *name, mode_t mode, dev_t rdev,
		     const char *target, struct vfs_inode **out)
{
	struct tmpfs_inode *d = TI(dir), *ti = inode_new(TFS(dir), mode);
	int err;

	if (!ti)
		return -ENOMEM;
	ti->rdev = rdev;
	if (S_ISFIFO(mode) && !(ti->fifo = pipe_fifo_new())) {
		vfs_inode_put(&ti->base);
		return -ENOMEM;
	}
	if (target) {
		ti->target = strdup(target);
		ti->size = strlen(target);
		if (!ti->target) {
			vfs_inode_put(&ti->base);
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&d->lock);
	err = add_entry(d, name, &ti->base);
	pthread_mutex_unlock(&d->lock);
	if (err) {
		vfs_inode_put(&ti->base);
		return err;
	}
	*out = &ti->base;
	return 0;
}

static int tmpfs_create(struct vfs_inode *dir, const char *name, mode_t mode,
			struct vfs_inode **out)
{
	return make_node(dir, name, S_IFREG | (mode & 07777), 0, NULL, out);
}

static int tmpfs_mkdir(struct vfs_inode *dir, const char *name, mode_t mode,
		       struct vfs_inode **out)
{
	return make_node(dir, name, S_IFDIR | (mode & 07777), 0, NULL, out);
}

static int tmpfs_mknod(struct vfs_inode *dir, const char *name, mode_t mode, dev_t dev,
		       struct vfs_inode **out)
{
	return make_node(dir, name, mode, dev, NULL, out);
}

static int tmpfs_symlink(struct vfs_inode *dir, const char *name, const char *target,
			 struct vfs_inode **out)
{
	return make_node(dir, name, S_IFLNK | 0777, 0, target, out);
}

static int tmpfs_link(struct vfs_inode *dir, const char *name, struct vfs_inode *target)
{
	struct tmpfs_inode *d = TI(dir), *t = TI(target);
	int err;

	if (target->fs != dir->fs)
		return -EXDEV;
	if (vfs_is_dir(target))
		return -EPERM;
	pthread_mutex_lock(&d->lock);
	err = add_entry(d, name, target);
	pthread_mutex_unlock(&d->lock);
	if (!err) {
		pthread_mutex_lock(&t->lock);
		t->nlink++;
		now(&t->ctime);
		pthread_mutex_unlock(&t->lock);
	}
	return err;
}

/* Remove entry @name of @d, which must name @victim.  Caller holds d's lock. */
static int remove_entry(struct tmpfs_inode *d, const char *name, struct vfs_inode *victim)
{
	struct tmpfs_dirent **pp, *e = find_entry(d, name, &pp);

	if (!e || e->inode != victim)
		return -ENOENT;
	*pp = e->next;
	d->nentries--;
	if (vfs_is_dir(victim))
		d->nlink--;
	now(&d->mtime);
	d->ctime = d->mtime;
	pthread_mutex_lock(&TI(victim)->lock);
	TI(victim)->nlink -= vfs_is_dir(victim) ? 2 : 1;
	TI(victim)->ctime = d->mtime;
	pthread_mutex_unlock(&TI(victim)->lock);
	vfs_inode_put(e->inode);
	free(e);
	return 0;
}

static int tmpfs_unlink(struct vfs_inode *dir, const char *name, struct vfs_inode *victim)
{
	int err;

	if (vfs_is_dir(victim))
		return -EISDIR;
	pthread_mutex_lock(&TI(dir)->lock);
	err = remove_entry(TI(dir), name, victim);
	pthread_mutex_unlock(&TI(dir)->lock);
	return err;
}

static int tmpfs_rmdir(struct vfs_inode *dir, const char *name, struct vfs_inode *victim)
{
	int err = -ENOTEMPTY;

	if (!vfs_is_dir(victim))
		return -ENOTDIR;
	pthread_mutex_lock(&TI(dir)->lock);
	pthread_mutex_lock(&TI(victim)->lock);
	if (TI(victim)->nentries == 0)
		err = 0;
	pthread_mutex_unlock(&TI(victim)->lock);
	if (!err)
		err = remove_entry(TI(dir), name, victim);
	pthread_mutex_unlock(&TI(dir)->lock);
	return err;
}

static void lock_two(struct tmpfs_inode *a, struct tmpfs_inode *b)
{
	if (a == b) {
		pthread_mutex_lock(&a->lock);
	} else if (a < b) {
		pthread_mutex_lock(&a->lock);
		pthread_mutex_lock(&b->lock);
	} else {
		pthread_mutex_lock(&b->lock);
		pthread_mutex_lock(&a->lock);
	}
}

static void unlock_two(struct tmpfs_inode *a, struct tmpfs_inode *b)
{
	pthread_mutex_unlock(&a->lock);
	if (a != b)
		pthread_mutex_unlock(&b->lock);
}

/* Caller holds both directory locks. */
static int rename_locked(struct tmpfs_inode *od, const char *oname, struct tmpfs_inode *nd,
			 const char *nname, unsigned flags)
{
	struct tmpfs_dirent *src = find_entry(od, oname, NULL), *dst = find_entry(nd, nname, NULL);
	struct vfs_inode *moving;
	int err;

	if (!src)
		return -ENOENT;
	if (dst && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (flags & RENAME_EXCHANGE) {
		struct vfs_inode *tmp;

		if (!dst)
			return -ENOENT;
		tmp = src->inode;
		src->inode = dst->inode;
		dst->inode = tmp;
		if (vfs_is_dir(src->inode) != vfs_is_dir(dst->inode) && od != nd) {
			od->nlink += vfs_is_dir(src->inode) ? 1 : -1;
			nd->nlink += vfs_is_dir(dst->inode) ? 1 : -1;
		}
		return 0;
	}
	if (dst == src)
		return 0;
	moving = vfs_inode_get(src->inode);
	if (dst) {
		bool sdir = vfs_is_dir(moving), ddir = vfs_is_dir(dst->inode);

		err = sdir && !ddir ? -ENOTDIR : !sdir && ddir ? -EISDIR : 0;
		if (!err && ddir && TI(dst->inode)->nentries)
			err = -ENOTEMPTY;
		if (!err)
			err = remove_entry(nd, nname, dst->inode);
		if (err) {
			vfs_inode_put(moving);
			return err;
		}
	}
	err = add_entry(nd, nname, moving);
	if (!err) {
		/* Undo the nlink add_entry gave, then remove the old name. */
		pthread_mutex_lock(&TI(moving)->lock);
		TI(moving)->nlink += vfs_is_dir(moving) ? 2 : 1;
		pthread_mutex_unlock(&TI(moving)->lock);
		err = remove_entry(od, oname, moving);
	}
	vfs_inode_put(moving);
	return err;
}

static int tmpfs_rename(struct vfs_inode *odir, const char *oname, struct vfs_inode *ndir,
			const char *nname, unsigned flags)
{
	int err;

	if (odir->fs != ndir->fs)
		return -EXDEV;
	lock_two(TI(odir), TI(ndir));
	err = rename_locked(TI(odir), oname, TI(ndir), nname, flags);
	unlock_two(TI(odir), TI(ndir));
	return err;
}

static int tmpfs_readlink(struct vfs_inode *inode, char *buf, size_t size)
{
	struct tmpfs_inode *ti = TI(inode);
	size_t len;

	if (!S_ISLNK(inode->mode))
		return -EINVAL;
	len = strlen(ti->target);
	if (len > size)
		len = size;
	memcpy(buf, ti->target, len);
	return (int)len;
}

static int tmpfs_getattr(struct vfs_inode *inode, struct stat *st)
{
	struct tmpfs_inode *ti = TI(inode);

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&ti->lock);
	st->st_dev = TFS(inode)->dev;
	st->st_ino = inode->ino;
	st->st_mode = inode->mode;
	st->st_nlink = ti->nlink;
	st->st_uid = ti->uid;
	st->st_gid = ti->gid;
	st->st_rdev = ti->rdev;
	st->st_size = (off_t)(vfs_is_dir(inode) ? PG : ti->size);
	st->st_blksize = PG;
	st->st_blocks = (blkcnt_t)(ti->backed / 512);
	st->st_atim = ti->atime;
	st->st_mtim = ti->mtime;
	st->st_ctim = ti->ctime;
	pthread_mutex_unlock(&ti->lock);
	return 0;
}

/* Set the size; caller holds the lock. */
static int truncate_locked(struct tmpfs_inode *ti, uint64_t size)
{
	uint64_t end;

	if (!abi_page_round_up(size, &end))
		return -EFBIG;
	if (size < ti->size) {
		struct segset_seg *seg = segset_find(&ti->pages, size, NULL);

		free_pages(ti, file_range_make(end, UINT64_MAX & ~ABI_PAGE_MASK));
		/* Zero the rest of the last page, so a later extension reads zeros. */
		if (seg && (size & ABI_PAGE_MASK)) {
			uint64_t moff = *(uint64_t *)segset_seg_value(seg) +
					(size - segset_seg_range(seg).start);

			memset(memfile_map(TFS(&ti->base)->mf,
					   file_range_make(moff, moff + (end - size))),
			       0, end - size);
		}
	}
	ti->size = size;
	now(&ti->mtime);
	ti->ctime = ti->mtime;
	return 0;
}

static int tmpfs_setattr(struct vfs_inode *inode, const struct vfs_setattr *a)
{
	struct tmpfs_inode *ti = TI(inode);
	int err = 0;

	if ((a->valid & VFS_ATTR_SIZE) && !S_ISREG(inode->mode))
		return vfs_is_dir(inode) ? -EISDIR : -EINVAL;
	pthread_mutex_lock(&ti->lock);
	if (a->valid & VFS_ATTR_SIZE)
		err = truncate_locked(ti, a->size);
	if (a->valid & VFS_ATTR_MODE)
		inode->mode = (inode->mode & S_IFMT) | (a->mode & 07777);
	if (a->valid & VFS_ATTR_UID)
		ti->uid = a->uid;
	if (a->valid & VFS_ATTR_GID)
		ti->gid = a->gid;
	if (a->valid & VFS_ATTR_ATIME)
		ti->atime = a->atime;
	if (a->valid & VFS_ATTR_MTIME)
		ti->mtime = a->mtime;
	now(&ti->ctime);
	pthread_mutex_unlock(&ti->lock);
	return err;
}

/* --- fallocate --- */

static int tmpfs_fallocate(struct vfs_inode *inode, struct vfs_file *f, int mode, uint64_t off,
			   uint64_t len)
{
	struct tmpfs_inode *ti = TI(inode);
	uint64_t end, pend;
	int err;

	if (!S_ISREG(inode->mode))
		return vfs_is_dir(inode) ? -EISDIR : -ENODEV;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if (__builtin_add_overflow(off, len, &end) || end > (UINT64_C(1) << 52) ||
	    !abi_page_round_up(end, &pend))
		return -EFBIG;
	pthread_mutex_lock(&ti->lock);
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		struct file_range whole;

		/* Whole pages go back; the partial edges are zeroed. */
		err = 0;
		if (!abi_page_round_up(off, &whole.start))
			err = -EFBIG;
		whole.end = abi_page_round_down(end);
		if (!err && whole.start < whole.end)
			free_pages(ti, whole);
		if (!err)
			err = zero_range(ti, off, whole.start < end ? whole.start : end);
		if (!err && whole.end > off && whole.end < end)
			err = zero_range(ti, whole.end, end);
	} else {
		err = back_pages(ti, file_range_make(abi_page_round_down(off), pend));
		if (!err && !(mode & FALLOC_FL_KEEP_SIZE) && end > ti->size)
			ti->size = end;
	}
	if (!err) {
		now(&ti->mtime);
		ti->ctime = ti->mtime;
	}
	pthread_mutex_unlock(&ti->lock);
	return err;
}

/* --- extended attributes --- */

#define XATTR_TOTAL_MAX (64 * 1024) /* per inode, names and values */

static struct tmpfs_xattr *find_xattr(struct tmpfs_inode *ti, const char *name,
				      struct tmpfs_xattr ***link)
{
	struct tmpfs_xattr **pp;

	for (pp = &ti->xattrs; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name)) {
			if (link)
				*link = pp;
			return *pp;
		}
	return NULL;
}

static int tmpfs_setxattr(struct vfs_inode *inode, const char *name, const void *value,
			  size_t size, int flags)
{
	struct tmpfs_inode *ti = TI(inode);
	struct tmpfs_xattr **pp, *old, *x;
	size_t cost = strlen(name) + size;
	int err = 0;

	pthread_mutex_lock(&ti->lock);
	old = find_xattr(ti, name, &pp);
	if ((flags & XATTR_CREATE) && old)
		err = -EEXIST;
	else if ((flags & XATTR_REPLACE) && !old)
		err = -ENODATA;
	else if (ti->xattr_bytes - (old ? strlen(old->name) + old->size : 0) + cost >
		 XATTR_TOTAL_MAX)
		err = -ENOSPC;
	if (err)
		goto out_unlock;
	x = malloc(sizeof(*x) + size);
	if (!x || !(x->name = strdup(name))) {
		free(x);
		err = -ENOMEM;
		goto out_unlock;
	}
	memcpy(x->value, value, size);
	x->size = size;
	if (old) {
		*pp = old->next;
		ti->xattr_bytes -= strlen(old->name) + old->size;
		free(old->name);
		free(old);
	}
	x->next = ti->xattrs;
	ti->xattrs = x;
	ti->xattr_bytes += cost;
	now(&ti->ctime);
out_unlock:
	pthread_mutex_unlock(&ti->lock);
	return err;
}

static ssize_t tmpfs_getxattr(struct vfs_inode *inode, const char *name, void *value, size_t size)
{
	struct tmpfs_inode *ti = TI(inode);
	struct tmpfs_xattr *x;
	ssize_t ret;

	pthread_mutex_lock(&ti->lock);
	x = find_xattr(ti, name, NULL);
	if (!x)
		ret = -ENODATA;
	else if (size && size < x->size)
		ret = -ERANGE;
	else {
		if (size)
			memcpy(value, x->value, x->size);
		ret = (ssize_t)x->size;
	}
	pthread_mutex_unlock(&ti->lock);
	return ret;
}

static ssize_t tmpfs_listxattr(struct vfs_inode *inode, char *list, size_t size)
{
	struct tmpfs_inode *ti = TI(inode);
	size_t need = 0;

	pthread_mutex_lock(&ti->lock);
	for (struct tmpfs_xattr *x = ti->xattrs; x; x = x->next)
		need += strlen(x->name) + 1;
	if (size && size < need) {
		pthread_mutex_unlock(&ti->lock);
		return -ERANGE;
	}
	if (size) {
		size_t at = 0;

		for (struct tmpfs_xattr *x = ti->xattrs; x; x = x->next) {
			memcpy(list + at, x->name, strlen(x->name) + 1);
			at += strlen(x->name) + 1;
		}
	}
	pthread_mutex_unlock(&ti->lock);
	return (ssize_t)need;
}

static int tmpfs_removexattr(struct vfs_inode *inode, const char *name)
{
	struct tmpfs_inode *ti = TI(inode);
	struct tmpfs_xattr **pp, *x;

	pthread_mutex_lock(&ti->lock);
	x = find_xattr(ti, name, &pp);
	if (x) {
		*pp = x->next;
		ti->xattr_bytes -= strlen(x->name) + x->size;
		free(x->name);
		free(x);
		now(&ti->ctime);
	}
	pthread_mutex_unlock(&ti->lock);
	return x ? 0 : -ENODATA;
}

/* --- files --- */

static ssize_t tmpfs_read(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct tmpfs_inode *ti = TI(f->inode);
	size_t n = io->len;
	int ret;

	pthread_mutex_lock(&ti->lock);
	if (off >= ti->size)
		n = 0;
	else if (n > ti->size - off)
		n = (size_t)(ti->size - off);
	ret = n ? copy_data(ti, io, off, n, true) : 0;
	pthread_mutex_unlock(&ti->lock);
	return ret;
}

static ssize_t tmpfs_write(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct tmpfs_inode *ti = TI(f->inode);
	uint64_t end, pend;
	int ret;

	if (io->len == 0)
		return 0;
	if (__builtin_add_overflow(off, io->len, &end) || end > (UINT64_C(1) << 52) ||
	    !abi_page_round_up(end, &pend))
		return -EFBIG;
	pthread_mutex_lock(&ti->lock);
	ret = back_pages(ti, file_range_make(abi_page_round_down(off), pend));
	if (!ret)
		ret = copy_data(ti, io, off, io->len, false);
	if (ret > 0 && off + (uint64_t)ret > ti->size)
		ti->size = off + (uint64_t)ret;
	if (ret > 0) {
		now(&ti->mtime);
		ti->ctime = ti->mtime;
	}
	pthread_mutex_unlock(&ti->lock);
	return ret;
}

static unsigned char dtype(mode_t mode)
{
	return (unsigned char)((mode & S_IFMT) >> 12);
}

static int tmpfs_iterate(struct vfs_file *f, uint64_t *pos, vfs_emit_fn emit, void *ctx)
{
	struct tmpfs_inode *ti = TI(f->inode);
	struct vfs_dentry *parent = f->path.dentry ? f->path.dentry->parent : NULL;
	struct vfs_dirent d;
	uint64_t i = 0;
	int err = 0;

	if (*pos == 0) {
		d = (struct vfs_dirent){.ino = f->inode->ino, .type = DT_DIR,
					.name = ".", .len = 1};
		if (emit(ctx, &d))
			return 0;
		*pos = 1;
	}
	if (*pos == 1) {
		d = (struct vfs_dirent){.ino = parent ? parent->inode->ino : f->inode->ino,
					.type = DT_DIR, .name = "..", .len = 2};
		if (emit(ctx, &d))
			return 0;
		*pos = 2;
	}
	pthread_mutex_lock(&ti->lock);
	for (struct tmpfs_dirent *e = ti->entries; e; e = e->next, i++) {
		if (i + 2 < *pos)
			continue;
		d = (struct vfs_dirent){.ino = e->inode->ino, .type = dtype(e->inode->mode),
					.name = e->name, .len = strlen(e->name)};
		if (emit(ctx, &d))
			break;
		*pos = i + 3;
	}
	pthread_mutex_unlock(&ti->lock);
	return err;
}

static const struct vfs_file_ops tmpfs_file_ops = {
	.read = tmpfs_read,
	.write = tmpfs_write,
	.seekable = true,
};

static const struct vfs_file_ops tmpfs_dir_ops = {
	.iterate = tmpfs_iterate,
	.seekable = true,
};

static int tmpfs_open(struct vfs_inode *inode, struct vfs_file *f, int flags)
{
	struct tmpfs_inode *ti = TI(inode);

	if (vfs_is_dir(inode))
		f->ops = &tmpfs_dir_ops;
	else if (S_ISREG(inode->mode))
		f->ops = &tmpfs_file_ops;
	else if (S_ISCHR(inode->mode))
		return vfs_chrdev_open(ti->rdev, f, flags);
	else if (S_ISFIFO(inode->mode))
		return ti->fifo ? pipe_fifo_open(ti->fifo, f, flags) : -ENOMEM;
	else
		return -ENXIO; /* block devices have no driver; sockets are not opened */
	return 0;
}

static const struct vfs_inode_ops tmpfs_inode_ops = {
	.lookup = tmpfs_lookup,
	.create = tmpfs_create,
	.mkdir = tmpfs_mkdir,
	.mknod = tmpfs_mknod,
	.symlink = tmpfs_symlink,
	.link = tmpfs_link,
	.unlink = tmpfs_unlink,
	.rmdir = tmpfs_rmdir,
	.rename = tmpfs_rename,
	.readlink = tmpfs_readlink,
	.getattr = tmpfs_getattr,
	.setattr = tmpfs_setattr,
	.open = tmpfs_open,
	.fallocate = tmpfs_fallocate,
	.setxattr = tmpfs_setxattr,
	.getxattr = tmpfs_getxattr,
	.listxattr = tmpfs_listxattr,
	.removexattr = tmpfs_removexattr,
	.evict = tmpfs_evict,
};

static void tmpfs_destroy(struct vfs_fs *fs)
{
	vfs_dentry_put(fs->root);
	free(fs);
}

int tmpfs_create_fs(struct memfile *mf, mode_t root_mode, struct vfs_fs **out)
{
	static _Atomic unsigned next_dev = 1;
	struct tmpfs *fs = calloc(1, sizeof(*fs));
	struct tmpfs_inode *root;

	if (!fs)
		return -ENOMEM;
	fs->base.type = "tmpfs";
	fs->base.magic = 0x01021994;
	fs->base.destroy = tmpfs_destroy;
	fs->mf = mf;
	fs->dev = makedev(0, 100 + atomic_fetch_add(&next_dev, 1));
	root = inode_new(fs, S_IFDIR | (root_mode & 07777));
	if (!root || vfs_fs_set_root(&fs->base, &root->base))
		goto err_free;
	*out = &fs->base;
	return 0;
err_free:
	free(fs);
	return -ENOMEM;
}

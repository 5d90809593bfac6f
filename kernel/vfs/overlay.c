/*
 * kernel/vfs/overlay.c - a writable upper file system over a read-only
 * lower one, as Linux's overlayfs.
 *
 * Each overlay inode pairs an upper inode, a lower inode, or both (a
 * directory that exists in both is merged).  Reads go to the upper inode
 * if there is one, else the lower.  Anything that changes an object first
 * copies it up: its parent directories are made in the upper layer, then
 * the object itself (a regular file's data is copied; a symlink's target;
 * a directory is made empty and merged).  Removing a name that exists in
 * the lower layer leaves a whiteout in the upper one: a character device
 * 0/0, as overlayfs does.  A directory made where a whiteout was is
 * opaque: the lower layer's directory of that name stays hidden.
 * Opaqueness is kept as a reserved entry, OPAQUE_NAME, in the upper
 * directory; whiteouts and that entry never show through the overlay.
 *
 * Renaming a directory that has lower contents is EXDEV, as overlayfs
 * without redirect_dir: programs fall back to copying.
 *
 * Locking: @lock of each overlay inode protects its upper pointer and
 * opaque flag (copy-up is the only writer).  Calls into the layers are
 * made without it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/vfs/overlay.h"

#define OPAQUE_NAME ".ksentry.overlay.opaque"
#define COPY_CHUNK  (64 * 1024)

struct ovl_fs {
	struct vfs_fs base;
	struct vfs_fs *upper, *lower;
};

struct ovl_inode {
	struct vfs_inode base;
	pthread_mutex_t lock;
	struct vfs_inode *upper; /* reference, or NULL; protected by lock */
	struct vfs_inode *lower; /* reference, or NULL; fixed */
	bool opaque;             /* protected by lock */
	struct ovl_inode *parent; /* reference, NULL for the root: copy-up needs it */
	char *name;
};

static const struct vfs_inode_ops ovl_inode_ops;

static struct ovl_inode *OI(struct vfs_inode *i)
{
	return (struct ovl_inode *)i;
}

static struct vfs_inode *upper_of(struct ovl_inode *oi)
{
	struct vfs_inode *u;

	pthread_mutex_lock(&oi->lock);
	u = oi->upper ? vfs_inode_get(oi->upper) : NULL;
	pthread_mutex_unlock(&oi->lock);
	return u;
}

/* The inode reads go to: upper if any, else lower.  With a reference. */
static struct vfs_inode *real_of(struct ovl_inode *oi)
{
	struct vfs_inode *u = upper_of(oi);

	return u ? u : vfs_inode_get(oi->lower);
}

static struct ovl_inode *inode_new(struct vfs_fs *fs, struct ovl_inode *parent, const char *name,
				   struct vfs_inode *upper, struct vfs_inode *lower, bool opaque)
{
	struct ovl_inode *oi = calloc(1, sizeof(*oi));

	if (!oi)
		return NULL;
	oi->name = strdup(name);
	if (!oi->name) {
		free(oi);
		return NULL;
	}
	vfs_inode_init(&oi->base, fs, &ovl_inode_ops, (upper ? upper : lower)->mode);
	pthread_mutex_init(&oi->lock, NULL);
	oi->upper = upper;
	oi->lower = lower;
	oi->opaque = opaque;
	oi->parent = parent ? OI(vfs_inode_get(&parent->base)) : NULL;
	return oi;
}

static void ovl_evict(struct vfs_inode *inode)
{
	struct ovl_inode *oi = OI(inode);

	vfs_inode_put(oi->upper);
	vfs_inode_put(oi->lower);
	if (oi->parent)
		vfs_inode_put(&oi->parent->base);
	pthread_mutex_destroy(&oi->lock);
	free(oi->name);
	free(oi);
}

/* --- layer helpers --- */

static bool is_whiteout(struct vfs_inode *i)
{
	struct stat st;

	return S_ISCHR(i->mode) && i->ops->getattr && i->ops->getattr(i, &st) == 0 &&
	       st.st_rdev == 0;
}

static bool reserved(const char *name)
{
	return !strcmp(name, OPAQUE_NAME);
}

static int layer_lookup(struct vfs_inode *dir, const char *name, struct vfs_inode **out)
{
	if (!dir || !dir->ops->lookup)
		return -ENOENT;
	return dir->ops->lookup(dir, name, out);
}

static bool has_entry(struct vfs_inode *dir, const char *name)
{
	struct vfs_inode *i;

	if (layer_lookup(dir, name, &i))
		return false;
	vfs_inode_put(i);
	return true;
}

/* Remove a whiteout named @name from upper directory @udir, if any.
 * Returns true if there was one. */
static bool drop_whiteout(struct vfs_inode *udir, const char *name)
{
	struct vfs_inode *i;
	bool was = false;

	if (layer_lookup(udir, name, &i) == 0) {
		was = is_whiteout(i);
		if (was)
			udir->ops->unlink(udir, name, i);
		vfs_inode_put(i);
	}
	return was;
}

static int make_whiteout(struct vfs_inode *udir, const char *name)
{
	struct vfs_inode *w;
	int err;

	if (!udir->ops->mknod)
		return -EPERM;
	err = udir->ops->mknod(udir, name, S_IFCHR | 0, 0, &w);
	if (!err)
		vfs_inode_put(w);
	return err;
}

static int mark_opaque(struct vfs_inode *udir)
{
	return make_whiteout(udir, OPAQUE_NAME);
}

/* --- copy-up --- */

static int copy_data(struct vfs_inode *from, struct vfs_inode *to);

/* Give @oi an upper inode, making its parents' first.  0 or -errno. */
static int copy_up(struct ovl_inode *oi)
{
	struct vfs_inode *udir, *u = NULL, *l = oi->lower;
	struct stat st;
	char target[VFS_PATH_MAX];
	int err, len;

	if ((u = upper_of(oi))) {
		vfs_inode_put(u);
		return 0;
	}
	if (!oi->parent)
		return -EROFS; /* the root always has an upper */
	err = copy_up(oi->parent);
	if (err)
		return err;
	udir = upper_of(oi->parent);
	err = l->ops->getattr(l, &st);
	if (err)
		goto out;
	drop_whiteout(udir, oi->name);
	if (S_ISDIR(st.st_mode)) {
		err = udir->ops->mkdir(udir, oi->name, st.st_mode & 07777, &u);
	} else if (S_ISLNK(st.st_mode)) {
		len = l->ops->readlink(l, target, sizeof(target) - 1);
		err = len < 0 ? len : 0;
		if (!err) {
			target[len] = '\0';
			err = udir->ops->symlink(udir, oi->name, target, &u);
		}
	} else if (S_ISREG(st.st_mode)) {
		err = udir->ops->create(udir, oi->name, st.st_mode & 07777, &u);
		if (!err)
			err = copy_data(l, u);
	} else {
		err = udir->ops->mknod(udir, oi->name, st.st_mode, st.st_rdev, &u);
	}
	if (!err && u->ops->setattr && !S_ISLNK(st.st_mode)) {
		/* Keep the owner and times, as a copy by overlayfs does. */
		struct vfs_setattr a = {.valid = VFS_ATTR_UID | VFS_ATTR_GID | VFS_ATTR_ATIME |
						 VFS_ATTR_MTIME,
					.uid = st.st_uid, .gid = st.st_gid,
					.atime = st.st_atim, .mtime = st.st_mtim};

		err = u->ops->setattr(u, &a);
	}
	if (err)
		goto out;
	pthread_mutex_lock(&oi->lock);
	if (!oi->upper) {
		oi->upper = u;
		u = NULL;
	}
	pthread_mutex_unlock(&oi->lock);
out:
	vfs_inode_put(u);
	vfs_inode_put(udir);
	return err;
}

static int copy_data(struct vfs_inode *from, struct vfs_inode *to)
{
	struct vfs_file *in, *out;
	unsigned char *buf = malloc(COPY_CHUNK);
	uint64_t off = 0;
	int err;

	if (!buf)
		return -ENOMEM;
	err = vfs_open_inode(from, O_RDONLY, &in);
	if (err)
		goto out_free;
	err = vfs_open_inode(to, O_WRONLY, &out);
	if (err)
		goto out_in;
	for (;;) {
		struct vfs_mem_io b;
		ssize_t n, w;

		vfs_mem_io_init(&b, buf, COPY_CHUNK);
		n = in->ops->read(in, &b.io, off);

		if (n <= 0) {
			err = (int)n;
			break;
		}
		b.io.len = (size_t)n;
		w = out->ops->write(out, &b.io, off);
		if (w != n) {
			err = w < 0 ? (int)w : -EIO;
			break;
		}
		off += (uint64_t)n;
	}
	vfs_file_put(out);
out_in:
	vfs_file_put(in);
out_free:
	free(buf);
	return err;
}

/* --- lookup and attributes --- */

static int ovl_lookup(struct vfs_inode *dir, const char *name, struct vfs_inode **out)
{
	struct ovl_inode *d = OI(dir), *oi;
	struct vfs_inode *udir = upper_of(d), *u = NULL, *l = NULL;
	bool opaque = false, dir_opaque;
	int err;

	if (reserved(name)) {
		vfs_inode_put(udir);
		return -ENOENT;
	}
	pthread_mutex_lock(&d->lock);
	dir_opaque = d->opaque;
	pthread_mutex_unlock(&d->lock);
	if (layer_lookup(udir, name, &u) == 0 && is_whiteout(u)) {
		vfs_inode_put(u);
		vfs_inode_put(udir);
		return -ENOENT;
	}
	if (u && S_ISDIR(u->mode))
		opaque = has_entry(u, OPAQUE_NAME);
	/* The lower layer shows through unless the name is a non-directory
	 * above, or the directory above is opaque. */
	if (!dir_opaque && !(u && (!S_ISDIR(u->mode) || opaque)) && d->lower)
		layer_lookup(d->lower, name, &l);
	if (u && l && !S_ISDIR(l->mode)) {
		vfs_inode_put(l);
		l = NULL;
	}
	vfs_inode_put(udir);
	if (!u && !l)
		return -ENOENT;
	oi = inode_new(dir->fs, d, name, u, l, opaque || (u && !l));
	if (!oi) {
		vfs_inode_put(u);
		vfs_inode_put(l);
		return -ENOMEM;
	}
	*out = &oi->base;
	err = 0;
	return err;
}

/* A cached name whose lower object shows through is as good as the lower
 * layer says (a host tree may change under it); what the upper layer
 * holds or hides is the overlay's own and stays. */
static int ovl_revalidate(struct vfs_inode *dir, const char *name, struct vfs_inode *child)
{
	struct ovl_inode *d = OI(dir), *c = OI(child);
	struct vfs_inode *u = upper_of(c);
	bool hidden;

	pthread_mutex_lock(&c->lock);
	hidden = u && (!S_ISDIR(u->mode) || c->opaque);
	pthread_mutex_unlock(&c->lock);
	vfs_inode_put(u);
	if (hidden || !c->lower || !d->lower || !d->lower->ops->revalidate)
		return 1;
	return d->lower->ops->revalidate(d->lower, name, c->lower);
}

static int ovl_getattr(struct vfs_inode *inode, struct stat *st)
{
	struct vfs_inode *r = real_of(OI(inode));
	int err = r->ops->getattr ? r->ops->getattr(r, st) : -EPERM;

	vfs_inode_put(r);
	if (!err) {
		st->st_ino = inode->ino;
		st->st_dev = 0x6f76; /* one device for the whole overlay */
	}
	return err;
}

static int ovl_readlink(struct vfs_inode *inode, char *buf, size_t size)
{
	struct vfs_inode *r = real_of(OI(inode));
	int n = r->ops->readlink ? r->ops->readlink(r, buf, size) : -EINVAL;

	vfs_inode_put(r);
	return n;
}

static int ovl_setattr(struct vfs_inode *inode, const struct vfs_setattr *a)
{
	struct vfs_inode *u;
	int err = copy_up(OI(inode));

	if (err)
		return err;
	u = upper_of(OI(inode));
	err = u->ops->setattr ? u->ops->setattr(u, a) : -EPERM;
	if (!err && (a->valid & VFS_ATTR_MODE))
		inode->mode = u->mode;
	vfs_inode_put(u);
	return err;
}

/* --- data and attributes that change in place --- */

static int ovl_fallocate(struct vfs_inode *inode, struct vfs_file *f, int mode, uint64_t off,
			 uint64_t len)
{
	struct vfs_inode *u;
	int err = copy_up(OI(inode));

	if (err)
		return err;
	u = upper_of(OI(inode));
	err = u->ops->fallocate ? u->ops->fallocate(u, NULL, mode, off, len) : -EOPNOTSUPP;
	vfs_inode_put(u);
	return err;
}

static int ovl_setxattr(struct vfs_inode *inode, const char *name, const void *value,
			size_t size, int flags)
{
	struct vfs_inode *u;
	int err = copy_up(OI(inode));

	if (err)
		return err;
	u = upper_of(OI(inode));
	err = u->ops->setxattr ? u->ops->setxattr(u, name, value, size, flags) : -EOPNOTSUPP;
	vfs_inode_put(u);
	return err;
}

static int ovl_removexattr(struct vfs_inode *inode, const char *name)
{
	struct vfs_inode *u;
	int err = copy_up(OI(inode));

	if (err)
		return err;
	u = upper_of(OI(inode));
	err = u->ops->removexattr ? u->ops->removexattr(u, name) : -EOPNOTSUPP;
	vfs_inode_put(u);
	return err;
}

/* Reads come from whichever layer shows; the host lower has none. */
static ssize_t ovl_getxattr(struct vfs_inode *inode, const char *name, void *value, size_t size)
{
	struct vfs_inode *r = real_of(OI(inode));
	ssize_t n = r->ops->getxattr ? r->ops->getxattr(r, name, value, size) : -ENODATA;

	vfs_inode_put(r);
	return n;
}

static ssize_t ovl_listxattr(struct vfs_inode *inode, char *list, size_t size)
{
	struct vfs_inode *r = real_of(OI(inode));
	ssize_t n = r->ops->listxattr ? r->ops->listxattr(r, list, size) : 0;

	vfs_inode_put(r);
	return n;
}

/* --- creating and removing names --- */

typedef int (*make_fn)(struct vfs_inode *udir, const char *name, const void *arg,
		       struct vfs_inode **out);

/* Make @name in @dir's upper layer with @fn, replacing a whiteout. */
static int make(struct vfs_inode *dir, const char *name, make_fn fn, const void *arg,
		struct vfs_inode **out)
{
	struct ovl_inode *d = OI(dir), *oi;
	struct vfs_inode *udir, *u;
	bool replaced;
	int err;

	if (reserved(name))
		return -EPERM;
	err = copy_up(d);
	if (err)
		return err;
	udir = upper_of(d);
	replaced = drop_whiteout(udir, name);
	err = fn(udir, name, arg, &u);
	if (!err && replaced && S_ISDIR(u->mode))
		err = mark_opaque(u); /* the old lower directory must stay hidden */
	if (err && replaced)
		make_whiteout(udir, name);
	vfs_inode_put(udir);
	if (err)
		return err;
	oi = inode_new(dir->fs, d, name, u, NULL, true);
	if (!oi) {
		vfs_inode_put(u);
		return -ENOMEM;
	}
	*out = &oi->base;
	return 0;
}

struct make_args {
	mode_t mode;
	dev_t dev;
	const char *target;
};

static int up_create(struct vfs_inode *udir, const char *name, const void *arg,
		     struct vfs_inode **out)
{
	return udir->ops->create(udir, name, ((const struct make_args *)arg)->mode, out);
}

static int up_mkdir(struct vfs_inode *udir, const char *name, const void *arg,
		    struct vfs_inode **out)
{
	return udir->ops->mkdir(udir, name, ((const struct make_args *)arg)->mode, out);
}

static int up_mknod(struct vfs_inode *udir, const char *name, const void *arg,
		    struct vfs_inode **out)
{
	const struct make_args *a = arg;

	if (S_ISCHR(a->mode) && a->dev == 0)
		return -EPERM; /* that is a whiteout */
	return udir->ops->mknod(udir, name, a->mode, a->dev, out);
}

static int up_symlink(struct vfs_inode *udir, const char *name, const void *arg,
		      struct vfs_inode **out)
{
	return udir->ops->symlink(udir, name, ((const struct make_args *)arg)->target, out);
}

static int ovl_create(struct vfs_inode *dir, const char *name, mode_t mode, struct vfs_inode **out)
{
	return make(dir, name, up_create, &(struct make_args){.mode = mode}, out);
}

static int ovl_mkdir(struct vfs_inode *dir, const char *name, mode_t mode, struct vfs_inode **out)
{
	return make(dir, name, up_mkdir, &(struct make_args){.mode = mode}, out);
}

static int ovl_mknod(struct vfs_inode *dir, const char *name, mode_t mode, dev_t dev,
		     struct vfs_inode **out)
{
	return make(dir, name, up_mknod, &(struct make_args){.mode = mode, .dev = dev}, out);
}

static int ovl_symlink(struct vfs_inode *dir, const char *name, const char *target,
		       struct vfs_inode **out)
{
	return make(dir, name, up_symlink, &(struct make_args){.target = target}, out);
}

static int ovl_link(struct vfs_inode *dir, const char *name, struct vfs_inode *target)
{
	struct vfs_inode *udir, *ut;
	bool replaced;
	int err;

	if (reserved(name))
		return -EPERM;
	err = copy_up(OI(target));
	if (!err)
		err = copy_up(OI(dir));
	if (err)
		return err;
	udir = upper_of(OI(dir));
	ut = upper_of(OI(target));
	replaced = drop_whiteout(udir, name);
	err = udir->ops->link ? udir->ops->link(udir, name, ut) : -EPERM;
	if (err && replaced)
		make_whiteout(udir, name);
	vfs_inode_put(ut);
	vfs_inode_put(udir);
	return err;
}

/* Collect the visible names of a merged directory. */
struct name_set {
	char **names;
	size_t n, cap;
	bool want_whiteouts; /* record upper whiteouts too (prefixed '\1') */
};

static int add_name(struct name_set *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->names[i]) == len && !memcmp(s->names[i], name, len))
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		char **p = realloc(s->names, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->names = p;
		s->cap = cap;
	}
	s->names[s->n] = strndup(name, len);
	if (!s->names[s->n])
		return -ENOMEM;
	s->n++;
	return 0;
}

static void free_names(struct name_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
}

struct collect_ctx {
	struct name_set *set;
	int err;
};

static int collect(void *c, const struct vfs_dirent *d)
{
	struct collect_ctx *cc = c;

	if ((d->len == 1 && d->name[0] == '.') || (d->len == 2 && !memcmp(d->name, "..", 2)))
		return 0;
	cc->err = add_name(cc->set, d->name, d->len);
	return cc->err ? 1 : 0;
}

static int list_layer(struct vfs_inode *dir, struct name_set *set)
{
	struct collect_ctx cc = {.set = set};
	struct vfs_file *f;
	uint64_t pos = 0;
	int err;

	if (!dir)
		return 0;
	err = vfs_open_inode(dir, O_RDONLY | O_DIRECTORY, &f);
	if (err)
		return err;
	err = f->ops && f->ops->iterate ? f->ops->iterate(f, &pos, collect, &cc) : -ENOTDIR;
	vfs_file_put(f);
	return err ? err : cc.err;
}

/* Does a lower entry named @name show through directory @dir?  Then
 * removing or renaming @name must leave a whiteout. */
static bool lower_has(struct vfs_inode *dir, const char *name)
{
	struct ovl_inode *d = OI(dir);
	bool opaque;

	pthread_mutex_lock(&d->lock);
	opaque = d->opaque;
	pthread_mutex_unlock(&d->lock);
	return !opaque && d->lower && has_entry(d->lower, name);
}

/* Is the merged directory @oi empty (whiteouts aside)? */
static int merged_empty(struct ovl_inode *oi)
{
	struct name_set set = {0};
	struct vfs_inode *u = upper_of(oi);
	int err = list_layer(u, &set);
	bool empty = true;

	if (!err && !oi->opaque)
		err = list_layer(oi->lower, &set);
	for (size_t i = 0; !err && empty && i < set.n; i++) {
		struct vfs_inode *c;

		if (reserved(set.names[i]))
			continue;
		if (layer_lookup(u, set.names[i], &c) == 0) {
			empty = is_whiteout(c);
			vfs_inode_put(c);
		} else {
			empty = false;
		}
	}
	vfs_inode_put(u);
	free_names(&set);
	return err ? err : empty ? 0 : -ENOTEMPTY;
}

/* Empty upper directory @u of whiteouts and the opaque marker. */
static void clear_upper_dir(struct vfs_inode *u)
{
	struct name_set set = {0};

	if (list_layer(u, &set) == 0)
		for (size_t i = 0; i < set.n; i++)
			drop_whiteout(u, set.names[i]);
	free_names(&set);
}

static int remove_name(struct vfs_inode *dir, const char *name, struct vfs_inode *victim,
		       bool is_rmdir)
{
	struct ovl_inode *v = OI(victim);
	struct vfs_inode *udir, *uv;
	int err;

	if (is_rmdir) {
		err = merged_empty(v);
		if (err)
			return err;
	}
	err = copy_up(OI(dir));
	if (err)
		return err;
	udir = upper_of(OI(dir));
	uv = upper_of(v);
	if (uv) {
		if (is_rmdir)
			clear_upper_dir(uv);
		err = is_rmdir ? udir->ops->rmdir(udir, name, uv) : udir->ops->unlink(udir, name, uv);
	}
	if (!err && lower_has(dir, name))
		err = make_whiteout(udir, name);
	vfs_inode_put(uv);
	vfs_inode_put(udir);
	return err;
}

static int ovl_unlink(struct vfs_inode *dir, const char *name, struct vfs_inode *victim)
{
	return vfs_is_dir(victim) ? -EISDIR : remove_name(dir, name, victim, false);
}

static int ovl_rmdir(struct vfs_inode *dir, const char *name, struct vfs_inode *victim)
{
	return vfs_is_dir(victim) ? remove_name(dir, name, victim, true) : -ENOTDIR;
}

static int ovl_rename(struct vfs_inode *odir, const char *oname, struct vfs_inode *ndir,
		      const char *nname, unsigned flags)
{
	struct vfs_inode *src, *dst, *uo, *un;
	bool src_lower, dst_lower;
	int err;

	if (reserved(nname) || (flags & RENAME_EXCHANGE))
		return -EXDEV; /* exchange across layers: callers fall back */
	err = ovl_lookup(odir, oname, &src);
	if (err)
		return err;
	if (ovl_lookup(ndir, nname, &dst))
		dst = NULL;
	/* Even under a whiteout, a lower entry of that name would show
	 * through a directory moved there. */
	dst_lower = lower_has(ndir, nname);
	src_lower = lower_has(odir, oname);
	err = -EXDEV;
	if (vfs_is_dir(src) && OI(src)->lower)
		goto out; /* a directory with lower contents cannot move */
	err = -ENOTEMPTY;
	if (dst && vfs_is_dir(dst) && merged_empty(OI(dst)))
		goto out;
	err = copy_up(OI(src));
	if (!err)
		err = copy_up(OI(ndir));
	if (err)
		goto out;
	uo = upper_of(OI(odir));
	un = upper_of(OI(ndir));
	drop_whiteout(un, nname);
	if (dst && vfs_is_dir(dst)) {
		struct vfs_inode *ud = upper_of(OI(dst));

		if (ud)
			clear_upper_dir(ud); /* whiteouts would make it "not empty" */
		vfs_inode_put(ud);
	}
	err = uo->ops->rename(uo, oname, un, nname, flags);
	if (!err && src_lower)
		err = make_whiteout(uo, oname);
	if (!err && dst_lower && vfs_is_dir(src)) {
		/* The lower directory under the new name must stay hidden. */
		struct vfs_inode *us = upper_of(OI(src));

		err = mark_opaque(us);
		vfs_inode_put(us);
	}
	vfs_inode_put(uo);
	vfs_inode_put(un);
out:
	vfs_inode_put(src);
	vfs_inode_put(dst);
	return err;
}

/* --- files --- */

static ssize_t fwd_read(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct vfs_file *in = f->priv;

	return in->ops->read ? in->ops->read(in, io, off) : -EINVAL;
}

static ssize_t fwd_write(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct vfs_file *in = f->priv;

	return in->ops->write ? in->ops->write(in, io, off) : -EINVAL;
}

static long fwd_ioctl(struct vfs_file *f, unsigned long cmd, uint64_t arg, void *task)
{
	struct vfs_file *in = f->priv;

	return in->ops->ioctl ? in->ops->ioctl(in, cmd, arg, task) : -ENOTTY;
}

static int fwd_fsync(struct vfs_file *f)
{
	struct vfs_file *in = f->priv;

	return in->ops->fsync ? in->ops->fsync(in) : 0;
}

static void fwd_release(struct vfs_file *f)
{
	vfs_file_put(f->priv);
}

static const struct vfs_file_ops fwd_ops = {
	.read = fwd_read,
	.write = fwd_write,
	.ioctl = fwd_ioctl,
	.fsync = fwd_fsync,
	.release = fwd_release,
	.seekable = true,
};

/* A merged directory listing, snapshotted at open. */
struct dir_snap {
	struct name_set set;
};

static int ovl_iterate(struct vfs_file *f, uint64_t *pos, vfs_emit_fn emit, void *ctx)
{
	struct dir_snap *s = f->priv;

	for (; *pos < s->set.n + 2; (*pos)++) {
		const char *name = *pos == 0 ? "." : *pos == 1 ? ".." : s->set.names[*pos - 2];
		struct vfs_dirent d = {.ino = 1000 + *pos, .type = DT_UNKNOWN, .name = name,
				       .len = strlen(name)};

		if (emit(ctx, &d))
			break;
	}
	return 0;
}

static void dir_release(struct vfs_file *f)
{
	struct dir_snap *s = f->priv;

	free_names(&s->set);
	free(s);
}

static const struct vfs_file_ops dir_ops = {
	.iterate = ovl_iterate,
	.release = dir_release,
	.seekable = true,
};

/* Names of @oi: upper entries that are not whiteouts, then lower ones
 * not hidden by the upper layer. */
static int snapshot_dir(struct ovl_inode *oi, struct dir_snap *s)
{
	struct name_set up = {0}, low = {0};
	struct vfs_inode *u = upper_of(oi);
	int err = list_layer(u, &up);

	if (!err && !oi->opaque)
		err = list_layer(oi->lower, &low);
	for (size_t i = 0; !err && i < up.n; i++) {
		struct vfs_inode *c;

		if (reserved(up.names[i]) || layer_lookup(u, up.names[i], &c))
			continue;
		if (!is_whiteout(c))
			err = add_name(&s->set, up.names[i], strlen(up.names[i]));
		vfs_inode_put(c);
	}
	for (size_t i = 0; !err && i < low.n; i++)
		if (!has_entry(u, low.names[i]))
			err = add_name(&s->set, low.names[i], strlen(low.names[i]));
	vfs_inode_put(u);
	free_names(&up);
	free_names(&low);
	return err;
}

static int ovl_open(struct vfs_inode *inode, struct vfs_file *f, int flags)
{
	struct ovl_inode *oi = OI(inode);
	struct vfs_inode *r;
	struct vfs_file *in;
	int err;

	if (vfs_is_dir(inode)) {
		struct dir_snap *s = calloc(1, sizeof(*s));

		if (!s)
			return -ENOMEM;
		err = snapshot_dir(oi, s);
		if (err) {
			free_names(&s->set);
			free(s);
			return err;
		}
		f->ops = &dir_ops;
		f->priv = s;
		return 0;
	}
	if (!S_ISREG(inode->mode)) {
		/* A device or a FIFO is its driver's or its pipe's, with no
		 * data to copy up: the layer's open prepares this very file
		 * (its fcntl flags, poll and lseek are then the driver's). */
		r = real_of(oi);
		err = r->ops->open ? r->ops->open(r, f, flags) : -ENXIO;
		vfs_inode_put(r);
		return err;
	}
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
		err = copy_up(oi);
		if (err)
			return err;
	}
	r = real_of(oi);
	err = vfs_open_inode(r, flags, &in);
	vfs_inode_put(r);
	if (err)
		return err;
	f->ops = &fwd_ops;
	f->priv = in;
	return 0;
}

static const struct vfs_inode_ops ovl_inode_ops = {
	.lookup = ovl_lookup,
	.create = ovl_create,
	.mkdir = ovl_mkdir,
	.mknod = ovl_mknod,
	.symlink = ovl_symlink,
	.link = ovl_link,
	.unlink = ovl_unlink,
	.rmdir = ovl_rmdir,
	.rename = ovl_rename,
	.readlink = ovl_readlink,
	.getattr = ovl_getattr,
	.setattr = ovl_setattr,
	.open = ovl_open,
	.fallocate = ovl_fallocate,
	.setxattr = ovl_setxattr,
	.getxattr = ovl_getxattr,
	.listxattr = ovl_listxattr,
	.removexattr = ovl_removexattr,
	.revalidate = ovl_revalidate,
	.evict = ovl_evict,
};

static void ovl_destroy(struct vfs_fs *fs)
{
	struct ovl_fs *o = (struct ovl_fs *)fs;

	vfs_dentry_put(fs->root);
	o->upper->destroy(o->upper);
	o->lower->destroy(o->lower);
	free(o);
}

int overlay_create_fs(struct vfs_fs *upper, struct vfs_fs *lower, struct vfs_fs **out)
{
	struct ovl_fs *fs = calloc(1, sizeof(*fs));
	struct ovl_inode *root;

	if (!fs)
		return -ENOMEM;
	fs->base.type = "overlay";
	fs->base.magic = 0x794c7630;
	fs->base.destroy = ovl_destroy;
	fs->upper = upper;
	fs->lower = lower;
	root = inode_new(&fs->base, NULL, "/", vfs_inode_get(upper->root->inode),
			 vfs_inode_get(lower->root->inode), false);
	if (!root || vfs_fs_set_root(&fs->base, &root->base))
		goto err_free;
	*out = &fs->base;
	return 0;
err_free:
	free(fs);
	return -ENOMEM;
}

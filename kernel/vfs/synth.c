/*
 * kernel/vfs/synth.c - see synth.h.
 *
 * Inodes are made on lookup, one per descriptor visit; the dentry cache
 * keeps them, so each node has one inode while cached.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "kernel/vfs/synth.h"

struct synth_fs {
	struct vfs_fs base;
	void *priv;
	const struct synth_scope *scope;
	dev_t dev;
	struct timespec mounted;
};

struct synth_inode {
	struct vfs_inode base;
	const struct synth_node *node;
	char *target; /* an entry of a dynamic directory: its link target */
	long id;      /* the numbered directory it is under (0: none) */
};

static __thread long current_id;

long synth_id(void)
{
	return current_id;
}

static long id_of(struct vfs_inode *i)
{
	return ((struct synth_inode *)i)->id;
}

/* Around every node callback: the number it runs under, and the owner's
 * hooks for it. */
static void scope_enter(struct vfs_inode *i)
{
	struct synth_fs *fs = (struct synth_fs *)i->fs;

	current_id = id_of(i);
	if (current_id && fs->scope && fs->scope->enter)
		fs->scope->enter(fs->priv, current_id);
}

static void scope_leave(struct vfs_inode *i)
{
	struct synth_fs *fs = (struct synth_fs *)i->fs;

	if (current_id && fs->scope && fs->scope->leave)
		fs->scope->leave(fs->priv, current_id);
	current_id = 0;
}

struct snapshot {
	char *buf;
	size_t len;
};

static const struct vfs_inode_ops synth_inode_ops;

static const struct synth_node *node_of(struct vfs_inode *i)
{
	return ((struct synth_inode *)i)->node;
}

static struct synth_fs *sfs(struct vfs_inode *i)
{
	return (struct synth_fs *)i->fs;
}

static struct vfs_inode *inode_new(struct synth_fs *fs, const struct synth_node *n, long id)
{
	struct synth_inode *si = calloc(1, sizeof(*si));

	if (!si)
		return NULL;
	vfs_inode_init(&si->base, &fs->base, &synth_inode_ops, n->mode);
	si->node = n;
	si->id = id;
	return &si->base;
}

/* Is @id among the numbered directories of @dir now? */
static int id_exists(struct vfs_inode *dir, long id)
{
	long *ids;
	size_t n;
	int err, found = 0;

	err = node_of(dir)->ids(sfs(dir)->priv, &ids, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n && !found; i++)
		found = ids[i] == id;
	free(ids);
	return found;
}

static const struct synth_node dyn_link_node = {.name = "", .mode = S_IFLNK | 0777};

/* A name in a dynamic directory: list it now and make a link inode. */
static int dyn_lookup(struct vfs_inode *dir, const char *name, struct vfs_inode **out)
{
	struct synth_link *links;
	size_t n;
	int err;

	scope_enter(dir);
	err = node_of(dir)->links(sfs(dir)->priv, &links, &n);
	scope_leave(dir);
	if (err)
		return err;
	err = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		struct synth_inode *si;

		if (strcmp(links[i].name, name))
			continue;
		err = -ENOMEM;
		*out = inode_new(sfs(dir), &dyn_link_node, id_of(dir));
		if (!*out)
			break;
		si = (struct synth_inode *)*out;
		si->target = strdup(links[i].target);
		if (!si->target) {
			vfs_inode_put(*out);
			break;
		}
		err = 0;
		break;
	}
	free(links);
	return err;
}

static int synth_lookup(struct vfs_inode *dir, const char *name, struct vfs_inode **out)
{
	const struct synth_node *n = node_of(dir);

	if (n->links)
		return dyn_lookup(dir, name, out);
	for (const struct synth_node *c = n->children; c && c->name; c++) {
		if (!strcmp(c->name, name)) {
			*out = inode_new(sfs(dir), c, id_of(dir));
			return *out ? 0 : -ENOMEM;
		}
	}
	if (n->ids && name[0] >= '1' && name[0] <= '9') {
		char *end;
		long id = strtol(name, &end, 10);
		int found;

		if (*end || id <= 0)
			return -ENOENT;
		found = id_exists(dir, id);
		if (found <= 0)
			return found < 0 ? found : -ENOENT;
		*out = inode_new(sfs(dir), n->id_node, id);
		return *out ? 0 : -ENOMEM;
	}
	return -ENOENT;
}

/* Numbered directories go with what they name; entries of dynamic
 * directories are listed anew at each lookup.  The rest never change. */
static int synth_revalidate(struct vfs_inode *dir, const char *name, struct vfs_inode *child)
{
	const struct synth_node *n = node_of(dir);
	struct synth_inode *si = (struct synth_inode *)child;

	if (si->target)
		return 0;
	if (n->ids && si->node == n->id_node)
		return id_exists(dir, si->id) == 1;
	return 1;
}

static int synth_readlink(struct vfs_inode *inode, char *buf, size_t size)
{
	const struct synth_node *n = node_of(inode);
	const char *t = ((struct synth_inode *)inode)->target;

	if (t) {
		size_t len = strlen(t) < size ? strlen(t) : size;

		memcpy(buf, t, len);
		return (int)len;
	}
	if (n->target) {
		int r;

		scope_enter(inode);
		r = n->target(sfs(inode)->priv, buf, size);
		scope_leave(inode);
		return r;
	}
	return -EINVAL;
}

static int synth_getattr(struct vfs_inode *inode, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = sfs(inode)->dev;
	st->st_ino = inode->ino;
	st->st_mode = inode->mode;
	st->st_nlink = S_ISDIR(inode->mode) ? 2 : 1;
	st->st_rdev = node_of(inode)->rdev;
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = sfs(inode)->mounted;
	return 0;
}

/* --- files --- */

static ssize_t snap_read(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct snapshot *s = f->priv;
	size_t n = io->len;
	int err;

	if (off >= s->len)
		return 0;
	if (n > s->len - off)
		n = s->len - (size_t)off;
	err = io->copy(io, s->buf + off, 0, n, true);
	return err ? err : (ssize_t)n;
}

static void snap_release(struct vfs_file *f)
{
	struct snapshot *s = f->priv;

	if (s)
		free(s->buf);
	free(s);
}

static const struct vfs_file_ops snap_ops = {
	.read = snap_read,
	.release = snap_release,
	.seekable = true,
};

static unsigned char dtype(mode_t mode)
{
	return (unsigned char)((mode & S_IFMT) >> 12);
}

/* Listing a dynamic directory: its links as they are now. */
static int dyn_iterate(struct vfs_file *f, uint64_t *pos, vfs_emit_fn emit, void *ctx)
{
	struct synth_link *links;
	size_t n;
	int err;

	scope_enter(f->inode);
	err = node_of(f->inode)->links(sfs(f->inode)->priv, &links, &n);
	scope_leave(f->inode);
	if (err)
		return err;
	for (; *pos < n; (*pos)++) {
		struct vfs_dirent d = {.ino = 2000 + *pos, .type = DT_LNK,
				       .name = links[*pos].name, .len = strlen(links[*pos].name)};

		if (emit(ctx, &d))
			break;
	}
	free(links);
	return 0;
}

static int synth_iterate(struct vfs_file *f, uint64_t *pos, vfs_emit_fn emit, void *ctx)
{
	const struct synth_node *n = node_of(f->inode);
	uint64_t i = 0;

	if (n->links)
		return dyn_iterate(f, pos, emit, ctx);
	if (*pos == 0) {
		if (emit(ctx, &(struct vfs_dirent){.ino = f->inode->ino, .type = DT_DIR,
						   .name = ".", .len = 1}))
			return 0;
		*pos = 1;
	}
	if (*pos == 1) {
		if (emit(ctx, &(struct vfs_dirent){.ino = f->inode->ino, .type = DT_DIR,
						   .name = "..", .len = 2}))
			return 0;
		*pos = 2;
	}
	for (const struct synth_node *c = n->children; c && c->name; c++, i++) {
		/* Inode numbers of unvisited nodes: stable per position. */
		struct vfs_dirent d = {.ino = 1000 + i, .type = dtype(c->mode),
				       .name = c->name, .len = strlen(c->name)};

		if (i + 2 < *pos)
			continue;
		if (emit(ctx, &d))
			return 0;
		*pos = i + 3;
	}
	if (n->ids) {
		/* Then the numbered directories, by their number: the position
		 * past the static ones is 1000000 + the last number listed. */
		long *ids;
		size_t cnt;
		int err = n->ids(sfs(f->inode)->priv, &ids, &cnt);

		if (err)
			return err;
		for (size_t k = 0; k < cnt; k++) {
			char name[24];
			uint64_t at = 1000000 + (uint64_t)ids[k];
			struct vfs_dirent d = {.ino = (uint64_t)ids[k] << 8, .type = DT_DIR,
					       .name = name, .len = 0};

			if (at <= *pos)
				continue;
			d.len = (size_t)snprintf(name, sizeof(name), "%ld", ids[k]);
			if (emit(ctx, &d))
				break;
			*pos = at;
		}
		free(ids);
	}
	return 0;
}

static const struct vfs_file_ops dir_ops = {
	.iterate = synth_iterate,
	.seekable = true,
};

static int synth_open(struct vfs_inode *inode, struct vfs_file *f, int flags)
{
	const struct synth_node *n = node_of(inode);
	struct snapshot *s;
	int err;

	if (S_ISDIR(inode->mode)) {
		f->ops = &dir_ops;
		return 0;
	}
	if (n->open) {
		scope_enter(inode);
		err = n->open(sfs(inode)->priv, f, flags);
		scope_leave(inode);
		return err;
	}
	if (n->fops) {
		f->ops = n->fops;
		return 0;
	}
	if (!n->generate)
		return -ENXIO;
	if ((flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	scope_enter(inode);
	err = n->generate(sfs(inode)->priv, &s->buf, &s->len);
	scope_leave(inode);
	if (err) {
		free(s);
		return err;
	}
	f->ops = &snap_ops;
	f->priv = s;
	return 0;
}

static void synth_evict(struct vfs_inode *inode)
{
	free(((struct synth_inode *)inode)->target);
	free(inode);
}

static const struct vfs_inode_ops synth_inode_ops = {
	.lookup = synth_lookup,
	.revalidate = synth_revalidate,
	.readlink = synth_readlink,
	.getattr = synth_getattr,
	.open = synth_open,
	.evict = synth_evict,
};

static void synth_destroy(struct vfs_fs *fs)
{
	vfs_dentry_put(fs->root);
	free(fs);
}

int synth_create_fs(const char *type, const struct synth_node *root, void *priv,
		    struct vfs_fs **out)
{
	return synth_create_fs_scoped(type, root, priv, NULL, out);
}

int synth_create_fs_scoped(const char *type, const struct synth_node *root, void *priv,
			   const struct synth_scope *scope, struct vfs_fs **out)
{
	static _Atomic unsigned next_dev = 1;
	struct synth_fs *fs = calloc(1, sizeof(*fs));
	struct vfs_inode *ri;

	if (!fs)
		return -ENOMEM;
	fs->base.type = type;
	fs->base.magic = !strcmp(type, "proc") ? 0x9fa0 : 0x01021994; /* PROC_SUPER_MAGIC, TMPFS */
	fs->base.destroy = synth_destroy;
	fs->priv = priv;
	fs->scope = scope;
	fs->dev = makedev(0, 50 + atomic_fetch_add(&next_dev, 1));
	clock_gettime(CLOCK_REALTIME, &fs->mounted);
	ri = inode_new(fs, root, 0);
	if (!ri || vfs_fs_set_root(&fs->base, ri))
		goto err_free;
	*out = &fs->base;
	return 0;
err_free:
	free(fs);
	return -ENOMEM;
}

/*
 * kernel/vfs/vfs.c - references, the dentry cache, and mounts.
 *
 * The dentry tree owns its cached dentries: each cached child holds one
 * reference from its parent's child list, and holds a reference on its
 * parent in turn.  A dentry leaves the tree when its name goes away
 * (unlink, rmdir, rename over it) or when its file system is torn down;
 * open files and working directories keep it alive after that, marked
 * dead.  Nothing is evicted under memory pressure yet.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel/vfs/vfs.h"
#include "kernel/vfs/vfs_impl.h"

/* --- inodes --- */

void vfs_inode_init(struct vfs_inode *inode, struct vfs_fs *fs, const struct vfs_inode_ops *ops,
		    mode_t mode)
{
	inode->ops = ops;
	inode->fs = fs;
	atomic_init(&inode->refs, 1);
	inode->ino = ++fs->next_ino;
	inode->mode = mode;
}

struct vfs_inode *vfs_inode_get(struct vfs_inode *inode)
{
	atomic_fetch_add(&inode->refs, 1);
	return inode;
}

void vfs_inode_put(struct vfs_inode *inode)
{
	if (inode && atomic_fetch_sub(&inode->refs, 1) == 1 && inode->ops->evict)
		inode->ops->evict(inode);
}

/* --- dentries --- */

struct vfs_dentry *vfs_dentry_new(struct vfs_dentry *parent, const char *name,
				  struct vfs_inode *inode)
{
	struct vfs_dentry *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->name = strdup(name);
	if (!d->name) {
		free(d);
		return NULL;
	}
	atomic_init(&d->refs, 1);
	pthread_mutex_init(&d->lock, NULL);
	d->inode = inode;
	d->parent = parent ? vfs_dentry_get(parent) : NULL;
	return d;
}

struct vfs_dentry *vfs_dentry_get(struct vfs_dentry *d)
{
	atomic_fetch_add(&d->refs, 1);
	return d;
}

void vfs_dentry_put(struct vfs_dentry *d)
{
	while (d && atomic_fetch_sub(&d->refs, 1) == 1) {
		struct vfs_dentry *parent = d->parent;

		vfs_inode_put(d->inode);
		pthread_mutex_destroy(&d->lock);
		free(d->name);
		free(d);
		d = parent; /* drop the child's hold on its parent */
	}
}

struct vfs_path vfs_path_get(struct vfs_path p)
{
	atomic_fetch_add(&p.mnt->refs, 1);
	vfs_dentry_get(p.dentry);
	return p;
}

void vfs_path_put(struct vfs_path p)
{
	if (!p.dentry)
		return;
	vfs_dentry_put(p.dentry);
	atomic_fetch_sub(&p.mnt->refs, 1);
}

/* The cached child @name of @dir, with a reference, or NULL.  Caller holds
 * dir->lock. */
static struct vfs_dentry *find_child_locked(struct vfs_dentry *dir, const char *name)
{
	for (struct vfs_dentry *c = dir->child; c; c = c->sibling)
		if (!strcmp(c->name, name))
			return vfs_dentry_get(c);
	return NULL;
}

int vfs_dentry_lookup(struct vfs_dentry *dir, const char *name, struct vfs_dentry **out)
{
	struct vfs_inode *inode;
	struct vfs_dentry *d;
	int err;

	pthread_mutex_lock(&dir->lock);
	d = dir->dead ? NULL : find_child_locked(dir, name);
	pthread_mutex_unlock(&dir->lock);
	if (d) {
		*out = d;
		return 0;
	}
	if (dir->dead)
		return -ENOENT;
	if (!dir->inode->ops->lookup)
		return -ENOTDIR;
	/* No lock held: a file system may block here. */
	err = dir->inode->ops->lookup(dir->inode, name, &inode);
	if (err)
		return err;
	return vfs_dentry_add(dir, name, inode, out);
}

int vfs_dentry_add(struct vfs_dentry *dir, const char *name, struct vfs_inode *inode,
		   struct vfs_dentry **out)
{
	struct vfs_dentry *d;

	pthread_mutex_lock(&dir->lock);
	d = find_child_locked(dir, name);
	if (d) {
		/* Someone cached it while we asked the file system. */
		pthread_mutex_unlock(&dir->lock);
		vfs_inode_put(inode);
		*out = d;
		return 0;
	}
	d = vfs_dentry_new(dir, name, inode);
	if (!d) {
		pthread_mutex_unlock(&dir->lock);
		vfs_inode_put(inode);
		return -ENOMEM;
	}
	d->sibling = dir->child;
	dir->child = d; /* the tree's reference */
	pthread_mutex_unlock(&dir->lock);
	*out = vfs_dentry_get(d);
	return 0;
}

void vfs_dentry_drop(struct vfs_dentry *dir, struct vfs_dentry *d)
{
	struct vfs_dentry **pp;
	bool found = false;

	pthread_mutex_lock(&dir->lock);
	for (pp = &dir->child; *pp; pp = &(*pp)->sibling) {
		if (*pp == d) {
			*pp = d->sibling;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&dir->lock);
	d->dead = true;
	if (found)
		vfs_dentry_put(d);
}

int vfs_dentry_move(struct vfs_dentry *d, struct vfs_dentry *to, const char *name)
{
	struct vfs_dentry *old = d->parent, **pp;
	char *nname = strdup(name);

	if (!nname)
		return -ENOMEM;
	pthread_mutex_lock(&old->lock);
	for (pp = &old->child; *pp; pp = &(*pp)->sibling) {
		if (*pp == d) {
			*pp = d->sibling;
			break;
		}
	}
	pthread_mutex_unlock(&old->lock);
	free(d->name);
	d->name = nname;
	d->parent = vfs_dentry_get(to);
	pthread_mutex_lock(&to->lock);
	d->sibling = to->child;
	to->child = d; /* the tree's reference moves with it */
	pthread_mutex_unlock(&to->lock);
	vfs_dentry_put(old);
	return 0;
}

/* Drop every cached descendant of @d (file system teardown). */
static void prune(struct vfs_dentry *d)
{
	struct vfs_dentry *c;

	pthread_mutex_lock(&d->lock);
	c = d->child;
	d->child = NULL;
	pthread_mutex_unlock(&d->lock);
	while (c) {
		struct vfs_dentry *next = c->sibling;

		prune(c);
		c->dead = true;
		vfs_dentry_put(c);
		c = next;
	}
}

int vfs_fs_set_root(struct vfs_fs *fs, struct vfs_inode *root)
{
	fs->root = vfs_dentry_new(NULL, "/", root);
	if (!fs->root) {
		vfs_inode_put(root);
		return -ENOMEM;
	}
	return 0;
}

/* --- mounts --- */

static struct vfs_mount *mount_new(struct vfs_fs *fs, unsigned flags)
{
	struct vfs_mount *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->fs = fs;
	m->root = vfs_dentry_get(fs->root);
	m->flags = flags;
	atomic_init(&m->refs, 1);
	return m;
}

int vfs_init(struct vfs *vfs, struct vfs_fs *fs)
{
	struct vfs_mount *m = mount_new(fs, 0);

	if (!m)
		return -ENOMEM;
	memset(vfs, 0, sizeof(*vfs));
	pthread_mutex_init(&vfs->mounts_lock, NULL);
	vfs->mounts = m;
	vfs->root = (struct vfs_path){.mnt = m, .dentry = m->root};
	return 0;
}

int vfs_mount(struct vfs *vfs, struct vfs_path at, struct vfs_fs *fs, unsigned flags)
{
	struct vfs_mount *m;

	if (!vfs_is_dir(at.dentry->inode))
		return -ENOTDIR;
	if (at.dentry->dead)
		return -ENOENT;
	m = mount_new(fs, flags);
	if (!m)
		return -ENOMEM;
	m->parent = at.mnt;
	m->mountpoint = vfs_dentry_get(at.dentry);
	pthread_mutex_lock(&vfs->mounts_lock);
	at.dentry->mountpoint = true;
	m->next = vfs->mounts;
	vfs->mounts = m;
	pthread_mutex_unlock(&vfs->mounts_lock);
	return 0;
}

struct vfs_mount *vfs_mount_on(struct vfs *vfs, struct vfs_path p)
{
	struct vfs_mount *m;

	if (!p.dentry->mountpoint)
		return NULL;
	pthread_mutex_lock(&vfs->mounts_lock);
	/* Newest first: the last mount on a dentry hides the earlier ones. */
	for (m = vfs->mounts; m; m = m->next)
		if (m->parent == p.mnt && m->mountpoint == p.dentry)
			break;
	pthread_mutex_unlock(&vfs->mounts_lock);
	return m;
}

void vfs_destroy(struct vfs *vfs)
{
	struct vfs_mount *m = vfs->mounts;

	while (m) {
		struct vfs_mount *next = m->next;
		struct vfs_fs *fs = m->fs;

		vfs_dentry_put(m->mountpoint);
		prune(m->root);
		vfs_dentry_put(m->root);
		free(m);
		if (fs->destroy)
			fs->destroy(fs);
		m = next;
	}
	pthread_mutex_destroy(&vfs->mounts_lock);
	memset(vfs, 0, sizeof(*vfs));
}

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
	inode->appending = false;
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

/* --- a directory's cached children --- */

/* Fewer children than this: the list is searched, no table is kept. */
enum { CHILD_TABLE_MIN = 16 };

static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

static struct vfs_dentry **bucket_of(struct vfs_dentry *dir, uint32_t hash)
{
	return &dir->buckets[hash & (dir->nbuckets - 1)];
}

static void table_insert(struct vfs_dentry *dir, struct vfs_dentry *d)
{
	struct vfs_dentry **b = bucket_of(dir, d->hash);

	d->hash_next = *b;
	*b = d;
}

/* Rehash @dir's children into @n buckets (a power of two).  Without
 * memory the old table stays: lookups are slower, never wrong. */
static bool table_resize(struct vfs_dentry *dir, size_t n)
{
	struct vfs_dentry **b = calloc(n, sizeof(*b));

	if (!b)
		return false;
	free(dir->buckets);
	dir->buckets = b;
	dir->nbuckets = n;
	for (struct vfs_dentry *c = dir->child; c; c = c->sibling)
		table_insert(dir, c);
	return true;
}

/* Make @d a cached child of @dir; the tree's reference comes with it.
 * Caller holds dir->lock. */
static void child_link(struct vfs_dentry *dir, struct vfs_dentry *d)
{
	d->sibling = dir->child;
	if (d->sibling)
		d->sibling->psibling = &d->sibling;
	d->psibling = &dir->child;
	dir->child = d;
	dir->nchildren++;
	if (dir->nchildren > dir->nbuckets && dir->nchildren >= CHILD_TABLE_MIN &&
	    table_resize(dir, dir->nbuckets ? dir->nbuckets * 2 : 2 * CHILD_TABLE_MIN))
		return; /* the rehash placed @d */
	if (dir->buckets)
		table_insert(dir, d);
}

/* Take @d out of @dir's list and table; the caller gets the tree's
 * reference.  Caller holds dir->lock. */
static void child_unlink(struct vfs_dentry *dir, struct vfs_dentry *d)
{
	*d->psibling = d->sibling;
	if (d->sibling)
		d->sibling->psibling = d->psibling;
	d->sibling = NULL;
	d->psibling = NULL;
	dir->nchildren--;
	if (!dir->buckets)
		return;
	for (struct vfs_dentry **pp = bucket_of(dir, d->hash); *pp; pp = &(*pp)->hash_next) {
		if (*pp == d) {
			*pp = d->hash_next;
			break;
		}
	}
	d->hash_next = NULL;
	if (!dir->nchildren) {
		free(dir->buckets);
		dir->buckets = NULL;
		dir->nbuckets = 0;
	}
}

/* Take all of @dir's children at once: the list's head, linked through
 * sibling, each with the tree's reference.  Caller holds dir->lock. */
static struct vfs_dentry *child_take_all(struct vfs_dentry *dir)
{
	struct vfs_dentry *head = dir->child;

	for (struct vfs_dentry *c = head; c; c = c->sibling) {
		c->psibling = NULL;
		c->hash_next = NULL;
	}
	dir->child = NULL;
	dir->nchildren = 0;
	free(dir->buckets);
	dir->buckets = NULL;
	dir->nbuckets = 0;
	return head;
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
	d->hash = name_hash(name);
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
		free(d->buckets);
		free(d->name);
		free(d);
		d = parent; /* drop the child's hold on its parent */
	}
}

static void mount_put(struct vfs_mount *m);

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
	mount_put(p.mnt);
}

/* The cached child @name of @dir, with a reference, or NULL.  Caller holds
 * dir->lock. */
static struct vfs_dentry *find_child_locked(struct vfs_dentry *dir, const char *name)
{
	struct vfs_dentry *c;
	uint32_t hash;

	if (!dir->buckets) {
		for (c = dir->child; c; c = c->sibling)
			if (!strcmp(c->name, name))
				return vfs_dentry_get(c);
		return NULL;
	}
	hash = name_hash(name);
	for (c = *bucket_of(dir, hash); c; c = c->hash_next)
		if (c->hash == hash && !strcmp(c->name, name))
			return vfs_dentry_get(c);
	return NULL;
}

struct vfs_dentry *vfs_dentry_cached(struct vfs_dentry *dir, const char *name)
{
	struct vfs_dentry *d;

	pthread_mutex_lock(&dir->lock);
	d = find_child_locked(dir, name);
	pthread_mutex_unlock(&dir->lock);
	return d;
}

/* Drop every cached descendant of @d, which left the tree: its children
 * hold @d, and @d's child list holds them, so they must go or leak. */
static void prune_children(struct vfs_dentry *d)
{
	struct vfs_dentry *c, *next;

	pthread_mutex_lock(&d->lock);
	c = child_take_all(d);
	pthread_mutex_unlock(&d->lock);
	for (; c; c = next) {
		next = c->sibling;
		c->sibling = NULL;
		c->dead = true;
		prune_children(c);
		vfs_dentry_put(c); /* the tree's reference */
	}
}

int vfs_dentry_lookup(struct vfs_dentry *dir, const char *name, struct vfs_dentry **out)
{
	struct vfs_inode *inode;
	struct vfs_dentry *d;
	int err;

	pthread_mutex_lock(&dir->lock);
	d = dir->dead ? NULL : find_child_locked(dir, name);
	pthread_mutex_unlock(&dir->lock);
	/* A file system whose names change behind our back (FUSE, /proc/PID)
	 * checks the cached entry; a mount point always stays. */
	if (d && !d->mountpoint && dir->inode->ops->revalidate &&
	    dir->inode->ops->revalidate(dir->inode, name, d->inode) != 1) {
		vfs_dentry_drop(dir, d);
		prune_children(d);
		vfs_dentry_put(d);
		d = NULL;
	}
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
	child_link(dir, d); /* the tree's reference */
	pthread_mutex_unlock(&dir->lock);
	*out = vfs_dentry_get(d);
	return 0;
}

void vfs_dentry_drop(struct vfs_dentry *dir, struct vfs_dentry *d)
{
	bool found = false;

	pthread_mutex_lock(&dir->lock);
	if (d->psibling && d->parent == dir) {
		child_unlink(dir, d);
		found = true;
	}
	pthread_mutex_unlock(&dir->lock);
	d->dead = true;
	if (found)
		vfs_dentry_put(d);
}

int vfs_dentry_move(struct vfs_dentry *d, struct vfs_dentry *to, const char *name)
{
	struct vfs_dentry *old = d->parent;
	char *nname = strdup(name);
	bool linked;

	if (!nname)
		return -ENOMEM;
	pthread_mutex_lock(&old->lock);
	linked = d->psibling != NULL;
	if (linked)
		child_unlink(old, d);
	pthread_mutex_unlock(&old->lock);
	free(d->name);
	d->name = nname;
	d->hash = name_hash(nname);
	d->parent = vfs_dentry_get(to);
	/* The tree's reference moves with it; a dentry a drop took out
	 * meanwhile has none, and stays out. */
	if (linked) {
		pthread_mutex_lock(&to->lock);
		child_link(to, d);
		pthread_mutex_unlock(&to->lock);
	}
	vfs_dentry_put(old);
	return 0;
}

/* Drop every cached descendant of @d (file system teardown). */
static void prune(struct vfs_dentry *d)
{
	struct vfs_dentry *c;

	pthread_mutex_lock(&d->lock);
	c = child_take_all(d);
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

static void prune(struct vfs_dentry *d);

/* A mount of @fs showing @root (a dentry of @fs).  Caller holds
 * mounts_lock or owns the namespace alone. */
static struct vfs_mount *mount_new(struct vfs_fs *fs, struct vfs_dentry *root, unsigned flags)
{
	struct vfs_mount *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->fs = fs;
	m->root = vfs_dentry_get(root);
	m->flags = flags;
	atomic_init(&m->refs, 1); /* the mount list's */
	fs->mounts++;
	return m;
}

/* Free a mount nobody uses any more; its file system goes with its last
 * mount. */
static void mount_free(struct vfs_mount *m)
{
	struct vfs_fs *fs = m->fs;

	vfs_dentry_put(m->mountpoint);
	vfs_dentry_put(m->root);
	free(m);
	if (--fs->mounts == 0) {
		prune(fs->root);
		if (fs->destroy)
			fs->destroy(fs);
	}
}

static void mount_put(struct vfs_mount *m)
{
	if (atomic_fetch_sub(&m->refs, 1) == 1)
		mount_free(m);
}

/* Every namespace, for vfs_shrink.  Lock order: all_vfs_lock ->
 * vfs.mounts_lock. */
static pthread_mutex_t all_vfs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vfs *all_vfs; /* protected by all_vfs_lock */

int vfs_init(struct vfs *vfs, struct vfs_fs *fs)
{
	struct vfs_mount *m;

	memset(vfs, 0, sizeof(*vfs));
	m = mount_new(fs, fs->root, 0);
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&vfs->mounts_lock, NULL);
	vfs->mounts = m;
	vfs->root = (struct vfs_path){.mnt = m, .dentry = m->root};
	pthread_mutex_lock(&all_vfs_lock);
	vfs->next_vfs = all_vfs;
	all_vfs = vfs;
	pthread_mutex_unlock(&all_vfs_lock);
	return 0;
}

/*
 * Move @d's cached descendants that nobody uses to *@victims, deepest
 * first; *@total counts them.  Returns how many of @d's own children
 * went.  A dentry held only by the tree and by its children already on
 * the list (refs 1 + those) has no user, and can gain one only through
 * find_child_locked under its parent's lock, which is held here.  Parent
 * before child, as the lock order says.
 */
static size_t prune_unused(struct vfs_dentry *d, struct vfs_dentry **victims, size_t *total)
{
	struct vfs_dentry *c, *next;
	size_t gone = 0;

	pthread_mutex_lock(&d->lock);
	for (c = d->child; c; c = next) {
		long below = (long)prune_unused(c, victims, total);

		next = c->sibling;
		if (!c->mountpoint && !c->child && atomic_load(&c->refs) == 1 + below) {
			child_unlink(d, c);
			c->sibling = *victims;
			*victims = c;
			gone++;
		}
	}
	pthread_mutex_unlock(&d->lock);
	*total += gone;
	return gone;
}

size_t vfs_shrink(void)
{
	struct vfs_dentry *victims = NULL, *c;
	size_t n = 0;

	pthread_mutex_lock(&all_vfs_lock);
	for (struct vfs *v = all_vfs; v; v = v->next_vfs) {
		pthread_mutex_lock(&v->mounts_lock);
		for (struct vfs_mount *m = v->mounts; m; m = m->next)
			prune_unused(m->root, &victims, &n);
		pthread_mutex_unlock(&v->mounts_lock);
	}
	pthread_mutex_unlock(&all_vfs_lock);
	/* No lock held: evicting an inode may call its file system. */
	while ((c = victims)) {
		victims = c->sibling;
		c->sibling = NULL;
		vfs_dentry_put(c); /* the tree's reference: frees it, its inode */
	}
	return n;
}

/* Put mount @m (holding its list reference) on directory @at. */
static int attach(struct vfs *vfs, struct vfs_path at, struct vfs_mount *m)
{
	m->parent = at.mnt;
	m->mountpoint = vfs_dentry_get(at.dentry);
	at.dentry->mountpoint = true;
	m->next = vfs->mounts;
	vfs->mounts = m;
	return 0;
}

int vfs_mount(struct vfs *vfs, struct vfs_path at, struct vfs_fs *fs, unsigned flags)
{
	struct vfs_mount *m;

	if (!vfs_is_dir(at.dentry->inode))
		return -ENOTDIR;
	if (at.dentry->dead)
		return -ENOENT;
	pthread_mutex_lock(&vfs->mounts_lock);
	m = mount_new(fs, fs->root, flags);
	if (m)
		attach(vfs, at, m);
	pthread_mutex_unlock(&vfs->mounts_lock);
	return m ? 0 : -ENOMEM;
}

int vfs_bind(struct vfs *vfs, struct vfs_path at, struct vfs_path src, unsigned flags)
{
	struct vfs_mount *m;

	if (vfs_is_dir(at.dentry->inode) != vfs_is_dir(src.dentry->inode))
		return vfs_is_dir(at.dentry->inode) ? -ENOTDIR : -EISDIR;
	if (!vfs_is_dir(at.dentry->inode))
		return -EINVAL; /* file bind mounts: not yet */
	if (at.dentry->dead || src.dentry->dead)
		return -ENOENT;
	pthread_mutex_lock(&vfs->mounts_lock);
	m = mount_new(src.mnt->fs, src.dentry, flags);
	if (m)
		attach(vfs, at, m);
	pthread_mutex_unlock(&vfs->mounts_lock);
	return m ? 0 : -ENOMEM;
}

int vfs_remount(struct vfs *vfs, struct vfs_path p, unsigned flags)
{
	if (p.dentry != p.mnt->root)
		return -EINVAL;
	pthread_mutex_lock(&vfs->mounts_lock);
	p.mnt->flags = flags;
	pthread_mutex_unlock(&vfs->mounts_lock);
	return 0;
}

int vfs_umount(struct vfs *vfs, struct vfs_path p, bool detach)
{
	struct vfs_mount *m = p.mnt, **pp, *o;
	bool still_covered = false;
	int err = 0;

	if (p.dentry != m->root || !m->parent)
		return -EINVAL;
	pthread_mutex_lock(&vfs->mounts_lock);
	for (o = vfs->mounts; o; o = o->next)
		if (o->parent == m)
			err = -EBUSY; /* something is mounted inside it */
	/* The list holds one reference and the caller's path another. */
	if (!err && !detach && atomic_load(&m->refs) > 2)
		err = -EBUSY;
	if (!err) {
		for (pp = &vfs->mounts; *pp != m; pp = &(*pp)->next)
			;
		*pp = m->next;
		for (o = vfs->mounts; o; o = o->next)
			if (o->parent == m->parent && o->mountpoint == m->mountpoint)
				still_covered = true;
		m->mountpoint->mountpoint = still_covered;
	}
	pthread_mutex_unlock(&vfs->mounts_lock);
	if (!err)
		mount_put(m); /* the list's reference: freed when the last user goes */
	return err;
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
	struct vfs **pp;

	pthread_mutex_lock(&all_vfs_lock);
	for (pp = &all_vfs; *pp; pp = &(*pp)->next_vfs) {
		if (*pp == vfs) {
			*pp = vfs->next_vfs;
			break;
		}
	}
	pthread_mutex_unlock(&all_vfs_lock);

	/* Every task is gone: only the list's references are left. */
	while (m) {
		struct vfs_mount *next = m->next;

		mount_free(m);
		m = next;
	}
	pthread_mutex_destroy(&vfs->mounts_lock);
	memset(vfs, 0, sizeof(*vfs));
}

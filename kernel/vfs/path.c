/*
 * kernel/vfs/path.c - path resolution.
 *
 * The walk keeps the rest of the path in a buffer and consumes it one
 * component at a time.  A symlink replaces the component it was found at
 * by its target, so the walk never recurses and the 40-link limit
 * (-ELOOP) is one counter.  ".." never climbs above @root (the process's
 * root, so also the sandbox's), and climbs out of a mount to the dentry
 * it is mounted on; entering a dentry something is mounted on enters that
 * mount.  A file system only ever answers "which inode is NAME in DIR".
 */
#include <stdlib.h>
#include <string.h>

#include "kernel/vfs/vfs.h"
#include "kernel/vfs/vfs_impl.h"

struct walk {
	struct vfs *vfs;
	struct vfs_path root;
	struct vfs_path cur; /* holds references */
	char *rest;          /* what is left of the path, in @buf */
	char buf[2 * VFS_PATH_MAX + 2];
	int links;
};

static void set_cur(struct walk *w, struct vfs_path p)
{
	vfs_path_put(w->cur);
	w->cur = p;
}

static bool same_path(struct vfs_path a, struct vfs_path b)
{
	return a.mnt == b.mnt && a.dentry == b.dentry;
}

/* Enter whatever is mounted on w->cur, repeatedly (stacked mounts). */
static void cross_down(struct walk *w)
{
	struct vfs_mount *m;

	while ((m = vfs_mount_on(w->vfs, w->cur)))
		set_cur(w, vfs_path_get((struct vfs_path){.mnt = m, .dentry = m->root}));
}

/* "..": up one, staying inside the root and crossing mounts upwards. */
static void go_up(struct walk *w)
{
	for (;;) {
		if (same_path(w->cur, w->root))
			return;
		if (w->cur.dentry != w->cur.mnt->root)
			break;
		if (!w->cur.mnt->parent)
			return; /* the namespace root */
		set_cur(w, vfs_path_get((struct vfs_path){.mnt = w->cur.mnt->parent,
							  .dentry = w->cur.mnt->mountpoint}));
	}
	if (w->cur.dentry->parent)
		set_cur(w, vfs_path_get((struct vfs_path){.mnt = w->cur.mnt,
							  .dentry = w->cur.dentry->parent}));
}

/* Put @target in front of what is left of the path. */
static int splice_symlink(struct walk *w, const char *target, size_t tlen)
{
	size_t rlen = strlen(w->rest);

	if (tlen + 1 + rlen + 1 > sizeof(w->buf))
		return -ENAMETOOLONG;
	/* w->rest lies inside w->buf: move it to the end first.  A '/' joins
	 * the two only if something follows, or "link" would read "target/". */
	memmove(w->buf + sizeof(w->buf) - rlen - 1, w->rest, rlen + 1);
	memmove(w->buf + tlen + (rlen ? 1 : 0), w->buf + sizeof(w->buf) - rlen - 1, rlen + 1);
	memcpy(w->buf, target, tlen);
	if (rlen)
		w->buf[tlen] = '/';
	w->rest = w->buf;
	return 0;
}

/* Follow the symlink @link found while walking. */
static int follow(struct walk *w, struct vfs_dentry *link)
{
	char target[VFS_PATH_MAX];
	int len;

	if (++w->links > VFS_SYMLINK_MAX)
		return -ELOOP;
	if (!link->inode->ops->readlink)
		return -EINVAL;
	len = link->inode->ops->readlink(link->inode, target, sizeof(target));
	if (len < 0)
		return len;
	if (len == 0)
		return -ENOENT;
	if (target[0] == '/')
		set_cur(w, vfs_path_get(w->root));
	return splice_symlink(w, target, (size_t)len);
}

/* Take the next component of w->rest into @name.  Returns its length,
 * 0 at the end, or -ENAMETOOLONG. */
static int next_component(struct walk *w, char *name, bool *last, bool *trailing)
{
	size_t len;
	char *p = w->rest;

	while (*p == '/')
		p++;
	len = strcspn(p, "/");
	if (len == 0) {
		w->rest = p;
		return 0;
	}
	if (len > VFS_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(name, p, len);
	name[len] = '\0';
	p += len;
	w->rest = p;
	while (*p == '/')
		p++;
	*last = *p == '\0';
	*trailing = *last && p != w->rest;
	return (int)len;
}

/* Resolve one component @name against w->cur. */
static int step(struct walk *w, const char *name, bool last, bool trailing, unsigned flags)
{
	struct vfs_dentry *d;
	int err;

	if (!strcmp(name, "."))
		return 0;
	if (!strcmp(name, "..")) {
		go_up(w);
		return 0;
	}
	err = vfs_dentry_lookup(w->cur.dentry, name, &d);
	if (err)
		return err;
	if (S_ISLNK(d->inode->mode) && (!last || trailing || (flags & VFS_LOOKUP_FOLLOW))) {
		err = follow(w, d);
		vfs_dentry_put(d);
		return err;
	}
	atomic_fetch_add(&w->cur.mnt->refs, 1); /* d came with its own reference */
	set_cur(w, (struct vfs_path){.mnt = w->cur.mnt, .dentry = d});
	cross_down(w);
	return 0;
}

int vfs_resolve(struct vfs *vfs, struct vfs_path root, struct vfs_path start, const char *path,
		unsigned flags, struct vfs_path *out, char *last_name, bool *trailing_slash)
{
	struct walk *w;
	char name[VFS_NAME_MAX + 1];
	bool last = false, trailing = false;
	size_t len = strnlen(path, VFS_PATH_MAX);
	int err = 0, n;

	if (len == 0)
		return -ENOENT;
	if (len >= VFS_PATH_MAX)
		return -ENAMETOOLONG;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->vfs = vfs;
	w->root = root;
	w->links = 0;
	w->cur = vfs_path_get(path[0] == '/' ? root : start);
	memcpy(w->buf, path, len + 1);
	w->rest = w->buf;
	if (last_name)
		last_name[0] = '\0';

	while ((n = next_component(w, name, &last, &trailing)) > 0) {
		if (!vfs_is_dir(w->cur.dentry->inode)) {
			err = -ENOTDIR;
			break;
		}
		if (last && (flags & VFS_LOOKUP_PARENT) && w->rest[strspn(w->rest, "/")] == '\0') {
			memcpy(last_name, name, (size_t)n + 1);
			break;
		}
		err = step(w, name, last, trailing, flags);
		if (err)
			break;
	}
	if (n < 0)
		err = n;
	if (trailing_slash)
		*trailing_slash = trailing;
	if (!err && !(flags & VFS_LOOKUP_PARENT) && (trailing || (flags & VFS_LOOKUP_DIRECTORY)) &&
	    !vfs_is_dir(w->cur.dentry->inode))
		err = -ENOTDIR;
	if (err)
		vfs_path_put(w->cur);
	else
		*out = w->cur;
	free(w);
	return err;
}

int vfs_path_name(struct vfs_path root, struct vfs_path p, char *buf, size_t size,
		  size_t *start)
{
	size_t at = size - 1;

	buf[at] = '\0';
	while (!same_path(p, root)) {
		size_t len;

		if (p.dentry == p.mnt->root) {
			if (!p.mnt->parent)
				break;
			p = (struct vfs_path){.mnt = p.mnt->parent, .dentry = p.mnt->mountpoint};
			continue;
		}
		if (!p.dentry->parent)
			break;
		len = strlen(p.dentry->name);
		if (len + 1 > at)
			return -ENAMETOOLONG;
		at -= len;
		memcpy(buf + at, p.dentry->name, len);
		buf[--at] = '/';
		p.dentry = p.dentry->parent;
	}
	if (at == size - 1)
		buf[--at] = '/';
	*start = at;
	return 0;
}

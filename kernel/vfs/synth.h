/*
 * kernel/vfs/synth.h - file systems described by tables (dev, proc).
 *
 * A synthetic file system is a static tree of node descriptors.  A regular
 * file's content is generated when it is opened (so a reader sees one
 * consistent snapshot, as with Linux's seq_file); a device node carries
 * its own file operations; a symlink generates its target.  Nothing can
 * be created, removed or renamed.
 */
#ifndef KSENTRY_KERNEL_VFS_SYNTH_H
#define KSENTRY_KERNEL_VFS_SYNTH_H

#include "kernel/vfs/vfs.h"

/* An entry of a dynamic directory: a symlink made when it is listed. */
struct synth_link {
	char name[32];
	char target[VFS_PATH_MAX];
};

struct synth_node {
	const char *name;
	mode_t mode; /* type and permissions */
	/* Regular files: write the content into a fresh malloc'd *@buf of
	 * *@len bytes.  @priv is the file system's. */
	int (*generate)(void *priv, char **buf, size_t *len);
	/* Symlinks: write the target into @buf (@size bytes); its length. */
	int (*target)(void *priv, char *buf, size_t size);
	/* Device nodes: what open() installs, or an open of their own. */
	const struct vfs_file_ops *fops;
	int (*open)(void *priv, struct vfs_file *f, int flags);
	dev_t rdev;
	/* Directories: children, ended by a node with a NULL name; or, for a
	 * dynamic directory of symlinks, a callback that lists them into a
	 * fresh malloc'd array (*@out, *@n entries). */
	const struct synth_node *children;
	int (*links)(void *priv, struct synth_link **out, size_t *n);
};

/* A file system of type @type over the tree at @root, whose callbacks get
 * @priv.  0 or -ENOMEM. */
int synth_create_fs(const char *type, const struct synth_node *root, void *priv,
		    struct vfs_fs **out);

#endif

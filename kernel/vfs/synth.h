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
	/* Directories may also hold numbered directories that come and go
	 * (/proc/PID): @ids lists the numbers now (a fresh malloc'd array),
	 * and each is a directory laid out as @id_node.  Callbacks of nodes
	 * below one see its number in synth_id(). */
	int (*ids)(void *priv, long **out, size_t *n);
	const struct synth_node *id_node;
};

/* Hooks of a file system with numbered directories: @enter runs before
 * any callback of a node below one (with its number) and @leave after, so
 * that the owner can hold what the number names in place (procfs: the
 * task table's lock). */
struct synth_scope {
	void (*enter)(void *priv, long id);
	void (*leave)(void *priv, long id);
};

/* The number of the numbered directory the running callback is under
 * (0 outside one).  Only inside a synth_node callback. */
long synth_id(void);

/* As synth_create_fs, with @scope's hooks (NULL for none). */
int synth_create_fs_scoped(const char *type, const struct synth_node *root, void *priv,
			   const struct synth_scope *scope, struct vfs_fs **out);

/* A file system of type @type over the tree at @root, whose callbacks get
 * @priv.  0 or -ENOMEM. */
int synth_create_fs(const char *type, const struct synth_node *root, void *priv,
		    struct vfs_fs **out);

#endif

/*
 * kernel/vfs/vfs_impl.h - VFS internals shared by its files and by file
 * systems, not by syscalls.
 */
#ifndef KSENTRY_KERNEL_VFS_VFS_IMPL_H
#define KSENTRY_KERNEL_VFS_VFS_IMPL_H

#include "kernel/vfs/vfs.h"

/* The child @name of directory @dir, from the cache or the file system,
 * with a reference.  Takes and drops dir->lock; not held across
 * ->lookup. */
int vfs_dentry_lookup(struct vfs_dentry *dir, const char *name, struct vfs_dentry **out);

/* The cached child @name of @dir with a reference, or NULL: the file
 * system is not asked. */
struct vfs_dentry *vfs_dentry_cached(struct vfs_dentry *dir, const char *name);

/* Cache @inode (the caller's reference) as child @name of @dir; *@out
 * gets a reference.  If the name is already cached, that dentry wins. */
int vfs_dentry_add(struct vfs_dentry *dir, const char *name, struct vfs_inode *inode,
		   struct vfs_dentry **out);

/* Take @d out of @dir's cache (its name is gone) and mark it dead. */
void vfs_dentry_drop(struct vfs_dentry *dir, struct vfs_dentry *d);

/*
 * Move cached dentry @d under @to as @name (rename): its cached subtree,
 * open files and working directories inside it follow.  The caller has
 * dropped whatever @name named in @to.  0 or -ENOMEM (then the caller
 * drops @d instead).  Path walks that run at the same time may see either
 * place; renames are serialised by the caller's thread for now.
 */
int vfs_dentry_move(struct vfs_dentry *d, struct vfs_dentry *to, const char *name);

/* The mount sitting on @p, or NULL (no reference). */
struct vfs_mount *vfs_mount_on(struct vfs *vfs, struct vfs_path p);

#endif

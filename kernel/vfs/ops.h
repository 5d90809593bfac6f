/*
 * kernel/vfs/ops.h - path operations, for syscalls and tests.
 *
 * A caller's view of the namespace is a struct vfs_ctx: the namespace, its
 * root (nothing resolves above it), its working directory and its umask.
 * Relative paths start at @start (the cwd, or the directory of a dirfd).
 * Every function returns 0 (or a count) or a negative errno as the
 * matching syscall would.
 */
#ifndef KSENTRY_KERNEL_VFS_OPS_H
#define KSENTRY_KERNEL_VFS_OPS_H

#include "kernel/vfs/vfs.h"

struct vfs_ctx {
	struct vfs *vfs;
	struct vfs_path root;
	mode_t umask;
};

int vfs_openat(const struct vfs_ctx *c, struct vfs_path start, const char *path, int flags,
	       mode_t mode, struct vfs_file **out);
int vfs_mkdirat(const struct vfs_ctx *c, struct vfs_path start, const char *path, mode_t mode);
int vfs_mknodat(const struct vfs_ctx *c, struct vfs_path start, const char *path, mode_t mode,
		dev_t dev);
int vfs_symlinkat(const struct vfs_ctx *c, const char *target, struct vfs_path start,
		  const char *path);
int vfs_unlinkat(const struct vfs_ctx *c, struct vfs_path start, const char *path, bool rmdir);
int vfs_linkat(const struct vfs_ctx *c, struct vfs_path ostart, const char *opath,
	       struct vfs_path nstart, const char *npath, bool follow);
/* Link the object at @old (the caller keeps its references) as @npath:
 * linkat with AT_EMPTY_PATH, where the old side is an open file. */
int vfs_link_path(const struct vfs_ctx *c, struct vfs_path old, struct vfs_path nstart,
		  const char *npath);
int vfs_renameat(const struct vfs_ctx *c, struct vfs_path ostart, const char *opath,
		 struct vfs_path nstart, const char *npath, unsigned flags);
int vfs_readlinkat(const struct vfs_ctx *c, struct vfs_path start, const char *path, char *buf,
		   size_t size);
int vfs_statat(const struct vfs_ctx *c, struct vfs_path start, const char *path, bool follow,
	       struct stat *st);
int vfs_getattr(struct vfs_inode *inode, struct stat *st);
int vfs_setattr_path(struct vfs_path p, const struct vfs_setattr *a);

/* I/O on a file description; @off < 0 means "at the file offset, and
 * advance it" (read/write), otherwise pread/pwrite. */
ssize_t vfs_read(struct vfs_file *f, struct vfs_io *io, int64_t off);
ssize_t vfs_write(struct vfs_file *f, struct vfs_io *io, int64_t off);
int64_t vfs_lseek(struct vfs_file *f, int64_t off, int whence);
int vfs_iterate(struct vfs_file *f, vfs_emit_fn emit, void *ctx);
/* As vfs_iterate, and *@end is the position after the last entry taken
 * (getdents64's d_off of it: where reading goes on). */
int vfs_iterate_at(struct vfs_file *f, vfs_emit_fn emit, void *ctx, uint64_t *end);

#endif

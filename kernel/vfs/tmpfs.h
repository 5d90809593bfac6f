/*
 * kernel/vfs/tmpfs.h - the in-memory file system.
 */
#ifndef KSENTRY_KERNEL_VFS_TMPFS_H
#define KSENTRY_KERNEL_VFS_TMPFS_H

#include "kernel/vfs/vfs.h"
#include "platform/memfile.h"

/* A new, empty tmpfs whose file data comes from @mf (charged to Tmpfs);
 * its root directory has permissions @root_mode.  0 or -ENOMEM. */
int tmpfs_create_fs(struct memfile *mf, mode_t root_mode, struct vfs_fs **out);

#endif

/*
 * kernel/vfs/overlay.h - a writable file system over a read-only one.
 */
#ifndef KSENTRY_KERNEL_VFS_OVERLAY_H
#define KSENTRY_KERNEL_VFS_OVERLAY_H

#include "kernel/vfs/vfs.h"

/* An overlay of @upper (written to: tmpfs) over @lower (never written).
 * Takes both; they are destroyed with the overlay.  0 or -ENOMEM. */
int overlay_create_fs(struct vfs_fs *upper, struct vfs_fs *lower, struct vfs_fs **out);

#endif

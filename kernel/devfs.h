/*
 * kernel/devfs.h - the /dev file system.
 */
#ifndef KSENTRY_KERNEL_DEVFS_H
#define KSENTRY_KERNEL_DEVFS_H

#include "kernel/vfs/vfs.h"

struct kernel;

/* /dev for sandbox @k (whose fs_hooks serve /dev/fuse).  0 or -ENOMEM. */
int devfs_create(struct kernel *k, struct vfs_fs **out);

#endif

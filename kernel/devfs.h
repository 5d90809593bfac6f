/*
 * kernel/devfs.h - the /dev file system.
 */
#ifndef KSENTRY_KERNEL_DEVFS_H
#define KSENTRY_KERNEL_DEVFS_H

#include "kernel/vfs/vfs.h"

int devfs_create(struct vfs_fs **out);

#endif

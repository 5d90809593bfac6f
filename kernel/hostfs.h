/*
 * kernel/hostfs.h - a host directory as a read-only file system.
 */
#ifndef KSENTRY_KERNEL_HOSTFS_H
#define KSENTRY_KERNEL_HOSTFS_H

#include "kernel/vfs/vfs.h"

/* A file system over host directory @dir.  Mount it read-only.
 * 0 or a negative errno (the host's, for opening @dir). */
int hostfs_create(const char *dir, struct vfs_fs **out);

#endif

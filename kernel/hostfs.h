/*
 * kernel/hostfs.h - a host directory as a read-only file system.
 */
#ifndef KSENTRY_KERNEL_HOSTFS_H
#define KSENTRY_KERNEL_HOSTFS_H

#include <stdbool.h>

#include "kernel/vfs/vfs.h"

/* A file system over host directory @dir.  Mount it read-only.
 * 0 or a negative errno (the host's, for opening @dir). */
int hostfs_create(const char *dir, struct vfs_fs **out);

/* As hostfs_create; with @rw the file system takes writes too (every one
 * made beneath @dir, one component at a time: see hostfs.c). */
int hostfs_create_rw(const char *dir, bool rw, struct vfs_fs **out);

#endif

/*
 * kernel/procfs.h - the /proc file system.
 */
#ifndef KSENTRY_KERNEL_PROCFS_H
#define KSENTRY_KERNEL_PROCFS_H

#include "kernel/kernel.h"

/* /proc for sandbox @k (which must outlive it). */
int procfs_create(struct kernel *k, struct vfs_fs **out);

#endif

/*
 * kernel/hoststdio.h - the host's stdio as guest file descriptions.
 *
 * ksentry's own fds 0-2 are handed to the first task as its fds 0-2: the
 * guest reads and writes the terminal or pipes ksentry was started with,
 * and sees terminal attributes (TCGETS, TIOCGWINSZ), but fstat hides the
 * host's device and inode numbers.  Nothing else of the host is reachable
 * through them: no other ioctl, no seeking, no path.
 */
#ifndef KSENTRY_KERNEL_HOSTSTDIO_H
#define KSENTRY_KERNEL_HOSTSTDIO_H

#include "kernel/vfs/vfs.h"

/* A file description over host fd @hfd (which stays owned by ksentry),
 * open with @flags (O_RDONLY or O_WRONLY).  NULL on -ENOMEM. */
struct vfs_file *hoststdio_file(int hfd, int flags);

/* Make @f, a file being opened, a view of host fd @hfd. */
void hoststdio_attach(struct vfs_file *f, int hfd);

#endif

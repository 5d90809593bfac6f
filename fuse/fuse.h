/*
 * fuse/fuse.h - the FUSE client: /dev/fuse, connections, and the FUSE
 * file system behind the VFS.
 *
 * A FUSE server inside the sandbox opens /dev/fuse (a new connection),
 * mounts it with mount(2) type "fuse" or "fuse.SUBTYPE" and the options
 * libfuse passes ("fd=N,rootmode=...,user_id=...,group_id=..."), and then
 * reads requests from the device and writes replies.  Other tasks' file
 * operations under the mount become requests; the op table with status
 * is docs/fuse.md.
 *
 * The kernel knows nothing of FUSE: fuse_install() gives it the two
 * hooks (kernel_fs_hooks) through which /dev/fuse opens and fuse mounts
 * reach this code.
 */
#ifndef KSENTRY_FUSE_FUSE_H
#define KSENTRY_FUSE_FUSE_H

#include "kernel/kernel.h"

/* How FUSE behaves in one sandbox (ksentry run's options). */
struct fuse_config {
	/* A request the server has not answered after this many ms aborts
	 * its connection (every caller gets ENOTCONN); 0: wait forever. */
	unsigned timeout_ms;
};

/* Serve /dev/fuse and FUSE mounts in sandbox @k, configured by @cfg (NULL
 * for the defaults; it must outlive the sandbox).  Before its first task. */
void fuse_install(struct kernel *k, const struct fuse_config *cfg);

/* "LOOKUP" for FUSE_LOOKUP, ...; NULL for a number that is no opcode. */
const char *fuse_opcode_name(uint32_t opcode);

#endif

/*
 * abi/fuse.h - the FUSE wire protocol, as <linux/fuse.h> defines it.
 *
 * The structs are the kernel header's; this header pins what ksentry
 * speaks: protocol 7.FUSE_ABI_MINOR, whatever the header's own minor is,
 * and asserts the sizes the parsers of untrusted replies rely on.
 */
#ifndef KSENTRY_ABI_FUSE_H
#define KSENTRY_ABI_FUSE_H

#include <linux/fuse.h>

#define FUSE_ABI_MAJOR 7
#define FUSE_ABI_MINOR 31 /* the minor ksentry offers in FUSE_INIT */

/* FUSE_INIT flags ksentry asks for.  Not asked (docs/fuse.md): writeback
 * cache, splice, flock locks, DAX, passthrough. */
#define FUSE_ABI_INIT_FLAGS                                                             \
	(FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_MAX_PAGES |     \
	 FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV | FUSE_NO_OPEN_SUPPORT |           \
	 FUSE_NO_OPENDIR_SUPPORT | FUSE_POSIX_LOCKS | FUSE_DO_READDIRPLUS |                \
	 FUSE_READDIRPLUS_AUTO | FUSE_HAS_IOCTL_DIR)

#define FUSE_MIN_READ_BUFFER 8192 /* a server's read buffer must hold this */
/* Errors from -FUSE_ERRNO_END down are refused, as Linux's fuse_dev_do_write
 * does: -512 and below are the kernel's restart codes, not errnos. */
#define FUSE_ERRNO_END	     512

_Static_assert(sizeof(struct fuse_in_header) == 40, "fuse_in_header");
_Static_assert(sizeof(struct fuse_out_header) == 16, "fuse_out_header");
_Static_assert(sizeof(struct fuse_attr) == 88, "fuse_attr");
_Static_assert(sizeof(struct fuse_entry_out) == 128, "fuse_entry_out");
_Static_assert(sizeof(struct fuse_attr_out) == 104, "fuse_attr_out");
_Static_assert(sizeof(struct fuse_dirent) == 24, "fuse_dirent");
_Static_assert(sizeof(struct fuse_init_in) == 64, "fuse_init_in");
_Static_assert(sizeof(struct fuse_open_out) == 16, "fuse_open_out");
_Static_assert(sizeof(struct fuse_read_in) == 40, "fuse_read_in");
_Static_assert(sizeof(struct fuse_write_in) == 40, "fuse_write_in");

#endif

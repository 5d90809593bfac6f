/*
 * abi/fcntl.h - open(2) flags the host's C library does not spell as the
 * kernel does.
 *
 * glibc defines O_LARGEFILE as 0 on x86-64 (every file is large there),
 * but the kernel's value is 0100000 and musl passes it in every open.
 */
#ifndef KSENTRY_ABI_FCNTL_H
#define KSENTRY_ABI_FCNTL_H

#include <fcntl.h>

#define ABI_O_LARGEFILE 0100000

_Static_assert(O_CLOEXEC == 02000000 && O_PATH == 010000000 && O_DIRECTORY == 0200000,
	       "Linux open flags ABI");

#endif

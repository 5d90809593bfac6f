/*
 * abi/errno.h - Linux error numbers as the guest sees them.
 *
 * The sentry returns negative Linux errnos everywhere (STYLE.md, rule 3).
 * ksentry only builds for x86-64 Linux hosts, where the C library's E*
 * constants are the Linux ABI values, so we use them directly; the static
 * asserts below pin the ones the sentry relies on so that a port to another
 * host libc fails to compile instead of returning wrong numbers to a guest.
 */
#ifndef KSENTRY_ABI_ERRNO_H
#define KSENTRY_ABI_ERRNO_H

#include <errno.h>

_Static_assert(EPERM == 1, "Linux errno ABI");
_Static_assert(ENOENT == 2, "Linux errno ABI");
_Static_assert(EINTR == 4, "Linux errno ABI");
_Static_assert(EIO == 5, "Linux errno ABI");
_Static_assert(ENOEXEC == 8, "Linux errno ABI");
_Static_assert(EBADF == 9, "Linux errno ABI");
_Static_assert(EAGAIN == 11, "Linux errno ABI");
_Static_assert(ENOMEM == 12, "Linux errno ABI");
_Static_assert(EFAULT == 14, "Linux errno ABI");
_Static_assert(EEXIST == 17, "Linux errno ABI");
_Static_assert(EINVAL == 22, "Linux errno ABI");
_Static_assert(ENOSPC == 28, "Linux errno ABI");
_Static_assert(ERANGE == 34, "Linux errno ABI");
_Static_assert(ENOSYS == 38, "Linux errno ABI");
_Static_assert(ENOTCONN == 107, "Linux errno ABI");

/* Largest errno a syscall may return: results in [-4095, -1] are errors. */
#define ABI_MAX_ERRNO 4095

/* ERR_PTR-style pointers for functions that return an object or an error. */
static inline void *abi_err_ptr(long err)
{
	return (void *)err;
}

static inline long abi_ptr_err(const void *p)
{
	return (long)p;
}

static inline int abi_is_err(const void *p)
{
	return (unsigned long)p >= (unsigned long)-ABI_MAX_ERRNO;
}

#endif

/*
 * kernel/sys_mm.c - brk and the mmap family: argument checks around mm.h.
 */
#include "abi/mman.h"
#include "kernel/syscall.h"

int64_t sys_brk(struct task *t, const uint64_t a[6])
{
	return (int64_t)mm_brk(t->mm, a[0]);
}

int64_t sys_mmap(struct task *t, const uint64_t a[6])
{
	if (!abi_page_aligned(a[5]))
		return -EINVAL;
	if (!(a[3] & MAP_ANONYMOUS))
		return -EBADF; /* no file descriptors beyond stdio yet */
	return mm_mmap(t->mm, a[0], a[1], (unsigned)a[2], (unsigned)a[3]);
}

int64_t sys_munmap(struct task *t, const uint64_t a[6])
{
	return mm_munmap(t->mm, a[0], a[1]);
}

int64_t sys_mprotect(struct task *t, const uint64_t a[6])
{
	return mm_mprotect(t->mm, a[0], a[1], (unsigned)a[2]);
}

int64_t sys_mremap(struct task *t, const uint64_t a[6])
{
	return mm_mremap(t->mm, a[0], a[1], a[2], (unsigned)a[3], a[4]);
}

int64_t sys_madvise(struct task *t, const uint64_t a[6])
{
	return mm_madvise(t->mm, a[0], a[1], (int)a[2]);
}

/*
 * abi/syscalls.h - x86-64 Linux syscall numbers, from the kernel headers.
 */
#ifndef KSENTRY_ABI_SYSCALLS_H
#define KSENTRY_ABI_SYSCALLS_H

#include <asm/unistd_64.h>

/* One past the largest number the syscall table knows (clone3 is 435;
 * keep room for newer calls, which are ENOSYS). */
#define ABI_NR_SYSCALLS 512

#endif

/*
 * abi/syscall_names.h - the name of every x86-64 syscall number.
 */
#ifndef KSENTRY_ABI_SYSCALL_NAMES_H
#define KSENTRY_ABI_SYSCALL_NAMES_H

#include "abi/syscalls.h"

/* NULL where no syscall has that number. */
extern const char *const abi_syscall_names[ABI_NR_SYSCALLS];

#endif

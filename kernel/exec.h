/*
 * kernel/exec.h - load a program into a task, as execve does.
 */
#ifndef KSENTRY_KERNEL_EXEC_H
#define KSENTRY_KERNEL_EXEC_H

#include <stddef.h>

#include "kernel/task.h"

/* Where the initial stack's top is, and how much of it is mapped at once. */
#define EXEC_STACK_TOP      UINT64_C(0x00007ffffffde000)
#define EXEC_STACK_POPULATE (128 * 1024)

/* Base address of a position-independent (ET_DYN) program, as Linux. */
#define EXEC_PIE_BASE UINT64_C(0x0000555555554000)

/*
 * Load the static ELF executable at @path (resolved in @t's namespace,
 * relative paths from its cwd) into @t, whose mm must be empty: its segments (mapped eagerly), the heap start, and the initial
 * stack with @argv, @envp and the auxiliary vector; then point @t's
 * registers at the entry.  On failure returns a negative errno (-ENOEXEC
 * for a program ksentry cannot run) and writes a one-line reason to
 * @msg (@msglen bytes).
 */
int exec_load(struct task *t, const char *path, char *const argv[], char *const envp[], char *msg,
	      size_t msglen);

#endif

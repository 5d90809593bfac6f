/*
 * kernel/syscall.h - the syscall table.
 *
 * One table indexed by syscall number.  Each entry has the handler, the
 * name, how --strace prints its arguments, and a status.  A number with no
 * handler returns -ENOSYS (and --strace shows it).  docs/syscalls.md is
 * generated from this table by `ksentry syscalls --markdown`.
 *
 * Handlers get the calling task and the six raw argument registers; they
 * return the result or a negative errno, and trust none of the arguments.
 */
#ifndef KSENTRY_KERNEL_SYSCALL_H
#define KSENTRY_KERNEL_SYSCALL_H

#include <stdint.h>
#include <stdio.h>

#include "abi/syscalls.h"
#include "kernel/task.h"

typedef int64_t (*syscall_fn)(struct task *t, const uint64_t a[6]);

/*
 * How --strace prints each argument, one letter per argument:
 *   d signed int      u unsigned      x hex        p pointer
 *   f fd              s string        b buffer (length in the next argument)
 *   o octal
 */
struct syscall_entry {
	const char *name;
	syscall_fn fn;
	const char *args;
	const char *note; /* what is partial, for the docs; NULL if complete */
};

extern const struct syscall_entry syscall_table[ABI_NR_SYSCALLS];

/* Serve the syscall @t trapped with (number in regs.orig_rax). */
void syscall_dispatch(struct task *t);

/* Print the table as docs/syscalls.md. */
void syscall_print_markdown(FILE *out);

/* --- handlers, by subject --- */

/* sys_process.c */
int64_t sys_exit(struct task *t, const uint64_t a[6]);
int64_t sys_exit_group(struct task *t, const uint64_t a[6]);
int64_t sys_getpid(struct task *t, const uint64_t a[6]);
int64_t sys_gettid(struct task *t, const uint64_t a[6]);
int64_t sys_getppid(struct task *t, const uint64_t a[6]);
int64_t sys_getuid(struct task *t, const uint64_t a[6]);
int64_t sys_arch_prctl(struct task *t, const uint64_t a[6]);
int64_t sys_set_tid_address(struct task *t, const uint64_t a[6]);
int64_t sys_set_robust_list(struct task *t, const uint64_t a[6]);
int64_t sys_uname(struct task *t, const uint64_t a[6]);
int64_t sys_prlimit64(struct task *t, const uint64_t a[6]);
int64_t sys_getrlimit(struct task *t, const uint64_t a[6]);
int64_t sys_setrlimit(struct task *t, const uint64_t a[6]);
int64_t sys_clock_gettime(struct task *t, const uint64_t a[6]);
int64_t sys_clock_getres(struct task *t, const uint64_t a[6]);
int64_t sys_gettimeofday(struct task *t, const uint64_t a[6]);
int64_t sys_time(struct task *t, const uint64_t a[6]);
int64_t sys_getrandom(struct task *t, const uint64_t a[6]);
int64_t sys_sched_yield(struct task *t, const uint64_t a[6]);

/* sys_mm.c */
int64_t sys_brk(struct task *t, const uint64_t a[6]);
int64_t sys_mmap(struct task *t, const uint64_t a[6]);
int64_t sys_munmap(struct task *t, const uint64_t a[6]);
int64_t sys_mprotect(struct task *t, const uint64_t a[6]);
int64_t sys_mremap(struct task *t, const uint64_t a[6]);
int64_t sys_madvise(struct task *t, const uint64_t a[6]);

/* sys_stdio.c: fds 0-2 are the host's stdio until the VFS lands */
int64_t sys_read(struct task *t, const uint64_t a[6]);
int64_t sys_write(struct task *t, const uint64_t a[6]);
int64_t sys_readv(struct task *t, const uint64_t a[6]);
int64_t sys_writev(struct task *t, const uint64_t a[6]);
int64_t sys_ioctl(struct task *t, const uint64_t a[6]);
int64_t sys_fstat(struct task *t, const uint64_t a[6]);
int64_t sys_newfstatat(struct task *t, const uint64_t a[6]);
int64_t sys_readlink(struct task *t, const uint64_t a[6]);
int64_t sys_readlinkat(struct task *t, const uint64_t a[6]);
int64_t sys_close(struct task *t, const uint64_t a[6]);

#endif

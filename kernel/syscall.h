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
#include <sys/stat.h>

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

/* stat of @upath from @dirfd with AT_* @flags (AT_EMPTY_PATH: the fd
 * itself), for the stat family.  0 or -errno. */
int stat_lookup(struct task *t, int64_t dirfd, uint64_t upath, uint64_t flags, struct stat *st);

/* --- handlers, by subject --- */

/* process.c */
int64_t sys_clone(struct task *t, const uint64_t a[6]);
int64_t sys_clone3(struct task *t, const uint64_t a[6]);
int64_t sys_fork(struct task *t, const uint64_t a[6]);
int64_t sys_vfork(struct task *t, const uint64_t a[6]);
int64_t sys_wait4(struct task *t, const uint64_t a[6]);
int64_t sys_waitid(struct task *t, const uint64_t a[6]);
int64_t sys_execve(struct task *t, const uint64_t a[6]);
int64_t sys_execveat(struct task *t, const uint64_t a[6]);
int64_t sys_getppid(struct task *t, const uint64_t a[6]);
int64_t sys_getpgid(struct task *t, const uint64_t a[6]);
int64_t sys_getpgrp(struct task *t, const uint64_t a[6]);
int64_t sys_setpgid(struct task *t, const uint64_t a[6]);
int64_t sys_getsid(struct task *t, const uint64_t a[6]);
int64_t sys_setsid(struct task *t, const uint64_t a[6]);

/* signal.c */
int64_t sys_rt_sigaction(struct task *t, const uint64_t a[6]);
int64_t sys_rt_sigprocmask(struct task *t, const uint64_t a[6]);
int64_t sys_rt_sigpending(struct task *t, const uint64_t a[6]);
int64_t sys_rt_sigreturn(struct task *t, const uint64_t a[6]);
int64_t sys_rt_sigsuspend(struct task *t, const uint64_t a[6]);
int64_t sys_rt_sigtimedwait(struct task *t, const uint64_t a[6]);
int64_t sys_rt_sigqueueinfo(struct task *t, const uint64_t a[6]);
int64_t sys_rt_tgsigqueueinfo(struct task *t, const uint64_t a[6]);
int64_t sys_sigaltstack(struct task *t, const uint64_t a[6]);
int64_t sys_kill(struct task *t, const uint64_t a[6]);
int64_t sys_tgkill(struct task *t, const uint64_t a[6]);
int64_t sys_tkill(struct task *t, const uint64_t a[6]);
int64_t sys_pause(struct task *t, const uint64_t a[6]);
int64_t sys_nanosleep(struct task *t, const uint64_t a[6]);
int64_t sys_clock_nanosleep(struct task *t, const uint64_t a[6]);

/* sys_process.c: accounting, scheduling, credentials */
int64_t sys_getrusage(struct task *t, const uint64_t a[6]);
int64_t sys_times(struct task *t, const uint64_t a[6]);
int64_t sys_sysinfo(struct task *t, const uint64_t a[6]);
int64_t sys_sched_getaffinity(struct task *t, const uint64_t a[6]);
int64_t sys_sched_setaffinity(struct task *t, const uint64_t a[6]);
int64_t sys_getcpu(struct task *t, const uint64_t a[6]);
int64_t sys_setuid(struct task *t, const uint64_t a[6]);
int64_t sys_setresuid(struct task *t, const uint64_t a[6]);
int64_t sys_getresuid(struct task *t, const uint64_t a[6]);
int64_t sys_setreuid(struct task *t, const uint64_t a[6]);
int64_t sys_getgroups(struct task *t, const uint64_t a[6]);
int64_t sys_setgroups(struct task *t, const uint64_t a[6]);

/* sys_poll.c, sys_epoll.c */
int64_t sys_select(struct task *t, const uint64_t a[6]);
int64_t sys_pselect6(struct task *t, const uint64_t a[6]);
int64_t sys_eventfd(struct task *t, const uint64_t a[6]);
int64_t sys_eventfd2(struct task *t, const uint64_t a[6]);
int64_t sys_epoll_create(struct task *t, const uint64_t a[6]);
int64_t sys_epoll_create1(struct task *t, const uint64_t a[6]);
int64_t sys_epoll_ctl(struct task *t, const uint64_t a[6]);
int64_t sys_epoll_wait(struct task *t, const uint64_t a[6]);
int64_t sys_epoll_pwait(struct task *t, const uint64_t a[6]);

/* timer.c */
int64_t sys_alarm(struct task *t, const uint64_t a[6]);
int64_t sys_setitimer(struct task *t, const uint64_t a[6]);
int64_t sys_getitimer(struct task *t, const uint64_t a[6]);
int64_t sys_timer_create(struct task *t, const uint64_t a[6]);
int64_t sys_timer_settime(struct task *t, const uint64_t a[6]);
int64_t sys_timer_gettime(struct task *t, const uint64_t a[6]);
int64_t sys_timer_getoverrun(struct task *t, const uint64_t a[6]);
int64_t sys_timer_delete(struct task *t, const uint64_t a[6]);

/* futex.c */
int64_t sys_futex(struct task *t, const uint64_t a[6]);

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
int64_t sys_get_robust_list(struct task *t, const uint64_t a[6]);
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
int64_t sys_msync(struct task *t, const uint64_t a[6]);

/* sys_file2.c */
int64_t sys_pipe(struct task *t, const uint64_t a[6]);
int64_t sys_pipe2(struct task *t, const uint64_t a[6]);
int64_t sys_statx(struct task *t, const uint64_t a[6]);
int64_t sys_statfs(struct task *t, const uint64_t a[6]);
int64_t sys_fstatfs(struct task *t, const uint64_t a[6]);
int64_t sys_chroot(struct task *t, const uint64_t a[6]);
int64_t sys_sendfile(struct task *t, const uint64_t a[6]);
int64_t sys_copy_file_range(struct task *t, const uint64_t a[6]);
int64_t sys_mount(struct task *t, const uint64_t a[6]);
int64_t sys_umount2(struct task *t, const uint64_t a[6]);

/* sys_xattr.c */
int64_t sys_setxattr(struct task *t, const uint64_t a[6]);
int64_t sys_lsetxattr(struct task *t, const uint64_t a[6]);
int64_t sys_fsetxattr(struct task *t, const uint64_t a[6]);
int64_t sys_getxattr(struct task *t, const uint64_t a[6]);
int64_t sys_lgetxattr(struct task *t, const uint64_t a[6]);
int64_t sys_fgetxattr(struct task *t, const uint64_t a[6]);
int64_t sys_listxattr(struct task *t, const uint64_t a[6]);
int64_t sys_llistxattr(struct task *t, const uint64_t a[6]);
int64_t sys_flistxattr(struct task *t, const uint64_t a[6]);
int64_t sys_removexattr(struct task *t, const uint64_t a[6]);
int64_t sys_lremovexattr(struct task *t, const uint64_t a[6]);
int64_t sys_fremovexattr(struct task *t, const uint64_t a[6]);
int64_t sys_fallocate(struct task *t, const uint64_t a[6]);

/* sys_poll.c */
int64_t sys_poll(struct task *t, const uint64_t a[6]);
int64_t sys_ppoll(struct task *t, const uint64_t a[6]);

/* sys_file.c */
int64_t sys_read(struct task *t, const uint64_t a[6]);
int64_t sys_write(struct task *t, const uint64_t a[6]);
int64_t sys_pread64(struct task *t, const uint64_t a[6]);
int64_t sys_pwrite64(struct task *t, const uint64_t a[6]);
int64_t sys_readv(struct task *t, const uint64_t a[6]);
int64_t sys_writev(struct task *t, const uint64_t a[6]);
int64_t sys_preadv(struct task *t, const uint64_t a[6]);
int64_t sys_pwritev(struct task *t, const uint64_t a[6]);
int64_t sys_lseek(struct task *t, const uint64_t a[6]);
int64_t sys_open(struct task *t, const uint64_t a[6]);
int64_t sys_openat(struct task *t, const uint64_t a[6]);
int64_t sys_creat(struct task *t, const uint64_t a[6]);
int64_t sys_close(struct task *t, const uint64_t a[6]);
int64_t sys_close_range(struct task *t, const uint64_t a[6]);
int64_t sys_getdents64(struct task *t, const uint64_t a[6]);
int64_t sys_mkdir(struct task *t, const uint64_t a[6]);
int64_t sys_mkdirat(struct task *t, const uint64_t a[6]);
int64_t sys_mknodat(struct task *t, const uint64_t a[6]);
int64_t sys_mknod(struct task *t, const uint64_t a[6]);
int64_t sys_unlink(struct task *t, const uint64_t a[6]);
int64_t sys_unlinkat(struct task *t, const uint64_t a[6]);
int64_t sys_rmdir(struct task *t, const uint64_t a[6]);
int64_t sys_rename(struct task *t, const uint64_t a[6]);
int64_t sys_renameat(struct task *t, const uint64_t a[6]);
int64_t sys_renameat2(struct task *t, const uint64_t a[6]);
int64_t sys_link(struct task *t, const uint64_t a[6]);
int64_t sys_linkat(struct task *t, const uint64_t a[6]);
int64_t sys_symlink(struct task *t, const uint64_t a[6]);
int64_t sys_symlinkat(struct task *t, const uint64_t a[6]);
int64_t sys_readlink(struct task *t, const uint64_t a[6]);
int64_t sys_readlinkat(struct task *t, const uint64_t a[6]);
int64_t sys_fstat(struct task *t, const uint64_t a[6]);
int64_t sys_newfstatat(struct task *t, const uint64_t a[6]);
int64_t sys_stat(struct task *t, const uint64_t a[6]);
int64_t sys_lstat(struct task *t, const uint64_t a[6]);
int64_t sys_access(struct task *t, const uint64_t a[6]);
int64_t sys_faccessat(struct task *t, const uint64_t a[6]);
int64_t sys_faccessat2(struct task *t, const uint64_t a[6]);
int64_t sys_chmod(struct task *t, const uint64_t a[6]);
int64_t sys_fchmod(struct task *t, const uint64_t a[6]);
int64_t sys_fchmodat(struct task *t, const uint64_t a[6]);
int64_t sys_chown(struct task *t, const uint64_t a[6]);
int64_t sys_fchown(struct task *t, const uint64_t a[6]);
int64_t sys_lchown(struct task *t, const uint64_t a[6]);
int64_t sys_fchownat(struct task *t, const uint64_t a[6]);
int64_t sys_truncate(struct task *t, const uint64_t a[6]);
int64_t sys_ftruncate(struct task *t, const uint64_t a[6]);
int64_t sys_utimensat(struct task *t, const uint64_t a[6]);
int64_t sys_fsync(struct task *t, const uint64_t a[6]);
int64_t sys_sync(struct task *t, const uint64_t a[6]);
int64_t sys_dup(struct task *t, const uint64_t a[6]);
int64_t sys_dup2(struct task *t, const uint64_t a[6]);
int64_t sys_dup3(struct task *t, const uint64_t a[6]);
int64_t sys_fcntl(struct task *t, const uint64_t a[6]);
int64_t sys_flock(struct task *t, const uint64_t a[6]);
int64_t sys_ioctl(struct task *t, const uint64_t a[6]);
int64_t sys_umask(struct task *t, const uint64_t a[6]);
int64_t sys_chdir(struct task *t, const uint64_t a[6]);
int64_t sys_fchdir(struct task *t, const uint64_t a[6]);
int64_t sys_getcwd(struct task *t, const uint64_t a[6]);

#endif

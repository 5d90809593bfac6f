/*
 * kernel/syscall.c - the table, dispatch, and --strace output.
 *
 * --strace prints one line per syscall after it returns, in strace's
 * format: name(args) = result, with errnos by name.  Strings and buffers
 * are read from guest memory with the guest's rights (a bad pointer prints
 * as its address) and cut at 32 bytes.
 */
#include <ctype.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "abi/syscall_names.h"
#include "kernel/syscall.h"

#define SC(nm, a) [__NR_##nm] = {.name = #nm, .fn = sys_##nm, .args = a}
#define SC_NOTE(nm, a, n) [__NR_##nm] = {.name = #nm, .fn = sys_##nm, .args = a, .note = n}
#define SC_ALIAS(nm, f, a) [__NR_##nm] = {.name = #nm, .fn = sys_##f, .args = a}

const struct syscall_entry syscall_table[ABI_NR_SYSCALLS] = {
	SC(read, "fpu"),
	SC(write, "fbu"),
	SC(pread64, "fpuu"),
	SC(pwrite64, "fbuu"),
	SC(readv, "fpd"),
	SC(writev, "fpd"),
	SC(preadv, "fpdu"),
	SC(pwritev, "fpdu"),
	SC_NOTE(lseek, "fdW", "SEEK_SET, CUR, END; SEEK_DATA/HOLE from FUSE servers (LSEEK), else the whole file is data"),
	SC(open, "sOo"),
	SC(openat, "fsOo"),
	SC(creat, "so"),
	SC(close, "f"),
	SC(close_range, "uux"),
	SC(getdents64, "fpu"),
	SC(mkdir, "so"),
	SC(mkdirat, "fso"),
	SC_NOTE(mknodat, "fsox", "regular files, FIFOs (named pipes) and device nodes; a node opens as the /dev device of its number (null, zero, full, random, urandom, tty), others ENXIO"),
	SC_NOTE(mknod, "sox", "as mknodat"),
	SC(unlink, "s"),
	SC(unlinkat, "fsx"),
	SC(rmdir, "s"),
	SC(rename, "ss"),
	SC(renameat, "fsfs"),
	SC_NOTE(renameat2, "fsfsx", "RENAME_NOREPLACE and RENAME_EXCHANGE; not RENAME_WHITEOUT"),
	SC(link, "ss"),
	SC(linkat, "fsfsx"),
	SC(symlink, "ss"),
	SC(symlinkat, "sfs"),
	SC(readlink, "spu"),
	SC(readlinkat, "fspu"),
	SC(fstat, "fp"),
	SC(newfstatat, "fspx"),
	SC(stat, "sp"),
	SC(lstat, "sp"),
	SC_NOTE(access, "so", "the guest is root: only X_OK is checked"),
	SC_NOTE(faccessat, "fso", "the guest is root: only X_OK is checked"),
	SC_NOTE(faccessat2, "fsox", "the guest is root: only X_OK is checked"),
	SC(chmod, "so"),
	SC(fchmod, "fo"),
	SC(fchmodat, "fso"),
	SC(chown, "sdd"),
	SC(fchown, "fdd"),
	SC(lchown, "sdd"),
	SC(fchownat, "fsddx"),
	SC(truncate, "sd"),
	SC(ftruncate, "fd"),
	SC(utimensat, "fspx"),
	SC(fsync, "f"),
	SC_ALIAS(fdatasync, fsync, "f"),
	SC(sync, ""),
	SC_ALIAS(syncfs, fsync, "f"),
	SC(dup, "f"),
	SC(dup2, "ff"),
	SC(dup3, "ffx"),
	SC_NOTE(fcntl, "fFx", "F_DUPFD(_CLOEXEC), F_GETFD/SETFD, F_GETFL/SETFL, F_GETLK/SETLK/SETLKW and the F_OFD_ ones"),
	SC_NOTE(flock, "dx", "LOCK_SH, LOCK_EX, LOCK_UN, LOCK_NB"),
	SC_NOTE(ioctl, "fIp", "FIONBIO, FIOCLEX, FIONCLEX; FIONREAD on pipes and regular files; on the host stdio TCGETS, TCSETS*, TIOCGWINSZ, TIOCSWINSZ, TCFLSH, TCSBRK, TCXONC, TIOC[GS]PGRP"),
	SC(umask, "o"),
	SC(chdir, "s"),
	SC(fchdir, "f"),
	SC(getcwd, "pu"),
	SC(pipe, "p"),
	SC(pipe2, "px"),
	SC(statx, "fsxxp"),
	SC_NOTE(statfs, "sp", "sizes are the sandbox's memory cap; f_type per file system"),
	SC_NOTE(fstatfs, "fp", "as statfs; EINVAL on pipes and stdio"),
	SC(chroot, "s"),
	SC_NOTE(sendfile, "ffpu", "copies through the sentry"),
	SC_NOTE(copy_file_range, "fpfpux", "regular files; copies through the sentry"),
	SC_NOTE(mount, "sssxp", "tmpfs, proc, devtmpfs, bind mounts of directories, MS_REMOUNT|MS_RDONLY; propagation flags accepted (one namespace); not MS_MOVE"),
	SC_NOTE(umount2, "sx", "MNT_DETACH, UMOUNT_NOFOLLOW; EBUSY while in use"),
	SC_NOTE(setxattr, "sspux", "tmpfs and the overlay's upper layer; 64 KiB per inode"),
	SC_NOTE(lsetxattr, "sspux", "as setxattr"),
	SC_NOTE(fsetxattr, "fspux", "as setxattr"),
	SC(getxattr, "sspu"),
	SC(lgetxattr, "sspu"),
	SC(fgetxattr, "fspu"),
	SC(listxattr, "spu"),
	SC(llistxattr, "spu"),
	SC(flistxattr, "fpu"),
	SC(removexattr, "ss"),
	SC(lremovexattr, "ss"),
	SC(fremovexattr, "fs"),
	SC_NOTE(fallocate, "fxuu", "modes 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE on tmpfs, the overlay and FUSE"),
	SC_NOTE(poll, "pud", "pipes, eventfds and FUSE files wake the waiter when they change; host stdio is polled on the host (with such files beside it, they are looked at every millisecond); other files are always ready"),
	SC_NOTE(ppoll, "puppu", "as poll, with the signal mask"),
	SC_NOTE(select, "dpppp", "poll underneath"),
	SC_NOTE(pselect6, "dpppp", "poll underneath, with the signal mask"),
	SC(eventfd, "u"),
	SC(eventfd2, "ux"),
	SC(epoll_create, "d"),
	SC(epoll_create1, "x"),
	SC_NOTE(epoll_ctl, "ddfp", "level-triggered (EPOLLET served level-triggered), EPOLLONESHOT"),
	SC_NOTE(epoll_wait, "dpdd", "sleeps until a file on the interest list may have changed (every millisecond if a host fd is on it)"),
	SC_NOTE(epoll_pwait, "dpddpu", "as epoll_wait, with the signal mask"),
	SC(brk, "p"),
	SC_NOTE(mmap, "puPMfx", "anonymous; FUSE files map their own pages, shared and private; other files get a private copy made at mmap time (a writable MAP_SHARED of them is ENODEV)"),
	SC(munmap, "pu"),
	SC(mprotect, "puP"),
	SC(mremap, "puuxp"),
	SC(madvise, "pud"),
	SC_NOTE(msync, "pux", "writes back shared FUSE mappings; MS_ASYNC waits too"),
	SC(exit, "d"),
	SC(exit_group, "d"),
	SC(getpid, ""),
	SC(gettid, ""),
	SC(getppid, ""),
	SC(getuid, ""),
	SC_ALIAS(geteuid, getuid, ""),
	SC_ALIAS(getgid, getuid, ""),
	SC_ALIAS(getegid, getuid, ""),
	SC(arch_prctl, "Ap"),
	SC(set_tid_address, "p"),
	SC(set_robust_list, "pu"),
	SC(get_robust_list, "dpp"),
	SC(uname, "p"),
	SC(prlimit64, "ddpp"),
	SC(getrlimit, "dp"),
	SC(setrlimit, "dp"),
	SC(clock_gettime, "dp"),
	SC(clock_getres, "dp"),
	SC(gettimeofday, "pp"),
	SC(time, "p"),
	SC(getrandom, "pux"),
	SC(sched_yield, ""),
	SC_NOTE(clone, "Cpppx", "threads (CLONE_VM|CLONE_THREAD|...: KVM platform only), fork with copy-on-write, vfork; no namespaces; CLONE_FS copies instead of sharing"),
	SC_NOTE(clone3, "pu", "as clone; no set_tid, no pidfd, no cgroup"),
	SC(fork, ""),
	SC(vfork, ""),
	SC_NOTE(wait4, "dpxp", "rusage reads as zeros"),
	SC_NOTE(waitid, "ddpxp", "P_ALL, P_PID, P_PGID (not P_PIDFD)"),
	SC_NOTE(execve, "spp", "static and static-PIE ELF, #! scripts"),
	SC_NOTE(execveat, "fsppx", "absolute paths and AT_FDCWD"),
	SC(getpgid, "d"),
	SC(getpgrp, ""),
	SC(setpgid, "dd"),
	SC(getsid, "d"),
	SC(setsid, ""),
	SC(rt_sigaction, "Sppu"),
	SC(rt_sigprocmask, "dppu"),
	SC(rt_sigpending, "pu"),
	SC(rt_sigreturn, ""),
	SC(rt_sigsuspend, "pu"),
	SC(rt_sigtimedwait, "pppu"),
	SC_NOTE(rt_sigqueueinfo, "ddp", "real-time signals queue up to RLIMIT_SIGPENDING, then EAGAIN"),
	SC(rt_tgsigqueueinfo, "dddp"),
	SC(sigaltstack, "pp"),
	SC_NOTE(kill, "dS", "pid 1 is protected as a namespace's init"),
	SC(tgkill, "ddS"),
	SC(tkill, "dd"),
	SC(pause, ""),
	SC(nanosleep, "pp"),
	SC_NOTE(clock_nanosleep, "dxpp", "REALTIME, MONOTONIC, BOOTTIME"),
	SC_NOTE(getrusage, "dp", "user time is the task's thread CPU time; children's is zero"),
	SC(times, "p"),
	SC_NOTE(sysinfo, "p", "memory is the sandbox's memory file"),
	SC(sched_getaffinity, "dup"),
	SC_NOTE(sched_setaffinity, "dup", "pins the task's host thread, within the sandbox's CPUs"),
	SC_NOTE(getcpu, "ppp", "the host CPU of the task's thread; no exit through the vDSO on PVM"),
	SC_NOTE(setuid, "d", "single-user sandbox: ids are accepted, every id reads as 0"),
	SC_ALIAS(setgid, setuid, "d"),
	SC_ALIAS(setfsuid, setuid, "d"),
	SC_ALIAS(setfsgid, setuid, "d"),
	SC_NOTE(setresuid, "ddd", "as setuid"),
	SC_ALIAS(setresgid, setresuid, "ddd"),
	SC_NOTE(setreuid, "dd", "as setuid"),
	SC_ALIAS(setregid, setreuid, "dd"),
	SC(getresuid, "ppp"),
	SC_ALIAS(getresgid, getresuid, "ppp"),
	SC(getgroups, "dp"),
	SC_NOTE(setgroups, "dp", "accepted; no supplementary groups"),
	SC(alarm, "u"),
	SC_NOTE(setitimer, "dpp", "ITIMER_REAL only"),
	SC_NOTE(getitimer, "dp", "ITIMER_REAL only"),
	SC_NOTE(timer_create, "dpp", "CLOCK_REALTIME, MONOTONIC, BOOTTIME; SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID; 32 per process"),
	SC(timer_settime, "dxpp"),
	SC(timer_gettime, "dp"),
	SC(timer_getoverrun, "d"),
	SC(timer_delete, "d"),
	SC_NOTE(futex, "pXdpxx", "WAIT, WAKE, WAIT_BITSET, WAKE_BITSET, REQUEUE, CMP_REQUEUE, WAKE_OP; shared ones in MAP_SHARED memory keyed by frame; robust lists at exit; no PI"),
};

/* --- strace --- */

static void print_string(struct task *t, FILE *out, uint64_t addr, size_t max_len)
{
	char buf[33];
	size_t n = max_len < 32 ? max_len : 32;

	if (mm_copy_in(t->mm, buf, addr, n)) {
		/* Maybe shorter than 32 bytes before an unmapped page. */
		long len = mm_copy_in_string(t->mm, buf, addr, sizeof(buf));

		if (len < 0) {
			fprintf(out, "0x%lx", (unsigned long)addr);
			return;
		}
		n = (size_t)len;
	}
	fputc('"', out);
	for (size_t i = 0; i < n && (max_len != SIZE_MAX || buf[i]); i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n')
			fputs("\\n", out);
		else if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (isprint(c))
			fputc(c, out);
		else
			fprintf(out, "\\x%02x", c);
	}
	fputc('"', out);
	if (max_len > 32 && max_len != SIZE_MAX)
		fputs("...", out);
}

/* Named values and flags, as strace prints them. */
struct sym {
	uint64_t v;
	const char *name;
};
#define SYM(x) {x, #x}

static const struct sym open_flags[] = { /* O_SYNC and O_TMPFILE hold O_DSYNC and O_DIRECTORY */
	SYM(O_CREAT),	 SYM(O_EXCL),	   SYM(O_NOCTTY),    SYM(O_TRUNC),   SYM(O_APPEND),
	SYM(O_NONBLOCK), SYM(O_SYNC),	   SYM(O_DSYNC),     SYM(O_ASYNC),   SYM(O_DIRECT),
	SYM(O_LARGEFILE), SYM(O_TMPFILE), SYM(O_DIRECTORY), SYM(O_NOFOLLOW), SYM(O_NOATIME),
	SYM(O_CLOEXEC),	 SYM(O_PATH),	   {0, NULL},
};
static const struct sym prot_flags[] = {
	SYM(PROT_READ), SYM(PROT_WRITE), SYM(PROT_EXEC), SYM(PROT_GROWSDOWN), {0, NULL},
};
static const struct sym map_flags[] = {
	SYM(MAP_SHARED_VALIDATE), SYM(MAP_SHARED), SYM(MAP_PRIVATE), SYM(MAP_FIXED),
	SYM(MAP_ANONYMOUS), SYM(MAP_GROWSDOWN), SYM(MAP_DENYWRITE),	  SYM(MAP_EXECUTABLE),
	SYM(MAP_LOCKED),    SYM(MAP_NORESERVE), SYM(MAP_POPULATE),	  SYM(MAP_NONBLOCK),
	SYM(MAP_STACK),	    SYM(MAP_HUGETLB),  SYM(MAP_FIXED_NOREPLACE), {0, NULL},
};
static const struct sym clone_flags[] = {
	SYM(CLONE_VM),	       SYM(CLONE_FS),		  SYM(CLONE_FILES),	   SYM(CLONE_SIGHAND),
	SYM(CLONE_PIDFD),      SYM(CLONE_PTRACE),	  SYM(CLONE_VFORK),	   SYM(CLONE_PARENT),
	SYM(CLONE_THREAD),     SYM(CLONE_NEWNS),	  SYM(CLONE_SYSVSEM),	   SYM(CLONE_SETTLS),
	SYM(CLONE_PARENT_SETTID), SYM(CLONE_CHILD_CLEARTID), SYM(CLONE_DETACHED), SYM(CLONE_UNTRACED),
	SYM(CLONE_CHILD_SETTID), SYM(CLONE_NEWCGROUP),	  SYM(CLONE_NEWUTS),	   SYM(CLONE_NEWIPC),
	SYM(CLONE_NEWUSER),    SYM(CLONE_NEWPID),	  SYM(CLONE_NEWNET),	   SYM(CLONE_IO),
	{0, NULL},
};
static const struct sym ioctls[] = {
	SYM(TCGETS),	 SYM(TCSETS),	  SYM(TCSETSW),	   SYM(TCSETSF),   SYM(TCSBRK),
	SYM(TCXONC),	 SYM(TCFLSH),	  SYM(TIOCGPGRP),  SYM(TIOCSPGRP), SYM(TIOCGWINSZ),
	SYM(TIOCSWINSZ), SYM(FIONREAD),	  SYM(FIONBIO),	   SYM(FIOCLEX),   SYM(FIONCLEX),
	SYM(TIOCSCTTY),	 SYM(TIOCNOTTY), SYM(TIOCGPTN),   {0, NULL},
};
static const struct sym fcntls[] = {
	SYM(F_DUPFD),	 SYM(F_GETFD),	   SYM(F_SETFD),   SYM(F_GETFL),     SYM(F_SETFL),
	SYM(F_GETLK),	 SYM(F_SETLK),	   SYM(F_SETLKW),  SYM(F_SETOWN),    SYM(F_GETOWN),
	SYM(F_SETSIG),	 SYM(F_GETSIG),	   SYM(F_OFD_GETLK), SYM(F_OFD_SETLK), SYM(F_OFD_SETLKW),
	SYM(F_DUPFD_CLOEXEC), SYM(F_SETPIPE_SZ), SYM(F_GETPIPE_SZ), SYM(F_ADD_SEALS),
	SYM(F_GET_SEALS), {0, NULL},
};
static const struct sym arch_prctls[] = {
	{0x1001, "ARCH_SET_GS"}, {0x1002, "ARCH_SET_FS"},     {0x1003, "ARCH_GET_FS"},
	{0x1004, "ARCH_GET_GS"}, {0x1011, "ARCH_GET_CPUID"}, {0x1012, "ARCH_SET_CPUID"},
	{0x3001, "ARCH_CET_STATUS"}, {0, NULL},
};
static const struct sym whences[] = {
	SYM(SEEK_SET), SYM(SEEK_CUR), SYM(SEEK_END), SYM(SEEK_DATA), SYM(SEEK_HOLE), {0, NULL},
};
static const struct sym futex_ops[] = {
	SYM(FUTEX_WAIT),	 SYM(FUTEX_WAKE),	  SYM(FUTEX_FD),	  SYM(FUTEX_REQUEUE),
	SYM(FUTEX_CMP_REQUEUE), SYM(FUTEX_WAKE_OP),	  SYM(FUTEX_LOCK_PI),	  SYM(FUTEX_UNLOCK_PI),
	SYM(FUTEX_TRYLOCK_PI), SYM(FUTEX_WAIT_BITSET), SYM(FUTEX_WAKE_BITSET),
	SYM(FUTEX_WAIT_REQUEUE_PI), SYM(FUTEX_CMP_REQUEUE_PI), SYM(FUTEX_LOCK_PI2), {0, NULL},
};

static bool print_sym(FILE *out, const struct sym *tab, uint64_t v)
{
	for (; tab->name; tab++) {
		if (tab->v == v) {
			fputs(tab->name, out);
			return true;
		}
	}
	return false;
}

/* Each flag set by name, '|' between, and what is left in hex. */
static void print_flags(FILE *out, const struct sym *tab, uint64_t v, const char *zero)
{
	const char *sep = "";

	if (!v) {
		fputs(zero ? zero : "0", out);
		return;
	}
	for (; tab->name; tab++) {
		if (tab->v && (v & tab->v) == tab->v) {
			fprintf(out, "%s%s", sep, tab->name);
			sep = "|";
			v &= ~tab->v;
		}
	}
	if (v)
		fprintf(out, "%s0x%lx", sep, (unsigned long)v);
}

static void print_open_flags(FILE *out, uint64_t v)
{
	static const char *const acc[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};

	fputs(acc[v & O_ACCMODE], out);
	if (v & ~(uint64_t)O_ACCMODE) {
		fputc('|', out);
		print_flags(out, open_flags, v & ~(uint64_t)O_ACCMODE, NULL);
	}
}

static void print_futex_op(FILE *out, uint64_t v)
{
	if (!print_sym(out, futex_ops, v & FUTEX_CMD_MASK))
		fprintf(out, "%lu", (unsigned long)(v & FUTEX_CMD_MASK));
	if (v & FUTEX_PRIVATE_FLAG)
		fputs("_PRIVATE", out);
	if (v & FUTEX_CLOCK_REALTIME)
		fputs("|FUTEX_CLOCK_REALTIME", out);
}

static void print_signal(FILE *out, uint64_t v)
{
	const char *name = (int)v > 0 && (int)v < 32 ? sigabbrev_np((int)v) : NULL;

	if (name)
		fprintf(out, "SIG%s", name);
	else if ((int)v >= SIGRTMIN && (int)v <= 64)
		fprintf(out, "SIGRT_%d", (int)v - SIGRTMIN);
	else
		fprintf(out, "%d", (int)v);
}

static void print_args(struct task *t, FILE *out, const char *fmt, const uint64_t a[6])
{
	for (int i = 0; fmt && fmt[i] && i < 6; i++) {
		if (i)
			fputs(", ", out);
		switch (fmt[i]) {
		case 'd':
			fprintf(out, "%d", (int)a[i]);
			break;
		case 'f': /* a descriptor, or a directory one */
			if ((int)a[i] == AT_FDCWD)
				fputs("AT_FDCWD", out);
			else
				fprintf(out, "%d", (int)a[i]);
			break;
		case 'O':
			print_open_flags(out, a[i]);
			break;
		case 'P':
			print_flags(out, prot_flags, a[i], "PROT_NONE");
			break;
		case 'M':
			print_flags(out, map_flags, a[i], NULL);
			break;
		case 'C': /* clone's flags, the exit signal in the low byte */
			print_flags(out, clone_flags, a[i] & ~(uint64_t)CSIGNAL, "0");
			if (a[i] & CSIGNAL) {
				fputc('|', out);
				print_signal(out, a[i] & CSIGNAL);
			}
			break;
		case 'S':
			print_signal(out, a[i]);
			break;
		case 'X':
			print_futex_op(out, a[i]);
			break;
		case 'I':
		case 'F':
		case 'A':
		case 'W':
			if (!print_sym(out, fmt[i] == 'I' ? ioctls : fmt[i] == 'F' ? fcntls
							: fmt[i] == 'A' ? arch_prctls : whences,
				       a[i]))
				fprintf(out, fmt[i] == 'W' ? "%lu" : "0x%lx", (unsigned long)a[i]);
			break;
		case 'u':
			fprintf(out, "%lu", (unsigned long)a[i]);
			break;
		case 'o':
			fprintf(out, "%#lo", (unsigned long)a[i]);
			break;
		case 's':
			print_string(t, out, a[i], SIZE_MAX);
			break;
		case 'b':
			print_string(t, out, a[i], i < 5 ? (size_t)a[i + 1] : 0);
			break;
		case 'p':
			if (a[i] == 0)
				fputs("NULL", out);
			else
				fprintf(out, "0x%lx", (unsigned long)a[i]);
			break;
		default:
			fprintf(out, "0x%lx", (unsigned long)a[i]);
			break;
		}
	}
}

static void print_result(FILE *out, const char *fmt, int64_t r)
{
	static const char *const restarts[] = {
		"ERESTARTSYS (To be restarted if SA_RESTART is set)",
		"ERESTARTNOINTR (To be restarted)",
		"ERESTARTNOHAND (To be restarted if no handler)",
	};

	if (r <= -ERESTARTSYS && r >= -ERESTARTNOHAND) { /* the sentry's own: the guest sees
							    a restart or EINTR */
		fprintf(out, " = ? %s\n", restarts[-r - ERESTARTSYS]);
	} else if (r < 0 && r >= -ABI_MAX_ERRNO) {
		const char *name = strerrorname_np((int)-r);

		fprintf(out, " = -1 %s (%s)\n", name ? name : "E?", strerror((int)-r));
	} else if (fmt[0] == 'p') {
		fprintf(out, " = 0x%lx\n", (unsigned long)r);
	} else {
		fprintf(out, " = %ld\n", (long)r);
	}
}

/* --- dispatch --- */

void syscall_dispatch(struct task *t)
{
	uint64_t nr = t->regs.orig_rax;
	const uint64_t a[6] = {t->regs.rdi, t->regs.rsi, t->regs.rdx,
			       t->regs.r10, t->regs.r8,  t->regs.r9};
	const struct syscall_entry *e = nr < ABI_NR_SYSCALLS ? &syscall_table[nr] : NULL;
	FILE *out = t->k->strace;
	int64_t r;

	t->syscall_seq = atomic_fetch_add_explicit(&t->k->syscall_seq, 1, memory_order_relaxed) + 1;
	if (t->k->syscall_counts && nr < ABI_NR_SYSCALLS)
		atomic_fetch_add_explicit(&t->k->syscall_counts[nr], 1, memory_order_relaxed);
	r = e && e->fn ? e->fn(t, a) : -ENOSYS;
	if (out) {
		const char *name = nr < ABI_NR_SYSCALLS ? abi_syscall_names[nr] : NULL;

		if (name)
			fprintf(out, "[pid %d] %s(", t->tid, name);
		else
			fprintf(out, "[pid %d] syscall_%lu(", t->tid, (unsigned long)nr);
		/* Unimplemented: raw registers, as strace does for unknown calls. */
		print_args(t, out, e && e->fn ? e->args : "xxxxxx", a);
		fputc(')', out);
		if (t->exited)
			fputs(" = ?\n", out);
		else
			print_result(out, nr == __NR_mmap || nr == __NR_brk || nr == __NR_mremap
						  ? "p"
						  : "d",
				     r);
		fflush(out);
	}
	if (!t->exited) {
		t->regs.rax = (uint64_t)r;
		/* Interrupted by a signal: signal_deliver restarts it or fails it
		 * with EINTR.  (rt_sigreturn's result is the old rax, whatever.) */
		t->restart_syscall = nr != __NR_rt_sigreturn && r <= -ERESTARTSYS &&
				     r >= -ERESTARTNOHAND;
	}
}

void syscall_print_markdown(FILE *out)
{
	fprintf(out, "| nr | syscall | status |\n|---|---|---|\n");
	for (unsigned nr = 0; nr < ABI_NR_SYSCALLS; nr++) {
		const struct syscall_entry *e = &syscall_table[nr];

		if (!e->fn)
			continue;
		fprintf(out, "| %u | `%s` | %s |\n", nr, e->name,
			e->note ? e->note : "implemented");
	}
}

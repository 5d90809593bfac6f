/*
 * Special files and empty paths, end to end: device nodes made with mknod
 * open as the device their number names, FIFOs open as named pipes (with
 * Linux's blocking rules), O_PATH fds, and the AT_EMPTY_PATH forms of
 * linkat, fchownat, faccessat2 and utimensat.  Each check prints "ok
 * NAME" or "FAIL NAME: detail"; the last line is "nodes ok" only if every
 * check passed.  Run in the sandbox (its tmpfs /tmp, or the directory
 * given) and natively as root against a scratch directory, where Linux
 * itself must pass: the test tests itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

/* The *at form throughout, as the sandbox and Linux both have it. */
static int mk(const char *path, mode_t mode, dev_t dev)
{
	return mknodat(AT_FDCWD, path, mode, dev);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* --- device nodes --- */

static bool all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void test_chrdev(void)
{
	unsigned char buf[64];
	struct stat st;
	int fd, fd2, err2;

	CHECK("mknod-null",
	      mk(scratch("null"), S_IFCHR | 0666, makedev(1, 3)) == 0 && stat(scratch("null"), &st) == 0 &&
		  S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
	      "mknod c 1 3");
	fd = open(scratch("null"), O_RDWR);
	CHECK("node-null", fd >= 0 && read(fd, buf, sizeof(buf)) == 0 && write(fd, "gone", 4) == 4,
	      "fd %d", fd);
	close(fd);

	memset(buf, 0xff, sizeof(buf));
	fd = mk(scratch("zero"), S_IFCHR | 0666, makedev(1, 5)) ? -1 : open(scratch("zero"), O_RDWR);
	CHECK("node-zero",
	      fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) &&
		  all_zero(buf, sizeof(buf)) && write(fd, "x", 1) == 1,
	      "fd %d", fd);
	close(fd);

	memset(buf, 0xff, sizeof(buf));
	fd = mk(scratch("full"), S_IFCHR | 0666, makedev(1, 7)) ? -1 : open(scratch("full"), O_RDWR);
	errno = 0;
	CHECK("node-full",
	      fd >= 0 && read(fd, buf, 8) == 8 && all_zero(buf, 8) && write(fd, "x", 1) == -1 &&
		  errno == ENOSPC,
	      "fd %d", fd);
	close(fd);

	memset(buf, 0, sizeof(buf));
	fd = mk(scratch("random"), S_IFCHR | 0444, makedev(1, 8)) ? -1 : open(scratch("random"), O_RDONLY);
	fd2 = mk(scratch("urandom"), S_IFCHR | 0444, makedev(1, 9)) ? -1 : open(scratch("urandom"), O_RDONLY);
	CHECK("node-random",
	      fd >= 0 && fd2 >= 0 && read(fd, buf, 32) == 32 && read(fd2, buf + 32, 32) == 32 &&
		  !all_zero(buf, 32) && !all_zero(buf + 32, 32),
	      "fds %d %d", fd, fd2);
	close(fd);
	close(fd2);

	/* The terminal: what /dev/tty gives (ENXIO without a controlling
	 * terminal, as under the test runner), the node gives too. */
	fd = open("/dev/tty", O_RDWR);
	err2 = fd < 0 ? errno : 0;
	close(fd);
	fd = mk(scratch("tty"), S_IFCHR | 0666, makedev(5, 0)) ? -2 : open(scratch("tty"), O_RDWR);
	CHECK("node-tty", fd != -2 && (fd >= 0) == (err2 == 0) && (fd >= 0 || errno == err2),
	      "node fd %d, /dev/tty errno %d", fd, err2);
	close(fd);

	/* A number no driver has (240 is "local/experimental"). */
	errno = 0;
	CHECK("node-no-driver",
	      mk(scratch("nodrv"), S_IFCHR | 0666, makedev(240, 0)) == 0 &&
		  open(scratch("nodrv"), O_RDONLY) == -1 && errno == ENXIO,
	      "open c 240 0");
	/* Through a hard link and a rename it stays the same device. */
	fd = link(scratch("zero"), scratch("zero2")) || rename(scratch("zero2"), scratch("zero3"))
		 ? -1
		 : open(scratch("zero3"), O_RDONLY);
	memset(buf, 0xff, sizeof(buf));
	CHECK("node-linked", fd >= 0 && read(fd, buf, 4) == 4 && all_zero(buf, 4), "fd %d", fd);
	close(fd);
	unlink(scratch("null"));
	unlink(scratch("zero"));
	unlink(scratch("zero3"));
	unlink(scratch("full"));
	unlink(scratch("random"));
	unlink(scratch("urandom"));
	unlink(scratch("tty"));
	unlink(scratch("nodrv"));
}

/* --- named pipes --- */

static void on_alarm(int sig)
{
	(void)sig;
}

static void test_fifo(void)
{
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
	struct itimerval it = {.it_value = {0, 150000}};
	char buf[64] = {0};
	struct stat st;
	pid_t pid;
	int fd, fd2, status;

	CHECK("mkfifo",
	      mkfifoat(AT_FDCWD, scratch("fifo"), 0600) == 0 && stat(scratch("fifo"), &st) == 0 &&
		  S_ISFIFO(st.st_mode),
	      "mkfifo");
	CHECK("mknod-fifo",
	      mk(scratch("fifo2"), S_IFIFO | 0600, 0) == 0 && stat(scratch("fifo2"), &st) == 0 &&
		  S_ISFIFO(st.st_mode),
	      "mknod S_IFIFO");

	/* Without a reader a non-blocking writer is refused... */
	errno = 0;
	CHECK("fifo-wronly-nonblock-enxio",
	      open(scratch("fifo"), O_WRONLY | O_NONBLOCK) == -1 && errno == ENXIO,
	      "open O_WRONLY|O_NONBLOCK");
	/* ...a non-blocking reader is not, and reads end of file. */
	fd = open(scratch("fifo"), O_RDONLY | O_NONBLOCK);
	CHECK("fifo-rdonly-nonblock", fd >= 0 && read(fd, buf, sizeof(buf)) == 0, "fd %d", fd);
	/* With that reader, a non-blocking writer gets in. */
	fd2 = open(scratch("fifo"), O_WRONLY | O_NONBLOCK);
	CHECK("fifo-wronly-with-reader",
	      fd2 >= 0 && write(fd2, "ab", 2) == 2 && read(fd, buf, sizeof(buf)) == 2 &&
		  !memcmp(buf, "ab", 2),
	      "fd %d", fd2);
	errno = 0;
	CHECK("fifo-espipe", lseek(fd, 0, SEEK_SET) == -1 && errno == ESPIPE, "lseek");
	close(fd2);
	close(fd);

	/* O_RDWR never waits: it is both ends. */
	fd = open(scratch("fifo"), O_RDWR);
	memset(buf, 0, sizeof(buf));
	CHECK("fifo-rdwr",
	      fd >= 0 && write(fd, "self", 4) == 4 && read(fd, buf, 4) == 4 &&
		  !memcmp(buf, "self", 4),
	      "fd %d", fd);
	close(fd);

	/* A blocking reader waits for a writer: another process, later. */
	pid = fork();
	if (pid == 0) {
		sleep_ms(200);
		fd = open(scratch("fifo"), O_WRONLY);
		_exit(fd >= 0 && write(fd, "from child", 10) == 10 ? 0 : 1);
	}
	fd = open(scratch("fifo"), O_RDONLY);
	memset(buf, 0, sizeof(buf));
	CHECK("fifo-reader-waits-for-writer",
	      fd >= 0 && read(fd, buf, sizeof(buf)) == 10 && !strcmp(buf, "from child") &&
		  read(fd, buf, sizeof(buf)) == 0 && waitpid(pid, &status, 0) == pid &&
		  WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fd %d, got '%s'", fd, buf);
	close(fd);

	/* A blocking writer waits for a reader. */
	pid = fork();
	if (pid == 0) {
		fd = open(scratch("fifo"), O_WRONLY);
		_exit(fd >= 0 && write(fd, "to parent", 9) == 9 ? 0 : 1);
	}
	sleep_ms(200);
	fd = open(scratch("fifo"), O_RDONLY);
	memset(buf, 0, sizeof(buf));
	CHECK("fifo-writer-waits-for-reader",
	      fd >= 0 && read(fd, buf, sizeof(buf)) == 9 && !strcmp(buf, "to parent") &&
		  waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fd %d, got '%s'", fd, buf);
	close(fd);

	/* A reader nobody writes to is woken by a signal: EINTR. */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	fd = open(scratch("fifo2"), O_RDONLY);
	CHECK("fifo-open-eintr", fd == -1 && errno == EINTR, "fd %d", fd);
	close(fd);
	/* Every open of the FIFO shares one pipe... */
	fd = open(scratch("fifo"), O_RDWR);
	fd2 = fd < 0 ? -1 : open(scratch("fifo"), O_RDONLY | O_NONBLOCK);
	CHECK("fifo-shared",
	      fd >= 0 && fd2 >= 0 && write(fd, "z", 1) == 1 && read(fd2, buf, sizeof(buf)) == 1 &&
		  buf[0] == 'z',
	      "fds %d %d", fd, fd2);
	/* ...which goes, with its data, at the last close. */
	CHECK("fifo-left-data", write(fd, "left", 4) == 4, "write");
	close(fd);
	close(fd2);
	fd = open(scratch("fifo"), O_RDWR | O_NONBLOCK);
	errno = 0;
	CHECK("fifo-data-gone", fd >= 0 && read(fd, buf, sizeof(buf)) == -1 && errno == EAGAIN,
	      "fd %d", fd);
	close(fd);
	unlink(scratch("fifo"));
	unlink(scratch("fifo2"));
}

/* --- O_PATH --- */

static void test_o_path(void)
{
	char buf[8], cwd[512], want[512];
	struct stat st;
	int fd, fd2;

	fd = open(scratch("data"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK("opath-setup", fd >= 0 && write(fd, "12345", 5) == 5, "fd %d", fd);
	close(fd);
	fd = open(scratch("data"), O_PATH);
	CHECK("opath-fstat",
	      fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 5 && S_ISREG(st.st_mode), "fd %d",
	      fd);
	errno = 0;
	CHECK("opath-read-ebadf", read(fd, buf, sizeof(buf)) == -1 && errno == EBADF, "read");
	errno = 0;
	CHECK("opath-write-ebadf", write(fd, "x", 1) == -1 && errno == EBADF, "write");
	CHECK("opath-fstatat-empty", fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && st.st_size == 5,
	      "fstatat");
	/* The fd names a place: what acts on an open file is EBADF, what
	 * asks about the fd itself works.  (The raw syscalls: musl's fchmod
	 * and fchown retry an EBADF through /proc/self/fd, and succeed.) */
	errno = 0;
	CHECK("opath-fchmod-ebadf", syscall(SYS_fchmod, fd, 0600) == -1 && errno == EBADF,
	      "fchmod");
	errno = 0;
	CHECK("opath-fchown-ebadf", syscall(SYS_fchown, fd, 0, 0) == -1 && errno == EBADF,
	      "fchown");
	errno = 0;
	CHECK("opath-ftruncate-ebadf", ftruncate(fd, 0) == -1 && errno == EBADF, "ftruncate");
	errno = 0;
	CHECK("opath-fsync-ebadf", fsync(fd) == -1 && errno == EBADF, "fsync");
	errno = 0;
	CHECK("opath-lseek-ebadf", lseek(fd, 0, SEEK_SET) == -1 && errno == EBADF, "lseek");
	errno = 0;
	CHECK("opath-mmap-ebadf",
	      mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED && errno == EBADF,
	      "mmap");
	errno = 0;
	CHECK("opath-fgetxattr-ebadf",
	      syscall(SYS_fgetxattr, fd, "user.x", buf, sizeof(buf)) == -1 && errno == EBADF,
	      "fgetxattr");
	errno = 0;
	CHECK("opath-fallocate-ebadf",
	      syscall(SYS_fallocate, fd, 0, 0, 4096) == -1 && errno == EBADF, "fallocate");
	fd2 = fcntl(fd, F_GETFL);
	CHECK("opath-getfl", fd2 >= 0 && (fd2 & O_PATH), "flags %#x", fd2);
	fd2 = dup(fd);
	CHECK("opath-dup", fd2 >= 0 && fstat(fd2, &st) == 0 && st.st_size == 5, "fd %d", fd2);
	close(fd2);
	CHECK("opath-unchanged",
	      stat(scratch("data"), &st) == 0 && (st.st_mode & 07777) == 0644 && st.st_size == 5,
	      "mode %o size %lld", st.st_mode, (long long)st.st_size);
	close(fd);

	mkdir(scratch("dir"), 0755);
	fd = open(scratch("dir"), O_PATH | O_DIRECTORY);
	snprintf(want, sizeof(want), "%s", scratch("dir"));
	fd2 = open(".", O_PATH | O_DIRECTORY);
	CHECK("opath-fchdir",
	      fd >= 0 && fchdir(fd) == 0 && getcwd(cwd, sizeof(cwd)) &&
		  (!strcmp(cwd, want) || strstr(want, cwd)),
	      "cwd '%s', want '%s'", cwd, want);
	/* ...and an O_PATH directory serves as a dirfd, but is not read. */
	CHECK("opath-dirfd", fstatat(fd, "..", &st, 0) == 0 && S_ISDIR(st.st_mode), "fstatat");
	errno = 0;
	CHECK("opath-getdents-ebadf",
	      syscall(SYS_getdents64, fd, cwd, sizeof(cwd)) == -1 && errno == EBADF, "getdents64");
	if (fd2 >= 0)
		fchdir(fd2);
	close(fd);
	close(fd2);
}

/* --- AT_EMPTY_PATH --- */

static void test_empty_path(void)
{
	struct timespec ts[2] = {{1000000000, 0}, {1200000000, 500}};
	struct stat st, st2;
	int fd, opath, dfd;

	fd = open(scratch("e"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	opath = open(scratch("e"), O_PATH);
	CHECK("empty-setup", fd >= 0 && opath >= 0 && fstat(fd, &st) == 0, "fds %d %d", fd, opath);

	/* linkat: a new name for the open file itself. */
	errno = 0;
	CHECK("linkat-empty-needs-flag",
	      linkat(fd, "", AT_FDCWD, scratch("e-bad"), 0) == -1 && errno == ENOENT, "linkat no flag");
	CHECK("linkat-empty-path",
	      linkat(fd, "", AT_FDCWD, scratch("e-link"), AT_EMPTY_PATH) == 0 &&
		  stat(scratch("e-link"), &st2) == 0 && st2.st_ino == st.st_ino && st2.st_nlink == 2,
	      "linkat AT_EMPTY_PATH");
	CHECK("linkat-empty-opath",
	      linkat(opath, "", AT_FDCWD, scratch("e-link2"), AT_EMPTY_PATH) == 0 &&
		  stat(scratch("e-link2"), &st2) == 0 && st2.st_ino == st.st_ino,
	      "linkat O_PATH fd");
	dfd = open(scratch_dir, O_RDONLY | O_DIRECTORY);
	errno = 0;
	CHECK("linkat-empty-dir-eperm",
	      linkat(dfd, "", AT_FDCWD, scratch("d-link"), AT_EMPTY_PATH) == -1 && errno == EPERM,
	      "linkat of a directory");
	close(dfd);

	/* fchownat on the fd's file, O_PATH included. */
	errno = 0;
	CHECK("fchownat-empty-needs-flag", fchownat(fd, "", 1234, 5678, 0) == -1 && errno == ENOENT,
	      "fchownat no flag");
	CHECK("fchownat-empty-path",
	      fchownat(fd, "", 1234, 5678, AT_EMPTY_PATH) == 0 && stat(scratch("e"), &st2) == 0 &&
		  st2.st_uid == 1234 && st2.st_gid == 5678,
	      "fchownat AT_EMPTY_PATH");
	CHECK("fchownat-empty-opath",
	      fchownat(opath, "", 0, 0, AT_EMPTY_PATH) == 0 && stat(scratch("e"), &st2) == 0 &&
		  st2.st_uid == 0 && st2.st_gid == 0,
	      "fchownat O_PATH fd");

	/* faccessat2 asks about the fd's file. */
	errno = 0;
	CHECK("faccessat2-empty-path",
	      syscall(SYS_faccessat2, fd, "", R_OK | W_OK, AT_EMPTY_PATH) == 0 &&
		  syscall(SYS_faccessat2, opath, "", R_OK, AT_EMPTY_PATH) == 0,
	      "faccessat2 AT_EMPTY_PATH");
	errno = 0;
	CHECK("faccessat2-empty-x",
	      syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH) == -1 && errno == EACCES,
	      "faccessat2 X_OK of a 0644 file");
	errno = 0;
	CHECK("faccessat2-empty-needs-flag",
	      syscall(SYS_faccessat2, fd, "", R_OK, 0) == -1 && errno == ENOENT,
	      "faccessat2 no flag");

	/* utimensat with "" and the flag: the fd's file (not futimens'
	 * NULL path). */
	CHECK("utimensat-empty-path",
	      syscall(SYS_utimensat, fd, "", ts, AT_EMPTY_PATH) == 0 && stat(scratch("e"), &st2) == 0 &&
		  st2.st_atim.tv_sec == 1000000000 && st2.st_mtim.tv_sec == 1200000000 &&
		  st2.st_mtim.tv_nsec == 500,
	      "utimensat AT_EMPTY_PATH");
	errno = 0;
	CHECK("utimensat-empty-needs-flag",
	      syscall(SYS_utimensat, fd, "", ts, 0) == -1 && errno == ENOENT, "utimensat no flag");

	/* An unlinked file has no name to link again (no O_TMPFILE here). */
	unlink(scratch("e"));
	unlink(scratch("e-link"));
	unlink(scratch("e-link2"));
	errno = 0;
	CHECK("linkat-empty-unlinked",
	      linkat(fd, "", AT_FDCWD, scratch("e-again"), AT_EMPTY_PATH) == -1 && errno == ENOENT,
	      "linkat of an unlinked file");
	close(fd);
	close(opath);
}

/* escape.sh's hard-link attempts, which busybox cannot make:
 *   nodes link-follow OLD NEW   linkat(OLD, NEW, AT_SYMLINK_FOLLOW)
 *   nodes link-fd FD NEW        linkat(FD, "", NEW, AT_EMPTY_PATH)
 * Each prints the result as "linked" or "link: ERRNO-TEXT". */
static int link_tool(int argc, char **argv)
{
	int r;

	if (argc != 4)
		return 2;
	if (!strcmp(argv[1], "link-follow"))
		r = linkat(AT_FDCWD, argv[2], AT_FDCWD, argv[3], AT_SYMLINK_FOLLOW);
	else if (!strcmp(argv[1], "link-fd"))
		r = linkat(atoi(argv[2]), "", AT_FDCWD, argv[3], AT_EMPTY_PATH);
	else
		return 2;
	if (r)
		printf("link: %s\n", strerror(errno));
	else
		printf("linked\n");
	return r != 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strncmp(argv[1], "link-", 5))
		return link_tool(argc, argv);
	scratch_dir = argc > 1 ? argv[1] : "/tmp/nodes-test";
	mkdir(scratch_dir, 0755);
	umask(022);
	setvbuf(stdout, NULL, _IONBF, 0); /* children fork: no doubled output */
	test_chrdev();
	test_fifo();
	test_o_path();
	test_empty_path();
	printf(failures ? "nodes FAILED (%d)\n" : "nodes ok\n", failures);
	return failures != 0;
}

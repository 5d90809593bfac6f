/*
 * File syscalls end to end, inside the sandbox's tmpfs root.  Each check
 * prints "ok NAME" or "FAIL NAME: detail"; the last line is "files ok" only
 * if every check passed.  Also run natively against a scratch directory
 * by the test suite's expectations (same semantics as Linux).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

/* Not every libc names these (musl 1.2.3 has neither the flags nor the
 * wrappers): the raw syscalls are called instead. */
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE	 (1 << 1)
#endif

static char *p_file(void)
{
	return scratch("f");
}

static void test_read_write(void)
{
	char buf[64] = {0};
	int fd = open(scratch("f"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct stat st;

	CHECK("open-create", fd >= 0, "fd %d", fd);
	CHECK("write", write(fd, "hello world", 11) == 11, "short");
	CHECK("lseek-set", lseek(fd, 6, SEEK_SET) == 6, "offset");
	CHECK("read", read(fd, buf, sizeof(buf)) == 5 && !strcmp(buf, "world"), "got '%s'", buf);
	CHECK("pread", pread(fd, buf, 5, 0) == 5 && !memcmp(buf, "hello", 5), "pread");
	CHECK("pwrite", pwrite(fd, "HELLO", 5, 0) == 5, "pwrite");
	CHECK("fstat-size", fstat(fd, &st) == 0 && st.st_size == 11 && S_ISREG(st.st_mode),
	      "size %ld", (long)st.st_size);
	CHECK("ftruncate", ftruncate(fd, 5) == 0 && fstat(fd, &st) == 0 && st.st_size == 5, "size");
	CHECK("lseek-end", lseek(fd, 0, SEEK_END) == 5, "end");
	close(fd);
	fd = open(scratch("f"), O_WRONLY | O_APPEND);
	CHECK("append", write(fd, "!", 1) == 1 && close(fd) == 0, "append");
	fd = open(scratch("f"), O_RDONLY);
	memset(buf, 0, sizeof(buf));
	CHECK("read-back", read(fd, buf, sizeof(buf)) == 6 && !strcmp(buf, "HELLO!"), "'%s'", buf);
	CHECK("write-rdonly", write(fd, "x", 1) == -1 && errno == EBADF, "errno");
	close(fd);
	CHECK("excl", open(scratch("f"), O_RDWR | O_CREAT | O_EXCL, 0644) == -1 && errno == EEXIST, "e");
	CHECK("enoent", open(scratch("nope"), O_RDONLY) == -1 && errno == ENOENT, "e");
	CHECK("enotdir", open(scratch("f/x"), O_RDONLY) == -1 && errno == ENOTDIR, "e");
	CHECK("eisdir", open(scratch_dir, O_WRONLY) == -1 && errno == EISDIR, "e");
}

/* The names getdents64 gives @fd from where it stands, in a buffer of
 * @size: into @names, their d_off into @offs.  The count, or -1. */
static int dents(int fd, size_t size, char names[][32], long long *offs, int max)
{
	char buf[4096];
	long n = syscall(SYS_getdents64, fd, buf, size), at = 0;
	int k = 0;

	if (n < 0)
		return -1;
	while (at < n && k < max) {
		struct dirent64 *e = (struct dirent64 *)(buf + at);

		snprintf(names[k], 32, "%s", e->d_name);
		offs[k++] = (long long)e->d_off;
		at += e->d_reclen;
	}
	return k;
}

/*
 * Directory positions (@dir holds a and b): d_off is where reading goes
 * on, lseek(SEEK_SET) to it resumes there, telldir/seekdir come back to a
 * name, and a small buffer at the end reads 0, not EINVAL.  Servers such
 * as libfuse's passthrough rely on the first two.
 */
static void test_dir_positions(const char *dir)
{
	char all[8][32], again[8][32];
	long long offs[8], offs2[8];
	int fd = open(dir, O_RDONLY | O_DIRECTORY), n, m;
	struct dirent *e;
	long here;
	DIR *d;

	n = dents(fd, 4096, all, offs, 8);
	CHECK("dents-all", n == 4, "%d names", n);
	CHECK("dents-eof-small", dents(fd, 64, again, offs2, 8) == 0, "at the end");
	CHECK("dents-cur", n == 4 && lseek(fd, 0, SEEK_CUR) == offs[3], "SEEK_CUR at the end");
	m = n == 4 && lseek(fd, offs[1], SEEK_SET) == offs[1] ? dents(fd, 4096, again, offs2, 8) : -1;
	CHECK("dents-resume", m == 2 && !strcmp(again[0], all[2]) && !strcmp(again[1], all[3]),
	      "%d names after the second", m);
	m = lseek(fd, 0, SEEK_SET) == 0 ? dents(fd, 40, again, offs2, 8) : -1;
	CHECK("dents-one-by-one", m == 1 && !strcmp(again[0], all[0]) && offs2[0] == offs[0],
	      "%d names in 40 bytes", m);
	errno = 0;
	CHECK("dents-too-small", dents(fd, 8, again, offs2, 8) == -1 && errno == EINVAL, "8 bytes");
	close(fd);
	/* telldir after two names, read on to the end, seekdir back: the
	 * third name again. */
	d = opendir(dir);
	for (int i = 0; d && i < 2; i++)
		readdir(d);
	here = d ? telldir(d) : -1;
	while (d && readdir(d))
		;
	if (d)
		seekdir(d, here);
	e = d ? readdir(d) : NULL;
	CHECK("seekdir", e && n == 4 && !strcmp(e->d_name, all[2]), "'%s' after seekdir",
	      e ? e->d_name : "(none)");
	if (d)
		closedir(d);
}

static void test_dirs(void)
{
	DIR *d;
	struct dirent *e;
	int n = 0, seen = 0;
	char cwd[512];

	CHECK("mkdir", mkdir(scratch("d"), 0755) == 0, "mkdir");
	CHECK("mkdir-eexist", mkdir(scratch("d"), 0755) == -1 && errno == EEXIST, "e");
	close(open(scratch("d/a"), O_CREAT | O_WRONLY, 0644));
	close(open(scratch("d/b"), O_CREAT | O_WRONLY, 0644));
	CHECK("rmdir-notempty", rmdir(scratch("d")) == -1 && errno == ENOTEMPTY, "e");
	d = opendir(scratch("d"));
	CHECK("opendir", d != NULL, "opendir");
	while (d && (e = readdir(d))) {
		n++;
		seen |= !strcmp(e->d_name, "a") ? 1 : !strcmp(e->d_name, "b") ? 2 : 0;
	}
	if (d)
		closedir(d);
	CHECK("readdir", n == 4 && seen == 3, "n %d seen %d", n, seen);
	CHECK("chdir", chdir(scratch("d")) == 0 && getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, scratch("d")),
	      "cwd '%s'", cwd);
	CHECK("relative-open", access("a", F_OK) == 0, "relative");
	CHECK("chdir-back", chdir("/") == 0, "chdir /");
	test_dir_positions(scratch("d"));
	CHECK("unlink", unlink(scratch("d/a")) == 0 && unlink(scratch("d/b")) == 0, "unlink");
	CHECK("rmdir", rmdir(scratch("d")) == 0, "rmdir");
	CHECK("rmdir-gone", rmdir(scratch("d")) == -1 && errno == ENOENT, "e");
}

static void test_links(void)
{
	char buf[128] = {0};
	struct stat st;
	int fd;

	CHECK("symlink", symlink("f", scratch("sl")) == 0, "symlink");
	CHECK("readlink", readlink(scratch("sl"), buf, sizeof(buf)) == 1 && buf[0] == 'f', "'%s'", buf);
	CHECK("lstat", lstat(scratch("sl"), &st) == 0 && S_ISLNK(st.st_mode), "lstat");
	CHECK("stat-follows", stat(scratch("sl"), &st) == 0 && S_ISREG(st.st_mode), "stat");
	CHECK("nofollow", open(scratch("sl"), O_RDONLY | O_NOFOLLOW) == -1 && errno == ELOOP, "e");
	CHECK("link", link(scratch("f"), scratch("hl")) == 0 && stat(scratch("f"), &st) == 0 && st.st_nlink == 2,
	      "nlink %ld", (long)st.st_nlink);
	CHECK("rename", rename(scratch("hl"), scratch("hl2")) == 0 && access(scratch("hl"), F_OK) == -1 &&
			      access(scratch("hl2"), F_OK) == 0,
	      "rename");
	fd = open(scratch("hl2"), O_RDONLY);
	CHECK("unlink-open", unlink(scratch("hl2")) == 0 && read(fd, buf, 5) == 5, "read after unlink");
	close(fd);
	CHECK("loop", symlink("loop", scratch("loop")) == 0 && open(scratch("loop"), O_RDONLY) == -1 &&
			      errno == ELOOP,
	      "e");
}

static void test_fds(void)
{
	int fd = open(scratch("f"), O_RDONLY), d, flags;

	d = dup(fd);
	CHECK("dup", d > fd, "dup %d", d);
	CHECK("dup-shares-offset", lseek(fd, 2, SEEK_SET) == 2 && lseek(d, 0, SEEK_CUR) == 2,
	      "offset");
	CHECK("dup2", dup2(fd, 100) == 100 && close(100) == 0, "dup2");
	CHECK("fcntl-dupfd", fcntl(fd, F_DUPFD_CLOEXEC, 50) >= 50, "dupfd");
	CHECK("cloexec", fcntl(50, F_GETFD) == FD_CLOEXEC, "getfd");
	flags = fcntl(fd, F_GETFL);
	CHECK("getfl", (flags & O_ACCMODE) == O_RDONLY, "flags %x", flags);
	CHECK("close-bad", close(999) == -1 && errno == EBADF, "e");
	close(fd);
	close(d);
	close(50);
}

static void test_pipes(void)
{
	int p[2], n = -1, fd;
	char buf[16] = {0};
	struct pollfd pf;
	struct stat st;

	CHECK("pipe2", pipe2(p, O_CLOEXEC) == 0, "pipe2");
	CHECK("pipe-fifo", fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode), "mode %o", st.st_mode);
	pf = (struct pollfd){.fd = p[0], .events = POLLIN};
	CHECK("poll-empty", poll(&pf, 1, 10) == 0, "ready");
	CHECK("pipe-write", write(p[1], "ping", 4) == 4, "write");
	CHECK("poll-ready", poll(&pf, 1, 1000) == 1 && (pf.revents & POLLIN), "revents %x",
	      pf.revents);
	CHECK("fionread", ioctl(p[0], FIONREAD, &n) == 0 && n == 4, "n %d", n);
	CHECK("pipe-read", read(p[0], buf, sizeof(buf)) == 4 && !memcmp(buf, "ping", 4), "read");
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	CHECK("pipe-eagain", read(p[0], buf, 1) == -1 && errno == EAGAIN, "errno %d", errno);
	close(p[1]);
	CHECK("pipe-eof", read(p[0], buf, 1) == 0, "eof");
	close(p[0]);
	CHECK("pipe-epipe", pipe(p) == 0 && close(p[0]) == 0 && write(p[1], "x", 1) == -1 &&
				errno == EPIPE,
	      "errno %d", errno);
	close(p[1]);
	/* sendfile from a file into a pipe. */
	fd = open(p_file(), O_RDONLY);
	CHECK("sendfile", pipe(p) == 0 && sendfile(p[1], fd, NULL, 3) == 3 &&
			      read(p[0], buf, 3) == 3 && !memcmp(buf, "HEL", 3),
	      "sendfile");
	close(fd);
	close(p[0]);
	close(p[1]);
}

static void test_stat_family(void)
{
#ifdef STATX_BASIC_STATS /* musl 1.2.3 has no statx() */
	struct statx sx;
#endif
	struct statfs sf;
	off_t in = 0, out = 0;
	int a, b;

#ifdef STATX_BASIC_STATS
	CHECK("statx", statx(AT_FDCWD, scratch("f"), 0, STATX_BASIC_STATS, &sx) == 0 &&
			       sx.stx_size == 6 && S_ISREG(sx.stx_mode),
	      "size %llu", (unsigned long long)sx.stx_size);
#endif
	CHECK("statfs", statfs(scratch_dir, &sf) == 0 && sf.f_bsize == 4096 && sf.f_namelen == 255,
	      "bsize %ld", (long)sf.f_bsize);
	a = open(scratch("f"), O_RDONLY);
	b = open(scratch("copy"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK("copy_file_range", copy_file_range(a, &in, b, &out, 100, 0) == 6 && in == 6 &&
				     out == 6,
	      "in %ld out %ld", (long)in, (long)out);
	close(a);
	close(b);
}

static void test_xattr_fallocate(void)
{
	char val[32] = {0}, list[128];
	struct stat st;
	int fd = open(scratch("x"), O_RDWR | O_CREAT | O_TRUNC, 0644);

	CHECK("setxattr", setxattr(scratch("x"), "user.k", "v1", 2, XATTR_CREATE) == 0, "set");
	CHECK("setxattr-exists", setxattr(scratch("x"), "user.k", "v", 1, XATTR_CREATE) == -1 &&
					 errno == EEXIST,
	      "errno");
	CHECK("getxattr", getxattr(scratch("x"), "user.k", val, sizeof(val)) == 2 && !memcmp(val, "v1", 2),
	      "'%s'", val);
	CHECK("getxattr-size", getxattr(scratch("x"), "user.k", NULL, 0) == 2, "size");
	CHECK("getxattr-erange", getxattr(scratch("x"), "user.k", val, 1) == -1 && errno == ERANGE, "e");
	CHECK("listxattr", listxattr(scratch("x"), list, sizeof(list)) == 7 && !strcmp(list, "user.k"),
	      "list");
	CHECK("removexattr", fremovexattr(fd, "user.k") == 0 &&
				 getxattr(scratch("x"), "user.k", val, sizeof(val)) == -1 && errno == ENODATA,
	      "remove");
	CHECK("bad-namespace", setxattr(scratch("x"), "bogus.k", "v", 1, 0) == -1 && errno == EOPNOTSUPP,
	      "errno %d", errno);
	CHECK("fallocate", fallocate(fd, 0, 0, 8192) == 0 && fstat(fd, &st) == 0 &&
				st.st_size == 8192,
	      "size %ld", (long)st.st_size);
	CHECK("fallocate-keep-size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 8192) == 0 &&
					 fstat(fd, &st) == 0 && st.st_size == 8192,
	      "size %ld", (long)st.st_size);
	CHECK("punch-hole", pwrite(fd, "abcd", 4, 4094) == 4 &&
				fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4095, 2) == 0 &&
				pread(fd, val, 4, 4094) == 4 && !memcmp(val, "a\0\0d", 4),
	      "bytes %02x %02x %02x %02x", val[0], val[1], val[2], val[3]);
	close(fd);
}

/* Is @fd open? */
static int fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static void test_fcntl_ioctl(void)
{
	int fd = open(scratch("f"), O_RDONLY), pp[2], on = 1, off = 0, n = -1;
	struct stat st;
	char c;

	CHECK("dupfd-lowest", fcntl(fd, F_DUPFD, 60) == 60 && fcntl(fd, F_DUPFD, 60) == 61,
	      "not 60 then 61");
	CHECK("dupfd-no-cloexec", fcntl(60, F_GETFD) == 0, "getfd %d", fcntl(60, F_GETFD));
	CHECK("dupfd-einval", fcntl(fd, F_DUPFD, -1) == -1 && errno == EINVAL, "e");
	CHECK("setfd-on", fcntl(60, F_SETFD, FD_CLOEXEC) == 0 && fcntl(60, F_GETFD) == FD_CLOEXEC,
	      "getfd %d", fcntl(60, F_GETFD));
	CHECK("setfd-off", fcntl(60, F_SETFD, 0) == 0 && fcntl(60, F_GETFD) == 0, "getfd %d",
	      fcntl(60, F_GETFD));
	close(60);
	close(61);
	/* FIONREAD on a regular file: the bytes from the offset to the end. */
	CHECK("fionread-file",
	      lseek(fd, 2, SEEK_SET) == 2 && ioctl(fd, FIONREAD, &n) == 0 && n == 4, "n %d", n);
	CHECK("fionread-file-end",
	      lseek(fd, 0, SEEK_END) == 6 && ioctl(fd, FIONREAD, &n) == 0 && n == 0, "n %d", n);
	close(fd);
	/* And on a file of another file system (in the sandbox, the host's
	 * through the overlay root): this program. */
	fd = open("/proc/self/exe", O_RDONLY);
	CHECK("fionread-exe",
	      fd >= 0 && fstat(fd, &st) == 0 && ioctl(fd, FIONREAD, &n) == 0 && n == st.st_size,
	      "n %d size %ld", n, (long)st.st_size);
	close(fd);
	CHECK("fionbio-pipe", pipe(pp) == 0, "pipe");
	CHECK("fionbio-on", ioctl(pp[0], FIONBIO, &on) == 0 && (fcntl(pp[0], F_GETFL) & O_NONBLOCK),
	      "flags %x", fcntl(pp[0], F_GETFL));
	CHECK("fionbio-eagain", read(pp[0], &c, 1) == -1 && errno == EAGAIN, "errno %d", errno);
	CHECK("fionbio-off",
	      ioctl(pp[0], FIONBIO, &off) == 0 && !(fcntl(pp[0], F_GETFL) & O_NONBLOCK), "flags %x",
	      fcntl(pp[0], F_GETFL));
	CHECK("fionbio-blocks-again",
	      write(pp[1], "z", 1) == 1 && read(pp[0], &c, 1) == 1 && c == 'z', "read");
	close(pp[0]);
	close(pp[1]);
}

static void test_close_range_dup3(void)
{
	int fd = open(scratch("f"), O_RDONLY);

	dup2(fd, 70);
	dup2(fd, 71);
	dup2(fd, 72);
	CHECK("close_range",
	      syscall(SYS_close_range, 71, 72, 0) == 0 && fd_open(70) && !fd_open(71) &&
		  !fd_open(72),
	      "70 %d 71 %d 72 %d", fd_open(70), fd_open(71), fd_open(72));
	dup2(fd, 80);
	dup2(fd, 81);
	CHECK("close_range-cloexec",
	      syscall(SYS_close_range, 80, 81, CLOSE_RANGE_CLOEXEC) == 0 &&
		  fcntl(80, F_GETFD) == FD_CLOEXEC && fcntl(81, F_GETFD) == FD_CLOEXEC &&
		  fcntl(70, F_GETFD) == 0,
	      "getfd %d %d", fcntl(80, F_GETFD), fcntl(81, F_GETFD));
	CHECK("close_range-einval", syscall(SYS_close_range, 81, 80, 0) == -1 && errno == EINVAL,
	      "e");
	CHECK("close_range-bad-flag",
	      syscall(SYS_close_range, 80, 81, 1U << 30) == -1 && errno == EINVAL, "e");
	/* To the end of the table: everything from 80 up. */
	CHECK("close_range-to-max",
	      syscall(SYS_close_range, 80, ~0U, 0) == 0 && !fd_open(80) && !fd_open(81) &&
		  fd_open(70),
	      "80 %d 81 %d", fd_open(80), fd_open(81));
	close(70);
	CHECK("dup3-cloexec",
	      syscall(SYS_dup3, fd, 90, O_CLOEXEC) == 90 && fcntl(90, F_GETFD) == FD_CLOEXEC,
	      "getfd %d", fcntl(90, F_GETFD));
	CHECK("dup3-plain", syscall(SYS_dup3, fd, 90, 0) == 90 && fcntl(90, F_GETFD) == 0,
	      "getfd %d", fcntl(90, F_GETFD));
	CHECK("dup3-same-fd", syscall(SYS_dup3, fd, fd, 0) == -1 && errno == EINVAL, "e");
	CHECK("dup3-bad-flag", syscall(SYS_dup3, fd, 91, O_APPEND) == -1 && errno == EINVAL, "e");
	CHECK("dup3-ebadf", syscall(SYS_dup3, 999, 91, 0) == -1 && errno == EBADF, "e");
	close(90);
	close(fd);
}

static void test_creat_vectors(void)
{
	char a[3] = {0}, b[8] = {0}, buf[4];
	struct iovec w[2] = {{"abc", 3}, {"defg", 4}};
	struct iovec r[2] = {{a, 2}, {b, 5}};
	struct stat st;
	int fd = (int)syscall(SYS_creat, scratch("cr"), 0640);

	CHECK("creat", fd >= 0 && write(fd, "xyz", 3) == 3, "fd %d", fd);
	CHECK("creat-wronly", read(fd, buf, 1) == -1 && errno == EBADF, "e");
	CHECK("creat-mode", fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0640, "mode %o",
	      st.st_mode);
	close(fd);
	fd = (int)syscall(SYS_creat, scratch("cr"), 0600);
	CHECK("creat-truncates",
	      fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0 && (st.st_mode & 07777) == 0640,
	      "size %ld mode %o", (long)st.st_size, st.st_mode);
	close(fd);
	fd = open(scratch("v"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK("pwritev", pwritev(fd, w, 2, 3) == 7 && lseek(fd, 0, SEEK_CUR) == 0, "pwritev");
	CHECK("pwritev-size", fstat(fd, &st) == 0 && st.st_size == 10, "size %ld",
	      (long)st.st_size);
	CHECK("preadv",
	      preadv(fd, r, 2, 3) == 7 && !strcmp(a, "ab") && !strcmp(b, "cdefg") &&
		  lseek(fd, 0, SEEK_CUR) == 0,
	      "'%s' '%s'", a, b);
	CHECK("preadv-hole", pread(fd, buf, 4, 0) == 4 && !memcmp(buf, "\0\0\0a", 4), "hole");
	memset(b, 0, sizeof(b));
	CHECK("preadv-short", preadv(fd, r, 2, 7) == 3 && !memcmp(a, "ef", 2) && b[0] == 'g',
	      "'%s'", b);
	CHECK("preadv-eof", preadv(fd, r, 2, 10) == 0, "not 0");
	CHECK("preadv-einval", preadv(fd, r, 2, -1) == -1 && errno == EINVAL, "e");
	CHECK("pwritev-offset-kept",
	      lseek(fd, 4, SEEK_SET) == 4 && pwritev(fd, w, 1, 0) == 3 &&
		  lseek(fd, 0, SEEK_CUR) == 4,
	      "offset moved");
	close(fd);
}

static void test_chown_sync(void)
{
	struct stat st, lst;
	int fd, pp[2];

	symlink("f", scratch("csl"));
	CHECK("chown",
	      chown(scratch("f"), 100, -1) == 0 && stat(scratch("f"), &st) == 0 && st.st_uid == 100 &&
		  st.st_gid == 0,
	      "uid %d gid %d", st.st_uid, st.st_gid);
	fd = open(scratch("f"), O_RDONLY);
	CHECK("fchown",
	      fchown(fd, -1, 200) == 0 && fstat(fd, &st) == 0 && st.st_uid == 100 &&
		  st.st_gid == 200,
	      "uid %d gid %d", st.st_uid, st.st_gid);
	CHECK("fchownat-nofollow",
	      fchownat(AT_FDCWD, scratch("csl"), 1234, 5678, AT_SYMLINK_NOFOLLOW) == 0 &&
		  lstat(scratch("csl"), &lst) == 0 && lst.st_uid == 1234 && lst.st_gid == 5678 &&
		  stat(scratch("f"), &st) == 0 && st.st_uid == 100 && st.st_gid == 200,
	      "link %d:%d file %d:%d", lst.st_uid, lst.st_gid, st.st_uid, st.st_gid);
	CHECK("lchown",
	      lchown(scratch("csl"), 42, 43) == 0 && lstat(scratch("csl"), &lst) == 0 && lst.st_uid == 42 &&
		  lst.st_gid == 43 && stat(scratch("f"), &st) == 0 && st.st_uid == 100,
	      "link %d:%d", lst.st_uid, lst.st_gid);
	CHECK("fchownat-follows",
	      fchownat(AT_FDCWD, scratch("csl"), 0, 0, 0) == 0 && stat(scratch("f"), &st) == 0 &&
		  st.st_uid == 0 && st.st_gid == 0 && lstat(scratch("csl"), &lst) == 0 &&
		  lst.st_uid == 42,
	      "file %d:%d", st.st_uid, st.st_gid);
	CHECK("fchownat-bad-flag", fchownat(AT_FDCWD, scratch("f"), 0, 0, 0x4) == -1 && errno == EINVAL,
	      "e");
	CHECK("chown-enoent", chown(scratch("nope"), 0, 0) == -1 && errno == ENOENT, "e");
	CHECK("fsync", fsync(fd) == 0, "fsync");
	CHECK("fdatasync", fdatasync(fd) == 0, "fdatasync");
	sync();
	CHECK("syncfs", syncfs(fd) == 0, "syncfs");
	close(fd);
	fd = open(scratch_dir, O_RDONLY | O_DIRECTORY);
	CHECK("fsync-dir", fsync(fd) == 0, "fsync dir");
	close(fd);
	CHECK("fsync-ebadf", fsync(999) == -1 && errno == EBADF, "e");
	CHECK("fdatasync-ebadf", fdatasync(999) == -1 && errno == EBADF, "e");
	CHECK("syncfs-ebadf", syncfs(999) == -1 && errno == EBADF, "e");
	pipe(pp);
	CHECK("fsync-pipe", fsync(pp[0]) == -1 && errno == EINVAL, "e");
	CHECK("fdatasync-pipe", fdatasync(pp[1]) == -1 && errno == EINVAL, "e");
	close(pp[0]);
	close(pp[1]);
}

static void test_access_rename_mknod(void)
{
	char buf[8] = {0};
	struct stat st;
	int fd;

	CHECK("faccessat2-eaccess",
	      syscall(SYS_faccessat2, AT_FDCWD, scratch("f"), R_OK | W_OK, AT_EACCESS) == 0, "e");
	CHECK("faccessat2-noexec",
	      syscall(SYS_faccessat2, AT_FDCWD, scratch("f"), X_OK, AT_EACCESS) == -1 && errno == EACCES,
	      "e");
	CHECK("faccessat2-bad-flag",
	      syscall(SYS_faccessat2, AT_FDCWD, scratch("f"), R_OK, 0x4) == -1 && errno == EINVAL, "e");
	CHECK("faccessat2-bad-mode",
	      syscall(SYS_faccessat2, AT_FDCWD, scratch("f"), 8, 0) == -1 && errno == EINVAL, "e");
	CHECK("faccessat2-enoent",
	      syscall(SYS_faccessat2, AT_FDCWD, scratch("nope"), F_OK, AT_EACCESS) == -1 &&
		  errno == ENOENT,
	      "e");
	symlink("nope", scratch("dangling"));
	CHECK("faccessat2-nofollow",
	      syscall(SYS_faccessat2, AT_FDCWD, scratch("dangling"), F_OK, AT_SYMLINK_NOFOLLOW) == 0,
	      "e");

	fd = open(scratch("ra"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	write(fd, "A", 1);
	close(fd);
	fd = open(scratch("rb"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	write(fd, "BB", 2);
	close(fd);
	CHECK("renameat2-noreplace",
	      syscall(SYS_renameat2, AT_FDCWD, scratch("ra"), AT_FDCWD, scratch("rb"), RENAME_NOREPLACE) ==
		      -1 &&
		  errno == EEXIST,
	      "e");
	CHECK("renameat2-exchange",
	      syscall(SYS_renameat2, AT_FDCWD, scratch("ra"), AT_FDCWD, scratch("rb"), RENAME_EXCHANGE) == 0,
	      "exchange");
	fd = open(scratch("ra"), O_RDONLY);
	CHECK("renameat2-exchanged-a", read(fd, buf, sizeof(buf)) == 2 && !strcmp(buf, "BB"),
	      "'%s'", buf);
	close(fd);
	memset(buf, 0, sizeof(buf));
	fd = open(scratch("rb"), O_RDONLY);
	CHECK("renameat2-exchanged-b", read(fd, buf, sizeof(buf)) == 1 && !strcmp(buf, "A"), "'%s'",
	      buf);
	close(fd);
	CHECK("renameat2-exchange-enoent",
	      syscall(SYS_renameat2, AT_FDCWD, scratch("ra"), AT_FDCWD, scratch("nope"), RENAME_EXCHANGE) ==
		      -1 &&
		  errno == ENOENT,
	      "e");
	CHECK("renameat2-both-flags",
	      syscall(SYS_renameat2, AT_FDCWD, scratch("ra"), AT_FDCWD, scratch("rb"),
		      RENAME_EXCHANGE | RENAME_NOREPLACE) == -1 &&
		  errno == EINVAL,
	      "e");
	CHECK("renameat2-noreplace-new",
	      syscall(SYS_renameat2, AT_FDCWD, scratch("ra"), AT_FDCWD, scratch("rc"), RENAME_NOREPLACE) == 0 &&
		  access(scratch("ra"), F_OK) == -1 && access(scratch("rc"), F_OK) == 0,
	      "rename");

	CHECK("mknodat-reg",
	      mknodat(AT_FDCWD, scratch("node"), S_IFREG | 0640, 0) == 0 && stat(scratch("node"), &st) == 0 &&
		  S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640 && st.st_size == 0,
	      "mode %o", st.st_mode);
	CHECK("mknodat-eexist",
	      mknodat(AT_FDCWD, scratch("node"), S_IFREG | 0640, 0) == -1 && errno == EEXIST, "e");
	CHECK("mknodat-type-0",
	      mknodat(AT_FDCWD, scratch("node0"), 0644, 0) == 0 && stat(scratch("node0"), &st) == 0 &&
		  S_ISREG(st.st_mode),
	      "mode %o", st.st_mode);
	fd = open(scratch("node"), O_RDWR);
	CHECK("mknodat-usable",
	      fd >= 0 && write(fd, "n", 1) == 1 && pread(fd, buf, 1, 0) == 1 && buf[0] == 'n',
	      "fd %d", fd);
	close(fd);
	CHECK("mknodat-fifo",
	      mknodat(AT_FDCWD, scratch("fifo"), S_IFIFO | 0600, 0) == 0 && stat(scratch("fifo"), &st) == 0 &&
		  S_ISFIFO(st.st_mode),
	      "mode %o", st.st_mode);
}

/* chroot in a child (there is no way back): "/" is then the scratch
 * directory, and ".." at the new root stays there.  The child's exit
 * status is the number of the first check that failed. */
static void test_chroot(void)
{
	struct stat root, dotdot, inner;
	int status = -1, fd;
	pid_t pid;

	mkdir(scratch("jail"), 0755);
	mkdir(scratch("jail/sub"), 0755);
	fd = open(scratch("jail/marker"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	close(fd);
	stat(scratch("jail"), &inner);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char cwd[64] = {0};

		if (chroot(scratch("jail")) != 0)
			_exit(1);
		if (chdir("/") != 0 || !getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/"))
			_exit(2);
		if (access("/marker", F_OK) != 0)
			_exit(3);
		if (stat("/", &root) || root.st_ino != inner.st_ino || root.st_dev != inner.st_dev)
			_exit(4);
		if (stat("/..", &dotdot) || dotdot.st_ino != root.st_ino)
			_exit(5);
		if (chdir("/sub/../..") || !getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/") ||
		    access("marker", F_OK))
			_exit(6);
		if (access("/../../marker", F_OK))
			_exit(7);
		if (chroot("/nope") != -1 || errno != ENOENT)
			_exit(8);
		if (chroot("/marker") != -1 || errno != ENOTDIR)
			_exit(9);
		_exit(0);
	}
	CHECK("chroot",
	      pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0,
	      "child status %x", status);
	CHECK("chroot-parent-unchanged", access(scratch("jail/marker"), F_OK) == 0, "parent moved");
}

int main(int argc, char **argv)
{
	/* EPIPE, not death by SIGPIPE, for the broken-pipe check. */
	signal(SIGPIPE, SIG_IGN);
	scratch_dir = argc > 1 ? argv[1] : "/tmp/files-test";
	mkdir(scratch_dir, 0755);
	umask(022);
	test_read_write();
	test_dirs();
	test_links();
	test_fds();
	test_pipes();
	test_stat_family();
	test_xattr_fallocate();
	test_fcntl_ioctl();
	test_close_range_dup3();
	test_creat_vectors();
	test_chown_sync();
	test_access_rename_mknod();
	test_chroot();
	printf(failures ? "files FAILED (%d)\n" : "files ok\n", failures);
	return failures != 0;
}

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
#include <sys/xattr.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static const char *base;

static char *p(const char *rel)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", base, rel);
	return buf[i];
}

static char *p_file(void)
{
	return p("f");
}

static void test_read_write(void)
{
	char buf[64] = {0};
	int fd = open(p("f"), O_RDWR | O_CREAT | O_TRUNC, 0644);
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
	fd = open(p("f"), O_WRONLY | O_APPEND);
	CHECK("append", write(fd, "!", 1) == 1 && close(fd) == 0, "append");
	fd = open(p("f"), O_RDONLY);
	memset(buf, 0, sizeof(buf));
	CHECK("read-back", read(fd, buf, sizeof(buf)) == 6 && !strcmp(buf, "HELLO!"), "'%s'", buf);
	CHECK("write-rdonly", write(fd, "x", 1) == -1 && errno == EBADF, "errno");
	close(fd);
	CHECK("excl", open(p("f"), O_RDWR | O_CREAT | O_EXCL, 0644) == -1 && errno == EEXIST, "e");
	CHECK("enoent", open(p("nope"), O_RDONLY) == -1 && errno == ENOENT, "e");
	CHECK("enotdir", open(p("f/x"), O_RDONLY) == -1 && errno == ENOTDIR, "e");
	CHECK("eisdir", open(base, O_WRONLY) == -1 && errno == EISDIR, "e");
}

static void test_dirs(void)
{
	DIR *d;
	struct dirent *e;
	int n = 0, seen = 0;
	char cwd[512];

	CHECK("mkdir", mkdir(p("d"), 0755) == 0, "mkdir");
	CHECK("mkdir-eexist", mkdir(p("d"), 0755) == -1 && errno == EEXIST, "e");
	close(open(p("d/a"), O_CREAT | O_WRONLY, 0644));
	close(open(p("d/b"), O_CREAT | O_WRONLY, 0644));
	CHECK("rmdir-notempty", rmdir(p("d")) == -1 && errno == ENOTEMPTY, "e");
	d = opendir(p("d"));
	CHECK("opendir", d != NULL, "opendir");
	while (d && (e = readdir(d))) {
		n++;
		seen |= !strcmp(e->d_name, "a") ? 1 : !strcmp(e->d_name, "b") ? 2 : 0;
	}
	if (d)
		closedir(d);
	CHECK("readdir", n == 4 && seen == 3, "n %d seen %d", n, seen);
	CHECK("chdir", chdir(p("d")) == 0 && getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, p("d")),
	      "cwd '%s'", cwd);
	CHECK("relative-open", access("a", F_OK) == 0, "relative");
	CHECK("chdir-back", chdir("/") == 0, "chdir /");
	CHECK("unlink", unlink(p("d/a")) == 0 && unlink(p("d/b")) == 0, "unlink");
	CHECK("rmdir", rmdir(p("d")) == 0, "rmdir");
	CHECK("rmdir-gone", rmdir(p("d")) == -1 && errno == ENOENT, "e");
}

static void test_links(void)
{
	char buf[128] = {0};
	struct stat st;
	int fd;

	CHECK("symlink", symlink("f", p("sl")) == 0, "symlink");
	CHECK("readlink", readlink(p("sl"), buf, sizeof(buf)) == 1 && buf[0] == 'f', "'%s'", buf);
	CHECK("lstat", lstat(p("sl"), &st) == 0 && S_ISLNK(st.st_mode), "lstat");
	CHECK("stat-follows", stat(p("sl"), &st) == 0 && S_ISREG(st.st_mode), "stat");
	CHECK("nofollow", open(p("sl"), O_RDONLY | O_NOFOLLOW) == -1 && errno == ELOOP, "e");
	CHECK("link", link(p("f"), p("hl")) == 0 && stat(p("f"), &st) == 0 && st.st_nlink == 2,
	      "nlink %ld", (long)st.st_nlink);
	CHECK("rename", rename(p("hl"), p("hl2")) == 0 && access(p("hl"), F_OK) == -1 &&
			      access(p("hl2"), F_OK) == 0,
	      "rename");
	fd = open(p("hl2"), O_RDONLY);
	CHECK("unlink-open", unlink(p("hl2")) == 0 && read(fd, buf, 5) == 5, "read after unlink");
	close(fd);
	CHECK("loop", symlink("loop", p("loop")) == 0 && open(p("loop"), O_RDONLY) == -1 &&
			      errno == ELOOP,
	      "e");
}

static void test_fds(void)
{
	int fd = open(p("f"), O_RDONLY), d, flags;

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
	CHECK("statx", statx(AT_FDCWD, p("f"), 0, STATX_BASIC_STATS, &sx) == 0 &&
			       sx.stx_size == 6 && S_ISREG(sx.stx_mode),
	      "size %llu", (unsigned long long)sx.stx_size);
#endif
	CHECK("statfs", statfs(base, &sf) == 0 && sf.f_bsize == 4096 && sf.f_namelen == 255,
	      "bsize %ld", (long)sf.f_bsize);
	a = open(p("f"), O_RDONLY);
	b = open(p("copy"), O_RDWR | O_CREAT | O_TRUNC, 0644);
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
	int fd = open(p("x"), O_RDWR | O_CREAT | O_TRUNC, 0644);

	CHECK("setxattr", setxattr(p("x"), "user.k", "v1", 2, XATTR_CREATE) == 0, "set");
	CHECK("setxattr-exists", setxattr(p("x"), "user.k", "v", 1, XATTR_CREATE) == -1 &&
					 errno == EEXIST,
	      "errno");
	CHECK("getxattr", getxattr(p("x"), "user.k", val, sizeof(val)) == 2 && !memcmp(val, "v1", 2),
	      "'%s'", val);
	CHECK("getxattr-size", getxattr(p("x"), "user.k", NULL, 0) == 2, "size");
	CHECK("getxattr-erange", getxattr(p("x"), "user.k", val, 1) == -1 && errno == ERANGE, "e");
	CHECK("listxattr", listxattr(p("x"), list, sizeof(list)) == 7 && !strcmp(list, "user.k"),
	      "list");
	CHECK("removexattr", fremovexattr(fd, "user.k") == 0 &&
				 getxattr(p("x"), "user.k", val, sizeof(val)) == -1 && errno == ENODATA,
	      "remove");
	CHECK("bad-namespace", setxattr(p("x"), "bogus.k", "v", 1, 0) == -1 && errno == EOPNOTSUPP,
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

int main(int argc, char **argv)
{
	/* EPIPE, not death by SIGPIPE, for the broken-pipe check. */
	signal(SIGPIPE, SIG_IGN);
	base = argc > 1 ? argv[1] : "/tmp/files-test";
	mkdir(base, 0755);
	umask(022);
	test_read_write();
	test_dirs();
	test_links();
	test_fds();
	test_pipes();
	test_stat_family();
	test_xattr_fallocate();
	printf(failures ? "files FAILED (%d)\n" : "files ok\n", failures);
	return failures != 0;
}

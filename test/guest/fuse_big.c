/*
 * test/guest/fuse_big.c - sizes a FUSE file system must take, in DIR:
 *   fuse_big DIR [--holes]
 * - a 1 GiB sparse file: three 1 MiB extents written (start, middle,
 *   end), the whole of it read back in 1 MiB blocks and compared with
 *   what was written (zeros elsewhere), a punched hole reads zeros;
 * - with --holes (a server that keeps holes, memfs): SEEK_DATA and
 *   SEEK_HOLE find the extents, and st_blocks stays small;
 * - a directory of 10,000 names listed with getdents64 (each name once),
 *   with a big buffer and with a small one, then emptied and removed.
 * - with --ioctl (a server with ioctl and poll, memfs): FS_IOC_SETFLAGS
 *   and GETFLAGS on a file and a directory go to the server and back,
 *   another command is ENOTTY, and poll(2) gives the server's readiness.
 * Runs in the sandbox and natively (the same binary on Linux's FUSE).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define MIB	(1 << 20)
#define FILE_SIZE (1024LL * MIB)
#define NAMES	10000

static const long long extents[] = {0, 512LL * MIB, FILE_SIZE - MIB};

/* The byte pattern of the extent at @off: distinct per extent and byte. */
static void pattern(unsigned char *buf, long long off)
{
	for (size_t i = 0; i < MIB; i++)
		buf[i] = (unsigned char)((i * 7 + (size_t)(off / MIB)) ^ (i >> 12));
}

static int extent_at(long long off)
{
	for (size_t i = 0; i < sizeof(extents) / sizeof(extents[0]); i++)
		if (extents[i] == off)
			return 1;
	return 0;
}

/* Read all of @fd in 1 MiB blocks: does each block hold what it must?
 * @punched: the extent there reads zeros now.  Sets *@sum to a
 * checksum of the whole (FNV-1a over the blocks' first bytes and all
 * of the data blocks), printed for the log. */
static int read_back(int fd, long long punched, uint64_t *sum)
{
	unsigned char *got = malloc(MIB), *want = malloc(MIB), *zero = calloc(1, MIB);
	int ok = got && want && zero;

	*sum = 14695981039346656037ULL;
	for (long long off = 0; ok && off < FILE_SIZE; off += MIB) {
		int data = extent_at(off) && off != punched;

		if (pread(fd, got, MIB, off) != MIB) {
			ok = 0;
			break;
		}
		if (data)
			pattern(want, off);
		ok = !memcmp(got, data ? want : zero, MIB);
		for (size_t i = 0; i < (data ? (size_t)MIB : 1); i++)
			*sum = (*sum ^ got[i]) * 1099511628211ULL;
		if (!ok)
			printf("block at %lld MiB differs\n", off / MIB);
	}
	free(got);
	free(want);
	free(zero);
	return ok;
}

static void test_sparse(int holes)
{
	unsigned char *buf = malloc(MIB);
	struct stat st;
	uint64_t sum = 0;
	int fd = open(scratch("sparse"), O_RDWR | O_CREAT | O_TRUNC, 0644), wrote = fd >= 0 && buf;

	for (size_t i = 0; wrote && i < sizeof(extents) / sizeof(extents[0]); i++) {
		pattern(buf, extents[i]);
		wrote = pwrite(fd, buf, MIB, extents[i]) == MIB;
	}
	CHECK("sparse-write", wrote, "fd %d", fd);
	CHECK("sparse-size", fstat(fd, &st) == 0 && st.st_size == FILE_SIZE, "size %lld",
	      (long long)st.st_size);
	if (holes)
		CHECK("sparse-blocks", st.st_blocks * 512 < 64LL * MIB, "blocks %lld",
		      (long long)st.st_blocks);
	CHECK("sparse-read-back", read_back(fd, -1, &sum), "see above");
	printf("sparse checksum %016llx\n", (unsigned long long)sum);
	if (holes) {
		CHECK("seek-data-0", lseek(fd, 0, SEEK_DATA) == 0, "at 0");
		CHECK("seek-hole-0", lseek(fd, 0, SEEK_HOLE) == MIB, "at 0");
		CHECK("seek-data-1m", lseek(fd, MIB, SEEK_DATA) == 512LL * MIB, "from 1 MiB");
		CHECK("seek-hole-512m", lseek(fd, 512LL * MIB + 5, SEEK_HOLE) == 513LL * MIB,
		      "from 512 MiB");
	}
	errno = 0;
	CHECK("seek-data-eof", lseek(fd, FILE_SIZE, SEEK_DATA) == -1 && errno == ENXIO, "at the end");
	CHECK("seek-hole-last", lseek(fd, FILE_SIZE - 1, SEEK_HOLE) == FILE_SIZE, "last byte");
	CHECK("punch-hole", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 512LL * MIB, MIB)
	      == 0, "at 512 MiB");
	CHECK("punched-read-back", read_back(fd, 512LL * MIB, &sum), "see above");
	if (holes)
		CHECK("punched-seek-data", lseek(fd, MIB, SEEK_DATA) == FILE_SIZE - MIB, "from 1 MiB");
	CHECK("punched-size", fstat(fd, &st) == 0 && st.st_size == FILE_SIZE, "size %lld",
	      (long long)st.st_size);
	close(fd);
	CHECK("sparse-unlink", unlink(scratch("sparse")) == 0, "unlink");
	free(buf);
}

/* List @dir with getdents64 in @bufsize-byte calls: names f00000.. seen
 * once each?  Returns the count of distinct names, -1 on a repeat or a
 * stranger. */
static int list(const char *dir, size_t bufsize)
{
	static unsigned char seen[NAMES];
	char *buf = malloc(bufsize);
	int fd = open(dir, O_RDONLY | O_DIRECTORY), count = 0;
	long n;

	memset(seen, 0, sizeof(seen));
	if (fd < 0 || !buf)
		return -1;
	while ((n = syscall(SYS_getdents64, fd, buf, bufsize)) > 0) {
		for (long at = 0; at < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + at);
			char *end;
			long i;

			at += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			i = d->d_name[0] == 'f' ? strtol(d->d_name + 1, &end, 10) : -1;
			if (i < 0 || i >= NAMES || *end || seen[i]++) {
				printf("list %zu: %s after %d names\n", bufsize,
				       i < 0 || i >= NAMES || *end ? "a stranger" : "a repeat", count);
				printf("list %zu: the name is \"%s\", d_off %lld\n", bufsize, d->d_name,
				       (long long)d->d_off);
				count = -1;
				goto out;
			}
			count++;
		}
	}
	if (n < 0)
		count = -1;
out:
	close(fd);
	free(buf);
	return count;
}

static void test_many_names(void)
{
	char name[600];
	int made = mkdir(scratch("many"), 0755) == 0, n, gone = 1;

	for (int i = 0; made && i < NAMES; i++) {
		int fd;

		snprintf(name, sizeof(name), "%s/f%05d", scratch("many"), i);
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		made = fd >= 0 && close(fd) == 0;
	}
	CHECK("many-create", made, "10,000 files");
	n = list(scratch("many"), 32768);
	CHECK("many-list", n == NAMES, "%d names with a 32 KiB buffer", n);
	n = list(scratch("many"), 512);
	CHECK("many-list-small", n == NAMES, "%d names with a 512-byte buffer", n);
	for (int i = 0; i < NAMES; i++) {
		snprintf(name, sizeof(name), "%s/f%05d", scratch("many"), i);
		gone &= unlink(name) == 0;
	}
	CHECK("many-unlink", gone, "10,000 files");
	n = list(scratch("many"), 32768);
	CHECK("many-empty", n == 0, "%d names left", n);
	CHECK("many-rmdir", rmdir(scratch("many")) == 0, "rmdir");
}

/* <linux/fs.h>'s, which clashes with <sys/mount.h> users. */
#define IOC_GETFLAGS _IOR('f', 1, long)
#define IOC_SETFLAGS _IOW('f', 2, long)
#define NODUMP_FL 0x00000040

static void test_ioctl_poll(void)
{
	int fd = open(scratch("flags"), O_CREAT | O_RDWR, 0644);
	int dfd = open(scratch_dir, O_RDONLY | O_DIRECTORY);
	int flags = -1, set = NODUMP_FL;
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};

	CHECK("ioctl-getflags", fd >= 0 && ioctl(fd, IOC_GETFLAGS, &flags) == 0 && flags == 0,
	      "flags %#x", flags);
	CHECK("ioctl-setflags", ioctl(fd, IOC_SETFLAGS, &set) == 0, "set");
	flags = -1;
	CHECK("ioctl-flags-kept", ioctl(fd, IOC_GETFLAGS, &flags) == 0 && flags == NODUMP_FL,
	      "flags %#x", flags);
	flags = -1;
	CHECK("ioctl-dir", dfd >= 0 && ioctl(dfd, IOC_GETFLAGS, &flags) == 0 && flags == 0,
	      "flags %#x", flags);
	errno = 0;
	CHECK("ioctl-unknown", ioctl(fd, _IOR('z', 9, int), &flags) == -1 && errno == ENOTTY,
	      "not ENOTTY");
	CHECK("poll-ready", poll(&p, 1, 1000) == 1 && p.revents == (POLLIN | POLLOUT),
	      "revents %#x", p.revents);
	/* Unlinked while open and polled: the close is the inode's end. */
	CHECK("ioctl-unlink", unlink(scratch("flags")) == 0, "unlink");
	close(fd);
	close(dfd);
}

int main(int argc, char **argv)
{
	bool holes = false, ioctls = false;

	if (argc < 2) {
		fprintf(stderr, "usage: fuse_big DIR [--holes] [--ioctl]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		holes |= !strcmp(argv[i], "--holes");
		ioctls |= !strcmp(argv[i], "--ioctl");
	}
	scratch_dir = argv[1];
	mkdir(scratch_dir, 0755);
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_sparse(holes);
	test_many_names();
	if (ioctls)
		test_ioctl_poll();
	printf(failures ? "fuse-big FAILED (%d)\n" : "fuse-big ok\n", failures);
	return failures != 0;
}

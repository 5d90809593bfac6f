/*
 * fuseload DIR [SIZE_MIB] [FILES]: the workloads of `ksentry bench fuse`,
 * run on a FUSE mount at DIR, in the sandbox and natively (the same
 * binary).  Prints one line per workload: "NAME VALUE UNIT".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	perror(what);
	exit(1);
}

/* Write then read @mib MiB in @block-byte blocks: MiB/s each way. */
static void seq(const char *dir, size_t mib, size_t block, const char *tag)
{
	char path[4096];
	char *buf = malloc(block);
	size_t total = mib << 20, done;
	double t0, t1;
	int fd;

	if (!buf)
		die("malloc");
	memset(buf, 'x', block);
	snprintf(path, sizeof(path), "%s/big-%s", dir, tag);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open for write");
	t0 = now();
	for (done = 0; done < total; done += block)
		if (write(fd, buf, block) != (ssize_t)block)
			die("write");
	close(fd);
	t1 = now();
	printf("seqwrite_%s %.1f MiB/s\n", tag, mib / (t1 - t0));
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open for read");
	t0 = now();
	for (done = 0; done < total; done += block)
		if (read(fd, buf, block) != (ssize_t)block)
			die("read");
	close(fd);
	t1 = now();
	printf("seqread_%s %.1f MiB/s\n", tag, mib / (t1 - t0));
	unlink(path);
	free(buf);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 64;
	int files = argc > 3 ? atoi(argv[3]) : 1000;
	char path[4096];
	struct stat st;
	double t0, t1;
	DIR *d;
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	seq(dir, mib, 1 << 20, "1m");
	seq(dir, mib, 128 << 10, "128k");

	snprintf(path, sizeof(path), "%s/stat-me", dir);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	t0 = now();
	for (int i = 0; i < files; i++)
		if (stat(path, &st))
			die("stat");
	t1 = now();
	printf("stat %.1f us/op\n", (t1 - t0) * 1e6 / files);

	t0 = now();
	for (int i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/f%05d", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

		if (fd < 0)
			die("create");
		close(fd);
	}
	t1 = now();
	printf("create %.0f ops/s\n", files / (t1 - t0));

	t0 = now();
	d = opendir(dir);
	if (!d)
		die("opendir");
	for (n = 0; readdir(d); n++)
		;
	closedir(d);
	t1 = now();
	printf("readdir %.0f entries/s\n", n / (t1 - t0));

	t0 = now();
	for (int i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/f%05d", dir, i);
		if (unlink(path))
			die("unlink");
	}
	t1 = now();
	printf("unlink %.0f ops/s\n", files / (t1 - t0));
	return 0;
}

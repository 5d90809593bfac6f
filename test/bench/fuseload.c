/*
 * fuseload DIR [SIZE_MIB] [FILES] [WORKLOADS]: the workloads of `ksentry
 * bench fuse`, run on a FUSE mount at DIR, in the sandbox and natively
 * (the same binary).  WORKLOADS is a comma-separated list of seq_1m,
 * seq_128k, rewrite_1m, randread_4k, stat, stat_cached, create, readdir,
 * unlink, or
 * "all" (the default; stat_cached is only run when named, since it wants
 * a server with timeouts).  Prints one line per result: "NAME VALUE UNIT".
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

/* The same 1 MiB written over @mib times: the request path alone, since
 * the server has the file's memory after the first write (seq_1m's
 * writes also measure the server finding fresh memory). */
static void rewrite(const char *dir, size_t mib)
{
	char path[4096];
	size_t block = 1 << 20;
	char *buf = malloc(block);
	double t0, t1;
	int fd;

	if (!buf)
		die("malloc");
	memset(buf, 'w', block);
	snprintf(path, sizeof(path), "%s/rewrite", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || pwrite(fd, buf, block, 0) != (ssize_t)block)
		die("rewrite");
	t0 = now();
	for (size_t i = 0; i < mib; i++)
		if (pwrite(fd, buf, block, 0) != (ssize_t)block)
			die("rewrite");
	t1 = now();
	printf("rewrite_1m %.1f MiB/s\n", mib / (t1 - t0));
	close(fd);
	unlink(path);
	free(buf);
}

/* @mib MiB written, then 4 KiB reads at random 4 KiB-aligned offsets. */
static void randread(const char *dir, size_t mib)
{
	char path[4096], buf[4096];
	size_t blocks = (mib << 20) / sizeof(buf), reads = blocks < 4096 ? blocks : 4096;
	unsigned seed = 12345;
	double t0, t1;
	char *fill;
	int fd;

	snprintf(path, sizeof(path), "%s/random", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open random");
	/* The fill is not timed: 1 MiB writes, not 4 KiB ones, so that a
	 * 512 MiB file is not 131072 round trips before the clock starts. */
	fill = malloc(1 << 20);
	if (!fill)
		die("malloc");
	memset(fill, 'r', 1 << 20);
	for (size_t i = 0; i < mib; i++)
		if (write(fd, fill, 1 << 20) != 1 << 20)
			die("write random");
	free(fill);
	t0 = now();
	for (size_t i = 0; i < reads; i++) {
		off_t off = (off_t)(rand_r(&seed) % blocks) * (off_t)sizeof(buf);

		if (pread(fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf))
			die("pread");
	}
	t1 = now();
	printf("randread_4k %.1f us/op\n", (t1 - t0) * 1e6 / reads);
	close(fd);
	unlink(path);
}

static void stats(const char *dir, int files, const char *tag)
{
	char path[4096];
	struct stat st;
	double t0, t1;

	snprintf(path, sizeof(path), "%s/stat-me", dir);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	t0 = now();
	for (int i = 0; i < files; i++)
		if (stat(path, &st))
			die("stat");
	t1 = now();
	printf("%s %.1f us/op\n", tag, (t1 - t0) * 1e6 / files);
	unlink(path);
}

/* Is @name in the comma-separated @list ("all": everything but
 * stat_cached)? */
static int wanted(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (!strcmp(list, "all"))
		return strcmp(name, "stat_cached") != 0;
	for (const char *p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

static const char *const names[] = {
	"seq_1m",  "seq_128k", "rewrite_1m", "randread_4k", "stat",
	"stat_cached", "create", "readdir", "unlink",
};

/* Every name in @list is a workload (or @list is "all")?  A typo must
 * not pass as an empty, successful run. */
static int list_ok(const char *list)
{
	const char *p = list;

	if (!strcmp(list, "all"))
		return 1;
	while (*p) {
		size_t len = strcspn(p, ","), i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i]) == len && !strncmp(p, names[i], len))
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			fprintf(stderr, "fuseload: unknown workload \"%.*s\"\n", (int)len, p);
			return 0;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 1;
}

static void make_files(const char *dir, int files)
{
	char path[4096];

	for (int i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/f%05d", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

		if (fd < 0)
			die("create");
		close(fd);
	}
}

int main(int argc, char **argv)
{
	const char *dir = argv[1];
	size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 64;
	int files = argc > 3 ? atoi(argv[3]) : 1000;
	const char *list = argc > 4 ? argv[4] : "all";
	char path[4096];
	double t0, t1;
	DIR *d;
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) { /* no default directory: it writes hundreds of MiB there */
		fprintf(stderr, "usage: fuseload DIR [MIB [FILES [WORKLOADS]]]\n");
		return 2;
	}
	if (!list_ok(list))
		return 2;
	if (wanted(list, "seq_1m"))
		seq(dir, mib, 1 << 20, "1m");
	if (wanted(list, "seq_128k"))
		seq(dir, mib, 128 << 10, "128k");
	if (wanted(list, "rewrite_1m"))
		rewrite(dir, mib);
	if (wanted(list, "randread_4k"))
		randread(dir, mib);
	if (wanted(list, "stat"))
		stats(dir, files, "stat");
	if (wanted(list, "stat_cached"))
		stats(dir, files, "stat_cached");
	if (!wanted(list, "create") && !wanted(list, "readdir") && !wanted(list, "unlink"))
		return 0;
	if (!wanted(list, "create")) {
		make_files(dir, files);
		goto made;
	}

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
made:
	t0 = now();
	d = opendir(dir);
	if (!d)
		die("opendir");
	for (n = 0; readdir(d); n++)
		;
	closedir(d);
	t1 = now();
	if (wanted(list, "readdir"))
		printf("readdir %.0f entries/s\n", n / (t1 - t0));

	t0 = now();
	for (int i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/f%05d", dir, i);
		if (unlink(path))
			die("unlink");
	}
	t1 = now();
	if (wanted(list, "unlink"))
		printf("unlink %.0f ops/s\n", files / (t1 - t0));
	return 0;
}

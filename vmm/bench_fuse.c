/*
 * vmm/bench_fuse.c - `ksentry bench fuse`: the same FUSE server (memfs,
 * Debian's libfuse3.a) and the same workload program (fuseload), once on
 * native Linux FUSE and once inside the sandbox, alternating, several
 * rounds; medians, spread and the ratio sandbox / native.
 *
 * Both runs give memfs the same options, "--direct-io -f -s": one
 * thread, and direct I/O on every file, so that no page cache answers a
 * read natively either: each read and write is a FUSE round trip, as it
 * is in the sandbox (which has no FUSE page cache yet).  A host where FUSE cannot be mounted natively
 * gets the sandbox figures alone, with a line saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/bench.h"

#define MAX_ROUNDS  15
#define MAX_METRICS 16

struct metric {
	char name[32], unit[16];
	double native[MAX_ROUNDS], sandbox[MAX_ROUNDS];
	int nn, ns;
};

struct fuse_bench {
	char self[PATH_MAX], base[PATH_MAX];	   /* ksentry, and its directory */
	char memfs[2 * PATH_MAX], load[2 * PATH_MAX], dir[2 * PATH_MAX]; /* dir: scratch */
	const char *platform;
	int mib, files, rounds;
	struct metric m[MAX_METRICS];
	int nm;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int bench_run_capture(char *const argv[], char *out, size_t size)
{
	int p[2], status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (used + 1 < size && (n = read(p[0], out + used, size - used - 1)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(p[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Take fuseload's "NAME VALUE UNIT" lines into the metrics. */
static void take(struct fuse_bench *b, const char *out, bool native)
{
	const char *line = out;

	while (*line) {
		char name[32], unit[16];
		double v;
		int i;

		if (sscanf(line, "%31s %lf %15s", name, &v, unit) == 3) {
			for (i = 0; i < b->nm && strcmp(b->m[i].name, name); i++)
				;
			if (i == b->nm && b->nm < MAX_METRICS) {
				snprintf(b->m[i].name, sizeof(b->m[i].name), "%s", name);
				snprintf(b->m[i].unit, sizeof(b->m[i].unit), "%s", unit);
				b->nm++;
			}
			if (i < b->nm) {
				struct metric *m = &b->m[i];

				if (native && m->nn < MAX_ROUNDS)
					m->native[m->nn++] = v;
				else if (!native && m->ns < MAX_ROUNDS)
					m->sandbox[m->ns++] = v;
			}
		}
		line = strchr(line, '\n');
		if (!line)
			break;
		line++;
	}
}

static bool mounted(const char *dir)
{
	char line[PATH_MAX + 256], want[PATH_MAX + 4];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	if (!f)
		return false;
	snprintf(want, sizeof(want), " %s ", dir);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL;
	fclose(f);
	return found;
}

/* One native round: memfs on the host's FUSE, fuseload on it. */
static int native_round(struct fuse_bench *b, char *why, size_t whylen)
{
	char mnt[3 * PATH_MAX], mib[16], files[16], out[4096];
	char *load_argv[] = {b->load, mnt, mib, files, NULL};
	struct timespec ms = {0, 10000000};
	int status, err = 0;
	pid_t server;

	snprintf(mnt, sizeof(mnt), "%s/native", b->dir);
	snprintf(mib, sizeof(mib), "%d", b->mib);
	snprintf(files, sizeof(files), "%d", b->files);
	mkdir(mnt, 0755);
	server = fork();
	if (server == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(b->memfs, "memfs", "--direct-io", mnt, "-f", "-s", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300 && !mounted(mnt); i++)
		nanosleep(&ms, NULL);
	if (!mounted(mnt)) {
		snprintf(why, whylen, "native FUSE could not be mounted here (/dev/fuse, root?)");
		kill(server, SIGKILL);
		err = -1;
	} else if (bench_run_capture(load_argv, out, sizeof(out)) != 0) {
		snprintf(why, whylen, "the native workload failed");
		err = -1;
	} else {
		take(b, out, true);
	}
	umount2(mnt, MNT_DETACH);
	waitpid(server, &status, 0);
	return err;
}

/* One sandbox round: a shell in the sandbox starts memfs and the load. */
static int sandbox_round(struct fuse_bench *b)
{
	char script[3 * PATH_MAX], out[4096];
	char *argv[] = {b->self, "run", "--platform", (char *)b->platform, "--cwd", "/",
			"/bin/busybox", "sh", script, NULL};
	FILE *f;

	snprintf(script, sizeof(script), "%s/round.sh", b->dir);
	f = fopen(script, "w");
	if (!f)
		return -1;
	fprintf(f,
		"mkdir -p /tmp/m\n"
		"%s --direct-io /tmp/m -f -s >/dev/null 2>&1 &\n"
		"i=0; while ! grep -q ' /tmp/m ' /proc/mounts; do\n"
		"  i=$((i+1)); [ $i -lt 500 ] || exit 99; sleep 0.01\n"
		"done\n"
		"%s /tmp/m %d %d\n"
		"s=$?\n"
		"umount /tmp/m; wait; exit $s\n",
		b->memfs, b->load, b->mib, b->files);
	fclose(f);
	if (bench_run_capture(argv, out, sizeof(out)) != 0)
		return -1;
	take(b, out, false);
	return 0;
}

static void report(struct fuse_bench *b, bool have_native)
{
	printf("\n%-16s %12s %18s %12s %18s %8s\n", "workload", "sandbox", "[min, max]", "native",
	       "[min, max]", "ratio");
	for (int i = 0; i < b->nm; i++) {
		struct metric *m = &b->m[i];
		bool latency = !strcmp(m->unit, "us/op");
		double s, n = 0;

		if (!m->ns)
			continue;
		qsort(m->sandbox, (size_t)m->ns, sizeof(double), cmp_double);
		s = m->sandbox[m->ns / 2];
		printf("%-16s %9.1f %-5s [%7.1f, %7.1f]", m->name, s, m->unit, m->sandbox[0],
		       m->sandbox[m->ns - 1]);
		if (have_native && m->nn) {
			qsort(m->native, (size_t)m->nn, sizeof(double), cmp_double);
			n = m->native[m->nn / 2];
			printf(" %9.1f %-5s [%7.1f, %7.1f]", n, m->unit, m->native[0],
			       m->native[m->nn - 1]);
			/* Throughput: sandbox / native; latency: native / sandbox,
			 * so that above 1 always means the sandbox is faster. */
			printf(" %7.2fx", latency ? n / s : s / n);
		}
		putchar('\n');
	}
	printf("\nratio: sandbox speed over native speed (above 1: the sandbox is faster).\n"
	       "memfs --direct-io -f -s in both; %d MiB sequential, %d files, %d rounds.\n",
	       b->mib, b->files, b->rounds);
}

/* Where the helper binaries are: beside ksentry in the build tree. */
static int find_helpers(struct fuse_bench *b)
{
	char *slash;
	ssize_t n = readlink("/proc/self/exe", b->self, sizeof(b->self) - 1);

	if (n <= 0)
		return -1;
	b->self[n] = '\0';
	memcpy(b->base, b->self, (size_t)n + 1);
	slash = strrchr(b->base, '/');
	if (!slash)
		return -1;
	*slash = '\0'; /* .../build/vmm */
	snprintf(b->memfs, sizeof(b->memfs), "%s/../fuse/server/memfs", b->base);
	snprintf(b->load, sizeof(b->load), "%s/../test/bench/fuseload", b->base);
	return access(b->memfs, X_OK) || access(b->load, X_OK) ? -1 : 0;
}

int bench_fuse_main(int argc, char **argv)
{
	static struct fuse_bench b;
	char why[256] = "";
	bool have_native = true;

	b = (struct fuse_bench){.platform = "auto", .mib = 64, .files = 1000, .rounds = 3};
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--size") && i + 1 < argc)
			b.mib = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--files") && i + 1 < argc)
			b.files = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			b.rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--platform") && i + 1 < argc)
			b.platform = argv[++i];
		else if (!strcmp(argv[i], "--quick"))
			b.mib = 8, b.files = 200, b.rounds = 1;
		else {
			fprintf(stderr, "usage: ksentry bench fuse [--size MIB] [--files N] "
					"[--repeat N] [--platform NAME] [--quick]\n");
			return 2;
		}
	}
	if (b.mib < 1 || b.files < 1 || b.rounds < 1 || b.rounds > MAX_ROUNDS) {
		fprintf(stderr, "ksentry bench fuse: sizes and counts must be positive, "
				"at most %d rounds\n", MAX_ROUNDS);
		return 2;
	}
	if (find_helpers(&b)) {
		fprintf(stderr, "ksentry bench fuse: memfs and fuseload are not built beside ksentry "
				"(run it from the build tree: build/vmm/ksentry)\n");
		return 1;
	}
	/* The scratch directory lives in the build tree: the sandbox sees the
	 * host's files there (its /tmp is its own). */
	snprintf(b.dir, sizeof(b.dir), "%s/bench-fuse.XXXXXX", b.base);
	if (!mkdtemp(b.dir)) {
		perror("ksentry bench fuse: mkdtemp");
		return 1;
	}
	printf("ksentry bench fuse: memfs (libfuse3) + fuseload, %d MiB, %d files, %d rounds\n",
	       b.mib, b.files, b.rounds);
	for (int r = 0; r < b.rounds; r++) {
		fprintf(stderr, "\rround %d/%d: native...", r + 1, b.rounds);
		if (have_native && native_round(&b, why, sizeof(why)))
			have_native = false;
		fprintf(stderr, "\rround %d/%d: sandbox...", r + 1, b.rounds);
		if (sandbox_round(&b)) {
			fprintf(stderr, "\nksentry bench fuse: the sandbox round failed\n");
			break;
		}
	}
	fprintf(stderr, "\r%40s\r", "");
	if (!have_native)
		printf("native: %s; the sandbox alone:\n", why);
	report(&b, have_native);
	{
		char path[3 * PATH_MAX];

		snprintf(path, sizeof(path), "%s/round.sh", b.dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/native", b.dir);
		rmdir(path);
		rmdir(b.dir);
	}
	return 0;
}

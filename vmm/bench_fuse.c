/*
 * vmm/bench_fuse.c - `ksentry bench fuse`: the same FUSE server (memfs,
 * Debian's libfuse3.a) and the same workload program (fuseload), once on
 * native Linux FUSE and once inside the sandbox, alternating, several
 * rounds; medians, spread and the ratio sandbox / native.
 *
 * Both runs give memfs the same options, "--direct-io -f -s" (or "-f"
 * alone with --threads multi): direct I/O on every file, so that no page
 * cache answers a read natively either, and entry and attribute timeouts
 * 0, so that every stat is a round trip on both sides (the sandbox has
 * no FUSE page cache yet).  stat_cached is the one workload that wants
 * the kernel's caches: it runs on a second mount of its own, memfs with
 * --cache, so that the others keep their timeouts of 0.
 *
 * A round is: native (the timeouts-0 mount, then the cached one), then
 * one sandbox run whose shell does the same two mounts.  A host where
 * FUSE cannot be mounted natively gets the sandbox figures alone, with a
 * line saying why; the JSON says so too.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
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

#define MAX_ROUNDS    15
#define MAX_METRICS   16
#define CACHE_SECONDS "60" /* memfs --cache for stat_cached: longer than any run */

/*
 * The workloads fuseload knows, and the result lines each prints.  The
 * names are what --workload takes and what fuseload's 4th argument
 * takes; "all" is every one not marked cached.
 */
static const struct workload {
	const char *name;
	const char *metrics[2]; /* fuseload's result names */
	bool cached;		/* runs on the memfs --cache mount */
} workloads[] = {
	{.name = "seq_1m", .metrics = {"seqwrite_1m", "seqread_1m"}},
	{.name = "seq_128k", .metrics = {"seqwrite_128k", "seqread_128k"}},
	{.name = "rewrite_1m", .metrics = {"rewrite_1m"}},
	{.name = "randread_4k", .metrics = {"randread_4k"}},
	{.name = "stat", .metrics = {"stat"}},
	{.name = "stat_cached", .metrics = {"stat_cached"}, .cached = true},
	{.name = "create", .metrics = {"create"}},
	{.name = "readdir", .metrics = {"readdir"}},
	{.name = "unlink", .metrics = {"unlink"}},
};
#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

struct metric {
	char name[32], unit[16];
	double native[MAX_ROUNDS], sandbox[MAX_ROUNDS]; /* in round order */
	int nn, ns;
};

struct fuse_bench {
	char self[PATH_MAX], base[PATH_MAX];	   /* ksentry, and its directory */
	char memfs[2 * PATH_MAX], load[2 * PATH_MAX], dir[2 * PATH_MAX]; /* dir: scratch */
	const char *platform, *json;
	int mib, files, rounds;
	bool multi;			/* memfs multi-threaded (no -s) */
	bool want[NWORKLOADS];		/* --workload, "all" expanded */
	char plain[256], cached[256];	/* fuseload lists per mount; "" if none */
	struct metric m[MAX_METRICS];
	int nm;
};

/* The spread of @n samples. */
struct spread {
	double median, min, max;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts a copy, so that the samples stay in round order for the JSON.
 * @n is at least 1; an even count's median is the mean of the middle two. */
static struct spread spread_of(const double *v, int n)
{
	double s[MAX_ROUNDS], median;

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return (struct spread){median, s[0], s[n - 1]};
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

/* Which workload printed the result @metric?  NULL: none we know. */
static const struct workload *workload_of(const char *metric)
{
	for (size_t w = 0; w < NWORKLOADS; w++)
		for (int k = 0; k < 2; k++)
			if (workloads[w].metrics[k] && !strcmp(workloads[w].metrics[k], metric))
				return &workloads[w];
	return NULL;
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

/*
 * Parse --workload's comma list into the two fuseload lists: the
 * workloads for the timeouts-0 mount and those for the cached one.
 * Returns 0, or -EINVAL having said which name is unknown.
 */
static int parse_workloads(struct fuse_bench *b, const char *list)
{
	bool *want = b->want;
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ","), w;

		if (len == 3 && !strncmp(p, "all", 3)) {
			for (w = 0; w < NWORKLOADS; w++)
				want[w] |= !workloads[w].cached;
		} else {
			for (w = 0; w < NWORKLOADS; w++)
				if (strlen(workloads[w].name) == len &&
				    !strncmp(p, workloads[w].name, len))
					break;
			if (w == NWORKLOADS) {
				fprintf(stderr, "ksentry bench fuse: unknown workload \"%.*s\" "
						"(see --help)\n", (int)len, p);
				return -EINVAL;
			}
			want[w] = true;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	b->plain[0] = b->cached[0] = '\0';
	for (size_t w = 0; w < NWORKLOADS; w++) {
		char *to = workloads[w].cached ? b->cached : b->plain;

		if (want[w])
			snprintf(to + strlen(to), sizeof(b->plain) - strlen(to), "%s%s",
				 *to ? "," : "", workloads[w].name);
	}
	if (!b->plain[0] && !b->cached[0]) {
		fprintf(stderr, "ksentry bench fuse: --workload names no workload\n");
		return -EINVAL;
	}
	return 0;
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

/* memfs's command line for one mount at @mnt, into @argv (8 slots). */
static void memfs_argv(const struct fuse_bench *b, bool cached, char *mnt, char *argv[8])
{
	int n = 0;

	argv[n++] = "memfs";
	argv[n++] = "--direct-io";
	if (cached) {
		argv[n++] = "--cache";
		argv[n++] = CACHE_SECONDS;
	}
	argv[n++] = mnt;
	argv[n++] = "-f";
	if (!b->multi)
		argv[n++] = "-s";
	argv[n] = NULL;
}

/* Natively: memfs on the host's FUSE at @mnt, fuseload @list on it. */
static int native_mount_run(struct fuse_bench *b, const char *mnt, const char *list, bool cached,
			    char *why, size_t whylen)
{
	char mib[16], files[16], out[4096], *server_argv[8];
	char *load_argv[] = {b->load, (char *)mnt, mib, files, (char *)list, NULL};
	struct timespec ms = {0, 10000000};
	int status, err = 0;
	pid_t server;

	snprintf(mib, sizeof(mib), "%d", b->mib);
	snprintf(files, sizeof(files), "%d", b->files);
	memfs_argv(b, cached, (char *)mnt, server_argv);
	mkdir(mnt, 0755);
	server = fork();
	if (server == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execv(b->memfs, server_argv);
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
	rmdir(mnt);
	return err;
}

/* One native round: the timeouts-0 mount, then the cached one. */
static int native_round(struct fuse_bench *b, char *why, size_t whylen)
{
	char mnt[3 * PATH_MAX];

	snprintf(mnt, sizeof(mnt), "%s/native", b->dir);
	if (b->plain[0] && native_mount_run(b, mnt, b->plain, false, why, whylen))
		return -1;
	snprintf(mnt, sizeof(mnt), "%s/native-cached", b->dir);
	if (b->cached[0] && native_mount_run(b, mnt, b->cached, true, why, whylen))
		return -1;
	return 0;
}

/* The sandbox shell's lines for one mount: start memfs, wait for the
 * mount, run fuseload @list, unmount and reap the server. */
static void sandbox_stanza(const struct fuse_bench *b, FILE *f, const char *list, bool cached)
{
	char *argv[8], mnt[] = "/tmp/m";

	memfs_argv(b, cached, mnt, argv);
	/* Quoted: a build tree may sit under a path with spaces. */
	fprintf(f, "mkdir -p /tmp/m\n'%s'", b->memfs);
	for (int i = 1; argv[i]; i++)
		fprintf(f, " %s", argv[i]);
	fprintf(f,
		" >/dev/null 2>&1 &\n"
		"i=0; while ! grep -q ' /tmp/m ' /proc/mounts; do\n"
		"  i=$((i+1)); [ $i -lt 500 ] || exit 99; sleep 0.01\n"
		"done\n"
		"'%s' /tmp/m %d %d %s || s=1\n"
		"umount /tmp/m; wait\n",
		b->load, b->mib, b->files, list);
}

/* One sandbox round: a shell in the sandbox starts memfs and the load,
 * once per mount. */
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
	fprintf(f, "s=0\n");
	if (b->plain[0])
		sandbox_stanza(b, f, b->plain, false);
	if (b->cached[0])
		sandbox_stanza(b, f, b->cached, true);
	fprintf(f, "exit $s\n");
	fclose(f);
	if (bench_run_capture(argv, out, sizeof(out)) != 0)
		return -1;
	take(b, out, false);
	return 0;
}

/* Above 1 always means the sandbox is faster: sandbox / native for a
 * throughput, native / sandbox for a latency. */
static double speed_ratio(const struct metric *m, double s, double n)
{
	return !strcmp(m->unit, "us/op") ? n / s : s / n;
}

static const char *server_mode(const struct fuse_bench *b)
{
	return b->multi ? "multi-threaded (memfs --direct-io -f)"
			: "single-threaded (memfs --direct-io -f -s)";
}

static void report_row(const struct metric *m, bool have_native)
{
	struct spread s = spread_of(m->sandbox, m->ns), n;

	printf("%-16s %9.1f %-5s [%7.1f, %7.1f]", m->name, s.median, m->unit, s.min, s.max);
	if (have_native && m->nn) {
		n = spread_of(m->native, m->nn);
		printf(" %9.1f %-5s [%7.1f, %7.1f]", n.median, m->unit, n.min, n.max);
		printf(" %7.2fx", speed_ratio(m, s.median, n.median));
	}
	putchar('\n');
}

static void report(const struct fuse_bench *b, bool have_native)
{
	printf("\n%-16s %12s %18s %12s %18s %8s\n", "workload", "sandbox", "[min, max]", "native",
	       "[min, max]", "ratio");
	/* In the workloads' order, whatever order the results came in. */
	for (size_t w = 0; w < NWORKLOADS; w++)
		for (int i = 0; i < b->nm; i++)
			if (b->m[i].ns && workload_of(b->m[i].name) == &workloads[w])
				report_row(&b->m[i], have_native);
	printf("\nratio: sandbox speed over native speed (above 1: the sandbox is faster).\n"
	       "server: %s in both%s.\n"
	       "%d MiB sequential, %d files, %d round%s, platform %s.\n",
	       server_mode(b), b->cached[0] ? "; stat_cached on memfs --cache " CACHE_SECONDS : "",
	       b->mib, b->files, b->rounds, b->rounds == 1 ? "" : "s", b->platform);
}

/* @s as a JSON string: quotes, backslashes and control bytes escaped. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* JSON has no NaN or infinity (a run too short to time gives one). */
static void json_number(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.4f", v);
	else
		fputs("null", f);
}

/* {"median", "min", "max", "samples": [... in round order]}, or null. */
static void json_side(FILE *f, const double *v, int n)
{
	struct spread s;

	if (!n) {
		fputs("null", f);
		return;
	}
	s = spread_of(v, n);
	fputs("{\"median\": ", f);
	json_number(f, s.median);
	fputs(", \"min\": ", f);
	json_number(f, s.min);
	fputs(", \"max\": ", f);
	json_number(f, s.max);
	fputs(", \"samples\": [", f);
	for (int i = 0; i < n; i++) {
		fputs(i ? ", " : "", f);
		json_number(f, v[i]);
	}
	fputs("]}", f);
}

static void json_result(FILE *f, const struct metric *m, bool have_native)
{
	const struct workload *w = workload_of(m->name);
	bool both = have_native && m->nn && m->ns;

	fputs("    {\"name\": ", f);
	json_string(f, m->name);
	fputs(", \"workload\": ", f);
	json_string(f, w ? w->name : "");
	fputs(", \"unit\": ", f);
	json_string(f, m->unit);
	fputs(",\n     \"sandbox\": ", f);
	json_side(f, m->sandbox, m->ns);
	fputs(",\n     \"native\": ", f);
	json_side(f, m->native, have_native ? m->nn : 0);
	fputs(",\n     \"ratio\": ", f);
	if (both)
		json_number(f, speed_ratio(m, spread_of(m->sandbox, m->ns).median,
					   spread_of(m->native, m->nn).median));
	else
		fputs("null", f);
	fputs("}", f);
}

static void json_config(FILE *f, const struct fuse_bench *b, bool have_native, const char *why)
{
	fprintf(f, "  \"config\": {\"size_mib\": %d, \"files\": %d, \"rounds\": %d,\n", b->mib,
		b->files, b->rounds);
	fputs("    \"workloads\": [", f);
	for (size_t w = 0, n = 0; w < NWORKLOADS; w++) {
		if (b->want[w]) {
			fputs(n++ ? ", " : "", f);
			json_string(f, workloads[w].name);
		}
	}
	fprintf(f, "],\n    \"server_mode\": \"%s\", \"server\": ", b->multi ? "multi" : "single");
	json_string(f, server_mode(b));
	fputs(", \"cache_seconds\": " CACHE_SECONDS ",\n    \"platform\": ", f);
	json_string(f, b->platform);
	fprintf(f, ", \"native_ran\": %s, \"native_why_not\": ", have_native ? "true" : "false");
	if (have_native)
		fputs("null", f);
	else
		json_string(f, why);
	fputs("},\n", f);
}

/* --json FILE: the configuration and every result with its samples. */
static int write_json(const struct fuse_bench *b, bool have_native, const char *why)
{
	FILE *f = fopen(b->json, "w");
	bool first = true;

	if (!f)
		return -errno;
	fputs("{\n  \"benchmark\": \"fuse\",\n", f);
	json_config(f, b, have_native, why);
	fputs("  \"ratio_is\": \"sandbox speed / native speed: above 1 the sandbox is faster "
	      "(throughputs sandbox/native, us/op native/sandbox)\",\n"
	      "  \"results\": [\n", f);
	for (size_t w = 0; w < NWORKLOADS; w++) {
		for (int i = 0; i < b->nm; i++) {
			/* Native-only rows too: a failed sandbox round keeps them. */
			if (!(b->m[i].ns || b->m[i].nn) ||
			    workload_of(b->m[i].name) != &workloads[w])
				continue;
			fputs(first ? "" : ",\n", f);
			json_result(f, &b->m[i], have_native);
			first = false;
		}
	}
	fputs("\n  ]\n}\n", f);
	return fclose(f) ? -errno : 0;
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

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ksentry bench fuse [options]\n"
		"\n"
		"memfs (libfuse3) and the fuseload workloads, in the sandbox and on native\n"
		"Linux FUSE (where it can be mounted), alternating, several rounds.\n"
		"\n"
		"options:\n"
		"  --workload LIST   comma list of seq_1m, seq_128k, rewrite_1m, randread_4k,\n"
		"                    stat, stat_cached, create, readdir, unlink, or all (every\n"
		"                    one but stat_cached); default all.  stat_cached runs on a\n"
		"                    mount of its own with entry/attr timeouts of %s s\n"
		"  --size MIB        the sequential and random-read file (default 512)\n"
		"  --files N         files for create, stat, readdir, unlink (default 10000)\n"
		"  --repeat N        rounds, at most %d (default 3)\n"
		"  --threads MODE    memfs single-threaded (-s, default) or multi (kvm only)\n"
		"  --platform NAME   the sandbox's platform: auto (default), kvm, ptrace\n"
		"  --json FILE       also write the results, every sample and the setup as JSON\n"
		"  --quick           8 MiB, 200 files, 1 round (a smoke test), unless given\n"
		"  --help            this text\n",
		CACHE_SECONDS, MAX_ROUNDS);
}

/* A whole decimal number in [1, @max], or -1. */
static int positive(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || end == s || *end || v < 1 || v > max ? -1 : (int)v;
}

/*
 * Options into @b.  --quick only lowers what was not given, in any
 * order.  Returns 0 to run, 1 for --help, or -EINVAL having said why.
 */
static int parse_args(struct fuse_bench *b, int argc, char **argv)
{
	int mib = 0, files = 0, rounds = 0;
	const char *list = "all";
	bool quick = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(arg, "--help")) {
			usage(stdout);
			return 1;
		} else if (!strcmp(arg, "--quick")) {
			quick = true;
			continue;
		} else if (!val) {
			goto err_usage;
		} else if (!strcmp(arg, "--size")) {
			mib = positive(val, 1 << 16); /* 64 GiB */
		} else if (!strcmp(arg, "--files")) {
			files = positive(val, 99999); /* fuseload names them f00000.. */
		} else if (!strcmp(arg, "--repeat")) {
			rounds = positive(val, MAX_ROUNDS);
		} else if (!strcmp(arg, "--workload")) {
			list = val;
		} else if (!strcmp(arg, "--platform")) {
			b->platform = val;
		} else if (!strcmp(arg, "--json")) {
			b->json = val;
		} else if (!strcmp(arg, "--threads")) {
			if (strcmp(val, "single") && strcmp(val, "multi")) {
				fprintf(stderr, "ksentry bench fuse: --threads: single or multi\n");
				return -EINVAL;
			}
			b->multi = !strcmp(val, "multi");
		} else {
			goto err_usage;
		}
		if (mib < 0 || files < 0 || rounds < 0) {
			fprintf(stderr, "ksentry bench fuse: %s wants a whole number from 1 "
					"(--repeat: at most %d)\n", arg, MAX_ROUNDS);
			return -EINVAL;
		}
		i++;
	}
	/* libfuse's worker threads are clones sharing one address space,
	 * which the ptrace platform does not run. */
	if (b->multi && !strcmp(b->platform, "ptrace")) {
		fprintf(stderr, "ksentry bench fuse: --threads multi needs the kvm platform\n");
		return -EINVAL;
	}
	b->mib = mib ? mib : quick ? 8 : 512;
	b->files = files ? files : quick ? 200 : 10000;
	b->rounds = rounds ? rounds : quick ? 1 : 3;
	return parse_workloads(b, list);

err_usage:
	usage(stderr);
	return -EINVAL;
}

/* The progress line, on stderr, rewritten in place. */
static void progress(const struct fuse_bench *b, int round, const char *what)
{
	fprintf(stderr, "\rround %d/%d: %-12s", round + 1, b->rounds, what);
}

static void remove_scratch(const struct fuse_bench *b)
{
	char path[3 * PATH_MAX];

	snprintf(path, sizeof(path), "%s/round.sh", b->dir);
	unlink(path);
	rmdir(b->dir);
}

/* The rounds, alternating native and sandbox.  Returns 0, or -1 if a
 * sandbox round failed (the results so far are kept). */
static int run_rounds(struct fuse_bench *b, bool *have_native, char *why, size_t whylen)
{
	for (int r = 0; r < b->rounds; r++) {
		progress(b, r, "native...");
		if (*have_native && native_round(b, why, whylen))
			*have_native = false;
		progress(b, r, "sandbox...");
		if (sandbox_round(b)) {
			fprintf(stderr, "\nksentry bench fuse: the sandbox round failed\n");
			return -1;
		}
	}
	fprintf(stderr, "\r%40s\r", "");
	return 0;
}

int bench_fuse_main(int argc, char **argv)
{
	static struct fuse_bench b;
	char why[256] = "";
	bool have_native = true;
	int err;

	b = (struct fuse_bench){.platform = "auto"};
	err = parse_args(&b, argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
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
	printf("ksentry bench fuse: memfs (libfuse3, %s) + fuseload, %d MiB, %d files, "
	       "%d round%s\n", b.multi ? "multi-threaded" : "single-threaded", b.mib, b.files,
	       b.rounds, b.rounds == 1 ? "" : "s");
	fflush(stdout);
	err = run_rounds(&b, &have_native, why, sizeof(why));
	remove_scratch(&b);
	if (!have_native)
		printf("native: %s; the sandbox alone:\n", why);
	report(&b, have_native);
	if (b.json) {
		int jerr = write_json(&b, have_native, why);

		if (jerr) {
			fprintf(stderr, "ksentry bench fuse: cannot write %s: %s\n", b.json,
				strerror(-jerr));
			return 1;
		}
	}
	return err ? 1 : 0;
}

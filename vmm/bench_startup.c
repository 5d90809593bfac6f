/*
 * vmm/bench_startup.c - `ksentry bench startup`: how long `ksentry run
 * /bin/true` takes from exec to exit, and how much memory it peaks at
 * (the child's maximum resident set), over many runs, beside the same
 * /bin/true run natively.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/bench.h"

#define MAX_RUNS 200

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Run @argv once: wall ms, and the child's peak RSS in KiB. */
static int time_once(char *const argv[], double *ms, long *rss_kib)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	*rss_kib = ru.ru_maxrss;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int bench_startup_main(int argc, char **argv)
{
	static double s_ms[MAX_RUNS], n_ms[MAX_RUNS];
	static long s_rss[MAX_RUNS];
	const char *platform = "auto";
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int runs = 30;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--platform") && i + 1 < argc)
			platform = argv[++i];
		else {
			fprintf(stderr, "usage: ksentry bench startup [--runs N] [--platform NAME]\n");
			return 2;
		}
	}
	if (len <= 0 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "ksentry bench startup: --runs is 1..%d\n", MAX_RUNS);
		return 2;
	}
	self[len] = '\0';
	for (int i = 0; i < runs; i++) {
		char *sandbox[] = {self, "run", "--platform", (char *)platform, "/bin/true", NULL};
		char *native[] = {"/bin/true", NULL};
		long rss;

		if (time_once(sandbox, &s_ms[i], &s_rss[i]) || time_once(native, &n_ms[i], &rss)) {
			fprintf(stderr, "ksentry bench startup: a run failed\n");
			return 1;
		}
	}
	qsort(s_ms, (size_t)runs, sizeof(double), cmp_double);
	qsort(n_ms, (size_t)runs, sizeof(double), cmp_double);
	long peak = 0;

	for (int i = 0; i < runs; i++)
		peak = s_rss[i] > peak ? s_rss[i] : peak;
	printf("ksentry bench startup: `ksentry run --platform %s /bin/true`, %d runs\n", platform,
	       runs);
	printf("%-28s %10s %18s\n", "", "median", "[min, max]");
	printf("%-28s %7.2f ms [%7.2f, %7.2f]\n", "sandbox: exec to exit", s_ms[runs / 2], s_ms[0],
	       s_ms[runs - 1]);
	printf("%-28s %7.2f ms [%7.2f, %7.2f]\n", "native /bin/true", n_ms[runs / 2], n_ms[0],
	       n_ms[runs - 1]);
	printf("%-28s %7ld KiB (the most of any run)\n", "sandbox peak RSS", peak);
	return 0;
}

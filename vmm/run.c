/*
 * vmm/run.c - `ksentry run [options] [--] PROGRAM [ARGS...]`.
 *
 * Sets up one sandbox: the memory file (capped by --memory), the execution
 * platform, the sentry with its root file system (--root), and one task
 * running PROGRAM, found inside the sandbox.  The guest's exit status becomes ksentry's; a guest
 * killed by a signal exits 128+N, with a one-line reason on stderr.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi/syscall_names.h"
#include "fuse/fuse.h"
#include "kernel/exec.h"
#include "kernel/task.h"
#include "vmm/kvm.h"
#include "vmm/ptrace.h"
#include "vmm/run.h"

#define DEFAULT_MEMORY (UINT64_C(4) << 30)
#define MAX_ENV        256

struct run_options {
	uint64_t memory;
	bool strace;
	bool debug;
	const char *platform;
	const char *root; /* host directory, or NULL for an empty tmpfs root */
	const char *cwd;
	int max_tasks;
	struct fuse_config fuse;
	const char *stats; /* NULL, "text" or "json" */
	bool leak_check;
	bool no_prefill;
	char *mounts[MAX_ENV]; /* --mount HOST:GUEST[:ro|rw], --tmpfs GUEST (as "tmpfs:GUEST") */
	int nmounts;
	char *env[MAX_ENV + 1];
	int nenv;
};

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: ksentry run [options] [--] PROGRAM [ARGS...]\n"
		"\n"
		"Run a static x86-64 Linux program in the sandbox.\n"
		"\n"
		"options:\n"
		"  --strace             print every syscall with its arguments and result\n"
		"  --memory SIZE        memory cap of the sandbox (e.g. 512M, 2G; default 4G)\n"
		"  --env NAME=VALUE     add to the guest's environment (repeatable)\n"
		"  --root DIR           host directory to use as the read-only root (default /)\n"
		"  --empty-root         start from an empty in-memory root instead\n"
		"  --cwd DIR            the guest's working directory (default: ksentry's own\n"
		"                       when it exists in the sandbox, else /)\n"
		"  --mount HOST:GUEST[:ro|rw]  a host directory at GUEST, read-only unless\n"
		"                       :rw, and then written beneath HOST only (repeatable)\n"
		"  --tmpfs GUEST        a fresh tmpfs at GUEST (repeatable)\n"
		"  --fuse-timeout MS    a FUSE request unanswered for MS ms aborts its\n"
		"                       connection (its callers get ENOTCONN); default none\n"
		"  --stats[=json]       at exit, memory by kind (now and peak), syscall\n"
		"                       counts and FUSE requests by opcode on stderr,\n"
		"                       as text or JSON\n"
		"  --leak-check         after the sandbox is torn down, say how many bytes of\n"
		"                       the memory file and how many host fds it left\n"
		"                       behind; exit 70 if any (the hostile-input tests)\n"
		"  --no-prefill         do not back free memory ahead of the guest's use\n"
		"                       (a thread that does it on another CPU; for measuring)\n"
		"  --max-tasks N        most tasks (threads) alive at once; past it clone\n"
		"                       and fork fail with EAGAIN (default 4096)\n"
		"  --platform NAME      auto (default: kvm where it works, else ptrace), kvm, ptrace\n"
		"  --debug              say which platform runs the guest and how\n"
		"  --help               this text\n"
		"  --version            ksentry's version\n");
}

/* Parse "512M", "2G", "65536" into bytes, page aligned.  0 on error. */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t mult = 1, bytes;

	switch (*end) {
	case 'k': case 'K': mult = UINT64_C(1) << 10; end++; break;
	case 'm': case 'M': mult = UINT64_C(1) << 20; end++; break;
	case 'g': case 'G': mult = UINT64_C(1) << 30; end++; break;
	default: break;
	}
	if (*end || end == s || __builtin_mul_overflow((uint64_t)v, mult, &bytes))
		return 0;
	return abi_page_round_down(bytes);
}

static int parse_options(int argc, char **argv, struct run_options *o)
{
	static const struct option longopts[] = {
		{"strace", no_argument, NULL, 's'},   {"memory", required_argument, NULL, 'm'},
		{"env", required_argument, NULL, 'e'}, {"platform", required_argument, NULL, 'p'},
		{"debug", no_argument, NULL, 'd'},    {"help", no_argument, NULL, 'h'},
		{"root", required_argument, NULL, 'r'}, {"empty-root", no_argument, NULL, 'E'},
		{"cwd", required_argument, NULL, 'c'},
		{"max-tasks", required_argument, NULL, 'T'},
		{"stats", optional_argument, NULL, 'S'},
		{"leak-check", no_argument, NULL, 'L'},
		{"no-prefill", no_argument, NULL, 'P'},
		{"fuse-timeout", required_argument, NULL, 'F'},
		{"mount", required_argument, NULL, 'M'},
		{"tmpfs", required_argument, NULL, 't'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->strace = true;
			break;
		case 'd':
			o->debug = true;
			break;
		case 'm':
			o->memory = parse_size(optarg);
			if (o->memory < (UINT64_C(16) << 20)) {
				fprintf(stderr, "ksentry run: --memory %s: give at least 16M\n", optarg);
				return -1;
			}
			break;
		case 'e':
			if (o->nenv == MAX_ENV || !strchr(optarg, '=')) {
				fprintf(stderr, "ksentry run: --env wants NAME=VALUE (at most %d)\n",
					MAX_ENV);
				return -1;
			}
			o->env[o->nenv++] = optarg;
			break;
		case 'p':
			o->platform = optarg;
			break;
		case 'r':
			o->root = optarg;
			break;
		case 'E':
			o->root = NULL;
			break;
		case 'c':
			o->cwd = optarg;
			break;
		case 'M':
		case 't':
			if (o->nmounts == MAX_ENV) {
				fprintf(stderr, "ksentry run: too many --mount/--tmpfs\n");
				return -1;
			}
			if (c == 't') {
				size_t n = strlen(optarg) + 7;
				char *m = malloc(n);

				if (!m)
					return -1;
				snprintf(m, n, "tmpfs:%s", optarg);
				o->mounts[o->nmounts++] = m;
			} else {
				o->mounts[o->nmounts++] = strdup(optarg);
			}
			break;
		case 'F': {
			char *end;
			unsigned long ms = strtoul(optarg, &end, 10);

			if (*end || end == optarg || ms > 3600000) {
				fprintf(stderr, "ksentry run: --fuse-timeout wants milliseconds "
						"(0..3600000)\n");
				return -1;
			}
			o->fuse.timeout_ms = (unsigned)ms;
			break;
		}
		case 'L':
			o->leak_check = true;
			break;
		case 'P':
			o->no_prefill = true;
			break;
		case 'S':
			o->stats = optarg ? optarg : "text";
			if (strcmp(o->stats, "text") && strcmp(o->stats, "json")) {
				fprintf(stderr, "ksentry run: --stats takes text or json\n");
				return -1;
			}
			break;
		case 'T': {
			char *end;
			long n = strtol(optarg, &end, 10);

			if (*end || n < 1 || n > KERNEL_MAX_PIDS - 1) {
				fprintf(stderr, "ksentry run: --max-tasks wants 1..%d\n",
					KERNEL_MAX_PIDS - 1);
				return -1;
			}
			o->max_tasks = (int)n;
			break;
		}
		case 'h':
			run_usage(stdout);
			exit(0);
		case 'V':
			printf("ksentry %s\n", KSENTRY_VERSION);
			exit(0);
		default:
			run_usage(stderr);
			return -1;
		}
	}
	if (optind >= argc) {
		run_usage(stderr);
		return -1;
	}
	return optind;
}

/* --platform: kvm, ptrace, or auto (KVM when it works here, else
 * ptrace, saying why under --debug). */
int run_make_platform(const char *name, bool debug, struct memfile *mf, struct platform **out)
{
	bool want_kvm = !strcmp(name, "kvm"), is_auto = !strcmp(name, "auto");
	char why[256];
	int err;

	if (!want_kvm && !is_auto && strcmp(name, "ptrace")) {
		fprintf(stderr, "ksentry: unknown platform '%s' (auto, kvm, ptrace)\n", name);
		return -EINVAL;
	}
	if (want_kvm || is_auto) {
		err = kvm_platform_create(mf, out, why, sizeof(why));
		if (!err || want_kvm) {
			if (err)
				fprintf(stderr, "ksentry: KVM platform: %s\n", why);
			return err;
		}
		if (debug)
			fprintf(stderr, "ksentry: no KVM platform (%s): using ptrace\n", why);
	}
	return ptrace_platform_create(mf, out);
}

/* The guest starts in --cwd, or where ksentry was started if the sandbox
 * has that directory too (a host root of /), or else in /. */
/* The guest's cwd: --cwd, which must exist (-ENOENT), else ksentry's own
 * where the sandbox has it, else /. */
static int set_cwd(struct task *t, const struct run_options *o)
{
	char here[VFS_PATH_MAX];
	const char *want = o->cwd;
	struct vfs_path p;

	if (!want && o->root && !strcmp(o->root, "/") && getcwd(here, sizeof(here)))
		want = here;
	if (!want)
		return 0;
	if (vfs_resolve(t->fs.vfs, t->fs.root, t->fs.root, want,
			VFS_LOOKUP_FOLLOW | VFS_LOOKUP_DIRECTORY, &p, NULL, NULL)) {
		if (!o->cwd)
			return 0;
		fprintf(stderr, "ksentry: --cwd %s: not a directory in the sandbox\n", want);
		return -ENOENT;
	}
	vfs_path_put(t->cwd);
	t->cwd = p;
	return 0;
}

/* FUSE requests by opcode, those sent at least once. */
static void print_fuse_counts(struct kernel *k, bool json)
{
	const char *sep = "";

	for (uint32_t op = 0; op < KERNEL_FUSE_OPS; op++) {
		uint64_t n = atomic_load(&k->fuse_counts[op]);
		const char *name = op < KERNEL_FUSE_OPS - 1 ? fuse_opcode_name(op) : "other";
		char unknown[32];

		if (!n)
			continue;
		if (!name) {
			snprintf(unknown, sizeof(unknown), "opcode_%u", op);
			name = unknown;
		}
		if (json)
			fprintf(stderr, "%s\"%s\": %lu", sep, name, (unsigned long)n);
		else
			fprintf(stderr, "  %-22s %10lu\n", name, (unsigned long)n);
		sep = ", ";
	}
}

/* --stats: memory by kind (now and peak), then syscall counts and FUSE
 * requests by opcode. */
static void print_stats(const struct run_options *o, struct kernel *k, struct memacct *acct)
{
	bool json = !strcmp(o->stats, "json");
	uint64_t total = 0;
	const char *sep = "";

	fprintf(stderr, json ? "{\"memory\": {" : "ksentry stats\n%-12s %14s %14s\n", "memory",
		"now (bytes)", "peak (bytes)");
	for (int i = 0; i < MEMACCT_NKINDS; i++) {
		uint64_t now = atomic_load(&acct->bytes[i]), peak = memacct_peak(acct, i);

		if (json)
			fprintf(stderr, "%s\"%s\": {\"now\": %lu, \"peak\": %lu}", sep,
				memacct_kind_name(i), (unsigned long)now, (unsigned long)peak);
		else
			fprintf(stderr, "%-12s %14lu %14lu\n", memacct_kind_name(i),
				(unsigned long)now, (unsigned long)peak);
		sep = ", ";
	}
	fprintf(stderr, json ? "}, \"syscalls\": {" : "syscalls\n");
	sep = "";
	for (unsigned nr = 0; nr < ABI_NR_SYSCALLS; nr++) {
		uint64_t n = atomic_load(&k->syscall_counts[nr]);
		const char *name = abi_syscall_names[nr];
		char unknown[32];

		if (!n)
			continue;
		total += n;
		if (!name) {
			snprintf(unknown, sizeof(unknown), "syscall_%u", nr);
			name = unknown;
		}
		if (json)
			fprintf(stderr, "%s\"%s\": %lu", sep, name, (unsigned long)n);
		else
			fprintf(stderr, "  %-22s %10lu\n", name, (unsigned long)n);
		sep = ", ";
	}
	if (json)
		fprintf(stderr, "}, \"syscalls_total\": %lu, \"fuse_requests\": {", (unsigned long)total);
	else
		fprintf(stderr, "  %-22s %10lu\nfuse requests\n", "total", (unsigned long)total);
	print_fuse_counts(k, json);
	fprintf(stderr, json ? "}}\n" : "");
}

/* The --mount and --tmpfs requests, in order.  0 or -1 (said why). */
static int apply_mounts(struct run_options *o, struct kernel *k)
{
	for (int i = 0; i < o->nmounts; i++) {
		char *spec = o->mounts[i], *guest, *mode;
		bool tmpfs = !strncmp(spec, "tmpfs:", 6), rw = false;
		int err;

		if (tmpfs) {
			err = kernel_mount_tmpfs(k, spec + 6);
		} else {
			guest = strchr(spec, ':');
			if (!guest || guest == spec || guest[1] != '/') {
				fprintf(stderr, "ksentry: --mount %s: want HOST:GUEST[:ro] with an "
						"absolute GUEST\n", spec);
				return -1;
			}
			*guest++ = '\0';
			mode = strchr(guest, ':');
			if (mode) {
				*mode++ = '\0';
				if (strcmp(mode, "ro") && strcmp(mode, "rw")) {
					fprintf(stderr, "ksentry: --mount: mode %s is not ro or rw\n",
						mode);
					return -1;
				}
				rw = !strcmp(mode, "rw");
			}
			err = kernel_mount_host(k, spec, guest, rw);
		}
		if (err) {
			fprintf(stderr, "ksentry: %s %s: %s\n", tmpfs ? "--tmpfs" : "--mount",
				tmpfs ? spec + 6 : spec, strerror(-err));
			return -1;
		}
	}
	return 0;
}

static int exit_code(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int run_sandbox(struct run_options *o, int argc, char **argv, int first);

/* Host fds this process has open, or -1. */
static int count_host_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the listing's own */
}

int run_main(int argc, char **argv)
{
	struct run_options o = {.memory = DEFAULT_MEMORY, .platform = "auto", .root = "/"};
	int first = parse_options(argc, argv, &o), r;

	r = first < 0 ? 2 : run_sandbox(&o, argc, argv, first);
	for (int i = 0; i < o.nmounts; i++)
		free(o.mounts[i]);
	return r;
}

/* --leak-check's verdict, once everything is torn down: the guest's
 * exit code @code, or 70 if memory-file bytes or host fds were left. */
static int leak_report(uint64_t left, int fds_before, int code)
{
	int fds_after = count_host_fds();
	bool leaked = left || fds_after != fds_before || fds_before < 0;

	fprintf(stderr, "ksentry: leak check: %lu memory-file bytes left, host fds %d before and %d after%s\n",
		(unsigned long)left, fds_before, fds_after, leaked ? ": LEAK" : "");
	return leaked ? 70 : code;
}

static int run_sandbox(struct run_options *op, int argc, char **argv, int first)
{
	struct run_options o = *op; /* the mount strings stay the caller's to free */
	struct memacct acct;
	struct memfile mf;
	struct platform *platform;
	struct kernel k;
	struct task *t;
	char msg[256];
	int err, status, fds_before;
	uint64_t left;

	if (!getenv("KSENTRY_NO_DEFAULT_ENV")) {
		static char path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
		static char home[] = "HOME=/";

		if (o.nenv + 2 <= MAX_ENV) {
			o.env[o.nenv++] = path;
			o.env[o.nenv++] = home;
		}
	}
	o.env[o.nenv] = NULL;

	fds_before = o.leak_check ? count_host_fds() : 0;
	memacct_init(&acct);
	err = memfile_init(&mf, o.memory, &acct);
	if (err) {
		fprintf(stderr, "ksentry: cannot create the memory file: %s\n", strerror(-err));
		return 1;
	}
	if (!o.no_prefill)
		memfile_prefill(&mf);
	err = run_make_platform(o.platform, o.debug, &mf, &platform);
	if (err)
		goto err_memfile;
	err = kernel_init(&k, &mf, &acct, platform, o.root);
	if (err) {
		fprintf(stderr, "ksentry: cannot set up the sentry: %s\n", strerror(-err));
		goto err_platform;
	}
	k.host_stdio[0] = 0;
	k.host_stdio[1] = 1;
	k.host_stdio[2] = 2;
	k.strace = o.strace ? stderr : NULL;
	fuse_install(&k, &o.fuse);
	if (apply_mounts(&o, &k)) {
		err = -EINVAL;
		goto err_kernel;
	}
	if (o.max_tasks)
		k.max_tasks = o.max_tasks;
	if (o.stats) {
		k.syscall_counts = calloc(ABI_NR_SYSCALLS, sizeof(*k.syscall_counts));
		k.fuse_counts = calloc(KERNEL_FUSE_OPS, sizeof(*k.fuse_counts));
		if (!k.syscall_counts || !k.fuse_counts)
			o.stats = NULL;
	}
	if (o.debug)
		fprintf(stderr, "ksentry: platform %s\n", k.platform->description);

	err = task_create(&k, &t);
	if (err) {
		fprintf(stderr, "ksentry: cannot create the task: %s\n", strerror(-err));
		goto err_kernel;
	}
	if (set_cwd(t, &o)) {
		status = 2 << 8; /* a usage error: the guest never starts */
	} else if ((err = exec_load(t, argv[first], argv + first, o.env, msg, sizeof(msg)))) {
		fprintf(stderr, "ksentry: %s: %s\n", argv[first], msg[0] ? msg : strerror(-err));
		status = err == -ENOENT ? 127 << 8 : 126 << 8;
	} else {
		status = task_run(t);
	}
	/* The first process is gone: the sandbox ends with it. */
	kernel_kill_all(&k, t);
	task_destroy(t);
	if (o.stats)
		print_stats(&o, &k, &acct);
	free(k.syscall_counts);
	free(k.fuse_counts);
	kernel_destroy(&k);
	platform->ops->destroy(platform);
	left = memfile_allocated(&mf);
	memfile_destroy(&mf);
	if (o.leak_check)
		return leak_report(left, fds_before, exit_code(status));
	return exit_code(status);

err_kernel:
	kernel_destroy(&k);
err_platform:
	platform->ops->destroy(platform);
err_memfile:
	memfile_destroy(&mf);
	return 1;
}

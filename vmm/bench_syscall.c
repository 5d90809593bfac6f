/*
 * vmm/bench_syscall.c - `ksentry bench syscall`: what a guest syscall and a
 * guest page fault cost, beside the floor of the platform underneath.
 *
 * Every figure is the median of several rounds.  The same guest code runs
 * twice: on the bare platform, where the host answers each trap with no
 * sentry at all (the floor: trap, set rax, resume), and as a task of the
 * sentry, through the syscall table or the memory manager.  The floor has
 * a minimal VM of its own (a second platform over a memory file of its
 * own: the same stub and doorbell, one code page, nothing else mapped).
 * The ratio is what the sentry adds.  Native figures are the host running
 * the same operation itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <limits.h>
#include <unistd.h>

#include "abi/mman.h"
#include "kernel/task.h"
#include "vmm/bench.h"
#include "vmm/kvm.h"
#include "vmm/run.h"

#define CODE_VA UINT64_C(0x400000)
#define DATA_VA UINT64_C(0x10000000)
#define ROUNDS  7

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Guest: mov $N,%ebx; 1: mov $NR,%eax; syscall; dec %ebx; jnz 1b;
 * mov $231,%eax; xor %edi,%edi; syscall (exit_group). */
static size_t syscall_loop(unsigned char *code, uint32_t n, uint32_t nr)
{
	unsigned char c[] = {0xbb, 0, 0, 0, 0, 0xb8, 0, 0, 0, 0, 0x0f, 0x05, 0xff, 0xcb,
			     0x75, 0xf5, 0xb8, 231, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05};

	memcpy(c + 1, &n, 4);
	memcpy(c + 6, &nr, 4);
	memcpy(code, c, sizeof(c));
	return sizeof(c);
}

/* Guest: touch one byte every @stride bytes of @n pages at DATA_VA, then
 * exit_group.  mov $DATA_VA,%rsi; mov $n,%ecx; 1: movb $1,(%rsi);
 * add $stride,%rsi; dec %ecx; jnz 1b; exit_group(0). */
static size_t touch_loop(unsigned char *code, uint32_t n, uint32_t stride)
{
	unsigned char c[] = {0x48, 0xbe, 0, 0, 0, 0, 0, 0, 0, 0, 0xb9, 0, 0, 0, 0,
			     0xc6, 0x06, 0x01, 0x48, 0x81, 0xc6, 0, 0, 0, 0, 0xff, 0xc9,
			     0x75, 0xf2, 0xb8, 231, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05};
	uint64_t va = DATA_VA;

	memcpy(c + 2, &va, 8);
	memcpy(c + 11, &n, 4);
	memcpy(c + 21, &stride, 4);
	memcpy(code, c, sizeof(c));
	return sizeof(c);
}

struct bench_env {
	struct memacct acct;
	struct memfile mf;
	struct kernel k;
	struct memfile floor_mf; /* the floor's minimal VM */
	struct platform *floor;
};

static int env_init(struct bench_env *e, const char *platform)
{
	struct platform *p;
	int err;

	memacct_init(&e->acct);
	err = memfile_init(&e->mf, UINT64_C(1) << 30, &e->acct);
	if (!err)
		err = memfile_init(&e->floor_mf, UINT64_C(64) << 20, &e->acct);
	if (err)
		return err;
	err = run_make_platform(platform, true, &e->mf, &p);
	if (!err)
		err = run_make_platform(platform, true, &e->floor_mf, &e->floor);
	if (err)
		return err;
	return kernel_init(&e->k, &e->mf, &e->acct, p, NULL);
}

static void env_destroy(struct bench_env *e)
{
	struct platform *p = e->k.platform;

	kernel_destroy(&e->k);
	p->ops->destroy(p);
	e->floor->ops->destroy(e->floor);
	memfile_destroy(&e->floor_mf);
	memfile_destroy(&e->mf);
}

/* --- the floor: bare platform, empty handler --- */

/* Run @code on the floor's bare platform; serve syscalls with rax = 0
 * and faults by mapping @window fresh pages (aligned) around the fault,
 * as the sentry's fault-around does.  @premap pages at DATA_VA are mapped
 * before it starts.  Returns µs per trap, or per page touched when
 * @traps is 0 (@premap pages, no fault expected). */
static double floor_run(struct bench_env *e, const unsigned char *code, size_t len,
			uint32_t traps, uint32_t window, uint32_t premap)
{
	struct platform *p = e->floor;
	struct memfile *mf = &e->floor_mf;
	struct platform_as *as;
	struct platform_context *ctx;
	struct file_range cfr, dfr, pfr = {0, 0}, windows[4096];
	uint32_t nwindows = 0;
	struct platform_trap trap;
	struct abi_regs r;
	double t0, t;
	uint32_t n = 0;

	if (p->ops->new_address_space(p, &as) || p->ops->new_context(p, as, &ctx) ||
	    memfile_alloc(mf, ABI_PAGE_SIZE, ABI_PAGE_SIZE, MEMACCT_ANONYMOUS, &cfr))
		return -1;
	memcpy(memfile_map(mf, cfr), code, len);
	as->ops->map(as, CODE_VA, cfr, PROT_READ | PROT_EXEC);
	if (premap && (memfile_alloc(mf, (uint64_t)premap * ABI_PAGE_SIZE, ABI_PAGE_SIZE,
				     MEMACCT_ANONYMOUS, &pfr) ||
		       as->ops->map(as, DATA_VA, pfr, PROT_READ | PROT_WRITE)))
		return -1;
	memset(&r, 0, sizeof(r));
	r.rip = CODE_VA;
	r.eflags = ABI_EFLAGS_IF;
	t0 = now_us();
	while (!ctx->ops->run(ctx, &r, &trap)) {
		if (trap.kind == PLATFORM_TRAP_SYSCALL) {
			if (r.orig_rax == 231)
				break;
			r.rax = 0;
		} else if (trap.kind == PLATFORM_TRAP_FAULT) {
			uint64_t span = (uint64_t)window * ABI_PAGE_SIZE;

			if (nwindows == sizeof(windows) / sizeof(windows[0]) ||
			    memfile_alloc(mf, span, ABI_PAGE_SIZE, MEMACCT_ANONYMOUS, &dfr))
				break;
			windows[nwindows++] = dfr;
			if (as->ops->map(as, trap.addr / span * span, dfr, PROT_READ | PROT_WRITE))
				break;
		} else {
			break;
		}
		n++;
	}
	t = (now_us() - t0) / (traps ? (n ? n : 1) : premap);
	ctx->ops->destroy(ctx);
	as->ops->destroy(as);
	for (uint32_t i = 0; i < nwindows; i++)
		(void)memfile_free(mf, windows[i]);
	(void)memfile_free(mf, cfr);
	if (premap)
		(void)memfile_free(mf, pfr);
	return n == traps ? t : -1;
}

/* --- the sentry: the same code as a task --- */

/* Run @code as a task of the sentry; @populate backs the data pages first.
 * Returns µs per loop iteration, or -1. */
static double sentry_run(struct bench_env *e, const unsigned char *code, size_t len,
			 uint32_t iters, uint64_t data_len, bool populate)
{
	struct task *t;
	double t0, us;
	int err;

	if (task_create(&e->k, &t))
		return -1;
	err = (int)mm_mmap(t->mm, CODE_VA, ABI_PAGE_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) < 0;
	err = err || mm_copy_out(t->mm, CODE_VA, code, len) ||
	      mm_mprotect(t->mm, CODE_VA, ABI_PAGE_SIZE, PROT_READ | PROT_EXEC);
	if (!err && data_len)
		err = mm_mmap(t->mm, DATA_VA, data_len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) < 0 ||
		      (populate && mm_populate(t->mm, DATA_VA, data_len));
	t->regs.rip = CODE_VA;
	t->regs.eflags = ABI_EFLAGS_IF;
	t0 = now_us();
	if (!err)
		task_run(t);
	us = (now_us() - t0) / iters;
	err = err || t->wait_status != 0;
	kernel_kill_all(&e->k, t);
	task_destroy(t);
	return err ? -1 : us;
}

static double native_getpid(uint32_t n)
{
	double t0 = now_us();

	for (uint32_t i = 0; i < n; i++)
		syscall(SYS_getpid);
	return (now_us() - t0) / n;
}

static double native_clock_gettime(uint32_t n)
{
	struct timespec ts;
	double t0 = now_us();

	for (uint32_t i = 0; i < n; i++)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (now_us() - t0) / n;
}

/* One row: the medians of the sandbox's and the baseline's rounds, and
 * the median of the rounds' own ratios (each round measures both sides
 * back to back, so the machine's drift between rounds cancels). */
static void row(const char *what, const double *sandbox, const double *base,
		const char *base_name)
{
	double s[ROUNDS], b[ROUNDS], r[ROUNDS];
	int n = 0;

	memcpy(s, sandbox, sizeof(s));
	memcpy(b, base ? base : sandbox, sizeof(b));
	for (int i = 0; i < ROUNDS; i++)
		if (base && sandbox[i] > 0 && base[i] > 0)
			r[n++] = sandbox[i] / base[i];
	printf("%-34s %10.2f %12.2f   %-8s", what, median(s, ROUNDS), base ? median(b, ROUNDS) : 0,
	       base_name);
	if (n == ROUNDS)
		printf(" %6.2fx", median(r, n));
	printf("\n");
}

/* procload's "NAME VALUE us/op" lines: the value of @name, or -1. */
static double value_of(const char *out, const char *name)
{
	const char *at = strstr(out, name);
	double v;

	return at && sscanf(at + strlen(name), " %lf", &v) == 1 ? v : -1;
}

/*
 * The process workloads (pipe ping-pong between two processes, fork +
 * exit + wait): the same static program in the sandbox and natively,
 * ROUNDS times each, alternating.
 */
static void process_rows(const char *platform, bool quick)
{
	char self[PATH_MAX], load[PATH_MAX + 32], out[1024], rounds[16], forks[16], *slash;
	double sp[ROUNDS], np[ROUNDS], sf[ROUNDS], nf[ROUNDS], sc[ROUNDS], nc[ROUNDS];
	double spp[ROUNDS], npp[ROUNDS], sg[ROUNDS], ng[ROUNDS];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int r;

	if (n <= 0)
		return;
	self[n] = '\0';
	snprintf(load, sizeof(load), "%s", self);
	slash = strrchr(load, '/');
	if (!slash)
		return;
	snprintf(slash, sizeof(load) - (size_t)(slash - load), "/../test/bench/procload");
	if (access(load, X_OK)) {
		printf("(procload is not built beside ksentry: no process rows)\n");
		return;
	}
	snprintf(rounds, sizeof(rounds), "%d", quick ? 200 : 1000);
	snprintf(forks, sizeof(forks), "%d", quick ? 20 : 100);
	for (r = 0; r < ROUNDS; r++) {
		char *native[] = {load, rounds, forks, NULL};
		char *sandbox[] = {self, "run", "--platform", (char *)platform, load, rounds, forks,
				   NULL};

		if (bench_run_capture(native, out, sizeof(out)))
			return;
		np[r] = value_of(out, "pipe_pingpong");
		npp[r] = value_of(out, "pipe_pingpong_poll");
		nf[r] = value_of(out, "fork_exit_wait");
		nc[r] = value_of(out, "libc_clock_gettime");
		ng[r] = value_of(out, "libc_getcpu");
		if (bench_run_capture(sandbox, out, sizeof(out)))
			return;
		sp[r] = value_of(out, "pipe_pingpong");
		spp[r] = value_of(out, "pipe_pingpong_poll");
		sf[r] = value_of(out, "fork_exit_wait");
		sc[r] = value_of(out, "libc_clock_gettime");
		sg[r] = value_of(out, "libc_getcpu");
	}
	row("pipe ping-pong, two processes", sp, np, "native");
	row("pipe ping-pong, poll before read", spp, npp, "native");
	row("fork + exit + wait", sf, nf, "native");
	row("clock_gettime via libc (vDSO)", sc, nc, "native");
	row("sched_getcpu via libc (vDSO)", sg, ng, "native");
}

int bench_syscall_main(int argc, char **argv)
{
	const char *platform = "auto";
	bool quick = false;
	uint32_t n = 3000, pages = 256;
	double s_getpid[ROUNDS], f_getpid[ROUNDS], n_getpid[ROUNDS], s_clock[ROUNDS];
	double n_clock[ROUNDS], s_fault[ROUNDS], f_fault[ROUNDS], s_touch[ROUNDS];
	double s_seq[ROUNDS], f_fault1[ROUNDS], f_touch[ROUNDS];
	unsigned char code[128];
	struct bench_env e;
	size_t len;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			quick = true;
		} else if (!strcmp(argv[i], "--platform") && i + 1 < argc) {
			platform = argv[++i];
		} else {
			fprintf(stderr, "usage: ksentry bench syscall [--quick] [--platform NAME]\n");
			return 2;
		}
	}
	if (quick) {
		n = 500;
		pages = 64;
	}
	err = env_init(&e, platform);
	if (err) {
		fprintf(stderr, "bench: cannot set up: %s\n", strerror(-err));
		return 1;
	}
	printf("ksentry bench syscall%s: platform %s\n", quick ? " --quick" : "",
	       e.k.platform->description);
	printf("median of %d rounds, microseconds per operation\n\n", ROUNDS);
	for (int i = 0; i < ROUNDS; i++) {
		len = syscall_loop(code, n, __NR_getpid);
		s_getpid[i] = sentry_run(&e, code, len, n, 0, false);
		f_getpid[i] = floor_run(&e, code, len, n, 1, 0);
		n_getpid[i] = native_getpid(n * 10);
		len = syscall_loop(code, n, __NR_clock_gettime);
		s_clock[i] = sentry_run(&e, code, len, n, 0, false);
		n_clock[i] = native_clock_gettime(n * 10);
		/* One fault per fault-around window, so each touch is a fault;
		 * a window apart, so that the windows do not grow (in order). */
		len = touch_loop(code, pages, 2 * MM_FAULT_AROUND * ABI_PAGE_SIZE);
		s_fault[i] = sentry_run(&e, code, len, pages,
					(uint64_t)pages * 2 * MM_FAULT_AROUND * ABI_PAGE_SIZE, false);
		f_fault[i] = floor_run(&e, code, len, pages, MM_FAULT_AROUND, 0);
		len = touch_loop(code, pages, ABI_PAGE_SIZE);
		f_fault1[i] = floor_run(&e, code, len, pages, 1, 0);
		f_touch[i] = floor_run(&e, code, len, 0, 1, pages);
		s_touch[i] = sentry_run(&e, code, len, pages, (uint64_t)pages * ABI_PAGE_SIZE,
					true);
		s_seq[i] = sentry_run(&e, code, len, pages, (uint64_t)pages * ABI_PAGE_SIZE,
				      false);
	}
	printf("%-34s %10s %12s   %-8s %7s\n", "operation", "sandbox", "baseline", "of", "ratio");
	row("getpid round trip", s_getpid, f_getpid, "floor");
	row("getpid", s_getpid, n_getpid, "native");
	row("clock_gettime(MONOTONIC)", s_clock, n_clock,
	    "native");
	row("page fault, 16-page window", s_fault, f_fault,
	    "floor");
	row("fresh memory touched in order/page", s_seq, f_fault1,
	    "floor/1");
	row("first touch of a pre-mapped page", s_touch, f_touch,
	    "floor");
	process_rows(platform, quick);
	printf("\nfloor: the same guest code on the bare platform, the host answering\n"
	       "each trap with nothing but the register write, or by mapping the\n"
	       "16-page window around the fault as the sandbox does (floor/1: only\n"
	       "the page that faulted, so every page is a fault), in a minimal VM of\n"
	       "its own; for the pre-mapped page, the pages mapped before the run.\n");
	env_destroy(&e);
	return 0;
}

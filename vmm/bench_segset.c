/*
 * vmm/bench_segset.c - cost of segment-set and frame-reference-set
 * operations, in a set of 1 segment and in a set of 1,000,000.
 *
 * Each figure is the median of several rounds of a tight loop, with the
 * lowest and highest round beside it; keys are drawn from a fixed-seed
 * generator so runs are comparable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/frame_ref.h"
#include "vmm/bench.h"

#define PG     ABI_PAGE_SIZE
#define ROUNDS 7

static bool never_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	return false;
}
static const struct segset_ops plain_ops = {.value_size = sizeof(uint64_t), .merge = never_merge};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct fixture {
	struct segset set;          /* n one-page segments at even pages */
	struct frame_ref_set refs;  /* n one-page references at even pages */
	struct memacct acct;
	uint64_t n;
};

typedef void (*bench_fn)(struct fixture *f, long iters);

/* Find a random key. */
static void op_find(struct fixture *f, long iters)
{
	volatile uintptr_t sink = 0;

	for (long i = 0; i < iters; i++)
		sink += (uintptr_t)segset_find(&f->set, (rng() % (2 * f->n)) * PG, NULL);
	(void)sink;
}

/* Insert a segment into a random odd-page gap, then remove it. */
static void op_insert_remove(struct fixture *f, long iters)
{
	uint64_t v = 1;

	for (long i = 0; i < iters; i++) {
		uint64_t p = (rng() % f->n) * 2 + 1;
		struct segset_seg *seg =
			segset_insert_range(&f->set, file_range_make(p * PG, (p + 1) * PG), &v);

		if (!abi_is_err(seg))
			segset_remove(&f->set, seg);
	}
}

/* Walk every segment in order. */
static void op_iterate(struct fixture *f, long iters)
{
	volatile uint64_t sink = 0;
	struct segset_seg *seg;

	for (long i = 0; i < iters; i++)
		segset_for_each(seg, &f->set)
			sink += seg->range.start;
	(void)sink;
}

/* inc then dec of one referenced page: split, count, merge back. */
static void op_ref_one(struct fixture *f, long iters)
{
	for (long i = 0; i < iters; i++) {
		uint64_t p = (rng() % f->n) * 2;
		struct file_range r = file_range_make(p * PG, (p + 1) * PG);

		if (frame_ref_set_inc_ref_and_account(&f->refs, r, &f->acct) ||
		    frame_ref_set_dec_ref_and_account(&f->refs, r, &f->acct))
			abort(); /* a benchmark on a broken set measures nothing */
	}
}

/* inc then dec of 32 pages: 16 segments and 16 gaps. */
static void op_ref_span(struct fixture *f, long iters)
{
	for (long i = 0; i < iters; i++) {
		uint64_t p = f->n > 16 ? (rng() % (f->n - 16)) * 2 : 0;
		struct file_range r = file_range_make(p * PG, (p + 32) * PG);

		if (frame_ref_set_inc_ref_and_account(&f->refs, r, &f->acct) ||
		    frame_ref_set_dec_ref_and_account(&f->refs, r, &f->acct))
			abort();
	}
}

static int fixture_init(struct fixture *f, uint64_t n)
{
	uint64_t one = 1;

	memset(f, 0, sizeof(*f));
	f->n = n;
	memacct_init(&f->acct);
	segset_init(&f->set, &plain_ops);
	frame_ref_set_init(&f->refs);
	for (uint64_t i = 0; i < n; i++) {
		struct file_range r = file_range_make(2 * i * PG, (2 * i + 1) * PG);

		if (abi_is_err(segset_insert(&f->set, segset_last_gap(&f->set), r, &one)) ||
		    frame_ref_set_inc_ref_and_account(&f->refs, r, &f->acct))
			return -ENOMEM;
	}
	return 0;
}

static void fixture_destroy(struct fixture *f)
{
	segset_clear(&f->set);
	frame_ref_set_clear(&f->refs, &f->acct);
}

/* Median, min and max ns per op over ROUNDS rounds of @iters. */
static void measure(struct fixture *f, bench_fn fn, long iters, double out[3])
{
	double r[ROUNDS];

	fn(f, iters / 10 + 1); /* warm up */
	for (int i = 0; i < ROUNDS; i++) {
		double t0 = now_ns();

		fn(f, iters);
		r[i] = (now_ns() - t0) / iters;
	}
	qsort(r, ROUNDS, sizeof(r[0]), cmp_double);
	out[0] = r[ROUNDS / 2];
	out[1] = r[0];
	out[2] = r[ROUNDS - 1];
}

int bench_segset_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		bench_fn fn;
		long iters;
	} ops[] = {
		{"segset find (random key)", op_find, 200000},
		{"segset insert + remove in a gap", op_insert_remove, 100000},
		{"segset iterate, per segment", op_iterate, 1},
		{"frame_ref inc+dec, 1 page", op_ref_one, 100000},
		{"frame_ref inc+dec, 32 pages / 16 segs", op_ref_span, 20000},
	};
	static const uint64_t sizes[] = {1, 1000000};
	bool quick = argc > 1 && !strcmp(argv[1], "--quick");
	static struct fixture f;

	printf("ksentry bench segset%s: ns per operation, median of %d rounds [min, max]\n",
	       quick ? " --quick" : "", ROUNDS);
	printf("%-40s %28s %28s\n", "operation", "1 segment", "1,000,000 segments");
	for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
		printf("%-40s", ops[o].name);
		for (size_t s = 0; s < 2; s++) {
			uint64_t n = quick && s ? 10000 : sizes[s];
			long iters = ops[o].iters;
			double r[3];

			if (fixture_init(&f, n)) {
				fprintf(stderr, "bench: out of memory building %lu segments\n", n);
				return 1;
			}
			if (ops[o].fn == op_iterate)
				iters = (long)(1000000 / n); /* walks; reported per segment */
			measure(&f, ops[o].fn, iters, r);
			if (ops[o].fn == op_iterate)
				for (int i = 0; i < 3; i++)
					r[i] /= (double)n;
			printf(" %10.1f [%6.1f, %7.1f]", r[0], r[1], r[2]);
			fixture_destroy(&f);
		}
		printf("\n");
	}
	return 0;
}

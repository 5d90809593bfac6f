/*
 * Randomised differential tests: 100,000 random operations on a segment set
 * against a brute-force model that stores one value per page, checking
 * after every step that the set is sorted, non-overlapping, agrees with the
 * model page by page, and is merged wherever the merge hook would allow.
 *
 * Two kinds of value: counts (merge when equal) and page-cache offsets
 * (merge when contiguous in the memory file, split adjusts the offset).
 * Each runs once near key 0 and once at the top of the uint64 space.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "platform/segset.h"

#define NPAGES 256
#define PG     ABI_PAGE_SIZE
#define STEPS  100000

static bool count_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	return *(uint64_t *)lv == *(const uint64_t *)rv;
}
static const struct segset_ops count_ops = {.value_size = 8, .merge = count_merge};

static bool cache_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	return *(uint64_t *)lv + file_range_len(lr) == *(const uint64_t *)rv;
}
static void cache_split(struct file_range r, void *v, uint64_t at, void *right)
{
	*(uint64_t *)right = *(uint64_t *)v + (at - r.start);
}
static const struct segset_ops cache_ops = {.value_size = 8, .merge = cache_merge,
					    .split = cache_split};

struct model {
	const struct segset_ops *ops;
	bool cache;           /* value of page i is seg value + offset into seg */
	uint64_t base;        /* key of page 0 */
	bool used[NPAGES];
	uint64_t val[NPAGES]; /* per page: the count, or the memory-file offset */
};

static uint64_t key(const struct model *m, unsigned page)
{
	return m->base + (uint64_t)page * PG;
}

static uint64_t seg_page_value(const struct model *m, struct segset_seg *seg, uint64_t k)
{
	uint64_t v = *(uint64_t *)segset_seg_value(seg);

	return m->cache ? v + (k - segset_seg_range(seg).start) : v;
}

/* Check @s against @m; when @merged, no two neighbours may be mergeable. */
static void check(struct segset *s, const struct model *m, bool merged, int step)
{
	bool seen[NPAGES] = {0};
	struct segset_seg *seg;

	cr_assert_eq(segset_check(s), 0, "step %d: tree invariants", step);
	segset_for_each(seg, s)
	{
		struct file_range r = segset_seg_range(seg);

		cr_assert(r.start >= m->base && r.end <= key(m, NPAGES), "step %d: out of window",
			  step);
		cr_assert(file_range_page_aligned(r) && !file_range_empty(r), "step %d", step);
		for (uint64_t k = r.start; k < r.end; k += PG) {
			unsigned p = (unsigned)((k - m->base) / PG);

			cr_assert(m->used[p], "step %d: page %u in set, not in model", step, p);
			cr_assert_eq(seg_page_value(m, seg, k), m->val[p], "step %d: page %u value",
				     step, p);
			seen[p] = true;
		}
		if (merged && segset_next(seg)) {
			struct segset_seg *n = segset_next(seg);
			uint64_t lv = *(uint64_t *)segset_seg_value(seg);

			cr_assert(!(r.end == segset_seg_range(n).start &&
				    m->ops->merge(r, &lv, segset_seg_range(n), segset_seg_value(n))),
				  "step %d: mergeable neighbours left apart at %lx", step, r.end);
		}
	}
	for (unsigned p = 0; p < NPAGES; p++)
		cr_assert_eq(seen[p], m->used[p], "step %d: page %u missing from set", step, p);
}

static void random_range(unsigned *a, unsigned *b)
{
	*a = (unsigned)rand() % NPAGES;
	*b = *a + 1 + (unsigned)rand() % (rand() % 4 ? 8 : NPAGES);
	if (*b > NPAGES)
		*b = NPAGES;
}

/* Value for a new segment at page @a: counts come from a small alphabet so
 * that equal neighbours are common; offsets are often contiguous with the
 * page before. */
static uint64_t new_value(const struct model *m, unsigned a)
{
	if (!m->cache)
		return 1 + (uint64_t)(rand() % 3);
	if (a > 0 && m->used[a - 1] && rand() % 2)
		return m->val[a - 1] + PG;
	return (uint64_t)(rand() % 64) * PG * 4;
}

static void op_insert(struct segset *s, struct model *m, int step)
{
	unsigned a, b;
	bool free_ = true;
	uint64_t v;
	struct segset_seg *seg;

	random_range(&a, &b);
	for (unsigned p = a; p < b; p++)
		free_ &= !m->used[p];
	v = new_value(m, a);
	seg = segset_insert_range(s, file_range_make(key(m, a), key(m, b)), &v);
	if (!free_) {
		cr_assert_eq(abi_ptr_err(seg), -EEXIST, "step %d", step);
		return;
	}
	cr_assert(!abi_is_err(seg), "step %d: insert failed", step);
	for (unsigned p = a; p < b; p++) {
		m->used[p] = true;
		m->val[p] = m->cache ? v + (uint64_t)(p - a) * PG : v;
	}
}

static void op_remove_range(struct segset *s, struct model *m, int step)
{
	unsigned a, b;
	struct segset_gap g;

	random_range(&a, &b);
	cr_assert_eq(segset_remove_range(s, file_range_make(key(m, a), key(m, b)), &g), 0);
	cr_assert(file_range_is_superset(segset_gap_range(g),
					 file_range_make(key(m, a), key(m, b))),
		  "step %d: returned gap covers the range", step);
	for (unsigned p = a; p < b; p++)
		m->used[p] = false;
}

/* Split somewhere, check, then merge back around the key. */
static void op_split_then_merge(struct segset *s, struct model *m, int step)
{
	unsigned p = (unsigned)rand() % NPAGES;
	uint64_t k = key(m, p);

	cr_assert_eq(segset_split_at(s, k), 0);
	check(s, m, false, step);
	segset_merge_adjacent(s, file_range_make(k, k + PG));
}

/* Isolate the first segment in a range, then put it back together. */
static void op_isolate(struct segset *s, struct model *m, int step)
{
	unsigned a, b;
	struct file_range r;
	struct segset_seg *seg;

	random_range(&a, &b);
	r = file_range_make(key(m, a), key(m, b));
	seg = segset_lower_bound_seg(s, r.start);
	if (!seg || !file_range_overlaps(segset_seg_range(seg), r))
		return;
	seg = segset_isolate(s, seg, r);
	cr_assert(!abi_is_err(seg));
	cr_assert(file_range_is_superset(r, segset_seg_range(seg)), "step %d: isolated", step);
	check(s, m, false, step);
	segset_merge_range(s, file_range_make(m->base, key(m, NPAGES)));
}

/* Lookups agree with the model. */
static void op_find(struct segset *s, struct model *m, int step)
{
	unsigned p = (unsigned)rand() % NPAGES;
	struct segset_gap g;
	struct segset_seg *seg = segset_find(s, key(m, p) + (uint64_t)(rand() % PG), &g);

	cr_assert_eq(seg != NULL, m->used[p], "step %d: find page %u", step, p);
	if (!seg) {
		struct file_range gr = segset_gap_range(g);

		cr_assert(file_range_contains(gr, key(m, p)), "step %d: gap holds key", step);
		cr_assert(gr.start <= m->base || m->used[(gr.start - m->base) / PG - 1]);
	}
	seg = segset_lower_bound_seg(s, key(m, p));
	for (unsigned q = p; q < NPAGES && !m->used[q]; q++)
		if (q == NPAGES - 1)
			cr_assert_null(seg, "step %d: lower bound past the end", step);
}

static void run(const struct segset_ops *ops, bool cache, uint64_t base, unsigned seed)
{
	static struct model m;
	struct segset s;

	srand(seed);
	memset(&m, 0, sizeof(m));
	m.ops = ops;
	m.cache = cache;
	m.base = base;
	segset_init(&s, ops);
	for (int step = 0; step < STEPS; step++) {
		switch (rand() % 6) {
		case 0:
		case 1:
			op_insert(&s, &m, step);
			break;
		case 2:
			op_remove_range(&s, &m, step);
			break;
		case 3:
			op_split_then_merge(&s, &m, step);
			break;
		case 4:
			op_isolate(&s, &m, step);
			break;
		default:
			op_find(&s, &m, step);
			break;
		}
		check(&s, &m, true, step);
	}
	segset_clear(&s);
}

#define TOP_BASE ((UINT64_MAX & ~ABI_PAGE_MASK) - NPAGES * PG)

Test(segset_random, counts_near_zero, .timeout = 120)
{
	run(&count_ops, false, 0, 1);
}

Test(segset_random, counts_at_the_top, .timeout = 120)
{
	run(&count_ops, false, TOP_BASE, 2);
}

Test(segset_random, page_cache_offsets, .timeout = 120)
{
	run(&cache_ops, true, 1 << 20, 3);
}

Test(segset_random, page_cache_offsets_at_the_top, .timeout = 120)
{
	run(&cache_ops, true, TOP_BASE, 4);
}

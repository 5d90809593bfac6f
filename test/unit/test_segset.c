/*
 * Unit tests for platform/segset.h: each operation, with the three kinds of
 * value the sentry uses (counts, page-cache offsets, VMA-like structs).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "platform/segset.h"

#define R(a, b) file_range_make((a), (b))
#define TOP UINT64_MAX

/* Counts: merge when equal, split copies. */
static bool u64_eq_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	return *(uint64_t *)lv == *(const uint64_t *)rv;
}
static const struct segset_ops count_ops = {.value_size = sizeof(uint64_t), .merge = u64_eq_merge};

/* Page cache: value is the memory-file offset of the segment's start; merge
 * only when the right one continues the left one in the memory file. */
static bool cache_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	return *(uint64_t *)lv + file_range_len(lr) == *(const uint64_t *)rv;
}
static void cache_split(struct file_range r, void *v, uint64_t at, void *right)
{
	*(uint64_t *)right = *(uint64_t *)v + (at - r.start);
}
static const struct segset_ops cache_ops = {
	.value_size = sizeof(uint64_t), .merge = cache_merge, .split = cache_split};

/* VMA-like struct: merge when every field is equal. */
struct vma {
	unsigned prot;
	int shared;
	char name[40];
};
static bool vma_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	return memcmp(lv, rv, sizeof(struct vma)) == 0;
}
static const struct segset_ops vma_ops = {.value_size = sizeof(struct vma), .merge = vma_merge};

static struct segset set;

static void setup_count(void)
{
	segset_init(&set, &count_ops);
}
static void teardown(void)
{
	cr_assert_eq(segset_check(&set), 0, "invariants");
	segset_clear(&set);
}

static struct segset_seg *ins(uint64_t a, uint64_t b, uint64_t v)
{
	struct segset_seg *seg = segset_insert_range(&set, R(a, b), &v);

	cr_assert(!abi_is_err(seg), "insert [%lu,%lu) failed: %ld", a, b, abi_ptr_err(seg));
	cr_assert_eq(segset_check(&set), 0);
	return seg;
}

static uint64_t val(struct segset_seg *seg)
{
	return *(uint64_t *)segset_seg_value(seg);
}

static void assert_range(struct file_range r, uint64_t a, uint64_t b)
{
	cr_assert_eq(r.start, a, "start %lu != %lu", r.start, a);
	cr_assert_eq(r.end, b, "end %lu != %lu", r.end, b);
}

TestSuite(segset, .init = setup_count, .fini = teardown);

Test(segset, empty_set_is_one_gap)
{
	struct segset_gap g;

	cr_assert_eq(segset_count(&set), 0);
	cr_assert_null(segset_first(&set));
	cr_assert_null(segset_find(&set, 12345, &g));
	assert_range(segset_gap_range(g), 0, TOP);
	assert_range(segset_gap_range(segset_first_gap(&set)), 0, TOP);
	cr_assert(!segset_gap_ok(segset_gap_next_gap(g)));
	cr_assert_null(segset_lower_bound_seg(&set, 0));
	cr_assert_null(segset_upper_bound_seg(&set, TOP));
}

Test(segset, find_at_boundaries)
{
	struct segset_seg *s = ins(100, 200, 7);
	struct segset_gap g;

	cr_assert_eq(segset_find(&set, 100, NULL), s);
	cr_assert_eq(segset_find(&set, 199, NULL), s);
	cr_assert_null(segset_find(&set, 200, &g));
	assert_range(segset_gap_range(g), 200, TOP);
	cr_assert_null(segset_find(&set, 99, &g));
	assert_range(segset_gap_range(g), 0, 100);
	cr_assert(!segset_gap_ok(segset_find_gap(&set, 150)));
}

Test(segset, insert_merges_equal_neighbours_only)
{
	ins(0, 10, 1);
	ins(20, 30, 1);
	ins(10, 20, 1); /* joins both sides */
	cr_assert_eq(segset_count(&set), 1);
	assert_range(segset_seg_range(segset_first(&set)), 0, 30);
	ins(30, 40, 2); /* different value: stays apart */
	cr_assert_eq(segset_count(&set), 2);
	ins(50, 60, 2); /* not adjacent: stays apart */
	cr_assert_eq(segset_count(&set), 3);
}

Test(segset, insert_merges_into_next_only)
{
	struct segset_seg *s;

	ins(10, 20, 5);
	s = ins(0, 10, 5);
	cr_assert_eq(segset_count(&set), 1);
	assert_range(segset_seg_range(s), 0, 20);
	cr_assert_eq(val(s), 5);
}

Test(segset, insert_without_merging_keeps_segments_apart)
{
	uint64_t one = 1;
	struct segset_gap g;

	ins(0, 10, 1);
	segset_find(&set, 10, &g);
	cr_assert(!abi_is_err(segset_insert_without_merging(&set, g, R(10, 20), &one)));
	cr_assert_eq(segset_count(&set), 2);
	segset_merge_range(&set, R(0, 20));
	cr_assert_eq(segset_count(&set), 1, "merge_range joins them afterwards");
}

Test(segset, insert_rejects_bad_ranges)
{
	uint64_t v = 1;
	struct segset_gap g;

	ins(100, 200, 1);
	cr_assert_eq(abi_ptr_err(segset_insert_range(&set, R(150, 160), &v)), -EEXIST);
	cr_assert_eq(abi_ptr_err(segset_insert_range(&set, R(50, 101), &v)), -EEXIST);
	cr_assert_eq(abi_ptr_err(segset_insert_range(&set, R(50, 300), &v)), -EEXIST);
	cr_assert_eq(abi_ptr_err(segset_insert_range(&set, R(50, 50), &v)), -EINVAL);
	cr_assert_eq(abi_ptr_err(segset_insert_range(&set, R(60, 50), &v)), -EINVAL);
	segset_find(&set, 0, &g);
	cr_assert_eq(abi_ptr_err(segset_insert(&set, g, R(300, 400), &v)), -EINVAL,
		     "range outside the gap");
	cr_assert_eq(segset_count(&set), 1);
}

Test(segset, ranges_at_zero_and_at_the_top)
{
	struct segset_gap g;

	ins(0, 4096, 1);
	ins(TOP - 4096, TOP, 2);
	assert_range(segset_gap_range(segset_first_gap(&set)), 0, 0);
	g = segset_last_gap(&set);
	assert_range(segset_gap_range(g), TOP, TOP);
	cr_assert_eq(segset_find(&set, TOP - 1, NULL), segset_last(&set));
	cr_assert_null(segset_find(&set, TOP, &g));
	assert_range(segset_gap_range(segset_first_gap(&set)), 0, 0);
	g = segset_gap_next_non_empty(segset_first_gap(&set));
	assert_range(segset_gap_range(g), 4096, TOP - 4096);
	cr_assert(!segset_gap_ok(segset_gap_next_non_empty(g)));
}

Test(segset, remove_returns_the_merged_gap)
{
	struct segset_seg *s;
	struct segset_gap g;

	ins(0, 10, 1);
	s = ins(20, 30, 2);
	ins(40, 50, 3);
	g = segset_remove(&set, s);
	assert_range(segset_gap_range(g), 10, 40);
	cr_assert_eq(segset_count(&set), 2);
}

Test(segset, remove_range_spanning_segments_and_gaps)
{
	struct segset_gap g;

	ins(0, 10, 1);
	ins(20, 30, 2);
	ins(40, 50, 3);
	ins(60, 70, 4);
	cr_assert_eq(segset_remove_range(&set, R(5, 65), &g), 0);
	assert_range(segset_gap_range(g), 5, 65);
	cr_assert_eq(segset_count(&set), 2);
	assert_range(segset_seg_range(segset_first(&set)), 0, 5);
	assert_range(segset_seg_range(segset_last(&set)), 65, 70);
	cr_assert_eq(val(segset_last(&set)), 4);
	cr_assert_eq(segset_remove_range(&set, R(9, 3), NULL), -EINVAL);
}

Test(segset, remove_range_inside_one_segment_splits_it)
{
	ins(0, 100, 9);
	cr_assert_eq(segset_remove_range(&set, R(40, 60), NULL), 0);
	cr_assert_eq(segset_count(&set), 2);
	assert_range(segset_seg_range(segset_first(&set)), 0, 40);
	assert_range(segset_seg_range(segset_last(&set)), 60, 100);
	cr_assert_eq(val(segset_last(&set)), 9);
}

Test(segset, isolate_exact_and_inner)
{
	struct segset_seg *s = ins(100, 200, 3), *i;

	i = segset_isolate(&set, s, R(100, 200));
	cr_assert_eq(i, s, "range equal to the segment: no split");
	cr_assert_eq(segset_count(&set), 1);
	i = segset_isolate(&set, s, R(50, 150));
	assert_range(segset_seg_range(i), 100, 150);
	cr_assert_eq(segset_count(&set), 2);
	i = segset_isolate(&set, segset_last(&set), R(160, 170));
	assert_range(segset_seg_range(i), 160, 170);
	cr_assert_eq(segset_count(&set), 4);
	cr_assert_eq(val(i), 3);
	cr_assert_eq(abi_ptr_err(segset_isolate(&set, i, R(0, 10))), -EINVAL);
	segset_merge_range(&set, R(0, TOP));
	cr_assert_eq(segset_count(&set), 1);
}

Test(segset, split_and_split_at)
{
	struct segset_seg *s = ins(0, 100, 1), *l, *r;

	cr_assert_eq(segset_split(&set, s, 0, &l, &r), 0);
	cr_assert(l == s && r == s, "split at the start is a no-op");
	cr_assert_eq(segset_split(&set, s, 100, &l, &r), 0);
	cr_assert_eq(segset_count(&set), 1);
	cr_assert_eq(segset_split(&set, s, 30, &l, &r), 0);
	assert_range(segset_seg_range(l), 0, 30);
	assert_range(segset_seg_range(r), 30, 100);
	cr_assert_eq(segset_split_at(&set, 60), 0);
	cr_assert_eq(segset_count(&set), 3);
	cr_assert_eq(segset_split_at(&set, 500), 0, "no segment there: nothing to do");
	cr_assert_eq(segset_count(&set), 3);
}

Test(segset, merge_adjacent_around_a_range)
{
	struct segset_seg *s = ins(0, 100, 1);

	segset_isolate(&set, s, R(40, 60));
	cr_assert_eq(segset_count(&set), 3);
	segset_merge_adjacent(&set, R(40, 60));
	cr_assert_eq(segset_count(&set), 1);
	assert_range(segset_seg_range(segset_first(&set)), 0, 100);
}

Test(segset, merge_refuses_unequal_or_distant)
{
	struct segset_seg *a = ins(0, 10, 1), *b = ins(10, 20, 2), *c = ins(30, 40, 2);

	cr_assert_null(segset_merge(&set, a, b));
	cr_assert_null(segset_merge(&set, b, c), "not adjacent");
	cr_assert_null(segset_merge(&set, a, c), "not neighbours");
}

Test(segset, bounds)
{
	struct segset_seg *a = ins(10, 20, 1), *b = ins(30, 40, 2);

	cr_assert_eq(segset_lower_bound_seg(&set, 0), a);
	cr_assert_eq(segset_lower_bound_seg(&set, 15), a);
	cr_assert_eq(segset_lower_bound_seg(&set, 20), b);
	cr_assert_null(segset_lower_bound_seg(&set, 40));
	cr_assert_null(segset_upper_bound_seg(&set, 9));
	cr_assert_eq(segset_upper_bound_seg(&set, 25), a);
	cr_assert_eq(segset_upper_bound_seg(&set, 35), b);
	assert_range(segset_gap_range(segset_lower_bound_gap(&set, 15)), 20, 30);
	assert_range(segset_gap_range(segset_upper_bound_gap(&set, 15)), 0, 10);
	assert_range(segset_gap_range(segset_lower_bound_gap(&set, 25)), 20, 30);
}

Test(segset, walking_segments_and_gaps)
{
	struct segset_seg *a = ins(10, 20, 1), *b = ins(20, 30, 2), *c = ins(40, 50, 3), *n;
	struct segset_gap g;

	cr_assert_eq(segset_next(a), b);
	cr_assert_eq(segset_prev(c), b);
	cr_assert_null(segset_next(c));
	g = segset_seg_next_gap(&set, a);
	cr_assert(file_range_empty(segset_gap_range(g)));
	cr_assert_eq(segset_gap_next_seg(g), b);
	cr_assert_eq(segset_gap_prev_seg(g), a);
	assert_range(segset_gap_range(segset_gap_next_gap(g)), 30, 40);
	assert_range(segset_gap_range(segset_gap_prev_gap(g)), 0, 10);
	cr_assert(!segset_gap_ok(segset_gap_prev_gap(segset_first_gap(&set))));

	segset_seg_next_non_empty(&set, a, &n, &g);
	cr_assert_eq(n, b, "a is followed directly by b");
	cr_assert(!segset_gap_ok(g));
	segset_seg_next_non_empty(&set, b, &n, &g);
	cr_assert_null(n);
	assert_range(segset_gap_range(g), 30, 40);

	g = segset_gap_next_large_enough(segset_first_gap(&set), 11);
	assert_range(segset_gap_range(g), 50, TOP);
}

Test(segset, many_segments_stay_balanced)
{
	uint64_t i;

	for (i = 0; i < 5000; i++)
		ins(i * 20, i * 20 + 10, i);
	cr_assert_eq(segset_count(&set), 5000);
	cr_assert_leq(set.root->height, 18, "AVL height bound for 5000 nodes");
	for (i = 0; i < 5000; i += 2)
		segset_remove(&set, segset_find(&set, i * 20, NULL));
	cr_assert_eq(segset_count(&set), 2500);
	cr_assert_eq(segset_check(&set), 0);
	segset_clear(&set);
	cr_assert_eq(segset_count(&set), 0);
}

/* --- page cache values --- */

Test(segset_cache, split_adjusts_offset_and_merge_needs_contiguity)
{
	struct segset s;
	uint64_t off = 1 << 20;
	struct segset_seg *seg, *r;

	segset_init(&s, &cache_ops);
	seg = segset_insert_range(&s, R(0, 8192), &off);
	cr_assert_eq(segset_split(&s, seg, 4096, NULL, &r), 0);
	cr_assert_eq(*(uint64_t *)segset_seg_value(r), (1 << 20) + 4096);
	cr_assert_not_null(segset_merge(&s, seg, r), "contiguous halves merge back");
	off = 5 << 20; /* file-adjacent, but not contiguous in the memory file */
	segset_insert_range(&s, R(8192, 12288), &off);
	cr_assert_eq(segset_count(&s), 2);
	off = (1 << 20) + 16384; /* contiguous in both */
	segset_insert_range(&s, R(16384, 20480), &off);
	cr_assert_eq(segset_remove_range(&s, R(8192, 12288), NULL), 0);
	off = (1 << 20) + 8192;
	segset_insert_range(&s, R(8192, 16384), &off);
	cr_assert_eq(segset_count(&s), 1, "fills the hole contiguously: one segment");
	cr_assert_eq(segset_check(&s), 0);
	segset_clear(&s);
}

/* --- struct values --- */

Test(segset_vma, struct_values_merge_when_equal)
{
	struct segset s;
	struct vma v = {.prot = 3, .shared = 0, .name = "[heap]"};
	struct segset_seg *seg;

	segset_init(&s, &vma_ops);
	segset_insert_range(&s, R(0x1000, 0x2000), &v);
	segset_insert_range(&s, R(0x2000, 0x3000), &v);
	cr_assert_eq(segset_count(&s), 1);
	v.prot = 1;
	seg = segset_insert_range(&s, R(0x3000, 0x4000), &v);
	cr_assert_eq(segset_count(&s), 2);
	cr_assert_str_eq(((struct vma *)segset_seg_value(seg))->name, "[heap]");
	cr_assert_eq(((struct vma *)segset_seg_value(seg))->prot, 1);
	cr_assert_eq(segset_check(&s), 0);
	segset_clear(&s);
}

/*
 * Unit tests for platform/frame_ref.h, and a randomised differential test
 * of 100,000 inc/dec operations against a per-page count model, checking
 * after every step that the set is sorted, non-overlapping, merged where
 * counts are equal, agrees with the model, and that Mapped equals the page
 * size times the number of pages with a count above zero.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "platform/frame_ref.h"

#define PG     ABI_PAGE_SIZE
#define R(a, b) file_range_make((a) * PG, (b) * PG)

static struct memacct acct;
static struct frame_ref_set set;

static void setup(void)
{
	memacct_init(&acct);
	frame_ref_set_init(&set);
}

static void teardown(void)
{
	frame_ref_set_clear(&set, &acct);
	cr_assert_eq(memacct_get(&acct, MEMACCT_MAPPED), 0, "clear uncharges");
}

TestSuite(frame_ref, .init = setup, .fini = teardown);

static uint64_t mapped_pages(void)
{
	return memacct_get(&acct, MEMACCT_MAPPED) / PG;
}

Test(frame_ref, gaps_become_count_one_and_are_charged)
{
	cr_assert_eq(frame_ref_set_inc_ref_and_account(&set, R(0, 4), &acct), 0);
	cr_assert_eq(mapped_pages(), 4);
	cr_assert_eq(segset_count(&set.set), 1);
	cr_assert_eq(frame_ref_set_count_at(&set, 3 * PG), 1);
	cr_assert_eq(frame_ref_set_count_at(&set, 4 * PG), 0);
}

Test(frame_ref, overlapping_ranges_split_and_count)
{
	cr_assert_eq(frame_ref_set_inc_ref_and_account(&set, R(0, 4), &acct), 0);
	cr_assert_eq(frame_ref_set_inc_ref_and_account(&set, R(2, 6), &acct), 0);
	cr_assert_eq(mapped_pages(), 6, "Mapped counts frames, not references");
	cr_assert_eq(segset_count(&set.set), 3);
	cr_assert_eq(frame_ref_set_count_at(&set, 1 * PG), 1);
	cr_assert_eq(frame_ref_set_count_at(&set, 2 * PG), 2);
	cr_assert_eq(frame_ref_set_count_at(&set, 5 * PG), 1);
	cr_assert_eq(frame_ref_set_dec_ref_and_account(&set, R(2, 6), &acct), 0);
	cr_assert_eq(segset_count(&set.set), 1, "equal counts merge again");
	cr_assert_eq(mapped_pages(), 4);
	cr_assert_eq(frame_ref_set_dec_ref_and_account(&set, R(0, 4), &acct), 0);
	cr_assert_eq(mapped_pages(), 0);
	cr_assert(segset_is_empty(&set.set));
}

Test(frame_ref, range_spanning_many_segments_and_gaps)
{
	for (uint64_t i = 0; i < 10; i++)
		cr_assert_eq(frame_ref_set_inc_ref_and_account(&set, R(i * 4, i * 4 + 2), &acct), 0);
	cr_assert_eq(segset_count(&set.set), 10);
	cr_assert_eq(frame_ref_set_inc_ref_and_account(&set, R(1, 37), &acct), 0);
	cr_assert_eq(mapped_pages(), 38);
	cr_assert_eq(frame_ref_set_count_at(&set, 0), 1);
	cr_assert_eq(frame_ref_set_count_at(&set, 1 * PG), 2);
	cr_assert_eq(frame_ref_set_count_at(&set, 2 * PG), 1);
	cr_assert_eq(frame_ref_set_dec_ref_and_account(&set, R(1, 37), &acct), 0);
	cr_assert_eq(mapped_pages(), 20);
	cr_assert_eq(segset_count(&set.set), 10);
	cr_assert_eq(segset_check(&set.set), 0);
}

Test(frame_ref, range_at_the_top_of_the_space)
{
	struct file_range top = file_range_make((UINT64_MAX & ~ABI_PAGE_MASK) - 4 * PG,
						UINT64_MAX & ~ABI_PAGE_MASK);

	cr_assert_eq(frame_ref_set_inc_ref_and_account(&set, top, &acct), 0);
	cr_assert_eq(mapped_pages(), 4);
	cr_assert_eq(frame_ref_set_dec_ref_and_account(&set, top, &acct), 0);
	cr_assert_eq(mapped_pages(), 0);
}

Test(frame_ref, malformed_input_changes_nothing)
{
	cr_assert_eq(frame_ref_set_inc_ref_and_account(&set, R(0, 2), &acct), 0);
	cr_assert_eq(frame_ref_set_inc_ref_and_account(&set, R(3, 3), &acct), -EINVAL, "empty");
	cr_assert_eq(frame_ref_set_inc_ref_and_account(&set, R(3, 1), &acct), -EINVAL);
	cr_assert_eq(frame_ref_set_inc_ref_and_account(&set, file_range_make(1, PG), &acct),
		     -EINVAL, "unaligned");
	cr_assert_eq(frame_ref_set_dec_ref_and_account(&set, R(0, 3), &acct), -EINVAL,
		     "page 2 holds no reference");
	cr_assert_eq(frame_ref_set_dec_ref_and_account(&set, R(5, 6), &acct), -EINVAL);
	cr_assert_eq(mapped_pages(), 2);
	cr_assert_eq(frame_ref_set_count_at(&set, 0), 1);
	cr_assert_eq(segset_count(&set.set), 1);
}

Test(frame_ref, count_overflow_is_refused)
{
	struct segset_seg *seg;

	cr_assert_eq(frame_ref_set_inc_ref_and_account(&set, R(0, 2), &acct), 0);
	seg = segset_first(&set.set);
	*(uint64_t *)segset_seg_value(seg) = UINT64_MAX;
	cr_assert_eq(frame_ref_set_inc_ref_and_account(&set, R(1, 3), &acct), -EINVAL);
	cr_assert_eq(mapped_pages(), 2);
	cr_assert_eq(segset_count(&set.set), 1);
}

/* --- randomised differential test --- */

#define NPAGES 192
#define STEPS  100000

static void check_against(const uint64_t *model, int step)
{
	struct segset_seg *seg;
	uint64_t referenced = 0, at = 0;

	cr_assert_eq(segset_check(&set.set), 0, "step %d: invariants", step);
	segset_for_each(seg, &set.set)
	{
		struct file_range r = segset_seg_range(seg);
		uint64_t count = *(uint64_t *)segset_seg_value(seg);
		struct segset_seg *n = segset_next(seg);

		cr_assert(file_range_page_aligned(r) && r.start >= at, "step %d: order", step);
		for (; at < r.start; at += PG)
			cr_assert_eq(model[at / PG], 0, "step %d: page %lu", step, at / PG);
		for (; at < r.end; at += PG)
			cr_assert_eq(model[at / PG], count, "step %d: page %lu", step, at / PG);
		cr_assert_neq(count, 0);
		cr_assert(!(n && segset_seg_range(n).start == r.end &&
			    *(uint64_t *)segset_seg_value(n) == count),
			  "step %d: equal neighbours not merged", step);
	}
	for (; at < NPAGES * PG; at += PG)
		cr_assert_eq(model[at / PG], 0, "step %d: page %lu", step, at / PG);
	for (int p = 0; p < NPAGES; p++)
		referenced += model[p] > 0;
	cr_assert_eq(memacct_get(&acct, MEMACCT_MAPPED), referenced * PG,
		     "step %d: Mapped %lu != %lu pages", step, mapped_pages(), referenced);
}

Test(frame_ref, random_against_model, .timeout = 120)
{
	static uint64_t model[NPAGES];

	srand(42);
	for (int step = 0; step < STEPS; step++) {
		uint64_t a = (uint64_t)rand() % NPAGES;
		uint64_t b = a + 1 + (uint64_t)rand() % (rand() % 4 ? 6 : NPAGES);
		bool all_held = true;
		int err;

		if (b > NPAGES)
			b = NPAGES;
		for (uint64_t p = a; p < b; p++)
			all_held &= model[p] > 0;
		if (rand() % 2) {
			err = frame_ref_set_inc_ref_and_account(&set, R(a, b), &acct);
			cr_assert_eq(err, 0, "step %d: inc", step);
			for (uint64_t p = a; p < b; p++)
				model[p]++;
		} else {
			err = frame_ref_set_dec_ref_and_account(&set, R(a, b), &acct);
			cr_assert_eq(err, all_held ? 0 : -EINVAL, "step %d: dec", step);
			for (uint64_t p = a; all_held && p < b; p++)
				model[p]--;
		}
		check_against(model, step);
	}
}

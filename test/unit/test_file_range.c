/* Unit tests for platform/file_range.h. */
#include <criterion/criterion.h>

#include "platform/file_range.h"

#define R(a, b) file_range_make((a), (b))

Test(file_range, length_and_emptiness)
{
	cr_assert_eq(file_range_len(R(4096, 8192)), 4096);
	cr_assert(file_range_empty(R(10, 10)));
	cr_assert(!file_range_empty(R(10, 11)));
	cr_assert(file_range_well_formed(R(10, 10)));
	cr_assert(!file_range_well_formed(R(11, 10)));
}

Test(file_range, from_len_rejects_overflow)
{
	struct file_range r;

	cr_assert_eq(file_range_from_len(100, 50, &r), 0);
	cr_assert_eq(r.start, 100);
	cr_assert_eq(r.end, 150);
	cr_assert_eq(file_range_from_len(UINT64_MAX - 10, 10, &r), 0);
	cr_assert_eq(r.end, UINT64_MAX);
	cr_assert_eq(file_range_from_len(UINT64_MAX - 10, 11, &r), -EINVAL);
}

Test(file_range, contains_is_half_open)
{
	cr_assert(file_range_contains(R(0, 10), 0));
	cr_assert(file_range_contains(R(0, 10), 9));
	cr_assert(!file_range_contains(R(0, 10), 10));
	cr_assert(!file_range_contains(R(5, 5), 5));
	cr_assert(file_range_contains(R(1, UINT64_MAX), UINT64_MAX - 1));
	cr_assert(!file_range_contains(R(1, UINT64_MAX), UINT64_MAX));
}

Test(file_range, overlaps_and_intersect)
{
	struct file_range i;

	cr_assert(file_range_overlaps(R(0, 10), R(9, 20)));
	cr_assert(!file_range_overlaps(R(0, 10), R(10, 20)));
	cr_assert(!file_range_overlaps(R(0, 10), R(5, 5)));
	i = file_range_intersect(R(0, 10), R(5, 20));
	cr_assert_eq(i.start, 5);
	cr_assert_eq(i.end, 10);
	i = file_range_intersect(R(0, 10), R(20, 30));
	cr_assert(file_range_empty(i));
	cr_assert(file_range_well_formed(i));
	cr_assert(file_range_is_superset(R(0, 10), R(0, 10)));
	cr_assert(file_range_is_superset(R(0, 10), R(3, 7)));
	cr_assert(!file_range_is_superset(R(0, 10), R(3, 11)));
}

Test(file_range, page_alignment)
{
	struct file_range r;

	cr_assert(file_range_page_aligned(R(0, 8192)));
	cr_assert(!file_range_page_aligned(R(0, 8191)));
	cr_assert_eq(file_range_check_frames(R(4096, 8192)), 0);
	cr_assert_eq(file_range_check_frames(R(4096, 4096)), -EINVAL, "empty");
	cr_assert_eq(file_range_check_frames(R(8192, 4096)), -EINVAL, "end < start");
	cr_assert_eq(file_range_check_frames(R(1, 4096)), -EINVAL, "unaligned start");
	cr_assert_eq(file_range_page_cover(R(1, 4097), &r), 0);
	cr_assert_eq(r.start, 0);
	cr_assert_eq(r.end, 8192);
	cr_assert_eq(file_range_page_cover(R(0, UINT64_MAX), &r), -EINVAL, "round-up overflow");
	cr_assert_eq(file_range_page_cover(R(5, 4), &r), -EINVAL);
}

Test(page, round_up_overflow)
{
	uint64_t x;

	cr_assert(abi_page_round_up(1, &x));
	cr_assert_eq(x, 4096);
	cr_assert(abi_page_round_up(UINT64_MAX & ~ABI_PAGE_MASK, &x));
	cr_assert(!abi_page_round_up(UINT64_MAX, &x));
	cr_assert(!abi_align_up(UINT64_MAX - 5, ABI_HUGE_PAGE_SIZE, &x));
}

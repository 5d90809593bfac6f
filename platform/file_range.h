/*
 * platform/file_range.h - half-open ranges of offsets, [start, end).
 *
 * A file range names bytes of a file: of the memory file when it names
 * frames (then it is page aligned), or of any other file (a page cache key).
 * The same shape serves address ranges.  A range is well formed when
 * start <= end; an empty range (start == end) is well formed and contains
 * nothing.  The top offset UINT64_MAX itself can never be inside a range,
 * because end is exclusive; a range may end at UINT64_MAX.
 *
 * Functions that build a range from untrusted numbers (file_range_from_len)
 * report overflow instead of wrapping.
 */
#ifndef KSENTRY_PLATFORM_FILE_RANGE_H
#define KSENTRY_PLATFORM_FILE_RANGE_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/errno.h"
#include "abi/page.h"

struct file_range {
	uint64_t start;
	uint64_t end;
};

static inline struct file_range file_range_make(uint64_t start, uint64_t end)
{
	return (struct file_range){.start = start, .end = end};
}

/*
 * Build [start, start + len) into *@out.  Returns 0, or -EINVAL when the end
 * would pass UINT64_MAX.
 */
static inline __attribute__((warn_unused_result)) int
file_range_from_len(uint64_t start, uint64_t len, struct file_range *out)
{
	uint64_t end;

	if (__builtin_add_overflow(start, len, &end))
		return -EINVAL;
	*out = file_range_make(start, end);
	return 0;
}

static inline bool file_range_well_formed(struct file_range r)
{
	return r.start <= r.end;
}

static inline uint64_t file_range_len(struct file_range r)
{
	return r.end - r.start;
}

static inline bool file_range_empty(struct file_range r)
{
	return r.start >= r.end;
}

static inline bool file_range_contains(struct file_range r, uint64_t x)
{
	return r.start <= x && x < r.end;
}

/* Is @inner entirely inside @outer?  An empty @inner is inside any range
 * whose bounds enclose its start. */
static inline bool file_range_is_superset(struct file_range outer, struct file_range inner)
{
	return outer.start <= inner.start && inner.end <= outer.end;
}

/* Do @a and @b share at least one offset?  An empty range shares none. */
static inline bool file_range_overlaps(struct file_range a, struct file_range b)
{
	return a.start < b.end && b.start < a.end && a.start < a.end && b.start < b.end;
}

/* The overlap of @a and @b; empty (start == end) when they do not overlap. */
static inline struct file_range file_range_intersect(struct file_range a, struct file_range b)
{
	struct file_range r;

	r.start = a.start > b.start ? a.start : b.start;
	r.end = a.end < b.end ? a.end : b.end;
	if (r.end < r.start)
		r.end = r.start;
	return r;
}

static inline bool file_range_page_aligned(struct file_range r)
{
	return abi_page_aligned(r.start) && abi_page_aligned(r.end);
}

/*
 * Check a range handed in by a caller that names frames: well formed,
 * non-empty and page aligned.  Returns 0 or -EINVAL.
 */
static inline __attribute__((warn_unused_result)) int file_range_check_frames(struct file_range r)
{
	if (!file_range_well_formed(r) || file_range_empty(r) || !file_range_page_aligned(r))
		return -EINVAL;
	return 0;
}

/*
 * The smallest page-aligned range covering @r, into *@out.  Returns 0, or
 * -EINVAL when @r is malformed or rounding its end up overflows.
 */
static inline __attribute__((warn_unused_result)) int
file_range_page_cover(struct file_range r, struct file_range *out)
{
	uint64_t end;

	if (!file_range_well_formed(r) || !abi_page_round_up(r.end, &end))
		return -EINVAL;
	*out = file_range_make(abi_page_round_down(r.start), end);
	return 0;
}

#endif

/*
 * platform/segset.h - ordered sets of non-overlapping ranges with values.
 *
 * A segment set maps disjoint, non-empty ranges [start, end) of uint64 keys
 * to values.  The spaces between segments are gaps: between two adjacent
 * segments the gap is empty, before the first segment it starts at 0 and
 * after the last one it ends at UINT64_MAX.  This is the shape of gVisor's
 * segment sets, and it serves every ordered range map in ksentry: frame
 * reference counts, the memory manager's VMAs, page caches and the memory
 * file's allocator.
 *
 * Representation.  Segments are nodes of an AVL tree keyed by start, with
 * parent pointers, and are also threaded on a doubly linked list in key
 * order.  Find and lower/upper bound are O(log n); next/prev segment and gap
 * are O(1); insert, remove, split and merge are O(log n).
 *
 * Values.  A value is ops->value_size bytes stored inline in its segment, so
 * a set holds any plain struct.  The set calls two hooks:
 *   merge(lr, lv, rr, rv): may the adjacent segments lr (value lv) and rr
 *       (value rv), with lr.end == rr.start, become one?  If so, write the
 *       value of the union into *lv and return true; if not, return false and
 *       leave *lv alone.  NULL means segments never merge.
 *   split(r, v, at, right): the segment r with value v is cut at @at
 *       (r.start < at < r.end).  Leave the value of [r.start, at) in *v and
 *       write the value of [at, r.end) into *right.  NULL means both halves
 *       keep a copy of the bytes.
 *
 * Iterators.  A segment is named by a pointer to it (NULL: none).  A gap is
 * named by the segments on either side (struct segset_gap); it is valid
 * while those two segments stay neighbours.  Any operation that inserts,
 * removes, splits or merges may invalidate gaps and the segments it names
 * in its contract; other segment pointers stay valid.
 *
 * Allocation.  Inserting and splitting allocate a node.  Callers that must
 * not fail half way (frame reference sets) call segset_reserve() first, and
 * the nodes the following operations need are taken from the reserve.
 *
 * Locking: none; the owner of a set serialises access to it.
 */
#ifndef KSENTRY_PLATFORM_SEGSET_H
#define KSENTRY_PLATFORM_SEGSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/file_range.h"

typedef bool (*segset_merge_fn)(struct file_range lr, void *lv, struct file_range rr,
				const void *rv);
typedef void (*segset_split_fn)(struct file_range r, void *v, uint64_t at, void *right);

/* Values larger than this never merge with a following segment on insert. */
#define SEGSET_VALUE_MAX 256

struct segset_ops {
	size_t value_size;
	segset_merge_fn merge;
	segset_split_fn split;
};

struct segset_seg {
	struct segset_seg *left, *right, *parent; /* AVL tree */
	struct segset_seg *prev, *next;           /* key order */
	int height;
	struct file_range range;
	_Alignas(16) unsigned char value[];
};

struct segset {
	const struct segset_ops *ops;
	struct segset_seg *root;
	struct segset_seg *first, *last;
	size_t count;
	struct segset_seg *reserve; /* free nodes, chained through ->next */
	size_t nreserve;
};

/* A gap between @prev and @next (either may be NULL at the ends).  A gap
 * whose @set is NULL is "no gap", the end of an iteration. */
struct segset_gap {
	struct segset *set;
	struct segset_seg *prev, *next;
};

/* Make @s an empty set whose values follow @ops.  Never fails. */
void segset_init(struct segset *s, const struct segset_ops *ops);

/* Remove every segment and free the reserve.  @s stays usable (empty). */
void segset_clear(struct segset *s);

/* Make sure the next @n node allocations cannot fail.  0 or -ENOMEM. */
int __attribute__((warn_unused_result)) segset_reserve(struct segset *s, size_t n);

static inline size_t segset_count(const struct segset *s)
{
	return s->count;
}

static inline bool segset_is_empty(const struct segset *s)
{
	return s->count == 0;
}

static inline struct file_range segset_seg_range(const struct segset_seg *seg)
{
	return seg->range;
}

static inline void *segset_seg_value(struct segset_seg *seg)
{
	return seg->value;
}

static inline struct segset_seg *segset_first(const struct segset *s)
{
	return s->first;
}

static inline struct segset_seg *segset_last(const struct segset *s)
{
	return s->last;
}

static inline struct segset_seg *segset_next(const struct segset_seg *seg)
{
	return seg->next;
}

static inline struct segset_seg *segset_prev(const struct segset_seg *seg)
{
	return seg->prev;
}

/* Iterate over every segment in key order.  Do not remove @seg inside. */
#define segset_for_each(seg, s) for ((seg) = segset_first(s); (seg); (seg) = segset_next(seg))

/* --- gaps --- */

static inline bool segset_gap_ok(struct segset_gap g)
{
	return g.set != NULL;
}

static inline struct segset_gap segset_gap_none(void)
{
	return (struct segset_gap){0};
}

struct file_range segset_gap_range(struct segset_gap g);

static inline struct segset_gap segset_first_gap(struct segset *s)
{
	return (struct segset_gap){.set = s, .prev = NULL, .next = s->first};
}

static inline struct segset_gap segset_last_gap(struct segset *s)
{
	return (struct segset_gap){.set = s, .prev = s->last, .next = NULL};
}

/* The gap just after / before segment @seg. */
static inline struct segset_gap segset_seg_next_gap(struct segset *s, struct segset_seg *seg)
{
	return (struct segset_gap){.set = s, .prev = seg, .next = seg->next};
}

static inline struct segset_gap segset_seg_prev_gap(struct segset *s, struct segset_seg *seg)
{
	return (struct segset_gap){.set = s, .prev = seg->prev, .next = seg};
}

/* The segment just after / before gap @g (NULL at the ends). */
static inline struct segset_seg *segset_gap_next_seg(struct segset_gap g)
{
	return g.next;
}

static inline struct segset_seg *segset_gap_prev_seg(struct segset_gap g)
{
	return g.prev;
}

/* The next / previous gap, empty or not; "no gap" past the ends. */
struct segset_gap segset_gap_next_gap(struct segset_gap g);
struct segset_gap segset_gap_prev_gap(struct segset_gap g);

/* The first gap after @g that is not empty; "no gap" if there is none. */
struct segset_gap segset_gap_next_non_empty(struct segset_gap g);

/* The first gap at or after @g at least @len long; "no gap" if none. */
struct segset_gap segset_gap_next_large_enough(struct segset_gap g, uint64_t len);

/*
 * What comes right after segment @seg: the gap after it if that is not
 * empty (*@gap set, *@next NULL), or else the adjacent next segment (*@next
 * set, *@gap "no gap"); both empty at the end of the set.
 */
void segset_seg_next_non_empty(struct segset *s, struct segset_seg *seg, struct segset_seg **next,
			       struct segset_gap *gap);

/* --- lookup --- */

/* The segment containing @key, or NULL; when NULL and @gap is not NULL,
 * *@gap is the gap containing @key. */
struct segset_seg *segset_find(struct segset *s, uint64_t key, struct segset_gap *gap);

/* The gap containing @key, or "no gap" if @key is inside a segment. */
struct segset_gap segset_find_gap(struct segset *s, uint64_t key);

/* The segment containing @key, else the first one after it; NULL if none. */
struct segset_seg *segset_lower_bound_seg(struct segset *s, uint64_t key);

/* The segment containing @key, else the last one before it; NULL if none. */
struct segset_seg *segset_upper_bound_seg(struct segset *s, uint64_t key);

/* The gap containing @key, else the gap right after the segment containing
 * it.  Always a valid gap. */
struct segset_gap segset_lower_bound_gap(struct segset *s, uint64_t key);

/* The gap containing @key, else the gap right before the segment containing
 * it.  Always a valid gap. */
struct segset_gap segset_upper_bound_gap(struct segset *s, uint64_t key);

/* --- changing the set --- */

/*
 * Insert [r) with value @value into gap @g, merging with the neighbours
 * where the merge hook agrees.  @r must be non-empty and inside @g.
 * Returns the segment now holding @r (maybe a neighbour that grew), or an
 * error pointer: -EINVAL (@r empty, malformed or not inside @g), -ENOMEM.
 * Invalidates @g and, on a merge, the neighbour that merged away.
 */
struct segset_seg *segset_insert(struct segset *s, struct segset_gap g, struct file_range r,
				 const void *value);

/* As segset_insert() but never merges. */
struct segset_seg *segset_insert_without_merging(struct segset *s, struct segset_gap g,
						 struct file_range r, const void *value);

/* Find the gap holding all of @r and insert there: as segset_insert(), and
 * -EEXIST if @r overlaps a segment. */
struct segset_seg *segset_insert_range(struct segset *s, struct file_range r, const void *value);

/* Remove @seg and return the gap that replaces it. */
struct segset_gap segset_remove(struct segset *s, struct segset_seg *seg);

/*
 * Remove everything inside @r, splitting segments that straddle its ends.
 * On success *@gap (if not NULL) is the gap now covering @r.
 * Returns 0, -EINVAL for a malformed @r, or -ENOMEM (nothing removed then
 * unless the reserve was large enough: call segset_reserve(s, 2) first).
 */
int __attribute__((warn_unused_result)) segset_remove_range(struct segset *s, struct file_range r,
							     struct segset_gap *gap);

/*
 * Split @seg at @at if r.start < at < r.end.  On success *@left and *@right
 * (either may be NULL) are the two halves; if @at is not strictly inside,
 * nothing changes and both are @seg.  0 or -ENOMEM.
 */
int __attribute__((warn_unused_result)) segset_split(struct segset *s, struct segset_seg *seg,
						      uint64_t at, struct segset_seg **left,
						      struct segset_seg **right);

/* Split the segment containing @key at @key, if any.  0 or -ENOMEM. */
int __attribute__((warn_unused_result)) segset_split_at(struct segset *s, uint64_t key);

/*
 * Split @seg so that it lies inside @r, which must overlap it, and return
 * the part inside @r, or an error pointer (-ENOMEM, -EINVAL if they do not
 * overlap).  Needs at most two nodes.
 */
struct segset_seg *segset_isolate(struct segset *s, struct segset_seg *seg, struct file_range r);

/* Merge adjacent segments @a and @b = next of @a if the merge hook agrees.
 * Returns the merged segment (@a), or NULL if they did not merge. */
struct segset_seg *segset_merge(struct segset *s, struct segset_seg *a, struct segset_seg *b);

/* Merge every pair of adjacent segments that overlap @r and can merge. */
void segset_merge_range(struct segset *s, struct file_range r);

/* Merge the segment containing r.start with its predecessor, and the one
 * containing r.end - 1 with its successor, where they can merge.  This is
 * the clean-up after an operation that isolated @r. */
void segset_merge_adjacent(struct segset *s, struct file_range r);

/* Check every invariant of @s (tree shape, balance, order, list, count).
 * Returns 0 or -EINVAL; for tests. */
int segset_check(const struct segset *s);

#endif

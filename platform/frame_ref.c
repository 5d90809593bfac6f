/*
 * platform/frame_ref.c - inc_ref_and_account and dec_ref_and_account, with
 * the semantics of gVisor's frame reference sets.
 */
#include "platform/frame_ref.h"

static bool count_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	(void)lr;
	(void)rr;
	return *(uint64_t *)lv == *(const uint64_t *)rv;
}

/* Split keeps the count on both halves: the default byte copy. */
static const struct segset_ops frame_ref_ops = {
	.value_size = sizeof(uint64_t),
	.merge = count_merge,
};

static uint64_t *count_of(struct segset_seg *seg)
{
	return segset_seg_value(seg);
}

void frame_ref_set_init(struct frame_ref_set *s)
{
	segset_init(&s->set, &frame_ref_ops);
}

void frame_ref_set_clear(struct frame_ref_set *s, struct memacct *acct)
{
	struct segset_seg *seg;

	segset_for_each(seg, &s->set)
		if (acct)
			(void)memacct_dec(acct, MEMACCT_MAPPED,
					  file_range_len(segset_seg_range(seg)));
	segset_clear(&s->set);
}

/*
 * Walk @fr once: count the gaps inside it (each becomes a node) and their
 * bytes, and check that no count would overflow.
 */
static int survey_inc(struct frame_ref_set *s, struct file_range fr, size_t *gaps,
		      uint64_t *gap_bytes)
{
	uint64_t at = fr.start;
	struct segset_seg *seg = segset_lower_bound_seg(&s->set, fr.start);

	*gaps = 0;
	*gap_bytes = 0;
	for (; at < fr.end; seg = segset_next(seg)) {
		uint64_t next = seg && seg->range.start < fr.end ? seg->range.start : fr.end;

		if (next > at) {
			(*gaps)++;
			*gap_bytes += next - at;
		}
		if (!seg || seg->range.start >= fr.end)
			break;
		if (*count_of(seg) == UINT64_MAX)
			return -EINVAL;
		at = seg->range.end;
	}
	return 0;
}

int frame_ref_set_inc_ref_and_account(struct frame_ref_set *s, struct file_range fr,
				      struct memacct *acct)
{
	const uint64_t one = 1;
	struct segset_gap gap;
	struct segset_seg *seg;
	uint64_t gap_bytes;
	size_t gaps;
	int err;

	err = file_range_check_frames(fr);
	if (err)
		return err;
	err = survey_inc(s, fr, &gaps, &gap_bytes);
	if (err)
		return err;
	/* Two boundary splits plus one node per gap: after this nothing fails. */
	err = segset_reserve(&s->set, gaps + 2);
	if (err)
		return err;
	err = acct ? memacct_inc(acct, MEMACCT_MAPPED, gap_bytes) : 0;
	if (err)
		return err;

	seg = segset_find(&s->set, fr.start, &gap);
	for (;;) {
		if (seg && seg->range.start < fr.end) {
			seg = segset_isolate(&s->set, seg, fr);
			(*count_of(seg))++;
			segset_seg_next_non_empty(&s->set, seg, &seg, &gap);
		} else if (segset_gap_ok(gap) && segset_gap_range(gap).start < fr.end) {
			struct file_range r = file_range_intersect(segset_gap_range(gap), fr);

			seg = segset_insert_without_merging(&s->set, gap, r, &one);
			segset_seg_next_non_empty(&s->set, seg, &seg, &gap);
		} else {
			break;
		}
	}
	segset_merge_adjacent(&s->set, fr);
	return 0;
}

/* Does every frame of @fr hold a reference? */
static bool fully_referenced(struct frame_ref_set *s, struct file_range fr)
{
	uint64_t at = fr.start;
	struct segset_seg *seg = segset_find(&s->set, at, NULL);

	while (seg && seg->range.start <= at) {
		at = seg->range.end;
		if (at >= fr.end)
			return true;
		seg = segset_next(seg);
	}
	return false;
}

int frame_ref_set_dec_ref_and_account(struct frame_ref_set *s, struct file_range fr,
				      struct memacct *acct)
{
	struct segset_seg *seg;
	int err;

	err = file_range_check_frames(fr);
	if (err)
		return err;
	if (!fully_referenced(s, fr))
		return -EINVAL;
	err = segset_reserve(&s->set, 2);
	if (err)
		return err;

	seg = segset_find(&s->set, fr.start, NULL);
	while (seg && seg->range.start < fr.end) {
		seg = segset_isolate(&s->set, seg, fr);
		if (*count_of(seg) == 1) {
			if (acct)
				(void)memacct_dec(acct, MEMACCT_MAPPED,
						  file_range_len(segset_seg_range(seg)));
			seg = segset_gap_next_seg(segset_remove(&s->set, seg));
		} else {
			(*count_of(seg))--;
			seg = segset_next(seg);
		}
	}
	segset_merge_adjacent(&s->set, fr);
	return 0;
}

uint64_t frame_ref_set_count_at(struct frame_ref_set *s, uint64_t offset)
{
	struct segset_seg *seg = segset_find(&s->set, offset, NULL);

	return seg ? *count_of(seg) : 0;
}

/*
 * platform/frame_ref.h - reference counts on memory-file frames.
 *
 * A frame reference set maps file ranges to a uint64 count of how many
 * address-space mappings hold each frame.  It is a segment set that merges
 * only equal counts and splits into two equal counts.  Page-cache owners
 * (tmpfs, the FUSE page cache) keep one per file and call it whenever they
 * map or unmap frames into an address space; the first reference to a frame
 * charges it to Mapped and the last one uncharges it, so Mapped always
 * equals the page size times the number of frames with a count above zero.
 *
 * Both operations are all-or-nothing: they check their input and reserve
 * the nodes they need before touching anything, so an error leaves the set
 * and the accounting as they were.
 *
 * @acct may be NULL where the counts are not mappings (the mm's count of
 * extra owners of copy-on-write frames): then nothing is charged.
 *
 * Locking: none; the owner serialises (the page cache's lock).
 */
#ifndef KSENTRY_PLATFORM_FRAME_REF_H
#define KSENTRY_PLATFORM_FRAME_REF_H

#include "platform/memacct.h"
#include "platform/segset.h"

struct frame_ref_set {
	struct segset set; /* file range -> uint64_t count, never 0 */
};

void frame_ref_set_init(struct frame_ref_set *s);

/* Drop every reference, uncharging Mapped for what was still held. */
void frame_ref_set_clear(struct frame_ref_set *s, struct memacct *acct);

/*
 * Take one reference on every frame of @fr (page aligned, non-empty):
 * frames without one get a count of 1 and are charged to Mapped; the
 * others are incremented.  Returns 0, -EINVAL for a malformed range or a
 * count that would overflow, or -ENOMEM; on error nothing changed.
 */
int __attribute__((warn_unused_result)) frame_ref_set_inc_ref_and_account(
	struct frame_ref_set *s, struct file_range fr, struct memacct *acct);

/*
 * Drop one reference on every frame of @fr, which must all hold one:
 * counts of 1 are removed and uncharged from Mapped, others decremented.
 * Returns 0, -EINVAL (malformed range, or a frame without a reference), or
 * -ENOMEM; on error nothing changed.
 */
int __attribute__((warn_unused_result)) frame_ref_set_dec_ref_and_account(
	struct frame_ref_set *s, struct file_range fr, struct memacct *acct);

/* The count on the frame at @offset (0 if none). */
uint64_t frame_ref_set_count_at(struct frame_ref_set *s, uint64_t offset);

#endif

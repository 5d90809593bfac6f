/*
 * kernel/vfs/pagecache.c - a file's data cached in memory-file frames; see
 * pagecache.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "abi/mman.h"
#include "kernel/vfs/pagecache.h"

#define PG		ABI_PAGE_SIZE
#define WB_CHUNK	(128 * 1024) /* bytes copied out and sent at a time */

struct pagecache_page {
	uint64_t off; /* memory-file offset of the frame at the range's start */
	bool dirty;
};

static bool page_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	const struct pagecache_page *l = lv, *r = rv;

	return l->off + file_range_len(lr) == r->off && l->dirty == r->dirty;
}

static void page_split(struct file_range r, void *v, uint64_t at, void *right)
{
	const struct pagecache_page *l = v;

	*(struct pagecache_page *)right =
		(struct pagecache_page){.off = l->off + (at - r.start), .dirty = l->dirty};
}

static const struct segset_ops page_ops = {
	.value_size = sizeof(struct pagecache_page),
	.merge = page_merge,
	.split = page_split,
};

static struct pagecache_page *page_of(struct segset_seg *seg)
{
	return segset_seg_value(seg);
}

/* The frames behind [at, at + len) of segment @seg. */
static struct file_range frames_of(struct segset_seg *seg, uint64_t at, uint64_t len)
{
	uint64_t off = page_of(seg)->off + (at - segset_seg_range(seg).start);

	return file_range_make(off, off + len);
}

void pagecache_init(struct pagecache *pc, struct memfile *mf)
{
	memset(pc, 0, sizeof(*pc));
	pthread_mutex_init(&pc->lock, NULL);
	pc->mf = mf;
	segset_init(&pc->pages, &page_ops);
	frame_ref_set_init(&pc->pinned);
}

/* Is any frame of @fr pinned?  Caller holds the lock. */
static bool pinned(struct pagecache *pc, struct file_range fr)
{
	struct segset_seg *seg = segset_lower_bound_seg(&pc->pinned.set, fr.start);

	return seg && segset_seg_range(seg).start < fr.end;
}

/* Free the unpinned segment @seg; keep (and zero) it if pinned.  Returns
 * the segment after it.  Caller holds the lock. */
static struct segset_seg *drop_seg(struct pagecache *pc, struct segset_seg *seg, bool zero_pinned)
{
	struct file_range sr = segset_seg_range(seg);
	struct file_range fr = frames_of(seg, sr.start, file_range_len(sr));

	if (pinned(pc, fr)) {
		if (zero_pinned) {
			memset(memfile_map(pc->mf, fr), 0, file_range_len(fr));
			page_of(seg)->dirty = false;
		}
		return segset_next(seg);
	}
	(void)memfile_free(pc->mf, fr);
	pc->cached -= file_range_len(sr);
	return segset_gap_next_seg(segset_remove(&pc->pages, seg));
}

void pagecache_destroy(struct pagecache *pc)
{
	struct segset_seg *seg = segset_first(&pc->pages);

	while (seg)
		seg = drop_seg(pc, seg, false);
	segset_clear(&pc->pages);
	frame_ref_set_clear(&pc->pinned, pc->mf->acct);
	pthread_mutex_destroy(&pc->lock);
}

int pagecache_pin(struct pagecache *pc, uint64_t off, uint64_t len, bool dirty,
		  struct file_range *out)
{
	struct segset_seg *seg;
	struct file_range fr;
	uint64_t end;
	int err;

	pthread_mutex_lock(&pc->lock);
	seg = segset_find(&pc->pages, off, NULL);
	err = -EAGAIN;
	if (!seg)
		goto out;
	end = segset_seg_range(seg).end - off < len ? segset_seg_range(seg).end : off + len;
	if (dirty && !page_of(seg)->dirty) {
		err = segset_reserve(&pc->pages, 2);
		if (err)
			goto out;
		seg = segset_isolate(&pc->pages, seg, file_range_make(off, end));
		page_of(seg)->dirty = true;
	}
	fr = frames_of(seg, off, end - off);
	err = frame_ref_set_inc_ref_and_account(&pc->pinned, fr, pc->mf->acct);
	if (!err)
		*out = fr;
	if (dirty)
		segset_merge_adjacent(&pc->pages, file_range_make(off, end));
out:
	pthread_mutex_unlock(&pc->lock);
	return err;
}

int pagecache_repin(struct pagecache *pc, struct file_range fr)
{
	int err;

	pthread_mutex_lock(&pc->lock);
	err = frame_ref_set_inc_ref_and_account(&pc->pinned, fr, pc->mf->acct);
	pthread_mutex_unlock(&pc->lock);
	return err;
}

void pagecache_unpin(struct pagecache *pc, struct file_range fr)
{
	pthread_mutex_lock(&pc->lock);
	/* Out of nodes: the frames stay pinned (kept, never freed under a
	 * mapping); the count is only ever too high, never too low. */
	if (frame_ref_set_dec_ref_and_account(&pc->pinned, fr, pc->mf->acct))
		pc->stuck++;
	pthread_mutex_unlock(&pc->lock);
}

/* Allocate and read the missing pages from @at up to the next cached
 * page or @end; *@next is where to go on.  Caller holds no lock. */
static int fill_gap(struct pagecache *pc, uint64_t at, uint64_t end, pagecache_read_fn read,
		    void *ctx, uint64_t *next)
{
	struct segset_gap g;
	struct segset_seg *seg;
	struct file_range fr;
	uint64_t len;
	ssize_t got;
	int err;

	pthread_mutex_lock(&pc->lock);
	seg = segset_find(&pc->pages, at, &g);
	if (seg) {
		*next = segset_seg_range(seg).end;
		pthread_mutex_unlock(&pc->lock);
		return 0;
	}
	len = (segset_gap_range(g).end < end ? segset_gap_range(g).end : end) - at;
	pthread_mutex_unlock(&pc->lock);

	while ((err = memfile_alloc(pc->mf, len, PG, MEMACCT_PAGECACHE, &fr)) == -ENOMEM &&
	       len > PG)
		len = abi_page_round_down(len / 2);
	if (err)
		return err;
	got = read(ctx, at, memfile_map(pc->mf, fr), (size_t)len);
	if (got < 0) {
		(void)memfile_free(pc->mf, fr);
		return (int)got;
	}
	pthread_mutex_lock(&pc->lock);
	err = -EEXIST;
	if (!segset_find(&pc->pages, at, &g) && segset_gap_range(g).end >= at + len)
		err = segset_reserve(&pc->pages, 1);
	if (!err) {
		struct pagecache_page p = {.off = fr.start};

		seg = segset_insert(&pc->pages, g, file_range_make(at, at + len), &p);
		err = abi_is_err(seg) ? (int)abi_ptr_err(seg) : 0;
	}
	if (!err)
		pc->cached += len;
	pthread_mutex_unlock(&pc->lock);
	if (err)
		(void)memfile_free(pc->mf, fr); /* someone else filled it first */
	*next = at + len;
	return err == -EEXIST ? 0 : err;
}

int pagecache_fill(struct pagecache *pc, uint64_t off, uint64_t len, pagecache_read_fn read,
		   void *ctx)
{
	uint64_t at = off, end = off + len;

	while (at < end) {
		int err = fill_gap(pc, at, end, read, ctx, &at);

		if (err)
			return err;
	}
	return 0;
}

/* The next dirty piece of [at, end), at most WB_CHUNK, copied into @buf
 * and marked clean unless pinned.  0: none left; else its length, with
 * its start in *@start and whether it was cleaned in *@cleaned. */
static uint64_t next_dirty(struct pagecache *pc, uint64_t at, uint64_t end, unsigned char *buf,
			   uint64_t *start, bool *cleaned)
{
	struct segset_seg *seg;
	struct file_range r;

	for (seg = segset_lower_bound_seg(&pc->pages, at);
	     seg && segset_seg_range(seg).start < end; seg = segset_next(seg))
		if (page_of(seg)->dirty)
			break;
	if (!seg || segset_seg_range(seg).start >= end)
		return 0;
	r = file_range_intersect(segset_seg_range(seg), file_range_make(at, end));
	if (file_range_len(r) > WB_CHUNK)
		r.end = r.start + WB_CHUNK;
	memcpy(buf, memfile_map(pc->mf, frames_of(seg, r.start, file_range_len(r))),
	       file_range_len(r));
	*start = r.start;
	*cleaned = false;
	if (!pinned(pc, frames_of(seg, r.start, file_range_len(r))) &&
	    !segset_reserve(&pc->pages, 2)) {
		seg = segset_isolate(&pc->pages, seg, r);
		page_of(seg)->dirty = false;
		segset_merge_adjacent(&pc->pages, r);
		*cleaned = true;
	}
	return file_range_len(r);
}

/* Mark [r) dirty again after a failed write.  Caller holds the lock. */
static void redirty(struct pagecache *pc, struct file_range r)
{
	struct segset_seg *seg;

	if (segset_reserve(&pc->pages, 2))
		return;
	for (seg = segset_lower_bound_seg(&pc->pages, r.start);
	     seg && segset_seg_range(seg).start < r.end; seg = segset_next(seg)) {
		seg = segset_isolate(&pc->pages, seg, r);
		page_of(seg)->dirty = true;
	}
	segset_merge_range(&pc->pages, r);
}

int pagecache_writeback(struct pagecache *pc, uint64_t off, uint64_t len, uint64_t size,
			pagecache_write_fn write, void *ctx)
{
	uint64_t at = abi_page_round_down(off), end = off + len;
	unsigned char *buf = NULL;
	int err = 0;

	if (end < off)
		end = UINT64_MAX;
	while (at < end) {
		uint64_t start, n;
		bool cleaned;

		if (!buf && !(buf = malloc(WB_CHUNK)))
			return -ENOMEM;
		pthread_mutex_lock(&pc->lock);
		n = next_dirty(pc, at, end, buf, &start, &cleaned);
		pthread_mutex_unlock(&pc->lock);
		if (n == 0)
			break;
		if (start < size)
			err = write(ctx, start, buf, (size_t)(size - start < n ? size - start : n));
		if (err) {
			if (cleaned) {
				pthread_mutex_lock(&pc->lock);
				redirty(pc, file_range_make(start, start + n));
				pthread_mutex_unlock(&pc->lock);
			}
			break;
		}
		at = start + n;
	}
	free(buf);
	return err;
}

bool pagecache_dirty(struct pagecache *pc, uint64_t off, uint64_t len)
{
	struct segset_seg *seg;
	bool dirty = false;

	pthread_mutex_lock(&pc->lock);
	for (seg = segset_lower_bound_seg(&pc->pages, abi_page_round_down(off));
	     seg && segset_seg_range(seg).start < off + len && !dirty; seg = segset_next(seg))
		dirty = page_of(seg)->dirty;
	pthread_mutex_unlock(&pc->lock);
	return dirty;
}

void pagecache_update(struct pagecache *pc, uint64_t off, const void *buf, size_t len)
{
	struct file_range w = file_range_make(off, off + len);
	struct segset_seg *seg;

	pthread_mutex_lock(&pc->lock);
	for (seg = segset_lower_bound_seg(&pc->pages, abi_page_round_down(off));
	     seg && segset_seg_range(seg).start < w.end; seg = segset_next(seg)) {
		struct file_range r = file_range_intersect(segset_seg_range(seg), w);

		if (!file_range_empty(r))
			memcpy(memfile_map(pc->mf, frames_of(seg, r.start, file_range_len(r))),
			       (const unsigned char *)buf + (r.start - off), file_range_len(r));
	}
	pthread_mutex_unlock(&pc->lock);
}

size_t pagecache_read_cached(struct pagecache *pc, uint64_t off, void *buf, size_t len)
{
	uint64_t at = off, end = off + len < off ? UINT64_MAX : off + len;
	struct segset_seg *seg;

	pthread_mutex_lock(&pc->lock);
	for (seg = segset_find(&pc->pages, off, NULL);
	     seg && at < end && segset_seg_range(seg).start <= at; seg = segset_next(seg)) {
		struct file_range r = file_range_intersect(segset_seg_range(seg),
							   file_range_make(at, end));

		memcpy((unsigned char *)buf + (at - off),
		       memfile_map(pc->mf, frames_of(seg, r.start, file_range_len(r))),
		       file_range_len(r));
		at = r.end;
	}
	pthread_mutex_unlock(&pc->lock);
	return (size_t)(at - off);
}

void pagecache_truncate(struct pagecache *pc, uint64_t size)
{
	uint64_t whole = abi_page_round_down(size) + (size & ABI_PAGE_MASK ? PG : 0);
	struct segset_seg *seg;

	pthread_mutex_lock(&pc->lock);
	seg = segset_find(&pc->pages, size, NULL);
	if (seg && size < whole) /* the page holding the new end: zero its tail */
		memset(memfile_map(pc->mf, frames_of(seg, size, whole - size)), 0, whole - size);
	if (segset_reserve(&pc->pages, 2) == 0) {
		seg = segset_lower_bound_seg(&pc->pages, whole);
		while (seg) {
			seg = segset_isolate(&pc->pages, seg, file_range_make(whole, UINT64_MAX));
			seg = drop_seg(pc, seg, true);
		}
	}
	pthread_mutex_unlock(&pc->lock);
}

void pagecache_invalidate(struct pagecache *pc, uint64_t off, uint64_t len)
{
	struct file_range r = file_range_make(abi_page_round_down(off), UINT64_MAX);
	struct segset_seg *seg;

	if (len && off + len > off && off + len < UINT64_MAX - PG)
		r.end = abi_page_round_down(off + len + PG - 1);
	pthread_mutex_lock(&pc->lock);
	seg = segset_lower_bound_seg(&pc->pages, r.start);
	while (seg && segset_seg_range(seg).start < r.end && !segset_reserve(&pc->pages, 2)) {
		seg = segset_isolate(&pc->pages, seg, r);
		seg = page_of(seg)->dirty ? segset_next(seg) : drop_seg(pc, seg, false);
	}
	pthread_mutex_unlock(&pc->lock);
}

uint64_t pagecache_size(struct pagecache *pc)
{
	uint64_t n;

	pthread_mutex_lock(&pc->lock);
	n = pc->cached;
	pthread_mutex_unlock(&pc->lock);
	return n;
}

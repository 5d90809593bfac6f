/*
 * platform/memfile.c - memfd, one mapping, and a first-fit range allocator.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform/memfile.h"

/* Values of the used set: the kind a range is charged to. */
static bool kind_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	(void)lr;
	(void)rr;
	return *(uint32_t *)lv == *(const uint32_t *)rv;
}

static const struct segset_ops used_ops = {
	.value_size = sizeof(uint32_t),
	.merge = kind_merge,
};

/* The pool's segments hold no value: free ranges merge whenever they meet. */
static bool pool_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	return true;
}

static const struct segset_ops pool_ops = {
	.value_size = 0,
	.merge = pool_merge,
};

static const unsigned char no_value; /* what the pool's inserts copy: nothing */

int memfile_init(struct memfile *mf, uint64_t size, struct memacct *acct)
{
	int err;

	memset(mf, 0, sizeof(*mf));
	mf->fd = -1;
	if (size == 0 || !abi_page_aligned(size) || size > (UINT64_C(1) << 46))
		return -EINVAL;

	mf->fd = memfd_create("ksentry-memory", MFD_CLOEXEC);
	if (mf->fd < 0)
		return -errno;
	if (ftruncate(mf->fd, (off_t)size) < 0) {
		err = -errno;
		goto err_close;
	}
	mf->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, mf->fd, 0);
	if (mf->base == MAP_FAILED) {
		err = -errno;
		goto err_close;
	}
	mf->size = size;
	mf->acct = acct;
	pthread_mutex_init(&mf->lock, NULL);
	segset_init(&mf->used, &used_ops);
	segset_init(&mf->pool, &pool_ops);
	mf->pool_max = abi_page_round_down(size / 8 < MEMFILE_POOL_MAX ? size / 8 : MEMFILE_POOL_MAX);
	return 0;

err_close:
	close(mf->fd);
	mf->fd = -1;
	return err;
}

/* Uncharge every allocated segment inside @fr.  Caller holds the lock and
 * has checked that @fr is entirely allocated. */
static void uncharge_range(struct memfile *mf, struct file_range fr)
{
	struct segset_seg *seg;

	for (seg = segset_lower_bound_seg(&mf->used, fr.start); seg && seg->range.start < fr.end;
	     seg = segset_next(seg)) {
		struct file_range part = file_range_intersect(seg->range, fr);
		uint32_t kind = *(uint32_t *)segset_seg_value(seg);

		/* Charged by memfile_alloc(), so the counter holds at least this. */
		(void)memacct_dec(mf->acct, kind, file_range_len(part));
	}
}

void memfile_destroy(struct memfile *mf)
{
	if (mf->fd < 0)
		return;
	uncharge_range(mf, file_range_make(0, mf->size));
	segset_clear(&mf->used);
	segset_clear(&mf->pool);
	munmap(mf->base, mf->size);
	close(mf->fd);
	pthread_mutex_destroy(&mf->lock);
	mf->fd = -1;
}

/* Where in gap range @gr (clipped to [from, limit)) an aligned range of
 * @len fits; false if it does not. */
static bool gap_fit(struct file_range gr, uint64_t from, uint64_t limit, uint64_t len,
		    uint64_t align, uint64_t *start)
{
	uint64_t s, e;

	if (gr.start < from)
		gr.start = from;
	if (gr.end > limit)
		gr.end = limit;
	if (!abi_align_up(gr.start, align, &s) || __builtin_add_overflow(s, len, &e))
		return false;
	if (e > gr.end)
		return false;
	*start = s;
	return true;
}

/* First fit at or after @from.  Caller holds the lock. */
static bool find_fit(struct memfile *mf, uint64_t from, uint64_t len, uint64_t align,
		     uint64_t *start)
{
	struct segset_gap g;

	for (g = segset_lower_bound_gap(&mf->used, from); segset_gap_ok(g);
	     g = segset_gap_next_large_enough(segset_gap_next_gap(g), len)) {
		struct file_range gr = segset_gap_range(g);

		if (gr.start >= mf->size)
			break;
		if (gap_fit(gr, from, mf->size, len, align, start))
			return true;
	}
	return false;
}

/* Give @fr's memory back to the host; if it cannot punch, zero it, so
 * that the next owner still finds zeros. */
static void punch(struct memfile *mf, struct file_range fr)
{
	if (fallocate(mf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)fr.start,
		      (off_t)file_range_len(fr)) < 0)
		memset(mf->base + fr.start, 0, file_range_len(fr));
}

static void pool_trim(struct memfile *mf);

/* Keep as much of the freed @fr backed in the pool as it has room for
 * (its start: what first fit hands out next), and punch the rest.
 * Caller holds the lock. */
static void pool_put(struct memfile *mf, struct file_range fr)
{
	uint64_t room = mf->pool_max - mf->pooled;
	struct file_range keep = fr;
	struct segset_seg *seg;

	if (file_range_len(keep) > room)
		keep.end = keep.start + room;
	if (file_range_empty(keep) || segset_reserve(&mf->pool, 1)) {
		punch(mf, fr);
		return;
	}
	seg = segset_insert_range(&mf->pool, keep, &no_value);
	if (abi_is_err(seg)) { /* cannot be: the pool holds free ranges only */
		punch(mf, fr);
		return;
	}
	mf->pooled += file_range_len(keep);
	if (keep.end < fr.end)
		punch(mf, file_range_make(keep.end, fr.end));
}

/* @r was just allocated: zero what of it the pool held, and take that
 * out of the pool (its reserve was made).  Caller holds the lock. */
static void pool_take(struct memfile *mf, struct file_range r)
{
	struct segset_seg *seg;

	for (seg = segset_lower_bound_seg(&mf->pool, r.start); seg && seg->range.start < r.end;
	     seg = segset_next(seg)) {
		struct file_range part = file_range_intersect(seg->range, r);

		memset(mf->base + part.start, 0, file_range_len(part));
		mf->pooled -= file_range_len(part);
	}
	/* Reserved, so it cannot fail; if it did, no allocated range may
	 * stay pooled (it would be zeroed under its owner): empty the pool
	 * (@r is still all zeros, so punching it too loses nothing). */
	if (segset_remove_range(&mf->pool, r, NULL))
		pool_trim(mf);
}

/* Punch every pooled range.  Caller holds the lock. */
static void pool_trim(struct memfile *mf)
{
	struct segset_seg *seg;

	for (seg = segset_first(&mf->pool); seg; seg = segset_next(seg))
		punch(mf, seg->range);
	segset_clear(&mf->pool);
	mf->pooled = 0;
}

void memfile_trim(struct memfile *mf)
{
	pthread_mutex_lock(&mf->lock);
	pool_trim(mf);
	pthread_mutex_unlock(&mf->lock);
}

int memfile_alloc(struct memfile *mf, uint64_t len, uint64_t align, enum memacct_kind kind,
		  struct file_range *out)
{
	uint32_t kind_value = kind;
	struct segset_seg *seg;
	uint64_t start;
	int err;

	if (len == 0 || !abi_page_aligned(len) || align < ABI_PAGE_SIZE || (align & (align - 1)) ||
	    !memacct_kind_name(kind) || kind == MEMACCT_MAPPED)
		return -EINVAL;

	pthread_mutex_lock(&mf->lock);
	err = -ENOMEM;
	if (len > mf->size - mf->allocated || segset_reserve(&mf->pool, 2))
		goto out_unlock;
	if (!find_fit(mf, mf->hint, len, align, &start) && !find_fit(mf, 0, len, align, &start))
		goto out_unlock;
	err = memacct_inc(mf->acct, kind, len);
	if (err)
		goto out_unlock;
	seg = segset_insert_range(&mf->used, file_range_make(start, start + len), &kind_value);
	if (abi_is_err(seg)) {
		err = (int)abi_ptr_err(seg);
		(void)memacct_dec(mf->acct, kind, len);
		goto out_unlock;
	}
	mf->allocated += len;
	mf->hint = start + len;
	*out = file_range_make(start, start + len);
	pool_take(mf, *out);
out_unlock:
	pthread_mutex_unlock(&mf->lock);
	return err;
}

/* Is every byte of @fr allocated?  Caller holds the lock. */
static bool fully_allocated(struct memfile *mf, struct file_range fr)
{
	uint64_t at = fr.start;
	struct segset_seg *seg = segset_find(&mf->used, at, NULL);

	while (seg && seg->range.start <= at) {
		at = seg->range.end;
		if (at >= fr.end)
			return true;
		seg = segset_next(seg);
	}
	return false;
}

int memfile_free(struct memfile *mf, struct file_range fr)
{
	int err;

	err = file_range_check_frames(fr);
	if (err)
		return err;
	if (fr.end > mf->size)
		return -EINVAL;

	pthread_mutex_lock(&mf->lock);
	err = -EINVAL;
	if (!fully_allocated(mf, fr))
		goto out_unlock;
	err = segset_reserve(&mf->used, 2);
	if (err)
		goto out_unlock;
	/* Into the pool (zeroed when handed out again), or back to the host
	 * before the range can be handed out again. */
	pool_put(mf, fr);
	uncharge_range(mf, fr);
	err = segset_remove_range(&mf->used, fr, NULL); /* cannot fail: reserved */
	mf->allocated -= file_range_len(fr);
	if (fr.start < mf->hint)
		mf->hint = fr.start;
out_unlock:
	pthread_mutex_unlock(&mf->lock);
	return err;
}

void *memfile_map(const struct memfile *mf, struct file_range fr)
{
	if (!file_range_well_formed(fr) || fr.end > mf->size)
		return NULL;
	return mf->base + fr.start;
}

uint64_t memfile_allocated(struct memfile *mf)
{
	uint64_t n;

	pthread_mutex_lock(&mf->lock);
	n = mf->allocated;
	pthread_mutex_unlock(&mf->lock);
	return n;
}

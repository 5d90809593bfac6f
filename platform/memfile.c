/*
 * platform/memfile.c - memfd, one mapping, and a first-fit range allocator.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <signal.h>
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
	pthread_cond_init(&mf->fill_cond, NULL);
	pthread_cond_init(&mf->filled_cond, NULL);
	segset_init(&mf->used, &used_ops);
	segset_init(&mf->pool, &pool_ops);
	segset_init(&mf->fresh, &pool_ops);
	mf->pool_max = abi_page_round_down(size / 8 < MEMFILE_POOL_MAX ? size / 8 : MEMFILE_POOL_MAX);
	if (sched_getaffinity(0, sizeof(mf->cpus), &mf->cpus))
		CPU_ZERO(&mf->cpus);
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

static void filler_stop(struct memfile *mf);

void memfile_destroy(struct memfile *mf)
{
	if (mf->fd < 0)
		return;
	filler_stop(mf);
	uncharge_range(mf, file_range_make(0, mf->size));
	segset_clear(&mf->used);
	segset_clear(&mf->pool);
	segset_clear(&mf->fresh);
	munmap(mf->base, mf->size);
	close(mf->fd);
	pthread_cond_destroy(&mf->fill_cond);
	pthread_cond_destroy(&mf->filled_cond);
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
 * out of the pool (its reserve was made).  Returns the bytes it held.
 * Caller holds the lock. */
static uint64_t pool_take(struct memfile *mf, struct file_range r)
{
	struct segset_seg *seg;
	uint64_t taken = 0;

	for (seg = segset_lower_bound_seg(&mf->pool, r.start); seg && seg->range.start < r.end;
	     seg = segset_next(seg)) {
		struct file_range part = file_range_intersect(seg->range, r);

		memset(mf->base + part.start, 0, file_range_len(part));
		taken += file_range_len(part);
	}
	mf->pooled -= taken;
	/* Reserved, so it cannot fail; if it did, no allocated range may
	 * stay pooled (it would be zeroed under its owner): empty the pool
	 * (@r is still all zeros, so punching it too loses nothing). */
	if (segset_remove_range(&mf->pool, r, NULL))
		pool_trim(mf);
	return taken;
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

/* --- prefill --- */

/* Wait until the filler is not backing anything in @r.  Caller holds the
 * lock, which this drops while it waits. */
static void wait_filling(struct memfile *mf, struct file_range r)
{
	while (file_range_overlaps(mf->filling, r))
		pthread_cond_wait(&mf->filled_cond, &mf->lock);
}

/* Is @at in a segment of @s?  If so, *@end is where that segment ends;
 * if not, where the next one starts (UINT64_MAX: none). */
static bool covered(struct segset *s, uint64_t at, uint64_t *end)
{
	struct segset_seg *seg = segset_lower_bound_seg(s, at);

	if (seg && seg->range.start <= at) {
		*end = seg->range.end;
		return true;
	}
	*end = seg ? seg->range.start : UINT64_MAX;
	return false;
}

/* The first free range from @hint on that is neither pooled nor fresh,
 * of at most @max bytes.  Caller holds the lock. */
static bool next_unbacked(struct memfile *mf, uint64_t max, struct file_range *out)
{
	struct segset_gap g;

	for (g = segset_lower_bound_gap(&mf->used, mf->hint); segset_gap_ok(g);
	     g = segset_gap_next_non_empty(g)) {
		struct file_range gr = segset_gap_range(g);
		uint64_t at = gr.start > mf->hint ? gr.start : mf->hint, pool_end, fresh_end;

		if (gr.end > mf->size)
			gr.end = mf->size;
		while (at < gr.end) {
			bool in_pool = covered(&mf->pool, at, &pool_end);
			bool in_fresh = covered(&mf->fresh, at, &fresh_end);
			uint64_t end;

			if (in_pool || in_fresh) {
				at = in_pool ? pool_end : fresh_end;
				continue;
			}
			end = pool_end < fresh_end ? pool_end : fresh_end;
			if (end > gr.end)
				end = gr.end;
			if (end - at > max)
				end = at + max;
			*out = file_range_make(at, end);
			return true;
		}
		if (gr.end >= mf->size)
			break;
	}
	return false;
}

/*
 * The filler: back the free frames where first fit looks next until the
 * fresh set holds @fill_want bytes.  A range goes into the fresh set
 * before it is backed, so an allocation may take it half way: it reads as
 * zeros either way, and MADV_POPULATE_WRITE leaves a frame that is there
 * alone.  A free of it waits (wait_filling).
 */
static void *filler_main(void *arg)
{
	struct memfile *mf = arg;
	struct file_range c;

	/* A guest thread that pinned itself must not pin its helper too. */
	if (CPU_COUNT(&mf->cpus))
		(void)sched_setaffinity(0, sizeof(mf->cpus), &mf->cpus);
	pthread_mutex_lock(&mf->lock);
	while (!mf->stopping) {
		uint64_t room = mf->fill_want > mf->fresh_bytes ? mf->fill_want - mf->fresh_bytes : 0;

		if (room < ABI_PAGE_SIZE ||
		    !next_unbacked(mf, room < MEMFILE_FILL_CHUNK ? room : MEMFILE_FILL_CHUNK, &c) ||
		    segset_reserve(&mf->fresh, 1) ||
		    abi_is_err(segset_insert_range(&mf->fresh, c, &no_value))) {
			pthread_cond_wait(&mf->fill_cond, &mf->lock);
			continue;
		}
		mf->fresh_bytes += file_range_len(c);
		mf->filling = c;
		pthread_mutex_unlock(&mf->lock);
		/* Best effort: what the host cannot back stays a hole (zeros). */
		(void)madvise(mf->base + c.start, file_range_len(c), MADV_POPULATE_WRITE);
		pthread_mutex_lock(&mf->lock);
		mf->filling = file_range_make(0, 0);
		pthread_cond_broadcast(&mf->filled_cond);
	}
	pthread_mutex_unlock(&mf->lock);
	return NULL;
}

/* Start the filler, with every signal blocked: the sandbox's signals are
 * for its vCPU threads.  Caller holds the lock. */
static void filler_start(struct memfile *mf)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	mf->filler_running = pthread_create(&mf->filler, NULL, filler_main, mf) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!mf->filler_running)
		mf->prefill = false; /* no thread: the faults back frames, as before */
	else
		pthread_setname_np(mf->filler, "ksentry-fill");
}

static void filler_stop(struct memfile *mf)
{
	if (!mf->filler_running)
		return;
	pthread_mutex_lock(&mf->lock);
	mf->stopping = true;
	pthread_cond_signal(&mf->fill_cond);
	pthread_mutex_unlock(&mf->lock);
	pthread_join(mf->filler, NULL);
	mf->filler_running = false;
}

/* @r was just allocated and @unbacked bytes of it came from neither the
 * pool nor the fresh set: learn from it, and wake the filler if the fresh
 * set runs low.  Caller holds the lock. */
static void fill_note(struct memfile *mf, uint64_t unbacked)
{
	if (!mf->prefill)
		return;
	if (unbacked) {
		mf->unbacked_taken += unbacked;
		if (mf->fill_want == 0 && mf->unbacked_taken >= MEMFILE_FILL_START)
			mf->fill_want = MEMFILE_FILL_START;
		else if (mf->fill_want && mf->fill_want < MEMFILE_FILL_MAX)
			mf->fill_want *= 2; /* the filler fell behind */
		if (mf->fill_want && !mf->filler_running)
			filler_start(mf);
	}
	if (mf->filler_running && file_range_empty(mf->filling) &&
	    mf->fresh_bytes < mf->fill_want / 2)
		pthread_cond_signal(&mf->fill_cond);
}

/* @r was just allocated: take it out of the fresh set (its reserve was
 * made).  Returns the bytes the set held.  Caller holds the lock. */
static uint64_t fresh_take(struct memfile *mf, struct file_range r)
{
	struct segset_seg *seg;
	uint64_t taken = 0;

	for (seg = segset_lower_bound_seg(&mf->fresh, r.start); seg && seg->range.start < r.end;
	     seg = segset_next(seg))
		taken += file_range_len(file_range_intersect(seg->range, r));
	if (!taken)
		return 0;
	mf->fresh_bytes -= taken;
	/* Reserved, so it cannot fail; if it did, no allocated range may
	 * stay fresh (a trim would punch it under its owner): forget the
	 * set, whose frames stay backed until first fit hands them out. */
	if (segset_remove_range(&mf->fresh, r, NULL)) {
		segset_clear(&mf->fresh);
		mf->fresh_bytes = 0;
	}
	return taken;
}

void memfile_prefill(struct memfile *mf)
{
	mf->prefill = true;
}

void memfile_trim(struct memfile *mf)
{
	struct segset_seg *seg;

	pthread_mutex_lock(&mf->lock);
	mf->fill_want = 0; /* the filler picks no new chunk: the wait ends */
	wait_filling(mf, file_range_make(0, mf->size));
	pool_trim(mf);
	for (seg = segset_first(&mf->fresh); seg; seg = segset_next(seg))
		punch(mf, seg->range);
	segset_clear(&mf->fresh);
	mf->fresh_bytes = 0;
	mf->unbacked_taken = 0; /* learn again */
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
	if (len > mf->size - mf->allocated || segset_reserve(&mf->pool, 2) ||
	    segset_reserve(&mf->fresh, 2))
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
	fill_note(mf, len - pool_take(mf, *out) - fresh_take(mf, *out));
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
	/* Not while the filler may still back it: punched, it would come
	 * back backed, host memory nobody counts. */
	wait_filling(mf, fr);
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

/*
 * kernel/mm.c - VMAs, PMAs, faults and guest copies; see mm.h.
 *
 * Every mutating operation first reserves the segment-set nodes it can
 * need, so once it starts changing the sets it cannot fail half way; the
 * only failures after that point are memory-file allocations, which leave
 * the pages they could not back simply unbacked (a later touch retries).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "abi/errno.h"
#include "abi/mman.h"
#include "kernel/mm.h"
#include "kernel/task.h" /* ERESTARTSYS */

#define PG ABI_PAGE_SIZE

/* Equal VMAs merge; file ones when the object's offsets continue, and the
 * merged segment keeps one of the two references. */
static bool vma_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	struct mm_vma *l = lv;
	const struct mm_vma *r = rv;

	if (l->prot != r->prot || l->kind != r->kind || l->shared != r->shared ||
	    l->noreserve != r->noreserve || l->charged != r->charged || l->mops != r->mops ||
	    l->mobj != r->mobj)
		return false;
	if (l->mobj) {
		if (l->moff + file_range_len(lr) != r->moff)
			return false;
		l->mops->put(l->mobj); /* never the last: *l holds one */
	}
	return true;
}

static void vma_split(struct file_range r, void *v, uint64_t at, void *right)
{
	struct mm_vma *rv = right;

	*rv = *(struct mm_vma *)v;
	if (rv->mobj) {
		rv->moff += at - r.start;
		rv->mops->get(rv->mobj);
	}
}

static const struct segset_ops vma_ops = {
	.value_size = sizeof(struct mm_vma),
	.merge = vma_merge,
	.split = vma_split,
};

/* PMAs merge when the frames continue in the memory file. */
static bool pma_merge(struct file_range lr, void *lv, struct file_range rr, const void *rv)
{
	const struct mm_pma *l = lv, *r = rv;

	return l->off + file_range_len(lr) == r->off && l->cow == r->cow && l->file == r->file;
}

static void pma_split(struct file_range r, void *v, uint64_t at, void *right)
{
	const struct mm_pma *l = v;

	*(struct mm_pma *)right =
		(struct mm_pma){.off = l->off + (at - r.start), .cow = l->cow, .file = l->file};
}

static const struct segset_ops pma_ops = {
	.value_size = sizeof(struct mm_pma),
	.merge = pma_merge,
	.split = pma_split,
};

static struct mm_vma *vma_of(struct segset_seg *seg)
{
	return segset_seg_value(seg);
}

static struct mm_pma *pma_of(struct segset_seg *seg)
{
	return segset_seg_value(seg);
}

/* The memory-file range behind [va, va + len) of PMA @seg. */
static struct file_range pma_frames(struct segset_seg *seg, uint64_t va, uint64_t len)
{
	uint64_t off = pma_of(seg)->off + (va - segset_seg_range(seg).start);

	return file_range_make(off, off + len);
}

void mm_frames_init(struct mm_frames *f, uint64_t commit_limit)
{
	pthread_mutex_init(&f->lock, NULL);
	frame_ref_set_init(&f->extra);
	f->committed = 0;
	f->commit_limit = commit_limit;
}

void mm_frames_destroy(struct mm_frames *f)
{
	frame_ref_set_clear(&f->extra, NULL);
	pthread_mutex_destroy(&f->lock);
}

void mm_init(struct mm *mm, struct memfile *mf, struct mm_frames *frames, struct platform_as *as)
{
	memset(mm, 0, sizeof(*mm));
	pthread_mutex_init(&mm->lock, NULL);
	mm->mf = mf;
	mm->frames = frames;
	mm->as = as;
	mm->users = 1;
	segset_init(&mm->vmas, &vma_ops);
	segset_init(&mm->pmas, &pma_ops);
}

struct mm *mm_create(struct memfile *mf, struct mm_frames *frames, struct platform_as *as)
{
	struct mm *mm = malloc(sizeof(*mm));

	if (mm)
		mm_init(mm, mf, frames, as);
	return mm;
}

struct mm *mm_get(struct mm *mm)
{
	__atomic_add_fetch(&mm->users, 1, __ATOMIC_RELAXED);
	return mm;
}

void mm_put(struct mm *mm)
{
	if (__atomic_sub_fetch(&mm->users, 1, __ATOMIC_ACQ_REL) == 0) {
		mm_destroy(mm);
		free(mm);
	}
}

/* --- the commit (struct mm_frames) --- */

/* Does a VMA like @v need its length charged?  Writable private memory
 * (anonymous or a file's copy-on-write pages) and all shared anonymous
 * memory, as Linux's VM_ACCOUNT. */
static bool vma_chargeable(const struct mm_vma *v)
{
	if (v->noreserve)
		return false;
	return v->shared ? !v->mops : (v->prot & PROT_WRITE) != 0;
}

/* Charge @len bytes; -ENOMEM past the limit (nothing charged then). */
static int commit_charge(struct mm *mm, uint64_t len)
{
	struct mm_frames *f = mm->frames;
	uint64_t now;

	if (!f || !len)
		return 0;
	now = __atomic_add_fetch(&f->committed, len, __ATOMIC_RELAXED);
	if (f->commit_limit && now > f->commit_limit) {
		__atomic_sub_fetch(&f->committed, len, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	return 0;
}

/* Charge @len bytes that are already accounted for elsewhere (a move:
 * what the old place gave back), past the limit or not. */
static void commit_keep(struct mm *mm, uint64_t len)
{
	if (mm->frames && len)
		__atomic_add_fetch(&mm->frames->committed, len, __ATOMIC_RELAXED);
}

static void commit_uncharge(struct mm *mm, uint64_t len)
{
	if (mm->frames && len)
		__atomic_sub_fetch(&mm->frames->committed, len, __ATOMIC_RELAXED);
}

/* Charge @v's length @len if it needs it, marking it charged. */
static int charge_vma(struct mm *mm, struct mm_vma *v, uint64_t len)
{
	int err;

	v->charged = false;
	if (!mm->frames || !vma_chargeable(v))
		return 0;
	err = commit_charge(mm, len);
	v->charged = !err;
	return err;
}

/* --- frame ownership --- */

/* Does any frame of @fr have another owner?  Caller holds frames->lock. */
static bool frames_shared(struct mm *mm, struct file_range fr)
{
	struct segset_seg *seg = segset_lower_bound_seg(&mm->frames->extra.set, fr.start);

	return seg && segset_seg_range(seg).start < fr.end;
}

/* Give up this mm's ownership of the frames @fr: those other mms still own
 * lose an owner, the rest go back to the memory file. */
static void release_frames(struct mm *mm, struct file_range fr)
{
	struct segset *extra;
	uint64_t at = fr.start;

	if (!mm->frames) {
		(void)memfile_free(mm->mf, fr);
		return;
	}
	pthread_mutex_lock(&mm->frames->lock);
	extra = &mm->frames->extra.set;
	while (at < fr.end) {
		struct segset_seg *seg = segset_lower_bound_seg(extra, at);
		uint64_t start = seg ? segset_seg_range(seg).start : fr.end;
		uint64_t end;

		if (start > at) { /* ours alone, up to the next shared frame */
			end = start < fr.end ? start : fr.end;
			(void)memfile_free(mm->mf, file_range_make(at, end));
		} else {
			end = segset_seg_range(seg).end < fr.end ? segset_seg_range(seg).end : fr.end;
			/* Out of nodes: keep the frame (a leak) rather than free a
			 * frame another mm still maps. */
			if (frame_ref_set_dec_ref_and_account(&mm->frames->extra,
							      file_range_make(at, end), NULL))
				break; /* out of nodes: the rest leaks */
		}
		at = end;
	}
	pthread_mutex_unlock(&mm->frames->lock);
}

/* Unpin the frames behind [va) of a file PMA at memory-file @off, VMA by
 * VMA (a PMA may have merged across two).  Caller holds the lock. */
static void unpin_frames(struct mm *mm, struct file_range va, uint64_t off)
{
	struct segset_seg *v;

	for (v = segset_lower_bound_seg(&mm->vmas, va.start);
	     v && segset_seg_range(v).start < va.end; v = segset_next(v)) {
		struct file_range r = file_range_intersect(segset_seg_range(v), va);
		uint64_t at = off + (r.start - va.start);

		if (!file_range_empty(r) && vma_of(v)->mobj)
			vma_of(v)->mops->unpin(vma_of(v)->mobj,
					       file_range_make(at, at + file_range_len(r)));
	}
}

/* Let go of the frames behind [va) of PMA @p: unpin a file's, release
 * the mm's own. */
static void release_pma(struct mm *mm, struct file_range va, const struct mm_pma *p,
			uint64_t off)
{
	if (p->file)
		unpin_frames(mm, va, off);
	else
		release_frames(mm, file_range_make(off, off + file_range_len(va)));
}

/* --- deferred reference drops --- */

/* Owe the drop of the reference of VMA @v (@len bytes), after writing it
 * back if it is shared.  Without room, drop it now and skip the writeback (the
 * pages stay dirty in the cache).  Caller holds the lock. */
static void defer_put(struct mm *mm, const struct mm_vma *v, uint64_t len)
{
	struct mm_deferred *d;

	if (mm->ndefer == mm->capdefer) {
		size_t cap = mm->capdefer ? 2 * mm->capdefer : 8;

		d = realloc(mm->defer, cap * sizeof(*d));
		if (!d) {
			v->mops->put(v->mobj);
			return;
		}
		mm->defer = d;
		mm->capdefer = cap;
	}
	mm->defer[mm->ndefer++] = (struct mm_deferred){
		.ops = v->mops,
		.obj = v->mobj,
		.off = v->moff,
		.len = len,
		.writeback = v->shared,
	};
}

static void run_deferred(struct mm_deferred *d, size_t n, bool wait)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i].writeback)
			(void)d[i].ops->writeback(d[i].obj, d[i].off, d[i].len, wait);
		d[i].ops->put(d[i].obj);
	}
	free(d);
}

/* Drop the lock, then pay what unmapping owed: writebacks wait for the
 * server here, with no lock held. */
static void mm_unlock(struct mm *mm)
{
	struct mm_deferred *d = mm->defer;
	size_t n = mm->ndefer;

	mm->defer = NULL;
	mm->ndefer = mm->capdefer = 0;
	pthread_mutex_unlock(&mm->lock);
	run_deferred(d, n, true);
}

/* --- ranges --- */

/* [addr, addr + page_up(len)) as a user range into *@out.  @addr must be
 * page aligned.  -EINVAL for a bad start or zero length, -ENOMEM if the
 * range leaves the user half (what mmap and mprotect return). */
static int user_range(uint64_t addr, uint64_t len, struct file_range *out)
{
	uint64_t rlen, end;

	if (!abi_page_aligned(addr) || len == 0)
		return -EINVAL;
	if (!abi_page_round_up(len, &rlen) || __builtin_add_overflow(addr, rlen, &end) ||
	    end > PLATFORM_USER_END)
		return -ENOMEM;
	*out = file_range_make(addr, end);
	return 0;
}

static bool range_free(struct mm *mm, struct file_range r)
{
	struct segset_seg *seg = segset_lower_bound_seg(&mm->vmas, r.start);

	return !seg || segset_seg_range(seg).start >= r.end;
}

/* Is every page of @r inside some VMA? */
static bool range_mapped(struct mm *mm, struct file_range r)
{
	uint64_t at = r.start;
	struct segset_seg *seg = segset_find(&mm->vmas, at, NULL);

	while (seg && segset_seg_range(seg).start <= at) {
		at = segset_seg_range(seg).end;
		if (at >= r.end)
			return true;
		seg = segset_next(seg);
	}
	return false;
}

/* Top-down search for @len free bytes below MM_MMAP_BASE. */
static int find_free(struct mm *mm, uint64_t len, uint64_t *out)
{
	struct segset_gap g = segset_upper_bound_gap(&mm->vmas, MM_MMAP_BASE - 1);

	for (; segset_gap_ok(g); g = segset_gap_prev_gap(g)) {
		struct file_range gr = segset_gap_range(g);
		uint64_t end = gr.end < MM_MMAP_BASE ? gr.end : MM_MMAP_BASE;
		uint64_t start = gr.start > ABI_MMAP_MIN_ADDR ? gr.start : ABI_MMAP_MIN_ADDR;

		if (end > start && end - start >= len) {
			*out = end - len;
			return 0;
		}
		if (gr.start <= ABI_MMAP_MIN_ADDR)
			break;
	}
	return -ENOMEM;
}

/* Make sure the next isolate/split/insert steps on both sets cannot fail. */
static int reserve(struct mm *mm, size_t vma_nodes, size_t pma_nodes)
{
	if (segset_reserve(&mm->vmas, vma_nodes) || segset_reserve(&mm->pmas, pma_nodes))
		return -ENOMEM;
	return 0;
}

/* --- PMAs --- */

/* Free the frames behind @r and forget them; the platform stops mapping
 * them before they are freed.  Needs two reserved PMA nodes. */
static void drop_pmas(struct mm *mm, struct file_range r)
{
	struct segset_seg *seg = segset_lower_bound_seg(&mm->pmas, r.start);

	mm->as->ops->unmap(mm->as, r.start, file_range_len(r));
	while (seg && segset_seg_range(seg).start < r.end) {
		struct file_range sr;

		seg = segset_isolate(&mm->pmas, seg, r);
		sr = segset_seg_range(seg);
		release_pma(mm, sr, pma_of(seg), pma_of(seg)->off);
		seg = segset_gap_next_seg(segset_remove(&mm->pmas, seg));
	}
}

/* Remove the VMAs in @r, owing their object references.  Needs two
 * reserved VMA nodes. */
static void remove_vmas(struct mm *mm, struct file_range r)
{
	struct segset_seg *seg = segset_lower_bound_seg(&mm->vmas, r.start);

	while (seg && segset_seg_range(seg).start < r.end) {
		seg = segset_isolate(&mm->vmas, seg, r);
		if (vma_of(seg)->charged)
			commit_uncharge(mm, file_range_len(segset_seg_range(seg)));
		if (vma_of(seg)->mobj)
			defer_put(mm, vma_of(seg), file_range_len(segset_seg_range(seg)));
		seg = segset_gap_next_seg(segset_remove(&mm->vmas, seg));
	}
}

/* Unmap everything in @r: frames, translations, VMAs.  Needs two reserved
 * nodes in each set. */
static void unmap_range(struct mm *mm, struct file_range r)
{
	drop_pmas(mm, r);
	remove_vmas(mm, r);
}

/* Allocate frames for [start, start + len), falling back to smaller pieces
 * when the memory file is fragmented. */
static int back_gap(struct mm *mm, struct segset_gap g, uint64_t start, uint64_t len)
{
	while (len > 0) {
		uint64_t try = len;
		struct file_range fr;
		struct mm_pma pma;
		struct segset_seg *seg;
		int err;

		while ((err = memfile_alloc(mm->mf, try, PG, MEMACCT_ANONYMOUS, &fr)) == -ENOMEM &&
		       try > PG)
			try = abi_page_round_down(try / 2);
		if (err)
			return err;
		pma = (struct mm_pma){.off = fr.start};
		seg = segset_insert(&mm->pmas, g, file_range_make(start, start + try), &pma);
		if (abi_is_err(seg)) {
			(void)memfile_free(mm->mf, fr);
			return (int)abi_ptr_err(seg);
		}
		start += try;
		len -= try;
		g = segset_seg_next_gap(&mm->pmas, seg);
	}
	return 0;
}

/* Give every page of @r frames. */
static int back_range(struct mm *mm, struct file_range r)
{
	struct segset_gap g = segset_lower_bound_gap(&mm->pmas, r.start);

	while (segset_gap_ok(g) && segset_gap_range(g).start < r.end) {
		struct file_range gr = file_range_intersect(segset_gap_range(g), r);
		int err;

		if (file_range_empty(gr)) {
			g = segset_gap_next_gap(g);
			continue;
		}
		err = back_gap(mm, g, gr.start, file_range_len(gr));
		if (err)
			return err;
		/* The gap is gone (and may have merged): go on after it. */
		g = segset_lower_bound_gap(&mm->pmas, gr.end - 1);
	}
	return 0;
}

/* Tell the platform about every backed page of @r, with its VMA's rights. */
static int map_pmas(struct mm *mm, struct file_range r)
{
	struct segset_seg *p, *v;

	for (p = segset_lower_bound_seg(&mm->pmas, r.start);
	     p && segset_seg_range(p).start < r.end; p = segset_next(p)) {
		struct file_range pr = file_range_intersect(segset_seg_range(p), r);

		for (v = segset_lower_bound_seg(&mm->vmas, pr.start);
		     v && segset_seg_range(v).start < pr.end; v = segset_next(v)) {
			struct file_range vr = file_range_intersect(segset_seg_range(v), pr);
			int err;

			unsigned prot = vma_of(v)->prot;

			if (pma_of(p)->cow)
				prot &= ~(unsigned)PROT_WRITE; /* the first write copies */
			if (file_range_empty(vr) || prot == 0)
				continue;
			err = mm->as->ops->map(mm->as, vr.start,
					       pma_frames(p, vr.start, file_range_len(vr)), prot);
			if (err)
				return err;
		}
	}
	return 0;
}

static bool access_ok(unsigned prot, enum mm_access access)
{
	if (access & MM_ACCESS_WRITE)
		return prot & PROT_WRITE;
	if (access & MM_ACCESS_EXEC)
		return prot & PROT_EXEC;
	return prot != 0; /* on x86 every mapped page is readable */
}

/*
 * Make every copy-on-write page of @r (inside one VMA, backed) private to
 * this mm: copy the frames other mms still own, keep the ones this mm
 * turns out to own alone.  The caller maps @r again afterwards.
 */
static int break_cow(struct mm *mm, struct file_range r)
{
	struct segset_seg *seg = segset_lower_bound_seg(&mm->pmas, r.start);
	int err;

	while (seg && segset_seg_range(seg).start < r.end) {
		struct file_range sr, old, fresh;
		bool shared;

		if (!pma_of(seg)->cow) {
			seg = segset_next(seg);
			continue;
		}
		err = segset_reserve(&mm->pmas, 2);
		if (err)
			return err;
		seg = segset_isolate(&mm->pmas, seg, r);
		sr = segset_seg_range(seg);
		old = pma_frames(seg, sr.start, file_range_len(sr));
		shared = pma_of(seg)->file; /* a file's frames are never ours */
		if (!shared) {
			pthread_mutex_lock(&mm->frames->lock);
			shared = frames_shared(mm, old);
			pthread_mutex_unlock(&mm->frames->lock);
		}
		if (shared) {
			err = memfile_alloc(mm->mf, file_range_len(old), PG, MEMACCT_ANONYMOUS,
					    &fresh);
			if (err)
				return err;
			memcpy(memfile_map(mm->mf, fresh), memfile_map(mm->mf, old),
			       file_range_len(old));
			mm->as->ops->unmap(mm->as, sr.start, file_range_len(sr));
			release_pma(mm, sr, pma_of(seg), old.start);
			pma_of(seg)->off = fresh.start;
		}
		pma_of(seg)->cow = false;
		pma_of(seg)->file = false;
		seg = segset_next(seg);
	}
	segset_merge_range(&mm->pmas, r);
	return 0;
}

/* The fault-around window of @addr inside VMA @v: the aligned
 * MM_FAULT_AROUND pages holding it, or, in anonymous memory right after
 * the last fault's window, twice that window (at most
 * MM_FAULT_AROUND_MAX pages) from there.  Caller holds mm->lock. */
static struct file_range fault_window(struct mm *mm, struct segset_seg *v, uint64_t addr)
{
	const uint64_t base = MM_FAULT_AROUND * PG;
	uint64_t pages = MM_FAULT_AROUND;
	struct file_range w;

	w.start = addr & ~(base - 1);
	if (!vma_of(v)->mobj && w.start == mm->fault_next && mm->fault_pages)
		pages = mm->fault_pages * 2 < MM_FAULT_AROUND_MAX ? mm->fault_pages * 2
								  : MM_FAULT_AROUND_MAX;
	w.end = w.start + pages * PG;
	w = file_range_intersect(w, segset_seg_range(v));
	if (!vma_of(v)->mobj) {
		mm->fault_next = w.end;
		mm->fault_pages = (unsigned)pages;
	}
	return w;
}

/* A file's pages to bring into memory before a fault can go on. */
struct mm_fill {
	const struct mm_mappable_ops *ops;
	void *obj; /* a reference, or NULL: nothing to fill */
	uint64_t off, len;
};

#define MM_FILL_MAX (256 * 1024) /* bytes a fault asks a file for at once */

/*
 * Back the window @w of file VMA @v with the object's pinned frames.
 * -EAGAIN when a page is not in memory: *@fill says which to bring in
 * (without the lock), and the fault is tried again; with @fill NULL such
 * pages are left out.  Needs a reserved PMA node per page of @w.
 */
static int back_file_range(struct mm *mm, struct segset_seg *v, struct file_range w,
			   struct mm_fill *fill)
{
	const struct mm_vma *vma = vma_of(v);
	struct file_range vr = segset_seg_range(v);
	/* A shared writable mapping writes without telling: its pages are
	 * dirty from the start. */
	bool dirty = vma->shared && (vma->prot & PROT_WRITE);
	uint64_t at = w.start;

	while (at < w.end) {
		struct segset_gap g;
		struct segset_seg *seg = segset_find(&mm->pmas, at, &g);
		struct mm_pma pma = {.cow = !vma->shared, .file = true};
		uint64_t end, off = vma->moff + (at - vr.start);
		struct file_range fr;
		int err;

		if (seg) {
			at = segset_seg_range(seg).end;
			continue;
		}
		end = segset_gap_range(g).end < w.end ? segset_gap_range(g).end : w.end;
		err = vma->mops->pin(vma->mobj, off, end - at, dirty, &fr);
		if (err == -EAGAIN && !fill) {
			at += PG; /* around the fault: only what is in memory */
			continue;
		}
		if (err == -EAGAIN) {
			*fill = (struct mm_fill){.ops = vma->mops, .obj = vma->mobj, .off = off,
						 .len = vr.end - at < MM_FILL_MAX ? vr.end - at
										: MM_FILL_MAX};
			vma->mops->get(vma->mobj);
		}
		if (err)
			return err;
		pma.off = fr.start;
		seg = segset_insert(&mm->pmas, g, file_range_make(at, at + file_range_len(fr)), &pma);
		if (abi_is_err(seg)) {
			vma->mops->unpin(vma->mobj, fr);
			return (int)abi_ptr_err(seg);
		}
		at += file_range_len(fr);
	}
	return 0;
}

/* Back the fault-around window @w of file VMA @v: the page of @addr,
 * filled first if it must be (-EAGAIN with *@fill), then whatever else
 * of the window the object has in memory.  A fill reads ahead from the
 * faulting page as far as the object lets it (FUSE: max_readahead, or
 * nothing while congested); the window never makes a fault wait for
 * more than its own page. */
static int back_file(struct mm *mm, struct segset_seg *v, struct file_range w, uint64_t addr,
		     struct mm_fill *fill)
{
	uint64_t page = addr & ~(uint64_t)(PG - 1);
	int err = back_file_range(mm, v, file_range_make(page, page + PG), fill);

	return err ? err : back_file_range(mm, v, w, NULL);
}

/* Bring in what a fault asked for and drop the reference.  Caller holds
 * no lock. */
static int run_fill(struct mm_fill *fill)
{
	int err = fill->ops->fill(fill->obj, fill->off, fill->len);

	fill->ops->put(fill->obj);
	fill->obj = NULL;
	return err;
}

/* Back and map the fault-around window of @addr.  Caller holds the lock.
 * -EAGAIN: run *@fill without the lock and try again. */
static int fault_locked(struct mm *mm, uint64_t addr, enum mm_access access,
			struct mm_fill *fill)
{
	struct segset_seg *v = segset_find(&mm->vmas, addr, NULL);
	struct file_range w;
	int err;

	if (!v || !access_ok(vma_of(v)->prot, access))
		return -EFAULT;
	/* The aligned window holding @addr, as Linux's fault-around: memory
	 * touched in order faults once per window. */
	w = fault_window(mm, v, addr);
	err = segset_reserve(&mm->pmas, file_range_len(w) / PG + 2);
	if (!err)
		err = vma_of(v)->mobj ? back_file(mm, v, w, addr, fill) : back_range(mm, w);
	if (err == -ENOMEM && !vma_of(v)->mobj && file_range_len(w) > MM_FAULT_AROUND * PG) {
		/* A grown window the memory cannot take: what a fault would
		 * have had without it (and in order starts again). */
		mm->fault_pages = 0;
		w = fault_window(mm, v, addr);
		err = back_range(mm, w);
	}
	if (!err && (access & MM_ACCESS_WRITE))
		err = break_cow(mm, w);
	if (!err)
		err = map_pmas(mm, w);
	return err;
}

/* Times a fault may find its file pages gone again after filling them. */
#define MM_FILL_TRIES 8

int mm_handle_fault(struct mm *mm, uint64_t addr, enum mm_access access)
{
	struct mm_fill fill = {0};
	int err, tries = 0;

	do {
		int ferr;

		pthread_mutex_lock(&mm->lock);
		err = fault_locked(mm, addr, access, &fill);
		pthread_mutex_unlock(&mm->lock);
		if (err != -EAGAIN)
			break;
		ferr = run_fill(&fill);
		/* A signal came while the server was asked: deliver it, and
		 * the access faults again after the handler. */
		if (ferr == -EINTR || ferr == -ERESTARTSYS)
			return 0;
		/* A file that cannot give its data is SIGBUS, as on Linux. */
		if (ferr)
			return -ENOMEM;
	} while (++tries < MM_FILL_TRIES);
	return err == -EAGAIN ? -ENOMEM : err;
}

/* Back and map @r now; file VMAs in it are left to their faults, which
 * must not wait for a server under the lock. */
static int populate_locked(struct mm *mm, struct file_range r)
{
	struct segset_seg *v;
	int err = 0;

	if (!range_mapped(mm, r))
		return -EFAULT;
	for (v = segset_lower_bound_seg(&mm->vmas, r.start);
	     !err && v && segset_seg_range(v).start < r.end; v = segset_next(v))
		if (!vma_of(v)->mobj)
			err = back_range(mm, file_range_intersect(segset_seg_range(v), r));
	if (!err)
		err = map_pmas(mm, r);
	return err;
}

int mm_populate(struct mm *mm, uint64_t addr, uint64_t len)
{
	struct file_range r;
	int err;

	err = user_range(abi_page_round_down(addr), len + (addr & ABI_PAGE_MASK), &r);
	if (err)
		return err == -ENOMEM ? -EFAULT : err;
	pthread_mutex_lock(&mm->lock);
	err = populate_locked(mm, r);
	pthread_mutex_unlock(&mm->lock);
	return err;
}

/* --- mmap family --- */

/* Insert a VMA over the free range @r.  Needs reserved VMA nodes. */
static int insert_vma(struct mm *mm, struct file_range r, const struct mm_vma *v)
{
	struct segset_seg *seg = segset_insert_range(&mm->vmas, r, v);

	return abi_is_err(seg) ? (int)abi_ptr_err(seg) : 0;
}

/* mmap of VMA @v (whose object reference, if any, the mapping takes
 * over on success). */
static int64_t mmap_vma(struct mm *mm, uint64_t addr, uint64_t len, unsigned flags,
			const struct mm_vma *want)
{
	struct mm_vma vma = *want, *v = &vma;
	unsigned type = flags & MAP_TYPE;
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	struct file_range r;
	uint64_t rlen, start;
	int err;

	if ((v->prot & ~ABI_PROT_MASK) || (type != MAP_PRIVATE && type != MAP_SHARED &&
					   type != MAP_SHARED_VALIDATE))
		return -EINVAL;
	if (len == 0)
		return -EINVAL;
	if (!abi_page_round_up(len, &rlen) || rlen > PLATFORM_USER_END)
		return -ENOMEM;
	if (fixed) {
		if (!abi_page_aligned(addr))
			return -EINVAL;
		if (addr < ABI_MMAP_MIN_ADDR)
			return -EPERM;
		err = user_range(addr, rlen, &r);
		if (err)
			return err;
	}

	pthread_mutex_lock(&mm->lock);
	err = reserve(mm, 2, 2);
	if (err)
		goto out_unlock;
	if (fixed) {
		err = -EEXIST;
		if ((flags & MAP_FIXED_NOREPLACE) && !range_free(mm, r))
			goto out_unlock;
		unmap_range(mm, r);
	} else {
		start = abi_page_round_down(addr);
		if (start < ABI_MMAP_MIN_ADDR || user_range(start, rlen, &r) || !range_free(mm, r)) {
			err = find_free(mm, rlen, &start);
			if (err)
				goto out_unlock;
			r = file_range_make(start, start + rlen);
		}
	}
	v->noreserve = flags & MAP_NORESERVE;
	err = charge_vma(mm, v, rlen);
	if (err)
		goto out_unlock;
	err = insert_vma(mm, r, v);
	if (err) {
		if (v->charged)
			commit_uncharge(mm, rlen);
		goto out_unlock;
	}
	if (flags & MAP_POPULATE) {
		err = populate_locked(mm, r);
		if (err) {
			if (v->mobj)
				v->mops->get(v->mobj); /* the caller's stays theirs */
			unmap_range(mm, r);
			err = -ENOMEM;
			goto out_unlock;
		}
	}
	mm_unlock(mm);
	return (int64_t)r.start;

out_unlock:
	mm_unlock(mm);
	return err;
}

int64_t mm_mmap(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot, unsigned flags)
{
	struct mm_vma v = {.prot = prot,
			   .kind = flags & MAP_GROWSDOWN ? MM_VMA_STACK : MM_VMA_ANON,
			   .shared = (flags & MAP_TYPE) != MAP_PRIVATE};

	if (!(flags & MAP_ANONYMOUS))
		return -ENODEV; /* files come through mm_mmap_file */
	return mmap_vma(mm, addr, len, flags, &v);
}

int64_t mm_mmap_file(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot, unsigned flags,
		     const struct mm_mappable_ops *ops, void *obj, uint64_t off)
{
	struct mm_vma v = {.prot = prot, .kind = MM_VMA_ANON,
			   .shared = (flags & MAP_TYPE) != MAP_PRIVATE,
			   .mops = ops, .mobj = obj, .moff = off};
	int64_t r;

	if (!abi_page_aligned(off) || (flags & (MAP_ANONYMOUS | MAP_GROWSDOWN)))
		return -EINVAL;
	if (off + len < off)
		return -EOVERFLOW;
	ops->get(obj);
	r = mmap_vma(mm, addr, len, flags, &v);
	if (r < 0)
		ops->put(obj);
	return r;
}

int mm_munmap(struct mm *mm, uint64_t addr, uint64_t len)
{
	struct file_range r;
	int err;

	err = user_range(addr, len, &r);
	if (err)
		return -EINVAL;
	pthread_mutex_lock(&mm->lock);
	err = reserve(mm, 2, 2);
	if (!err)
		unmap_range(mm, r);
	mm_unlock(mm);
	return err;
}

static void grow_populate(struct mm *mm, struct file_range grow);

/* Does @at continue writable private anonymous memory right below it?
 * A glibc arena grows so (each mprotect extends its writable part); a
 * thread stack made writable above its guard page does not, and its
 * low end, what grow_populate would back, is the part a stack seldom
 * touches.  Caller holds the lock. */
static bool grows_below(struct mm *mm, uint64_t at)
{
	struct segset_seg *seg = at ? segset_find(&mm->vmas, at - 1, NULL) : NULL;
	const struct mm_vma *v = seg ? vma_of(seg) : NULL;

	return v && !v->mobj && !v->shared && (v->prot & PROT_WRITE);
}

int mm_mprotect(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot)
{
	struct segset_seg *seg;
	struct file_range r;
	bool grew = true; /* all of @r private anonymous, inaccessible, now writable */
	int err, merr;

	if ((prot & ~ABI_PROT_MASK) || !abi_page_aligned(addr))
		return -EINVAL;
	if (len == 0)
		return 0;
	err = user_range(addr, len, &r);
	if (err)
		return err;

	pthread_mutex_lock(&mm->lock);
	err = -ENOMEM;
	if (!range_mapped(mm, r))
		goto out_unlock;
	err = reserve(mm, 2, 0);
	if (err)
		goto out_unlock;
	for (seg = segset_find(&mm->vmas, r.start, NULL); seg && segset_seg_range(seg).start < r.end;
	     seg = segset_next(seg)) {
		struct mm_vma *v;

		seg = segset_isolate(&mm->vmas, seg, r);
		v = vma_of(seg);
		grew = grew && !v->mobj && !v->shared && v->prot == PROT_NONE && (prot & PROT_WRITE);
		/* A shared file mapping made writable: its pages were pinned
		 * clean; let faults pin them again, dirty. */
		if (v->mobj && v->shared && (prot & PROT_WRITE) && !(v->prot & PROT_WRITE)) {
			err = segset_reserve(&mm->pmas, 2);
			if (err)
				break; /* this VMA and the rest keep their rights */
			drop_pmas(mm, segset_seg_range(seg));
		}
		if (!v->charged) { /* made writable: charged from now on */
			struct mm_vma nv = *v;

			nv.prot = prot;
			err = charge_vma(mm, &nv, file_range_len(segset_seg_range(seg)));
			if (err)
				break; /* this VMA and the rest keep their rights */
			v->charged = nv.charged;
		}
		v->prot = prot;
	}
	segset_merge_range(&mm->vmas, r);
	segset_merge_adjacent(&mm->vmas, r);
	mm->as->ops->unmap(mm->as, r.start, file_range_len(r));
	merr = map_pmas(mm, r);
	if (!err)
		err = merr;
	if (!err && grew && grows_below(mm, r.start))
		grow_populate(mm, r);
out_unlock:
	pthread_mutex_unlock(&mm->lock);
	return err;
}

int mm_msync(struct mm *mm, uint64_t addr, uint64_t len, int flags)
{
	struct mm_deferred *d = NULL;
	struct segset_seg *v;
	struct file_range r;
	size_t n = 0;
	int err;

	if ((flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)) || !abi_page_aligned(addr))
		return -EINVAL;
	if (len == 0)
		return 0;
	if (user_range(addr, len, &r))
		return -ENOMEM;
	pthread_mutex_lock(&mm->lock);
	err = range_mapped(mm, r) ? 0 : -ENOMEM;
	for (v = segset_lower_bound_seg(&mm->vmas, r.start);
	     !err && v && segset_seg_range(v).start < r.end; v = segset_next(v)) {
		struct file_range vr = segset_seg_range(v), w = file_range_intersect(vr, r);
		struct mm_deferred *grown;

		if (!vma_of(v)->mobj || !vma_of(v)->shared)
			continue;
		grown = realloc(d, (n + 1) * sizeof(*d));
		if (!grown) {
			err = -ENOMEM;
			break;
		}
		d = grown;
		d[n++] = (struct mm_deferred){.ops = vma_of(v)->mops, .obj = vma_of(v)->mobj,
					      .off = vma_of(v)->moff + (w.start - vr.start),
					      .len = file_range_len(w)};
		vma_of(v)->mops->get(vma_of(v)->mobj);
	}
	pthread_mutex_unlock(&mm->lock);
	for (size_t i = 0; i < n; i++) {
		int werr = d[i].ops->writeback(d[i].obj, d[i].off, d[i].len, true);

		if (!err)
			err = werr;
		d[i].ops->put(d[i].obj);
	}
	free(d);
	return err;
}

int mm_madvise(struct mm *mm, uint64_t addr, uint64_t len, int advice)
{
	struct file_range r;
	int err;

	if (!abi_page_aligned(addr))
		return -EINVAL;
	if (len == 0)
		return 0;
	switch (advice) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
		return 0;
	case MADV_DONTNEED:
	case MADV_FREE:
		break;
	default:
		return -EINVAL;
	}
	err = user_range(addr, len, &r);
	if (err)
		return err;
	pthread_mutex_lock(&mm->lock);
	err = reserve(mm, 0, 2);
	if (!err)
		drop_pmas(mm, r);
	pthread_mutex_unlock(&mm->lock);
	return err;
}

/* --- mremap --- */

/* Move the VMA piece @old (one VMA's worth) and its frames to @to,
 * resizing it to @new_len.  The destination must be free.  Frames move,
 * data is never copied. */
static int move_locked(struct mm *mm, struct file_range old, uint64_t to, uint64_t new_len)
{
	struct segset_seg *vseg = segset_find(&mm->vmas, old.start, NULL);
	struct mm_vma v = *vma_of(vseg);
	struct file_range keep, dst = file_range_make(to, to + new_len);
	struct segset_seg *seg;
	size_t n = 0;
	int err;

	keep = file_range_make(old.start, old.start + (new_len < file_range_len(old)
							     ? new_len
							     : file_range_len(old)));
	for (seg = segset_lower_bound_seg(&mm->pmas, old.start);
	     seg && segset_seg_range(seg).start < old.end; seg = segset_next(seg))
		n++;
	err = reserve(mm, 3, n + 4);
	if (err)
		return err;
	/* Growing: charge the growth first, so that nothing has moved if
	 * the commit has no room for it. */
	if (v.charged && new_len > file_range_len(old) &&
	    commit_charge(mm, new_len - file_range_len(old)))
		return -ENOMEM;

	if (keep.end < old.end)
		drop_pmas(mm, file_range_make(keep.end, old.end)); /* shrinking: the tail goes */
	mm->as->ops->unmap(mm->as, old.start, file_range_len(old));
	seg = segset_lower_bound_seg(&mm->pmas, keep.start);
	while (seg && segset_seg_range(seg).start < keep.end) {
		struct file_range sr;
		struct mm_pma pma;

		seg = segset_isolate(&mm->pmas, seg, keep);
		sr = segset_seg_range(seg);
		pma = *pma_of(seg);
		seg = segset_gap_next_seg(segset_remove(&mm->pmas, seg));
		sr = file_range_make(sr.start - old.start + to, sr.end - old.start + to);
		(void)segset_insert_range(&mm->pmas, sr, &pma); /* reserved */
	}
	if (v.mobj) { /* the moved VMA holds its own reference */
		v.moff += old.start - segset_seg_range(vseg).start;
		v.mops->get(v.mobj);
	}
	remove_vmas(mm, old); /* uncharges old's length... */
	if (v.charged) /* ... which dst takes back, with its growth already charged */
		commit_keep(mm, new_len < file_range_len(old) ? new_len : file_range_len(old));
	err = insert_vma(mm, dst, &v); /* reserved: cannot fail */
	if (!err)
		err = map_pmas(mm, dst);
	return err;
}

int64_t mm_mremap(struct mm *mm, uint64_t old_addr, uint64_t old_len, uint64_t new_len,
		  unsigned flags, uint64_t new_addr)
{
	struct file_range old, grow, dst;
	struct segset_seg *v;
	uint64_t to;
	int err;

	if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) ||
	    ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) || !abi_page_aligned(old_addr))
		return -EINVAL;
	if (old_len == 0 || new_len == 0)
		return -EINVAL; /* old_len 0 duplicates shared mappings: none here */
	if (user_range(old_addr, old_len, &old) || !abi_page_round_up(new_len, &new_len))
		return -EINVAL;

	pthread_mutex_lock(&mm->lock);
	err = -EFAULT;
	v = segset_find(&mm->vmas, old.start, NULL);
	if (!v || segset_seg_range(v).end < old.end)
		goto out_unlock; /* must lie in one VMA */

	if (flags & MREMAP_FIXED) {
		err = user_range(new_addr, new_len, &dst);
		if (err || new_addr < ABI_MMAP_MIN_ADDR || file_range_overlaps(dst, old)) {
			err = -EINVAL;
			goto out_unlock;
		}
		err = reserve(mm, 2, 2);
		if (err)
			goto out_unlock;
		unmap_range(mm, dst);
		err = move_locked(mm, old, dst.start, new_len);
		goto out_done;
	}
	if (new_len <= file_range_len(old)) {
		err = reserve(mm, 2, 2);
		if (!err)
			unmap_range(mm, file_range_make(old.start + new_len, old.end));
		to = old.start;
		goto out_done;
	}
	to = old.start;
	if (!__builtin_add_overflow(old.start, new_len, &grow.end) && grow.end <= PLATFORM_USER_END) {
		grow.start = old.end;
		if (range_free(mm, grow)) {
			struct mm_vma value = *vma_of(v);

			err = reserve(mm, 2, 0);
			if (!err && value.charged)
				err = commit_charge(mm, file_range_len(grow));
			if (!err && value.mobj) {
				value.moff += grow.start - segset_seg_range(v).start;
				value.mops->get(value.mobj);
			}
			if (!err) {
				err = insert_vma(mm, grow, &value);
				if (err && value.charged)
					commit_uncharge(mm, file_range_len(grow));
			}
			goto out_done;
		}
	}
	err = -ENOMEM;
	if (!(flags & MREMAP_MAYMOVE) || find_free(mm, new_len, &to))
		goto out_unlock;
	err = move_locked(mm, old, to, new_len);
out_done:
	mm_unlock(mm);
	return err ? err : (int64_t)(flags & MREMAP_FIXED ? dst.start : to);
out_unlock:
	mm_unlock(mm);
	return err;
}

/* --- brk --- */

void mm_set_brk_start(struct mm *mm, uint64_t start)
{
	pthread_mutex_lock(&mm->lock);
	mm->brk_start = mm->brk = start;
	pthread_mutex_unlock(&mm->lock);
}

/*
 * Back and map the first MM_GROW_POPULATE bytes of anonymous memory
 * malloc just grew: the heap by brk (glibc grows it by its 128 KiB top
 * pad plus the request), or a thread arena by mprotect of its reserved
 * PROT_NONE space (64 KiB and more at a time); malloc touches the growth
 * at once, so each grow would otherwise be followed by a fault or two,
 * each a VM exit (a FUSE server storing a new file: ~1,400 brk calls, or
 * ~4,100 mprotects multi-threaded, for 256 MiB).  Best effort: what
 * memory cannot back now faults in later, as it would have.  Caller
 * holds the lock; @grow lies in private anonymous VMAs.
 */
static void grow_populate(struct mm *mm, struct file_range grow)
{
	if (file_range_len(grow) > MM_GROW_POPULATE)
		grow.end = grow.start + MM_GROW_POPULATE;
	if (back_range(mm, grow) == 0)
		(void)map_pmas(mm, grow);
}

uint64_t mm_brk(struct mm *mm, uint64_t addr)
{
	struct mm_vma heap = {.prot = PROT_READ | PROT_WRITE, .kind = MM_VMA_HEAP};
	uint64_t old_end, new_end, ret;

	pthread_mutex_lock(&mm->lock);
	ret = mm->brk;
	if (mm->brk_start == 0 || addr < mm->brk_start || addr > PLATFORM_USER_END)
		goto out_unlock;
	if (!abi_page_round_up(mm->brk, &old_end) || !abi_page_round_up(addr, &new_end))
		goto out_unlock;
	if (reserve(mm, 2, 2))
		goto out_unlock;
	if (new_end > old_end) {
		struct file_range grow = file_range_make(old_end, new_end);

		if (!range_free(mm, grow) || charge_vma(mm, &heap, file_range_len(grow)))
			goto out_unlock;
		if (insert_vma(mm, grow, &heap)) {
			commit_uncharge(mm, file_range_len(grow));
			goto out_unlock;
		}
		grow_populate(mm, grow);
	} else if (new_end < old_end) {
		unmap_range(mm, file_range_make(new_end, old_end));
	}
	mm->brk = ret = addr;
out_unlock:
	mm_unlock(mm);
	return ret;
}

/* --- guest copies --- */

/*
 * The sentry's pointer to guest address @va, usable for up to *@avail
 * bytes (to the end of its PMA and VMA), backing the page first if it has
 * never been touched.  Caller holds the lock, which is dropped and taken
 * again while a file mapping's pages are read in: the caller must not
 * keep segment pointers across the call.
 */
static int guest_ptr(struct mm *mm, uint64_t va, enum mm_access access, unsigned char **p,
		     uint64_t *avail)
{
	struct segset_seg *v, *pm;
	struct mm_fill fill = {0};
	int err, tries = 0;
	uint64_t end;

again:
	v = segset_find(&mm->vmas, va, NULL);
	if (!v || !access_ok(vma_of(v)->prot, access))
		return -EFAULT;
	pm = segset_find(&mm->pmas, va, NULL);
	if (!pm || ((access & MM_ACCESS_WRITE) && pma_of(pm)->cow)) {
		err = fault_locked(mm, va, access, &fill);
		if (err == -EAGAIN) {
			pthread_mutex_unlock(&mm->lock);
			err = run_fill(&fill);
			pthread_mutex_lock(&mm->lock);
			if (err || ++tries == MM_FILL_TRIES)
				return -EFAULT;
			goto again;
		}
		if (err)
			return err;
		pm = segset_find(&mm->pmas, va, NULL);
		if (!pm)
			return -EFAULT;
	}
	end = segset_seg_range(pm).end < segset_seg_range(v).end ? segset_seg_range(pm).end
								 : segset_seg_range(v).end;
	*p = memfile_map(mm->mf, pma_frames(pm, va, end - va));
	*avail = end - va;
	return *p ? 0 : -EFAULT;
}

int mm_atomic_u32(struct mm *mm, uint64_t va, uint32_t (*op)(uint32_t old, void *arg), void *arg,
		  uint32_t *old)
{
	unsigned char *p;
	uint64_t avail;
	uint32_t cur, want;
	int err;

	if (va & 3)
		return -EINVAL;
	pthread_mutex_lock(&mm->lock);
	err = va < PLATFORM_USER_END ? guest_ptr(mm, va, MM_ACCESS_WRITE, &p, &avail) : -EFAULT;
	if (!err) {
		/* Other vCPUs may run this memory now: a real atomic on the
		 * frame, which they see through their own mappings. */
		_Atomic uint32_t *w = (_Atomic uint32_t *)(void *)p;

		cur = atomic_load(w);
		do
			want = op(cur, arg);
		while (!atomic_compare_exchange_weak(w, &cur, want));
		*old = cur;
	}
	pthread_mutex_unlock(&mm->lock);
	return err == -ENOMEM ? -ENOMEM : err ? -EFAULT : 0;
}

int mm_futex_key(struct mm *mm, uint64_t va, uint64_t *off)
{
	struct segset_seg *v, *pm;
	unsigned char *p;
	uint64_t avail;
	int err;

	pthread_mutex_lock(&mm->lock);
	v = segset_find(&mm->vmas, va, NULL);
	err = !v ? -EFAULT : !vma_of(v)->shared ? 0 : guest_ptr(mm, va, MM_ACCESS_READ, &p, &avail);
	if (!err && v)
		v = segset_find(&mm->vmas, va, NULL); /* guest_ptr may drop the lock */
	if (!err && v && vma_of(v)->shared) {
		pm = segset_find(&mm->pmas, va, NULL);
		*off = pma_frames(pm, va, 4).start;
		err = 1;
	}
	pthread_mutex_unlock(&mm->lock);
	return err;
}

/* Walk [va, va + len) in host-contiguous chunks; @fn copies each. */
int mm_pin(struct mm *mm, uint64_t va, size_t len, bool write, struct mm_pin *pin)
{
	struct segset_seg *v, *pm;
	uint64_t avail, end;
	int err;

	if (!mm->frames || len == 0)
		return -EAGAIN;
	if (__builtin_add_overflow(va, len, &end) || end > PLATFORM_USER_END)
		return -EFAULT;
	pthread_mutex_lock(&mm->lock);
	v = segset_find(&mm->vmas, va, NULL);
	/* A file mapping's pages are the object's (and guest_ptr would fill
	 * them without the lock): not pinned here. */
	err = v && vma_of(v)->mobj ? -EAGAIN
				   : guest_ptr(mm, va, write ? MM_ACCESS_WRITE : MM_ACCESS_READ,
					       &pin->p, &avail);
	if (!err) {
		pm = segset_find(&mm->pmas, va, NULL);
		pin->len = avail < len ? (size_t)avail : len;
		pin->fr = pma_frames(pm, abi_page_round_down(va),
				     abi_page_round_down(va + pin->len + ABI_PAGE_MASK) -
					     abi_page_round_down(va));
		pthread_mutex_lock(&mm->frames->lock);
		err = frame_ref_set_inc_ref_and_account(&mm->frames->extra, pin->fr, NULL)
			      ? -EAGAIN
			      : 0;
		pthread_mutex_unlock(&mm->frames->lock);
	}
	pthread_mutex_unlock(&mm->lock);
	return err == -EAGAIN ? -EAGAIN : err ? -EFAULT : 0;
}

void mm_unpin(struct mm *mm, struct mm_pin *pin)
{
	release_frames(mm, pin->fr); /* the last owner, if the guest let go */
}

static int copy_walk(struct mm *mm, uint64_t va, size_t len, enum mm_access access,
		     void (*fn)(unsigned char *guest, void *host, size_t n), unsigned char *host)
{
	uint64_t end;
	int err = 0;

	if (len == 0)
		return 0;
	if (__builtin_add_overflow(va, len, &end) || end > PLATFORM_USER_END)
		return -EFAULT;
	pthread_mutex_lock(&mm->lock);
	while (len > 0) {
		unsigned char *p;
		uint64_t avail;
		size_t n;

		err = guest_ptr(mm, va, access, &p, &avail);
		if (err)
			break;
		n = avail < len ? (size_t)avail : len;
		fn(p, host, n);
		va += n;
		host += n;
		len -= n;
	}
	pthread_mutex_unlock(&mm->lock);
	return err == -ENOMEM ? -ENOMEM : err ? -EFAULT : 0;
}

static void copy_from_guest(unsigned char *guest, void *host, size_t n)
{
	memcpy(host, guest, n);
}

static void copy_to_guest(unsigned char *guest, void *host, size_t n)
{
	memcpy(guest, host, n);
}

int mm_copy_in(struct mm *mm, void *dst, uint64_t src, size_t len)
{
	return copy_walk(mm, src, len, MM_ACCESS_READ, copy_from_guest, dst);
}

int mm_copy_out(struct mm *mm, uint64_t dst, const void *src, size_t len)
{
	return copy_walk(mm, dst, len, MM_ACCESS_WRITE, copy_to_guest, (unsigned char *)src);
}

long mm_copy_in_string(struct mm *mm, char *dst, uint64_t src, size_t size)
{
	size_t done = 0;
	long ret = -ENAMETOOLONG;

	if (size == 0)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&mm->lock);
	while (done < size) {
		unsigned char *p, *nul;
		uint64_t avail;
		size_t n;

		if (src > PLATFORM_USER_END - 1 || guest_ptr(mm, src, MM_ACCESS_READ, &p, &avail)) {
			ret = -EFAULT;
			break;
		}
		n = avail < size - done ? (size_t)avail : size - done;
		nul = memchr(p, 0, n);
		if (nul)
			n = (size_t)(nul - p) + 1;
		memcpy(dst + done, p, n);
		done += n;
		src += n;
		if (nul) {
			ret = (long)done - 1;
			break;
		}
	}
	pthread_mutex_unlock(&mm->lock);
	if (ret < 0 && size > 0)
		dst[0] = '\0';
	return ret;
}

/* --- fork --- */

/* Give @child the piece @r of parent PMA @p (inside one VMA, @shared or
 * not) as a new owner of its frames.  Caller holds both locks. */
static int fork_piece(struct mm *child, struct mm *parent, struct segset_seg *p,
		      struct file_range r, const struct mm_vma *v)
{
	struct file_range fr = pma_frames(p, r.start, file_range_len(r));
	struct mm_pma pma = {.off = fr.start, .cow = !v->shared, .file = pma_of(p)->file};
	struct segset_seg *seg;
	int err;

	err = segset_reserve(&child->pmas, 1);
	if (err)
		return err;
	if (pma.file) { /* one more pin on the file's frames */
		err = v->mops->repin(v->mobj, fr);
	} else {
		pthread_mutex_lock(&parent->frames->lock);
		err = frame_ref_set_inc_ref_and_account(&parent->frames->extra, fr, NULL);
		pthread_mutex_unlock(&parent->frames->lock);
	}
	if (err)
		return err;
	seg = segset_insert_range(&child->pmas, r, &pma); /* reserved */
	return abi_is_err(seg) ? (int)abi_ptr_err(seg) : 0;
}

/* Share the frames of parent VMA @v with @child; a private VMA's pages
 * become copy-on-write in both. */
static int fork_vma(struct mm *child, struct mm *parent, struct segset_seg *v)
{
	struct file_range vr = segset_seg_range(v);
	bool shared = vma_of(v)->shared;
	struct segset_seg *p = segset_lower_bound_seg(&parent->pmas, vr.start);
	int err;

	err = segset_reserve(&child->vmas, 1);
	if (!err && vma_of(v)->charged) /* the child may write all of it too */
		err = commit_charge(child, file_range_len(vr));
	if (!err && vma_of(v)->mobj)
		vma_of(v)->mops->get(vma_of(v)->mobj); /* the child's VMA holds its own */
	if (!err)
		err = insert_vma(child, vr, vma_of(v)); /* reserved: cannot fail */
	while (!err && p && segset_seg_range(p).start < vr.end) {
		struct file_range r = file_range_intersect(segset_seg_range(p), vr);

		if (!shared && !pma_of(p)->cow) {
			err = segset_reserve(&parent->pmas, 2);
			if (err)
				break;
			p = segset_isolate(&parent->pmas, p, vr);
			pma_of(p)->cow = true;
		}
		err = fork_piece(child, parent, p, r, vma_of(v));
		p = segset_next(p);
	}
	return err;
}

int mm_fork(struct mm *child, struct mm *parent)
{
	struct segset_seg *v;
	int err = 0;

	if (!parent->frames || parent->frames != child->frames)
		return -ENOSYS;
	pthread_mutex_lock(&parent->lock);
	pthread_mutex_lock(&child->lock);
	child->brk_start = parent->brk_start;
	child->brk = parent->brk;
	segset_for_each(v, &parent->vmas) {
		err = fork_vma(child, parent, v);
		if (err)
			break;
	}
	/* The parent's private pages are copy-on-write now: take their write
	 * access away (pages marked before an error stay so; that is safe). */
	segset_for_each(v, &parent->vmas) {
		struct file_range vr = segset_seg_range(v);

		if (vma_of(v)->shared || !(vma_of(v)->prot & PROT_WRITE))
			continue;
		segset_merge_range(&parent->pmas, vr);
		parent->as->ops->unmap(parent->as, vr.start, file_range_len(vr));
		if (map_pmas(parent, vr) && !err)
			err = -ENOMEM;
	}
	pthread_mutex_unlock(&child->lock);
	pthread_mutex_unlock(&parent->lock);
	return err;
}

/* --- teardown --- */

void mm_destroy(struct mm *mm)
{
	struct mm_deferred *defer;
	size_t n;

	pthread_mutex_lock(&mm->lock);
	/* Without reserved nodes drop_pmas may not split; the full range never
	 * straddles a PMA, so isolate needs no node here. */
	drop_pmas(mm, file_range_make(0, PLATFORM_USER_END));
	remove_vmas(mm, file_range_make(0, PLATFORM_USER_END));
	segset_clear(&mm->vmas);
	segset_clear(&mm->pmas);
	defer = mm->defer;
	n = mm->ndefer;
	mm->defer = NULL;
	mm->ndefer = mm->capdefer = 0;
	pthread_mutex_unlock(&mm->lock);
	/* The process is going (exit, exec): queue the writebacks, since no
	 * one should wait at exit for a server that may never answer. */
	run_deferred(defer, n, false);
	mm->as->ops->destroy(mm->as);
	pthread_mutex_destroy(&mm->lock);
}

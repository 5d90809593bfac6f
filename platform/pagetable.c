/*
 * platform/pagetable.c - x86-64 4-level page tables in memory-file frames.
 *
 * Inside this file an address is "linear": the low 48 bits of a canonical
 * address, so the upper half is [2^47, 2^48) and a range that ends at the
 * top of the address space still has an end that fits in 64 bits.  Level 4
 * is the PML4, level 1 the PT; an entry at level L spans 4 KiB * 512^(L-1).
 *
 * map, map_huge, unmap and protect are one recursive walk over the levels
 * (range_apply / entry_apply), run twice: a dry pass that changes nothing,
 * counts the table frames the change needs and checks every table address
 * on the way, then, once those frames are allocated (the "stash"), the real
 * pass.  The dry pass treats a table that does not exist yet as all zeros
 * (a NULL table) and never descends to level 1, where no frame is needed.
 *
 * Free frames (the stash, the retired tables) are kept in lists linked
 * through the first entry of each frame, so keeping them needs no host
 * memory.  A link has only PTE_LINK (a bit the MMU ignores) set besides the
 * address, never PTE_P: a stale walk through a retired table sees nothing.
 */
#include "platform/pagetable.h"

#include <stdbool.h>

#define PTE_LINK   (UINT64_C(1) << 9)	      /* available to software: a free-list link */
#define LEAF_FLAGS (PTE_NX | UINT64_C(0x1ff)) /* flag bits a 2 MiB leaf passes on */
#define TABLE_BITS (PTE_P | PTE_RW | PTE_US | PTE_A)
#define VA_MASK	   ((UINT64_C(1) << 48) - 1)
#define PROT_ALL   (PT_PROT_READ | PT_PROT_WRITE | PT_PROT_EXEC | PT_USER | PT_GLOBAL)

_Static_assert(PT_PROT_READ == 1 && PT_PROT_WRITE == 2 && PT_PROT_EXEC == 4,
	       "PT_PROT_* take PROT_* values");

enum pt_op_kind { OP_MAP, OP_MAP_HUGE, OP_UNMAP, OP_PROTECT };

struct pt_op {
	enum pt_op_kind kind;
	bool dry;	/* count and check only */
	bool drop_huge; /* unmap: remove partly covered 2 MiB pages whole */
	uint64_t bits;	/* map, protect: flag bits of the leaves */
	uint64_t delta; /* map: pa - linear va */
	uint64_t need;	/* dry: table frames the real pass takes */
	uint64_t stash; /* real: those frames, zeroed, linked */
};

static uint64_t level_span(int lvl)
{
	return UINT64_C(1) << (ABI_PAGE_SHIFT + 9 * (lvl - 1));
}

static unsigned level_index(uint64_t lin, int lvl)
{
	return (lin >> (ABI_PAGE_SHIFT + 9 * (lvl - 1))) & (PT_ENTRIES - 1);
}

static bool canonical(uint64_t va)
{
	return va < PT_USER_END || va >= PT_UPPER_START;
}

/* The canonical address of linear address @lin: sign-extend bit 47. */
static uint64_t from_linear(uint64_t lin)
{
	return lin < PT_USER_END ? lin : lin | ~VA_MASK;
}

/* Entries are read and written whole, because vCPUs walk them meanwhile;
 * release order makes a new table's contents visible before its link. */
static uint64_t pte_get(const uint64_t *slot)
{
	return __atomic_load_n(slot, __ATOMIC_RELAXED);
}

static void pte_set(uint64_t *slot, uint64_t e)
{
	__atomic_store_n(slot, e, __ATOMIC_RELEASE);
}

/* The sentry's view of the table frame at @pa (an address masked with
 * PTE_ADDR, so aligned and below 2^52), or NULL if it is not inside the
 * memory file. */
static uint64_t *table_at(const struct pagetable *pt, uint64_t pa)
{
	return memfile_map(pt->mf, file_range_make(pa, pa + ABI_PAGE_SIZE));
}

/* The table a non-leaf entry @e points to, into *@t.  0 or -EIO. */
static int table_child(const struct pagetable *pt, uint64_t e, uint64_t **t)
{
	*t = table_at(pt, e & PTE_ADDR);
	return *t ? 0 : -EIO;
}

/* What one entry allows, as PT_* bits. */
static unsigned entry_prot(uint64_t e)
{
	unsigned prot = PT_PROT_READ;

	if (e & PTE_RW)
		prot |= PT_PROT_WRITE;
	if (!(e & PTE_NX))
		prot |= PT_PROT_EXEC;
	if (e & PTE_US)
		prot |= PT_USER;
	if (e & PTE_G)
		prot |= PT_GLOBAL;
	return prot;
}

/* What a non-leaf entry @e leaves of @prot on the way down. */
static unsigned path_prot(unsigned prot, uint64_t e)
{
	return prot & (entry_prot(e) | PT_GLOBAL);
}

/* The flag bits of a leaf with @prot, or 0 if @prot is not valid. */
static uint64_t leaf_bits(unsigned prot)
{
	uint64_t e = PTE_P | PTE_A | PTE_D;

	if (prot & ~PROT_ALL || !(prot & (PT_PROT_READ | PT_PROT_WRITE | PT_PROT_EXEC)))
		return 0;
	if (prot & PT_PROT_WRITE)
		e |= PTE_RW;
	if (!(prot & PT_PROT_EXEC))
		e |= PTE_NX;
	if (prot & PT_USER)
		e |= PTE_US;
	if (prot & PT_GLOBAL)
		e |= PTE_G;
	return e;
}

/*
 * Check [va, va + len) for a change: aligned to @align, non-empty, and
 * inside one canonical half.  *@r is the range in linear addresses.
 */
static int check_range(uint64_t va, uint64_t len, uint64_t align, struct file_range *r)
{
	uint64_t last;

	if (len == 0 || (va | len) & (align - 1))
		return -EINVAL;
	if (__builtin_add_overflow(va, len - 1, &last))
		return -EINVAL;
	if (!(last < PT_USER_END || va >= PT_UPPER_START))
		return -EINVAL;
	*r = file_range_make(va & VA_MASK, (last & VA_MASK) + 1);
	return 0;
}

static bool slot_shared(const struct pagetable *pt, unsigned i)
{
	return pt->shared[i / 64] >> (i % 64) & 1;
}

/* --- lists of free frames --- */

static void frame_push(struct pagetable *pt, uint64_t *head, uint64_t pa)
{
	uint64_t *t = table_at(pt, pa);

	if (!t)
		return; /* not a frame of ours: leak it rather than free it */
	pte_set(&t[0], *head);
	*head = pa | PTE_LINK;
}

/* Take the first frame off @head, its link cleared; false if none. */
static bool frame_pop(struct pagetable *pt, uint64_t *head, uint64_t *pa)
{
	uint64_t *t;

	if (!*head)
		return false;
	*pa = *head & PTE_ADDR;
	t = table_at(pt, *pa);
	*head = t ? pte_get(&t[0]) : 0;
	if (t)
		pte_set(&t[0], 0);
	return true;
}

/* Free a frame that was a table of @pt (and may be cached as one). */
static void table_release(struct pagetable *pt, uint64_t pa)
{
	if (pt->release)
		pt->release(pt->release_priv, pa);
	else
		memfile_free(pt->mf, file_range_make(pa, pa + ABI_PAGE_SIZE));
}

/* Free every frame on @head: tables that were in use if @were_tables,
 * else stashed frames that no table ever pointed to. */
static void frames_free(struct pagetable *pt, uint64_t *head, bool were_tables)
{
	uint64_t pa;

	while (frame_pop(pt, head, &pa)) {
		if (were_tables)
			table_release(pt, pa);
		else
			memfile_free(pt->mf, file_range_make(pa, pa + ABI_PAGE_SIZE));
	}
}

/* Allocate the @op->need frames the dry pass counted.  0 or -ENOMEM, with
 * nothing kept. */
static int stash_fill(struct pagetable *pt, struct pt_op *op)
{
	struct file_range fr;
	int err;

	for (uint64_t i = 0; i < op->need; i++) {
		err = memfile_alloc(pt->mf, ABI_PAGE_SIZE, ABI_PAGE_SIZE, MEMACCT_SYSTEM, &fr);
		if (err) {
			frames_free(pt, &op->stash, false);
			return err;
		}
		frame_push(pt, &op->stash, fr.start);
	}
	return 0;
}

static void retire(struct pagetable *pt, uint64_t pa)
{
	frame_push(pt, &pt->retired, pa);
	pt->nr_retired++;
}

/* --- the change walk --- */

static int range_apply(struct pagetable *pt, struct pt_op *op, uint64_t *t, int lvl,
		       struct file_range r);

/* Link a stashed frame as a new table under @slot, filled by @fill_from (a
 * 2 MiB leaf to split) if it is not 0.  NULL if the stash is empty, which
 * the dry pass rules out. */
static uint64_t *table_new(struct pagetable *pt, struct pt_op *op, uint64_t *slot,
			   uint64_t fill_from)
{
	uint64_t pa, *t;

	if (!frame_pop(pt, &op->stash, &pa) || !(t = table_at(pt, pa)))
		return NULL;
	for (unsigned i = 0; fill_from && i < PT_ENTRIES; i++)
		t[i] = ((fill_from & PTE_ADDR_HUGE) + i * ABI_PAGE_SIZE) |
		       (fill_from & LEAF_FLAGS & ~PTE_PS);
	pte_set(slot, pa | TABLE_BITS);
	return t;
}

/* Write the leaf of @op at level @lvl (1, or 2 for map_huge) for the page
 * at linear @base. */
static int leaf_apply(struct pagetable *pt, struct pt_op *op, uint64_t *slot, int lvl,
		      uint64_t base)
{
	uint64_t e = slot ? pte_get(slot) : 0, *old = NULL;
	int err;

	if (lvl == 2 && (e & PTE_P) && !(e & PTE_PS)) {
		err = table_child(pt, e, &old); /* a 2 MiB page replaces this PT */
		if (err)
			return err;
	}
	if (op->dry)
		return 0;
	switch (op->kind) {
	case OP_MAP:
	case OP_MAP_HUGE:
		pte_set(slot, (base + op->delta) | op->bits | (lvl == 2 ? PTE_PS : 0));
		break;
	case OP_UNMAP:
		pte_set(slot, 0);
		break;
	case OP_PROTECT:
		if (e & PTE_P)
			pte_set(slot, (e & PTE_ADDR) | op->bits);
		break;
	}
	if (old)
		retire(pt, e & PTE_ADDR);
	return 0;
}

/* A 2 MiB leaf at @slot that @op covers whole: no split needed. */
static void huge_apply(struct pt_op *op, uint64_t *slot, uint64_t e)
{
	if (op->dry)
		return;
	if (op->kind == OP_UNMAP)
		pte_set(slot, 0);
	else
		pte_set(slot, (e & PTE_ADDR_HUGE) | op->bits | PTE_PS);
}

static bool table_empty(const uint64_t *t)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (pte_get(&t[i]))
			return false;
	return true;
}

/* Apply @op to @sub, the part of the entry at @slot (spanning from linear
 * @base, at level @lvl) that the change covers. */
static int entry_apply(struct pagetable *pt, struct pt_op *op, uint64_t *slot, int lvl,
		       uint64_t base, struct file_range sub)
{
	uint64_t e = slot ? pte_get(slot) : 0, *child = NULL;
	bool whole = file_range_len(sub) == level_span(lvl);
	bool creates = op->kind == OP_MAP || op->kind == OP_MAP_HUGE;
	int err;

	if (lvl == (op->kind == OP_MAP_HUGE ? 2 : 1))
		return leaf_apply(pt, op, slot, lvl, base);
	if (!(e & PTE_P)) {
		if (!creates)
			return 0;
		if (op->dry)
			op->need++;
		else if (!(child = table_new(pt, op, slot, 0)))
			return -ENOMEM;
	} else if (e & PTE_PS) {
		if (lvl != 2)
			return -EIO; /* we never make 1 GiB pages */
		if (!creates && (whole || op->drop_huge)) {
			huge_apply(op, slot, e);
			return 0;
		}
		if (op->dry) {
			op->need++;
			return 0;
		}
		if (!(child = table_new(pt, op, slot, e)))
			return -ENOMEM;
	} else if ((err = table_child(pt, e, &child))) {
		return err;
	}
	err = range_apply(pt, op, child, lvl - 1, sub);
	if (err || op->dry || op->kind != OP_UNMAP || !table_empty(child))
		return err;
	if (lvl == 4 && base >= PT_USER_END)
		return 0; /* an upper-half PDPT: other tables may have borrowed it */
	e = pte_get(slot);
	pte_set(slot, 0);
	retire(pt, e & PTE_ADDR);
	return 0;
}

/* Apply @op to linear range @r inside table @t (NULL: one the dry pass has
 * not made yet) at level @lvl. */
static int range_apply(struct pagetable *pt, struct pt_op *op, uint64_t *t, int lvl,
		       struct file_range r)
{
	uint64_t span = level_span(lvl), base, end;
	int err;

	if (op->dry && lvl == 1)
		return 0; /* leaves need no frames and name no tables */
	for (uint64_t a = r.start; a < r.end; a = end) {
		base = a & ~(span - 1);
		end = base + span < r.end ? base + span : r.end;
		err = entry_apply(pt, op, t ? &t[level_index(a, lvl)] : NULL, lvl, base,
				  file_range_make(a, end));
		if (err)
			return err;
	}
	return 0;
}

/* Run @op over linear range @r: the dry pass, the frames, the change. */
static int pagetable_apply(struct pagetable *pt, struct pt_op *op, struct file_range r)
{
	uint64_t *root = table_at(pt, pt->root);
	int err;

	if (!root)
		return -EIO;
	for (unsigned i = level_index(r.start, 4); i <= level_index(r.end - 1, 4); i++)
		if (slot_shared(pt, i))
			return -EPERM;
	op->dry = true;
	op->need = 0;
	op->stash = 0;
	err = range_apply(pt, op, root, 4, r);
	if (err)
		return err;
	err = stash_fill(pt, op);
	if (err)
		return err;
	op->dry = false;
	err = range_apply(pt, op, root, 4, r);
	frames_free(pt, &op->stash, false); /* empty, unless the passes disagreed */
	return err;
}

static int map_range(struct pagetable *pt, enum pt_op_kind kind, uint64_t va, uint64_t pa,
		     uint64_t len, unsigned prot, uint64_t align)
{
	struct pt_op op = {.kind = kind, .bits = leaf_bits(prot)};
	struct file_range r;
	uint64_t last_pa;
	int err;

	err = check_range(va, len, align, &r);
	if (err)
		return err;
	if (!op.bits || pa & (align - 1) || __builtin_add_overflow(pa, len - 1, &last_pa) ||
	    last_pa >= PT_PHYS_LIMIT)
		return -EINVAL;
	op.delta = pa - r.start; /* modulo 2^64: base + delta is the pa again */
	return pagetable_apply(pt, &op, r);
}

int pagetable_map(struct pagetable *pt, uint64_t va, uint64_t pa, uint64_t len, unsigned prot)
{
	return map_range(pt, OP_MAP, va, pa, len, prot, ABI_PAGE_SIZE);
}

int pagetable_map_huge(struct pagetable *pt, uint64_t va, uint64_t pa, uint64_t len, unsigned prot)
{
	return map_range(pt, OP_MAP_HUGE, va, pa, len, prot, ABI_HUGE_PAGE_SIZE);
}

int pagetable_unmap(struct pagetable *pt, uint64_t va, uint64_t len)
{
	struct pt_op op = {.kind = OP_UNMAP};
	struct file_range r;
	int err;

	err = check_range(va, len, ABI_PAGE_SIZE, &r);
	if (err)
		return err;
	err = pagetable_apply(pt, &op, r);
	if (err != -ENOMEM)
		return err;
	op.drop_huge = true; /* no frame to split with: unmap more, need none */
	return pagetable_apply(pt, &op, r);
}

int pagetable_protect(struct pagetable *pt, uint64_t va, uint64_t len, unsigned prot)
{
	struct pt_op op = {.kind = OP_PROTECT, .bits = leaf_bits(prot)};
	struct file_range r;
	int err;

	err = check_range(va, len, ABI_PAGE_SIZE, &r);
	if (err)
		return err;
	if (!op.bits)
		return -EINVAL;
	return pagetable_apply(pt, &op, r);
}

/* --- reading --- */

int pagetable_walk(const struct pagetable *pt, uint64_t va, uint64_t *pa, unsigned *prot)
{
	uint64_t lin = va & VA_MASK, e, *t;
	unsigned eff = PROT_ALL;
	int lvl;

	if (!canonical(va))
		return -EFAULT;
	t = table_at(pt, pt->root);
	for (lvl = 4;; lvl--) {
		if (!t)
			return -EIO;
		e = pte_get(&t[level_index(lin, lvl)]);
		if (!(e & PTE_P))
			return -EFAULT;
		if (lvl == 1 || e & PTE_PS)
			break;
		eff = path_prot(eff, e);
		t = table_at(pt, e & PTE_ADDR);
	}
	if (lvl > 2)
		return -EIO;
	if (pa)
		*pa = (e & (lvl == 2 ? PTE_ADDR_HUGE : PTE_ADDR)) | (lin & (level_span(lvl) - 1));
	if (prot)
		*prot = eff & entry_prot(e);
	return 0;
}

struct pt_visit {
	pagetable_visit_fn fn;
	void *priv;
};

static int visit_range(const struct pagetable *pt, const struct pt_visit *v, const uint64_t *t,
		       int lvl, struct file_range r, unsigned eff)
{
	uint64_t span = level_span(lvl), base, end, e, *child;
	int err;

	for (uint64_t a = r.start; a < r.end; a = end) {
		base = a & ~(span - 1);
		end = base + span < r.end ? base + span : r.end;
		e = pte_get(&t[level_index(a, lvl)]);
		if (!(e & PTE_P))
			continue;
		if (lvl > 2 && e & PTE_PS)
			return -EIO;
		if (lvl == 1 || e & PTE_PS)
			err = v->fn(v->priv, from_linear(a),
				    (e & (lvl == 2 ? PTE_ADDR_HUGE : PTE_ADDR)) + (a - base),
				    end - a, eff & entry_prot(e));
		else if (!(err = table_child(pt, e, &child)))
			err = visit_range(pt, v, child, lvl - 1, file_range_make(a, end),
					  path_prot(eff, e));
		if (err)
			return err;
	}
	return 0;
}

int pagetable_for_each_present(const struct pagetable *pt, uint64_t va, uint64_t len,
			       pagetable_visit_fn fn, void *priv)
{
	struct pt_visit v = {.fn = fn, .priv = priv};
	struct file_range r;
	uint64_t *root;
	int err;

	err = check_range(va, len, ABI_PAGE_SIZE, &r);
	if (err)
		return err;
	root = table_at(pt, pt->root);
	if (!root)
		return -EIO;
	return visit_range(pt, &v, root, 4, r, PROT_ALL);
}

/* --- lifecycle --- */

int pagetable_init(struct pagetable *pt, struct memfile *mf)
{
	struct file_range fr;
	int err;

	*pt = (struct pagetable){.mf = mf};
	err = memfile_alloc(mf, ABI_PAGE_SIZE, ABI_PAGE_SIZE, MEMACCT_SYSTEM, &fr);
	if (err) {
		pt->mf = NULL;
		return err;
	}
	pt->root = fr.start;
	return 0;
}

/* Free the table at @pa (level @lvl) and the tables under it. */
static void tables_free(struct pagetable *pt, uint64_t pa, int lvl)
{
	uint64_t *t = table_at(pt, pa), e;

	if (!t)
		return; /* a corrupt entry: leak rather than free a stranger's frame */
	for (unsigned i = 0; lvl > 1 && i < PT_ENTRIES; i++) {
		e = pte_get(&t[i]);
		if (!(e & PTE_P) || e & PTE_PS || (lvl == 4 && slot_shared(pt, i)))
			continue;
		tables_free(pt, e & PTE_ADDR, lvl - 1);
	}
	table_release(pt, pa);
}

void pagetable_destroy(struct pagetable *pt)
{
	if (!pt->mf)
		return;
	tables_free(pt, pt->root, 4);
	pagetable_free_retired(pt);
	pt->mf = NULL;
}

void pagetable_free_retired(struct pagetable *pt)
{
	frames_free(pt, &pt->retired, true);
	pt->nr_retired = 0;
}

int pagetable_share_upper(struct pagetable *pt, const struct pagetable *from)
{
	uint64_t *dst, *src, d, s;
	unsigned i;

	if (pt == from || pt->mf != from->mf)
		return -EINVAL;
	dst = table_at(pt, pt->root);
	src = table_at(from, from->root);
	if (!dst || !src)
		return -EIO;
	for (i = PT_UPPER_FIRST_INDEX; i < PT_ENTRIES; i++) {
		d = pte_get(&dst[i]);
		s = pte_get(&src[i]);
		if ((s & PTE_P) && (d & PTE_P) && d != s)
			return -EEXIST;
	}
	for (i = PT_UPPER_FIRST_INDEX; i < PT_ENTRIES; i++) {
		s = pte_get(&src[i]);
		if (!(s & PTE_P) || (pte_get(&dst[i]) & PTE_P))
			continue;
		pte_set(&dst[i], s);
		pt->shared[i / 64] |= UINT64_C(1) << (i % 64);
	}
	return 0;
}

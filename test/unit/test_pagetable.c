/*
 * Unit tests for platform/pagetable.h: translations and effective
 * protection as pagetable_walk() and the raw entries show them, argument
 * checking, 2 MiB pages and their splitting, table frames coming and going
 * (memacct System and memfile_allocated()), the shared upper half, the
 * out-of-memory paths, corrupt entries, and a randomised run against a
 * model.  The pa values are plain numbers: nothing here touches the pages
 * they name.
 */
#include <criterion/criterion.h>

#include "platform/pagetable.h"

#define MIB  (UINT64_C(1) << 20)
#define GIB  (UINT64_C(1) << 30)
#define PAGE ABI_PAGE_SIZE
#define HUGE ABI_HUGE_PAGE_SIZE

#define RW  (PT_PROT_READ | PT_PROT_WRITE)
#define RX  (PT_PROT_READ | PT_PROT_EXEC)
#define RWX (PT_PROT_READ | PT_PROT_WRITE | PT_PROT_EXEC)

static struct memacct acct;
static struct memfile mf;
static struct pagetable pt;

static void setup(void)
{
	memacct_init(&acct);
	cr_assert_eq(memfile_init(&mf, 64 * MIB, &acct), 0);
	cr_assert_eq(pagetable_init(&pt, &mf), 0);
}

static void teardown(void)
{
	pagetable_destroy(&pt);
	cr_assert_eq(memfile_allocated(&mf), 0, "destroy frees every table");
	cr_assert_eq(memacct_get(&acct, MEMACCT_SYSTEM), 0);
	memfile_destroy(&mf);
}

TestSuite(pagetable, .init = setup, .fini = teardown);

static uint64_t system_bytes(void)
{
	return memacct_get(&acct, MEMACCT_SYSTEM);
}

/* The entry for @va at level @lvl (4: PML4 ... 1: PT), read the way the
 * MMU would, or NULL if a level above is missing or a 2 MiB leaf. */
static uint64_t *raw_entry(const struct pagetable *p, uint64_t va, int lvl)
{
	uint64_t *t = memfile_map(&mf, file_range_make(p->root, p->root + PAGE));

	for (int l = 4;; l--) {
		uint64_t *e = &t[(va >> (12 + 9 * (l - 1))) & 511];

		if (l == lvl)
			return e;
		if (!(*e & PTE_P) || (*e & PTE_PS))
			return NULL;
		t = memfile_map(&mf, file_range_make(*e & PTE_ADDR, (*e & PTE_ADDR) + PAGE));
		cr_assert_not_null(t);
	}
}

static void expect_map(const struct pagetable *p, uint64_t va, uint64_t pa, unsigned prot)
{
	uint64_t got_pa = 0;
	unsigned got_prot = 0;

	cr_assert_eq(pagetable_walk(p, va, &got_pa, &got_prot), 0, "va %#lx mapped", va);
	cr_assert_eq(got_pa, pa, "va %#lx: pa %#lx, want %#lx", va, got_pa, pa);
	cr_assert_eq(got_prot, prot, "va %#lx: prot %#x, want %#x", va, got_prot, prot);
}

static void expect_unmapped(const struct pagetable *p, uint64_t va)
{
	cr_assert_eq(pagetable_walk(p, va, NULL, NULL), -EFAULT, "va %#lx unmapped", va);
}

Test(pagetable, init_allocates_only_the_root)
{
	cr_assert_eq(system_bytes(), PAGE);
	cr_assert_eq(memfile_allocated(&mf), PAGE);
	cr_assert(abi_page_aligned(pt.root));
	expect_unmapped(&pt, 0);
	expect_unmapped(&pt, PT_UPPER_START);
}

Test(pagetable, map_then_walk)
{
	uint64_t va = 0x400000, pa = 0x1234000, *e;

	cr_assert_eq(pagetable_map(&pt, va, pa, 3 * PAGE, RW | PT_USER), 0);
	for (uint64_t off = 0; off < 3 * PAGE; off += 0x7ff)
		expect_map(&pt, va + off, pa + off, RW | PT_USER);
	expect_unmapped(&pt, va + 3 * PAGE);
	expect_unmapped(&pt, va - PAGE);
	cr_assert_eq(system_bytes(), 4 * PAGE, "PML4, PDPT, PD, PT");

	e = raw_entry(&pt, va, 1);
	cr_assert_eq(*e & PTE_ADDR, pa);
	cr_assert(*e & PTE_P && *e & PTE_RW && *e & PTE_US && *e & PTE_NX);
	cr_assert(!(*e & PTE_G) && !(*e & PTE_PS));
	for (int lvl = 4; lvl > 1; lvl--) {
		e = raw_entry(&pt, va, lvl);
		cr_assert_eq(*e & (PTE_P | PTE_RW | PTE_US | PTE_NX | PTE_PS),
			     PTE_P | PTE_RW | PTE_US, "tables above leaves are permissive");
	}
}

Test(pagetable, walk_of_unmapped_or_noncanonical_is_efault)
{
	cr_assert_eq(pagetable_map(&pt, 0x10000, 0x20000, PAGE, RW), 0);
	expect_unmapped(&pt, 0x11000);
	expect_unmapped(&pt, 0x10000 + HUGE);
	expect_unmapped(&pt, PT_USER_END);
	expect_unmapped(&pt, 0x0000900000010000); /* non-canonical alias */
	expect_unmapped(&pt, 0x7fff000000010000);
}

Test(pagetable, rejects_bad_arguments)
{
	uint64_t top = UINT64_C(0xfffffffffffff000);

	cr_assert_eq(pagetable_map(&pt, 0x1001, 0x2000, PAGE, RW), -EINVAL);
	cr_assert_eq(pagetable_map(&pt, 0x1000, 0x2001, PAGE, RW), -EINVAL);
	cr_assert_eq(pagetable_map(&pt, 0x1000, 0x2000, PAGE + 1, RW), -EINVAL);
	cr_assert_eq(pagetable_map(&pt, 0x1000, 0x2000, 0, RW), -EINVAL);
	cr_assert_eq(pagetable_map(&pt, top, 0x2000, 2 * PAGE, RW), -EINVAL, "wraps");
	cr_assert_eq(pagetable_map(&pt, 0x1000, top, 2 * PAGE, RW), -EINVAL, "pa wraps");
	cr_assert_eq(pagetable_map(&pt, 0x1000, PT_PHYS_LIMIT, PAGE, RW), -EINVAL);
	cr_assert_eq(pagetable_map(&pt, PT_USER_END, 0, PAGE, RW), -EINVAL, "non-canonical");
	cr_assert_eq(pagetable_map(&pt, PT_USER_END - PAGE, 0, 2 * PAGE, RW), -EINVAL);
	cr_assert_eq(pagetable_map(&pt, PT_UPPER_START - PAGE, 0, PAGE, RW), -EINVAL);
	cr_assert_eq(pagetable_map(&pt, 0, 0, top, RW), -EINVAL, "crosses the halves");
	cr_assert_eq(pagetable_map(&pt, 0x1000, 0x2000, PAGE, 0), -EINVAL, "no access");
	cr_assert_eq(pagetable_map(&pt, 0x1000, 0x2000, PAGE, PT_USER), -EINVAL);
	cr_assert_eq(pagetable_map(&pt, 0x1000, 0x2000, PAGE, RW | 0x100), -EINVAL);
	cr_assert_eq(pagetable_map_huge(&pt, HUGE + PAGE, 0, HUGE, RW), -EINVAL);
	cr_assert_eq(pagetable_map_huge(&pt, HUGE, PAGE, HUGE, RW), -EINVAL);
	cr_assert_eq(pagetable_map_huge(&pt, HUGE, 0, PAGE, RW), -EINVAL);
	cr_assert_eq(pagetable_unmap(&pt, 0x1000, 0), -EINVAL);
	cr_assert_eq(pagetable_unmap(&pt, 0x1800, PAGE), -EINVAL);
	cr_assert_eq(pagetable_unmap(&pt, top, 2 * PAGE), -EINVAL);
	cr_assert_eq(pagetable_unmap(&pt, PT_USER_END, PAGE), -EINVAL);
	cr_assert_eq(pagetable_protect(&pt, 0x1000, PAGE, 0), -EINVAL);
	cr_assert_eq(pagetable_protect(&pt, 0x1000, 0, RW), -EINVAL);
	cr_assert_eq(pagetable_protect(&pt, PT_USER_END, PAGE, RW), -EINVAL);
	cr_assert_eq(system_bytes(), PAGE, "nothing was allocated");
	expect_unmapped(&pt, 0x1000);
}

Test(pagetable, write_or_exec_implies_read)
{
	cr_assert_eq(pagetable_map(&pt, 0x1000, 0x5000, PAGE, PT_PROT_WRITE), 0);
	cr_assert_eq(pagetable_map(&pt, 0x2000, 0x6000, PAGE, PT_PROT_EXEC | PT_USER), 0);
	expect_map(&pt, 0x1000, 0x5000, RW);
	expect_map(&pt, 0x2000, 0x6000, RX | PT_USER);
}

Test(pagetable, maps_the_top_page_supervisor_only)
{
	uint64_t top = UINT64_C(0xfffffffffffff000);

	cr_assert_eq(pagetable_map(&pt, top, 0x9000, PAGE, RX | PT_GLOBAL), 0);
	expect_map(&pt, top + 0xfff, 0x9fff, RX | PT_GLOBAL);
	cr_assert(*raw_entry(&pt, top, 1) & PTE_G);
	cr_assert(!(*raw_entry(&pt, top, 1) & PTE_US));
	expect_unmapped(&pt, top - PAGE);
}

Test(pagetable, walk_reports_what_every_level_allows)
{
	uint64_t va = 0x8040201000;

	cr_assert_eq(pagetable_map(&pt, va, 0x2000, PAGE, RWX | PT_USER | PT_GLOBAL), 0);
	*raw_entry(&pt, va, 3) &= ~PTE_US;
	expect_map(&pt, va, 0x2000, RWX | PT_GLOBAL);
	*raw_entry(&pt, va, 4) &= ~PTE_RW;
	expect_map(&pt, va, 0x2000, RX | PT_GLOBAL);
	*raw_entry(&pt, va, 2) |= PTE_NX;
	expect_map(&pt, va, 0x2000, PT_PROT_READ | PT_GLOBAL);
	*raw_entry(&pt, va, 4) |= PTE_RW;
	*raw_entry(&pt, va, 3) |= PTE_US;
	*raw_entry(&pt, va, 2) &= ~PTE_NX;
	expect_map(&pt, va, 0x2000, RWX | PT_USER | PT_GLOBAL);
}

Test(pagetable, map_over_a_mapping_replaces_it)
{
	uint64_t tables;

	cr_assert_eq(pagetable_map(&pt, 0x200000, 0x100000, 4 * PAGE, RWX | PT_USER), 0);
	tables = system_bytes();
	cr_assert_eq(pagetable_map(&pt, 0x201000, 0x800000, 2 * PAGE, PT_PROT_READ), 0);
	expect_map(&pt, 0x200000, 0x100000, RWX | PT_USER);
	expect_map(&pt, 0x201000, 0x800000, PT_PROT_READ);
	expect_map(&pt, 0x202000, 0x801000, PT_PROT_READ);
	expect_map(&pt, 0x203000, 0x103000, RWX | PT_USER);
	cr_assert_eq(system_bytes(), tables, "no new tables");
}

Test(pagetable, unmap_retires_then_frees_empty_tables)
{
	uint64_t vas[] = {0x1000, 0x40000000, 0x7fffffffe000, 0x8000000000};

	for (int i = 0; i < 4; i++)
		cr_assert_eq(pagetable_map(&pt, vas[i], 0x100000 * (i + 1), 2 * PAGE, RW), 0);
	cr_assert_gt(system_bytes(), 8 * PAGE);
	cr_assert_eq(pagetable_unmap(&pt, vas[0], PAGE), 0);
	expect_unmapped(&pt, vas[0]);
	expect_map(&pt, vas[0] + PAGE, 0x101000, RW);
	cr_assert_eq(pt.nr_retired, 0, "the PT still holds a page");

	for (int i = 0; i < 4; i++)
		cr_assert_eq(pagetable_unmap(&pt, vas[i], 2 * PAGE), 0);
	for (int i = 0; i < 4; i++)
		expect_unmapped(&pt, vas[i] + PAGE);
	cr_assert_gt(pt.nr_retired, 0);
	cr_assert_eq(system_bytes(), (1 + pt.nr_retired) * PAGE, "retired tables wait");
	pagetable_free_retired(&pt);
	cr_assert_eq(pt.nr_retired, 0);
	cr_assert_eq(system_bytes(), PAGE, "only the PML4 is left");
	cr_assert_eq(memfile_allocated(&mf), PAGE);
	for (int i = 0; i < 512; i++)
		cr_assert_eq(*raw_entry(&pt, (uint64_t)i << 39, 4), 0);
}

Test(pagetable, unmap_of_nothing_is_fine)
{
	cr_assert_eq(pagetable_unmap(&pt, 0, PT_USER_END), 0);
	cr_assert_eq(pagetable_unmap(&pt, PT_UPPER_START, 0 - PT_UPPER_START), 0);
	cr_assert_eq(system_bytes(), PAGE);
}

Test(pagetable, huge_map_and_walk)
{
	uint64_t va = 3 * HUGE, pa = 10 * HUGE;

	cr_assert_eq(pagetable_map_huge(&pt, va, pa, 2 * HUGE, RWX | PT_USER), 0);
	expect_map(&pt, va + 0x12345, pa + 0x12345, RWX | PT_USER);
	expect_map(&pt, va + HUGE + HUGE - 1, pa + 2 * HUGE - 1, RWX | PT_USER);
	expect_unmapped(&pt, va + 2 * HUGE);
	cr_assert(*raw_entry(&pt, va, 2) & PTE_PS);
	cr_assert_null(raw_entry(&pt, va, 1), "no PT under a 2 MiB page");
	cr_assert_eq(system_bytes(), 3 * PAGE, "PML4, PDPT, PD");
}

Test(pagetable, map_huge_retires_the_page_table_it_replaces)
{
	cr_assert_eq(pagetable_map(&pt, HUGE + 5 * PAGE, 0x7000, 3 * PAGE, RW), 0);
	cr_assert_eq(system_bytes(), 4 * PAGE);
	cr_assert_eq(pagetable_map_huge(&pt, HUGE, 4 * HUGE, HUGE, PT_PROT_READ), 0);
	expect_map(&pt, HUGE + 5 * PAGE, 4 * HUGE + 5 * PAGE, PT_PROT_READ);
	cr_assert_eq(pt.nr_retired, 1);
	pagetable_free_retired(&pt);
	cr_assert_eq(system_bytes(), 3 * PAGE);
}

Test(pagetable, partial_unmap_splits_a_huge_page)
{
	uint64_t va = 0x40000000, pa = 20 * HUGE;

	cr_assert_eq(pagetable_map_huge(&pt, va, pa, HUGE, RW | PT_USER), 0);
	cr_assert_eq(pagetable_unmap(&pt, va + 7 * PAGE, 2 * PAGE), 0);
	expect_unmapped(&pt, va + 7 * PAGE);
	expect_unmapped(&pt, va + 8 * PAGE);
	for (uint64_t off = 0; off < HUGE; off += PAGE)
		if (off != 7 * PAGE && off != 8 * PAGE)
			expect_map(&pt, va + off, pa + off, RW | PT_USER);
	cr_assert(!(*raw_entry(&pt, va, 2) & PTE_PS));
	cr_assert_eq(*raw_entry(&pt, va + PAGE, 1),
		     (pa + PAGE) | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | PTE_NX,
		     "a 4 KiB entry made from a 2 MiB one (bit 7 is PAT there)");
	cr_assert_eq(system_bytes(), 4 * PAGE, "one PT for the split");

	cr_assert_eq(pagetable_unmap(&pt, va, HUGE), 0);
	expect_unmapped(&pt, va + 9 * PAGE);
	pagetable_free_retired(&pt);
	cr_assert_eq(system_bytes(), PAGE);
}

Test(pagetable, unmap_of_a_whole_huge_page_needs_no_split)
{
	cr_assert_eq(pagetable_map_huge(&pt, HUGE, 0, 2 * HUGE, RW), 0);
	cr_assert_eq(pagetable_unmap(&pt, HUGE, HUGE), 0);
	expect_unmapped(&pt, HUGE);
	expect_map(&pt, 2 * HUGE, HUGE, RW);
	cr_assert_eq(system_bytes(), 3 * PAGE);
	cr_assert_eq(pt.nr_retired, 0);
}

Test(pagetable, protect_changes_present_pages_only)
{
	uint64_t va = 0x600000, *e;

	cr_assert_eq(pagetable_map(&pt, va, 0x100000, 4 * PAGE, RWX | PT_USER), 0);
	cr_assert_eq(pagetable_protect(&pt, va + PAGE, 2 * PAGE, PT_PROT_READ | PT_USER), 0);
	expect_map(&pt, va, 0x100000, RWX | PT_USER);
	expect_map(&pt, va + PAGE, 0x101000, PT_PROT_READ | PT_USER);
	expect_map(&pt, va + 2 * PAGE, 0x102000, PT_PROT_READ | PT_USER);
	expect_map(&pt, va + 3 * PAGE, 0x103000, RWX | PT_USER);
	e = raw_entry(&pt, va + PAGE, 1);
	cr_assert(!(*e & PTE_RW) && (*e & PTE_NX) && (*e & PTE_US));
	e = raw_entry(&pt, va, 1);
	cr_assert((*e & PTE_RW) && !(*e & PTE_NX));

	cr_assert_eq(pagetable_protect(&pt, va, 8 * PAGE, RX), 0);
	expect_map(&pt, va + 3 * PAGE, 0x103000, RX);
	expect_unmapped(&pt, va + 4 * PAGE);
	cr_assert(!(*raw_entry(&pt, va, 1) & PTE_US), "supervisor only now");
}

Test(pagetable, protect_splits_a_partly_covered_huge_page)
{
	uint64_t va = 4 * HUGE, pa = 8 * HUGE;

	cr_assert_eq(pagetable_map_huge(&pt, va, pa, 2 * HUGE, RW | PT_USER), 0);
	cr_assert_eq(pagetable_protect(&pt, va + HUGE - PAGE, 2 * PAGE, PT_PROT_READ), 0);
	expect_map(&pt, va, pa, RW | PT_USER);
	expect_map(&pt, va + HUGE - PAGE, pa + HUGE - PAGE, PT_PROT_READ);
	expect_map(&pt, va + HUGE, pa + HUGE, PT_PROT_READ);
	expect_map(&pt, va + HUGE + PAGE, pa + HUGE + PAGE, RW | PT_USER);
	cr_assert_eq(system_bytes(), 5 * PAGE, "two splits");

	cr_assert_eq(pagetable_map_huge(&pt, 6 * HUGE, pa, HUGE, RW), 0);
	cr_assert_eq(pagetable_protect(&pt, 6 * HUGE, HUGE, RX | PT_USER), 0);
	expect_map(&pt, 6 * HUGE + 5, pa + 5, RX | PT_USER);
	cr_assert(*raw_entry(&pt, 6 * HUGE, 2) & PTE_PS, "a whole page is not split");
}

/* Map a supervisor trampoline page and a user stub in the top 2 GiB. */
static void build_template(struct pagetable *tmpl)
{
	cr_assert_eq(pagetable_init(tmpl, &mf), 0);
	cr_assert_eq(
	    pagetable_map(tmpl, UINT64_C(0xffffffff80000000), 0x3000, PAGE, RX | PT_GLOBAL), 0);
	cr_assert_eq(pagetable_map(tmpl, UINT64_C(0xffffffff80001000), 0x4000, PAGE, RX | PT_USER),
		     0);
}

Test(pagetable, upper_half_is_shared)
{
	struct pagetable tmpl, other;
	uint64_t top = UINT64_C(0xffffffff80000000), before;

	build_template(&tmpl);
	cr_assert_eq(pagetable_init(&other, &mf), 0);
	cr_assert_eq(pagetable_share_upper(&pt, &tmpl), 0);
	cr_assert_eq(pagetable_share_upper(&other, &tmpl), 0);
	cr_assert_eq(pagetable_share_upper(&other, &tmpl), 0, "again is harmless");
	cr_assert_eq(*raw_entry(&pt, top, 4), *raw_entry(&tmpl, top, 4));
	expect_map(&pt, top, 0x3000, RX | PT_GLOBAL);
	expect_map(&other, top + PAGE, 0x4000, RX | PT_USER);

	cr_assert_eq(pagetable_map(&pt, top + 2 * PAGE, 0x5000, PAGE, RW), -EPERM);
	cr_assert_eq(pagetable_unmap(&pt, top, PAGE), -EPERM);
	cr_assert_eq(pagetable_protect(&pt, top, PAGE, RW), -EPERM);
	cr_assert_eq(pagetable_map(&tmpl, top + 2 * PAGE, 0x5000, PAGE, RW), 0);
	expect_map(&other, top + 2 * PAGE, 0x5000, RW);

	cr_assert_eq(pagetable_map(&other, 0x1000, 0x6000, PAGE, RW | PT_USER), 0);
	before = memfile_allocated(&mf);
	pagetable_destroy(&other);
	cr_assert_eq(memfile_allocated(&mf), before - 4 * PAGE, "only its own tables");
	expect_map(&pt, top, 0x3000, RX | PT_GLOBAL);
	expect_map(&tmpl, top + PAGE, 0x4000, RX | PT_USER);

	cr_assert_eq(pagetable_unmap(&tmpl, top, 3 * PAGE), 0);
	expect_unmapped(&pt, top);
	cr_assert(*raw_entry(&tmpl, top, 4) & PTE_P, "the upper PDPT is kept for sharers");
	pagetable_destroy(&pt);
	pagetable_destroy(&tmpl);
	cr_assert_eq(memfile_allocated(&mf), 0);
	cr_assert_eq(pagetable_init(&pt, &mf), 0); /* for teardown */
}

Test(pagetable, share_upper_refuses_conflicts)
{
	struct pagetable tmpl;
	struct memfile mf2;

	build_template(&tmpl);
	cr_assert_eq(pagetable_map(&pt, UINT64_C(0xffffffff90000000), 0x7000, PAGE, RW), 0);
	cr_assert_eq(pagetable_share_upper(&pt, &tmpl), -EEXIST);
	expect_unmapped(&pt, UINT64_C(0xffffffff80000000));
	cr_assert_eq(pagetable_share_upper(&pt, &pt), -EINVAL);
	cr_assert_eq(memfile_init(&mf2, PAGE, &acct), 0);
	tmpl.mf = &mf2;
	cr_assert_eq(pagetable_share_upper(&pt, &tmpl), -EINVAL);
	tmpl.mf = &mf;
	memfile_destroy(&mf2);
	pagetable_destroy(&tmpl);
}

Test(pagetable, destroy_frees_everything)
{
	for (uint64_t i = 0; i < 40; i++)
		cr_assert_eq(pagetable_map(&pt, i * 3 * GIB + i * PAGE, i * PAGE, PAGE, RW), 0);
	cr_assert_eq(pagetable_map_huge(&pt, 200 * GIB, 0, 4 * HUGE, RW), 0);
	cr_assert_eq(pagetable_map(&pt, 0xffffc90000000000, 0, 16 * PAGE, RW), 0);
	cr_assert_eq(pagetable_unmap(&pt, 0, PAGE), 0); /* retires a few */
	cr_assert_gt(pt.nr_retired, 0);
	pagetable_destroy(&pt);
	cr_assert_eq(memfile_allocated(&mf), 0);
	cr_assert_eq(system_bytes(), 0);
	pagetable_destroy(&pt); /* twice is harmless */
	cr_assert_eq(pagetable_init(&pt, &mf), 0);
}

/* A memory file of @pages pages, holding @p's root. */
static void small_memfile(struct memfile *small, struct pagetable *p, uint64_t pages)
{
	cr_assert_eq(memfile_init(small, pages * PAGE, &acct), 0);
	cr_assert_eq(pagetable_init(p, small), 0);
}

Test(pagetable, enomem_leaves_nothing_behind)
{
	struct memfile small;
	struct pagetable p, q;

	small_memfile(&small, &p, 3); /* a 4 KiB map needs 3 more */
	cr_assert_eq(pagetable_map(&p, 0x1000, 0x1000, PAGE, RW), -ENOMEM);
	cr_assert_eq(memfile_allocated(&small), PAGE, "the two tables it got are freed");
	expect_unmapped(&p, 0x1000);
	cr_assert_eq(pagetable_map_huge(&p, HUGE, 0, HUGE, RW), 0, "needs only 2");
	cr_assert_eq(pagetable_map(&p, 0x1000, 0x1000, PAGE, RW), -ENOMEM);
	expect_map(&p, HUGE, 0, RW);
	expect_unmapped(&p, 0x1000);
	cr_assert_eq(memfile_allocated(&small), 3 * PAGE);
	pagetable_destroy(&p);
	memfile_destroy(&small);

	cr_assert_eq(memfile_init(&small, PAGE, &acct), 0);
	cr_assert_eq(pagetable_init(&p, &small), 0);
	cr_assert_eq(pagetable_init(&q, &small), -ENOMEM, "no room for a root");
	pagetable_destroy(&q); /* harmless after a failed init */
	pagetable_destroy(&p);
	memfile_destroy(&small);
}

Test(pagetable, split_without_memory)
{
	struct memfile small;
	struct pagetable p;

	small_memfile(&small, &p, 3);
	cr_assert_eq(pagetable_map_huge(&p, HUGE, 0, HUGE, RW), 0);
	cr_assert_eq(pagetable_protect(&p, HUGE, PAGE, PT_PROT_READ), -ENOMEM);
	expect_map(&p, HUGE, 0, RW);
	expect_map(&p, HUGE + PAGE, PAGE, RW);
	cr_assert_eq(pagetable_unmap(&p, HUGE + PAGE, PAGE), 0, "unmap never lacks memory");
	expect_unmapped(&p, HUGE);
	expect_unmapped(&p, HUGE + 2 * PAGE);
	cr_assert_eq(memfile_allocated(&small), 3 * PAGE);
	pagetable_destroy(&p);
	cr_assert_eq(memfile_allocated(&small), 0);
	memfile_destroy(&small);
}

static int count_visit(void *priv, uint64_t va, uint64_t pa, uint64_t len, unsigned prot)
{
	return 0;
}

Test(pagetable, corrupt_entries_are_eio_not_crashes)
{
	uint64_t *pml4e, *pde, saved;

	cr_assert_eq(pagetable_map(&pt, 0x1000, 0x1000, PAGE, RW), 0);
	pml4e = raw_entry(&pt, 0x8000000000, 4);
	*pml4e = (UINT64_C(1) << 40) | PTE_P | PTE_RW; /* beyond the memory file */
	cr_assert_eq(pagetable_walk(&pt, 0x8000000000, NULL, NULL), -EIO);
	cr_assert_eq(pagetable_map(&pt, 0x8000000000, 0, PAGE, RW), -EIO);
	cr_assert_eq(pagetable_unmap(&pt, 0, 2 * 0x8000000000), -EIO);
	expect_map(&pt, 0x1000, 0x1000, RW); /* the failed unmap changed nothing */
	*pml4e = PTE_P | PTE_PS;	     /* no such thing as a 512 GiB page */
	cr_assert_eq(pagetable_walk(&pt, 0x8000000000, NULL, NULL), -EIO);
	cr_assert_eq(pagetable_protect(&pt, 0x8000000000, PAGE, RW), -EIO);
	cr_assert_eq(pagetable_for_each_present(&pt, 0x8000000000, PAGE, count_visit, NULL), -EIO);
	*pml4e = 0;

	pde = raw_entry(&pt, 0x1000, 2);
	saved = *pde;
	*pde = (64 * MIB) | PTE_P;
	cr_assert_eq(pagetable_walk(&pt, 0x1000, NULL, NULL), -EIO);
	*pde = saved;
	expect_map(&pt, 0x1000, 0x1000, RW);
}

struct visit_log {
	int n, stop_at;
	uint64_t va[8], pa[8], len[8];
	unsigned prot[8];
};

static int log_visit(void *priv, uint64_t va, uint64_t pa, uint64_t len, unsigned prot)
{
	struct visit_log *log = priv;

	cr_assert_lt(log->n, 8);
	log->va[log->n] = va;
	log->pa[log->n] = pa;
	log->len[log->n] = len;
	log->prot[log->n] = prot;
	return ++log->n == log->stop_at ? 42 : 0;
}

Test(pagetable, for_each_present_visits_in_order)
{
	struct visit_log log = {0};
	uint64_t top = UINT64_C(0xfffffffffffff000);

	cr_assert_eq(pagetable_map(&pt, 0x5000, 0xa000, 2 * PAGE, RW | PT_USER), 0);
	cr_assert_eq(pagetable_map_huge(&pt, HUGE, 4 * HUGE, HUGE, RX), 0);
	cr_assert_eq(pagetable_map(&pt, top, 0x1000, PAGE, PT_PROT_READ), 0);
	cr_assert_eq(
	    pagetable_for_each_present(&pt, 0x6000, 2 * HUGE - 0x6000 - PAGE, log_visit, &log), 0);
	cr_assert_eq(log.n, 2);
	cr_assert_eq(log.va[0], 0x6000);
	cr_assert_eq(log.pa[0], 0xb000);
	cr_assert_eq(log.len[0], PAGE);
	cr_assert_eq(log.prot[0], RW | PT_USER);
	cr_assert_eq(log.va[1], HUGE);
	cr_assert_eq(log.pa[1], 4 * HUGE);
	cr_assert_eq(log.len[1], HUGE - PAGE, "clipped to the range");
	cr_assert_eq(log.prot[1], RX);

	log = (struct visit_log){.stop_at = 1};
	cr_assert_eq(pagetable_for_each_present(&pt, 0, 4 * HUGE, log_visit, &log), 42);
	cr_assert_eq(log.n, 1);
	log = (struct visit_log){0};
	cr_assert_eq(
	    pagetable_for_each_present(&pt, PT_UPPER_START, 0 - PT_UPPER_START, log_visit, &log),
	    0);
	cr_assert_eq(log.n, 1);
	cr_assert_eq(log.va[0], top);
	cr_assert_eq(pagetable_for_each_present(&pt, 0, 0, log_visit, &log), -EINVAL);

	*raw_entry(&pt, 0x5000, 2) &= ~PTE_US; /* every level must allow ring 3 */
	log = (struct visit_log){0};
	cr_assert_eq(pagetable_for_each_present(&pt, 0x5000, PAGE, log_visit, &log), 0);
	cr_assert_eq(log.n, 1);
	cr_assert_eq(log.prot[0], RW);
	*raw_entry(&pt, 0x5000, 2) |= PTE_US;
}

/*
 * Random map/map_huge/unmap/protect over a window that crosses a PML4
 * boundary (so every level of table comes and goes), checked page by page
 * against a model.
 */
#define WIN_PAGES 2048
#define WIN_START ((UINT64_C(512) << 30) - WIN_PAGES / 2 * PAGE)

struct model {
	uint64_t pa[WIN_PAGES];
	unsigned prot[WIN_PAGES]; /* 0: unmapped */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15;

static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

static unsigned rnd_prot(void)
{
	static const unsigned prots[] = {PT_PROT_READ,
					 RW,
					 RX,
					 RWX,
					 PT_PROT_READ | PT_USER,
					 RW | PT_USER,
					 RWX | PT_USER | PT_GLOBAL};

	return prots[rnd(sizeof(prots) / sizeof(prots[0]))];
}

static void model_check(const struct model *m)
{
	for (uint64_t i = 0; i < WIN_PAGES; i++) {
		uint64_t va = WIN_START + i * PAGE;

		if (m->prot[i])
			expect_map(&pt, va, m->pa[i], m->prot[i]);
		else
			expect_unmapped(&pt, va);
	}
}

static void random_op(struct model *m)
{
	uint64_t first = rnd(WIN_PAGES), n = 1 + rnd(64), pa = rnd(1 << 20) * PAGE;
	unsigned prot = rnd_prot();

	if (first + n > WIN_PAGES)
		n = WIN_PAGES - first;
	switch (rnd(4)) {
	case 0:
		cr_assert_eq(pagetable_map(&pt, WIN_START + first * PAGE, pa, n * PAGE, prot), 0);
		for (uint64_t i = 0; i < n; i++) {
			m->pa[first + i] = pa + i * PAGE;
			m->prot[first + i] = prot;
		}
		break;
	case 1:
		first &= ~UINT64_C(511);
		pa &= ~(HUGE - 1);
		cr_assert_eq(pagetable_map_huge(&pt, WIN_START + first * PAGE, pa, HUGE, prot), 0);
		for (uint64_t i = 0; i < 512; i++) {
			m->pa[first + i] = pa + i * PAGE;
			m->prot[first + i] = prot;
		}
		break;
	case 2:
		cr_assert_eq(pagetable_unmap(&pt, WIN_START + first * PAGE, n * PAGE), 0);
		for (uint64_t i = 0; i < n; i++)
			m->prot[first + i] = 0;
		break;
	default:
		cr_assert_eq(pagetable_protect(&pt, WIN_START + first * PAGE, n * PAGE, prot), 0);
		for (uint64_t i = 0; i < n; i++)
			if (m->prot[first + i])
				m->prot[first + i] = prot;
		break;
	}
}

Test(pagetable, random_ops_match_a_model)
{
	static struct model m;

	for (int op = 0; op < 2000; op++) {
		random_op(&m);
		if (op % 10 == 0)
			pagetable_free_retired(&pt);
		if (op % 25 == 0)
			model_check(&m);
	}
	model_check(&m);
	cr_assert_eq(pagetable_unmap(&pt, WIN_START, WIN_PAGES * PAGE), 0);
	pagetable_free_retired(&pt);
	cr_assert_eq(system_bytes(), PAGE, "every table but the root is gone");
}

/*
 * Unit tests for kernel/mm.h with a fake platform address space that
 * records every translation, so the tests can check what the guest would
 * see (which page maps which frame with which rights) without KVM.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "abi/mman.h"
#include "kernel/mm.h"

#define PG  ABI_PAGE_SIZE
#define MIB (UINT64_C(1) << 20)

/* --- a fake address space: va range -> {frame offset, prot} --- */

struct xlate {
	uint64_t off;
	unsigned prot;
};

static void xlate_split(struct file_range r, void *v, uint64_t at, void *right)
{
	*(struct xlate *)right = *(struct xlate *)v;
	((struct xlate *)right)->off += at - r.start;
}

static const struct segset_ops xlate_ops = {.value_size = sizeof(struct xlate),
					    .split = xlate_split};

struct fake_as {
	struct platform_as base;
	struct segset map;
	int maps, unmaps;
	bool fail_map;
};

static void fake_unmap(struct platform_as *as, uint64_t va, uint64_t len)
{
	struct fake_as *f = (struct fake_as *)as;

	f->unmaps++;
	cr_assert_eq(segset_remove_range(&f->map, file_range_make(va, va + len), NULL), 0);
}

static int fake_map(struct platform_as *as, uint64_t va, struct file_range fr, unsigned prot)
{
	struct fake_as *f = (struct fake_as *)as;
	struct file_range r = file_range_make(va, va + file_range_len(fr));
	struct xlate x = {.off = fr.start, .prot = prot};
	struct segset_gap g;

	if (f->fail_map)
		return -ENOMEM;
	cr_assert(file_range_page_aligned(r) && !file_range_empty(r));
	cr_assert_leq(r.end, PLATFORM_USER_END, "nothing maps into the upper half");
	f->maps++;
	cr_assert_eq(segset_remove_range(&f->map, r, &g), 0);
	cr_assert(!abi_is_err(segset_insert_without_merging(&f->map, g, r, &x)));
	return 0;
}

static void fake_destroy(struct platform_as *as)
{
	segset_clear(&((struct fake_as *)as)->map);
}

static const struct platform_as_ops fake_ops = {
	.map = fake_map, .unmap = fake_unmap, .destroy = fake_destroy};

/* --- fixture --- */

static struct memacct acct;
static struct memfile mf;
static struct fake_as fas;
static struct mm mm;

static void setup(void)
{
	memacct_init(&acct);
	cr_assert_eq(memfile_init(&mf, 512 * MIB, &acct), 0);
	memset(&fas, 0, sizeof(fas));
	fas.base.ops = &fake_ops;
	segset_init(&fas.map, &xlate_ops);
	mm_init(&mm, &mf, NULL, &fas.base);
}

static void teardown(void)
{
	mm_destroy(&mm);
	cr_assert_eq(memfile_allocated(&mf), 0, "every frame freed");
	cr_assert_eq(memacct_get(&acct, MEMACCT_ANONYMOUS), 0);
	memfile_destroy(&mf);
}

TestSuite(mm, .init = setup, .fini = teardown);

/* What the guest sees at @va: the frame's host pointer, or NULL. */
static struct xlate *xlate_at(uint64_t va)
{
	struct segset_seg *seg = segset_find(&fas.map, va, NULL);

	return seg ? segset_seg_value(seg) : NULL;
}

static unsigned char *guest_byte(uint64_t va)
{
	struct segset_seg *seg = segset_find(&fas.map, va, NULL);
	struct xlate *x;

	if (!seg)
		return NULL;
	x = segset_seg_value(seg);
	return memfile_map(&mf, file_range_make(x->off + va - segset_seg_range(seg).start,
						x->off + va - segset_seg_range(seg).start + 1));
}

static uint64_t map_anon(uint64_t len, unsigned prot)
{
	int64_t a = mm_mmap(&mm, 0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS);

	cr_assert_geq(a, 0, "mmap: %ld", a);
	return (uint64_t)a;
}

Test(mm, mmap_places_pages_in_the_user_half)
{
	uint64_t a = map_anon(3 * PG, PROT_READ | PROT_WRITE), b;

	cr_assert(abi_page_aligned(a));
	cr_assert_geq(a, ABI_MMAP_MIN_ADDR);
	cr_assert_leq(a + 3 * PG, MM_MMAP_BASE);
	b = map_anon(PG, PROT_READ);
	cr_assert(b + PG <= a || b >= a + 3 * PG, "no overlap");
	cr_assert_eq(memfile_allocated(&mf), 0, "nothing backed before a touch");
}

Test(mm, copy_out_then_in_round_trips_across_pages)
{
	uint64_t a = map_anon(4 * PG, PROT_READ | PROT_WRITE);
	char out[3 * PG], in[3 * PG];

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7);
	cr_assert_eq(mm_copy_out(&mm, a + 100, out, sizeof(out)), 0);
	cr_assert_eq(mm_copy_in(&mm, in, a + 100, sizeof(in)), 0);
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);
	cr_assert_eq(*guest_byte(a + 100 + PG), out[PG], "the guest's mapping sees the data");
	cr_assert_eq(memacct_get(&acct, MEMACCT_ANONYMOUS), 4 * PG, "charged to Anonymous");
}

Test(mm, copies_check_the_guests_rights)
{
	uint64_t ro = map_anon(PG, PROT_READ), none = map_anon(PG, PROT_NONE);
	char buf[16] = "x";

	cr_assert_eq(mm_copy_out(&mm, ro, buf, 1), -EFAULT, "write to read-only");
	cr_assert_eq(mm_copy_in(&mm, buf, ro, 1), 0);
	cr_assert_eq(buf[0], 0, "fresh memory reads zero");
	cr_assert_eq(mm_copy_in(&mm, buf, none, 1), -EFAULT, "PROT_NONE");
	cr_assert_eq(mm_copy_in(&mm, buf, 0, 1), -EFAULT, "NULL");
	cr_assert_eq(mm_copy_in(&mm, buf, 0xffff800000001000ULL, 8), -EFAULT, "upper half");
	cr_assert_eq(mm_copy_in(&mm, buf, UINT64_MAX - 3, 8), -EFAULT, "wraps");
	cr_assert_eq(mm_copy_in(&mm, buf, ro + PG - 4, 8), -EFAULT, "runs off the mapping");
}

Test(mm, copy_in_string)
{
	uint64_t a = map_anon(2 * PG, PROT_READ | PROT_WRITE);
	char s[64];

	/* A string that straddles a page boundary. */
	cr_assert_eq(mm_copy_out(&mm, a + PG - 3, "hello", 6), 0);
	cr_assert_eq(mm_copy_in_string(&mm, s, a + PG - 3, sizeof(s)), 5);
	cr_assert_str_eq(s, "hello");
	cr_assert_eq(mm_copy_in_string(&mm, s, a + PG - 3, 5), -ENAMETOOLONG);
	cr_assert_eq(mm_copy_in_string(&mm, s, a + PG - 3, 6), 5);
	/* No NUL before the end of the mapping. */
	memset(s, 'z', sizeof(s));
	cr_assert_eq(mm_copy_out(&mm, a + 2 * PG - 64, s, 64), 0);
	cr_assert_eq(mm_copy_in_string(&mm, s, a + 2 * PG - 64, 4096), -EFAULT);
	cr_assert_eq(mm_copy_in_string(&mm, s, 0x1000, 4096), -EFAULT);
}

Test(mm, fault_maps_the_aligned_window_around_the_page)
{
	const uint64_t window = MM_FAULT_AROUND * PG;
	uint64_t a = (uint64_t)mm_mmap(&mm, 0x40000000, 4 * window, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	uint64_t va = a + window + 5 * PG + 7;
	struct xlate *x;

	cr_assert_eq(a, 0x40000000);
	cr_assert_eq(mm_handle_fault(&mm, va, MM_ACCESS_WRITE), 0);
	x = xlate_at(va);
	cr_assert_not_null(x);
	cr_assert_eq(x->prot, PROT_READ | PROT_WRITE);
	cr_assert_not_null(xlate_at(a + window), "window start");
	cr_assert_not_null(xlate_at(a + 2 * window - PG), "window end");
	cr_assert_null(xlate_at(a + window - PG), "below the window");
	cr_assert_null(xlate_at(a + 2 * window), "above the window");
	cr_assert_eq(memfile_allocated(&mf), window);
	/* The window is clipped to the VMA. */
	cr_assert_eq(mm_munmap(&mm, a + 2 * window + PG, 2 * window - PG), 0);
	cr_assert_eq(mm_handle_fault(&mm, a + 2 * window, MM_ACCESS_READ), 0);
	cr_assert_null(xlate_at(a + 2 * window + PG));
	cr_assert_eq(memfile_allocated(&mf), window + PG);
}

Test(mm, faults_outside_rights_are_efault)
{
	uint64_t ro = map_anon(PG, PROT_READ), rw = map_anon(PG, PROT_READ | PROT_WRITE);

	cr_assert_eq(mm_handle_fault(&mm, ro, MM_ACCESS_WRITE), -EFAULT);
	cr_assert_eq(mm_handle_fault(&mm, rw, MM_ACCESS_EXEC), -EFAULT);
	cr_assert_eq(mm_handle_fault(&mm, 0, MM_ACCESS_READ), -EFAULT);
	cr_assert_eq(mm_handle_fault(&mm, 0xffffffffff600000ULL, MM_ACCESS_READ), -EFAULT);
}

Test(mm, munmap_frees_frames_and_translations)
{
	uint64_t a = map_anon(8 * PG, PROT_READ | PROT_WRITE);

	cr_assert_eq(mm_populate(&mm, a, 8 * PG), 0);
	cr_assert_eq(memfile_allocated(&mf), 8 * PG);
	cr_assert_eq(mm_munmap(&mm, a + 2 * PG, 3 * PG), 0);
	cr_assert_eq(memfile_allocated(&mf), 5 * PG, "the hole's frames are freed");
	cr_assert_null(xlate_at(a + 3 * PG));
	cr_assert_not_null(xlate_at(a + 5 * PG));
	cr_assert_eq(mm_handle_fault(&mm, a + 3 * PG, MM_ACCESS_READ), -EFAULT);
	cr_assert_eq(mm_munmap(&mm, a + 1, PG), -EINVAL, "unaligned");
	cr_assert_eq(mm_munmap(&mm, a, 0), -EINVAL);
	cr_assert_eq(mm_munmap(&mm, PLATFORM_USER_END, PG), -EINVAL);
	cr_assert_eq(mm_munmap(&mm, 0x200000000ULL, PG), 0, "nothing there is fine");
}

Test(mm, mprotect_changes_rights_and_translations)
{
	uint64_t a = map_anon(4 * PG, PROT_READ | PROT_WRITE);
	char c = 1;

	cr_assert_eq(mm_populate(&mm, a, 4 * PG), 0);
	cr_assert_eq(mm_mprotect(&mm, a + PG, PG, PROT_READ), 0);
	cr_assert_eq(xlate_at(a + PG)->prot, PROT_READ);
	cr_assert_eq(xlate_at(a)->prot, PROT_READ | PROT_WRITE);
	cr_assert_eq(mm_copy_out(&mm, a + PG, &c, 1), -EFAULT);
	cr_assert_eq(mm_copy_out(&mm, a, &c, 1), 0);
	cr_assert_eq(mm_mprotect(&mm, a + 2 * PG, PG, PROT_NONE), 0);
	cr_assert_null(xlate_at(a + 2 * PG), "PROT_NONE is not mapped");
	cr_assert_eq(mm_mprotect(&mm, a, 4 * PG, PROT_READ | PROT_WRITE), 0);
	cr_assert_eq(segset_count(&mm.vmas), 1, "equal VMAs merge back");
	cr_assert_eq(mm_mprotect(&mm, a, 8 * PG, PROT_READ), -ENOMEM, "unmapped pages");
	cr_assert_eq(mm_mprotect(&mm, a + 3, PG, PROT_READ), -EINVAL);
	cr_assert_eq(mm_mprotect(&mm, a, PG, 0x80), -EINVAL);
}

Test(mm, fixed_and_noreplace)
{
	uint64_t a = map_anon(4 * PG, PROT_READ | PROT_WRITE);
	int64_t r;
	char c = 9;

	cr_assert_eq(mm_copy_out(&mm, a + PG, &c, 1), 0);
	r = mm_mmap(&mm, a + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
	cr_assert_eq(r, -EEXIST);
	r = mm_mmap(&mm, a + PG, PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	cr_assert_eq(r, (int64_t)(a + PG));
	cr_assert_eq(mm_copy_in(&mm, &c, a + PG, 1), 0);
	cr_assert_eq(c, 0, "MAP_FIXED replaced the old page");
	cr_assert_eq(mm_mmap(&mm, a + 5, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED),
		     -EINVAL);
	cr_assert_eq(mm_mmap(&mm, 0x1000, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED),
		     -EPERM, "below mmap_min_addr");
	cr_assert_eq(mm_mmap(&mm, PLATFORM_USER_END - PG, 2 * PG, PROT_READ,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED),
		     -ENOMEM, "into the upper half");
}

Test(mm, mmap_rejects_bad_arguments)
{
	cr_assert_eq(mm_mmap(&mm, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS), -EINVAL);
	cr_assert_eq(mm_mmap(&mm, 0, PG, 0x10, MAP_PRIVATE | MAP_ANONYMOUS), -EINVAL);
	cr_assert_eq(mm_mmap(&mm, 0, PG, PROT_READ, MAP_ANONYMOUS), -EINVAL, "no type");
	cr_assert_eq(mm_mmap(&mm, 0, UINT64_MAX, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS),
		     -ENOMEM);
	cr_assert_eq(mm_mmap(&mm, 0, PG, PROT_READ, MAP_PRIVATE), -ENODEV, "files: VFS");
}

Test(mm, hint_is_used_when_free)
{
	int64_t r = mm_mmap(&mm, 0x40000000, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);

	cr_assert_eq(r, 0x40000000);
	r = mm_mmap(&mm, 0x40000000, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	cr_assert_neq(r, 0x40000000, "taken: placed elsewhere");
	cr_assert_gt(r, 0);
}

Test(mm, brk_grows_and_shrinks)
{
	uint64_t start = 0x600000, b;
	char c = 5;

	cr_assert_eq(mm_brk(&mm, 0x700000), 0, "no heap before exec sets one");
	mm_set_brk_start(&mm, start);
	cr_assert_eq(mm_brk(&mm, 0), start, "query");
	b = mm_brk(&mm, start + 3 * PG + 10);
	cr_assert_eq(b, start + 3 * PG + 10);
	cr_assert_eq(mm_copy_out(&mm, start + 3 * PG + 5, &c, 1), 0);
	cr_assert_eq(mm_brk(&mm, start + PG), start + PG);
	cr_assert_eq(mm_copy_out(&mm, start + 2 * PG, &c, 1), -EFAULT, "shrunk away");
	cr_assert_eq(mm_brk(&mm, start - PG), start + PG, "below the start: refused");
	/* A mapping in the way stops the heap. */
	cr_assert_eq(mm_mmap(&mm, start + 8 * PG, PG, PROT_READ,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED),
		     (int64_t)(start + 8 * PG));
	cr_assert_eq(mm_brk(&mm, start + 16 * PG), start + PG);
}

/* brk backs and maps the first MM_GROW_POPULATE bytes of each growth
 * (malloc touches them at once: no fault each), and no more; a heap grown
 * past what memory holds still grows, and faults the rest in later. */
Test(mm, brk_populates_what_it_grows)
{
	uint64_t start = 0x600000, grow = MM_GROW_POPULATE + 64 * PG, before;
	int maps = fas.maps;

	mm_set_brk_start(&mm, start);
	cr_assert_eq(mm_brk(&mm, start + 48 * PG), start + 48 * PG);
	cr_assert_gt(fas.maps, maps, "mapped by brk, before any fault");
	for (uint64_t va = start; va < start + 48 * PG; va += PG)
		cr_assert_not_null(xlate_at(va), "page %lu", (va - start) / PG);
	cr_assert_eq(*guest_byte(start + 47 * PG), 0, "reads as zeros");

	before = memfile_allocated(&mf);
	cr_assert_eq(mm_brk(&mm, start + 48 * PG + grow), start + 48 * PG + grow);
	cr_assert_eq(memfile_allocated(&mf) - before, MM_GROW_POPULATE, "the first 1 MiB only");
	cr_assert_not_null(xlate_at(start + 48 * PG + MM_GROW_POPULATE - PG));
	cr_assert_null(xlate_at(start + 48 * PG + MM_GROW_POPULATE), "the rest waits for a fault");

	cr_assert_eq(mm_brk(&mm, start), start);
	cr_assert_eq(memfile_allocated(&mf), 0, "shrunk: every frame freed");
	cr_assert_null(xlate_at(start));
}

/* mprotect of PROT_NONE anonymous memory to writable right above its
 * writable part (a glibc thread arena growing) backs and maps it as brk
 * does; the first part made writable (as a thread stack above its guard
 * page) and other changes of rights back nothing. */
Test(mm, mprotect_from_none_populates)
{
	uint64_t a = map_anon(512 * PG, PROT_NONE), before = memfile_allocated(&mf);

	cr_assert_eq(mm_mprotect(&mm, a, 4 * PG, PROT_READ | PROT_WRITE), 0);
	cr_assert_eq(memfile_allocated(&mf), before, "nothing writable below: not backed");
	cr_assert_null(xlate_at(a));
	cr_assert_eq(mm_mprotect(&mm, a + 4 * PG, 12 * PG, PROT_READ | PROT_WRITE), 0);
	cr_assert_eq(memfile_allocated(&mf) - before, 12 * PG, "the 12 pages it grew by");
	for (uint64_t va = a + 4 * PG; va < a + 16 * PG; va += PG)
		cr_assert_not_null(xlate_at(va), "page %lu", (va - a) / PG);
	cr_assert_null(xlate_at(a + 16 * PG), "still PROT_NONE: nothing");
	cr_assert_eq(*guest_byte(a + 15 * PG), 0);

	before = memfile_allocated(&mf);
	cr_assert_eq(mm_mprotect(&mm, a + 16 * PG, 16 * PG, PROT_READ), 0);
	cr_assert_eq(memfile_allocated(&mf), before, "made readable only: nothing backed");
	cr_assert_eq(mm_mprotect(&mm, a + 16 * PG, 16 * PG, PROT_READ | PROT_WRITE), 0);
	cr_assert_eq(memfile_allocated(&mf), before, "was not PROT_NONE: nothing backed");
	cr_assert_eq(mm_munmap(&mm, a, 512 * PG), 0);
	cr_assert_eq(memfile_allocated(&mf), 0);
}

Test(mm, brk_past_memory_still_grows)
{
	uint64_t start = 0x600000, a = map_anon(511 * MIB + 960 * 1024, PROT_READ | PROT_WRITE);
	char c = 1;

	cr_assert_eq(mm_populate(&mm, a, 511 * MIB + 960 * 1024), 0, "all but 64 KiB of 512 MiB");
	mm_set_brk_start(&mm, start);
	cr_assert_eq(mm_brk(&mm, start + 64 * PG), start + 64 * PG, "the heap grows anyway");
	cr_assert_eq(mm_munmap(&mm, a, 511 * MIB + 960 * 1024), 0);
	cr_assert_eq(mm_copy_out(&mm, start + 63 * PG, &c, 1), 0, "faulted in once there is room");
}

Test(mm, mremap_moves_frames_without_copying)
{
	uint64_t a = map_anon(2 * PG, PROT_READ | PROT_WRITE);
	int64_t b;
	char c = 42, d = 0;
	uint64_t off_before;

	cr_assert_eq(mm_copy_out(&mm, a + PG, &c, 1), 0);
	off_before = xlate_at(a + PG)->off;
	/* Block growth in place, so it has to move. */
	cr_assert_eq(mm_mmap(&mm, a + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED),
		     (int64_t)(a + 2 * PG));
	cr_assert_eq(mm_mremap(&mm, a, 2 * PG, 8 * PG, 0, 0), -ENOMEM, "no MAYMOVE");
	b = mm_mremap(&mm, a, 2 * PG, 8 * PG, MREMAP_MAYMOVE, 0);
	cr_assert_gt(b, 0);
	cr_assert_neq(b, (int64_t)a);
	cr_assert_eq(mm_copy_in(&mm, &d, (uint64_t)b + PG, 1), 0);
	cr_assert_eq(d, 42);
	cr_assert_eq(xlate_at((uint64_t)b + PG)->off, off_before, "same frame");
	cr_assert_eq(mm_copy_in(&mm, &d, a, 1), -EFAULT, "old range gone");
	cr_assert_eq(mm_copy_out(&mm, (uint64_t)b + 7 * PG, &c, 1), 0, "new tail usable");
}

Test(mm, mremap_shrinks_and_grows_in_place)
{
	uint64_t a = map_anon(4 * PG, PROT_READ | PROT_WRITE);

	cr_assert_eq(mm_populate(&mm, a, 4 * PG), 0);
	cr_assert_eq(mm_mremap(&mm, a, 4 * PG, PG, 0, 0), (int64_t)a);
	cr_assert_eq(memfile_allocated(&mf), PG);
	cr_assert_eq(mm_mremap(&mm, a, PG, 3 * PG, 0, 0), (int64_t)a, "room above: in place");
	cr_assert_eq(mm_mremap(&mm, a, 8 * PG, 9 * PG, 0, 0), -EFAULT, "not one VMA");
	cr_assert_eq(mm_mremap(&mm, a + 1, PG, PG, 0, 0), -EINVAL);
	cr_assert_eq(mm_mremap(&mm, a, PG, PG, MREMAP_FIXED, a + 64 * PG), -EINVAL);
	cr_assert_eq(mm_mremap(&mm, a, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, a + 64 * PG),
		     (int64_t)(a + 64 * PG));
}

Test(mm, madvise_dontneed_reads_zero_after)
{
	uint64_t a = map_anon(2 * PG, PROT_READ | PROT_WRITE);
	char c = 3;

	cr_assert_eq(mm_copy_out(&mm, a, &c, 1), 0);
	cr_assert_eq(mm_madvise(&mm, a, 2 * PG, MADV_DONTNEED), 0);
	cr_assert_eq(memfile_allocated(&mf), 0, "frames given back");
	cr_assert_eq(mm_copy_in(&mm, &c, a, 1), 0);
	cr_assert_eq(c, 0);
	cr_assert_eq(mm_madvise(&mm, a, PG, MADV_SEQUENTIAL), 0);
	cr_assert_eq(mm_madvise(&mm, a, PG, 12345), -EINVAL);
	cr_assert_eq(mm_madvise(&mm, a + 1, PG, MADV_DONTNEED), -EINVAL);
}

Test(mm, populate_maps_everything_up_front)
{
	uint64_t a = map_anon(256 * PG, PROT_READ | PROT_WRITE);

	cr_assert_eq(mm_populate(&mm, a, 256 * PG), 0);
	for (uint64_t va = a; va < a + 256 * PG; va += PG)
		cr_assert_not_null(xlate_at(va));
	cr_assert_eq(segset_count(&mm.pmas), 1, "one contiguous range of frames");
	cr_assert_eq(mm_populate(&mm, a, 512 * PG), -EFAULT, "beyond the VMA");
}

Test(mm, out_of_memory_is_an_error_not_a_crash)
{
	uint64_t a = map_anon(600 * MIB, PROT_READ | PROT_WRITE);

	cr_assert_eq(mm_populate(&mm, a, 600 * MIB), -ENOMEM, "cap is 512 MiB");
	cr_assert_eq(mm_munmap(&mm, a, 600 * MIB), 0);
	cr_assert_eq(memfile_allocated(&mf), 0);
	cr_assert_eq(mm_mmap(&mm, 0, 600 * MIB, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE),
		     -ENOMEM);
	cr_assert_eq(memfile_allocated(&mf), 0, "failed populate leaves nothing behind");
}

Test(mm, platform_map_failure_is_reported)
{
	uint64_t a = map_anon(PG, PROT_READ | PROT_WRITE);

	fas.fail_map = true;
	cr_assert_eq(mm_handle_fault(&mm, a, MM_ACCESS_READ), -ENOMEM);
	fas.fail_map = false;
	cr_assert_eq(mm_handle_fault(&mm, a, MM_ACCESS_READ), 0);
}

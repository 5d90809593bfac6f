/*
 * Unit tests for platform/memfile.h: allocation, alignment, reuse, the cap,
 * accounting, and memory going back to the host (the memfd's allocated
 * blocks, read with fstat, drop when a range is freed).
 */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>


#include "platform/memfile.h"

#define MIB  (UINT64_C(1) << 20)
#define PAGE ABI_PAGE_SIZE

static struct memacct acct;
static struct memfile mf;

static void setup(void)
{
	memacct_init(&acct);
	cr_assert_eq(memfile_init(&mf, 32 * MIB, &acct), 0);
}

static void teardown(void)
{
	memfile_destroy(&mf);
	cr_assert_eq(memacct_get(&acct, MEMACCT_ANONYMOUS), 0, "destroy uncharges");
}

static uint64_t host_bytes(void)
{
	struct stat st;

	cr_assert_eq(fstat(mf.fd, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

TestSuite(memfile, .init = setup, .fini = teardown);

Test(memfile, init_rejects_bad_sizes)
{
	struct memfile bad;

	cr_assert_eq(memfile_init(&bad, 0, &acct), -EINVAL);
	cr_assert_eq(memfile_init(&bad, PAGE + 1, &acct), -EINVAL);
}

Test(memfile, alloc_is_aligned_zeroed_and_charged)
{
	struct file_range a, b;
	unsigned char *p;

	cr_assert_eq(memfile_alloc(&mf, PAGE, PAGE, MEMACCT_ANONYMOUS, &a), 0);
	cr_assert_eq(memfile_alloc(&mf, 2 * MIB, 2 * MIB, MEMACCT_TMPFS, &b), 0);
	cr_assert_eq(b.start % (2 * MIB), 0);
	cr_assert_eq(file_range_len(b), 2 * MIB);
	cr_assert(!file_range_overlaps(a, b));
	cr_assert_eq(memacct_get(&acct, MEMACCT_ANONYMOUS), PAGE);
	cr_assert_eq(memacct_get(&acct, MEMACCT_TMPFS), 2 * MIB);
	cr_assert_eq(memfile_allocated(&mf), PAGE + 2 * MIB);
	p = memfile_map(&mf, b);
	for (uint64_t i = 0; i < 2 * MIB; i += 512)
		cr_assert_eq(p[i], 0);
	cr_assert_eq(memfile_free(&mf, b), 0);
	cr_assert_eq(memfile_free(&mf, a), 0);
	cr_assert_eq(memacct_get(&acct, MEMACCT_TMPFS), 0);
	cr_assert_eq(memfile_allocated(&mf), 0);
}

Test(memfile, rejects_bad_arguments)
{
	struct file_range r;

	cr_assert_eq(memfile_alloc(&mf, 0, PAGE, MEMACCT_ANONYMOUS, &r), -EINVAL);
	cr_assert_eq(memfile_alloc(&mf, 100, PAGE, MEMACCT_ANONYMOUS, &r), -EINVAL);
	cr_assert_eq(memfile_alloc(&mf, PAGE, 3 * PAGE, MEMACCT_ANONYMOUS, &r), -EINVAL);
	cr_assert_eq(memfile_alloc(&mf, PAGE, 512, MEMACCT_ANONYMOUS, &r), -EINVAL);
	cr_assert_eq(memfile_alloc(&mf, PAGE, PAGE, MEMACCT_MAPPED, &r), -EINVAL,
		     "Mapped is not a kind frames are charged to");
	cr_assert_eq(memfile_alloc(&mf, PAGE, PAGE, MEMACCT_NKINDS, &r), -EINVAL);
	cr_assert_eq(memfile_free(&mf, file_range_make(0, PAGE)), -EINVAL, "not allocated");
	cr_assert_eq(memfile_free(&mf, file_range_make(PAGE, 0)), -EINVAL);
	cr_assert_eq(memfile_free(&mf, file_range_make(1, PAGE)), -EINVAL);
	cr_assert_eq(memfile_free(&mf, file_range_make(0, 64 * MIB)), -EINVAL, "past the end");
	cr_assert_null(memfile_map(&mf, file_range_make(0, 33 * MIB)));
	cr_assert_null(memfile_map(&mf, file_range_make(5, 4)));
}

Test(memfile, double_free_and_partial_hole_are_rejected)
{
	struct file_range a;

	cr_assert_eq(memfile_alloc(&mf, 4 * PAGE, PAGE, MEMACCT_ANONYMOUS, &a), 0);
	cr_assert_eq(memfile_free(&mf, file_range_make(a.start, a.start + PAGE)), 0);
	cr_assert_eq(memfile_free(&mf, file_range_make(a.start, a.start + PAGE)), -EINVAL);
	cr_assert_eq(memfile_free(&mf, a), -EINVAL, "covers the freed page");
	cr_assert_eq(memacct_get(&acct, MEMACCT_ANONYMOUS), 3 * PAGE, "failed frees change nothing");
	cr_assert_eq(memfile_free(&mf, file_range_make(a.start + PAGE, a.end)), 0);
	cr_assert_eq(memacct_get(&acct, MEMACCT_ANONYMOUS), 0);
}

Test(memfile, freed_memory_is_reused_and_zeroed)
{
	struct file_range a, b;
	unsigned char *p;

	cr_assert_eq(memfile_alloc(&mf, 16 * PAGE, PAGE, MEMACCT_ANONYMOUS, &a), 0);
	memset(memfile_map(&mf, a), 0xff, file_range_len(a));
	cr_assert_eq(memfile_free(&mf, a), 0);
	cr_assert_eq(memfile_alloc(&mf, 16 * PAGE, PAGE, MEMACCT_ANONYMOUS, &b), 0);
	cr_assert_eq(b.start, a.start, "first fit reuses the freed range");
	p = memfile_map(&mf, b);
	for (uint64_t i = 0; i < file_range_len(b); i++)
		cr_assert_eq(p[i], 0, "byte %lu not zero after reuse", i);
	cr_assert_eq(memfile_free(&mf, b), 0);
}

Test(memfile, cap_gives_enomem_not_abort)
{
	struct file_range a, b;

	cr_assert_eq(memfile_alloc(&mf, 32 * MIB, PAGE, MEMACCT_ANONYMOUS, &a), 0);
	cr_assert_eq(memfile_alloc(&mf, PAGE, PAGE, MEMACCT_ANONYMOUS, &b), -ENOMEM);
	cr_assert_eq(memacct_get(&acct, MEMACCT_ANONYMOUS), 32 * MIB);
	cr_assert_eq(memfile_free(&mf, file_range_make(8 * MIB, 10 * MIB)), 0);
	cr_assert_eq(memfile_alloc(&mf, 4 * MIB, PAGE, MEMACCT_ANONYMOUS, &b), -ENOMEM,
		     "2 MiB free, but not 4");
	cr_assert_eq(memfile_alloc(&mf, 2 * MIB, 2 * MIB, MEMACCT_ANONYMOUS, &b), 0);
	cr_assert_eq(b.start, 8 * MIB);
	cr_assert_eq(memfile_alloc(&mf, PAGE, PAGE, MEMACCT_ANONYMOUS, &b), -ENOMEM);
}

Test(memfile, fragmented_space_respects_alignment)
{
	struct file_range r[8], h;

	for (int i = 0; i < 8; i++)
		cr_assert_eq(memfile_alloc(&mf, 4 * MIB, PAGE, MEMACCT_ANONYMOUS, &r[i]), 0);
	/* Free 3 MiB at an odd place: no 2 MiB-aligned 2 MiB fits in it. */
	cr_assert_eq(memfile_free(&mf, file_range_make(5 * MIB, 8 * MIB)), 0);
	cr_assert_eq(memfile_alloc(&mf, 2 * MIB, 2 * MIB, MEMACCT_ANONYMOUS, &h), 0);
	cr_assert_eq(h.start, 6 * MIB);
	cr_assert_eq(memfile_alloc(&mf, 2 * MIB, 2 * MIB, MEMACCT_ANONYMOUS, &h), -ENOMEM);
	cr_assert_eq(memfile_alloc(&mf, MIB, PAGE, MEMACCT_ANONYMOUS, &h), 0);
	cr_assert_eq(h.start, 5 * MIB);
}

/* The pool of a 32 MiB file holds 4 MiB: what passes it goes back to the
 * host at once, the rest at memfile_trim. */
Test(memfile, freed_memory_goes_back_to_the_host)
{
	struct file_range a;
	uint64_t before = host_bytes();

	cr_assert_eq(mf.pool_max, 4 * MIB);
	cr_assert_eq(memfile_alloc(&mf, 24 * MIB, PAGE, MEMACCT_ANONYMOUS, &a), 0);
	memset(memfile_map(&mf, a), 1, file_range_len(a));
	cr_assert_geq(host_bytes(), before + 24 * MIB, "touched frames are host memory");
	cr_assert_eq(memfile_free(&mf, file_range_make(a.start, a.start + 4 * MIB)), 0);
	cr_assert_geq(host_bytes(), before + 24 * MIB, "the first 4 MiB is pooled, still backed");
	cr_assert_eq(memfile_free(&mf, file_range_make(a.start + 4 * MIB, a.end)), 0);
	cr_assert_leq(host_bytes(), before + 4 * MIB, "past the pool: punched");
	memfile_trim(&mf);
	cr_assert_eq(host_bytes(), before, "all punched");
}

/* A range the pool held reads as zeros when handed out again, whole or in
 * part, and the pool lets go of what was handed out. */
Test(memfile, pooled_frames_come_back_zeroed)
{
	struct file_range a, b, c;
	unsigned char *p;

	cr_assert_eq(memfile_alloc(&mf, 4 * MIB, PAGE, MEMACCT_ANONYMOUS, &a), 0);
	memset(memfile_map(&mf, a), 0xa5, file_range_len(a));
	cr_assert_eq(memfile_free(&mf, a), 0);
	cr_assert_eq(mf.pooled, 4 * MIB);
	cr_assert_eq(memfile_alloc(&mf, MIB, PAGE, MEMACCT_ANONYMOUS, &b), 0);
	cr_assert_eq(b.start, a.start, "first fit takes the freed range");
	cr_assert_eq(mf.pooled, 3 * MIB);
	cr_assert_eq(memfile_alloc(&mf, 8 * MIB, PAGE, MEMACCT_ANONYMOUS, &c), 0,
		     "straddles the pooled rest and fresh space");
	cr_assert_eq(c.start, b.end);
	cr_assert_eq(mf.pooled, 0);
	p = memfile_map(&mf, b);
	for (uint64_t i = 0; i < file_range_len(b); i++)
		cr_assert_eq(p[i], 0, "b[%llu]", (unsigned long long)i);
	p = memfile_map(&mf, c);
	for (uint64_t i = 0; i < file_range_len(c); i++)
		cr_assert_eq(p[i], 0, "c[%llu]", (unsigned long long)i);
	cr_assert_eq(memfile_free(&mf, b), 0);
	cr_assert_eq(memfile_free(&mf, c), 0);
	cr_assert_eq(mf.pooled, 4 * MIB, "b pooled, and of c what the 4 MiB bound has room for");
	memfile_trim(&mf);
	cr_assert_eq(mf.pooled, 0);
	cr_assert_eq(memfile_allocated(&mf), 0);
}

/* Wait (up to 5 s) until the filler has backed @bytes and rests. */
static void wait_fresh(uint64_t bytes)
{
	for (int i = 0; i < 5000; i++) {
		bool done;

		pthread_mutex_lock(&mf.lock);
		done = mf.fresh_bytes == bytes && file_range_empty(mf.filling);
		pthread_mutex_unlock(&mf.lock);
		if (done)
			return;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	cr_assert_fail("fresh set holds %llu bytes, not %llu", (unsigned long long)mf.fresh_bytes,
		       (unsigned long long)bytes);
}

/* Prefill starts once 4 MiB were handed out unbacked, backs the free
 * frames first fit hands out next, doubles its bound when an allocation
 * still finds frames unbacked, hands its frames out as zeros without
 * charging for them before, and gives them back at trim. */
Test(memfile, prefill_backs_what_first_fit_hands_out_next)
{
	struct file_range a, b, c, d;
	uint64_t before = host_bytes();
	unsigned char *p;

	memfile_prefill(&mf);
	cr_assert_eq(memfile_alloc(&mf, 3 * MIB, PAGE, MEMACCT_ANONYMOUS, &a), 0);
	cr_assert(!mf.filler_running, "3 MiB is not yet a sandbox that keeps taking memory");
	cr_assert_eq(memfile_alloc(&mf, MIB, PAGE, MEMACCT_ANONYMOUS, &b), 0);
	cr_assert(mf.filler_running);
	cr_assert_eq(mf.fill_want, MEMFILE_FILL_START);
	wait_fresh(MEMFILE_FILL_START);
	cr_assert_eq(host_bytes(), before + MEMFILE_FILL_START, "backed, though nobody touched it");
	cr_assert_eq(memacct_get(&acct, MEMACCT_ANONYMOUS), 4 * MIB, "charged: only what was taken");
	cr_assert_not_null(segset_find(&mf.fresh, b.end, NULL), "where first fit looks next");

	cr_assert_eq(memfile_alloc(&mf, 2 * MIB, PAGE, MEMACCT_ANONYMOUS, &c), 0);
	cr_assert_eq(c.start, b.end);
	cr_assert_eq(mf.fill_want, MEMFILE_FILL_START, "all of it was backed: the bound holds");
	p = memfile_map(&mf, c);
	for (uint64_t i = 0; i < file_range_len(c); i += 997)
		cr_assert_eq(p[i], 0, "c[%llu]", (unsigned long long)i);
	cr_assert_eq(memfile_alloc(&mf, 3 * MIB, PAGE, MEMACCT_ANONYMOUS, &d), 0);
	cr_assert_eq(mf.fill_want, 2 * MEMFILE_FILL_START, "a MiB was unbacked: the bound doubles");
	wait_fresh(2 * MEMFILE_FILL_START);
	cr_assert_eq(host_bytes(), before + MEMFILE_FILL_START + 2 * MEMFILE_FILL_START,
		     "what c and d took of the fresh set, the fresh set again, nothing more");

	cr_assert_eq(memfile_free(&mf, file_range_make(a.start, d.end)), 0);
	memfile_trim(&mf);
	cr_assert_eq(mf.fresh_bytes, 0);
	cr_assert_eq(mf.fill_want, 0, "trim starts the learning again");
	cr_assert_eq(host_bytes(), before, "fresh frames punched too");
}

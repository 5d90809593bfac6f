/* Unit tests for platform/memacct.h. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "abi/errno.h"
#include "platform/memacct.h"

Test(memacct, inc_dec_snapshot_total)
{
	struct memacct a;
	struct memacct_snapshot s;

	memacct_init(&a);
	cr_assert_eq(memacct_inc(&a, MEMACCT_ANONYMOUS, 8192), 0);
	cr_assert_eq(memacct_inc(&a, MEMACCT_TMPFS, 4096), 0);
	cr_assert_eq(memacct_inc(&a, MEMACCT_MAPPED, 4096), 0);
	cr_assert_eq(memacct_dec(&a, MEMACCT_ANONYMOUS, 4096), 0);
	memacct_snapshot(&a, &s);
	cr_assert_eq(s.bytes[MEMACCT_ANONYMOUS], 4096);
	cr_assert_eq(memacct_get(&a, MEMACCT_TMPFS), 4096);
	cr_assert_eq(memacct_snapshot_total(&s), 8192, "Mapped is not added to the total");
}

Test(memacct, rejects_bad_kind_underflow_and_overflow)
{
	struct memacct a;

	memacct_init(&a);
	cr_assert_eq(memacct_inc(&a, MEMACCT_NKINDS, 1), -EINVAL);
	cr_assert_eq(memacct_inc(&a, (enum memacct_kind)-1, 1), -EINVAL);
	cr_assert_eq(memacct_dec(&a, MEMACCT_SYSTEM, 1), -EINVAL, "nothing charged");
	cr_assert_eq(memacct_get(&a, MEMACCT_SYSTEM), 0, "no wrap on underflow");
	cr_assert_eq(memacct_inc(&a, MEMACCT_SYSTEM, UINT64_MAX), 0);
	cr_assert_eq(memacct_inc(&a, MEMACCT_SYSTEM, 1), -EINVAL);
	cr_assert_eq(memacct_get(&a, MEMACCT_SYSTEM), UINT64_MAX);
	cr_assert_null(memacct_kind_name(MEMACCT_NKINDS));
	cr_assert_str_eq(memacct_kind_name(MEMACCT_PAGECACHE), "PageCache");
}

static struct memacct shared;

static void *hammer(void *arg)
{
	for (int i = 0; i < 100000; i++) {
		if (memacct_inc(&shared, MEMACCT_ANONYMOUS, 4096) ||
		    memacct_dec(&shared, MEMACCT_ANONYMOUS, 4096))
			return (void *)1;
	}
	return NULL;
}

Test(memacct, concurrent_updates_balance)
{
	pthread_t t[4];
	void *r;

	memacct_init(&shared);
	cr_assert_eq(memacct_inc(&shared, MEMACCT_ANONYMOUS, 4096 * 4), 0);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, NULL);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &r);
		cr_assert_null(r);
	}
	cr_assert_eq(memacct_get(&shared, MEMACCT_ANONYMOUS), 4096 * 4);
}

Test(memacct, meminfo_lines)
{
	struct memacct a;
	struct memacct_snapshot s;
	char buf[2048], small[16];
	size_t n;

	memacct_init(&a);
	cr_assert_eq(memacct_inc(&a, MEMACCT_ANONYMOUS, 1 << 20), 0);
	cr_assert_eq(memacct_inc(&a, MEMACCT_TMPFS, 2 << 20), 0);
	cr_assert_eq(memacct_inc(&a, MEMACCT_MAPPED, 1 << 20), 0);
	memacct_snapshot(&a, &s);
	n = memacct_format_meminfo(&s, 64 << 20, buf, sizeof(buf));
	cr_assert_eq(n, strlen(buf));
	cr_assert_not_null(strstr(buf, "MemTotal:          65536 kB\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "MemFree:           62464 kB\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "AnonPages:          1024 kB\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "Shmem:              2048 kB\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "Mapped:             1024 kB\n"), "%s", buf);
	cr_assert_eq(memacct_format_meminfo(&s, 64 << 20, small, sizeof(small)), n,
		     "reports the full length when truncated");
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	cr_assert_eq(strncmp(small, buf, sizeof(small) - 1), 0);
}

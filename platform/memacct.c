/*
 * platform/memacct.c - the counters behind memacct.h.
 */
#include <stdio.h>
#include <string.h>

#include "abi/errno.h"
#include "platform/memacct.h"

static const char *const kind_names[MEMACCT_NKINDS] = {
	[MEMACCT_SYSTEM] = "System",       [MEMACCT_ANONYMOUS] = "Anonymous",
	[MEMACCT_PAGECACHE] = "PageCache", [MEMACCT_TMPFS] = "Tmpfs",
	[MEMACCT_MAPPED] = "Mapped",       [MEMACCT_RAMDISKFS] = "Ramdiskfs",
};

const char *memacct_kind_name(enum memacct_kind kind)
{
	if ((unsigned)kind >= MEMACCT_NKINDS)
		return NULL;
	return kind_names[kind];
}

void memacct_init(struct memacct *a)
{
	for (int i = 0; i < MEMACCT_NKINDS; i++)
		atomic_init(&a->bytes[i], 0);
}

int memacct_inc(struct memacct *a, enum memacct_kind kind, uint64_t len)
{
	uint64_t old, new;

	if ((unsigned)kind >= MEMACCT_NKINDS)
		return -EINVAL;
	old = atomic_load_explicit(&a->bytes[kind], memory_order_relaxed);
	do {
		if (__builtin_add_overflow(old, len, &new))
			return -EINVAL;
	} while (!atomic_compare_exchange_weak_explicit(&a->bytes[kind], &old, new,
							memory_order_relaxed, memory_order_relaxed));
	old = atomic_load_explicit(&a->peak[kind], memory_order_relaxed);
	while (old < new && !atomic_compare_exchange_weak_explicit(&a->peak[kind], &old, new,
								   memory_order_relaxed,
								   memory_order_relaxed))
		;
	return 0;
}

uint64_t memacct_peak(const struct memacct *a, enum memacct_kind kind)
{
	return (unsigned)kind < MEMACCT_NKINDS
		       ? atomic_load_explicit(&a->peak[kind], memory_order_relaxed)
		       : 0;
}

int memacct_dec(struct memacct *a, enum memacct_kind kind, uint64_t len)
{
	uint64_t old;

	if ((unsigned)kind >= MEMACCT_NKINDS)
		return -EINVAL;
	old = atomic_load_explicit(&a->bytes[kind], memory_order_relaxed);
	do {
		if (old < len)
			return -EINVAL;
	} while (!atomic_compare_exchange_weak_explicit(&a->bytes[kind], &old, old - len,
							memory_order_relaxed, memory_order_relaxed));
	return 0;
}

uint64_t memacct_get(const struct memacct *a, enum memacct_kind kind)
{
	if ((unsigned)kind >= MEMACCT_NKINDS)
		return 0;
	return atomic_load_explicit(&a->bytes[kind], memory_order_relaxed);
}

void memacct_snapshot(const struct memacct *a, struct memacct_snapshot *out)
{
	for (int i = 0; i < MEMACCT_NKINDS; i++)
		out->bytes[i] = atomic_load_explicit(&a->bytes[i], memory_order_relaxed);
}

uint64_t memacct_snapshot_total(const struct memacct_snapshot *snap)
{
	uint64_t total = 0;

	for (int i = 0; i < MEMACCT_NKINDS; i++)
		if (i != MEMACCT_MAPPED)
			total += snap->bytes[i];
	return total;
}

size_t memacct_format_meminfo(const struct memacct_snapshot *snap, uint64_t mem_total, char *buf,
			      size_t size)
{
	const uint64_t *b = snap->bytes;
	uint64_t used = memacct_snapshot_total(snap);
	uint64_t free_ = mem_total > used ? mem_total - used : 0;
	uint64_t file = b[MEMACCT_PAGECACHE] + b[MEMACCT_TMPFS] + b[MEMACCT_RAMDISKFS];
	uint64_t anon = b[MEMACCT_ANONYMOUS];
	struct {
		const char *name;
		uint64_t bytes;
	} lines[] = {
		{"MemTotal", mem_total},
		{"MemFree", free_},
		{"MemAvailable", free_},
		{"Buffers", 0},
		{"Cached", file},
		{"SwapCached", 0},
		{"Active", anon + file},
		{"Inactive", 0},
		{"Active(anon)", anon},
		{"Inactive(anon)", 0},
		{"Active(file)", file},
		{"Inactive(file)", 0},
		{"Unevictable", 0},
		{"Mlocked", 0},
		{"SwapTotal", 0},
		{"SwapFree", 0},
		{"Dirty", 0},
		{"Writeback", 0},
		{"AnonPages", anon},
		{"Mapped", b[MEMACCT_MAPPED]},
		{"Shmem", b[MEMACCT_TMPFS]},
	};
	size_t len = 0;

	if (size > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char name[24], line[64];
		int n;

		snprintf(name, sizeof(name), "%s:", lines[i].name);
		n = snprintf(line, sizeof(line), "%-15s %8llu kB\n", name,
			     (unsigned long long)(lines[i].bytes / 1024));

		if (size > len + 1)
			snprintf(buf + len, size - len, "%s", line);
		len += (size_t)n;
	}
	return len;
}

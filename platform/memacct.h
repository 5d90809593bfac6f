/*
 * platform/memacct.h - per-kind memory accounting.
 *
 * Every frame of the memory file that the sentry holds is charged to exactly
 * one kind: System (the sentry's own page tables and bookkeeping), Anonymous
 * (guest anonymous memory), PageCache (cached file data), Tmpfs, Ramdiskfs.
 * Mapped is tracked alongside the others, not instead of them: it counts
 * page-cache and tmpfs frames that are mapped into some address space, and
 * it is kept by frame reference sets (platform/frame_ref.h).
 *
 * Counters are atomics, so any thread may charge or uncharge without a
 * lock; a snapshot reads each counter once and is not an atomic cut across
 * kinds, which is all /proc/meminfo promises too.
 */
#ifndef KSENTRY_PLATFORM_MEMACCT_H
#define KSENTRY_PLATFORM_MEMACCT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum memacct_kind {
	MEMACCT_SYSTEM,
	MEMACCT_ANONYMOUS,
	MEMACCT_PAGECACHE,
	MEMACCT_TMPFS,
	MEMACCT_MAPPED,
	MEMACCT_RAMDISKFS,
	MEMACCT_NKINDS,
};

struct memacct {
	_Atomic uint64_t bytes[MEMACCT_NKINDS];
	_Atomic uint64_t peak[MEMACCT_NKINDS]; /* the most bytes[] ever held */
};

/* The peak of @kind so far (ksentry run --stats). */
uint64_t memacct_peak(const struct memacct *a, enum memacct_kind kind);

struct memacct_snapshot {
	uint64_t bytes[MEMACCT_NKINDS];
};

/* The kind's name as ksentry prints it ("Anonymous"), or NULL if invalid. */
const char *memacct_kind_name(enum memacct_kind kind);

void memacct_init(struct memacct *a);

/* Charge @len bytes to @kind.  0, or -EINVAL for an invalid kind or a
 * counter that would overflow (nothing charged then). */
int __attribute__((warn_unused_result)) memacct_inc(struct memacct *a, enum memacct_kind kind,
						    uint64_t len);

/* Uncharge @len bytes from @kind.  0, or -EINVAL for an invalid kind or
 * more than is charged (nothing uncharged then: that is a sentry bug, and
 * it must not wrap the counter).  Callers that uncharge what they charged
 * may ignore the result. */
int memacct_dec(struct memacct *a, enum memacct_kind kind, uint64_t len);

uint64_t memacct_get(const struct memacct *a, enum memacct_kind kind);

void memacct_snapshot(const struct memacct *a, struct memacct_snapshot *out);

/* Bytes held in all kinds; Mapped is not added, it overlaps the others. */
uint64_t memacct_snapshot_total(const struct memacct_snapshot *snap);

/*
 * Write /proc/meminfo-style lines for @snap into @buf (at most @size bytes,
 * always NUL-terminated when @size > 0), with @mem_total as MemTotal.
 * Returns the length the full text needs, like snprintf.
 */
size_t memacct_format_meminfo(const struct memacct_snapshot *snap, uint64_t mem_total, char *buf,
			      size_t size);

#endif

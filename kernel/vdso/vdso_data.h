/*
 * kernel/vdso/vdso_data.h - the page the sentry shares with every
 * process's vDSO: how to turn the TSC into the sandbox's clocks.
 *
 * One page for the whole sandbox, mapped read-only just below the vDSO's
 * code.  The sentry's clock thread rewrites it under a sequence count
 * (odd while it writes); a reader retries when the count moved.  Time is
 *   CLOCK_MONOTONIC = mono_base + ((tsc - tsc_base) * mult >> 32) ns
 * and CLOCK_REALTIME and CLOCK_BOOTTIME add their offsets.  Until the
 * sentry has measured the TSC's rate, VDSO_CLOCK_OK is clear and the
 * vDSO asks the sentry with a syscall.  The sentry answers its own
 * clock_gettime from the same page (vdso_clock_ns), so the two agree.
 *
 * Built into both the guest's vDSO and the sentry: nothing here may
 * need a library.
 */
#ifndef KSENTRY_KERNEL_VDSO_DATA_H
#define KSENTRY_KERNEL_VDSO_DATA_H

#include <stdint.h>

#include "platform/tsc.h"

#define VDSO_CLOCK_OK	   1u /* the TSC fields may be used */
#define VDSO_GETCPU_RDTSCP 2u /* rdtscp's TSC_AUX holds the host cpu (and node << 12) */

enum vdso_clock { VDSO_MONOTONIC, VDSO_REALTIME, VDSO_BOOTTIME };

struct vdso_data {
	uint32_t seq;
	uint32_t flags;
	uint64_t tsc_base;	/* the TSC at the base */
	uint64_t mono_base;	/* CLOCK_MONOTONIC at tsc_base, ns */
	uint64_t mult;		/* ns per TSC tick, 32.32 fixed point */
	int64_t real_offset;	/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	int64_t boot_offset;	/* CLOCK_BOOTTIME - CLOCK_MONOTONIC, ns */
};

/* @clock now, in ns, into *@ns; 0 if the page cannot say yet. */
static inline int vdso_clock_ns(const volatile struct vdso_data *d, enum vdso_clock clock,
				uint64_t *ns)
{
	uint32_t seq;
	uint64_t delta, mono;
	int64_t off;

	do {
		seq = d->seq;
		__asm__ volatile("" ::: "memory");
		if (!(d->flags & VDSO_CLOCK_OK))
			return 0;
		delta = platform_rdtsc() - d->tsc_base;
		/* A TSC a hair behind the base (another CPU): no time went back. */
		if ((int64_t)delta < 0)
			delta = 0;
		mono = d->mono_base + (uint64_t)(((unsigned __int128)delta * d->mult) >> 32);
		off = clock == VDSO_REALTIME ? d->real_offset
		      : clock == VDSO_BOOTTIME ? d->boot_offset
					       : 0;
		__asm__ volatile("" ::: "memory");
	} while ((seq & 1) || seq != d->seq);
	*ns = mono + (uint64_t)off;
	return 1;
}

#endif

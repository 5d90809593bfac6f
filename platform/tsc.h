/*
 * platform/tsc.h - the time stamp counter, read the same way by the
 * sentry, the KVM probe and the guest's vDSO (so: nothing but stdint).
 */
#ifndef KSENTRY_PLATFORM_TSC_H
#define KSENTRY_PLATFORM_TSC_H

#include <stdint.h>

static inline uint64_t platform_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

#endif

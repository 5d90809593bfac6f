/*
 * kernel/vdso/vdso.c - the vDSO every sandboxed process gets
 * (AT_SYSINFO_EHDR): clock_gettime, gettimeofday, time and getcpu
 * without leaving the guest, as Linux's.
 *
 * Guest code, built as its own position-independent shared object with
 * no relocations (vdso.lds); the sentry embeds the image.  It reads the
 * TSC and the sentry's struct vdso_data in the page before its first
 * page, and falls back to the real syscall for what the data cannot
 * answer (other clocks, before calibration).
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/vdso/vdso_data.h"

/* The data page: placed by vdso.lds one page before the image. */
extern const volatile struct vdso_data vdso_data __attribute__((visibility("hidden")));

struct k_timespec {
	int64_t tv_sec, tv_nsec;
};

struct k_timeval {
	int64_t tv_sec, tv_usec;
};

#define NR_GETTIMEOFDAY 96
#define NR_TIME		201
#define NR_CLOCK_GETTIME 228
#define NR_CLOCK_GETRES	229
#define NR_GETCPU	309

#define CLOCK_REALTIME		0
#define CLOCK_MONOTONIC		1
#define CLOCK_REALTIME_COARSE	5
#define CLOCK_MONOTONIC_COARSE	6
#define CLOCK_BOOTTIME		7

static long sys2(long nr, long a, long b)
{
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

static long sys3(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

/* The page's clock for @clock, or -1 for one only the sentry knows. */
static int clock_kind(int clock)
{
	switch (clock) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		return VDSO_REALTIME;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_COARSE:
		return VDSO_MONOTONIC;
	case CLOCK_BOOTTIME:
		return VDSO_BOOTTIME;
	default:
		return -1;
	}
}

int __vdso_clock_gettime(int clock, struct k_timespec *ts)
{
	int kind = clock_kind(clock);
	uint64_t ns;

	if (kind < 0 || !vdso_clock_ns(&vdso_data, (enum vdso_clock)kind, &ns))
		return (int)sys2(NR_CLOCK_GETTIME, clock, (long)ts);
	ts->tv_sec = (int64_t)(ns / 1000000000);
	ts->tv_nsec = (int64_t)(ns % 1000000000);
	return 0;
}

int __vdso_gettimeofday(struct k_timeval *tv, void *tz)
{
	uint64_t ns;

	if (tz || !vdso_clock_ns(&vdso_data, VDSO_REALTIME, &ns))
		return (int)sys2(NR_GETTIMEOFDAY, (long)tv, (long)tz);
	if (tv) {
		tv->tv_sec = (int64_t)(ns / 1000000000);
		tv->tv_usec = (int64_t)(ns % 1000000000 / 1000);
	}
	return 0;
}

int64_t __vdso_time(int64_t *t)
{
	uint64_t ns;
	int64_t s;

	if (!vdso_clock_ns(&vdso_data, VDSO_REALTIME, &ns))
		return sys2(NR_TIME, (long)t, 0);
	s = (int64_t)(ns / 1000000000);
	if (t)
		*t = s;
	return s;
}

int __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
	uint32_t lo, hi, aux;

	if (!(vdso_data.flags & VDSO_GETCPU_RDTSCP))
		return (int)sys3(NR_GETCPU, (long)cpu, (long)node, (long)unused);
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	if (cpu)
		*cpu = aux & 0xfff;
	if (node)
		*node = 0; /* the sandbox is one node, as the syscall says */
	return 0;
}

int __vdso_clock_getres(int clock, struct k_timespec *res)
{
	return (int)sys2(NR_CLOCK_GETRES, clock, (long)res);
}

/* The names Linux's vDSO also gives them. */
int clock_gettime(int, struct k_timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct k_timeval *, void *) __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t *) __attribute__((weak, alias("__vdso_time")));
int getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
int clock_getres(int, struct k_timespec *) __attribute__((weak, alias("__vdso_clock_getres")));

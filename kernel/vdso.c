/*
 * kernel/vdso.c - the sentry's side of the vDSO: the image and its data
 * page in the memory file, lent to every address space through a
 * mappable that never pages, and the clock thread that keeps the page
 * telling the host's time.
 *
 * The clock: the TSC is sampled against the host's CLOCK_MONOTONIC, 10 ms
 * after start (the first rate), then every 100 ms for a second, then
 * every second, each time from the first sample (a longer baseline is a
 * better rate).  Each update starts from where the old line has got to,
 * so the clock never steps back, and aims a little ahead of the host
 * (VDSO_LEAD): a deadline the guest computes from its clock is then
 * never reached early by the host's timers, and file times the host
 * stamps are never after the guest's "now".  If the line has fallen
 * behind the host it steps forward to it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/page.h"
#include "abi/mman.h"
#include "kernel/kernel.h"
#include "kernel/mappable.h"
#include "kernel/mm.h"
#include "kernel/task.h"
#include "kernel/vdso.h"
#include "kernel/vdso/vdso_data.h"
#include "platform/memfile.h"
#include "platform/platform.h"

#define VDSO_LEAD_NS 5000 /* how far ahead of the host the clock aims */

struct vdso {
	struct memfile *mf;
	struct file_range frames; /* the data page, then the image */
	uint64_t text_len;	  /* the image, in whole pages */
	struct vdso_data *d;	  /* the data page, as the sentry sees it */
	bool clock;		  /* the clock thread runs */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC; stop was set */
	bool stop;
	uint64_t tsc0, mono0; /* the first sample: the baseline of the rate */
};

/* --- the mappable: fixed frames, never filled, never written back --- */

static void vdso_nop(void *obj)
{
}

static int vdso_pin(void *obj, uint64_t off, uint64_t len, bool dirty, struct file_range *out)
{
	struct vdso *v = obj;
	uint64_t size = file_range_len(v->frames);

	if (off >= size)
		return -EFAULT;
	if (len > size - off)
		len = size - off;
	*out = file_range_make(v->frames.start + off, v->frames.start + off + len);
	return 0;
}

static int vdso_repin(void *obj, struct file_range fr)
{
	return 0;
}

static void vdso_unpin(void *obj, struct file_range fr)
{
}

static int vdso_fill(void *obj, uint64_t off, uint64_t len)
{
	return 0;
}

static int vdso_writeback(void *obj, uint64_t off, uint64_t len, bool wait)
{
	return 0; /* private mappings only: a write copies the page */
}

static const struct mm_mappable_ops vvar_ops = {
	.get = vdso_nop, .put = vdso_nop, .pin = vdso_pin, .repin = vdso_repin,
	.unpin = vdso_unpin, .fill = vdso_fill, .writeback = vdso_writeback, .name = "[vvar]",
};

static const struct mm_mappable_ops vdso_ops = {
	.get = vdso_nop, .put = vdso_nop, .pin = vdso_pin, .repin = vdso_repin,
	.unpin = vdso_unpin, .fill = vdso_fill, .writeback = vdso_writeback, .name = "[vdso]",
};

int vdso_map(struct task *t, uint64_t *base)
{
	struct vdso *v = t->k->vdso;
	const unsigned flags = MAP_PRIVATE | MAP_FIXED_NOREPLACE;
	int64_t r;

	if (!v)
		return 0; /* no vDSO: no AT_SYSINFO_EHDR, libc makes syscalls */
	r = mm_mmap_file(t->mm, VDSO_DATA_VA, ABI_PAGE_SIZE, PROT_READ, flags, &vvar_ops, v, 0);
	if (r >= 0)
		r = mm_mmap_file(t->mm, VDSO_TEXT_VA, v->text_len, PROT_READ | PROT_EXEC, flags,
				 &vdso_ops, v, ABI_PAGE_SIZE);
	if (r < 0)
		return (int)r;
	/* Every libc reads the image at start and every clock read the
	 * page: map both now, not at two faults (~150 us each on PVM).
	 * Their pins never wait, so this never blocks. */
	if (mm_handle_fault(t->mm, VDSO_DATA_VA, MM_ACCESS_READ) ||
	    mm_handle_fault(t->mm, VDSO_TEXT_VA, MM_ACCESS_READ))
		return -ENOMEM;
	*base = VDSO_TEXT_VA;
	return 0;
}

/* --- the clock --- */

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* The TSC and the host's clocks at one moment: the reading of
 * CLOCK_MONOTONIC that the fewest ticks bracket, out of a few. */
struct sample {
	uint64_t tsc, mono;
	int64_t real_off, boot_off;
};

static struct sample take_sample(void)
{
	struct sample s = {0};
	uint64_t best = UINT64_MAX;
	struct timespec ts;

	for (int i = 0; i < 5; i++) {
		uint64_t t1 = platform_rdtsc(), t2;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		t2 = platform_rdtsc();
		if (t2 - t1 < best) {
			best = t2 - t1;
			s.tsc = t1 + (t2 - t1) / 2;
			s.mono = ts_ns(&ts);
		}
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	s.real_off = (int64_t)(ts_ns(&ts) - s.mono);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	s.boot_off = (int64_t)(ts_ns(&ts) - s.mono);
	return s;
}

static void publish(struct vdso_data *d, uint64_t tsc, uint64_t mono, uint64_t mult,
		    const struct sample *s)
{
	__atomic_store_n(&d->seq, d->seq + 1, __ATOMIC_RELAXED); /* odd: being written */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	d->tsc_base = tsc;
	d->mono_base = mono;
	d->mult = mult;
	d->real_offset = s->real_off;
	d->boot_offset = s->boot_off;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&d->flags, d->flags | VDSO_CLOCK_OK, __ATOMIC_RELAXED);
	__atomic_store_n(&d->seq, d->seq + 1, __ATOMIC_RELEASE);
}

/* A new line from now to the next update, @period_ns away. */
static void update(struct vdso *v, uint64_t period_ns)
{
	struct sample s = take_sample();
	struct vdso_data *d = v->d;
	uint64_t rate, base = s.mono, mult;
	int64_t aim;

	if (s.tsc <= v->tsc0 || s.mono <= v->mono0)
		return; /* no time passed: keep the old line */
	/* ns per tick, 32.32 */
	rate = (uint64_t)(((unsigned __int128)(s.mono - v->mono0) << 32) / (s.tsc - v->tsc0));
	if (d->flags & VDSO_CLOCK_OK) {
		uint64_t at = d->mono_base +
			      (uint64_t)(((unsigned __int128)(s.tsc - d->tsc_base) * d->mult) >> 32);

		if (at > base)
			base = at; /* never back */
	}
	/* Reach the host plus the lead by the next update; slow down by at
	 * most an eighth to get there. */
	aim = (int64_t)(s.mono + VDSO_LEAD_NS - base);
	if (aim < -(int64_t)(period_ns / 8))
		aim = -(int64_t)(period_ns / 8);
	mult = (uint64_t)((unsigned __int128)rate * (uint64_t)((int64_t)period_ns + aim) /
			  period_ns);
	publish(d, s.tsc, base, mult, &s);
}

static void *clock_thread(void *arg)
{
	struct vdso *v = arg;
	struct timespec next;
	uint64_t period = 10000000; /* 10 ms for the first rate */
	int updates = 0;
	struct sample s = take_sample();

	v->tsc0 = s.tsc;
	v->mono0 = s.mono;
	pthread_mutex_lock(&v->lock);
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!v->stop) {
		next.tv_nsec += (long)period;
		while (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		while (!v->stop && pthread_cond_timedwait(&v->cond, &v->lock, &next) != ETIMEDOUT)
			;
		if (v->stop)
			break;
		period = ++updates <= 10 ? 100000000 : 1000000000;
		update(v, period);
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

/* Does the host's TSC tick at one rate, through idle states too? */
static bool host_tsc_steady(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool constant = false, nonstop = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		constant = strstr(line, " constant_tsc") != NULL;
		nonstop = strstr(line, " nonstop_tsc") != NULL;
		break;
	}
	fclose(f);
	return constant && nonstop;
}

int vdso_clock(struct kernel *k, clockid_t clock, struct timespec *ts)
{
	enum vdso_clock which;
	uint64_t ns;

	if (!k->vdso || !k->vdso->clock)
		return 0;
	switch (clock) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		which = VDSO_REALTIME;
		break;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_COARSE:
		which = VDSO_MONOTONIC;
		break;
	case CLOCK_BOOTTIME:
		which = VDSO_BOOTTIME;
		break;
	default:
		return 0;
	}
	if (!vdso_clock_ns(k->vdso->d, which, &ns))
		return 0;
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
	return 1;
}

/* --- setup --- */

int vdso_init(struct kernel *k)
{
	struct vdso *v;
	uint64_t text_len;
	int err;

	if (!abi_page_round_up(vdso_image_len, &text_len) ||
	    VDSO_TEXT_VA + text_len > PLATFORM_USER_END)
		return -E2BIG; /* a build that made a vDSO too big for its place */
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	err = memfile_alloc(k->mf, ABI_PAGE_SIZE + text_len, ABI_PAGE_SIZE, MEMACCT_SYSTEM,
			    &v->frames);
	if (err) {
		free(v);
		return err;
	}
	v->mf = k->mf;
	v->text_len = text_len;
	v->d = memfile_map(k->mf, v->frames);
	memcpy((unsigned char *)v->d + ABI_PAGE_SIZE, vdso_image, vdso_image_len);
	pthread_mutex_init(&v->lock, NULL);
	task_cond_init(&v->cond);
	/* getcpu without an exit: rdtscp in the guest gives what the getcpu
	 * syscall would (sched_getcpu() of the vCPU's thread). */
	if (k->platform && k->platform->getcpu_host)
		v->d->flags |= VDSO_GETCPU_RDTSCP;
	/* Without a steady TSC that the guest reads as the host does, the
	 * page stays without VDSO_CLOCK_OK: every call is a syscall. */
	if (k->platform && k->platform->tsc_host && host_tsc_steady())
		v->clock = pthread_create(&v->thread, NULL, clock_thread, v) == 0;
	k->vdso = v;
	return 0;
}

void vdso_destroy(struct kernel *k)
{
	struct vdso *v = k->vdso;

	if (!v)
		return;
	if (v->clock) {
		pthread_mutex_lock(&v->lock);
		v->stop = true;
		pthread_cond_broadcast(&v->cond);
		pthread_mutex_unlock(&v->lock);
		pthread_join(v->thread, NULL);
	}
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	memfile_free(v->mf, v->frames);
	free(v);
	k->vdso = NULL;
}

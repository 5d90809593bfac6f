/*
 * kernel/vdso.h - the vDSO: a small shared object mapped into every
 * process (AT_SYSINFO_EHDR), so that clock_gettime, gettimeofday and
 * time are answered in the guest without a VM exit, from a page the
 * sentry keeps current (kernel/vdso/vdso_data.h).
 *
 * Where the guest's TSC is not the host's (hardware KVM offsets it) the
 * page never says VDSO_CLOCK_OK and every call falls back to the real
 * syscall: slower, never wrong.
 */
#ifndef KSENTRY_KERNEL_VDSO_H
#define KSENTRY_KERNEL_VDSO_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The image, generated at build time (kernel/vdso/embed.py). */
extern const unsigned char vdso_image[];
extern const size_t vdso_image_len;

/* Where it goes: its data page, then the image, above the stack. */
#define VDSO_DATA_VA UINT64_C(0x00007ffffffe0000)
#define VDSO_TEXT_VA (VDSO_DATA_VA + 4096)

struct kernel;
struct task;

/* Copy the image into the memory file and, if the platform's guest TSC
 * is the host's and the host's TSC is steady, start the clock thread.
 * 0 or -errno. */
int vdso_init(struct kernel *k);
void vdso_destroy(struct kernel *k);

/* Map the data page and the image into @t's new address space; the
 * image's address (AT_SYSINFO_EHDR) into *@base.  0 or -errno. */
int vdso_map(struct task *t, uint64_t *base);

/* The sandbox's @clock (REALTIME, MONOTONIC or BOOTTIME and their
 * coarse forms) as the vDSO tells it, so that the syscall and the vDSO
 * agree.  0 if the page cannot say: ask the host. */
int vdso_clock(struct kernel *k, clockid_t clock, struct timespec *ts);

#endif

/*
 * kernel/kernel.h - the sentry: one per sandbox.
 *
 * struct kernel holds what every task of a sandbox shares: the memory file
 * and its accounting, the execution platform, the host's stdio (which the
 * guest sees as fds 0-2 until the VFS lands), and the options that change
 * how syscalls are reported (--strace).  It outlives every task.
 */
#ifndef KSENTRY_KERNEL_KERNEL_H
#define KSENTRY_KERNEL_KERNEL_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "platform/memacct.h"
#include "platform/memfile.h"
#include "platform/platform.h"

struct kernel {
	struct memfile *mf;
	struct memacct *acct;
	struct platform *platform;
	int host_stdio[3];  /* host fds behind guest fds 0, 1, 2 */
	FILE *strace;       /* where --strace lines go, or NULL */
	struct timespec boot_time; /* CLOCK_MONOTONIC at start, for uptime */
};

#endif

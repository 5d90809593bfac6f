/*
 * vmm/selfcheck.h - `ksentry selfcheck`: prove the platform layer works on
 * this host (memory file, hole punching, accounting, frame references) and
 * say what KVM this host offers.
 */
#ifndef KSENTRY_VMM_SELFCHECK_H
#define KSENTRY_VMM_SELFCHECK_H

#include <stdio.h>

/* Run every check, reporting to @out.  Returns 0 if all passed, else the
 * negative errno of the first failure. */
int selfcheck_run(FILE *out);

#endif

/*
 * vmm/run.h - `ksentry run`.
 */
#ifndef KSENTRY_VMM_RUN_H
#define KSENTRY_VMM_RUN_H

#include <stdbool.h>

#include "platform/memfile.h"
#include "platform/platform.h"

/*
 * Make the execution platform @name names: "kvm", "ptrace", or "auto"
 * (KVM where it works, else ptrace; @debug says why on stderr).  Errors
 * are printed.  0 or a negative errno.
 */
int run_make_platform(const char *name, bool debug, struct memfile *mf, struct platform **out);

/* Run the command; @argv[0] is "run".  Returns the process exit status. */
int run_main(int argc, char **argv);

#endif

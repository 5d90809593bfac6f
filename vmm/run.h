/*
 * vmm/run.h - `ksentry run`.
 */
#ifndef KSENTRY_VMM_RUN_H
#define KSENTRY_VMM_RUN_H

/* Run the command; @argv[0] is "run".  Returns the process exit status. */
int run_main(int argc, char **argv);

#endif

/*
 * vmm/bench.h - `ksentry bench ...`: benchmarks are programs, not timed
 * tests.  Each prints a table of medians with its spread and the command
 * that reproduces it.
 */
#ifndef KSENTRY_VMM_BENCH_H
#define KSENTRY_VMM_BENCH_H

/* `ksentry bench segset [--quick]`.  Returns a process exit status. */
int bench_segset_main(int argc, char **argv);

/* `ksentry bench syscall [--quick]`: syscall and fault costs beside the
 * platform's floor and native Linux. */
int bench_syscall_main(int argc, char **argv);

/* `ksentry bench fuse [...]`: the same FUSE server and workload in the
 * sandbox and on native Linux FUSE. */
int bench_fuse_main(int argc, char **argv);

/* Run @argv, its stdout into @out (@size bytes, NUL-terminated).
 * Returns its exit status, or -1. */
int bench_run_capture(char *const argv[], char *out, size_t size);

/* `ksentry bench startup [--runs N]`: `ksentry run /bin/true`, timed. */
int bench_startup_main(int argc, char **argv);

#endif

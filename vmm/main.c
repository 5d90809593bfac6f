/*
 * vmm/main.c - the ksentry command line.
 *
 * ksentry is one executable with subcommands, like git:
 *   ksentry run ...       run a program in the sandbox
 *   ksentry syscalls      list the syscall table (--markdown for the docs)
 *   ksentry selfcheck     exercise the platform layer on this host
 *   ksentry bench NAME    run a benchmark (syscall, fuse, segset)
 *   ksentry --version
 * Commands that are not built yet are not listed and not accepted.
 */
#include <stdio.h>
#include <string.h>

#include "kernel/syscall.h"
#include "vmm/bench.h"
#include "vmm/run.h"
#include "vmm/selfcheck.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: ksentry [--version] [--help] COMMAND [ARGS...]\n"
		     "\n"
		     "commands:\n"
		     "  run         run a static x86-64 Linux program in the sandbox (run --help)\n"
		     "  syscalls    list the implemented syscalls (--markdown: as docs/syscalls.md)\n"
		     "  selfcheck   check the platform layer (memory file, accounting) on this host\n"
		     "  bench NAME  run a benchmark: syscall, fuse, startup, segset\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ksentry %s\n", KSENTRY_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return run_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "syscalls")) {
		syscall_print_markdown(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "selfcheck"))
		return selfcheck_run(stdout) ? 1 : 0;
	if (!strcmp(argv[1], "bench") && argc >= 3 && !strcmp(argv[2], "segset"))
		return bench_segset_main(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bench") && argc >= 3 && !strcmp(argv[2], "syscall"))
		return bench_syscall_main(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bench") && argc >= 3 && !strcmp(argv[2], "startup"))
		return bench_startup_main(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bench") && argc >= 3 && !strcmp(argv[2], "fuse"))
		return bench_fuse_main(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bench")) {
		fprintf(stderr, "ksentry bench: name a benchmark: syscall, fuse, startup, segset\n");
		return 2;
	}
	fprintf(stderr, "ksentry: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

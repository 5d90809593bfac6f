/*
 * The ptrace platform, driven directly: hand-assembled guest code in the
 * memory file, mapped into a stub, run until it traps.  Checks the three
 * kinds of trap, that mappings come and go, and that the stub process
 * holds nothing of the host: one fd (the memory file), no mapping but the
 * stub page, guest memory and [vsyscall].
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "abi/mman.h"
#include "vmm/ptrace.h"

#define CODE_VA 0x400000ULL
#define DATA_VA 0x500000ULL
#define PG      ABI_PAGE_SIZE

static struct memacct macct;
static struct memfile mf;
static struct platform *plat;
static struct platform_as *as;
static struct platform_context *ctx;
static struct file_range code_fr, data_fr;

static void setup(void)
{
	memacct_init(&macct);
	cr_assert_eq(memfile_init(&mf, 16 << 20, &macct), 0);
	cr_assert_eq(ptrace_platform_create(&mf, &plat), 0);
	cr_assert_eq(plat->ops->new_address_space(plat, &as), 0);
	cr_assert_eq(plat->ops->new_context(plat, as, &ctx), 0);
	cr_assert_eq(memfile_alloc(&mf, PG, PG, MEMACCT_ANONYMOUS, &code_fr), 0);
	cr_assert_eq(memfile_alloc(&mf, PG, PG, MEMACCT_ANONYMOUS, &data_fr), 0);
}

static void teardown(void)
{
	ctx->ops->destroy(ctx);
	as->ops->destroy(as);
	plat->ops->destroy(plat);
	memfile_destroy(&mf);
}

TestSuite(ptrace_platform, .init = setup, .fini = teardown);

static void load_code(const unsigned char *code, size_t len)
{
	memcpy(memfile_map(&mf, code_fr), code, len);
	cr_assert_eq(as->ops->map(as, CODE_VA, code_fr, PROT_READ | PROT_EXEC), 0);
}

static struct abi_regs start_regs(void)
{
	struct abi_regs r;

	memset(&r, 0, sizeof(r));
	r.rip = CODE_VA;
	r.eflags = ABI_EFLAGS_IF;
	return r;
}

Test(ptrace_platform, syscalls_trap_with_number_and_args)
{
	/* mov $39,%eax; mov $7,%edi; syscall; mov %rax,%rsi; mov $60,%eax; syscall */
	static const unsigned char code[] = {0xb8, 39, 0, 0, 0, 0xbf, 7, 0, 0, 0, 0x0f, 0x05,
					     0x48, 0x89, 0xc6, 0xb8, 60, 0, 0, 0, 0x0f, 0x05};
	struct abi_regs r = start_regs();
	struct platform_trap trap;

	load_code(code, sizeof(code));
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_SYSCALL);
	cr_assert_eq(r.orig_rax, 39);
	cr_assert_eq(r.rdi, 7);
	cr_assert_eq(r.rip, CODE_VA + 12, "rip is past the syscall");
	r.rax = 4242; /* the sentry's result */
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_SYSCALL);
	cr_assert_eq(r.orig_rax, 60);
	cr_assert_eq(r.rsi, 4242, "the guest saw our result");
}

Test(ptrace_platform, faults_report_the_address_and_resume)
{
	/* mov 0x500010,%eax; mov $60,%edi... : load from DATA_VA+16, then syscall */
	static const unsigned char code[] = {0x8b, 0x04, 0x25, 0x10, 0x00, 0x50, 0x00,
					     0x89, 0xc7, 0x0f, 0x05};
	struct abi_regs r = start_regs();
	struct platform_trap trap;

	load_code(code, sizeof(code));
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_FAULT);
	cr_assert_eq(trap.addr, DATA_VA + 16);
	cr_assert_eq(trap.code, SEGV_MAPERR);
	cr_assert_eq(r.rip, CODE_VA, "rip still at the faulting load");
	*(uint32_t *)((char *)memfile_map(&mf, data_fr) + 16) = 0xabcd;
	cr_assert_eq(as->ops->map(as, DATA_VA, data_fr, PROT_READ), 0);
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_SYSCALL);
	cr_assert_eq(r.rdi, 0xabcd, "the load read the frame we mapped");
}

Test(ptrace_platform, write_to_read_only_is_accerr)
{
	/* movl $1, 0x500000 */
	static const unsigned char code[] = {0xc7, 0x04, 0x25, 0x00, 0x00, 0x50, 0x00, 1, 0, 0, 0};
	struct abi_regs r = start_regs();
	struct platform_trap trap;

	load_code(code, sizeof(code));
	cr_assert_eq(as->ops->map(as, DATA_VA, data_fr, PROT_READ), 0);
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_FAULT);
	cr_assert_eq(trap.code, SEGV_ACCERR);
	as->ops->unmap(as, DATA_VA, PG);
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.code, SEGV_MAPERR, "unmapped now");
}

Test(ptrace_platform, exceptions_map_to_signals)
{
	static const unsigned char ud2[] = {0x0f, 0x0b};
	static const unsigned char hlt[] = {0xf4};
	struct abi_regs r = start_regs();
	struct platform_trap trap;

	load_code(ud2, sizeof(ud2));
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_EXCEPTION);
	cr_assert_eq(trap.signo, SIGILL);
	memcpy(memfile_map(&mf, code_fr), hlt, sizeof(hlt));
	r = start_regs();
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_EXCEPTION);
	cr_assert_eq(trap.signo, SIGSEGV, "privileged instruction");
}

Test(ptrace_platform, hostile_registers_are_contained)
{
	/* Guest picks a kernel cs and a non-canonical rip: it must not get
	 * ring 0, and the host must not crash. */
	struct abi_regs r = start_regs();
	struct platform_trap trap;

	r.cs = 0x10;
	r.rip = 0x0000800000000000ULL;
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind == PLATFORM_TRAP_FAULT || trap.kind == PLATFORM_TRAP_EXCEPTION, 1);
	cr_assert_eq(trap.signo, SIGSEGV);
	cr_assert_eq(r.cs, 0x33, "still user mode");
}

/* The stub's pid: the only child of this process. */
static int stub_pid(void)
{
	char path[64], line[256];
	FILE *f;
	int pid = -1;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)gettid());
	f = fopen(path, "r");
	cr_assert_not_null(f);
	if (fgets(line, sizeof(line), f))
		pid = atoi(line);
	fclose(f);
	return pid;
}

Test(ptrace_platform, stub_holds_nothing_of_the_host)
{
	char path[64], line[512];
	int pid = stub_pid(), nfds = 0, nmaps = 0;
	struct dirent *d;
	FILE *f;
	DIR *dir;

	cr_assert_gt(pid, 0);
	cr_assert_eq(as->ops->map(as, DATA_VA, data_fr, PROT_READ), 0);
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	cr_assert_not_null(dir);
	while ((d = readdir(dir)))
		nfds += d->d_name[0] != '.';
	closedir(dir);
	cr_assert_eq(nfds, 1, "only the memory file");

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long start = strtoul(line, NULL, 16);

		nmaps++;
		cr_assert(start == DATA_VA || start == PTRACE_STUB_ADDR ||
				  strstr(line, "[vsyscall]"),
			  "unexpected mapping in the stub: %s", line);
	}
	fclose(f);
	cr_assert_eq(nmaps, 3);
}

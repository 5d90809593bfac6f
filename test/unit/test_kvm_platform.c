/*
 * The KVM platform, driven directly: guest code (assembled below) in the
 * memory file, run in ring 3 of a real KVM vCPU until it traps.
 *
 * Beyond the three kinds of trap, these check what only a VMM can get
 * wrong: that a translation the sentry removes or weakens is gone from
 * KVM's MMU at once (shadow paging caches it otherwise), that table
 * frames are not reused while KVM may still cache them, that registers
 * the guest chose never reach ring 0 unchecked, and that a vCPU taken
 * from the pool carries nothing of the task before.
 *
 * Needs /dev/kvm: without it the program says so and exits 77 (skipped).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "abi/mman.h"
#include "vmm/kvm.h"
#include "vmm/kvm_layout.h"

#define CODE_VA 0x400000ULL
#define DATA_VA 0x500000ULL
#define FAR_VA	0x40000000ULL /* its own page table, far from the others */
#define PG	ABI_PAGE_SIZE

/* Guest snippets.  Each ends by trapping; none refers to its own section. */
__asm__(".pushsection .rodata\n"
	/* getpid(7), then report the result in rsi with syscall 60 */
	"g_syscall: mov $39, %eax; mov $7, %edi; syscall; mov %rax, %rsi;"
	"  mov $60, %eax; syscall\n"
	"g_syscall_end:\n"
	/* load DATA_VA into rdi, syscall, again, syscall */
	"g_load2: mov 0x500000, %edi; mov $1, %eax; syscall;"
	"  mov 0x500000, %edi; mov $2, %eax; syscall\n"
	"g_load2_end:\n"
	/* store 1 to DATA_VA, syscall, store again, syscall */
	"g_store2: movl $1, 0x500000; mov $1, %eax; syscall;"
	"  movl $2, 0x500000; mov $2, %eax; syscall\n"
	"g_store2_end:\n"
	"g_spin: jmp g_spin\n"
	"g_spin_end:\n"
	"g_ud2: ud2; mov $3, %eax; syscall\n"
	"g_ud2_end:\n"
	"g_cli: cli; mov $3, %eax; syscall\n"
	"g_cli_end:\n"
	/* load FAR_VA, syscall */
	"g_far: mov 0x40000000, %edi; mov $1, %eax; syscall\n"
	"g_far_end:\n"
	"g_xmm_set: mov $0x1234, %eax; movq %rax, %xmm0; mov $1, %eax; syscall\n"
	"g_xmm_set_end:\n"
	"g_xmm_get: movq %xmm0, %rdi; mov $1, %eax; syscall\n"
	"g_xmm_get_end:\n"
	"g_fs: mov %fs:8, %edi; mov $1, %eax; syscall\n"
	"g_fs_end:\n"
	"g_doorbell: mov $0x7fffffff1000, %rcx; movb $1, (%rcx); mov $1, %eax; syscall\n"
	"g_doorbell_end:\n"
	"g_tramp: movabs 0xffffff8000002000, %rax; mov $1, %eax; syscall\n"
	"g_tramp_end:\n"
	".popsection");

#define SNIPPET(name) extern const unsigned char name[], name##_end[]
SNIPPET(g_syscall);
SNIPPET(g_load2);
SNIPPET(g_store2);
SNIPPET(g_spin);
SNIPPET(g_ud2);
SNIPPET(g_cli);
SNIPPET(g_far);
SNIPPET(g_xmm_set);
SNIPPET(g_xmm_get);
SNIPPET(g_fs);
SNIPPET(g_doorbell);
SNIPPET(g_tramp);

static struct memacct macct;
static struct memfile mf;
static struct platform *plat;
static struct platform_as *as;
static struct platform_context *ctx;
static struct file_range code_fr, data_fr, other_fr;

static void setup(void)
{
	char why[256];

	memacct_init(&macct);
	cr_assert_eq(memfile_init(&mf, 64 << 20, &macct), 0);
	cr_assert_eq(kvm_platform_create(&mf, &plat, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(plat->ops->new_address_space(plat, &as), 0);
	cr_assert_eq(plat->ops->new_context(plat, as, &ctx), 0);
	cr_assert_eq(memfile_alloc(&mf, PG, PG, MEMACCT_ANONYMOUS, &code_fr), 0);
	cr_assert_eq(memfile_alloc(&mf, PG, PG, MEMACCT_ANONYMOUS, &data_fr), 0);
	cr_assert_eq(memfile_alloc(&mf, PG, PG, MEMACCT_ANONYMOUS, &other_fr), 0);
}

static void teardown(void)
{
	if (ctx)
		ctx->ops->destroy(ctx);
	as->ops->destroy(as);
	plat->ops->destroy(plat);
	memfile_destroy(&mf);
}

TestSuite(kvm_platform, .init = setup, .fini = teardown);

static void load(const unsigned char *start, const unsigned char *end)
{
	memcpy(memfile_map(&mf, code_fr), start, (size_t)(end - start));
	cr_assert_eq(as->ops->map(as, CODE_VA, code_fr, PROT_READ | PROT_EXEC), 0);
}
#define LOAD(name) load(name, name##_end)

static struct abi_regs start_regs(void)
{
	struct abi_regs r;

	memset(&r, 0, sizeof(r));
	r.rip = CODE_VA;
	r.eflags = ABI_EFLAGS_IF;
	return r;
}

static uint32_t *word(struct file_range fr)
{
	return memfile_map(&mf, fr);
}

/* Run and expect a syscall trap with number @nr. */
static void run_to_syscall(struct abi_regs *r, uint64_t nr)
{
	struct platform_trap trap;

	cr_assert_eq(ctx->ops->run(ctx, r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_SYSCALL, "trap kind %d signo %d addr %#lx",
		     trap.kind, trap.signo, (unsigned long)trap.addr);
	cr_assert_eq(r->orig_rax, nr);
}

static void run_to_fault(struct abi_regs *r, uint64_t addr, int code)
{
	struct platform_trap trap;

	cr_assert_eq(ctx->ops->run(ctx, r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_FAULT, "trap kind %d", trap.kind);
	cr_assert_eq(trap.addr, addr);
	cr_assert_eq(trap.code, code);
}

Test(kvm_platform, probe_names_the_kind_of_kvm)
{
	enum kvm_mode m = kvm_platform_mode(plat);

	cr_assert(m == KVM_MODE_PVM || m == KVM_MODE_HARDWARE);
	cr_assert_not_null(strstr(plat->description, m == KVM_MODE_PVM ? "PVM" : "hardware"));
}

Test(kvm_platform, syscalls_trap_with_number_args_and_return)
{
	struct abi_regs r = start_regs();

	LOAD(g_syscall);
	run_to_syscall(&r, 39);
	cr_assert_eq(r.rdi, 7);
	cr_assert_eq(r.rip, CODE_VA + 12, "rip is past the syscall");
	cr_assert_eq(r.rcx, r.rip, "rcx holds the return address, as on Linux");
	cr_assert_eq(r.cs, KVM_USER_CS);
	r.rax = 4242;
	run_to_syscall(&r, 60);
	cr_assert_eq(r.rsi, 4242, "the guest saw our result");
}

Test(kvm_platform, faults_report_the_address_and_resume_with_our_registers)
{
	struct abi_regs r = start_regs();

	LOAD(g_load2);
	run_to_fault(&r, DATA_VA, SEGV_MAPERR);
	cr_assert_eq(r.rip, CODE_VA, "rip still at the faulting load");
	*word(data_fr) = 0xabcd;
	cr_assert_eq(as->ops->map(as, DATA_VA, data_fr, PROT_READ), 0);
	r.r12 = 77; /* set while the vCPU waits in ring 0 */
	run_to_syscall(&r, 1);
	cr_assert_eq(r.rdi, 0xabcd, "the load read the frame we mapped");
	cr_assert_eq(r.r12, 77, "registers set during a fault reach the guest");
}

/*
 * The hazard of host-written page tables under shadow paging: KVM keeps
 * the translation it built until told.  The frame stays allocated (no
 * hole punch to help), so only the platform's own shootdown can save us.
 */
Test(kvm_platform, an_unmapped_page_faults_at_once)
{
	struct abi_regs r = start_regs();

	LOAD(g_load2);
	*word(data_fr) = 5;
	cr_assert_eq(as->ops->map(as, DATA_VA, data_fr, PROT_READ), 0);
	run_to_syscall(&r, 1);
	cr_assert_eq(r.rdi, 5, "KVM has built the translation now");
	as->ops->unmap(as, DATA_VA, PG);
	run_to_fault(&r, DATA_VA, SEGV_MAPERR);
}

Test(kvm_platform, a_remapped_page_shows_the_new_frame)
{
	struct abi_regs r = start_regs();

	LOAD(g_load2);
	*word(data_fr) = 5;
	*word(other_fr) = 6;
	cr_assert_eq(as->ops->map(as, DATA_VA, data_fr, PROT_READ), 0);
	run_to_syscall(&r, 1);
	cr_assert_eq(r.rdi, 5);
	cr_assert_eq(as->ops->map(as, DATA_VA, other_fr, PROT_READ), 0);
	run_to_syscall(&r, 2);
	cr_assert_eq(r.rdi, 6, "not the old frame");
}

Test(kvm_platform, a_write_protected_page_refuses_writes_at_once)
{
	struct abi_regs r = start_regs();

	LOAD(g_store2);
	cr_assert_eq(as->ops->map(as, DATA_VA, data_fr, PROT_READ | PROT_WRITE), 0);
	run_to_syscall(&r, 1);
	cr_assert_eq(*word(data_fr), 1);
	/* mprotect(PROT_READ), as the mm does it */
	as->ops->unmap(as, DATA_VA, PG);
	cr_assert_eq(as->ops->map(as, DATA_VA, data_fr, PROT_READ), 0);
	run_to_fault(&r, DATA_VA, SEGV_ACCERR);
	cr_assert_eq(*word(data_fr), 1, "the second store did not land");
}

/*
 * A table frame that leaves use is quarantined until KVM's MMU is reset,
 * never handed out again while KVM may hold a shadow of it.  Address
 * spaces that come and go fill the quarantine; the reset must then
 * happen, and guests must still run right after it.
 */
Test(kvm_platform, retired_tables_wait_for_an_mmu_reset)
{
	struct abi_regs r;
	unsigned long before = kvm_platform_resets(plat);
	uint64_t allocated = memfile_allocated(&mf);

	for (int i = 0; i < 100; i++) {
		struct platform_as *a;

		cr_assert_eq(plat->ops->new_address_space(plat, &a), 0);
		cr_assert_eq(a->ops->map(a, FAR_VA, data_fr, PROT_READ), 0);
		a->ops->unmap(a, FAR_VA, PG); /* retires its PT and PD */
		a->ops->destroy(a);
	}
	cr_assert_gt(kvm_platform_resets(plat), before, "the quarantine was flushed");
	cr_assert_lt(memfile_allocated(&mf), allocated + 256 * PG + 64 * PG,
		     "quarantined frames are freed by the reset");

	LOAD(g_far);
	*word(data_fr) = 9;
	cr_assert_eq(as->ops->map(as, FAR_VA, data_fr, PROT_READ), 0);
	r = start_regs();
	run_to_syscall(&r, 1);
	cr_assert_eq(r.rdi, 9);
	as->ops->unmap(as, FAR_VA, PG);
	r = start_regs();
	run_to_fault(&r, FAR_VA, SEGV_MAPERR);
}

Test(kvm_platform, exceptions_map_to_signals_and_can_be_stepped_over)
{
	struct abi_regs r = start_regs();
	struct platform_trap trap;

	LOAD(g_ud2);
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_EXCEPTION);
	cr_assert_eq(trap.signo, SIGILL);
	cr_assert_eq(r.rip, CODE_VA);
	r.rip += 2; /* what a SIGILL handler might do: the frame is ours to set */
	run_to_syscall(&r, 3);
}

Test(kvm_platform, guest_chosen_flags_and_rip_are_contained)
{
	struct abi_regs r = start_regs();
	struct platform_trap trap;

	LOAD(g_cli);
	r.eflags = 0x3202; /* IOPL 3 would allow cli */
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_EXCEPTION);
	cr_assert_eq(trap.signo, SIGSEGV, "cli is still privileged");

	r = start_regs();
	r.rip = 0x0000800000000000ULL; /* not canonical */
	r.cs = 0x10;
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.signo, SIGSEGV);
	r.rip = KVM_CODE_VA; /* the trampoline */
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.signo, SIGSEGV);
}

Test(kvm_platform, the_trampoline_and_the_doorbell_are_out_of_reach)
{
	struct abi_regs r = start_regs();
	struct platform_trap trap;

	LOAD(g_tramp);
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_FAULT);
	cr_assert_eq(trap.code, SEGV_ACCERR, "present, but ring 0 only");
	cr_assert_eq(trap.addr, KVM_CODE_VA);

	LOAD(g_doorbell);
	r = start_regs();
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_FAULT);
	cr_assert_eq(trap.signo, SIGSEGV);
}

Test(kvm_platform, fs_base_reaches_the_guest)
{
	struct abi_regs r = start_regs();

	LOAD(g_fs);
	word(data_fr)[2] = 0x5151;
	cr_assert_eq(as->ops->map(as, DATA_VA, data_fr, PROT_READ), 0);
	r.fs_base = DATA_VA;
	run_to_syscall(&r, 1);
	cr_assert_eq(r.rdi, 0x5151);
	cr_assert_eq(r.fs_base, DATA_VA);
}

Test(kvm_platform, a_pooled_vcpu_keeps_nothing_of_its_last_task)
{
	struct abi_regs r = start_regs();

	LOAD(g_xmm_set);
	run_to_syscall(&r, 1);
	ctx->ops->destroy(ctx);
	cr_assert_eq(plat->ops->new_context(plat, as, &ctx), 0); /* the same vCPU, reused */
	LOAD(g_xmm_get);
	r = start_regs();
	r.rdi = 99;
	run_to_syscall(&r, 1);
	cr_assert_eq(r.rdi, 0, "xmm0 was reset");
}

struct kicker {
	struct platform_context *ctx;
	int delay_ms;
};

static void *kick_later(void *arg)
{
	struct kicker *k = arg;
	struct timespec ts = {0, k->delay_ms * 1000000L};

	nanosleep(&ts, NULL);
	k->ctx->ops->kick(k->ctx);
	return NULL;
}

Test(kvm_platform, a_spinning_guest_is_kicked_out)
{
	struct abi_regs r = start_regs();
	struct platform_trap trap;
	struct kicker k = {ctx, 30};
	pthread_t th;

	LOAD(g_spin);
	cr_assert_eq(pthread_create(&th, NULL, kick_later, &k), 0);
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	pthread_join(th, NULL);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_KICKED);
	cr_assert_eq(r.rip, CODE_VA, "stopped in the loop");

	/* A kick while not running is kept for the next run. */
	ctx->ops->kick(ctx);
	cr_assert_eq(ctx->ops->run(ctx, &r, &trap), 0);
	cr_assert_eq(trap.kind, PLATFORM_TRAP_KICKED);
	LOAD(g_syscall);
	r = start_regs();
	run_to_syscall(&r, 39);
}

int main(int argc, char *argv[])
{
	struct criterion_test_set *tests;
	int result = 0;

	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("SKIP: the KVM platform tests need /dev/kvm, which this host lacks\n");
		return 77;
	}
	tests = criterion_initialize();
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}

/*
 * test/unit/test_kvm_logic.c - the KVM platform's decisions that need no
 * /dev/kvm: which capabilities it asks for and how it names a missing
 * one, and when hardware KVM may return from a syscall with sysretq.
 * The hardware path cannot run on these machines (PVM); this is what of
 * it can be tested anyway.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "abi/regs.h"
#include "vmm/kvm.h"

/* A KVM that has every capability but @arg's. */
static int has_all_but(long cap, void *arg)
{
	return cap == *(long *)arg ? 0 : 1;
}

Test(kvm_logic, every_needed_capability_is_named_when_missing)
{
	int n = 0;

	for (const struct kvm_cap_need *c = kvm_caps_needed; c->name; c++, n++) {
		char why[200] = "";

		cr_assert_eq(kvm_missing_cap(has_all_but, (void *)&c->cap, why, sizeof(why)), -ENOTSUP,
			     "%s missing", c->name);
		cr_assert(strstr(why, c->name), "the reason names %s: %s", c->name, why);
		cr_assert(strstr(why, c->use), "and says what it is for: %s", why);
	}
	cr_assert_geq(n, 6, "USER_MEMORY, SYNC_REGS, IMMEDIATE_EXIT, EXT_CPUID, XSAVE, XCRS");
}

Test(kvm_logic, the_platforms_capabilities_are_asked_for)
{
	static const long want[] = {KVM_CAP_SYNC_REGS, KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_XSAVE,
				    KVM_CAP_XCRS, KVM_CAP_EXT_CPUID, KVM_CAP_USER_MEMORY};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;

		for (const struct kvm_cap_need *c = kvm_caps_needed; c->name; c++)
			found |= c->cap == want[i];
		cr_assert(found, "capability %ld is checked", want[i]);
	}
}

Test(kvm_logic, a_kvm_with_everything_passes)
{
	long none = -1;
	char why[200] = "unchanged";

	cr_assert_eq(kvm_missing_cap(has_all_but, &none, why, sizeof(why)), 0);
	cr_assert_str_eq(why, "unchanged");
}

/* A syscall's return as the CPU left it: rcx = rip, r11 = rflags. */
static struct abi_regs plain_return(uint64_t rip)
{
	return (struct abi_regs){.rip = rip, .rcx = rip, .eflags = 0x246, .r11 = 0x246};
}

Test(kvm_logic, sysret_only_to_where_the_cpu_said)
{
	const uint64_t at = 0x401234;
	struct abi_regs r = plain_return(at);

	cr_assert(kvm_sysret_ok(&r, at), "the plain return");
	/* A signal frame, rt_sigreturn or exec: the rip is chosen. */
	r = plain_return(0x402000);
	cr_assert(!kvm_sysret_ok(&r, at), "a rip that is not the CPU's: iretq");
	/* rt_sigreturn restoring rcx == rip == the old return, r11 changed. */
	r = plain_return(at);
	r.r11 = 0x202;
	cr_assert(!kvm_sysret_ok(&r, at), "rflags not in r11: iretq");
	r = plain_return(at);
	r.rcx = at + 1;
	cr_assert(!kvm_sysret_ok(&r, at), "rcx not the rip: iretq");
}

Test(kvm_logic, sysret_never_to_a_non_canonical_or_kernel_address)
{
	static const uint64_t bad[] = {0x0000800000000000ULL, 0x8000000000001000ULL,
				       0xffff800000000000ULL, 0xffffff8000002000ULL,
				       0x00007fffffffffffULL + 1};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct abi_regs r = plain_return(bad[i]);

		/* Even if the CPU's rcx said so (it cannot): the Intel sysret
		 * to a non-canonical rcx faults in ring 0. */
		cr_assert(!kvm_sysret_ok(&r, bad[i]), "%#lx", (unsigned long)bad[i]);
	}
}

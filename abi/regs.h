/*
 * abi/regs.h - x86-64 user registers, in the layout of Linux's
 * struct user_regs_struct (what ptrace and core dumps use).
 *
 * The sentry keeps each task's registers in this form whatever the
 * platform: a syscall trap leaves the syscall number in orig_rax and the
 * sentry writes the result to rax.
 */
#ifndef KSENTRY_ABI_REGS_H
#define KSENTRY_ABI_REGS_H

#include <stdint.h>

struct abi_regs {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi, orig_rax;
	uint64_t rip, cs, eflags, rsp, ss;
	uint64_t fs_base, gs_base, ds, es, fs, gs;
};

_Static_assert(sizeof(struct abi_regs) == 27 * 8, "user_regs_struct layout");

#define ABI_USER_CS 0x33 /* 64-bit user code segment selector */
#define ABI_USER_SS 0x2b
#define ABI_EFLAGS_IF 0x200

/* Is @addr canonical with 48-bit virtual addresses? */
static inline int abi_canonical(uint64_t addr)
{
	return (uint64_t)((int64_t)(addr << 16) >> 16) == addr;
}

#endif

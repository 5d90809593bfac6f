/*
 * kernel/exec_stack.h - the initial stack of a new program.
 *
 * The x86-64 System V ABI fixes what a program finds at %rsp on entry:
 * argc, argv pointers and NULL, envp pointers and NULL, then auxiliary
 * vector pairs ended by AT_NULL, with the strings and the AT_RANDOM bytes
 * above them.  exec_stack_build() lays this out in a host buffer that
 * stands for the top of the guest's stack, with every pointer already a
 * guest address, so the caller copies it out in one go.
 */
#ifndef KSENTRY_KERNEL_EXEC_STACK_H
#define KSENTRY_KERNEL_EXEC_STACK_H

#include <stddef.h>
#include <stdint.h>

struct exec_stack_args {
	const char *const *argv; /* NULL-terminated; may be empty */
	const char *const *envp; /* NULL-terminated; may be empty */
	const char *execfn;      /* AT_EXECFN */
	/* Caller's auxv pairs; the builder adds AT_RANDOM, AT_EXECFN,
	 * AT_PLATFORM and AT_NULL, which point into the stack. */
	const uint64_t (*auxv)[2];
	size_t nauxv;
	uint8_t random[16]; /* AT_RANDOM's bytes */
};

/*
 * Build the stack image in @buf, whose last byte is guest address
 * @stack_top - 1.  On success *@sp is the guest's initial %rsp (16-byte
 * aligned, pointing at argc) and the image is [*sp, stack_top).
 * Returns 0, -E2BIG if it does not fit in @buflen, or -EINVAL.
 */
int exec_stack_build(void *buf, size_t buflen, uint64_t stack_top,
		     const struct exec_stack_args *a, uint64_t *sp);

#endif

/*
 * kernel/exec_stack.h - the initial stack of a new program.
 *
 * The x86-64 System V ABI (and Linux's fs/binfmt_elf.c) fixes what a
 * program finds at %rsp on entry, from low addresses to high:
 *
 *	sp ->	argc
 *		argv[0] .. argv[argc - 1], NULL
 *		envp[0] .. envp[envc - 1], NULL
 *		auxv pairs {key, value} .., {AT_NULL, 0}
 *		(padding to 16 bytes)
 *		AT_RANDOM's 16 bytes
 *		"x86_64\0" (AT_PLATFORM)
 *		argv strings, envp strings, execfn (AT_EXECFN)
 *		8 zero bytes
 *	top ->
 *
 * sp is 16-byte aligned.  The strings are in Linux's order, so the argv
 * strings are contiguous (what /proc/PID/cmdline shows).
 *
 * exec_stack_build() lays this out in a host buffer that stands for the
 * top of the guest's stack, with every pointer already a guest address,
 * so the caller copies [sp, top) out to the guest in one go.  The strings
 * are the caller's (host memory, already copied in from the guest by
 * execve), so nothing here faults.
 */
#ifndef KSENTRY_KERNEL_EXEC_STACK_H
#define KSENTRY_KERNEL_EXEC_STACK_H

#include <stddef.h>
#include <stdint.h>

/* Longest single argv/envp/execfn string, NUL included: Linux's
 * MAX_ARG_STRLEN (32 pages). */
#define EXEC_STACK_MAX_STRLEN (32 * 4096)

/* Most bytes argv and envp may take, strings plus pointers: Linux's cap
 * of three quarters of _STK_LIM.  Linux also caps them at a quarter of the
 * stack rlimit; callers get that by passing a quarter of the stack as
 * the buffer. */
#define EXEC_STACK_MAX_ARGS (6 * 1024 * 1024)

/* Most auxv pairs a caller may pass. */
#define EXEC_STACK_MAX_AUXV 64

struct exec_stack_args {
	const char *const *argv; /* NULL-terminated; NULL or empty gives argc 0 */
	const char *const *envp; /* NULL-terminated; may be NULL or empty */
	const char *execfn;	 /* AT_EXECFN's string; required */
	/* Caller's auxv pairs (AT_PHDR, AT_ENTRY, ...).  The builder adds
	 * AT_RANDOM, AT_EXECFN, AT_PLATFORM and AT_NULL itself, because they
	 * point into the stack, so those four keys are refused here. */
	const uint64_t (*auxv)[2];
	size_t nauxv;
	uint8_t random[16]; /* AT_RANDOM's bytes */
};

/*
 * Build the stack image for @a in @buf, whose last byte stands for guest
 * address @stack_top - 1 (so buf[0] is @stack_top - @buflen).
 *
 * On success returns 0 and sets *@sp to the guest's initial %rsp: 16-byte
 * aligned, pointing at argc.  The image is [*sp, stack_top), every byte of
 * it written (padding is zero, so no host memory leaks into the guest);
 * the buffer below *sp is untouched.
 *
 * Returns -E2BIG when the image does not fit in @buflen, when a string is
 * longer than EXEC_STACK_MAX_STRLEN or argv and envp together take more
 * than EXEC_STACK_MAX_ARGS (as Linux's execve would); -EINVAL when @buf,
 * @a, @sp or execfn is NULL, @stack_top is not 16-byte aligned, is above
 * the user half or below @buflen, or the auxv is too long or holds a key
 * the builder owns.  *@sp is untouched on error, but the buffer may not be.
 * Never blocks; allocates nothing.
 */
__attribute__((warn_unused_result)) int exec_stack_build(void *buf, size_t buflen,
							 uint64_t stack_top,
							 const struct exec_stack_args *a,
							 uint64_t *sp);

#endif

/*
 * Unit tests for kernel/exec_stack.h: build a stack image, then read it
 * back the way a guest's _start would, through the guest pointers.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "abi/auxv.h"
#include "abi/errno.h"
#include "kernel/exec_stack.h"

#define TOP   UINT64_C(0x7ffffffde000)
#define SIZE  (64 * 1024)

static unsigned char buf[SIZE];

/* The host byte behind guest address @va of the image. */
static void *at(uint64_t va)
{
	cr_assert(va >= TOP - SIZE && va < TOP, "pointer 0x%lx outside the stack", va);
	return buf + (va - (TOP - SIZE));
}

static uint64_t word(uint64_t va)
{
	uint64_t w;

	memcpy(&w, at(va), 8);
	return w;
}

static uint64_t auxv_get(uint64_t auxv_va, uint64_t key)
{
	for (uint64_t p = auxv_va;; p += 16) {
		if (word(p) == key)
			return word(p + 8);
		if (word(p) == AT_NULL)
			return 0;
	}
}

Test(exec_stack, round_trips_as_the_guest_reads_it)
{
	const char *argv[] = {"/bin/prog", "one", "two words", NULL};
	const char *envp[] = {"A=1", "PATH=/bin", NULL};
	const uint64_t auxv[][2] = {{AT_PAGESZ, 4096}, {AT_ENTRY, 0x401000}};
	struct exec_stack_args a = {.argv = argv, .envp = envp, .execfn = "/bin/prog",
				    .auxv = auxv, .nauxv = 2};
	uint64_t sp, p;

	for (int i = 0; i < 16; i++)
		a.random[i] = (uint8_t)(i * 13 + 1);
	cr_assert_eq(exec_stack_build(buf, SIZE, TOP, &a, &sp), 0);
	cr_assert_eq(sp % 16, 0, "ABI: rsp 16-byte aligned at entry");
	cr_assert_eq(word(sp), 3, "argc");
	for (int i = 0; i < 3; i++)
		cr_assert_str_eq(at(word(sp + 8 + 8 * (uint64_t)i)), argv[i]);
	cr_assert_eq(word(sp + 8 * 4), 0, "argv NULL");
	p = sp + 8 * 5;
	cr_assert_str_eq(at(word(p)), "A=1");
	cr_assert_str_eq(at(word(p + 8)), "PATH=/bin");
	cr_assert_eq(word(p + 16), 0, "envp NULL");
	p += 24;
	cr_assert_eq(auxv_get(p, AT_PAGESZ), 4096);
	cr_assert_eq(auxv_get(p, AT_ENTRY), 0x401000);
	cr_assert_eq(memcmp(at(auxv_get(p, AT_RANDOM)), a.random, 16), 0);
	cr_assert_str_eq(at(auxv_get(p, AT_EXECFN)), "/bin/prog");
	cr_assert_str_eq(at(auxv_get(p, AT_PLATFORM)), "x86_64");
}

Test(exec_stack, empty_argv_is_allowed)
{
	const char *none[] = {NULL};
	struct exec_stack_args a = {.argv = none, .envp = none, .execfn = "/x"};
	uint64_t sp;

	cr_assert_eq(exec_stack_build(buf, SIZE, TOP, &a, &sp), 0);
	cr_assert_eq(word(sp), 0, "argc 0");
	cr_assert_eq(word(sp + 8), 0);
	cr_assert_eq(word(sp + 16), 0);
}

Test(exec_stack, too_big_is_e2big)
{
	static char big[SIZE];
	const char *argv[] = {big, NULL};
	const char *none[] = {NULL};
	struct exec_stack_args a = {.argv = argv, .envp = none, .execfn = "/x"};
	uint64_t sp;

	memset(big, 'a', sizeof(big) - 1);
	cr_assert_eq(exec_stack_build(buf, SIZE, TOP, &a, &sp), -E2BIG);
	big[SIZE - 60] = '\0'; /* the strings fit, the pointers and auxv do not */
	cr_assert_eq(exec_stack_build(buf, SIZE, TOP, &a, &sp), -E2BIG);
}

Test(exec_stack, bad_arguments)
{
	const char *none[] = {NULL};
	struct exec_stack_args a = {.argv = none, .envp = none, .execfn = NULL};
	uint64_t sp;

	cr_assert_eq(exec_stack_build(buf, SIZE, TOP, &a, &sp), -EINVAL, "no execfn");
	a.execfn = "/x";
	cr_assert_eq(exec_stack_build(buf, SIZE, TOP + 8, &a, &sp), -EINVAL, "unaligned top");
	cr_assert_eq(exec_stack_build(buf, SIZE, 100, &a, &sp), -EINVAL, "top below the buffer");
}

/*
 * Unit tests for kernel/exec_stack.h: build a stack image, then read it
 * back the way a guest's _start and libc would, through the guest
 * pointers, translating each one to the buffer (and failing if it points
 * outside the image).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "abi/auxv.h"
#include "abi/errno.h"
#include "kernel/exec_stack.h"

#define TOP  UINT64_C(0x7ffffffde000)
#define SIZE (64 * 1024)

/* The image under test: guest [top - size, top) is host [base, base + size).
 * Criterion runs each test in its own process, so tests may move these. */
static unsigned char storage[SIZE + 16];
static unsigned char *base = storage;
static uint64_t top = TOP;
static size_t size = SIZE;

/* The host byte behind guest address @va of the image. */
static void *at(uint64_t va)
{
	cr_assert(va >= top - size && va < top, "pointer 0x%llx outside the stack",
		  (unsigned long long)va);
	return base + (va - (top - size));
}

static uint64_t word(uint64_t va)
{
	uint64_t w;

	cr_assert_leq(va + 8, top, "word at 0x%llx past the top", (unsigned long long)va);
	memcpy(&w, at(va), 8);
	return w;
}

/* A string at guest @va that must end (NUL) inside the image. */
static const char *str(uint64_t va)
{
	const char *s = at(va);

	cr_assert_not_null(memchr(s, 0, top - va), "string at 0x%llx runs off the top",
			   (unsigned long long)va);
	return s;
}

/* The guest's view of a built stack. */
struct decoded {
	uint64_t argc, argv, envc, envp, auxv, nauxv;
};

/* Walk argc, argv, envp and auxv from @sp, checking every terminator. */
static struct decoded decode(uint64_t sp)
{
	struct decoded d = {.argc = word(sp), .argv = sp + 8};
	uint64_t p;

	cr_assert_eq(sp % 16, 0, "ABI: rsp 16-byte aligned at entry");
	cr_assert_eq(word(d.argv + 8 * d.argc), 0, "argv NULL");
	d.envp = d.argv + 8 * (d.argc + 1);
	for (p = d.envp; word(p); p += 8)
		str(word(p));
	d.envc = (p - d.envp) / 8;
	d.auxv = p + 8;
	for (p = d.auxv; word(p) != AT_NULL; p += 16)
		;
	cr_assert_eq(word(p + 8), 0, "AT_NULL's value");
	d.nauxv = (p - d.auxv) / 16;
	return d;
}

static uint64_t auxv_get(const struct decoded *d, uint64_t key)
{
	for (uint64_t i = 0; i < d->nauxv; i++)
		if (word(d->auxv + 16 * i) == key)
			return word(d->auxv + 16 * i + 8);
	cr_assert_fail("auxv key %llu missing", (unsigned long long)key);
	return 0;
}

/*
 * The pieces above the table do not overlap it or each other: table <
 * random bytes < platform string < argv/envp strings and execfn < top.
 */
static void check_no_overlap(const struct decoded *d, const uint8_t random[16])
{
	uint64_t r = auxv_get(d, AT_RANDOM), p = auxv_get(d, AT_PLATFORM);
	uint64_t strings = d->argc   ? word(d->argv)
			   : d->envc ? word(d->envp)
				     : auxv_get(d, AT_EXECFN);

	cr_assert_geq(r, d->auxv + 16 * (d->nauxv + 1), "random bytes above the table");
	cr_assert_eq(memcmp(at(r), random, 16), 0);
	cr_assert_geq(p, r + 16, "platform above the random bytes");
	cr_assert_str_eq(str(p), "x86_64");
	cr_assert_geq(strings, p + sizeof("x86_64"), "strings above the platform");
	cr_assert_eq(word(top - 8), 0, "the top word is zero");
}

static const char *none[] = {NULL};

Test(exec_stack, round_trips_as_the_guest_reads_it)
{
	const char *argv[] = {"/bin/prog", "one", "two words", "", NULL};
	const char *envp[] = {"A=1", "PATH=/bin", NULL};
	const uint64_t auxv[][2] = {{AT_PAGESZ, 4096}, {AT_ENTRY, 0x401000}, {AT_UID, 0}};
	struct exec_stack_args a = {
	    .argv = argv, .envp = envp, .execfn = "/bin/prog.real", .auxv = auxv, .nauxv = 3};
	struct decoded d;
	uint64_t sp = 0, random, execfn, platform;

	for (int i = 0; i < 16; i++)
		a.random[i] = (uint8_t)(i * 13 + 1);
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), 0);
	d = decode(sp);
	cr_assert_eq(d.argc, 4, "argc");
	for (uint64_t i = 0; i < 4; i++)
		cr_assert_str_eq(str(word(d.argv + 8 * i)), argv[i]);
	cr_assert_eq(d.envc, 2);
	cr_assert_str_eq(str(word(d.envp)), "A=1");
	cr_assert_str_eq(str(word(d.envp + 8)), "PATH=/bin");

	/* The caller's pairs in order, then the builder's, then AT_NULL. */
	cr_assert_eq(d.nauxv, 3 + 3);
	for (uint64_t i = 0; i < 3; i++) {
		cr_assert_eq(word(d.auxv + 16 * i), auxv[i][0]);
		cr_assert_eq(word(d.auxv + 16 * i + 8), auxv[i][1]);
	}
	random = auxv_get(&d, AT_RANDOM);
	execfn = auxv_get(&d, AT_EXECFN);
	platform = auxv_get(&d, AT_PLATFORM);
	cr_assert_eq(memcmp(at(random), a.random, 16), 0);
	cr_assert_leq(random + 16, top);
	cr_assert_str_eq(str(execfn), "/bin/prog.real");
	cr_assert_str_eq(str(platform), "x86_64");

	/* Linux's order: argv strings contiguous, then envp, then execfn
	 * just below an 8-byte zero word at the very top. */
	for (uint64_t i = 0; i + 1 < 4; i++)
		cr_assert_eq(word(d.argv + 8 * (i + 1)),
			     word(d.argv + 8 * i) + strlen(argv[i]) + 1);
	cr_assert_eq(word(d.envp), word(d.argv + 24) + 1);
	cr_assert_eq(execfn, word(d.envp + 8) + strlen("PATH=/bin") + 1);
	cr_assert_eq(execfn + strlen("/bin/prog.real") + 1, top - 8);
	cr_assert_eq(word(top - 8), 0);
	check_no_overlap(&d, a.random);
}

Test(exec_stack, empty_argv_is_allowed)
{
	struct exec_stack_args a = {.argv = none, .envp = none, .execfn = "/x"};
	struct decoded d;
	uint64_t sp;

	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), 0);
	d = decode(sp);
	cr_assert_eq(d.argc, 0, "argc 0");
	cr_assert_eq(d.envc, 0);
	cr_assert_str_eq(str(auxv_get(&d, AT_EXECFN)), "/x");

	/* NULL vectors mean empty too. */
	a.argv = NULL;
	a.envp = NULL;
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), 0);
	d = decode(sp);
	cr_assert_eq(d.argc, 0);
	cr_assert_eq(d.envc, 0);
	cr_assert_eq(d.nauxv, 3, "only the builder's pairs");
}

/*
 * Whatever the string lengths and however many words the table has (odd
 * or even), sp comes out aligned, and the table overlaps nothing above it.
 */
Test(exec_stack, sp_is_aligned_for_every_padding)
{
	char s[64];
	const char *argv[] = {s, NULL};
	const char *envp[] = {"E=1", NULL};
	const uint64_t auxv[][2] = {{AT_PAGESZ, 4096}};
	struct exec_stack_args a = {.argv = argv, .execfn = "/x", .auxv = auxv, .nauxv = 1};

	memset(a.random, 0xC3, sizeof(a.random));
	for (size_t envc = 0; envc < 2; envc++) {
		uint64_t prev = 0;

		a.envp = envc ? envp : none;
		for (size_t len = 0; len < 48; len++) {
			uint64_t sp = 0;
			struct decoded d;

			memset(s, 'a' + (int)(len % 26), len);
			s[len] = '\0';
			cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), 0);
			d = decode(sp);
			cr_assert_eq(d.argc, 1);
			cr_assert_eq(d.envc, envc);
			cr_assert_str_eq(str(word(d.argv)), s, "len %zu", len);
			cr_assert_eq(d.nauxv, 1 + 3);
			check_no_overlap(&d, a.random);
			if (prev)
				cr_assert_leq(sp, prev, "longer strings never move sp up");
			prev = sp;
		}
	}
}

/* The host buffer need not share the guest addresses' alignment. */
Test(exec_stack, unaligned_host_buffer)
{
	const char *argv[] = {"prog", "x", NULL};
	const uint64_t auxv[][2] = {{AT_ENTRY, 0x1234}};
	struct exec_stack_args a = {
	    .argv = argv, .envp = none, .execfn = "/p", .auxv = auxv, .nauxv = 1};
	struct decoded d;
	uint64_t sp;

	base = storage + 3;
	size = SIZE - 3 - 13;
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), 0);
	d = decode(sp);
	cr_assert_eq(d.argc, 2);
	cr_assert_str_eq(str(word(d.argv + 8)), "x");
	cr_assert_eq(auxv_get(&d, AT_ENTRY), 0x1234);
}

/*
 * Padding carries no host bytes and the buffer below sp is not touched:
 * build over two different fillings; the image must come out the same
 * and everything below it must keep its filling.
 */
Test(exec_stack, writes_exactly_the_image)
{
	static unsigned char first[SIZE];
	const char *argv[] = {"a", "bc", "def", NULL};
	const char *envp[] = {"X=y", NULL};
	struct exec_stack_args a = {.argv = argv, .envp = envp, .execfn = "/abcde"};
	uint64_t sp, sp2;

	memset(a.random, 0x11, sizeof(a.random));
	memset(storage, 0xAA, sizeof(storage));
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), 0);
	memcpy(first, base, size);
	memset(storage, 0x55, sizeof(storage));
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp2), 0);
	cr_assert_eq(sp2, sp);
	for (uint64_t va = top - size; va < sp; va++) {
		cr_assert_eq(first[va - (top - size)], 0xAA, "written below sp");
		cr_assert_eq(*(unsigned char *)at(va), 0x55, "written below sp");
	}
	cr_assert_eq(memcmp(first + (sp - (top - size)), at(sp), top - sp), 0,
		     "the image depends on what the buffer held");
	cr_assert_eq(decode(sp).argc, 3);
}

/* No cap on the count of arguments, only on their size, as in Linux. */
Test(exec_stack, many_small_arguments)
{
	enum { N = 100000 };
	const char **argv = calloc(N + 1, sizeof(*argv));
	struct exec_stack_args a = {.envp = none, .execfn = "/x"};
	struct decoded d;
	uint64_t sp;

	size = 4 << 20;
	base = malloc(size);
	for (int i = 0; i < N; i++)
		argv[i] = i % 2 ? "odd" : "even";
	a.argv = argv;
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), 0);
	d = decode(sp);
	cr_assert_eq(d.argc, N);
	cr_assert_str_eq(str(word(d.argv)), "even");
	cr_assert_str_eq(str(word(d.argv + 8 * (N - 1))), "odd");
	free(base);
	free(argv);
}

/* The image needs exactly top - sp bytes: that many fit, fewer do not. */
Test(exec_stack, exact_fit)
{
	const char *argv[] = {"prog", "arg", NULL};
	const char *envp[] = {"HOME=/", NULL};
	struct exec_stack_args a = {.argv = argv, .envp = envp, .execfn = "/prog"};
	uint64_t sp, sp2 = 0, need;

	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), 0);
	need = top - sp;
	base = storage + SIZE - need;
	size = need;
	cr_assert_eq(exec_stack_build(base, need, top, &a, &sp2), 0);
	cr_assert_eq(sp2, sp);
	cr_assert_eq(decode(sp2).argc, 2);
	sp2 = 77;
	cr_assert_eq(exec_stack_build(base + 1, need - 1, top, &a, &sp2), -E2BIG);
	cr_assert_eq(sp2, 77, "*sp untouched on error");
	cr_assert_eq(exec_stack_build(base, 0, top, &a, &sp2), -E2BIG);
}

Test(exec_stack, too_big_is_e2big)
{
	static char big[SIZE];
	const char *argv[] = {big, NULL};
	struct exec_stack_args a = {.argv = argv, .envp = none, .execfn = "/x"};
	uint64_t sp;

	memset(big, 'a', sizeof(big) - 1);
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), -E2BIG);
	big[SIZE - 60] = '\0'; /* the strings fit, the pointers and auxv do not */
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), -E2BIG);
	big[SIZE - 200] = '\0'; /* now everything fits */
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), 0);
}

/* Linux's limits hold however big the buffer. */
Test(exec_stack, linux_argument_limits)
{
	char *s = malloc(EXEC_STACK_MAX_STRLEN + 1);
	const char *argv[80];
	struct exec_stack_args a = {.argv = argv, .envp = none, .execfn = "/x"};
	struct decoded d;
	uint64_t sp;

	size = 16 << 20;
	base = malloc(size);
	memset(s, 's', EXEC_STACK_MAX_STRLEN);

	/* One string: MAX_STRLEN bytes with its NUL fits, one more does not. */
	s[EXEC_STACK_MAX_STRLEN - 1] = '\0';
	argv[0] = s;
	argv[1] = NULL;
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), 0);
	d = decode(sp);
	cr_assert_eq(strlen(str(word(d.argv))), EXEC_STACK_MAX_STRLEN - 1);
	s[EXEC_STACK_MAX_STRLEN - 1] = 's';
	s[EXEC_STACK_MAX_STRLEN] = '\0';
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), -E2BIG, "argv string");
	a.argv = none;
	a.envp = argv;
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), -E2BIG, "envp string");
	a.envp = none;
	a.execfn = s;
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), -E2BIG, "execfn");
	a.execfn = "/x";
	a.argv = argv;

	/* In total: 60 strings of 120 KiB pass 6 MiB, 50 do not. */
	s[120 * 1024] = '\0';
	for (int i = 0; i < 60; i++)
		argv[i] = s;
	argv[60] = NULL;
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), -E2BIG);
	argv[50] = NULL;
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), 0);
	cr_assert_eq(decode(sp).argc, 50);
	free(base);
	free(s);
}

Test(exec_stack, bad_arguments)
{
	const uint64_t ours[][2] = {{AT_PAGESZ, 4096}, {AT_RANDOM, 0}};
	uint64_t many[EXEC_STACK_MAX_AUXV + 1][2];
	struct exec_stack_args a = {.argv = none, .envp = none, .execfn = NULL};
	uint64_t sp = 77;

	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), -EINVAL, "no execfn");
	a.execfn = "/x";
	cr_assert_eq(exec_stack_build(NULL, size, top, &a, &sp), -EINVAL, "no buffer");
	cr_assert_eq(exec_stack_build(base, size, top, NULL, &sp), -EINVAL, "no args");
	cr_assert_eq(exec_stack_build(base, size, top, &a, NULL), -EINVAL, "no sp");
	cr_assert_eq(exec_stack_build(base, size, top + 8, &a, &sp), -EINVAL, "unaligned top");
	cr_assert_eq(exec_stack_build(base, size, 100, &a, &sp), -EINVAL, "top below the buffer");
	cr_assert_eq(exec_stack_build(base, size, UINT64_C(1) << 63, &a, &sp), -EINVAL,
		     "top in the kernel half");
	a.nauxv = 1;
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), -EINVAL, "nauxv without auxv");
	a.auxv = ours;
	a.nauxv = 2;
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), -EINVAL, "AT_RANDOM is ours");
	for (uint64_t key = 0; key < 64; key++) {
		const uint64_t one[][2] = {{key, 0}};
		bool owned =
		    key == AT_NULL || key == AT_RANDOM || key == AT_EXECFN || key == AT_PLATFORM;

		a.auxv = one;
		a.nauxv = 1;
		cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), owned ? -EINVAL : 0,
			     "key %llu", (unsigned long long)key);
	}
	sp = 77;
	for (size_t i = 0; i <= EXEC_STACK_MAX_AUXV; i++) {
		many[i][0] = AT_UID;
		many[i][1] = i;
	}
	a.auxv = (const uint64_t(*)[2])many;
	a.nauxv = EXEC_STACK_MAX_AUXV + 1;
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), -EINVAL, "auxv too long");
	cr_assert_eq(sp, 77, "*sp untouched on error");
	a.nauxv = EXEC_STACK_MAX_AUXV;
	cr_assert_eq(exec_stack_build(base, size, top, &a, &sp), 0);
	cr_assert_eq(decode(sp).nauxv, EXEC_STACK_MAX_AUXV + 3);
}

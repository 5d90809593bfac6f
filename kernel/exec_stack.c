/*
 * kernel/exec_stack.c - laying out argv, envp and auxv.
 *
 * Two passes.  The first measures: it counts the strings, checks each one
 * and the total against Linux's limits, and adds up the size of the whole
 * image with overflow-safe arithmetic, so a huge argv is -E2BIG before a
 * byte is written.  The second writes top-down knowing every address, so
 * no temporary array of string addresses is needed however long argv is.
 *
 * Guest words are written with memcpy: the host buffer need not be
 * aligned the way the guest addresses are.
 */
#include <stdbool.h>
#include <string.h>

#include "abi/auxv.h"
#include "abi/errno.h"
#include "kernel/exec_stack.h"

/* End of the x86-64 user half: a stack top above it is not a user address. */
#define USER_HALF_END (UINT64_C(1) << 47)

static const char platform[] = "x86_64";

/* The builder's own auxv pairs: AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_NULL. */
#define OWN_AUXV 4

struct image {
	unsigned char *buf;
	uint64_t bottom; /* guest address of buf[0] */
};

static void put_bytes(struct image *im, uint64_t va, const void *p, size_t len)
{
	memcpy(im->buf + (va - im->bottom), p, len);
}

static void put_word(struct image *im, uint64_t va, uint64_t w)
{
	put_bytes(im, va, &w, sizeof(w));
}

/*
 * Count the strings of @v into *@n and add their sizes (NUL included) and
 * pointers to *@bytes.  -E2BIG past Linux's limits.
 */
static int measure(const char *const *v, size_t *n, uint64_t *bytes)
{
	*n = 0;
	for (; v && v[*n]; (*n)++) {
		size_t len = strnlen(v[*n], EXEC_STACK_MAX_STRLEN);

		if (len >= EXEC_STACK_MAX_STRLEN)
			return -E2BIG;
		*bytes += len + 1 + sizeof(uint64_t);
		if (*bytes > EXEC_STACK_MAX_ARGS)
			return -E2BIG;
	}
	return 0;
}

static bool auxv_key_ours(uint64_t key)
{
	return key == AT_NULL || key == AT_RANDOM || key == AT_EXECFN || key == AT_PLATFORM;
}

/* Write the strings of @v upwards from *@va, their addresses from *@ptr. */
static void put_strings(struct image *im, const char *const *v, size_t n, uint64_t *va,
			uint64_t *ptr)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]) + 1;

		put_bytes(im, *va, v[i], len);
		put_word(im, *ptr, *va);
		*va += len;
		*ptr += sizeof(uint64_t);
	}
	put_word(im, *ptr, 0);
	*ptr += sizeof(uint64_t);
}

int exec_stack_build(void *buf, size_t buflen, uint64_t stack_top, const struct exec_stack_args *a,
		     uint64_t *sp)
{
	struct image im = {.buf = buf};
	size_t argc, envc, execfn_len, nwords;
	uint64_t args = 0, need, strings, str_va, platform_va, random_va, table_va, w;
	int err;

	if (!buf || !a || !sp || !a->execfn || (a->nauxv && !a->auxv))
		return -EINVAL;
	if ((stack_top & 15) || stack_top > USER_HALF_END || stack_top < buflen)
		return -EINVAL;
	if (a->nauxv > EXEC_STACK_MAX_AUXV)
		return -EINVAL;
	for (size_t i = 0; i < a->nauxv; i++)
		if (auxv_key_ours(a->auxv[i][0]))
			return -EINVAL;

	/* Pass 1: measure.  args counts strings and pointers, as Linux does;
	 * each term is bounded by EXEC_STACK_MAX_ARGS, so only the sum with
	 * the caller-chosen buffer size needs overflow checks. */
	err = measure(a->argv, &argc, &args);
	if (!err)
		err = measure(a->envp, &envc, &args);
	if (err)
		return err;
	execfn_len = strnlen(a->execfn, EXEC_STACK_MAX_STRLEN) + 1;
	if (execfn_len > EXEC_STACK_MAX_STRLEN)
		return -E2BIG;
	strings = args - (argc + envc) * sizeof(uint64_t) + execfn_len;
	nwords = 1 + argc + 1 + envc + 1 + 2 * (a->nauxv + OWN_AUXV);
	/* From the top down: the zero word, strings, platform, random bytes,
	 * padding to 16, the table, padding to 16 (stack_top is aligned, so
	 * rounding the size up aligns the address down). */
	need = sizeof(uint64_t) + strings + sizeof(platform) + sizeof(a->random);
	need = (need + 15) & ~UINT64_C(15);
	if (__builtin_add_overflow(need, nwords * sizeof(uint64_t), &need) ||
	    __builtin_add_overflow(need, 15, &need))
		return -E2BIG;
	need &= ~UINT64_C(15);
	if (need > buflen)
		return -E2BIG;

	/* Pass 2: write.  Zero first, so padding carries no host bytes. */
	im.bottom = stack_top - buflen;
	table_va = stack_top - need;
	memset(im.buf + (table_va - im.bottom), 0, need);
	str_va = stack_top - sizeof(uint64_t) - strings;
	platform_va = str_va - sizeof(platform);
	random_va = platform_va - sizeof(a->random);

	w = table_va;
	put_word(&im, w, argc);
	w += sizeof(uint64_t);
	put_strings(&im, a->argv, argc, &str_va, &w);
	put_strings(&im, a->envp, envc, &str_va, &w);
	put_bytes(&im, str_va, a->execfn, execfn_len);
	put_bytes(&im, platform_va, platform, sizeof(platform));
	put_bytes(&im, random_va, a->random, sizeof(a->random));
	for (size_t i = 0; i < a->nauxv; i++) {
		put_word(&im, w, a->auxv[i][0]);
		put_word(&im, w + 8, a->auxv[i][1]);
		w += 16;
	}
	put_word(&im, w, AT_RANDOM);
	put_word(&im, w + 8, random_va);
	put_word(&im, w + 16, AT_EXECFN);
	put_word(&im, w + 24, str_va);
	put_word(&im, w + 32, AT_PLATFORM);
	put_word(&im, w + 40, platform_va);
	/* AT_NULL's pair is already zero. */
	*sp = table_va;
	return 0;
}

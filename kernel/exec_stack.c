/*
 * kernel/exec_stack.c - laying out argv, envp and auxv.
 *
 * Work top-down in guest addresses with a cursor; every step checks that
 * the cursor stays inside the buffer, so a huge argv is -E2BIG, never an
 * overflow.
 */
#include <string.h>

#include "abi/auxv.h"
#include "abi/errno.h"
#include "kernel/exec_stack.h"

struct cursor {
	unsigned char *buf;
	uint64_t bottom; /* guest address of buf[0] */
	uint64_t at;     /* guest address of the lowest byte written */
};

static unsigned char *host(struct cursor *c, uint64_t va)
{
	return c->buf + (va - c->bottom);
}

/* Reserve @len bytes below the cursor, aligned down to @align. */
static int push(struct cursor *c, size_t len, uint64_t align, uint64_t *va)
{
	uint64_t at;

	if (len > c->at - c->bottom)
		return -E2BIG;
	at = (c->at - len) & ~(align - 1);
	if (at < c->bottom)
		return -E2BIG;
	c->at = at;
	*va = at;
	return 0;
}

static int push_bytes(struct cursor *c, const void *p, size_t len, uint64_t *va)
{
	int err = push(c, len, 1, va);

	if (!err)
		memcpy(host(c, *va), p, len);
	return err;
}

static size_t count(const char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Push every string of @v; their addresses go into @out. */
static int push_strings(struct cursor *c, const char *const *v, size_t n, uint64_t *out)
{
	for (size_t i = n; i-- > 0;) {
		int err = push_bytes(c, v[i], strlen(v[i]) + 1, &out[i]);

		if (err)
			return err;
	}
	return 0;
}

int exec_stack_build(void *buf, size_t buflen, uint64_t stack_top,
		     const struct exec_stack_args *a, uint64_t *sp)
{
	size_t argc = count(a->argv), envc = count(a->envp), nwords, n;
	struct cursor c = {.buf = buf, .at = stack_top};
	uint64_t execfn_va, platform_va, random_va, table_va, *words;
	uint64_t argv_va[4096], envp_va[4096];
	int err;

	if (!a->execfn || stack_top < buflen || (stack_top & 15) || a->nauxv > 64)
		return -EINVAL;
	if (argc > 4096 || envc > 4096)
		return -E2BIG;
	c.bottom = stack_top - buflen;

	err = push_bytes(&c, a->execfn, strlen(a->execfn) + 1, &execfn_va);
	if (!err)
		err = push_strings(&c, a->envp, envc, envp_va);
	if (!err)
		err = push_strings(&c, a->argv, argc, argv_va);
	if (!err)
		err = push_bytes(&c, "x86_64", 7, &platform_va);
	if (!err)
		err = push_bytes(&c, a->random, sizeof(a->random), &random_va);
	if (err)
		return err;

	/* argc, argv..., NULL, envp..., NULL, auxv pairs (+3 ours, +AT_NULL) */
	nwords = 1 + argc + 1 + envc + 1 + 2 * (a->nauxv + 4);
	err = push(&c, nwords * 8, 16, &table_va);
	if (err)
		return err;
	words = (uint64_t *)host(&c, table_va);
	n = 0;
	words[n++] = argc;
	for (size_t i = 0; i < argc; i++)
		words[n++] = argv_va[i];
	words[n++] = 0;
	for (size_t i = 0; i < envc; i++)
		words[n++] = envp_va[i];
	words[n++] = 0;
	for (size_t i = 0; i < a->nauxv; i++) {
		words[n++] = a->auxv[i][0];
		words[n++] = a->auxv[i][1];
	}
	words[n++] = AT_RANDOM;
	words[n++] = random_va;
	words[n++] = AT_EXECFN;
	words[n++] = execfn_va;
	words[n++] = AT_PLATFORM;
	words[n++] = platform_va;
	words[n++] = AT_NULL;
	words[n++] = 0;
	*sp = table_va;
	return 0;
}

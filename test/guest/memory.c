/*
 * malloc-heavy: brk and mmap under pressure.  Allocates 256 MiB in a mix
 * of small and large blocks, touches and checks every page, frees half,
 * reallocates (mremap), and prints "memory ok" only if every byte read
 * back is what was written.
 *
 * "memory cap MiB": run under --memory MiB: what cannot be had is ENOMEM
 * at mmap, brk, mremap, mprotect and fork, never a fault; what is given
 * back can be had again; MAP_NORESERVE maps past the cap.
 */
#define _GNU_SOURCE /* mremap */
#include <errno.h>
#include <sys/wait.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TOTAL (256u << 20)

#define MIB (UINT64_C(1) << 20)

static int fail(const char *what)
{
	printf("cap: %s (errno %d)\n", what, errno);
	return 1;
}

/* Map and touch 1 MiB chunks until mmap says ENOMEM; the MiB it gave. */
static size_t fill(void **chunks, size_t max)
{
	size_t n = 0;

	while (n < max) {
		void *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			break;
		memset(p, 0x77, MIB);
		chunks[n++] = p;
	}
	return n;
}

static int cap_checks(uint64_t cap_mib)
{
	static void *chunks[65536];
	size_t got, again;
	char *cur;
	void *p, *q;
	pid_t pid;
	int st;

	p = mmap(NULL, (cap_mib + 1) * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED || errno != ENOMEM)
		return fail("a mapping larger than the cap was not ENOMEM");
	p = mmap(NULL, 4 * cap_mib * MIB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return fail("MAP_NORESERVE past the cap failed");
	munmap(p, 4 * cap_mib * MIB);
	p = mmap(NULL, (cap_mib + 1) * MIB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return fail("a read-only mapping past the cap failed");
	if (mprotect(p, (cap_mib + 1) * MIB, PROT_READ | PROT_WRITE) == 0 || errno != ENOMEM)
		return fail("mprotect to writable past the cap was not ENOMEM");
	munmap(p, (cap_mib + 1) * MIB);

	got = fill(chunks, sizeof(chunks) / sizeof(chunks[0]));
	if (errno != ENOMEM || got == 0 || got > cap_mib)
		return fail("filling did not end in ENOMEM within the cap");
	cur = (char *)syscall(SYS_brk, 0);
	if ((char *)syscall(SYS_brk, cur + MIB) != cur) /* refused: the break stays */
		return fail("brk grew with the cap full");
	q = mremap(chunks[0], MIB, 8 * MIB, MREMAP_MAYMOVE);
	if (q != MAP_FAILED || errno != ENOMEM)
		return fail("mremap growth with the cap full was not ENOMEM");
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid > 0) {
		waitpid(pid, &st, 0);
		return fail("fork with the cap full (the child could write it all) succeeded");
	}
	if (errno != ENOMEM && errno != EAGAIN)
		return fail("fork with the cap full failed, but not with ENOMEM");
	for (size_t i = 0; i < got; i++)
		if (((unsigned char *)chunks[i])[MIB - 1] != 0x77)
			return fail("a chunk lost its bytes");
	for (size_t i = 0; i < got; i++)
		munmap(chunks[i], MIB);
	again = fill(chunks, sizeof(chunks) / sizeof(chunks[0]));
	if (again + 1 < got || again > got + 1)
		return fail("what was given back could not be had again");
	printf("cap: ENOMEM after %zu MiB of %llu, again after %zu\n", got,
	       (unsigned long long)cap_mib, again);
	printf("cap ok\n");
	return 0;
}

static int heavy(void);

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "cap"))
		return cap_checks(strtoull(argv[2], NULL, 10));
	return heavy();
}

static int heavy(void)
{
	static unsigned char *blocks[4096];
	static size_t sizes[4096];
	size_t total = 0, n = 0;
	/* The raw syscall: musl's sbrk() refuses to move the break. */
	char *brk0 = (char *)syscall(SYS_brk, 0);

	if ((char *)syscall(SYS_brk, brk0 + (1 << 20)) != brk0 + (1 << 20)) {
		printf("brk failed\n");
		return 1;
	}
	memset(brk0, 0x5a, 1 << 20);
	for (size_t i = 0; i < (1 << 20); i++)
		if (brk0[i] != 0x5a) {
			printf("brk memory corrupt\n");
			return 1;
		}
	/* Give it back before malloc, which keeps its own idea of the break. */
	if ((char *)syscall(SYS_brk, brk0) != brk0) {
		printf("brk shrink failed\n");
		return 1;
	}
	while (total < TOTAL && n < 4096) {
		size_t sz = (n % 7 == 0) ? (8u << 20) : (size_t)(1000 + (n * 7919) % 200000);

		blocks[n] = malloc(sz);
		if (!blocks[n]) {
			printf("malloc(%zu) failed after %zu bytes\n", sz, total);
			return 1;
		}
		for (size_t i = 0; i < sz; i += 4096)
			blocks[n][i] = (unsigned char)(n + i / 4096);
		blocks[n][sz - 1] = (unsigned char)n;
		sizes[n] = sz;
		total += sz;
		n++;
	}
	for (size_t b = 0; b < n; b++) {
		for (size_t i = 0; i < sizes[b]; i += 4096)
			if (blocks[b][i] != (unsigned char)(b + i / 4096)) {
				printf("corrupt block %zu at %zu\n", b, i);
				return 1;
			}
		if (b % 2)
			free(blocks[b]);
	}
	for (size_t b = 0; b < n; b += 2) {
		unsigned char *p = realloc(blocks[b], sizes[b] * 2);

		if (!p || p[0] != (unsigned char)b || p[sizes[b] - 1] != (unsigned char)b) {
			printf("realloc lost data in block %zu\n", b);
			return 1;
		}
		free(p);
	}
	printf("memory ok: %zu MiB in %zu blocks\n", total >> 20, n);
	return 0;
}

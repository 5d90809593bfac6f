/*
 * malloc-heavy: brk and mmap under pressure.  Allocates 256 MiB in a mix
 * of small and large blocks, touches and checks every page, frees half,
 * reallocates (mremap), and prints "memory ok" only if every byte read
 * back is what was written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TOTAL (256u << 20)

int main(void)
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

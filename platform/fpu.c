/*
 * platform/fpu.c - see fpu.h.
 */
#include <string.h>

#include "platform/fpu.h"

size_t fpu_xsave_size(uint64_t xfeatures, fpu_cpuid_fn *cpuid, void *arg)
{
	size_t size = FPU_FXSAVE_SIZE + FPU_HEADER_SIZE;

	for (unsigned i = 2; i < 64; i++) {
		uint32_t len = 0, off = 0;

		if (!(xfeatures >> i & 1))
			continue;
		cpuid(arg, i, &len, &off);
		if ((size_t)off + len > size)
			size = (size_t)off + len;
	}
	return size;
}

bool fpu_header_ok(const unsigned char *buf, uint64_t xfeatures)
{
	static const unsigned char zero[FPU_HEADER_SIZE - 8];

	/* XCOMP_BV and the rest of the header must be zero: standard form. */
	return !(fpu_xstate_bv(buf) & ~xfeatures) &&
	       !memcmp(buf + FPU_FXSAVE_SIZE + 8, zero, sizeof(zero));
}

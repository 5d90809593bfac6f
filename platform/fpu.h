/*
 * platform/fpu.h - the FPU state as contexts hand it over.
 *
 * A context's FPU state travels (signal frames, fork) as one buffer of
 * platform_context.fpu_size bytes.  Where the platform has XSAVE it is
 * XSAVE's standard (non-compacted) format for the features in
 * fpu_xfeatures: the 512-byte FXSAVE image, then the 64-byte header whose
 * first word (XSTATE_BV) says which components are in the image, then
 * the components at the offsets CPUID leaf 0xD gives.  Without XSAVE it
 * is the FXSAVE image alone (512 bytes, fpu_xfeatures 0).
 *
 * Which features: x87, SSE, AVX and the three AVX-512 components, as
 * Linux puts them in signal frames; PKRU and the dynamic ones (AMX) stay
 * out, so the buffer never passes PLATFORM_FPU_MAX.
 */
#ifndef KSENTRY_PLATFORM_FPU_H
#define KSENTRY_PLATFORM_FPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FPU_FXSAVE_SIZE	  512
#define FPU_HEADER_SIZE	  64
#define FPU_MXCSR_OFFSET  24
#define FPU_MXCSR_MASK	  0xffbfu /* the architectural MXCSR bits */
#define FPU_SW_OFFSET	  464	  /* FXSAVE's bytes the CPU leaves alone */
#define FPU_FEATURES_MASK UINT64_C(0xe7)
#define PLATFORM_FPU_MAX  4096

/* CPUID leaf 0xD, sub-leaf @sub: (eax, ebx) = (size, offset) of component
 * @sub for sub >= 2. */
typedef void fpu_cpuid_fn(void *arg, unsigned sub, uint32_t *eax, uint32_t *ebx);

/* The XSAVE standard-format size for @xfeatures (at least the FXSAVE
 * image and the header). */
size_t fpu_xsave_size(uint64_t xfeatures, fpu_cpuid_fn *cpuid, void *arg);

/* Is the XSAVE header of @buf one XRSTOR takes for @xfeatures (standard
 * format, no unknown component, reserved bytes zero)? */
bool fpu_header_ok(const unsigned char *buf, uint64_t xfeatures);

static inline uint64_t fpu_xstate_bv(const unsigned char *buf)
{
	uint64_t bv;

	__builtin_memcpy(&bv, buf + FPU_FXSAVE_SIZE, sizeof(bv));
	return bv;
}

static inline void fpu_set_xstate_bv(unsigned char *buf, uint64_t bv)
{
	__builtin_memcpy(buf + FPU_FXSAVE_SIZE, &bv, sizeof(bv));
}

/* Clear MXCSR's reserved bits, which would make FXRSTOR/XRSTOR fault. */
static inline void fpu_sanitize_mxcsr(unsigned char *buf)
{
	uint32_t m;

	__builtin_memcpy(&m, buf + FPU_MXCSR_OFFSET, sizeof(m));
	m &= FPU_MXCSR_MASK;
	__builtin_memcpy(buf + FPU_MXCSR_OFFSET, &m, sizeof(m));
}

#endif

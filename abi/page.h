/*
 * abi/page.h - x86-64 page sizes and overflow-safe rounding.
 *
 * Every helper that can overflow reports it instead of wrapping: addresses
 * and lengths come from guests and FUSE servers, and a wrapped round-up is
 * the classic way a bounds check is bypassed.
 */
#ifndef KSENTRY_ABI_PAGE_H
#define KSENTRY_ABI_PAGE_H

#include <stdbool.h>
#include <stdint.h>

#define ABI_PAGE_SHIFT      12
#define ABI_PAGE_SIZE       (UINT64_C(1) << ABI_PAGE_SHIFT)
#define ABI_PAGE_MASK       (ABI_PAGE_SIZE - 1)
#define ABI_HUGE_PAGE_SHIFT 21
#define ABI_HUGE_PAGE_SIZE  (UINT64_C(1) << ABI_HUGE_PAGE_SHIFT)

static inline bool abi_page_aligned(uint64_t x)
{
	return (x & ABI_PAGE_MASK) == 0;
}

static inline uint64_t abi_page_round_down(uint64_t x)
{
	return x & ~ABI_PAGE_MASK;
}

/* Round @x up to a page boundary into *@out; false if that overflows. */
static inline bool abi_page_round_up(uint64_t x, uint64_t *out)
{
	uint64_t y;

	if (__builtin_add_overflow(x, ABI_PAGE_MASK, &y))
		return false;
	*out = y & ~ABI_PAGE_MASK;
	return true;
}

/* Round @x up to a multiple of @align (a power of two); false on overflow. */
static inline bool abi_align_up(uint64_t x, uint64_t align, uint64_t *out)
{
	uint64_t y;

	if (__builtin_add_overflow(x, align - 1, &y))
		return false;
	*out = y & ~(align - 1);
	return true;
}

#endif

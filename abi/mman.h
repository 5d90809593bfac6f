/*
 * abi/mman.h - mmap, mprotect, mremap and madvise flags of the Linux ABI.
 *
 * As with errno, the x86-64 host's values are the ABI's; the asserts pin
 * the ones the sentry decodes from guest arguments.
 */
#ifndef KSENTRY_ABI_MMAN_H
#define KSENTRY_ABI_MMAN_H

#include <sys/mman.h>

_Static_assert(PROT_READ == 1 && PROT_WRITE == 2 && PROT_EXEC == 4, "Linux mman ABI");
_Static_assert(MAP_SHARED == 1 && MAP_PRIVATE == 2 && MAP_FIXED == 0x10, "Linux mman ABI");
_Static_assert(MAP_ANONYMOUS == 0x20 && MAP_GROWSDOWN == 0x100, "Linux mman ABI");
_Static_assert(MAP_FIXED_NOREPLACE == 0x100000, "Linux mman ABI");
_Static_assert(MREMAP_MAYMOVE == 1 && MREMAP_FIXED == 2, "Linux mman ABI");
_Static_assert(MADV_DONTNEED == 4, "Linux mman ABI");

#define ABI_PROT_MASK (PROT_READ | PROT_WRITE | PROT_EXEC)

/* Lowest address a guest may map (Linux's default vm.mmap_min_addr). */
#define ABI_MMAP_MIN_ADDR UINT64_C(0x10000)

/* End of the x86-64 user half with 4-level paging; the last page below it
 * is kept unmapped, as Linux does. */
#define ABI_USER_END UINT64_C(0x00007ffffffff000)

#endif

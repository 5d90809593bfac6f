/*
 * kernel/elf.h - parse an x86-64 ELF executable into a load plan.
 *
 * The file comes from the sandbox and is untrusted.  elf_parse() reads it
 * with libelf (elf_memory) and checks everything the loader will rely on
 * before it is used: class, byte order, machine, type, program header
 * table bounds, every PT_LOAD's file range, sizes and alignment, the
 * order of the segments, the entry point, and PT_INTERP's string.  What
 * comes out can be mapped without further checks.
 */
#ifndef KSENTRY_KERNEL_ELF_H
#define KSENTRY_KERNEL_ELF_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_LOAD   32  /* PT_LOAD segments we accept */
#define ELF_MAX_PHNUM  128 /* program headers we accept */
#define ELF_MAX_INTERP 256 /* bytes of PT_INTERP, NUL included */

struct elf_load_segment {
	uint64_t vaddr, memsz;  /* where, before the load bias */
	uint64_t offset, filesz; /* what of the file; filesz <= memsz */
	unsigned prot;           /* PROT_READ | PROT_WRITE | PROT_EXEC */
};

struct elf_image {
	uint16_t type;       /* ET_EXEC or ET_DYN */
	uint64_t entry;      /* before the load bias */
	uint64_t phdr_vaddr; /* where the program headers are in memory */
	uint16_t phent, phnum;
	bool has_interp;
	char interp[ELF_MAX_INTERP];
	bool stack_exec; /* PT_GNU_STACK asks for an executable stack */
	struct elf_load_segment segs[ELF_MAX_LOAD];
	size_t nsegs;
	uint64_t min_vaddr, max_vaddr; /* page-rounded span of the segments */
};

/*
 * Parse the @len bytes at @buf.  Returns 0, or -ENOEXEC with a one-line
 * reason in @msg (@msglen bytes) for anything ksentry will not load.
 * Never reads outside @buf.
 */
int elf_parse(const void *buf, size_t len, struct elf_image *img, char *msg, size_t msglen);

/* The load bias that puts @img at @base (ET_DYN), or 0 (ET_EXEC).
 * 0, or -ENOEXEC if it would not fit in the user half. */
int elf_image_load_bias(const struct elf_image *img, uint64_t base, uint64_t *bias);

#endif

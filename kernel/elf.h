/*
 * kernel/elf.h - parse an x86-64 ELF executable into a load plan.
 *
 * execve reads the program file whole and hands the bytes to elf_parse(),
 * which turns them into a struct elf_image: what to map where with which
 * rights, where the entry point and the program headers are, and whether
 * an interpreter is wanted.  The loader (kernel/exec.c) then maps the
 * plan without looking at the file's headers again.
 *
 * The file comes from the sandbox and is untrusted.  elf_parse() reads it
 * with libelf (elf_memory) and checks everything the loader relies on
 * before it is used: class, byte order, machine, type, program header
 * table bounds, every PT_LOAD's file range, sizes and alignment, the
 * order of the segments, the entry point, and PT_INTERP's string.  A plan
 * that comes out can be mapped without further checks, except placing an
 * ET_DYN image, which is elf_image_load_bias()'s job.
 *
 * Addresses in the plan are the file's own (p_vaddr, e_entry): for ET_EXEC
 * they are final, for ET_DYN they are relative to the load bias.
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

/* Largest span [min_vaddr, max_vaddr) of an image: an ET_DYN image must
 * fit in the user half wherever it is put, with room to spare. */
#define ELF_MAX_SPAN (UINT64_C(1) << 46)

/*
 * One PT_LOAD: the file bytes [offset, offset + filesz) go at
 * [vaddr, vaddr + filesz), and [vaddr + filesz, vaddr + memsz) is zero
 * (.bss).  vaddr and offset are congruent modulo the page size, so the
 * segment can be mapped page by page.  Empty segments (memsz 0) are left
 * out of the plan, as Linux maps nothing for them.
 */
struct elf_load_segment {
	uint64_t vaddr, memsz;	 /* where, before the load bias */
	uint64_t offset, filesz; /* what of the file; filesz <= memsz */
	unsigned prot;		 /* PROT_READ | PROT_WRITE | PROT_EXEC */
};

struct elf_image {
	uint16_t type;	/* ET_EXEC or ET_DYN */
	uint64_t entry; /* before the load bias; inside an executable segment */
	/*
	 * Where the program headers are in memory (for AT_PHDR), before the
	 * load bias: PT_PHDR's p_vaddr when there is one, else computed from
	 * the PT_LOAD whose file range holds them (as Linux does), else 0
	 * when they are not loaded at all (then AT_PHDR means nothing, as
	 * under Linux; only hand-made programs are like that).
	 */
	uint64_t phdr_vaddr;
	uint16_t phent, phnum; /* for AT_PHENT and AT_PHNUM */
	bool has_interp;
	char interp[ELF_MAX_INTERP]; /* PT_INTERP's path, NUL-terminated */
	/* PT_GNU_STACK has PF_X.  Without PT_GNU_STACK the stack is not
	 * executable: Linux only defaults to one for 32-bit programs. */
	bool stack_exec;
	struct elf_load_segment segs[ELF_MAX_LOAD]; /* sorted by vaddr, disjoint */
	size_t nsegs;				    /* >= 1 */
	/* Page-rounded span of the segments: min_vaddr is segs[0].vaddr
	 * rounded down, max_vaddr the last segment's end rounded up. */
	uint64_t min_vaddr, max_vaddr;
};

/*
 * Parse the @len bytes at @buf into *@img.
 *
 * Returns 0, or -ENOEXEC for anything ksentry will not load, with a
 * one-line reason in @msg (at most @msglen bytes, NUL included; @msg may
 * be NULL when @msglen is 0).  *@img is meaningful only on success.
 *
 * @buf is only read, never written, and never outside [buf, buf + len);
 * it need not be aligned.  The plan refers to the file by offsets, so the
 * caller keeps @buf for as long as it maps from the plan.  Allocates
 * nothing that outlives the call; does not block; safe to call from
 * several threads at once.
 */
__attribute__((warn_unused_result)) int elf_parse(const void *buf, size_t len,
						  struct elf_image *img, char *msg, size_t msglen);

/*
 * The load bias for @img, into *@bias: what to add to every address of
 * the plan (segment vaddrs, entry, phdr_vaddr) to get the guest address.
 *
 * ET_EXEC: 0, since its addresses are absolute (elf_parse() checked they
 * are in the user half).  ET_DYN: the bias that puts min_vaddr at @base,
 * so the image occupies [base, base + max_vaddr - min_vaddr); it is
 * page aligned and computed modulo 2^64 (an image linked above @base gets
 * a "negative" bias, which addition undoes).
 *
 * @base must be page aligned and at least ABI_MMAP_MIN_ADDR, else
 * -EINVAL.  Returns -ENOEXEC if the image would not end below
 * PLATFORM_USER_END.  Does not check that the range is free: mapping with
 * MAP_FIXED_NOREPLACE does.
 */
__attribute__((warn_unused_result)) int elf_image_load_bias(const struct elf_image *img,
							    uint64_t base, uint64_t *bias);

#endif

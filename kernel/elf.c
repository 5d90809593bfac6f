/*
 * kernel/elf.c - checking an untrusted ELF file into a load plan.
 *
 * libelf does the reading (elf_memory over the caller's buffer, which it
 * only reads: the file is little-endian like the host, so nothing is
 * converted in place), and every number it hands back is checked against
 * the buffer's length with overflow-safe arithmetic before the loader may
 * use it.
 */
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "abi/errno.h"
#include "abi/mman.h"
#include "kernel/elf.h"
#include "platform/platform.h"

/* Largest span of an image: ET_DYN must fit anywhere in the user half. */
#define MAX_SPAN (UINT64_C(1) << 46)

static int __attribute__((format(printf, 3, 4))) fail(char *msg, size_t msglen, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -ENOEXEC;
}

/* Is [off, off + size) inside a buffer of @len bytes? */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
	uint64_t end;

	return !__builtin_add_overflow(off, size, &end) && end <= len;
}

static unsigned prot_of(uint32_t flags)
{
	return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
	       (flags & PF_X ? PROT_EXEC : 0);
}

static int check_header(Elf *e, const GElf_Ehdr *eh, size_t len, char *msg, size_t msglen)
{
	if (gelf_getclass(e) != ELFCLASS64)
		return fail(msg, msglen, "32-bit ELF: only x86-64 programs run here");
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(msg, msglen, "big-endian ELF");
	if (eh->e_machine != EM_X86_64)
		return fail(msg, msglen, "not an x86-64 program (machine %u)", eh->e_machine);
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return fail(msg, msglen, "not an executable (ELF type %u)", eh->e_type);
	if (eh->e_version != EV_CURRENT)
		return fail(msg, msglen, "unknown ELF version %u", eh->e_version);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return fail(msg, msglen, "bad program header size %u", eh->e_phentsize);
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHNUM)
		return fail(msg, msglen, "%u program headers", eh->e_phnum);
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len))
		return fail(msg, msglen, "program headers outside the file");
	return 0;
}

static int add_load(struct elf_image *img, const GElf_Phdr *ph, int i, size_t len, char *msg,
		    size_t msglen)
{
	struct elf_load_segment *s, *prev = img->nsegs ? &img->segs[img->nsegs - 1] : NULL;
	uint64_t end;

	if (ph->p_memsz == 0)
		return 0; /* maps nothing */
	if (img->nsegs == ELF_MAX_LOAD)
		return fail(msg, msglen, "more than %d loadable segments", ELF_MAX_LOAD);
	if (ph->p_filesz > ph->p_memsz)
		return fail(msg, msglen, "segment %d: file size above memory size", i);
	if (!in_file(ph->p_offset, ph->p_filesz, len))
		return fail(msg, msglen, "segment %d: file range outside the file", i);
	if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end) || end > PLATFORM_USER_END)
		return fail(msg, msglen, "segment %d: addresses outside the user half", i);
	if (ph->p_align > 1 && (ph->p_align & (ph->p_align - 1)))
		return fail(msg, msglen, "segment %d: alignment is not a power of two", i);
	if ((ph->p_vaddr & ABI_PAGE_MASK) != (ph->p_offset & ABI_PAGE_MASK))
		return fail(msg, msglen, "segment %d: address and offset disagree mod page size", i);
	if (prev && ph->p_vaddr < prev->vaddr + prev->memsz)
		return fail(msg, msglen, "segment %d: overlapping or out of order", i);

	s = &img->segs[img->nsegs++];
	s->vaddr = ph->p_vaddr;
	s->memsz = ph->p_memsz;
	s->offset = ph->p_offset;
	s->filesz = ph->p_filesz;
	s->prot = prot_of(ph->p_flags);
	return 0;
}

static int add_interp(struct elf_image *img, const unsigned char *buf, const GElf_Phdr *ph,
		      size_t len, char *msg, size_t msglen)
{
	if (!in_file(ph->p_offset, ph->p_filesz, len) || ph->p_filesz < 2 ||
	    ph->p_filesz > ELF_MAX_INTERP)
		return fail(msg, msglen, "bad PT_INTERP");
	memcpy(img->interp, buf + ph->p_offset, ph->p_filesz);
	if (strnlen(img->interp, ph->p_filesz) != ph->p_filesz - 1)
		return fail(msg, msglen, "PT_INTERP is not one NUL-terminated string");
	img->has_interp = true;
	return 0;
}

/* Where are the program headers in memory?  PT_PHDR says, or else the
 * loaded segment whose file range holds them. */
static void find_phdr(struct elf_image *img, uint64_t phoff, bool have_pt_phdr)
{
	uint64_t size = (uint64_t)img->phnum * sizeof(Elf64_Phdr);

	if (have_pt_phdr)
		return;
	for (size_t i = 0; i < img->nsegs; i++) {
		const struct elf_load_segment *s = &img->segs[i];

		if (phoff >= s->offset && phoff + size <= s->offset + s->filesz) {
			img->phdr_vaddr = s->vaddr + (phoff - s->offset);
			return;
		}
	}
}

static int check_layout(struct elf_image *img, char *msg, size_t msglen)
{
	const struct elf_load_segment *last = &img->segs[img->nsegs - 1];
	bool entry_ok = false;
	uint64_t end;

	img->min_vaddr = abi_page_round_down(img->segs[0].vaddr);
	if (!abi_page_round_up(last->vaddr + last->memsz, &end))
		return fail(msg, msglen, "segments reach the top of the address space");
	img->max_vaddr = end;
	if (img->max_vaddr - img->min_vaddr > MAX_SPAN)
		return fail(msg, msglen, "image spans more than 64 TiB");
	if (img->type == ET_EXEC && img->min_vaddr < ABI_MMAP_MIN_ADDR)
		return fail(msg, msglen, "segments below 64 KiB");
	for (size_t i = 0; i < img->nsegs; i++) {
		const struct elf_load_segment *s = &img->segs[i];

		if ((s->prot & PROT_EXEC) && img->entry >= s->vaddr &&
		    img->entry - s->vaddr < s->memsz)
			entry_ok = true;
	}
	if (!entry_ok)
		return fail(msg, msglen, "entry point 0x%lx outside the executable segments",
			    (unsigned long)img->entry);
	return 0;
}

static int parse_phdrs(Elf *e, const unsigned char *buf, size_t len, struct elf_image *img,
		       uint64_t phoff, char *msg, size_t msglen)
{
	bool have_pt_phdr = false;
	int err;

	for (int i = 0; i < img->phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, i, &ph))
			return fail(msg, msglen, "program header %d unreadable", i);
		err = 0;
		switch (ph.p_type) {
		case PT_LOAD:
			err = add_load(img, &ph, i, len, msg, msglen);
			break;
		case PT_INTERP:
			err = img->has_interp ? fail(msg, msglen, "two PT_INTERP headers")
					      : add_interp(img, buf, &ph, len, msg, msglen);
			break;
		case PT_PHDR:
			img->phdr_vaddr = ph.p_vaddr;
			have_pt_phdr = true;
			break;
		case PT_GNU_STACK:
			img->stack_exec = ph.p_flags & PF_X;
			break;
		default:
			break;
		}
		if (err)
			return err;
	}
	if (img->nsegs == 0)
		return fail(msg, msglen, "no loadable segment");
	find_phdr(img, phoff, have_pt_phdr);
	return 0;
}

int elf_parse(const void *buf, size_t len, struct elf_image *img, char *msg, size_t msglen)
{
	GElf_Ehdr eh;
	Elf *e;
	int err;

	memset(img, 0, sizeof(*img));
	if (len < sizeof(Elf64_Ehdr) || memcmp(buf, ELFMAG, SELFMAG) != 0)
		return fail(msg, msglen, "not an ELF file");
	if (elf_version(EV_CURRENT) == EV_NONE)
		return fail(msg, msglen, "libelf: %s", elf_errmsg(-1));
	/* elf_memory only reads a native-endian image (checked below). */
	e = elf_memory((char *)buf, len);
	if (!e)
		return fail(msg, msglen, "libelf: %s", elf_errmsg(-1));
	err = -ENOEXEC;
	if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		fail(msg, msglen, "not an ELF file");
		goto out_end;
	}
	err = check_header(e, &eh, len, msg, msglen);
	if (err)
		goto out_end;
	img->type = eh.e_type;
	img->entry = eh.e_entry;
	img->phent = eh.e_phentsize;
	img->phnum = eh.e_phnum;
	err = parse_phdrs(e, buf, len, img, eh.e_phoff, msg, msglen);
	if (!err)
		err = check_layout(img, msg, msglen);
out_end:
	elf_end(e);
	return err;
}

int elf_image_load_bias(const struct elf_image *img, uint64_t base, uint64_t *bias)
{
	uint64_t end;

	if (img->type == ET_EXEC) {
		*bias = 0;
		return 0;
	}
	base = abi_page_round_down(base);
	if (__builtin_add_overflow(base, img->max_vaddr - img->min_vaddr, &end) ||
	    end > PLATFORM_USER_END)
		return -ENOEXEC;
	*bias = base - img->min_vaddr;
	return 0;
}

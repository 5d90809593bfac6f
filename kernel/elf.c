/*
 * kernel/elf.c - checking an untrusted ELF file into a load plan.
 *
 * Three passes over the file, each trusting only what the one before it
 * checked:
 *
 *   1. The identification bytes, read by hand: magic, class, byte order,
 *      ident version.  libelf would accept a 32-bit or big-endian file
 *      (and convert it); we want to say precisely why it is refused.
 *   2. The ELF header, through libelf (elf_memory, gelf_getehdr): machine,
 *      type, version, and the program header table's entry size, count
 *      and file range.
 *   3. Each program header (gelf_getphdr): PT_LOAD segments become the
 *      plan after their file range, sizes, address range, alignment and
 *      order are checked; PT_INTERP, PT_PHDR and PT_GNU_STACK are noted.
 *      Then the plan as a whole: its span and the entry point.
 *
 * libelf only reads the caller's buffer: elf_memory() takes a char *, but
 * for a little-endian file (the only kind that gets past pass 1) it points
 * into the image or copies out of it, and never converts in place.  The
 * test suite parses a read-only mapping to hold it to that.
 *
 * Every number from the file is checked with overflow-safe arithmetic
 * against the buffer's length or the user half before anything adds to
 * it, so later code (exec.c) can do plain arithmetic on the plan.
 */
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "abi/errno.h"
#include "abi/mman.h"
#include "abi/page.h"
#include "kernel/elf.h"
#include "platform/platform.h"

/* Write the reason for refusing the file into @msg; returns -ENOEXEC. */
static int __attribute__((format(printf, 3, 4)))
fail(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msg && msglen) {
		va_start(ap, fmt);
		vsnprintf(msg, msglen, fmt, ap);
		va_end(ap);
	}
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

/* Pass 1: the e_ident bytes, before libelf sees the file. */
static int check_ident(const unsigned char *b, size_t len, char *msg, size_t msglen)
{
	if (len < SELFMAG || memcmp(b, ELFMAG, SELFMAG) != 0)
		return fail(msg, msglen, "not an ELF file");
	if (len < EI_NIDENT)
		return fail(msg, msglen, "truncated ELF header");
	if (b[EI_CLASS] == ELFCLASS32)
		return fail(msg, msglen, "32-bit ELF: only x86-64 programs run here");
	if (b[EI_CLASS] != ELFCLASS64)
		return fail(msg, msglen, "unknown ELF class %u", b[EI_CLASS]);
	if (b[EI_DATA] == ELFDATA2MSB)
		return fail(msg, msglen, "big-endian ELF: not an x86-64 program");
	if (b[EI_DATA] != ELFDATA2LSB)
		return fail(msg, msglen, "unknown ELF byte order %u", b[EI_DATA]);
	if (b[EI_VERSION] != EV_CURRENT)
		return fail(msg, msglen, "unknown ELF version %u", b[EI_VERSION]);
	if (len < sizeof(Elf64_Ehdr))
		return fail(msg, msglen, "truncated ELF header");
	return 0;
}

/* Pass 2: the ELF header proper and the program header table's place. */
static int check_header(Elf *e, const GElf_Ehdr *eh, size_t len, char *msg, size_t msglen)
{
	size_t phnum;

	if (eh->e_machine != EM_X86_64)
		return fail(msg, msglen, "not an x86-64 program (machine %u)", eh->e_machine);
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return fail(msg, msglen, "not an executable (ELF type %u)", eh->e_type);
	if (eh->e_version != EV_CURRENT)
		return fail(msg, msglen, "unknown ELF version %u", eh->e_version);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return fail(msg, msglen, "bad program header size %u", eh->e_phentsize);
	/* PN_XNUM would move the count into section 0: far above our cap. */
	if (eh->e_phnum > ELF_MAX_PHNUM)
		return fail(msg, msglen, "too many program headers (%u)", eh->e_phnum);
	if (eh->e_phnum == 0)
		return fail(msg, msglen, "no program headers");
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len))
		return fail(msg, msglen, "program headers outside the file");
	/* libelf must see the same table, or gelf_getphdr() would fail. */
	if (elf_getphdrnum(e, &phnum) != 0 || phnum != eh->e_phnum)
		return fail(msg, msglen, "program header table unreadable");
	return 0;
}

/* Check one PT_LOAD and append it to the plan. */
static int add_load(struct elf_image *img, const GElf_Phdr *ph, int i, size_t len, char *msg,
		    size_t msglen)
{
	struct elf_load_segment *s, *prev = img->nsegs ? &img->segs[img->nsegs - 1] : NULL;
	uint64_t end;

	if (ph->p_filesz > ph->p_memsz)
		return fail(msg, msglen, "segment %d: file size above memory size", i);
	if (ph->p_memsz == 0)
		return 0; /* maps nothing */
	if (!in_file(ph->p_offset, ph->p_filesz, len))
		return fail(msg, msglen, "segment %d: file range outside the file", i);
	/* PLATFORM_USER_END is page aligned, so rounding the end up stays
	 * below it too.  For ET_DYN this bounds the relative addresses; the
	 * span check and elf_image_load_bias() bound the placed ones. */
	if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end) || end > PLATFORM_USER_END)
		return fail(msg, msglen, "segment %d: addresses outside the user half", i);
	if (ph->p_align > 1 && (ph->p_align & (ph->p_align - 1)))
		return fail(msg, msglen, "segment %d: alignment is not a power of two", i);
	if ((ph->p_vaddr & ABI_PAGE_MASK) != (ph->p_offset & ABI_PAGE_MASK))
		return fail(msg, msglen, "segment %d: address and offset disagree mod page size",
			    i);
	/*
	 * The loader maps segments in order and lets two share a page (the
	 * page gets both rights, as under Linux), but two segments must
	 * never claim the same bytes: the second copy would silently win.
	 */
	if (prev && ph->p_vaddr < prev->vaddr)
		return fail(msg, msglen, "segment %d: PT_LOAD segments out of order", i);
	if (prev && ph->p_vaddr < prev->vaddr + prev->memsz)
		return fail(msg, msglen, "segment %d: overlapping PT_LOAD segments", i);
	if (img->nsegs == ELF_MAX_LOAD)
		return fail(msg, msglen, "more than %d loadable segments", ELF_MAX_LOAD);

	s = &img->segs[img->nsegs++];
	s->vaddr = ph->p_vaddr;
	s->memsz = ph->p_memsz;
	s->offset = ph->p_offset;
	s->filesz = ph->p_filesz;
	s->prot = prot_of(ph->p_flags);
	return 0;
}

/* Copy PT_INTERP's path.  Like Linux, the last byte must be the NUL; we
 * also refuse an empty path. */
static int add_interp(struct elf_image *img, const unsigned char *buf, const GElf_Phdr *ph,
		      size_t len, char *msg, size_t msglen)
{
	if (img->has_interp)
		return fail(msg, msglen, "two PT_INTERP headers");
	if (!in_file(ph->p_offset, ph->p_filesz, len))
		return fail(msg, msglen, "PT_INTERP outside the file");
	if (ph->p_filesz > ELF_MAX_INTERP)
		return fail(msg, msglen, "PT_INTERP longer than %d bytes", ELF_MAX_INTERP - 1);
	if (ph->p_filesz < 2 || buf[ph->p_offset] == '\0')
		return fail(msg, msglen, "PT_INTERP is empty");
	if (buf[ph->p_offset + ph->p_filesz - 1] != '\0')
		return fail(msg, msglen, "PT_INTERP is not NUL-terminated");
	memcpy(img->interp, buf + ph->p_offset, ph->p_filesz);
	img->has_interp = true;
	return 0;
}

/* Where are the program headers in memory, when no PT_PHDR says?  In the
 * loaded segment whose file bytes hold the whole table, if any. */
static void find_phdr(struct elf_image *img, uint64_t phoff)
{
	/* check_header() showed phoff + size is inside the file. */
	uint64_t size = (uint64_t)img->phnum * sizeof(Elf64_Phdr);

	for (size_t i = 0; i < img->nsegs; i++) {
		const struct elf_load_segment *s = &img->segs[i];

		if (phoff >= s->offset && phoff + size <= s->offset + s->filesz) {
			img->phdr_vaddr = s->vaddr + (phoff - s->offset);
			return;
		}
	}
}

/* Pass 3: each program header. */
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
			err = add_interp(img, buf, &ph, len, msg, msglen);
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
	if (!have_pt_phdr)
		find_phdr(img, phoff);
	return 0;
}

/* The plan as a whole: its span, and an entry point that can run. */
static int check_layout(struct elf_image *img, char *msg, size_t msglen)
{
	const struct elf_load_segment *last = &img->segs[img->nsegs - 1];
	bool entry_ok = false;

	/* Sorted and disjoint, so the last segment ends highest.  add_load()
	 * kept every end at or below the page-aligned PLATFORM_USER_END, so
	 * rounding up cannot overflow. */
	img->min_vaddr = abi_page_round_down(img->segs[0].vaddr);
	if (!abi_page_round_up(last->vaddr + last->memsz, &img->max_vaddr))
		return fail(msg, msglen, "segments reach the top of the address space");
	if (img->max_vaddr - img->min_vaddr > ELF_MAX_SPAN)
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
		return fail(msg, msglen, "entry point 0x%llx outside the executable segments",
			    (unsigned long long)img->entry);
	return 0;
}

int elf_parse(const void *buf, size_t len, struct elf_image *img, char *msg, size_t msglen)
{
	GElf_Ehdr eh;
	Elf *e;
	int err;

	memset(img, 0, sizeof(*img));
	if (msg && msglen)
		msg[0] = '\0';
	if (!buf)
		return fail(msg, msglen, "not an ELF file");
	err = check_ident(buf, len, msg, msglen);
	if (err)
		return err;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return fail(msg, msglen, "libelf: %s", elf_errmsg(-1));
	e = elf_memory((char *)buf, len);
	if (!e)
		return fail(msg, msglen, "unreadable ELF file: %s", elf_errmsg(-1));
	if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		err = fail(msg, msglen, "unreadable ELF header: %s", elf_errmsg(-1));
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
	if (!abi_page_aligned(base) || base < ABI_MMAP_MIN_ADDR)
		return -EINVAL;
	if (__builtin_add_overflow(base, img->max_vaddr - img->min_vaddr, &end) ||
	    end > PLATFORM_USER_END)
		return -ENOEXEC;
	*bias = base - img->min_vaddr;
	return 0;
}

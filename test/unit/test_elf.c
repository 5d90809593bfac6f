/*
 * Unit tests for kernel/elf.h.
 *
 * Two kinds of input.  /bin/busybox (Debian's busybox-static) is a real
 * static program: it must parse into exactly the plan its own program
 * headers describe, and flipping one field of it must be refused with
 * the right reason.  Tiny files built here byte by byte (ehdr + phdrs +
 * padding) reach the cases no real linker emits: PIE layouts, PT_PHDR,
 * PT_INTERP, shared pages, overlaps, absurd spans.
 *
 * Hostile input (truncations, thousands of random mutations) must be
 * -ENOEXEC with a reason, never a crash; the sanitize build turns any
 * read outside the buffer into a failure, and a read-only mapping turns
 * any write into one.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi/errno.h"
#include "abi/mman.h"
#include "kernel/elf.h"
#include "platform/platform.h"

static unsigned char *file;
static size_t file_len;
static struct elf_image img;
static char msg[256];

/* Load /bin/busybox (Debian's busybox-static) into memory. */
static void load_busybox(void)
{
	struct stat st;
	int fd = open("/bin/busybox", O_RDONLY);

	cr_assert_geq(fd, 0, "/bin/busybox (busybox-static) is needed");
	cr_assert_eq(fstat(fd, &st), 0);
	file_len = (size_t)st.st_size;
	file = malloc(file_len);
	cr_assert_not_null(file);
	cr_assert_eq(read(fd, file, file_len), (ssize_t)file_len);
	close(fd);
}

static void drop(void)
{
	free(file);
}

TestSuite(elf, .init = load_busybox, .fini = drop);

static Elf64_Ehdr *eh(const unsigned char *buf)
{
	return (Elf64_Ehdr *)buf;
}

static Elf64_Phdr *ph(const unsigned char *buf, int i)
{
	return (Elf64_Phdr *)(buf + eh(buf)->e_phoff) + i;
}

static int first_phdr(const unsigned char *buf, uint32_t type)
{
	for (int i = 0; i < eh(buf)->e_phnum; i++)
		if (ph(buf, i)->p_type == type)
			return i;
	return -1;
}

static unsigned prot_of(uint32_t f)
{
	return (f & PF_R ? PROT_READ : 0) | (f & PF_W ? PROT_WRITE : 0) |
	       (f & PF_X ? PROT_EXEC : 0);
}

/*
 * What the loader relies on, checked from the outside: any plan
 * elf_parse() accepts, from any input, must pass this.
 */
static void check_plan(const struct elf_image *im, size_t len)
{
	const struct elf_load_segment *last = &im->segs[im->nsegs - 1];
	bool entry_ok = false;
	uint64_t end;

	cr_assert(im->type == ET_EXEC || im->type == ET_DYN);
	cr_assert(im->nsegs >= 1 && im->nsegs <= ELF_MAX_LOAD, "nsegs %zu", im->nsegs);
	cr_assert_eq(im->phent, sizeof(Elf64_Phdr));
	cr_assert(im->phnum >= 1 && im->phnum <= ELF_MAX_PHNUM);
	for (size_t i = 0; i < im->nsegs; i++) {
		const struct elf_load_segment *s = &im->segs[i];

		cr_assert_gt(s->memsz, 0);
		cr_assert_leq(s->filesz, s->memsz);
		cr_assert(!__builtin_add_overflow(s->offset, s->filesz, &end) && end <= len,
			  "segment %zu outside the file", i);
		cr_assert(!__builtin_add_overflow(s->vaddr, s->memsz, &end) &&
			  end <= PLATFORM_USER_END);
		cr_assert_eq((s->vaddr - s->offset) % 4096, 0);
		cr_assert_eq(s->prot & ~(unsigned)ABI_PROT_MASK, 0);
		if (i)
			cr_assert_geq(s->vaddr, im->segs[i - 1].vaddr + im->segs[i - 1].memsz,
				      "segments sorted and disjoint");
		if ((s->prot & PROT_EXEC) && im->entry >= s->vaddr &&
		    im->entry - s->vaddr < s->memsz)
			entry_ok = true;
	}
	cr_assert(entry_ok, "entry inside an executable segment");
	cr_assert_eq(im->min_vaddr, im->segs[0].vaddr & ~UINT64_C(4095));
	cr_assert_geq(im->max_vaddr, last->vaddr + last->memsz);
	cr_assert_lt(im->max_vaddr - (last->vaddr + last->memsz), 4096);
	cr_assert_eq(im->max_vaddr % 4096, 0);
	cr_assert_leq(im->max_vaddr - im->min_vaddr, ELF_MAX_SPAN);
	if (im->type == ET_EXEC)
		cr_assert_geq(im->min_vaddr, ABI_MMAP_MIN_ADDR);
	if (im->has_interp)
		cr_assert(im->interp[0] != '\0' &&
			  strnlen(im->interp, sizeof(im->interp)) < sizeof(im->interp));
}

/* ---- busybox: a real static program -------------------------------- */

Test(elf, busybox_matches_its_program_headers)
{
	int phdr = first_phdr(file, PT_PHDR), stack = first_phdr(file, PT_GNU_STACK);
	bool rx = false, rw = false;
	size_t n = 0;

	cr_assert_eq(elf_parse(file, file_len, &img, msg, sizeof(msg)), 0, "%s", msg);
	check_plan(&img, file_len);
	cr_assert_eq(img.type, eh(file)->e_type);
	cr_assert_eq(img.entry, eh(file)->e_entry);
	cr_assert_eq(img.phnum, eh(file)->e_phnum);
	cr_assert(!img.has_interp, "busybox-static has no interpreter");
	cr_assert_eq(msg[0], '\0', "no message on success");

	/* The plan is the file's non-empty PT_LOADs, in order, verbatim. */
	for (int i = 0; i < eh(file)->e_phnum; i++) {
		const Elf64_Phdr *p = ph(file, i);

		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		cr_assert_lt(n, img.nsegs);
		cr_assert_eq(img.segs[n].vaddr, p->p_vaddr);
		cr_assert_eq(img.segs[n].memsz, p->p_memsz);
		cr_assert_eq(img.segs[n].offset, p->p_offset);
		cr_assert_eq(img.segs[n].filesz, p->p_filesz);
		cr_assert_eq(img.segs[n].prot, prot_of(p->p_flags), "segment %zu prot", n);
		rx |= img.segs[n].prot == (PROT_READ | PROT_EXEC);
		rw |= img.segs[n].prot == (PROT_READ | PROT_WRITE);
		n++;
	}
	cr_assert_eq(n, img.nsegs);
	cr_assert(rx && rw, "a text and a data segment");

	/* AT_PHDR: PT_PHDR, or the segment holding e_phoff. */
	if (phdr >= 0) {
		cr_assert_eq(img.phdr_vaddr, ph(file, phdr)->p_vaddr);
	} else {
		const struct elf_load_segment *s = &img.segs[0];

		cr_assert_leq(s->offset, eh(file)->e_phoff);
		cr_assert_eq(img.phdr_vaddr, s->vaddr + eh(file)->e_phoff - s->offset);
	}
	cr_assert_eq(img.stack_exec, stack >= 0 && (ph(file, stack)->p_flags & PF_X));
}

/* libelf must not write to the file: parse it from a read-only mapping. */
Test(elf, parses_a_read_only_mapping)
{
	int fd = open("/bin/busybox", O_RDONLY);
	void *map, *ro;

	cr_assert_geq(fd, 0);
	map = mmap(NULL, file_len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	cr_assert_neq(map, MAP_FAILED);
	cr_assert_eq(elf_parse(map, file_len, &img, msg, sizeof(msg)), 0, "%s", msg);
	munmap(map, file_len);

	/* A big-endian file is the one libelf would convert: refuse it
	 * before libelf gets the chance, still without writing. */
	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(ro, MAP_FAILED);
	memcpy(ro, file, 4096);
	((unsigned char *)ro)[EI_DATA] = ELFDATA2MSB;
	cr_assert_eq(mprotect(ro, 4096, PROT_READ), 0);
	cr_assert_eq(elf_parse(ro, 4096, &img, msg, sizeof(msg)), -ENOEXEC);
	cr_assert_not_null(strstr(msg, "big-endian"), "%s", msg);
	munmap(ro, 4096);
}

Test(elf, parses_an_unaligned_buffer)
{
	unsigned char *copy = malloc(file_len + 1);
	struct elf_image aligned;

	cr_assert_eq(elf_parse(file, file_len, &aligned, msg, sizeof(msg)), 0, "%s", msg);
	memcpy(copy + 1, file, file_len);
	cr_assert_eq(elf_parse(copy + 1, file_len, &img, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(img.entry, aligned.entry);
	cr_assert_eq(img.phdr_vaddr, aligned.phdr_vaddr);
	cr_assert_eq(img.nsegs, aligned.nsegs);
	cr_assert_eq(memcmp(img.segs, aligned.segs, sizeof(img.segs)), 0);
	free(copy);
}

Test(elf, message_buffer_may_be_small_or_absent)
{
	char tiny[8];

	memset(tiny, 'x', sizeof(tiny));
	cr_assert_eq(elf_parse(file, 3, &img, tiny, sizeof(tiny)), -ENOEXEC);
	cr_assert_eq(strlen(tiny), sizeof(tiny) - 1, "truncated and NUL-terminated");
	cr_assert_eq(elf_parse(file, 3, &img, NULL, 0), -ENOEXEC);
	cr_assert_eq(elf_parse(NULL, 100, &img, msg, sizeof(msg)), -ENOEXEC);
	cr_assert_eq(elf_parse(file, file_len, &img, NULL, 0), 0);
}

/*
 * Every cut of the file that loses part of a loaded segment or of the
 * headers is refused.  A cut that only loses what follows (section
 * headers, symbols) still loads, as under Linux, which never reads them.
 */
Test(elf, every_truncation_is_enoexec)
{
	size_t lens[2000], n = 0;
	uint64_t needed = eh(file)->e_phoff + eh(file)->e_phnum * sizeof(Elf64_Phdr);

	for (int i = 0; i < eh(file)->e_phnum; i++) {
		const Elf64_Phdr *p = ph(file, i);

		if (p->p_type == PT_LOAD && p->p_offset + p->p_filesz > needed)
			needed = p->p_offset + p->p_filesz;
	}
	cr_assert_lt(needed, file_len, "busybox has sections after its segments");

	for (size_t len = 0; len <= 256; len++)
		lens[n++] = len;
	for (size_t len = 257; len < 4096; len += 7)
		lens[n++] = len;
	for (size_t k = 1; k < 800; k++)
		lens[n++] = file_len / 800 * k;
	lens[n++] = needed - 1;
	lens[n++] = needed;
	lens[n++] = file_len - 1;
	cr_assert_leq(n, sizeof(lens) / sizeof(lens[0]));
	for (size_t i = 0; i < n; i++) {
		size_t len = lens[i];
		/* An exact-size copy, so ASan sees any read past the cut. */
		unsigned char *cut = malloc(len ? len : 1);
		int err;

		memcpy(cut, file, len);
		msg[0] = '\0';
		err = elf_parse(cut, len, &img, msg, sizeof(msg));
		if (len < needed) {
			cr_assert_eq(err, -ENOEXEC, "len %zu", len);
			cr_assert_neq(msg[0], '\0', "len %zu has a reason", len);
		} else {
			cr_assert_eq(err, 0, "len %zu: %s", len, msg);
			check_plan(&img, len);
		}
		free(cut);
	}
}

/* Parse a modified copy of busybox; expect -ENOEXEC with @why in msg. */
static void expect_rejected(void (*mutate)(unsigned char *), const char *why)
{
	unsigned char *copy = malloc(file_len);

	memcpy(copy, file, file_len);
	mutate(copy);
	msg[0] = '\0';
	cr_assert_eq(elf_parse(copy, file_len, &img, msg, sizeof(msg)), -ENOEXEC, "%s", why);
	cr_assert_not_null(strstr(msg, why), "message '%s' lacks '%s'", msg, why);
	free(copy);
}

static Elf64_Phdr *load0(unsigned char *b)
{
	return ph(b, first_phdr(b, PT_LOAD));
}

/* clang-format off */
static void bad_magic(unsigned char *b) { b[1] = 'X'; }
static void bad_class(unsigned char *b) { b[EI_CLASS] = ELFCLASS32; }
static void bad_class2(unsigned char *b) { b[EI_CLASS] = 7; }
static void bad_data(unsigned char *b) { b[EI_DATA] = ELFDATA2MSB; }
static void bad_data2(unsigned char *b) { b[EI_DATA] = 0; }
static void bad_ident_version(unsigned char *b) { b[EI_VERSION] = 2; }
static void bad_version(unsigned char *b) { eh(b)->e_version = 9; }
static void bad_machine(unsigned char *b) { eh(b)->e_machine = EM_AARCH64; }
static void bad_type(unsigned char *b) { eh(b)->e_type = ET_REL; }
static void bad_type_core(unsigned char *b) { eh(b)->e_type = ET_CORE; }
static void bad_phentsize(unsigned char *b) { eh(b)->e_phentsize = 40; }
static void bad_phnum(unsigned char *b) { eh(b)->e_phnum = 0xffff; }
static void bad_phnum129(unsigned char *b) { eh(b)->e_phnum = ELF_MAX_PHNUM + 1; }
static void no_phdrs(unsigned char *b) { eh(b)->e_phnum = 0; }
static void bad_phoff(unsigned char *b) { eh(b)->e_phoff = (Elf64_Off)-8; }
static void bad_phoff_end(unsigned char *b) { eh(b)->e_phoff = file_len - 100; }
static void bad_offset(unsigned char *b) { load0(b)->p_offset = (Elf64_Off)1 << 40; }
static void bad_filesz(unsigned char *b) { load0(b)->p_filesz = load0(b)->p_memsz + 1; }
static void bad_memsz(unsigned char *b) { load0(b)->p_memsz = (Elf64_Xword)-1; }
static void bad_entry(unsigned char *b) { eh(b)->e_entry = 0x10; }
static void bad_align(unsigned char *b) { load0(b)->p_align = 3 << 12; }
static void bad_congruence(unsigned char *b) { load0(b)->p_vaddr += 8; }
/* clang-format on */

static void bad_offset_wrap(unsigned char *b)
{
	load0(b)->p_offset = (Elf64_Off)-4096;
	load0(b)->p_vaddr = 0x400000;
}
static void bad_vaddr(unsigned char *b)
{
	load0(b)->p_vaddr = (Elf64_Addr)-4096 + (load0(b)->p_offset & 4095);
}
static void vaddr_above_user(unsigned char *b)
{
	load0(b)->p_vaddr = PLATFORM_USER_END + (load0(b)->p_offset & 4095);
}
static void entry_in_data(unsigned char *b)
{
	/* The last PT_LOAD of busybox is its writable data. */
	int last = -1;

	for (int i = 0; i < eh(b)->e_phnum; i++)
		if (ph(b, i)->p_type == PT_LOAD)
			last = i;
	eh(b)->e_entry = ph(b, last)->p_vaddr;
}
static void out_of_order(unsigned char *b)
{
	int i = first_phdr(b, PT_LOAD);
	Elf64_Phdr t = *ph(b, i);

	*ph(b, i) = *ph(b, i + 1);
	*ph(b, i + 1) = t;
}
static void overlapping(unsigned char *b)
{
	int i = first_phdr(b, PT_LOAD);

	ph(b, i)->p_memsz = ph(b, i + 1)->p_vaddr - ph(b, i)->p_vaddr + 1;
}
static void no_load(unsigned char *b)
{
	for (int i = 0; i < eh(b)->e_phnum; i++)
		if (ph(b, i)->p_type == PT_LOAD)
			ph(b, i)->p_type = PT_NOTE;
}
static void bad_interp(unsigned char *b)
{
	/* Turn the last program header (not a PT_LOAD in busybox) into a
	 * PT_INTERP whose string, at the end of the file, has no NUL. */
	Elf64_Phdr *p = ph(b, eh(b)->e_phnum - 1);

	p->p_type = PT_INTERP;
	p->p_offset = file_len - 16;
	p->p_filesz = 16;
	memset(b + p->p_offset, 'A', 16);
}
static void interp_past_end(unsigned char *b)
{
	Elf64_Phdr *p = ph(b, eh(b)->e_phnum - 1);

	p->p_type = PT_INTERP;
	p->p_offset = file_len - 8;
	p->p_filesz = 16;
}
static void interp_huge(unsigned char *b)
{
	Elf64_Phdr *p = ph(b, eh(b)->e_phnum - 1);

	p->p_type = PT_INTERP;
	p->p_offset = 0;
	p->p_filesz = file_len;
}

Test(elf, hostile_headers_are_rejected_with_a_reason)
{
	expect_rejected(bad_magic, "not an ELF file");
	expect_rejected(bad_class, "32-bit");
	expect_rejected(bad_class2, "unknown ELF class");
	expect_rejected(bad_data, "big-endian");
	expect_rejected(bad_data2, "byte order");
	expect_rejected(bad_ident_version, "unknown ELF version");
	expect_rejected(bad_version, "unknown ELF version");
	expect_rejected(bad_machine, "not an x86-64 program");
	expect_rejected(bad_type, "not an executable");
	expect_rejected(bad_type_core, "not an executable");
	expect_rejected(bad_phentsize, "program header size");
	expect_rejected(bad_phnum, "too many program headers");
	expect_rejected(bad_phnum129, "too many program headers");
	expect_rejected(no_phdrs, "no program headers");
	expect_rejected(bad_phoff, "program headers outside the file");
	expect_rejected(bad_phoff_end, "program headers outside the file");
	expect_rejected(bad_offset, "file range outside the file");
	expect_rejected(bad_offset_wrap, "file range outside the file");
	expect_rejected(bad_filesz, "file size above memory size");
	expect_rejected(bad_vaddr, "outside the user half");
	expect_rejected(vaddr_above_user, "outside the user half");
	expect_rejected(bad_memsz, "outside the user half");
	expect_rejected(bad_entry, "entry point");
	expect_rejected(entry_in_data, "entry point");
	expect_rejected(bad_align, "power of two");
	expect_rejected(bad_congruence, "mod page size");
	expect_rejected(out_of_order, "out of order");
	expect_rejected(overlapping, "overlapping PT_LOAD segments");
	expect_rejected(no_load, "no loadable segment");
	expect_rejected(bad_interp, "PT_INTERP is not NUL-terminated");
	expect_rejected(interp_past_end, "PT_INTERP outside the file");
	expect_rejected(interp_huge, "PT_INTERP longer");
}

/* ---- tiny hand-built files ---------------------------------------- */

#define TINY_SIZE 0x3000
#define TINY_MAX  40

/*
 * A small static-PIE-shaped file: the headers in a read-only first
 * segment, text at 0x1000, data at 0x2800 whose file bytes end the file,
 * and a non-executable stack.  Tests edit t.ph[] and t.e and rebuild.
 */
struct tiny {
	Elf64_Ehdr e;
	Elf64_Phdr ph[TINY_MAX];
	int n;
	_Alignas(8) unsigned char b[TINY_SIZE];
};

static void tiny_init(struct tiny *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->e.e_ident, ELFMAG, SELFMAG);
	t->e.e_ident[EI_CLASS] = ELFCLASS64;
	t->e.e_ident[EI_DATA] = ELFDATA2LSB;
	t->e.e_ident[EI_VERSION] = EV_CURRENT;
	t->e.e_type = ET_DYN;
	t->e.e_machine = EM_X86_64;
	t->e.e_version = EV_CURRENT;
	t->e.e_entry = 0x1000;
	t->e.e_phoff = sizeof(Elf64_Ehdr);
	t->e.e_ehsize = sizeof(Elf64_Ehdr);
	t->e.e_phentsize = sizeof(Elf64_Phdr);
	/* type, flags, offset, vaddr, paddr, filesz, memsz, align */
	t->ph[0] = (Elf64_Phdr){PT_LOAD, PF_R, 0, 0, 0, 0x1000, 0x1000, 0x1000};
	t->ph[1] = (Elf64_Phdr){PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 0x1000, 0x800, 0x800, 0x1000};
	t->ph[2] =
	    (Elf64_Phdr){PT_LOAD, PF_R | PF_W, 0x2800, 0x2800, 0x2800, 0x800, 0x2000, 0x1000};
	t->ph[3] = (Elf64_Phdr){PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 0, 16};
	t->n = 4;
}

static unsigned char *tiny_build(struct tiny *t)
{
	t->e.e_phnum = (Elf64_Half)t->n;
	memset(t->b, 0x90, sizeof(t->b));
	memcpy(t->b, &t->e, sizeof(t->e));
	memcpy(t->b + t->e.e_phoff, t->ph, (size_t)t->n * sizeof(Elf64_Phdr));
	return t->b;
}

static int tiny_parse(struct tiny *t)
{
	msg[0] = '\0';
	return elf_parse(tiny_build(t), TINY_SIZE, &img, msg, sizeof(msg));
}

static void tiny_rejected(struct tiny *t, const char *why)
{
	cr_assert_eq(tiny_parse(t), -ENOEXEC, "%s", why);
	cr_assert_not_null(strstr(msg, why), "message '%s' lacks '%s'", msg, why);
}

Test(elf, tiny_pie_parses)
{
	struct tiny t;

	tiny_init(&t);
	cr_assert_eq(tiny_parse(&t), 0, "%s", msg);
	check_plan(&img, TINY_SIZE);
	cr_assert_eq(img.type, ET_DYN);
	cr_assert_eq(img.entry, 0x1000);
	cr_assert_eq(img.nsegs, 3);
	cr_assert_eq(img.segs[0].prot, PROT_READ);
	cr_assert_eq(img.segs[1].prot, PROT_READ | PROT_EXEC);
	cr_assert_eq(img.segs[2].prot, PROT_READ | PROT_WRITE);
	cr_assert_eq(img.segs[2].filesz, 0x800);
	cr_assert_eq(img.segs[2].memsz, 0x2000);
	cr_assert_eq(img.min_vaddr, 0);
	cr_assert_eq(img.max_vaddr, 0x5000, "0x2800 + 0x2000 rounded up");
	cr_assert_eq(img.phdr_vaddr, sizeof(Elf64_Ehdr), "headers found in segment 0");
	cr_assert_eq(img.phnum, 4);
	cr_assert(!img.stack_exec);
	cr_assert(!img.has_interp);
}

/* The tiny file's last byte belongs to a segment: every cut is refused. */
Test(elf, tiny_every_truncation_is_enoexec)
{
	struct tiny t;

	tiny_init(&t);
	tiny_build(&t);
	for (size_t len = 0; len < TINY_SIZE; len++) {
		unsigned char *cut = malloc(len ? len : 1);

		memcpy(cut, t.b, len);
		cr_assert_eq(elf_parse(cut, len, &img, msg, sizeof(msg)), -ENOEXEC, "len %zu", len);
		free(cut);
	}
}

Test(elf, tiny_headers)
{
	struct tiny t;

	/* PT_PHDR wins over the computed place. */
	tiny_init(&t);
	t.ph[t.n++] = (Elf64_Phdr){PT_PHDR, PF_R, 0x40, 0x48, 0x48, 0xe0, 0xe0, 8};
	cr_assert_eq(tiny_parse(&t), 0, "%s", msg);
	cr_assert_eq(img.phdr_vaddr, 0x48);

	/* Headers in no segment: AT_PHDR has nothing to point at. */
	tiny_init(&t);
	t.ph[0].p_offset = t.ph[0].p_vaddr = 0x800;
	t.ph[0].p_filesz = t.ph[0].p_memsz = 0x100;
	cr_assert_eq(tiny_parse(&t), 0, "%s", msg);
	cr_assert_eq(img.phdr_vaddr, 0);
	cr_assert_eq(img.min_vaddr, 0, "0x800 rounded down");

	/* Executable stack. */
	tiny_init(&t);
	t.ph[3].p_flags |= PF_X;
	cr_assert_eq(tiny_parse(&t), 0, "%s", msg);
	cr_assert(img.stack_exec);

	/* Empty PT_LOADs map nothing and are left out. */
	tiny_init(&t);
	t.ph[t.n++] = (Elf64_Phdr){PT_LOAD, PF_R, 0, 0x9000, 0x9000, 0, 0, 0x1000};
	cr_assert_eq(tiny_parse(&t), 0, "%s", msg);
	cr_assert_eq(img.nsegs, 3);
	cr_assert_eq(img.max_vaddr, 0x5000);

	/* Two segments may share a page, not a byte. */
	tiny_init(&t);
	t.ph[2].p_offset = t.ph[2].p_vaddr = 0x1800;
	cr_assert_eq(tiny_parse(&t), 0, "%s", msg);
	cr_assert_eq(img.nsegs, 3);
	t.ph[2].p_offset = t.ph[2].p_vaddr = 0x17f8;
	tiny_rejected(&t, "overlapping PT_LOAD segments");

	/* An ET_EXEC must stay above the first 64 KiB. */
	tiny_init(&t);
	t.e.e_type = ET_EXEC;
	tiny_rejected(&t, "below 64 KiB");
	for (int i = 0; i < 3; i++)
		t.ph[i].p_vaddr += 0x400000;
	t.e.e_entry += 0x400000;
	cr_assert_eq(tiny_parse(&t), 0, "%s", msg);
	cr_assert_eq(img.min_vaddr, 0x400000);
	cr_assert_eq(img.phdr_vaddr, 0x400040);
}

Test(elf, tiny_interp)
{
	static const char ld[] = "/lib64/ld-linux-x86-64.so.2";
	struct tiny t;

	tiny_init(&t);
	t.ph[t.n++] = (Elf64_Phdr){PT_INTERP, PF_R, 0x400, 0x400, 0x400, sizeof(ld), sizeof(ld), 1};
	tiny_build(&t);
	memcpy(t.b + 0x400, ld, sizeof(ld));
	cr_assert_eq(elf_parse(t.b, TINY_SIZE, &img, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert(img.has_interp);
	cr_assert_str_eq(img.interp, ld);

	/* Not NUL-terminated within its own bytes, though the file has a
	 * NUL right after. */
	t.ph[t.n - 1].p_filesz = sizeof(ld) - 1;
	tiny_build(&t);
	memcpy(t.b + 0x400, ld, sizeof(ld));
	cr_assert_eq(elf_parse(t.b, TINY_SIZE, &img, msg, sizeof(msg)), -ENOEXEC);
	cr_assert_not_null(strstr(msg, "NUL-terminated"), "%s", msg);

	/* Empty string. */
	t.ph[t.n - 1].p_filesz = 1;
	tiny_build(&t);
	t.b[0x400] = '\0';
	cr_assert_eq(elf_parse(t.b, TINY_SIZE, &img, msg, sizeof(msg)), -ENOEXEC);
	cr_assert_not_null(strstr(msg, "empty"), "%s", msg);

	/* Longest accepted, and one longer. */
	t.ph[t.n - 1].p_filesz = ELF_MAX_INTERP;
	tiny_build(&t);
	t.b[0x400 + ELF_MAX_INTERP - 1] = '\0';
	cr_assert_eq(elf_parse(t.b, TINY_SIZE, &img, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(strlen(img.interp), ELF_MAX_INTERP - 1);
	t.ph[t.n - 1].p_filesz = ELF_MAX_INTERP + 1;
	tiny_build(&t);
	t.b[0x400 + ELF_MAX_INTERP] = '\0';
	cr_assert_eq(elf_parse(t.b, TINY_SIZE, &img, msg, sizeof(msg)), -ENOEXEC);
	cr_assert_not_null(strstr(msg, "longer"), "%s", msg);

	/* Two of them. */
	tiny_init(&t);
	t.ph[t.n++] = (Elf64_Phdr){PT_INTERP, PF_R, 0x400, 0x400, 0x400, 2, 2, 1};
	t.ph[t.n++] = (Elf64_Phdr){PT_INTERP, PF_R, 0x400, 0x400, 0x400, 2, 2, 1};
	tiny_build(&t);
	memcpy(t.b + 0x400, "/", 2);
	cr_assert_eq(elf_parse(t.b, TINY_SIZE, &img, msg, sizeof(msg)), -ENOEXEC);
	cr_assert_not_null(strstr(msg, "two PT_INTERP"), "%s", msg);
}

Test(elf, tiny_layouts_rejected)
{
	struct tiny t;

	/* More PT_LOADs than the plan holds. */
	tiny_init(&t);
	t.n = 0;
	t.e.e_entry = 0;
	for (int i = 0; i <= ELF_MAX_LOAD; i++) {
		uint64_t va = 0x10000 * (uint64_t)i;

		t.ph[t.n++] = (Elf64_Phdr){PT_LOAD, PF_R | PF_X, 0, va, va, 0x100, 0x100, 0x1000};
	}
	tiny_rejected(&t, "more than 32 loadable segments");
	t.n--;
	cr_assert_eq(tiny_parse(&t), 0, "exactly %d is fine: %s", ELF_MAX_LOAD, msg);

	/* An ET_DYN spanning more than ELF_MAX_SPAN. */
	tiny_init(&t);
	t.ph[2].p_vaddr = ELF_MAX_SPAN + 0x800;
	tiny_rejected(&t, "spans more than");
	t.ph[2].p_vaddr = ELF_MAX_SPAN - 0x2800;
	cr_assert_eq(tiny_parse(&t), 0, "a span of exactly 2^46: %s", msg);
	cr_assert_eq(img.max_vaddr - img.min_vaddr, ELF_MAX_SPAN);

	/* memsz wrapping the address space. */
	tiny_init(&t);
	t.ph[2].p_memsz = UINT64_MAX - 0x1000;
	tiny_rejected(&t, "outside the user half");

	/* filesz wrapping the file offset. */
	tiny_init(&t);
	t.ph[2].p_filesz = UINT64_MAX - 0x1000;
	t.ph[2].p_memsz = UINT64_MAX;
	tiny_rejected(&t, "file range outside the file");

	/* The entry in a non-executable segment, or just past the text. */
	tiny_init(&t);
	t.e.e_entry = 0x2800;
	tiny_rejected(&t, "entry point");
	t.e.e_entry = 0x1800;
	tiny_rejected(&t, "entry point");
	t.e.e_entry = 0x17ff;
	cr_assert_eq(tiny_parse(&t), 0, "last byte of the text: %s", msg);

	/* Alignment 0 and 1 mean none; others must be powers of two. */
	tiny_init(&t);
	t.ph[1].p_align = 0;
	t.ph[2].p_align = 1;
	cr_assert_eq(tiny_parse(&t), 0, "%s", msg);
	t.ph[1].p_align = 0x1800;
	tiny_rejected(&t, "power of two");

	/* Only PT_GNU_STACK, no PT_LOAD. */
	tiny_init(&t);
	t.ph[0] = t.ph[3];
	t.n = 1;
	tiny_rejected(&t, "no loadable segment");
}

/* ---- random mutations ---------------------------------------------- */

/* xorshift64: the same sequence on every libc. */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Values that sit on the edges of the checks. */
static const uint64_t edges[] = {0,
				 1,
				 0xfff,
				 0x1000,
				 0x10000,
				 0x7fffffff0000,
				 0x7ffffffff000,
				 0x800000000000,
				 UINT64_MAX,
				 UINT64_MAX - 0xfff,
				 UINT64_C(1) << 46,
				 UINT64_C(1) << 63};

/*
 * Mutate @copy (a fresh copy of @src): mostly in the ELF and program
 * headers, where the checks are, sometimes anywhere in the first @head
 * bytes; random bytes, or aligned 8-byte words set to edge values.
 */
static void mutate(unsigned char *copy, const unsigned char *src, size_t len, size_t head)
{
	size_t hdrs = sizeof(Elf64_Ehdr) + eh(src)->e_phnum * sizeof(Elf64_Phdr);
	int k = 1 + (int)(rnd() % 6);

	memcpy(copy, src, len);
	while (k-- > 0) {
		size_t span = rnd() % 4 ? hdrs : head;
		size_t at = (size_t)(rnd() % span);

		if (rnd() % 3 == 0 && (at & ~(size_t)7) + 8 <= len) {
			uint64_t v = edges[rnd() % (sizeof(edges) / sizeof(edges[0]))];

			memcpy(copy + (at & ~(size_t)7), &v, 8);
		} else {
			copy[at] = (unsigned char)rnd();
		}
	}
}

static void fuzz(const unsigned char *src, size_t len, size_t head, int rounds, uint64_t seed)
{
	unsigned char *copy = malloc(len);
	int accepted = 0, rejected = 0;

	rnd_state = seed;
	for (int round = 0; round < rounds; round++) {
		mutate(copy, src, len, head);
		msg[0] = '\0';
		if (elf_parse(copy, len, &img, msg, sizeof(msg)) == 0) {
			accepted++;
			check_plan(&img, len);
		} else {
			rejected++;
			cr_assert_neq(msg[0], '\0', "round %d: a reason", round);
		}
	}
	free(copy);
	cr_log_info("%d accepted, %d rejected", accepted, rejected);
	cr_assert_gt(accepted, rounds / 10, "harmless mutations still parse");
	cr_assert_gt(rejected, rounds / 4, "most header mutations are caught");
}

Test(elf, random_mutations_of_busybox_never_crash, .timeout = 120)
{
	fuzz(file, file_len, file_len < 8192 ? file_len : 8192, 2000, 0x9e3779b97f4a7c15ULL);
}

Test(elf, random_mutations_of_a_tiny_pie_never_crash, .timeout = 120)
{
	static struct tiny t;

	tiny_init(&t);
	t.ph[t.n++] = (Elf64_Phdr){PT_INTERP, PF_R, 0x400, 0x400, 0x400, 8, 8, 1};
	t.ph[t.n++] = (Elf64_Phdr){PT_PHDR, PF_R, 0x40, 0x40, 0x40, 0x150, 0x150, 8};
	tiny_build(&t);
	memcpy(t.b + 0x400, "/lib/ld", 8);
	fuzz(t.b, TINY_SIZE, TINY_SIZE, 4000, 42);
}

/* ---- placing the image --------------------------------------------- */

Test(elf, load_bias)
{
	struct tiny t;
	uint64_t bias = 1;

	/* ET_EXEC (busybox) stays where it was linked. */
	cr_assert_eq(elf_parse(file, file_len, &img, msg, sizeof(msg)), 0);
	cr_assert_eq(img.type, ET_EXEC, "Debian's busybox-static is not a PIE");
	cr_assert_eq(elf_image_load_bias(&img, 0x555555554000, &bias), 0);
	cr_assert_eq(bias, 0);

	/* ET_DYN linked at 0 goes at the base. */
	tiny_init(&t);
	cr_assert_eq(tiny_parse(&t), 0, "%s", msg);
	cr_assert_eq(elf_image_load_bias(&img, 0x555555554000, &bias), 0);
	cr_assert_eq(bias, 0x555555554000);
	cr_assert_eq(elf_image_load_bias(&img, PLATFORM_USER_END - 0x5000, &bias), 0, "just fits");
	cr_assert_eq(elf_image_load_bias(&img, PLATFORM_USER_END - 0x4000, &bias), -ENOEXEC);
	cr_assert_eq(elf_image_load_bias(&img, UINT64_MAX & ~UINT64_C(0xfff), &bias), -ENOEXEC);
	cr_assert_eq(elf_image_load_bias(&img, 0x555555554800, &bias), -EINVAL, "unaligned");
	cr_assert_eq(elf_image_load_bias(&img, 0x1000, &bias), -EINVAL, "below 64 KiB");

	/* ET_DYN linked high: the bias is "negative", modulo 2^64. */
	for (int i = 0; i < 3; i++)
		t.ph[i].p_vaddr += 0x7000000000;
	t.e.e_entry += 0x7000000000;
	cr_assert_eq(tiny_parse(&t), 0, "%s", msg);
	cr_assert_eq(elf_image_load_bias(&img, 0x10000, &bias), 0);
	cr_assert_eq(img.min_vaddr + bias, 0x10000);
	cr_assert_eq(img.entry + bias, 0x11000);
}

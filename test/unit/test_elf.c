/*
 * Unit tests for kernel/elf.h: real static binaries parse into the plan
 * the loader needs, and hostile files (truncated, mutated, inconsistent)
 * are -ENOEXEC with a reason, never a crash or an out-of-bounds read
 * (the sanitize build checks the latter).
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
	cr_assert_eq(read(fd, file, file_len), (ssize_t)file_len);
	close(fd);
}

static void drop(void)
{
	free(file);
}

TestSuite(elf, .init = load_busybox, .fini = drop);

static Elf64_Ehdr *eh(unsigned char *buf)
{
	return (Elf64_Ehdr *)buf;
}

static Elf64_Phdr *ph(unsigned char *buf, int i)
{
	return (Elf64_Phdr *)(buf + eh(buf)->e_phoff) + i;
}

static int first_load(unsigned char *buf)
{
	for (int i = 0; i < eh(buf)->e_phnum; i++)
		if (ph(buf, i)->p_type == PT_LOAD)
			return i;
	return -1;
}

/* Parse a modified copy and expect -ENOEXEC with @why in the message. */
static void expect_rejected(void (*mutate)(unsigned char *), const char *why)
{
	unsigned char *copy = malloc(file_len);

	memcpy(copy, file, file_len);
	mutate(copy);
	cr_assert_eq(elf_parse(copy, file_len, &img, msg, sizeof(msg)), -ENOEXEC, "%s", why);
	cr_assert_not_null(strstr(msg, why), "message '%s' lacks '%s'", msg, why);
	free(copy);
}

Test(elf, busybox_parses)
{
	bool exec_seg = false;

	cr_assert_eq(elf_parse(file, file_len, &img, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert(img.type == ET_EXEC || img.type == ET_DYN);
	cr_assert_gt(img.nsegs, 0);
	cr_assert(!img.has_interp, "busybox-static has no interpreter");
	cr_assert_eq(img.phent, sizeof(Elf64_Phdr));
	cr_assert_neq(img.phdr_vaddr, 0);
	for (size_t i = 0; i < img.nsegs; i++) {
		const struct elf_load_segment *s = &img.segs[i];

		cr_assert_leq(s->filesz, s->memsz);
		cr_assert_leq(s->offset + s->filesz, file_len);
		if ((s->prot & PROT_EXEC) && img.entry >= s->vaddr && img.entry < s->vaddr + s->memsz)
			exec_seg = true;
		if (i)
			cr_assert_geq(s->vaddr, img.segs[i - 1].vaddr + img.segs[i - 1].memsz);
	}
	cr_assert(exec_seg, "entry inside an executable segment");
}

Test(elf, every_truncation_is_enoexec)
{
	for (size_t len = 0; len < 4096 && len < file_len; len++) {
		unsigned char *cut = malloc(len ? len : 1);

		memcpy(cut, file, len);
		cr_assert_eq(elf_parse(cut, len, &img, msg, sizeof(msg)), -ENOEXEC, "len %zu", len);
		cr_assert_neq(msg[0], 0);
		free(cut);
	}
}

static void bad_magic(unsigned char *b) { b[1] = 'X'; }
static void bad_class(unsigned char *b) { b[EI_CLASS] = ELFCLASS32; }
static void bad_data(unsigned char *b) { b[EI_DATA] = ELFDATA2MSB; }
static void bad_machine(unsigned char *b) { eh(b)->e_machine = EM_AARCH64; }
static void bad_type(unsigned char *b) { eh(b)->e_type = ET_REL; }
static void bad_phentsize(unsigned char *b) { eh(b)->e_phentsize = 40; }
static void bad_phnum(unsigned char *b) { eh(b)->e_phnum = 0xffff; }
static void bad_phoff(unsigned char *b) { eh(b)->e_phoff = (Elf64_Off)-8; }
static void bad_offset(unsigned char *b) { ph(b, first_load(b))->p_offset = (Elf64_Off)1 << 40; }
static void bad_filesz(unsigned char *b)
{
	Elf64_Phdr *p = ph(b, first_load(b));

	p->p_filesz = p->p_memsz + 1;
}
static void bad_vaddr(unsigned char *b)
{
	Elf64_Phdr *p = ph(b, first_load(b));

	p->p_vaddr = (Elf64_Addr)-4096 + (p->p_offset & 4095);
}
static void bad_entry(unsigned char *b) { eh(b)->e_entry = 0x10; }
static void bad_align(unsigned char *b) { ph(b, first_load(b))->p_align = 3 << 12; }
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

Test(elf, hostile_headers_are_rejected_with_a_reason)
{
	expect_rejected(bad_magic, "not an ELF file");
	expect_rejected(bad_class, "32-bit");
	expect_rejected(bad_data, "big-endian");
	expect_rejected(bad_machine, "not an x86-64 program");
	expect_rejected(bad_type, "not an executable");
	expect_rejected(bad_phentsize, "program header size");
	expect_rejected(bad_phnum, "program headers");
	expect_rejected(bad_phoff, "program headers outside the file");
	expect_rejected(bad_offset, "file range outside the file");
	expect_rejected(bad_filesz, "file size above memory size");
	expect_rejected(bad_vaddr, "outside the user half");
	expect_rejected(bad_entry, "entry point");
	expect_rejected(bad_align, "power of two");
	expect_rejected(bad_interp, "PT_INTERP");
}

Test(elf, random_mutations_never_crash, .timeout = 120)
{
	unsigned char *copy = malloc(file_len);
	size_t head = file_len < 8192 ? file_len : 8192;
	int accepted = 0;

	srand(7);
	for (int round = 0; round < 2000; round++) {
		memcpy(copy, file, file_len);
		for (int k = 0; k < 1 + rand() % 8; k++)
			copy[(size_t)rand() % head] = (unsigned char)rand();
		if (elf_parse(copy, file_len, &img, msg, sizeof(msg)) == 0) {
			accepted++;
			/* Whatever passes must be a plan the loader can trust. */
			for (size_t i = 0; i < img.nsegs; i++)
				cr_assert_leq(img.segs[i].offset + img.segs[i].filesz, file_len);
		}
	}
	free(copy);
	cr_assert_gt(accepted, 0, "mutations outside the headers still parse");
}

Test(elf, load_bias)
{
	uint64_t bias = 1;

	cr_assert_eq(elf_parse(file, file_len, &img, msg, sizeof(msg)), 0);
	cr_assert_eq(elf_image_load_bias(&img, 0x555555554000, &bias), 0);
	if (img.type == ET_EXEC)
		cr_assert_eq(bias, 0);
	else
		cr_assert_eq(bias + img.min_vaddr, 0x555555554000);
	img.type = ET_DYN;
	cr_assert_eq(elf_image_load_bias(&img, 0x00007ffffff00000, &bias), -ENOEXEC,
		     "does not fit below the user end");
}

/*
 * Echo what the guest was started with: argv, envp and the auxiliary
 * vector entries a static program relies on, one "key=value" per line,
 * so the test can compare against what it passed.  Exits 3 to show the
 * exit status travels back.
 */
#include <cpuid.h>
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;
extern const Elf64_Ehdr __ehdr_start; /* the linker's: our own ELF header, as loaded */
extern const char _start[];

/* The auxv as the kernel wrote it, past envp (glibc's getauxval answers
 * AT_HWCAP from its own CPU probe, not from the vector). */
static unsigned long raw_auxval(unsigned long type)
{
	char **e = environ;

	while (*e)
		e++;
	for (const unsigned long *a = (const unsigned long *)(e + 1); a[0] != AT_NULL; a += 2)
		if (a[0] == type)
			return a[1];
	return 0;
}

/* cpuid leaf 1 edx, what Linux gives x86 programs as AT_HWCAP. */
static unsigned long cpuid1_edx(void)
{
	unsigned int a, b, c, d;

	__cpuid(1, a, b, c, d);
	return d;
}

int main(int argc, char **argv)
{
	const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	const char *platform = (const char *)getauxval(AT_PLATFORM);
	int nonzero = 0;

	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	for (char **e = environ; *e; e++)
		printf("env=%s\n", *e);
	printf("pagesz=%lu\n", getauxval(AT_PAGESZ));
	printf("entry_set=%d\n", getauxval(AT_ENTRY) != 0);
	printf("phdr_set=%d\n", getauxval(AT_PHDR) != 0);
	printf("phent=%lu\n", getauxval(AT_PHENT));
	/* Exact values: where this program's headers and entry really are. */
	printf("phdr_ok=%d\n",
	       getauxval(AT_PHDR) == (unsigned long)&__ehdr_start + __ehdr_start.e_phoff);
	printf("phnum_ok=%d\n", getauxval(AT_PHNUM) == __ehdr_start.e_phnum);
	printf("entry_ok=%d\n", getauxval(AT_ENTRY) == (unsigned long)_start);
	printf("base=%lu flags=%lu\n", getauxval(AT_BASE), getauxval(AT_FLAGS));
	printf("hwcap_ok=%d\n", raw_auxval(AT_HWCAP) == cpuid1_edx());
	printf("uid=%lu euid=%lu gid=%lu egid=%lu secure=%lu\n", getauxval(AT_UID),
	       getauxval(AT_EUID), getauxval(AT_GID), getauxval(AT_EGID), getauxval(AT_SECURE));
	printf("clktck=%lu\n", getauxval(AT_CLKTCK));
	for (int i = 0; rnd && i < 16; i++)
		nonzero |= rnd[i];
	printf("random_set=%d\n", nonzero != 0);
	printf("execfn=%s\n", execfn ? execfn : "(none)");
	printf("platform=%s\n", platform ? platform : "(none)");
	/* The ABI's 16 bytes at _start make main's frame 16-aligned. */
	printf("stack_aligned=%d\n", ((unsigned long)__builtin_frame_address(0) & 15) == 0);
	return 3;
}

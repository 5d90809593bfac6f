/*
 * Echo what the guest was started with: argv, envp and the auxiliary
 * vector entries a static program relies on, one "key=value" per line,
 * so the test can compare against what it passed.  Exits 3 to show the
 * exit status travels back.
 */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

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
	printf("uid=%lu euid=%lu gid=%lu egid=%lu secure=%lu\n", getauxval(AT_UID),
	       getauxval(AT_EUID), getauxval(AT_GID), getauxval(AT_EGID), getauxval(AT_SECURE));
	printf("clktck=%lu\n", getauxval(AT_CLKTCK));
	for (int i = 0; rnd && i < 16; i++)
		nonzero |= rnd[i];
	printf("random_set=%d\n", nonzero != 0);
	printf("execfn=%s\n", execfn ? execfn : "(none)");
	printf("platform=%s\n", platform ? platform : "(none)");
	printf("stack_aligned=%d\n", ((unsigned long)__builtin_frame_address(0) & 7) == 0);
	return 3;
}

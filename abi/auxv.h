/*
 * abi/auxv.h - auxiliary vector keys (Linux, x86-64).
 *
 * execve leaves {key, value} pairs above envp on the new program's stack,
 * ended by AT_NULL (see kernel/exec_stack.h).  The C library reads them at
 * startup: static glibc finds its program headers (TLS) through AT_PHDR,
 * seeds its stack protector from AT_RANDOM's 16 bytes, and sizes its
 * signal stacks from AT_MINSIGSTKSZ.  The numbers are Linux's
 * (include/uapi/linux/auxvec.h and arch/x86/include/uapi/asm/auxvec.h);
 * <elf.h> defines the same names with the same values.
 */
#ifndef KSENTRY_ABI_AUXV_H
#define KSENTRY_ABI_AUXV_H

#define AT_NULL		0  /* end of the vector */
#define AT_PHDR		3  /* program headers in memory */
#define AT_PHENT	4  /* size of one program header */
#define AT_PHNUM	5  /* number of program headers */
#define AT_PAGESZ	6  /* page size */
#define AT_BASE		7  /* interpreter's load address, 0 if none */
#define AT_FLAGS	8  /* always 0 */
#define AT_ENTRY	9  /* program's entry point */
#define AT_UID		11 /* real uid */
#define AT_EUID		12 /* effective uid */
#define AT_GID		13 /* real gid */
#define AT_EGID		14 /* effective gid */
#define AT_PLATFORM	15 /* points to "x86_64" */
#define AT_HWCAP	16 /* CPUID 1 EDX */
#define AT_CLKTCK	17 /* times() ticks per second */
#define AT_SECURE	23 /* setuid-like exec: libc distrusts the environment */
#define AT_RANDOM	25 /* points to 16 random bytes */
#define AT_HWCAP2	26 /* x86 extras (ring3mwait, fsgsbase) */
#define AT_EXECFN	31 /* points to the path execve was given */
#define AT_SYSINFO_EHDR 33 /* vDSO's ELF header */
#define AT_MINSIGSTKSZ	51 /* smallest signal stack for this CPU's state */

#endif

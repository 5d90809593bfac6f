/*
 * Hostile guests, one per argument.  Each either does something a guest
 * must not be able to do (and should die by a signal, leaving the host
 * untouched) or probes the sentry's argument checks (and prints what the
 * syscall returned, for the test to compare).
 */
#define _GNU_SOURCE /* REG_RIP */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define UPPER_HALF ((volatile char *)0xffff800000001000ULL)

/* A raw syscall: the C library may not pass bad pointers through. */
static long raw(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

/* A pointer the sentry must refuse: the syscall returns -EFAULT. */
static int want_efault(const char *what, long r)
{
	printf("%s = %ld\n", what, r);
	return r != -EFAULT;
}

static int efault_checks(void)
{
	char buf[16];
	long r;
	int bad = 0;

	bad |= want_efault("write(upper half)", raw(SYS_write, 1, 0xffff800000001000L, 8));
	bad |= want_efault("write(unmapped)", raw(SYS_write, 1, 0x10000, 8));
	bad |= want_efault("write(wrapping)", raw(SYS_write, 1, -1L, 8));
	/* The KVM trampoline (GDT, IDT, ring-0 code) and, just below the
	 * user half's end, the PVM syscall stub and the doorbell page: mapped
	 * for the vCPU, never part of the guest's memory. */
	bad |= want_efault("write(trampoline)", raw(SYS_write, 1, 0xffffff8000000000L, 8));
	bad |= want_efault("write(trampoline code)", raw(SYS_write, 1, 0xffffff8000002000L, 8));
	bad |= want_efault("write(syscall stub)", raw(SYS_write, 1, 0x7fffffff0000L, 8));
	bad |= want_efault("write(doorbell)", raw(SYS_write, 1, 0x7fffffff1000L, 8));
	r = raw(SYS_open, (long)"/proc/self/exe", O_RDONLY, 0);
	bad |= want_efault("read(file into syscall stub)", raw(SYS_read, r, 0x7fffffff0000L, 8));
	bad |= want_efault("read(file into trampoline)", raw(SYS_read, r, 0xffffff8000000000L, 8));
	close((int)r);
	/* stdin is /dev/null: nothing would be copied, and still EFAULT. */
	bad |= want_efault("read(upper half)", raw(SYS_read, 0, 0xffff800000001000L, 8));
	bad |= want_efault("uname(upper half)", raw(SYS_uname, 0xffff800000001000L, 0, 0));
	bad |= want_efault("uname(trampoline)", raw(SYS_uname, 0xffffff8000000000L, 0, 0));
	bad |= want_efault("clock_gettime(unmapped)", raw(SYS_clock_gettime, 0, 0x10000, 0));
	bad |= want_efault("readlink(upper half path)",
			   raw(SYS_readlink, 0xffff800000001000L, (long)buf, sizeof(buf)));
	bad |= want_efault("readlink(buffer in trampoline)",
			   raw(SYS_readlink, (long)"/proc/self/exe", 0xffffff8000001000L, 8));
	/* Misaligned but mapped is fine, as on Linux. */
	r = raw(SYS_clock_gettime, 0, (long)(buf + 3), 0);
	printf("clock_gettime(misaligned) = %ld\n", r);
	bad |= r != 0;
	printf("efault %s\n", bad ? "FAILED" : "ok");
	return bad;
}

/* A signal handler that sends its return to a non-canonical address
 * through an otherwise valid frame: rt_sigreturn must not resume there
 * (on hardware KVM a sysretq to it would fault in ring 0), the task dies
 * by SIGSEGV as on Linux. */
static void to_noncanonical(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP] = (greg_t)0x8000000000001000ULL;
}

static void sigreturn_noncanonical(void)
{
	struct sigaction sa = {.sa_sigaction = to_noncanonical, .sa_flags = SA_SIGINFO};

	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	fflush(stdout);
	if (!strcmp(what, "null"))
		return *(volatile int *)0;
	if (!strcmp(what, "upper-read"))
		return *UPPER_HALF;
	if (!strcmp(what, "upper-write"))
		*UPPER_HALF = 1;
	if (!strcmp(what, "hlt"))
		__asm__ volatile("hlt");
	if (!strcmp(what, "cli"))
		__asm__ volatile("cli");
	if (!strcmp(what, "wrmsr"))
		__asm__ volatile("wrmsr" ::"c"(0xc0000082), "a"(0), "d"(0));
	if (!strcmp(what, "cr3"))
		__asm__ volatile("mov %0, %%cr3" ::"r"(0UL));
	if (!strcmp(what, "out"))
		__asm__ volatile("outb %%al, $0x80" ::"a"(0));
	if (!strcmp(what, "in")) {
		unsigned char v;

		__asm__ volatile("inb $0x80, %0" : "=a"(v));
	}
	if (!strcmp(what, "lgdt")) {
		struct __attribute__((packed)) {
			uint16_t limit;
			uint64_t base;
		} gdtr = {0, 0};

		__asm__ volatile("lgdt %0" ::"m"(gdtr));
	}
	if (!strcmp(what, "tramp-read")) /* the KVM trampoline's ring-0 code */
		return *(volatile char *)0xffffff8000002000UL;
	if (!strcmp(what, "tramp-write")) /* ... and its GDT */
		*(volatile uint64_t *)0xffffff8000000000UL = 0x00affb000000ffffUL;
	if (!strcmp(what, "doorbell")) /* the KVM doorbell page, above the user half we get */
		*(volatile char *)0x7fffffff1000UL = 1;
	if (!strcmp(what, "stub-jump")) {
		/* Enter the PVM syscall stub without `syscall`, with a return
		 * address that is not canonical: it must not be returned to. */
		__asm__ volatile("mov $39, %%eax; mov %0, %%rcx; mov $0x202, %%r11; jmp *%1"
				 ::"r"(0x8000000000000000UL), "r"(0x7fffffff0000UL)
				 : "rax", "rcx", "r11", "memory");
	}
	if (!strcmp(what, "popf-iopl")) {
		/* Ask for IOPL 3 (ignored in ring 3), then try what it would allow. */
		__asm__ volatile("pushfq; orq $0x3000, (%%rsp); popfq; cli" ::: "memory", "cc");
	}
	if (!strcmp(what, "sigreturn-garbage")) {
		/* rt_sigreturn with no frame but garbage: every register, rip
		 * included, comes from it; rip is not canonical. */
		static unsigned long junk[128];

		memset(junk, 0xff, sizeof(junk));
		__asm__ volatile("mov %0, %%rsp; mov $15, %%eax; syscall" ::"r"(junk + 1) : "memory");
	}
	if (!strcmp(what, "sigreturn-noncanonical"))
		sigreturn_noncanonical();
	if (!strcmp(what, "ud2"))
		__asm__ volatile("ud2");
	if (!strcmp(what, "int3"))
		__asm__ volatile("int3");
	if (!strcmp(what, "div0")) {
		/* Explicit idiv: the compiler turns 1 / x into a compare. */
		int q, zero = 0;

		__asm__ volatile("cltd; idivl %1" : "=a"(q) : "r"(zero), "a"(1) : "edx");
		return q;
	}
	if (!strcmp(what, "exec-stack-write")) {
		/* Write into the program's own text: read-only, so SIGSEGV. */
		*(volatile char *)main = 0;
	}
	if (!strcmp(what, "efault"))
		return efault_checks();
	if (!strcmp(what, "enosys")) {
		long r = raw(1000, 0, 0, 0);

		printf("syscall(1000) = %ld\n", r);
		return r == -ENOSYS ? 0 : 1;
	}
	printf("survived %s\n", what);
	return 99;
}

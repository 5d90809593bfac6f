/*
 * procs WHAT: processes, threads, signals and futexes, checked from
 * inside.  Each test prints "WHAT ok" when every check holds (the
 * integration test looks for that line), or the failed checks and exits 1.
 * Built with musl and with glibc; the same binaries run natively too.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"

/* <linux/futex.h>, which musl-gcc does not see */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129


static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* --- threads: 16 threads, a mutex, a condition variable --- */

#define NTHREADS 16
#define NINCR	 2000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static int arrived;

static void *worker(void *arg)
{
	pthread_mutex_lock(&lock);
	arrived++;
	pthread_cond_broadcast(&cond);
	while (arrived < NTHREADS) /* a barrier made of the condvar */
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < NINCR; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	return (void *)(intptr_t)gettid();
}

static void *sleeper(void *arg)
{
	for (;;)
		pause(); /* a cancellation point */
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[NTHREADS], c;
	void *ret;
	int tids = 0;

	for (int i = 0; i < NTHREADS; i++)
		EXPECT(pthread_create(&th[i], NULL, worker, NULL) == 0);
	for (int i = 0; i < NTHREADS; i++) {
		EXPECT(pthread_join(th[i], &ret) == 0);
		tids += (intptr_t)ret != getpid();
	}
	EXPECT(counter == (long)NTHREADS * NINCR);
	EXPECT(tids == NTHREADS); /* every thread had its own tid */
	EXPECT(pthread_create(&c, NULL, sleeper, NULL) == 0);
	usleep(20000);
	EXPECT(pthread_cancel(c) == 0);
	EXPECT(pthread_join(c, &ret) == 0);
	EXPECT(ret == PTHREAD_CANCELED);
}

/* --- fork: copy-on-write --- */

static unsigned get_mxcsr(void)
{
	unsigned m;

	__asm__ volatile("stmxcsr %0" : "=m"(m));
	return m;
}

static void set_mxcsr(unsigned m)
{
	__asm__ volatile("ldmxcsr %0" ::"m"(m));
}

/* Runs with the MXCSR it inherited, then is gone. */
static void *fpu_thread(void *arg)
{
	return (void *)(uintptr_t)get_mxcsr();
}

static void test_cow(void)
{
	size_t len = 4 << 20;
	char *buf = malloc(len);
	unsigned mxcsr = get_mxcsr();
	int status;
	pid_t pid;

	memset(buf, 'p', len);
	set_mxcsr(mxcsr | 0x6000); /* round toward zero: the child must inherit it */
	pid = fork();
	if (pid == 0) {
		int bad = buf[0] != 'p' || buf[len - 1] != 'p' || (get_mxcsr() & 0x6000) != 0x6000;

		memset(buf, 'c', len); /* must not show in the parent */
		_exit(bad ? 3 : buf[12345] == 'c' ? 0 : 4);
	}
	set_mxcsr(mxcsr);
	EXPECT(pid > 0);
	EXPECT(waitpid(pid, &status, 0) == pid);
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT(buf[0] == 'p' && buf[len / 2] == 'p' && buf[len - 1] == 'p');
	buf[0] = 'q'; /* the parent still writes its own copy */
	EXPECT(buf[0] == 'q');
	free(buf);
	/* exec starts from the initial FPU state, whatever the vCPU it gets
	 * last ran: round toward zero stays behind (main's "fpu-exec").  A
	 * thread that ran with it and is gone leaves its vCPU at the top of
	 * the pool, where the exec's new context takes one. */
	pid = fork();
	if (pid == 0) {
		pthread_t th;
		void *seen = NULL;

		set_mxcsr(mxcsr | 0x6000);
		/* No threads under ptrace (EAGAIN): the exec alone, then. */
		if (!pthread_create(&th, NULL, fpu_thread, NULL) &&
		    (pthread_join(th, &seen) || ((uintptr_t)seen & 0x6000) != 0x6000))
			_exit(7);
		usleep(20000); /* the thread's exit has given its vCPU back */
		execl("/proc/self/exe", "procs", "fpu-exec", (char *)NULL);
		_exit(6);
	}
	EXPECT(waitpid(pid, &status, 0) == pid);
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* fork of 256 MiB of touched memory, timed: it must not copy up front. */
static void test_bigfork(void)
{
	size_t len = 256u << 20;
	char *buf = malloc(len);
	double t0, t1;
	int status;
	pid_t pid;

	EXPECT(buf != NULL);
	if (!buf)
		return;
	memset(buf, 1, len);
	t0 = now_ms();
	pid = fork();
	if (pid == 0)
		_exit(buf[len - 1] == 1 ? 0 : 1);
	EXPECT(waitpid(pid, &status, 0) == pid);
	t1 = now_ms();
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("bigfork: fork+exit+wait of a 256 MiB process: %.1f ms\n", t1 - t0);
	free(buf);
}

/* --- wait --- */

static void test_wait(void)
{
	int status;
	pid_t pid;

	EXPECT(waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD);
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	usleep(10000);
	EXPECT(waitpid(pid, &status, WNOHANG) == 0); /* still running */
	EXPECT(kill(pid, SIGKILL) == 0);
	EXPECT(waitpid(pid, &status, 0) == pid);
	EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	pid = fork();
	if (pid == 0)
		_exit(42);
	EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 42);
	pid = fork();
	if (pid == 0) {
		char *argv[] = {"busybox", "true", NULL};

		execv("/bin/busybox", argv);
		_exit(127);
	}
	EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A child's files and cwd are gone once its parent has waited for it:
 * the pipe it held reads as closed and the mount it worked in comes off.
 * Many rounds, since what this catches is an order (a parent woken
 * before the child let go), which shows as a race. */
static void test_exit_release(void)
{
	char dir[] = "/tmp/exit-release.XXXXXX";
	int status, p[2];
	pid_t pid;
	char c;

	EXPECT(mkdtemp(dir) != NULL);
	for (int i = 0; i < 200 && !failures; i++) {
		EXPECT(mount("none", dir, "tmpfs", 0, NULL) == 0);
		EXPECT(pipe2(p, O_NONBLOCK) == 0);
		if (failures)
			break;
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			if (chdir(dir) || open("f", O_CREAT | O_WRONLY, 0600) < 0)
				_exit(1);
			_exit(0); /* the write end, the file and the cwd still held */
		}
		close(p[1]);
		EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		       WEXITSTATUS(status) == 0);
		EXPECT(read(p[0], &c, 1) == 0); /* EOF, not EAGAIN */
		close(p[0]);
		EXPECT(umount(dir) == 0);
	}
	EXPECT(rmdir(dir) == 0);
}

/* --- signals --- */

static sigjmp_buf jump;
static volatile void *fault_addr;
static volatile int fault_code, got_usr1;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	fault_addr = si->si_addr;
	fault_code = si->si_code;
	siglongjmp(jump, 1);
}

static void test_siginfo(void)
{
	struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};
	volatile double x = 1.5;

	sigemptyset(&sa.sa_mask);
	EXPECT(sigaction(SIGSEGV, &sa, NULL) == 0);
	if (!sigsetjmp(jump, 1)) {
		x *= 2; /* live FPU state across the handler */
		*(volatile int *)0x1234 = 1;
		EXPECT(!"not reached");
	}
	EXPECT(fault_addr == (void *)0x1234);
	EXPECT(fault_code == SEGV_MAPERR);
	EXPECT(x == 3.0);
	signal(SIGSEGV, SIG_DFL);
}

static char altstack[64 * 1024];

static void on_overflow(int sig, siginfo_t *si, void *uc)
{
	char here;

	/* On the alternate stack, not the one that overflowed. */
	_exit(&here >= altstack && &here < altstack + sizeof(altstack) ? 0 : 5);
}

static int recurse(int n)
{
	volatile char pad[4096];

	pad[0] = (char)n;
	return recurse(n + 1) + pad[0];
}

static void test_altstack(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
		struct sigaction sa = {.sa_sigaction = on_overflow, .sa_flags = SA_SIGINFO | SA_ONSTACK};

		sigemptyset(&sa.sa_mask);
		if (sigaltstack(&ss, NULL) || sigaction(SIGSEGV, &sa, NULL))
			_exit(6);
		recurse(0);
		_exit(7);
	}
	EXPECT(waitpid(pid, &status, 0) == pid);
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void on_usr1(int sig)
{
	got_usr1++;
}

/* A child signals us while we block in read(2) on a pipe, then writes. */
static void interrupted_read(int restart, ssize_t *got, int *err)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
	int p[2], status;
	char c = 0;
	pid_t pid;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	EXPECT(pipe(p) == 0);
	pid = fork();
	if (pid == 0) {
		usleep(50000);
		kill(getppid(), SIGUSR1);
		usleep(50000);
		write(p[1], "x", 1);
		_exit(0);
	}
	errno = 0;
	*got = read(p[0], &c, 1);
	*err = errno;
	waitpid(pid, &status, 0);
	close(p[0]);
	close(p[1]);
}

static void test_eintr(void)
{
	ssize_t got;
	int err;

	got_usr1 = 0;
	interrupted_read(0, &got, &err);
	EXPECT(got == -1 && err == EINTR);
	EXPECT(got_usr1 == 1);
	interrupted_read(1, &got, &err);
	EXPECT(got == 1); /* SA_RESTART: the read went on and got the byte */
	EXPECT(got_usr1 == 2);
	signal(SIGUSR1, SIG_DFL);
}

static void test_mask(void)
{
	sigset_t set, pending;

	got_usr1 = 0;
	signal(SIGUSR1, on_usr1);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	EXPECT(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	EXPECT(raise(SIGUSR1) == 0);
	EXPECT(got_usr1 == 0); /* blocked: pending */
	EXPECT(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1));
	EXPECT(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
	EXPECT(got_usr1 == 1); /* delivered on unblock */
	signal(SIGUSR1, SIG_DFL);
}

/* --- timers --- */

static int alarm_pipe[2];
static volatile int alarms;

static void on_alarm(int sig)
{
	if (++alarms == 3)
		write(alarm_pipe[1], "!", 1); /* async-signal-safe */
}

/* SIGALRM from a 30 ms interval timer interrupts read(2) on an empty
 * pipe: EINTR at the first one without SA_RESTART; with it the read goes
 * on until the third alarm's handler writes a byte. */
static void alarm_read(int restart, ssize_t *got, int *err)
{
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0};
	struct itimerval it = {.it_value = {0, 30000}, .it_interval = {0, 30000}};
	struct itimerval off = {{0, 0}, {0, 0}};
	char c;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	EXPECT(pipe(alarm_pipe) == 0);
	alarms = 0;
	EXPECT(setitimer(ITIMER_REAL, &it, NULL) == 0);
	errno = 0;
	*got = read(alarm_pipe[0], &c, 1);
	*err = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	close(alarm_pipe[0]);
	close(alarm_pipe[1]);
}

/* Real-time signals queue, each with its value, oldest first and lowest
 * number first; standard ones merge; RLIMIT_SIGPENDING bounds the queue
 * (sigqueue gets EAGAIN); a handler sees every queued one. */
static volatile int rt_seen, rt_order_ok = 1;

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	if (si->si_value.sival_int != ++rt_seen)
		rt_order_ok = 0;
}

static void test_rtqueue(void)
{
	const int rt = SIGRTMIN + 2;
	struct timespec zero = {0, 0};
	struct sigaction sa;
	struct rlimit lim = {16, 16};
	union sigval v;
	siginfo_t si;
	sigset_t set;
	int sent = 0;

	sigemptyset(&set);
	sigaddset(&set, rt);
	sigaddset(&set, rt + 1);
	sigaddset(&set, SIGUSR1);
	EXPECT(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	for (int i = 1; i <= 5; i++) {
		v.sival_int = i;
		EXPECT(sigqueue(getpid(), rt + 1, v) == 0);
		v.sival_int = 10 + i;
		EXPECT(sigqueue(getpid(), rt, v) == 0);
	}
	EXPECT(kill(getpid(), SIGUSR1) == 0);
	EXPECT(kill(getpid(), SIGUSR1) == 0);
	EXPECT(sigtimedwait(&set, &si, &zero) == SIGUSR1 && si.si_code == SI_USER);
	for (int i = 1; i <= 5; i++)
		EXPECT(sigtimedwait(&set, &si, &zero) == rt && si.si_code == SI_QUEUE &&
		       si.si_pid == getpid() && si.si_value.sival_int == 10 + i);
	for (int i = 1; i <= 5; i++)
		EXPECT(sigtimedwait(&set, &si, &zero) == rt + 1 && si.si_value.sival_int == i);
	EXPECT(sigtimedwait(&set, &si, &zero) == -1 && errno == EAGAIN); /* SIGUSR1 merged */

	/* Unblocked, a handler runs once per queued signal, in order. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	EXPECT(sigaction(rt, &sa, NULL) == 0);
	for (int i = 1; i <= 3; i++) {
		v.sival_int = i;
		EXPECT(sigqueue(getpid(), rt, v) == 0);
	}
	EXPECT(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
	EXPECT(rt_seen == 3 && rt_order_ok);
	EXPECT(sigprocmask(SIG_BLOCK, &set, NULL) == 0);

	/* The limit counts every pending signal of the user (natively, the
	 * other processes of the user too: hence "at most").  Last, since an
	 * unprivileged process cannot raise it again. */
	EXPECT(setrlimit(RLIMIT_SIGPENDING, &lim) == 0);
	for (int i = 0; i < 40; i++) {
		if (sigqueue(getpid(), rt, v) != 0) {
			EXPECT(errno == EAGAIN);
			break;
		}
		sent++;
	}
	EXPECT(sent >= 1 && sent <= 16);
	for (; sent > 0; sent--)
		EXPECT(sigtimedwait(&set, &si, &zero) == rt);
	EXPECT(sigtimedwait(&set, &si, &zero) == -1 && errno == EAGAIN);
}

/* --- the FPU state in signal frames and across fork --- */

/* AVX usable: the CPU has it and the OS saves it (OSXSAVE, XCR0). */
static int have_avx(void)
{
	unsigned a, b, c, d, lo, hi;

	__cpuid(1, a, b, c, d);
	if (!(c >> 27 & 1) || !(c >> 28 & 1))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

static unsigned char ymm_in[32], ymm_out[32];
static unsigned avx_off; /* YMM_Hi128 in the XSAVE image: CPUID 0xD.2 */
static volatile int frame_ok;

/* Check that the frame holds ymm0 whole, then change it there, and
 * clobber the live register: sigreturn must load what the frame says. */
static void on_fpu(int sig, siginfo_t *si, void *ucp)
{
	ucontext_t *uc = ucp;
	unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
	uint32_t magic1;

	frame_ok = fp && !memcmp(fp + 160, ymm_in, 16); /* xmm0 in the FXSAVE image */
	if (fp && avx_off) {
		memcpy(&magic1, fp + 464, sizeof(magic1));
		frame_ok &= (uc->uc_flags & 1) && magic1 == 0x46505853 &&
			    !memcmp(fp + avx_off, ymm_in + 16, 16);
		memset(fp + avx_off, 0xa5, 16);
		__asm__ volatile("vpxor %%ymm0, %%ymm0, %%ymm0" ::: "xmm0");
	}
	if (fp)
		memset(fp + 160, 0x5a, 16);
	__asm__ volatile("pxor %%xmm0, %%xmm0" ::: "xmm0");
}

/* A frame whose XSAVE header XRSTOR would fault on (a compacted form). */
static void on_fpu_spoil(int sig, siginfo_t *si, void *ucp)
{
	ucontext_t *uc = ucp;
	unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;

	fp[520 + 7] |= 0x80; /* XCOMP_BV bit 63 */
}

static void test_avxframe(void)
{
	unsigned char want[32];
	struct sigaction sa;
	long nr = SYS_kill;
	unsigned a, c, d;
	int avx = have_avx(), status;

	for (int i = 0; i < 32; i++)
		ymm_in[i] = (unsigned char)(i + 1);
	if (avx)
		__cpuid_count(0xd, 2, a, avx_off, c, d);
	printf("avxframe: %s\n", avx ? "AVX, an XSAVE frame" : "no AVX here, an FXSAVE frame");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fpu;
	sa.sa_flags = SA_SIGINFO;
	EXPECT(sigaction(SIGUSR1, &sa, NULL) == 0);
	memset(want, 0x5a, 16);
	memset(want + 16, 0xa5, 16);
	/* kill(getpid(), SIGUSR1) with ymm0 (or xmm0) loaded: the handler runs
	 * on the way out of the syscall, before the store. */
	if (avx)
		__asm__ volatile("vmovdqu %[in], %%ymm0\n\tsyscall\n\tvmovdqu %%ymm0, %[out]"
				 : [out] "=m"(ymm_out), "+a"(nr)
				 : [in] "m"(ymm_in), "D"((long)getpid()), "S"((long)SIGUSR1)
				 : "rcx", "r11", "memory", "xmm0");
	else
		__asm__ volatile("movdqu %[in], %%xmm0\n\tsyscall\n\tmovdqu %%xmm0, %[out]"
				 : [out] "=m"(ymm_out), "+a"(nr)
				 : [in] "m"(ymm_in), "D"((long)getpid()), "S"((long)SIGUSR1)
				 : "rcx", "r11", "memory", "xmm0");
	EXPECT(nr == 0 && frame_ok);
	EXPECT(!memcmp(ymm_out, want, avx ? 32 : 16));

	/* A raw fork: the child comes out of the syscall with the parent's
	 * registers, ymm0 whole among them. */
	if (!avx)
		return;
	nr = SYS_fork;
	memset(ymm_out, 0, sizeof(ymm_out));
	__asm__ volatile("vmovdqu %[in], %%ymm0\n\tsyscall\n\tvmovdqu %%ymm0, %[out]"
			 : [out] "=m"(ymm_out), "+a"(nr)
			 : [in] "m"(ymm_in)
			 : "rcx", "r11", "memory", "xmm0");
	if (nr == 0)
		syscall(SYS_exit_group, memcmp(ymm_out, ymm_in, 32) ? 1 : 0);
	EXPECT(nr > 0 && waitpid((pid_t)nr, &status, 0) == nr && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0);

	/* A spoiled header: rt_sigreturn refuses the frame, SIGSEGV. */
	if (fork() == 0) {
		sa.sa_sigaction = on_fpu_spoil;
		sigaction(SIGUSR1, &sa, NULL);
		raise(SIGUSR1);
		_exit(0);
	}
	EXPECT(wait(&status) > 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
}

static const char *test_dir = "/tmp"; /* procs locks|fusemap [DIR] */

/* --- advisory locks: fcntl byte ranges, OFD locks, flock --- */

static int lk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	return fcntl(fd, cmd, &fl);
}

/* F_GETLK of [start, start + len): the type, and the holder's range/pid. */
static short getlk(int fd, int cmd, short type, off_t start, off_t len, struct flock *out)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	if (fcntl(fd, cmd, &fl))
		return -1;
	if (out)
		*out = fl;
	return fl.l_type;
}

static void on_alarm_quiet(int sig)
{
}


static void test_locks(void)
{
	char path[256];
	int fd, fd2, status;
	struct flock fl;
	pid_t parent = getpid(), pid;
	double t0;

	snprintf(path, sizeof(path), "%s/locks.XXXXXX", test_dir);
	fd = mkstemp(path);

	EXPECT(fd >= 0 && write(fd, "0123456789abcdefghij", 20) == 20);
	EXPECT(lk(fd, F_SETLK, F_WRLCK, 0, 10) == 0);
	if ((pid = fork()) == 0) {
		/* Another process: the lock is in its way, a range beside it is not. */
		int bad = getlk(fd, F_GETLK, F_WRLCK, 5, 1, &fl) != F_WRLCK || fl.l_pid != parent ||
			  fl.l_start != 0 || fl.l_len != 10;
		bad |= lk(fd, F_SETLK, F_RDLCK, 9, 1) != -1 || (errno != EAGAIN && errno != EACCES);
		bad |= lk(fd, F_SETLK, F_RDLCK, 10, 10) != 0;
		_exit(bad);
	}
	EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Unlocking the middle splits the lock in two. */
	EXPECT(lk(fd, F_SETLK, F_UNLCK, 3, 2) == 0);
	if ((pid = fork()) == 0) {
		int bad = getlk(fd, F_GETLK, F_WRLCK, 3, 2, NULL) != F_UNLCK;

		bad |= getlk(fd, F_GETLK, F_WRLCK, 3, 0, &fl) != F_WRLCK || fl.l_start != 5 ||
		       fl.l_len != 5;
		_exit(bad);
	}
	EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT(getlk(fd, F_GETLK, F_WRLCK, 0, 0, NULL) == F_UNLCK); /* our own never conflict */

	/* F_SETLKW waits; any close of the file by the holder lets it go. */
	t0 = now_ms();
	if ((pid = fork()) == 0)
		_exit(lk(fd, F_SETLKW, F_WRLCK, 0, 1) != 0);
	usleep(50000);
	fd2 = dup(fd);
	close(fd2);
	EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT(now_ms() - t0 >= 45);

	/* A wait that would close a cycle is EDEADLK. */
	EXPECT(lk(fd, F_SETLK, F_WRLCK, 0, 1) == 0);
	if ((pid = fork()) == 0) {
		if (lk(fd, F_SETLK, F_WRLCK, 1, 1))
			_exit(2);
		_exit(lk(fd, F_SETLKW, F_WRLCK, 0, 1) != 0); /* waits for the parent */
	}
	usleep(50000);
	errno = 0;
	EXPECT(lk(fd, F_SETLKW, F_WRLCK, 1, 1) == -1 && errno == EDEADLK);
	EXPECT(lk(fd, F_SETLK, F_UNLCK, 0, 0) == 0);
	EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* A signal ends the wait: EINTR without SA_RESTART. */
	if ((pid = fork()) == 0) {
		lk(fd, F_SETLK, F_WRLCK, 0, 1);
		pause();
		_exit(0);
	}
	usleep(50000);
	signal(SIGALRM, on_alarm_quiet);
	{
		struct sigaction sa = {.sa_handler = on_alarm_quiet};

		sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART */
	}
	alarm(1);
	errno = 0;
	EXPECT(lk(fd, F_SETLKW, F_WRLCK, 0, 1) == -1 && errno == EINTR);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	EXPECT(lk(fd, F_SETLK, F_WRLCK, 0, 1) == 0); /* its locks went with it */
	EXPECT(lk(fd, F_SETLK, F_UNLCK, 0, 0) == 0);

	/* OFD locks belong to the open file: two opens conflict in one process. */
	fd2 = open(path, O_RDWR);
	EXPECT(fd2 >= 0 && lk(fd, F_OFD_SETLK, F_WRLCK, 0, 4) == 0);
	errno = 0;
	EXPECT(lk(fd2, F_OFD_SETLK, F_WRLCK, 2, 1) == -1 && errno == EAGAIN);
	EXPECT(getlk(fd2, F_OFD_GETLK, F_RDLCK, 0, 1, &fl) == F_WRLCK && fl.l_pid == -1);
	EXPECT(lk(fd, F_OFD_SETLK, F_UNLCK, 0, 4) == 0);

	/* flock: per open file too, and apart from fcntl's locks. */
	EXPECT(flock(fd, LOCK_EX) == 0 && lk(fd2, F_OFD_SETLK, F_WRLCK, 0, 1) == 0);
	errno = 0;
	EXPECT(flock(fd2, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK);
	EXPECT(flock(fd2, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK);
	EXPECT(flock(fd, LOCK_UN) == 0 && flock(fd2, LOCK_SH | LOCK_NB) == 0);
	EXPECT(flock(fd, LOCK_SH | LOCK_EX) == -1 && errno == EINVAL);
	close(fd2);

	/* A write lock needs a file open for writing. */
	fd2 = open(path, O_RDONLY);
	errno = 0;
	EXPECT(fd2 >= 0 && lk(fd2, F_SETLK, F_WRLCK, 0, 1) == -1 && errno == EBADF);
	EXPECT(lk(fd2, F_SETLK, F_RDLCK, 0, 1) == 0);
	{
		struct flock bad = {.l_type = F_WRLCK, .l_whence = 42};

		errno = 0;
		EXPECT(fcntl(fd, F_SETLK, &bad) == -1 && errno == EINVAL);
	}
	close(fd2);
	close(fd);
	unlink(path);
}

static void test_alarm(void)
{
	struct itimerval cur;
	ssize_t got;
	int err;

	alarm_read(0, &got, &err);
	EXPECT(got == -1 && err == EINTR && alarms == 1);
	alarm_read(1, &got, &err);
	EXPECT(got == 1 && alarms == 3);
	EXPECT(alarm(10) == 0);
	EXPECT(getitimer(ITIMER_REAL, &cur) == 0 && cur.it_value.tv_sec >= 9);
	EXPECT(alarm(0) == 10); /* what was left, rounded */
	signal(SIGALRM, SIG_DFL);
}

static void test_timer(void)
{
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
	struct itimerspec its = {.it_value = {0, 20000000}, .it_interval = {0, 20000000}}, cur;
	struct timespec wait = {2, 0};
	sigset_t set;
	siginfo_t si;
	timer_t id;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	ev.sigev_value.sival_int = 4242;
	EXPECT(timer_create(CLOCK_MONOTONIC, &ev, &id) == 0);
	EXPECT(timer_settime(id, 0, &its, NULL) == 0);
	for (int i = 0; i < 3; i++) {
		EXPECT(sigtimedwait(&set, &si, &wait) == SIGUSR2);
		EXPECT(si.si_code == SI_TIMER && si.si_value.sival_int == 4242);
	}
	EXPECT(timer_gettime(id, &cur) == 0 && cur.it_interval.tv_nsec == 20000000);
	EXPECT(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 20000000);
	EXPECT(timer_getoverrun(id) >= 0);
	EXPECT(timer_delete(id) == 0);
	wait = (struct timespec){0, 50000000};
	EXPECT(sigtimedwait(&set, &si, &wait) == -1 && errno == EAGAIN); /* none after delete */
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* --- eventfd, epoll, select --- */

static void test_epoll(void)
{
	struct epoll_event ev, out[4];
	uint64_t v;
	int efd, sem, ep, p[2], n, status;
	struct timeval tv = {0, 20000};
	fd_set rd;
	pid_t pid;

	efd = eventfd(0, EFD_NONBLOCK);
	EXPECT(efd >= 0);
	EXPECT(read(efd, &v, 8) == -1 && errno == EAGAIN);
	v = 3;
	EXPECT(write(efd, &v, 8) == 8);
	EXPECT(read(efd, &v, 8) == 8 && v == 3);
	sem = eventfd(2, EFD_SEMAPHORE);
	EXPECT(read(sem, &v, 8) == 8 && v == 1);
	EXPECT(read(sem, &v, 8) == 8 && v == 1);

	EXPECT(pipe(p) == 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	EXPECT(ep >= 0);
	ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 111};
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == -1 && errno == EEXIST);
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 222};
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
	EXPECT(epoll_wait(ep, out, 4, 0) == 0);
	EXPECT(write(p[1], "x", 1) == 1);
	n = epoll_wait(ep, out, 4, 1000);
	EXPECT(n == 1 && out[0].data.u64 == 111 && (out[0].events & EPOLLIN));
	v = 1;
	EXPECT(write(efd, &v, 8) == 8);
	n = epoll_wait(ep, out, 4, 1000);
	EXPECT(n == 2);
	EXPECT(epoll_wait(ep, out, 4, 0) == 1 && out[0].data.u64 == 111); /* oneshot spent */
	EXPECT(read(p[0], &v, 1) == 1);
	EXPECT(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0);
	EXPECT(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == -1 && errno == ENOENT);
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
	/* A child writes while we block: epoll_wait(-1) wakes. */
	pid = fork();
	if (pid == 0) {
		usleep(50000);
		write(p[1], "y", 1);
		_exit(0);
	}
	ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 333};
	EXPECT(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0);
	n = epoll_wait(ep, out, 4, -1);
	EXPECT(n == 1 && out[0].data.u64 == 333);
	waitpid(pid, &status, 0);
	/* select: readable now, and a timeout when drained. */
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	EXPECT(select(p[0] + 1, &rd, NULL, NULL, &tv) == 1 && FD_ISSET(p[0], &rd));
	EXPECT(read(p[0], &v, 1) == 1);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	tv = (struct timeval){0, 20000};
	EXPECT(select(p[0] + 1, &rd, NULL, NULL, &tv) == 0 && !FD_ISSET(p[0], &rd));
	/* poll(-1) sleeps until a child writes; then a signal (no
	 * SA_RESTART) ends poll(-1) and epoll_wait(-1) with EINTR. */
	pid = fork();
	if (pid == 0) {
		usleep(50000);
		write(p[1], "z", 1);
		_exit(0);
	}
	{
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		struct sigaction sa = {.sa_handler = on_alarm};
		struct itimerval once = {.it_value = {0, 50000}};

		EXPECT(poll(&pf, 1, -1) == 1 && (pf.revents & POLLIN));
		waitpid(pid, &status, 0);
		EXPECT(read(p[0], &v, 1) == 1);
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
		EXPECT(setitimer(ITIMER_REAL, &once, NULL) == 0);
		errno = 0;
		EXPECT(poll(&pf, 1, -1) == -1 && errno == EINTR);
		EXPECT(setitimer(ITIMER_REAL, &once, NULL) == 0);
		errno = 0;
		EXPECT(epoll_wait(ep, out, 4, -1) == -1 && errno == EINTR);
		signal(SIGALRM, SIG_DFL);
	}
	close(ep);
	close(p[0]);
	close(p[1]);
	close(efd);
	close(sem);
}

/* --- private file mappings (what ld.so needs) --- */

static void test_mmapfile(void)
{
	char path[] = "/tmp/procs-mmap-XXXXXX", buf[8192 + 100];
	int fd = mkstemp(path);
	char *m, *m2;

	EXPECT(fd >= 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + i % 26);
	EXPECT(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	EXPECT(m != MAP_FAILED);
	EXPECT(memcmp(m, buf, sizeof(buf)) == 0);
	EXPECT(m[8192 + 100] == 0 && m[3 * 4096 - 1] == 0); /* the last page past the end: zeros */
	m[0] = 'Z'; /* private: the file keeps its byte */
	EXPECT(pread(fd, buf, 1, 0) == 1 && buf[0] == 'a');
	m2 = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096); /* an offset */
	EXPECT(m2 != MAP_FAILED && m2[0] == (char)('a' + 4096 % 26));
	EXPECT(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 100) == MAP_FAILED && errno == EINVAL);
	EXPECT(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 999, 0) == MAP_FAILED && errno == EBADF);
	munmap(m, 3 * 4096);
	munmap(m2, 4096);
	close(fd);
	unlink(path);
}

/* Mapped, in bytes, from /proc/meminfo. */
static long long meminfo_mapped(void)
{
	char line[128];
	long long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Mapped: %lld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* Read every page of [p, p + len), so that each is mapped. */
static unsigned touch_pages(const volatile char *p, size_t len)
{
	unsigned sum = 0;

	for (size_t i = 0; i < len; i += 4096)
		sum += (unsigned char)p[i];
	return sum;
}

/*
 * mmap of a file on a FUSE mount (procs fusemap DIR): MAP_SHARED writes
 * reach the server (msync, munmap), write(2) shows through a mapping,
 * MAP_PRIVATE copies on write, a forked child's writes to a shared
 * mapping are the parent's, and two processes mapping 64 MiB raise
 * Mapped by 64 MiB once and give it back when both unmap.
 */
static void test_fusemap(void)
{
	const size_t len = 1 << 20, big = 64 << 20;
	char path[256], buf[64];
	long long base, one, two, after;
	int fd, status;
	char *m, *q;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/mapped", test_dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	EXPECT(fd >= 0);
	EXPECT(ftruncate(fd, (off_t)len) == 0);
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	for (size_t i = 0; i < len; i += 4096)
		snprintf(m + i, 32, "page %zu", i / 4096);
	EXPECT(msync(m, len, MS_SYNC) == 0);
	EXPECT(pread(fd, buf, 16, 4096 * 77) == 16 && strcmp(buf, "page 77") == 0);
	/* A read sees what the mapping wrote even without msync. */
	strcpy(m + 4096 * 3, "unsynced");
	EXPECT(pread(fd, buf, 16, 4096 * 3) == 16 && strcmp(buf, "unsynced") == 0);
	/* write(2) shows through the mapping. */
	EXPECT(pwrite(fd, "XYZ", 3, 4096 * 5) == 3);
	EXPECT(memcmp(m + 4096 * 5, "XYZ", 3) == 0);
	/* A child's writes to the shared mapping are ours. */
	pid = fork();
	if (pid == 0) {
		strcpy(m + 4096 * 9, "from the child");
		_exit(0);
	}
	EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	EXPECT(strcmp(m + 4096 * 9, "from the child") == 0);
	/* MAP_PRIVATE: the file's data, and writes stay ours. */
	q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	EXPECT(q != MAP_FAILED && strcmp(q + 4096 * 77, "page 77") == 0);
	if (q != MAP_FAILED) {
		strcpy(q + 4096 * 77, "private");
		EXPECT(strcmp(m + 4096 * 77, "page 77") == 0);
		EXPECT(munmap(q, len) == 0);
	}
	/* munmap writes back: a fresh open reads what was written last. */
	strcpy(m + 4096 * 200, "before munmap");
	EXPECT(munmap(m, len) == 0);
	close(fd);
	fd = open(path, O_RDONLY);
	EXPECT(fd >= 0 && pread(fd, buf, 16, 4096 * 200) == 16 && strcmp(buf, "before munmap") == 0);
	EXPECT(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED &&
	       errno == EACCES);
	close(fd);

	/* Mapped: 64 MiB in two processes counts once. */
	fd = open(path, O_RDWR | O_TRUNC);
	EXPECT(fd >= 0 && ftruncate(fd, (off_t)big) == 0);
	base = meminfo_mapped();
	m = mmap(NULL, big, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	EXPECT(touch_pages(m, big) == 0);
	one = meminfo_mapped();
	int p[2], back[2];

	EXPECT(pipe(p) == 0 && pipe(back) == 0);
	pid = fork();
	if (pid == 0) {
		int cfd = open(path, O_RDONLY);
		char *c = cfd >= 0 ? mmap(NULL, big, PROT_READ, MAP_SHARED, cfd, 0) : MAP_FAILED;
		long long v = -1;

		if (c != MAP_FAILED) {
			touch_pages(c, big);
			v = meminfo_mapped();
		}
		if (write(p[1], &v, sizeof(v)) != sizeof(v))
			_exit(1);
		if (read(back[0], &v, 1) != 1) /* wait for the parent's look */
			_exit(1);
		_exit(c != MAP_FAILED && munmap(c, big) == 0 ? 0 : 1);
	}
	EXPECT(read(p[0], &two, sizeof(two)) == sizeof(two));
	EXPECT(write(back[1], "", 1) == 1);
	EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT(munmap(m, big) == 0);
	after = meminfo_mapped();
	printf("mapped: base %lld, one %lld, two %lld, after %lld\n", base, one, two, after);
	EXPECT(base >= 0 && one - base >= (long long)big && one - base < (long long)big + (1 << 20));
	EXPECT(two - one > -(1 << 20) && two - one < (1 << 20));
	EXPECT(after - base > -(1 << 20) && after - base < (1 << 20));
	close(fd);
	close(p[0]);
	close(p[1]);
	close(back[0]);
	close(back[1]);
	EXPECT(unlink(path) == 0);
}

/* A thread spinning in guest code dies by SIGKILL within milliseconds. */
static void test_kill_spinner(void)
{
	int status;
	double t0;
	pid_t pid = fork();

	if (pid == 0)
		for (;;)
			__asm__ volatile("" ::: "memory");
	usleep(20000);
	t0 = now_ms();
	EXPECT(kill(pid, SIGKILL) == 0);
	EXPECT(waitpid(pid, &status, 0) == pid);
	EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT(now_ms() - t0 < 1000);
}

/* --- futexes: a ping-pong between two threads --- */

static uint32_t word;
#define PINGS 2000

static long futex(uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static void *ponger(void *arg)
{
	for (int i = 0; i < PINGS; i++) {
		while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) != 1)
			futex(&word, FUTEX_WAIT_PRIVATE, 0);
		__atomic_store_n(&word, 0, __ATOMIC_RELEASE);
		futex(&word, FUTEX_WAKE_PRIVATE, 1);
	}
	return NULL;
}

static void test_futex(void)
{
	struct timespec short_wait = {0, 10000000};
	pthread_t th;

	EXPECT(pthread_create(&th, NULL, ponger, NULL) == 0);
	for (int i = 0; i < PINGS; i++) {
		while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) != 0)
			futex(&word, FUTEX_WAIT_PRIVATE, 1);
		__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
		futex(&word, FUTEX_WAKE_PRIVATE, 1);
	}
	EXPECT(pthread_join(th, NULL) == 0);
	/* A value that differs is EAGAIN; a timeout is ETIMEDOUT. */
	word = 5;
	EXPECT(futex(&word, FUTEX_WAIT_PRIVATE, 4) == -1 && errno == EAGAIN);
	EXPECT(syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 5, &short_wait, NULL, 0) == -1 &&
	      errno == ETIMEDOUT);
}

/* A robust mutex whose owner thread dies: the next locker learns it. */
static pthread_mutex_t robust;

static void *die_holding(void *arg)
{
	pthread_mutex_lock(&robust);
	return NULL; /* exits still owning it */
}

static void test_robust(void)
{
	pthread_mutexattr_t a;
	pthread_t th;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	EXPECT(pthread_mutex_init(&robust, &a) == 0);
	EXPECT(pthread_create(&th, NULL, die_holding, NULL) == 0);
	EXPECT(pthread_join(th, NULL) == 0);
	EXPECT(pthread_mutex_lock(&robust) == EOWNERDEAD);
	EXPECT(pthread_mutex_consistent(&robust) == 0);
	EXPECT(pthread_mutex_unlock(&robust) == 0);
}

/* A futex in MAP_SHARED memory is one futex across fork; WAKE_OP. */
static uint32_t w2;

static void *wait_w2(void *arg)
{
	while (__atomic_load_n(&w2, __ATOMIC_ACQUIRE) == 0)
		syscall(SYS_futex, &w2, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

static void test_shared_futex(void)
{
	uint32_t *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint32_t w1 = 0;
	pthread_t th;
	int status;
	pid_t pid;

	EXPECT(word != MAP_FAILED);
	*word = 0;
	pid = fork();
	if (pid == 0) {
		/* Not FUTEX_PRIVATE_FLAG: keyed by the shared frame. */
		while (__atomic_load_n(word, __ATOMIC_ACQUIRE) == 0)
			syscall(SYS_futex, word, 0 /* FUTEX_WAIT */, 0, NULL, NULL, 0);
		_exit(*word == 7 ? 0 : 1);
	}
	usleep(50000);
	__atomic_store_n(word, 7, __ATOMIC_RELEASE);
	/* Wake until the child is gone (it may not be waiting yet). */
	for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; i++) {
		syscall(SYS_futex, word, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0);
		usleep(5000);
	}
	EXPECT(waitpid(pid, &status, 0) == pid || errno == ECHILD);
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* WAKE_OP: set w2 to 5 and, as it was 0, wake its waiter. */
	EXPECT(pthread_create(&th, NULL, wait_w2, NULL) == 0);
	usleep(20000);
	/* op SET (0), oparg 5, cmp EQ (0), cmparg 0 */
	EXPECT(syscall(SYS_futex, &w1, 5 /* FUTEX_WAKE_OP */ | FUTEX_WAIT_PRIVATE, 0, (void *)1, &w2,
		      (0u << 28) | (0u << 24) | (5u << 12) | 0u) == 1);
	EXPECT(w2 == 5);
	EXPECT(pthread_join(th, NULL) == 0);
}

/* Job control: a stopped child is reported by WUNTRACED, a continued
 * one by WCONTINUED, and SIGCHLD says each (CLD_STOPPED, CLD_CONTINUED). */
static volatile int chld_codes[4], nchld;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	if (nchld < 4)
		chld_codes[nchld++] = si->si_code;
}

static void test_jobs(void)
{
	struct sigaction sa = {.sa_sigaction = on_chld, .sa_flags = SA_SIGINFO | SA_RESTART};
	siginfo_t si;
	int status;
	pid_t pid;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	usleep(20000);
	EXPECT(kill(pid, SIGSTOP) == 0);
	EXPECT(waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status) &&
	       WSTOPSIG(status) == SIGSTOP);
	EXPECT(waitpid(pid, &status, WUNTRACED | WNOHANG) == 0); /* reported once */
	EXPECT(kill(pid, SIGCONT) == 0);
	EXPECT(waitpid(pid, &status, WCONTINUED) == pid && WIFCONTINUED(status));
	EXPECT(kill(pid, SIGTSTP) == 0);
	memset(&si, 0, sizeof(si));
	EXPECT(waitid(P_PID, pid, &si, WSTOPPED) == 0 && si.si_code == CLD_STOPPED &&
	       si.si_status == SIGTSTP);
	EXPECT(kill(pid, SIGKILL) == 0); /* a stopped process still dies */
	EXPECT(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
	       WTERMSIG(status) == SIGKILL);
	usleep(20000);
	EXPECT(nchld >= 3 && chld_codes[0] == CLD_STOPPED && chld_codes[1] == CLD_CONTINUED);
	signal(SIGCHLD, SIG_DFL);
}

/* --- a fork bomb meets --max-tasks --- */

static void test_forkbomb(void)
{
	int n = 0, eagain = 0, status;

	for (int i = 0; i < 10000; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			pause();
			_exit(0);
		}
		if (pid < 0) {
			eagain = errno == EAGAIN;
			break;
		}
		n++;
	}
	EXPECT(eagain);
	printf("forkbomb: %d forks before EAGAIN\n", n);
	kill(0, SIGKILL); /* the whole group, but pid 1 is kept */
	while (wait(&status) > 0)
		;
	EXPECT(errno == ECHILD);
}

/* --- the vDSO --- */

static long long ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* The clock of the vDSO (through libc) between two syscalls of it:
 * VDSO_ROUNDS of each clock, then gettimeofday and time.  The explicit
 * syscalls are VDSO_SYSCALLS clock_gettimes, which --stats must show
 * alone (vdso.sh in meson.build): the libc calls made none. */
#define VDSO_ROUNDS   5000
#define VDSO_SYSCALLS (3 * 2 * VDSO_ROUNDS + 2 * 2 * 1000)
#define GETCPU_ROUNDS 500

/* getcpu through libc (the vDSO) on each of the first two CPUs the
 * process may use, pinned there: it must say that CPU, as the syscall
 * does.  The explicit getcpu syscalls are 2 * GETCPU_ROUNDS a CPU.
 * Returns the mismatches. */
static int vdso_getcpu_bad(void)
{
	cpu_set_t all, one;
	int bad = 0, asked = 0;

	EXPECT(sched_getaffinity(0, sizeof(all), &all) == 0);
	for (int cpu = 0; cpu < CPU_SETSIZE && asked < 2; cpu++) {
		if (!CPU_ISSET(cpu, &all))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		EXPECT(sched_setaffinity(0, sizeof(one), &one) == 0);
		for (int i = 0; i < GETCPU_ROUNDS; i++) {
			unsigned a = ~0u, c = ~0u;

			syscall(SYS_getcpu, &a, NULL, NULL);
			bad += sched_getcpu() != cpu;
			syscall(SYS_getcpu, &c, NULL, NULL);
			bad += a != (unsigned)cpu || c != (unsigned)cpu;
		}
		asked++;
	}
	EXPECT(sched_setaffinity(0, sizeof(all), &all) == 0);
	CPU_ZERO(&one);
	EXPECT(sched_setaffinity(0, sizeof(one), &one) == -1 && errno == EINVAL);
	EXPECT(sched_setaffinity(999999, sizeof(all), &all) == -1 && errno == ESRCH);
	EXPECT(sched_getaffinity(999999, sizeof(one), &one) == -1 && errno == ESRCH);
	EXPECT(sched_getaffinity(getpid(), sizeof(one), &one) == 0 && CPU_EQUAL(&one, &all));
	return bad;
}

static void test_vdso(void)
{
	static const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME};
	const unsigned char *ehdr = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	struct timespec a, b, c;
	int bad = 0;

	EXPECT(ehdr && memcmp(ehdr, "\177ELF", 4) == 0);
	usleep(100000); /* the sentry has measured the TSC by now */
	for (size_t k = 0; k < sizeof(clocks) / sizeof(clocks[0]); k++) {
		for (int i = 0; i < VDSO_ROUNDS; i++) {
			syscall(SYS_clock_gettime, clocks[k], &a);
			clock_gettime(clocks[k], &b);
			syscall(SYS_clock_gettime, clocks[k], &c);
			bad += ts_ns(&a) > ts_ns(&b) || ts_ns(&b) > ts_ns(&c);
		}
	}
	EXPECT(bad == 0);
	for (int i = 0; i < 1000; i++) {
		struct timeval tv;

		syscall(SYS_clock_gettime, CLOCK_REALTIME, &a);
		gettimeofday(&tv, NULL);
		syscall(SYS_clock_gettime, CLOCK_REALTIME, &c);
		bad += ts_ns(&a) / 1000 > tv.tv_sec * 1000000LL + tv.tv_usec ||
		       tv.tv_sec * 1000000LL + tv.tv_usec > ts_ns(&c) / 1000;
	}
	for (int i = 0; i < 1000; i++) {
		time_t t;

		syscall(SYS_clock_gettime, CLOCK_REALTIME, &a);
		t = time(NULL);
		syscall(SYS_clock_gettime, CLOCK_REALTIME, &c);
		bad += a.tv_sec > t || t > c.tv_sec;
	}
	EXPECT(bad == 0);
	bad = vdso_getcpu_bad();
	EXPECT(bad == 0);
	/* It keeps time: 50 ms of sleep are 50 ms (and a bit) of clock. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	usleep(50000);
	clock_gettime(CLOCK_MONOTONIC, &b);
	EXPECT(ts_ns(&b) - ts_ns(&a) >= 50000000LL && ts_ns(&b) - ts_ns(&a) < 500000000LL);
	{
		double t0 = now_ms();

		for (int i = 0; i < 100000; i++)
			clock_gettime(CLOCK_MONOTONIC, &b);
		printf("vdso: %d syscalls; clock_gettime %.0f ns a call\n", VDSO_SYSCALLS,
		       (now_ms() - t0) * 1e6 / 100000);
	}
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{"threads", test_threads}, {"cow", test_cow}, {"bigfork", test_bigfork},
		{"wait", test_wait}, {"siginfo", test_siginfo}, {"altstack", test_altstack},
		{"eintr", test_eintr}, {"mask", test_mask}, {"kill-spinner", test_kill_spinner},
		{"futex", test_futex}, {"forkbomb", test_forkbomb}, {"alarm", test_alarm},
		{"timer", test_timer}, {"epoll", test_epoll}, {"mmapfile", test_mmapfile},
		{"robust", test_robust}, {"shared-futex", test_shared_futex}, {"jobs", test_jobs},
		{"exit-release", test_exit_release}, {"rtqueue", test_rtqueue},
		{"avxframe", test_avxframe},
		{"locks", test_locks}, {"fusemap", test_fusemap}, {"vdso", test_vdso},
	};
	const char *what = argc > 1 ? argv[1] : "";

	if (!strcmp(what, "fpu-exec")) /* test_cow's exec: the initial MXCSR */
		return get_mxcsr() == 0x1f80 ? 0 : 5;
	if (argc > 2)
		test_dir = argv[2];

	setvbuf(stdout, NULL, _IONBF, 0);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (strcmp(what, tests[i].name))
			continue;
		tests[i].fn();
		if (failures)
			return 1;
		printf("%s ok\n", what);
		return 0;
	}
	printf("unknown test %s\n", what);
	return 2;
}

/*
 * procload [ROUNDS] [FORKS]: the process workloads of `ksentry bench
 * syscall`, run in the sandbox and natively (the same binary): a pipe
 * ping-pong between two processes and fork+exit+wait.  Prints
 * "NAME VALUE us/op" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 2000, forks = argc > 2 ? atoi(argv[2]) : 200;
	int ab[2], ba[2], status;
	double t0;
	char c = 'x';
	pid_t pid;

	if (pipe(ab) || pipe(ba))
		return 1;
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < rounds; i++)
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	t0 = now_us();
	for (int i = 0; i < rounds; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			return 1;
	printf("pipe_pingpong %.1f us/op\n", (now_us() - t0) / rounds);
	waitpid(pid, &status, 0);

	t0 = now_us();
	for (int i = 0; i < forks; i++) {
		pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0 || waitpid(pid, &status, 0) != pid)
			return 1;
	}
	printf("fork_exit_wait %.1f us/op\n", (now_us() - t0) / forks);

	/* libc's clock_gettime: the vDSO's, in the sandbox once the sentry
	 * has measured the TSC (10 ms after start). */
	usleep(50000);
	t0 = now_us();
	for (int i = 0; i < 100000; i++)
		now_us();
	printf("libc_clock_gettime %.4f us/op\n", (now_us() - t0) / 100000);
	return 0;
}

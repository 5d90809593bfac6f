/*
 * procload [ROUNDS] [FORKS]: the process workloads of `ksentry bench
 * syscall`, run in the sandbox and natively (the same binary): a pipe
 * ping-pong between two processes (with plain blocking reads, and with a
 * poll(2) before each read, as event loops do), fork+exit+wait, and libc's
 * clock_gettime and sched_getcpu (the vDSO's in the sandbox).  Prints
 * "NAME VALUE us/op" lines.
 */
#define _GNU_SOURCE /* sched_getcpu */
#include <poll.h>
#include <sched.h>
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

/* Read one byte from @fd, first waiting in poll(2) if @polled. */
static int get(int fd, char *c, int polled)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (polled && (poll(&p, 1, -1) != 1 || !(p.revents & POLLIN)))
		return -1;
	return read(fd, c, 1) == 1 ? 0 : -1;
}

/* @rounds round trips of a byte between two processes over two pipes:
 * microseconds per round trip, or a negative number on failure. */
static double pingpong(int rounds, int polled)
{
	int ab[2], ba[2], status;
	double t0, us;
	char c = 'x';
	pid_t pid;

	if (pipe(ab) || pipe(ba))
		return -1;
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < rounds; i++)
			if (get(ab[0], &c, polled) || write(ba[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	t0 = now_us();
	for (int i = 0; i < rounds; i++)
		if (write(ab[1], &c, 1) != 1 || get(ba[0], &c, polled))
			return -1;
	us = (now_us() - t0) / rounds;
	waitpid(pid, &status, 0);
	for (int i = 0; i < 2; i++) {
		close(ab[i]);
		close(ba[i]);
	}
	return us;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 2000, forks = argc > 2 ? atoi(argv[2]) : 200;
	int status;
	double t0, us;
	pid_t pid;

	if ((us = pingpong(rounds, 0)) < 0)
		return 1;
	printf("pipe_pingpong %.1f us/op\n", us);
	if ((us = pingpong(rounds, 1)) < 0)
		return 1;
	printf("pipe_pingpong_poll %.1f us/op\n", us);

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

	/* libc's sched_getcpu: the vDSO's getcpu where the platform lets
	 * rdtscp say the host CPU. */
	t0 = now_us();
	for (int i = 0; i < 100000; i++)
		if (sched_getcpu() < 0)
			return 1;
	printf("libc_getcpu %.4f us/op\n", (now_us() - t0) / 100000);
	return 0;
}

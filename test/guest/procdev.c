/*
 * /proc and /dev inside the sandbox: /proc/meminfo's Shmem (the Tmpfs
 * account) grows by the size of a file written to /tmp and shrinks back
 * when it is removed; the character devices behave as on Linux.  Prints
 * "procdev ok" if every check passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static long meminfo_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void test_meminfo(void)
{
	static char chunk[1 << 20];
	long before = meminfo_kb("Shmem"), during, after;
	int fd = open("/tmp/big", O_WRONLY | O_CREAT | O_TRUNC, 0644);

	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 4; i++)
		if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
			printf("short write\n");
	close(fd);
	during = meminfo_kb("Shmem");
	unlink("/tmp/big");
	after = meminfo_kb("Shmem");
	CHECK("meminfo-total", meminfo_kb("MemTotal") > 0, "no MemTotal");
	CHECK("meminfo-grows", during - before == 4096, "before %ld during %ld", before, during);
	CHECK("meminfo-shrinks", after == before, "before %ld after %ld", before, after);
}

static void test_devices(void)
{
	char buf[1000];
	int fd, zeros = 1, nonzero = 0;

	fd = open("/dev/zero", O_RDONLY);
	memset(buf, 1, sizeof(buf));
	CHECK("zero-read", fd >= 0 && read(fd, buf, sizeof(buf)) == sizeof(buf), "read");
	for (size_t i = 0; i < sizeof(buf); i++)
		zeros &= buf[i] == 0;
	CHECK("zero-zeros", zeros, "non-zero byte");
	close(fd);
	fd = open("/dev/null", O_RDWR);
	CHECK("null-write", write(fd, buf, 123) == 123, "write");
	CHECK("null-eof", read(fd, buf, 10) == 0, "read");
	close(fd);
	fd = open("/dev/full", O_WRONLY);
	CHECK("full-enospc", write(fd, buf, 1) == -1 && errno == ENOSPC, "errno %d", errno);
	close(fd);
	fd = open("/dev/urandom", O_RDONLY);
	CHECK("urandom", read(fd, buf, 32) == 32, "read");
	for (int i = 0; i < 32; i++)
		nonzero |= buf[i];
	CHECK("urandom-random", nonzero, "all zero");
	close(fd);
	CHECK("proc-readonly", open("/proc/meminfo", O_WRONLY) == -1 && errno == EACCES,
	      "errno %d", errno);
}

static void test_mounts(void)
{
	char buf[4096] = {0};
	int fd = open("/proc/mounts", O_RDONLY);

	CHECK("mounts", fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 &&
				strstr(buf, "tmpfs /tmp tmpfs rw") && strstr(buf, "proc /proc proc"),
	      "'%s'", buf);
	close(fd);
}

static int slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return (int)n;
}

static void test_proc_self(const char *argv0)
{
	char buf[8192], link[256];
	ssize_t n;
	int fd;

	n = readlink("/proc/self", link, sizeof(link) - 1);
	CHECK("self-link", n == 1 && link[0] == '1', "'%.*s'", (int)(n > 0 ? n : 0), link);
	n = readlink("/proc/self/exe", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	CHECK("self-exe", n > 0 && link[0] == '/' && strstr(link, "procdev-"), "'%s'", link);
	CHECK("self-cmdline", slurp("/proc/self/cmdline", buf, sizeof(buf)) > 0 &&
				  !strcmp(buf, argv0),
	      "'%s' vs '%s'", buf, argv0);
	CHECK("self-status", slurp("/proc/self/status", buf, sizeof(buf)) > 0 &&
				 strstr(buf, "Pid:\t1\n") && strstr(buf, "VmRSS:"),
	      "'%s'", buf);
	CHECK("self-maps", slurp("/proc/self/maps", buf, sizeof(buf)) > 0 &&
			       strstr(buf, "[stack]") && strstr(buf, "r-xp"),
	      "'%s'", buf);
	CHECK("self-cwd", readlink("/proc/self/cwd", link, sizeof(link)) > 0 && link[0] == '/',
	      "cwd");
	CHECK("cpuinfo", slurp("/proc/cpuinfo", buf, sizeof(buf)) > 0 && strstr(buf, "processor"),
	      "no processor line");
	fd = open("/proc/meminfo", O_RDONLY);
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
	n = readlink(buf, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	CHECK("self-fd", fd >= 0 && !strcmp(link, "/proc/meminfo"), "'%s'", link);
	close(fd);
	fd = open("/dev/tty", O_RDWR);
	CHECK("dev-tty", fd >= 0 || errno == ENXIO, "errno %d", errno);
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	test_meminfo();
	test_devices();
	test_mounts();
	test_proc_self(argv[0]);
	printf(failures ? "procdev FAILED (%d)\n" : "procdev ok\n", failures);
	return failures != 0;
}

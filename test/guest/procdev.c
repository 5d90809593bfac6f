/*
 * /proc and /dev inside the sandbox: /proc/meminfo's Shmem (the Tmpfs
 * account) grows by the size of a file written to /tmp and shrinks back
 * when it is removed; the character devices behave as on Linux; /proc's
 * files have Linux's formats, for this process and for a child read from
 * here.  The test runs it with --env PROCDEV_MARK=procdev-env (seen in
 * /proc/self/environ).  Prints "procdev ok" if every check passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
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

/* The fields of a /proc/PID/stat line: pid, comm (without the parens),
 * state, ppid, utime, and how many fields there were in all. */
struct stat_line {
	int pid, ppid, nfields;
	char comm[64], state;
	unsigned long utime;
};

static int parse_stat(const char *buf, struct stat_line *s)
{
	const char *open = strchr(buf, '('), *close = strrchr(buf, ')'), *q;

	memset(s, 0, sizeof(*s));
	if (!open || !close || close < open || (size_t)(close - open - 1) >= sizeof(s->comm) ||
	    sscanf(buf, "%d (", &s->pid) != 1)
		return -1;
	memcpy(s->comm, open + 1, (size_t)(close - open - 1));
	if (sscanf(close + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu", &s->state, &s->ppid,
		   &s->utime) != 3)
		return -1;
	/* pid and comm, then the space-separated rest (Linux has had at
	 * least 44 fields since 2.6). */
	s->nfields = 2;
	for (q = close + 1; *q && *q != '\n'; q++)
		s->nfields += *q == ' ' && q[1] != ' ' && q[1] != '\n' && q[1];
	return s->nfields >= 44 ? 0 : -1;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static double uptime_now(int *fields)
{
	char buf[128];
	double up = -1, idle = -1;

	slurp("/proc/uptime", buf, sizeof(buf));
	*fields = sscanf(buf, "%lf %lf", &up, &idle);
	return up;
}

static void test_proc_files(const char *argv0)
{
	char buf[8192], want[32];
	struct stat_line st;
	struct timespec ms20 = {0, 20 * 1000 * 1000};
	double up1, up2;
	int n, f1, f2;

	n = slurp("/proc/self/stat", buf, sizeof(buf));
	snprintf(want, sizeof(want), "%.15s", base_name(argv0));
	CHECK("self-stat",
	      n > 0 && parse_stat(buf, &st) == 0 && st.pid == getpid() && st.ppid == getppid() &&
		  !strcmp(st.comm, want) && st.state == 'R',
	      "'%s'", buf);
	CHECK("self-stat-fields", st.nfields == 52, "%d fields", st.nfields);
	n = slurp("/proc/self/status", buf, sizeof(buf));
	CHECK("self-status-state", n > 0 && strstr(buf, "\nState:\tR (running)\n"), "'%s'", buf);
	n = slurp("/proc/self/environ", buf, sizeof(buf));
	{
		int found = 0;

		for (int i = 0; i < n; i += (int)strlen(buf + i) + 1)
			found |= !strcmp(buf + i, "PROCDEV_MARK=procdev-env");
		CHECK("self-environ", n > 0 && buf[n - 1] == '\0' && found, "%d bytes", n);
	}
	n = slurp("/proc/self/mounts", buf, sizeof(buf));
	{
		int root = 0;

		for (char *line = buf; line && *line; line = strchr(line, '\n'), line += !!line) {
			char dev[64], dir[256], type[64], opts[128];

			if (sscanf(line, "%63s %255s %63s %127s", dev, dir, type, opts) == 4 &&
			    !strcmp(dir, "/"))
				root = 1;
		}
		CHECK("self-mounts-root", n > 0 && root, "'%s'", buf);
	}
	n = slurp("/proc/filesystems", buf, sizeof(buf));
	CHECK("filesystems",
	      n > 0 && strstr(buf, "nodev\ttmpfs\n") && strstr(buf, "nodev\tproc\n") &&
		  strstr(buf, "nodev\tfuse\n"),
	      "'%s'", buf);
	up1 = uptime_now(&f1);
	nanosleep(&ms20, NULL);
	up2 = uptime_now(&f2);
	CHECK("uptime", f1 == 2 && f2 == 2 && up1 >= 0 && up2 > up1, "%f then %f (%d, %d fields)",
	      up1, up2, f1, f2);
}

/* /proc/loadavg: "a b c running/total last-pid", the last pid being
 * @last_pid (the child test_other_process forked). */
static void test_loadavg(int last_pid)
{
	char buf[256];
	double a = -1, b = -1, c = -1;
	int running = -1, total = -1, last = -1, n, extra;

	slurp("/proc/loadavg", buf, sizeof(buf));
	n = sscanf(buf, "%lf %lf %lf %d/%d %d %n", &a, &b, &c, &running, &total, &last, &extra);
	CHECK("loadavg", n == 6 && a >= 0 && b >= 0 && c >= 0 && buf[extra] == '\0', "'%s'", buf);
	CHECK("loadavg-tasks", total >= 1 && running >= 1 && running <= total, "'%s'", buf);
	CHECK("loadavg-last-pid", last == last_pid, "'%s', last pid %d", buf, last_pid);
}

/* Another process's /proc/PID, read from its parent: a child that execs
 * this program to sleep with a cmdline of its own, holding fd 42. */
static int test_other_process(const char *argv0)
{
	char exe[512], path[128], buf[8192], link[512];
	struct stat_line st;
	int status, state_s = 0, fd42 = 0;
	ssize_t n;
	pid_t pid;
	DIR *d;
	struct dirent *e;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	dup2(open("/proc/meminfo", O_RDONLY), 42);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(exe, argv0, "sleeper", (char *)NULL);
		_exit(127);
	}
	close(42);
	CHECK("child-fork", pid > 0, "fork");
	if (pid <= 0)
		return -1;
	/* Until it sleeps, after its exec (up to 2 s). */
	for (int i = 0; i < 200 && !state_s; i++) {
		struct timespec ms10 = {0, 10 * 1000 * 1000};

		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		n = slurp(path, buf, sizeof(buf));
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (n > 0 && !strcmp(buf + strlen(buf) + 1, "sleeper") &&
		    slurp(path, buf, sizeof(buf)) > 0 && parse_stat(buf, &st) == 0 &&
		    st.state == 'S')
			state_s = 1;
		else
			nanosleep(&ms10, NULL);
	}
	CHECK("child-stat",
	      state_s && st.pid == pid && st.ppid == getpid() &&
		  !strncmp(st.comm, base_name(exe), 15),
	      "'%s'", buf);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	n = slurp(path, buf, sizeof(buf));
	snprintf(link, sizeof(link), "\nState:\tS (sleeping)\n");
	CHECK("child-status",
	      n > 0 && strstr(buf, link) && strstr(buf, "\nPPid:\t") &&
		  atoi(strstr(buf, "\nPPid:\t") + 7) == getpid(),
	      "'%s'", buf);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = slurp(path, buf, sizeof(buf));
	CHECK("child-cmdline",
	      n == (ssize_t)(strlen(argv0) + 1 + strlen("sleeper") + 1) && !strcmp(buf, argv0) &&
		  !strcmp(buf + strlen(argv0) + 1, "sleeper"),
	      "%zd bytes '%s'", n, buf);
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	CHECK("child-exe", n > 0 && !strcmp(link, exe), "'%s' vs '%s'", link, exe);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	n = slurp(path, buf, sizeof(buf));
	CHECK("child-maps", n > 0 && strstr(buf, "[stack]") && strstr(buf, "r-xp"), "'%s'", buf);
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	CHECK("child-fd-dir", d != NULL, "opendir %s", path);
	while (d && (e = readdir(d)))
		fd42 |= !strcmp(e->d_name, "42");
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "/proc/%d/fd/42", pid);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	CHECK("child-fd", fd42 && !strcmp(link, "/proc/meminfo"), "listed %d, '%s'", fd42, link);
	CHECK("child-kill",
	      kill(pid, SIGKILL) == 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
		  WTERMSIG(status) == SIGKILL,
	      "status %x", status);
	snprintf(path, sizeof(path), "/proc/%d", pid);
	CHECK("child-gone", access(path, F_OK) == -1 && errno == ENOENT, "still there");
	return pid;
}

int main(int argc, char **argv)
{
	int child;

	if (argc > 1 && !strcmp(argv[1], "sleeper")) {
		sleep(60); /* until the parent kills it */
		return 1;
	}
	test_meminfo();
	test_devices();
	test_mounts();
	test_proc_self(argv[0]);
	test_proc_files(argv[0]);
	child = test_other_process(argv[0]);
	test_loadavg(child);
	printf(failures ? "procdev FAILED (%d)\n" : "procdev ok\n", failures);
	return failures != 0;
}

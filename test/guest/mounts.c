/*
 * mount(2) and umount2(2) inside the sandbox: a tmpfs, a read-only bind
 * mount, a remount, EBUSY while in use, MNT_DETACH, and /proc/mounts
 * following along.  Prints "mounts ok" if every check passed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static int proc_mounts_has(const char *needle)
{
	char buf[8192] = {0};
	int fd = open("/proc/mounts", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 && strstr(buf, needle) != NULL;
}

int main(void)
{
	struct stat st;
	int fd;

	mkdir("/tmp/m", 0755);
	mkdir("/tmp/b", 0755);
	CHECK("mount-tmpfs", mount("none", "/tmp/m", "tmpfs", 0, NULL) == 0, "mount");
	CHECK("tmpfs-usable", (fd = open("/tmp/m/f", O_CREAT | O_RDWR, 0644)) >= 0 &&
				  write(fd, "x", 1) == 1,
	      "write");
	CHECK("proc-mounts-shows", proc_mounts_has("tmpfs /tmp/m tmpfs rw"), "no entry");
	CHECK("umount-busy", umount2("/tmp/m", 0) == -1 && errno == EBUSY, "errno %d", errno);
	close(fd);
	CHECK("umount", umount2("/tmp/m", 0) == 0, "umount");
	CHECK("gone-after-umount", stat("/tmp/m/f", &st) == -1 && errno == ENOENT, "still there");
	CHECK("umount-not-a-mount", umount2("/tmp/m", 0) == -1 && errno == EINVAL, "errno %d",
	      errno);
	CHECK("unknown-fs", mount("x", "/tmp/m", "nosuchfs", 0, NULL) == -1 && errno == ENODEV,
	      "errno %d", errno);

	CHECK("bind-ro", mount("/etc", "/tmp/b", NULL, MS_BIND | MS_RDONLY, NULL) == 0, "bind");
	CHECK("bind-shows-source", stat("/tmp/b/hostname", &st) == 0 || stat("/tmp/b/passwd", &st) == 0,
	      "nothing under the bind");
	CHECK("bind-ro-refuses", open("/tmp/b/new", O_CREAT | O_WRONLY, 0644) == -1 &&
				     errno == EROFS,
	      "errno %d", errno);
	CHECK("remount-rw", mount(NULL, "/tmp/b", NULL, MS_REMOUNT, NULL) == 0 &&
				(fd = open("/tmp/b/new", O_CREAT | O_WRONLY, 0644)) >= 0,
	      "remount");
	CHECK("bind-writes-source", close(fd) == 0 && stat("/etc/new", &st) == 0, "not in /etc");
	fd = open("/tmp/b/new", O_RDONLY);
	CHECK("detach-while-busy", umount2("/tmp/b", MNT_DETACH) == 0, "detach");
	CHECK("detached-file-still-readable", fstat(fd, &st) == 0, "fstat");
	close(fd);
	CHECK("detached-gone", stat("/tmp/b/new", &st) == -1 && errno == ENOENT, "still there");
	CHECK("umount-root", umount2("/", 0) == -1 && errno == EINVAL, "errno %d", errno);
	printf(failures ? "mounts FAILED (%d)\n" : "mounts ok\n", failures);
	return failures != 0;
}

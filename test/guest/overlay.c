/*
 * The overlay root, from inside: run by overlay.sh with a --root whose
 * lower tree holds /data/{keep,edit,gone} and /data/dir/{a,b}.  Every
 * change stays in the sandbox (overlay.sh checks the host tree after).
 * Prints "overlay ok" if every check passed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static int slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return (int)n;
}

static int put(const char *path, const char *s, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	int ok = fd >= 0 && write(fd, s, strlen(s)) == (ssize_t)strlen(s);

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* The names in @dir, sorted, space separated. */
static void list(const char *dir, char *out, size_t size)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			strncat(out, names[i]->d_name, size - strlen(out) - 2);
			strcat(out, " ");
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

int main(void)
{
	char buf[256], names[512];
	struct stat st;

	CHECK("lower-visible", slurp("/data/keep", buf, sizeof(buf)) > 0 && !strcmp(buf, "keep\n"),
	      "'%s'", buf);
	CHECK("create-new", put("/data/new", "new\n", O_EXCL) == 0, "create");
	CHECK("copy-up-append", put("/data/edit", "more\n", O_APPEND) == 0 &&
					slurp("/data/edit", buf, sizeof(buf)) > 0 &&
					!strcmp(buf, "edit\nmore\n"),
	      "'%s'", buf);
	CHECK("copy-up-keeps-mode", stat("/data/edit", &st) == 0 && (st.st_mode & 0777) == 0640,
	      "mode %o", st.st_mode & 0777);
	CHECK("truncate-lower", truncate("/data/keep", 2) == 0 && stat("/data/keep", &st) == 0 &&
				    st.st_size == 2,
	      "size %ld", (long)st.st_size);
	CHECK("unlink-lower", unlink("/data/gone") == 0 && access("/data/gone", F_OK) == -1 &&
				  errno == ENOENT,
	      "still there");
	list("/data", names, sizeof(names));
	CHECK("merged-readdir", !strcmp(names, "dir edit keep link new "), "'%s'", names);
	CHECK("rmdir-nonempty-lower", rmdir("/data/dir") == -1 && errno == ENOTEMPTY, "rmdir");
	CHECK("unlink-in-lower-dir", unlink("/data/dir/a") == 0 && unlink("/data/dir/b") == 0,
	      "unlink");
	list("/data/dir", names, sizeof(names));
	CHECK("dir-now-empty", names[0] == '\0', "'%s'", names);
	CHECK("rmdir-emptied-lower", rmdir("/data/dir") == 0, "rmdir");
	CHECK("mkdir-over-whiteout", mkdir("/data/dir", 0755) == 0, "mkdir");
	list("/data/dir", names, sizeof(names));
	CHECK("new-dir-is-opaque", names[0] == '\0', "lower shows through: '%s'", names);
	CHECK("rename-lower-file", rename("/data/keep", "/data/kept") == 0 &&
				       access("/data/keep", F_OK) == -1 &&
				       slurp("/data/kept", buf, sizeof(buf)) == 2,
	      "rename");
	CHECK("symlink-lower", readlink("/data/link", buf, sizeof(buf)) == 4, "readlink");
	CHECK("recreate-removed", put("/data/gone", "back\n", O_EXCL) == 0 &&
				      slurp("/data/gone", buf, sizeof(buf)) > 0 &&
				      !strcmp(buf, "back\n"),
	      "'%s'", buf);
	/* /data/dir is a lower directory again hidden by a whiteout: a
	 * directory renamed onto that name must not show a and b. */
	CHECK("dir-onto-whiteout", rmdir("/data/dir") == 0 && mkdir("/data/mv", 0755) == 0 &&
					   put("/data/mv/in", "i", 0) == 0 &&
					   rename("/data/mv", "/data/dir") == 0,
	      "setup");
	list("/data/dir", names, sizeof(names));
	CHECK("moved-dir-is-opaque", !strcmp(names, "in "), "'%s'", names);
	CHECK("mkdir-deep-new", mkdir("/data/x", 0755) == 0 && mkdir("/data/x/y", 0755) == 0 &&
				    put("/data/x/y/z", "z", 0) == 0,
	      "mkdir");
	printf(failures ? "overlay FAILED (%d)\n" : "overlay ok\n", failures);
	return failures != 0;
}

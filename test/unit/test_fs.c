/*
 * Unit tests for the file systems other than tmpfs (test_vfs.c has that
 * and path resolution), through the same VFS API the syscalls use, with
 * the errnos Linux gives:
 *   - overlay: a tmpfs upper over a hostfs lower: copy-up on write,
 *     whiteouts, ENOTEMPTY for a merged directory, readdir merging
 *     without duplicates, EXDEV for renaming a lower directory;
 *   - hostfs: a scratch host directory, mounted read-only as the kernel
 *     mounts it: EROFS for changes, symlinks read but never followed by
 *     the host, ENOENT, data;
 *   - devfs: null, zero, full, urandom;
 *   - procfs: meminfo follows the memory accounting, loadavg and uptime
 *     have their formats, filesystems lists fuse only with the hooks;
 *   - pipes: data, EPIPE, EAGAIN.
 * The host tree is made fresh for each test; the overlay tests check that
 * the host files beneath them are unchanged.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "kernel/devfs.h"
#include "kernel/hostfs.h"
#include "kernel/kernel.h"
#include "kernel/pipe.h"
#include "kernel/procfs.h"
#include "kernel/vfs/ops.h"
#include "kernel/vfs/overlay.h"
#include "kernel/vfs/tmpfs.h"

static struct memacct macct;
static struct memfile mf;
static struct vfs vfs;
static struct vfs_ctx ctx;
static struct vfs_path root;
static struct kernel kern; /* just what devfs and procfs read */
static char host_dir[64];

/* --- helpers --- */

static void host_write(const char *rel, const char *data)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", host_dir, rel);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(data, f);
	fclose(f);
}

static void host_mkdir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", host_dir, rel);
	cr_assert_eq(mkdir(path, 0755), 0, "%s", path);
}

static void host_symlink(const char *target, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", host_dir, rel);
	cr_assert_eq(symlink(target, path), 0, "%s", path);
}

static int host_exists(const char *rel)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", host_dir, rel);
	return lstat(path, &st) == 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void mount_at(const char *dir, struct vfs_fs *fs, unsigned flags)
{
	struct vfs_path at;

	cr_assert_eq(vfs_mkdirat(&ctx, root, dir, 0755), 0);
	cr_assert_eq(vfs_resolve(&vfs, root, root, dir, VFS_LOOKUP_FOLLOW, &at, NULL, NULL), 0);
	cr_assert_eq(vfs_mount(&vfs, at, fs, flags), 0, "mount %s", dir);
	vfs_path_put(at);
}

/*
 * The namespace: a tmpfs root with
 *   /host  the scratch host directory, read-only (hostfs, MS_RDONLY)
 *   /ov    an overlay of a fresh tmpfs over the same host directory
 *   /dev   devfs, /proc procfs
 * The host directory holds file ("lower data"), dir/{a,b}, dir2/x, del,
 * empty/, link -> file, abs -> /etc/passwd, up -> ../../../../etc/hostname.
 */
static void setup(void)
{
	struct vfs_fs *fs, *upper, *lower, *ov;

	memacct_init(&macct);
	cr_assert_eq(memfile_init(&mf, 64 << 20, &macct), 0);
	cr_assert_eq(tmpfs_create_fs(&mf, 0755, &fs), 0);
	cr_assert_eq(vfs_init(&vfs, fs), 0);
	root = vfs.root;
	ctx = (struct vfs_ctx){.vfs = &vfs, .root = root, .umask = 022};

	snprintf(host_dir, sizeof(host_dir), "/tmp/ksentry-test_fs-XXXXXX");
	cr_assert_not_null(mkdtemp(host_dir));
	host_write("file", "lower data");
	host_mkdir("dir");
	host_write("dir/a", "a");
	host_write("dir/b", "b");
	host_mkdir("dir2");
	host_write("dir2/x", "x");
	host_write("del", "doomed");
	host_mkdir("empty");
	host_symlink("file", "link");
	host_symlink("/etc/passwd", "abs");
	host_symlink("../../../../etc/hostname", "up");

	cr_assert_eq(hostfs_create(host_dir, &fs), 0);
	mount_at("/host", fs, MS_RDONLY);
	cr_assert_eq(tmpfs_create_fs(&mf, 0755, &upper), 0);
	cr_assert_eq(hostfs_create(host_dir, &lower), 0);
	cr_assert_eq(overlay_create_fs(upper, lower, &ov), 0);
	mount_at("/ov", ov, 0);

	memset(&kern, 0, sizeof(kern));
	kern.mf = &mf;
	kern.acct = &macct;
	pthread_mutex_init(&kern.tasks_lock, NULL);
	kern.tasks = calloc(KERNEL_MAX_PIDS, sizeof(*kern.tasks));
	cr_assert_not_null(kern.tasks);
	kern.next_pid = 5; /* as if pids 1 to 4 had come and gone */
	clock_gettime(CLOCK_MONOTONIC, &kern.boot_time);
	cr_assert_eq(devfs_create(&kern, &fs), 0);
	mount_at("/dev", fs, 0);
	cr_assert_eq(procfs_create(&kern, &fs), 0);
	mount_at("/proc", fs, 0);
}

static void teardown(void)
{
	vfs_destroy(&vfs);
	cr_assert_eq(memacct_get(&macct, MEMACCT_TMPFS), 0, "all tmpfs frames freed");
	memfile_destroy(&mf);
	pthread_mutex_destroy(&kern.tasks_lock);
	free(kern.tasks);
	nftw(host_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(fs, .init = setup, .fini = teardown);

static ssize_t write_at(struct vfs_file *f, const void *s, size_t n, int64_t off)
{
	struct vfs_mem_io m;

	vfs_mem_io_init(&m, (void *)s, n);
	return vfs_write(f, &m.io, off);
}

static ssize_t read_at(struct vfs_file *f, void *s, size_t n, int64_t off)
{
	struct vfs_mem_io m;

	vfs_mem_io_init(&m, s, n);
	return vfs_read(f, &m.io, off);
}

static int open_err(const char *path, int flags, struct vfs_file **out)
{
	struct vfs_file *f = NULL;
	int err = vfs_openat(&ctx, root, path, flags, 0644, &f);

	if (out)
		*out = err ? NULL : f;
	else if (!err)
		vfs_file_put(f);
	return err;
}

static struct vfs_file *open_path(const char *path, int flags)
{
	struct vfs_file *f;
	int err = open_err(path, flags, &f);

	cr_assert_eq(err, 0, "open %s: %s", path, strerror(-err));
	return f;
}

/* The whole of the file at @path (up to @size - 1 bytes), NUL-terminated. */
static ssize_t slurp(const char *path, char *buf, size_t size)
{
	struct vfs_file *f = open_path(path, O_RDONLY);
	ssize_t n, total = 0;

	while ((n = read_at(f, buf + total, size - 1 - (size_t)total, -1)) > 0)
		total += n;
	vfs_file_put(f);
	buf[total] = '\0';
	return n < 0 ? n : total;
}

static void expect_contents(const char *path, const char *want)
{
	char buf[256];

	cr_assert_eq(slurp(path, buf, sizeof(buf)), (ssize_t)strlen(want), "%s", path);
	cr_assert_str_eq(buf, want, "%s", path);
}

static void write_file(const char *path, const char *data)
{
	struct vfs_file *f = open_path(path, O_WRONLY | O_CREAT | O_TRUNC);

	cr_assert_eq(write_at(f, data, strlen(data), -1), (ssize_t)strlen(data));
	vfs_file_put(f);
}

static int stat_err(const char *path, bool follow, struct stat *st)
{
	return vfs_statat(&ctx, root, path, follow, st);
}

/* Directory listings: " name" for each entry, and how many. */
struct names {
	char list[1024];
	int n;
};

static int collect(void *c, const struct vfs_dirent *d)
{
	struct names *names = c;

	strcat(names->list, " ");
	strncat(names->list, d->name, d->len);
	names->n++;
	return 0;
}

static void list_dir(const char *path, struct names *names)
{
	struct vfs_file *dir = open_path(path, O_RDONLY | O_DIRECTORY);

	memset(names, 0, sizeof(*names));
	cr_assert_eq(vfs_iterate(dir, collect, names), 0);
	strcat(names->list, " ");
	vfs_file_put(dir);
}

/* How often " name " is in @names. */
static int count_name(const struct names *names, const char *name)
{
	char want[64];
	int n = 0;

	snprintf(want, sizeof(want), " %s ", name);
	for (const char *p = names->list; (p = strstr(p, want)); p++)
		n++;
	return n;
}

/* --- overlay --- */

Test(fs, overlay_reads_the_lower_layer)
{
	struct stat st;

	expect_contents("/ov/file", "lower data");
	expect_contents("/ov/dir/a", "a");
	cr_assert_eq(stat_err("/ov/dir", true, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(stat_err("/ov/nope", true, &st), -ENOENT);
}

Test(fs, overlay_copies_up_on_write)
{
	struct vfs_file *f = open_path("/ov/file", O_WRONLY | O_APPEND);
	struct stat st;

	cr_assert_eq(write_at(f, "+", 1, -1), 1);
	vfs_file_put(f);
	expect_contents("/ov/file", "lower data+");
	expect_contents("/host/file", "lower data"); /* the lower layer is untouched */
	cr_assert_eq(stat_err("/ov/file", true, &st), 0);
	cr_assert_eq(st.st_size, 11);
	/* A change of metadata copies up too. */
	write_file("/ov/dir/a", "A!");
	expect_contents("/ov/dir/a", "A!");
	expect_contents("/ov/dir/b", "b");
	expect_contents("/host/dir/a", "a");
}

Test(fs, overlay_unlink_leaves_a_whiteout)
{
	struct stat st;
	struct names names;

	cr_assert_eq(vfs_unlinkat(&ctx, root, "/ov/del", false), 0);
	cr_assert_eq(stat_err("/ov/del", true, &st), -ENOENT);
	cr_assert_eq(open_err("/ov/del", O_RDONLY, NULL), -ENOENT);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/ov/del", false), -ENOENT, "gone twice");
	list_dir("/ov", &names);
	cr_assert_eq(count_name(&names, "del"), 0, "%s", names.list);
	cr_assert(host_exists("del"), "the host file stays");
	/* The name can be used again, without the lower contents. */
	write_file("/ov/del", "new");
	expect_contents("/ov/del", "new");
	/* And a directory the same way. */
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/ov/empty", true), 0);
	cr_assert_eq(stat_err("/ov/empty", true, &st), -ENOENT);
	cr_assert(host_exists("empty"));
}

Test(fs, overlay_rmdir_of_a_merged_dir)
{
	struct stat st;
	struct names names;

	cr_assert_eq(vfs_unlinkat(&ctx, root, "/ov/dir", true), -ENOTEMPTY, "lower entries");
	write_file("/ov/empty/new", "n"); /* an upper entry in a lower directory */
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/ov/empty", true), -ENOTEMPTY, "upper entry");
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/ov/dir/a", false), 0);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/ov/dir", true), -ENOTEMPTY, "b is left");
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/ov/dir/b", false), 0);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/ov/dir", true), 0, "only whiteouts left");
	cr_assert_eq(stat_err("/ov/dir", true, &st), -ENOENT);
	/* Made again, it is opaque: the lower a and b do not come back. */
	cr_assert_eq(vfs_mkdirat(&ctx, root, "/ov/dir", 0755), 0);
	list_dir("/ov/dir", &names);
	cr_assert_eq(names.n, 2, "%s", names.list);
	cr_assert(host_exists("dir/a") && host_exists("dir/b"));
}

Test(fs, overlay_readdir_merges_without_duplicates)
{
	struct vfs_file *f = open_path("/ov/file", O_WRONLY);
	struct names names;

	cr_assert_eq(write_at(f, "L", 1, 0), 1); /* file is now in both layers */
	vfs_file_put(f);
	write_file("/ov/newfile", "n");
	cr_assert_eq(vfs_mkdirat(&ctx, root, "/ov/newdir", 0755), 0);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/ov/del", false), 0);
	list_dir("/ov", &names);
	cr_assert_eq(count_name(&names, "."), 1, "%s", names.list);
	cr_assert_eq(count_name(&names, ".."), 1, "%s", names.list);
	cr_assert_eq(count_name(&names, "file"), 1, "%s", names.list);
	cr_assert_eq(count_name(&names, "newfile"), 1, "%s", names.list);
	cr_assert_eq(count_name(&names, "newdir"), 1, "%s", names.list);
	cr_assert_eq(count_name(&names, "dir"), 1, "%s", names.list);
	cr_assert_eq(count_name(&names, "link"), 1, "%s", names.list);
	cr_assert_eq(count_name(&names, "del"), 0, "%s", names.list);
	/* . .. file dir dir2 empty link abs up newfile newdir */
	cr_assert_eq(names.n, 11, "%s", names.list);
}

Test(fs, overlay_rename_of_a_lower_dir_is_exdev)
{
	struct stat st;

	cr_assert_eq(vfs_renameat(&ctx, root, "/ov/dir2", root, "/ov/dir3", 0), -EXDEV);
	cr_assert_eq(stat_err("/ov/dir2/x", true, &st), 0, "still there");
	/* A directory made in the upper layer moves, and so does a lower file. */
	cr_assert_eq(vfs_mkdirat(&ctx, root, "/ov/up_dir", 0755), 0);
	cr_assert_eq(vfs_renameat(&ctx, root, "/ov/up_dir", root, "/ov/up_dir2", 0), 0);
	cr_assert_eq(vfs_renameat(&ctx, root, "/ov/file", root, "/ov/file2", 0), 0);
	expect_contents("/ov/file2", "lower data");
	cr_assert_eq(stat_err("/ov/file", true, &st), -ENOENT);
	cr_assert(host_exists("file"));
}

/* --- hostfs --- */

Test(fs, hostfs_is_read_only)
{
	struct stat st;

	cr_assert_eq(open_err("/host/new", O_WRONLY | O_CREAT, NULL), -EROFS);
	cr_assert_eq(open_err("/host/file", O_WRONLY, NULL), -EROFS);
	cr_assert_eq(open_err("/host/file", O_RDWR | O_TRUNC, NULL), -EROFS);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/host/file", false), -EROFS);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/host/empty", true), -EROFS);
	cr_assert_eq(vfs_mkdirat(&ctx, root, "/host/d", 0755), -EROFS);
	cr_assert_eq(vfs_symlinkat(&ctx, "x", root, "/host/s"), -EROFS);
	cr_assert_eq(vfs_renameat(&ctx, root, "/host/file", root, "/host/file2", 0), -EROFS);
	cr_assert_eq(stat_err("/host/file", true, &st), 0);
	cr_assert(!host_exists("new") && !host_exists("d") && !host_exists("s"));
}

Test(fs, hostfs_symlinks_are_read_not_followed_by_the_host)
{
	char buf[128] = {0};
	struct stat st;

	cr_assert_eq(vfs_readlinkat(&ctx, root, "/host/link", buf, sizeof(buf)), 4);
	cr_assert_str_eq(buf, "file");
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(vfs_readlinkat(&ctx, root, "/host/abs", buf, sizeof(buf)), 11);
	cr_assert_str_eq(buf, "/etc/passwd");
	cr_assert_eq(stat_err("/host/link", false, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_eq(stat_err("/host/link", true, &st), 0);
	cr_assert(S_ISREG(st.st_mode) && st.st_size == 10);
	/* Resolved by the sentry, in the sandbox: there is no /etc here. */
	cr_assert_eq(stat_err("/host/abs", true, &st), -ENOENT);
	cr_assert_eq(open_err("/host/abs", O_RDONLY, NULL), -ENOENT);
	cr_assert_eq(open_err("/host/up", O_RDONLY, NULL), -ENOENT);
	cr_assert_eq(open_err("/host/link", O_RDONLY | O_NOFOLLOW, NULL), -ELOOP);
}

Test(fs, hostfs_lookup_and_data)
{
	char buf[32] = {0};
	struct vfs_file *f;
	struct stat st;
	struct names names;

	cr_assert_eq(stat_err("/host/nope", true, &st), -ENOENT);
	cr_assert_eq(open_err("/host/nope", O_RDONLY, NULL), -ENOENT);
	cr_assert_eq(stat_err("/host/file/x", true, &st), -ENOTDIR);
	expect_contents("/host/file", "lower data");
	f = open_path("/host/file", O_RDONLY);
	cr_assert_eq(read_at(f, buf, 4, 6), 4);
	cr_assert_str_eq(buf, "data");
	cr_assert_eq(read_at(f, buf, 4, 100), 0, "past the end");
	vfs_file_put(f);
	cr_assert_eq(stat_err("/host/dir", true, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	list_dir("/host/dir", &names);
	cr_assert_eq(names.n, 4, "%s", names.list);
	cr_assert_eq(count_name(&names, "a") + count_name(&names, "b"), 2, "%s", names.list);
	cr_assert_eq(open_err("/host/dir", O_RDONLY | O_DIRECTORY, NULL), 0);
	cr_assert_eq(open_err("/host/file", O_RDONLY | O_DIRECTORY, NULL), -ENOTDIR);
}

/* Take @left entries, with where each was read; then say full. */
struct taken {
	int left, n;
	char names[8][16];
	uint64_t at[8];
};

static int take(void *c, const struct vfs_dirent *d)
{
	struct taken *t = c;

	if (t->left == 0 || t->n == 8)
		return 1;
	t->left--;
	snprintf(t->names[t->n], sizeof(t->names[0]), "%.*s", (int)d->len, d->name);
	t->at[t->n++] = d->at;
	return 0;
}

/* seekdir on a host directory: a position iterate gave resumes there,
 * one past the end reads nothing (the host stream is started over). */
Test(fs, hostfs_directory_positions)
{
	struct vfs_file *dir = open_path("/host/dir", O_RDONLY | O_DIRECTORY);
	struct taken first = {.left = 2}, rest = {.left = 8}, again = {.left = 8}, one = {.left = 1};
	struct taken none = {.left = 8};
	uint64_t end;

	cr_assert_eq(vfs_iterate_at(dir, take, &first, &end), 0);
	cr_assert_eq(first.n, 2);
	cr_assert_eq(vfs_iterate(dir, take, &rest), 0);
	cr_assert_eq(rest.n, 2, "4 names in all");
	cr_assert_eq(vfs_lseek(dir, (int64_t)end, SEEK_SET), (int64_t)end);
	cr_assert_eq(vfs_iterate(dir, take, &again), 0);
	cr_assert_eq(again.n, 2);
	cr_assert_str_eq(again.names[0], rest.names[0]);
	cr_assert_str_eq(again.names[1], rest.names[1]);
	cr_assert_eq(vfs_lseek(dir, (int64_t)first.at[1], SEEK_SET), (int64_t)first.at[1]);
	cr_assert_eq(vfs_iterate(dir, take, &one), 0);
	cr_assert_str_eq(one.names[0], first.names[1], "the second name again");
	cr_assert_eq(vfs_lseek(dir, 1000, SEEK_SET), 1000);
	cr_assert_eq(vfs_iterate(dir, take, &none), 0);
	cr_assert_eq(none.n, 0, "past the end");
	vfs_file_put(dir);
}

/* --- devfs --- */

Test(fs, dev_null_zero_full_urandom)
{
	unsigned char buf[256], other[256];
	struct vfs_file *f;

	f = open_path("/dev/null", O_RDWR);
	cr_assert_eq(read_at(f, buf, sizeof(buf), -1), 0, "null reads nothing");
	cr_assert_eq(write_at(f, buf, sizeof(buf), -1), (ssize_t)sizeof(buf), "and takes all");
	vfs_file_put(f);

	f = open_path("/dev/zero", O_RDONLY);
	memset(buf, 0xa5, sizeof(buf));
	cr_assert_eq(read_at(f, buf, sizeof(buf), -1), (ssize_t)sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0, "byte %zu", i);
	vfs_file_put(f);

	f = open_path("/dev/full", O_RDWR);
	cr_assert_eq(write_at(f, "x", 1, -1), -ENOSPC);
	memset(buf, 0xa5, sizeof(buf));
	cr_assert_eq(read_at(f, buf, 16, -1), 16, "full reads as zero does");
	cr_assert_eq(buf[0], 0);
	vfs_file_put(f);

	f = open_path("/dev/urandom", O_RDONLY);
	cr_assert_eq(read_at(f, buf, sizeof(buf), -1), (ssize_t)sizeof(buf));
	cr_assert_eq(read_at(f, other, sizeof(other), -1), (ssize_t)sizeof(other));
	cr_assert_neq(memcmp(buf, other, sizeof(buf)), 0, "two reads differ");
	vfs_file_put(f);

	cr_assert_eq(open_err("/dev/nope", O_RDONLY, NULL), -ENOENT);
}

/* --- procfs --- */

static long meminfo_kb(const char *key)
{
	char buf[4096], *line;
	size_t klen = strlen(key);

	cr_assert_gt(slurp("/proc/meminfo", buf, sizeof(buf)), 0);
	for (line = buf; line && *line; line = strchr(line, '\n'), line += line != NULL)
		if (!strncmp(line, key, klen) && line[klen] == ':')
			return strtol(line + klen + 1, NULL, 10);
	return -1;
}

Test(fs, proc_meminfo_parses_and_follows_tmpfs)
{
	static char chunk[1 << 16];
	long total = meminfo_kb("MemTotal"), before = meminfo_kb("Shmem"), during;
	struct vfs_file *f;

	cr_assert_eq(total, (64 << 20) / 1024, "MemTotal is the sandbox's memory: %ld", total);
	cr_assert_geq(meminfo_kb("MemFree"), 0);
	cr_assert_geq(before, 0);
	f = open_path("/big", O_WRONLY | O_CREAT);
	memset(chunk, 'x', sizeof(chunk));
	cr_assert_eq(write_at(f, chunk, sizeof(chunk), -1), (ssize_t)sizeof(chunk));
	vfs_file_put(f);
	during = meminfo_kb("Shmem");
	cr_assert_eq(during - before, 64, "Shmem %ld -> %ld kB", before, during);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/big", false), 0);
	cr_assert_eq(meminfo_kb("Shmem"), before);
	cr_assert_eq(open_err("/proc/meminfo", O_WRONLY, NULL), -EACCES);
	cr_assert_eq(open_err("/proc/nope", O_RDONLY, NULL), -ENOENT);
}

Test(fs, proc_filesystems_without_fuse_hooks)
{
	char buf[256];

	cr_assert_gt(slurp("/proc/filesystems", buf, sizeof(buf)), 0);
	cr_assert_not_null(strstr(buf, "nodev\ttmpfs\n"));
	cr_assert_not_null(strstr(buf, "nodev\tproc\n"));
	cr_assert_null(strstr(buf, "fuse"), "no hooks, no fuse: %s", buf);
}

Test(fs, proc_loadavg_and_uptime)
{
	struct timespec ms20 = {0, 20 * 1000 * 1000};
	char buf[128];
	double up1 = -1, up2 = -1, idle = -1;

	cr_assert_gt(slurp("/proc/loadavg", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "0.00 0.00 0.00 0/0 4\n", "no tasks; the last pid handed out");
	cr_assert_gt(slurp("/proc/uptime", buf, sizeof(buf)), 0);
	cr_assert_eq(sscanf(buf, "%lf %lf", &up1, &idle), 2, "%s", buf);
	nanosleep(&ms20, NULL);
	cr_assert_gt(slurp("/proc/uptime", buf, sizeof(buf)), 0);
	cr_assert_eq(sscanf(buf, "%lf", &up2), 1, "%s", buf);
	cr_assert_gt(up2, up1, "%f then %f", up1, up2);
}

/* --- pipes --- */

Test(fs, pipe_write_then_read)
{
	struct vfs_file *rd, *wr;
	char buf[16] = {0};
	struct stat st;

	cr_assert_eq(pipe_create(0, &rd, &wr), 0);
	cr_assert_eq(write_at(wr, "ping", 4, -1), 4);
	cr_assert_eq(read_at(rd, buf, sizeof(buf), -1), 4);
	cr_assert_str_eq(buf, "ping");
	cr_assert_eq(read_at(rd, buf, 1, 0), -ESPIPE, "no pread on a pipe");
	cr_assert_eq(read_at(wr, buf, 1, -1), -EBADF, "the write end");
	cr_assert_eq(write_at(rd, "x", 1, -1), -EBADF, "the read end");
	cr_assert_eq(rd->ops->stat(rd, &st), 0);
	cr_assert(S_ISFIFO(st.st_mode));
	vfs_file_put(wr);
	cr_assert_eq(read_at(rd, buf, 1, -1), 0, "no writer: end of file");
	vfs_file_put(rd);
}

Test(fs, pipe_epipe_without_a_reader)
{
	struct vfs_file *rd, *wr;

	cr_assert_eq(pipe_create(0, &rd, &wr), 0);
	vfs_file_put(rd);
	cr_assert_eq(write_at(wr, "x", 1, -1), -EPIPE);
	vfs_file_put(wr);
}

Test(fs, pipe_nonblocking_eagain)
{
	static char big[1 << 16];
	struct vfs_file *rd, *wr;
	char c;

	cr_assert_eq(pipe_create(O_NONBLOCK, &rd, &wr), 0);
	cr_assert_eq(read_at(rd, &c, 1, -1), -EAGAIN, "empty");
	cr_assert_eq(write_at(wr, big, sizeof(big), -1), (ssize_t)sizeof(big), "64 KiB fit");
	cr_assert_eq(write_at(wr, "x", 1, -1), -EAGAIN, "full");
	cr_assert_eq(read_at(rd, &c, 1, -1), 1);
	cr_assert_eq(write_at(wr, "x", 1, -1), 1, "room again");
	vfs_file_put(rd);
	vfs_file_put(wr);
}

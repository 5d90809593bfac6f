/*
 * Unit tests for the VFS (kernel/vfs/): path resolution with the errnos
 * Linux gives, escapes that must stay inside the root, mounts, and tmpfs
 * semantics including its memory accounting.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "kernel/vfs/ops.h"
#include "kernel/vfs/tmpfs.h"

static struct memacct acct;
static struct memfile mf;
static struct vfs vfs;
static struct vfs_ctx ctx;
static struct vfs_path root;

static void setup(void)
{
	struct vfs_fs *fs;

	memacct_init(&acct);
	cr_assert_eq(memfile_init(&mf, 64 << 20, &acct), 0);
	cr_assert_eq(tmpfs_create_fs(&mf, 0755, &fs), 0);
	cr_assert_eq(vfs_init(&vfs, fs), 0);
	root = vfs.root;
	ctx = (struct vfs_ctx){.vfs = &vfs, .root = root, .umask = 022};
}

static void teardown(void)
{
	vfs_destroy(&vfs);
	cr_assert_eq(memacct_get(&acct, MEMACCT_TMPFS), 0, "all tmpfs frames freed");
	memfile_destroy(&mf);
}

TestSuite(vfs, .init = setup, .fini = teardown);

/* --- helpers --- */

struct buf_io {
	struct vfs_io io;
	char *buf;
};

static int buf_copy(struct vfs_io *io, void *p, size_t at, size_t n, bool to_caller)
{
	struct buf_io *b = (struct buf_io *)io;

	if (to_caller)
		memcpy(b->buf + at, p, n);
	else
		memcpy(p, b->buf + at, n);
	return 0;
}

static ssize_t write_at(struct vfs_file *f, const char *s, size_t n, int64_t off)
{
	struct buf_io b = {.io = {.copy = buf_copy, .len = n}, .buf = (char *)s};

	return vfs_write(f, &b.io, off);
}

static ssize_t read_at(struct vfs_file *f, char *s, size_t n, int64_t off)
{
	struct buf_io b = {.io = {.copy = buf_copy, .len = n}, .buf = s};

	return vfs_read(f, &b.io, off);
}

static struct vfs_file *open_path(const char *path, int flags)
{
	struct vfs_file *f = NULL;
	int err = vfs_openat(&ctx, root, path, flags, 0644, &f);

	cr_assert_eq(err, 0, "open %s: %s", path, strerror(-err));
	return f;
}

static int open_err(const char *path, int flags)
{
	struct vfs_file *f = NULL;
	int err = vfs_openat(&ctx, root, path, flags, 0644, &f);

	if (!err)
		vfs_file_put(f);
	return err;
}

static void write_file(const char *path, const char *data)
{
	struct vfs_file *f = open_path(path, O_WRONLY | O_CREAT | O_TRUNC);

	cr_assert_eq(write_at(f, data, strlen(data), -1), (ssize_t)strlen(data));
	vfs_file_put(f);
}

static void expect_contents(const char *path, const char *want)
{
	char buf[256] = {0};
	struct vfs_file *f = open_path(path, O_RDONLY);

	cr_assert_eq(read_at(f, buf, sizeof(buf) - 1, -1), (ssize_t)strlen(want));
	cr_assert_str_eq(buf, want);
	vfs_file_put(f);
}

static int stat_err(const char *path, bool follow, struct stat *st)
{
	return vfs_statat(&ctx, root, path, follow, st);
}

/* --- files and directories --- */

Test(vfs, create_write_read)
{
	struct stat st;

	cr_assert_eq(vfs_mkdirat(&ctx, root, "/a", 0777), 0);
	write_file("/a/f", "hello");
	expect_contents("/a/f", "hello");
	cr_assert_eq(stat_err("/a/f", true, &st), 0);
	cr_assert_eq(st.st_size, 5);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0644 & ~022);
	cr_assert_eq(stat_err("/a", true, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0755, "umask applies");
	cr_assert_eq(st.st_nlink, 2);
}

Test(vfs, open_flags)
{
	write_file("/f", "x");
	cr_assert_eq(open_err("/f", O_RDONLY | O_CREAT | O_EXCL), -EEXIST);
	cr_assert_eq(open_err("/f", O_RDONLY | O_DIRECTORY), -ENOTDIR);
	cr_assert_eq(open_err("/", O_WRONLY), -EISDIR);
	cr_assert_eq(open_err("/nope", O_RDONLY), -ENOENT);
	cr_assert_eq(open_err("/nope/x", O_RDONLY | O_CREAT), -ENOENT);
	cr_assert_eq(open_err("/f/x", O_RDONLY), -ENOTDIR);
	cr_assert_eq(open_err("/f/", O_RDONLY), -ENOTDIR, "trailing slash on a file");
	cr_assert_eq(open_err("", O_RDONLY), -ENOENT);
	write_file("/f", "xyz"); /* O_TRUNC then write */
	expect_contents("/f", "xyz");
}

Test(vfs, append_and_offsets)
{
	struct vfs_file *f;
	char buf[16] = {0};

	write_file("/f", "abc");
	f = open_path("/f", O_WRONLY | O_APPEND);
	cr_assert_eq(write_at(f, "de", 2, -1), 2);
	vfs_file_put(f);
	expect_contents("/f", "abcde");
	f = open_path("/f", O_RDWR);
	cr_assert_eq(vfs_lseek(f, -2, SEEK_END), 3);
	cr_assert_eq(read_at(f, buf, 10, -1), 2);
	cr_assert_str_eq(buf, "de");
	cr_assert_eq(vfs_lseek(f, -100, SEEK_CUR), -EINVAL);
	cr_assert_eq(read_at(f, buf, 2, 1), 2, "pread");
	cr_assert_eq(vfs_lseek(f, 0, SEEK_CUR), 5, "pread leaves the offset");
	vfs_file_put(f);
	f = open_path("/f", O_RDONLY);
	cr_assert_eq(write_at(f, "z", 1, -1), -EBADF);
	vfs_file_put(f);
}

Test(vfs, names_too_long)
{
	char name[VFS_NAME_MAX + 3], path[VFS_PATH_MAX + 10];

	memset(name, 'n', sizeof(name));
	name[0] = '/';
	name[VFS_NAME_MAX + 2] = '\0';
	cr_assert_eq(open_err(name, O_RDONLY | O_CREAT), -ENAMETOOLONG);
	name[VFS_NAME_MAX + 1] = '\0';
	cr_assert_eq(open_err(name, O_RDONLY | O_CREAT), 0, "exactly NAME_MAX is fine");
	memset(path, 'a', sizeof(path));
	for (size_t i = 0; i < sizeof(path); i += 2)
		path[i] = '/';
	path[VFS_PATH_MAX + 5] = '\0';
	cr_assert_eq(open_err(path, O_RDONLY), -ENAMETOOLONG);
}

/* --- symlinks --- */

Test(vfs, symlinks_resolve_and_loop)
{
	char buf[64];
	struct stat st;
	char name[32], target[32];

	cr_assert_eq(vfs_mkdirat(&ctx, root, "/d", 0755), 0);
	write_file("/d/f", "data");
	cr_assert_eq(vfs_symlinkat(&ctx, "d/f", root, "/rel"), 0);
	cr_assert_eq(vfs_symlinkat(&ctx, "/d", root, "/abs"), 0);
	expect_contents("/rel", "data");
	expect_contents("/abs/f", "data");
	cr_assert_eq(vfs_readlinkat(&ctx, root, "/rel", buf, sizeof(buf)), 3);
	cr_assert_eq(stat_err("/rel", false, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "lstat sees the link");
	cr_assert_eq(open_err("/rel", O_RDONLY | O_NOFOLLOW), -ELOOP);
	cr_assert_eq(vfs_symlinkat(&ctx, "/loop1", root, "/loop2"), 0);
	cr_assert_eq(vfs_symlinkat(&ctx, "/loop2", root, "/loop1"), 0);
	cr_assert_eq(open_err("/loop1", O_RDONLY), -ELOOP);
	cr_assert_eq(vfs_symlinkat(&ctx, "", root, "/empty"), -ENOENT);
	cr_assert_eq(vfs_symlinkat(&ctx, "/nowhere", root, "/dangling"), 0);
	cr_assert_eq(open_err("/dangling", O_RDONLY), -ENOENT);

	/* A chain of exactly 40 links resolves; 41 is ELOOP. */
	for (int i = 0; i < 41; i++) {
		snprintf(name, sizeof(name), "/c%d", i);
		snprintf(target, sizeof(target), i ? "/c%d" : "/d/f", i - 1);
		cr_assert_eq(vfs_symlinkat(&ctx, target, root, name), 0);
	}
	expect_contents("/c39", "data");
	cr_assert_eq(open_err("/c40", O_RDONLY), -ELOOP);
}

/* --- staying inside the root --- */

Test(vfs, dotdot_never_climbs_above_the_root)
{
	struct vfs_path jail;
	struct stat st, jst;

	cr_assert_eq(vfs_mkdirat(&ctx, root, "/jail", 0755), 0);
	cr_assert_eq(vfs_mkdirat(&ctx, root, "/jail/a", 0755), 0);
	write_file("/secret", "host");
	write_file("/jail/inside", "ok");
	cr_assert_eq(vfs_resolve(&vfs, root, root, "/jail", 0, &jail, NULL, NULL), 0);
	ctx.root = jail;
	cr_assert_eq(vfs_statat(&ctx, jail, "/../../..", true, &st), 0);
	cr_assert_eq(vfs_statat(&ctx, jail, "/", true, &jst), 0);
	cr_assert_eq(st.st_ino, jst.st_ino, ".. at the root is the root");
	cr_assert_eq(vfs_statat(&ctx, jail, "a/../../../secret", true, &st), -ENOENT);
	cr_assert_eq(vfs_statat(&ctx, jail, "../inside", true, &st), 0);
	/* Symlinks: relative ones climbing out and absolute ones to "host
	 * paths" both land inside the jail. */
	cr_assert_eq(vfs_symlinkat(&ctx, "../../../secret", jail, "a/up"), 0);
	cr_assert_eq(vfs_statat(&ctx, jail, "a/up", true, &st), -ENOENT);
	cr_assert_eq(vfs_symlinkat(&ctx, "/secret", jail, "abs"), 0);
	cr_assert_eq(vfs_statat(&ctx, jail, "abs", true, &st), -ENOENT);
	cr_assert_eq(vfs_symlinkat(&ctx, "/inside", jail, "good"), 0);
	cr_assert_eq(vfs_statat(&ctx, jail, "good", true, &st), 0);
	ctx.root = root;
	vfs_path_put(jail);
}

/* --- mounts --- */

Test(vfs, mounts_cross_both_ways)
{
	struct vfs_fs *fs2;
	struct vfs_path mnt;
	struct stat st, rst;

	cr_assert_eq(vfs_mkdirat(&ctx, root, "/mnt", 0755), 0);
	write_file("/mnt/hidden", "under");
	cr_assert_eq(vfs_resolve(&vfs, root, root, "/mnt", 0, &mnt, NULL, NULL), 0);
	cr_assert_eq(tmpfs_create_fs(&mf, 0755, &fs2), 0);
	cr_assert_eq(vfs_mount(&vfs, mnt, fs2, 0), 0);
	vfs_path_put(mnt);
	cr_assert_eq(stat_err("/mnt/hidden", true, &st), -ENOENT, "covered by the mount");
	write_file("/mnt/top", "over");
	expect_contents("/mnt/../mnt/top", "over");
	cr_assert_eq(stat_err("/mnt/..", true, &st), 0);
	cr_assert_eq(stat_err("/", true, &rst), 0);
	cr_assert_eq(st.st_ino, rst.st_ino, ".. leaves the mount");
	cr_assert_eq(st.st_dev, rst.st_dev);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/mnt", true), -EBUSY);
	cr_assert_eq(vfs_renameat(&ctx, root, "/mnt/top", root, "/top", 0), -EXDEV);
	cr_assert_eq(vfs_linkat(&ctx, root, "/mnt/top", root, "/top", false), -EXDEV);
}

Test(vfs, read_only_mount)
{
	struct vfs_fs *fs2;
	struct vfs_path mnt;

	cr_assert_eq(vfs_mkdirat(&ctx, root, "/ro", 0755), 0);
	cr_assert_eq(vfs_resolve(&vfs, root, root, "/ro", 0, &mnt, NULL, NULL), 0);
	cr_assert_eq(tmpfs_create_fs(&mf, 0755, &fs2), 0);
	cr_assert_eq(vfs_mount(&vfs, mnt, fs2, MS_RDONLY), 0);
	vfs_path_put(mnt);
	cr_assert_eq(open_err("/ro/f", O_WRONLY | O_CREAT), -EROFS);
	cr_assert_eq(vfs_mkdirat(&ctx, root, "/ro/d", 0755), -EROFS);
}

/* --- removing and renaming --- */

Test(vfs, unlink_and_rmdir_errnos)
{
	cr_assert_eq(vfs_mkdirat(&ctx, root, "/d", 0755), 0);
	write_file("/d/f", "x");
	cr_assert_eq(vfs_mkdirat(&ctx, root, "/d", 0755), -EEXIST);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/d", true), -ENOTEMPTY);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/d", false), -EISDIR);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/d/f", true), -ENOTDIR);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/d/.", true), -EINVAL);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/d/f/", false), -ENOTDIR);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/d/f", false), 0);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/d/f", false), -ENOENT);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/d/", true), 0);
	cr_assert_eq(open_err("/d", O_RDONLY), -ENOENT);
}

Test(vfs, rename_rules)
{
	struct stat st;

	cr_assert_eq(vfs_mkdirat(&ctx, root, "/a", 0755), 0);
	cr_assert_eq(vfs_mkdirat(&ctx, root, "/a/b", 0755), 0);
	write_file("/x", "1");
	write_file("/y", "2");
	cr_assert_eq(vfs_renameat(&ctx, root, "/a", root, "/a/b/c", 0), -EINVAL,
		     "into itself");
	cr_assert_eq(vfs_renameat(&ctx, root, "/x", root, "/y", RENAME_NOREPLACE), -EEXIST);
	cr_assert_eq(vfs_renameat(&ctx, root, "/x", root, "/y", RENAME_EXCHANGE), 0);
	expect_contents("/x", "2");
	expect_contents("/y", "1");
	cr_assert_eq(vfs_renameat(&ctx, root, "/x", root, "/y", 0), 0);
	expect_contents("/y", "2");
	cr_assert_eq(stat_err("/x", false, &st), -ENOENT);
	cr_assert_eq(vfs_renameat(&ctx, root, "/y", root, "/a", 0), -EISDIR);
	cr_assert_eq(vfs_renameat(&ctx, root, "/a", root, "/y", 0), -ENOTDIR);
	cr_assert_eq(vfs_renameat(&ctx, root, "/a/b", root, "/b2", 0), 0);
	cr_assert_eq(stat_err("/b2", false, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
}

Test(vfs, hard_links_share_data)
{
	struct stat st;

	write_file("/f", "shared");
	cr_assert_eq(vfs_linkat(&ctx, root, "/f", root, "/g", false), 0);
	cr_assert_eq(stat_err("/f", false, &st), 0);
	cr_assert_eq(st.st_nlink, 2);
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/f", false), 0);
	expect_contents("/g", "shared");
	cr_assert_eq(vfs_linkat(&ctx, root, "/", root, "/r", false), -EPERM);
}

/* --- data and memory --- */

Test(vfs, sparse_files_and_truncate)
{
	struct vfs_file *f = open_path("/s", O_RDWR | O_CREAT);
	struct vfs_setattr a = {.valid = VFS_ATTR_SIZE};
	char buf[8];
	struct stat st;

	cr_assert_eq(write_at(f, "end", 3, 1 << 20), 3);
	cr_assert_eq(vfs_getattr(f->inode, &st), 0);
	cr_assert_eq(st.st_size, (1 << 20) + 3);
	cr_assert_leq(st.st_blocks * 512, 8192, "holes cost nothing");
	cr_assert_eq(read_at(f, buf, 4, 4096), 4);
	cr_assert_eq(memcmp(buf, "\0\0\0\0", 4), 0, "holes read as zeros");
	a.size = (1 << 20) + 1;
	cr_assert_eq(vfs_setattr_path(f->path, &a), 0);
	a.size = (1 << 20) + 3;
	cr_assert_eq(vfs_setattr_path(f->path, &a), 0);
	cr_assert_eq(read_at(f, buf, 3, 1 << 20), 3);
	cr_assert_eq(memcmp(buf, "e\0\0", 3), 0, "a shrunk tail comes back as zeros");
	vfs_file_put(f);
}

Test(vfs, tmpfs_accounting_follows_data)
{
	static char big[64 * 1024];
	struct vfs_file *f = open_path("/big", O_RDWR | O_CREAT);

	memset(big, 7, sizeof(big));
	cr_assert_eq(memacct_get(&acct, MEMACCT_TMPFS), 0);
	cr_assert_eq(write_at(f, big, sizeof(big), -1), (ssize_t)sizeof(big));
	cr_assert_eq(memacct_get(&acct, MEMACCT_TMPFS), sizeof(big));
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/big", false), 0);
	cr_assert_eq(memacct_get(&acct, MEMACCT_TMPFS), sizeof(big), "still open");
	cr_assert_eq(read_at(f, big, 16, 0), 16, "readable after unlink");
	vfs_file_put(f);
	cr_assert_eq(memacct_get(&acct, MEMACCT_TMPFS), 0, "freed with the last reference");
}

struct names {
	char list[512];
	int n;
};

static int collect(void *c, const struct vfs_dirent *d)
{
	struct names *names = c;

	strncat(names->list, d->name, d->len);
	strcat(names->list, " ");
	names->n++;
	return 0;
}

Test(vfs, readdir_lists_every_entry_once)
{
	struct names names = {0};
	struct vfs_file *dir;

	write_file("/one", "1");
	write_file("/two", "2");
	cr_assert_eq(vfs_mkdirat(&ctx, root, "/three", 0755), 0);
	dir = open_path("/", O_RDONLY | O_DIRECTORY);
	cr_assert_eq(vfs_iterate(dir, collect, &names), 0);
	cr_assert_eq(names.n, 5, "%s", names.list);
	cr_assert_not_null(strstr(names.list, ". .. "));
	cr_assert_not_null(strstr(names.list, "one "));
	cr_assert_not_null(strstr(names.list, "three "));
	names.n = 0;
	cr_assert_eq(vfs_iterate(dir, collect, &names), 0);
	cr_assert_eq(names.n, 0, "the end stays the end");
	cr_assert_eq(vfs_lseek(dir, 0, SEEK_SET), 0);
	cr_assert_eq(vfs_iterate(dir, collect, &names), 0);
	cr_assert_eq(names.n, 5, "rewinddir");
	vfs_file_put(dir);
}

Test(vfs, rename_moves_cached_subtrees)
{
	struct vfs_path held;
	struct stat st;
	char buf[VFS_PATH_MAX];
	size_t start;

	cr_assert_eq(vfs_mkdirat(&ctx, root, "/a", 0755), 0);
	cr_assert_eq(vfs_mkdirat(&ctx, root, "/a/b", 0755), 0);
	write_file("/a/b/f", "x");
	cr_assert_eq(vfs_resolve(&vfs, root, root, "/a/b", 0, &held, NULL, NULL), 0);
	cr_assert_eq(vfs_renameat(&ctx, root, "/a", root, "/c", 0), 0);
	cr_assert_eq(vfs_statat(&ctx, held, "f", true, &st), 0, "a cwd inside still works");
	cr_assert_eq(vfs_path_name(root, held, buf, sizeof(buf), &start), 0);
	cr_assert_str_eq(buf + start, "/c/b", "and its name follows the rename");
	cr_assert_eq(vfs_statat(&ctx, root, "/a/b/f", true, &st), -ENOENT);
	expect_contents("/c/b/f", "x");
	vfs_path_put(held);
}

/* A directory with thousands of cached names keeps them in a table that
 * grows, shrinks and rehashes; every name must stay findable through
 * creates, renames in and out, unlinks, and emptying it. */
Test(vfs, many_names_in_one_directory)
{
	enum { N = 3000 };
	char name[64], other[64];
	struct stat st;

	cr_assert_eq(vfs_mkdirat(&ctx, root, "/big", 0755), 0);
	cr_assert_eq(vfs_mkdirat(&ctx, root, "/side", 0755), 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "/big/f%d", i);
		snprintf(other, sizeof(other), "%d", i);
		write_file(name, other);
	}
	for (int i = 0; i < N; i += 3) { /* a third moves out */
		snprintf(name, sizeof(name), "/big/f%d", i);
		snprintf(other, sizeof(other), "/side/g%d", i);
		cr_assert_eq(vfs_renameat(&ctx, root, name, root, other, 0), 0, "%s", name);
	}
	for (int i = 1; i < N; i += 3) { /* a third is renamed in place */
		struct vfs_path before, after;

		snprintf(name, sizeof(name), "/big/f%d", i);
		snprintf(other, sizeof(other), "/big/renamed%d", i);
		cr_assert_eq(vfs_resolve(&vfs, root, root, name, 0, &before, NULL, NULL), 0);
		cr_assert_eq(vfs_renameat(&ctx, root, name, root, other, 0), 0, "%s", name);
		cr_assert_eq(vfs_resolve(&vfs, root, root, other, 0, &after, NULL, NULL), 0);
		cr_assert_eq(before.dentry, after.dentry, "%s: the cached dentry moved, found again", other);
		vfs_path_put(before);
		vfs_path_put(after);
	}
	for (int i = 2; i < N; i += 3) { /* a third goes */
		snprintf(name, sizeof(name), "/big/f%d", i);
		cr_assert_eq(vfs_unlinkat(&ctx, root, name, false), 0, "%s", name);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "/big/f%d", i);
		cr_assert_eq(stat_err(name, true, &st), -ENOENT, "%s is gone", name);
		snprintf(other, sizeof(other), "%d", i);
		if (i % 3 == 0)
			snprintf(name, sizeof(name), "/side/g%d", i);
		else if (i % 3 == 1)
			snprintf(name, sizeof(name), "/big/renamed%d", i);
		else
			continue;
		expect_contents(name, other);
	}
	for (int i = 1; i < N; i += 3) { /* empty /big, then fill it again */
		snprintf(name, sizeof(name), "/big/renamed%d", i);
		cr_assert_eq(vfs_unlinkat(&ctx, root, name, false), 0, "%s", name);
	}
	cr_assert_eq(vfs_unlinkat(&ctx, root, "/big", true), 0, "/big is empty");
	cr_assert_eq(vfs_renameat(&ctx, root, "/side", root, "/big", 0), 0);
	for (int i = 0; i < N; i += 3) {
		snprintf(name, sizeof(name), "/big/g%d", i);
		snprintf(other, sizeof(other), "%d", i);
		expect_contents(name, other);
	}
}

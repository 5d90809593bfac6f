/*
 * fuse/server/passthrough.c - serve a directory through FUSE: every
 * operation on the mount is done on the same name under SOURCE.  Built
 * statically against Debian's libfuse3.a (its high-level, path-based
 * API), it runs inside the sandbox on a sandbox directory, and unchanged
 * on native Linux FUSE:
 *   passthrough [--direct-io] SOURCE MOUNTPOINT [-f] [-s] [-o ...]
 *
 * Names are resolved under one fd of SOURCE (the *at calls, never the
 * process's cwd), so the mount shows SOURCE whatever the server's cwd
 * is.  Timeouts are 0 and inode numbers are SOURCE's own: a change made
 * to SOURCE directly is seen on the next call, as with any passthrough
 * that does not own its data.  POSIX locks stay with the kernel.
 */
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse3/fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "loop_config.h"

static int source_fd = -1;
static char source[PATH_MAX];
static int direct_io;

/* @path ("/a/b") as a name relative to source_fd ("a/b", or "."). */
static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

/* @path under SOURCE as an absolute name, for the calls with no *at form. */
static int full(char *out, const char *path)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", source, rel(path));

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int err(int r)
{
	return r < 0 ? -errno : r;
}

static void *p_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->use_ino = 1;
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	/* An unlinked open file stays readable through its fd: no
	 * .fuse_hidden renames. */
	cfg->hard_remove = 1;
	cfg->direct_io = direct_io;
	return NULL;
}

static int p_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (fi)
		return err(fstat((int)fi->fh, st));
	return err(fstatat(source_fd, rel(path), st, AT_SYMLINK_NOFOLLOW));
}

static int p_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n = readlinkat(source_fd, rel(path), buf, size - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int p_opendir(const char *path, struct fuse_file_info *fi)
{
	int fd = openat(source_fd, rel(path), O_RDONLY | O_DIRECTORY);
	DIR *d;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	fi->fh = (uintptr_t)d;
	return 0;
}

static int p_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	DIR *d = (DIR *)(uintptr_t)fi->fh;
	struct dirent *e;

	/* Offsets are the directory stream's own positions, so a reader
	 * whose buffer filled goes on where it stopped. */
	seekdir(d, off);
	while ((errno = 0, e = readdir(d))) {
		struct stat st = { .st_ino = e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type) };

		if (fill(buf, e->d_name, &st, telldir(d), 0))
			break;
	}
	return -errno;
}

static int p_releasedir(const char *path, struct fuse_file_info *fi)
{
	closedir((DIR *)(uintptr_t)fi->fh);
	return 0;
}

static int p_mknod(const char *path, mode_t mode, dev_t rdev)
{
	return err(mknodat(source_fd, rel(path), mode, rdev));
}

static int p_mkdir(const char *path, mode_t mode)
{
	return err(mkdirat(source_fd, rel(path), mode));
}

static int p_unlink(const char *path)
{
	return err(unlinkat(source_fd, rel(path), 0));
}

static int p_rmdir(const char *path)
{
	return err(unlinkat(source_fd, rel(path), AT_REMOVEDIR));
}

static int p_symlink(const char *target, const char *path)
{
	return err(symlinkat(target, source_fd, rel(path)));
}

static int p_rename(const char *from, const char *to, unsigned int flags)
{
	return err((int)syscall(SYS_renameat2, source_fd, rel(from), source_fd, rel(to), flags));
}

static int p_link(const char *from, const char *to)
{
	return err(linkat(source_fd, rel(from), source_fd, rel(to), 0));
}

static int p_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if (fi)
		return err(fchmod((int)fi->fh, mode));
	return err(fchmodat(source_fd, rel(path), mode, 0));
}

static int p_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	if (fi)
		return err(fchown((int)fi->fh, uid, gid));
	return err(fchownat(source_fd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW));
}

static int p_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	int fd, r;

	if (fi)
		return err(ftruncate((int)fi->fh, size));
	fd = openat(source_fd, rel(path), O_WRONLY);
	if (fd < 0)
		return -errno;
	r = err(ftruncate(fd, size));
	close(fd);
	return r;
}

static int p_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	if (fi)
		return err(futimens((int)fi->fh, tv));
	return err(utimensat(source_fd, rel(path), tv, AT_SYMLINK_NOFOLLOW));
}

static int p_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd = openat(source_fd, rel(path), (fi->flags | O_CREAT) & ~O_NOFOLLOW, mode);

	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	fi->direct_io = direct_io;
	return 0;
}

static int p_open(const char *path, struct fuse_file_info *fi)
{
	int fd = openat(source_fd, rel(path), fi->flags & ~O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	fi->direct_io = direct_io;
	return 0;
}

static int p_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n = pread((int)fi->fh, buf, size, off);

	return n < 0 ? -errno : (int)n;
}

static int p_write(const char *path, const char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	ssize_t n = pwrite((int)fi->fh, buf, size, off);

	return n < 0 ? -errno : (int)n;
}

static int p_statfs(const char *path, struct statvfs *st)
{
	return err(fstatvfs(source_fd, st));
}

/* close(2) of one of the kernel's fds: report what a close of ours says. */
static int p_flush(const char *path, struct fuse_file_info *fi)
{
	return err(close(dup((int)fi->fh)));
}

static int p_release(const char *path, struct fuse_file_info *fi)
{
	close((int)fi->fh);
	return 0;
}

static int p_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	return err(datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh));
}

static int p_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	return err(fallocate((int)fi->fh, mode, off, len));
}

static off_t p_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
	off_t r = lseek((int)fi->fh, off, whence);

	return r < 0 ? -errno : r;
}

static int p_setxattr(const char *path, const char *name, const char *value, size_t size, int flags)
{
	char p[PATH_MAX];

	return full(p, path) ?: err(lsetxattr(p, name, value, size, flags));
}

static int p_getxattr(const char *path, const char *name, char *value, size_t size)
{
	char p[PATH_MAX];
	ssize_t n;

	if (full(p, path))
		return -ENAMETOOLONG;
	n = lgetxattr(p, name, value, size);
	return n < 0 ? -errno : (int)n;
}

static int p_listxattr(const char *path, char *list, size_t size)
{
	char p[PATH_MAX];
	ssize_t n;

	if (full(p, path))
		return -ENAMETOOLONG;
	n = llistxattr(p, list, size);
	return n < 0 ? -errno : (int)n;
}

static int p_removexattr(const char *path, const char *name)
{
	char p[PATH_MAX];

	return full(p, path) ?: err(lremovexattr(p, name));
}

static const struct fuse_operations ops = {
	.init = p_init,
	.getattr = p_getattr,
	.readlink = p_readlink,
	.opendir = p_opendir,
	.readdir = p_readdir,
	.releasedir = p_releasedir,
	.mknod = p_mknod,
	.mkdir = p_mkdir,
	.unlink = p_unlink,
	.rmdir = p_rmdir,
	.symlink = p_symlink,
	.rename = p_rename,
	.link = p_link,
	.chmod = p_chmod,
	.chown = p_chown,
	.truncate = p_truncate,
	.utimens = p_utimens,
	.create = p_create,
	.open = p_open,
	.read = p_read,
	.write = p_write,
	.statfs = p_statfs,
	.flush = p_flush,
	.release = p_release,
	.fsync = p_fsync,
	.fallocate = p_fallocate,
	.lseek = p_lseek,
	.setxattr = p_setxattr,
	.getxattr = p_getxattr,
	.listxattr = p_listxattr,
	.removexattr = p_removexattr,
};

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--direct-io] SOURCE MOUNTPOINT [libfuse options]\n", argv0);
	return 2;
}

/*
 * Take --direct-io and SOURCE off the front of argv, open SOURCE, and
 * leave argv[0] and libfuse's arguments.  Returns the new argc, or -1.
 */
static int own_args(int argc, char *argv[])
{
	int i = 1, kept = 1;

	for (; i < argc && !strcmp(argv[i], "--direct-io"); i++)
		direct_io = 1;
	if (i >= argc || argv[i][0] == '-')
		return -1;
	if (!realpath(argv[i], source)) {
		fprintf(stderr, "passthrough: %s: %s\n", argv[i], strerror(errno));
		return -1;
	}
	source_fd = open(source, O_RDONLY | O_DIRECTORY);
	if (source_fd < 0) {
		fprintf(stderr, "passthrough: %s: %s\n", source, strerror(errno));
		return -1;
	}
	for (i++; i < argc; i++)
		argv[kept++] = argv[i];
	argv[kept] = NULL;
	return kept;
}

/* fuse_main's steps, with a loop configuration libfuse 3.14 takes quietly. */
static int serve(struct fuse *fuse, const struct fuse_cmdline_opts *opts)
{
	struct fuse_loop_config *cfg;
	int status;

	if (opts->singlethread)
		return fuse_loop(fuse);
	cfg = loop_config(opts);
	if (!cfg)
		return -ENOMEM;
	status = fuse_loop_mt(fuse, cfg);
	fuse_loop_cfg_destroy(cfg);
	return status;
}

int main(int argc, char *argv[])
{
	const char *argv0 = argv[0];
	struct fuse_cmdline_opts opts;
	struct fuse_args args;
	struct fuse *fuse;
	int status = 1;

	/* Modes are the caller's to give, as in any passthrough. */
	umask(0);
	argc = own_args(argc, argv);
	if (argc < 0)
		return usage(argv0);
	args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	if (fuse_parse_cmdline(&args, &opts))
		return 2;
	if (opts.show_help || !opts.mountpoint) {
		usage(argv0);
		if (opts.show_help)
			fuse_cmdline_help();
		status = opts.show_help ? 0 : 2;
		goto out;
	}
	fuse = fuse_new(&args, &ops, sizeof(ops), NULL);
	if (!fuse)
		goto out;
	if (fuse_set_signal_handlers(fuse_get_session(fuse)) == 0) {
		if (fuse_mount(fuse, opts.mountpoint) == 0) {
			fuse_daemonize(opts.foreground);
			status = serve(fuse, &opts) ? 1 : 0;
			fuse_unmount(fuse);
		}
		fuse_remove_signal_handlers(fuse_get_session(fuse));
	}
	fuse_destroy(fuse);
out:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return status;
}

/*
 * kernel/sys_file2.c - pipes, statx, statfs, chroot, and copying between
 * files (sendfile, copy_file_range).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include "kernel/devfs.h"
#include "kernel/pipe.h"
#include "kernel/procfs.h"
#include "kernel/vfs/tmpfs.h"
#include "kernel/syscall.h"

#define COPY_CHUNK (64 * 1024)

/* --- pipes --- */

int64_t sys_pipe2(struct task *t, const uint64_t a[6])
{
	struct vfs_file *rd, *wr;
	int fds[2], err;

	if (a[1] & ~(uint64_t)(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	err = pipe_create((int)a[1], &rd, &wr);
	if (err)
		return err;
	fds[0] = fd_install(t->fds, 0, rd, a[1] & O_CLOEXEC);
	if (fds[0] < 0) {
		vfs_file_put(rd);
		vfs_file_put(wr);
		return fds[0];
	}
	fds[1] = fd_install(t->fds, 0, wr, a[1] & O_CLOEXEC);
	if (fds[1] < 0) {
		vfs_file_put(wr);
		fd_close(t->fds, fds[0]);
		return fds[1];
	}
	err = mm_copy_out(t->mm, a[0], fds, sizeof(fds));
	if (err) {
		fd_close(t->fds, fds[0]);
		fd_close(t->fds, fds[1]);
	}
	return err;
}

int64_t sys_pipe(struct task *t, const uint64_t a[6])
{
	const uint64_t b[6] = {a[0], 0};

	return sys_pipe2(t, b);
}

/* --- statx --- */

static void to_statx(const struct stat *st, struct statx *sx)
{
	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS;
	sx->stx_blksize = (uint32_t)st->st_blksize;
	sx->stx_nlink = (uint32_t)st->st_nlink;
	sx->stx_uid = st->st_uid;
	sx->stx_gid = st->st_gid;
	sx->stx_mode = (uint16_t)st->st_mode;
	sx->stx_ino = st->st_ino;
	sx->stx_size = (uint64_t)st->st_size;
	sx->stx_blocks = (uint64_t)st->st_blocks;
	sx->stx_atime.tv_sec = st->st_atim.tv_sec;
	sx->stx_atime.tv_nsec = (uint32_t)st->st_atim.tv_nsec;
	sx->stx_mtime.tv_sec = st->st_mtim.tv_sec;
	sx->stx_mtime.tv_nsec = (uint32_t)st->st_mtim.tv_nsec;
	sx->stx_ctime.tv_sec = st->st_ctim.tv_sec;
	sx->stx_ctime.tv_nsec = (uint32_t)st->st_ctim.tv_nsec;
	sx->stx_rdev_major = major(st->st_rdev);
	sx->stx_rdev_minor = minor(st->st_rdev);
	sx->stx_dev_major = major(st->st_dev);
	sx->stx_dev_minor = minor(st->st_dev);
}

int64_t sys_statx(struct task *t, const uint64_t a[6])
{
	const unsigned allowed = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT |
				 AT_STATX_SYNC_TYPE;
	struct statx sx;
	struct stat st;
	int err;

	if ((a[2] & ~(uint64_t)allowed) || (a[2] & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE ||
	    (a[3] & STATX__RESERVED))
		return -EINVAL;
	err = stat_lookup(t, (int)a[0], a[1], a[2], &st);
	if (err)
		return err;
	to_statx(&st, &sx);
	return mm_copy_out(t->mm, a[4], &sx, sizeof(sx));
}

/* --- statfs --- */

static int statfs_of(struct task *t, struct vfs_path p, struct statfs *sf)
{
	uint64_t total = t->k->mf->size / 4096;
	uint64_t used = memfile_allocated(t->k->mf) / 4096;

	memset(sf, 0, sizeof(*sf));
	sf->f_type = (long)p.mnt->fs->magic;
	sf->f_bsize = 4096;
	sf->f_frsize = 4096;
	sf->f_blocks = total;
	sf->f_bfree = sf->f_bavail = total > used ? total - used : 0;
	sf->f_files = 1 << 20;
	sf->f_ffree = 1 << 20;
	sf->f_namelen = VFS_NAME_MAX;
	if (p.mnt->fs->statfs) {
		int err = p.mnt->fs->statfs(p.mnt->fs, sf);

		if (err)
			return err;
		sf->f_type = (long)p.mnt->fs->magic;
	}
	sf->f_flags = p.mnt->flags & MS_RDONLY ? ST_RDONLY : 0;
	return 0;
}

int64_t sys_statfs(struct task *t, const uint64_t a[6])
{
	char path[VFS_PATH_MAX];
	struct vfs_path start, p;
	struct statfs sf;
	long len = mm_copy_in_string(t->mm, path, a[0], sizeof(path));
	int err;

	if (len < 0)
		return len == -ENAMETOOLONG ? len : -EFAULT;
	start = vfs_path_get(path[0] == '/' ? t->fs.root : t->cwd);
	err = vfs_resolve(t->fs.vfs, t->fs.root, start, path, VFS_LOOKUP_FOLLOW, &p, NULL, NULL);
	vfs_path_put(start);
	if (err)
		return err;
	err = statfs_of(t, p, &sf);
	vfs_path_put(p);
	return err ? err : mm_copy_out(t->mm, a[1], &sf, sizeof(sf));
}

int64_t sys_fstatfs(struct task *t, const uint64_t a[6])
{
	struct vfs_file *f = a[0] > INT_MAX ? NULL : fd_get(t->fds, (int)a[0]);
	struct statfs sf;
	int err = 0;

	if (!f)
		return -EBADF;
	if (f->path.dentry)
		err = statfs_of(t, f->path, &sf);
	else
		err = -EINVAL; /* pipes and stdio: no file system to describe */
	vfs_file_put(f);
	return err ? err : mm_copy_out(t->mm, a[1], &sf, sizeof(sf));
}

/* --- chroot --- */

int64_t sys_chroot(struct task *t, const uint64_t a[6])
{
	char path[VFS_PATH_MAX];
	struct vfs_path start, p;
	long len = mm_copy_in_string(t->mm, path, a[0], sizeof(path));
	int err;

	if (len < 0)
		return len == -ENAMETOOLONG ? len : -EFAULT;
	if (len == 0)
		return -ENOENT;
	start = vfs_path_get(path[0] == '/' ? t->fs.root : t->cwd);
	err = vfs_resolve(t->fs.vfs, t->fs.root, start, path,
			  VFS_LOOKUP_FOLLOW | VFS_LOOKUP_DIRECTORY, &p, NULL, NULL);
	vfs_path_put(start);
	if (err)
		return err;
	/* The guest is root in its sandbox; the new root is inside the old one. */
	task_set_path(t, &t->fs.root, p);
	return 0;
}

/* --- copying between files --- */

/* Copy up to @len bytes from @in to @out through a bounce buffer, at the
 * given offsets (-1: the file offset).  Returns bytes copied or -errno. */
static int64_t copy_between(struct vfs_file *in, int64_t *in_off, struct vfs_file *out,
			    int64_t *out_off, uint64_t len)
{
	static __thread unsigned char buf[COPY_CHUNK];
	int64_t done = 0;

	while ((uint64_t)done < len) {
		struct vfs_mem_io b;
		ssize_t n, w;

		vfs_mem_io_init(&b, buf,
				len - (uint64_t)done < COPY_CHUNK ? (size_t)(len - (uint64_t)done)
								  : COPY_CHUNK);
		n = vfs_read(in, &b.io, in_off ? *in_off : -1);
		if (n <= 0)
			return done ? done : n;
		b.io.len = (size_t)n;
		w = vfs_write(out, &b.io, out_off ? *out_off : -1);
		if (w < 0)
			return done ? done : w;
		if (in_off)
			*in_off += w;
		if (out_off)
			*out_off += w;
		done += w;
		if (w < n)
			break;
	}
	return done;
}

/* Read an optional loff_t from guest memory. */
static int get_off(struct task *t, uint64_t uoff, int64_t *off, int64_t **p)
{
	int err;

	*p = NULL;
	if (!uoff)
		return 0;
	err = mm_copy_in(t->mm, off, uoff, sizeof(*off));
	if (err)
		return err;
	if (*off < 0)
		return -EINVAL;
	*p = off;
	return 0;
}

int64_t sys_sendfile(struct task *t, const uint64_t a[6])
{
	struct vfs_file *out = a[0] > INT_MAX ? NULL : fd_get(t->fds, (int)a[0]);
	struct vfs_file *in = a[1] > INT_MAX ? NULL : fd_get(t->fds, (int)a[1]);
	int64_t off, *poff = NULL, r;

	r = !out || !in ? -EBADF : get_off(t, a[2], &off, &poff);
	if (!r)
		r = copy_between(in, poff, out, NULL, a[3] > INT_MAX ? INT_MAX : a[3]);
	if (r >= 0 && poff && mm_copy_out(t->mm, a[2], &off, sizeof(off)))
		r = -EFAULT;
	if (out)
		vfs_file_put(out);
	if (in)
		vfs_file_put(in);
	return r;
}

int64_t sys_copy_file_range(struct task *t, const uint64_t a[6])
{
	struct vfs_file *in, *out;
	int64_t ioff, ooff, *pi = NULL, *po = NULL, r;

	if (a[5])
		return -EINVAL;
	in = a[0] > INT_MAX ? NULL : fd_get(t->fds, (int)a[0]);
	out = a[2] > INT_MAX ? NULL : fd_get(t->fds, (int)a[2]);
	r = !in || !out ? -EBADF : 0;
	if (!r && (!in->inode || !S_ISREG(in->inode->mode) || !out->inode ||
		   !S_ISREG(out->inode->mode)))
		r = -EINVAL;
	if (!r)
		r = get_off(t, a[1], &ioff, &pi);
	if (!r)
		r = get_off(t, a[3], &ooff, &po);
	if (!r)
		r = copy_between(in, pi, out, po, a[4] > INT_MAX ? INT_MAX : a[4]);
	if (r >= 0 && ((pi && mm_copy_out(t->mm, a[1], &ioff, sizeof(ioff))) ||
		       (po && mm_copy_out(t->mm, a[3], &ooff, sizeof(ooff)))))
		r = -EFAULT;
	if (in)
		vfs_file_put(in);
	if (out)
		vfs_file_put(out);
	return r;
}

/* --- mount and umount2 --- */

/* A path argument resolved from the cwd; *@p gets references. */
static int resolve_arg(struct task *t, uint64_t upath, unsigned lflags, struct vfs_path *p)
{
	char path[VFS_PATH_MAX];
	struct vfs_path start;
	long len = mm_copy_in_string(t->mm, path, upath, sizeof(path));
	int err;

	if (len < 0)
		return len == -ENAMETOOLONG ? (int)len : -EFAULT;
	if (len == 0)
		return -ENOENT;
	start = vfs_path_get(path[0] == '/' ? t->fs.root : t->cwd);
	err = vfs_resolve(t->fs.vfs, t->fs.root, start, path, lflags, p, NULL, NULL);
	vfs_path_put(start);
	return err;
}

/* A new file system of type @type for this sandbox; @data is mount(2)'s
 * option string ("" if none). */
static int new_fs(struct task *t, const char *type, const char *data, struct vfs_fs **fs)
{
	if (!strcmp(type, "tmpfs"))
		return tmpfs_create_fs(t->k->mf, 01777, fs);
	if (!strcmp(type, "proc"))
		return procfs_create(t->k, fs);
	if (!strcmp(type, "devtmpfs"))
		return devfs_create(t->k, fs);
	if (t->k->fs_hooks && t->k->fs_hooks->mount)
		return t->k->fs_hooks->mount(t, type, data, fs);
	return -ENODEV;
}

#define MS_PROPAGATION (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)

int64_t sys_mount(struct task *t, const uint64_t a[6])
{
	char type[64];
	struct vfs_path at, src;
	struct vfs_fs *fs;
	unsigned long flags = a[3];
	int err;

	err = resolve_arg(t, a[1], VFS_LOOKUP_FOLLOW | VFS_LOOKUP_DIRECTORY, &at);
	if (err)
		return err;
	if (flags & MS_PROPAGATION) {
		err = 0; /* one namespace, nothing propagates anywhere */
	} else if (flags & MS_REMOUNT) {
		err = vfs_remount(t->fs.vfs, at, flags & MS_RDONLY);
	} else if (flags & MS_BIND) {
		err = resolve_arg(t, a[0], VFS_LOOKUP_FOLLOW, &src);
		if (!err) {
			err = vfs_bind(t->fs.vfs, at, src, flags & MS_RDONLY);
			vfs_path_put(src);
		}
	} else if (flags & MS_MOVE) {
		err = -EINVAL; /* not yet */
	} else {
		long len = a[2] ? mm_copy_in_string(t->mm, type, a[2], sizeof(type)) : -EINVAL;
		char *data = calloc(1, ABI_PAGE_SIZE);

		err = len < 0 ? (len == -ENAMETOOLONG ? -ENODEV : (int)len) : data ? 0 : -ENOMEM;
		/* Linux copies at most a page of options. */
		if (!err && a[4] && mm_copy_in_string(t->mm, data, a[4], ABI_PAGE_SIZE) < 0)
			err = -EFAULT;
		if (!err)
			err = new_fs(t, type, data, &fs);
		free(data);
		if (!err) {
			err = vfs_mount(t->fs.vfs, at, fs, flags & MS_RDONLY);
			if (err)
				fs->destroy(fs);
		}
	}
	vfs_path_put(at);
	return err;
}

int64_t sys_umount2(struct task *t, const uint64_t a[6])
{
	struct vfs_path p;
	int err;

	if (a[1] & ~(uint64_t)(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW))
		return -EINVAL;
	err = resolve_arg(t, a[0], a[1] & UMOUNT_NOFOLLOW ? 0 : VFS_LOOKUP_FOLLOW, &p);
	if (err)
		return err;
	err = vfs_umount(t->fs.vfs, p, a[1] & MNT_DETACH);
	vfs_path_put(p);
	return err;
}

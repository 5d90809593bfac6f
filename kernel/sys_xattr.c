/*
 * kernel/sys_xattr.c - extended attributes and fallocate.
 *
 * Names are at most 255 bytes and must carry a namespace Linux knows
 * (user., trusted., security., system.); values are at most 64 KiB.
 * user.* attributes exist only on regular files and directories, as on
 * Linux.  A file system without xattr support answers EOPNOTSUPP.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/xattr.h>

#include "kernel/syscall.h"

#define NAME_MAX_ 255
#define SIZE_MAX_ (64 * 1024)

/* The inode behind a path (@follow) or fd argument, and its mount's flags. */
static int target(struct task *t, bool by_fd, uint64_t arg, bool follow, struct vfs_path *p)
{
	char path[VFS_PATH_MAX];
	struct vfs_path start;
	struct vfs_file *f;
	long len;
	int err;

	if (by_fd) {
		f = arg > INT_MAX ? NULL : fd_get(t->fds, (int)arg);
		if (!f)
			return -EBADF;
		/* An O_PATH fd names a file but cannot act on it, as Linux. */
		err = f->flags & O_PATH ? -EBADF : f->path.dentry ? 0 : -EOPNOTSUPP;
		if (!err)
			*p = vfs_path_get(f->path);
		vfs_file_put(f);
		return err;
	}
	len = mm_copy_in_string(t->mm, path, arg, sizeof(path));
	if (len < 0)
		return len == -ENAMETOOLONG ? (int)len : -EFAULT;
	if (len == 0)
		return -ENOENT;
	start = vfs_path_get(path[0] == '/' ? t->fs.root : t->cwd);
	err = vfs_resolve(t->fs.vfs, t->fs.root, start, path, follow ? VFS_LOOKUP_FOLLOW : 0, p,
			  NULL, NULL);
	vfs_path_put(start);
	return err;
}

static int get_name(struct task *t, uint64_t uname, char *name, mode_t mode)
{
	long len = mm_copy_in_string(t->mm, name, uname, NAME_MAX_ + 1);

	if (len == -ENAMETOOLONG || len == 0)
		return -ERANGE;
	if (len < 0)
		return -EFAULT;
	if (strncmp(name, "user.", 5) && strncmp(name, "trusted.", 8) &&
	    strncmp(name, "security.", 9) && strncmp(name, "system.", 7))
		return -EOPNOTSUPP;
	if (!strncmp(name, "user.", 5) && !S_ISREG(mode) && !S_ISDIR(mode))
		return -EPERM;
	return 0;
}

static int64_t do_set(struct task *t, bool by_fd, bool follow, const uint64_t a[6])
{
	char name[NAME_MAX_ + 1];
	struct vfs_path p;
	struct vfs_inode *i;
	void *value = NULL;
	int64_t err;

	if (a[4] & ~(uint64_t)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if (a[3] > SIZE_MAX_)
		return -E2BIG;
	err = target(t, by_fd, a[0], follow, &p);
	if (err)
		return err;
	i = p.dentry->inode;
	err = get_name(t, a[1], name, i->mode);
	if (!err && (p.mnt->flags & MS_RDONLY))
		err = -EROFS;
	if (!err && !(value = malloc(a[3] ? a[3] : 1)))
		err = -ENOMEM;
	if (!err)
		err = mm_copy_in(t->mm, value, a[2], a[3]);
	if (!err)
		err = i->ops->setxattr ? i->ops->setxattr(i, name, value, a[3], (int)a[4])
				       : -EOPNOTSUPP;
	free(value);
	vfs_path_put(p);
	return err;
}

static int64_t do_get(struct task *t, bool by_fd, bool follow, const uint64_t a[6])
{
	char name[NAME_MAX_ + 1];
	size_t size = a[3] > SIZE_MAX_ ? SIZE_MAX_ : a[3];
	struct vfs_path p;
	struct vfs_inode *i;
	void *value = NULL;
	int64_t n;

	n = target(t, by_fd, a[0], follow, &p);
	if (n)
		return n;
	i = p.dentry->inode;
	n = get_name(t, a[1], name, i->mode);
	if (!n && size && !(value = malloc(size)))
		n = -ENOMEM;
	if (!n)
		n = i->ops->getxattr ? i->ops->getxattr(i, name, value, size) : -ENODATA;
	if (n > 0 && size && mm_copy_out(t->mm, a[2], value, (size_t)n))
		n = -EFAULT;
	free(value);
	vfs_path_put(p);
	return n;
}

static int64_t do_list(struct task *t, bool by_fd, bool follow, const uint64_t a[6])
{
	size_t size = a[2] > SIZE_MAX_ ? SIZE_MAX_ : a[2];
	struct vfs_path p;
	struct vfs_inode *i;
	char *list = NULL;
	int64_t n;

	n = target(t, by_fd, a[0], follow, &p);
	if (n)
		return n;
	i = p.dentry->inode;
	if (size && !(list = malloc(size)))
		n = -ENOMEM;
	if (!n)
		n = i->ops->listxattr ? i->ops->listxattr(i, list, size) : 0;
	if (n > 0 && size && mm_copy_out(t->mm, a[1], list, (size_t)n))
		n = -EFAULT;
	free(list);
	vfs_path_put(p);
	return n;
}

static int64_t do_remove(struct task *t, bool by_fd, bool follow, const uint64_t a[6])
{
	char name[NAME_MAX_ + 1];
	struct vfs_path p;
	struct vfs_inode *i;
	int64_t err;

	err = target(t, by_fd, a[0], follow, &p);
	if (err)
		return err;
	i = p.dentry->inode;
	err = get_name(t, a[1], name, i->mode);
	if (!err && (p.mnt->flags & MS_RDONLY))
		err = -EROFS;
	if (!err)
		err = i->ops->removexattr ? i->ops->removexattr(i, name) : -EOPNOTSUPP;
	vfs_path_put(p);
	return err;
}

int64_t sys_setxattr(struct task *t, const uint64_t a[6]) { return do_set(t, false, true, a); }
int64_t sys_lsetxattr(struct task *t, const uint64_t a[6]) { return do_set(t, false, false, a); }
int64_t sys_fsetxattr(struct task *t, const uint64_t a[6]) { return do_set(t, true, true, a); }
int64_t sys_getxattr(struct task *t, const uint64_t a[6]) { return do_get(t, false, true, a); }
int64_t sys_lgetxattr(struct task *t, const uint64_t a[6]) { return do_get(t, false, false, a); }
int64_t sys_fgetxattr(struct task *t, const uint64_t a[6]) { return do_get(t, true, true, a); }
int64_t sys_listxattr(struct task *t, const uint64_t a[6]) { return do_list(t, false, true, a); }
int64_t sys_llistxattr(struct task *t, const uint64_t a[6]) { return do_list(t, false, false, a); }
int64_t sys_flistxattr(struct task *t, const uint64_t a[6]) { return do_list(t, true, true, a); }
int64_t sys_removexattr(struct task *t, const uint64_t a[6])
{
	return do_remove(t, false, true, a);
}
int64_t sys_lremovexattr(struct task *t, const uint64_t a[6])
{
	return do_remove(t, false, false, a);
}
int64_t sys_fremovexattr(struct task *t, const uint64_t a[6])
{
	return do_remove(t, true, true, a);
}

int64_t sys_fallocate(struct task *t, const uint64_t a[6])
{
	struct vfs_file *f;
	struct vfs_inode *i;
	int64_t err;
	int mode = (int)a[1];

	if ((int64_t)a[2] < 0 || (int64_t)a[3] <= 0)
		return -EINVAL;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	f = a[0] > INT_MAX ? NULL : fd_get(t->fds, (int)a[0]);
	if (!f)
		return -EBADF;
	i = f->inode;
	if ((f->flags & O_ACCMODE) == O_RDONLY || (f->flags & O_PATH))
		err = -EBADF;
	else if (!i)
		err = -ESPIPE;
	else if (f->path.mnt->flags & MS_RDONLY)
		err = -EROFS;
	else
		err = i->ops->fallocate ? i->ops->fallocate(i, f, mode, a[2], a[3]) : -EOPNOTSUPP;
	vfs_file_put(f);
	return err;
}

/*
 * kernel/vfs/vfs.h - the virtual file system: inodes, dentries, mounts,
 * file descriptions, and the two vtables a file system implements.
 *
 * Objects (the shape of gVisor's VFS2 and Linux's VFS):
 *   - struct vfs_inode: one file system object (file, directory, symlink,
 *     device).  Its file system embeds it first and keeps the data.
 *   - struct vfs_dentry: a name in a directory, pointing at an inode.
 *     Dentries form the cached tree of names; a dentry holds a reference on
 *     its parent and its inode.
 *   - struct vfs_mount: a file system mounted on a dentry of another mount.
 *     A position in the tree is a (mount, dentry) pair: struct vfs_path.
 *   - struct vfs_file: an open file description (offset, status flags),
 *     shared by every fd that dup()s it.
 *
 * Path resolution (path.c) is generic: symlinks (40 at most), "..", mount
 * crossings, trailing slashes and the root boundary are handled once,
 * here, and never by a file system, so no file system can be walked out
 * of the sandbox's root.  A file system answers per-directory questions
 * through vfs_inode_ops (lookup, create, mkdir, unlink, rename, ...) whose
 * operands are a parent directory and a name: the "path-based" operations
 * of DESIGN.md section 5, with the walk factored out.
 *
 * References: vfs_*_get/put pairs.  Who holds what is in
 * docs/architecture.md.
 *
 * Lock order: (vfs.c's list of namespaces ->) vfs.mounts_lock ->
 * dentry.lock (parent before child) -> inode.lock.  No VFS lock is held
 * across a call into a file system that may block (FUSE): lookups drop the
 * parent's lock around ->lookup.
 */
#ifndef KSENTRY_KERNEL_VFS_VFS_H
#define KSENTRY_KERNEL_VFS_VFS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

#include "abi/errno.h"
#include "kernel/mappable.h"

#define VFS_NAME_MAX    255
#define VFS_PATH_MAX    4096
#define VFS_SYMLINK_MAX 40 /* symlinks followed in one resolution */

struct vfs_inode;
struct vfs_dentry;
struct vfs_mount;
struct vfs_file;
struct vfs_fs;

/* What setattr changes; fields outside @valid are ignored. */
enum {
	VFS_ATTR_MODE = 1 << 0,
	VFS_ATTR_UID = 1 << 1,
	VFS_ATTR_GID = 1 << 2,
	VFS_ATTR_SIZE = 1 << 3,
	VFS_ATTR_ATIME = 1 << 4,
	VFS_ATTR_MTIME = 1 << 5,
};

struct vfs_setattr {
	unsigned valid;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	uint64_t size;
	struct timespec atime, mtime;
};

/* One directory entry, as iterate() emits it. */
struct vfs_dirent {
	uint64_t ino;
	unsigned char type; /* DT_* */
	const char *name;
	size_t len;
	/* Where it was read: the directory position (iterate's cookie) an
	 * lseek(SEEK_SET) takes to read it again.  Set by vfs_iterate_at. */
	uint64_t at;
};

/* Called by iterate() per entry; a non-zero return stops the iteration
 * before that entry (the buffer is full). */
typedef int (*vfs_emit_fn)(void *ctx, const struct vfs_dirent *d);

/*
 * Data moving between a file and its caller: either the sentry's memory
 * or the guest's (through a copy function, so that a file system never
 * touches guest memory itself).
 */
/* A piece of the caller's side held for a copy made with no lock held. */
struct vfs_io_pin {
	unsigned char *p; /* the sentry's pointer to it */
	size_t len;
	uint64_t frames_start, frames_end; /* what holds it (the io's own) */
};

struct vfs_io {
	/* Copy @n bytes between the file's @buf and position @at of the
	 * caller's side; returns 0 or -EFAULT. */
	int (*copy)(struct vfs_io *io, void *buf, size_t at, size_t n, bool to_caller);
	/* Optional: hold the first piece of [at, at + n) of the caller's side
	 * (to be written if @to_caller), so that a file system can copy
	 * straight into or out of it (FUSE READ replies: one copy).  0, or
	 * -EAGAIN when it cannot (then use copy), -EFAULT. */
	int (*pin)(struct vfs_io *io, size_t at, size_t n, bool to_caller, struct vfs_io_pin *pin);
	void (*unpin)(struct vfs_io *io, struct vfs_io_pin *pin);
	void *priv;
	size_t len; /* bytes wanted */
};

/* I/O against a buffer in the sentry's own memory. */
struct vfs_mem_io {
	struct vfs_io io;
	unsigned char *buf;
};

/* Set up @m over @len bytes at @buf. */
void vfs_mem_io_init(struct vfs_mem_io *m, void *buf, size_t len);

/* Write the caller's @io->len bytes to host fd @fd through a bounce
 * buffer: pwrite at @off, or write() at the fd's own offset when @off is
 * negative.  Stops at a short write; returns bytes written or -errno. */
ssize_t vfs_io_write_fd(struct vfs_io *io, int fd, int64_t off);

struct vfs_inode_ops {
	/* Directories.  @name is one component, not "." or "..", NUL
	 * terminated, at most VFS_NAME_MAX bytes.  Each new inode comes back
	 * with a reference for the caller.  May block (FUSE). */
	int (*lookup)(struct vfs_inode *dir, const char *name, struct vfs_inode **out);
	int (*create)(struct vfs_inode *dir, const char *name, mode_t mode, struct vfs_inode **out);
	/* open(O_CREAT) making a new file: as create, and the file system
	 * may open it with @flags at once (FUSE's CREATE), for the open that
	 * follows in the same syscall.  Optional: create serves without. */
	int (*create_open)(struct vfs_inode *dir, const char *name, mode_t mode, int flags,
			   struct vfs_inode **out);
	int (*mkdir)(struct vfs_inode *dir, const char *name, mode_t mode, struct vfs_inode **out);
	int (*mknod)(struct vfs_inode *dir, const char *name, mode_t mode, dev_t dev,
		     struct vfs_inode **out);
	int (*symlink)(struct vfs_inode *dir, const char *name, const char *target,
		       struct vfs_inode **out);
	int (*link)(struct vfs_inode *dir, const char *name, struct vfs_inode *target);
	int (*unlink)(struct vfs_inode *dir, const char *name, struct vfs_inode *victim);
	int (*rmdir)(struct vfs_inode *dir, const char *name, struct vfs_inode *victim);
	int (*rename)(struct vfs_inode *odir, const char *oname, struct vfs_inode *ndir,
		      const char *nname, unsigned flags);

	/* Any inode. */
	int (*readlink)(struct vfs_inode *inode, char *buf, size_t size); /* length */
	int (*getattr)(struct vfs_inode *inode, struct stat *st);
	int (*setattr)(struct vfs_inode *inode, const struct vfs_setattr *attr);
	/* Prepare @file (ops, priv) for @flags; called with a fresh file. */
	int (*open)(struct vfs_inode *inode, struct vfs_file *file, int flags);
	/* fallocate(2) on a regular file through open file @f (NULL when the
	 * call comes through another file system's inode, the overlay's):
	 * @mode 0 or with FALLOC_FL_KEEP_SIZE reserves [off, off + len);
	 * FALLOC_FL_PUNCH_HOLE|KEEP_SIZE frees it. */
	int (*fallocate)(struct vfs_inode *inode, struct vfs_file *f, int mode, uint64_t off,
			 uint64_t len);
	/* Extended attributes.  getxattr/listxattr return the size (and copy
	 * when @size is big enough: -ERANGE otherwise; 0 asks for the size). */
	int (*setxattr)(struct vfs_inode *inode, const char *name, const void *value, size_t size,
			int flags);
	ssize_t (*getxattr)(struct vfs_inode *inode, const char *name, void *value, size_t size);
	ssize_t (*listxattr)(struct vfs_inode *inode, char *list, size_t size);
	int (*removexattr)(struct vfs_inode *inode, const char *name);
	/* Is the cached entry @name -> @child of @dir still right?  1: keep
	 * it; 0: drop it and look the name up again.  Optional (NULL: cached
	 * entries stay).  May block (FUSE asks its server). */
	int (*revalidate)(struct vfs_inode *dir, const char *name, struct vfs_inode *child);
	/* The last reference is gone: free the inode. */
	void (*evict)(struct vfs_inode *inode);
};

struct vfs_lock_range;

struct vfs_file_ops {
	ssize_t (*read)(struct vfs_file *f, struct vfs_io *io, uint64_t off);
	ssize_t (*write)(struct vfs_file *f, struct vfs_io *io, uint64_t off);
	/* Emit entries from *@pos on; *@pos is an opaque cookie. */
	int (*iterate)(struct vfs_file *f, uint64_t *pos, vfs_emit_fn emit, void *ctx);
	long (*ioctl)(struct vfs_file *f, unsigned long cmd, uint64_t arg, void *task);
	int (*fsync)(struct vfs_file *f);
	/* The host fd to poll(2) for readiness, for files backed by one. */
	int (*host_fd)(struct vfs_file *f);
	/* Readiness now (POLLIN, POLLOUT, POLLHUP, ...) among @events.  Files
	 * without this op or host_fd are always ready, as regular files are. */
	short (*poll)(struct vfs_file *f, short events);
	/* fstat of a file without an inode (pipes, host stdio). */
	int (*stat)(struct vfs_file *f, struct stat *st);
	void (*release)(struct vfs_file *f);
	/* lseek(2)'s SEEK_DATA and SEEK_HOLE from @off (below the size):
	 * where the file system knows its holes (FUSE's LSEEK).  Optional,
	 * or -ENOSYS: the whole file is data, as Linux's generic answer. */
	int64_t (*seek_data)(struct vfs_file *f, int64_t off, int whence);
	/* close(2) of one fd of the file, from the fd table @owner (FUSE's
	 * FLUSH, which also drops that owner's locks); optional. */
	void (*flush)(struct vfs_file *f, const void *owner);
	/* Advisory byte-range locks kept by the file system itself (FUSE
	 * with POSIX_LOCKS): @get tests (*@r gets the conflict or F_UNLCK),
	 * else sets, waiting if @wait.  -ENOSYS: the VFS's own locks serve
	 * (kernel/vfs/lock.h).  Optional. */
	int (*lock)(struct vfs_file *f, const void *owner, struct vfs_lock_range *r, bool get,
		    bool wait);
	/* mmap(2) maps the file's own pages (the object is the struct
	 * vfs_file); NULL: a mapping is a private copy made at mmap time. */
	const struct mm_mappable_ops *mappable;
	bool seekable; /* lseek allowed (pipes and ttys say no: -ESPIPE) */
};

struct vfs_inode {
	const struct vfs_inode_ops *ops;
	struct vfs_fs *fs;
	_Atomic long refs;
	uint64_t ino;
	mode_t mode; /* type bits are fixed for the inode's life */
	bool appending; /* an O_APPEND write is under way (ops.c: append_mu) */
};

struct vfs_dentry {
	_Atomic long refs;
	struct vfs_dentry *parent; /* NULL for a file system's root */
	struct vfs_inode *inode;
	char *name;
	bool dead;        /* unlinked or renamed over: out of the tree */
	bool mountpoint;  /* some mount sits on it */

	pthread_mutex_t lock;      /* protects the fields below */
	struct vfs_dentry *child;  /* first cached child; then child->sibling */
	/* The cached children by name, once there are many (vfs.c, child_*):
	 * a directory of 10,000 names that READDIRPLUS fills must not cost a
	 * list walk per name.  NULL: the list is searched. */
	struct vfs_dentry **buckets;
	size_t nbuckets, nchildren;

	/* In the parent's child list and table, under the parent's lock. */
	struct vfs_dentry *sibling;
	struct vfs_dentry **psibling; /* what points at this one in the list */
	struct vfs_dentry *hash_next;
	uint32_t hash;                /* of name */
};

struct vfs_fs {
	const char *type; /* "tmpfs", "proc", ... */
	unsigned long magic; /* statfs f_type */
	int mounts;          /* mounts of it (bind mounts share it); vfs.mounts_lock */
	struct vfs_dentry *root;
	uint64_t next_ino;
	void *priv;
	void (*destroy)(struct vfs_fs *fs);
	/* statfs(2) of a file system that knows its own figures (FUSE asks
	 * its server); NULL: the sandbox's memory is the size.  May block. */
	int (*statfs)(struct vfs_fs *fs, struct statfs *sf);
};

struct vfs_mount {
	struct vfs_fs *fs;
	struct vfs_dentry *root;        /* the fs root (or bind source) */
	struct vfs_mount *parent;       /* NULL for the namespace root */
	struct vfs_dentry *mountpoint;  /* in parent */
	struct vfs_mount *next;         /* all mounts, under vfs.mounts_lock */
	unsigned flags;                 /* MS_RDONLY, ... */
	_Atomic long refs;
};

struct vfs_path {
	struct vfs_mount *mnt;
	struct vfs_dentry *dentry;
};

struct vfs_file {
	const struct vfs_file_ops *ops;
	void *priv;
	_Atomic long refs;
	struct vfs_path path;
	struct vfs_inode *inode;
	pthread_mutex_t lock; /* protects flags */
	int flags; /* O_ACCMODE, O_APPEND, O_NONBLOCK, ... */
	/* Held across a read, write, lseek or getdents at the file's offset
	 * (Linux's f_pos_lock), which may wait for a FUSE server: so never
	 * by what only looks (fcntl, ioctl: they read offset atomically). */
	pthread_mutex_t pos_lock;
	uint64_t offset;
	uint64_t dir_pos; /* iterate() cookie */
};

/* The mount namespace of a sandbox. */
struct vfs {
	pthread_mutex_t mounts_lock; /* protects the mount list */
	struct vfs_mount *mounts;
	struct vfs_path root;
	struct vfs *next_vfs; /* every namespace, for vfs_shrink; its own lock */
};

/* --- references --- */

void vfs_inode_init(struct vfs_inode *inode, struct vfs_fs *fs, const struct vfs_inode_ops *ops,
		    mode_t mode);
struct vfs_inode *vfs_inode_get(struct vfs_inode *inode);
void vfs_inode_put(struct vfs_inode *inode);

/* A new dentry named @name under @parent for @inode (takes the caller's
 * inode reference).  NULL on -ENOMEM. */
struct vfs_dentry *vfs_dentry_new(struct vfs_dentry *parent, const char *name,
				  struct vfs_inode *inode);
struct vfs_dentry *vfs_dentry_get(struct vfs_dentry *d);
void vfs_dentry_put(struct vfs_dentry *d);

struct vfs_path vfs_path_get(struct vfs_path p);
void vfs_path_put(struct vfs_path p);

/* Give @fs its root dentry over @root (the caller's inode reference moves
 * in; on failure it is dropped).  0 or -ENOMEM. */
int vfs_fs_set_root(struct vfs_fs *fs, struct vfs_inode *root);

/* --- the namespace --- */

/* Make @vfs with @fs mounted at its root (takes @fs). */
int vfs_init(struct vfs *vfs, struct vfs_fs *fs);
void vfs_destroy(struct vfs *vfs);

/* Mount @fs on the directory @at (takes @fs). -ENOTDIR, -EBUSY, -ENOMEM. */
int vfs_mount(struct vfs *vfs, struct vfs_path at, struct vfs_fs *fs, unsigned flags);

/* Bind-mount what @src shows at the directory @at.  0 or -errno. */
int vfs_bind(struct vfs *vfs, struct vfs_path at, struct vfs_path src, unsigned flags);

/* Change the flags (MS_RDONLY) of the mount whose root @p is.  -EINVAL if
 * @p is not a mount's root. */
int vfs_remount(struct vfs *vfs, struct vfs_path p, unsigned flags);

/*
 * Unmount the mount whose root @p is.  -EINVAL if @p is not a mount's
 * root or is the namespace root, -EBUSY if something is mounted inside it
 * or (without @detach) anything still uses it.  With @detach it leaves the
 * tree at once and is freed when its last user lets go.
 */
int vfs_umount(struct vfs *vfs, struct vfs_path p, bool detach);

/*
 * Let go of every cached name that nothing uses (no open file, cwd, mount
 * or cached child holds it), in every namespace: a file system short of
 * host fds (hostfs holds one per inode) calls this and tries again, as
 * Linux's dcache shrinks under pressure.  Names are looked up again when
 * next walked.  Call with no VFS lock held (hostfs's lookup and open,
 * which are never called under one).  Returns how many names went.
 */
size_t vfs_shrink(void);

/* --- path resolution --- */

enum {
	VFS_LOOKUP_FOLLOW = 1 << 0,    /* follow a symlink in the last component */
	VFS_LOOKUP_DIRECTORY = 1 << 1, /* the result must be a directory */
	VFS_LOOKUP_PARENT = 1 << 2,    /* stop at the parent of the last component */
};

/*
 * Resolve @path (absolute, or relative to @start) within @root.  On
 * success *@out holds references.  With VFS_LOOKUP_PARENT, *@out is the
 * parent directory and @last (VFS_NAME_MAX + 1 bytes) gets the last
 * component ("" for "/", "." or ".." endings, which callers refuse).
 * Errors as Linux: -ENOENT, -ENOTDIR, -ELOOP, -ENAMETOOLONG, -EACCES.
 */
int vfs_resolve(struct vfs *vfs, struct vfs_path root, struct vfs_path start, const char *path,
		unsigned flags, struct vfs_path *out, char *last, bool *trailing_slash);

/*
 * The name of @p as seen from @root ("/" for the root itself), built
 * right to left at the end of @buf (@size bytes); *@start is where it
 * begins.  -ENAMETOOLONG if it does not fit.  A path outside @root is
 * named from the namespace root.
 */
int vfs_path_name(struct vfs_path root, struct vfs_path p, char *buf, size_t size,
		  size_t *start);

/* --- files --- */

/* Open the file at @p with @flags (O_* of open(2)); *@out gets a new
 * reference.  Checks type against flags (-EISDIR, -ENOTDIR). */
int vfs_open(struct vfs_path p, int flags, struct vfs_file **out);

struct vfs_file *vfs_file_get(struct vfs_file *f);
void vfs_file_put(struct vfs_file *f);

/* Open @inode itself, with no path (stacking file systems forward to the
 * file systems below them this way).  *@out gets a new reference. */
int vfs_open_inode(struct vfs_inode *inode, int flags, struct vfs_file **out);

/* A file with no path (pipes, host stdio); takes nothing, refs = 1. */
struct vfs_file *vfs_file_new_anon(const struct vfs_file_ops *ops, void *priv, int flags);

/*
 * Prepare @f (ops, priv) as the character device @rdev, for a device node
 * of any file system (mknod on tmpfs, a node in a host tree), as Linux's
 * chrdev_open: a number one of the sandbox's own devices has (1:3 null,
 * 1:5 zero, 1:7 full, 1:8 random, 1:9 urandom, 5:0 tty) opens that
 * device, never a host one; any other has no driver here, -ENXIO.
 * Implemented by kernel/devfs.c, which owns those devices.
 */
int vfs_chrdev_open(dev_t rdev, struct vfs_file *f, int flags);

static inline bool vfs_is_dir(const struct vfs_inode *i)
{
	return S_ISDIR(i->mode);
}

#endif

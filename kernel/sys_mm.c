/*
 * kernel/sys_mm.c - brk and the mmap family: argument checks around mm.h.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "abi/mman.h"
#include "kernel/syscall.h"
#include "kernel/vfs/ops.h"

int64_t sys_brk(struct task *t, const uint64_t a[6])
{
	return (int64_t)mm_brk(t->mm, a[0]);
}

/*
 * A file mapping.  Files that lend their pages (FUSE, through its page
 * cache: vfs_file_ops.mappable) are mapped for real, shared or private.
 * Others get a private copy: anonymous memory filled from the file at
 * mmap time.  That is exactly what MAP_PRIVATE gives a program that does
 * not expect later writes to the file to show through, and what a
 * read-only MAP_SHARED mapping gives one that does not change the file
 * meanwhile; writable MAP_SHARED mappings of such files are ENODEV
 * (docs/syscalls.md).
 */
static int64_t mmap_file(struct task *t, uint64_t addr, uint64_t len, unsigned prot,
			 unsigned flags, int fd, uint64_t off)
{
	unsigned type = flags & MAP_TYPE;
	struct vfs_file *f = fd >= 0 ? fd_get(t->fds, fd) : NULL;
	unsigned char *buf = NULL;
	struct stat st;
	uint64_t done = 0, filled;
	int64_t r;
	int err;

	if (!f)
		return -EBADF;
	err = f->flags & O_PATH ? -EBADF : f->inode ? vfs_getattr(f->inode, &st) : -ENODEV;
	if (!err && !S_ISREG(st.st_mode))
		err = -ENODEV;
	if (!err && (f->flags & O_ACCMODE) == O_WRONLY)
		err = -EACCES;
	if (!err && type != MAP_PRIVATE && (prot & PROT_WRITE) && (f->flags & O_ACCMODE) == O_RDONLY)
		err = -EACCES;
	if (!err && f->ops->mappable) {
		r = mm_mmap_file(t->mm, addr, len, prot, flags, f->ops->mappable, f, off);
		vfs_file_put(f);
		return r;
	}
	if (!err && type != MAP_PRIVATE && (prot & PROT_WRITE))
		err = -ENODEV;
	if (err)
		goto out_put;
	r = mm_mmap(t->mm, addr, len, PROT_READ | PROT_WRITE,
		    (flags & ~(unsigned)(MAP_TYPE | MAP_POPULATE)) | MAP_PRIVATE | MAP_ANONYMOUS);
	if (r < 0) {
		err = (int)r;
		goto out_put;
	}
	addr = (uint64_t)r;
	filled = (uint64_t)st.st_size > off ? (uint64_t)st.st_size - off : 0;
	if (filled > len)
		filled = len;
	err = -ENOMEM;
	buf = malloc(64 * 1024);
	if (buf)
		err = 0;
	while (!err && done < filled) {
		struct vfs_mem_io m;
		size_t n = filled - done < 64 * 1024 ? (size_t)(filled - done) : 64 * 1024;
		ssize_t got;

		vfs_mem_io_init(&m, buf, n);
		got = vfs_read(f, &m.io, (int64_t)(off + done));
		if (got <= 0) {
			err = got < 0 ? (int)got : 0;
			break;
		}
		err = mm_copy_out(t->mm, addr + done, buf, (size_t)got);
		done += (uint64_t)got;
	}
	if (!err)
		err = mm_mprotect(t->mm, addr, len, prot);
	if (err)
		(void)mm_munmap(t->mm, addr, len);
out_put:
	free(buf);
	vfs_file_put(f);
	return err ? err : (int64_t)addr;
}

int64_t sys_mmap(struct task *t, const uint64_t a[6])
{
	if (!abi_page_aligned(a[5]))
		return -EINVAL;
	if (!(a[3] & MAP_ANONYMOUS))
		return mmap_file(t, a[0], a[1], (unsigned)a[2], (unsigned)a[3], (int)a[4], a[5]);
	return mm_mmap(t->mm, a[0], a[1], (unsigned)a[2], (unsigned)a[3]);
}

int64_t sys_munmap(struct task *t, const uint64_t a[6])
{
	return mm_munmap(t->mm, a[0], a[1]);
}

int64_t sys_mprotect(struct task *t, const uint64_t a[6])
{
	return mm_mprotect(t->mm, a[0], a[1], (unsigned)a[2]);
}

int64_t sys_mremap(struct task *t, const uint64_t a[6])
{
	return mm_mremap(t->mm, a[0], a[1], a[2], (unsigned)a[3], a[4]);
}

int64_t sys_msync(struct task *t, const uint64_t a[6])
{
	return mm_msync(t->mm, a[0], a[1], (int)a[2]);
}

int64_t sys_madvise(struct task *t, const uint64_t a[6])
{
	return mm_madvise(t->mm, a[0], a[1], (int)a[2]);
}

/*
 * test/fuzz/fuzz_fuse.c - libFuzzer target: the FUSE client against a
 * server whose every reply and notification is fuzz input.
 *
 * One connection per input, mounted with fuse_fs_create.  A client
 * thread runs a fixed round of file operations on the mount (lookup,
 * getattr, readlink, open and read, readdir, xattrs, statfs, create,
 * mkdir, symlink); each becomes a request.  This thread plays the
 * server: for each request it reads from the device it writes the next
 * chunk of the input as the reply, or a notification, with the header
 * right or wrong as the chunk says.  When the input runs out the
 * connection is aborted, the client sees ENOTCONN, and everything is torn
 * down: ASan, UBSan and LeakSanitizer see every parser (reply sizes,
 * INIT, entries, attributes, dirents, READDIRPLUS, xattr lists,
 * notifications) on hostile bytes.
 *
 * A chunk: flags (1 byte), error or notification code (1 byte), payload
 * length (2 bytes, little endian), payload.  flags bit 0: a notification;
 * bit 1: the header's length is off by one; bit 2: the header's unique
 * is not the request's; bit 3: the error is positive.  The seeds
 * (test/fuzz/seeds.py) follow the round in order; FUZZ_FUSE_TRACE=1 in
 * the environment prints each request's opcode, to write new ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "abi/fuse.h"
#include "fuse/fuse.h"
#include "fuse/fuse_i.h"
#include "kernel/kernel.h"
#include "kernel/vfs/vfs.h"
#include "platform/memacct.h"
#include "platform/memfile.h"

static struct memacct macct;
static struct memfile mf;
static struct kernel k;
static const struct fuse_config cfg;

static const struct vfs_file_ops none_ops;

static int count_entry(void *ctx, const struct vfs_dirent *d)
{
	return ++*(int *)ctx > 1000; /* full after 1000: the rest on the next call */
}

/* Open @inode with @flags, run @fn on the file, close it. */
static void with_file(struct vfs_inode *inode, int flags, void (*fn)(struct vfs_file *))
{
	struct vfs_file *f = vfs_file_new_anon(&none_ops, NULL, flags);

	if (!f)
		return;
	f->inode = vfs_inode_get(inode);
	if (inode->ops->open(inode, f, flags) == 0)
		fn(f);
	vfs_file_put(f);
}

static void read_some(struct vfs_file *f)
{
	static unsigned char buf[16384];
	struct vfs_mem_io io;

	vfs_mem_io_init(&io, buf, sizeof(buf));
	if (f->ops->read)
		(void)f->ops->read(f, &io.io, 0);
}

static void list_dir(struct vfs_file *f)
{
	uint64_t pos = 0;
	int n = 0;

	if (f->ops->iterate)
		(void)f->ops->iterate(f, &pos, count_entry, &n);
}

/* What the client asks, one request (or a few) at a time. */
static void *client(void *arg)
{
	struct vfs_fs *fs = arg;
	struct vfs_inode *root = fs->root->inode, *in = NULL, *made = NULL;
	char buf[4096];
	struct stat st;
	struct statfs sf;

	if (root->ops->lookup(root, "a", &in) == 0) {
		(void)in->ops->getattr(in, &st);
		(void)in->ops->readlink(in, buf, sizeof(buf));
		if (S_ISREG(in->mode))
			with_file(in, O_RDONLY, read_some);
		(void)in->ops->getxattr(in, "user.x", buf, 64);
		(void)in->ops->listxattr(in, buf, 256);
		vfs_inode_put(in);
	}
	with_file(root, O_RDONLY | O_DIRECTORY, list_dir);
	(void)root->ops->getattr(root, &st);
	if (fs->statfs)
		(void)fs->statfs(fs, &sf);
	if (root->ops->create_open && root->ops->create_open(root, "c", 0644, O_RDWR, &made) == 0)
		vfs_inode_put(made);
	if (root->ops->mkdir(root, "d", 0755, &made) == 0)
		vfs_inode_put(made);
	if (root->ops->symlink(root, "e", "target", &made) == 0)
		vfs_inode_put(made);
	if (root->ops->lookup(root, "b", &in) == 0)
		vfs_inode_put(in);
	return NULL;
}

struct chunk {
	uint8_t flags, code;
	const uint8_t *p;
	size_t len;
};

static bool next_chunk(const uint8_t **data, size_t *size, struct chunk *c)
{
	size_t len;

	if (*size < 4)
		return false;
	len = (size_t)(*data)[2] | (size_t)(*data)[3] << 8;
	c->flags = (*data)[0];
	c->code = (*data)[1];
	*data += 4;
	*size -= 4;
	c->len = len < *size ? len : *size;
	c->p = *data;
	*data += c->len;
	*size -= c->len;
	return true;
}

static ssize_t dev_write_chunk(struct vfs_file *dev, uint64_t unique, const struct chunk *c)
{
	static unsigned char msg[sizeof(struct fuse_out_header) + 65536];
	struct fuse_out_header oh = {.len = (uint32_t)(sizeof(oh) + c->len)};
	struct vfs_mem_io io;

	if (c->flags & 1) {
		oh.error = c->code; /* the notification code */
		oh.unique = 0;
	} else {
		oh.error = c->flags & 8 ? c->code : -(int32_t)c->code;
		oh.unique = c->flags & 4 ? unique ^ 0x5a5a : unique;
	}
	if (c->flags & 2)
		oh.len++;
	memcpy(msg, &oh, sizeof(oh));
	memcpy(msg + sizeof(oh), c->p, c->len);
	vfs_mem_io_init(&io, msg, sizeof(oh) + c->len);
	return dev->ops->write(dev, &io.io, 0);
}

/* The next request that wants a reply: its unique, or 0 when the client
 * has gone quiet. */
static bool trace;

static uint64_t next_request(struct vfs_file *dev, volatile bool *client_done)
{
	static unsigned char buf[FUSE_MIN_READ_BUFFER + 1048576];

	for (int tries = 0; tries < 20000; tries++) {
		struct vfs_mem_io io;
		const struct fuse_in_header *h = (const void *)buf;
		ssize_t n;

		vfs_mem_io_init(&io, buf, sizeof(buf));
		n = dev->ops->read(dev, &io.io, 0);
		if (n >= (ssize_t)sizeof(*h)) {
			if (trace)
				fprintf(stderr, "request opcode %u unique %llu\n", h->opcode,
					(unsigned long long)h->unique);
			if (h->opcode == FUSE_FORGET || h->opcode == FUSE_BATCH_FORGET ||
			    h->opcode == FUSE_INTERRUPT || h->opcode == FUSE_NOTIFY_REPLY)
				continue; /* no reply wanted */
			return h->unique;
		}
		if (n != -EAGAIN || *client_done)
			return 0;
		usleep(10);
	}
	return 0;
}

static volatile bool done;

static void *client_main(void *fs)
{
	client(fs);
	done = true;
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	trace = getenv("FUZZ_FUSE_TRACE") != NULL;
	memacct_init(&macct);
	if (memfile_init(&mf, UINT64_C(256) << 20, &macct))
		abort();
	k.mf = &mf;
	k.acct = &macct;
	fuse_install(&k, &cfg);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfs_file *dev = vfs_file_new_anon(&none_ops, NULL, O_RDWR | O_NONBLOCK);
	struct fuse_conn *fc;
	struct vfs_fs *fs;
	struct chunk c;
	pthread_t th;
	uint64_t unique = 0;

	if (!dev || k.fs_hooks->dev_fuse_open(&k, dev, O_RDWR)) {
		vfs_file_put(dev);
		return 0;
	}
	dev->flags |= O_NONBLOCK;
	fc = fuse_dev_conn(dev);
	if (fuse_fs_create(fc, S_IFDIR | 0755, 0, &fs)) {
		vfs_file_put(dev);
		return 0;
	}
	done = false;
	if (pthread_create(&th, NULL, client_main, fs))
		abort();
	while (next_chunk(&data, &size, &c)) {
		if (!(c.flags & 1) && !unique)
			unique = next_request(dev, &done);
		if (!(c.flags & 1) && !unique)
			break;
		if (dev_write_chunk(dev, unique, &c) >= 0 && !(c.flags & 1))
			unique = 0; /* answered */
	}
	fuse_conn_abort(fc); /* the input is over: every wait ends */
	pthread_join(th, NULL);
	fs->destroy(fs);
	vfs_file_put(dev);
	return 0;
}

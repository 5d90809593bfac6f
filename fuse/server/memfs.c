/*
 * fuse/server/memfs.c - an in-memory file system served with libfuse's
 * low-level API: the guest-side FUSE server of ksentry's demo and tests,
 * and the server `ksentry bench fuse` runs in the sandbox and natively.
 *
 * Built statically against Debian's libfuse3.a; run it as any libfuse
 * program, its own flags first, in any order:
 *   memfs [--direct-io] [--say-destroy] [--cache SECONDS] MOUNTPOINT [-f] [-s] [-o ...]
 * --direct-io opens every file with direct I/O, so that the kernel's
 * page cache never answers a read (the benchmark wants round trips).
 * --say-destroy prints "memfs: destroy, N lookups held" on stderr when
 * FUSE_DESTROY comes: N counts the lookups the kernel never forgot (the
 * tests look for it, and for 0).
 * --cache SECONDS gives entries and attributes that timeout instead of 0,
 * so that a kernel may answer a repeated stat from its caches (the
 * benchmark's stat_cached); without it every lookup is a round trip.
 * -s serves with one thread (fuse_session_loop); without it libfuse's
 * multi-threaded loop runs (-o clone_fd: a device fd per thread).
 *
 * What a normal file system has: regular files (sparse, in 64 KiB
 * chunks), directories, symlinks, hard links, device nodes, FIFOs and
 * sockets, extended attributes, statfs, fsync, fallocate,
 * SEEK_DATA/SEEK_HOLE, the inode flags of FS_IOC_GETFLAGS/SETFLAGS, and
 * poll (always ready).  Nodes are numbered by the FUSE node ID and live
 * while they have a name, a lookup the kernel has not forgotten, or an
 * open file.  POSIX locks are left to the kernel (no getlk/setlk, so
 * libfuse does not offer FUSE_POSIX_LOCKS), as most servers do.
 *
 * One lock covers everything: the subject is the path through FUSE, and
 * a memcpy under a mutex is not what a benchmark of it should measure.
 */
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <fuse3/fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "loop_config.h"

#define CHUNK		(64 * 1024)	/* unit of file storage; absent = hole */
#define MAX_FILE	(1ULL << 40)	/* EFBIG past 1 TiB */
#define MAX_XATTR_VALUE	65536		/* XATTR_SIZE_MAX */

struct xattr {
	struct xattr *next;
	char *name;
	char *value;
	size_t size;
};

/* A name in a directory; node NULL once removed (offsets stay put). */
struct dent {
	char *name;
	struct node *node;
	uint32_t hash;
	int32_t next;		/* next index in the hash chain, -1: end */
};

/*
 * A directory's names, in creation order (readdir offset = index + 2,
 * after "." and ".."), with a hash over them for lookup.  Removed names
 * leave a hole that is squeezed out only while no one has the directory
 * open, so that an offset a reader holds stays valid.
 */
struct dir {
	struct dent *ents;
	size_t nents, cap, live;
	int32_t *buckets;	/* cap of them, a power of two */
	unsigned handles;	/* open directory streams */
};

struct node {
	struct stat st;		/* st_ino is the FUSE node ID */
	uint64_t lookups;	/* lookups the kernel holds */
	unsigned opens;
	struct node *parent;	/* directories: for ".." and loops */
	char **chunks;		/* regular files */
	size_t nchunks, used;	/* table size, chunks present */
	char *target;		/* symlinks */
	struct dir dir;		/* directories */
	struct xattr *xattrs;
	unsigned inode_flags;	/* FS_IOC_GETFLAGS/SETFLAGS: kept, not enforced */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct node **table;	/* by node ID; IDs are never reused */
static size_t table_cap;
static fuse_ino_t next_ino = FUSE_ROOT_ID;
static uint64_t nodes_live, chunks_live;
static int direct_io, say_destroy;
static double cache_seconds;	/* entry and attr timeouts; 0: none */
static const char zeros[CHUNK];

static void stamp(struct timespec *t)
{
	clock_gettime(CLOCK_REALTIME, t);
}

static void touch_dir(struct node *d)
{
	stamp(&d->st.st_mtim);
	d->st.st_ctim = d->st.st_mtim;
}

static struct node *get(fuse_ino_t ino)
{
	return ino < table_cap ? table[ino] : NULL;
}

/* A new node of @mode owned by @uid and @gid. */
static struct node *node_new(mode_t mode, dev_t rdev, uid_t uid, gid_t gid)
{
	struct node *n;

	if (next_ino >= table_cap) {
		size_t cap = table_cap ? table_cap * 2 : 1024;
		struct node **t = realloc(table, cap * sizeof(*t));

		if (!t)
			return NULL;
		memset(t + table_cap, 0, (cap - table_cap) * sizeof(*t));
		table = t;
		table_cap = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->st.st_ino = next_ino;
	n->st.st_mode = mode;
	n->st.st_nlink = S_ISDIR(mode) ? 2 : 1;
	n->st.st_uid = uid;
	n->st.st_gid = gid;
	n->st.st_rdev = rdev;
	n->st.st_blksize = 4096;
	if (S_ISDIR(mode))
		n->st.st_size = 4096;
	stamp(&n->st.st_mtim);
	n->st.st_atim = n->st.st_ctim = n->st.st_mtim;
	table[next_ino++] = n;
	nodes_live++;
	return n;
}

static void chunk_free(struct node *n, size_t idx)
{
	free(n->chunks[idx]);
	n->chunks[idx] = NULL;
	n->used--;
	n->st.st_blocks = (blkcnt_t)(n->used * (CHUNK / 512));
	chunks_live--;
}

/* Free @n if nothing refers to it any more: no name, lookup or open. */
static void node_put(struct node *n)
{
	struct xattr *x, *next;

	if (n->st.st_nlink || n->lookups || n->opens || n->st.st_ino == FUSE_ROOT_ID)
		return;
	for (size_t i = 0; i < n->nchunks; i++)
		if (n->chunks[i])
			chunk_free(n, i);
	free(n->chunks);
	free(n->target);
	for (x = n->xattrs; x; x = next) {
		next = x->next;
		free(x->name);
		free(x->value);
		free(x);
	}
	for (size_t i = 0; i < n->dir.nents; i++)
		free(n->dir.ents[i].name);
	free(n->dir.ents);
	free(n->dir.buckets);
	table[n->st.st_ino] = NULL;
	nodes_live--;
	free(n);
}

/* Directories ------------------------------------------------------- */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void dir_rehash(struct dir *d)
{
	for (size_t i = 0; i < d->cap; i++)
		d->buckets[i] = -1;
	for (size_t i = 0; i < d->nents; i++) {
		struct dent *e = &d->ents[i];
		int32_t *head = &d->buckets[e->hash & (d->cap - 1)];

		if (!e->node)
			continue;
		e->next = *head;
		*head = (int32_t)i;
	}
}

static int32_t dir_find(struct dir *d, const char *name)
{
	uint32_t h = name_hash(name);

	if (!d->cap)
		return -1;
	for (int32_t i = d->buckets[h & (d->cap - 1)]; i >= 0; i = d->ents[i].next)
		if (d->ents[i].hash == h && !strcmp(d->ents[i].name, name))
			return i;
	return -1;
}

static struct node *dir_lookup(struct node *dn, const char *name)
{
	int32_t i = dir_find(&dn->dir, name);

	return i < 0 ? NULL : dn->dir.ents[i].node;
}

/* Squeeze out removed names, when no reader holds an offset into them. */
static void dir_compact(struct dir *d)
{
	size_t k = 0;

	if (d->handles || d->live * 2 > d->nents || d->nents < 64)
		return;
	for (size_t i = 0; i < d->nents; i++) {
		if (d->ents[i].node)
			d->ents[k++] = d->ents[i];
		else
			free(d->ents[i].name);
	}
	d->nents = k;
	dir_rehash(d);
}

/* Room for one more name in @d. */
static int dir_reserve(struct dir *d)
{
	size_t cap = d->cap ? d->cap * 2 : 16;
	struct dent *ents;
	int32_t *buckets;

	if (d->nents < d->cap)
		return 0;
	ents = realloc(d->ents, cap * sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	d->ents = ents;
	buckets = malloc(cap * sizeof(*buckets));
	if (!buckets)
		return -ENOMEM;
	free(d->buckets);
	d->buckets = buckets;
	d->cap = cap;
	dir_rehash(d);
	return 0;
}

/* Name @n @name (malloc'd, taken) in @dn, which has room (dir_reserve). */
static void dir_insert(struct node *dn, char *name, struct node *n)
{
	struct dir *d = &dn->dir;
	struct dent *e = &d->ents[d->nents];

	e->name = name;
	e->node = n;
	e->hash = name_hash(name);
	e->next = d->buckets[e->hash & (d->cap - 1)];
	d->buckets[e->hash & (d->cap - 1)] = (int32_t)d->nents++;
	d->live++;
	if (S_ISDIR(n->st.st_mode)) {
		n->parent = dn;
		dn->st.st_nlink++;
	}
	touch_dir(dn);
}

static int dir_add(struct node *dn, const char *name, struct node *n)
{
	char *copy = strdup(name);

	if (!copy || dir_reserve(&dn->dir)) {
		free(copy);
		return -ENOMEM;
	}
	dir_insert(dn, copy, n);
	return 0;
}

/* Take name @i out of @dn; the node loses that link. */
static void dir_del(struct node *dn, int32_t i)
{
	struct dir *d = &dn->dir;
	struct dent *e = &d->ents[i];
	int32_t *p = &d->buckets[e->hash & (d->cap - 1)];
	struct node *n = e->node;

	while (*p != i)
		p = &d->ents[*p].next;
	*p = e->next;
	e->node = NULL;
	d->live--;
	if (S_ISDIR(n->st.st_mode)) {
		dn->st.st_nlink--;
		n->st.st_nlink = 0;	/* rename gives it back */
		n->parent = NULL;
	} else {
		n->st.st_nlink--;
	}
	stamp(&n->st.st_ctim);
	touch_dir(dn);
	dir_compact(d);
}

/* Replies ----------------------------------------------------------- */

static void fill_entry(struct fuse_entry_param *e, struct node *n)
{
	memset(e, 0, sizeof(*e));
	e->ino = n->st.st_ino;
	e->attr = n->st;
	e->attr_timeout = cache_seconds;
	e->entry_timeout = cache_seconds;
}

/* Answer with @n's entry; the kernel holds one more lookup of it. */
static void reply_entry(fuse_req_t req, struct node *n)
{
	struct fuse_entry_param e;

	fill_entry(&e, n);
	if (fuse_reply_entry(req, &e) == 0)
		n->lookups++;
}

static void m_init(void *data, struct fuse_conn_info *conn)
{
	struct node *root = node_new(S_IFDIR | 0755, 0, getuid(), getgid());

	if (!root)
		abort();
	root->parent = root;
}

/* FUSE_DESTROY: the kernel says the mount is gone. */
/* DESTROY: with --say-destroy, also how many lookups the kernel still
 * held on nodes other than the root: a kernel that forgot what it
 * evicted at unmount leaves 0. */
static void m_destroy(void *data)
{
	uint64_t held = 0;

	if (!say_destroy)
		return;
	pthread_mutex_lock(&lock);
	for (size_t i = FUSE_ROOT_ID + 1; i < table_cap; i++)
		if (table[i])
			held += table[i]->lookups;
	pthread_mutex_unlock(&lock);
	fprintf(stderr, "memfs: destroy, %llu lookups held\n", (unsigned long long)held);
}

static void m_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *dn, *n;

	pthread_mutex_lock(&lock);
	dn = get(parent);
	if (!dn || !S_ISDIR(dn->st.st_mode)) {
		fuse_reply_err(req, dn ? ENOTDIR : ENOENT);
	} else if (!(n = dir_lookup(dn, name))) {
		/* Negative entries are never cached: a name made after a
		 * failed lookup must be seen at once, with or without --cache. */
		fuse_reply_err(req, ENOENT);
	} else {
		reply_entry(req, n);
	}
	pthread_mutex_unlock(&lock);
}

static void forget_one(fuse_ino_t ino, uint64_t nlookup)
{
	struct node *n = get(ino);

	if (!n)
		return;
	n->lookups = nlookup > n->lookups ? 0 : n->lookups - nlookup;
	node_put(n);
}

static void m_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	pthread_mutex_lock(&lock);
	forget_one(ino, nlookup);
	pthread_mutex_unlock(&lock);
	fuse_reply_none(req);
}

static void m_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < count; i++)
		forget_one(f[i].ino, f[i].nlookup);
	pthread_mutex_unlock(&lock);
	fuse_reply_none(req);
}

static void m_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (n)
		fuse_reply_attr(req, &n->st, cache_seconds);
	else
		fuse_reply_err(req, ENOENT);
	pthread_mutex_unlock(&lock);
}

/* Regular file data -------------------------------------------------- */

/* Make room for chunk index @idx in @n's table. */
static int grow_chunks(struct node *n, size_t idx)
{
	size_t cap = n->nchunks ? n->nchunks : 16;
	char **c;

	if (idx < n->nchunks)
		return 0;
	while (cap <= idx)
		cap *= 2;
	c = realloc(n->chunks, cap * sizeof(*c));
	if (!c)
		return -ENOMEM;
	memset(c + n->nchunks, 0, (cap - n->nchunks) * sizeof(*c));
	n->chunks = c;
	n->nchunks = cap;
	return 0;
}

/*
 * Chunk @idx of @n, made if absent.  A new chunk is zero except for
 * [from, to), which the caller is about to fill (bytes past the file's
 * size are always zero, so a later extension reads zeros).
 */
static char *chunk_for_write(struct node *n, size_t idx, size_t from, size_t to)
{
	char *c;

	if (grow_chunks(n, idx))
		return NULL;
	if (n->chunks[idx])
		return n->chunks[idx];
	c = malloc(CHUNK);
	if (!c)
		return NULL;
	memset(c, 0, from);
	memset(c + to, 0, CHUNK - to);
	n->chunks[idx] = c;
	n->used++;
	n->st.st_blocks = (blkcnt_t)(n->used * (CHUNK / 512));
	chunks_live++;
	return c;
}

static int file_write(struct node *n, const char *buf, size_t size, off_t off)
{
	uint64_t pos = (uint64_t)off, end = pos + size;

	if (off < 0 || end < pos || end > MAX_FILE)
		return -EFBIG;
	while (pos < end) {
		size_t in = pos % CHUNK, len = CHUNK - in;
		char *c;

		if (len > end - pos)
			len = end - pos;
		c = chunk_for_write(n, pos / CHUNK, in, in + len);
		if (!c)
			return -ENOMEM;
		if (buf)
			memcpy(c + in, buf, len);
		else
			memset(c + in, 0, len);
		buf = buf ? buf + len : NULL;
		pos += len;
	}
	if (end > (uint64_t)n->st.st_size)
		n->st.st_size = (off_t)end;
	return 0;
}

/* Zero [from, to) of @n, freeing the chunks wholly inside it. */
static void file_zero(struct node *n, uint64_t from, uint64_t to)
{
	while (from < to) {
		size_t idx = from / CHUNK, in = from % CHUNK, len = CHUNK - in;

		if (idx >= n->nchunks)
			break;
		if (len > to - from)
			len = to - from;
		if (n->chunks[idx] && len == CHUNK)
			chunk_free(n, idx);
		else if (n->chunks[idx])
			memset(n->chunks[idx] + in, 0, len);
		from += len;
	}
}

static int file_truncate(struct node *n, off_t size)
{
	if (size < 0 || (uint64_t)size > MAX_FILE)
		return -EFBIG;
	if (size < n->st.st_size)
		file_zero(n, (uint64_t)size, (uint64_t)n->st.st_size);
	n->st.st_size = size;
	return 0;
}

static void m_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		      struct fuse_file_info *fi)
{
	struct node *n;
	int err = 0;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (!n) {
		err = ENOENT;
	} else if ((to_set & FUSE_SET_ATTR_SIZE) && !S_ISREG(n->st.st_mode)) {
		err = S_ISDIR(n->st.st_mode) ? EISDIR : EINVAL;
	} else if (to_set & FUSE_SET_ATTR_SIZE) {
		err = -file_truncate(n, attr->st_size);
		if (!err)
			stamp(&n->st.st_mtim);
	}
	if (!err) {
		if (to_set & FUSE_SET_ATTR_MODE)
			n->st.st_mode = (n->st.st_mode & S_IFMT) | (attr->st_mode & 07777);
		if (to_set & FUSE_SET_ATTR_UID)
			n->st.st_uid = attr->st_uid;
		if (to_set & FUSE_SET_ATTR_GID)
			n->st.st_gid = attr->st_gid;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			stamp(&n->st.st_atim);
		else if (to_set & FUSE_SET_ATTR_ATIME)
			n->st.st_atim = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			stamp(&n->st.st_mtim);
		else if (to_set & FUSE_SET_ATTR_MTIME)
			n->st.st_mtim = attr->st_mtim;
		if (to_set & FUSE_SET_ATTR_CTIME)
			n->st.st_ctim = attr->st_ctim;
		else
			stamp(&n->st.st_ctim);
		fuse_reply_attr(req, &n->st, cache_seconds);
	} else {
		fuse_reply_err(req, err);
	}
	pthread_mutex_unlock(&lock);
}

/* Names ----------------------------------------------------------------- */

/*
 * Make a node named @name in @parent: the part of mknod, mkdir, symlink
 * and create they share.  The node is the caller's (@req's uid and gid).
 * Returns the node, or NULL with *err set.
 */
static struct node *make(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 dev_t rdev, int *err)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct node *dn = get(parent), *n;

	if (!dn || !S_ISDIR(dn->st.st_mode)) {
		*err = dn ? ENOTDIR : ENOENT;
		return NULL;
	}
	if (!dn->st.st_nlink) {
		*err = ENOENT;	/* a removed directory takes no new names */
		return NULL;
	}
	if (strlen(name) > NAME_MAX) {
		*err = ENAMETOOLONG;
		return NULL;
	}
	if (dir_lookup(dn, name)) {
		*err = EEXIST;
		return NULL;
	}
	n = node_new(mode, rdev, ctx->uid, ctx->gid); /* the caller's, as tmpfs's */
	if (!n) {
		*err = ENOMEM;
		return NULL;
	}
	n->st.st_nlink = 0;	/* dir_add gives the link */
	if (dir_add(dn, name, n)) {
		node_put(n);
		*err = ENOMEM;
		return NULL;
	}
	if (S_ISDIR(mode))
		n->st.st_nlink = 2;
	else
		n->st.st_nlink = 1;
	return n;
}

static void m_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct node *n;
	int err;

	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		break;
	default:
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_mutex_lock(&lock);
	n = make(req, parent, name, mode & (S_IFMT | 07777), S_ISCHR(mode) || S_ISBLK(mode) ? rdev : 0, &err);
	if (n)
		reply_entry(req, n);
	else
		fuse_reply_err(req, err);
	pthread_mutex_unlock(&lock);
}

static void m_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct node *n;
	int err;

	pthread_mutex_lock(&lock);
	n = make(req, parent, name, S_IFDIR | (mode & 07777), 0, &err);
	if (n)
		reply_entry(req, n);
	else
		fuse_reply_err(req, err);
	pthread_mutex_unlock(&lock);
}

static void m_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	struct node *n = NULL;
	char *copy;
	int err = ENAMETOOLONG;

	if (strlen(target) >= PATH_MAX) {
		fuse_reply_err(req, err);
		return;
	}
	copy = strdup(target);
	pthread_mutex_lock(&lock);
	if (!copy)
		err = ENOMEM;
	else
		n = make(req, parent, name, S_IFLNK | 0777, 0, &err);
	if (n) {
		n->target = copy;
		n->st.st_size = (off_t)strlen(copy);
		reply_entry(req, n);
	} else {
		free(copy);
		fuse_reply_err(req, err);
	}
	pthread_mutex_unlock(&lock);
}

static void m_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct node *n;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (n && n->target)
		fuse_reply_readlink(req, n->target);
	else
		fuse_reply_err(req, n ? EINVAL : ENOENT);
	pthread_mutex_unlock(&lock);
}

static void m_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *name)
{
	struct node *n, *dn;
	int err = 0;

	pthread_mutex_lock(&lock);
	n = get(ino);
	dn = get(newparent);
	if (!n || !dn)
		err = ENOENT;
	else if (S_ISDIR(n->st.st_mode))
		err = EPERM;
	else if (!S_ISDIR(dn->st.st_mode))
		err = ENOTDIR;
	else if (!dn->st.st_nlink || !n->st.st_nlink)
		err = ENOENT;
	else if (strlen(name) > NAME_MAX)
		err = ENAMETOOLONG;
	else if (dir_lookup(dn, name))
		err = EEXIST;
	else if (n->st.st_nlink >= 65000)
		err = EMLINK;
	else
		err = -dir_add(dn, name, n);
	if (err) {
		fuse_reply_err(req, err);
	} else {
		n->st.st_nlink++;
		stamp(&n->st.st_ctim);
		reply_entry(req, n);
	}
	pthread_mutex_unlock(&lock);
}

/* Remove @name from @parent: unlink (@dir 0) or rmdir (@dir 1). */
static int remove_name(fuse_ino_t parent, const char *name, int dir)
{
	struct node *dn = get(parent), *n;
	int32_t i;

	if (!dn || !S_ISDIR(dn->st.st_mode))
		return dn ? ENOTDIR : ENOENT;
	i = dir_find(&dn->dir, name);
	if (i < 0)
		return ENOENT;
	n = dn->dir.ents[i].node;
	if (dir && !S_ISDIR(n->st.st_mode))
		return ENOTDIR;
	if (!dir && S_ISDIR(n->st.st_mode))
		return EISDIR;
	if (dir && n->dir.live)
		return ENOTEMPTY;
	dir_del(dn, i);
	node_put(n);
	return 0;
}

static void m_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	pthread_mutex_lock(&lock);
	fuse_reply_err(req, remove_name(parent, name, 0));
	pthread_mutex_unlock(&lock);
}

static void m_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	pthread_mutex_lock(&lock);
	fuse_reply_err(req, remove_name(parent, name, 1));
	pthread_mutex_unlock(&lock);
}

/* Is @n @d or below it?  (A directory may not move into itself.) */
static int below(struct node *d, struct node *n)
{
	for (;;) {
		if (d == n)
			return 1;
		if (d->st.st_ino == FUSE_ROOT_ID || !d->parent)
			return 0;
		d = d->parent;
	}
}

/* Point name @i of @dn at @n instead (RENAME_EXCHANGE). */
static void dent_repoint(struct node *dn, int32_t i, struct node *n)
{
	struct node *old = dn->dir.ents[i].node;

	dn->dir.ents[i].node = n;
	if (S_ISDIR(old->st.st_mode))
		dn->st.st_nlink--;
	if (S_ISDIR(n->st.st_mode)) {
		dn->st.st_nlink++;
		n->parent = dn;
	}
	stamp(&n->st.st_ctim);
	touch_dir(dn);
}

static int rename_exchange(struct node *fd, int32_t fi, struct node *td, int32_t ti)
{
	struct node *a = fd->dir.ents[fi].node, *b = td->dir.ents[ti].node;

	if ((S_ISDIR(a->st.st_mode) && below(td, a)) || (S_ISDIR(b->st.st_mode) && below(fd, b)))
		return EINVAL;
	dent_repoint(fd, fi, b);
	dent_repoint(td, ti, a);
	return 0;
}

static int do_rename(fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned int flags)
{
	struct node *fd = get(parent), *td = get(newparent), *n, *old;
	nlink_t nlink;
	int32_t fi, ti;
	char *copy;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE) ||
	    (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE))
		return EINVAL;
	if (!fd || !td)
		return ENOENT;
	if (!S_ISDIR(fd->st.st_mode) || !S_ISDIR(td->st.st_mode))
		return ENOTDIR;
	if (strlen(newname) > NAME_MAX)
		return ENAMETOOLONG;
	fi = dir_find(&fd->dir, name);
	if (fi < 0)
		return ENOENT;
	n = fd->dir.ents[fi].node;
	ti = dir_find(&td->dir, newname);
	old = ti < 0 ? NULL : td->dir.ents[ti].node;
	if (flags & RENAME_EXCHANGE)
		return old ? rename_exchange(fd, fi, td, ti) : ENOENT;
	if (old == n)
		return 0;	/* two names of one node: nothing to do */
	if (old && (flags & RENAME_NOREPLACE))
		return EEXIST;
	if (S_ISDIR(n->st.st_mode) && below(td, n))
		return EINVAL;
	if (old && S_ISDIR(old->st.st_mode) != S_ISDIR(n->st.st_mode))
		return S_ISDIR(old->st.st_mode) ? EISDIR : ENOTDIR;
	if (old && S_ISDIR(old->st.st_mode) && old->dir.live)
		return ENOTEMPTY;
	copy = strdup(newname);
	if (!copy || dir_reserve(&td->dir)) {
		free(copy);
		return ENOMEM;
	}
	if (old) {
		dir_del(td, ti);
		node_put(old);
	}
	/* Find it again: the delete may have squeezed the directory. */
	nlink = n->st.st_nlink;
	dir_del(fd, dir_find(&fd->dir, name));
	dir_insert(td, copy, n);
	n->st.st_nlink = nlink;
	return 0;
}

static void m_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned int flags)
{
	pthread_mutex_lock(&lock);
	fuse_reply_err(req, do_rename(parent, name, newparent, newname, flags));
	pthread_mutex_unlock(&lock);
}

/* Files ------------------------------------------------------------------ */

/* The part of open and create they share, on regular file @n. */
static void opened(struct node *n, struct fuse_file_info *fi)
{
	/* libfuse takes atomic O_TRUNC by default: the open truncates. */
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY && n->st.st_size) {
		file_truncate(n, 0);
		stamp(&n->st.st_mtim);
		n->st.st_ctim = n->st.st_mtim;
	}
	fi->direct_io = direct_io;
	/* The data changes only through this mount, so what the kernel
	 * cached stays true across opens. */
	fi->keep_cache = !direct_io;
	n->opens++;
}

static void m_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (!n || S_ISDIR(n->st.st_mode)) {
		fuse_reply_err(req, n ? EISDIR : ENOENT);
	} else {
		opened(n, fi);
		if (fuse_reply_open(req, fi))
			n->opens--;
	}
	pthread_mutex_unlock(&lock);
}

static void m_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi)
{
	struct node *dn, *n;
	struct fuse_entry_param e;
	int err = 0;

	pthread_mutex_lock(&lock);
	dn = get(parent);
	n = dn && S_ISDIR(dn->st.st_mode) ? dir_lookup(dn, name) : NULL;
	if (n && (fi->flags & O_EXCL))
		err = EEXIST;
	else if (n && S_ISDIR(n->st.st_mode))
		err = EISDIR;
	else if (!n)
		n = make(req, parent, name, S_IFREG | (mode & 07777), 0, &err);
	if (n && !err) {
		opened(n, fi);
		fill_entry(&e, n);
		if (fuse_reply_create(req, &e, fi) == 0)
			n->lookups++;
		else
			n->opens--;
	} else {
		fuse_reply_err(req, err);
	}
	pthread_mutex_unlock(&lock);
}

static void m_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (n && n->opens) {
		n->opens--;
		node_put(n);
	}
	pthread_mutex_unlock(&lock);
	fuse_reply_err(req, 0);
}

static void m_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct iovec iov[64], *v = iov;
	struct node *n;
	uint64_t pos = (uint64_t)off, end;
	int count = 0;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (!n || !S_ISREG(n->st.st_mode)) {
		fuse_reply_err(req, n ? EISDIR : ENOENT);
		goto out;
	}
	end = off < 0 || pos >= (uint64_t)n->st.st_size ? pos : pos + size;
	if (end > (uint64_t)n->st.st_size)
		end = (uint64_t)n->st.st_size;
	if ((end - pos + CHUNK - 1) / CHUNK + 1 > sizeof(iov) / sizeof(iov[0]) &&
	    !(v = malloc(((end - pos) / CHUNK + 2) * sizeof(*v)))) {
		fuse_reply_err(req, ENOMEM);
		goto out;
	}
	/* Straight from the chunks (and the zero chunk for holes): libfuse
	 * writes the pieces to /dev/fuse with one writev. */
	while (pos < end) {
		size_t idx = pos / CHUNK, in = pos % CHUNK, len = CHUNK - in;
		const char *c = idx < n->nchunks && n->chunks[idx] ? n->chunks[idx] : zeros;

		if (len > end - pos)
			len = end - pos;
		v[count].iov_base = (char *)c + in;
		v[count++].iov_len = len;
		pos += len;
	}
	stamp(&n->st.st_atim);
	if (count)
		fuse_reply_iov(req, v, count);
	else
		fuse_reply_buf(req, NULL, 0);
	if (v != iov)
		free(v);
out:
	pthread_mutex_unlock(&lock);
}

static void m_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct node *n;
	int err;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (!n || !S_ISREG(n->st.st_mode)) {
		fuse_reply_err(req, n ? EISDIR : ENOENT);
	} else if ((err = file_write(n, buf, size, off)) != 0) {
		fuse_reply_err(req, -err);
	} else {
		stamp(&n->st.st_mtim);
		n->st.st_ctim = n->st.st_mtim;
		fuse_reply_write(req, size);
	}
	pthread_mutex_unlock(&lock);
}

/* Memory is all the storage there is: nothing to flush or sync. */
static void m_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void m_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

/* chattr/lsattr's ioctls (<linux/fs.h> clashes with <sys/mount.h>'s
 * users, so the numbers are spelled out): the flags are kept and given
 * back, and mean nothing else here.  Linux asks FS_IOC_FSGETXATTR before
 * every SETFLAGS (vfs_fileattr_set), so that is answered too, from the
 * same flags.  Any other command is ENOTTY. */
#define MEMFS_IOC_GETFLAGS   _IOR('f', 1, long)
#define MEMFS_IOC_SETFLAGS   _IOW('f', 2, long)
#define MEMFS_IOC_FSGETXATTR _IOR('X', 31, struct memfs_fsxattr)

struct memfs_fsxattr { /* <linux/fs.h>'s struct fsxattr */
	uint32_t xflags, extsize, nextents, projid, cowextsize;
	unsigned char pad[8];
};

/* FS_*_FL inode flags to FS_XFLAG_*: sync, immutable, append, nodump,
 * noatime. */
static uint32_t xflags_of(unsigned fl)
{
	static const unsigned map[][2] = {
		{0x08, 0x20}, {0x10, 0x08}, {0x20, 0x10}, {0x40, 0x80}, {0x80, 0x40}};
	uint32_t x = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (fl & map[i][0])
			x |= map[i][1];
	return x;
}

static void m_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned cmd, void *arg,
		    struct fuse_file_info *fi, unsigned flags, const void *in, size_t in_size,
		    size_t out_size)
{
	unsigned cmd32 = cmd, val = 0;
	struct node *n;

	if (cmd32 == MEMFS_IOC_FSGETXATTR) {
		struct memfs_fsxattr fx = {0};

		if (out_size < sizeof(fx)) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		pthread_mutex_lock(&lock);
		n = get(ino);
		if (n)
			fx.xflags = xflags_of(n->inode_flags);
		pthread_mutex_unlock(&lock);
		if (n)
			fuse_reply_ioctl(req, 0, &fx, sizeof(fx));
		else
			fuse_reply_err(req, ENOENT);
		return;
	}
	if (cmd32 != MEMFS_IOC_GETFLAGS && cmd32 != MEMFS_IOC_SETFLAGS) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (cmd32 == MEMFS_IOC_GETFLAGS ? out_size < sizeof(val) : in_size < sizeof(val)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_mutex_lock(&lock);
	n = get(ino);
	if (n && cmd32 == MEMFS_IOC_SETFLAGS) {
		memcpy(&val, in, sizeof(val));
		n->inode_flags = val;
		stamp(&n->st.st_ctim);
	} else if (n) {
		val = n->inode_flags;
	}
	pthread_mutex_unlock(&lock);
	if (!n)
		fuse_reply_err(req, ENOENT);
	else if (cmd32 == MEMFS_IOC_SETFLAGS)
		fuse_reply_ioctl(req, 0, NULL, 0);
	else
		fuse_reply_ioctl(req, 0, &val, sizeof(val));
}

/* A file in memory is always ready, as a regular file is; nothing will
 * change that, so the handle is not kept. */
static void m_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		   struct fuse_pollhandle *ph)
{
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
}

static void m_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			struct fuse_file_info *fi)
{
	struct node *n;
	uint64_t end = (uint64_t)off + (uint64_t)len;
	int err = 0;

	if (off < 0 || len <= 0 || end < (uint64_t)off || end > MAX_FILE) {
		fuse_reply_err(req, off < 0 || len <= 0 ? EINVAL : EFBIG);
		return;
	}
	pthread_mutex_lock(&lock);
	n = get(ino);
	if (!n || !S_ISREG(n->st.st_mode)) {
		err = n ? ENODEV : ENOENT;
	} else if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
		file_zero(n, (uint64_t)off, end);
	} else if (mode == 0 || mode == FALLOC_FL_KEEP_SIZE) {
		/* Make the chunks, keeping what they hold. */
		off_t size = n->st.st_size;

		for (uint64_t pos = (uint64_t)off; pos < end && !err; pos = (pos / CHUNK + 1) * CHUNK)
			if (!chunk_for_write(n, pos / CHUNK, 0, 0))
				err = ENOMEM;
		if (!err && mode == 0 && end > (uint64_t)size)
			n->st.st_size = (off_t)end;
	} else {
		err = EOPNOTSUPP;
	}
	if (n && !err)
		stamp(&n->st.st_ctim);
	fuse_reply_err(req, err);
	pthread_mutex_unlock(&lock);
}

/* SEEK_DATA and SEEK_HOLE, at chunk granularity (a chunk is data). */
static void m_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
	struct node *n;
	uint64_t pos, size;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (!n || (whence != SEEK_DATA && whence != SEEK_HOLE)) {
		fuse_reply_err(req, n ? EINVAL : ENOENT);
		goto out;
	}
	size = (uint64_t)n->st.st_size;
	if (off < 0 || (uint64_t)off >= size) {
		fuse_reply_err(req, ENXIO);
		goto out;
	}
	for (pos = (uint64_t)off; pos < size; pos = (pos / CHUNK + 1) * CHUNK) {
		size_t idx = pos / CHUNK;
		int data = idx < n->nchunks && n->chunks[idx];

		if (data == (whence == SEEK_DATA))
			break;
	}
	if (whence == SEEK_DATA && pos >= size)
		fuse_reply_err(req, ENXIO);
	else
		fuse_reply_lseek(req, (off_t)(pos < size ? pos : size));
out:
	pthread_mutex_unlock(&lock);
}

/* Directories, read ------------------------------------------------------ */

static void m_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (!n || !S_ISDIR(n->st.st_mode)) {
		fuse_reply_err(req, n ? ENOTDIR : ENOENT);
	} else {
		n->dir.handles++;
		n->opens++;
		if (fuse_reply_open(req, fi)) {
			n->dir.handles--;
			n->opens--;
		}
	}
	pthread_mutex_unlock(&lock);
}

static void m_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (n && n->dir.handles) {
		n->dir.handles--;
		n->opens--;
		dir_compact(&n->dir);
		node_put(n);
	}
	pthread_mutex_unlock(&lock);
	fuse_reply_err(req, 0);
}

static void m_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

/*
 * Fill @buf (@size bytes) with the names of @dn from offset @off:
 * 0 is ".", 1 "..", 2 + i name i.  With @plus, each entry carries its
 * attributes, and the kernel holds one more lookup of every node in it
 * ("." and ".." carry none, node 0, and are not counted).
 */
static size_t fill_dir(fuse_req_t req, struct node *dn, char *buf, size_t size, off_t off, int plus)
{
	size_t used = 0;

	for (; off >= 0 && (size_t)off < dn->dir.nents + 2; off++) {
		const char *name = off == 0 ? "." : off == 1 ? ".." : dn->dir.ents[off - 2].name;
		struct node *n = off == 0 ? dn : off == 1 ? dn->parent : dn->dir.ents[off - 2].node;
		struct fuse_entry_param e;
		size_t len;

		if (!n)
			continue;	/* removed */
		fill_entry(&e, n);
		if (off < 2)
			e.ino = 0;
		if (plus)
			len = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, off + 1);
		else
			len = fuse_add_direntry(req, buf + used, size - used, name, &e.attr, off + 1);
		if (len > size - used)
			break;
		used += len;
		if (plus && off >= 2)
			n->lookups++;
	}
	return used;
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
	struct node *dn;
	char *buf;

	if (size > 1 << 20)
		size = 1 << 20;
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&lock);
	dn = get(ino);
	if (!dn || !S_ISDIR(dn->st.st_mode))
		fuse_reply_err(req, dn ? ENOTDIR : ENOENT);
	else
		fuse_reply_buf(req, buf, fill_dir(req, dn, buf, size, off, plus));
	pthread_mutex_unlock(&lock);
	free(buf);
}

static void m_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, 0);
}

static void m_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, 1);
}

static void m_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs s = { .f_bsize = 4096, .f_frsize = 4096, .f_namemax = NAME_MAX };
	uint64_t total = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE) / 4096;
	uint64_t used;

	pthread_mutex_lock(&lock);
	used = chunks_live * (CHUNK / 4096);
	s.f_files = nodes_live + total / 16;
	s.f_ffree = s.f_favail = total / 16;
	pthread_mutex_unlock(&lock);
	s.f_blocks = total > used ? total : used;
	s.f_bfree = s.f_bavail = s.f_blocks - used;
	fuse_reply_statfs(req, &s);
}

/* Extended attributes ---------------------------------------------------- */

static struct xattr **xattr_slot(struct node *n, const char *name)
{
	struct xattr **p = &n->xattrs;

	while (*p && strcmp((*p)->name, name))
		p = &(*p)->next;
	return p;
}

static int xattr_name_ok(const char *name)
{
	if (strlen(name) > 255 || !*name)
		return ERANGE;
	if (strncmp(name, "user.", 5) && strncmp(name, "trusted.", 8) &&
	    strncmp(name, "security.", 9))
		return EOPNOTSUPP;
	return 0;
}

static int do_setxattr(struct node *n, const char *name, const char *value, size_t size, int flags)
{
	struct xattr **p = xattr_slot(n, name), *x = *p;
	char *v;

	if (x && (flags & XATTR_CREATE))
		return EEXIST;
	if (!x && (flags & XATTR_REPLACE))
		return ENODATA;
	v = malloc(size ? size : 1);
	if (!v)
		return ENOMEM;
	memcpy(v, value, size);
	if (!x) {
		x = calloc(1, sizeof(*x));
		if (!x || !(x->name = strdup(name))) {
			free(x);
			free(v);
			return ENOMEM;
		}
		*p = x;
	}
	free(x->value);
	x->value = v;
	x->size = size;
	stamp(&n->st.st_ctim);
	return 0;
}

static void m_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		       size_t size, int flags)
{
	struct node *n;
	int err = xattr_name_ok(name);

	if (!err && size > MAX_XATTR_VALUE)
		err = E2BIG;
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	pthread_mutex_lock(&lock);
	n = get(ino);
	fuse_reply_err(req, n ? do_setxattr(n, name, value, size, flags) : ENOENT);
	pthread_mutex_unlock(&lock);
}

/* Answer a get or list of @len bytes at @data for a buffer of @size. */
static void reply_xattr_data(fuse_req_t req, const char *data, size_t len, size_t size)
{
	if (!size)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, data, len);
}

static void m_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct node *n;
	struct xattr *x;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (!n)
		fuse_reply_err(req, ENOENT);
	else if (!(x = *xattr_slot(n, name)))
		fuse_reply_err(req, ENODATA);
	else
		reply_xattr_data(req, x->value, x->size, size);
	pthread_mutex_unlock(&lock);
}

static void m_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct node *n;
	char *list = NULL;
	size_t len = 0;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (!n) {
		fuse_reply_err(req, ENOENT);
		goto out;
	}
	for (struct xattr *x = n->xattrs; x; x = x->next)
		len += strlen(x->name) + 1;
	list = malloc(len ? len : 1);
	if (!list) {
		fuse_reply_err(req, ENOMEM);
		goto out;
	}
	len = 0;
	for (struct xattr *x = n->xattrs; x; x = x->next) {
		strcpy(list + len, x->name);
		len += strlen(x->name) + 1;
	}
	reply_xattr_data(req, list, len, size);
out:
	pthread_mutex_unlock(&lock);
	free(list);
}

static void m_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct node *n;
	struct xattr **p, *x;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (!n) {
		fuse_reply_err(req, ENOENT);
	} else if (!(x = *(p = xattr_slot(n, name)))) {
		fuse_reply_err(req, ENODATA);
	} else {
		*p = x->next;
		free(x->name);
		free(x->value);
		free(x);
		stamp(&n->st.st_ctim);
		fuse_reply_err(req, 0);
	}
	pthread_mutex_unlock(&lock);
}

static const struct fuse_lowlevel_ops ops = {
	.init = m_init,
	.destroy = m_destroy,
	.lookup = m_lookup,
	.forget = m_forget,
	.forget_multi = m_forget_multi,
	.getattr = m_getattr,
	.setattr = m_setattr,
	.readlink = m_readlink,
	.mknod = m_mknod,
	.mkdir = m_mkdir,
	.symlink = m_symlink,
	.link = m_link,
	.unlink = m_unlink,
	.rmdir = m_rmdir,
	.rename = m_rename,
	.create = m_create,
	.open = m_open,
	.read = m_read,
	.write = m_write,
	.flush = m_flush,
	.release = m_release,
	.fsync = m_fsync,
	.fallocate = m_fallocate,
	.lseek = m_lseek,
	.ioctl = m_ioctl,
	.poll = m_poll,
	.opendir = m_opendir,
	.readdir = m_readdir,
	.readdirplus = m_readdirplus,
	.releasedir = m_releasedir,
	.fsyncdir = m_fsyncdir,
	.statfs = m_statfs,
	.setxattr = m_setxattr,
	.getxattr = m_getxattr,
	.listxattr = m_listxattr,
	.removexattr = m_removexattr,
};

/*
 * Take memfs's own flags off the front of argv, leaving argv[0] and
 * libfuse's arguments.  Returns the new argc, or -1 on a bad --cache
 * value.
 */
static int own_flags(int argc, char *argv[])
{
	int i = 1, kept = 1;

	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--direct-io")) {
			direct_io = 1;
		} else if (!strcmp(argv[i], "--say-destroy")) {
			say_destroy = 1;
		} else if (!strcmp(argv[i], "--cache") && i + 1 < argc) {
			char *end;

			cache_seconds = strtod(argv[++i], &end);
			if (*end || !(cache_seconds >= 0 && cache_seconds <= 86400)) {
				fprintf(stderr, "memfs: --cache wants seconds, 0 to 86400\n");
				return -1;
			}
		} else {
			break;
		}
	}
	/* Everything from the first foreign argument on is libfuse's. */
	for (; i < argc; i++)
		argv[kept++] = argv[i];
	argv[kept] = NULL;
	return kept;
}

static int serve(struct fuse_session *se, const struct fuse_cmdline_opts *opts)
{
	struct fuse_loop_config *cfg;
	int status;

	if (opts->singlethread)
		return fuse_session_loop(se);
	cfg = loop_config(opts);
	if (!cfg)
		return -ENOMEM;
	status = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return status;
}

int main(int argc, char *argv[])
{
	struct fuse_cmdline_opts opts;
	struct fuse_session *se;
	struct fuse_args args;
	int status = 1;

	argc = own_flags(argc, argv);
	if (argc < 0)
		return 2;
	args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	if (fuse_parse_cmdline(&args, &opts))
		return 2;
	if (opts.show_help || opts.show_version) {
		if (opts.show_help) {
			printf("usage: %s [--direct-io] [--say-destroy] [--cache SECONDS] "
			       "MOUNTPOINT [options]\n", argv[0]);
			fuse_cmdline_help();
			fuse_lowlevel_help();
		} else {
			fuse_lowlevel_version();
		}
		status = 0;
		goto out;
	}
	if (!opts.mountpoint) {
		fprintf(stderr, "usage: %s [--direct-io] [--say-destroy] [--cache SECONDS] "
			"MOUNTPOINT [options]\n", argv[0]);
		status = 2;
		goto out;
	}
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se) == 0) {
		if (fuse_session_mount(se, opts.mountpoint) == 0) {
			fuse_daemonize(opts.foreground);
			status = serve(se, &opts) ? 1 : 0;
			fuse_session_unmount(se);
		}
		fuse_remove_signal_handlers(se);
	}
	fuse_session_destroy(se);
out:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return status;
}

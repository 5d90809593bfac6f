/*
 * fuse/server/memfs.c - an in-memory file system served with libfuse's
 * high-level API: the guest-side FUSE server of ksentry's demo and tests,
 * and the server `ksentry bench fuse` runs in the sandbox and natively.
 *
 * Built statically against Debian's libfuse3.a; run it as any libfuse
 * program, its own flags first, in any order:
 *   memfs [--direct-io] [--say-destroy] [--cache SECONDS] MOUNTPOINT [-f] [-s] [-o ...]
 * --direct-io opens every file with direct I/O, so that the kernel's
 * page cache never answers a read (the benchmark wants round trips).
 * --say-destroy prints "memfs: destroy" on stderr when FUSE_DESTROY
 * comes (the tests look for it).
 * --cache SECONDS gives entries and attributes that timeout instead of 0,
 * so that a kernel may answer a repeated stat from its caches (the
 * benchmark's stat_cached); without it every lookup is a round trip.
 *
 * Nodes live in one flat table (path -> node); directories list their
 * children by prefix.  Plain and small on purpose: the subject is the
 * path through FUSE, not the server.
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fuse3/fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct node {
	char *path;	       /* "/a/b" */
	mode_t mode;
	char *data;	       /* regular files */
	size_t size, cap;
	char *target;	       /* symlinks */
	struct timespec mtime;
	nlink_t nlink;
};

static struct node **nodes;
static int direct_io, say_destroy;
static double cache_seconds;	/* entry and attr timeouts; 0: none */
static size_t nnodes;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct node *find(const char *path)
{
	for (size_t i = 0; i < nnodes; i++)
		if (!strcmp(nodes[i]->path, path))
			return nodes[i];
	return NULL;
}

/* The parent of @path exists and is a directory? */
static int parent_ok(const char *path)
{
	char *p = strdup(path), *slash;
	struct node *n;
	int ok;

	if (!p)
		return -ENOMEM;
	slash = strrchr(p, '/');
	if (slash == p)
		slash[1] = '\0';
	else
		*slash = '\0';
	n = find(p);
	ok = !n ? -ENOENT : S_ISDIR(n->mode) ? 0 : -ENOTDIR;
	free(p);
	return ok;
}

static struct node *add(const char *path, mode_t mode)
{
	struct node *n = calloc(1, sizeof(*n)), **v;

	if (!n || !(n->path = strdup(path)) || !(v = realloc(nodes, (nnodes + 1) * sizeof(*v)))) {
		if (n)
			free(n->path);
		free(n);
		return NULL;
	}
	nodes = v;
	n->mode = mode;
	n->nlink = S_ISDIR(mode) ? 2 : 1;
	clock_gettime(CLOCK_REALTIME, &n->mtime);
	nodes[nnodes++] = n;
	return n;
}

static void drop(struct node *n)
{
	for (size_t i = 0; i < nnodes; i++) {
		if (nodes[i] == n) {
			nodes[i] = nodes[--nnodes];
			break;
		}
	}
	free(n->path);
	free(n->data);
	free(n->target);
	free(n);
}

/* Is @child directly inside directory @dir? */
static const char *child_name(const char *dir, const char *child)
{
	size_t len = strlen(dir);
	const char *rest;

	if (!strcmp(dir, "/"))
		len = 0;
	if (strncmp(child, dir, len) || child[len] != '/' || !child[len + 1])
		return NULL;
	rest = child + len + 1;
	return strchr(rest, '/') ? NULL : rest;
}

static int m_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct node *n;
	int err = 0;

	pthread_mutex_lock(&lock);
	n = find(path);
	if (!n) {
		err = -ENOENT;
	} else {
		memset(st, 0, sizeof(*st));
		st->st_mode = n->mode;
		st->st_nlink = n->nlink;
		st->st_size = (off_t)(n->target ? strlen(n->target) : n->size);
		st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
		st->st_mtim = st->st_ctim = st->st_atim = n->mtime;
	}
	pthread_mutex_unlock(&lock);
	return err;
}

static int m_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	pthread_mutex_lock(&lock);
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	for (size_t i = 0; i < nnodes; i++) {
		const char *name = child_name(path, nodes[i]->path);

		if (name)
			fill(buf, name, NULL, 0, 0);
	}
	pthread_mutex_unlock(&lock);
	return 0;
}

static int make(const char *path, mode_t mode)
{
	int err;

	pthread_mutex_lock(&lock);
	err = find(path) ? -EEXIST : parent_ok(path);
	if (!err && !add(path, mode))
		err = -ENOMEM;
	pthread_mutex_unlock(&lock);
	return err;
}

static int m_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	fi->direct_io = direct_io;
	return make(path, S_IFREG | (mode & 07777));
}

static int m_mkdir(const char *path, mode_t mode)
{
	return make(path, S_IFDIR | (mode & 07777));
}

static int m_symlink(const char *target, const char *path)
{
	int err = make(path, S_IFLNK | 0777);
	struct node *n;

	if (err)
		return err;
	pthread_mutex_lock(&lock);
	n = find(path);
	n->target = strdup(target);
	err = n->target ? 0 : -ENOMEM;
	pthread_mutex_unlock(&lock);
	return err;
}

static int m_readlink(const char *path, char *buf, size_t size)
{
	struct node *n;
	int err = 0;

	pthread_mutex_lock(&lock);
	n = find(path);
	if (!n || !n->target) {
		err = n ? -EINVAL : -ENOENT;
	} else {
		strncpy(buf, n->target, size - 1);
		buf[size - 1] = '\0';
	}
	pthread_mutex_unlock(&lock);
	return err;
}

static int m_unlink(const char *path)
{
	struct node *n;
	int err = 0;

	pthread_mutex_lock(&lock);
	n = find(path);
	if (!n)
		err = -ENOENT;
	else if (S_ISDIR(n->mode))
		err = -EISDIR;
	else
		drop(n);
	pthread_mutex_unlock(&lock);
	return err;
}

static int m_rmdir(const char *path)
{
	struct node *n;
	int err = 0;

	pthread_mutex_lock(&lock);
	n = find(path);
	if (!n) {
		err = -ENOENT;
	} else if (!S_ISDIR(n->mode)) {
		err = -ENOTDIR;
	} else {
		for (size_t i = 0; i < nnodes && !err; i++)
			if (child_name(path, nodes[i]->path))
				err = -ENOTEMPTY;
		if (!err)
			drop(n);
	}
	pthread_mutex_unlock(&lock);
	return err;
}

static int m_rename(const char *from, const char *to, unsigned int flags)
{
	size_t flen = strlen(from);
	struct node *n, *old;
	int err = 0;

	if (flags)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	n = find(from);
	old = find(to);
	if (!n)
		err = -ENOENT;
	else if (old && S_ISDIR(old->mode) != S_ISDIR(n->mode))
		err = S_ISDIR(old->mode) ? -EISDIR : -ENOTDIR;
	if (!err && old)
		drop(old);
	/* Move the node and, for a directory, everything below it. */
	for (size_t i = 0; i < nnodes && !err; i++) {
		char *p = nodes[i]->path, *np;

		if (strncmp(p, from, flen) || (p[flen] && p[flen] != '/'))
			continue;
		np = malloc(strlen(to) + strlen(p + flen) + 1);
		if (!np) {
			err = -ENOMEM;
			break;
		}
		strcpy(np, to);
		strcat(np, p + flen);
		free(p);
		nodes[i]->path = np;
	}
	pthread_mutex_unlock(&lock);
	return err;
}

/* Make room for @size bytes in @n. */
static int reserve(struct node *n, size_t size)
{
	char *d;
	size_t cap = n->cap ? n->cap : 4096;

	if (size <= n->cap)
		return 0;
	while (cap < size)
		cap *= 2;
	d = realloc(n->data, cap);
	if (!d)
		return -ENOMEM;
	memset(d + n->cap, 0, cap - n->cap);
	n->data = d;
	n->cap = cap;
	return 0;
}

static int m_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct node *n;
	int err = 0;

	pthread_mutex_lock(&lock);
	n = find(path);
	if (!n)
		err = -ENOENT;
	else if (!S_ISREG(n->mode))
		err = -EINVAL;
	else if ((err = reserve(n, (size_t)size)) == 0) {
		if ((size_t)size < n->size)
			memset(n->data + size, 0, n->size - (size_t)size);
		n->size = (size_t)size;
		clock_gettime(CLOCK_REALTIME, &n->mtime);
	}
	pthread_mutex_unlock(&lock);
	return err;
}

static int m_open(const char *path, struct fuse_file_info *fi)
{
	struct node *n;
	int err;

	pthread_mutex_lock(&lock);
	n = find(path);
	err = !n ? -ENOENT : S_ISDIR(n->mode) ? -EISDIR : 0;
	/* libfuse takes atomic O_TRUNC by default: the open truncates. */
	if (!err && (fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY) {
		memset(n->data, 0, n->size);
		n->size = 0;
		clock_gettime(CLOCK_REALTIME, &n->mtime);
	}
	pthread_mutex_unlock(&lock);
	fi->direct_io = direct_io;
	return err;
}

static int m_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct node *n;
	int r;

	pthread_mutex_lock(&lock);
	n = find(path);
	if (!n) {
		r = -ENOENT;
	} else if ((size_t)off >= n->size) {
		r = 0;
	} else {
		if (size > n->size - (size_t)off)
			size = n->size - (size_t)off;
		memcpy(buf, n->data + off, size);
		r = (int)size;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

static int m_write(const char *path, const char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct node *n;
	int r;

	pthread_mutex_lock(&lock);
	n = find(path);
	if (!n) {
		r = -ENOENT;
	} else if ((r = reserve(n, (size_t)off + size)) == 0) {
		memcpy(n->data + off, buf, size);
		if ((size_t)off + size > n->size)
			n->size = (size_t)off + size;
		clock_gettime(CLOCK_REALTIME, &n->mtime);
		r = (int)size;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

static int m_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct node *n;
	int err = 0;

	pthread_mutex_lock(&lock);
	n = find(path);
	if (!n)
		err = -ENOENT;
	else if (tv[1].tv_nsec != UTIME_OMIT)
		n->mtime = tv[1];
	pthread_mutex_unlock(&lock);
	return err;
}

static int m_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct node *n;
	int err = 0;

	pthread_mutex_lock(&lock);
	n = find(path);
	if (!n)
		err = -ENOENT;
	else
		n->mode = (n->mode & S_IFMT) | (mode & 07777);
	pthread_mutex_unlock(&lock);
	return err;
}

static void *m_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* Negative entries are never cached: a name made after a failed
	 * lookup must be seen at once, with or without --cache. */
	cfg->entry_timeout = cache_seconds;
	cfg->attr_timeout = cache_seconds;
	cfg->negative_timeout = 0;
	return NULL;
}

/* FUSE_DESTROY: the kernel says the mount is gone. */
static void m_destroy(void *private_data)
{
	if (say_destroy)
		fprintf(stderr, "memfs: destroy\n");
}

static const struct fuse_operations ops = {
	.init = m_init,
	.destroy = m_destroy,
	.getattr = m_getattr,
	.readdir = m_readdir,
	.create = m_create,
	.mkdir = m_mkdir,
	.symlink = m_symlink,
	.readlink = m_readlink,
	.unlink = m_unlink,
	.rmdir = m_rmdir,
	.rename = m_rename,
	.truncate = m_truncate,
	.open = m_open,
	.read = m_read,
	.write = m_write,
	.utimens = m_utimens,
	.chmod = m_chmod,
};

/*
 * Take memfs's own flags off the front of argv, leaving argv[0] and
 * libfuse's arguments for fuse_main.  Returns the new argc, or -1 on a
 * bad --cache value.
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

int main(int argc, char *argv[])
{
	argc = own_flags(argc, argv);
	if (argc < 0)
		return 2;
	if (!add("/", S_IFDIR | 0755))
		return 1;
	return fuse_main(argc, argv, &ops, NULL);
}

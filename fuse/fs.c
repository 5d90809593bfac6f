/*
 * fuse/fs.c - the FUSE file system behind the VFS vtables.
 *
 * An inode is a FUSE node ID with the lookups it was handed: each inode
 * the VFS gets from LOOKUP, MKNOD, MKDIR, SYMLINK or LINK counts one
 * lookup, and evicting it sends FORGET for that count.  Names are cached
 * for their entry_valid timeout; after it the VFS asks revalidate, which
 * looks the name up again and keeps the entry if it still names the same
 * node (one more lookup to forget), as Linux's fuse_dentry_revalidate
 * does.  Attributes are cached until their attr_valid timeout.
 *
 * Every reply is checked before it is used: entry and attribute replies
 * have fixed sizes (fuse_request checks), the type bits of every
 * attribute must be a file type, node ID 0 is "no such entry", and each
 * directory entry must fit in the reply, carry a name without '/' or NUL
 * of at most 255 bytes, and move the offset on.  What fails is EIO.
 *
 * Data: READ replies are copied from the server's buffer straight into
 * the caller's (pinned) buffer, one copy, where the caller's memory is
 * anonymous; else through a bounce buffer.  WRITE data the same way round:
 * from the caller's pinned pages straight into the server's read buffer.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse/fuse_i.h"
#include "kernel/kernel.h"
#include "kernel/pollwake.h"
#include "kernel/vfs/lock.h"
#include "kernel/vfs/pagecache.h"
#include "kernel/vfs/vfs.h"
#include "kernel/vfs/vfs_impl.h"

#define FUSE_MAGIC	0x65735546
/* A READDIR(PLUS) reply asks for what the reader took last time (plus a
 * quarter), between DIR_BUF_MIN and DIR_BUF_MAX (~800 entries with
 * attributes); DIR_BUF at first.  A reader with a small buffer (musl's
 * readdir: 2 KiB) would otherwise have the server list, and the sentry
 * link, many entries it drops each call. */
#define DIR_BUF_MIN	4096
#define DIR_BUF		32768
#define DIR_BUF_MAX	131072
#define IO_CHUNK_MAX	(1024 * 1024) /* a READ or WRITE at most: 256 pages, as Linux allows */
#define PAGE_BYTES	4096
#define NEG_MAX		32 /* names a directory remembers as missing */

struct fuse_fs {
	struct vfs_fs base;
	struct fuse_conn *fc;
};

/* A name LOOKUP said is not there, with a timeout: ENOENT until then. */
struct fuse_negative {
	struct fuse_negative *next;
	struct timespec expiry;
	uint64_t epoch; /* fc->inval_epoch before the LOOKUP was sent */
	char name[];
};

struct fuse_inode {
	struct vfs_inode base;
	struct fuse_conn *fc;
	uint64_t nodeid;
	uint64_t nlookup;	    /* to forget at eviction */
	pthread_mutex_t lock;	    /* protects attr and expiry */
	struct fuse_attr attr;
	struct timespec expiry;	    /* of attr (CLOCK_MONOTONIC); 0: never asked */
	uint64_t attr_seq;	    /* the syscall whose request brought attr (task.syscall_seq) */
	/* CREATE opened it: the handle waits for the open of the same syscall. */
	bool created;
	uint64_t created_seq, created_fh;
	uint32_t created_open_flags;
	struct timespec entry_expiry; /* of the name that found it; lock */
	uint64_t entry_epoch;	    /* fc->inval_epoch when its name was last checked; lock */
	uint64_t inval_epoch;	    /* of the last INVAL_ENTRY/DELETE of a name in it; lock */
	struct fuse_inode *hnext;   /* in fc->nodes; fc->nodes_lock */
	struct pagecache pc;	    /* pages mmap'd (regular files) */
	struct fuse_negative *neg;  /* missing names (directories), newest first; lock */
	unsigned nneg;		    /* lock */
	/* READDIRPLUS_AUTO, as Linux's FUSE_I_INIT_RDPLUS and ADVISE_RDPLUS:
	 * a READDIRPLUS entry brought this node; a lookup in this directory
	 * (or a use of a name an entry brought) asks for READDIRPLUS next. */
	bool init_rdplus, advise_rdplus; /* lock */
};

struct fuse_file {
	uint64_t fh;
	uint32_t open_flags;
	bool is_dir;
	struct fuse_inode *fi;
	uint32_t dir_want;	     /* READDIR(PLUS) size for the next call; 0: DIR_BUF */

	/* POLL (ffile_poll), under fc->nodes_lock: the file's handle for
	 * NOTIFY_POLL (0: never polled), and whether the server's last "not
	 * ready" for @poll_asked still stands. */
	uint64_t kh;
	struct fuse_file *poll_next; /* in fc->polled */
	bool poll_waiting;
	short poll_asked;
	uint64_t poll_wakes;	     /* NOTIFY_POLLs for kh so far */
};

static const struct vfs_inode_ops fuse_inode_ops;
static const struct vfs_file_ops fuse_file_ops, fuse_dir_ops;
static const struct vfs_file_ops *file_ops_for(uint32_t open_flags);
static int fuse_fallocate(struct vfs_inode *inode, struct vfs_file *f, int mode, uint64_t off,
			  uint64_t len);
static int poll_wakeup(struct fuse_conn *fc, uint64_t kh);

static struct fuse_inode *fino(struct vfs_inode *i)
{
	return (struct fuse_inode *)i;
}

static struct fuse_conn *conn_of(struct vfs_inode *i)
{
	return fino(i)->fc;
}

/* --- the node table: live inodes by node ID, for notifications --- */

static struct fuse_inode **bucket(struct fuse_conn *fc, uint64_t nodeid)
{
	return &fc->nodes[(nodeid * UINT64_C(0x9e3779b97f4a7c15)) >> 54 & (FUSE_NODE_BUCKETS - 1)];
}

static void node_add(struct fuse_inode *fi)
{
	struct fuse_inode **b = bucket(fi->fc, fi->nodeid);

	pthread_mutex_lock(&fi->fc->nodes_lock);
	fi->hnext = *b;
	*b = fi;
	pthread_mutex_unlock(&fi->fc->nodes_lock);
}

static void node_remove(struct fuse_inode *fi)
{
	struct fuse_inode **pp;

	pthread_mutex_lock(&fi->fc->nodes_lock);
	for (pp = bucket(fi->fc, fi->nodeid); *pp; pp = &(*pp)->hnext) {
		if (*pp == fi) {
			*pp = fi->hnext;
			break;
		}
	}
	pthread_mutex_unlock(&fi->fc->nodes_lock);
}

/* The epoch a name checked now is good against. */
static uint64_t current_epoch(struct fuse_conn *fc)
{
	uint64_t e;

	pthread_mutex_lock(&fc->nodes_lock);
	e = fc->inval_epoch;
	pthread_mutex_unlock(&fc->nodes_lock);
	return e;
}

static bool valid_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR: case S_IFBLK: case S_IFIFO:
	case S_IFSOCK:
		return true;
	default:
		return false;
	}
}

/* Now plus a server's timeout (seconds and nanoseconds), on CLOCK_MONOTONIC. */
static struct timespec expiry_after(uint64_t valid, uint32_t nsec)
{
	struct timespec now, e;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (valid > (uint64_t)1 << 40)
		valid = (uint64_t)1 << 40; /* a server's "forever" must not overflow */
	e.tv_sec = now.tv_sec + (time_t)valid;
	e.tv_nsec = now.tv_nsec + (nsec < 1000000000 ? (long)nsec : 0);
	if (e.tv_nsec >= 1000000000) {
		e.tv_sec++;
		e.tv_nsec -= 1000000000;
	}
	return e;
}

static bool expired(struct timespec e)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > e.tv_sec || (now.tv_sec == e.tv_sec && now.tv_nsec >= e.tv_nsec);
}

/* The number of the syscall being served, or 0 outside one. */
static uint64_t current_syscall(void)
{
	struct task *t = task_current();

	return t ? t->syscall_seq : 0;
}

static void set_attr(struct fuse_inode *fi, const struct fuse_attr *a, uint64_t valid,
		     uint32_t nsec)
{
	struct timespec e = expiry_after(valid, nsec);
	uint64_t seq = current_syscall();

	pthread_mutex_lock(&fi->lock);
	fi->attr = *a;
	fi->expiry = e;
	fi->attr_seq = seq;
	pthread_mutex_unlock(&fi->lock);
}

/*
 * Are fi's attributes good to use now?  Until their attr_valid, and also,
 * whatever attr_valid says, within the syscall whose LOOKUP (or other
 * entry reply) just brought them: a stat that revalidated its name a
 * moment ago needs no second round trip for a GETATTR, which could only
 * race with the same changes.  Linux asks again; this halves a stat with
 * timeouts 0 (docs/perf.md).  fi->lock held.
 */
static bool attr_fresh(const struct fuse_inode *fi)
{
	uint64_t seq = current_syscall();

	return !expired(fi->expiry) || (seq && fi->attr_seq == seq);
}

/* A new inode for an entry the server handed us (one lookup counted). */
static int inode_from_entry(struct vfs_fs *fs, struct fuse_conn *fc,
			    const struct fuse_entry_out *e, struct vfs_inode **out)
{
	struct fuse_inode *fi;

	if (e->nodeid == 0)
		return -ENOENT;
	if (!valid_type(e->attr.mode) || e->nodeid == FUSE_ROOT_ID)
		goto err_forget;
	fi = calloc(1, sizeof(*fi));
	if (!fi)
		goto err_forget;
	vfs_inode_init(&fi->base, fs, &fuse_inode_ops, (mode_t)e->attr.mode);
	fi->base.ino = e->attr.ino;
	fi->fc = fc;
	fi->nodeid = e->nodeid;
	fi->nlookup = 1;
	pthread_mutex_init(&fi->lock, NULL);
	pagecache_init(&fi->pc, fc->k->mf);
	set_attr(fi, &e->attr, e->attr_valid, e->attr_valid_nsec);
	fi->entry_expiry = expiry_after(e->entry_valid, e->entry_valid_nsec);
	fi->entry_epoch = current_epoch(fc);
	fuse_conn_get(fc);
	node_add(fi);
	*out = &fi->base;
	return 0;

err_forget: {
	/* Refused (or no memory), but the server counted the lookup. */
	struct fuse_forget_in fo = {.nlookup = 1};

	(void)fuse_request_background(fc, FUSE_FORGET, e->nodeid,
				      &(struct fuse_arg){&fo, sizeof(fo)}, 1, true);
	return valid_type(e->attr.mode) ? -ENOMEM : -EIO;
}
}

/* --- negative entries --- */

/* Forget every missing name of @dir: a name in it was made or moved in.
 * Coarse, as inval_entry is: another LOOKUP, never a stale ENOENT. */
static void neg_clear(struct fuse_inode *dir)
{
	struct fuse_negative *n;

	pthread_mutex_lock(&dir->lock);
	n = dir->neg;
	dir->neg = NULL;
	dir->nneg = 0;
	pthread_mutex_unlock(&dir->lock);
	while (n) {
		struct fuse_negative *next = n->next;

		free(n);
		n = next;
	}
}

/* Is @name known missing from @dir?  Stale entries (timed out, or older
 * than an INVAL_ENTRY or DELETE in @dir) go on the way. */
static bool neg_hit(struct fuse_inode *dir, const char *name)
{
	struct fuse_negative **pp, *n;
	bool hit = false;

	pthread_mutex_lock(&dir->lock);
	for (pp = &dir->neg; (n = *pp) && !hit;) {
		if (expired(n->expiry) || n->epoch < dir->inval_epoch) {
			*pp = n->next;
			dir->nneg--;
			free(n);
			continue;
		}
		hit = !strcmp(n->name, name);
		pp = &n->next;
	}
	pthread_mutex_unlock(&dir->lock);
	return hit;
}

/* Remember @name as missing until the reply's entry timeout; the oldest
 * goes when the directory has NEG_MAX. */
static void neg_add(struct fuse_inode *dir, const char *name, const struct fuse_entry_out *e,
		    uint64_t epoch)
{
	size_t len = strlen(name) + 1;
	struct fuse_negative *n = malloc(sizeof(*n) + len), **pp;

	if (!n)
		return; /* not remembered: the next lookup asks */
	n->expiry = expiry_after(e->entry_valid, e->entry_valid_nsec);
	n->epoch = epoch;
	memcpy(n->name, name, len);
	pthread_mutex_lock(&dir->lock);
	n->next = dir->neg;
	dir->neg = n;
	if (++dir->nneg > NEG_MAX) {
		for (pp = &dir->neg; (*pp)->next; pp = &(*pp)->next)
			;
		free(*pp);
		*pp = NULL;
		dir->nneg--;
	}
	pthread_mutex_unlock(&dir->lock);
}

/* An op that answers with an entry: LOOKUP, MKNOD, MKDIR, SYMLINK, LINK. */
static int entry_request(struct vfs_inode *dir, uint32_t opcode, const struct fuse_arg *args,
			 int nargs, struct vfs_inode **out)
{
	struct fuse_entry_out e;
	int err;

	memset(&e, 0, sizeof(e));
	err = fuse_request(conn_of(dir), opcode, fino(dir)->nodeid, args, nargs, &e, sizeof(e),
			   true, NULL);
	if (err)
		return err;
	if (opcode != FUSE_LOOKUP && e.nodeid == 0)
		return -EIO; /* a new object must have a node */
	if (opcode != FUSE_LOOKUP)
		neg_clear(fino(dir));
	return inode_from_entry(dir->fs, conn_of(dir), &e, out);
}

static struct fuse_arg name_arg(const char *name)
{
	return (struct fuse_arg){name, strlen(name) + 1};
}

/* Set one of @fi's lock-protected flags. */
static void set_flag(struct fuse_inode *fi, bool *flag)
{
	pthread_mutex_lock(&fi->lock);
	*flag = true;
	pthread_mutex_unlock(&fi->lock);
}

/* LOOKUP, answered from the negative entries where it can be: a reply of
 * node ID 0 with an entry timeout is an absence to remember, as Linux's
 * negative dentries. */
static int fuse_lookup(struct vfs_inode *dir, const char *name, struct vfs_inode **out)
{
	struct fuse_conn *fc = conn_of(dir);
	struct fuse_arg a = name_arg(name);
	uint64_t epoch = current_epoch(fc);
	struct fuse_entry_out e;
	int err;

	if (neg_hit(fino(dir), name))
		return -ENOENT;
	memset(&e, 0, sizeof(e));
	err = fuse_request(fc, FUSE_LOOKUP, fino(dir)->nodeid, &a, 1, &e, sizeof(e), true, NULL);
	if (err)
		return err;
	if (e.nodeid == 0) {
		if (e.entry_valid || e.entry_valid_nsec)
			neg_add(fino(dir), name, &e, epoch);
		return -ENOENT;
	}
	err = inode_from_entry(dir->fs, fc, &e, out);
	if (!err)
		set_flag(fino(dir), &fino(dir)->advise_rdplus);
	return err;
}

static int fuse_revalidate(struct vfs_inode *dir, const char *name, struct vfs_inode *child)
{
	struct fuse_inode *fi = fino(child);
	struct fuse_arg a = name_arg(name);
	struct fuse_entry_out e;
	bool fresh, rdplus;

	uint64_t epoch = current_epoch(conn_of(dir)), dir_epoch;

	pthread_mutex_lock(&fino(dir)->lock);
	dir_epoch = fino(dir)->inval_epoch;
	pthread_mutex_unlock(&fino(dir)->lock);
	pthread_mutex_lock(&fi->lock);
	/* Stale after its timeout, or once the server invalidated a name in
	 * its directory (the epoch says which names were checked since). */
	fresh = !expired(fi->entry_expiry) && fi->entry_epoch >= dir_epoch;
	rdplus = fresh && fi->init_rdplus; /* a name READDIRPLUS brought is in use */
	if (rdplus)
		fi->init_rdplus = false;
	pthread_mutex_unlock(&fi->lock);
	if (rdplus)
		set_flag(fino(dir), &fino(dir)->advise_rdplus);
	if (fresh)
		return 1;
	memset(&e, 0, sizeof(e));
	if (fuse_request(conn_of(dir), FUSE_LOOKUP, fino(dir)->nodeid, &a, 1, &e, sizeof(e), true,
			 NULL) ||
	    e.nodeid == 0)
		return 0;
	if (e.nodeid != fi->nodeid || ((e.attr.mode ^ child->mode) & S_IFMT)) {
		/* Another node now: forget the lookup we just got. */
		struct fuse_forget_in fo = {.nlookup = 1};

		(void)fuse_request_background(conn_of(dir), FUSE_FORGET, e.nodeid,
					      &(struct fuse_arg){&fo, sizeof(fo)}, 1, true);
		return 0;
	}
	set_attr(fi, &e.attr, e.attr_valid, e.attr_valid_nsec);
	pthread_mutex_lock(&fi->lock);
	fi->nlookup++; /* the server counted this lookup too */
	fi->entry_expiry = expiry_after(e.entry_valid, e.entry_valid_nsec);
	fi->entry_epoch = epoch;
	pthread_mutex_unlock(&fi->lock);
	return 1;
}

static int fuse_mknod(struct vfs_inode *dir, const char *name, mode_t mode, dev_t dev,
		      struct vfs_inode **out)
{
	struct fuse_mknod_in in = {.mode = mode, .rdev = (uint32_t)dev};
	struct fuse_arg a[2] = {{&in, sizeof(in)}, name_arg(name)};

	return entry_request(dir, FUSE_MKNOD, a, 2, out);
}

static int fuse_create(struct vfs_inode *dir, const char *name, mode_t mode,
		       struct vfs_inode **out)
{
	return fuse_mknod(dir, name, (mode & 07777) | S_IFREG, 0, out);
}

static void put_inode(void *inode)
{
	vfs_inode_put(inode);
}

/* A FORGET that waits for a request on its node to be over. */
struct late_forget {
	struct fuse_conn *fc;
	uint64_t nodeid, nlookup;
};

static void send_late_forget(void *arg)
{
	struct late_forget *lf = arg;
	struct fuse_forget_in fo = {.nlookup = lf->nlookup};

	if (lf->nlookup)
		(void)fuse_request_background(lf->fc, FUSE_FORGET, lf->nodeid,
					      &(struct fuse_arg){&fo, sizeof(fo)}, 1, true);
	fuse_conn_put(lf->fc);
	free(lf);
}

/* Take the handle CREATE opened that no open took, if there is one. */
static bool take_created(struct fuse_inode *fi, struct fuse_release_in *in)
{
	bool had;

	pthread_mutex_lock(&fi->lock);
	*in = (struct fuse_release_in){.fh = fi->created_fh, .flags = fi->created_open_flags};
	had = fi->created;
	fi->created = false;
	pthread_mutex_unlock(&fi->lock);
	return had;
}

/* Give back such a handle of a live inode, which stays until the
 * RELEASE is over. */
static void release_created(struct fuse_inode *fi)
{
	struct fuse_release_in in;

	if (take_created(fi, &in))
		(void)fuse_request_background_then(fi->fc, FUSE_RELEASE, fi->nodeid,
						   &(struct fuse_arg){&in, sizeof(in)}, 1, put_inode,
						   vfs_inode_get(&fi->base));
}

/*
 * At eviction: give back such a handle, and send the inode's FORGET
 * (@nlookup) only once the RELEASE is over.  Returns false if there was
 * no handle, or no memory to wait with: then the FORGET is the caller's
 * (out of order, only when out of memory).
 */
static bool release_created_then_forget(struct fuse_inode *fi, uint64_t nlookup)
{
	struct fuse_release_in in;
	struct late_forget *lf;

	if (!take_created(fi, &in))
		return false;
	lf = malloc(sizeof(*lf));
	if (lf) {
		*lf = (struct late_forget){.fc = fi->fc, .nodeid = fi->nodeid, .nlookup = nlookup};
		fuse_conn_get(fi->fc);
	}
	(void)fuse_request_background_then(fi->fc, FUSE_RELEASE, fi->nodeid,
					   &(struct fuse_arg){&in, sizeof(in)}, 1,
					   lf ? send_late_forget : NULL, lf);
	return lf != NULL;
}

/*
 * open(O_CREAT) of a new file: one CREATE, which makes and opens it,
 * instead of MKNOD and OPEN; the handle waits on the inode for the open
 * of this same syscall (fuse_open).  ENOSYS: MKNOD and OPEN from now on.
 */
static int fuse_create_open(struct vfs_inode *dir, const char *name, mode_t mode, int flags,
			    struct vfs_inode **out)
{
	struct fuse_conn *fc = conn_of(dir);
	struct fuse_create_in in = {
		.flags = (uint32_t)(flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)),
		.mode = (uint32_t)(S_IFREG | (mode & 07777))};
	struct fuse_arg a[2] = {{&in, sizeof(in)}, name_arg(name)};
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} r;
	struct fuse_inode *fi;
	int err;

	if (fc->no_create || (fc->no_open && (fc->flags & FUSE_NO_OPEN_SUPPORT)))
		return fuse_create(dir, name, mode, out);
	neg_clear(fino(dir));
	memset(&r, 0, sizeof(r));
	err = fuse_request(fc, FUSE_CREATE, fino(dir)->nodeid, a, 2, &r, sizeof(r), true, NULL);
	if (err == -ENOSYS) {
		fc->no_create = true;
		return fuse_create(dir, name, mode, out);
	}
	if (err)
		return err;
	if (r.e.nodeid == 0 || !S_ISREG(r.e.attr.mode)) {
		if (r.e.nodeid) { /* the server counted a lookup and opened a handle */
			struct fuse_forget_in fo = {.nlookup = 1};

			(void)fuse_request_background(fc, FUSE_FORGET, r.e.nodeid,
						      &(struct fuse_arg){&fo, sizeof(fo)}, 1, true);
		}
		return -EIO;
	}
	err = inode_from_entry(dir->fs, fc, &r.e, out);
	if (err)
		return err;
	fi = fino(*out);
	pthread_mutex_lock(&fi->lock);
	fi->created = true;
	fi->created_seq = current_syscall();
	fi->created_fh = r.o.fh;
	fi->created_open_flags = r.o.open_flags;
	pthread_mutex_unlock(&fi->lock);
	return 0;
}

static int fuse_mkdir(struct vfs_inode *dir, const char *name, mode_t mode, struct vfs_inode **out)
{
	struct fuse_mkdir_in in = {.mode = mode & 07777};
	struct fuse_arg a[2] = {{&in, sizeof(in)}, name_arg(name)};

	return entry_request(dir, FUSE_MKDIR, a, 2, out);
}

static int fuse_symlink(struct vfs_inode *dir, const char *name, const char *target,
			struct vfs_inode **out)
{
	struct fuse_arg a[2] = {name_arg(name), name_arg(target)};

	return entry_request(dir, FUSE_SYMLINK, a, 2, out);
}

static int fuse_link(struct vfs_inode *dir, const char *name, struct vfs_inode *target)
{
	struct fuse_link_in in = {.oldnodeid = fino(target)->nodeid};
	struct fuse_arg a[2] = {{&in, sizeof(in)}, name_arg(name)};
	struct vfs_inode *made;
	int err;

	if (target->fs != dir->fs)
		return -EXDEV;
	err = entry_request(dir, FUSE_LINK, a, 2, &made);
	if (!err)
		vfs_inode_put(made); /* the VFS links @target's inode; this one forgets */
	return err;
}

static int fuse_remove(struct vfs_inode *dir, uint32_t opcode, const char *name)
{
	struct fuse_arg a = name_arg(name);

	return fuse_request(conn_of(dir), opcode, fino(dir)->nodeid, &a, 1, NULL, 0, true, NULL);
}

static int fuse_unlink(struct vfs_inode *dir, const char *name, struct vfs_inode *victim)
{
	int err = fuse_remove(dir, FUSE_UNLINK, name);

	if (!err && victim) { /* its link count changed: ask again */
		pthread_mutex_lock(&fino(victim)->lock);
		fino(victim)->expiry = (struct timespec){0, 0};
		pthread_mutex_unlock(&fino(victim)->lock);
	}
	return err;
}

static int fuse_rmdir(struct vfs_inode *dir, const char *name, struct vfs_inode *victim)
{
	return fuse_remove(dir, FUSE_RMDIR, name);
}

static int fuse_rename(struct vfs_inode *odir, const char *oname, struct vfs_inode *ndir,
		       const char *nname, unsigned flags)
{
	struct fuse_rename2_in in2 = {.newdir = fino(ndir)->nodeid, .flags = flags};
	struct fuse_rename_in in = {.newdir = fino(ndir)->nodeid};
	struct fuse_arg a[3] = {{flags ? (void *)&in2 : (void *)&in, flags ? sizeof(in2) : sizeof(in)},
				name_arg(oname), name_arg(nname)};

	if (odir->fs != ndir->fs)
		return -EXDEV;
	neg_clear(fino(ndir));
	if (flags & RENAME_EXCHANGE)
		neg_clear(fino(odir));
	return fuse_request(conn_of(odir), flags ? FUSE_RENAME2 : FUSE_RENAME, fino(odir)->nodeid,
			    a, 3, NULL, 0, true, NULL);
}

static int fuse_readlink(struct vfs_inode *inode, char *buf, size_t size)
{
	size_t len = 0;
	int err = fuse_request(conn_of(inode), FUSE_READLINK, fino(inode)->nodeid, NULL, 0, buf,
			       size, false, &len);

	if (err)
		return err;
	if (memchr(buf, 0, len))
		return -EIO; /* a target with a NUL in it */
	return (int)len;
}

static void attr_to_stat(const struct fuse_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_blksize = a->blksize ? a->blksize : 4096;
	st->st_atim = (struct timespec){(time_t)a->atime, a->atimensec % 1000000000};
	st->st_mtim = (struct timespec){(time_t)a->mtime, a->mtimensec % 1000000000};
	st->st_ctim = (struct timespec){(time_t)a->ctime, a->ctimensec % 1000000000};
}

/* Take a FUSE_GETATTR / FUSE_SETATTR reply into the cache. */
static int attr_reply(struct fuse_inode *fi, const struct fuse_attr_out *o)
{
	if (!valid_type(o->attr.mode) || ((o->attr.mode ^ fi->base.mode) & S_IFMT))
		return -EIO; /* an inode never changes type */
	set_attr(fi, &o->attr, o->attr_valid, o->attr_valid_nsec);
	return 0;
}

static int fuse_getattr(struct vfs_inode *inode, struct stat *st)
{
	struct fuse_inode *fi = fino(inode);
	struct fuse_getattr_in in = {0};
	struct fuse_attr_out o;
	bool fresh;
	int err;

	pthread_mutex_lock(&fi->lock);
	fresh = attr_fresh(fi);
	if (fresh)
		attr_to_stat(&fi->attr, st);
	pthread_mutex_unlock(&fi->lock);
	if (fresh)
		return 0;
	err = fuse_request(fi->fc, FUSE_GETATTR, fi->nodeid, &(struct fuse_arg){&in, sizeof(in)}, 1,
			   &o, sizeof(o), true, NULL);
	if (!err)
		err = attr_reply(fi, &o);
	if (!err)
		attr_to_stat(&o.attr, st);
	return err;
}

/* A timestamp's nanoseconds as the server keeps them (INIT's time_gran),
 * as Linux truncates to the superblock's s_time_gran. */
static uint32_t gran(const struct fuse_conn *fc, long nsec)
{
	return (uint32_t)(nsec - nsec % fc->time_gran);
}

static int fuse_setattr(struct vfs_inode *inode, const struct vfs_setattr *a)
{
	struct fuse_inode *fi = fino(inode);
	struct fuse_setattr_in in = {0};
	struct fuse_attr_out o;
	int err;

	if (a->valid & VFS_ATTR_MODE)
		in.valid |= FATTR_MODE, in.mode = a->mode & 07777;
	if (a->valid & VFS_ATTR_UID)
		in.valid |= FATTR_UID, in.uid = a->uid;
	if (a->valid & VFS_ATTR_GID)
		in.valid |= FATTR_GID, in.gid = a->gid;
	if (a->valid & VFS_ATTR_SIZE)
		in.valid |= FATTR_SIZE, in.size = a->size;
	if (a->valid & VFS_ATTR_ATIME)
		in.valid |= FATTR_ATIME, in.atime = (uint64_t)a->atime.tv_sec,
			in.atimensec = gran(fi->fc, a->atime.tv_nsec);
	if (a->valid & VFS_ATTR_MTIME)
		in.valid |= FATTR_MTIME, in.mtime = (uint64_t)a->mtime.tv_sec,
			in.mtimensec = gran(fi->fc, a->mtime.tv_nsec);
	err = fuse_request(fi->fc, FUSE_SETATTR, fi->nodeid, &(struct fuse_arg){&in, sizeof(in)}, 1,
			   &o, sizeof(o), true, NULL);
	if (!err && (a->valid & VFS_ATTR_SIZE))
		pagecache_truncate(&fi->pc, a->size);
	return err ? err : attr_reply(fi, &o);
}

static int fuse_open(struct vfs_inode *inode, struct vfs_file *file, int flags)
{
	struct fuse_inode *fi = fino(inode);
	struct fuse_conn *fc = fi->fc;
	bool dir = vfs_is_dir(inode);
	struct fuse_open_in in = {.flags = (uint32_t)(flags & ~(O_CREAT | O_EXCL | O_NOCTTY))};
	struct fuse_open_out o = {0};
	struct fuse_file *ff = calloc(1, sizeof(*ff));
	int err = 0;

	if (!ff)
		return -ENOMEM;
	if (!(fc->flags & FUSE_ATOMIC_O_TRUNC))
		in.flags &= ~(uint32_t)O_TRUNC; /* the VFS truncated already */
	pthread_mutex_lock(&fi->lock);
	if (fi->created && fi->created_seq == current_syscall() && current_syscall()) {
		/* The CREATE of this syscall opened it already. */
		fi->created = false;
		o = (struct fuse_open_out){.fh = fi->created_fh,
					   .open_flags = fi->created_open_flags};
		pthread_mutex_unlock(&fi->lock);
		goto opened;
	}
	pthread_mutex_unlock(&fi->lock);
	release_created(fi); /* one left by an open that failed */
	if (!(dir ? fc->no_opendir : fc->no_open)) {
		err = fuse_request(fc, dir ? FUSE_OPENDIR : FUSE_OPEN, fi->nodeid,
				   &(struct fuse_arg){&in, sizeof(in)}, 1, &o, sizeof(o), true, NULL);
		if (err == -ENOSYS && ((dir && (fc->flags & FUSE_NO_OPENDIR_SUPPORT)) ||
				       (!dir && (fc->flags & FUSE_NO_OPEN_SUPPORT)))) {
			/* The server says opens need not be asked: from now on. */
			if (dir)
				fc->no_opendir = true;
			else
				fc->no_open = true;
			err = 0;
			o = (struct fuse_open_out){0};
		}
	}
	if (err) {
		free(ff);
		return err;
	}
opened:
	ff->fh = o.fh;
	ff->open_flags = o.open_flags;
	ff->is_dir = dir;
	ff->fi = fi;
	vfs_inode_get(inode);
	file->ops = dir ? &fuse_dir_ops : file_ops_for(o.open_flags);
	file->priv = ff;
	/* Without KEEP_CACHE an open drops what the cache holds of the file
	 * (the clean pages no mapping pins), as Linux's: the server may have
	 * changed it. */
	if (!dir && !(o.open_flags & FOPEN_KEEP_CACHE))
		pagecache_invalidate(&fi->pc, 0, 0);
	return 0;
}

/* --- extended attributes --- */

/* The server said ENOSYS to an xattr op: not asked again (EOPNOTSUPP). */
static int xattr_err(struct fuse_conn *fc, int err)
{
	if (err == -ENOSYS) {
		fc->no_xattr = true;
		return -EOPNOTSUPP;
	}
	return err;
}

static int fuse_setxattr(struct vfs_inode *inode, const char *name, const void *value,
			 size_t size, int flags)
{
	struct fuse_conn *fc = conn_of(inode);
	struct fuse_setxattr_in in = {.size = (uint32_t)size, .flags = (uint32_t)flags};
	/* Before 7.33 the request has no setxattr_flags field. */
	struct fuse_arg a[3] = {{&in, FUSE_COMPAT_SETXATTR_IN_SIZE}, name_arg(name), {value, size}};

	if (fc->no_xattr)
		return -EOPNOTSUPP;
	return xattr_err(fc, fuse_request(fc, FUSE_SETXATTR, fino(inode)->nodeid, a, 3, NULL, 0,
					  true, NULL));
}

/* GETXATTR and LISTXATTR: with @size 0 the server says the size. */
static ssize_t xattr_get(struct vfs_inode *inode, uint32_t opcode, const char *name, void *buf,
			 size_t size)
{
	struct fuse_conn *fc = conn_of(inode);
	struct fuse_getxattr_in in = {.size = (uint32_t)size};
	struct fuse_arg a[2] = {{&in, sizeof(in)}, name ? name_arg(name) : (struct fuse_arg){0}};
	struct fuse_getxattr_out o = {0};
	size_t got = 0;
	int err;

	if (fc->no_xattr)
		return -EOPNOTSUPP;
	if (size == 0) {
		err = fuse_request(fc, opcode, fino(inode)->nodeid, a, name ? 2 : 1, &o, sizeof(o),
				   true, NULL);
		return err ? xattr_err(fc, err) : (o.size > 65536 ? -EIO : (ssize_t)o.size);
	}
	err = fuse_request(fc, opcode, fino(inode)->nodeid, a, name ? 2 : 1, buf, size, false,
			   &got);
	return err ? xattr_err(fc, err) : (ssize_t)got;
}

static ssize_t fuse_getxattr(struct vfs_inode *inode, const char *name, void *value, size_t size)
{
	return xattr_get(inode, FUSE_GETXATTR, name, value, size);
}

static ssize_t fuse_listxattr(struct vfs_inode *inode, char *list, size_t size)
{
	ssize_t n = xattr_get(inode, FUSE_LISTXATTR, NULL, list, size);

	/* A list of NUL-terminated names: the last byte must end one. */
	if (n > 0 && size && list[n - 1] != '\0')
		return -EIO;
	return n;
}

static int fuse_removexattr(struct vfs_inode *inode, const char *name)
{
	struct fuse_conn *fc = conn_of(inode);
	struct fuse_arg a = name_arg(name);

	if (fc->no_xattr)
		return -EOPNOTSUPP;
	return xattr_err(fc, fuse_request(fc, FUSE_REMOVEXATTR, fino(inode)->nodeid, &a, 1, NULL,
					  0, true, NULL));
}

static void fuse_evict(struct vfs_inode *inode)
{
	struct fuse_inode *fi = fino(inode);
	uint64_t nlookup = fi->nodeid == FUSE_ROOT_ID ? 0 : fi->nlookup;

	node_remove(fi);
	if (release_created_then_forget(fi, nlookup))
		nlookup = 0; /* it goes after the RELEASE */
	if (nlookup) {
		struct fuse_forget_in fo = {.nlookup = nlookup};

		(void)fuse_request_background(fi->fc, FUSE_FORGET, fi->nodeid,
					      &(struct fuse_arg){&fo, sizeof(fo)}, 1, true);
	}
	pagecache_destroy(&fi->pc);
	neg_clear(fi);
	pthread_mutex_destroy(&fi->lock);
	fuse_conn_put(fi->fc);
	free(fi);
}

/* --- notifications from the server --- */

/* Expire the attributes of every inode of @nodeid, and with @off >= 0
 * drop its clean, unmapped cached pages from @off (@len <= 0: to the end).
 * -ENOENT if none is live, as Linux answers. */
static int inval_inode(struct fuse_conn *fc, uint64_t nodeid, int64_t off, int64_t len)
{
	int err = -ENOENT;

	pthread_mutex_lock(&fc->nodes_lock);
	for (struct fuse_inode *fi = *bucket(fc, nodeid); fi; fi = fi->hnext) {
		if (fi->nodeid != nodeid)
			continue;
		pthread_mutex_lock(&fi->lock);
		fi->expiry = (struct timespec){0};
		fi->attr_seq = 0;
		pthread_mutex_unlock(&fi->lock);
		if (off >= 0)
			pagecache_invalidate(&fi->pc, (uint64_t)off, len > 0 ? (uint64_t)len : 0);
		err = 0;
	}
	pthread_mutex_unlock(&fc->nodes_lock);
	return err;
}

/*
 * A name in directory @parent changed behind our back (INVAL_ENTRY, or
 * DELETE): every cached name in it is checked again before its next use,
 * with a LOOKUP that keeps the entry if it still names the same node.
 * Coarser than Linux, which drops just that name: more LOOKUPs after an
 * invalidation, never a stale entry.  The attributes of the directory go
 * too (its mtime changed).
 */
static int inval_entry(struct fuse_conn *fc, uint64_t parent)
{
	uint64_t epoch;
	int err = -ENOENT;

	pthread_mutex_lock(&fc->nodes_lock);
	epoch = ++fc->inval_epoch;
	for (struct fuse_inode *fi = *bucket(fc, parent); fi; fi = fi->hnext) {
		if (fi->nodeid != parent)
			continue;
		pthread_mutex_lock(&fi->lock);
		fi->inval_epoch = epoch;
		fi->expiry = (struct timespec){0};
		fi->attr_seq = 0;
		pthread_mutex_unlock(&fi->lock);
		err = 0;
	}
	pthread_mutex_unlock(&fc->nodes_lock);
	return err;
}

/*
 * NOTIFY_STORE: the server says what [off, off + len) of node @nodeid
 * holds.  The cached pages it covers (those mappings faulted in) take
 * it, and the cached size grows to its end, as Linux's does; pages not
 * cached are not made, since read(2) asks the server anyway.  A node the
 * client does not know is ENOENT.
 */
static int store(struct fuse_conn *fc, uint64_t nodeid, uint64_t off, const unsigned char *data,
		 uint32_t len)
{
	int err = -ENOENT;

	pthread_mutex_lock(&fc->nodes_lock);
	for (struct fuse_inode *fi = *bucket(fc, nodeid); fi; fi = fi->hnext) {
		if (fi->nodeid != nodeid)
			continue;
		pthread_mutex_lock(&fi->lock);
		if (off + len > fi->attr.size)
			fi->attr.size = off + len;
		pthread_mutex_unlock(&fi->lock);
		if (S_ISREG(fi->base.mode))
			pagecache_update(&fi->pc, off, data, len);
		err = 0;
	}
	pthread_mutex_unlock(&fc->nodes_lock);
	return err;
}

/*
 * NOTIFY_RETRIEVE: send back what the page cache holds of the range, as
 * Linux's does: from the offset up to the first page not cached, at most
 * max_write bytes and not past the cached size.  An unknown node, or
 * nothing cached, is a reply with no data.
 */
static int retrieve(struct fuse_conn *fc, const struct fuse_notify_retrieve_out *o)
{
	uint32_t want = o->size < fc->max_write ? o->size : fc->max_write;
	unsigned char *buf = want ? malloc(want) : NULL;
	size_t got = 0;
	int err;

	if (want && !buf)
		return -ENOMEM;
	pthread_mutex_lock(&fc->nodes_lock);
	for (struct fuse_inode *fi = *bucket(fc, o->nodeid); fi && !got; fi = fi->hnext) {
		uint64_t size;

		if (fi->nodeid != o->nodeid || !S_ISREG(fi->base.mode))
			continue;
		pthread_mutex_lock(&fi->lock);
		size = fi->attr.size;
		pthread_mutex_unlock(&fi->lock);
		if (o->offset < size)
			got = pagecache_read_cached(&fi->pc, o->offset, buf,
						    size - o->offset < want ? size - o->offset
									    : want);
	}
	pthread_mutex_unlock(&fc->nodes_lock);
	err = fuse_send_notify_reply(fc, o->notify_unique, o->nodeid, o->offset, buf,
				     (uint32_t)got);
	free(buf);
	return err;
}

/* A name in a notification: @namelen bytes then a NUL, exactly filling
 * the payload after its fixed part of @fixed bytes. */
static bool name_ok(const unsigned char *p, size_t have, size_t len, size_t fixed,
		    uint32_t namelen)
{
	return namelen > 0 && namelen <= 255 && len == fixed + namelen + 1 && have == len &&
	       p[fixed + namelen] == '\0' && !memchr(p + fixed, '\0', namelen) &&
	       !memchr(p + fixed, '/', namelen);
}

int fuse_notify(struct fuse_conn *fc, int code, const unsigned char *p, size_t have,
		size_t len)
{
	switch (code) {
	case FUSE_NOTIFY_INVAL_INODE: {
		struct fuse_notify_inval_inode_out o;

		if (len != sizeof(o))
			return -EINVAL;
		memcpy(&o, p, sizeof(o));
		return inval_inode(fc, o.ino, o.off, o.len);
	}
	case FUSE_NOTIFY_INVAL_ENTRY: {
		struct fuse_notify_inval_entry_out o;

		if (len < sizeof(o))
			return -EINVAL;
		memcpy(&o, p, sizeof(o));
		if (!name_ok(p, have, len, sizeof(o), o.namelen))
			return o.namelen > 255 ? -ENAMETOOLONG : -EINVAL;
		return inval_entry(fc, o.parent);
	}
	case FUSE_NOTIFY_DELETE: {
		struct fuse_notify_delete_out o;
		int err;

		if (len < sizeof(o))
			return -EINVAL;
		memcpy(&o, p, sizeof(o));
		if (!name_ok(p, have, len, sizeof(o), o.namelen))
			return o.namelen > 255 ? -ENAMETOOLONG : -EINVAL;
		err = inval_entry(fc, o.parent);
		(void)inval_inode(fc, o.child, -1, 0); /* its link count changed */
		return err;
	}
	case FUSE_NOTIFY_STORE: {
		struct fuse_notify_store_out o;

		if (len < sizeof(o))
			return -EINVAL;
		memcpy(&o, p, sizeof(o));
		if (len != sizeof(o) + o.size || have != len || o.offset + o.size < o.offset)
			return -EINVAL;
		return store(fc, o.nodeid, o.offset, p + sizeof(o), o.size);
	}
	case FUSE_NOTIFY_RETRIEVE: {
		struct fuse_notify_retrieve_out o;

		if (len != sizeof(o))
			return -EINVAL;
		memcpy(&o, p, sizeof(o));
		return retrieve(fc, &o);
	}
	case FUSE_NOTIFY_POLL: {
		struct fuse_notify_poll_wakeup_out o;

		if (len != sizeof(o))
			return -EINVAL;
		memcpy(&o, p, sizeof(o));
		return poll_wakeup(fc, o.kh);
	}
	default:
		return -EINVAL;
	}
}

static const struct vfs_inode_ops fuse_inode_ops = {
	.lookup = fuse_lookup,
	.revalidate = fuse_revalidate,
	.create = fuse_create,
	.create_open = fuse_create_open,
	.mkdir = fuse_mkdir,
	.mknod = fuse_mknod,
	.symlink = fuse_symlink,
	.link = fuse_link,
	.unlink = fuse_unlink,
	.rmdir = fuse_rmdir,
	.rename = fuse_rename,
	.readlink = fuse_readlink,
	.getattr = fuse_getattr,
	.setattr = fuse_setattr,
	.open = fuse_open,
	.setxattr = fuse_setxattr,
	.getxattr = fuse_getxattr,
	.listxattr = fuse_listxattr,
	.removexattr = fuse_removexattr,
	.fallocate = fuse_fallocate,
	.evict = fuse_evict,
};

/* --- memory mappings: the page cache --- */

/* Fill pages with READs of the mapped file's handle, straight into the
 * frames: one copy. */
static ssize_t pc_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct vfs_file *f = ctx;
	struct fuse_file *ff = f->priv;
	struct fuse_conn *fc = ff->fi->fc;
	size_t chunk = fc->max_read < IO_CHUNK_MAX ? fc->max_read : IO_CHUNK_MAX, done = 0;

	while (done < len) {
		size_t want = len - done < chunk ? len - done : chunk, got = 0;
		struct fuse_read_in in = {.fh = ff->fh, .offset = off + done, .size = (uint32_t)want,
					  .flags = (uint32_t)f->flags};
		int err = fuse_request(fc, FUSE_READ, ff->fi->nodeid,
				       &(struct fuse_arg){&in, sizeof(in)}, 1,
				       (unsigned char *)buf + done, want, false, &got);

		if (err)
			return err;
		done += got;
		if (got < want)
			break; /* end of file: the rest stays zero */
	}
	return (ssize_t)done;
}

static void put_file(void *f)
{
	vfs_file_put(f);
}

/* Write back with WRITEs of the mapped file's handle; @bg: queue them. */
static int pc_write_as(struct vfs_file *f, uint64_t off, const void *buf, size_t len, bool bg)
{
	struct fuse_file *ff = f->priv;
	struct fuse_conn *fc = ff->fi->fc;
	size_t chunk = fc->max_write < IO_CHUNK_MAX ? fc->max_write : IO_CHUNK_MAX, done = 0;

	while (done < len) {
		size_t n = len - done < chunk ? len - done : chunk;
		struct fuse_write_in in = {.fh = ff->fh, .offset = off + done, .size = (uint32_t)n,
					   .flags = (uint32_t)f->flags};
		struct fuse_arg a[2] = {{&in, sizeof(in)}, {(const unsigned char *)buf + done, n}};
		struct fuse_write_out o = {0};

		/* The file stays until the WRITE is over, and with it its
		 * handle: RELEASE comes after (as Linux's writepage's ref).
		 * A congested connection takes no more queued WRITEs: the
		 * exiting task waits for this one, so that what the server is
		 * behind on stays bounded (a kill still frees it). */
		bool queued = bg && !fuse_congested(fc);
		int err;

		if (queued) {
			err = fuse_request_background_then(fc, FUSE_WRITE, ff->fi->nodeid, a, 2,
							   put_file, vfs_file_get(f));
			queued = err != -EAGAIN; /* the queue filled meanwhile: wait */
		}
		if (!queued)
			err = fuse_request(fc, FUSE_WRITE, ff->fi->nodeid, a, 2, &o, sizeof(o), true,
					   NULL);
		if (!err && !queued && o.size != n)
			err = -EIO; /* a short write loses mapped data: say so */
		if (err)
			return err;
		done += n;
	}
	return 0;
}

static int pc_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	return pc_write_as(ctx, off, buf, len, false);
}

static int pc_write_bg(void *ctx, uint64_t off, const void *buf, size_t len)
{
	return pc_write_as(ctx, off, buf, len, true);
}

static struct fuse_inode *mapped_inode(void *obj)
{
	return ((struct fuse_file *)((struct vfs_file *)obj)->priv)->fi;
}

static void fmap_get(void *obj)
{
	vfs_file_get(obj);
}

static void fmap_put(void *obj)
{
	vfs_file_put(obj);
}

static int fmap_pin(void *obj, uint64_t off, uint64_t len, bool dirty, struct file_range *out)
{
	return pagecache_pin(&mapped_inode(obj)->pc, off, len, dirty, out);
}

static int fmap_repin(void *obj, struct file_range fr)
{
	return pagecache_repin(&mapped_inode(obj)->pc, fr);
}

static void fmap_unpin(void *obj, struct file_range fr)
{
	pagecache_unpin(&mapped_inode(obj)->pc, fr);
}

/*
 * Bring in the faulting page at @off and up to @len - 1 pages after it:
 * the fault's readahead, which the server's max_readahead bounds (as
 * Linux's ra_pages), and which a congested connection gets none of (as
 * Linux skips async readahead then): only the page that is needed.
 */
static int fmap_fill(void *obj, uint64_t off, uint64_t len)
{
	struct fuse_conn *fc = mapped_inode(obj)->fc;
	uint64_t most = fuse_congested(fc) ? 0 : fc->max_readahead & ~(uint64_t)(PAGE_BYTES - 1);

	if (most < PAGE_BYTES)
		most = PAGE_BYTES;
	return pagecache_fill(&mapped_inode(obj)->pc, off, len < most ? len : most, pc_read, obj);
}

static int fmap_writeback(void *obj, uint64_t off, uint64_t len, bool wait)
{
	struct fuse_inode *fi = mapped_inode(obj);
	uint64_t size;

	pthread_mutex_lock(&fi->lock);
	size = fi->attr.size;
	pthread_mutex_unlock(&fi->lock);
	return pagecache_writeback(&fi->pc, off, len, size, wait ? pc_write : pc_write_bg, obj);
}

static const struct mm_mappable_ops fuse_mappable = {
	.get = fmap_get,
	.put = fmap_put,
	.pin = fmap_pin,
	.repin = fmap_repin,
	.unpin = fmap_unpin,
	.fill = fmap_fill,
	.writeback = fmap_writeback,
};

/* --- open files --- */

/* Hold up to @want bytes of @io's caller side from @at, in pieces: how
 * many (their total in *@got); 0 when it cannot be held. */
static int pin_caller(struct vfs_io *io, size_t at, size_t want, bool to_caller,
		      struct vfs_io_pin *pins, struct fuse_sg *sg, size_t *got)
{
	int n = 0;

	*got = 0;
	while (io->pin && *got < want && n < FUSE_SG_MAX &&
	       io->pin(io, at + *got, want - *got, to_caller, &pins[n]) == 0) {
		sg[n] = (struct fuse_sg){.p = pins[n].p, .len = pins[n].len};
		*got += pins[n++].len;
	}
	return n;
}

/*
 * read(2): READs of at most max_read (and 1 MiB) each.  Where the
 * caller's buffer can be pinned (anonymous memory), the server's reply is
 * copied straight into it: one copy.  Else through a bounce buffer.
 */
static ssize_t ffile_read(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct fuse_file *ff = f->priv;
	struct fuse_conn *fc = ff->fi->fc;
	size_t chunk = fc->max_read < IO_CHUNK_MAX ? fc->max_read : IO_CHUNK_MAX, done = 0;
	unsigned char *buf = NULL;
	int err = 0;

	/* What mappings wrote reaches the server before a read asks it. */
	if (pagecache_dirty(&ff->fi->pc, off, io->len)) {
		err = fmap_writeback(f, off, io->len, true);
		if (err)
			return err;
	}
	while (done < io->len) {
		size_t want = io->len - done < chunk ? io->len - done : chunk, got = 0, pinned;
		struct vfs_io_pin pins[FUSE_SG_MAX];
		struct fuse_sg sg[FUSE_SG_MAX];
		int n = pin_caller(io, done, want, true, pins, sg, &pinned);
		struct fuse_read_in in = {.fh = ff->fh, .offset = off + done,
					  .flags = (uint32_t)f->flags};

		if (n) {
			in.size = (uint32_t)(want = pinned);
			err = fuse_request_sg(fc, FUSE_READ, ff->fi->nodeid,
					      &(struct fuse_arg){&in, sizeof(in)}, 1, sg, n, &got);
			while (n--)
				io->unpin(io, &pins[n]);
		} else {
			if (!buf && !(buf = malloc(chunk))) {
				err = -ENOMEM;
				break;
			}
			in.size = (uint32_t)want;
			err = fuse_request(fc, FUSE_READ, ff->fi->nodeid,
					   &(struct fuse_arg){&in, sizeof(in)}, 1, buf, want, false, &got);
			if (!err && got)
				err = io->copy(io, buf, done, got, true);
		}
		if (err || got == 0)
			break;
		done += got;
		if (got < want)
			break; /* end of file */
	}
	free(buf);
	return done ? (ssize_t)done : err;
}

/* One WRITE of @n bytes from @io at @done: the caller's pages pinned
 * and copied by the server's read straight from them (one copy; as much
 * as could be pinned: *@asked is updated), or, where they cannot be
 * pinned, through @*buf.  How much the server took into *@took;
 * mappings see it. */
static int write_chunk(struct vfs_file *f, struct vfs_io *io, uint64_t off, size_t done,
		       size_t *asked, unsigned char **buf, size_t chunk, uint32_t *took)
{
	size_t n = *asked;
	struct fuse_file *ff = f->priv;
	struct fuse_conn *fc = ff->fi->fc;
	struct fuse_write_in in = {.fh = ff->fh, .offset = off + done,
				   .flags = (uint32_t)f->flags};
	struct fuse_write_out o = {0};
	struct vfs_io_pin pins[FUSE_SG_MAX];
	struct fuse_sg sg[FUSE_SG_MAX];
	size_t pinned;
	int np = pin_caller(io, done, n, false, pins, sg, &pinned), err;

	if (np) {
		in.size = (uint32_t)(n = pinned);
		err = fuse_request_in_sg(fc, FUSE_WRITE, ff->fi->nodeid,
					 &(struct fuse_arg){&in, sizeof(in)}, 1, sg, np, &o,
					 sizeof(o), true, NULL);
	} else {
		if (!*buf && !(*buf = malloc(chunk)))
			return -ENOMEM;
		in.size = (uint32_t)n;
		err = io->copy(io, *buf, done, n, false);
		if (!err)
			err = fuse_request(fc, FUSE_WRITE, ff->fi->nodeid,
					   (struct fuse_arg[]){{&in, sizeof(in)}, {*buf, n}}, 2, &o,
					   sizeof(o), true, NULL);
	}
	if (!err && o.size > n)
		err = -EIO; /* wrote more than it was given */
	if (!err && np) {
		for (int i = 0, at = 0; i < np && (uint32_t)at < o.size; at += (int)sg[i++].len)
			pagecache_update(&ff->fi->pc, off + done + (size_t)at, sg[i].p,
					 o.size - (uint32_t)at < sg[i].len ? o.size - (uint32_t)at
									   : sg[i].len);
	} else if (!err) {
		pagecache_update(&ff->fi->pc, off + done, *buf, o.size);
	}
	while (np--)
		io->unpin(io, &pins[np]);
	*asked = n;
	*took = o.size;
	return err;
}

/* write(2): WRITEs of at most max_write (and 1 MiB) each. */
static ssize_t ffile_write(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct fuse_file *ff = f->priv;
	struct fuse_conn *fc = ff->fi->fc;
	size_t chunk = fc->max_write < IO_CHUNK_MAX ? fc->max_write : IO_CHUNK_MAX, done = 0;
	unsigned char *buf = NULL;
	int err = 0;

	while (done < io->len) {
		size_t n = io->len - done < chunk ? io->len - done : chunk;
		uint32_t took = 0;

		err = write_chunk(f, io, off, done, &n, &buf, chunk, &took);
		if (err)
			break;
		done += took;
		if (took < n)
			break;
	}
	free(buf);
	/* Size and times changed: ask again next time; the size is at least
	 * this meanwhile (writeback of mapped pages stops at it). */
	pthread_mutex_lock(&ff->fi->lock);
	ff->fi->expiry = (struct timespec){0, 0};
	if (done && off + done > ff->fi->attr.size)
		ff->fi->attr.size = off + done;
	pthread_mutex_unlock(&ff->fi->lock);
	return done ? (ssize_t)done : err;
}

static int ffile_fsync(struct vfs_file *f)
{
	struct fuse_file *ff = f->priv;
	struct fuse_fsync_in in = {.fh = ff->fh};
	int err;

	if (!ff->is_dir) {
		err = fmap_writeback(f, 0, UINT64_MAX, true);
		if (err)
			return err;
	}
	if (ff->fi->fc->no_fsync)
		return 0;
	err = fuse_request(ff->fi->fc, ff->is_dir ? FUSE_FSYNCDIR : FUSE_FSYNC, ff->fi->nodeid,
			   &(struct fuse_arg){&in, sizeof(in)}, 1, NULL, 0, true, NULL);
	if (err == -ENOSYS) {
		ff->fi->fc->no_fsync = true;
		err = 0;
	}
	return err;
}

/*
 * fallocate(2): FALLOCATE on the file's handle.  Dirty mapped pages of
 * the range go to the server first (its answer may move their blocks),
 * and after a punched hole the cached pages read zeros, as Linux's.
 * ENOSYS: EOPNOTSUPP from then on.
 */
static int fuse_fallocate(struct vfs_inode *inode, struct vfs_file *f, int mode, uint64_t off,
			  uint64_t len)
{
	static const unsigned char zeros[64 * 1024];
	struct fuse_inode *fi = fino(inode);
	struct fuse_file *ff = f && f->inode == inode ? f->priv : NULL;
	struct fuse_fallocate_in in;
	uint64_t end;
	int err;

	if (!ff || ff->is_dir || fi->fc->no_fallocate)
		return -EOPNOTSUPP;
	if (__builtin_add_overflow(off, len, &end) || end > INT64_MAX)
		return -EFBIG;
	err = fmap_writeback(f, off, len, true);
	if (err)
		return err;
	in = (struct fuse_fallocate_in){.fh = ff->fh, .offset = off, .length = len,
					 .mode = (uint32_t)mode};
	err = fuse_request(fi->fc, FUSE_FALLOCATE, fi->nodeid, &(struct fuse_arg){&in, sizeof(in)},
			   1, NULL, 0, true, NULL);
	if (err == -ENOSYS) {
		fi->fc->no_fallocate = true;
		return -EOPNOTSUPP;
	}
	if (err)
		return err;
	pthread_mutex_lock(&fi->lock);
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > fi->attr.size)
		fi->attr.size = end;
	if (end > fi->attr.size)
		end = fi->attr.size; /* no page is cached past the size */
	fi->expiry = (struct timespec){0, 0}; /* blocks and times changed */
	pthread_mutex_unlock(&fi->lock);
	for (uint64_t at = off; (mode & FALLOC_FL_PUNCH_HOLE) && at < end; at += sizeof(zeros))
		pagecache_update(&fi->pc, at, zeros,
				 end - at < sizeof(zeros) ? end - at : sizeof(zeros));
	return 0;
}

/* SEEK_DATA / SEEK_HOLE: LSEEK, after the dirty mapped pages are written
 * back (they are data the server has not seen).  ENOSYS: not asked again,
 * and the VFS's generic answer serves. */
static int64_t ffile_seek_data(struct vfs_file *f, int64_t off, int whence)
{
	struct fuse_file *ff = f->priv;
	struct fuse_conn *fc = ff->fi->fc;
	struct fuse_lseek_in in = {
		.fh = ff->fh, .offset = (uint64_t)off, .whence = (uint32_t)whence};
	struct fuse_lseek_out o = {0};
	int err;

	if (fc->no_lseek)
		return -ENOSYS;
	err = fmap_writeback(f, 0, UINT64_MAX, true);
	if (err)
		return err;
	err = fuse_request(fc, FUSE_LSEEK, ff->fi->nodeid, &(struct fuse_arg){&in, sizeof(in)}, 1,
			   &o, sizeof(o), true, NULL);
	if (err == -ENOSYS)
		fc->no_lseek = true;
	if (err)
		return err;
	/* The server's word, within what an offset can be. */
	return o.offset > INT64_MAX ? -EIO : (int64_t)o.offset;
}

/* --- ioctl and poll --- */

/* FS_IOC_GETFLAGS and FS_IOC_SETFLAGS say long but move an int (Linux's
 * FUSE special-cases them too).  <linux/fs.h> clashes with glibc's
 * <sys/mount.h>, hence the spelled-out numbers. */
#define FUSE_FS_IOC_GETFLAGS _IOR('f', 1, long)
#define FUSE_FS_IOC_SETFLAGS _IOW('f', 2, long)

/*
 * ioctl(2) on a FUSE file or directory: IOCTL, restricted as Linux's for
 * FUSE (not CUSE): the command's own encoding says how much goes in and
 * out, the server cannot ask for more (FUSE_IOCTL_RETRY is EIO), and
 * what it sends back may not exceed what the command said.  A server
 * without ioctls (ENOSYS) makes it ENOTTY.  The result is the server's,
 * but one of -512 or below (no errno: the kernel's restart codes) is EIO.
 */
static long ffile_ioctl(struct vfs_file *f, unsigned long cmd64, uint64_t arg, void *task)
{
	unsigned long cmd = (uint32_t)cmd64; /* ioctl(2)'s command is an int, as Linux takes it */
	struct fuse_file *ff = f->priv;
	struct fuse_conn *fc = ff->fi->fc;
	struct task *t = task;
	size_t size = cmd == FUSE_FS_IOC_GETFLAGS || cmd == FUSE_FS_IOC_SETFLAGS ? sizeof(int)
										 : _IOC_SIZE(cmd);
	size_t in_size = _IOC_DIR(cmd) & _IOC_WRITE ? size : 0;
	size_t out_size = _IOC_DIR(cmd) & _IOC_READ ? size : 0;
	struct fuse_ioctl_in in = {.fh = ff->fh, .flags = ff->is_dir ? FUSE_IOCTL_DIR : 0,
				   .cmd = (uint32_t)cmd, .arg = arg,
				   .in_size = (uint32_t)in_size, .out_size = (uint32_t)out_size};
	struct fuse_ioctl_out o;
	unsigned char *buf = malloc(in_size + sizeof(o) + out_size);
	size_t len = 0;
	long err;

	if (!buf)
		return -ENOMEM;
	if (ff->is_dir && fc->minor < 18) {
		err = -ENOTTY; /* directory ioctls came with 7.18, as in Linux */
		goto out;
	}
	if (in_size && mm_copy_in(t->mm, buf, arg, in_size)) {
		err = -EFAULT;
		goto out;
	}
	err = fuse_request(fc, FUSE_IOCTL, ff->fi->nodeid,
			   (struct fuse_arg[]){{&in, sizeof(in)}, {buf, in_size}}, in_size ? 2 : 1,
			   buf + in_size, sizeof(o) + out_size, false, &len);
	if (err == -ENOSYS)
		err = -ENOTTY;
	if (err)
		goto out;
	memcpy(&o, buf + in_size, len < sizeof(o) ? len : sizeof(o));
	/* From -512 down: the kernel's own restart codes, or no errno: EIO. */
	if (len < sizeof(o) || (o.flags & FUSE_IOCTL_RETRY) || o.result <= -FUSE_ERRNO_END) {
		err = -EIO;
		goto out;
	}
	err = o.result;
	if (len > sizeof(o) && mm_copy_out(t->mm, arg, buf + in_size + sizeof(o), len - sizeof(o)))
		err = -EFAULT;
out:
	free(buf);
	return err;
}

/* What poll(2) sees of a file whose server has no POLL: always ready,
 * as Linux's DEFAULT_POLLMASK. */
#define FUSE_POLL_DEFAULT (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

/*
 * Readiness of a FUSE file: POLL, asking the server to send NOTIFY_POLL
 * for the file's kh when it changes.  While a "not ready" stands (no
 * NOTIFY_POLL since, and nothing more asked), it is the answer without
 * asking again: poll(2) looks every millisecond, and must not become a
 * request each time.
 */
static short ffile_poll(struct vfs_file *f, short events)
{
	struct fuse_file *ff = f->priv;
	struct fuse_conn *fc = ff->fi->fc;
	struct fuse_poll_in in = {.fh = ff->fh, .flags = FUSE_POLL_SCHEDULE_NOTIFY,
				  .events = (uint16_t)events};
	struct fuse_poll_out o = {0};
	uint64_t wakes;
	short revents;
	int err;

	if (fc->no_poll)
		return events & FUSE_POLL_DEFAULT;
	pthread_mutex_lock(&fc->nodes_lock);
	if (!ff->kh) {
		ff->kh = ++fc->next_kh;
		ff->poll_next = fc->polled;
		fc->polled = ff;
	}
	/* A connection that ended wakes nobody: ask, and fail. */
	if (ff->poll_waiting && !(events & ~ff->poll_asked) &&
	    __atomic_load_n(&fc->connected, __ATOMIC_RELAXED)) {
		pthread_mutex_unlock(&fc->nodes_lock);
		return 0;
	}
	/* Ask for what the standing answer covered too: two pollers of one
	 * file asking for different events must not take turns forever,
	 * each one's request waking the other (every queued request is a
	 * poll_wake). */
	if (ff->poll_waiting)
		events |= ff->poll_asked;
	in.events = (uint16_t)events;
	ff->poll_waiting = false;
	in.kh = ff->kh;
	wakes = ff->poll_wakes;
	pthread_mutex_unlock(&fc->nodes_lock);
	err = fuse_request(fc, FUSE_POLL, ff->fi->nodeid, &(struct fuse_arg){&in, sizeof(in)}, 1,
			   &o, sizeof(o), true, NULL);
	if (err == -ENOSYS) {
		fc->no_poll = true;
		return events & FUSE_POLL_DEFAULT;
	}
	if (err)
		return POLLERR;
	revents = (short)(o.revents & (uint32_t)(events | POLLERR | POLLHUP));
	if (!revents) {
		/* Unless a NOTIFY_POLL came while we asked, it will wake us. */
		pthread_mutex_lock(&fc->nodes_lock);
		if (ff->poll_wakes == wakes) {
			ff->poll_waiting = true;
			ff->poll_asked = events;
		}
		pthread_mutex_unlock(&fc->nodes_lock);
	}
	return revents;
}

/* NOTIFY_POLL: the file with handle @kh may be ready; an unknown handle
 * (a file closed since) is no error, as in Linux. */
static int poll_wakeup(struct fuse_conn *fc, uint64_t kh)
{
	pthread_mutex_lock(&fc->nodes_lock);
	for (struct fuse_file *ff = fc->polled; ff; ff = ff->poll_next) {
		if (ff->kh == kh) {
			ff->poll_waiting = false;
			ff->poll_wakes++;
			break;
		}
	}
	pthread_mutex_unlock(&fc->nodes_lock);
	poll_wake();
	return 0;
}

/* The file goes: no NOTIFY_POLL can find it any more. */
static void poll_forget(struct fuse_file *ff)
{
	struct fuse_conn *fc = ff->fi->fc;

	if (!ff->kh)
		return;
	pthread_mutex_lock(&fc->nodes_lock);
	for (struct fuse_file **pp = &fc->polled; *pp; pp = &(*pp)->poll_next) {
		if (*pp == ff) {
			*pp = ff->poll_next;
			break;
		}
	}
	pthread_mutex_unlock(&fc->nodes_lock);
}

/* close(2) of an fd: FLUSH, so a server may report a late write error
 * (the caller cannot see it: close's result is not ours to change yet). */
/* The id a lock owner (an fd table or an open file) has for the server:
 * a keyed bijection of the pointer (splitmix64's finalizer), so that two
 * owners never share an id and the server learns no sentry address. */
static uint64_t owner_id(const struct fuse_conn *fc, const void *owner)
{
	uint64_t z = (uint64_t)(uintptr_t)owner ^ fc->owner_key;

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* POSIX locks kept by the server, where it asked for them at INIT:
 * GETLK / SETLK / SETLKW.  Otherwise (or after ENOSYS) -ENOSYS: the
 * sentry's own locks serve, as Linux's without FUSE_POSIX_LOCKS. */
static int ffile_lock(struct vfs_file *f, const void *owner, struct vfs_lock_range *r, bool get,
		      bool wait)
{
	struct fuse_file *ff = f->priv;
	struct fuse_conn *fc = ff->fi->fc;
	struct fuse_lk_in in = {
		.fh = ff->fh,
		.owner = owner_id(fc, owner),
		.lk = {.start = r->start, .end = r->end, .type = (uint32_t)r->type,
		       .pid = r->type == F_UNLCK || r->pid < 0 ? 0 : (uint32_t)r->pid},
	};
	struct fuse_lk_out out;
	int err;

	if (!(fc->flags & FUSE_POSIX_LOCKS) || fc->no_lock || ff->is_dir)
		return -ENOSYS;
	memset(&out, 0, sizeof(out));
	err = fuse_request(fc, get ? FUSE_GETLK : wait ? FUSE_SETLKW : FUSE_SETLK,
			   ff->fi->nodeid, &(struct fuse_arg){&in, sizeof(in)}, 1,
			   get ? &out : NULL, get ? sizeof(out) : 0, true, NULL);
	if (err == -ENOSYS) {
		fc->no_lock = true;
		return -ENOSYS;
	}
	if (err || !get)
		return err == -EINTR ? -ERESTARTSYS : err; /* locking is restartable */
	if ((out.lk.type != F_RDLCK && out.lk.type != F_WRLCK && out.lk.type != F_UNLCK) ||
	    (out.lk.type != F_UNLCK && (out.lk.start > out.lk.end || out.lk.end > INT64_MAX)))
		return -EIO;
	*r = (struct vfs_lock_range){.type = (short)out.lk.type, .start = out.lk.start,
				     .end = out.lk.end, .pid = (pid_t)out.lk.pid};
	return 0;
}

static void ffile_flush(struct vfs_file *f, const void *owner)
{
	struct fuse_file *ff = f->priv;
	struct fuse_conn *fc = ff->fi->fc;
	struct fuse_flush_in in = {.fh = ff->fh, .lock_owner = owner_id(fc, owner)};

	if (ff->is_dir || fc->no_flush)
		return;
	if (fuse_request(fc, FUSE_FLUSH, ff->fi->nodeid, &(struct fuse_arg){&in, sizeof(in)}, 1,
			 NULL, 0, true, NULL) == -ENOSYS)
		fc->no_flush = true;
}

static void ffile_release(struct vfs_file *f)
{
	struct fuse_file *ff = f->priv;
	struct fuse_conn *fc = ff->fi->fc;
	struct fuse_release_in in = {.fh = ff->fh, .flags = (uint32_t)f->flags};
	bool skip = ff->is_dir ? fc->no_opendir : fc->no_open;

	poll_forget(ff); /* first: the inode (and ff->fi) may go below */
	/* The inode stays until the server has the RELEASE: its FORGET
	 * must not overtake it (Linux's fuse_release_common holds it too). */
	if (!skip)
		(void)fuse_request_background_then(fc, ff->is_dir ? FUSE_RELEASEDIR : FUSE_RELEASE,
						   ff->fi->nodeid,
						   &(struct fuse_arg){&in, sizeof(in)}, 1, put_inode,
						   &ff->fi->base);
	else
		vfs_inode_put(&ff->fi->base);
	free(ff);
}

/* The record of directory entry at @p (@have bytes left): its dirent
 * and the entry before it in a READDIRPLUS reply (@plus).  Returns its
 * length, or 0 if it is malformed: too short, a name of 0 or more than
 * 255 bytes, or one with '/' or NUL in it. */
static size_t dirent_record(const unsigned char *p, size_t have, bool plus, struct fuse_dirent *d,
			    struct fuse_entry_out *e)
{
	size_t name_off = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
	size_t reclen;

	if (have < name_off)
		return 0;
	if (plus)
		memcpy(e, p, sizeof(*e));
	memcpy(d, p + name_off - FUSE_NAME_OFFSET, sizeof(*d));
	reclen = FUSE_DIRENT_ALIGN(name_off + (size_t)d->namelen);
	if (d->namelen == 0 || d->namelen > VFS_NAME_MAX || reclen > have ||
	    memchr(p + name_off, '/', d->namelen) || memchr(p + name_off, 0, d->namelen))
		return 0;
	return reclen;
}

/*
 * A READDIRPLUS entry for a name cached already, of the same node and
 * type: the node keeps one more lookup (forgotten with the rest at
 * eviction) and takes the fresh attributes, as Linux's
 * fuse_direntplus_link.  Making an inode only to FORGET it cost a
 * request per name per listing.  False: the caller links it anew.
 */
static bool recount_cached(struct vfs_file *f, const struct fuse_entry_out *e, const char *name)
{
	struct vfs_dentry *d = vfs_dentry_cached(f->path.dentry, name);
	struct fuse_inode *fi = d && d->inode && d->inode->fs == f->inode->fs ? fino(d->inode) : NULL;
	bool same = fi && fi->nodeid == e->nodeid && e->nodeid != FUSE_ROOT_ID &&
		    valid_type(e->attr.mode) && !((e->attr.mode ^ fi->base.mode) & S_IFMT);

	if (same) {
		set_attr(fi, &e->attr, e->attr_valid, e->attr_valid_nsec);
		pthread_mutex_lock(&fi->lock);
		fi->nlookup++; /* the server counted this lookup too */
		fi->entry_expiry = expiry_after(e->entry_valid, e->entry_valid_nsec);
		fi->init_rdplus = true;
		pthread_mutex_unlock(&fi->lock);
	}
	if (d)
		vfs_dentry_put(d);
	return same;
}

/*
 * A READDIRPLUS entry names a node the server counted a lookup for: cache
 * it as a child of the directory (or forget it if the name is cached
 * already), as Linux's fuse_direntplus_link.  Node 0, "." and ".." carry
 * nothing to keep.  -EIO for an entry inode_from_entry refuses.
 */
static int dirent_link(struct vfs_file *f, const struct fuse_entry_out *e, const char *name,
		       size_t len)
{
	struct fuse_conn *fc = ((struct fuse_file *)f->priv)->fi->fc;
	char cname[VFS_NAME_MAX + 1];
	struct vfs_inode *inode;
	struct vfs_dentry *d;
	int err;

	if (e->nodeid == 0 || (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'))))
		return 0;
	memcpy(cname, name, len);
	cname[len] = '\0';
	if (f->path.dentry && recount_cached(f, e, cname))
		return 0;
	err = inode_from_entry(f->inode->fs, fc, e, &inode);
	if (err)
		return err == -ENOMEM ? 0 : err; /* no memory: simply not cached */
	if (!f->path.dentry) {
		vfs_inode_put(inode);
		return 0;
	}
	set_flag(fino(inode), &fino(inode)->init_rdplus);
	if (vfs_dentry_add(f->path.dentry, cname, inode, &d) == 0)
		vfs_dentry_put(d);
	return 0;
}

/*
 * READDIRPLUS or READDIR for the request from @pos?  As Linux's
 * fuse_use_readdirplus: with READDIRPLUS_AUTO, only the first request of
 * a listing, and one after a lookup in the directory or a use of a name
 * a READDIRPLUS brought (a reader that stats what it lists); a plain
 * listing takes the small entries and caches nothing.
 */
static bool use_plus(struct fuse_file *ff, uint64_t pos)
{
	struct fuse_inode *dir = ff->fi;
	bool advised;

	if (!(dir->fc->flags & FUSE_DO_READDIRPLUS))
		return false;
	if (!(dir->fc->flags & FUSE_READDIRPLUS_AUTO))
		return true;
	pthread_mutex_lock(&dir->lock);
	advised = dir->advise_rdplus;
	dir->advise_rdplus = false;
	pthread_mutex_unlock(&dir->lock);
	return advised || pos == 0;
}

/*
 * READDIR, or READDIRPLUS where use_plus says so: parse the reply's
 * entries, trusting nothing, and emit them; *@pos is the server's offset
 * cookie of the next entry.  Every entry of a
 * READDIRPLUS reply is linked, even past what the caller's buffer takes,
 * since the server counted a lookup for each.
 */
static int fdir_iterate(struct vfs_file *f, uint64_t *pos, vfs_emit_fn emit, void *ctx)
{
	struct fuse_file *ff = f->priv;
	struct fuse_conn *fc = ff->fi->fc;
	bool plus = false;
	uint32_t want = ff->dir_want ? ff->dir_want : DIR_BUF;
	unsigned char *buf = malloc(want);
	size_t taken = 0; /* reply bytes of the entries the reader took */
	bool full = false;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (!full && !err) {
		struct fuse_read_in in = {.fh = ff->fh, .offset = *pos, .size = want};
		size_t got = 0, at = 0;

		plus = use_plus(ff, *pos);
		err = fuse_request(fc, plus ? FUSE_READDIRPLUS : FUSE_READDIR, ff->fi->nodeid,
				   &(struct fuse_arg){&in, sizeof(in)}, 1, buf, want, false, &got);
		if (err || got == 0)
			break;
		while (at < got) {
			struct fuse_entry_out e;
			struct fuse_dirent d;
			size_t reclen = dirent_record(buf + at, got - at, plus, &d, &e);
			const char *name = (const char *)buf + at +
					   (plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET);
			struct vfs_dirent de;
			int lerr;

			/* Past a full buffer a bad entry is the next call's error:
			 * it asks again from *pos. */
			if (reclen == 0) {
				err = full ? 0 : -EIO;
				break;
			}
			lerr = plus ? dirent_link(f, &e, name, d.namelen) : 0;
			if (lerr && !full) {
				err = lerr;
				break;
			}
			if (!full) {
				de = (struct vfs_dirent){.ino = d.ino, .type = (unsigned char)d.type,
							 .name = name, .len = d.namelen};
				full = emit(ctx, &de) != 0; /* full: resume at *pos */
				if (!full) {
					*pos = d.off;
					taken += reclen;
				}
			}
			if (full && !plus)
				break;
			at += reclen;
		}
	}
	free(buf);
	/* Next time: what this reader took (filled: its buffer's measure),
	 * or twice this (it wanted more than came). */
	if (!err) {
		size_t next = full ? taken + taken / 4 : (size_t)want * 2;

		next = (next + DIR_BUF_MIN - 1) & ~(size_t)(DIR_BUF_MIN - 1);
		ff->dir_want = (uint32_t)(next < DIR_BUF_MIN ? DIR_BUF_MIN
					  : next > DIR_BUF_MAX ? DIR_BUF_MAX : next);
	}
	return err;
}

/* What every open regular file has; the three kinds differ in mapping
 * and seeking. */
#define FUSE_FILE_IO                                                                       \
	.read = ffile_read, .write = ffile_write, .fsync = ffile_fsync, .flush = ffile_flush, \
	.lock = ffile_lock, .seek_data = ffile_seek_data, .release = ffile_release,     \
	.ioctl = ffile_ioctl, .poll = ffile_poll

static const struct vfs_file_ops fuse_file_ops = {
	FUSE_FILE_IO,
	.mappable = &fuse_mappable,
	.seekable = true,
};

/* FOPEN_NONSEEKABLE: lseek, pread and pwrite are ESPIPE; reads and
 * writes carry offset 0 (as FOPEN_STREAM, which the server may also say). */
static const struct vfs_file_ops fuse_stream_ops = {
	FUSE_FILE_IO,
	.seekable = false,
};

/* FOPEN_DIRECT_IO: no page cache, so no mapping of its pages: MAP_PRIVATE
 * gets a copy made at mmap time, a writable MAP_SHARED is ENODEV (as in
 * Linux, which refuses every MAP_SHARED of such a file). */
static const struct vfs_file_ops fuse_direct_ops = {
	FUSE_FILE_IO,
	.seekable = true,
};

static const struct vfs_file_ops *file_ops_for(uint32_t open_flags)
{
	if (open_flags & (FOPEN_NONSEEKABLE | FOPEN_STREAM))
		return &fuse_stream_ops;
	if (open_flags & FOPEN_DIRECT_IO)
		return &fuse_direct_ops;
	return &fuse_file_ops;
}

static const struct vfs_file_ops fuse_dir_ops = {
	.iterate = fdir_iterate,
	.ioctl = ffile_ioctl,
	.fsync = ffile_fsync,
	.release = ffile_release,
	.seekable = true,
};

/* --- mounting --- */

struct mount_opts {
	int fd;
	mode_t rootmode;
	bool have_fd, have_rootmode, have_uid, have_gid;
	uint32_t max_read;
};

/* Parse "fd=N,rootmode=M,user_id=U,group_id=G[,...]" as Linux does. */
static int parse_opts(const char *data, struct mount_opts *o)
{
	char *copy = strdup(data), *save = NULL, *opt;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (opt = strtok_r(copy, ",", &save); opt && !err; opt = strtok_r(NULL, ",", &save)) {
		char *val = strchr(opt, '='), *end;
		unsigned long v = 0;

		if (val) {
			*val++ = '\0';
			v = strtoul(val, &end, !strcmp(opt, "rootmode") ? 8 : 10);
			if (!*val || *end)
				err = -EINVAL;
		}
		if (err)
			break;
		if (!strcmp(opt, "fd") && val)
			o->fd = (int)v, o->have_fd = v <= INT32_MAX;
		else if (!strcmp(opt, "rootmode") && val)
			o->rootmode = (mode_t)v, o->have_rootmode = true;
		else if (!strcmp(opt, "user_id") && val)
			o->have_uid = true;
		else if (!strcmp(opt, "group_id") && val)
			o->have_gid = true;
		else if (!strcmp(opt, "max_read") && val)
			o->max_read = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		else if (!strcmp(opt, "blksize") && val)
			; /* fuseblk's; accepted */
		else if (!val && (!strcmp(opt, "default_permissions") || !strcmp(opt, "allow_other")))
			; /* one user, root: nothing to check */
		else
			err = -EINVAL;
	}
	free(copy);
	if (!err && (!o->have_fd || !o->have_rootmode || !o->have_uid || !o->have_gid))
		err = -EINVAL;
	if (!err && !S_ISDIR(o->rootmode) && !S_ISREG(o->rootmode))
		err = -EINVAL;
	return err;
}

static int fuse_fs_statfs(struct vfs_fs *fs, struct statfs *sf)
{
	struct fuse_fs *ffs = (struct fuse_fs *)fs;
	struct fuse_statfs_out o;
	int err = fuse_request(ffs->fc, FUSE_STATFS, FUSE_ROOT_ID, NULL, 0, &o, sizeof(o), true, NULL);

	if (err == -ENOSYS)
		return 0; /* the sandbox's figures, then */
	if (err)
		return err;
	sf->f_bsize = o.st.bsize ? o.st.bsize : 4096;
	sf->f_frsize = o.st.frsize ? o.st.frsize : sf->f_bsize;
	sf->f_blocks = o.st.blocks;
	sf->f_bfree = o.st.bfree;
	sf->f_bavail = o.st.bavail;
	sf->f_files = o.st.files;
	sf->f_ffree = o.st.ffree;
	sf->f_namelen = o.st.namelen && o.st.namelen < VFS_NAME_MAX ? o.st.namelen : VFS_NAME_MAX;
	return 0;
}

static void fuse_fs_destroy(struct vfs_fs *fs)
{
	struct fuse_fs *ffs = (struct fuse_fs *)fs;
	struct fuse_conn *fc = ffs->fc;

	/* Nothing reaches this file system any more: DESTROY tells the
	 * server, and its answer ends the connection.  The inodes go without
	 * FORGETs (the server drops its nodes at DESTROY), as in Linux. */
	(void)fuse_send_destroy(fc);
	if (fs->root)
		vfs_dentry_put(fs->root);
	fuse_conn_put(fc);
	free(ffs);
}

int fuse_fs_mount(struct task *t, const char *type, const char *data, struct vfs_fs **out)
{
	struct mount_opts o = {0};
	struct fuse_conn *fc;
	struct vfs_file *dev;
	int err;

	if (strcmp(type, "fuse") && strncmp(type, "fuse.", 5))
		return -ENODEV;
	err = parse_opts(data, &o);
	if (err)
		return err;
	dev = fd_get(t->fds, o.fd);
	fc = fuse_dev_conn(dev);
	err = fc ? fuse_fs_create(fc, o.rootmode, o.max_read, out) : -EINVAL;
	if (dev)
		vfs_file_put(dev);
	return err;
}

int fuse_fs_create(struct fuse_conn *fc, mode_t rootmode, uint32_t max_read, struct vfs_fs **out)
{
	struct fuse_fs *ffs;
	struct fuse_inode *root;
	int err;

	pthread_mutex_lock(&fc->lock);
	err = fc->mounted || !fc->connected ? -EINVAL : 0;
	if (!err) {
		fc->mounted = true;
		fc->max_read = max_read;
		fc->refs += 2; /* the fs, and its root inode */
	}
	pthread_mutex_unlock(&fc->lock);
	if (err)
		return err;
	err = -ENOMEM;
	ffs = calloc(1, sizeof(*ffs));
	root = calloc(1, sizeof(*root));
	if (!ffs || !root) {
		free(ffs);
		free(root);
		fuse_conn_put(fc);
		fuse_conn_put(fc);
		return err;
	}
	ffs->fc = fc;
	ffs->base.type = "fuse";
	ffs->base.magic = FUSE_MAGIC;
	ffs->base.priv = ffs;
	ffs->base.destroy = fuse_fs_destroy;
	ffs->base.statfs = fuse_fs_statfs;
	vfs_inode_init(&root->base, &ffs->base, &fuse_inode_ops, rootmode & S_IFMT);
	root->base.ino = FUSE_ROOT_ID;
	root->fc = fc;
	root->nodeid = FUSE_ROOT_ID;
	pthread_mutex_init(&root->lock, NULL);
	pagecache_init(&root->pc, fc->k->mf);
	err = vfs_fs_set_root(&ffs->base, &root->base);
	if (err) {
		fuse_conn_put(fc);
		free(ffs);
		return err;
	}
	node_add(root);
	err = fuse_send_init(fc);
	if (err) {
		fuse_fs_destroy(&ffs->base);
		return err;
	}
	*out = &ffs->base;
	return 0;
}

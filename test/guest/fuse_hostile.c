/*
 * fuse_hostile: a FUSE server that lies, speaking /dev/fuse directly (no
 * libfuse), and a client that checks the sandbox keeps its word: every
 * malformed reply is refused (the server's write fails) or becomes EIO
 * for the caller, and a server that goes away fails its callers with
 * ENOTCONN.  Prints "fuse-hostile ok" when every check holds.
 *
 * The file system: the root holds "good" (a file), "badtype" (an entry
 * whose attributes have no file type), "badnames" (a directory whose
 * listing has a 300-byte name), "slash" (one with a '/' in a name) and
 * "big" (a file whose READ replies are longer than asked), and "shifty"
 * (a new node at every lookup: the old ones come back as BATCH_FORGET),
 * "cached" (hour-long timeouts) and "notify-WHAT" names, whose lookup makes
 * the server change "cached" and send notifications, good and bad;
 * "polled" (not ready until "poll-wake" sends NOTIFY_POLL) and "ioctls"
 * (commands answered well and badly).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MNT "/tmp/hostile"


static int dev;
static uint64_t shifty_node = 100; /* the next node "shifty" names */
static uint64_t lock_owner;	    /* of the last SETLK */
static bool saw_setlkw;

static ssize_t reply_raw(uint64_t unique, int error, const void *p, size_t len, size_t claim)
{
	struct fuse_out_header oh = {.len = (uint32_t)claim, .error = error, .unique = unique};
	struct iovec iov[2] = {{&oh, sizeof(oh)}, {(void *)p, len}};

	return writev(dev, iov, len ? 2 : 1);
}

static void reply(uint64_t unique, int error, const void *p, size_t len)
{
	reply_raw(unique, error, p, len, sizeof(struct fuse_out_header) + len);
}

/* "small-reads": one read with a buffer under max_write (refused), then
 * reads of just the biggest WRITE. */
static bool small_reads, small_first;
#define BIGGEST_WRITE (sizeof(struct fuse_in_header) + sizeof(struct fuse_write_in) + 65536)
/* "hang-eintr": never answered, but its INTERRUPT is (with EINTR);
 * "hang-kill": never answered at all; "changeling": a file, then a
 * directory under the same node. */
static uint64_t hang_eintr_unique;
static int changeling_lookups;
/* Under --fuse-timeout 500: nothing may keep a caller waiting that long
 * (the flood of notifications would). */
static bool timeout_test;
static struct stat st_unused;

#define STORED_NODE 20 /* "stored": mapped by the client, then STOREd into */
#define STREAM_NODE 21 /* "stream": opened FOPEN_NONSEEKABLE */
#define DIRECT_NODE 22 /* "direct": opened FOPEN_DIRECT_IO */
#define KEPT_NODE   23 /* "kept": opened FOPEN_KEEP_CACHE */
#define UNKEPT_NODE 24 /* "unkept": the same without it */
#define POLLED_NODE 25 /* "polled": POLL says not ready until "poll-wake" */
#define IOCTL_NODE  26 /* "ioctls": IOCTL answers, good and bad */
#define RA_NODE	    27 /* "ra": 1 MiB, mapped: how much a fault reads */
#define RA_HOLD_NODE 28 /* "ra-hold": its RELEASE is held, the mount congested */
#define RA_SIZE	    (1 << 20)
static int ra_reads, ra_bytes, ra_counts;
static int good_releases; /* since "ra-free" */
#define SLOW_NODE 32 /* "slowread": its READ is held until "slow-free" */
static uint64_t slow_read_unique;
static int mkdirs_seen; /* MKDIRs: the lies above are answers to real ones */
static uint32_t largest_write, setattr_mtime_nsec = 1;
static uint64_t ra_held_release;
static int reads_of[32];  /* READs per node, for the ones above */
static uint64_t poll_kh;
static bool poll_ready, poll_no_notify_flag;
static int poll_asks;

/* The "ioctls" file's commands: sum echoes a+b back; the others lie. */
struct sum_arg {
	uint32_t a, b;
};
#define IOC_SUM	      _IOWR('h', 1, struct sum_arg)
#define IOC_TOO_LONG  _IOR('h', 2, uint32_t) /* answers 8 bytes */
#define IOC_BAD_ERRNO _IO('h', 3)	     /* result -99999 */
#define IOC_SEVEN     _IO('h', 4)	     /* result 7 */
#define IOC_RETRY     _IO('h', 5)	     /* FUSE_IOCTL_RETRY */
#define IOC_NOSYS     _IO('h', 6)	     /* ENOSYS */
#define IOC_RESTART   _IO('h', 7)	     /* result -512: a kernel restart code */

static void serve_ioctl(const struct fuse_in_header *h, const struct fuse_ioctl_in *in)
{
	struct {
		struct fuse_ioctl_out o;
		uint32_t data[2];
	} r = {{0}};
	size_t len = sizeof(r.o);

	switch (in->cmd) {
	case IOC_SUM: {
		const struct sum_arg *a = (const void *)(in + 1);

		if (in->in_size != sizeof(*a) || in->out_size != sizeof(*a) || in->flags) {
			printf("FAIL ioctl sum: in %u out %u flags %#x\n", in->in_size,
			       in->out_size, in->flags);
			r.o.result = -EINVAL;
			break;
		}
		r.data[0] = a->a + a->b;
		r.data[1] = 1;
		len += 8;
		break;
	}
	case IOC_TOO_LONG:
		len += 8;
		if (reply_raw(h->unique, 0, &r, len, 16 + len) != -1 || errno != EINVAL)
			printf("FAIL the sandbox took an IOCTL answer longer than asked\n");
		return;
	case IOC_BAD_ERRNO:
		r.o.result = -99999;
		break;
	case IOC_SEVEN:
		r.o.result = 7;
		break;
	case IOC_RETRY:
		r.o.flags = FUSE_IOCTL_RETRY;
		break;
	case IOC_RESTART:
		r.o.result = -512;
		break;
	default:
		reply(h->unique, -ENOSYS, NULL, 0);
		return;
	}
	reply(h->unique, 0, &r, len);
}

/* "cached": long timeouts, so that only notifications show its changes. */
static uint64_t cached_node = 7, cached_size = 4096;
static bool cached_gone, notify_bad;

/* Send notification @code; the write's result. */
static ssize_t notify(int code, const void *p, size_t len, const char *name, size_t namelen)
{
	struct fuse_out_header oh = {.error = code, .unique = 0};
	struct iovec iov[3] = {{&oh, sizeof(oh)}, {(void *)p, len}, {(void *)name, namelen}};

	oh.len = (uint32_t)(sizeof(oh) + len + namelen);
	return writev(dev, iov, name ? 3 : 2);
}

/* A notification that must be refused with @err. */
static void notify_refused(int code, const void *p, size_t len, const char *name,
			   size_t namelen, int err, const char *what)
{
	if (notify(code, p, len, name, namelen) != -1 || errno != err) {
		printf("FAIL the sandbox took %s\n", what);
		notify_bad = true;
	}
}

static void notify_taken(int code, const void *p, size_t len, const char *name, size_t namelen,
			 const char *what)
{
	if (notify(code, p, len, name, namelen) < 0) {
		printf("FAIL the sandbox refused %s: %s\n", what, strerror(errno));
		notify_bad = true;
	}
}

/* The client's stat of "notify-WHAT" asks for WHAT. */
static void send_notifications(const char *what)
{
	static char longname[301];

	if (!strcmp(what, "inode")) {
		struct fuse_notify_inval_inode_out o = {.ino = cached_node};

		cached_size = 8192;
		notify_refused(FUSE_NOTIFY_INVAL_INODE, &o, sizeof(o) - 1, NULL, 0, EINVAL,
			       "a short INVAL_INODE");
		notify_refused(99, &o, sizeof(o), NULL, 0, EINVAL, "notification 99");
		notify_taken(FUSE_NOTIFY_INVAL_INODE, &o, sizeof(o), NULL, 0, "INVAL_INODE");
	} else if (!strcmp(what, "entry")) {
		struct fuse_notify_inval_entry_out o = {.parent = 1, .namelen = 6};

		cached_node = 8;
		cached_size = 12288;
		notify_refused(FUSE_NOTIFY_INVAL_ENTRY, &o, sizeof(o), "cached", 6, EINVAL,
			       "an INVAL_ENTRY name without its NUL");
		notify_refused(FUSE_NOTIFY_INVAL_ENTRY, &o, sizeof(o), "ca/hed", 7, EINVAL,
			       "an INVAL_ENTRY name with a slash");
		memset(longname, 'x', 300);
		o.namelen = 300;
		notify_refused(FUSE_NOTIFY_INVAL_ENTRY, &o, sizeof(o), longname, 301, ENAMETOOLONG,
			       "an INVAL_ENTRY name of 300 bytes");
		o.namelen = 6;
		notify_taken(FUSE_NOTIFY_INVAL_ENTRY, &o, sizeof(o), "cached", 7, "INVAL_ENTRY");
	} else if (!strcmp(what, "delete")) {
		struct fuse_notify_delete_out o = {.parent = 1, .child = cached_node, .namelen = 6};

		cached_gone = true;
		notify_taken(FUSE_NOTIFY_DELETE, &o, sizeof(o), "cached", 7, "DELETE");
	} else if (!strcmp(what, "retrieve")) {
		struct fuse_notify_retrieve_out o = {.notify_unique = 4242, .nodeid = cached_node,
						     .offset = 0, .size = 4096};
		struct fuse_notify_store_out st = {.nodeid = cached_node, .offset = 0, .size = 4};

		/* "cached" was deleted (its node forgotten): ENOENT, as Linux. */
		notify_refused(FUSE_NOTIFY_STORE, &st, sizeof(st), "data", 4, ENOENT,
			       "a STORE to a node the client let go");
		notify_refused(FUSE_NOTIFY_STORE, &st, sizeof(st), "dat", 3, EINVAL,
			       "a STORE shorter than it says");
		notify_taken(FUSE_NOTIFY_RETRIEVE, &o, sizeof(o), NULL, 0, "RETRIEVE");
		if (!notify_bad)
			printf("notify ok\n");
	} else if (!strcmp(what, "flood")) {
		/* Notifications by the thousand: INVAL_INODEs cost nothing
		 * to keep; RETRIEVEs queue answers this server does not read
		 * yet, and past the bound on pending requests are refused. */
		struct fuse_notify_inval_inode_out in = {.ino = STORED_NODE};
		struct fuse_notify_retrieve_out o = {.nodeid = STORED_NODE, .size = 4096};
		int inval_ok = 0, taken = 0, refused = 0;

		if (timeout_test)
			return;
		for (int i = 0; i < 10000; i++)
			inval_ok += notify(FUSE_NOTIFY_INVAL_INODE, &in, sizeof(in), NULL, 0) > 0;
		for (int i = 0; i < 3000; i++) {
			o.notify_unique = 10000 + (uint64_t)i;
			if (notify(FUSE_NOTIFY_RETRIEVE, &o, sizeof(o), NULL, 0) > 0)
				taken++;
			else
				refused += errno == EAGAIN;
		}
		printf("flood: %d of 10000 INVAL_INODE taken; RETRIEVE: %s\n", inval_ok,
		       taken > 0 && taken <= 1024 && taken + refused == 3000
			       ? "bounded, the rest EAGAIN"
			       : "unbounded");
	} else if (!strcmp(what, "store")) {
		/* "stored" is mapped by the client: its cached page takes the
		 * data, the size grows, and RETRIEVE sends the page back. */
		struct fuse_notify_store_out st = {.nodeid = STORED_NODE, .offset = 0, .size = 5};
		struct fuse_notify_retrieve_out o = {.notify_unique = 4343, .nodeid = STORED_NODE,
						     .offset = 0, .size = 4096};

		notify_taken(FUSE_NOTIFY_STORE, &st, sizeof(st), "fresh", 5, "a STORE");
		st.offset = 8190;
		st.size = 4;
		notify_taken(FUSE_NOTIFY_STORE, &st, sizeof(st), "tail", 4, "a STORE past the end");
		st.nodeid = 999;
		notify_refused(FUSE_NOTIFY_STORE, &st, sizeof(st), "tail", 4, ENOENT,
			       "a STORE to a node it never gave");
		st.nodeid = STORED_NODE;
		st.offset = UINT64_MAX - 1;
		notify_refused(FUSE_NOTIFY_STORE, &st, sizeof(st), "tail", 4, EINVAL,
			       "a STORE whose end wraps");
		notify_taken(FUSE_NOTIFY_RETRIEVE, &o, sizeof(o), NULL, 0, "a RETRIEVE of the page");
		if (!notify_bad)
			printf("store ok\n");
	}
}

/* max_background is 1: while the first RELEASE waits for its answer, a
 * second must not reach us (other requests, FLUSH, may).  Then answer. */
static bool hold_release;

/* Round trips of a stat of "good" (timeouts 0) between two markers. */
static bool counting, opened_9;
static int good_lookups, good_getattrs;
static int negative_lookups; /* of "negative", which is missing for an hour */
/* The "plus" run: INIT takes READDIRPLUS; the names its entries bring. */
static bool plus_mode;
static int plus_asks, plus_bad_forgets;

static void hold(uint64_t unique)
{
	static char buf[1 << 16];
	bool second = false;

	for (int i = 0; i < 6; i++) {
		struct pollfd p = {.fd = dev, .events = POLLIN};
		struct fuse_in_header *h = (struct fuse_in_header *)buf;

		if (poll(&p, 1, 50) != 1 || read(dev, buf, sizeof(buf)) <= 0)
			continue;
		second |= h->opcode == FUSE_RELEASE;
		reply(h->unique, 0, NULL, 0);
	}
	printf("max_background: %s\n", second ? "a second RELEASE came at once"
						: "the second RELEASE waited");
	reply(unique, 0, NULL, 0);
}

/* "brief" is unlinked while open: its last close sends RELEASE, and its
 * FORGET must wait for the answer, or a multi-threaded server may take
 * the FORGET first and find no node for the RELEASE.  Hold the answer a
 * while and see what comes. */
#define BRIEF_NODE 15

static void hold_brief(uint64_t unique)
{
	static char buf[1 << 16];

	for (int i = 0; i < 6; i++) {
		struct pollfd p = {.fd = dev, .events = POLLIN};
		struct fuse_in_header *h = (struct fuse_in_header *)buf;

		if (poll(&p, 1, 50) != 1 || read(dev, buf, sizeof(buf)) <= 0)
			continue;
		if (h->opcode == FUSE_FORGET && h->nodeid == BRIEF_NODE)
			printf("brief: FORGET before its RELEASE was answered\n");
		else if (h->opcode != FUSE_FORGET)
			reply(h->unique, 0, NULL, 0);
	}
	reply(unique, 0, NULL, 0);
}

static void fill_attr(struct fuse_attr *a, uint64_t ino, uint32_t mode, uint64_t size)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = mode;
	a->nlink = 1;
	a->size = size;
}

static void entry(uint64_t unique, uint64_t node, uint32_t mode)
{
	struct fuse_entry_out e = {.nodeid = node};

	fill_attr(&e.attr, node, mode, 4096);
	reply(unique, 0, &e, sizeof(e));
}

/* One dirent of @name (its length as @namelen claims) into @buf. */
static size_t dirent_put(char *buf, uint64_t off, const char *name, uint32_t namelen)
{
	struct fuse_dirent *d = (struct fuse_dirent *)buf;
	size_t len = strlen(name);

	d->ino = 99;
	d->off = off;
	d->namelen = namelen;
	d->type = DT_REG;
	memcpy(d->name, name, len);
	return FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + len);
}

static void serve(void)
{
	static char buf[1 << 20];

	for (;;) {
		ssize_t n;
		struct fuse_in_header *h = (struct fuse_in_header *)buf;
		char *arg = buf + sizeof(*h);

		if (small_first) {
			small_first = false;
			n = read(dev, buf, 16384);
			printf(n == -1 && errno == EINVAL ? "read buffer under max_write: EINVAL\n"
							  : "FAIL a read buffer under max_write was taken\n");
			continue;
		}
		n = read(dev, buf, small_reads ? BIGGEST_WRITE : sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* ENODEV: unmounted */
		switch (h->opcode) {
		case FUSE_INIT: {
			struct fuse_init_out o = {.major = 7, .minor = 31, .max_write = 65536,
						  .max_readahead = 65536, .flags = FUSE_POSIX_LOCKS,
						  .max_background = 1, .congestion_threshold = 1,
						  .max_pages = 8, .time_gran = 1000000000};

			if (plus_mode)
				o.flags |= FUSE_DO_READDIRPLUS;
			o.flags |= FUSE_MAX_PAGES; /* 8 pages: WRITEs of 32 KiB at most */
			/* Refused first: a length that is not what was written. */
			if (reply_raw(h->unique, 0, &o, sizeof(o), 999) != -1 || errno != EINVAL)
				printf("FAIL the sandbox took a reply with a false length\n");
			if (reply_raw(h->unique + 1000, 0, &o, sizeof(o), 16 + sizeof(o)) != -1 ||
			    errno != ENOENT)
				printf("FAIL the sandbox took a reply to no request\n");
			if (reply_raw(h->unique, 5, NULL, 0, 16) != -1 || errno != EINVAL)
				printf("FAIL the sandbox took a positive error\n");
			if (reply_raw(h->unique, -99999, NULL, 0, 16) != -1 || errno != EINVAL)
				printf("FAIL the sandbox took an error out of range\n");
			if (reply_raw(h->unique, -512, NULL, 0, 16) != -1 || errno != EINVAL)
				printf("FAIL the sandbox took a kernel restart code as an error\n");
			reply(h->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_LOOKUP:
			if (!strcmp(arg, "count-start") || !strcmp(arg, "count-end")) {
				if (arg[6] == 'e')
					printf("five stats: %d LOOKUP, %d GETATTR\n", good_lookups,
					       good_getattrs);
				counting = arg[6] == 's';
				good_lookups = good_getattrs = 0;
				reply(h->unique, -ENOENT, NULL, 0);
				break;
			}
			good_lookups += counting && !strcmp(arg, "good");
			if (!strcmp(arg, "negative")) {
				struct fuse_entry_out e = {.nodeid = 0, .entry_valid = 3600};

				negative_lookups++;
				reply(h->unique, 0, &e, sizeof(e));
				break;
			}
			if (!strcmp(arg, "plusdir") || !strcmp(arg, "plusbad")) {
				struct fuse_entry_out e = {.nodeid = arg[4] == 'd' ? 10 : 13,
							   .entry_valid = 3600, .attr_valid = 3600};

				fill_attr(&e.attr, e.nodeid, S_IFDIR | 0755, 4096);
				reply(h->unique, 0, &e, sizeof(e));
				break;
			}
			if (!strcmp(arg, "plus-count")) {
				printf("readdirplus: %d LOOKUP or GETATTR of its names, %d FORGET of the bad one\n",
				       plus_asks, plus_bad_forgets);
				reply(h->unique, -ENOENT, NULL, 0);
				break;
			}
			if (h->nodeid == 10) { /* the names READDIRPLUS brought */
				plus_asks++;
				reply(h->unique, -ENOENT, NULL, 0);
				break;
			}
			if (!strcmp(arg, "negative-count")) {
				printf("negative: %d LOOKUP\n", negative_lookups);
				reply(h->unique, -ENOENT, NULL, 0);
				break;
			}
			if (!strcmp(arg, "good") || !strcmp(arg, "big"))
				entry(h->unique, !strcmp(arg, "good") ? 2 : 3, S_IFREG | 0644);
			else if (!strcmp(arg, "badtype"))
				entry(h->unique, 4, 0777); /* no type bits */
			else if (!strcmp(arg, "hang") || !strcmp(arg, "hang-kill"))
				; /* never answered: --fuse-timeout, SIGKILL or our death end it */
			else if (!strcmp(arg, "hang-eintr"))
				hang_eintr_unique = h->unique; /* answered when interrupted */
			else if (!strcmp(arg, "changeling"))
				entry(h->unique, 30, changeling_lookups++ ? S_IFDIR | 0755 : S_IFREG | 0644);
			else if (!strcmp(arg, "twice")) {
				/* Answered twice: the second finds no request. */
				entry(h->unique, 2, S_IFREG | 0644);
				if (reply_raw(h->unique, -ENOENT, NULL, 0, 16) != -1 || errno != ENOENT)
					printf("FAIL the sandbox took a second answer to one request\n");
			} else if (!strcmp(arg, "pastend"))
				entry(h->unique, 31, S_IFDIR | 0755);
			else if (!strcmp(arg, "cached") && !cached_gone) {
				struct fuse_entry_out e = {.nodeid = cached_node, .entry_valid = 3600,
							   .attr_valid = 3600};

				fill_attr(&e.attr, cached_node, S_IFREG | 0644, cached_size);
				reply(h->unique, 0, &e, sizeof(e));
			} else if (!strcmp(arg, "small-reads") || !strcmp(arg, "big-reads")) {
				small_reads = small_first = arg[0] == 's';
				reply(h->unique, -ENOENT, NULL, 0);
			} else if (!strcmp(arg, "stored") || !strcmp(arg, "stream") ||
				   !strcmp(arg, "direct") || !strcmp(arg, "kept") ||
				   !strcmp(arg, "unkept")) {
				uint64_t node = arg[1] == 't' ? (arg[2] == 'o' ? STORED_NODE : STREAM_NODE)
					      : arg[0] == 'd' ? DIRECT_NODE
					      : arg[0] == 'k' ? KEPT_NODE : UNKEPT_NODE;
				struct fuse_entry_out e = {.nodeid = node, .entry_valid = 3600,
							   .attr_valid = 3600};

				fill_attr(&e.attr, node, S_IFREG | 0644, 4096);
				reply(h->unique, 0, &e, sizeof(e));
			} else if (!strcmp(arg, "polled") || !strcmp(arg, "ioctls")) {
				entry(h->unique, arg[0] == 'p' ? POLLED_NODE : IOCTL_NODE,
				      S_IFREG | 0644);
			} else if (!strcmp(arg, "ra") || !strcmp(arg, "ra-hold")) {
				struct fuse_entry_out e = {.nodeid = arg[2] ? RA_HOLD_NODE : RA_NODE};

				fill_attr(&e.attr, e.nodeid, S_IFREG | 0644, arg[2] ? 4096 : RA_SIZE);
				reply(h->unique, 0, &e, sizeof(e));
			} else if (!strcmp(arg, "init-count")) {
				printf("max_pages 8: largest WRITE %u bytes; time_gran 1 s: mtime nsec %u\n",
				       largest_write, setattr_mtime_nsec);
				reply(h->unique, -ENOENT, NULL, 0);
			} else if (!strcmp(arg, "mkdir-count")) {
				printf("mkdir: %d MKDIR answered badly\n", mkdirs_seen);
				reply(h->unique, -ENOENT, NULL, 0);
			} else if (!strcmp(arg, "shortentry")) {
				struct fuse_entry_out e = {.nodeid = 40};

				if (reply_raw(h->unique, 0, &e, 64, 16 + 64) != -1 || errno != EINVAL)
					printf("FAIL the sandbox took a 64-byte LOOKUP reply\n");
			} else if (!strcmp(arg, "slowread")) {
				entry(h->unique, SLOW_NODE, S_IFREG | 0644);
			} else if (!strcmp(arg, "slow-free")) {
				reply(slow_read_unique, 0, "slow", 4);
				reply(h->unique, -ENOENT, NULL, 0);
			} else if (!strcmp(arg, "bg-count")) {
				struct fuse_entry_out e = {.nodeid = 29};

				fill_attr(&e.attr, 29, S_IFREG | 0644, (uint64_t)good_releases);
				reply(h->unique, 0, &e, sizeof(e));
			} else if (!strcmp(arg, "ra-count")) {
				printf("%s: %d READ, %d bytes\n", ra_counts++ ? "congested" : "readahead",
				       ra_reads, ra_bytes);
				ra_reads = ra_bytes = 0;
				reply(h->unique, -ENOENT, NULL, 0);
			} else if (!strcmp(arg, "ra-free")) {
				good_releases = 0;
				reply(ra_held_release, 0, NULL, 0);
				reply(h->unique, -ENOENT, NULL, 0);
			} else if (!strcmp(arg, "poll-wake")) {
				struct fuse_notify_poll_wakeup_out w = {.kh = poll_kh};
				struct fuse_notify_poll_wakeup_out other = {.kh = poll_kh + 1000};

				poll_ready = true;
				notify_refused(FUSE_NOTIFY_POLL, &w, sizeof(w) - 1, NULL, 0, EINVAL,
					       "a short NOTIFY_POLL");
				notify_taken(FUSE_NOTIFY_POLL, &other, sizeof(other), NULL, 0,
					     "a NOTIFY_POLL for a handle it does not know");
				notify_taken(FUSE_NOTIFY_POLL, &w, sizeof(w), NULL, 0, "NOTIFY_POLL");
				reply(h->unique, -ENOENT, NULL, 0);
			} else if (!strcmp(arg, "poll-count")) {
				printf("poll: %d POLL asked%s\n", poll_asks,
				       poll_no_notify_flag ? ", one without SCHEDULE_NOTIFY" : "");
				reply(h->unique, -ENOENT, NULL, 0);
			} else if (!strcmp(arg, "read-counts")) {
				printf("keep-cache: %d READ with it, %d without\n", reads_of[KEPT_NODE],
				       reads_of[UNKEPT_NODE]);
				reply(h->unique, -ENOENT, NULL, 0);
			} else if (!strcmp(arg, "brief")) {
				entry(h->unique, BRIEF_NODE, S_IFREG | 0644);
			} else if (!strcmp(arg, "hold-release")) {
				hold_release = true;
				reply(h->unique, -ENOENT, NULL, 0);
			} else if (!strncmp(arg, "notify-", 7)) {
				send_notifications(arg + 7);
				reply(h->unique, -ENOENT, NULL, 0);
			} else if (!strcmp(arg, "shifty")) {
				/* Another node at every lookup: each revalidation
				 * forgets the new node and the old one; a pause
				 * lets both queue up, so they come as one batch. */
				entry(h->unique, shifty_node++, S_IFREG | 0644);
				if (shifty_node == 102)
					usleep(200000);
			} else if (!strcmp(arg, "badnames") || !strcmp(arg, "slash"))
				entry(h->unique, !strcmp(arg, "slash") ? 6 : 5, S_IFDIR | 0755);
			else
				reply(h->unique, -ENOENT, NULL, 0);
			break;
		case FUSE_GETATTR: {
			good_getattrs += counting && h->nodeid == 2;
			plus_asks += h->nodeid == 11 || h->nodeid == 12;
			struct fuse_attr_out o = {.attr_valid = 0};

			bool dir = h->nodeid == 1 || h->nodeid == 5 || h->nodeid == 6 ||
				   h->nodeid == 31 || (h->nodeid == 30 && changeling_lookups > 1);

			fill_attr(&o.attr, h->nodeid, dir ? S_IFDIR | 0755 : S_IFREG | 0644,
				  h->nodeid == cached_node ? cached_size
				  : h->nodeid == RA_NODE   ? RA_SIZE
							   : 4096);
			o.attr_valid = h->nodeid == cached_node ? 3600 : 0;
			reply(h->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_CREATE: {
			/* One round trip makes and opens it: the open must not ask again. */
			struct {
				struct fuse_entry_out e;
				struct fuse_open_out o;
			} r = {.e = {.nodeid = 9}, .o = {.fh = 77}};

			fill_attr(&r.e.attr, 9, S_IFREG | 0644, 0);
			reply(h->unique, 0, &r, sizeof(r));
			break;
		}
		case FUSE_WRITE: {
			struct fuse_write_in *wi = (struct fuse_write_in *)arg;
			struct fuse_write_out o = {.size = wi->size};

			if (wi->size > largest_write)
				largest_write = wi->size;
			if (h->nodeid == 9)
				printf("create: write on fh %llu, %s OPEN\n", (unsigned long long)wi->fh,
				       opened_9 ? "after an" : "no");
			if (h->nodeid == 2 && (wi->offset == 4096 || wi->offset == 8192)) {
				/* Data as the client wrote it, right after the
				 * arguments, and counted in the header's length. */
				const unsigned char *d = (const unsigned char *)(wi + 1);
				bool same = h->len == sizeof(*h) + sizeof(*wi) + wi->size &&
					    (size_t)n == h->len;

				for (uint32_t i = 0; i < wi->size && same; i++)
					same = d[i] == (wi->offset == 4096 ? (unsigned char)(i * 7 + 3)
						       : i < 5 ? 'd' : 0);
				printf("write-data at %llu: %u bytes%s\n",
				       (unsigned long long)wi->offset, wi->size,
				       same ? ", as written" : ", NOT as written");
			}
			reply(h->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_UNLINK:
			reply(h->unique, strcmp(arg, "brief") ? -EPERM : 0, NULL, 0);
			break;
		case FUSE_RELEASE:
			if (h->nodeid == BRIEF_NODE) {
				hold_brief(h->unique);
				break;
			}
			good_releases += h->nodeid == 2;
			if (h->nodeid == RA_HOLD_NODE) {
				ra_held_release = h->unique; /* answered at "ra-free" */
				break;
			}
			if (hold_release) {
				hold_release = false;
				hold(h->unique);
				break;
			}
			reply(h->unique, 0, NULL, 0);
			break;
		case FUSE_OPEN:
			opened_9 |= h->nodeid == 9;
			/* fall through */
		case FUSE_OPENDIR: {
			struct fuse_open_out o = {.fh = 7};

			o.open_flags = h->nodeid == STREAM_NODE ? FOPEN_NONSEEKABLE
				       : h->nodeid == DIRECT_NODE ? FOPEN_DIRECT_IO
				       : h->nodeid == KEPT_NODE	  ? FOPEN_KEEP_CACHE
								  : 0;
			reply(h->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_READDIR: {
			struct fuse_read_in *ri = (struct fuse_read_in *)arg;
			static char d[8192];
			size_t len = 0;

			if (ri->offset != 0) {
				reply(h->unique, 0, NULL, 0);
				break;
			}
			if (h->nodeid == 31) { /* a name that runs past the reply's end */
				len = dirent_put(d, 1, "short", 200); /* 32 bytes, namelen 200 */
			} else if (h->nodeid == 5) { /* a name longer than NAME_MAX */
				static char longname[301];

				memset(longname, 'x', 300);
				len = dirent_put(d, 1, longname, 300);
			} else if (h->nodeid == 6) {
				len = dirent_put(d, 1, "a/b", 3);
			} else {
				len = dirent_put(d, 1, "good", 4);
			}
			reply(h->unique, 0, d, len);
			break;
		}
		case FUSE_READ: {
			struct fuse_read_in *ri = (struct fuse_read_in *)arg;
			static char data[1 << 17];

			memset(data, 'd', sizeof(data));
			if (h->nodeid < 32)
				reads_of[h->nodeid]++;
			if (h->nodeid == SLOW_NODE) {
				slow_read_unique = h->unique; /* answered at "slow-free" */
				break;
			}
			if (h->nodeid == RA_NODE) {
				ra_reads++;
				ra_bytes += ri->size;
				reply(h->unique, 0, data, ri->size);
				break;
			}
			if (h->nodeid == 3) {
				/* More than asked: refused, and the caller's READ
				 * ended with EIO, so a second answer finds no
				 * request. */
				if (reply_raw(h->unique, 0, data, ri->size + 16,
					      16 + ri->size + 16) != -1 || errno != EINVAL)
					printf("FAIL the sandbox took a READ reply longer than asked\n");
				if (reply_raw(h->unique, -EIO, NULL, 0, 16) != -1 || errno != ENOENT)
					printf("FAIL a refused reply left its request waiting\n");
			} else {
				reply(h->unique, 0, data, ri->offset ? 0 : 5);
			}
			break;
		}
		case FUSE_READDIRPLUS: {
			/* "plusdir": ".", then two files with hour-long timeouts;
			 * "plusbad": an entry whose attributes have no type. */
			struct fuse_read_in *ri = (struct fuse_read_in *)arg;
			static char d[8192];
			size_t len = 0;
			const char *names[] = {".", "p1", "p2"}, *bad = "bad";

			if (ri->offset != 0) {
				reply(h->unique, 0, NULL, 0);
				break;
			}
			for (int i = 0; i < (h->nodeid == 10 ? 3 : 1); i++) {
				struct fuse_direntplus *p = (struct fuse_direntplus *)(d + len);
				uint64_t node = h->nodeid == 10 ? (i ? 10 + (uint64_t)i : 0) : 14;

				memset(p, 0, sizeof(*p));
				p->entry_out = (struct fuse_entry_out){.nodeid = node, .entry_valid = 3600,
								       .attr_valid = 3600};
				fill_attr(&p->entry_out.attr, node, h->nodeid == 10 ? S_IFREG | 0644 : 0777,
					  4096);
				const char *name = h->nodeid == 10 ? names[i] : bad;

				p->dirent = (struct fuse_dirent){.ino = node, .off = (uint64_t)i + 1,
								 .namelen = (uint32_t)strlen(name),
								 .type = DT_REG};
				memcpy(p->dirent.name, name, strlen(name));
				len += FUSE_DIRENTPLUS_SIZE(p);
			}
			reply(h->unique, 0, d, len);
			break;
		}
		case FUSE_FORGET: /* no reply */
			if (h->nodeid == BRIEF_NODE)
				printf("brief: FORGET after its RELEASE was answered\n");
			plus_bad_forgets += h->nodeid == 14;
			break;
		case FUSE_BATCH_FORGET: {
			struct fuse_batch_forget_in *b = (struct fuse_batch_forget_in *)arg;
			struct fuse_forget_one *one = (struct fuse_forget_one *)(b + 1);
			bool ok = n == (ssize_t)(sizeof(*h) + sizeof(*b) + b->count * sizeof(*one));

			for (uint32_t i = 0; ok && i < b->count; i++)
				ok = one[i].nodeid > FUSE_ROOT_ID && one[i].nodeid < shifty_node &&
				     one[i].nlookup == 1; /* "shifty"'s, or "cached"'s */
			printf("batch-forget: %u nodes%s\n", b->count, ok ? "" : ", malformed");
			break;
		}
		case FUSE_GETLK: {
			/* "good" has a lock of another's on [0, 99]; "big" lies. */
			struct fuse_lk_in *li = (struct fuse_lk_in *)arg;
			struct fuse_lk_out o = {.lk = {.type = F_UNLCK}};

			if (h->nodeid == 3)
				o.lk.type = 99;
			else if (li->lk.start <= 99)
				o.lk = (struct fuse_file_lock){.start = 0, .end = 99, .type = F_WRLCK,
							       .pid = 4321};
			reply(h->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_SETLK:
		case FUSE_SETLKW: {
			struct fuse_lk_in *li = (struct fuse_lk_in *)arg;

			lock_owner = li->owner;
			if (h->opcode == FUSE_SETLKW)
				saw_setlkw = li->lk.type == F_RDLCK && li->lk.start == 300 &&
					     li->lk.end == INT64_MAX;
			reply(h->unique, li->lk.start <= 99 && li->lk.type != F_UNLCK ? -EAGAIN : 0,
			      NULL, 0);
			break;
		}
		case FUSE_FLUSH: {
			struct fuse_flush_in *fi = (struct fuse_flush_in *)arg;

			/* The close drops the locks of the owner that took them. */
			if (lock_owner && saw_setlkw)
				printf("locks: flush %s the lock owner\n",
				       fi->lock_owner == lock_owner ? "names" : "does not name");
			lock_owner = 0;
			reply(h->unique, 0, NULL, 0);
			break;
		}
		case FUSE_POLL: {
			struct fuse_poll_in *pi = (struct fuse_poll_in *)arg;
			struct fuse_poll_out o = {.revents = poll_ready ? POLLIN : 0};

			poll_asks++;
			poll_kh = pi->kh;
			poll_no_notify_flag |= !(pi->flags & FUSE_POLL_SCHEDULE_NOTIFY);
			reply(h->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_IOCTL:
			serve_ioctl(h, (struct fuse_ioctl_in *)arg);
			break;
		case FUSE_NOTIFY_REPLY: {
			struct fuse_notify_retrieve_in *ri = (struct fuse_notify_retrieve_in *)arg;

			if (h->unique >= 10000) /* the flood's */
				break;
			printf("notify-reply: %llu, %u bytes%s%.*s\n", (unsigned long long)h->unique,
			       ri->size, ri->size ? ": " : "", ri->size < 5 ? (int)ri->size : 5,
			       (const char *)(ri + 1));
			break;
		}
		case FUSE_INTERRUPT: {
			struct fuse_interrupt_in *ii = (struct fuse_interrupt_in *)arg;

			/* No reply to the INTERRUPT itself; "hang-eintr" gives
			 * up with EINTR, as a server that honours them does. */
			if (hang_eintr_unique && ii->unique == hang_eintr_unique) {
				reply(hang_eintr_unique, -EINTR, NULL, 0);
				hang_eintr_unique = 0;
			}
			break;
		}
		case FUSE_SETATTR: {
			struct fuse_setattr_in *si = (struct fuse_setattr_in *)arg;
			struct fuse_attr_out o = {0};

			if (si->valid & FATTR_MTIME)
				setattr_mtime_nsec = si->mtimensec;
			fill_attr(&o.attr, h->nodeid, S_IFREG | 0644, 4096);
			reply(h->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_MKDIR: {
			const char *name = arg + sizeof(struct fuse_mkdir_in);
			struct fuse_entry_out e = {.nodeid = !strcmp(name, "node0") ? 0 : 41};

			mkdirs_seen++;
			fill_attr(&e.attr, 41, S_IFDIR | 0755, 4096);
			if (!strcmp(name, "shortmkdir")) {
				if (reply_raw(h->unique, 0, &e, 64, 16 + 64) != -1 || errno != EINVAL)
					printf("FAIL the sandbox took a 64-byte MKDIR reply\n");
				break;
			}
			reply(h->unique, 0, &e, sizeof(e));
			break;
		}
		default:
			reply(h->unique, -ENOSYS, NULL, 0);
		}
	}
}

static int list_error(const char *path);

static void on_sigint(int sig)
{
	(void)sig;
}

/* A child that stats @path and reports how it ended: 0 when the stat
 * failed with @err. */
static pid_t stat_child(const char *path, int err)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct sigaction sa = {.sa_handler = on_sigint}; /* no SA_RESTART */
		struct stat st;

		sigaction(SIGINT, &sa, NULL);
		errno = 0;
		_exit(stat(path, &st) == -1 && errno == err ? 0 : 1);
	}
	return pid;
}

/* Callers of a server that does not answer. */
static void waiter_checks(void)
{
	struct stat st;
	int status;
	pid_t pid;

	/* SIGINT: the server gets an INTERRUPT, answers EINTR, the caller
	 * gets EINTR. */
	pid = stat_child(MNT "/hang-eintr", EINTR);
	usleep(200000);
	kill(pid, SIGINT);
	EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Never answered at all: SIGKILL frees the caller, and the mount
	 * and other tasks go on meanwhile. */
	pid = stat_child(MNT "/hang-kill", 0);
	usleep(200000);
	EXPECT(stat(MNT "/good", &st) == 0); /* another task, the same server */
	{
		/* Other mounts too: the sandbox's tmpfs and /proc. */
		int fd = open("/tmp/hostile-other", O_CREAT | O_RDWR, 0644);

		EXPECT(fd >= 0 && write(fd, "x", 1) == 1 && close(fd) == 0);
		EXPECT(unlink("/tmp/hostile-other") == 0 && stat("/proc/self/status", &st) == 0);
	}
	kill(pid, SIGKILL);
	EXPECT(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
	       WTERMSIG(status) == SIGKILL);
	EXPECT(stat(MNT "/good", &st) == 0);
	/* A file that comes back as a directory under the same node: the
	 * name is looked up afresh and names a new inode, as in Linux (the
	 * old one's type never changes under its users). */
	EXPECT(stat(MNT "/changeling", &st) == 0 && S_ISREG(st.st_mode));
	EXPECT(stat(MNT "/changeling", &st) == 0 && S_ISDIR(st.st_mode));
	/* A reply answered twice (the server checks the second fails). */
	EXPECT(stat(MNT "/twice", &st) == 0);
	/* A dirent whose name runs past the end of the reply: EIO. */
	EXPECT(list_error(MNT "/pastend") == EIO);
	/* Entries that are not entries: a LOOKUP reply shorter than
	 * fuse_entry_out (refused: the server checks), a MKDIR reply of the
	 * same, and one that names node 0. */
	errno = 0;
	EXPECT(stat(MNT "/shortentry", &st) == -1 && errno == EIO);
	errno = 0;
	EXPECT(mkdir(MNT "/shortmkdir", 0755) == -1 && errno == EIO);
	errno = 0;
	EXPECT(mkdir(MNT "/node0", 0755) == -1 && errno == EIO);
	EXPECT(stat(MNT "/mkdir-count", &st) == -1);
	{
		/* INIT's max_pages bounds WRITEs, time_gran the times sent. */
		static char big[200000];
		struct timespec times[2] = {{0, UTIME_OMIT}, {5, 123456789}};
		int fd = open(MNT "/good", O_WRONLY);

		EXPECT(fd >= 0 && pwrite(fd, big, sizeof(big), 1 << 20) == sizeof(big));
		close(fd);
		EXPECT(utimensat(AT_FDCWD, MNT "/good", times, 0) == 0);
		EXPECT(stat(MNT "/init-count", &st) == -1);
	}
}

/* Map @path's first page, read it, and let go: the page stays cached. */
static void map_once(const char *path)
{
	int fd = open(path, O_RDONLY);
	char *m = fd >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;

	EXPECT(m != MAP_FAILED && m[0] == 'd');
	if (m != MAP_FAILED)
		munmap(m, 4096);
	close(fd);
}

/* What the server's open_flags change: NONSEEKABLE, DIRECT_IO, KEEP_CACHE. */
static void open_flags_checks(void)
{
	char buf[16];
	char *m;
	int fd = open(MNT "/stream", O_RDONLY);

	errno = 0;
	EXPECT(fd >= 0 && read(fd, buf, sizeof(buf)) == 5);
	EXPECT(lseek(fd, 0, SEEK_SET) == -1 && errno == ESPIPE);
	errno = 0;
	EXPECT(pread(fd, buf, sizeof(buf), 0) == -1 && errno == ESPIPE);
	close(fd);
	fd = open(MNT "/direct", O_RDWR);
	errno = 0;
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT(fd >= 0 && m == MAP_FAILED && errno == ENODEV);
	m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	EXPECT(m != MAP_FAILED && memcmp(m, "ddddd", 5) == 0);
	if (m != MAP_FAILED)
		munmap(m, 4096);
	close(fd);
	/* A read into memory that cannot be pinned (a private mapping of a
	 * FUSE file) goes through the bounce buffer, and still lands. */
	fd = open(MNT "/good", O_RDONLY);
	{
		int mfd = open(MNT "/stored", O_RDONLY);
		char *into = mfd >= 0 ? mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0)
				      : MAP_FAILED;

		EXPECT(into != MAP_FAILED && read(fd, into + 100, 16) == 5 &&
		       memcmp(into + 100, "ddddd", 5) == 0);
		/* And a write from such memory goes through it too. */
		if (into != MAP_FAILED) {
			int wfd = open(MNT "/good", O_WRONLY);

			memset(into + 100, 0, 5);
			EXPECT(wfd >= 0 && pwrite(wfd, into, 4096, 8192) == 4096);
			close(wfd);
		}
		if (into != MAP_FAILED)
			munmap(into, 4096);
		close(mfd);
	}
	close(fd);
	/* Twice each: the second open keeps the cached page only if the
	 * server said KEEP_CACHE. */
	map_once(MNT "/kept");
	map_once(MNT "/kept");
	map_once(MNT "/unkept");
	map_once(MNT "/unkept");
	EXPECT(stat(MNT "/read-counts", &st_unused) == -1);
}

/* A WRITE's data comes from the caller's pages, several of them: what
 * the server reads is what was written (the server checks). */
static void write_data_checks(void)
{
	int fd = open(MNT "/good", O_WRONLY);
	unsigned char *b = malloc(3 * 4096);

	EXPECT(fd >= 0 && b);
	if (!b)
		return;
	for (int i = 0; i < 10000; i++)
		b[100 + i] = (unsigned char)(i * 7 + 3);
	EXPECT(pwrite(fd, b + 100, 10000, 4096) == 10000);
	free(b);
	close(fd);
}

/* A read that waits for the server holds the file's offset, as Linux's
 * f_pos_lock, but nothing else: fcntl and ioctl on the same description
 * from another process go on (else this waits for itself: it is what
 * frees the read). */
static void shared_description_checks(void)
{
	int fd = open(MNT "/slowread", O_RDONLY), n = -1, status;
	struct stat st;
	pid_t reader;

	EXPECT(fd >= 0);
	reader = fork();
	if (reader == 0) {
		char buf[16];

		_exit(read(fd, buf, sizeof(buf)) == 4 && !memcmp(buf, "slow", 4) ? 0 : 1);
	}
	usleep(100000);
	EXPECT(fcntl(fd, F_SETFL, O_NONBLOCK) == 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK));
	EXPECT(ioctl(fd, FIONBIO, &(int){0}) == 0 && ioctl(fd, FIONREAD, &n) == 0 && n == 4096);
	EXPECT(stat(MNT "/slow-free", &st) == -1);
	EXPECT(waitpid(reader, &status, 0) == reader && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0);
	close(fd);
}

/* IOCTL: the command's encoding sizes what moves; lies are EIO. */
static void ioctl_checks(void)
{
	int fd = open(MNT "/ioctls", O_RDWR);
	struct sum_arg a = {.a = 40, .b = 2};
	uint32_t v = 0;

	EXPECT(fd >= 0 && ioctl(fd, IOC_SUM, &a) == 0 && a.a == 42 && a.b == 1);
	errno = 0;
	EXPECT(ioctl(fd, IOC_SUM, (void *)8) == -1 && errno == EFAULT);
	errno = 0;
	EXPECT(ioctl(fd, IOC_TOO_LONG, &v) == -1 && errno == EIO);
	errno = 0;
	EXPECT(ioctl(fd, IOC_BAD_ERRNO) == -1 && errno == EIO);
	EXPECT(ioctl(fd, IOC_SEVEN) == 7);
	errno = 0;
	EXPECT(ioctl(fd, IOC_RETRY) == -1 && errno == EIO);
	errno = 0;
	EXPECT(ioctl(fd, IOC_NOSYS) == -1 && errno == ENOTTY);
	errno = 0;
	EXPECT(ioctl(fd, IOC_RESTART) == -1 && errno == EIO);
	close(fd);
}

/* A fault on a mapping reads ahead max_readahead (64 KiB here), and only
 * its page while the mount is congested (a RELEASE held: one background
 * request, congestion_threshold 1). */
static void readahead_checks(void)
{
	int fd = open(MNT "/ra", O_RDONLY), hold;
	volatile char *m = fd >= 0 ? mmap(NULL, RA_SIZE, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
	struct stat st;

	EXPECT(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	EXPECT(m[0] == 'd' && m[65536 - 1] == 'd');
	EXPECT(stat(MNT "/ra-count", &st) == -1);
	hold = open(MNT "/ra-hold", O_RDONLY);
	EXPECT(hold >= 0 && close(hold) == 0);
	usleep(100000);
	EXPECT(m[RA_SIZE / 2] == 'd');
	EXPECT(stat(MNT "/ra-count", &st) == -1);
	/* Still held: closes queue their RELEASEs behind it (max_background
	 * 1), up to FUSE_MAX_BG_QUEUE, 1024; the rest are not sent. */
	for (int i = 0; i < 1100; i++) {
		int g = open(MNT "/good", O_RDONLY);

		EXPECT(g >= 0 && close(g) == 0);
	}
	EXPECT(stat(MNT "/ra-free", &st) == -1);
	for (int i = 0; i < 200 && stat(MNT "/bg-count", &st) == 0 && st.st_size < 1024; i++)
		usleep(50000);
	usleep(300000);
	EXPECT(stat(MNT "/bg-count", &st) == 0);
	printf("background queue: %lld RELEASE sent of 1100\n", (long long)st.st_size);
	munmap((void *)m, RA_SIZE);
	close(fd);
}

/* POLL: "not ready" stands, without asking again, until NOTIFY_POLL. */
static void poll_checks(void)
{
	int fd = open(MNT "/polled", O_RDONLY);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct timespec t0, t1;
	struct stat st;
	pid_t waker;
	long ms;

	EXPECT(fd >= 0 && poll(&p, 1, 0) == 0);
	{
		/* One file polled for two things at once: one more POLL, not
		 * a stream of them (each request would wake the other). */
		struct pollfd two[2] = {{.fd = fd, .events = POLLIN}, {.fd = fd, .events = POLLOUT}};

		EXPECT(poll(two, 2, 200) == 0);
	}
	waker = fork();
	if (waker == 0) {
		usleep(300000);
		_exit(stat(MNT "/poll-wake", &st) == -1 ? 0 : 1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT(poll(&p, 1, 5000) == 1 && p.revents == POLLIN);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	EXPECT(ms >= 250 && ms < 4000);
	waitpid(waker, NULL, 0);
	close(fd);
	EXPECT(stat(MNT "/poll-count", &st) == -1);
}

/* Read a directory to its end: the errno it ended with (0: none), and
 * no entry may have come from the bad listing. */
static int list_error(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int err;

	if (!d)
		return -1;
	errno = 0;
	while ((e = readdir(d)))
		if (strlen(e->d_name) > 255 || strchr(e->d_name, '/'))
			return -2;
	err = errno;
	closedir(d);
	return err;
}

static void client(void)
{
	struct stat st;
	char buf[64];
	int fd;

	EXPECT(stat(MNT "/good", &st) == 0 && S_ISREG(st.st_mode));
	fd = open(MNT "/good", O_RDONLY);
	EXPECT(fd >= 0 && read(fd, buf, sizeof(buf)) == 5 && !memcmp(buf, "ddddd", 5));
	close(fd);
	errno = 0;
	EXPECT(stat(MNT "/badtype", &st) == -1 && errno == EIO);
	EXPECT(stat(MNT "/missing", &st) == -1 && errno == ENOENT);
	EXPECT(list_error(MNT "/badnames") == EIO);
	EXPECT(list_error(MNT "/slash") == EIO);
	fd = open(MNT "/big", O_RDONLY);
	errno = 0;
	EXPECT(fd >= 0 && read(fd, buf, sizeof(buf)) == -1 && errno == EIO);
	close(fd);
	/* A read buffer that cannot take the biggest WRITE is refused (the
	 * server checks), and the requests wait for a read that can; one
	 * bigger than that buffer even so (a 64 KiB xattr with a long
	 * name) fails, E2BIG as Linux's SETXATTR, and the server goes on. */
	fd = open(MNT "/good", O_WRONLY);
	EXPECT(stat(MNT "/small-reads", &st) == -1);
	{
		static char big[65536], name[200] = "user.";

		memset(name + 5, 'n', sizeof(name) - 6);
		EXPECT(fd >= 0 && pwrite(fd, big, 32768, 0) == 32768);
		errno = 0;
		EXPECT(setxattr(MNT "/good", name, big, sizeof(big), 0) == -1 && errno == E2BIG);
		EXPECT(pwrite(fd, big, 4096, 0) == 4096); /* served */
	}
	EXPECT(stat(MNT "/big-reads", &st) == -1);
	close(fd);
	/* A name whose node changes: the second stat drops the first node. */
	EXPECT(stat(MNT "/shifty", &st) == 0 && st.st_ino == 100);
	EXPECT(stat(MNT "/shifty", &st) == 0 && st.st_ino == 102);
	usleep(300000); /* the server reads the FORGETs after its pause */

	/* Notifications: "cached" has hour-long timeouts, so only they can
	 * show the client that it changed. */
	EXPECT(stat(MNT "/cached", &st) == 0 && st.st_ino == 7 && st.st_size == 4096);
	EXPECT(stat(MNT "/notify-inode", &st) == -1); /* the size is 8192 now */
	EXPECT(stat(MNT "/cached", &st) == 0 && st.st_ino == 7 && st.st_size == 8192);
	EXPECT(stat(MNT "/notify-entry", &st) == -1); /* another node now */
	EXPECT(stat(MNT "/cached", &st) == 0 && st.st_ino == 8 && st.st_size == 12288);
	EXPECT(stat(MNT "/notify-delete", &st) == -1);
	errno = 0;
	EXPECT(stat(MNT "/cached", &st) == -1 && errno == ENOENT);
	EXPECT(stat(MNT "/notify-retrieve", &st) == -1);
	usleep(100000); /* the server reads the NOTIFY_REPLY */
	/* STORE into a mapped page, and RETRIEVE it. */
	fd = open(MNT "/stored", O_RDONLY);
	EXPECT(fd >= 0);
	{
		char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

		EXPECT(m != MAP_FAILED && memcmp(m, "ddddd", 5) == 0);
		EXPECT(stat(MNT "/notify-store", &st) == -1);
		EXPECT(m != MAP_FAILED && memcmp(m, "fresh", 5) == 0);
		EXPECT(fstat(fd, &st) == 0 && st.st_size == 8194);
		usleep(100000); /* the server reads the NOTIFY_REPLY */
		EXPECT(stat(MNT "/notify-flood", &st) == -1); /* (its attributes go) */
		if (m != MAP_FAILED)
			munmap(m, 4096);
	}
	close(fd);
	open_flags_checks();
	waiter_checks();
	write_data_checks();
	shared_description_checks();
	ioctl_checks();
	poll_checks();
	readahead_checks();

	/* POSIX locks go to the server, which asked for them at INIT. */
	fd = open(MNT "/good", O_RDWR);
	EXPECT(fd >= 0);
	{
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 1};

		EXPECT(fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_WRLCK && fl.l_pid == 4321 &&
		       fl.l_start == 0 && fl.l_len == 100);
		fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 1};
		errno = 0;
		EXPECT(fcntl(fd, F_SETLK, &fl) == -1 && errno == EAGAIN);
		fl.l_start = 200;
		EXPECT(fcntl(fd, F_SETLK, &fl) == 0);
		fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 300};
		EXPECT(fcntl(fd, F_SETLKW, &fl) == 0);
	}
	close(fd);
	fd = open(MNT "/big", O_RDONLY);
	{
		struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};

		errno = 0;
		EXPECT(fd >= 0 && fcntl(fd, F_GETLK, &fl) == -1 && errno == EIO); /* type 99 */
	}
	close(fd);
	usleep(100000);

	/* With timeouts 0 each stat is one round trip: the LOOKUP that
	 * revalidates the name brings the attributes for the same syscall. */
	EXPECT(stat(MNT "/count-start", &st) == -1);
	for (int i = 0; i < 5; i++)
		EXPECT(stat(MNT "/good", &st) == 0 && st.st_ino == 2);
	EXPECT(stat(MNT "/count-end", &st) == -1);

	/* A missing name with an entry timeout is remembered: three stats,
	 * one LOOKUP; making a name in the directory forgets it (below). */
	for (int i = 0; i < 3; i++)
		EXPECT(stat(MNT "/negative", &st) == -1 && errno == ENOENT);

	/* open(O_CREAT) of a new file is one CREATE. */
	fd = open(MNT "/newfile", O_CREAT | O_WRONLY | O_EXCL, 0644);
	EXPECT(fd >= 0 && write(fd, "x", 1) == 1);
	close(fd);
	EXPECT(stat(MNT "/negative", &st) == -1 && errno == ENOENT);
	EXPECT(stat(MNT "/negative-count", &st) == -1);

	/* The last close of an unlinked file: RELEASE, then FORGET. */
	fd = open(MNT "/brief", O_RDONLY);
	EXPECT(fd >= 0 && unlink(MNT "/brief") == 0);
	close(fd);
	usleep(400000);

	/* Two RELEASEs at once, with max_background 1. */
	EXPECT(stat(MNT "/hold-release", &st) == -1);
	{
		int a = open(MNT "/good", O_RDONLY), b = open(MNT "/good", O_RDONLY);

		EXPECT(a >= 0 && b >= 0);
		close(a);
		usleep(20000);
		close(b);
		usleep(500000);
	}
}

/* The "plus" run: READDIRPLUS fills the dentry cache, so stats of the
 * names it brought ask nothing; a bad entry fails the listing and its
 * lookup is forgotten. */
static void client_plus(void)
{
	struct stat st;
	DIR *d = opendir(MNT "/plusdir");
	int names = 0;

	while (d && readdir(d))
		names++;
	EXPECT(d && names == 2); /* p1, p2: "." is not the server's to give */
	if (d)
		closedir(d);
	EXPECT(stat(MNT "/plusdir/p1", &st) == 0 && st.st_ino == 11 && S_ISREG(st.st_mode));
	EXPECT(stat(MNT "/plusdir/p2", &st) == 0 && st.st_ino == 12);
	EXPECT(list_error(MNT "/plusbad") == EIO);
	usleep(100000);
	EXPECT(stat(MNT "/plus-count", &st) == -1);
}

int main(int argc, char **argv)
{
	timeout_test = argc > 1 && !strcmp(argv[1], "timeout");

	plus_mode = argc > 1 && !strcmp(argv[1], "plus");
	char opts[128];
	int status;
	pid_t server, cl;

	setvbuf(stdout, NULL, _IONBF, 0);
	mkdir(MNT, 0755);
	dev = open("/dev/fuse", O_RDWR);
	EXPECT(dev >= 0);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,extra=1", dev);
	EXPECT(mount("hostile", MNT, "fuse.hostile", 0, opts) == -1 && errno == EINVAL);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000", dev);
	EXPECT(mount("hostile", MNT, "fuse.hostile", 0, opts) == -1 && errno == EINVAL);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", dev);
	EXPECT(mount("hostile", MNT, "fuse.hostile", 0, opts) == 0);
	server = fork();
	if (server == 0) {
		serve();
		_exit(0);
	}
	cl = fork();
	if (cl == 0) {
		if (plus_mode)
			client_plus();
		else
			client();
		_exit(failures ? 1 : 0);
	}
	EXPECT(waitpid(cl, &status, 0) == cl && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (timeout_test) {
		/* Run under --fuse-timeout: a request the server never answers
		 * aborts the connection, and the caller gets ENOTCONN; also
		 * one whose INTERRUPT is not answered either (a SIGINT while
		 * it waits), and, on another mount, a wait for an INIT that
		 * never comes. */
		struct stat st;
		pid_t ic = stat_child(MNT "/hang", ENOTCONN);
		int d2 = open("/dev/fuse", O_RDWR);

		usleep(100000);
		kill(ic, SIGINT);
		EXPECT(waitpid(ic, &status, 0) == ic && WIFEXITED(status) &&
		       WEXITSTATUS(status) == 0);
		printf("interrupted hang ended\n");
		snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", d2);
		mkdir(MNT "2", 0755);
		EXPECT(d2 >= 0 && mount("mute", MNT "2", "fuse.mute", 0, opts) == 0);
		{
			/* Its device: readable with INIT queued (poll, epoll),
			 * then, INIT taken, nothing: EAGAIN when non-blocking. */
			static char b[1 << 17];
			struct pollfd p = {.fd = d2, .events = POLLIN};
			struct epoll_event ev = {.events = EPOLLIN}, got;
			int ep = epoll_create1(0);

			EXPECT(poll(&p, 1, 0) == 1 && (p.revents & POLLIN));
			EXPECT(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, d2, &ev) == 0 &&
			       epoll_wait(ep, &got, 1, 0) == 1 && (got.events & EPOLLIN));
			EXPECT(fcntl(d2, F_SETFL, O_NONBLOCK) == 0);
			EXPECT(read(d2, b, sizeof(b)) > 0 &&
			       ((struct fuse_in_header *)b)->opcode == FUSE_INIT);
			errno = 0;
			EXPECT(read(d2, b, sizeof(b)) == -1 && errno == EAGAIN);
			EXPECT(poll(&p, 1, 0) == 0 && epoll_wait(ep, &got, 1, 0) == 0);
			close(ep);
		}
		errno = 0;
		EXPECT(stat(MNT "2/x", &st) == -1 && errno == ENOTCONN);
		printf("no INIT answer: %s\n", strerror(errno));
		EXPECT(umount(MNT "2") == 0);
		close(d2);
		errno = 0;
		EXPECT(stat(MNT "/hang", &st) == -1 && errno == ENOTCONN);
		printf("hang ended: %s\n", strerror(errno));
	}

	/* The server goes away (and our copy of its fd too) with a request
	 * in flight: its caller fails, and so do later ones. */
	cl = fork();
	if (cl == 0) {
		struct stat st;

		close(dev);
		errno = 0;
		_exit(stat(MNT "/hang-kill", &st) == -1 && errno == ENOTCONN ? 0 : 1);
	}
	usleep(200000);
	kill(server, SIGKILL);
	waitpid(server, &status, 0);
	close(dev);
	EXPECT(waitpid(cl, &status, 0) == cl && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	{
		struct stat st;

		errno = 0;
		EXPECT(stat(MNT "/other", &st) == -1 && errno == ENOTCONN);
	}
	EXPECT(umount(MNT) == 0);
	if (failures)
		return 1;
	printf("fuse-hostile ok\n");
	return 0;
}

/*
 * fuse_selfmap: a two-thread FUSE server (speaking /dev/fuse itself) that
 * reads a request into, and writes a reply out of, a mapping of a file
 * on its own mount whose page is not cached yet.  The copy faults, the
 * fault asks the same connection for the page, and the other thread
 * answers it.  Linux serves this; a client that held its connection's
 * lock while copying from or to the server would wait for itself
 * forever.  The server says "selfmap: reply copied out of a mapping"
 * and "selfmap: request read into a mapping" when each copy completed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define MNT "/tmp/selfmap"

static int dev;
static volatile int copied_out, copied_in; /* the server's */

static void reply(uint64_t unique, int error, const void *p, size_t len)
{
	struct fuse_out_header oh = {.len = (uint32_t)(sizeof(oh) + len), .error = error,
				     .unique = unique};
	struct iovec iov[2] = {{&oh, sizeof(oh)}, {(void *)p, len}};

	writev(dev, iov, len ? 2 : 1);
}

static void entry(uint64_t unique, uint64_t node, uint32_t mode)
{
	struct fuse_entry_out e = {.nodeid = node, .attr_valid = 60, .entry_valid = 60};

	e.attr.ino = node;
	e.attr.mode = mode;
	e.attr.nlink = 1;
	e.attr.size = node == 1 ? 0 : 1 << 20;
	reply(unique, 0, &e, sizeof(e));
}

/* A fresh, uncached page of a file on our own mount (@file: one page per
 * use, so that none is cached before its first touch is the copy). */
static unsigned char *fresh_page(const char *file, int prot)
{
	int fd = open(file, O_RDWR);
	void *m = fd < 0 ? MAP_FAILED : mmap(NULL, 1 << 20, prot, MAP_PRIVATE, fd, 0);

	if (fd >= 0)
		close(fd);
	return m == MAP_FAILED ? NULL : m;
}

static void serve_one(unsigned char *buf, size_t size)
{
	struct fuse_in_header *h = (struct fuse_in_header *)buf;
	const char *arg = (const char *)(buf + sizeof(*h));

	switch (h->opcode) {
	case FUSE_INIT: {
		struct fuse_init_out o = {.major = 7, .minor = 31, .max_write = 65536,
					  .max_readahead = 65536};

		reply(h->unique, 0, &o, sizeof(o));
		break;
	}
	case FUSE_LOOKUP:
		if (!strcmp(arg, "data") || !strcmp(arg, "data2")) {
			entry(h->unique, arg[4] ? 3 : 2, S_IFREG | 0644);
		} else if (!strcmp(arg, "trigger")) {
			/* The reply's payload straight out of an unfilled page. */
			unsigned char *m = fresh_page(MNT "/data", PROT_READ);
			struct fuse_out_header oh = {.len = sizeof(oh) + sizeof(struct fuse_entry_out),
						     .unique = h->unique};
			struct iovec iov[2] = {{&oh, sizeof(oh)}, {m, sizeof(struct fuse_entry_out)}};

			if (!m) {
				reply(h->unique, -EIO, NULL, 0);
				break;
			}
			/* The page is 'm' bytes: an entry without a file type,
			 * EIO to the caller.  What matters is that the copy
			 * finished. */
			if (writev(dev, iov, 2) > 0) {
				copied_out = 1;
				printf("selfmap: reply copied out of a mapping\n");
			}
			munmap(m, 1 << 20);
		} else {
			reply(h->unique, -ENOENT, NULL, 0);
		}
		break;
	case FUSE_GETATTR: {
		struct fuse_attr_out o = {.attr_valid = 60};

		o.attr.ino = h->nodeid;
		o.attr.mode = h->nodeid == 1 ? S_IFDIR | 0755 : S_IFREG | 0644;
		o.attr.nlink = 1;
		o.attr.size = h->nodeid == 1 ? 0 : 1 << 20;
		reply(h->unique, 0, &o, sizeof(o));
		break;
	}
	case FUSE_OPEN: {
		struct fuse_open_out o = {.fh = 1};

		reply(h->unique, 0, &o, sizeof(o));
		break;
	}
	case FUSE_READ: {
		struct fuse_read_in *ri = (struct fuse_read_in *)(buf + sizeof(*h));
		static __thread char data[65536];

		memset(data, 'm', sizeof(data));
		reply(h->unique, 0, data, ri->size < sizeof(data) ? ri->size : sizeof(data));
		break;
	}
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		break;
	default:
		reply(h->unique, h->opcode == FUSE_FLUSH || h->opcode == FUSE_RELEASE ? 0 : -ENOSYS,
		      NULL, 0);
	}
	(void)size;
}

static void *serve(void *arg)
{
	static __thread unsigned char buf[1 << 17];
	static int claimed; /* a thread took the mapped read */

	for (;;) {
		unsigned char *into = buf;
		ssize_t n;

		/* Once, by whichever thread reads first after the reply: read
		 * the next request into an unfilled, writable private page
		 * (its fault reads it in, the other thread answering, then
		 * copies it).  The sandbox may hand every request to the
		 * thread that spins in read, so until the mapped read is done
		 * the other thread comes back to read late: the next request
		 * goes to the one waiting in the mapping, and the fault's READ
		 * to the other all the same. */
		if (copied_out && !copied_in && !__atomic_exchange_n(&claimed, 1, __ATOMIC_ACQ_REL)) {
			into = fresh_page(MNT "/data2", PROT_READ | PROT_WRITE);
			if (!into)
				into = buf;
		} else if (claimed && !copied_in) {
			usleep(2000);
		}
		n = read(dev, into, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		if (into != buf) {
			copied_in = 1;
			printf("selfmap: request read into a mapping\n");
			memcpy(buf, into, (size_t)n);
			munmap(into, 1 << 20);
		}
		serve_one(buf, (size_t)n);
	}
}

int main(void)
{
	char opts[128];
	struct stat st;
	pid_t server;
	int status;

	setvbuf(stdout, NULL, _IONBF, 0);
	mkdir(MNT, 0755);
	dev = open("/dev/fuse", O_RDWR);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", dev);
	if (dev < 0 || mount("selfmap", MNT, "fuse.selfmap", 0, opts)) {
		printf("mount: %s\n", strerror(errno));
		return 1;
	}
	server = fork();
	if (server == 0) {
		pthread_t other;

		pthread_create(&other, NULL, serve, NULL);
		serve(NULL);
		_exit(0);
	}
	close(dev);
	/* (Whatever the page's bytes make of the entry: it only has to come.) */
	(void)stat(MNT "/trigger", &st);
	/* Requests until one went into a mapped page (either thread reads). */
	for (int i = 0; i < 40; i++) {
		char name[64];

		snprintf(name, sizeof(name), MNT "/missing%d", i);
		if (stat(name, &st) == 0 || errno != ENOENT)
			printf("FAIL %s: %s\n", name, strerror(errno));
	}
	umount2(MNT, MNT_DETACH);
	kill(server, SIGKILL);
	waitpid(server, &status, 0);
	printf("selfmap done\n");
	return 0;
}

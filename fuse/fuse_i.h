/*
 * fuse/fuse_i.h - inside the FUSE client: connections and requests.
 *
 * Life of a request (struct fuse_req): the calling task builds it
 * (fuse_request), queues it on its connection's pending list and waits;
 * the server's read(2) of /dev/fuse copies it out and moves it to the
 * processing list (SENT); the server's write(2) of the reply, once
 * checked, copies the payload into the request's reply buffer and marks it
 * DONE, and the caller wakes.  Requests nobody waits for (FORGET,
 * RELEASE, INTERRUPT, INIT) are "background": freed when done, or when
 * read if no reply is expected.  A caller a signal interrupts before the
 * server read its request takes it back (-ERESTARTSYS); after, it sends
 * FUSE_INTERRUPT and waits for the reply, unless it is being killed, in
 * which case it abandons the request (freed when the reply comes or the
 * connection ends).
 *
 * The connection ends (aborts) when the last device fd is closed or the
 * mount goes: every request still queued or sent fails with ENOTCONN, and
 * the server's read returns ENODEV.
 *
 * Locking: fuse_conn.lock protects everything in the connection and its
 * requests.  It is never held while copying to or from the server's
 * buffer (a copy may fault into a mount of the same server: dev_read and
 * dev_write mark the request and copy unlocked), nor while waiting for
 * anything but the server, and no other sentry lock is held while a
 * caller waits (a file's pos_lock, as Linux's f_pos_lock, excepted).
 */
#ifndef KSENTRY_FUSE_FUSE_I_H
#define KSENTRY_FUSE_FUSE_I_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "abi/fuse.h"
#include "fuse/fuse.h"
#include "kernel/task.h"
#include "kernel/vfs/fdtable.h"

#define FUSE_MAX_PENDING 1024 /* queued requests per connection; then callers wait */
/* Background requests waiting behind max_background; past it a RELEASE
 * is not sent at all: a server that far behind has stopped, and the
 * sentry's memory must not grow with every close (dev.c background). */
#define FUSE_MAX_BG_QUEUE 1024
#define FUSE_NODE_BUCKETS 1024 /* the node table's hash */
#define FUSE_READAHEAD_OFFER (128 * 1024) /* INIT's max_readahead */
#define FUSE_SPIN_BYTES (64 * 1024) /* a caller spins for answers to requests this small */

struct fuse_conn;
struct fuse_inode;

enum fuse_req_state { FUSE_REQ_PENDING, FUSE_REQ_SENT, FUSE_REQ_DONE };

struct fuse_req {
	struct fuse_req *next;	 /* in pending or processing */
	enum fuse_req_state state;
	uint64_t unique;
	uint32_t opcode;
	bool background;	 /* nobody waits: freed when done */
	bool counted;		 /* one of the max_background in flight */
	bool abandoned;		 /* the caller gave up: freed when done */
	bool no_reply;		 /* FORGET, INTERRUPT: freed when read */
	bool copying;		 /* dev_write copies the reply into out, unlocked */
	const struct fuse_sg *sg; /* or into these pieces of the caller's memory */
	int nsg;
	unsigned char *in;	 /* header and arguments, malloc'd */
	size_t in_len;
	/* Data that follows them, in pieces of the caller's own memory
	 * (pinned): dev_read copies it straight into the server's buffer,
	 * while copying_in says so and the caller may not let it go.  That
	 * wait (as the one for `copying`) holds even a killed caller: the
	 * copy is the server thread's, and ends when the server's memory
	 * answers, or when the server is killed (a server whose buffer maps
	 * its own mount, single-threaded, waits on itself: fuse-selfmap). */
	const struct fuse_sg *in_sg;
	int in_nsg;
	size_t in_sg_len;
	bool copying_in;
	void *out;		 /* reply payload goes here */
	size_t out_size;	 /* at most this much */
	size_t out_len;		 /* what came */
	bool out_exact;		 /* the reply must be out_size long (fixed-size replies) */
	int error;		 /* 0 or a negative errno */
	void (*done)(struct fuse_conn *fc, struct fuse_req *req); /* background completion */
	/* Run once the request is over (answered or failed), with no lock
	 * held: what must outlive it, so that nothing after it (a RELEASE
	 * after a WRITE, a FORGET after a RELEASE) can overtake it in a
	 * multi-threaded server. */
	void (*then)(void *arg);
	void *then_arg;
	pthread_cond_t done_cond; /* its caller waits here, alone (fc->lock) */
};

struct fuse_conn {
	struct kernel *k;
	pthread_mutex_t lock;
	/* Waits, each woken only by what it waits for: server threads in
	 * read(2) on @readable (a queued request wakes one of them), a
	 * caller on its request's done_cond, and callers waiting for INIT
	 * or for room in the queue on @changed (counted by @changed_waiters,
	 * so that no broadcast is paid for while nobody waits). */
	pthread_cond_t readable;
	unsigned readers_spinning; /* server threads spinning in read (no signal needed); lock */
	pthread_cond_t changed;
	unsigned changed_waiters;
	int refs;		 /* device files + the mount */
	int dev_files;		 /* open /dev/fuse files of this connection */
	bool connected;		 /* false once aborted */
	bool initialized;	 /* the FUSE_INIT reply came */
	bool mounted;
	bool destroying;	 /* FUSE_DESTROY queued: no more FORGETs */
	bool destroy_wanted;	 /* ... once the background requests are over */
	unsigned thens_running;	 /* unlock_ended callers running ->then callbacks */
	struct fuse_req *pending, **pending_tail;
	struct fuse_req *processing;
	unsigned npending;
	uint64_t next_unique;

	/* Background requests (RELEASE, RELEASEDIR): at most max_background
	 * queued or in flight; the rest wait on bg_queue, in order, at most
	 * FUSE_MAX_BG_QUEUE of them. */
	unsigned active_background;
	struct fuse_req *bg_queue, **bg_tail;
	unsigned bg_queued;
	struct fuse_req *ended;	 /* over, with a ->then to run once unlocked */

	/* Negotiated at FUSE_INIT. */
	uint32_t minor;
	uint32_t flags;
	uint16_t max_background;       /* 12 until the reply says */
	uint16_t congestion_threshold; /* 9 until then; see docs/fuse.md */
	uint32_t time_gran;	       /* ns; timestamps the server keeps */
	uint32_t max_readahead;	       /* bounds a mapping's fill (fs.c fmap_fill) */
	uint32_t max_write;
	uint32_t max_read;	 /* mount's max_read=, or max_write */
	bool no_open, no_opendir; /* the server said ENOSYS: opens are not needed */
	bool no_flush, no_fsync, no_xattr;
	bool no_fallocate, no_lseek; /* ENOSYS to FALLOCATE, LSEEK */
	bool no_poll;		 /* ENOSYS to POLL: files are always ready */
	bool no_lock;		 /* the server said ENOSYS to a lock op: ours serve */
	bool no_create;		 /* ENOSYS to CREATE: MKNOD then OPEN */
	uint64_t owner_key;	 /* lock owners go to the server keyed, never as pointers */
	unsigned timeout_ms;	 /* --fuse-timeout; 0: none */

	/* Live inodes by node ID, for the server's notifications (fs.c).
	 * nodes_lock, which nests inside no other FUSE lock. */
	pthread_mutex_t nodes_lock;
	struct fuse_inode *nodes[FUSE_NODE_BUCKETS];
	uint64_t inval_epoch;	 /* INVAL_ENTRY and DELETE notifications so far */
	/* Files polled so far, for NOTIFY_POLL (fs.c); nodes_lock. */
	struct fuse_file *polled;
	uint64_t next_kh;
};

/* The connection behind a /dev/fuse file, or NULL for another file. */
struct fuse_conn *fuse_dev_conn(struct vfs_file *f);

void fuse_conn_get(struct fuse_conn *fc);
void fuse_conn_put(struct fuse_conn *fc);

/* End the connection: fail every request, wake everyone. */
void fuse_conn_abort(struct fuse_conn *fc);

/* As many background requests in flight as congestion_threshold: the
 * server is behind, so readahead and writeback hold back (fs.c). */
bool fuse_congested(struct fuse_conn *fc);

/* Queue FUSE_INIT (the mount does it; the reply may come any time). */
int fuse_send_init(struct fuse_conn *fc);

/*
 * The mount is gone (out of the tree, its last user done): queue
 * FUSE_DESTROY and end the connection when the server answers it, or
 * closes /dev/fuse.  Not waited for, since the task unmounting may be the
 * server itself, after its loop ended; FORGETs are no longer sent.  A
 * connection that never got FUSE_INIT's reply ends at once.
 */
int fuse_send_destroy(struct fuse_conn *fc);

/*
 * Send @opcode for @nodeid with the arguments @args (@nargs pieces,
 * concatenated) and wait for the reply, whose payload goes to @out (at
 * most @out_size bytes; exactly that many if @exact, else *@out_len says).
 * Returns 0 or the server's error, -ENOTCONN, -ERESTARTSYS/-EINTR (a
 * signal), or -EIO (a malformed reply).
 */
struct fuse_arg {
	const void *p;
	size_t len;
};
int fuse_request(struct fuse_conn *fc, uint32_t opcode, uint64_t nodeid,
		 const struct fuse_arg *args, int nargs, void *out, size_t out_size, bool exact,
		 size_t *out_len);

/* As fuse_request, but nobody waits and no reply payload is kept. */
int fuse_request_background(struct fuse_conn *fc, uint32_t opcode, uint64_t nodeid,
			    const struct fuse_arg *args, int nargs, bool no_reply);

/* As fuse_request_background (with a reply), and @then(@arg) runs once
 * the request is over, or at once if it cannot be queued. */
int fuse_request_background_then(struct fuse_conn *fc, uint32_t opcode, uint64_t nodeid,
				 const struct fuse_arg *args, int nargs, void (*then)(void *),
				 void *arg);

/*
 * A notification from the server (a write with unique 0; @code is in the
 * header's error field): @len bytes of payload, of which the first @have
 * are in @p.  Returns 0, or the errno the server's write fails with.
 */
int fuse_notify(struct fuse_conn *fc, int code, const unsigned char *p, size_t have,
		size_t len);

/* Queue FUSE_NOTIFY_REPLY for a RETRIEVE: the @size bytes at @data that
 * the page cache holds of @nodeid at @offset. */
int fuse_send_notify_reply(struct fuse_conn *fc, uint64_t notify_unique, uint64_t nodeid,
			   uint64_t offset, const void *data, uint32_t size);

/* A piece of a caller's own memory (pinned) that a reply's payload is
 * copied straight into: one copy, from the server's buffer. */
#define FUSE_SG_MAX 32
struct fuse_sg {
	unsigned char *p;
	size_t len;
};

/* fuse_request, with the reply's payload (at most the pieces' total)
 * copied into @sg instead of a buffer. */
int fuse_request_sg(struct fuse_conn *fc, uint32_t opcode, uint64_t nodeid,
		    const struct fuse_arg *args, int nargs, const struct fuse_sg *sg, int nsg,
		    size_t *out_len);

/* fuse_request, with the pieces @in_sg sent after the arguments, copied
 * from the caller's memory into the server's buffer when it reads the
 * request: one copy (a WRITE's data).  The pieces stay the caller's
 * until this returns. */
int fuse_request_in_sg(struct fuse_conn *fc, uint32_t opcode, uint64_t nodeid,
		       const struct fuse_arg *args, int nargs, const struct fuse_sg *in_sg,
		       int in_nsg, void *out, size_t out_size, bool exact, size_t *out_len);

/* The most data a STORE notification may carry (Linux's has no bound: it
 * copies page by page; ours copies the whole payload first). */
#define FUSE_STORE_MAX (1u << 20)

/* The FUSE file system (fs.c): mount(2) of "fuse" / "fuse.SUBTYPE". */
int fuse_fs_mount(struct task *t, const char *type, const char *data, struct vfs_fs **out);

/* The FUSE file system over connection @fc, whose server is told INIT:
 * what mount(2) makes once it has parsed its options (and the fuzzer,
 * test/fuzz, without a task).  0, -EINVAL (mounted or aborted already)
 * or -ENOMEM. */
int fuse_fs_create(struct fuse_conn *fc, mode_t rootmode, uint32_t max_read, struct vfs_fs **out);

#endif

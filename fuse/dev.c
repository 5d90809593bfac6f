/*
 * fuse/dev.c - /dev/fuse and the request queue; see fuse_i.h.
 *
 * Everything the server writes is checked before it is believed: the
 * reply's length against what it wrote and against the request's reply
 * size, its unique against the requests in flight, its error against
 * the errno range.  A reply that fails a check is refused (the server's
 * write gets EINVAL or ENOENT, as from Linux).  A reply that names no
 * request (a false length, an unknown unique, an error out of range)
 * leaves every request as it was; one that names a request but has the
 * wrong size for it, or data the server's buffer cannot give, ends that
 * request with EIO, as Linux's does, so that the caller never waits for
 * a reply the server believes it sent.  A request too big for the
 * reader's buffer fails the same way (E2BIG for SETXATTR).
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <time.h>

#include "fuse/fuse_i.h"
#include "kernel/pollwake.h"

static const struct vfs_file_ops fuse_dev_ops;

struct fuse_conn *fuse_dev_conn(struct vfs_file *f)
{
	return f && f->ops == &fuse_dev_ops ? f->priv : NULL;
}

void fuse_conn_get(struct fuse_conn *fc)
{
	pthread_mutex_lock(&fc->lock);
	fc->refs++;
	pthread_mutex_unlock(&fc->lock);
}

void fuse_conn_put(struct fuse_conn *fc)
{
	bool last;

	pthread_mutex_lock(&fc->lock);
	last = --fc->refs == 0;
	pthread_mutex_unlock(&fc->lock);
	if (!last)
		return;
	pthread_cond_destroy(&fc->changed);
	pthread_cond_destroy(&fc->readable);
	pthread_mutex_destroy(&fc->lock);
	pthread_mutex_destroy(&fc->nodes_lock);
	free(fc);
}

static void req_free(struct fuse_req *req)
{
	pthread_cond_destroy(&req->done_cond);
	free(req->in);
	if (req->background)
		free(req->out);
	free(req);
}

/* @req is done (replied to, or failed): wake its caller, or finish it.
 * fc->lock held. */
static void queue(struct fuse_conn *fc, struct fuse_req *req);

/* A counted background request ended: let the next waiting one go.
 * fc->lock held. */
static void background_done(struct fuse_conn *fc)
{
	struct fuse_req *next = fc->bg_queue;

	fc->active_background--;
	if (!next || !fc->connected)
		return;
	fc->bg_queue = next->next;
	if (!fc->bg_queue)
		fc->bg_tail = &fc->bg_queue;
	fc->bg_queued--;
	fc->active_background++;
	queue(fc, next);
}

static void req_finish(struct fuse_conn *fc, struct fuse_req *req, int error)
{
	req->state = FUSE_REQ_DONE;
	req->error = error;
	if (req->counted)
		background_done(fc);
	if (req->done)
		req->done(fc, req);
	pthread_cond_broadcast(&req->done_cond); /* its caller, if any */
	if (req->then) {
		req->next = fc->ended; /* background: freed by unlock_ended */
		fc->ended = req;
	} else if (req->background || req->abandoned) {
		req_free(req);
	}
	if (fc->changed_waiters)
		pthread_cond_broadcast(&fc->changed); /* INIT's answer, or room */
}

static void destroy_now(struct fuse_conn *fc);

/* The last background request is over and its ->then has run: a DESTROY
 * waiting for that goes now.  fc->lock held. */
static void destroy_if_wanted(struct fuse_conn *fc)
{
	if (fc->destroy_wanted && !fc->active_background && !fc->bg_queue && !fc->ended &&
	    !fc->thens_running)
		destroy_now(fc);
}

/* Drop fc->lock, then run what ended requests left to do: it may put a
 * file or an inode, which sends more requests. */
static void unlock_ended(struct fuse_conn *fc)
{
	struct fuse_req *req = fc->ended;

	fc->ended = NULL;
	if (!req) {
		destroy_if_wanted(fc);
		pthread_mutex_unlock(&fc->lock);
		return;
	}
	fc->thens_running++; /* another thread must not send DESTROY meanwhile */
	pthread_mutex_unlock(&fc->lock);
	while (req) {
		struct fuse_req *next = req->next;

		req->then(req->then_arg);
		req_free(req);
		req = next;
	}
	pthread_mutex_lock(&fc->lock);
	fc->thens_running--;
	destroy_if_wanted(fc);
	pthread_mutex_unlock(&fc->lock);
}

/* fc->lock held. */
static void abort_locked(struct fuse_conn *fc)
{
	struct fuse_req *req;

	fc->connected = false;
	while ((req = fc->bg_queue)) {
		fc->bg_queue = req->next;
		req->counted = false;
		req_finish(fc, req, -ENOTCONN);
	}
	fc->bg_tail = &fc->bg_queue;
	fc->bg_queued = 0;
	while ((req = fc->pending)) {
		fc->pending = req->next;
		req_finish(fc, req, -ENOTCONN);
	}
	fc->pending_tail = &fc->pending;
	fc->npending = 0;
	while ((req = fc->processing)) {
		fc->processing = req->next;
		req_finish(fc, req, -ENOTCONN);
	}
	pthread_cond_broadcast(&fc->readable);
	pthread_cond_broadcast(&fc->changed);
	poll_wake();
}

void fuse_conn_abort(struct fuse_conn *fc)
{
	pthread_mutex_lock(&fc->lock);
	abort_locked(fc);
	unlock_ended(fc);
}

/* A request for @opcode on @nodeid, header filled in. */
static struct fuse_req *req_new(struct fuse_conn *fc, uint32_t opcode, uint64_t nodeid,
				const struct fuse_arg *args, int nargs)
{
	struct fuse_req *req = calloc(1, sizeof(*req));
	struct task *t = task_current();
	struct fuse_in_header *h;
	size_t len = sizeof(*h), at;

	if (!req)
		return NULL;
	if (fc->k->fuse_counts)
		atomic_fetch_add_explicit(&fc->k->fuse_counts[opcode < KERNEL_FUSE_OPS - 1
								    ? opcode
								    : KERNEL_FUSE_OPS - 1],
					  1, memory_order_relaxed);
	for (int i = 0; i < nargs; i++)
		len += args[i].len;
	req->in = malloc(len);
	if (!req->in) {
		free(req);
		return NULL;
	}
	task_cond_init(&req->done_cond);
	h = (struct fuse_in_header *)req->in;
	*h = (struct fuse_in_header){.len = (uint32_t)len, .opcode = opcode, .nodeid = nodeid,
				     .pid = t && t->tg ? (uint32_t)t->tg->tgid : 0};
	at = sizeof(*h);
	for (int i = 0; i < nargs; i++) {
		memcpy(req->in + at, args[i].p, args[i].len);
		at += args[i].len;
	}
	req->in_len = len;
	req->opcode = opcode;
	return req;
}

/* Put @req on the pending list.  fc->lock held. */
static void queue(struct fuse_conn *fc, struct fuse_req *req)
{
	req->unique = ++fc->next_unique;
	((struct fuse_in_header *)req->in)->unique = req->unique;
	req->state = FUSE_REQ_PENDING;
	req->next = NULL;
	*fc->pending_tail = req;
	fc->pending_tail = &req->next;
	fc->npending++;
	/* One server thread takes it: one spinning in read, or one woken. */
	if (!fc->readers_spinning)
		pthread_cond_signal(&fc->readable);
	poll_wake();
}

/* Requests left the queue: wake who waits for room, and, if more are
 * queued, another server thread (each queued one woke only one).
 * fc->lock held. */
static void room_made(struct fuse_conn *fc)
{
	if (fc->changed_waiters)
		pthread_cond_broadcast(&fc->changed);
	if (fc->pending)
		pthread_cond_signal(&fc->readable);
	poll_wake();
}

static void unlink_pending(struct fuse_conn *fc, struct fuse_req *req)
{
	struct fuse_req **pp;

	for (pp = &fc->pending; *pp; pp = &(*pp)->next) {
		if (*pp == req) {
			*pp = req->next;
			if (!*pp)
				fc->pending_tail = pp;
			fc->npending--;
			return;
		}
	}
}

static int background(struct fuse_conn *fc, uint32_t opcode, uint64_t nodeid,
		      const struct fuse_arg *args, int nargs, bool no_reply, void (*then)(void *),
		      void *arg)
{
	struct fuse_req *req = req_new(fc, opcode, nodeid, args, nargs);

	if (!req) {
		if (then)
			then(arg);
		return -ENOMEM;
	}
	req->background = true;
	req->no_reply = no_reply;
	req->then = then;
	req->then_arg = arg;
	if (opcode == FUSE_WRITE) { /* writeback at exit: the reply is checked, then dropped */
		req->out_size = sizeof(struct fuse_write_out);
		req->out_exact = true;
	}
	pthread_mutex_lock(&fc->lock);
	if (!fc->connected || (fc->destroying && opcode == FUSE_FORGET)) {
		pthread_mutex_unlock(&fc->lock);
		if (then)
			then(arg);
		req_free(req);
		return -ENOTCONN;
	}
	if (no_reply) {
		queue(fc, req); /* FORGET: not counted, as in Linux */
	} else if (fc->active_background >= fc->max_background &&
		   fc->bg_queued >= FUSE_MAX_BG_QUEUE) {
		pthread_mutex_unlock(&fc->lock);
		if (then)
			then(arg);
		req_free(req);
		return -EAGAIN;
	} else if (fc->active_background >= fc->max_background) {
		req->counted = true; /* counted when it leaves bg_queue */
		req->next = NULL;
		*fc->bg_tail = req;
		fc->bg_tail = &req->next;
		fc->bg_queued++;
	} else {
		req->counted = true;
		fc->active_background++;
		queue(fc, req);
	}
	pthread_mutex_unlock(&fc->lock);
	return 0;
}

bool fuse_congested(struct fuse_conn *fc)
{
	bool congested;

	pthread_mutex_lock(&fc->lock);
	congested = fc->active_background >= fc->congestion_threshold;
	pthread_mutex_unlock(&fc->lock);
	return congested;
}

int fuse_request_background(struct fuse_conn *fc, uint32_t opcode, uint64_t nodeid,
			    const struct fuse_arg *args, int nargs, bool no_reply)
{
	return background(fc, opcode, nodeid, args, nargs, no_reply, NULL, NULL);
}

int fuse_request_background_then(struct fuse_conn *fc, uint32_t opcode, uint64_t nodeid,
				 const struct fuse_arg *args, int nargs, void (*then)(void *),
				 void *arg)
{
	return background(fc, opcode, nodeid, args, nargs, false, then, arg);
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* After FUSE_INTERRUPT: wait for the reply, without signals, unless the
 * task is being killed (looked at every 10 ms: a kill does not wake this
 * wait) or the connection's timeout, @deadline, passes (-ETIMEDOUT).
 * fc->lock held. */
static int wait_after_interrupt(struct fuse_conn *fc, struct fuse_req *req, struct task *t,
				const struct timespec *deadline)
{
	while (req->state != FUSE_REQ_DONE && !(t && t->killed)) {
		struct timespec ts = task_deadline_ms(10);

		if (deadline && !ts_before(&ts, deadline)) {
			ts = *deadline;
			if (pthread_cond_timedwait(&req->done_cond, &fc->lock, &ts) == ETIMEDOUT)
				return req->state == FUSE_REQ_DONE ? 0 : -ETIMEDOUT;
			continue;
		}
		pthread_cond_timedwait(&req->done_cond, &fc->lock, &ts);
	}
	return 0;
}

/* A reply is being copied into @req's buffer (dev_write), or its data
 * out of the caller's pieces (dev_read): wait until that is over, before
 * the caller lets its memory go.  fc->lock held. */
static void wait_copy(struct fuse_conn *fc, struct fuse_req *req)
{
	while (req->copying || req->copying_in)
		pthread_cond_wait(&req->done_cond, &fc->lock);
}

/* The caller gives @req up: nothing of its memory may be touched after
 * (the reply is dropped; a WRITE not yet read goes without its data,
 * its header saying so).  wait_copy has run.  fc->lock held. */
static void abandon(struct fuse_req *req)
{
	req->abandoned = true;
	req->out = NULL;
	req->nsg = 0;
	req->out_size = 0;
	if (req->in && req->in_nsg)
		((struct fuse_in_header *)req->in)->len -= (uint32_t)req->in_sg_len;
	req->in_nsg = 0;
	req->in_sg_len = 0;
}

/* task_wait_spin's tests, read without fc->lock. */
static bool req_done(void *arg)
{
	struct fuse_req *req = arg;

	return __atomic_load_n(&req->state, __ATOMIC_ACQUIRE) == FUSE_REQ_DONE;
}

static bool conn_readable(void *arg)
{
	struct fuse_conn *fc = arg;

	return __atomic_load_n(&fc->pending, __ATOMIC_ACQUIRE) ||
	       !__atomic_load_n(&fc->connected, __ATOMIC_ACQUIRE);
}

/* Send @req and wait for its answer (see fuse_request). */
static int request(struct fuse_conn *fc, struct fuse_req *req, size_t *out_len)
{
	struct task *t = task_current();
	struct timespec deadline;
	int err = 0;

	/* --fuse-timeout bounds every wait of the request: for INIT's
	 * answer and room in the queue, for the answer, after INTERRUPT. */
	if (fc->timeout_ms)
		deadline = task_deadline_ms(fc->timeout_ms);
	pthread_mutex_lock(&fc->lock);
	fc->changed_waiters++;
	while (fc->connected && (!fc->initialized || fc->npending >= FUSE_MAX_PENDING) && !err)
		err = task_wait(t, &fc->changed, &fc->lock, fc->timeout_ms ? &deadline : NULL);
	fc->changed_waiters--;
	if (!err && !fc->connected)
		err = -ENOTCONN;
	if (err) {
		pthread_mutex_unlock(&fc->lock);
		req_free(req);
		if (err == -ETIMEDOUT) {
			fprintf(stderr, "ksentry: FUSE server did not %s within %u ms: "
					"connection aborted\n",
				fc->initialized ? "take a request" : "answer INIT", fc->timeout_ms);
			fuse_conn_abort(fc);
			err = -ENOTCONN;
		}
		return err;
	}
	queue(fc, req);
	while (req->state != FUSE_REQ_DONE) {
		/* A big READ or WRITE keeps the server longer than a spin:
		 * the CPU is the server's (and the memory file's filler's). */
		if (req->in_len + req->in_sg_len + req->out_size <= FUSE_SPIN_BYTES)
			err = task_wait_spin(t, &req->done_cond, &fc->lock,
					     fc->timeout_ms ? &deadline : NULL, req_done, req, NULL);
		else
			err = task_wait(t, &req->done_cond, &fc->lock, fc->timeout_ms ? &deadline : NULL);
		if (err == -ETIMEDOUT && req->state != FUSE_REQ_DONE) {
hung:
			/* A hung server: end the connection, and with it every
			 * wait on it (this request included). */
			wait_copy(fc, req);
			if (req->state == FUSE_REQ_DONE)
				continue;
			abandon(req);
			pthread_mutex_unlock(&fc->lock);
			fprintf(stderr, "ksentry: FUSE server did not answer within %u ms: "
					"connection aborted\n", fc->timeout_ms);
			fuse_conn_abort(fc);
			return -ENOTCONN;
		}
		if (err == -ETIMEDOUT)
			err = 0;
		if (!err || req->state == FUSE_REQ_DONE)
			continue;
		if (req->state == FUSE_REQ_PENDING) {
			/* The server never saw it: take it back. */
			unlink_pending(fc, req);
			room_made(fc);
			pthread_mutex_unlock(&fc->lock);
			req_free(req);
			return err;
		}
		if (!t->killed) {
			struct fuse_interrupt_in ii = {.unique = req->unique};
			struct fuse_req *ir = req_new(fc, FUSE_INTERRUPT, 0,
						      &(struct fuse_arg){&ii, sizeof(ii)}, 1);

			if (ir) {
				ir->background = ir->no_reply = true;
				queue(fc, ir);
			}
			if (wait_after_interrupt(fc, req, t, fc->timeout_ms ? &deadline : NULL) ==
			    -ETIMEDOUT)
				goto hung;
			if (req->state == FUSE_REQ_DONE)
				continue;
		}
		/* Killed: leave the request to the server; its reply is dropped. */
		wait_copy(fc, req);
		if (req->state == FUSE_REQ_DONE)
			continue;
		abandon(req);
		pthread_mutex_unlock(&fc->lock);
		return -EINTR;
	}
	/* A server may answer a request it is still reading (it can guess
	 * the unique): its data pieces are ours again only after the copy. */
	wait_copy(fc, req);
	err = req->error;
	if (out_len)
		*out_len = req->out_len;
	pthread_mutex_unlock(&fc->lock);
	req_free(req);
	return err;
}

int fuse_request(struct fuse_conn *fc, uint32_t opcode, uint64_t nodeid,
		 const struct fuse_arg *args, int nargs, void *out, size_t out_size, bool exact,
		 size_t *out_len)
{
	return fuse_request_in_sg(fc, opcode, nodeid, args, nargs, NULL, 0, out, out_size, exact,
				  out_len);
}

int fuse_request_sg(struct fuse_conn *fc, uint32_t opcode, uint64_t nodeid,
		    const struct fuse_arg *args, int nargs, const struct fuse_sg *sg, int nsg,
		    size_t *out_len)
{
	struct fuse_req *req = req_new(fc, opcode, nodeid, args, nargs);

	if (!req)
		return -ENOMEM;
	req->sg = sg;
	req->nsg = nsg;
	for (int i = 0; i < nsg; i++)
		req->out_size += sg[i].len;
	return request(fc, req, out_len);
}

int fuse_request_in_sg(struct fuse_conn *fc, uint32_t opcode, uint64_t nodeid,
		       const struct fuse_arg *args, int nargs, const struct fuse_sg *in_sg,
		       int in_nsg, void *out, size_t out_size, bool exact, size_t *out_len)
{
	struct fuse_req *req = req_new(fc, opcode, nodeid, args, nargs);

	if (!req)
		return -ENOMEM;
	req->in_sg = in_sg;
	req->in_nsg = in_nsg;
	for (int i = 0; i < in_nsg; i++)
		req->in_sg_len += in_sg[i].len;
	((struct fuse_in_header *)req->in)->len += (uint32_t)req->in_sg_len;
	req->out = out;
	req->out_size = out_size;
	req->out_exact = exact;
	return request(fc, req, out_len);
}

/* --- FUSE_INIT --- */

static void init_done(struct fuse_conn *fc, struct fuse_req *req)
{
	const struct fuse_init_out *o = req->out;

	if (req->error || req->out_len < FUSE_COMPAT_22_INIT_OUT_SIZE ||
	    o->major != FUSE_ABI_MAJOR) {
		/* A server we cannot talk to: end the connection, waking its
		 * readers and pollers (unless an abort is what ended INIT). */
		if (fc->connected)
			abort_locked(fc);
		return;
	}
	fc->minor = o->minor < FUSE_ABI_MINOR ? o->minor : FUSE_ABI_MINOR;
	fc->flags = o->flags & FUSE_ABI_INIT_FLAGS;
	fc->max_write = o->max_write < 4096 ? 4096 : o->max_write > (1u << 20) ? 1u << 20
										  : o->max_write;
	/* max_pages bounds every request's data (7.28, with FUSE_MAX_PAGES). */
	if ((fc->flags & FUSE_MAX_PAGES) && o->max_pages &&
	    (uint32_t)o->max_pages * 4096 < fc->max_write)
		fc->max_write = (uint32_t)o->max_pages * 4096 < 4096 ? 4096
								: (uint32_t)o->max_pages * 4096;
	if (!fc->max_read || fc->max_read > fc->max_write)
		fc->max_read = fc->max_write;
	if (o->max_background)
		fc->max_background = o->max_background;
	fc->congestion_threshold = o->congestion_threshold && o->congestion_threshold <=
									fc->max_background
					   ? o->congestion_threshold
					   : fc->max_background * 3 / 4;
	/* 0 would be congested with nothing in flight (max_background 1). */
	if (!fc->congestion_threshold)
		fc->congestion_threshold = 1;
	fc->time_gran = o->time_gran >= 1 && o->time_gran <= 1000000000 ? o->time_gran : 1;
	/* At most what was offered (INIT's max_readahead below), as Linux. */
	fc->max_readahead = o->max_readahead < FUSE_READAHEAD_OFFER ? o->max_readahead
								     : FUSE_READAHEAD_OFFER;
	fc->initialized = true;
}

int fuse_send_init(struct fuse_conn *fc)
{
	struct fuse_init_in in = {.major = FUSE_ABI_MAJOR, .minor = FUSE_ABI_MINOR,
				  .max_readahead = FUSE_READAHEAD_OFFER, .flags = FUSE_ABI_INIT_FLAGS};
	struct fuse_req *req = req_new(fc, FUSE_INIT, 0, &(struct fuse_arg){&in, sizeof(in)}, 1);

	if (!req)
		return -ENOMEM;
	req->out = calloc(1, sizeof(struct fuse_init_out));
	if (!req->out) {
		req_free(req);
		return -ENOMEM;
	}
	req->background = true;
	req->out_size = sizeof(struct fuse_init_out);
	req->done = init_done;
	pthread_mutex_lock(&fc->lock);
	queue(fc, req);
	pthread_mutex_unlock(&fc->lock);
	return 0;
}

/* --- FUSE_DESTROY --- */

static void destroy_done(struct fuse_conn *fc, struct fuse_req *req)
{
	if (fc->connected)
		abort_locked(fc); /* the server has let go: its reads end (ENODEV) */
}

/* Queue DESTROY now.  fc->lock held. */
static void destroy_now(struct fuse_conn *fc)
{
	struct fuse_req *req = req_new(fc, FUSE_DESTROY, 0, NULL, 0);

	fc->destroying = true; /* FORGETs from now on would reach a server that let go */
	fc->destroy_wanted = false;
	if (!req) {
		abort_locked(fc);
		return;
	}
	req->background = true;
	req->done = destroy_done;
	if (fc->connected)
		queue(fc, req);
	else
		req_free(req);
}

int fuse_send_destroy(struct fuse_conn *fc)
{
	pthread_mutex_lock(&fc->lock);
	if (!fc->initialized) {
		fc->destroying = true;
		abort_locked(fc);
	} else if (fc->active_background || fc->bg_queue || fc->ended || fc->thens_running) {
		/* RELEASEs or writeback still out, or an answered one whose
		 * ->then (its inode's FORGET) another thread is running now:
		 * the FORGETs follow, and DESTROY follows those
		 * (destroy_if_wanted), so that the server is told of every
		 * node. */
		fc->destroy_wanted = true;
	} else {
		destroy_now(fc);
	}
	unlock_ended(fc);
	return 0;
}

/* --- the device file --- */

/*
 * The FORGETs at the head of the queue, as one FUSE_BATCH_FORGET (7.16),
 * as many as the server's buffer holds.  Only the run at the head, so
 * that no FORGET overtakes what was queued before it.  They leave the
 * queue here, under fc->lock; the message is copied out after (*@msg, of
 * *@len bytes), since the copy may fault (see dev_read).
 */
static void take_pending(struct fuse_conn *fc, struct fuse_req *req);

static int take_forgets(struct fuse_conn *fc, size_t room, unsigned char **msg, size_t *len)
{
	const size_t head = sizeof(struct fuse_in_header) + sizeof(struct fuse_batch_forget_in);
	size_t max = (room - head) / sizeof(struct fuse_forget_one), count = 0;
	uint64_t unique = fc->pending->unique;
	struct fuse_in_header *h;

	if (max > 1024)
		max = 1024;
	*msg = malloc(head + max * sizeof(struct fuse_forget_one));
	if (!*msg)
		return -ENOMEM;
	while (fc->pending && fc->pending->opcode == FUSE_FORGET && count < max) {
		struct fuse_req *req = fc->pending;
		const struct fuse_in_header *rh = (const void *)req->in;
		const struct fuse_forget_in *fo = (const void *)(req->in + sizeof(*rh));
		struct fuse_forget_one one = {.nodeid = rh->nodeid, .nlookup = fo->nlookup};

		memcpy(*msg + head + count++ * sizeof(one), &one, sizeof(one));
		take_pending(fc, req);
		req_free(req); /* FORGETs are no_reply */
	}
	*len = head + count * sizeof(struct fuse_forget_one);
	h = (struct fuse_in_header *)*msg;
	*h = (struct fuse_in_header){.len = (uint32_t)*len, .opcode = FUSE_BATCH_FORGET,
				     .unique = unique};
	*(struct fuse_batch_forget_in *)(*msg + sizeof(*h)) =
		(struct fuse_batch_forget_in){.count = (uint32_t)count};
	room_made(fc);
	return 0;
}

/* Where the request in flight with @unique is linked (*slot NULL: none).
 * fc->lock held. */
static struct fuse_req **processing_slot(struct fuse_conn *fc, uint64_t unique)
{
	struct fuse_req **pp;

	for (pp = &fc->processing; *pp && (*pp)->unique != unique; pp = &(*pp)->next)
		;
	return pp;
}

/* Take @req, the first pending request, off the queue.  fc->lock held. */
static void take_pending(struct fuse_conn *fc, struct fuse_req *req)
{
	fc->pending = req->next;
	if (!fc->pending)
		fc->pending_tail = &fc->pending;
	fc->npending--;
}

/*
 * The server's read.  The request leaves the queue under fc->lock, and is
 * copied out without it: the server's buffer may be a mapping of a file
 * on this very connection, whose fault asks this connection (and so takes
 * fc->lock) to fill the page.  The reader takes the request's message
 * (nothing needs it once it is sent) and copies it from there.
 */
static ssize_t dev_read(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct fuse_conn *fc = f->priv;
	struct fuse_req *req;
	unsigned char *msg;
	size_t len;
	uint64_t unique;
	bool no_reply;
	int err = 0;

	if (io->len < FUSE_MIN_READ_BUFFER)
		return -EINVAL;
	pthread_mutex_lock(&fc->lock);
	/* As Linux: a buffer that cannot take the biggest WRITE is refused
	 * whole, and no request is taken. */
	if (io->len < sizeof(struct fuse_in_header) + sizeof(struct fuse_write_in) + fc->max_write) {
		pthread_mutex_unlock(&fc->lock);
		return -EINVAL;
	}
	for (;;) {
		while (fc->connected && !fc->pending && !err) {
			if (f->flags & O_NONBLOCK)
				err = -EAGAIN;
			else if (fc->processing)
				/* Another server thread has a request: it comes
				 * back to read soon, and the CPU is its and its
				 * caller's; this one sleeps until woken. */
				err = task_wait(task_current(), &fc->readable, &fc->lock, NULL);
			else
				err = task_wait_spin(task_current(), &fc->readable, &fc->lock, NULL,
						     conn_readable, fc, &fc->readers_spinning);
		}
		if (!err && !fc->connected)
			err = -ENODEV;
		if (err) {
			/* A wake-up this reader took and will not use: pass it on. */
			if (fc->pending)
				pthread_cond_signal(&fc->readable);
			unlock_ended(fc);
			return err;
		}
		req = fc->pending;
		if (req->opcode == FUSE_FORGET && req->next && req->next->opcode == FUSE_FORGET &&
		    fc->minor >= 16) {
			err = take_forgets(fc, io->len, &msg, &len);
			unlock_ended(fc);
			if (!err)
				err = io->copy(io, msg, 0, len, true);
			free(msg);
			return err ? err : (ssize_t)len; /* (lost if the copy fails, as Linux's) */
		}
		if (req->in_len + req->in_sg_len <= io->len)
			break;
		/* A WRITE sized by max_write, a server that reads less: the
		 * request fails, as Linux's, and this read takes the next. */
		take_pending(fc, req);
		if (req->no_reply)
			req_free(req);
		else
			req_finish(fc, req, req->opcode == FUSE_SETXATTR ? -E2BIG : -EIO);
	}
	len = req->in_len;
	msg = req->in; /* the reader's now: nothing reads it once it is sent */
	req->in = NULL;
	take_pending(fc, req);
	unique = req->unique;
	no_reply = req->no_reply;
	if (no_reply) {
		req_free(req);
		req = NULL;
	} else {
		req->state = FUSE_REQ_SENT;
		req->next = fc->processing;
		fc->processing = req;
		/* Its caller waits for this copy before it lets the pieces go,
		 * so @req lives until copying_in is cleared below. */
		if (req->in_nsg)
			req->copying_in = true;
		else
			req = NULL;
	}
	room_made(fc);
	unlock_ended(fc);

	err = io->copy(io, msg, 0, len, true);
	free(msg);
	if (req) {
		for (int i = 0; i < req->in_nsg && !err; i++) {
			err = io->copy(io, (void *)req->in_sg[i].p, len, req->in_sg[i].len, true);
			len += req->in_sg[i].len;
		}
		pthread_mutex_lock(&fc->lock);
		req->copying_in = false;
		pthread_cond_broadcast(&req->done_cond);
		pthread_mutex_unlock(&fc->lock);
	}
	if (err && !no_reply) {
		/* The server never got it: the request fails (EIO, as Linux's),
		 * unless it ended meanwhile. */
		struct fuse_req **pp;

		pthread_mutex_lock(&fc->lock);
		pp = processing_slot(fc, unique);
		if ((req = *pp)) {
			*pp = req->next;
			req_finish(fc, req, -EIO);
		}
		unlock_ended(fc);
	}
	return err ? err : (ssize_t)len;
}

/* A notification: its payload's head (all of it but for STORE's data)
 * goes to fuse_notify. */
static ssize_t notify(struct fuse_conn *fc, const struct fuse_out_header *oh, struct vfs_io *io)
{
	size_t len = io->len - sizeof(*oh);
	/* A STORE's data is wanted whole; the rest need only their fixed
	 * part and a name. */
	size_t cap = oh->error == FUSE_NOTIFY_STORE
			     ? sizeof(struct fuse_notify_store_out) + FUSE_STORE_MAX
			     : 8192;
	size_t have = len < cap ? len : cap;
	unsigned char *p = malloc(have + 1);
	int err;

	if (!p)
		return -ENOMEM;
	err = io->copy(io, p, sizeof(*oh), have, false);
	if (!err)
		err = fuse_notify(fc, oh->error, p, have, len);
	free(p);
	return err ? err : (ssize_t)io->len;
}

int fuse_send_notify_reply(struct fuse_conn *fc, uint64_t notify_unique, uint64_t nodeid,
			   uint64_t offset, const void *data, uint32_t size)
{
	struct fuse_notify_retrieve_in in = {.offset = offset, .size = size};
	const struct fuse_arg args[] = {{&in, sizeof(in)}, {data, size}};
	struct fuse_req *req = req_new(fc, FUSE_NOTIFY_REPLY, nodeid, args, size ? 2 : 1);
	int err;

	if (!req)
		return -ENOMEM;
	req->background = req->no_reply = true;
	pthread_mutex_lock(&fc->lock);
	if (!fc->connected || fc->npending >= FUSE_MAX_PENDING) {
		/* A server flooding RETRIEVEs it does not read the answers
		 * of is told to read first: the queue stays bounded. */
		err = fc->connected ? -EAGAIN : -ENOTCONN;
		pthread_mutex_unlock(&fc->lock);
		req_free(req);
		return err;
	}
	queue(fc, req);
	/* The server matches it to its RETRIEVE by this unique. */
	req->unique = notify_unique;
	((struct fuse_in_header *)req->in)->unique = notify_unique;
	pthread_mutex_unlock(&fc->lock);
	return 0;
}

/* A reply's @len bytes of payload from the server's @io straight into the
 * caller's pinned pieces: the one copy of a FUSE_READ. */
static int copy_to_sg(struct vfs_io *io, const struct fuse_sg *sg, int nsg, size_t len)
{
	size_t at = sizeof(struct fuse_out_header);
	int err = 0;

	for (int i = 0; i < nsg && len && !err; i++) {
		size_t n = sg[i].len < len ? sg[i].len : len;

		err = io->copy(io, sg[i].p, at, n, false);
		at += n;
		len -= n;
	}
	return err;
}

static ssize_t dev_write(struct vfs_file *f, struct vfs_io *io, uint64_t off)
{
	struct fuse_conn *fc = f->priv;
	struct fuse_out_header oh;
	struct fuse_req *req, **pp;
	size_t payload;
	int err;

	if (io->len < sizeof(oh))
		return -EINVAL;
	err = io->copy(io, &oh, 0, sizeof(oh), false);
	if (err)
		return err;
	if (oh.len != io->len)
		return -EINVAL;
	if (oh.unique == 0)
		return notify(fc, &oh, io);
	if (oh.error > 0 || oh.error <= -FUSE_ERRNO_END)
		return -EINVAL;
	payload = io->len - sizeof(oh);
	if (oh.error && payload)
		return -EINVAL;
	pthread_mutex_lock(&fc->lock);
	pp = processing_slot(fc, oh.unique);
	req = *pp;
	err = !fc->connected ? -ENODEV : !req ? -ENOENT : 0;
	if (err) {
		pthread_mutex_unlock(&fc->lock);
		return err;
	}
	/* Ours now: off the list, so that nothing else ends it, and marked,
	 * so that a caller giving up waits for the copy into its buffer. */
	*pp = req->next;
	if (!oh.error && (payload > req->out_size || (req->out_exact && payload != req->out_size)))
		err = -EINVAL; /* the wrong size for this reply */
	if (!err && payload && (req->out || req->nsg)) {
		/* Without fc->lock: the server's buffer may fault into this
		 * connection (see dev_read). */
		req->copying = true;
		pthread_mutex_unlock(&fc->lock);
		err = req->out ? io->copy(io, req->out, sizeof(oh), payload, false)
			       : copy_to_sg(io, req->sg, req->nsg, payload);
		pthread_mutex_lock(&fc->lock);
		req->copying = false;
	}
	req->out_len = err ? 0 : payload;
	req_finish(fc, req, err ? -EIO : oh.error); /* a bad reply is EIO to the caller */
	unlock_ended(fc);
	return err ? err : (ssize_t)io->len;
}

static short dev_poll(struct vfs_file *f, short events)
{
	struct fuse_conn *fc = f->priv;
	short r = POLLOUT | POLLWRNORM;

	pthread_mutex_lock(&fc->lock);
	if (fc->pending)
		r |= POLLIN | POLLRDNORM;
	if (!fc->connected)
		r |= POLLERR;
	pthread_mutex_unlock(&fc->lock);
	return r & (events | POLLERR | POLLHUP);
}

/*
 * FUSE_DEV_IOC_CLONE (libfuse's clone_fd): this device file, freshly
 * opened and not mounted, joins the connection of the device fd the
 * caller names, so that each server thread reads its own file.
 */
static long dev_ioctl(struct vfs_file *f, unsigned long cmd, uint64_t arg, void *task)
{
	struct task *t = task;
	struct fuse_conn *mine = f->priv, *other;
	struct vfs_file *of;
	uint32_t oldfd;
	bool last;

	if (cmd != FUSE_DEV_IOC_CLONE)
		return -ENOTTY;
	if (!t || mm_copy_in(t->mm, &oldfd, arg, sizeof(oldfd)))
		return -EFAULT;
	of = oldfd <= INT32_MAX ? fd_get(t->fds, (int)oldfd) : NULL;
	other = fuse_dev_conn(of);
	if (!other || other == mine) {
		if (of)
			vfs_file_put(of);
		return -EINVAL;
	}
	pthread_mutex_lock(&mine->lock);
	last = !mine->mounted && mine->dev_files == 1;
	if (last)
		mine->dev_files = 0;
	pthread_mutex_unlock(&mine->lock);
	if (!last) {
		vfs_file_put(of);
		return -EINVAL; /* only a fresh, unmounted device file may join another */
	}
	fuse_conn_abort(mine);
	fuse_conn_put(mine);
	pthread_mutex_lock(&other->lock);
	other->dev_files++;
	other->refs++;
	pthread_mutex_unlock(&other->lock);
	f->priv = other;
	vfs_file_put(of);
	return 0;
}

static void dev_release(struct vfs_file *f)
{
	struct fuse_conn *fc = f->priv;
	bool last;

	pthread_mutex_lock(&fc->lock);
	last = --fc->dev_files == 0;
	pthread_mutex_unlock(&fc->lock);
	if (last)
		fuse_conn_abort(fc); /* the server is gone: fail every waiter */
	fuse_conn_put(fc);
}

static int dev_stat(struct vfs_file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0666;
	st->st_rdev = (dev_t)(10 << 8 | 229);
	st->st_nlink = 1;
	return 0;
}

static const struct vfs_file_ops fuse_dev_ops = {
	.read = dev_read,
	.write = dev_write,
	.poll = dev_poll,
	.ioctl = dev_ioctl,
	.stat = dev_stat,
	.release = dev_release,
	.seekable = false,
};

/* kernel_fs_hooks.dev_fuse_open: a new connection. */
static int dev_open(struct kernel *k, struct vfs_file *f, int flags)
{
	struct fuse_conn *fc = calloc(1, sizeof(*fc));

	if (!fc)
		return -ENOMEM;
	pthread_mutex_init(&fc->lock, NULL);
	pthread_mutex_init(&fc->nodes_lock, NULL);
	fc->bg_tail = &fc->bg_queue;
	fc->max_background = 12; /* Linux's FUSE_DEFAULT_MAX_BACKGROUND */
	fc->congestion_threshold = 9;
	fc->time_gran = 1;
	if (getrandom(&fc->owner_key, sizeof(fc->owner_key), 0) != sizeof(fc->owner_key))
		fc->owner_key = (uint64_t)(uintptr_t)fc * UINT64_C(0x9e3779b97f4a7c15) ^
				(uint64_t)time(NULL);
	task_cond_init(&fc->changed);
	task_cond_init(&fc->readable);
	fc->k = k;
	if (k->fs_hooks_priv)
		fc->timeout_ms = ((const struct fuse_config *)k->fs_hooks_priv)->timeout_ms;
	fc->refs = 1;
	fc->dev_files = 1;
	fc->connected = true;
	fc->pending_tail = &fc->pending;
	f->ops = &fuse_dev_ops;
	f->priv = fc;
	return 0;
}

static const struct kernel_fs_hooks fuse_hooks = {
	.dev_fuse_open = dev_open,
	.mount = fuse_fs_mount,
};

void fuse_install(struct kernel *k, const struct fuse_config *cfg)
{
	k->fs_hooks = &fuse_hooks;
	k->fs_hooks_priv = cfg;
}

static const char *const opcode_names[] = {
	[FUSE_LOOKUP] = "LOOKUP", [FUSE_FORGET] = "FORGET", [FUSE_GETATTR] = "GETATTR",
	[FUSE_SETATTR] = "SETATTR", [FUSE_READLINK] = "READLINK", [FUSE_SYMLINK] = "SYMLINK",
	[FUSE_MKNOD] = "MKNOD", [FUSE_MKDIR] = "MKDIR", [FUSE_UNLINK] = "UNLINK",
	[FUSE_RMDIR] = "RMDIR", [FUSE_RENAME] = "RENAME", [FUSE_LINK] = "LINK",
	[FUSE_OPEN] = "OPEN", [FUSE_READ] = "READ", [FUSE_WRITE] = "WRITE",
	[FUSE_STATFS] = "STATFS", [FUSE_RELEASE] = "RELEASE", [FUSE_FSYNC] = "FSYNC",
	[FUSE_SETXATTR] = "SETXATTR", [FUSE_GETXATTR] = "GETXATTR", [FUSE_LISTXATTR] = "LISTXATTR",
	[FUSE_REMOVEXATTR] = "REMOVEXATTR", [FUSE_FLUSH] = "FLUSH", [FUSE_INIT] = "INIT",
	[FUSE_OPENDIR] = "OPENDIR", [FUSE_READDIR] = "READDIR", [FUSE_RELEASEDIR] = "RELEASEDIR",
	[FUSE_FSYNCDIR] = "FSYNCDIR", [FUSE_GETLK] = "GETLK", [FUSE_SETLK] = "SETLK",
	[FUSE_SETLKW] = "SETLKW", [FUSE_ACCESS] = "ACCESS", [FUSE_CREATE] = "CREATE",
	[FUSE_INTERRUPT] = "INTERRUPT", [FUSE_BMAP] = "BMAP", [FUSE_DESTROY] = "DESTROY",
	[FUSE_IOCTL] = "IOCTL", [FUSE_POLL] = "POLL", [FUSE_NOTIFY_REPLY] = "NOTIFY_REPLY",
	[FUSE_BATCH_FORGET] = "BATCH_FORGET", [FUSE_FALLOCATE] = "FALLOCATE", [FUSE_READDIRPLUS] = "READDIRPLUS",
	[FUSE_RENAME2] = "RENAME2", [FUSE_LSEEK] = "LSEEK", [FUSE_COPY_FILE_RANGE] = "COPY_FILE_RANGE",
	[FUSE_SETUPMAPPING] = "SETUPMAPPING", [FUSE_REMOVEMAPPING] = "REMOVEMAPPING",
};

const char *fuse_opcode_name(uint32_t opcode)
{
	return opcode < sizeof(opcode_names) / sizeof(opcode_names[0]) ? opcode_names[opcode] : NULL;
}

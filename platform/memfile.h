/*
 * platform/memfile.h - the memory file that backs all guest memory.
 *
 * All guest physical memory is one memfd.  It is mapped once, whole, into
 * the sentry (so the sentry reaches any frame at base + offset) and, by the
 * VMM, registered as one KVM memslot at guest-physical 0: a guest-physical
 * address is a file offset.  The file's size is the sandbox's memory cap;
 * it is sparse, so only frames that were touched cost host memory.
 *
 * The allocator hands out page-aligned file ranges, each charged to one
 * memacct kind, and takes them back, punching holes so that the host gets
 * the memory back.  Freed ranges, as much of them as fits in
 * MEMFILE_POOL_MAX (and an eighth of the file), are kept instead, still
 * backed: handing one out
 * again costs a memset, where a punched one costs the host a fault, an
 * allocation and its zeroing per page (the pool's purpose: a sandbox
 * that frees and takes memory again, as a FUSE server's file data).  A
 * range fresh from memfile_alloc() always reads as zeros, pooled or not;
 * memfile_trim() punches the pool.  Ranges may be freed
 * piecewise (munmap of part of a chunk), but only ranges that are entirely
 * allocated: freeing a hole is -EINVAL, never a silent double free.
 *
 * Allocation is first fit, starting where the last allocation ended; the
 * used set merges neighbours of one kind, so it stays small.
 *
 * Prefill (memfile_prefill(), off unless asked for).  A sandbox that keeps
 * taking new memory pays the host's fault, allocation and zeroing for every
 * frame on the vCPU thread that faulted (a third of a FUSE server's time
 * while it stores a new file, under perf).  With prefill on, once the file
 * has handed out MEMFILE_FILL_START bytes the host never backed, a thread
 * of the memory file's own backs the free frames where first fit looks
 * next (from @hint on), on the other CPU, in MEMFILE_FILL_CHUNK steps: the
 * fresh set.  Its bound starts at MEMFILE_FILL_START and doubles, up to
 * MEMFILE_FILL_MAX, each time an allocation still found frames unbacked.
 * Fresh frames are free and hold zeros, so handing one out needs no memset;
 * they are host memory no kind is charged for, at most the bound, and
 * memfile_trim() punches them and starts the learning again.  A range is
 * never punched while the thread is backing it (@filling): the free
 * waits, so nothing freed can come back backed behind the pool's back.
 *
 * Locking: @lock protects @used, @allocated, @hint, the pool and the fresh
 * set.  memfile_map() takes no lock: the mapping is fixed for the file's
 * life.
 */
#ifndef KSENTRY_PLATFORM_MEMFILE_H
#define KSENTRY_PLATFORM_MEMFILE_H

#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "platform/file_range.h"
#include "platform/memacct.h"
#include "platform/segset.h"

struct memfile {
	int fd;
	unsigned char *base; /* the whole file, MAP_SHARED */
	uint64_t size;       /* the cap: bytes the file may hold */
	struct memacct *acct;

	pthread_mutex_t lock;
	struct segset used;  /* allocated ranges -> kind; protected by lock */
	uint64_t allocated;  /* bytes in @used; protected by lock */
	uint64_t hint;       /* where the next search starts; protected by lock */
	struct segset pool;  /* free ranges still backed, not yet zeroed; lock */
	uint64_t pooled, pool_max; /* bytes in @pool, and its bound */

	/* Prefill; all protected by @lock. */
	struct segset fresh;	    /* free ranges the filler backed: zeros */
	uint64_t fresh_bytes;	    /* bytes in @fresh */
	uint64_t fill_want;	    /* the fresh set's bound now; 0: not started */
	uint64_t unbacked_taken;    /* bytes handed out that the host never backed */
	struct file_range filling;  /* what the filler backs now (empty: none) */
	pthread_cond_t fill_cond;   /* the filler waits here for work */
	pthread_cond_t filled_cond; /* a free waits here for @filling to end */
	pthread_t filler;
	cpu_set_t cpus; /* the filler's: the process's at init, not the pin of whoever starts it */
	bool prefill, filler_running, stopping;
};

#define MEMFILE_POOL_MAX (UINT64_C(256) << 20)
#define MEMFILE_FILL_START (UINT64_C(4) << 20)
#define MEMFILE_FILL_MAX (UINT64_C(32) << 20)
#define MEMFILE_FILL_CHUNK (UINT64_C(512) << 10)

/*
 * Create a memory file of @size bytes (a positive multiple of the page
 * size), charging allocations to @acct, which must outlive it.
 * Returns 0, -EINVAL for a bad size, or the host's error (-ENOMEM, -EMFILE).
 */
int __attribute__((warn_unused_result)) memfile_init(struct memfile *mf, uint64_t size,
						     struct memacct *acct);

/* Unmap and close.  Frames still allocated are uncharged. */
void memfile_destroy(struct memfile *mf);

/*
 * Allocate @len bytes (a positive multiple of the page size) aligned to
 * @align (a power of two, at least the page size), charged to @kind.
 * On success *@out is the range and it reads as zeros.  Returns 0,
 * -EINVAL for a bad length, alignment or kind, or -ENOMEM when the cap
 * is reached.  May block briefly on @lock.
 */
int __attribute__((warn_unused_result)) memfile_alloc(struct memfile *mf, uint64_t len,
						      uint64_t align, enum memacct_kind kind,
						      struct file_range *out);

/*
 * Free @fr, which must be page aligned and entirely allocated: uncharge it
 * from the kinds it was charged to and give its memory back to the host.
 * Returns 0 or -EINVAL (nothing freed then).  An owner freeing what it
 * allocated cannot fail, and may ignore the result.
 */
int memfile_free(struct memfile *mf, struct file_range fr);

/* The sentry's pointer to the bytes of @fr, or NULL if @fr is malformed or
 * not inside the file. */
void *memfile_map(const struct memfile *mf, struct file_range fr);

/* Bytes allocated now. */
uint64_t memfile_allocated(struct memfile *mf);

/* Give the pool's and the fresh set's memory back to the host: every free
 * range is a hole after this. */
void memfile_trim(struct memfile *mf);

/* Turn prefill on (see above).  Call once, before the file is shared. */
void memfile_prefill(struct memfile *mf);

#endif

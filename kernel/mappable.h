/*
 * kernel/mappable.h - what a file offers the memory manager to be mapped.
 *
 * A mappable object (a FUSE file, through its page cache) lends the
 * memory-file frames that hold its data to address spaces, as gVisor's
 * memmap.Mappable does.  The mm keeps a reference on the object for each
 * VMA piece that maps it, and pins the frames it maps: a pinned frame is
 * counted once in Mapped however many address spaces map it, and stays
 * where it is until its last pin goes.
 *
 * Filling and writing back talk to a FUSE server, so the mm calls them
 * with no lock held; pin, repin and unpin never block.
 */
#ifndef KSENTRY_KERNEL_MAPPABLE_H
#define KSENTRY_KERNEL_MAPPABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "platform/file_range.h"

struct mm_mappable_ops {
	void (*get)(void *obj);
	void (*put)(void *obj);
	/*
	 * Pin the frames behind the object's bytes [off, off + len) (page
	 * aligned), as far as they are contiguous in the memory file and in
	 * memory: *@out is at least one page, at most @len.  @dirty: the
	 * mapping may write them (they will be written back).  0, -EAGAIN
	 * (the page at @off is not in memory: fill, then pin again) or
	 * -ENOMEM.
	 */
	int (*pin)(void *obj, uint64_t off, uint64_t len, bool dirty, struct file_range *out);
	/* One more pin on frames already pinned (fork).  0 or -ENOMEM. */
	int (*repin)(void *obj, struct file_range fr);
	void (*unpin)(void *obj, struct file_range fr);
	/* Bring [off, off + len) into memory.  May block.  0 or -errno. */
	int (*fill)(void *obj, uint64_t off, uint64_t len);
	/* Write back what mappings dirtied in [off, off + len); @wait: wait
	 * for the server (else queue it and go on).  May block.  0 or -errno. */
	int (*writeback)(void *obj, uint64_t off, uint64_t len, bool wait);
	const char *name; /* what /proc/PID/maps calls the mapping, or NULL */
};

#endif

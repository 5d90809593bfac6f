/*
 * kernel/vfs/pagecache.h - a file's data cached in memory-file frames.
 *
 * A page cache maps page-aligned ranges of a file to memory-file frames
 * charged to PageCache, each page clean or dirty.  It serves memory
 * mappings of files whose data lives elsewhere (a FUSE server): faults pin
 * its frames (a frame reference set counts the pins and charges Mapped
 * once per frame), and what mappings dirty is written back on msync,
 * fsync and munmap.
 *
 * Coherence with read(2) and write(2), which go to the server: a write
 * updates the cached pages it covers (pagecache_update) after the server
 * took it, and a read writes back the dirty pages it covers first.  A
 * dirty page that is still mapped stays dirty after it is written back,
 * since a writable mapping keeps writing to it without telling anyone; an
 * unmapped one becomes clean.
 *
 * Filling and writing back call the file system without the lock held:
 * the frames are allocated first and inserted when the data is in (a
 * racing fill of the same pages loses and frees its frames), and dirty
 * data is copied out under the lock before it is sent.  Pinned frames
 * are never freed: truncation zeroes them instead, and invalidation
 * leaves them.
 *
 * Locking: @lock protects everything; never held across a call out.
 * Lock order: pagecache.lock -> memfile.lock.
 */
#ifndef KSENTRY_KERNEL_VFS_PAGECACHE_H
#define KSENTRY_KERNEL_VFS_PAGECACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "platform/frame_ref.h"
#include "platform/memfile.h"
#include "platform/segset.h"

struct pagecache {
	pthread_mutex_t lock;
	struct memfile *mf;
	struct segset pages;	     /* file range -> struct pagecache_page */
	struct frame_ref_set pinned; /* memory-file range -> pins (Mapped) */
	uint64_t cached;	     /* bytes in @pages */
	uint64_t stuck;		     /* unpins that found no node: frames kept */
};

/* Read up to @len bytes of the file at @off into @buf: the count (short
 * at end of file; the rest of the page reads as zeros) or -errno. */
typedef ssize_t (*pagecache_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);
/* Write @len bytes at @off: 0 or -errno. */
typedef int (*pagecache_write_fn)(void *ctx, uint64_t off, const void *buf, size_t len);

void pagecache_init(struct pagecache *pc, struct memfile *mf);

/* Free every frame.  Nothing may be pinned (a mapping holds the file,
 * and so the cache, alive); pinned frames would leak rather than be
 * freed under a mapping. */
void pagecache_destroy(struct pagecache *pc);

/* See struct mm_mappable_ops: pin, repin, unpin. */
int pagecache_pin(struct pagecache *pc, uint64_t off, uint64_t len, bool dirty,
		  struct file_range *out);
int pagecache_repin(struct pagecache *pc, struct file_range fr);
void pagecache_unpin(struct pagecache *pc, struct file_range fr);

/* Make [off, off + len) (page aligned) cached, reading what is missing
 * with @read.  0, -ENOMEM or @read's error. */
int pagecache_fill(struct pagecache *pc, uint64_t off, uint64_t len, pagecache_read_fn read,
		   void *ctx);

/* Write the dirty bytes of [off, off + len) below @size (the file's
 * size: pages past it are not the file's) with @write.  0 or the first
 * error (those pages stay dirty). */
int pagecache_writeback(struct pagecache *pc, uint64_t off, uint64_t len, uint64_t size,
			pagecache_write_fn write, void *ctx);

/* Does [off, off + len) hold a dirty page? */
bool pagecache_dirty(struct pagecache *pc, uint64_t off, uint64_t len);

/* The server took @len bytes of @buf at @off: cached pages follow. */
void pagecache_update(struct pagecache *pc, uint64_t off, const void *buf, size_t len);

/* Copy what is cached of [off, off + len) into @buf, from @off up to the
 * first page not cached: the bytes copied (FUSE's RETRIEVE). */
size_t pagecache_read_cached(struct pagecache *pc, uint64_t off, void *buf, size_t len);

/* The file is @size bytes now: what lies past it reads as zeros, and
 * unpinned pages wholly past it go. */
void pagecache_truncate(struct pagecache *pc, uint64_t size);

/* Forget the clean, unpinned pages of [off, off + len) (len 0: to the
 * end), so that they are read again. */
void pagecache_invalidate(struct pagecache *pc, uint64_t off, uint64_t len);

/* Bytes cached. */
uint64_t pagecache_size(struct pagecache *pc);

#endif

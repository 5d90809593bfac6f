/*
 * kernel/mm.h - a process's memory: VMAs, PMAs, faults and guest copies.
 *
 * Two segment sets keyed by guest virtual address describe a process's
 * memory, as in gVisor's mm package:
 *   - VMAs say what the guest asked for: which ranges are mapped, with which
 *     protection and kind (heap, stack, anonymous).  They are the truth
 *     about what the guest may touch.
 *   - PMAs say which memory-file frames back which pages right now.  A page
 *     in a VMA without a PMA has never been touched (or was dropped by
 *     madvise(DONTNEED)); touching it allocates zeroed frames.
 * The platform address space (page tables) caches PMAs with VMA
 * protections and is rebuilt from them whenever they change.
 *
 * Frames are allocated in windows (fault-around): a fault backs and maps the
 * aligned window of MM_FAULT_AROUND pages that holds the faulting page, in a
 * single memory-file range, because on these machines a fault round trip costs ~15 times a
 * page the sentry maps ahead.  Anonymous memory touched in order (a fault
 * in the window right after the last one) doubles the window each time,
 * up to MM_FAULT_AROUND_MAX pages (2 MiB), as Linux's readahead grows:
 * filling a large buffer costs a fault per 2 MiB, not per 64 KiB; any
 * other fault starts again at MM_FAULT_AROUND.  mm_populate() backs
 * whole ranges eagerly (ELF segments, the initial stack), and brk, or
 * mprotect of PROT_NONE anonymous memory to writable right above
 * writable anonymous memory, backs the first MM_GROW_POPULATE bytes of
 * each growth (malloc's heap and thread arenas: malloc touches them at
 * once; a thread stack made writable above its guard is not backed).
 *
 * Every private anonymous frame is charged to Anonymous.  fork shares
 * frames between mms instead of copying them (mm_fork): both PMAs point at
 * the same frames, marked copy-on-write when the VMA is private, and the
 * kernel-wide struct mm_frames counts each frame's extra owners.  A write
 * to a copy-on-write page copies it, unless this mm turns out to be its
 * only owner; unmapping gives up one ownership, and the last owner frees
 * the frame.  A copy-on-write page is mapped without write access, so the
 * write faults; MAP_SHARED anonymous memory stays shared across fork.
 *
 * Guest copies (mm_copy_in/out, mm_copy_in_string) check the guest's own
 * rights page by page: a pointer outside every VMA (including the whole
 * upper, trampoline half), or into a VMA without the needed protection, is
 * -EFAULT, never a host access.
 *
 * Locking: @lock protects every field; each public function takes it.
 * It may be held while allocating from the memory file and while calling
 * the platform address space.  Lock order: mm.lock (a parent's before its
 * child's, in fork) -> mm_frames.lock -> memfile.lock.
 */
#ifndef KSENTRY_KERNEL_MM_H
#define KSENTRY_KERNEL_MM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "kernel/mappable.h"
#include "platform/frame_ref.h"
#include "platform/memfile.h"
#include "platform/platform.h"
#include "platform/segset.h"

#define MM_FAULT_AROUND 16 /* pages backed and mapped per fault */
#define MM_FAULT_AROUND_MAX 512 /* ... by a fault in anonymous memory touched in order */
#define MM_GROW_POPULATE (UINT64_C(1) << 20) /* backed by brk, or mprotect from PROT_NONE, of each growth, at most */

/* Where top-down mmap placement starts, below the stack's region. */
#define MM_MMAP_BASE UINT64_C(0x00007f0000000000)

enum mm_vma_kind {
	MM_VMA_ANON,
	MM_VMA_HEAP,
	MM_VMA_STACK,
};

/*
 * A VMA of a file mapping names its object (@mobj, with @mops: see
 * kernel/mappable.h) and the object's offset at the VMA's start.  Every
 * VMA segment holds its own reference on the object: splitting takes
 * one, merging and removing drop one (removal through the deferred list,
 * since a shared mapping is written back first, without the lock).
 */
struct mm_vma {
	unsigned prot;         /* PROT_READ | PROT_WRITE | PROT_EXEC */
	enum mm_vma_kind kind;
	int shared;            /* MAP_SHARED */
	bool noreserve;        /* MAP_NORESERVE: never charged to the commit */
	bool charged;          /* its length is in mm_frames.committed */
	const struct mm_mappable_ops *mops; /* NULL: anonymous */
	void *mobj;
	uint64_t moff;
};

/*
 * PMAs of file mappings (@file) name frames the object lends, pinned:
 * they are unpinned, never freed, when the PMA goes.  In a private
 * mapping they are copy-on-write, and the first write copies them into
 * anonymous frames of the mm's own.
 */
struct mm_pma {
	uint64_t off; /* memory-file offset of the frame behind the range's start */
	bool cow;     /* shared by fork, or a file's: copy before the first write */
	bool file;    /* lent by the VMA's object */
};

/* An object reference (and maybe a writeback) owed once the lock is
 * dropped. */
struct mm_deferred {
	const struct mm_mappable_ops *ops;
	void *obj;
	uint64_t off, len; /* the object's range to write back */
	bool writeback;
};

/*
 * Frames owned by more than one mm: for each, how many owners it has
 * beyond the first.  A frame missing from the set has one owner.  One per
 * kernel, shared by all its mms.
 *
 * It also keeps the kernel's commit: the bytes of memory its mms may
 * come to need for writable private and shared anonymous mappings
 * (Linux's Committed_AS, in its strict mode).  A mapping, brk, mremap,
 * mprotect to writable or fork that would take the commit past
 * @commit_limit (the memory cap) fails with ENOMEM there and then, so
 * that running out of memory is ENOMEM to the guest and not a fault it
 * cannot handle.  MAP_NORESERVE mappings and read-only ones are not
 * charged, nor is the initial stack (Linux charges a stack as it grows,
 * not its rlimit up front); memory that tmpfs, the page cache or a deep
 * stack take can still make a fault fail (SIGBUS).
 */
struct mm_frames {
	pthread_mutex_t lock;
	struct frame_ref_set extra; /* protected by lock */
	uint64_t committed;         /* atomic */
	uint64_t commit_limit;      /* 0: no limit */
};

/* @commit_limit: bytes the commit may reach (0: unlimited). */
void mm_frames_init(struct mm_frames *f, uint64_t commit_limit);
void mm_frames_destroy(struct mm_frames *f);

enum mm_access {
	MM_ACCESS_READ = 1,
	MM_ACCESS_WRITE = 2,
	MM_ACCESS_EXEC = 4,
};

struct mm {
	pthread_mutex_t lock;
	struct memfile *mf;      /* frames come from here; outlives the mm */
	struct platform_as *as;  /* owned: destroyed with the mm */
	struct segset vmas;      /* va range -> struct mm_vma */
	struct segset pmas;      /* va range -> struct mm_pma */
	struct mm_frames *frames; /* owners of shared frames; NULL: this mm never forks */
	int users;               /* tasks using it (CLONE_VM); atomic */
	uint64_t brk_start;      /* heap: [brk_start, page_up(brk)) */
	uint64_t brk;
	struct mm_deferred *defer; /* run by whoever drops the lock next */
	size_t ndefer, capdefer;
	uint64_t fault_next;     /* where the last anonymous fault's window ended */
	unsigned fault_pages;    /* and its size in pages */
};

/* Set up an empty mm drawing frames from @mf and mapping into @as, which
 * it takes ownership of; @frames (which may be NULL: then mm_fork is
 * -ENOSYS) counts shared frames.  One user.  Never fails. */
void mm_init(struct mm *mm, struct memfile *mf, struct mm_frames *frames, struct platform_as *as);

/* A new mm as mm_init, on the heap; NULL when out of memory. */
struct mm *mm_create(struct memfile *mf, struct mm_frames *frames, struct platform_as *as);

/* Take / drop a user of a heap mm (mm_create).  The last put destroys and
 * frees it. */
struct mm *mm_get(struct mm *mm);
void mm_put(struct mm *mm);

/*
 * fork: make the empty @child a copy of @parent sharing its frames, private
 * ones copy-on-write in both (the parent's writable private pages lose
 * write access until written again).  0, -ENOMEM (@child holds part of
 * it then, and is destroyed by its owner) or -ENOSYS (no mm_frames).
 */
int mm_fork(struct mm *child, struct mm *parent);

/* Unmap and free everything, and destroy the address space. */
void mm_destroy(struct mm *mm);

/*
 * mmap(2) for anonymous memory.  @addr is a hint unless @flags has
 * MAP_FIXED (replace) or MAP_FIXED_NOREPLACE (-EEXIST on overlap).
 * Returns the address, or -EINVAL (bad flags, alignment or length),
 * -ENOMEM (no room, or MAP_POPULATE could not allocate).
 */
int64_t mm_mmap(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot, unsigned flags);

/*
 * mmap(2) of a file: as mm_mmap, the pages coming from @obj at @off (page
 * aligned) on demand.  MAP_SHARED mappings write to the object's frames;
 * MAP_PRIVATE ones copy a page at its first write.  The mapping takes its
 * own reference on @obj.
 */
int64_t mm_mmap_file(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot, unsigned flags,
		     const struct mm_mappable_ops *ops, void *obj, uint64_t off);

/* msync(2): write back the shared file mappings of the range (MS_SYNC and
 * MS_ASYNC both wait).  0, -EINVAL (flags, alignment), -ENOMEM (part of
 * the range unmapped) or the writeback's error. */
int mm_msync(struct mm *mm, uint64_t addr, uint64_t len, int flags);

/* munmap(2): 0 or -EINVAL.  Unmapping nothing is not an error. */
int mm_munmap(struct mm *mm, uint64_t addr, uint64_t len);

/* mprotect(2): 0, -EINVAL, or -ENOMEM when part of the range is unmapped. */
int mm_mprotect(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot);

/* mremap(2) with MREMAP_MAYMOVE and MREMAP_FIXED: moves frames, never
 * copies data.  Returns the new address or -EINVAL, -EFAULT, -ENOMEM. */
int64_t mm_mremap(struct mm *mm, uint64_t old_addr, uint64_t old_len, uint64_t new_len,
		  unsigned flags, uint64_t new_addr);

/* madvise(2): MADV_DONTNEED and MADV_FREE drop the frames (the next touch
 * reads zeros); hints are accepted and ignored; others are -EINVAL. */
int mm_madvise(struct mm *mm, uint64_t addr, uint64_t len, int advice);

/*
 * Guest memory held for the sentry to copy into or out of with no lock
 * held (FUSE replies copied straight into a reader's buffer): the frames
 * behind a piece of anonymous memory, given one more owner so that they
 * stay, even if the guest unmaps them meanwhile, until mm_unpin.
 * Copy-on-write is broken first for @write, so the frames are the mm's
 * own; a fork while they are pinned shares them, and a write through the
 * pin after it reaches the child too (Linux's old get_user_pages race).
 */
struct mm_pin {
	unsigned char *p;	/* the sentry's pointer to the piece */
	size_t len;
	struct file_range fr;	/* the frames held (whole pages) */
};

/* Pin the first piece of [va, va + len): up to @len bytes, to the end of
 * its PMA.  0, -EFAULT (not mapped with the rights), or -EAGAIN for
 * memory that cannot be pinned (file mappings; an mm that never forks):
 * copy it the usual way then. */
int mm_pin(struct mm *mm, uint64_t va, size_t len, bool write, struct mm_pin *pin);
void mm_unpin(struct mm *mm, struct mm_pin *pin);

/* Where the heap starts; set by exec, page aligned. */
void mm_set_brk_start(struct mm *mm, uint64_t start);

/* brk(2): returns the new break, or the old one if @addr is refused. */
uint64_t mm_brk(struct mm *mm, uint64_t addr);

/*
 * A guest fault at @addr with @access.  Backs and maps the pages around
 * it.  Returns 0 (resume the guest), -EFAULT (no VMA or not allowed:
 * SIGSEGV) or -ENOMEM (out of memory: SIGBUS).
 */
int mm_handle_fault(struct mm *mm, uint64_t addr, enum mm_access access);

/* Back and map every page of [addr, addr + len) now.  All of it must be in
 * VMAs.  0, -EFAULT or -ENOMEM. */
int mm_populate(struct mm *mm, uint64_t addr, uint64_t len);

/* Copy between guest memory and the sentry with the guest's rights.
 * All or nothing: 0 or -EFAULT (or -ENOMEM while backing pages). */
int __attribute__((warn_unused_result)) mm_copy_in(struct mm *mm, void *dst, uint64_t src,
						   size_t len);
int __attribute__((warn_unused_result)) mm_copy_out(struct mm *mm, uint64_t dst, const void *src,
						    size_t len);

/*
 * Atomically replace the aligned 32-bit word at @va with op(old, @arg),
 * with the guest's write rights; *@old gets what was there.  For futexes
 * (WAKE_OP, robust lists).  0, -EINVAL (misaligned), -EFAULT or -ENOMEM.
 */
int __attribute__((warn_unused_result)) mm_atomic_u32(struct mm *mm, uint64_t va,
						      uint32_t (*op)(uint32_t old, void *arg),
						      void *arg, uint32_t *old);

/*
 * The key of a futex at @va that processes may share: 1 with the
 * memory-file offset of its frame in *@off if @va is in a MAP_SHARED
 * mapping, 0 if it is private (then (mm, va) names it, as on Linux),
 * -EFAULT if unmapped.
 */
int mm_futex_key(struct mm *mm, uint64_t va, uint64_t *off);

/* Copy a NUL-terminated string of at most @size - 1 bytes into @dst.
 * Returns its length, -EFAULT, or -ENAMETOOLONG when no NUL comes within
 * @size bytes. */
long __attribute__((warn_unused_result)) mm_copy_in_string(struct mm *mm, char *dst, uint64_t src,
							   size_t size);

#endif

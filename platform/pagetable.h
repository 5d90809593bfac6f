/*
 * platform/pagetable.h - x86-64 4-level page tables in memory-file frames.
 *
 * Each address space is a tree of 4 KiB tables: PML4, PDPT, PD, PT, each a
 * frame of the memory file charged to System.  A guest-physical address is a
 * memory-file offset, so the PML4's offset is the CR3 value, and the sentry
 * writes entries through memfile_map().  Leaves are 4 KiB pages (in a PT) or
 * 2 MiB pages (PS in a PD); 1 GiB pages are never made.
 *
 * Protection lives in the leaves.  Tables above them are permissive
 * (present, writable, user, executable), so a leaf alone decides; the
 * trampoline's supervisor-only pages simply have leaves without PT_USER.
 * x86 cannot express write-only or execute-only: a present page is readable.
 *
 * Layout.  Addresses are 48-bit canonical.  The user half is
 * [0, PT_USER_END); the upper half [PT_UPPER_START, 2^64) holds the ring-0
 * trampoline.  A range handed to map, unmap or protect lies in one half.
 * The trampoline's tables are built once, in a template page table, and
 * every address space borrows the template's upper PML4 entries
 * (pagetable_share_upper()); a table frees only what it owns.
 *
 * Lifecycle of table frames.  A table is allocated when a mapping first
 * needs it and retired when it becomes empty (or when a 2 MiB page replaces
 * it).  A retired table is not freed at once: another vCPU may still walk it
 * from its paging-structure caches, and a freed frame may come back as guest
 * data, which such a walk would then read as page tables.  The owner frees
 * retired tables with pagetable_free_retired() after its TLB shootdown.
 *
 * Failure.  Every change first walks its range without touching anything,
 * counting the table frames it needs and checking every table address it
 * will follow, then allocates those frames, then makes the change, which
 * can no longer fail.  So map, unmap and protect either do all their work or
 * none of it.  Table entries are read back from guest-physical memory: an
 * address found in one that is not inside the memory file is -EIO, never a
 * host access.  (No guest mapping ever names a System frame, so only a
 * sentry bug could write such an entry; this is defence in depth.)
 *
 * Locking: none.  The owner (the address space) serialises every call on
 * one page table, and on a template and the tables that share it.  vCPUs
 * may walk a table while it changes: each entry is written with one atomic
 * store, and a new table is filled before it is linked.
 */
#ifndef KSENTRY_PLATFORM_PAGETABLE_H
#define KSENTRY_PLATFORM_PAGETABLE_H

#include <stdint.h>

#include "platform/memfile.h"

/* The address space layout. */
#define PT_USER_END	     UINT64_C(0x0000800000000000) /* user half: [0, PT_USER_END) */
#define PT_UPPER_START	     UINT64_C(0xffff800000000000) /* upper half: to 2^64 */
#define PT_ENTRIES	     512			  /* entries in one table */
#define PT_UPPER_FIRST_INDEX 256			  /* first PML4 slot of the upper half */
#define PT_PHYS_LIMIT	     (UINT64_C(1) << 52)	  /* architectural MAXPHYADDR */

/* Bits of an x86-64 page-table entry, for the trampoline and for tests. */
#define PTE_P	      (UINT64_C(1) << 0)	   /* present */
#define PTE_RW	      (UINT64_C(1) << 1)	   /* writable */
#define PTE_US	      (UINT64_C(1) << 2)	   /* user (ring 3) accessible */
#define PTE_A	      (UINT64_C(1) << 5)	   /* accessed */
#define PTE_D	      (UINT64_C(1) << 6)	   /* dirty */
#define PTE_PS	      (UINT64_C(1) << 7)	   /* 2 MiB page, in a PD entry */
#define PTE_G	      (UINT64_C(1) << 8)	   /* global: survives CR3 loads */
#define PTE_NX	      (UINT64_C(1) << 63)	   /* no execute (needs EFER.NXE) */
#define PTE_ADDR      UINT64_C(0x000ffffffffff000) /* frame address of a table or 4 KiB page */
#define PTE_ADDR_HUGE UINT64_C(0x000fffffffe00000) /* frame address of a 2 MiB page */

/*
 * Protection of a mapping.  The first three have PROT_READ/WRITE/EXEC's
 * values, so an mm passes its VMA's prot through.  Any present page can be
 * read, so READ is implied by WRITE or EXEC.
 */
enum pt_prot {
	PT_PROT_READ = 1,
	PT_PROT_WRITE = 2,
	PT_PROT_EXEC = 4,
	PT_USER = 8,	/* ring 3 may access it; without it, ring 0 only */
	PT_GLOBAL = 16, /* kept in the TLB across CR3 loads: trampoline pages */
};

/*
 * Where a table frame goes once no walk should reach it any more.  The
 * default (NULL) frees it to the memory file.  A platform whose MMU keeps
 * its own copies of tables beyond a TLB flush (KVM's shadow paging caches
 * a shadow page per guest table frame, and only a full MMU reset drops
 * it) takes the frames instead, and frees them after that reset.
 */
typedef void (*pagetable_release_fn)(void *priv, uint64_t pa);

struct pagetable {
	struct memfile *mf;
	pagetable_release_fn release; /* NULL: memfile_free(); set after init */
	void *release_priv;
	uint64_t root;			  /* guest-physical address of the PML4: the CR3 value */
	uint64_t shared[PT_ENTRIES / 64]; /* PML4 slots borrowed from a template */
	uint64_t retired;		  /* retired tables, linked through their first entry */
	uint64_t nr_retired;		  /* how many are waiting */
};

/*
 * Make @pt an empty page table whose frames come from @mf, which must
 * outlive it.  Allocates the PML4.  0, or -ENOMEM.
 */
int __attribute__((warn_unused_result)) pagetable_init(struct pagetable *pt, struct memfile *mf);

/*
 * Free every table @pt owns, retired ones included; not the frames its
 * leaves map, and not the upper-half tables it borrows.  No vCPU may use
 * @pt any more.  A template is destroyed after every table sharing it.
 * Calling it again is harmless.
 */
void pagetable_destroy(struct pagetable *pt);

/*
 * Map [va, va + len) to guest-physical [pa, pa + len) in 4 KiB pages with
 * @prot, replacing whatever was mapped there (a 2 MiB page partly covered
 * is split, its other pages keep their mapping).  va, pa and len are page
 * aligned, len > 0; [pa, pa + len) need not be in the memory file (an MMIO
 * doorbell is not), but must be below PT_PHYS_LIMIT.
 * Returns 0 or, with nothing changed: -EINVAL (bad alignment, length or
 * prot; a range that wraps, is not canonical or crosses halves), -EPERM (the
 * range is under a borrowed PML4 slot), -ENOMEM (no frame for a table),
 * -EIO (a corrupt table entry).
 */
int __attribute__((warn_unused_result))
pagetable_map(struct pagetable *pt, uint64_t va, uint64_t pa, uint64_t len, unsigned prot);

/*
 * As pagetable_map() in 2 MiB pages: va, pa and len are 2 MiB aligned.  A
 * 4 KiB page table under a replaced PD entry is retired.
 */
int __attribute__((warn_unused_result))
pagetable_map_huge(struct pagetable *pt, uint64_t va, uint64_t pa, uint64_t len, unsigned prot);

/*
 * Remove every mapping in [va, va + len) (page aligned, len > 0); nothing
 * mapped there is fine.  A 2 MiB page partly covered is split, its other
 * pages keep their mapping; if no frame can be had for that, the whole 2 MiB
 * page is removed instead (page tables are a cache of the mm's mappings, and
 * the rest refaults), so unmap never fails for lack of memory.  Tables that
 * become empty are retired, except the PML4 and the upper half's PDPTs
 * (other tables may share them).  The removed translations stay in TLBs
 * until the owner's shootdown.  Returns 0, -EINVAL, -EPERM or -EIO as
 * pagetable_map(), with nothing changed.
 */
int __attribute__((warn_unused_result))
pagetable_unmap(struct pagetable *pt, uint64_t va, uint64_t len);

/*
 * Set the protection of every page mapped in [va, va + len) to @prot;
 * unmapped pages stay unmapped.  A 2 MiB page partly covered is split.
 * Returns 0 or, with nothing changed, the errors of pagetable_map().
 */
int __attribute__((warn_unused_result))
pagetable_protect(struct pagetable *pt, uint64_t va, uint64_t len, unsigned prot);

/*
 * Translate @va as the MMU would: *@pa (if not NULL) is its guest-physical
 * address, *@prot (if not NULL) the effective protection: PT_USER only if
 * every level allows ring 3, PT_PROT_WRITE only if every level allows
 * writes, PT_PROT_EXEC unless some level sets NX, PT_GLOBAL from the leaf.
 * Returns 0, -EFAULT (not mapped, or @va not canonical) or -EIO.
 */
int __attribute__((warn_unused_result))
pagetable_walk(const struct pagetable *pt, uint64_t va, uint64_t *pa, unsigned *prot);

/*
 * Borrow every present upper-half PML4 entry of the template @from (same
 * memory file), so that @pt sees the trampoline's tables.  Later changes
 * under those entries, made through @from, show in @pt; upper-half PML4
 * slots @from fills later do not, so build the template first.  Calling it
 * again is harmless.  Returns 0, -EINVAL (another memory file, or
 * @pt == @from), -EEXIST (@pt already has its own table in one of those
 * slots; nothing changed) or -EIO.
 */
int __attribute__((warn_unused_result))
pagetable_share_upper(struct pagetable *pt, const struct pagetable *from);

/* Called once per mapped piece; a nonzero return stops the walk. */
typedef int (*pagetable_visit_fn)(void *priv, uint64_t va, uint64_t pa, uint64_t len,
				  unsigned prot);

/*
 * Call @fn for each mapped piece of [va, va + len) (checked as for
 * pagetable_unmap()), in address order: a 4 KiB page, or the part of a
 * 2 MiB page inside the range, with its canonical va, pa and effective
 * prot as pagetable_walk() reports it.  @fn must not change @pt.
 * Returns 0, what @fn returned, -EINVAL, or -EIO (after visiting the
 * pieces before the corrupt entry).
 */
int __attribute__((warn_unused_result))
pagetable_for_each_present(const struct pagetable *pt, uint64_t va, uint64_t len,
			   pagetable_visit_fn fn, void *priv);

/*
 * Free the tables retired so far.  Call it only when no vCPU can still
 * hold a translation through them: after the TLB shootdown that follows
 * the unmap or map that retired them.
 */
void pagetable_free_retired(struct pagetable *pt);

#endif

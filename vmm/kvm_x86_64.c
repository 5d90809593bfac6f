/*
 * vmm/kvm_x86_64.c - the KVM platform; see kvm.h for the model and
 * kvm_layout.h for the guest's memory and exits.
 *
 * Objects.  One struct kvm_platform per sandbox holds the VM, the
 * trampoline (a template page table whose upper half every address space
 * borrows), the pool of vCPUs and the quarantine of table frames.  A
 * struct kvm_as is one page table.  A struct kvm_context is a vCPU bound to
 * an address space for the life of a task.
 *
 * Where a vCPU stops.  A context remembers where its vCPU was left, since
 * that decides how the next run() puts the task's registers back:
 *   AT_START    never run, or just taken from the pool: load everything,
 *               segment registers included, and start in ring 3;
 *   AT_USER     in ring 3 (PVM doorbell, or kicked in user code): set the
 *               registers and go;
 *   AT_TRAP     in ring 0 in an exception stub, after its `out`: write the
 *               user rip/rsp/rflags into the frame on the trap stack, set
 *               the other registers, and let the stub iretq;
 *   AT_SYSCALL  hardware KVM, in ring 0 at the entry stub's sysretq: set
 *               rcx/r11 to the return rip/rflags, or redirect to kvm_iret
 *               with a frame when sysret cannot express the return.
 * Under PVM the vCPU's RIP is never changed while it is in ring 0: a RIP
 * set after an exit raised by emulated ring-0 code is lost when that
 * instruction completes (design brief, section 2).
 *
 * Whatever the guest left in its registers is checked before it is used
 * to return: the return rip must be a canonical user address (else the
 * task gets SIGSEGV as Linux would give it), rflags is masked to the bits
 * a user may hold, and the code and stack selectors are always the user's.
 *
 * Lock order: kvm_platform.lock, then memfile.lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform/pagetable.h"
#include "platform/tsc.h"
#include "vmm/kvm.h"
#include "vmm/kvm_layout.h"

_Static_assert(KVM_STUB_VA == PLATFORM_USER_END, "the stub lives above the mm's user half");

extern const char kvm_ring0_start[], kvm_ring0_end[];
extern const char kvm_pvm_stub[], kvm_pvm_stub_exit[], kvm_pvm_stub_end[];

#define PG		 UINT64_C(4096)
#define NR_VECTORS	 32
#define QUARANTINE_MAX	 256 /* table frames held before a full MMU reset */
#define ZAP_SLOT	 1   /* the dummy memslot whose deletion resets KVM's MMU */
#define TRAP_STACK_TOP	 (2 * PG) /* offset in the vCPU area */
#define IST_STACK_TOP	 (PG + PG / 2)

#define CR0_PE	       (1u << 0)
#define CR0_MP	       (1u << 1)
#define CR0_ET	       (1u << 4)
#define CR0_NE	       (1u << 5)
#define CR0_WP	       (1u << 16)
#define CR0_AM	       (1u << 18)
#define CR0_PG	       (1u << 31)
#define CR4_PAE	       (1u << 5)
#define CR4_PGE	       (1u << 7)
#define CR4_OSFXSR     (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_OSXSAVE    (1u << 18)
#define CR4_FSGSBASE   (1u << 16)
#define CR4_SMEP       (1u << 20)
#define CR4_SMAP       (1u << 21)
#define EFER_SCE       (1u << 0)
#define EFER_LME       (1u << 8)
#define EFER_LMA       (1u << 10)
#define EFER_NXE       (1u << 11)

#define MSR_STAR	   0xc0000081
#define MSR_LSTAR	   0xc0000082
#define MSR_CSTAR	   0xc0000083
#define MSR_SYSCALL_MASK   0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

/* rflags bits a user may hold (Linux's FIX_EFLAGS plus ID); IF and the
 * reserved bit 1 are always set. */
#define RFLAGS_USER   UINT64_C(0x250dd5)
#define RFLAGS_FIXED  UINT64_C(0x202)
/* Cleared by `syscall`: TF, DF, IF, IOPL, NT, AC, as Linux does. */
#define SYSCALL_MASK  UINT64_C(0x47700)
/* Vectors that push an error code. */
#define ERR_VECTORS   ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | \
		       (1u << 14) | (1u << 17) | (1u << 21) | (1u << 29) | (1u << 30))

/* The 64-bit TSS: only the ring-0 stack and IST pointers are used. */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

_Static_assert(sizeof(struct tss64) == 104, "TSS layout");

struct kvm_vcpu {
	int fd;
	int id;
	struct kvm_run *run;
	struct file_range area; /* TSS page + trap stack page */
	bool used;		/* ran a task before: FPU state must be reset */
	bool stale_fpu;		/* holds that task's FPU state still: reset before it runs or is read */
	struct kvm_vcpu *next;	/* in the pool; protected by kvm_platform.lock */
};

struct kvm_platform {
	struct platform base;
	struct memfile *mf;
	enum kvm_mode mode;
	int kvm_fd, vm_fd;
	size_t run_size;
	unsigned max_vcpus;
	struct kvm_cpuid2 *cpuid;
	uint64_t cr4, xcr0;    /* xcr0 0: no XSAVE for the guest's ring 0 */
	uint64_t fpu_xfeatures; /* the components KVM_GET_XSAVE holds (platform/fpu.h) */
	size_t fpu_size;	/* and their image's size */
	uint64_t doorbell_gpa;
	void *zap_page;
	uint64_t zap_gpa;
	int kick_signal;
	struct kvm_sregs sregs; /* ring-3 template; cr3 and tr.base per context */
	char desc[512];		/* platform.description */
	char vcpu_why[160];	/* why the last vCPU could not be set up */

	struct pagetable upper;	  /* the trampoline; never unmapped */
	struct file_range tramp;  /* GDT, IDT, ring-0 code */
	struct file_range stub;	  /* PVM syscall stub page */

	pthread_mutex_t lock;
	struct kvm_vcpu *pool;	  /* idle vCPUs; protected by lock */
	unsigned nr_vcpus;	  /* created so far; protected by lock */
	uint64_t *quarantine;	  /* table frames waiting for a reset; protected by lock */
	size_t nr_quarantine, cap_quarantine;
	unsigned long resets;	  /* protected by lock */
};

struct kvm_as {
	struct platform_as base;
	struct kvm_platform *p;
	struct pagetable pt;
};

enum vcpu_where { AT_START, AT_USER, AT_TRAP, AT_SYSCALL };

struct kvm_context {
	struct platform_context base;
	struct kvm_platform *p;
	struct kvm_as *as;
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	enum vcpu_where where;
	uint64_t entry_rcx; /* AT_SYSCALL: the return rip the CPU wrote */
};

static struct kvm_platform *to_kp(const struct platform *p)
{
	return (struct kvm_platform *)p;
}

/* --- setup helpers --- */

const struct kvm_cap_need kvm_caps_needed[] = {
	{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "the memory file as guest RAM"},
	{KVM_CAP_SYNC_REGS, "KVM_CAP_SYNC_REGS", "registers without an ioctl per syscall"},
	{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "kicking a running vCPU"},
	{KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "the guest's CPUID"},
	{KVM_CAP_XSAVE, "KVM_CAP_XSAVE", "a task's FPU, SSE and AVX state"},
	{KVM_CAP_XCRS, "KVM_CAP_XCRS", "XCR0 for the guest's XSAVE"},
	{0, NULL, NULL},
};

int kvm_missing_cap(int (*has)(long cap, void *arg), void *arg, char *why, size_t whylen)
{
	for (const struct kvm_cap_need *c = kvm_caps_needed; c->name; c++) {
		if (has(c->cap, arg) <= 0) {
			snprintf(why, whylen, "KVM lacks %s (needed for %s)", c->name, c->use);
			return -ENOTSUP;
		}
	}
	return 0;
}

static int kvm_has(long cap, void *arg)
{
	return ioctl(((struct kvm_platform *)arg)->kvm_fd, KVM_CHECK_EXTENSION, cap);
}


static const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c, uint32_t fn,
						 uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

/* fpu_cpuid_fn over KVM's supported CPUID. */
static void kvm_cpuid_0xd(void *arg, unsigned sub, uint32_t *eax, uint32_t *ebx)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(arg, 0xd, sub);

	*eax = e ? e->eax : 0;
	*ebx = e ? e->ebx : 0;
}

/* What the guest may have: CR4 bits and XCR0 "as the host allows". */
static int cpu_features(struct kvm_platform *p, char *why, size_t n)
{
	const struct kvm_cpuid_entry2 *e1, *e7, *ed;
	size_t sz = sizeof(struct kvm_cpuid2) + 256 * sizeof(struct kvm_cpuid_entry2);

	p->cpuid = calloc(1, sz);
	if (!p->cpuid)
		return -ENOMEM;
	p->cpuid->nent = 256;
	if (ioctl(p->kvm_fd, KVM_GET_SUPPORTED_CPUID, p->cpuid)) {
		snprintf(why, n, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return -errno;
	}
	p->cr4 = CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	e1 = cpuid_find(p->cpuid, 1, 0);
	e7 = cpuid_find(p->cpuid, 7, 0);
	ed = cpuid_find(p->cpuid, 0xd, 0);
	/*
	 * The state a task's FPU image holds: x87, SSE, AVX and AVX-512, as
	 * Linux gives user space, of what leaf 0xD says KVM keeps for the
	 * vCPU (KVM_GET_XSAVE follows the guest's leaf 0xD, which we give it).
	 * Not only where CPUID.1 offers XSAVE: PVM hides it, yet runs guest
	 * ring 3 on the host's XCR0, so AVX is live there all the same
	 * (probed: a guest's ymm registers come back through KVM_GET_XSAVE).
	 */
	p->fpu_size = FPU_FXSAVE_SIZE;
	if (ed) {
		p->fpu_xfeatures = (((uint64_t)ed->edx << 32) | ed->eax) & FPU_FEATURES_MASK;
		p->fpu_size = fpu_xsave_size(p->fpu_xfeatures, kvm_cpuid_0xd, p->cpuid);
		if (p->fpu_size > PLATFORM_FPU_MAX) { /* cannot be: the KVM region is 4 KiB */
			p->fpu_xfeatures &= 7;
			p->fpu_size = fpu_xsave_size(p->fpu_xfeatures, kvm_cpuid_0xd, p->cpuid);
		}
	}
	if (e1 && (e1->ecx >> 26 & 1) && ed) {
		p->xcr0 = p->fpu_xfeatures;
		p->cr4 |= CR4_OSXSAVE;
	}
	/* rd/wr{fs,gs}base in ring 3 where KVM offers it, as Linux allows
	 * it (AT_HWCAP2 does not say so yet: programs keep arch_prctl).  The
	 * bases are read back from the synced segments at every exit. */
	if (e7 && (e7->ebx & 1))
		p->cr4 |= CR4_FSGSBASE;
	if (e7 && (e7->ebx >> 7 & 1))
		p->cr4 |= CR4_SMEP;
	if (e7 && (e7->ebx >> 20 & 1))
		p->cr4 |= CR4_SMAP;
	return 0;
}

static struct kvm_segment user_seg(uint16_t sel, bool code)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = code ? 11 : 3,
		.present = 1, .dpl = 3, .db = !code, .s = 1, .l = code, .g = 1,
	};
}

/* The GDT, the IDT and the ring-0 code, in three frames of the memory
 * file mapped ring-0 only into the trampoline. */
static int build_trampoline(struct kvm_platform *p)
{
	uint64_t *gdt, *idt;
	unsigned char *code;
	int err;

	err = memfile_alloc(p->mf, 3 * PG, PG, MEMACCT_SYSTEM, &p->tramp);
	if (err)
		return err;
	gdt = memfile_map(p->mf, p->tramp);
	idt = gdt + PG / 8;
	code = (unsigned char *)gdt + 2 * PG;

	/* Accessed bits preset: the CPU never writes these descriptors. */
	gdt[KVM_KERNEL_CS / 8] = UINT64_C(0x00af9b000000ffff);
	gdt[KVM_KERNEL_DS / 8] = UINT64_C(0x00cf93000000ffff);
	gdt[KVM_USER32_CS / 8] = UINT64_C(0x00cffb000000ffff);
	gdt[KVM_USER_DS / 8] = UINT64_C(0x00cff3000000ffff);
	gdt[KVM_USER_CS / 8] = UINT64_C(0x00affb000000ffff);
	/* gdt[KVM_TSS_SEL / 8] stays empty: TR is loaded through KVM, with
	 * each vCPU's own TSS, and nothing ever executes ltr. */

	for (unsigned v = 0; v < NR_VECTORS; v++) {
		uint64_t off = KVM_CODE_VA + v * KVM_EXC_STUB_SIZE;
		/* int3 and into may come from ring 3 (DPL 3); NMI, #DF and #MC
		 * get their own stack (IST 1). */
		uint64_t type = (v == 3 || v == 4) ? 0xee : 0x8e;
		uint64_t ist = (v == 2 || v == 8 || v == 18) ? 1 : 0;

		idt[2 * v] = (off & 0xffff) | ((uint64_t)KVM_KERNEL_CS << 16) | (ist << 32) |
			     (type << 40) | ((off >> 16 & 0xffff) << 48);
		idt[2 * v + 1] = off >> 32;
	}
	memcpy(code, kvm_ring0_start, (size_t)(kvm_ring0_end - kvm_ring0_start));

	err = pagetable_map(&p->upper, KVM_GDT_VA, p->tramp.start, PG,
			    PT_PROT_READ | PT_PROT_WRITE | PT_GLOBAL);
	if (!err)
		err = pagetable_map(&p->upper, KVM_IDT_VA, p->tramp.start + PG, PG,
				    PT_PROT_READ | PT_GLOBAL);
	if (!err)
		err = pagetable_map(&p->upper, KVM_CODE_VA, p->tramp.start + 2 * PG, PG,
				    PT_PROT_READ | PT_PROT_EXEC | PT_GLOBAL);
	if (err)
		return err;

	err = memfile_alloc(p->mf, PG, PG, MEMACCT_SYSTEM, &p->stub);
	if (err)
		return err;
	memcpy(memfile_map(p->mf, p->stub), kvm_pvm_stub,
	       (size_t)(kvm_pvm_stub_end - kvm_pvm_stub));
	return 0;
}

/* The ring-3 register state every context starts from. */
static void build_sregs(struct kvm_platform *p, const struct kvm_sregs *from)
{
	struct kvm_sregs *s = &p->sregs;

	*s = *from;
	s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
	s->cr4 = p->cr4;
	s->efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	s->cs = user_seg(KVM_USER_CS, true);
	s->ss = s->ds = s->es = s->fs = s->gs = user_seg(KVM_USER_DS, false);
	s->tr = (struct kvm_segment){.limit = 0x67, .selector = KVM_TSS_SEL, .type = 11,
				     .present = 1};
	s->gdt.base = KVM_GDT_VA;
	s->gdt.limit = 10 * 8 - 1;
	s->idt.base = KVM_IDT_VA;
	s->idt.limit = NR_VECTORS * 16 - 1;
}

/* --- the vCPU pool --- */

static int vcpu_set_msrs(struct kvm_platform *p, struct kvm_vcpu *v, uint64_t lstar)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[5];
	} m = {
		.hdr.nmsrs = 5,
		.e = {
			{.index = MSR_LSTAR, .data = lstar},
			{.index = MSR_STAR, .data = ((uint64_t)KVM_USER32_CS << 48) |
						    ((uint64_t)KVM_KERNEL_CS << 32)},
			{.index = MSR_CSTAR, .data = 0},
			{.index = MSR_SYSCALL_MASK, .data = SYSCALL_MASK},
			{.index = MSR_KERNEL_GS_BASE, .data = 0},
		},
	};

	return ioctl(v->fd, KVM_SET_MSRS, &m) == 5 ? 0 : -EIO;
}

static uint64_t lstar_of(const struct kvm_platform *p)
{
	return p->mode == KVM_MODE_PVM ? KVM_STUB_VA : KVM_CODE_VA + KVM_SYSCALL_OFF;
}

/* Give @v the FPU state of a new process: nothing of the task before. */
static int vcpu_reset_fpu(struct kvm_platform *p, struct kvm_vcpu *v)
{
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	int err = 0;

	if (!xs)
		return -ENOMEM;
	xs->region[0] = 0x37f; /* fcw */
	xs->region[6] = 0x1f80; /* mxcsr; xstate_bv 0: every component in its init state */
	if (p->fpu_xfeatures ? ioctl(v->fd, KVM_SET_XSAVE, xs) : ioctl(v->fd, KVM_SET_FPU, &fpu))
		err = -errno;
	free(xs);
	return err;
}

static int vcpu_create(struct kvm_platform *p, unsigned id, struct kvm_vcpu **out)
{
	struct kvm_vcpu *v = calloc(1, sizeof(*v));
	struct tss64 *tss;
	struct kvm_sregs s;
	int err;

	if (!v)
		return -ENOMEM;
	v->id = (int)id;
	v->fd = ioctl(p->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0) {
		err = -errno;
		snprintf(p->vcpu_why, sizeof(p->vcpu_why), "KVM_CREATE_VCPU %u: %s", id,
			 strerror(errno));
		goto err_free;
	}
	v->run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		err = -errno;
		snprintf(p->vcpu_why, sizeof(p->vcpu_why), "mmap of the vCPU's kvm_run: %s",
			 strerror(errno));
		goto err_close;
	}
	err = -EIO;
	if (ioctl(v->fd, KVM_SET_CPUID2, p->cpuid)) {
		snprintf(p->vcpu_why, sizeof(p->vcpu_why), "KVM_SET_CPUID2: %s", strerror(errno));
		goto err_unmap;
	}
	if (vcpu_set_msrs(p, v, lstar_of(p))) {
		snprintf(p->vcpu_why, sizeof(p->vcpu_why),
			 "KVM_SET_MSRS refused EFER, STAR, LSTAR or SFMASK");
		goto err_unmap;
	}
	if (p->xcr0) {
		struct kvm_xcrs x = {.nr_xcrs = 1, .xcrs = {{.xcr = 0, .value = p->xcr0}}};

		if (ioctl(v->fd, KVM_SET_XCRS, &x)) {
			snprintf(p->vcpu_why, sizeof(p->vcpu_why), "KVM_SET_XCRS (XCR0 %#lx): %s",
				 (unsigned long)p->xcr0, strerror(errno));
			goto err_unmap;
		}
	}
	if (id == 0) {
		if (ioctl(v->fd, KVM_GET_SREGS, &s)) {
			snprintf(p->vcpu_why, sizeof(p->vcpu_why), "KVM_GET_SREGS: %s",
				 strerror(errno));
			goto err_unmap;
		}
		build_sregs(p, &s);
	}
	v->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;

	err = memfile_alloc(p->mf, 2 * PG, PG, MEMACCT_SYSTEM, &v->area);
	if (err) {
		snprintf(p->vcpu_why, sizeof(p->vcpu_why), "no memory for the vCPU's stacks");
		goto err_unmap;
	}
	/* No I/O bitmap: every port faults in ring 3. */
	tss = memfile_map(p->mf, v->area);
	tss->rsp[0] = KVM_VCPU_AREA(id) + TRAP_STACK_TOP;
	tss->ist[0] = KVM_VCPU_AREA(id) + IST_STACK_TOP;
	tss->iomap_base = sizeof(*tss);
	/* Last, as it cannot be undone: the trampoline is never unmapped. */
	err = pagetable_map(&p->upper, KVM_VCPU_AREA(id), v->area.start, 2 * PG,
			    PT_PROT_READ | PT_PROT_WRITE | PT_GLOBAL);
	if (err)
		goto err_area;
	*out = v;
	return 0;

err_area:
	memfile_free(p->mf, v->area);
err_unmap:
	munmap(v->run, p->run_size);
err_close:
	close(v->fd);
err_free:
	free(v);
	return err;
}

static void vcpu_destroy(struct kvm_platform *p, struct kvm_vcpu *v)
{
	munmap(v->run, p->run_size);
	close(v->fd);
	free(v);
}

/* A vCPU for a new context: an idle one, or a new one. */
static int vcpu_get(struct kvm_platform *p, struct kvm_vcpu **out)
{
	struct kvm_vcpu *v;
	unsigned id;
	int err;

	pthread_mutex_lock(&p->lock);
	v = p->pool;
	if (v)
		p->pool = v->next;
	id = p->nr_vcpus;
	if (!v && id < p->max_vcpus)
		p->nr_vcpus++;
	pthread_mutex_unlock(&p->lock);
	if (v) {
		/* Reset when first run or read, not now: a fork's child gets
		 * its parent's state (set_fpu) before either, and a reset
		 * there would be a KVM_SET_XSAVE for nothing. */
		v->stale_fpu = v->used;
		*out = v;
		return 0;
	}
	if (id >= p->max_vcpus)
		return -EAGAIN; /* KVM's limit on vCPUs, documented */
	pthread_mutex_lock(&p->lock); /* the trampoline's page table */
	err = vcpu_create(p, id, out);
	pthread_mutex_unlock(&p->lock);
	return err;
}

static void vcpu_put(struct kvm_platform *p, struct kvm_vcpu *v)
{
	v->used = true;
	v->run->immediate_exit = 0;
	pthread_mutex_lock(&p->lock);
	v->next = p->pool;
	p->pool = v;
	pthread_mutex_unlock(&p->lock);
}

/* --- KVM's MMU: dropping what it cached --- */

/* Drop every shadow page KVM holds, on every vCPU, then free the
 * quarantined table frames.  Caller holds p->lock. */
static void mmu_reset_locked(struct kvm_platform *p)
{
	struct kvm_userspace_memory_region r = {
		.slot = ZAP_SLOT, .guest_phys_addr = p->zap_gpa, .memory_size = 0,
		.userspace_addr = (uint64_t)p->zap_page,
	};

	/* Deleting a memslot zaps all of KVM's MMU.  If it fails, keep the
	 * frames: leaking 1 MiB is better than reusing a cached table. */
	if (ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return;
	r.memory_size = PG;
	if (ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return;
	for (size_t i = 0; i < p->nr_quarantine; i++)
		memfile_free(p->mf, file_range_make(p->quarantine[i], p->quarantine[i] + PG));
	p->nr_quarantine = 0;
	p->resets++;
}

/* pagetable_release_fn: a table frame leaves use. */
static void table_quarantine(void *priv, uint64_t pa)
{
	struct kvm_platform *p = priv;

	pthread_mutex_lock(&p->lock);
	if (p->nr_quarantine == p->cap_quarantine) {
		size_t cap = p->cap_quarantine ? 2 * p->cap_quarantine : QUARANTINE_MAX;
		uint64_t *q = realloc(p->quarantine, cap * sizeof(*q));

		if (!q) { /* no room to remember it: reset now, and free it after */
			mmu_reset_locked(p);
			pthread_mutex_unlock(&p->lock);
			return; /* leaked: better than freed while cached */
		}
		p->quarantine = q;
		p->cap_quarantine = cap;
	}
	p->quarantine[p->nr_quarantine++] = pa;
	if (p->nr_quarantine >= QUARANTINE_MAX)
		mmu_reset_locked(p);
	pthread_mutex_unlock(&p->lock);
}

/* The frames whose translations a change removes or weakens. */
struct zap_list {
	struct file_range *r;
	size_t n, cap;
	bool overflow; /* could not remember them all: reset the whole MMU */
};

static int zap_collect(void *priv, uint64_t va, uint64_t pa, uint64_t len, unsigned prot)
{
	struct zap_list *z = priv;

	if (z->n && z->r[z->n - 1].end == pa) {
		z->r[z->n - 1].end += len;
		return 0;
	}
	if (z->n == z->cap) {
		size_t cap = z->cap ? 2 * z->cap : 16;
		struct file_range *r = realloc(z->r, cap * sizeof(*r));

		if (!r) {
			z->overflow = true;
			return 0;
		}
		z->r = r;
		z->cap = cap;
	}
	z->r[z->n++] = file_range_make(pa, pa + len);
	return 0;
}

/* After the page table stopped naming the frames of @z: make KVM drop its
 * translations of them, everywhere, before returning. */
static void zap_apply(struct kvm_platform *p, struct zap_list *z)
{
	const struct memfile *mf = p->mf;

	for (size_t i = 0; i < z->n && !z->overflow; i++) {
		struct file_range r = z->r[i];

		if (r.end > mf->size) /* the doorbell: not memory */
			continue;
		if (madvise(mf->base + r.start, file_range_len(r), MADV_DONTNEED))
			z->overflow = true;
	}
	if (z->overflow) {
		pthread_mutex_lock(&p->lock);
		mmu_reset_locked(p);
		pthread_mutex_unlock(&p->lock);
	}
	free(z->r);
}

/* --- address spaces --- */

static bool user_range_ok(uint64_t va, uint64_t len)
{
	return va < PLATFORM_USER_END && len <= PLATFORM_USER_END - va;
}

/* What a map over present pages must zap: a page that keeps its frame
 * and loses no right keeps every translation KVM may hold valid (one that
 * gains a right faults once and KVM walks the table again), so only pages
 * that change frame or lose a right are collected.  The fault-around
 * window maps over pages it mapped before all the time: zapping those
 * cost an madvise and a TLB shootdown each, ~85 per MiB a FUSE server
 * stored. */
struct map_zap {
	struct zap_list z;
	uint64_t va, pa; /* the new mapping's start */
	unsigned prot;	 /* and its rights */
};

#define PT_RIGHTS (PT_PROT_READ | PT_PROT_WRITE | PT_PROT_EXEC | PT_USER)

static int map_zap_collect(void *priv, uint64_t va, uint64_t pa, uint64_t len, unsigned prot)
{
	struct map_zap *mz = priv;

	if (pa - mz->pa == va - mz->va && !(prot & PT_RIGHTS & ~mz->prot))
		return 0;
	return zap_collect(&mz->z, va, pa, len, prot);
}

static int kvm_as_map(struct platform_as *pas, uint64_t va, struct file_range fr, unsigned prot)
{
	struct kvm_as *as = (struct kvm_as *)pas;
	uint64_t len = file_range_len(fr);
	struct map_zap mz = {
		.va = va,
		.pa = fr.start,
		.prot = (prot & (PT_PROT_READ | PT_PROT_WRITE | PT_PROT_EXEC)) | PT_USER,
	};
	int err;

	if (!user_range_ok(va, len) || !memfile_map(as->p->mf, fr))
		return -EINVAL;
	/* What this replaces must be dropped from KVM's MMU too. */
	err = pagetable_for_each_present(&as->pt, va, len, map_zap_collect, &mz);
	if (!err)
		err = pagetable_map(&as->pt, va, fr.start, len, mz.prot);
	if (err) {
		free(mz.z.r); /* nothing changed */
		return err == -EIO || err == -EPERM ? -EINVAL : err;
	}
	zap_apply(as->p, &mz.z);
	pagetable_free_retired(&as->pt);
	/*
	 * The sentry maps ahead so the guest need not fault, and that pays
	 * only if the host has the pages too: a first guest touch of a frame
	 * the host never backed costs ~16 us here (KVM's fault path plus the
	 * host fault), of one it backed ~2.5 us.  Best effort: the guest
	 * faults in whatever this cannot back.
	 */
	(void)madvise(as->p->mf->base + fr.start, len,
		      prot & PROT_WRITE ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
	return 0;
}

static void kvm_as_unmap(struct platform_as *pas, uint64_t va, uint64_t len)
{
	struct kvm_as *as = (struct kvm_as *)pas;
	struct zap_list z = {0};

	if (va >= PLATFORM_USER_END)
		return;
	if (len > PLATFORM_USER_END - va)
		len = PLATFORM_USER_END - va; /* never the stub or the doorbell */
	if (len == 0)
		return;
	if (pagetable_for_each_present(&as->pt, va, len, zap_collect, &z) ||
	    pagetable_unmap(&as->pt, va, len)) {
		/* Only a corrupt table gets here: the tables are a cache, and
		 * the mm rebuilds what it needs, so make KVM forget it all. */
		z.overflow = true;
	}
	zap_apply(as->p, &z);
	pagetable_free_retired(&as->pt);
}

static void kvm_as_destroy(struct platform_as *pas)
{
	struct kvm_as *as = (struct kvm_as *)pas;

	pagetable_destroy(&as->pt); /* its tables go to the quarantine */
	free(as);
}

static const struct platform_as_ops kvm_as_ops = {
	.map = kvm_as_map,
	.unmap = kvm_as_unmap,
	.destroy = kvm_as_destroy,
};

static int kvm_new_as(struct platform *pl, struct platform_as **out)
{
	struct kvm_platform *p = to_kp(pl);
	struct kvm_as *as = calloc(1, sizeof(*as));
	int err;

	if (!as)
		return -ENOMEM;
	as->base.ops = &kvm_as_ops;
	as->p = p;
	err = pagetable_init(&as->pt, p->mf);
	if (err)
		goto err_free;
	as->pt.release = table_quarantine;
	as->pt.release_priv = p;
	err = pagetable_share_upper(&as->pt, &p->upper);
	if (!err && p->mode == KVM_MODE_PVM) {
		err = pagetable_map(&as->pt, KVM_STUB_VA, p->stub.start, PG,
				    PT_PROT_READ | PT_PROT_EXEC | PT_USER);
		if (!err)
			err = pagetable_map(&as->pt, KVM_DOORBELL_VA, p->doorbell_gpa, PG,
					    PT_PROT_READ | PT_PROT_WRITE | PT_USER);
	}
	if (err)
		goto err_pt;
	*out = &as->base;
	return 0;

err_pt:
	pagetable_destroy(&as->pt);
err_free:
	free(as);
	return err;
}

/* --- running guest code --- */

static uint64_t user_rflags(uint64_t f)
{
	return (f & RFLAGS_USER) | RFLAGS_FIXED;
}

static bool user_address(uint64_t a)
{
	return a < PT_USER_END;
}

bool kvm_sysret_ok(const struct abi_regs *r, uint64_t entry_rcx)
{
	return r->rip == entry_rcx && r->rcx == r->rip && r->r11 == r->eflags &&
	       abi_canonical(r->rip) && user_address(r->rip);
}

/* The trap stack's frame: what the CPU pushed, lowest address first. */
struct trap_frame {
	uint64_t rip, cs, rflags, rsp, ss;
};

static struct trap_frame *trap_frame(struct kvm_context *ctx)
{
	unsigned char *area = memfile_map(ctx->p->mf, ctx->vcpu->area);

	return (struct trap_frame *)(area + TRAP_STACK_TOP - sizeof(struct trap_frame));
}

static void gprs_to_vcpu(struct kvm_regs *k, const struct abi_regs *r)
{
	k->rax = r->rax;
	k->rbx = r->rbx;
	k->rcx = r->rcx;
	k->rdx = r->rdx;
	k->rsi = r->rsi;
	k->rdi = r->rdi;
	k->rbp = r->rbp;
	k->r8 = r->r8;
	k->r9 = r->r9;
	k->r10 = r->r10;
	k->r11 = r->r11;
	k->r12 = r->r12;
	k->r13 = r->r13;
	k->r14 = r->r14;
	k->r15 = r->r15;
}

static void gprs_from_vcpu(struct abi_regs *r, const struct kvm_regs *k)
{
	r->rax = k->rax;
	r->rbx = k->rbx;
	r->rcx = k->rcx;
	r->rdx = k->rdx;
	r->rsi = k->rsi;
	r->rdi = k->rdi;
	r->rbp = k->rbp;
	r->r8 = k->r8;
	r->r9 = k->r9;
	r->r10 = k->r10;
	r->r11 = k->r11;
	r->r12 = k->r12;
	r->r13 = k->r13;
	r->r14 = k->r14;
	r->r15 = k->r15;
}

static void frame_write(struct kvm_context *ctx, const struct abi_regs *r)
{
	*trap_frame(ctx) = (struct trap_frame){
		.rip = r->rip, .cs = KVM_USER_CS, .rflags = user_rflags(r->eflags),
		.rsp = r->rsp, .ss = KVM_USER_DS,
	};
}

/* Put the task's registers where the vCPU will take them. */
static int regs_load(struct kvm_context *ctx, const struct abi_regs *r)
{
	struct kvm_run *run = ctx->vcpu->run;
	struct kvm_regs *k = &run->s.regs.regs;
	struct kvm_sregs *s = &run->s.regs.sregs;

	if (!user_address(r->fs_base) || !user_address(r->gs_base))
		return -EINVAL; /* arch_prctl lets no such base through */
	if (ctx->where == AT_START) {
		*s = ctx->p->sregs;
		s->cr3 = ctx->as->pt.root;
		s->tr.base = KVM_VCPU_AREA(ctx->vcpu->id);
		run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	}
	if (s->fs.base != r->fs_base || s->gs.base != r->gs_base) {
		s->fs.base = r->fs_base;
		s->gs.base = r->gs_base;
		run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	}
	gprs_to_vcpu(k, r);
	switch (ctx->where) {
	case AT_START:
	case AT_USER:
		k->rip = r->rip;
		k->rsp = r->rsp;
		k->rflags = user_rflags(r->eflags);
		break;
	case AT_TRAP:
		frame_write(ctx, r);
		break;
	case AT_SYSCALL:
		if (kvm_sysret_ok(r, ctx->entry_rcx)) {
			/* sysretq to where the CPU said the syscall returns */
			k->rip = KVM_CODE_VA + KVM_SYSCALL_OFF + 2;
			k->rsp = r->rsp;
			k->r11 = user_rflags(r->eflags);
		} else {
			frame_write(ctx, r);
			k->rsp = KVM_VCPU_AREA(ctx->vcpu->id) + TRAP_STACK_TOP -
				 sizeof(struct trap_frame);
			k->rip = KVM_CODE_VA + KVM_IRET_OFF;
		}
		break;
	}
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return 0;
}

static void regs_store_user(struct abi_regs *r, const struct kvm_run *run)
{
	const struct kvm_regs *k = &run->s.regs.regs;

	gprs_from_vcpu(r, k);
	r->rip = k->rip;
	r->rsp = k->rsp;
	r->eflags = k->rflags;
	r->cs = KVM_USER_CS;
	r->ss = KVM_USER_DS;
	r->fs_base = run->s.regs.sregs.fs.base;
	r->gs_base = run->s.regs.sregs.gs.base;
}

static void dump_exit(struct kvm_context *ctx, const char *what)
{
	const struct kvm_run *run = ctx->vcpu->run;
	const struct kvm_regs *k = &run->s.regs.regs;
	const struct kvm_sregs *s = &run->s.regs.sregs;

	fprintf(stderr,
		"ksentry: kvm: %s (exit %u) on vcpu %d: rip %#llx rsp %#llx rflags %#llx "
		"cs %#x ss %#x cr2 %#llx cr3 %#llx\n",
		what, run->exit_reason, ctx->vcpu->id, k->rip, k->rsp, k->rflags, s->cs.selector,
		s->ss.selector, s->cr2, s->cr3);
	if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		fprintf(stderr, "ksentry: kvm: entry failure reason %#llx\n",
			run->fail_entry.hardware_entry_failure_reason);
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		fprintf(stderr, "ksentry: kvm: internal error suberror %u\n",
			run->internal.suberror);
}

/* The Linux signal for CPU exception @vec raised in ring 3. */
static int exception_signal(unsigned vec, const struct trap_frame *f, uint64_t err,
			    struct platform_trap *trap)
{
	trap->kind = PLATFORM_TRAP_EXCEPTION;
	trap->addr = f->rip;
	switch (vec) {
	case 0:  trap->signo = SIGFPE; trap->code = FPE_INTDIV; break;
	case 1:  trap->signo = SIGTRAP; trap->code = TRAP_TRACE; break;
	case 3:  trap->signo = SIGTRAP; trap->code = SI_KERNEL; break;
	case 6:  trap->signo = SIGILL; trap->code = ILL_ILLOPN; break;
	case 11:
	case 12: trap->signo = SIGBUS; trap->code = SI_KERNEL; trap->addr = 0; break;
	case 16: trap->signo = SIGFPE; trap->code = FPE_FLTINV; break;
	case 17: trap->signo = SIGBUS; trap->code = BUS_ADRALN; break;
	case 19: trap->signo = SIGFPE; trap->code = FPE_FLTINV; break;
	case 2:
	case 8:
	case 18:
		return -EIO; /* NMI, double fault, machine check: not the guest's doing */
	default: /* #GP, #OF, #BR, #TS, #NM and the rest */
		trap->signo = SIGSEGV;
		trap->code = SI_KERNEL;
		trap->addr = 0;
		break;
	}
	(void)err;
	return 0;
}

/* An exception stub exited on port KVM_PORT_EXC + @vec. */
static int exception_exit(struct kvm_context *ctx, unsigned vec, struct abi_regs *r,
			  struct platform_trap *trap)
{
	const struct kvm_run *run = ctx->vcpu->run;
	const struct trap_frame *f = trap_frame(ctx);
	uint64_t err = (ERR_VECTORS >> vec & 1) ? ((const uint64_t *)f)[-1] : 0;

	if (run->s.regs.regs.rip != KVM_CODE_VA + vec * KVM_EXC_STUB_SIZE + 2 ||
	    f->cs != KVM_USER_CS) {
		dump_exit(ctx, "exception in ring 0");
		return -EIO;
	}
	ctx->where = AT_TRAP;
	gprs_from_vcpu(r, &run->s.regs.regs);
	r->rip = f->rip;
	r->rsp = f->rsp;
	r->eflags = f->rflags;
	r->cs = KVM_USER_CS;
	r->ss = KVM_USER_DS;
	r->orig_rax = UINT64_MAX;
	r->fs_base = run->s.regs.sregs.fs.base;
	r->gs_base = run->s.regs.sregs.gs.base;
	if (vec == 14) {
		/* Reserved-bit faults are reported too: PVM raises them for user
		 * accesses to parts of the upper half it keeps for itself.  A
		 * table of ours with a bad entry would only fault the guest. */
		trap->kind = PLATFORM_TRAP_FAULT;
		trap->signo = SIGSEGV;
		trap->code = (err & 1) ? SEGV_ACCERR : SEGV_MAPERR;
		trap->addr = run->s.regs.sregs.cr2;
		trap->access = (err & (1u << 4)) ? PROT_EXEC : (err & 2) ? PROT_WRITE : PROT_READ;
		return 0;
	}
	if (exception_signal(vec, f, err, trap)) {
		dump_exit(ctx, "fatal exception");
		return -EIO;
	}
	return 0;
}

/* The syscall doorbell rang (PVM: from the user stub; hardware: the entry
 * stub's out).  rcx and r11 hold the return rip and rflags. */
static void syscall_exit(struct kvm_context *ctx, struct abi_regs *r, struct platform_trap *trap)
{
	const struct kvm_run *run = ctx->vcpu->run;

	regs_store_user(r, run);
	r->rip = run->s.regs.regs.rcx;
	r->eflags = run->s.regs.regs.r11;
	r->orig_rax = run->s.regs.regs.rax;
	ctx->entry_rcx = r->rip;
	ctx->where = ctx->p->mode == KVM_MODE_PVM ? AT_USER : AT_SYSCALL;
	trap->kind = PLATFORM_TRAP_SYSCALL;
}

/* KVM_RUN returned EINTR: kicked, or a host signal.  Report the task's
 * registers: the vCPU's if it is in ring 3, else the ones we loaded. */
static void kicked_exit(struct kvm_context *ctx, struct abi_regs *r, struct platform_trap *trap)
{
	struct kvm_run *run = ctx->vcpu->run;

	__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	if ((run->s.regs.sregs.cs.selector & 3) == 3) {
		regs_store_user(r, run);
		ctx->where = AT_USER;
	}
	trap->kind = PLATFORM_TRAP_KICKED;
}

static int fpu_fresh(struct kvm_context *ctx);

static int kvm_ctx_run(struct platform_context *pc, struct abi_regs *r, struct platform_trap *trap)
{
	struct kvm_context *ctx = (struct kvm_context *)pc;
	struct kvm_run *run = ctx->vcpu->run;
	int err;

	memset(trap, 0, sizeof(*trap));
	if (!user_address(r->rip) || !abi_canonical(r->rip)) {
		/* Linux would fault on the way back to user: so do we. */
		trap->kind = PLATFORM_TRAP_EXCEPTION;
		trap->signo = SIGSEGV;
		trap->code = SI_KERNEL;
		return 0;
	}
	err = regs_load(ctx, r);
	if (!err && ctx->vcpu->stale_fpu)
		err = fpu_fresh(ctx); /* a context's first run only */
	if (err)
		return err;

	if (ioctl(ctx->vcpu->fd, KVM_RUN, 0)) {
		if (errno != EINTR) {
			dump_exit(ctx, strerror(errno));
			return -errno;
		}
		kicked_exit(ctx, r, trap);
		return 0;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		if (run->mmio.phys_addr != ctx->p->doorbell_gpa || !run->mmio.is_write)
			break;
		if (run->s.regs.regs.rip ==
		    KVM_STUB_VA + (uint64_t)(kvm_pvm_stub_exit - kvm_pvm_stub)) {
			syscall_exit(ctx, r, trap);
			return 0;
		}
		/* The guest wrote the doorbell itself: it may not. */
		regs_store_user(r, run);
		ctx->where = AT_USER;
		trap->kind = PLATFORM_TRAP_FAULT;
		trap->signo = SIGSEGV;
		trap->code = SEGV_ACCERR;
		trap->addr = KVM_DOORBELL_VA;
		return 0;
	case KVM_EXIT_IO:
		if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1)
			break;
		if (run->io.port >= KVM_PORT_EXC && run->io.port < KVM_PORT_EXC + NR_VECTORS)
			return exception_exit(ctx, run->io.port - KVM_PORT_EXC, r, trap);
		if (run->io.port == KVM_PORT_SYSCALL && ctx->p->mode == KVM_MODE_HARDWARE &&
		    run->s.regs.regs.rip == KVM_CODE_VA + KVM_SYSCALL_OFF + 2) {
			syscall_exit(ctx, r, trap);
			return 0;
		}
		break;
	default:
		break;
	}
	dump_exit(ctx, "unexpected exit");
	return -EIO;
}

static void kvm_kick_signal_handler(int sig)
{
	(void)sig; /* its only job is to make KVM_RUN return EINTR */
}

static void kvm_ctx_kick(struct platform_context *pc)
{
	struct kvm_context *ctx = (struct kvm_context *)pc;

	__atomic_store_n(&ctx->vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(ctx->thread, ctx->p->kick_signal);
}

/* Nothing of the vCPU's last task may reach this one: reset its FPU
 * state if it still holds that task's. */
static int fpu_fresh(struct kvm_context *ctx)
{
	int err;

	if (!ctx->vcpu->stale_fpu)
		return 0;
	err = vcpu_reset_fpu(ctx->p, ctx->vcpu);
	if (!err)
		ctx->vcpu->stale_fpu = false;
	return err;
}

/* KVM_GET_XSAVE's region is XSAVE's standard format (its first 512
 * bytes FXSAVE's) whether or not the guest has XSAVE. */
static int kvm_ctx_get_fpu(struct platform_context *pc, void *buf)
{
	struct kvm_context *ctx = (struct kvm_context *)pc;
	struct kvm_xsave *xs;
	int err = fpu_fresh(ctx);

	if (err)
		return err;
	xs = malloc(sizeof(*xs));
	if (!xs)
		return -ENOMEM;
	if (ioctl(ctx->vcpu->fd, KVM_GET_XSAVE, xs)) {
		err = -errno;
	} else {
		memcpy(buf, xs->region, pc->fpu_size);
		if (pc->fpu_xfeatures)
			fpu_set_xstate_bv(buf, fpu_xstate_bv(buf) & pc->fpu_xfeatures);
	}
	free(xs);
	return err;
}

static int kvm_ctx_set_fpu(struct platform_context *pc, const void *buf)
{
	struct kvm_context *ctx = (struct kvm_context *)pc;
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	unsigned char *img;
	int err = 0;

	if (!xs)
		return -ENOMEM;
	img = (unsigned char *)xs->region;
	/* Without XSAVE the image is only part of what KVM holds: the rest
	 * comes from the vCPU, which must not be the last task's. */
	if (!pc->fpu_xfeatures && ((err = fpu_fresh(ctx)) || ioctl(ctx->vcpu->fd, KVM_GET_XSAVE, xs))) {
		err = err ? err : -errno;
		goto out;
	}
	memcpy(img, buf, pc->fpu_size);
	fpu_sanitize_mxcsr(img);
	if (!pc->fpu_xfeatures)
		fpu_set_xstate_bv(img, fpu_xstate_bv(img) | 3); /* x87 and SSE are in the image */
	else if (!fpu_header_ok(img, pc->fpu_xfeatures)) {
		err = -EINVAL;
		goto out;
	}
	if (ioctl(ctx->vcpu->fd, KVM_SET_XSAVE, xs))
		err = -errno;
	else
		ctx->vcpu->stale_fpu = false; /* all of it replaced */
out:
	free(xs);
	return err;
}

static void kvm_ctx_destroy(struct platform_context *pc)
{
	struct kvm_context *ctx = (struct kvm_context *)pc;

	vcpu_put(ctx->p, ctx->vcpu);
	free(ctx);
}

static const struct platform_context_ops kvm_context_ops = {
	.run = kvm_ctx_run,
	.kick = kvm_ctx_kick,
	.get_fpu = kvm_ctx_get_fpu,
	.set_fpu = kvm_ctx_set_fpu,
	.destroy = kvm_ctx_destroy,
};

static int kvm_new_context(struct platform *pl, struct platform_as *pas,
			   struct platform_context **out)
{
	struct kvm_context *ctx = calloc(1, sizeof(*ctx));
	int err;

	if (!ctx)
		return -ENOMEM;
	err = vcpu_get(to_kp(pl), &ctx->vcpu);
	if (err) {
		free(ctx);
		return err;
	}
	ctx->base.ops = &kvm_context_ops;
	ctx->base.fpu_size = to_kp(pl)->fpu_size;
	ctx->base.fpu_xfeatures = to_kp(pl)->fpu_xfeatures;
	ctx->p = to_kp(pl);
	ctx->as = (struct kvm_as *)pas;
	ctx->thread = pthread_self();
	ctx->where = AT_START;
	*out = &ctx->base;
	return 0;
}

/* --- the platform --- */

static void kvm_platform_destroy(struct platform *pl)
{
	struct kvm_platform *p = to_kp(pl);

	while (p->pool) {
		struct kvm_vcpu *v = p->pool;

		p->pool = v->next;
		memfile_free(p->mf, v->area);
		vcpu_destroy(p, v);
	}
	if (p->vm_fd >= 0)
		close(p->vm_fd);
	if (p->kvm_fd >= 0)
		close(p->kvm_fd);
	/* The VM is gone: nothing caches tables any more. */
	for (size_t i = 0; i < p->nr_quarantine; i++)
		memfile_free(p->mf, file_range_make(p->quarantine[i], p->quarantine[i] + PG));
	free(p->quarantine);
	pagetable_destroy(&p->upper);
	if (!file_range_empty(p->tramp))
		memfile_free(p->mf, p->tramp);
	if (!file_range_empty(p->stub))
		memfile_free(p->mf, p->stub);
	if (p->zap_page)
		munmap(p->zap_page, PG);
	free(p->cpuid);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static const struct platform_ops kvm_platform_ops = {
	.new_address_space = kvm_new_as,
	.new_context = kvm_new_context,
	.destroy = kvm_platform_destroy,
};

static int open_vm(struct kvm_platform *p, char *why, size_t n)
{
	struct kvm_userspace_memory_region slot = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = p->mf->size,
		.userspace_addr = (uint64_t)p->mf->base,
	};
	int r;

	p->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (p->kvm_fd < 0) {
		snprintf(why, n, "/dev/kvm: %s", strerror(errno));
		return -errno;
	}
	r = ioctl(p->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		snprintf(why, n, "KVM API version %d, not %d", r, KVM_API_VERSION);
		return -ENOTSUP;
	}
	r = kvm_missing_cap(kvm_has, p, why, n);
	if (r < 0)
		return r;
	r = kvm_has(KVM_CAP_SYNC_REGS, p);
	if ((r & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) !=
	    (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) {
		snprintf(why, n, "KVM cannot sync regs and sregs (KVM_CAP_SYNC_REGS = %#x)", r);
		return -ENOTSUP;
	}
	r = ioctl(p->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	p->max_vcpus = r > 0 ? (unsigned)r : 1;
	r = ioctl(p->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run)) {
		snprintf(why, n, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -EIO;
	}
	p->run_size = (size_t)r;
	p->vm_fd = ioctl(p->kvm_fd, KVM_CREATE_VM, 0);
	if (p->vm_fd < 0) {
		snprintf(why, n, "KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot)) {
		snprintf(why, n, "cannot register the memory file as guest RAM: %s",
			 strerror(errno));
		return -errno;
	}
	/* The doorbell and the dummy slot sit past the memory file, 1 GiB
	 * aligned: guest-physical addresses the guest never has as memory. */
	p->doorbell_gpa = (p->mf->size + (UINT64_C(1) << 30) - 1) & ~((UINT64_C(1) << 30) - 1);
	p->zap_gpa = p->doorbell_gpa + (UINT64_C(2) << 20);
	p->zap_page = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->zap_page == MAP_FAILED) {
		p->zap_page = NULL;
		return -ENOMEM;
	}
	slot = (struct kvm_userspace_memory_region){
		.slot = ZAP_SLOT, .guest_phys_addr = p->zap_gpa, .memory_size = PG,
		.userspace_addr = (uint64_t)p->zap_page,
	};
	if (ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot)) {
		snprintf(why, n, "cannot add a second memslot: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* A guest of one code page at PROBE_VA, to ask this KVM how it behaves. */
struct probe {
	struct file_range fr;
	struct platform_as *as;
	struct platform_context *pc;
};

#define PROBE_VA UINT64_C(0x400000)

static int probe_start(struct kvm_platform *p, const unsigned char *code, size_t len,
		       struct probe *pr, char *why, size_t n)
{
	int err;

	err = memfile_alloc(p->mf, PG, PG, MEMACCT_SYSTEM, &pr->fr);
	if (err)
		return err;
	memcpy(memfile_map(p->mf, pr->fr), code, len);
	err = kvm_new_as(&p->base, &pr->as);
	if (err)
		goto out_free;
	err = pr->as->ops->map(pr->as, PROBE_VA, pr->fr, PROT_READ | PROT_EXEC);
	if (!err) {
		p->vcpu_why[0] = '\0';
		err = kvm_new_context(&p->base, pr->as, &pr->pc);
		if (err && p->vcpu_why[0])
			snprintf(why, n, "cannot set up a vCPU: %s", p->vcpu_why);
	}
	if (!err)
		return 0;
	pr->as->ops->unmap(pr->as, PROBE_VA, PG);
	kvm_as_destroy(pr->as);
out_free:
	memfile_free(p->mf, pr->fr);
	return err;
}

static void probe_end(struct kvm_platform *p, struct probe *pr)
{
	kvm_ctx_destroy(pr->pc);
	pr->as->ops->unmap(pr->as, PROBE_VA, PG);
	kvm_as_destroy(pr->as);
	memfile_free(p->mf, pr->fr);
}

/* Run the probe from its first byte to the syscall it must end in. */
static int probe_run(struct probe *pr, struct abi_regs *r)
{
	struct platform_trap trap;
	int err;

	*r = (struct abi_regs){.rip = PROBE_VA, .eflags = RFLAGS_FIXED};
	err = kvm_ctx_run(pr->pc, r, &trap);
	return err ? err : trap.kind == PLATFORM_TRAP_SYSCALL ? 0 : -EIO;
}

/*
 * Which kind of KVM is this?  Run `syscall` in ring 3 on vCPU 0, with
 * LSTAR at the PVM stub, SMEP and SMAP off: hardware KVM executes the stub
 * in ring 0, PVM in ring 3, and either way it rings the doorbell.
 */
static int probe_mode(struct kvm_platform *p, char *why, size_t n)
{
	static const unsigned char code[] = {0x0f, 0x31, 0x0f, 0x05, 0x0f, 0x0b}; /* rdtsc; syscall; ud2 */
	struct abi_regs r;
	struct probe pr;
	uint64_t before, after, guest_tsc;
	int err;

	p->mode = KVM_MODE_PVM; /* maps the stub and doorbell, sets LSTAR there */
	err = probe_start(p, code, sizeof(code), &pr, why, n);
	if (err)
		return err;
	p->sregs.cr4 &= ~(uint64_t)(CR4_SMEP | CR4_SMAP);
	before = platform_rdtsc();
	err = probe_run(&pr, &r);
	after = platform_rdtsc();
	p->sregs.cr4 = p->cr4;
	/* The guest's TSC is the host's (PVM; hardware KVM offsets it):
	 * then the vDSO may turn it into the host's clocks. */
	guest_tsc = (r.rdx & 0xffffffff) << 32 | (r.rax & 0xffffffff);
	p->base.tsc_host = !err && before <= guest_tsc && guest_tsc <= after;
	if (err) {
		snprintf(why, n, "the probe guest did not reach the syscall doorbell");
	} else if ((((struct kvm_context *)pr.pc)->vcpu->run->s.regs.sregs.cs.selector & 3) == 0) {
		p->mode = KVM_MODE_HARDWARE;
		err = vcpu_set_msrs(p, ((struct kvm_context *)pr.pc)->vcpu, lstar_of(p));
	}
	probe_end(p, &pr);
	return err;
}

/*
 * Does the guest's rdtscp read the host's TSC_AUX, which Linux sets to
 * the CPU's number (and node << 12)?  Then the vDSO's getcpu needs no
 * exit, and says what sched_getcpu() says on the vCPU's thread, as the
 * getcpu syscall does.  PVM runs the guest's rdtscp on the host's CPU;
 * hardware KVM gives each vCPU a TSC_AUX of its own, so there the answer
 * is no.  Asked on two CPUs (the thread pinned to each in turn), so that
 * a constant cannot pass; a guest fault (no rdtscp) is a no.
 */
static void probe_getcpu(struct kvm_platform *p)
{
	static const unsigned char code[] = {
		0x0f, 0x01, 0xf9, /* rdtscp */
		0x89, 0xcf,	  /* mov %ecx, %edi */
		0x0f, 0x05,	  /* syscall */
		0x0f, 0x0b,	  /* ud2 */
	};
	cpu_set_t old, one;
	struct abi_regs r;
	struct probe pr;
	char why[64];
	int asked = 0;
	bool ok = true;

	if (p->mode != KVM_MODE_PVM || sched_getaffinity(0, sizeof(old), &old) ||
	    probe_start(p, code, sizeof(code), &pr, why, sizeof(why)))
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE && asked < 2 && ok; cpu++) {
		if (!CPU_ISSET(cpu, &old))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		ok = !sched_setaffinity(0, sizeof(one), &one) && !probe_run(&pr, &r) &&
		     (r.rdi & 0xfff) == (uint64_t)cpu && sched_getcpu() == cpu;
		asked++;
	}
	(void)sched_setaffinity(0, sizeof(old), &old);
	probe_end(p, &pr);
	p->base.getcpu_host = ok && asked == 2;
}

int kvm_platform_create(struct memfile *mf, struct platform **out, char *why, size_t whylen)
{
	struct kvm_platform *p = calloc(1, sizeof(*p));
	struct sigaction sa = {.sa_handler = kvm_kick_signal_handler};
	int err;

	snprintf(why, whylen, "out of memory");
	if (!p)
		return -ENOMEM;
	p->base.ops = &kvm_platform_ops;
	p->base.name = "kvm";
	p->base.shared_as = true;
	p->mf = mf;
	p->kvm_fd = p->vm_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	p->kick_signal = SIGRTMIN + 1;
	/* No SA_RESTART: the kick must make KVM_RUN return EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(p->kick_signal, &sa, NULL);

	err = open_vm(p, why, whylen);
	if (!err)
		err = cpu_features(p, why, whylen);
	if (!err) {
		err = pagetable_init(&p->upper, mf);
		if (!err)
			err = build_trampoline(p);
		if (err)
			snprintf(why, whylen, "cannot build the trampoline: %s", strerror(-err));
	}
	if (!err)
		err = probe_mode(p, why, whylen);
	if (err) {
		kvm_platform_destroy(&p->base);
		return err;
	}
	probe_getcpu(p);
	snprintf(p->desc, sizeof(p->desc), "kvm (%s; smep %s, smap %s, xsave %s, fsgsbase %s; signal frames carry xfeatures 0x%lx, %zu bytes; %s; %s)",
		 p->mode == KVM_MODE_PVM
			 ? "PVM: syscall stays in ring 3, user stub + MMIO doorbell, sync regs"
			 : "hardware: syscall enters ring 0, supervisor stub + out, sync regs",
		 p->cr4 & CR4_SMEP ? "on" : "off (KVM does not offer it)",
		 p->cr4 & CR4_SMAP ? "on" : "off (KVM does not offer it)",
		 p->xcr0 ? "on" : "off (KVM does not offer it)",
		 p->cr4 & CR4_FSGSBASE ? "on" : "off (KVM does not offer it)",
		 (unsigned long)p->fpu_xfeatures,
		 p->fpu_size,
		 p->base.tsc_host ? "guest TSC is the host's: vDSO clocks"
				  : "guest TSC offset: vDSO clocks make syscalls",
		 p->base.getcpu_host ? "guest rdtscp reads the host CPU: vDSO getcpu"
				     : "vDSO getcpu makes a syscall");
	p->base.description = p->desc;
	*out = &p->base;
	return 0;
}

enum kvm_mode kvm_platform_mode(const struct platform *p)
{
	return to_kp(p)->mode;
}

unsigned long kvm_platform_resets(const struct platform *p)
{
	struct kvm_platform *kp = to_kp(p);
	unsigned long n;

	pthread_mutex_lock(&kp->lock);
	n = kp->resets;
	pthread_mutex_unlock(&kp->lock);
	return n;
}

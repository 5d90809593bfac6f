/*
 * vmm/selfcheck.c - a short end-to-end exercise of platform/ on this host.
 *
 * Each check prints one line, "ok" or "FAIL" with the reason, so that a
 * user who reports a problem can paste the output.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/frame_ref.h"
#include "platform/memfile.h"
#include "vmm/kvm.h"
#include "vmm/selfcheck.h"

#define MIB (UINT64_C(1) << 20)

static int report(FILE *out, const char *what, int err)
{
	if (err)
		fprintf(out, "  FAIL  %s: %s\n", what, strerror(-err));
	else
		fprintf(out, "  ok    %s\n", what);
	return err;
}

/* Allocate, touch, free: the host must get the memory back. */
static int check_memfile(FILE *out, struct memfile *mf)
{
	struct file_range fr;
	struct stat st;
	unsigned char *p;
	int err;

	err = memfile_alloc(mf, 8 * MIB, ABI_HUGE_PAGE_SIZE, MEMACCT_ANONYMOUS, &fr);
	if (report(out, "memory file: allocate 8 MiB aligned to 2 MiB", err))
		return err;
	p = memfile_map(mf, fr);
	memset(p, 0xa5, file_range_len(fr));
	if (fstat(mf->fd, &st) < 0 || (uint64_t)st.st_blocks * 512 < 8 * MIB)
		err = -EIO;
	if (report(out, "memory file: touched frames are backed by the host", err))
		return err;
	err = memfile_free(mf, fr);
	memfile_trim(mf); /* the pool keeps recently freed frames otherwise */
	if (!err && (fstat(mf->fd, &st) < 0 || st.st_blocks != 0))
		err = -EIO;
	if (report(out, "memory file: freed frames go back to the host (hole punched)", err))
		return err;
	err = memfile_alloc(mf, mf->size + ABI_PAGE_SIZE, ABI_PAGE_SIZE, MEMACCT_ANONYMOUS, &fr);
	return report(out, "memory file: allocation past the cap is ENOMEM",
		      err == -ENOMEM ? 0 : -EIO);
}

static int check_frame_refs(FILE *out, struct memacct *acct)
{
	struct frame_ref_set set;
	int err;

	frame_ref_set_init(&set);
	err = frame_ref_set_inc_ref_and_account(&set, file_range_make(0, 4 * ABI_PAGE_SIZE), acct);
	if (!err)
		err = frame_ref_set_inc_ref_and_account(
			&set, file_range_make(2 * ABI_PAGE_SIZE, 6 * ABI_PAGE_SIZE), acct);
	if (!err && memacct_get(acct, MEMACCT_MAPPED) != 6 * ABI_PAGE_SIZE)
		err = -EIO;
	if (!err)
		err = frame_ref_set_dec_ref_and_account(&set, file_range_make(0, 4 * ABI_PAGE_SIZE),
							acct);
	if (!err)
		err = frame_ref_set_dec_ref_and_account(
			&set, file_range_make(2 * ABI_PAGE_SIZE, 6 * ABI_PAGE_SIZE), acct);
	if (!err && (memacct_get(acct, MEMACCT_MAPPED) != 0 || !segset_is_empty(&set.set)))
		err = -EIO;
	frame_ref_set_clear(&set, acct);
	return report(out, "frame references: Mapped follows the referenced frames", err);
}

/* Can this host run the KVM platform, and which kind of KVM is it?  A
 * host without /dev/kvm is a note (ksentry falls back to ptrace); a
 * /dev/kvm that opens but cannot run the probe guest is a failure. */
static int report_kvm(FILE *out)
{
	struct platform *p;
	struct memacct acct;
	struct memfile mf;
	char why[256];
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), err;

	if (fd < 0) {
		fprintf(out, "  note  KVM: /dev/kvm cannot be opened (%s); ksentry uses ptrace\n",
			strerror(errno));
		return 0;
	}
	close(fd);
	memacct_init(&acct);
	err = memfile_init(&mf, 16 * MIB, &acct);
	if (err)
		return report(out, "KVM: memory file for the probe", err);
	err = kvm_platform_create(&mf, &p, why, sizeof(why));
	if (err) {
		fprintf(out, "  FAIL  KVM: %s\n", why);
	} else {
		fprintf(out, "  ok    KVM: probe ran a guest syscall: %s\n", p->description);
		p->ops->destroy(p);
	}
	memfile_destroy(&mf);
	return err;
}

int selfcheck_run(FILE *out)
{
	struct memacct acct;
	struct memfile mf;
	int err;

	fprintf(out, "ksentry %s self-check\n", KSENTRY_VERSION);
	memacct_init(&acct);
	err = memfile_init(&mf, 64 * MIB, &acct);
	if (report(out, "memory file: create a 64 MiB memfd and map it", err))
		return err;
	err = check_memfile(out, &mf);
	memfile_destroy(&mf);
	if (!err)
		err = check_frame_refs(out, &acct);
	if (report_kvm(out) && !err)
		err = -ENODEV;
	fprintf(out, "self-check %s\n", err ? "FAILED" : "passed");
	return err;
}

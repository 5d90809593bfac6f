/*
 * kernel/kernel.c - setting up and tearing down a sandbox's sentry.
 */
#include <string.h>

#include "kernel/kernel.h"
#include "kernel/vfs/ops.h"
#include "kernel/vfs/tmpfs.h"

/* Directories every root file system has. */
static const char *const root_dirs[] = {"/tmp", "/dev", "/proc", "/etc", "/home", "/root"};

int kernel_init(struct kernel *k, struct memfile *mf, struct memacct *acct,
		struct platform *platform)
{
	struct vfs_fs *root;
	struct vfs_ctx ctx;
	int err;

	memset(k, 0, sizeof(*k));
	k->mf = mf;
	k->acct = acct;
	k->platform = platform;
	k->host_stdio[0] = k->host_stdio[1] = k->host_stdio[2] = -1;
	clock_gettime(CLOCK_MONOTONIC, &k->boot_time);

	err = tmpfs_create_fs(mf, 0755, &root);
	if (err)
		return err;
	err = vfs_init(&k->vfs, root);
	if (err) {
		root->destroy(root);
		return err;
	}
	ctx = (struct vfs_ctx){.vfs = &k->vfs, .root = k->vfs.root, .umask = 0};
	for (size_t i = 0; i < sizeof(root_dirs) / sizeof(root_dirs[0]); i++) {
		err = vfs_mkdirat(&ctx, k->vfs.root, root_dirs[i], i == 0 ? 01777 : 0755);
		if (err) {
			vfs_destroy(&k->vfs);
			return err;
		}
	}
	return 0;
}

void kernel_destroy(struct kernel *k)
{
	vfs_destroy(&k->vfs);
}

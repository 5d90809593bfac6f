/*
 * kernel/kernel.c - setting up and tearing down a sandbox's sentry.
 */
#include <string.h>

#include "kernel/devfs.h"
#include "kernel/kernel.h"
#include "kernel/procfs.h"
#include "kernel/vfs/ops.h"
#include "kernel/vfs/tmpfs.h"

/* Directories every root file system has. */
static const char *const root_dirs[] = {"/tmp", "/dev", "/proc", "/etc", "/home", "/root"};

/* Mount /dev and /proc. */
static int mount_synthetic(struct kernel *k)
{
	static const char *const at[] = {"/dev", "/proc"};
	struct vfs_fs *fs[2];
	int err;

	err = devfs_create(&fs[0]);
	if (err)
		goto err_destroy;
	err = procfs_create(k, &fs[1]);
	if (err) {
		fs[0]->destroy(fs[0]);
		goto err_destroy;
	}
	for (int i = 0; i < 2; i++) {
		struct vfs_path p;

		err = vfs_resolve(&k->vfs, k->vfs.root, k->vfs.root, at[i], 0, &p, NULL, NULL);
		if (!err) {
			err = vfs_mount(&k->vfs, p, fs[i], 0);
			vfs_path_put(p);
		}
		if (err) {
			for (int j = i; j < 2; j++)
				fs[j]->destroy(fs[j]);
			goto err_destroy;
		}
	}
	return 0;
err_destroy:
	vfs_destroy(&k->vfs);
	return err;
}

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
	return mount_synthetic(k);
}

void kernel_destroy(struct kernel *k)
{
	vfs_destroy(&k->vfs);
}

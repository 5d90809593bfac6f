/*
 * kernel/kernel.c - setting up and tearing down a sandbox's sentry.
 */
#include <stdlib.h>
#include <string.h>

#include <sys/mount.h>

#include "kernel/devfs.h"
#include "kernel/hostfs.h"
#include "kernel/kernel.h"
#include "kernel/process.h"
#include "kernel/timer.h"
#include "kernel/vdso.h"
#include "kernel/procfs.h"
#include "kernel/vfs/ops.h"
#include "kernel/vfs/overlay.h"
#include "kernel/vfs/tmpfs.h"

/* Directories an empty root gets. */
static const char *const root_dirs[] = {"/tmp", "/dev", "/proc", "/etc", "/home", "/root"};

/* Mount @fs on @where if that directory exists; a root without it simply
 * goes without (-ENOENT is not an error).  Takes @fs. */
static int mount_at(struct kernel *k, const char *where, struct vfs_fs *fs, unsigned flags)
{
	struct vfs_path p;
	int err = vfs_resolve(&k->vfs, k->vfs.root, k->vfs.root, where, VFS_LOOKUP_DIRECTORY, &p,
			      NULL, NULL);

	if (!err) {
		err = vfs_mount(&k->vfs, p, fs, flags);
		vfs_path_put(p);
	}
	if (err)
		fs->destroy(fs);
	return err == -ENOENT || err == -ENOTDIR ? 0 : err;
}

/* mkdir -p @path in the sandbox (as root, from its root). */
static int make_dirs(struct kernel *k, const char *path)
{
	struct vfs_ctx ctx = {.vfs = &k->vfs, .root = k->vfs.root, .umask = 022};
	char buf[VFS_PATH_MAX];
	size_t len = strlen(path);
	int err = 0;

	if (path[0] != '/' || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len && !err; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		err = vfs_mkdirat(&ctx, k->vfs.root, buf, 0755);
		if (err == -EEXIST)
			err = 0;
		buf[i] = path[i];
	}
	return err;
}

int kernel_mount_host(struct kernel *k, const char *host_dir, const char *guest_dir, bool rw)
{
	struct vfs_fs *fs;
	int err;

	err = make_dirs(k, guest_dir);
	if (!err)
		err = hostfs_create_rw(host_dir, rw, &fs);
	if (!err)
		err = mount_at(k, guest_dir, fs, rw ? 0 : MS_RDONLY);
	return err;
}

int kernel_mount_tmpfs(struct kernel *k, const char *guest_dir)
{
	struct vfs_fs *fs;
	int err = make_dirs(k, guest_dir);

	if (!err)
		err = tmpfs_create_fs(k->mf, 01777, &fs);
	if (!err)
		err = mount_at(k, guest_dir, fs, 0);
	return err;
}

/* Mount /tmp (over a host root), /dev and /proc. */
static int mount_standard(struct kernel *k, bool host_root)
{
	struct vfs_fs *fs;
	int err = 0;

	if (host_root) {
		err = tmpfs_create_fs(k->mf, 01777, &fs);
		if (!err)
			err = mount_at(k, "/tmp", fs, 0);
	}
	if (!err)
		err = devfs_create(k, &fs);
	if (!err)
		err = mount_at(k, "/dev", fs, 0);
	if (!err)
		err = procfs_create(k, &fs);
	if (!err)
		err = mount_at(k, "/proc", fs, 0);
	return err;
}

/* The host directory, read-only, under a tmpfs that takes every write. */
static int make_overlay_root(struct memfile *mf, const char *host_root, struct vfs_fs **out)
{
	struct vfs_fs *upper, *lower;
	int err;

	err = hostfs_create(host_root, &lower);
	if (err)
		return err;
	err = tmpfs_create_fs(mf, 0755, &upper);
	if (err) {
		lower->destroy(lower);
		return err;
	}
	err = overlay_create_fs(upper, lower, out);
	if (err) {
		upper->destroy(upper);
		lower->destroy(lower);
	}
	return err;
}

static int make_empty_root(struct kernel *k)
{
	struct vfs_ctx ctx = {.vfs = &k->vfs, .root = k->vfs.root, .umask = 0};
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(root_dirs) / sizeof(root_dirs[0]); i++)
		err = vfs_mkdirat(&ctx, k->vfs.root, root_dirs[i], i == 0 ? 01777 : 0755);
	return err;
}

/* The process tables, and zombies nobody reaped. */
static void kernel_free_tables(struct kernel *k)
{
	timer_kernel_destroy(k);
	for (int pid = 0; pid < KERNEL_MAX_PIDS; pid++)
		if (k->groups[pid])
			process_free_group(k->groups[pid]);
	free(k->tasks);
	free(k->groups);
	k->tasks = NULL;
	k->groups = NULL;
	mm_frames_destroy(&k->frames);
	pthread_cond_destroy(&k->tasks_changed);
	pthread_mutex_destroy(&k->tasks_lock);
	pthread_mutex_destroy(&k->futex_lock);
}

int kernel_init(struct kernel *k, struct memfile *mf, struct memacct *acct,
		struct platform *platform, const char *host_root)
{
	struct vfs_fs *root;
	int err;

	memset(k, 0, sizeof(*k));
	k->tasks = calloc(KERNEL_MAX_PIDS, sizeof(*k->tasks));
	k->groups = calloc(KERNEL_MAX_PIDS, sizeof(*k->groups));
	if (!k->tasks || !k->groups) {
		free(k->tasks);
		free(k->groups);
		return -ENOMEM;
	}
	pthread_mutex_init(&k->tasks_lock, NULL);
	task_cond_init(&k->tasks_changed);
	pthread_mutex_init(&k->futex_lock, NULL);
	timer_kernel_init(k);
	k->next_pid = 1;
	k->max_tasks = 4096;
	/* The commit may reach 15/16 of the memory cap: the rest is for what
	 * is never charged (page tables, the page cache, tmpfs, pipes). */
	mm_frames_init(&k->frames, mf->size - mf->size / 16);
	k->mf = mf;
	k->acct = acct;
	k->platform = platform;
	k->host_stdio[0] = k->host_stdio[1] = k->host_stdio[2] = -1;
	clock_gettime(CLOCK_MONOTONIC, &k->boot_time);
	if (sched_getaffinity(0, sizeof(k->cpus), &k->cpus)) {
		CPU_ZERO(&k->cpus);
		CPU_SET(0, &k->cpus);
	}
	k->spin_max = (unsigned)CPU_COUNT(&k->cpus) - 1;

	err = host_root ? make_overlay_root(mf, host_root, &root) : tmpfs_create_fs(mf, 0755, &root);
	if (err)
		return err;
	err = vfs_init(&k->vfs, root);
	if (err) {
		root->destroy(root);
		return err;
	}
	if (!host_root)
		err = make_empty_root(k);
	if (!err)
		err = mount_standard(k, host_root != NULL);
	if (!err)
		err = vdso_init(k);
	if (err)
		vfs_destroy(&k->vfs);
	if (err)
		kernel_free_tables(k);
	return err;
}

void kernel_destroy(struct kernel *k)
{
	vdso_destroy(k);
	vfs_destroy(&k->vfs);
	kernel_free_tables(k);
}

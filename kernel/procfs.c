/*
 * kernel/procfs.c - /proc: the sandbox's view of itself.
 *
 * Everything here describes the sandbox, never the host: /proc/meminfo is
 * the memory accounting of this sandbox's memory file against its cap,
 * /proc/mounts its own mount table, /proc/uptime the time since it
 * started.  Per-process directories (/proc/PID, /proc/self) come with
 * processes (issue 5).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "kernel/procfs.h"
#include "kernel/vfs/synth.h"

/* Grow-as-needed text buffer. */
struct text {
	char *buf;
	size_t len, cap;
	int err;
};

static void __attribute__((format(printf, 2, 3))) put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt,
			      ap);
		va_end(ap);
		if (n < 0) {
			t->err = -EIO;
			return;
		}
		if (t->buf && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		char *b = realloc(t->buf, t->cap);

		if (!b) {
			t->err = -ENOMEM;
			return;
		}
		t->buf = b;
	}
}

static int finish(struct text *t, char **buf, size_t *len)
{
	if (t->err) {
		free(t->buf);
		return t->err;
	}
	*buf = t->buf;
	*len = t->len;
	return 0;
}

static int gen_meminfo(void *priv, char **buf, size_t *len)
{
	struct kernel *k = priv;
	struct memacct_snapshot snap;
	size_t need;

	memacct_snapshot(k->acct, &snap);
	need = memacct_format_meminfo(&snap, k->mf->size, NULL, 0) + 1;
	*buf = malloc(need);
	if (!*buf)
		return -ENOMEM;
	*len = memacct_format_meminfo(&snap, k->mf->size, *buf, need);
	return 0;
}

static int gen_mounts(void *priv, char **buf, size_t *len)
{
	struct kernel *k = priv;
	struct text t = {0};
	char name[VFS_PATH_MAX];

	pthread_mutex_lock(&k->vfs.mounts_lock);
	/* The list is newest first; /proc/mounts lists oldest first. */
	{
		struct vfs_mount *list[256];
		int n = 0;

		for (struct vfs_mount *m = k->vfs.mounts; m && n < 256; m = m->next)
			list[n++] = m;
		while (n-- > 0) {
			struct vfs_mount *m = list[n];
			struct vfs_path at = {.mnt = m, .dentry = m->root};
			size_t start;

			if (vfs_path_name(k->vfs.root, at, name, sizeof(name), &start))
				continue;
			put(&t, "%s %s %s %s 0 0\n", m->fs->type, name + start, m->fs->type,
			    m->flags & MS_RDONLY ? "ro" : "rw");
		}
	}
	pthread_mutex_unlock(&k->vfs.mounts_lock);
	return finish(&t, buf, len);
}

static int gen_filesystems(void *priv, char **buf, size_t *len)
{
	struct text t = {0};

	put(&t, "nodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\n");
	return finish(&t, buf, len);
}

static int gen_uptime(void *priv, char **buf, size_t *len)
{
	struct kernel *k = priv;
	struct timespec now;
	struct text t = {0};
	double up;

	clock_gettime(CLOCK_MONOTONIC, &now);
	up = (double)(now.tv_sec - k->boot_time.tv_sec) +
	     (double)(now.tv_nsec - k->boot_time.tv_nsec) / 1e9;
	put(&t, "%.2f %.2f\n", up, 0.0);
	return finish(&t, buf, len);
}

static int gen_loadavg(void *priv, char **buf, size_t *len)
{
	struct text t = {0};

	put(&t, "0.00 0.00 0.00 1/1 1\n");
	return finish(&t, buf, len);
}

#define FILE_NODE(nm, fn)                                                                          \
	{                                                                                          \
		.name = nm, .mode = S_IFREG | 0444, .generate = fn                                 \
	}

static const struct synth_node proc_nodes[] = {
	FILE_NODE("meminfo", gen_meminfo),	   FILE_NODE("mounts", gen_mounts),
	FILE_NODE("filesystems", gen_filesystems), FILE_NODE("uptime", gen_uptime),
	FILE_NODE("loadavg", gen_loadavg),	   {.name = NULL},
};

static const struct synth_node proc_root = {.name = "/", .mode = S_IFDIR | 0555,
					    .children = proc_nodes};

int procfs_create(struct kernel *k, struct vfs_fs **out)
{
	return synth_create_fs("proc", &proc_root, k, out);
}

/*
 * kernel/procfs.c - /proc: the sandbox's view of itself.
 *
 * Everything here describes the sandbox, never the host: /proc/meminfo is
 * the memory accounting of this sandbox's memory file against its cap,
 * /proc/mounts its own mount table, /proc/uptime the time since it
 * started, /proc/loadavg its own tasks.  Each live process has /proc/PID
 * (and /proc/self links to the reader's): exe, cwd, root, cmdline,
 * environ, status, stat, maps, mounts, fd/.  A process's state there is
 * its leader's: S while it waits in the sentry, T when stopped, else R.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "abi/mman.h"
#include "kernel/procfs.h"
#include "kernel/process.h"
#include "kernel/task.h"
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

/* The types mount(2) takes: fuse only where the hooks serve it. */
static int gen_filesystems(void *priv, char **buf, size_t *len)
{
	struct kernel *k = priv;
	struct text t = {0};

	put(&t, "nodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\n");
	if (k->fs_hooks && k->fs_hooks->mount)
		put(&t, "nodev\tfuse\n");
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

/* --- task state, for stat, status and loadavg --- */

/* Is @t waiting in the sentry (task_wait: a pipe, a futex, a sleep, a
 * wait(2))?  A task blocked in a host call (reading the host's stdio)
 * looks running.  Caller holds tasks_lock (-> wake_lock). */
static bool task_sleeping(struct task *t)
{
	bool sleeping;

	pthread_mutex_lock(&t->wake_lock);
	sleeping = t->wait_mutex != NULL;
	pthread_mutex_unlock(&t->wake_lock);
	return sleeping;
}

/* The state letter of /proc/PID/stat and its name in status, as Linux
 * spells them.  A group with no task left is a zombie; /proc does not
 * list zombies yet (list_pids), so Z shows only while the last task is
 * on its way out.  Caller holds tasks_lock. */
static char task_state(struct task *t, const char **name)
{
	static const char *const names[] = {['R'] = "R (running)",
					    ['S'] = "S (sleeping)",
					    ['T'] = "T (stopped)",
					    ['Z'] = "Z (zombie)"};
	char c = t->tg->zombie || t->exited ? 'Z'
		 : t->tg->stopped	    ? 'T'
		 : task_sleeping(t)	    ? 'S'
					    : 'R';

	if (name)
		*name = names[(unsigned char)c];
	return c;
}

/* CPU time of @t's host thread in clock ticks (USER_HZ, 100): the guest's
 * time on KVM and the sentry's on either platform, not told apart (as
 * getrusage says: all of it is user time).  0 if the thread has not
 * started yet.  Caller holds tasks_lock, so the thread is alive. */
static unsigned long task_cpu_ticks(struct task *t)
{
	pthread_t th = __atomic_load_n(&t->thread, __ATOMIC_ACQUIRE);
	struct timespec ts;
	clockid_t cid;

	if (!th || pthread_getcpuclockid(th, &cid) || clock_gettime(cid, &ts))
		return 0;
	return (unsigned long)ts.tv_sec * 100 + (unsigned long)ts.tv_nsec / 10000000;
}

/* Ticks from the sandbox's start to @ts (CLOCK_MONOTONIC). */
static unsigned long ticks_since_boot(struct kernel *k, struct timespec ts)
{
	int64_t ns =
	    (ts.tv_sec - k->boot_time.tv_sec) * 1000000000LL + (ts.tv_nsec - k->boot_time.tv_nsec);

	return ns > 0 ? (unsigned long)(ns / 10000000) : 0;
}

/*
 * /proc/loadavg: "avg1 avg5 avg15 running/total last-pid".  The load
 * averages stay 0.00 (nothing samples the run queue over time); the task
 * counts are the sandbox's tasks now, running meaning not waiting in the
 * sentry, and the last pid is the one most recently handed out.
 */
static int gen_loadavg(void *priv, char **buf, size_t *len)
{
	struct kernel *k = priv;
	struct text t = {0};
	int running = 0, total = 0, last;

	pthread_mutex_lock(&k->tasks_lock);
	for (int pid = 1; pid < KERNEL_MAX_PIDS; pid++) {
		struct task *u = k->tasks[pid];

		if (!u)
			continue;
		total++;
		running += task_state(u, NULL) == 'R';
	}
	last = k->next_pid > 1 ? k->next_pid - 1 : 1;
	pthread_mutex_unlock(&k->tasks_lock);
	put(&t, "0.00 0.00 0.00 %d/%d %d\n", running, total, last);
	return finish(&t, buf, len);
}

/* --- /proc/PID: one directory per live process --- */

/* The task behind the /proc/PID being read: its group's leader if it is
 * alive, else another of its threads; never one that has already let go
 * of its files on the way out.  The scope hooks hold tasks_lock around
 * every callback under /proc/PID, so it stays. */
static struct task *init_task(void *priv, int *err)
{
	struct thread_group *tg = process_find_group(priv, (int)synth_id());
	struct task *t = NULL;

	for (struct task *u = tg ? tg->threads : NULL; u; u = u->group_next)
		if (u->fds && (!t || u->tid == tg->tgid))
			t = u;
	*err = t ? 0 : -ESRCH;
	return t;
}

static void scope_enter(void *priv, long id)
{
	pthread_mutex_lock(&((struct kernel *)priv)->tasks_lock);
}

static void scope_leave(void *priv, long id)
{
	pthread_mutex_unlock(&((struct kernel *)priv)->tasks_lock);
}

static const struct synth_scope proc_scope = {.enter = scope_enter, .leave = scope_leave};

/* The live processes, for listing /proc. */
static int list_pids(void *priv, long **out, size_t *n)
{
	struct kernel *k = priv;
	size_t cap = 64, cnt = 0;
	long *ids = malloc(cap * sizeof(*ids));

	if (!ids)
		return -ENOMEM;
	pthread_mutex_lock(&k->tasks_lock);
	for (int pid = 1; pid < KERNEL_MAX_PIDS; pid++) {
		struct thread_group *tg = k->groups[pid];

		if (!tg || tg->zombie)
			continue;
		if (cnt == cap) {
			long *more = realloc(ids, 2 * cap * sizeof(*ids));

			if (!more)
				break;
			ids = more;
			cap *= 2;
		}
		ids[cnt++] = pid;
	}
	pthread_mutex_unlock(&k->tasks_lock);
	*out = ids;
	*n = cnt;
	return 0;
}

static const char *comm(const struct task *t)
{
	const char *slash = strrchr(t->exe, '/');

	return slash ? slash + 1 : t->exe;
}

static int copy_block(const char *src, size_t n, char **buf, size_t *len)
{
	*buf = malloc(n ? n : 1);
	if (!*buf)
		return -ENOMEM;
	memcpy(*buf, src, n);
	*len = n;
	return 0;
}

static int gen_cmdline(void *priv, char **buf, size_t *len)
{
	int err;
	struct task *t = init_task(priv, &err);

	return err ? err : copy_block(t->cmdline ? t->cmdline : "", t->cmdline_len, buf, len);
}

static int gen_environ(void *priv, char **buf, size_t *len)
{
	int err;
	struct task *t = init_task(priv, &err);

	return err ? err : copy_block(t->environ ? t->environ : "", t->environ_len, buf, len);
}

/* Sizes of the address space: mapped (VmSize) and backed (VmRSS). */
static void mm_sizes(struct mm *mm, uint64_t *vm, uint64_t *rss)
{
	struct segset_seg *seg;

	*vm = *rss = 0;
	pthread_mutex_lock(&mm->lock);
	segset_for_each(seg, &mm->vmas)
		*vm += file_range_len(segset_seg_range(seg));
	segset_for_each(seg, &mm->pmas)
		*rss += file_range_len(segset_seg_range(seg));
	pthread_mutex_unlock(&mm->lock);
}

static int gen_status(void *priv, char **buf, size_t *len)
{
	struct text out = {0};
	const char *state;
	uint64_t vm, rss;
	int err;
	struct task *t = init_task(priv, &err);

	if (err)
		return err;
	mm_sizes(t->mm, &vm, &rss);
	task_state(t, &state);
	put(&out,
	    "Name:\t%.15s\nUmask:\t%04o\nState:\t%s\nTgid:\t%d\nNgid:\t0\nPid:\t%d\n"
	    "PPid:\t%d\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t%d\n"
	    "VmSize:\t%8lu kB\nVmRSS:\t%8lu kB\nThreads:\t%d\n",
	    comm(t), (unsigned)t->fs.umask, state, t->tg->tgid, t->tg->tgid,
	    t->tg->parent ? t->tg->parent->tgid : 0, t->fds->size, (unsigned long)(vm / 1024),
	    (unsigned long)(rss / 1024), t->tg->nr_threads);
	return finish(&out, buf, len);
}

static int gen_stat(void *priv, char **buf, size_t *len)
{
	struct text out = {0};
	uint64_t vm, rss;
	int err;
	struct task *t = init_task(priv, &err);

	if (err)
		return err;
	mm_sizes(t->mm, &vm, &rss);
	/* pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime cutime cstime priority nice threads
	 * itrealvalue starttime vsize rss, then zeros up to field 52.  The
	 * times are in clock ticks; utime is all the thread's CPU time
	 * (task_cpu_ticks), stime and the children's are 0. */
	put(&out, "%d (%.15s) %c %d %d %d 0 -1 4194304 0 0 0 0 %lu 0 0 0 20 0 %d 0 %lu %lu %lu",
	    t->tg->tgid, comm(t), task_state(t, NULL), t->tg->parent ? t->tg->parent->tgid : 0,
	    t->tg->pgid, t->tg->sid, task_cpu_ticks(t), t->tg->nr_threads,
	    ticks_since_boot(t->k, t->tg->start_time), (unsigned long)vm,
	    (unsigned long)(rss / 4096));
	for (int i = 25; i <= 52; i++)
		put(&out, " 0");
	put(&out, "\n");
	return finish(&out, buf, len);
}

static int gen_maps(void *priv, char **buf, size_t *len)
{
	struct text out = {0};
	struct segset_seg *seg;
	int err;
	struct task *t = init_task(priv, &err);

	if (err)
		return err;
	pthread_mutex_lock(&t->mm->lock);
	segset_for_each(seg, &t->mm->vmas)
	{
		struct file_range r = segset_seg_range(seg);
		const struct mm_vma *v = segset_seg_value(seg);
		const char *name = v->kind == MM_VMA_HEAP    ? "[heap]"
				   : v->kind == MM_VMA_STACK ? "[stack]"
				   : v->mops && v->mops->name ? v->mops->name
							     : "";

		put(&out, "%08lx-%08lx %c%c%c%c 00000000 00:00 0%s%s\n", (unsigned long)r.start,
		    (unsigned long)r.end, v->prot & PROT_READ ? 'r' : '-',
		    v->prot & PROT_WRITE ? 'w' : '-', v->prot & PROT_EXEC ? 'x' : '-',
		    v->shared ? 's' : 'p', name[0] ? "                          " : "", name);
	}
	pthread_mutex_unlock(&t->mm->lock);
	return finish(&out, buf, len);
}

static int target_exe(void *priv, char *buf, size_t size)
{
	int err;
	struct task *t = init_task(priv, &err);
	size_t n;

	if (err)
		return err;
	n = strnlen(t->exe, sizeof(t->exe));
	n = n < size ? n : size;
	memcpy(buf, t->exe, n);
	return (int)n;
}

static int target_cwd(void *priv, char *buf, size_t size)
{
	char path[VFS_PATH_MAX];
	size_t start, n;
	int err;
	struct task *t = init_task(priv, &err);

	if (err)
		return err;
	err = vfs_path_name(t->fs.root, t->cwd, path, sizeof(path), &start);
	if (err)
		return err;
	n = strlen(path + start);
	n = n < size ? n : size;
	memcpy(buf, path + start, n);
	return (int)n;
}

static int target_root(void *priv, char *buf, size_t size)
{
	if (size < 1)
		return 0;
	buf[0] = '/';
	return 1;
}

/* /proc/self: the reader's own process. */
static int target_self(void *priv, char *buf, size_t size)
{
	struct task *t = task_current();

	return snprintf(buf, size, "%d", t && t->tg ? t->tg->tgid : 1);
}

/* /proc/1/fd: one link per open fd, to its path, or "pipe:[ino]" and the
 * like for files without one. */
static int list_fds(void *priv, struct synth_link **out, size_t *n)
{
	struct synth_link *links;
	int err, count = 0;
	struct task *t = init_task(priv, &err);

	if (err)
		return err;
	links = calloc((size_t)t->fds->size + 1, sizeof(*links));
	if (!links)
		return -ENOMEM;
	for (int fd = 0; fd < t->fds->size; fd++) {
		struct vfs_file *f = fd_get(t->fds, fd);
		struct synth_link *l = &links[count];
		struct stat st;
		size_t start;

		if (!f)
			continue;
		snprintf(l->name, sizeof(l->name), "%d", fd);
		if (f->path.dentry &&
		    vfs_path_name(t->fs.root, f->path, l->target, sizeof(l->target), &start) == 0)
			memmove(l->target, l->target + start, strlen(l->target + start) + 1);
		else if (f->ops && f->ops->stat && f->ops->stat(f, &st) == 0 && S_ISFIFO(st.st_mode))
			snprintf(l->target, sizeof(l->target), "pipe:[%lu]", (unsigned long)st.st_ino);
		else
			snprintf(l->target, sizeof(l->target), "/dev/stdio%d", fd);
		vfs_file_put(f);
		count++;
	}
	*out = links;
	*n = (size_t)count;
	return 0;
}

static int gen_cpuinfo(void *priv, char **buf, size_t *len)
{
	/* The guest runs on the host's CPUs: describe them as the host does. */
	struct text out = {0};
	char line[1024];
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return -EIO;
	while (fgets(line, sizeof(line), f))
		put(&out, "%s", line);
	fclose(f);
	return finish(&out, buf, len);
}

#define FILE_NODE(nm, fn)                                                                          \
	{                                                                                          \
		.name = nm, .mode = S_IFREG | 0444, .generate = fn                                 \
	}

#define LINK_NODE(nm, fn)                                                                          \
	{                                                                                          \
		.name = nm, .mode = S_IFLNK | 0777, .target = fn                                   \
	}

static const struct synth_node pid_nodes[] = {
	FILE_NODE("cmdline", gen_cmdline), FILE_NODE("environ", gen_environ),
	FILE_NODE("status", gen_status),   FILE_NODE("stat", gen_stat),
	FILE_NODE("maps", gen_maps),	   FILE_NODE("mounts", gen_mounts),
	LINK_NODE("exe", target_exe),	   LINK_NODE("cwd", target_cwd),
	LINK_NODE("root", target_root),
	{.name = "fd", .mode = S_IFDIR | 0500, .links = list_fds},
	{.name = NULL},
};

static const struct synth_node proc_nodes[] = {
	FILE_NODE("meminfo", gen_meminfo),
	FILE_NODE("mounts", gen_mounts),
	FILE_NODE("filesystems", gen_filesystems),
	FILE_NODE("uptime", gen_uptime),
	FILE_NODE("loadavg", gen_loadavg),
	FILE_NODE("cpuinfo", gen_cpuinfo),
	LINK_NODE("self", target_self),
	LINK_NODE("thread-self", target_self),
	{.name = NULL},
};

static const struct synth_node pid_dir = {.name = "", .mode = S_IFDIR | 0555,
					  .children = pid_nodes};

static const struct synth_node proc_root = {.name = "/", .mode = S_IFDIR | 0555,
					    .children = proc_nodes, .ids = list_pids,
					    .id_node = &pid_dir};

int procfs_create(struct kernel *k, struct vfs_fs **out)
{
	return synth_create_fs_scoped("proc", &proc_root, k, &proc_scope, out);
}

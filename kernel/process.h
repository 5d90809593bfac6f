/*
 * kernel/process.h - the life of processes: pids, clone, exit, wait, exec.
 *
 * Pids.  Tasks and thread groups share one pid space, 1 to
 * KERNEL_MAX_PIDS - 1: a task's tid is its pid, a group's tgid is its
 * first task's tid.  A number is free when no live task has it and no
 * group (live or zombie) is named by it.
 *
 * Exit.  A task that exits leaves its group; the last one out makes the
 * group a zombie: its children go to the sandbox's first process (or are
 * freed, if already zombies and nobody is left to reap them), and its
 * parent gets exit_signal (SIGCHLD) and a wake-up on tasks_changed.  A
 * parent that ignores SIGCHLD (or sets SA_NOCLDWAIT) has its children
 * reaped at once, as Linux does.
 */
#ifndef KSENTRY_KERNEL_PROCESS_H
#define KSENTRY_KERNEL_PROCESS_H

#include "kernel/task.h"

/* A zeroed task of @k, not yet in any group.  NULL on ENOMEM. */
struct task *task_alloc(struct kernel *k);

/* A fresh empty mm and a context in it, made on the calling thread. */
int task_new_mm(struct task *t, struct mm **mm, struct platform_context **ctx);

/* Put @t, just made, in a new thread group without a parent, with a new
 * pid and default signal actions.  0, -EAGAIN (no pid) or -ENOMEM. */
int process_attach_first(struct task *t);

/* @t is done: first let go of its address space (robust futexes and
 * clear_child_tid are answered), then leave its group (the last one out
 * makes it a zombie) and the pid table.  Both are called by task_destroy()
 * in that order; harmless if never attached. */
void process_release_mm(struct task *t);
void process_detach(struct task *t);

/* exit(2) of one task, with wait status @status if it is the last. */
void process_exit_thread(struct task *t, int status);

/* End every task of @t's group with wait status @status (the first
 * caller's status wins); @t itself is marked exited. */
void process_exit_group(struct task *t, int status);

/* Free a group (it has no tasks and nobody will reap it).  tasks_lock
 * held, or no other task left. */
void process_free_group(struct thread_group *tg);

/* The live task with tid @tid, or NULL.  tasks_lock held. */
struct task *process_find_task(struct kernel *k, int tid);

/* The live group (not a zombie) with tgid @tgid, or NULL.  tasks_lock held. */
struct thread_group *process_find_group(struct kernel *k, int tgid);

#endif

/*
 * kernel/timer.h - interval timers (alarm, setitimer, timer_create); see
 * timer.c.
 */
#ifndef KSENTRY_KERNEL_TIMER_H
#define KSENTRY_KERNEL_TIMER_H

#include "kernel/task.h"

void timer_kernel_init(struct kernel *k);

/* Stop the timer thread and free every timer. */
void timer_kernel_destroy(struct kernel *k);

/* execve: the process's POSIX timers go; its ITIMER_REAL stays. */
void timer_exec(struct task *t);

/* A process ended: its timers go.  tasks_lock held (it nests outside
 * timer_lock). */
void timer_group_exit(struct thread_group *tg);

#endif

/*
 * kernel/pollwake.h - waiting for readiness without looking every
 * millisecond.
 *
 * A file with its own poll op (pipes, eventfds, /dev/fuse, FUSE files)
 * calls poll_wake() wherever its readiness may have changed; poll,
 * select and epoll_wait read poll_seq() before they look at their files
 * and, if none is ready, sleep in poll_sleep() until the sequence moves
 * on.  One sequence serves every file: a change anywhere wakes every
 * waiter to look again (a sandbox has few), and no change can be missed
 * between looking and sleeping.  Files backed by a host fd are polled on
 * the host instead (kernel/sys_poll.c).
 */
#ifndef KSENTRY_KERNEL_POLLWAKE_H
#define KSENTRY_KERNEL_POLLWAKE_H

#include <stdint.h>
#include <time.h>

struct task;

/* Readiness of some file may have changed: wake every waiter.  Takes
 * only its own lock, so any caller may hold its own. */
void poll_wake(void);

/* The sequence now: what a waiter saw before it looked. */
uint64_t poll_seq(void);

/*
 * Sleep until the sequence is past @seen, until the absolute
 * CLOCK_MONOTONIC @deadline (NULL: none), or until a signal for @t.
 * Returns 0 (look again), -ETIMEDOUT or -ERESTARTSYS.
 */
int poll_sleep(struct task *t, uint64_t seen, const struct timespec *deadline);

#endif

/*
 * kernel/pollwake.c - the readiness sequence (see pollwake.h).
 */
#include <errno.h>
#include <pthread.h>

#include "kernel/pollwake.h"
#include "kernel/task.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static uint64_t seq;       /* under lock */
static unsigned sleepers;  /* under lock: no broadcast without one */

static void init(void)
{
	task_cond_init(&changed);
}

void poll_wake(void)
{
	pthread_once(&once, init);
	pthread_mutex_lock(&lock);
	seq++;
	if (sleepers)
		pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
}

uint64_t poll_seq(void)
{
	uint64_t s;

	pthread_mutex_lock(&lock);
	s = seq;
	pthread_mutex_unlock(&lock);
	return s;
}

/* The sequence moved past *@arg (task_wait_spin's test: no lock). */
static bool moved(void *arg)
{
	return __atomic_load_n(&seq, __ATOMIC_ACQUIRE) != *(const uint64_t *)arg;
}

int poll_sleep(struct task *t, uint64_t seen, const struct timespec *deadline)
{
	int err = 0;

	pthread_once(&once, init);
	pthread_mutex_lock(&lock);
	sleepers++;
	while (seq == seen && !err)
		err = task_wait_spin(t, &changed, &lock, deadline, moved, &seen, NULL);
	sleepers--;
	pthread_mutex_unlock(&lock);
	return err;
}

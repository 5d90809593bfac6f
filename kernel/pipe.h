/*
 * kernel/pipe.h - pipes.
 *
 * A pipe is a 64 KiB ring shared by a read end and a write end.  Reads
 * block while it is empty and a writer exists (end of file once none
 * does); writes block while it is full and a reader exists, and fail with
 * EPIPE once none does.  Writes of at most PIPE_BUF bytes are atomic.
 * O_NONBLOCK turns every wait into EAGAIN.
 *
 * Waiting is on a condition variable under the pipe's mutex.  Signals
 * cannot interrupt it yet (issue 5): a guest that blocks forever on a
 * pipe nobody will fill stays blocked, as it would on Linux without a
 * signal.
 */
#ifndef KSENTRY_KERNEL_PIPE_H
#define KSENTRY_KERNEL_PIPE_H

#include "kernel/vfs/vfs.h"

/* A new pipe: *@rd and *@wr get one reference each.  @flags may hold
 * O_NONBLOCK.  0 or -ENOMEM. */
int pipe_create(int flags, struct vfs_file **rd, struct vfs_file **wr);

#endif

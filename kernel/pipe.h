/*
 * kernel/pipe.h - pipes.
 *
 * A pipe is a 64 KiB ring shared by a read end and a write end.  Reads
 * block while it is empty and a writer exists (end of file once none
 * does); writes block while it is full and a reader exists, and fail with
 * EPIPE once none does.  Writes of at most PIPE_BUF bytes are atomic.
 * O_NONBLOCK turns every wait into EAGAIN.
 *
 * Waiting is on a condition variable under the pipe's mutex, with
 * task_wait(), which a signal for the waiting task interrupts.
 */
#ifndef KSENTRY_KERNEL_PIPE_H
#define KSENTRY_KERNEL_PIPE_H

#include "kernel/vfs/vfs.h"

/* A new pipe: *@rd and *@wr get one reference each.  @flags may hold
 * O_NONBLOCK.  0 or -ENOMEM. */
int pipe_create(int flags, struct vfs_file **rd, struct vfs_file **wr);

/*
 * Named pipes (FIFOs made by mknod on a file system that keeps them,
 * tmpfs).  Each such inode owns a struct pipe_fifo; every open of the
 * inode shares one pipe, made by the first open and gone (with its data)
 * after the last close, as Linux's fifo_open.  Opening O_RDONLY waits for
 * a writer and O_WRONLY for a reader (interruptibly: -ERESTARTSYS), unless
 * O_NONBLOCK: then O_RDONLY succeeds at once and O_WRONLY with no reader
 * is -ENXIO.  O_RDWR never waits.
 *
 * Lock order: pipe_fifo.lock (guards which pipe the inode has) ->
 * pipe.lock.
 */
struct pipe_fifo;

/* A named pipe's state, for its inode; NULL on -ENOMEM. */
struct pipe_fifo *pipe_fifo_new(void);

/* Free it with its inode (no file can have it open then). */
void pipe_fifo_free(struct pipe_fifo *fifo);

/* Prepare @f (ops, priv) as an end of @fifo for open(2) @flags; may
 * block.  0, -ENXIO, -ERESTARTSYS, -ENOMEM. */
int pipe_fifo_open(struct pipe_fifo *fifo, struct vfs_file *f, int flags);

#endif

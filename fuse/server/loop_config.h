/*
 * fuse/server/loop_config.h - the multi-threaded loop's configuration
 * from libfuse's parsed command line, shared by the guest-side servers.
 */
#ifndef KSENTRY_FUSE_SERVER_LOOP_CONFIG_H
#define KSENTRY_FUSE_SERVER_LOOP_CONFIG_H

#include <fuse3/fuse_lowlevel.h>
#include <limits.h>

/* -o clone_fd, -o max_idle_threads, -o max_threads; NULL on no memory. */
static inline struct fuse_loop_config *loop_config(const struct fuse_cmdline_opts *opts)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();

	if (!cfg)
		return NULL;
	fuse_loop_cfg_set_clone_fd(cfg, (unsigned)opts->clone_fd);
	/* UINT_MAX is "not given"; libfuse 3.14 would warn about it (as
	 * fuse_main does on every multi-threaded start). */
	if (opts->max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(cfg, opts->max_idle_threads);
	fuse_loop_cfg_set_max_threads(cfg, opts->max_threads);
	return cfg;
}

#endif

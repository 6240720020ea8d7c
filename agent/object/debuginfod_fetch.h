/* SPDX-License-Identifier: BSD-2-Clause */
/* Debug files fetched by build-id from debuginfod servers (libdebuginfod) on a worker thread
 * of their own: the symbolizer asks and never waits; answers come in later windows. */
#ifndef STOKER_OBJECT_DEBUGINFOD_FETCH_H
#define STOKER_OBJECT_DEBUGINFOD_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct debuginfod_fetch_opts {
	const char *urls;	  /* space-separated server URLs, as DEBUGINFOD_URLS */
	const char *cache_dir;	  /* the agent's own directory (created 0700), required */
	uint64_t cache_max_bytes; /* debug files kept on disk, oldest removed first; also the
				   * largest file fetched. Default 1 GiB */
	uint64_t timeout_ns;	  /* one fetch, connection to last byte; default 30 s */
	uint64_t retry_ns;	  /* a failed build-id is not asked again for this long; 1 h */
	size_t max_pending;	  /* build-ids waiting for the worker; default 256 */
	size_t max_entries;	  /* build-ids remembered (fetched, failed); default 16384 */
};

/* Reported through the counter registry (ops/counters.h). */
struct debuginfod_fetch_stats {
	uint64_t requests;   /* build-ids queued for a fetch */
	uint64_t fetched;    /* debug files now on disk */
	uint64_t not_found;  /* no server has it (404), remembered for retry_ns */
	uint64_t failed;     /* other errors: refused, timed out, too large, ... */
	uint64_t queue_full; /* asks turned away: max_pending build-ids were waiting */
	uint64_t evicted;    /* files removed to keep the cache under its bound */
	uint64_t cache_bytes;
};

struct debuginfod_fetch;

/* Checks the cache directory (created if missing: a directory of the agent's uid, mode 0700,
 * not a link) and points libdebuginfod at it and at urls through its environment variables (to
 * be called before other threads run: setenv is not thread-safe). No thread yet: the worker
 * starts with debuginfod_fetch__run, once the agent has dropped its load-time capabilities.
 * Returns NULL with errno set: EPERM when the directory is not the agent's own, mode 0700;
 * EINVAL when it is not absolute. */
struct debuginfod_fetch *debuginfod_fetch__new(const struct debuginfod_fetch_opts *opts);
/* Starts the worker thread. Returns 0 or -errno (d then stays, fetching nothing). */
int debuginfod_fetch__run(struct debuginfod_fetch *d);
/* Aborts a fetch under way and joins the worker (about a second at most). */
void debuginfod_fetch__stop(struct debuginfod_fetch *d);

/* The debug file of build_id (hex): a new read-only fd when it is on disk, -EAGAIN when a
 * fetch was queued or is under way, -ENOENT when no server had it (for retry_ns). Never
 * blocks on the network. */
int debuginfod_fetch__get(struct debuginfod_fetch *d, const char *build_id);
/* Debug files fetched so far: a change means frames named before may now get lines. */
uint64_t debuginfod_fetch__arrivals(struct debuginfod_fetch *d);
void debuginfod_fetch__stats(struct debuginfod_fetch *d, struct debuginfod_fetch_stats *st);

#endif

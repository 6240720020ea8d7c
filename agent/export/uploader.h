/* SPDX-License-Identifier: BSD-2-Clause */
/* The upload thread: delivers closed windows in order, retries with jittered exponential
 * backoff, spools to disk beyond the in-memory queue and at shutdown, and counts every window
 * that is not delivered with its reason. */
#ifndef STOKER_UPLOADER_H
#define STOKER_UPLOADER_H

#include <stdint.h>

#include "export/push_pyroscope.h"
struct upload_batch;

struct upload_stats {
	uint64_t windows_delivered;
	uint64_t profiles_pushed; /* series profiles accepted by the server */
	uint64_t requests, retries;
	uint64_t rejected;	   /* windows dropped: the server refused them for good */
	uint64_t expired;	   /* windows dropped: older than the server accepts */
	uint64_t spooled;	   /* windows written to the spool */
	uint64_t spool_dropped;	   /* windows dropped: spool full (oldest first) */
	uint64_t spool_corrupt;	   /* spool files skipped: torn or corrupt */
	uint64_t dropped_no_spool; /* windows dropped: queue full and no spool */
	uint64_t bytes_sent;
	uint64_t last_latency_ns;
	long last_http_code;
	uint64_t queue_len, spool_files, spool_bytes;
};

struct uploader_opts {
	struct pyroscope_client_opts client;
	size_t queue_size;	  /* windows held in memory, default 8 */
	const char *spool_dir;	  /* NULL: no spool (windows beyond the queue are dropped) */
	uint64_t spool_max_bytes; /* default 256 MiB */
	uint64_t max_age_ns;	  /* windows older than this are not sent; default 55 min */
	uint64_t backoff_min_ns, backoff_max_ns; /* default 500 ms, 5 min */
	/* Counters of a previous uploader (a reload), so totals stay cumulative; NULL: zero. */
	const struct upload_stats *initial;
};

struct uploader;

/* Starts the thread (and replays the spool left by an earlier run). NULL + errno. */
struct uploader *uploader__start(const struct uploader_opts *opts);
/* Hands a closed window to the uploader (ownership passes). Never blocks on the network. */
void uploader__submit(struct uploader *u, struct upload_batch *b);
/* Keeps trying until everything is delivered or deadline_ns (CLOCK_MONOTONIC) passes, then
 * spools what is left, joins the thread and frees u; the final counters go to *final. */
void uploader__stop(struct uploader *u, uint64_t deadline_ns, struct upload_stats *final);
void uploader__stats(struct uploader *u, struct upload_stats *st);
/* The wait before try attempts+1 of a window (attempts >= 1 failed): min_ns doubled per
 * earlier failure, capped at max_ns, then +-20% picked by rnd (uniform over its range). */
uint64_t uploader_backoff_ns(uint64_t min_ns, uint64_t max_ns, unsigned int attempts, uint64_t rnd);

#endif

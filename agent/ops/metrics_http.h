/* SPDX-License-Identifier: BSD-2-Clause */
/* Self-observability endpoint: Prometheus text at /metrics and a liveness answer at /healthz,
 * served by a small thread from snapshots the agent publishes. */
#ifndef STOKER_METRICS_HTTP_H
#define STOKER_METRICS_HTTP_H

#include <stdint.h>

#include "export/uploader.h"

/* Counters owned by the sampling thread, copied in under the server's lock. */
struct agent_counters {
	uint64_t samples_recorded, samples_received, dropped_ringbuf, dropped_window;
	uint64_t events_dropped, frames, frames_unnamed, procs_seen, symbol_files;
	uint64_t symbol_bytes, windows_closed;
	uint64_t unwind_frames_table, unwind_frames_fp, unwind_truncated, unwind_table_misses;
	uint64_t unwind_pending, unwind_tables, unwind_table_bytes;
	uint64_t span_samples, span_procs_found, span_files_checked;
	uint64_t last_drain_mono_ns;
};

struct metrics_http;

/* addr is "HOST:PORT" or ":PORT". NULL + errno (logged). */
struct metrics_http *metrics_http__start(const char *addr, struct uploader *up);
void metrics_http__publish(struct metrics_http *m, const struct agent_counters *c);
void metrics_http__stop(struct metrics_http *m);

#endif

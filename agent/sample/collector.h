/* SPDX-License-Identifier: BSD-2-Clause */
/* Turns ring-buffer records into the current window's profile: process lifecycle, a cache of
 * already-symbolized raw stacks, and per-sample labels (pid, comm, service_name, span). */
#ifndef STOKER_COLLECTOR_H
#define STOKER_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "profile/profile_builder.h"
#include "span/span_context.h"
#include "symbolize/symbolize.h"

/* Reported through the counter registry (ops/counters.h). */
struct collector_stats {
	uint64_t samples, bad_records, exec_events, exit_events;
	uint64_t sample_bytes; /* bytes of sample records read from the ring */
	uint64_t stack_cache_hits, stack_cache_misses;
	uint64_t samples_dropped_full; /* window sample table full */
	uint64_t truncated_user, truncated_kernel;
	uint64_t samples_relabel_dropped; /* arrived before BPF learned to skip the process */
	uint64_t samples_in_span;	  /* carried a span (labeled when span_labels) */
};

struct collector_opts {
	size_t max_stack_cache;	    /* raw stacks remembered per window, default 65536 */
	bool pid_labels;	    /* put pid/comm labels on samples (local outputs) */
	bool span_labels;	    /* span_id/trace_id labels on samples taken inside a span */
	struct span_context *spans; /* finds processes' trace-context ABI; NULL: off */
	/* called once for a process the relabel rules dropped, so BPF skips it */
	void (*skip_pid)(void *ctx, int pid, bool skip);
	void *skip_ctx;
	/* A sample says pid's unwind tables are missing or stale (flags: STOKER_SF_UNWIND_*),
	 * pid exec'ed (COLLECTOR_HINT_EXEC) or exited (flags 0): all with skip_ctx. */
	void (*unwind_hint)(void *ctx, int pid, uint32_t flags);
};

/* unwind_hint's flags for an exec: the new image's mappings can be registered now, before
 * the process's first sample. */
#define COLLECTOR_HINT_EXEC (1u << 31)

struct collector {
	struct collector_opts opts;
	struct symbolizer *sz;
	struct profile_builder *pb; /* the open window */
	struct lru_cache *stack_cache;
	struct collector_stats st;
	/* interned label keys of the open window */
	uint32_t k_pid, k_comm, k_span_id, k_trace_id;
	/* per CPU: the Python stack BPF sent just before that CPU's next sample */
	struct stoker_py_stack **py_pending;
	size_t npy_pending;
};

int collector__init(struct collector *c, const struct collector_opts *opts, struct symbolizer *sz,
		    struct profile_builder *pb);
void collector__destroy(struct collector *c);
/* Ring buffer callback. */
void collector__on_record(const void *data, size_t len, void *ctx);
/* The builder was reset: cached stacks refer to its old ids. */
void collector__window_reset(struct collector *c);

#endif

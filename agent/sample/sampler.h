/* SPDX-License-Identifier: BSD-2-Clause */
/* The BPF sampler: loads bpf/sampler.bpf.c, opens a sampling perf event on every online CPU,
 * attaches the program, and hands ring-buffer records to a callback. */
#ifndef STOKER_SAMPLER_H
#define STOKER_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampler_abi.h"
#include "unwind_abi.h"
#include "python_frames.h"

enum sampler_event {
	SAMPLER_EVENT_CPU_CLOCK = 0, /* software cpu-clock: CPU time, works everywhere */
	SAMPLER_EVENT_CYCLES,	     /* hardware cycles, falls back to cpu-clock */
};

struct sampler;

struct sampler_opts {
	unsigned int sample_rate_hz;
	enum sampler_event event;
	bool include_idle;
	bool kernel_stacks;
	const int *pids; /* NULL/0: every process */
	size_t npids;
	size_t ringbuf_bytes; /* 0: sized from the work (ring_size_for); rounded up to a power
			       * of two */
	unsigned int drain_interval_ms; /* how often the caller drains; 0: 100 */
	bool unwind_tables;   /* walk user stacks with unwind tables (else frame pointers) */
	size_t unwind_chunks; /* row chunks at most; 0: STOKER_UNWIND_DEFAULT_CHUNKS */
	unsigned int max_user_frames; /* 0: STOKER_MAX_STACK_DEPTH */
	bool span_context;	      /* read the running span of each sampled thread */
	bool otel_map;	 /* otel_map_fd: a checked OpenTelemetry span map to read too */
	int otel_map_fd; /* the caller keeps it; the sampler holds its own reference */
	/* Called once the maps exist and before any sample is taken (may be NULL): entries
	 * that must be in BPF maps from the first sample go in here. */
	void (*on_loaded)(void *ctx, struct sampler *s);
	void *loaded_ctx;
	/* Called for every record; data is only valid during the call. */
	void (*on_record)(const void *data, size_t len, void *ctx);
	void *ctx;
};

/* Returns NULL and sets errno; the reason has been logged. */
struct sampler *sampler__open(const struct sampler_opts *opts);
void sampler__close(struct sampler *s);
/* fd to poll for readiness (epoll fd of the ring buffer). */
int sampler__fd(const struct sampler *s);
/* Consumes everything available now. Returns records consumed or -errno. */
int sampler__drain(struct sampler *s);
/* The same, but returns -EAGAIN once deadline_ns (monotonic) has passed with records left: the
 * caller's loop then checks its own deadlines between bounded pieces of work. */
int sampler__drain_until(struct sampler *s, uint64_t deadline_ns);
/* Sums the per-CPU counters into out[STOKER_STAT_MAX]. Returns 0 or -errno. */
int sampler__read_stats(struct sampler *s, uint64_t *out);
/* Adds (skip) or removes a process from the BPF-side skip list. Returns 0 or -errno. */
int sampler__skip_pid(struct sampler *s, int pid, bool skip);
/* Tells BPF where pid published its trace-context TLS offset (addr), or that it has none
 * (addr 0). Returns 0 or -errno. */
int sampler__set_span_proc(struct sampler *s, int pid, uint64_t addr);
/* Tells BPF how to walk the Python threads of pid (v), or (v NULL) to stop. Returns 0 or
 * -errno. */
int sampler__set_python_proc(struct sampler *s, int pid, const struct stoker_py_proc *v);
/* Name of the perf event actually used ("cpu-clock" or "cycles"). */
const char *sampler__event_name(const struct sampler *s);
int sampler__ncpus(const struct sampler *s);

/* The maps agent/unwind_loader.c fills; -1 fds when unwinding by tables is off. */
struct sampler_unwind_maps {
	int rows_fd, rules_fd, pages_fd, mappings_fd, files_fd;
	size_t chunks; /* entries the row map holds at most (struct stoker_unwind_chunk) */
};
void sampler__unwind_maps(const struct sampler *s, struct sampler_unwind_maps *out);

#endif

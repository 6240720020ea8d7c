/* SPDX-License-Identifier: BSD-2-Clause */
/* Trace-span context of profiled processes: finds the in-process ABI
 * (include/stoker/trace_context.h) in each process's mapped objects and tells BPF where it is. */
#ifndef STOKER_SPAN_CONTEXT_H
#define STOKER_SPAN_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "object/obj_cache.h"
#include "proc/proc_cache.h"

/* The ABI symbol the agent looks for: the published TLS offset (v1). */
#define SPAN_ABI_SYMBOL "stoker_trace_ctx_v1_tp_offset"

struct span_context_opts {
	size_t max_procs;	/* processes tracked, default STOKER_SPAN_PROCS_MAX (the BPF map) */
	struct obj_cache *objs; /* asked whether a mapped file exports the ABI; required */
	uint64_t rescan_ns;	/* a process without the ABI is looked at again after this (dlopen),
				 * or when its mappings were re-read anyway; default 5 s */
	/* Tells BPF that pid's offset is at addr, or (addr 0) that pid has none.
	 * Returns 0 or -errno. */
	int (*publish)(void *ctx, int pid, uint64_t addr);
	void *ctx;
};

struct span_context_stats {
	uint64_t scans;		/* processes' mappings searched */
	uint64_t files_checked; /* objects whose symbol tables were searched (once each) */
	uint64_t procs_found;	/* processes found exporting the ABI */
	uint64_t publish_errors;
};

struct span_context;

struct span_context *span_context__new(const struct span_context_opts *opts);
void span_context__free(struct span_context *sc);
/* A sample of p arrived: searches p's mappings for the ABI on first sight, then (while not
 * found) again at most every rescan_ns. Once found, costs one table lookup. */
void span_context__on_sample(struct span_context *sc, struct proc_cache *pc, struct proc *p);
/* pid exec'ed or exited: its entry (and the BPF one) goes. */
void span_context__forget(struct span_context *sc, int pid);
/* Searches maps (of process pid) for an object exporting the ABI. Returns 0 with *addr the
 * runtime address of SPAN_ABI_SYMBOL, -ENOENT, or another -errno. */
int span_context__locate(struct span_context *sc, int pid, const struct proc_map *maps, size_t n,
			 uint64_t *addr);
void span_context__stats(const struct span_context *sc, struct span_context_stats *st);

/* Writes the n bytes of id as 2n lowercase hex digits and a NUL into out. */
void span_id_hex(const uint8_t *id, size_t n, char *out);

#endif

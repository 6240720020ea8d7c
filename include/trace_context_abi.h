/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The span-context part of the BPF sampler's ABI: maps and records shared by
 * bpf/trace_context.bpf.h and the agent, declared once, fixed-width types only. */
#ifndef STOKER_TRACE_CONTEXT_ABI_H
#define STOKER_TRACE_CONTEXT_ABI_H

#ifdef __BPF__
/* vmlinux.h already provides __u8 .. __u64 */
#else
#include <linux/types.h>
#endif

/* Processes whose in-process ABI (include/stoker/trace_context.h) the agent has found; the
 * agent caps its own table at the same size and deletes entries on exec and exit. */
#define STOKER_SPAN_PROCS_MAX 8192

/* "STKTRC01": STOKER_TRACE_CTX_V1_MAGIC of include/stoker/trace_context.h (checked below) */
#define STOKER_SPAN_ABI_V1_MAGIC 0x31304352544b5453ull

/* span_procs value: where the process published its TLS offset. */
struct stoker_span_proc {
	__u64 tp_offset_addr; /* user address of stoker_trace_ctx_v1_tp_offset */
};

/* The application's published offset: struct stoker_trace_tp_offset_v1 (checked below). */
struct stoker_span_tp_offset {
	__u64 magic;
	__s64 tp_offset;
};

/* A thread's context: struct stoker_trace_ctx_v1 (checked below). */
struct stoker_span_ctx_v1 {
	__u32 seq;
	__u32 valid;
	__u8 trace_id[16];
	__u8 span_id[8];
};

/* Value of the OpenTelemetry eBPF instrumentation's pinned map (key: __u64 pid_tgid). */
struct stoker_otel_span_ctx {
	__u8 trace_id[16];
	__u8 span_id[8];
};

/* Default pin of that map, and its size when the agent creates it (the instrumentation's
 * definition: devdocs/trace-profile-correlation.md of opentelemetry-ebpf-instrumentation). */
#define STOKER_OTEL_TRACES_MAP_DEFAULT "/sys/fs/bpf/otel/traces_ctx_v1"
#define STOKER_OTEL_TRACES_MAP_ENTRIES (1u << 14)

#ifndef __BPF__
/* The layout is defined once, by the applications' header. BPF code cannot include that header
 * (thread-local variables, libc), so the structs above restate it in BPF's types and every
 * agent file that includes this one checks, at compile time, that they still agree. */
#include <stddef.h>
#include "stoker/trace_context.h"

#define STOKER__SAME_FIELD(a, b, f)                                                                \
	(offsetof(struct a, f) == offsetof(struct b, f) &&                                         \
	 sizeof(((struct a *)0)->f) == sizeof(((struct b *)0)->f))

_Static_assert(STOKER_SPAN_ABI_V1_MAGIC == STOKER_TRACE_CTX_V1_MAGIC,
	       "the BPF side checks the magic of include/stoker/trace_context.h");
_Static_assert(
    sizeof(struct stoker_span_ctx_v1) == sizeof(struct stoker_trace_ctx_v1) &&
	STOKER__SAME_FIELD(stoker_span_ctx_v1, stoker_trace_ctx_v1, seq) &&
	STOKER__SAME_FIELD(stoker_span_ctx_v1, stoker_trace_ctx_v1, valid) &&
	STOKER__SAME_FIELD(stoker_span_ctx_v1, stoker_trace_ctx_v1, trace_id) &&
	STOKER__SAME_FIELD(stoker_span_ctx_v1, stoker_trace_ctx_v1, span_id),
    "stoker_span_ctx_v1 is struct stoker_trace_ctx_v1 of include/stoker/trace_context.h");
_Static_assert(sizeof(struct stoker_span_tp_offset) == sizeof(struct stoker_trace_tp_offset_v1) &&
		   STOKER__SAME_FIELD(stoker_span_tp_offset, stoker_trace_tp_offset_v1, magic) &&
		   STOKER__SAME_FIELD(stoker_span_tp_offset, stoker_trace_tp_offset_v1, tp_offset),
	       "stoker_span_tp_offset is struct stoker_trace_tp_offset_v1 of "
	       "include/stoker/trace_context.h");
/* the layout table FFI users read in include/stoker/trace_context.h */
_Static_assert(sizeof(struct stoker_trace_ctx_v1) == 32 &&
		   offsetof(struct stoker_trace_ctx_v1, valid) == 4 &&
		   offsetof(struct stoker_trace_ctx_v1, trace_id) == 8 &&
		   offsetof(struct stoker_trace_ctx_v1, span_id) == 24,
	       "stoker_trace_ctx_v1 layout");
_Static_assert(sizeof(struct stoker_trace_tp_offset_v1) == 16 &&
		   offsetof(struct stoker_trace_tp_offset_v1, tp_offset) == 8,
	       "stoker_trace_tp_offset_v1 layout");
_Static_assert(sizeof(struct stoker_otel_span_ctx) == 24, "stoker_otel_span_ctx layout");
#undef STOKER__SAME_FIELD
#endif

#endif /* STOKER_TRACE_CONTEXT_ABI_H */

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

/* "STKTRC01": STOKER_TRACE_CTX_V1_MAGIC of include/stoker/trace_context.h */
#define STOKER_SPAN_ABI_V1_MAGIC 0x31304352544b5453ull

/* span_procs value: where the process published its TLS offset. */
struct stoker_span_proc {
	__u64 tp_offset_addr; /* user address of stoker_trace_ctx_v1_tp_offset */
};

/* The application's published offset (struct stoker_trace_tp_offset_v1). */
struct stoker_span_tp_offset {
	__u64 magic;
	__s64 tp_offset;
};

/* A thread's context (struct stoker_trace_ctx_v1). */
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
_Static_assert(sizeof(struct stoker_span_ctx_v1) == 32, "stoker_span_ctx_v1 layout");
_Static_assert(sizeof(struct stoker_span_tp_offset) == 16, "stoker_span_tp_offset layout");
_Static_assert(sizeof(struct stoker_otel_span_ctx) == 24, "stoker_otel_span_ctx layout");
#endif

#endif /* STOKER_TRACE_CONTEXT_ABI_H */

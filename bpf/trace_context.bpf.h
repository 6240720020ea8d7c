// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Span context of the sampled thread: read from the application's in-process ABI
 * (include/stoker/trace_context.h) through its thread pointer, else from a pinned
 * OpenTelemetry eBPF instrumentation map. Included by sampler.bpf.c; one call per sample. */
#ifndef STOKER_TRACE_CONTEXT_BPF_H
#define STOKER_TRACE_CONTEXT_BPF_H

#include "trace_context_abi.h"

/* Set by the agent between open and load: --span-labels, and whether otel_traces_ctx was
 * replaced by a pinned map (bpf_map__reuse_fd). Off, the whole step is dead code. */
const volatile bool want_span_context = false;
const volatile bool read_otel_traces = false;

/* pid -> address of the process's stoker_trace_ctx_v1_tp_offset, filled by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STOKER_SPAN_PROCS_MAX);
	__type(key, __u32);
	__type(value, struct stoker_span_proc);
} span_procs SEC(".maps");

/* Placeholder with the OpenTelemetry layout: replaced by the pinned map before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct stoker_otel_span_ctx);
} otel_traces_ctx SEC(".maps");

/* The thread's TLS base as the kernel keeps it. x86-64: thread.fsbase (saved by arch_prctl
 * and at context switch; programs that change it with wrfsbase behind the kernel's back are
 * not supported). arm64 needs BPF_CORE_READ(task, thread.uw.tp_value) (TPIDR_EL0). */
static __always_inline __u64 task_thread_pointer(struct task_struct *task)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(task, thread.fsbase);
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ(task, thread.uw.tp_value);
#else
	return 0;
#endif
}

/* In-process ABI: a seqlock read. The writer is the sampled thread itself, stopped by the
 * sample, so a torn context shows as an odd seq; before and after must agree anyway. */
static __always_inline bool read_span_abi(struct stoker_sample *s, __u32 pid)
{
	struct stoker_span_proc *sp = bpf_map_lookup_elem(&span_procs, &pid);
	struct stoker_span_tp_offset off;
	struct stoker_span_ctx_v1 ctx;
	struct task_struct *task;
	__u32 seq2;
	__u64 tp;

	if (!sp)
		return false; /* the cost for a process without the ABI: this lookup */
	if (bpf_probe_read_user(&off, sizeof(off), (void *)sp->tp_offset_addr) ||
	    off.magic != STOKER_SPAN_ABI_V1_MAGIC)
		return false; /* not published yet, or a stale address after exec */
	task = (struct task_struct *)bpf_get_current_task();
	tp = task_thread_pointer(task);
	if (!tp)
		return false;
	if (bpf_probe_read_user(&ctx, sizeof(ctx), (void *)(tp + off.tp_offset)))
		return false;
	if ((ctx.seq & 1) || !ctx.valid)
		return false;
	if (bpf_probe_read_user(&seq2, sizeof(seq2), (void *)(tp + off.tp_offset)) ||
	    seq2 != ctx.seq)
		return false;
	__builtin_memcpy(s->trace_id, ctx.trace_id, sizeof(s->trace_id));
	__builtin_memcpy(s->span_id, ctx.span_id, sizeof(s->span_id));
	s->flags |= STOKER_SF_SPAN;
	return true;
}

static __always_inline void read_otel_span(struct stoker_sample *s, __u64 pid_tgid)
{
	struct stoker_otel_span_ctx *v = bpf_map_lookup_elem(&otel_traces_ctx, &pid_tgid);
	__u64 t0, t1;

	if (!v)
		return;
	__builtin_memcpy(&t0, v->trace_id, 8);
	__builtin_memcpy(&t1, v->trace_id + 8, 8);
	if (!t0 && !t1)
		return; /* an all-zero trace id is no trace (W3C) */
	__builtin_memcpy(s->trace_id, v->trace_id, sizeof(s->trace_id));
	__builtin_memcpy(s->span_id, v->span_id, sizeof(s->span_id));
	s->flags |= STOKER_SF_SPAN;
}

/* Fills s->trace_id/span_id and sets STOKER_SF_SPAN when the thread runs a span; the
 * in-process ABI wins over the OpenTelemetry map. */
static __always_inline void read_span_context(struct stoker_sample *s, __u64 pid_tgid)
{
	if (!want_span_context)
		return;
	if (read_span_abi(s, pid_tgid >> 32))
		return;
	if (read_otel_traces)
		read_otel_span(s, pid_tgid);
}

#endif /* STOKER_TRACE_CONTEXT_BPF_H */

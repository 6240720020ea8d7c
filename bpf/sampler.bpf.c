// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* On-CPU sampler: a perf_event program that records pid, tid, comm and both stacks per sample
 * into a ring buffer, plus exec/exit tracepoints that keep the agent's process cache honest. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sampler_abi.h"
#include "trace_context.bpf.h"

#define PF_KTHREAD 0x00200000

/* Configured by the agent between open and load. */
const volatile bool include_idle = false;
const volatile bool filter_pids = false;
const volatile bool want_kernel_stacks = true;
const volatile bool want_user_stacks = true;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, STOKER_RINGBUF_DEFAULT_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STOKER_PID_FILTER_MAX);
	__type(key, __u32);
	__type(value, __u8);
} pid_filter SEC(".maps");

/* Processes the agent's relabel rules dropped: skipped here so they cost nothing more. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STOKER_PID_SKIP_MAX);
	__type(key, __u32);
	__type(value, __u8);
} pid_skip SEC(".maps");

/* A sample is ~2 KiB: too big for the 512-byte BPF stack, so it is built here and copied
 * into the ring buffer at its real length. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stoker_sample);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STOKER_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

#include "unwind.bpf.h"

static __always_inline void emit_sample(struct stoker_sample *s, __u32 klen, __u32 ulen)
{
	__u32 size;
	long ret;

	if (klen > STOKER_MAX_STACK_DEPTH)
		klen = STOKER_MAX_STACK_DEPTH;
	if (ulen > STOKER_MAX_STACK_DEPTH)
		ulen = STOKER_MAX_STACK_DEPTH;
	s->kstack_len = klen;
	s->ustack_len = ulen;
	size = STOKER_SAMPLE_HDR_BYTES + (klen + ulen) * sizeof(__u64);
	if (size > sizeof(*s))
		size = sizeof(*s);
	/* Wake the agent only when the buffer is a quarter full: it also drains on a timer, so
	 * per-sample wakeups would only cost CPU. */
	ret = bpf_ringbuf_output(&events, s, size,
				 bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
					 bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4
				     ? BPF_RB_FORCE_WAKEUP
				     : BPF_RB_NO_WAKEUP);
	if (ret)
		stat_inc(STOKER_STAT_DROP_RINGBUF_FULL);
	else
		stat_inc(STOKER_STAT_SAMPLES);
}

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	__u64 *v;

	if (!n)
		return;
	v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += n;
}

#include "python.bpf.h"

/* Ends a table walk: its counters, the stop reason and the truncation flag go with the
 * sample, which is sent. */
static __always_inline void unwind_finish(struct stoker_walk *st, struct stoker_sample *s, int stop)
{
	s->unwind_stop = (__u16)stop;
	s->unwind_frames_table = (__u16)st->frames_table;
	s->flags |= STOKER_SF_UNWIND_TABLES;
	if (stop != STOKER_USTOP_END) {
		s->flags |= STOKER_SF_USER_TRUNCATED;
		stat_inc(STOKER_STAT_UNWIND_TRUNCATED);
	}
	if (s->flags & STOKER_SF_UNWIND_PENDING)
		stat_inc(STOKER_STAT_UNWIND_PENDING);
	if (s->flags & STOKER_SF_UNWIND_VMA)
		stat_inc(STOKER_STAT_UNWIND_VMA);
	if (s->flags & STOKER_SF_UNWIND_IN_EXEC)
		stat_inc(STOKER_STAT_UNWIND_IN_EXEC);
	stat_add(STOKER_STAT_UNWIND_FRAMES_TABLE, st->frames_table);
	stat_add(STOKER_STAT_UNWIND_FRAMES_FP, st->frames_fp);
	stat_add(STOKER_STAT_UNWIND_TABLE_MISSES, st->table_misses);
	emit_sample(s, st->klen, st->n);
}

static __always_inline bool pid_wanted(__u32 pid)
{
	if (!filter_pids)
		return true;
	return bpf_map_lookup_elem(&pid_filter, &pid) != NULL;
}

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	struct task_struct *task;
	struct stoker_sample *s;
	__u32 zero = 0, klen = 0, ulen = 0;
	long ret;

	if (tid == 0 && !include_idle) {
		stat_inc(STOKER_STAT_SKIPPED_IDLE);
		return 0;
	}
	if (!pid_wanted(pid) || bpf_map_lookup_elem(&pid_skip, &pid)) {
		stat_inc(STOKER_STAT_SKIPPED_FILTER);
		return 0;
	}
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;

	s->type = STOKER_REC_SAMPLE;
	s->pid = pid;
	s->tid = tid;
	s->cpu = bpf_get_smp_processor_id();
	s->time_ns = bpf_ktime_get_ns();
	s->flags = 0;
	/* the scratch record is reused: clear what later steps set only sometimes */
	__builtin_memset(s->trace_id, 0, sizeof(s->trace_id));
	__builtin_memset(s->span_id, 0, sizeof(s->span_id));
	s->unwind_stop = 0;
	s->unwind_frames_table = 0;
	s->reserved = 0;
	bpf_get_current_comm(&s->comm, sizeof(s->comm));
	read_span_context(s, id);

	task = (struct task_struct *)bpf_get_current_task();
	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		s->flags |= STOKER_SF_KTHREAD;
	else
		python_walk(s); /* its record goes before the sample's */

	if (want_kernel_stacks) {
		ret = bpf_get_stack(ctx, &s->ips[0], STOKER_MAX_STACK_DEPTH * sizeof(__u64), 0);
		if (ret < 0) {
			s->flags |= STOKER_SF_KERNEL_ERROR;
			stat_inc(STOKER_STAT_KSTACK_ERRORS);
		} else {
			klen = (__u32)ret / sizeof(__u64);
		}
	}
	if (klen > STOKER_MAX_STACK_DEPTH)
		klen = STOKER_MAX_STACK_DEPTH;
	if (klen == STOKER_MAX_STACK_DEPTH)
		s->flags |= STOKER_SF_KERNEL_TRUNCATED;

	if (want_user_stacks && !(s->flags & STOKER_SF_KTHREAD) && unwind_tables) {
		struct stoker_walk *st = bpf_map_lookup_elem(&unwind_scratch, &zero);

		if (!st)
			return 0;
		__builtin_memset(st, 0, sizeof(*st));
		st->klen = klen;
		st->exact_pc = true;
		st->map_pid = unwind_map_pid(pid);
		if (!user_regs(ctx, st)) {
			stat_inc(STOKER_STAT_UNWIND_NO_REGS);
			unwind_finish(st, s, STOKER_USTOP_NO_REGS);
			return 0;
		}
		if (push_frame(st, s)) {
			unwind_finish(st, s, STOKER_USTOP_DEPTH);
			return 0;
		}
		bpf_tail_call(ctx, &unwind_progs, 0);
		/* only reached if the tail call failed: send what there is */
		unwind_finish(st, s, STOKER_USTOP_DEPTH);
		return 0;
	}
	if (want_user_stacks && !(s->flags & STOKER_SF_KTHREAD)) {
		ret = bpf_get_stack(ctx, &s->ips[klen], STOKER_MAX_STACK_DEPTH * sizeof(__u64),
				    BPF_F_USER_STACK);
		if (ret < 0) {
			s->flags |= STOKER_SF_USER_ERROR;
			stat_inc(STOKER_STAT_USTACK_ERRORS);
		} else {
			ulen = (__u32)ret / sizeof(__u64);
		}
	}
	if (ulen > STOKER_MAX_STACK_DEPTH)
		ulen = STOKER_MAX_STACK_DEPTH;
	if (ulen == STOKER_MAX_STACK_DEPTH)
		s->flags |= STOKER_SF_USER_TRUNCATED;

	emit_sample(s, klen, ulen);
	return 0;
}

/* The rest of a table walk, STOKER_UNWIND_FRAMES_PER_PROG frames per call: the verifier
 * checks one bounded program, the walk goes as deep as max_user_frames. */
SEC("perf_event")
int unwind_user(struct bpf_perf_event_data *ctx)
{
	struct stoker_walk *st;
	struct stoker_sample *s;
	__u32 zero = 0;
	int stop = 0;

	s = bpf_map_lookup_elem(&scratch, &zero);
	st = bpf_map_lookup_elem(&unwind_scratch, &zero);
	if (!s || !st)
		return 0;
	for (int i = 0; i < STOKER_UNWIND_FRAMES_PER_PROG; i++) {
		stop = unwind_step(st, s);
		if (stop)
			break;
		stop = push_frame(st, s);
		if (stop)
			break;
	}
	if (!stop) {
		st->tail_calls++;
		if (st->tail_calls < UNWIND_MAX_TAIL_CALLS)
			bpf_tail_call(ctx, &unwind_progs, 0);
		stop = STOKER_USTOP_DEPTH;
	}
	unwind_finish(st, s, stop);
	return 0;
}

static __always_inline void emit_proc_event(__u32 type, __u32 pid)
{
	struct stoker_proc_event *e;

	if (!pid_wanted(pid))
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(STOKER_STAT_EVENTS_DROPPED);
		return;
	}
	e->type = type;
	e->pid = pid;
	e->time_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	/* An exec changes the mappings the agent must use for the next samples: wake it now,
	 * even with samples waiting (the default wakes only a consumer that has caught up). */
	bpf_ringbuf_submit(e, type == STOKER_REC_EXEC ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* raw tracepoints need no tracefs mount, which hosts and containers often lack */
SEC("raw_tp/sched_process_exec")
int on_exec(void *ctx)
{
	emit_proc_event(STOKER_REC_EXEC, bpf_get_current_pid_tgid() >> 32);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int on_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	/* Only the thread-group leader's exit ends the process for the agent's purposes. */
	if ((__u32)id == (__u32)(id >> 32))
		emit_proc_event(STOKER_REC_EXIT, id >> 32);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The BPF sampler's ABI: every record, counter and map size shared by bpf/sampler.bpf.c and
 * agent/sampler.c is declared here, once, with fixed-width types only. */
#ifndef STOKER_SAMPLER_ABI_H
#define STOKER_SAMPLER_ABI_H

#ifdef __BPF__
/* vmlinux.h already provides __u8 .. __u64 */
#else
#include <linux/types.h>
#endif

/* Deepest stack kept per sample, per side (user, kernel). 127 is the kernel's default
 * perf_event_max_stack; deeper stacks are cut at the root side and flagged. */
#define STOKER_MAX_STACK_DEPTH 127
#define STOKER_COMM_LEN 16

/* The ring buffer's size in the object; the agent resizes it between open and load, from
 * --ring-buffer-size or from the work (agent/sample/ring_size.c). */
#define STOKER_RINGBUF_DEFAULT_BYTES (8u << 20)

/* Bounds of the pid filter map (--pid); the agent resizes it to the number of pids given. */
#define STOKER_PID_FILTER_MAX 4096

/* Processes dropped by relabel rules, skipped in BPF (LRU: a stale entry only costs a pid
 * one lookup after its reuse, and exec/exit remove entries anyway). */
#define STOKER_PID_SKIP_MAX 16384

/* Record types in the ring buffer: the first __u32 of every record. */
enum stoker_rec_type {
	STOKER_REC_SAMPLE = 1, /* struct stoker_sample */
	STOKER_REC_EXEC = 2,   /* struct stoker_proc_event: a process image was replaced */
	STOKER_REC_EXIT = 3,   /* struct stoker_proc_event: a thread-group leader exited */
};

/* Flags on a sample. */
enum stoker_sample_flags {
	STOKER_SF_USER_TRUNCATED = 1u << 0,   /* user stack filled STOKER_MAX_STACK_DEPTH */
	STOKER_SF_KERNEL_TRUNCATED = 1u << 1, /* kernel stack filled STOKER_MAX_STACK_DEPTH */
	STOKER_SF_USER_ERROR = 1u << 2,       /* bpf_get_stack failed for the user side */
	STOKER_SF_KERNEL_ERROR = 1u << 3,     /* bpf_get_stack failed for the kernel side */
	STOKER_SF_KTHREAD = 1u << 4,          /* kernel thread: no user side exists */
	STOKER_SF_SPAN = 1u << 5,             /* trace_id/span_id hold the running span */
	/* bits 8..15: the user-stack unwinder (issue #6) */
};

/* One on-CPU sample. Written by the BPF program into the ring buffer; only the first
 * kstack_len + ustack_len entries of ips[] are sent (kernel frames first, leaf first in each). */
struct stoker_sample {
	__u32 type;          /* STOKER_REC_SAMPLE */
	__u32 pid;           /* thread-group id (user-space pid) in the initial pid namespace */
	__u32 tid;           /* thread id in the initial pid namespace */
	__u32 cpu;           /* CPU the sample was taken on */
	__u64 time_ns;       /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) at the sample */
	__u16 kstack_len;    /* number of kernel frames in ips[] */
	__u16 ustack_len;    /* number of user frames in ips[] after the kernel ones */
	__u32 flags;         /* enum stoker_sample_flags */
	char comm[STOKER_COMM_LEN]; /* thread's comm, NUL-padded */
	__u8 trace_id[16];   /* W3C trace id of the span running on the thread (STOKER_SF_SPAN) */
	__u8 span_id[8];     /* its span id (STOKER_SF_SPAN) */
	__u16 unwind_stop;   /* why the user-stack walk ended (enum stoker_unwind_stop) */
	__u16 unwind_frames_table; /* user frames found through unwind tables */
	__u32 reserved;
	__u64 ips[2 * STOKER_MAX_STACK_DEPTH]; /* instruction pointers, leaf first */
};

#define STOKER_SAMPLE_HDR_BYTES 80 /* offsetof(struct stoker_sample, ips) */

/* Process lifecycle event: lets the agent drop a process's cached mappings when it execs
 * and free them after the window in which it exited has been written. */
struct stoker_proc_event {
	__u32 type; /* STOKER_REC_EXEC or STOKER_REC_EXIT */
	__u32 pid;  /* thread-group id */
	__u64 time_ns;
	char comm[STOKER_COMM_LEN];
};

/* Per-CPU counters in the `stats` array map, indexed by enum stoker_stat (sampler_counters.h:
 * one row per counter). Every dropped sample increments one of them; the agent sums them over
 * CPUs and reports them. */
#include "sampler_counters.h"

_Static_assert(sizeof(struct stoker_sample) ==
		       STOKER_SAMPLE_HDR_BYTES + 2 * STOKER_MAX_STACK_DEPTH * 8,
	       "stoker_sample layout");
_Static_assert(sizeof(struct stoker_proc_event) == 32, "stoker_proc_event layout");

#endif /* STOKER_SAMPLER_ABI_H */

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPython frames of the sampled thread: its thread state from glibc's TSD slot of the
 * interpreter's TSS key, then the _PyInterpreterFrame chain, sent as (code object, instruction,
 * guard) per frame in a record of its own just before the sample (include/python_frames.h).
 * No strings are read here. Included by sampler.bpf.c after trace_context.bpf.h (which gives
 * task_thread_pointer) and the stats map; one call per sample. */
#ifndef STOKER_PYTHON_BPF_H
#define STOKER_PYTHON_BPF_H

#include "python_frames.h"

/* pid -> where that interpreter keeps its thread states, filled by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STOKER_PY_PROCS_MAX);
	__type(key, __u32);
	__type(value, struct stoker_py_proc);
} py_procs SEC(".maps");

/* A frame is read whole into fbuf, then its fields picked by the offsets of the process's
 * version (bounded indexes into a map value, which the verifier accepts). */
#define PY_FRAME_READ 80

struct py_scratch {
	struct stoker_py_stack rec;
	__u8 fbuf[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_scratch);
} py_scratch SEC(".maps");

static __always_inline __u64 py_u64(const __u8 *buf, __u16 off)
{
	return *(const __u64 *)(buf + (off & 0x78));
}

/* The thread's id in its own pid namespace, which is what a containerized interpreter
 * recorded as its native_thread_id (gettid()). */
static __always_inline __u32 task_ns_tid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	int nr = 0;

	bpf_core_read(&nr, sizeof(nr), &pid->numbers[level & 31].nr);
	return (__u32)nr;
}

static __always_inline void python_walk(struct stoker_sample *s)
{
	struct stoker_py_proc *pp = bpf_map_lookup_elem(&py_procs, &s->pid);
	struct py_scratch *sc;
	__u64 tp, tstate = 0, thread_id = 0, cframe = 0, frame = 0;
	struct task_struct *task;
	__u32 zero = 0, n = 0, size;
	__u32 key;

	if (!pp)
		return; /* the cost for a process that is not Python: this lookup */
	key = pp->tss_key;
	if (key >= 32)
		return;
	task = (struct task_struct *)bpf_get_current_task();
	tp = task_thread_pointer(task);
	if (!tp || bpf_probe_read_user(&tstate, sizeof(tstate),
				       (void *)(tp + pp->tsd_offset + 16 * key + 8))) {
		stat_inc(STOKER_STAT_PY_WALK_FAILED);
		return;
	}
	if (!tstate) {
		stat_inc(STOKER_STAT_PY_NO_THREAD_STATE); /* a thread that never ran Python */
		return;
	}
	/* a wrong TSD layout or a stale key would find some other pointer: the thread state
	 * names its own thread (by the id it has in its pid namespace) */
	if (bpf_probe_read_user(&thread_id, sizeof(thread_id),
				(void *)(tstate + pp->ts_thread_id)) ||
	    ((__u32)thread_id != s->tid && (__u32)thread_id != task_ns_tid(task)) ||
	    bpf_probe_read_user(&cframe, sizeof(cframe), (void *)(tstate + pp->ts_cframe)) ||
	    !cframe ||
	    bpf_probe_read_user(&frame, sizeof(frame), (void *)(cframe + pp->cf_current))) {
		stat_inc(STOKER_STAT_PY_WALK_FAILED);
		return;
	}
	sc = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!sc)
		return;
	sc->rec.type = STOKER_REC_PY_STACK;
	sc->rec.pid = s->pid;
	sc->rec.tid = s->tid;
	sc->rec.cpu = s->cpu;
	sc->rec.time_ns = s->time_ns;
	sc->rec.flags = 0;
	sc->rec.reserved = 0;

	for (n = 0; n < STOKER_PY_MAX_FRAMES; n++) {
		struct stoker_py_frame *f = &sc->rec.frames[n];
		__u64 code, instr;
		__u32 guard = 0;

		if (!frame)
			break;
		if (bpf_probe_read_user(sc->fbuf, PY_FRAME_READ, (void *)frame)) {
			sc->rec.flags |= STOKER_PYS_FAULT;
			break;
		}
		code = py_u64(sc->fbuf, pp->fr_code);
		instr = py_u64(sc->fbuf, pp->fr_instr);
		frame = py_u64(sc->fbuf, pp->fr_previous);
		if (bpf_probe_read_user(&guard, sizeof(guard),
					(void *)(code + pp->co_firstlineno))) {
			sc->rec.flags |= STOKER_PYS_FAULT;
			break;
		}
		f->code = code;
		f->lasti =
		    instr >= code + pp->co_code ? (__s32)((instr - code - pp->co_code) >> 1) : -1;
		/* the owner goes with the frame: 3.12+ marks C-stack shims (owner 3) there */
		f->info = (guard & STOKER_PYF_GUARD_MASK) |
			  (sc->fbuf[pp->fr_entry & 0x7f] ? STOKER_PYF_ENTRY : 0) |
			  ((__u32)(sc->fbuf[pp->fr_owner & 0x7f] & 3) << 29);
	}
	if (frame && !(sc->rec.flags & STOKER_PYS_FAULT))
		sc->rec.flags |= STOKER_PYS_TRUNCATED;
	if (sc->rec.flags)
		stat_inc(STOKER_STAT_PY_TRUNCATED);
	stat_inc(STOKER_STAT_PY_STACKS);
	stat_add(STOKER_STAT_PY_FRAMES, n);
	if (n > STOKER_PY_MAX_FRAMES)
		n = STOKER_PY_MAX_FRAMES;
	sc->rec.nframes = (__u16)n;
	size = STOKER_PY_STACK_HDR_BYTES + n * sizeof(struct stoker_py_frame);
	if (size > sizeof(sc->rec))
		size = sizeof(sc->rec);
	if (bpf_ringbuf_output(&events, &sc->rec, size, BPF_RB_NO_WAKEUP))
		stat_inc(STOKER_STAT_PY_DROPPED);
}

#endif /* STOKER_PYTHON_BPF_H */

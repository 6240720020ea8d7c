/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPython frames: what the agent tells BPF about a Python process (agent/proc/python_process.c
 * fills py_procs) and the record in which BPF (bpf/python.bpf.h) sends a sampled thread's
 * interpreter frames, for agent/symbolize/python_frames.c to name. */
#ifndef STOKER_PYTHON_FRAMES_H
#define STOKER_PYTHON_FRAMES_H

#ifdef __BPF__
/* vmlinux.h already provides __u8 .. __u64 */
#else
#include <linux/types.h>
#endif

/* Python processes BPF walks at once (py_procs entries). */
#define STOKER_PY_PROCS_MAX 4096

/* Interpreter frames walked per sample: deeper stacks keep their innermost frames and are
 * flagged STOKER_PYF_TRUNCATED. */
#define STOKER_PY_MAX_FRAMES 96

/* Ring-buffer record type of struct stoker_py_stack (the first __u32, as enum stoker_rec_type
 * in sampler_abi.h; a value far from that enum's so the two lists never collide). */
#define STOKER_REC_PY_STACK 16

/* Per Python process, written by the agent once the interpreter is initialized: where the
 * thread state of a thread is and the offsets of the interpreter's version. Offsets in bytes. */
struct stoker_py_proc {
	__u32 version;	      /* PY_VERSION_HEX >> 16, e.g. 0x030b for 3.11 */
	__u32 tss_key;	      /* pthread key of the thread-state TSS (autoTSSkey), < 32 */
	__u32 tsd_offset;     /* glibc: thread pointer + tsd_offset + 16 * key + 8 holds the
			       * value (struct pthread's specific_1stblock[key].data) */
	__u16 ts_cframe;      /* PyThreadState.cframe */
	__u16 ts_thread_id;   /* PyThreadState.native_thread_id: checked against the tid */
	__u16 cf_current;     /* _PyCFrame.current_frame */
	__u16 fr_code;	      /* _PyInterpreterFrame.f_code */
	__u16 fr_previous;    /* _PyInterpreterFrame.previous */
	__u16 fr_instr;	      /* _PyInterpreterFrame.prev_instr */
	__u16 fr_entry;	      /* _PyInterpreterFrame.is_entry (bool) */
	__u16 fr_owner;	      /* _PyInterpreterFrame.owner (char) */
	__u16 co_firstlineno; /* PyCodeObject.co_firstlineno: the guard sent per frame */
	__u16 co_code;	      /* first code unit (the bytecode) inside PyCodeObject */
};

/* One interpreter frame, innermost first. lasti is the index of the code unit (2 bytes) being
 * executed, -1 when the frame has not started; guard is co_firstlineno read with it, so a
 * code object freed and another allocated at the same address is not named by the old one. */
struct stoker_py_frame {
	__u64 code;  /* PyCodeObject address in the process */
	__s32 lasti; /* (prev_instr - first code unit) / 2 */
	__u32 info;  /* bits 0..28: guard (co_firstlineno); 29..30: the frame's owner (3.12+: 3 is
		      * a C-stack shim, no Python function); bit 31: STOKER_PYF_ENTRY */
};

#define STOKER_PYF_ENTRY       (1u << 31) /* the first frame of one eval-loop activation */
#define STOKER_PYF_GUARD_MASK  0x1fffffffu
#define STOKER_PYF_OWNER(info) (((info) >> 29) & 3)

/* Flags of a Python stack. */
enum stoker_py_stack_flags {
	STOKER_PYS_TRUNCATED = 1u << 0, /* more than STOKER_PY_MAX_FRAMES frames */
	STOKER_PYS_FAULT = 1u << 1,	/* a frame could not be read: the rest is missing */
};

/* Sent right before the sample of the same thread (same cpu, tid and time_ns) when the
 * process is registered in py_procs and the thread has a thread state. Only the first
 * nframes frames are sent. */
struct stoker_py_stack {
	__u32 type; /* STOKER_REC_PY_STACK */
	__u32 pid;
	__u32 tid;
	__u32 cpu;
	__u64 time_ns; /* equal to the sample's */
	__u16 nframes;
	__u16 flags; /* enum stoker_py_stack_flags */
	__u32 reserved;
	struct stoker_py_frame frames[STOKER_PY_MAX_FRAMES];
};

#define STOKER_PY_STACK_HDR_BYTES 32 /* offsetof(struct stoker_py_stack, frames) */

_Static_assert(sizeof(struct stoker_py_proc) == 32, "stoker_py_proc layout");
_Static_assert(sizeof(struct stoker_py_frame) == 16, "stoker_py_frame layout");
_Static_assert(sizeof(struct stoker_py_stack) ==
		   STOKER_PY_STACK_HDR_BYTES + STOKER_PY_MAX_FRAMES * 16,
	       "stoker_py_stack layout");

#endif /* STOKER_PYTHON_FRAMES_H */

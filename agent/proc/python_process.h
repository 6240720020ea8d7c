/* SPDX-License-Identifier: BSD-2-Clause */
/* Python processes: which profiled processes run a CPython interpreter (found by its symbols
 * in any mapped file: python3.x, libpython3.x.so, an embedding program), its version and
 * where its thread states are, kept in step with the BPF py_procs map. */
#ifndef STOKER_PYTHON_PROCESS_H
#define STOKER_PYTHON_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "object/obj_cache.h"
#include "proc/proc_cache.h"
#include "python_frames.h"

/* What the symbolizer needs of a Python process, in its address space. */
struct python_proc {
	int pid;
	uint64_t serial;	       /* proc_cache entry it belongs to */
	uint32_t version;	       /* PY_VERSION_HEX >> 16 */
	uint64_t eval_start, eval_end; /* _PyEval_EvalFrameDefault */
	uint64_t cold_start, cold_end; /* its .cold part, 0 when none */
	uint64_t runtime;	       /* _PyRuntime */
	uint32_t tsd_offset; /* glibc's TSD array in struct pthread, from its libc.so; 0 unknown */
	uint64_t code_type;  /* PyCode_Type: a code object's ob_type; 0 unknown */
	bool published;	     /* BPF walks its threads */
	bool unsupported;    /* a version without offsets here: native frames only */
	uint64_t scanned_ns, maps_read_ns;
};

struct python_procs_opts {
	size_t max_procs;	/* default STOKER_PY_PROCS_MAX (the BPF map) */
	struct obj_cache *objs; /* asked whether a mapped file holds an interpreter; required */
	uint64_t rescan_ns;	/* a process without one is looked at again after this (dlopen of
				 * libpython), or when its mappings were re-read; default 5 s */
	/* Tells BPF how to walk pid's threads (v), or (v NULL) to stop. Returns 0 or -errno. */
	int (*publish)(void *ctx, int pid, const struct stoker_py_proc *v);
	void *ctx;
};

struct python_procs_stats {
	uint64_t found;	      /* processes found running a supported interpreter */
	uint64_t unsupported; /* processes running an interpreter without offsets here */
	uint64_t not_ready;   /* looks at an interpreter not yet initialized (retried) */
	uint64_t publish_errors;
};

struct python_procs;

struct python_procs *python_procs__new(const struct python_procs_opts *opts);
void python_procs__free(struct python_procs *pp);
/* A sample of p arrived: looks for an interpreter on first sight, then (while none is found)
 * at most every rescan_ns; once published, costs one table lookup. */
void python_procs__on_sample(struct python_procs *pp, struct proc_cache *pc, struct proc *p);
/* The Python process p is, or NULL. */
const struct python_proc *python_procs__find(struct python_procs *pp, const struct proc *p);
/* pid exec'ed or exited. */
void python_procs__forget(struct python_procs *pp, int pid);
void python_procs__stats(const struct python_procs *pp, struct python_procs_stats *st);

/* The offsets BPF needs for an interpreter of version (PY_VERSION_HEX >> 16). Returns 0 or
 * -ENOTSUP for a version without a table here. */
int python_offsets(uint32_t version, struct stoker_py_proc *out);

/* The Python processes running now, for `stoker check`: every process's mappings searched for
 * an interpreter (at most PYTHON_CENSUS_MAX_PROCS processes). Returns 0 or -errno. */
#define PYTHON_CENSUS_MAX_PROCS 32768
struct python_census {
	unsigned processes;   /* looked at */
	unsigned supported;   /* running CPython 3.11: frames read */
	unsigned unsupported; /* another version: native frames only */
};
int python_census(struct obj_cache *objs, struct python_census *out);

/* Reads len bytes at addr of process pid (process_vm_readv). Returns 0 or -errno (-EFAULT for a
 * short read). */
int proc_read_mem(int pid, uint64_t addr, void *buf, size_t len);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* Turns a sample's raw instruction pointers into frames: kernel ones by kallsyms, user ones
 * through the process's mappings to ELF symbols or JIT perf maps. What becomes of the frames
 * (pprof locations, ...) is the caller's business. */
#ifndef STOKER_SYMBOLIZE_H
#define STOKER_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "symbolize/frame.h"
#include "symbolize/kallsyms.h"
#include "object/debuginfod_fetch.h"
#include "object/obj_cache.h"
#include "proc/java_attach.h"
#include "proc/proc_cache.h"
#include "proc/python_process.h"
#include "symbolize/python_frames.h"

struct symbolizer_stats {
	uint64_t frames, named, unnamed, no_mapping, kernel_unnamed;
	uint64_t perf_maps_refused; /* JIT maps not read: a link, not a file, another owner */
	uint64_t jit_unnamed; /* JIT code no map names yet, in a process whose map may name it */
	/* every process's JIT map together: its caps (set by the owner) and counts */
	struct perf_map_budget perf_maps;
	uint64_t frames_with_lines; /* native addresses named from DWARF, with file:line */
	uint64_t inlined_frames;    /* frames of those that were inlined into the next */
	uint64_t lines_pending;	    /* addresses named without lines: a fetch was under way */
	uint64_t lines_deferred;    /* addresses named without lines: DWARF time budget spent */
	struct object_lines_stats lines;     /* files: with lines, without debug info, ... */
	struct debuginfod_fetch_stats fetch; /* copied from the fetcher when counters are read */
};

struct symbolizer {
	struct proc_cache *procs;     /* also gives each mapping's object */
	struct kallsyms *ksyms;	      /* may be NULL: kernel frames then keep their addresses */
	struct java_attach *java;     /* asks JVMs for their maps; NULL: off */
	struct python_procs *pyprocs; /* NULL: Python frames are not merged */
	struct python_frames *pyframes;
	bool lines;			     /* file:line and inline chains from DWARF (--lines) */
	struct object_lines_opts lines_opts; /* its stats point at st.lines */
	struct debuginfod_fetch *fetch;	     /* NULL: debug files are not fetched */
	uint64_t fetch_arrivals;	     /* as of the last symbolizer__lines_arrived */
	uint64_t lines_budget_ns, lines_budget_at; /* DWARF time left, and as of when */
	uint64_t deferred_seen; /* st.lines_deferred as of the last symbolizer__lines_arrived */
	struct symbolizer_stats st;
};

/* Receives the frames of one address (innermost first), valid during the call only. Returns
 * 0 to go on with the stack, non-zero to stop. */
typedef int (*symbolize_frames_fn)(void *ctx, const struct frame *frames, size_t nframes);

/* Symbolizes one stack leaf first, kernel addresses then user ones, handing each address's
 * frames to fn. The first kernel ip is the sampled PC (the others are return addresses), as is
 * the first user ip when there are no kernel ones. py (may be NULL): the thread's interpreter
 * frames, which replace the eval-loop frames of the user stack, one activation each. Returns
 * the number of frames handed. */
size_t symbolize_stack(struct symbolizer *sz, struct proc *p, const __u64 *kips, size_t nk,
		       const __u64 *uips, size_t nu, const struct stoker_py_stack *py,
		       symbolize_frames_fn fn, void *ctx);

/* Debug files come from d (NULL: none) besides the files and their local debug files. */
void symbolizer__set_fetch(struct symbolizer *sz, struct debuginfod_fetch *d);
/* Whether debug files arrived, or DWARF time came back after frames went without lines for
 * the lack of it, since the last call: stacks symbolized before may now get lines, so a cache
 * of symbolized stacks is worth dropping. */
bool symbolizer__lines_arrived(struct symbolizer *sz);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* Names of CPython frames: the code objects BPF points at, read from the process once
 * (qualname, file name, line table), cached in bytes, and lines from the instruction offset. */
#ifndef STOKER_PYTHON_FRAMES_SYM_H
#define STOKER_PYTHON_FRAMES_SYM_H

#include <stddef.h>
#include <stdint.h>

#include "proc/python_process.h"
#include "python_frames.h"

struct python_frames_opts {
	size_t max_bytes;   /* cache bound, default 16 MiB */
	size_t max_entries; /* default 65536 */
};

struct python_frames_stats {
	uint64_t frames;	  /* Python frames named */
	uint64_t code_reads;	  /* code objects read from processes */
	uint64_t code_failures;	  /* of those, unreadable or not a code object */
	uint64_t frames_unplaced; /* Python frames without an eval-loop frame to replace */
	uint64_t cache_bytes, cache_evictions;
};

/* One named frame; strings owned by the cache, valid until the next python_frames__name. */
struct python_frame_name {
	const char *qualname;
	const char *filename;
	uint32_t line; /* 0 when the instruction has no line */
};

struct python_frames;

struct python_frames *python_frames__new(const struct python_frames_opts *opts);
void python_frames__free(struct python_frames *pf);
/* Names frame f of a thread of process pp (serial: its proc_cache entry). Returns 0, or
 * -errno when the code object cannot be read or its guard does not match (a freed and reused
 * address): the frame is then shown unnamed. */
int python_frames__name(struct python_frames *pf, const struct python_proc *pp,
			const struct stoker_py_frame *f, struct python_frame_name *out);
struct python_frames_stats *python_frames__stats(struct python_frames *pf);

/* Line of the code unit lasti from a 3.11+ location table (co_linetable) of a code object whose
 * co_firstlineno is firstlineno: firstlineno when lasti is negative (the frame has not run its
 * first instruction yet), 0 when the instruction has none or lasti is outside the table,
 * -EINVAL for a malformed table. */
int python_line_311(const uint8_t *table, size_t len, int firstlineno, int lasti);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* The objects of mapped files, one per (device, inode), opened once through proc_map_open and
 * bounded together: one budget in bytes for all that hangs off them, LRU eviction. */
#ifndef STOKER_OBJ_CACHE_H
#define STOKER_OBJ_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "object/object.h"

struct obj_cache_opts {
	size_t max_files;	       /* objects, default 8192 */
	size_t max_bytes;	       /* symbols + unwind rows + the rest, default 128 MiB */
	size_t max_file_bytes;	       /* one file's symbol tables, default 32 MiB, <= max_bytes */
	size_t max_open_fds;	       /* objects holding their file open, default 128 */
	const char *const *debug_dirs; /* NULL: /usr/lib/debug */
	bool lines; /* DWARF lines are read too: an object keeps its file until they are */
};

struct obj_cache_stats {
	uint64_t opens;	  /* files opened: once per identity unless evicted or fd-bounded */
	uint64_t reopens; /* of those, for an object whose fd had been closed */
	uint64_t open_failures;
	uint64_t loads, load_failures; /* symbol tables */
	uint64_t unwind_builds, data_sym_searches;
	uint64_t hits, misses, evictions;
	uint64_t files, bytes, open_fds;
	uint64_t budget_bytes;		/* max_bytes */
	uint64_t symbol_bytes;		/* of bytes, in symbol tables */
	uint64_t unwind_bytes;		/* of bytes, in unwind rows kept on objects */
	uint64_t symbol_tables_refused; /* over the per-file quota or the budget: not read */
};

struct obj_cache *obj_cache__new(const struct obj_cache_opts *opts);
void obj_cache__free(struct obj_cache *c);
/* The object of the file mapped at m of process pid, opened on first sight (through
 * /proc/PID/map_files or /proc/PID/root, so containers work). The reference is borrowed and
 * valid until the next obj_cache__get, even if the budget evicts the object meanwhile; take
 * object_get() to keep it longer. NULL when the file cannot be opened (process gone, replaced
 * file, not a regular file). */
struct object *obj_cache__get(struct obj_cache *c, int pid, const struct proc_map *m);
void obj_cache__stats(const struct obj_cache *c, struct obj_cache_stats *st);
/* Releases the DWARF of every object whose lines had no new address for idle_ns, keeping
 * their answered addresses; returns how many were released. */
size_t obj_cache__release_idle_lines(struct obj_cache *c, uint64_t now_ns, uint64_t idle_ns);

/* For object.c: an fd for o (reopened if it was closed), or -errno. */
int obj_cache__object_fd(struct obj_cache *c, struct object *o);
/* For object.c: makes room for bytes more of o before they are allocated, evicting others.
 * -EFBIG when o would not fit in the budget with them. */
int obj_cache__reserve(struct obj_cache *c, struct object *o, size_t bytes);
/* For object.c: o derived a part; its cost changed and its fd may go. It may be evicted itself
 * when it alone is over the budget: what it derived is then released. */
void obj_cache__object_built(struct obj_cache *c, struct object *o);
/* For object.c: counters and options. */
struct obj_cache_stats *obj_cache__counters(struct obj_cache *c);
const struct obj_cache_opts *obj_cache__opts(const struct obj_cache *c);

#endif

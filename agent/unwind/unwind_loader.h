/* SPDX-License-Identifier: BSD-2-Clause */
/* Loads unwind tables into the BPF walker's maps and keeps each process's view of them (which
 * table and bias covers which address range) in step with its mappings. */
#ifndef STOKER_UNWIND_LOADER_H
#define STOKER_UNWIND_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc/proc_cache.h"
#include "sample/sampler.h"

struct unwind_loader_opts {
	struct sampler_unwind_maps maps;
	struct proc_cache *procs; /* whose maps are scanned, and their objects (the rows) */
	size_t max_procs;	  /* processes registered at once, default 16384 (LRU beyond) */
	size_t max_tables;	  /* files with a table at once, default 4096 */
	/* A process is rescanned at most this often when samples say its mappings changed. */
	uint64_t rescan_interval_ns; /* default 2 s */
};

struct unwind_loader_stats {
	uint64_t tables, tables_built, tables_failed, tables_without_cfi;
	uint64_t tables_evicted, tables_no_room;
	uint64_t tables_over_quota;  /* files refused: more rows or pages than a file's quota */
	uint64_t proc_quota_refused; /* tables or mappings refused past a process's quota */
	uint64_t fdes_capped;	     /* FDEs cut short by the CFI replay budget */
	uint64_t rows_used, rows_capacity;     /* of the row pool; 8 bytes each */
	uint64_t chunks_used, chunks_capacity; /* STOKER_UNWIND_CHUNK_BYTES each */
	uint64_t rules;
	uint64_t procs, scans, scan_failures;
	uint64_t exec_scans;	 /* of them, at exec, before the first sample */
	uint64_t scans_deferred; /* of them, left for a later turn to build their tables */
	uint64_t build_ns;	 /* time spent building tables */
};

struct unwind_loader;

/* NULL and errno set when out of memory. */
struct unwind_loader *unwind_loader__new(const struct unwind_loader_opts *opts);
void unwind_loader__free(struct unwind_loader *l);
/* Loads the tables of p's executable mappings (as last read by the process cache) and
 * registers them. Returns 0 or -errno (-ESRCH: the process is gone). */
int unwind_loader__scan(struct unwind_loader *l, struct proc *p);
/* A sample of p came back with these STOKER_SF_UNWIND_* flags: scans when the process is
 * unknown or its mappings changed (re-reading them through the process cache), at most once
 * per rescan interval. */
void unwind_loader__on_sample(struct unwind_loader *l, struct proc *p, uint32_t flags);
/* p just exec'ed: registers the new image's mappings before its first sample. The dynamic
 * loader may not have mapped its libraries yet: the first sample that finds an address
 * outside them rescans at once. */
void unwind_loader__on_exec(struct unwind_loader *l, struct proc *p);
/* Tables are built while scanning until deadline_ns (monotonic; 0: no limit), and one at
 * least; past it a process whose tables are not all built is queued, unregistered, for
 * unwind_loader__work, so that building them never holds the main loop for long. */
void unwind_loader__set_deadline(struct unwind_loader *l, uint64_t deadline_ns);
/* From now on until the next call of either, a scan that needs a table built is queued. */
void unwind_loader__defer_builds(struct unwind_loader *l);
/* Scans queued processes, building their tables, until deadline_ns (and one build at least). */
void unwind_loader__work(struct unwind_loader *l, uint64_t deadline_ns);
/* Processes still queued for unwind_loader__work. */
size_t unwind_loader__pending(const struct unwind_loader *l);
/* pid exited or exec'ed: its registration is removed (its tables stay cached). */
void unwind_loader__forget(struct unwind_loader *l, int pid);
void unwind_loader__stats(const struct unwind_loader *l, struct unwind_loader_stats *st);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* Per-process state the symbolizer needs: executable mappings, exe name, JIT map, lifecycle. */
#ifndef STOKER_PROC_CACHE_H
#define STOKER_PROC_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "label/cgroup_identity.h"
#include "label/container_meta.h"
#include "proc/perf_map.h"
#include "object/proc_maps.h"
#include "label/relabel.h"

struct obj_cache;
struct object;

struct proc {
	int refcnt;
	int pid;
	uint64_t serial;  /* unique per entry: a pid reused after exec gets a new one */
	int nspid;	  /* pid inside its own pid namespace (for /tmp/perf-NSPID.map) */
	bool dead;	  /* exited or exec'ed: kept until the windows using it are written */
	bool maps_failed; /* /proc/PID/maps could not be read */
	struct proc_map *maps;
	size_t nmaps;
	struct object **objs;  /* references to the objects of maps[i], taken on first use */
	uint64_t maps_read_ns; /* CLOCK_MONOTONIC of the last maps read */
	char exe_name[64];     /* base name of /proc/PID/exe, or comm */
	char comm[16];
	char service_name[128]; /* inferred: systemd unit without suffix, else exe_name */
	struct cgroup_identity cg;
	/* labels after relabeling: names and values alternate; dropped: relabel rules said so */
	char **labels;
	size_t nlabels;
	bool dropped;
	uint64_t meta_gen; /* container metadata generation the labels were computed with */
	struct perf_map *perf_map;
	uint64_t perf_map_checked_ns;
	int perf_map_refused; /* -errno of the last refusal, counted once until it changes */
};

struct proc_cache_opts {
	size_t max_procs;		  /* default 32768 */
	size_t max_bytes;		  /* entries, maps, objs[] and labels; default 64 MiB */
	size_t max_maps_per_proc;	  /* default 8192, fewer if a process would not fit */
	const struct relabel_rule *rules; /* applied to each new process; owned by the caller */
	size_t nrules;
	struct container_meta *meta; /* Kubernetes/Docker metadata, NULL: none */
	struct obj_cache *objs; /* the objects of mapped files; required for proc_cache__object */
};

struct proc_cache_stats {
	uint64_t procs, created, maps_reads, maps_failures, evictions;
	uint64_t bytes, budget_bytes; /* held by cached processes, max_bytes */
};

struct proc_cache;

struct proc_cache *proc_cache__new(const struct proc_cache_opts *opts);
void proc_cache__free(struct proc_cache *c);
/* The live process pid, read from /proc on first sight. comm is the sampled thread's comm, used
 * when /proc has nothing (process already gone); NULL reads it from /proc. Never NULL unless out of
 * memory. The reference is borrowed: take proc__get() to keep it. */
struct proc *proc_cache__lookup(struct proc_cache *c, int pid, const char *comm);
/* The object of the file mapped at m, one of p's maps: p holds a reference to it until its
 * maps are re-read or it goes, so the file is one object for as long as processes map it.
 * NULL when the file cannot be opened. */
struct object *proc_cache__object(struct proc_cache *c, struct proc *p, const struct proc_map *m);
/* Re-reads the maps of p if the last read is older than min_age_ns; returns true if re-read. */
bool proc_cache__refresh_maps(struct proc_cache *c, struct proc *p, uint64_t min_age_ns);
/* The process exec'ed or exited: later samples of pid start a fresh entry. */
void proc_cache__retire(struct proc_cache *c, int pid);
/* Forgets every process (after a reload changed the rules): they are re-read on their next
 * sample. Windows keep the entries they reference. */
void proc_cache__clear(struct proc_cache *c);
/* Recomputes p's labels if container metadata changed since they were computed (the
 * kubelet or Docker answered after the process was first seen). Cheap when nothing did. */
void proc_cache__refresh_labels(struct proc_cache *c, struct proc *p);
/* New rules for processes seen from now on. */
void proc_cache__set_rules(struct proc_cache *c, const struct relabel_rule *rules, size_t n);
void proc_cache__stats(const struct proc_cache *c, struct proc_cache_stats *st);

void proc__get(struct proc *p);
void proc__put(struct proc *p);

#endif

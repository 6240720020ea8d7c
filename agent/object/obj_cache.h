/* SPDX-License-Identifier: BSD-2-Clause */
/* Symbol tables of mapped files, cached by (device, inode) and shared by build-id, bounded. */
#ifndef STOKER_OBJ_CACHE_H
#define STOKER_OBJ_CACHE_H

#include <stdint.h>

#include "proc/proc_maps.h"
#include "symbolize/symbolize_elf.h"

struct obj_cache_opts {
	size_t max_files;	       /* (dev, inode) entries, default 8192 */
	size_t max_bytes;	       /* symbol memory, default 512 MiB */
	const char *const *debug_dirs; /* NULL: /usr/lib/debug */
};

/* One mapped file as the symbolizer sees it. elf is NULL when the file could not be read as an
 * ELF (remembered so it is not retried for every sample). */
struct sym_file {
	int refcnt;
	struct elf_object *elf;
	char *path;				 /* as in /proc/PID/maps */
	const char *name;			 /* base name of path */
	char build_id[2 * ELF_BUILD_ID_MAX + 1]; /* hex, "" if none */
	uint64_t dev, inode;
};

struct obj_cache_stats {
	uint64_t loads, load_failures, hits, misses, shared_by_build_id, evictions;
	uint64_t files, bytes;
};

struct obj_cache;

struct obj_cache *obj_cache__new(const struct obj_cache_opts *opts);
void obj_cache__free(struct obj_cache *c);
/* The file behind mapping m of process pid, opened through /proc/PID/map_files or
 * /proc/PID/root so containers work. The pointer is valid until the next obj_cache call.
 * NULL when the file cannot be opened at all (process gone, replaced file). */
struct sym_file *obj_cache__get(struct obj_cache *c, int pid, const struct proc_map *m);
void obj_cache__stats(const struct obj_cache *c, struct obj_cache_stats *st);

#endif

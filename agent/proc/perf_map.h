/* SPDX-License-Identifier: BSD-2-Clause */
/* JIT symbols from perf map files (/tmp/perf-PID.map: "START SIZE name" per line, hex). */
#ifndef STOKER_PERF_MAP_H
#define STOKER_PERF_MAP_H

#include <stddef.h>
#include <stdint.h>

struct perf_map_entry {
	uint64_t start;
	uint64_t size;
	const char *name; /* owned by the map */
};

struct perf_map;

/* Loads a perf map file, keeping at most max_entries (0: default 1M) entries and reading at
 * most max_bytes (0: default 64 MiB). NULL + errno on failure. */
struct perf_map *perf_map__load(const char *path, size_t max_entries, size_t max_bytes);
struct perf_map *perf_map__parse(const char *buf, size_t len, size_t max_entries);
/* Entry whose [start, start+size) contains addr, or NULL. Later lines win over earlier ones
 * for overlapping ranges (JITs rewrite code). */
const struct perf_map_entry *perf_map__lookup(const struct perf_map *pm, uint64_t addr);
size_t perf_map__count(const struct perf_map *pm);
void perf_map__free(struct perf_map *pm);

#endif

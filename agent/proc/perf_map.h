/* SPDX-License-Identifier: BSD-2-Clause */
/* JIT symbols from perf map files (/tmp/perf-PID.map: "START SIZE name" per line, hex). */
#ifndef STOKER_PERF_MAP_H
#define STOKER_PERF_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct perf_map_entry {
	uint64_t start;
	uint64_t size;
	const char *name; /* owned by the map */
};

struct perf_map;

/* Loads a perf map file, keeping at most max_entries (0: default 1M) entries and reading at
 * most max_bytes (0: default 64 MiB). NULL + errno on failure. */
struct perf_map *perf_map__load(const char *path, size_t max_entries, size_t max_bytes);
/* The same from an open file (not closed here). */
struct perf_map *perf_map__load_fd(int fd, size_t max_entries, size_t max_bytes);
struct perf_map *perf_map__parse(const char *buf, size_t len, size_t max_entries);
/* Entry whose [start, start+size) contains addr, or NULL. Later lines win over earlier ones
 * for overlapping ranges (JITs rewrite code). */
const struct perf_map_entry *perf_map__lookup(const struct perf_map *pm, uint64_t addr);
size_t perf_map__count(const struct perf_map *pm);
void perf_map__free(struct perf_map *pm);

/* Whether a map with these attributes may be read for a process running as euid, as perf
 * decides: a regular file owned by the process's user (so a root-owned map only for a root
 * process). 0, -EINVAL (not a regular file) or -EPERM (another owner). */
int perf_map_check(const struct stat *st, uid_t euid);
/* Opens /tmp/perf-NSPID.map of process pid inside its root without following a symlink
 * (-ELOOP) or blocking, and checks it with perf_map_check against the process's effective
 * uid. Returns the fd, with *st and *euid filled, or -errno (-ENOENT: no map). */
int perf_map_open(int pid, int nspid, struct stat *st, uid_t *euid);

#endif

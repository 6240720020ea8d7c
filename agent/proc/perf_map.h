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

/* What every process's map together may hold, shared by the maps charged to it: the caller's
 * (the symbolizer's), never a global. Bytes are charged per line before it is stored: its name
 * plus room for the two entries a line can become. */
struct perf_map_budget {
	uint64_t max_bytes;	/* all maps together; 0: PERF_MAP_DEFAULT_TOTAL */
	uint64_t max_map_bytes; /* one process's map; 0: PERF_MAP_DEFAULT_PER_MAP */
	uint64_t bytes;		/* charged now */
	uint64_t entries;	/* ranges held now */
	uint64_t reads;		/* reads from the start of a file (first, or after a rewrite) */
	uint64_t rereads;	/* reads of lines appended since the last read */
	uint64_t refused;	/* times a map stopped at a cap with lines left unread */
};

#define PERF_MAP_DEFAULT_TOTAL	 (128ull << 20)
#define PERF_MAP_DEFAULT_PER_MAP (32ull << 20)

struct perf_map;

/* An empty map charged to b (NULL: a private budget with the defaults), keeping at most
 * max_entries lines (0: 1M). NULL + errno on failure. */
struct perf_map *perf_map__new(struct perf_map_budget *b, size_t max_entries);
/* Reads what the file open at fd gained since the last call: whole lines appended after the
 * offset the last read ended at. A different file (device, inode), a shorter one or a changed
 * beginning means it was rewritten: the map is emptied and read again from the start, within
 * the same caps. A line the caps refuse stops the read there (retried next time). Returns the
 * number of lines added or -errno. */
int perf_map__read(struct perf_map *pm, int fd);
/* Forgets what was read, so the next perf_map__read starts from the beginning. */
void perf_map__reset(struct perf_map *pm);
/* Loads a perf map file, keeping at most max_entries (0: default 1M) entries and reading at
 * most max_bytes (0: default 64 MiB). NULL + errno on failure. */
struct perf_map *perf_map__load(const char *path, size_t max_entries, size_t max_bytes);
/* The same from an open file (not closed here). */
struct perf_map *perf_map__load_fd(int fd, size_t max_entries, size_t max_bytes);
/* The lines of buf; a last line without a newline counts. */
struct perf_map *perf_map__parse(const char *buf, size_t len, size_t max_entries);
/* Entry whose [start, start+size) contains addr, or NULL; valid until the next lookup or read.
 * Later lines win over earlier ones for overlapping ranges (JITs rewrite code). */
const struct perf_map_entry *perf_map__lookup(struct perf_map *pm, uint64_t addr);
size_t perf_map__count(const struct perf_map *pm);
/* Bytes charged for this map. */
uint64_t perf_map__bytes(const struct perf_map *pm);
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

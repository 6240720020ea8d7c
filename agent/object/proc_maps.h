/* SPDX-License-Identifier: BSD-2-Clause */
/* What a process maps: /proc/PID/maps parsed into its executable mappings, and the one safe
 * way to open a mapped file (map_files, else openat2 under the process's root). */
#ifndef STOKER_PROC_MAPS_H
#define STOKER_PROC_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROC_MAP_PATH_MAX 512

enum proc_map_kind {
	PROC_MAP_FILE = 0, /* backed by a file (dev, inode) */
	PROC_MAP_ANON,	   /* anonymous executable memory: JIT code */
	PROC_MAP_VDSO,	   /* [vdso] */
	PROC_MAP_OTHER,	   /* [vsyscall], [heap], ... */
};

struct proc_map {
	uint64_t start, end; /* [start, end) */
	uint64_t pgoff;	     /* file offset of start */
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	enum proc_map_kind kind;
	bool exec;
	bool deleted; /* path ended in " (deleted)" */
	char path[PROC_MAP_PATH_MAX];
};

/* Parses one maps line (without or with the trailing newline). Returns 0 or -EINVAL. */
int proc_map_parse_line(const char *line, size_t len, struct proc_map *out);

/* Parses a whole maps text, keeping only executable mappings, at most max_maps of them.
 * Malformed lines are skipped and counted in *bad (may be NULL). Returns the number kept, or
 * -ENOMEM. *out is malloc'ed, sorted by start. */
int proc_maps_parse(const char *buf, size_t len, size_t max_maps, struct proc_map **out,
		    size_t *bad);

/* Reads and parses /proc/<pid>/maps (at most 16 MiB of text). Returns the number kept or a
 * negative errno (-ENOENT/-ESRCH when the process is gone). */
int proc_maps_read(int pid, size_t max_maps, struct proc_map **out);

/* Opens the file mapped at m of process pid (through /proc/PID/map_files, else
 * /proc/PID/root, so containers work) and checks it is the mapped inode. Returns the fd, or
 * -errno (-ESTALE when the path now names another file). how receives the path opened. */
int proc_map_open(int pid, const struct proc_map *m, char *how, size_t how_len);

/* Opens path (absolute, as process pid sees it) inside the process's root the way
 * proc_map_open's fallback does: O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC, symlinks resolved
 * within that root, magic links refused. For other files a process controls (perf maps).
 * Returns the fd or -errno; the caller checks what it opened (fstat). */
int proc_open_in_root(int pid, const char *path);
/* path (absolute) opened under root (e.g. "/proc/123/root") as a process with that root
 * would resolve it: symbolic links cannot leave root, one at the end is followed only with
 * follow (and never without openat2, where it could), and a FIFO or device never blocks
 * (O_NONBLOCK). Returns an fd or -errno. */
int proc_open_under(const char *root, const char *path, bool follow);

/* The mapping containing addr, or NULL; maps sorted by start. */
const struct proc_map *proc_maps_find(const struct proc_map *maps, size_t n, uint64_t addr);

#endif

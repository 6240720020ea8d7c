/* SPDX-License-Identifier: BSD-2-Clause */
/* The on-disk spool: closed windows that could not be delivered, one file each, written
 * atomically, replayed oldest first, bounded in bytes. */
#ifndef STOKER_SPOOL_H
#define STOKER_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct upload_batch;

#define SPOOL_SUFFIX ".spool"

/* Creates dir (and parents) if missing. Returns 0 or -errno. */
int spool_prepare(const char *dir);
/* Writes b as <dir>/<start_ns>-<seq>.spool: write, fsync, rename, fsync dir. On success
 * *path is malloc'ed and *bytes is the file size. */
int spool_write(const char *dir, const struct upload_batch *b, uint64_t seq, char **path,
		uint64_t *bytes);
/* Reads a spool file (at most max_bytes). -EBADMSG for a torn or corrupt file. */
int spool_read(const char *path, size_t max_bytes, struct upload_batch **out);
/* Lists the spool files of dir, oldest first: *paths malloc'ed array of malloc'ed strings,
 * sizes in *sizes. Leftover temporary files are removed. Returns the count or -errno. */
int spool_list(const char *dir, char ***paths, uint64_t **sizes);

#endif

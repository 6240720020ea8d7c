/* SPDX-License-Identifier: BSD-2-Clause */
/* The on-disk spool: closed windows that could not be delivered, one file each, written
 * atomically, replayed oldest first, bounded in bytes. */
#ifndef STOKER_SPOOL_H
#define STOKER_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct upload_batch;

#define SPOOL_SUFFIX ".spool"

/* Opens the spool directory dir, creating it (and missing parents) mode 0700 if absent, and
 * returns an O_DIRECTORY fd every later call works relative to, so swapping the path for a
 * link afterwards redirects nothing. Whoever can write the spool can make the agent push
 * windows with its credentials, so dir is refused unless it is a real directory (not a
 * symlink: -ELOOP; not a directory: -ENOTDIR) owned by the effective uid with permission bits
 * exactly 0700: no group or other access of any kind (-EPERM). Returns the fd or -errno. */
int spool_open(const char *dir);
/* Writes b in the spool dirfd as <start_ns>-<seq>.spool atomically (write_file_atomic). On
 * success *name is the malloc'ed file name (relative to dirfd) and *bytes its size. */
int spool_write(int dirfd, const struct upload_batch *b, uint64_t seq, char **name,
		uint64_t *bytes);
/* Reads the spool file name of dirfd (at most max_bytes). -EBADMSG for a torn or corrupt
 * file; -EPERM for anything but a regular file owned by the effective uid (a symlink, FIFO
 * or device is never opened for reading). */
int spool_read(int dirfd, const char *name, size_t max_bytes, struct upload_batch **out);
/* Removes a spool file of dirfd. Returns 0 or -errno. */
int spool_remove(int dirfd, const char *name);
/* Lists the spool files of dirfd, oldest first: *names malloc'ed array of malloc'ed names,
 * sizes in *sizes; only regular files owned by the effective uid. Leftover temporary files
 * are removed. Returns the count or -errno. */
int spool_list(int dirfd, char ***names, uint64_t **sizes);

#endif

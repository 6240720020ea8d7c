/* SPDX-License-Identifier: BSD-2-Clause */
/* Small file I/O helpers: whole-file reads under a byte cap, line-by-line reads in bounded
 * memory, one-shot reads of small /proc files, complete writes, and atomic file writes no
 * planted link can redirect. */
#ifndef STOKER_FILEIO_H
#define STOKER_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Past the cap, keep the complete lines that fit instead of failing (tables such as
 * /proc/kallsyms and perf maps, where a partial last line would parse into a wrong entry). */
#define READ_CAPPED_TRUNCATE_LINES (1u << 0)

/* Reads fd to its end into a malloc'd, NUL-terminated buffer (*out, length *len). The size
 * fstat reports is only a hint: /proc files report 0 and files can grow while read. More than
 * max bytes: -EFBIG, or with READ_CAPPED_TRUNCATE_LINES the complete lines within the first
 * max bytes and a return of 1. Returns 0, 1 or -errno; on error *out is NULL. */
int fd_read_capped(int fd, size_t max, unsigned int flags, char **out, size_t *len);
/* The same for a path, opened O_RDONLY | O_CLOEXEC. */
int read_file_capped(const char *path, size_t max, unsigned int flags, char **out, size_t *len);
/* Called with each line, without its '\n' and not NUL-terminated; the bytes are the reader's
 * until the next call. Returns 0 to go on or a negative errno, which ends the read. */
typedef int (*line_fn)(void *ctx, const char *line, size_t len);
/* Calls fn with each line of the first max bytes of fd, holding no more than size bytes of the
 * file at a time: a table parsed into something smaller (/proc/kallsyms) need not be read whole
 * first. A last line without '\n' is passed at the end of the file; a line the cap cuts is not.
 * A line longer than line_max (size must exceed it) is not passed but counted in *long_lines
 * (may be NULL), and the lines after it are. Returns 0, 1 when the file is longer than max (the
 * lines complete within it were passed), fn's error or -errno. */
int fd_read_lines(int fd, size_t max, size_t size, size_t line_max, line_fn fn, void *ctx,
		  size_t *long_lines);
/* Reads until len bytes or the end of the file, retrying short reads and EINTR. Returns the
 * count read or -errno. */
ssize_t fd_read_full(int fd, void *buf, size_t len);
/* Reads exactly len bytes at offset off with pread, retrying short reads and EINTR: a file
 * read this way, never mapped, cannot fault the reader when its owner truncates it. Returns
 * 0, -ENODATA when the file ends first, or -errno. */
int fd_pread_exact(int fd, void *buf, size_t len, uint64_t off);
/* Reads up to size - 1 bytes of a small file (a /proc entry) into buf and NUL-terminates it;
 * a longer file is cut at size - 1. Returns the length or -errno. */
ssize_t read_small(const char *path, char *buf, size_t size);
/* Writes all of buf, retrying short writes and EINTR. Returns 0 or -errno. */
int fd_write_all(int fd, const void *buf, size_t len);

/* Makes dir (an absolute path) and its missing parents mode 0700, and checks it is the
 * agent's alone: a directory (not a link) its user owns that no one else may enter. Returns
 * 0, -EPERM when it is not, or -errno. */
int make_private_dir(const char *dir);

/* Fills a new, empty file open for writing at fd. Returns 0 or -errno. */
typedef int (*file_fill_fn)(int fd, void *ctx);
/* Writes name in the directory dirfd atomically: a new temporary file "<name>.tmp.<16 hex
 * digits>" created O_EXCL | O_NOFOLLOW (mode, less the umask) with a random suffix, so a
 * symlink or file planted at a predictable name is never opened, filled by fill, fsynced,
 * renamed over name (which replaces a symlink there rather than writing through it), then
 * the directory fsynced. On failure the temporary file is removed and name is untouched.
 * Returns 0 or -errno. */
int write_file_atomic(int dirfd, const char *name, mode_t mode, file_fill_fn fill, void *ctx);
/* The same for a path: its directory (which the caller chose) is opened and name is the last
 * component. */
int write_path_atomic(const char *path, mode_t mode, file_fill_fn fill, void *ctx);

#endif

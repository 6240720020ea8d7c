/* SPDX-License-Identifier: BSD-2-Clause */
/* Small file I/O helpers shared by the writers of spool files and local outputs. */
#ifndef STOKER_FILEIO_H
#define STOKER_FILEIO_H

#include <stddef.h>

/* Writes all of buf, retrying short writes and EINTR. Returns 0 or -errno. */
int fd_write_all(int fd, const void *buf, size_t len);

#endif

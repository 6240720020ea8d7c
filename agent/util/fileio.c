/* SPDX-License-Identifier: BSD-2-Clause */
/* File I/O helpers: complete writes despite short writes and signals. */
#include <errno.h>
#include <unistd.h>

#include "util/fileio.h"

int fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

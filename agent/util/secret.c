/* SPDX-License-Identifier: BSD-2-Clause */
/* Reads secrets from files and wipes them when done, so a core dump or a reused heap block
 * does not hold a credential longer than the agent needs it; keeps those in URLs out of logs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/secret.h"

int read_secret(const char *path, char **out)
{
	/* one buffer of the full cap, never grown: realloc would leave copies behind */
	char *buf = NULL;
	ssize_t n = 0;
	int fd, err = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(SECRET_MAX_BYTES + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	n = fd_read_full(fd, buf, SECRET_MAX_BYTES + 1);
	if (n < 0) {
		err = (int)n;
		n = 0;
		goto out;
	}
	if (n > SECRET_MAX_BYTES) {
		err = -EFBIG;
		goto out;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	if (!n) {
		err = -ENODATA;
		goto out;
	}
	/* a NUL inside would silently cut the secret where it is used as a string */
	if (memchr(buf, '\0', (size_t)n)) {
		err = -EINVAL;
		goto out;
	}
	*out = strndup(buf, (size_t)n);
	if (!*out)
		err = -ENOMEM;
out:
	if (buf) {
		explicit_bzero(buf, SECRET_MAX_BYTES + 1);
		free(buf);
	}
	close(fd);
	return err;
}

void wipe_secret(char *secret)
{
	if (secret)
		explicit_bzero(secret, strlen(secret));
}

void free_secret(char *secret)
{
	wipe_secret(secret);
	free(secret);
}

const char *redact_url(const char *url, char *buf, size_t len)
{
	const char *host = strstr(url, "://"), *at = NULL;
	size_t scheme;

	host = host ? host + 3 : url;
	scheme = (size_t)(host - url);
	/* userinfo ends at the authority's last '@' (a password may hold one) */
	for (const char *p = host; *p && *p != '/' && *p != '?' && *p != '#'; p++)
		if (*p == '@')
			at = p;
	if (at)
		snprintf(buf, len, "%.*s***%s", (int)scheme, url, at);
	else
		snprintf(buf, len, "%s", url);
	return buf;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* Secrets read from files (passwords, bearer and service-account tokens): one reader, and
 * memory wiped before it is given back. */
#ifndef STOKER_SECRET_H
#define STOKER_SECRET_H

#include <stddef.h>

/* Largest secret file read; a larger one is refused (-EFBIG), never cut. */
#define SECRET_MAX_BYTES 65536

/* Reads the whole file at path into a malloc'd string without its trailing newlines, carriage
 * returns and spaces (how `echo` and editors leave them). Returns 0, -ENODATA when nothing is
 * left, -EFBIG past SECRET_MAX_BYTES, or -errno; every copy made on the way is wiped. */
int read_secret(const char *path, char **out);
/* Overwrites a secret string with zeros in a way the compiler may not drop. */
void wipe_secret(char *secret);
/* Wipes and frees a secret from read_secret; NULL is fine. */
void free_secret(char *secret);
/* Copies url into buf (cut to len) for logs with the user:password before its host replaced
 * by three stars: u:p@host becomes ***@host, the scheme and the rest kept. Returns buf. */
const char *redact_url(const char *url, char *buf, size_t len);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* Strict parsers for the numbers, durations and sizes that flags, config and /proc text hold. */
#ifndef STOKER_PARSE_UTIL_H
#define STOKER_PARSE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Whole-string unsigned decimal in [min, max]. Returns 0, -EINVAL or -ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Durations such as "10s", "2m", "1h30m", "500ms", "1.5s"; a bare number is seconds. Result in
 * nanoseconds; at most 1 year. Returns 0, -EINVAL or -ERANGE. */
int parse_duration_ns(const char *s, uint64_t *out_ns);
/* Byte sizes such as "64MiB", "1g", "4096", "512k" (k/m/g binary). Returns 0, -EINVAL, -ERANGE. */
int parse_size(const char *s, uint64_t *out);
/* Bounded hex: up to 16 hex digits, optional 0x; stops at the first non-hex char and stores
 * the end in *end. Returns 0 or -EINVAL (no digits or overflow). */
int parse_hex_u64(const char *s, const char **end, uint64_t *out);
/* Same over [s, lim): for text that is not NUL-terminated (files read into buffers). */
int parse_hex_u64_n(const char *s, const char *lim, const char **end, uint64_t *out);
/* Formats a duration in ns for messages ("1.5s", "250ms"). */
void format_duration(uint64_t ns, char *buf, size_t len);

#endif

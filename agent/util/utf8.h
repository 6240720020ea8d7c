/* SPDX-License-Identifier: BSD-2-Clause */
/* Strict UTF-8: every string a profile carries must decode, and most of them (paths, comm,
 * symbol names, cgroup names, interpreter strings) come from processes that may lie. */
#ifndef STOKER_UTF8_H
#define STOKER_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xfffdu

/* Bytes of the well-formed sequence at s (of n bytes): 1-4, or 0 when it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included), as Unicode's
 * table 3-7 and every strict decoder (Go, Python, protobuf) define it. */
size_t utf8_seq_len(const unsigned char *s, size_t n);
/* Whether all n bytes of s are well-formed UTF-8. */
bool utf8_valid(const char *s, size_t n);
/* Encodes code point c into out (4 bytes); surrogates and values past U+10FFFF, which no
 * well-formed string holds, become U+FFFD. Returns the bytes written. */
size_t utf8_put(char *out, uint32_t c);
/* Copies the n bytes of s into out with every byte that starts no well-formed sequence
 * replaced by U+FFFD, and a NUL. out holds at least UTF8_REPAIR_SIZE(n) bytes. Returns the
 * length written, without the NUL. */
#define UTF8_REPAIR_SIZE(n) (3 * (n) + 1)
size_t utf8_repair(const char *s, size_t n, char *out);

#endif

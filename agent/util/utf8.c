// SPDX-License-Identifier: BSD-2-Clause
/* Strict UTF-8 checking, encoding and repair for strings that end up in profiles. */
#include <string.h>

#include "util/utf8.h"

static bool cont(unsigned char b)
{
	return (b & 0xc0) == 0x80;
}

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char b, lo = 0x80, hi = 0xbf;
	size_t len;

	if (!n)
		return 0;
	b = s[0];
	if (b < 0x80)
		return 1;
	if (b < 0xc2 || b > 0xf4)
		return 0; /* continuation bytes, overlong 2-byte leads, past U+10FFFF */
	len = b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
	/* the second byte's range is what rules out overlongs, surrogates and > U+10FFFF */
	if (b == 0xe0)
		lo = 0xa0;
	else if (b == 0xed)
		hi = 0x9f;
	else if (b == 0xf0)
		lo = 0x90;
	else if (b == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if (!cont(s[k]))
			return 0;
	return len;
}

bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		size_t len;

		if (*p < 0x80) { /* names are mostly ASCII: no call per byte */
			p++;
			continue;
		}
		len = utf8_seq_len(p, (size_t)(end - p));
		if (!len)
			return false;
		p += len;
	}
	return true;
}

size_t utf8_put(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		c = UTF8_REPLACEMENT;
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

size_t utf8_repair(const char *s, size_t n, char *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t o = 0;

	while (p < end) {
		size_t len = utf8_seq_len(p, (size_t)(end - p));

		if (len) {
			memcpy(out + o, p, len);
			o += len;
			p += len;
		} else {
			o += utf8_put(out + o, UTF8_REPLACEMENT);
			p++;
		}
	}
	out[o] = '\0';
	return o;
}

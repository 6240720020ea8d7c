/* SPDX-License-Identifier: BSD-2-Clause */
/* Strict number, duration and size parsers: no atoi, no silent truncation. */
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "util/parse_util.h"

static int digit_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_hex_u64_n(const char *s, const char *lim, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0, d;

	if (lim - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (s < lim && (d = digit_val(*s)) >= 0) {
		if (++n > 16)
			return -EINVAL;
		v = (v << 4) | (uint64_t)d;
		s++;
	}
	if (!n)
		return -EINVAL;
	if (end)
		*end = s;
	*out = v;
	return 0;
}

int parse_hex_u64(const char *s, const char **end, uint64_t *out)
{
	return parse_hex_u64_n(s, s + strlen(s), end, out);
}

/* Parses "<digits>[.<digits>]" at *p; value scaled by 1e9 to keep fractions exact enough. */
static int parse_decimal_nano(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t ip = 0, frac = 0, scale = 1000000000ull;
	int nd = 0;

	while (*s >= '0' && *s <= '9') {
		if (ip > 1000000000000ull)
			return -ERANGE;
		ip = ip * 10 + (uint64_t)(*s++ - '0');
		nd++;
	}
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*s - '0') * scale;
			}
			s++;
			nd++;
		}
	}
	if (!nd)
		return -EINVAL;
	*p = s;
	*out = ip * 1000000000ull + frac;
	return 0;
}

int parse_duration_ns(const char *s, uint64_t *out_ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {
		{ "ns", 1ull },
		{ "us", 1000ull },
		{ "ms", 1000000ull },
		{ "s", 1000000000ull },
		{ "m", 60000000000ull },
		{ "h", 3600000000000ull },
		{ "d", 86400000000000ull },
	};
	const uint64_t max = 366ull * 86400000000000ull;
	const char *p = s;
	uint64_t total = 0;
	bool any = false;
	int err;

	if (!s || !*s)
		return -EINVAL;
	while (*p) {
		uint64_t v, mult = 0;
		size_t ulen = 0;

		err = parse_decimal_nano(&p, &v);
		if (err)
			return err;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);

			/* longest match first matters for "ms" vs "m": scan keeps the longest */
			if (strncmp(p, units[i].unit, l) == 0 && l > ulen) {
				ulen = l;
				mult = units[i].ns;
			}
		}
		if (!ulen) {
			/* a bare number is seconds, only as the whole string */
			if (*p || any)
				return -EINVAL;
			mult = 1000000000ull;
		}
		p += ulen;
		/* v is the number scaled by 1e9 */
		if (v / 1000000000ull > max / mult)
			return -ERANGE;
		total += (v / 1000000000ull) * mult + (v % 1000000000ull) * mult / 1000000000ull;
		if (total > max)
			return -ERANGE;
		any = true;
	}
	*out_ns = total;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0, mult = 1;

	if (!s || !*s)
		return -EINVAL;
	while (*p >= '0' && *p <= '9') {
		if (v > UINT64_MAX / 10 - 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	if (p == s)
		return -EINVAL;
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1ull << 10;
		break;
	case 'm':
	case 'M':
		mult = 1ull << 20;
		break;
	case 'g':
	case 'G':
		mult = 1ull << 30;
		break;
	default:
		return -EINVAL;
	}
	if (*p) {
		p++;
		if (strcmp(p, "") && strcmp(p, "i") && strcmp(p, "iB") && strcmp(p, "B") &&
		    strcmp(p, "b"))
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

void format_duration(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 1000000000ull && ns % 1000000000ull == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ns / 1000000000ull));
	else if (ns >= 1000000000ull)
		snprintf(buf, len, "%.3gs", (double)ns / 1e9);
	else
		snprintf(buf, len, "%.3gms", (double)ns / 1e6);
}

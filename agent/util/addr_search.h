/* SPDX-License-Identifier: BSD-2-Clause */
/* The one search every address table here needs: in an array sorted by a u64 start address,
 * the last entry whose start is at or below addr (mappings, ELF and kernel symbols, JIT maps). */
#ifndef STOKER_ADDR_SEARCH_H
#define STOKER_ADDR_SEARCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Index + 1 of the last element with start <= addr, or 0 when every start is above addr.
 * base: array of n elements of size bytes, the u64 start at byte key_off of each. */
static inline size_t addr_search(const void *base, size_t n, size_t size, size_t key_off,
				 uint64_t addr)
{
	const char *p = base;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t start;

		memcpy(&start, p + mid * size + key_off, sizeof(start));
		if (start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#define ADDR_SEARCH(arr, n, field, addr)                                                           \
	addr_search((arr), (n), sizeof(*(arr)), offsetof(__typeof__(*(arr)), field), (addr))

#endif

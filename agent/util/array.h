/* SPDX-License-Identifier: BSD-2-Clause */
/* Growing arrays: one place that doubles a capacity and checks the byte size for overflow. */
#ifndef STOKER_ARRAY_H
#define STOKER_ARRAY_H

#include <stddef.h>
#include <stdint.h>

/* Makes room for need elements of elem_size bytes in *data, whose capacity is *cap elements:
 * the capacity doubles (at least 16, at least need). Returns 0 or -ENOMEM (out of memory, or a
 * byte size that would overflow); on failure *data and *cap are unchanged. */
int array_reserve(void **data, size_t *cap, size_t elem_size, size_t need);
/* The same, never growing past max elements (a table with a hard bound); need > max is -E2BIG. */
int array_reserve_max(void **data, size_t *cap, size_t elem_size, size_t need, size_t max);
/* The capacity array_reserve_max grows cap to for need elements: for a caller that must ask a
 * budget for the bytes before they are allocated. */
size_t array_grown_cap(size_t cap, size_t need, size_t max);

/* array_reserve_max for a typed pointer arr and its size_t capacity cap; the common case, room
 * already there, stays inline. Returns 0, -ENOMEM or -E2BIG. */
#define ARRAY_RESERVE_MAX(arr, cap, need, max)                                                     \
	({                                                                                         \
		size_t _ar_need = (need);                                                          \
		int _ar_err = 0;                                                                   \
		if (_ar_need > (cap)) {                                                            \
			void *_ar_p = (arr);                                                       \
			_ar_err =                                                                  \
			    array_reserve_max(&_ar_p, &(cap), sizeof(*(arr)), _ar_need, (max));    \
			(arr) = _ar_p;                                                             \
		}                                                                                  \
		_ar_err;                                                                           \
	})
/* The same without a bound. Returns 0 or -ENOMEM. */
#define ARRAY_RESERVE(arr, cap, need) ARRAY_RESERVE_MAX(arr, cap, need, SIZE_MAX)

#endif

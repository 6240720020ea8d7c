/* SPDX-License-Identifier: BSD-2-Clause */
/* Growing arrays: one place that doubles a capacity and checks the byte size for overflow. */
#ifndef STOKER_ARRAY_H
#define STOKER_ARRAY_H

#include <stddef.h>

/* Makes room for need elements of elem_size bytes in *data, whose capacity is *cap elements:
 * the capacity doubles (at least 16, at least need). Returns 0 or -ENOMEM (out of memory, or a
 * byte size that would overflow); on failure *data and *cap are unchanged. */
int array_reserve(void **data, size_t *cap, size_t elem_size, size_t need);
/* The same, never growing past max elements (a table with a hard bound); need > max is -E2BIG. */
int array_reserve_max(void **data, size_t *cap, size_t elem_size, size_t need, size_t max);

/* array_reserve for a typed pointer arr and its size_t capacity cap. Returns 0 or -ENOMEM. */
#define ARRAY_RESERVE(arr, cap, need)                                                              \
	({                                                                                         \
		void *_ar_p = (arr);                                                               \
		int _ar_err = array_reserve(&_ar_p, &(cap), sizeof(*(arr)), (need));               \
		(arr) = _ar_p;                                                                     \
		_ar_err;                                                                           \
	})
#define ARRAY_RESERVE_MAX(arr, cap, need, max)                                                     \
	({                                                                                         \
		void *_ar_p = (arr);                                                               \
		int _ar_err = array_reserve_max(&_ar_p, &(cap), sizeof(*(arr)), (need), (max));    \
		(arr) = _ar_p;                                                                     \
		_ar_err;                                                                           \
	})

#endif

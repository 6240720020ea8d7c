/* SPDX-License-Identifier: BSD-2-Clause */
/* Array growth by doubling with overflow checks. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/array.h"

#define ARRAY_MIN_CAP 16

int array_reserve(void **data, size_t *cap, size_t elem_size, size_t need)
{
	return array_reserve_max(data, cap, elem_size, need, SIZE_MAX);
}

size_t array_grown_cap(size_t cap, size_t need, size_t max)
{
	size_t nc = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;

	if (nc < ARRAY_MIN_CAP)
		nc = ARRAY_MIN_CAP;
	if (nc < need)
		nc = need;
	return nc > max ? max : nc;
}

int array_reserve_max(void **data, size_t *cap, size_t elem_size, size_t need, size_t max)
{
	size_t nc;
	void *p;

	if (need <= *cap)
		return 0;
	if (need > max)
		return -E2BIG;
	if (!elem_size)
		return -EINVAL;
	nc = array_grown_cap(*cap, need, max);
	/* a doubled capacity past what fits is trimmed back to need before giving up */
	if (nc > SIZE_MAX / elem_size)
		nc = need;
	if (nc > SIZE_MAX / elem_size)
		return -ENOMEM;
	p = realloc(*data, nc * elem_size);
	if (!p)
		return -ENOMEM;
	*data = p;
	*cap = nc;
	return 0;
}

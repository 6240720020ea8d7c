/* SPDX-License-Identifier: BSD-2-Clause */
/* The ring buffer's size from the work (sample/ring_size.h). */
#include "sample/ring_size.h"
#include "sampler_abi.h"

/* A record as the ring holds it: its 8-byte header and a sample of full depth on both sides. */
#define RING_RECORD_MAX (8 + sizeof(struct stoker_sample))

size_t ring_size_for(unsigned int ncpus, unsigned int hz, unsigned int drain_ms)
{
	unsigned long long window_ms = drain_ms * 10ull < 1000 ? 1000 : drain_ms * 10ull;
	unsigned long long want =
	    (unsigned long long)ncpus * hz * window_ms / 1000 * RING_RECORD_MAX;
	size_t size = RING_SIZE_FLOOR;

	while (size < want && size < RING_SIZE_CEILING)
		size <<= 1;
	return size;
}

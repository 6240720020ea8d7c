/* SPDX-License-Identifier: BSD-2-Clause */
/* The agent's two clocks in nanoseconds (CLOCK_MONOTONIC and CLOCK_REALTIME). */
#include <time.h>

#include "util/clock.h"

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

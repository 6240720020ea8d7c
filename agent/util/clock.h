/* SPDX-License-Identifier: BSD-2-Clause */
/* The agent's two clocks in nanoseconds: monotonic for intervals and deadlines, wall for
 * profile timestamps. */
#ifndef STOKER_CLOCK_H
#define STOKER_CLOCK_H

#include <stdint.h>

uint64_t monotonic_ns(void);
int64_t wall_ns(void);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* Sizes the BPF ring buffer from the work it must hold between two drains: CPUs, sample rate
 * and drain interval, with headroom, a floor and a ceiling. */
#ifndef STOKER_RING_SIZE_H
#define STOKER_RING_SIZE_H

#include <stddef.h>

#define RING_SIZE_FLOOR	  (256u << 10)
#define RING_SIZE_CEILING (64u << 20)

/* Bytes for ncpus CPUs sampled at hz, drained every drain_ms: the full-depth samples of one
 * second or of ten drain intervals, whichever is longer (a drain can be late: start-up table
 * building, a saturated host), rounded up to a power of two within the floor and ceiling. */
size_t ring_size_for(unsigned int ncpus, unsigned int hz, unsigned int drain_ms);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* Turns a sample's raw instruction pointers into pprof locations: kernel frames by kallsyms,
 * user frames through the process's mappings to ELF symbols or JIT perf maps. */
#ifndef STOKER_SYMBOLIZE_H
#define STOKER_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "symbolize/kallsyms.h"
#include "object/obj_cache.h"
#include "proc/proc_cache.h"
#include "profile/profile_builder.h"

struct symbolizer_stats {
	uint64_t frames, named, unnamed, no_mapping, kernel_unnamed;
};

struct symbolizer {
	struct proc_cache *procs;
	struct obj_cache *objs;
	struct kallsyms *ksyms; /* may be NULL: kernel frames then keep their addresses */
	struct symbolizer_stats st;
};

/* Appends the locations of one stack to locs (leaf first: kernel frames, then user frames).
 * kernel_leaf tells whether the first kernel ip is the sampled PC (else all are return
 * addresses). Returns the number of locations written (<= max). */
size_t symbolize_stack(struct symbolizer *sz, struct proc *p, const __u64 *kips, size_t nk,
		       const __u64 *uips, size_t nu, struct profile_builder *pb, uint32_t *locs,
		       size_t max);

#endif

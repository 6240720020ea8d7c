/* SPDX-License-Identifier: BSD-2-Clause */
/* Local outputs (--output): pprof, folded stacks and HTML flame graph files, written
 * atomically; and the "hottest functions" summary. */
#ifndef STOKER_OUTPUT_LOCAL_H
#define STOKER_OUTPUT_LOCAL_H

#include <stdio.h>

struct output_spec;
struct pprof_meta;
struct profile_builder;

/* Writes one output file. Returns 0 or -errno (logged). */
int output_local_write(const struct output_spec *spec, const struct profile_builder *pb,
		       const struct pprof_meta *meta, const char *subtitle);
/* Prints the n functions with the most self samples, with their shares. */
void output_print_top(FILE *out, const struct profile_builder *pb, unsigned int n);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* Local outputs (--output): pprof, folded stacks and HTML flame graph files, written
 * atomically; and the "hottest functions" summary. */
#ifndef STOKER_OUTPUT_LOCAL_H
#define STOKER_OUTPUT_LOCAL_H

#include <stdbool.h>
#include <stdio.h>

struct pprof_meta;
struct profile_builder;

enum output_format {
	OUTPUT_PPROF_GZ = 0, /* *.pb.gz */
	OUTPUT_PPROF,	     /* *.pb, *.pprof */
	OUTPUT_FOLDED,	     /* *.folded, *.txt */
	OUTPUT_HTML,	     /* *.html */
};

struct output_spec {
	const char *path;
	enum output_format format;
	bool by_line; /* folded and HTML frames are function:line (--granularity line) */
};

/* Output format from a file name, or -EINVAL. */
int output_format_from_path(const char *path, enum output_format *fmt);

/* Writes one output file. Returns 0 or -errno (logged). */
int output_local_write(const struct output_spec *spec, const struct profile_builder *pb,
		       const struct pprof_meta *meta, const char *subtitle);
/* Prints the n functions with the most self samples, with their shares. */
void output_print_top(FILE *out, const struct profile_builder *pb, unsigned int n);
/* The same by source line: the n (function, file:line) of innermost frames with the most
 * samples. */
void output_print_top_lines(FILE *out, const struct profile_builder *pb, unsigned int n);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* Command-line flags: the agent's configuration, parsed strictly (bad values name the flag). */
#ifndef STOKER_CLI_H
#define STOKER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "sampler.h"

#define CLI_MAX_PIDS STOKER_PID_FILTER_MAX
#define CLI_MAX_OUTPUTS 8

enum output_format {
	OUTPUT_PPROF_GZ = 0, /* *.pb.gz */
	OUTPUT_PPROF,	     /* *.pb, *.pprof */
	OUTPUT_FOLDED,	     /* *.folded, *.txt */
	OUTPUT_HTML,	     /* *.html */
};

struct output_spec {
	const char *path;
	enum output_format format;
};

struct config {
	unsigned int sample_rate_hz;
	uint64_t duration_ns; /* 0: until a signal */
	int pids[CLI_MAX_PIDS];
	size_t npids;
	struct output_spec outputs[CLI_MAX_OUTPUTS];
	size_t noutputs;
	enum log_level log_level;
	enum sampler_event event;
	bool include_idle;
	bool kernel_stacks;
	uint64_t ringbuf_bytes;
	size_t max_samples; /* unique samples per window */
	unsigned int top;   /* print the N hottest functions at exit */
	bool show_help, show_version;
};

/* Fills cfg with defaults. */
void config_defaults(struct config *cfg);
/* Parses argv into cfg. Returns 0, or -EINVAL after printing one line naming the bad flag. */
int cli_parse(int argc, char **argv, struct config *cfg);
void cli_usage(FILE *out);
/* Output format from a file name, or -EINVAL. */
int output_format_from_path(const char *path, enum output_format *fmt);

#endif

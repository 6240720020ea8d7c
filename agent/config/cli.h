/* SPDX-License-Identifier: BSD-2-Clause */
/* The agent's configuration and the flags that set it (one row each in flags.c), parsed
 * strictly: bad values name the flag. */
#ifndef STOKER_CLI_H
#define STOKER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "export/output_local.h"
#include "export/upload_batch.h"
#include "export/uploader.h"
#include "label/container_meta.h"
#include "object/debuginfod_fetch.h"
#include "profile/profile_builder.h"
#include "sample/sampler.h"
#include "util/log.h"

struct config_args;

#define CLI_MAX_PIDS	STOKER_PID_FILTER_MAX
#define CLI_MAX_OUTPUTS 8
#define CLI_MAX_LABELS	24 /* server allows 30 labels per series; a few are ours */
#define CLI_MAX_HEADERS 16
#define CLI_MAX_RULES	64
#define CLI_MAX_FLAGS	96 /* rows of the flag table */

/* Where a group of flags is one module's options, the config holds that options struct and
 * the flag rows store into its fields: setup copies it whole, and a new flag that feeds an
 * existing option is one row in flags.c plus its use in the module. Pointers the modules take
 * (pids, headers) point into the arrays here; setup sets them. */
struct config {
	struct sampler_opts sampler; /* the Sampling flags but --duration, --unwind-table-memory */
	uint64_t duration_ns;	     /* 0: until a signal */
	int pids[CLI_MAX_PIDS];	     /* sampler.pids, sampler.npids of them */
	struct output_spec outputs[CLI_MAX_OUTPUTS];
	size_t noutputs;
	enum log_level log_level;
	uint64_t unwind_table_bytes;	     /* sampler.unwind_chunks comes from it */
	uint64_t symbol_cache_bytes;	     /* object cache budget */
	uint64_t symbol_file_bytes;	     /* object cache per-file quota */
	uint64_t process_cache_bytes;	     /* process cache budget */
	struct profile_builder_opts profile; /* max_samples: unique samples per window */
	unsigned int top;		     /* print the N hottest functions at exit */
	uint64_t perf_map_bytes;	     /* JIT perf maps of all processes together */
	uint64_t perf_map_proc_bytes;	     /* one process's JIT perf map */
	bool java_perfmap;		     /* ask JVMs to write their perf maps */
	bool lines;			     /* --lines: DWARF file:line and inline chains */
	uint64_t lines_idle_ns;		     /* --lines-idle: a file's DWARF released after */
	uint64_t lines_memory_bytes;	     /* --lines-memory: a file's parsed DWARF budget */
	const char *scratch_dir;	     /* --scratch-dir: decompressed DWARF; "" none */
	int by_line; /* --granularity line: local outputs by function:line */
	struct debuginfod_fetch_opts debuginfod; /* the --debuginfod-* flags; urls NULL: off */
	bool span_labels;	       /* span_id/trace_id sample labels from the running span */
	const char *trace_context_map; /* --trace-context-map: pinned OpenTelemetry span map */

	/* continuous mode (no --output) */
	struct uploader_opts upload; /* client (server, API, timeout, tenant, TLS), queue, spool */
	uint64_t upload_interval_ns;
	uint64_t upload_max_bytes; /* --upload-max-bytes: batch_opts.max_profile_bytes */
	size_t upload_max_samples; /* --upload-max-samples: batch_opts.max_samples_per_profile */
	struct label_pair labels[CLI_MAX_LABELS]; /* --label: point into argv */
	size_t nlabels;
	const char *basic_auth_password_file;
	const char *bearer_token_file;
	const char *headers[CLI_MAX_HEADERS];	  /* upload.client.headers, .nheaders of them */
	const char *metrics_addr;		  /* host:port, NULL: off */
	const char *relabel_rules[CLI_MAX_RULES]; /* --relabel-rule specs (relabel.h form) */
	size_t nrules;
	int kubernetes; /* -1 auto (in-cluster service account present), 0 off, 1 on */
	/* kubelet_url NULL: the API server's pods on $NODE_NAME; docker_socket NULL:
	 * /var/run/docker.sock if present, "": off */
	struct container_meta_opts meta;
	bool show_help, show_version;
	bool check;		 /* `stoker check` or --check: preflight report */
	const char *config_path; /* --config FILE */

	/* bookkeeping for "flags override the config file" */
	bool in_file_pass;
	size_t file_nlabels;
	bool cli_pids, cli_outputs, cli_headers;
};

/* Fills cfg with the flag table's defaults. */
void config_defaults(struct config *cfg);
/* SIGHUP: copies next's reloadable settings into cur; the rest keep their start-up values.
 * The names of those that differ in next ("--a, --b") go to changed. */
void cli_reload(struct config *cur, const struct config *next, char *changed, size_t len);
/* Parses argv into cfg. Returns 0, or -EINVAL after printing one line naming the bad flag. */
int cli_parse(int argc, char **argv, struct config *cfg);
/* The whole configuration: defaults, then --config FILE (if any flag names one), then the
 * flags, which override the file. The strings cfg points into (the file's, and a copy of
 * argv) live in *file_args, to be freed with config_args__free() after cfg's last use. */
int cli_load(int argc, char **argv, struct config *cfg, struct config_args *file_args);
void cli_usage(FILE *out);

#endif

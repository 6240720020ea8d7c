/* SPDX-License-Identifier: BSD-2-Clause */
/* Flag parsing with getopt_long; every error is one line naming the flag and its value. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "parse_util.h"

enum {
	OPT_SAMPLE_RATE = 256,
	OPT_DURATION,
	OPT_PID,
	OPT_OUTPUT,
	OPT_LOG_LEVEL,
	OPT_VERSION,
	OPT_HELP,
	OPT_EVENT,
	OPT_INCLUDE_IDLE,
	OPT_KERNEL_STACKS,
	OPT_RINGBUF,
	OPT_MAX_SAMPLES,
	OPT_TOP,
};

static const struct option long_opts[] = {
	{ "sample-rate", required_argument, NULL, OPT_SAMPLE_RATE },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "event", required_argument, NULL, OPT_EVENT },
	{ "include-idle", optional_argument, NULL, OPT_INCLUDE_IDLE },
	{ "kernel-stacks", optional_argument, NULL, OPT_KERNEL_STACKS },
	{ "ring-buffer-size", required_argument, NULL, OPT_RINGBUF },
	{ "max-samples", required_argument, NULL, OPT_MAX_SAMPLES },
	{ "top", required_argument, NULL, OPT_TOP },
	{ NULL, 0, NULL, 0 },
};

void cli_usage(FILE *out)
{
	fputs("Usage: stoker [FLAGS]\n"
	      "Samples on-CPU stacks of every process with BPF and writes profiles.\n"
	      "\n"
	      "Sampling:\n"
	      "  --sample-rate HZ        samples per second per CPU (1-10000, default 19)\n"
	      "  --duration DURATION     stop after DURATION (e.g. 10s, 2m, 1h30m), flush, exit 0\n"
	      "  --pid PID               profile only this process (repeatable)\n"
	      "  --event EVENT           cpu-clock (default) or cycles (hardware; falls back to\n"
	      "                          cpu-clock where the PMU is unavailable)\n"
	      "  --include-idle[=BOOL]   also record the idle task (default false)\n"
	      "  --kernel-stacks[=BOOL]  record kernel stacks (default true)\n"
	      "  --ring-buffer-size SIZE BPF ring buffer size (default 8MiB)\n"
	      "  --max-samples N         unique stacks kept per window (default 200000)\n"
	      "\n"
	      "Output:\n"
	      "  --output FILE           write locally instead of uploading (repeatable):\n"
	      "                          *.pb.gz gzipped pprof, *.pb raw pprof, *.folded folded\n"
	      "                          stacks (flamegraph.pl, speedscope), *.html flame graph\n"
	      "  --top N                 print the N hottest functions at exit\n"
	      "\n"
	      "General:\n"
	      "  --log-level LEVEL       error, warn, info (default) or debug\n"
	      "  --version               print the version and exit\n"
	      "  --help                  print this help and exit\n",
	      out);
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sample_rate_hz = 19;
	cfg->log_level = LOG_INFO;
	cfg->event = SAMPLER_EVENT_CPU_CLOCK;
	cfg->kernel_stacks = true;
	cfg->max_samples = 200000;
}

int output_format_from_path(const char *path, enum output_format *fmt)
{
	static const struct {
		const char *suffix;
		enum output_format fmt;
	} sfx[] = {
		{ ".pb.gz", OUTPUT_PPROF_GZ }, { ".pprof.gz", OUTPUT_PPROF_GZ },
		{ ".pb", OUTPUT_PPROF },       { ".pprof", OUTPUT_PPROF },
		{ ".folded", OUTPUT_FOLDED },  { ".txt", OUTPUT_FOLDED },
		{ ".html", OUTPUT_HTML },      { ".htm", OUTPUT_HTML },
	};
	size_t len = strlen(path);

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t l = strlen(sfx[i].suffix);

		if (len > l && strcmp(path + len - l, sfx[i].suffix) == 0) {
			*fmt = sfx[i].fmt;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_bool(const char *s, bool *out)
{
	if (!s || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static int bad(const char *flag, const char *val, const char *why)
{
	fprintf(stderr, "stoker: invalid value '%s' for --%s: %s\n", val ? val : "", flag, why);
	return -EINVAL;
}

int cli_parse(int argc, char **argv, struct config *cfg)
{
	uint64_t v;
	int c, idx;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, &idx)) != -1) {
		switch (c) {
		case OPT_SAMPLE_RATE:
			if (parse_u64(optarg, 1, 10000, &v))
				return bad("sample-rate", optarg, "want an integer from 1 to 10000");
			cfg->sample_rate_hz = (unsigned int)v;
			break;
		case OPT_DURATION:
			if (parse_duration_ns(optarg, &cfg->duration_ns) || !cfg->duration_ns)
				return bad("duration", optarg,
					   "want a positive duration such as 10s, 2m or 1h30m");
			break;
		case OPT_PID:
			if (parse_u64(optarg, 1, 0x3fffffff, &v))
				return bad("pid", optarg, "want a process id");
			if (cfg->npids >= CLI_MAX_PIDS)
				return bad("pid", optarg, "too many --pid flags");
			cfg->pids[cfg->npids++] = (int)v;
			break;
		case OPT_OUTPUT: {
			enum output_format fmt;

			if (output_format_from_path(optarg, &fmt))
				return bad("output", optarg,
					   "want a file ending in .pb.gz, .pb, .folded or .html");
			if (cfg->noutputs >= CLI_MAX_OUTPUTS)
				return bad("output", optarg, "too many --output flags");
			cfg->outputs[cfg->noutputs].path = optarg;
			cfg->outputs[cfg->noutputs++].format = fmt;
			break;
		}
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &cfg->log_level))
				return bad("log-level", optarg, "want error, warn, info or debug");
			break;
		case OPT_EVENT:
			if (!strcmp(optarg, "cpu-clock"))
				cfg->event = SAMPLER_EVENT_CPU_CLOCK;
			else if (!strcmp(optarg, "cycles"))
				cfg->event = SAMPLER_EVENT_CYCLES;
			else
				return bad("event", optarg, "want cpu-clock or cycles");
			break;
		case OPT_INCLUDE_IDLE:
			if (parse_bool(optarg, &cfg->include_idle))
				return bad("include-idle", optarg, "want true or false");
			break;
		case OPT_KERNEL_STACKS:
			if (parse_bool(optarg, &cfg->kernel_stacks))
				return bad("kernel-stacks", optarg, "want true or false");
			break;
		case OPT_RINGBUF:
			if (parse_size(optarg, &cfg->ringbuf_bytes) || cfg->ringbuf_bytes < 4096 ||
			    cfg->ringbuf_bytes > (1ull << 30))
				return bad("ring-buffer-size", optarg,
					   "want a size from 4KiB to 1GiB such as 8MiB");
			break;
		case OPT_MAX_SAMPLES:
			if (parse_u64(optarg, 1, 10000000, &v))
				return bad("max-samples", optarg, "want an integer from 1 to 10000000");
			cfg->max_samples = (size_t)v;
			break;
		case OPT_TOP:
			if (parse_u64(optarg, 0, 1000, &v))
				return bad("top", optarg, "want an integer from 0 to 1000");
			cfg->top = (unsigned int)v;
			break;
		case OPT_VERSION:
			cfg->show_version = true;
			break;
		case 'h':
		case OPT_HELP:
			cfg->show_help = true;
			break;
		case ':':
			fprintf(stderr, "stoker: flag '%s' needs a value (see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "stoker: unknown flag '%s' (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "stoker: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

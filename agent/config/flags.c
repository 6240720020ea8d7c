/* SPDX-License-Identifier: BSD-2-Clause */
/* The flag table, in --help order, and the parsers of the flags no generic type covers.
 * A new flag is one row here plus the code that reads its config field; a field inside a
 * module's options (cfg.sampler, .profile, .upload, .meta) reaches the module with no other
 * line. `make man` then writes it into the man page (test_cli fails until it does). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/cli.h"
#include "config/flags.h"
#include "label/relabel.h"
#include "trace_context_abi.h"
#include "util/log.h"
#include "util/parse_util.h"
#include "util/utf8.h"

#define CFG(field)                                                                                 \
	.off = offsetof(struct config, field), .size = sizeof(((struct config *)0)->field)
#define LIST(field, count) CFG(field), .count_off = offsetof(struct config, count)

static int check_url(const char *s)
{
	return strncmp(s, "http://", 7) && strncmp(s, "https://", 8) ? -EINVAL : 0;
}

static int check_tenant(const char *s)
{
	size_t l = strlen(s);

	if (!l || l > 150 ||
	    strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!-_.*'()") !=
		l)
		return -EINVAL;
	return 0;
}

static int check_host_port(const char *s)
{
	return strchr(s, ':') ? 0 : -EINVAL;
}

static int check_non_empty(const char *s)
{
	return *s ? 0 : -EINVAL;
}

static int check_absolute(const char *s)
{
	return *s == '/' ? 0 : -EINVAL;
}

static int check_absolute_or_empty(const char *s)
{
	return !*s || *s == '/' ? 0 : -EINVAL;
}

static int parse_log_level(const struct flag *f, char *arg, struct config *cfg)
{
	if (log_parse_level(arg, &cfg->log_level))
		return flag_invalid(f->name, arg, "want error, warn, info or debug");
	return 0;
}

static int parse_pid(const struct flag *f, char *arg, struct config *cfg)
{
	uint64_t v;

	if (!cfg->in_file_pass && !cfg->cli_pids) {
		cfg->cli_pids = true; /* flags replace the file's list */
		cfg->sampler.npids = 0;
	}
	if (parse_u64(arg, 1, 0x3fffffff, &v))
		return flag_invalid(f->name, arg, "want a process id");
	if (cfg->sampler.npids >= CLI_MAX_PIDS)
		return flag_invalid(f->name, arg, "too many --pid flags");
	cfg->pids[cfg->sampler.npids++] = (int)v;
	return 0;
}

static bool pids_equal(const struct flag *f, const struct config *a, const struct config *b)
{
	return a->sampler.npids == b->sampler.npids &&
	       !memcmp(a->pids, b->pids, a->sampler.npids * sizeof(a->pids[0]));
}

static int parse_output(const struct flag *f, char *arg, struct config *cfg)
{
	enum output_format fmt;

	if (!cfg->in_file_pass && !cfg->cli_outputs) {
		cfg->cli_outputs = true;
		cfg->noutputs = 0;
	}
	if (output_format_from_path(arg, &fmt))
		return flag_invalid(f->name, arg,
				    "want a file ending in .pb.gz, .pb, .folded or .html");
	if (cfg->noutputs >= CLI_MAX_OUTPUTS)
		return flag_invalid(f->name, arg, "too many --output flags");
	cfg->outputs[cfg->noutputs].path = arg;
	cfg->outputs[cfg->noutputs++].format = fmt;
	return 0;
}

static bool outputs_equal(const struct flag *f, const struct config *a, const struct config *b)
{
	if (a->noutputs != b->noutputs)
		return false;
	for (size_t i = 0; i < a->noutputs; i++)
		if (a->outputs[i].format != b->outputs[i].format ||
		    strcmp(a->outputs[i].path, b->outputs[i].path))
			return false;
	return true;
}

/* --label KEY=VALUE: server label rules, no reserved or duplicate names. */
static int parse_label(const struct flag *f, char *arg, struct config *cfg)
{
	char *eq = strchr(arg, '=');
	const char *why = NULL;

	if (!eq || eq == arg || !eq[1])
		return flag_invalid(f->name, arg, "want KEY=VALUE with a non-empty key and value");
	*eq = '\0';
	if (!label_name_valid(arg))
		why = "key must match [a-zA-Z_][a-zA-Z0-9_]*";
	else if (!strncmp(arg, "__", 2))
		why = "keys starting with __ are reserved";
	else if (strlen(eq + 1) > 2048)
		why = "value longer than 2048 bytes";
	else if (!utf8_valid(eq + 1, strlen(eq + 1)))
		why = "value is not UTF-8 (the server would refuse every profile)";
	for (size_t i = 0; !why && i < cfg->nlabels; i++) {
		if (strcmp(cfg->labels[i].name, arg))
			continue;
		if (!cfg->in_file_pass && i < cfg->file_nlabels) {
			/* a flag overrides the config file's value */
			cfg->labels[i].value = eq + 1;
			return 0;
		}
		why = "duplicate key";
	}
	if (!why && cfg->nlabels >= CLI_MAX_LABELS)
		why = "too many --label flags";
	if (why) {
		*eq = '=';
		return flag_invalid(f->name, arg, why);
	}
	cfg->labels[cfg->nlabels].name = arg;
	cfg->labels[cfg->nlabels++].value = eq + 1;
	return 0;
}

static int parse_header(const struct flag *f, char *arg, struct config *cfg)
{
	const char *colon = strchr(arg, ':');

	if (!cfg->in_file_pass && !cfg->cli_headers) {
		cfg->cli_headers = true;
		cfg->upload.client.nheaders = 0;
	}
	/* headers carry credentials: never echoed */
	if (!colon || colon == arg || strpbrk(arg, "\r\n"))
		return flag_invalid(f->name, "(hidden)", "want 'Name: value' on one line");
	if (cfg->upload.client.nheaders >= CLI_MAX_HEADERS)
		return flag_invalid(f->name, "(hidden)", "too many --header flags");
	cfg->headers[cfg->upload.client.nheaders++] = arg;
	return 0;
}

static int parse_relabel_rule(const struct flag *f, char *arg, struct config *cfg)
{
	struct relabel_rule r;
	char why[256];

	if (cfg->nrules >= CLI_MAX_RULES)
		return flag_invalid(f->name, "(rule)", "too many rules");
	if (relabel_rule__parse(arg, &r, why, sizeof(why))) {
		fprintf(stderr, "stoker: invalid relabel rule %zu: %s\n", cfg->nrules, why);
		relabel_rule__free(&r);
		return -EINVAL;
	}
	relabel_rule__free(&r);
	cfg->relabel_rules[cfg->nrules++] = arg;
	return 0;
}

static int parse_config(const struct flag *f, char *arg, struct config *cfg)
{
	if (cfg->in_file_pass)
		return flag_invalid(f->name, arg, "a config file cannot name another");
	cfg->config_path = arg;
	return 0;
}

static bool config_equal(const struct flag *f, const struct config *a, const struct config *b)
{
	if (!a->config_path || !b->config_path)
		return a->config_path == b->config_path;
	return !strcmp(a->config_path, b->config_path);
}

static const struct flag_choice events[] = {
	{ "cpu-clock", SAMPLER_EVENT_CPU_CLOCK },
	{ "cycles", SAMPLER_EVENT_CYCLES },
	{ NULL, 0 },
};
static const struct flag_choice unwind_modes[] = { { "auto", true }, { "fp", false }, { NULL, 0 } };
static const struct flag_choice granularities[] = {
	{ "function", false },
	{ "line", true },
	{ NULL, 0 },
};
static const struct flag_choice server_apis[] = {
	{ "push", SERVER_API_PUSH },
	{ "ingest", SERVER_API_INGEST },
	{ NULL, 0 },
};

/* clang-format off */
const struct flag cli_flags[] = {
	{ .name = "sample-rate", .key = "sample_rate", .type = FLAG_UINT, CFG(sampler.sample_rate_hz),
	  .min = 1, .max = 10000, .def = "19", .arg = "HZ", .help = "samples per second per CPU",
	  .section = "Sampling:" },
	{ .name = "duration", .key = "duration", .type = FLAG_DURATION, CFG(duration_ns),
	  .min = 1, .max = UINT64_MAX, .arg = "DURATION",
	  .why = "want a positive duration such as 10s, 2m or 1h30m",
	  .help = "stop after DURATION (e.g. 10s, 2m, 1h30m), flush and exit", .reload = true },
	{ .name = "pid", .key = "pids", .type = FLAG_CUSTOM, LIST(pids, sampler.npids), .shape = SHAPE_LIST, .parse = parse_pid,
	  .equal = pids_equal, .arg = "PID", .help = "profile only this process (repeatable)" },
	{ .name = "event", .key = "event", .type = FLAG_CHOICE, CFG(sampler.event), .choices = events,
	  .def = "cpu-clock", .arg = "EVENT",
	  .help = "cpu-clock, or cycles: hardware, falls back to cpu-clock where the PMU is "
		  "unavailable" },
	{ .name = "include-idle", .key = "include_idle", .type = FLAG_BOOL, CFG(sampler.include_idle),
	  .def = "false", .help = "also record the idle task" },
	{ .name = "kernel-stacks", .key = "kernel_stacks", .type = FLAG_BOOL, CFG(sampler.kernel_stacks),
	  .def = "true", .help = "record kernel stacks" },
	{ .name = "ring-buffer-size", .key = "ring_buffer_size", .type = FLAG_SIZE,
	  CFG(sampler.ringbuf_bytes), .min = 4096, .max = 1ull << 30,
	  .def_text = "a second of samples of every CPU, 256KiB to 64MiB", .arg = "SIZE",
	  .why = "want a size from 4KiB to 1GiB such as 8MiB", .help = "BPF ring buffer size" },
	{ .name = "unwind", .key = "unwind", .type = FLAG_CHOICE, CFG(sampler.unwind_tables),
	  .choices = unwind_modes, .def = "auto", .arg = "MODE",
	  .help = "auto: user stacks from .eh_frame unwind tables where files have them, frame "
		  "pointers elsewhere; fp: frame pointers only" },
	{ .name = "unwind-table-memory", .key = "unwind_table_memory", .type = FLAG_SIZE,
	  CFG(unwind_table_bytes), .min = 64ull << 10, .max = 4ull << 30, .def = "32MiB",
	  .arg = "SIZE", .why = "want a size from 64KiB to 4GiB such as 32MiB",
	  .help = "BPF memory for unwind table rows" },
	{ .name = "symbol-cache-memory", .key = "symbol_cache_memory", .type = FLAG_SIZE,
	  CFG(symbol_cache_bytes), .min = 1ull << 20, .max = 4ull << 30, .def = "128MiB",
	  .arg = "SIZE", .why = "want a size from 1MiB to 4GiB such as 128MiB",
	  .help = "heap for the symbol tables and unwind rows of mapped files, least recently "
		  "used evicted first" },
	{ .name = "symbol-file-memory", .key = "symbol_file_memory", .type = FLAG_SIZE,
	  CFG(symbol_file_bytes), .min = 64ull << 10, .max = 4ull << 30, .def = "32MiB",
	  .arg = "SIZE", .why = "want a size from 64KiB to 4GiB such as 32MiB",
	  .help = "one file's symbol tables (at most --symbol-cache-memory): a larger table is "
		  "skipped, its frames keep module+offset" },
	{ .name = "process-cache-memory", .key = "process_cache_memory", .type = FLAG_SIZE,
	  CFG(process_cache_bytes), .min = 1ull << 20, .max = 4ull << 30, .def = "64MiB",
	  .arg = "SIZE", .why = "want a size from 1MiB to 4GiB such as 64MiB",
	  .help = "heap for processes' mappings and labels, least recently sampled evicted "
		  "first" },
	{ .name = "unwind-max-frames", .key = "unwind_max_frames", .type = FLAG_UINT,
	  CFG(sampler.max_user_frames), .min = 1, .max = 127, .def = "127", .arg = "N",
	  .help = "deepest user stack walked" },
	{ .name = "lines", .key = "lines", .type = FLAG_BOOL, CFG(lines), .def = "true",
	  .help = "file:line and inlined functions from DWARF debug info for native frames; "
		  "false names functions only" },
	{ .name = "lines-idle", .key = "lines_idle", .type = FLAG_DURATION, CFG(lines_idle_ns),
	  .min = 1000000000ull, .max = 86400000000000ull, .def = "30s", .arg = "DUR",
	  .why = "want a duration from 1s to 24h",
	  .help = "release a file's DWARF when no new address needed it for DUR; the lines of "
		  "addresses already seen stay, a new one reads the DWARF again" },
	{ .name = "lines-memory", .key = "lines_memory", .type = FLAG_SIZE, CFG(lines_memory_bytes),
	  .min = 256ull << 10, .max = 1ull << 30, .def = "4MiB", .arg = "SIZE",
	  .why = "want a size from 256KiB to 1GiB such as 4MiB",
	  .help = "one file's DWARF units and line tables parsed for lookups before they are "
		  "dropped and parsed again as new addresses need them" },
	{ .name = "scratch-dir", .key = "scratch_dir", .type = FLAG_STRING, CFG(scratch_dir),
	  .check = check_absolute_or_empty, .def = "/var/cache/stoker/scratch", .arg = "DIR",
	  .why = "want an absolute path, or empty",
	  .help = "the agent's own directory on a disk (not tmpfs) where the DWARF sections "
		  "lookups read are copied, decompressed, into unlinked files they map, so the "
		  "page cache holds them and not the agent (the files themselves are never "
		  "mapped: their owners could truncate them); one that is not the agent's is "
		  "replaced for the run by a new one in /var/tmp; empty: read into memory" },
	{ .name = "debuginfod-urls", .key = "debuginfod_urls", .type = FLAG_STRING,
	  CFG(debuginfod.urls), .arg = "URLS",
	  .help = "fetch missing debug files by build-id from these debuginfod servers "
		  "(space-separated, as DEBUGINFOD_URLS, which the agent does not read), in the "
		  "background; frames get lines in later windows" },
	{ .name = "debuginfod-cache-dir", .key = "debuginfod_cache_dir", .type = FLAG_STRING,
	  CFG(debuginfod.cache_dir), .check = check_absolute, .def = "/var/cache/stoker/debuginfod",
	  .arg = "DIR", .why = "want an absolute path",
	  .help = "where fetched debug files are kept: the agent's own directory, mode 0700" },
	{ .name = "debuginfod-cache-size", .key = "debuginfod_cache_size", .type = FLAG_SIZE,
	  CFG(debuginfod.cache_max_bytes), .min = 1ull << 20, .max = UINT64_MAX, .def = "1GiB",
	  .arg = "SIZE", .why = "want a size of at least 1MiB",
	  .help = "fetched debug files kept on disk, least recently fetched removed first; no "
		  "larger file is fetched" },
	{ .name = "debuginfod-timeout", .key = "debuginfod_timeout", .type = FLAG_DURATION,
	  CFG(debuginfod.timeout_ns), .min = 1000000000ull, .max = 3600000000000ull, .def = "30s",
	  .arg = "DUR", .why = "want a duration from 1s to 1h",
	  .help = "one fetch, from connecting to the last byte" },
	{ .name = "max-samples", .key = "max_samples", .type = FLAG_UINT, CFG(profile.max_samples),
	  .min = 1, .max = 10000000, .def = "200000", .arg = "N",
	  .help = "unique stacks kept per window" },
	{ .name = "perf-map-memory", .key = "perf_map_memory", .type = FLAG_SIZE,
	  CFG(perf_map_bytes), .min = 64ull << 10, .max = 16ull << 30, .def = "128MiB", .arg = "SIZE",
	  .why = "want a size from 64KiB to 16GiB such as 128MiB",
	  .help = "memory for the JIT perf maps of all processes together" },
	{ .name = "perf-map-process-memory", .key = "perf_map_process_memory", .type = FLAG_SIZE,
	  CFG(perf_map_proc_bytes), .min = 4096, .max = 4ull << 30, .def = "32MiB", .arg = "SIZE",
	  .why = "want a size from 4KiB to 4GiB such as 32MiB",
	  .help = "memory for one process's JIT perf map; lines past it are not read" },
	{ .name = "java-perfmap", .key = "java_perfmap", .type = FLAG_BOOL, CFG(java_perfmap),
	  .def = "false",
	  .help = "ask HotSpot JVMs (JDK 17+) for their JIT perf map as `jcmd PID "
		  "Compiler.perfmap` does, through the attach protocol; see README" },

	{ .name = "output", .key = "outputs", .type = FLAG_CUSTOM, LIST(outputs, noutputs), .shape = SHAPE_LIST,
	  .parse = parse_output, .equal = outputs_equal, .arg = "FILE",
	  .help = "write locally instead of uploading (repeatable): *.pb.gz gzipped pprof, *.pb "
		  "raw pprof, *.folded folded stacks (flamegraph.pl, speedscope), *.html flame "
		  "graph",
	  .section = "Output:" },
	{ .name = "top", .key = "top", .type = FLAG_UINT, CFG(top), .min = 0, .max = 1000,
	  .arg = "N", .help = "print the N hottest functions (or lines, with --granularity line) "
	  "at exit", .reload = true },
	{ .name = "granularity", .key = "granularity", .type = FLAG_CHOICE, CFG(by_line),
	  .choices = granularities, .def = "function", .arg = "WHAT",
	  .help = "function: folded stacks, the flame graph and --top by function; line: by "
		  "function and source line (function:line)", .reload = true },
	{ .name = "span-labels", .key = "span_labels", .type = FLAG_BOOL, CFG(span_labels),
	  .def = "true",
	  .help = "span_id and trace_id sample labels on samples taken inside a trace span"
		  "; see README" },
	{ .name = "trace-context-map", .key = "trace_context_map", .type = FLAG_STRING,
	  CFG(trace_context_map), .check = check_non_empty, .arg = "PATH",
	  .why = "want the path of a pinned BPF map",
	  .def_text = STOKER_OTEL_TRACES_MAP_DEFAULT " if present",
	  .help = "also read spans from this pinned OpenTelemetry eBPF map, created and pinned "
		  "if missing" },

	{ .name = "server-url", .key = "server_url", .type = FLAG_STRING, CFG(upload.client.server_url),
	  .check = check_url, .why = "want an http:// or https:// URL",
	  .def = "http://localhost:4040", .arg = "URL", .help = "server",
	  .section = "Continuous mode (no --output): push to a Pyroscope server", .reload = true },
	{ .name = "server-api", .key = "server_api", .type = FLAG_CHOICE, CFG(upload.client.api),
	  .choices = server_apis, .def = "push", .arg = "API",
	  .help = "push: /push.v1.PusherService/Push; ingest: legacy /ingest, for older "
		  "servers and proxies", .reload = true },
	{ .name = "upload-interval", .key = "upload_interval", .type = FLAG_DURATION,
	  CFG(upload_interval_ns), .min = 1000000000ull, .max = 3600000000000ull, .def = "15s",
	  .arg = "DUR", .why = "want a duration from 1s to 1h",
	  .help = "close a window and push every DUR", .reload = true },
	{ .name = "upload-timeout", .key = "upload_timeout", .type = FLAG_DURATION,
	  CFG(upload.client.timeout_ns), .min = 100000000ull, .max = 600000000000ull, .def = "10s",
	  .arg = "DUR", .why = "want a duration from 100ms to 10m", .help = "per request",
	  .reload = true },
	{ .name = "upload-max-bytes", .key = "upload_max_bytes", .type = FLAG_SIZE,
	  CFG(upload_max_bytes), .min = 16ull << 10, .max = 64ull << 20, .def = "1MiB",
	  .arg = "SIZE", .why = "want a size from 16KiB to 64MiB such as 1MiB",
	  .help = "largest profile pushed, uncompressed: a series over it is split (the "
		  "server's limit is 4MiB, its burst 2MB)", .reload = true },
	{ .name = "upload-max-samples", .key = "upload_max_samples", .type = FLAG_UINT,
	  CFG(upload_max_samples), .min = 100, .max = 1000000, .def = "15000", .arg = "N",
	  .help = "most samples in one pushed profile: a series over it is split (the server's "
		  "limit is 16000)", .reload = true },
	{ .name = "label", .key = "labels", .type = FLAG_CUSTOM, LIST(labels, nlabels),
	  .shape = SHAPE_MAP, .parse = parse_label, .arg = "KEY=VALUE",
	  .help = "static series label (repeatable)", .reload = true },
	{ .name = "tenant-id", .key = "tenant_id", .type = FLAG_STRING, CFG(upload.client.tenant_id),
	  .check = check_tenant, .why = "want 1-150 characters of [0-9a-zA-Z!-_.*'()]",
	  .arg = "ID", .help = "sends X-Scope-OrgID for multi-tenant servers", .reload = true },
	{ .name = "basic-auth-user", .key = "basic_auth_user", .type = FLAG_STRING,
	  CFG(upload.client.basic_user), .arg = "USER",
	  .help = "basic auth, with --basic-auth-password-file", .reload = true },
	{ .name = "basic-auth-password-file", .key = "basic_auth_password_file",
	  .type = FLAG_STRING, CFG(basic_auth_password_file), .arg = "FILE",
	  .help = "basic auth password, with --basic-auth-user", .reload = true },
	{ .name = "bearer-token-file", .key = "bearer_token_file", .type = FLAG_STRING,
	  CFG(bearer_token_file), .arg = "FILE",
	  .help = "sends Authorization: Bearer <file content>", .reload = true },
	{ .name = "header", .key = "headers", .type = FLAG_CUSTOM, LIST(headers, upload.client.nheaders), .shape = SHAPE_LIST,
	  .parse = parse_header, .arg = "'NAME: VALUE'",
	  .help = "extra request header (repeatable)", .reload = true },
	{ .name = "tls-ca-file", .key = "tls_ca_file", .type = FLAG_STRING, CFG(upload.client.tls_ca_file),
	  .arg = "FILE", .help = "CA certificates the server is verified with", .reload = true },
	{ .name = "tls-cert-file", .key = "tls_cert_file", .type = FLAG_STRING,
	  CFG(upload.client.tls_cert_file), .arg = "FILE",
	  .help = "client certificate, with --tls-key-file", .reload = true },
	{ .name = "tls-key-file", .key = "tls_key_file", .type = FLAG_STRING, CFG(upload.client.tls_key_file),
	  .arg = "FILE", .help = "client key, with --tls-cert-file", .reload = true },
	{ .name = "tls-server-name", .key = "tls_server_name", .type = FLAG_STRING,
	  CFG(upload.client.tls_server_name), .arg = "NAME", .help = "expected server name", .reload = true },
	{ .name = "tls-insecure-skip-verify", .key = "tls_insecure_skip_verify",
	  .type = FLAG_BOOL, CFG(upload.client.tls_insecure_skip_verify), .def = "false",
	  .help = "do not verify the server (dangerous)", .reload = true },
	{ .name = "queue-size", .key = "queue_size", .type = FLAG_UINT, CFG(upload.queue_size),
	  .min = 1, .max = 1000, .def = "8", .arg = "N",
	  .help = "windows held in memory while the server is away", .reload = true },
	{ .name = "spool-dir", .key = "spool_dir", .type = FLAG_STRING, CFG(upload.spool_dir),
	  .def = "/var/lib/stoker/spool", .arg = "DIR",
	  .help = "where windows go beyond the queue and at shutdown; \"\" disables",
	  .reload = true },
	{ .name = "spool-max-bytes", .key = "spool_max_bytes", .type = FLAG_SIZE,
	  CFG(upload.spool_max_bytes), .min = 1024, .max = UINT64_MAX, .def = "256MiB", .arg = "SIZE",
	  .why = "want a size of at least 1KiB", .help = "spool budget, oldest dropped first",
	  .reload = true },
	{ .name = "metrics-addr", .key = "metrics_addr", .type = FLAG_STRING, CFG(metrics_addr),
	  .check = check_host_port, .why = "want HOST:PORT or :PORT", .arg = "ADDR",
	  .help = "serve /metrics and /healthz on ADDR (e.g. 127.0.0.1:9464; :9464 is every interface)", .reload = true },

	{ .name = "kubernetes", .key = "kubernetes", .type = FLAG_BOOL, CFG(kubernetes),
	  .def = "auto", .def_text = "on when running in a cluster",
	  .help = "pod, namespace, container, node labels from the API server",
	  .section = "Metadata:" },
	{ .name = "kubelet-url", .key = "kubelet_url", .type = FLAG_STRING, CFG(meta.kubelet_url),
	  .check = check_url, .why = "want an http:// or https:// URL", .arg = "URL",
	  .def_text = "the API server's pods on $NODE_NAME",
	  .help = "ask this kubelet's /pods instead (its RBAC needs nodes/proxy)" },
	{ .name = "kubernetes-token-file", .key = "kubernetes_token_file", .type = FLAG_STRING,
	  CFG(meta.k8s_token_file), .def = "/var/run/secrets/kubernetes.io/serviceaccount/token",
	  .arg = "FILE", .help = "service account token sent to the API server or kubelet" },
	{ .name = "kubernetes-ca-file", .key = "kubernetes_ca_file", .type = FLAG_STRING,
	  CFG(meta.k8s_ca_file), .arg = "FILE", .def_text = "the service account's ca.crt",
	  .help = "CA the API server's or kubelet's certificate is verified with" },
	{ .name = "kubelet-verify-tls", .key = "kubelet_verify_tls", .type = FLAG_BOOL,
	  CFG(meta.k8s_verify), .def = "true",
	  .help = "verify --kubelet-url's certificate (false for a self-signed one; the token is "
		  "then sent unverified); the API server's always is" },
	{ .name = "docker-socket", .key = "docker_socket", .type = FLAG_STRING,
	  CFG(meta.docker_socket), .arg = "PATH", .def_text = "/var/run/docker.sock when present",
	  .help = "container names and compose services from Docker; \"\" turns it off" },
	{ .name = "relabel-rule", .key = "relabel_configs", .type = FLAG_CUSTOM,
	  LIST(relabel_rules, nrules), .shape = SHAPE_RULES, .parse = parse_relabel_rule,
	  .arg = "SPEC",
	  .help = "one relabel rule (the config file's relabel_configs are the usual way to "
		  "write them)", .reload = true },

	{ .name = "config", .type = FLAG_CUSTOM, CFG(config_path), .parse = parse_config, .equal = config_equal,
	  .arg = "FILE",
	  .help = "YAML file with any of these settings (snake_case keys, e.g. server_url, "
		  "labels: {env: prod}); flags override it", .section = "General:" },
	{ .name = "log-level", .key = "log_level", .type = FLAG_CUSTOM, CFG(log_level),
	  .parse = parse_log_level, .def = "info", .arg = "LEVEL",
	  .help = "error, warn, info or debug", .reload = true },
	{ .name = "check", .type = FLAG_SWITCH, CFG(check), .help = "same as `stoker check`" },
	{ .name = "version", .type = FLAG_SWITCH, CFG(show_version),
	  .help = "print the version and exit" },
	{ .name = "help", .short_name = 'h', .type = FLAG_SWITCH, CFG(show_help),
	  .help = "print this help and exit" },
};
/* clang-format on */
const size_t cli_nflags = sizeof(cli_flags) / sizeof(cli_flags[0]);

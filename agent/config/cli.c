/* SPDX-License-Identifier: BSD-2-Clause */
/* Flag parsing with getopt_long; every error is one line naming the flag and its value. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config/cli.h"
#include "trace_context_abi.h"
#include "util/parse_util.h"
#include "label/relabel.h"

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
	OPT_UNWIND,
	OPT_UNWIND_MEMORY,
	OPT_UNWIND_MAX_FRAMES,
	OPT_MAX_SAMPLES,
	OPT_TOP,
	OPT_SERVER_URL,
	OPT_SERVER_API,
	OPT_UPLOAD_INTERVAL,
	OPT_UPLOAD_TIMEOUT,
	OPT_LABEL,
	OPT_TENANT_ID,
	OPT_BASIC_USER,
	OPT_BASIC_PASSWORD_FILE,
	OPT_BEARER_FILE,
	OPT_HEADER,
	OPT_TLS_CA,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_SERVER_NAME,
	OPT_TLS_INSECURE,
	OPT_QUEUE_SIZE,
	OPT_SPOOL_DIR,
	OPT_SPOOL_MAX,
	OPT_METRICS_ADDR,
	OPT_CONFIG,
	OPT_RELABEL_RULE,
	OPT_KUBERNETES,
	OPT_KUBELET_URL,
	OPT_K8S_TOKEN,
	OPT_K8S_CA,
	OPT_KUBELET_VERIFY,
	OPT_DOCKER_SOCKET,
	OPT_SPAN_LABELS,
	OPT_TRACE_CONTEXT_MAP,
};

static const struct option long_opts[] = {
	{ "sample-rate", required_argument, NULL, OPT_SAMPLE_RATE },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "check", no_argument, NULL, 'C' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "event", required_argument, NULL, OPT_EVENT },
	{ "include-idle", optional_argument, NULL, OPT_INCLUDE_IDLE },
	{ "kernel-stacks", optional_argument, NULL, OPT_KERNEL_STACKS },
	{ "ring-buffer-size", required_argument, NULL, OPT_RINGBUF },
	{ "unwind", required_argument, NULL, OPT_UNWIND },
	{ "unwind-table-memory", required_argument, NULL, OPT_UNWIND_MEMORY },
	{ "unwind-max-frames", required_argument, NULL, OPT_UNWIND_MAX_FRAMES },
	{ "max-samples", required_argument, NULL, OPT_MAX_SAMPLES },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "server-url", required_argument, NULL, OPT_SERVER_URL },
	{ "server-api", required_argument, NULL, OPT_SERVER_API },
	{ "upload-interval", required_argument, NULL, OPT_UPLOAD_INTERVAL },
	{ "upload-timeout", required_argument, NULL, OPT_UPLOAD_TIMEOUT },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "tenant-id", required_argument, NULL, OPT_TENANT_ID },
	{ "basic-auth-user", required_argument, NULL, OPT_BASIC_USER },
	{ "basic-auth-password-file", required_argument, NULL, OPT_BASIC_PASSWORD_FILE },
	{ "bearer-token-file", required_argument, NULL, OPT_BEARER_FILE },
	{ "header", required_argument, NULL, OPT_HEADER },
	{ "tls-ca-file", required_argument, NULL, OPT_TLS_CA },
	{ "tls-cert-file", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key-file", required_argument, NULL, OPT_TLS_KEY },
	{ "tls-server-name", required_argument, NULL, OPT_TLS_SERVER_NAME },
	{ "tls-insecure-skip-verify", optional_argument, NULL, OPT_TLS_INSECURE },
	{ "queue-size", required_argument, NULL, OPT_QUEUE_SIZE },
	{ "spool-dir", required_argument, NULL, OPT_SPOOL_DIR },
	{ "spool-max-bytes", required_argument, NULL, OPT_SPOOL_MAX },
	{ "metrics-addr", required_argument, NULL, OPT_METRICS_ADDR },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "relabel-rule", required_argument, NULL, OPT_RELABEL_RULE },
	{ "kubernetes", optional_argument, NULL, OPT_KUBERNETES },
	{ "kubelet-url", required_argument, NULL, OPT_KUBELET_URL },
	{ "kubernetes-token-file", required_argument, NULL, OPT_K8S_TOKEN },
	{ "kubernetes-ca-file", required_argument, NULL, OPT_K8S_CA },
	{ "kubelet-verify-tls", optional_argument, NULL, OPT_KUBELET_VERIFY },
	{ "docker-socket", required_argument, NULL, OPT_DOCKER_SOCKET },
	{ "span-labels", optional_argument, NULL, OPT_SPAN_LABELS },
	{ "trace-context-map", required_argument, NULL, OPT_TRACE_CONTEXT_MAP },
	{ NULL, 0, NULL, 0 },
};

void cli_usage(FILE *out)
{
	fputs("Usage: stoker [FLAGS]\n"
	      "       stoker check [FLAGS]   report what this host offers and lacks, with fixes\n"
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
	      "  --unwind MODE           auto (default): user stacks from .eh_frame unwind tables\n"
	      "                          where files have them, frame pointers elsewhere;\n"
	      "                          fp: frame pointers only\n"
	      "  --unwind-table-memory SIZE\n"
	      "                          BPF memory for unwind table rows (default 32MiB)\n"
	      "  --unwind-max-frames N   deepest user stack walked (1-127, default 127)\n"
	      "  --max-samples N         unique stacks kept per window (default 200000)\n"
	      "\n"
	      "Output:\n"
	      "  --output FILE           write locally instead of uploading (repeatable):\n"
	      "                          *.pb.gz gzipped pprof, *.pb raw pprof, *.folded folded\n"
	      "                          stacks (flamegraph.pl, speedscope), *.html flame graph\n"
	      "  --top N                 print the N hottest functions at exit\n"
	      "  --span-labels[=BOOL]    span_id and trace_id sample labels on samples taken\n"
	      "                          inside a trace span (default true; see README)\n"
	      "  --trace-context-map PATH  also read spans from this pinned OpenTelemetry eBPF\n"
	      "                          map, created and pinned if missing (without the flag:\n"
	      "                          " STOKER_OTEL_TRACES_MAP_DEFAULT " if present)\n"
	      "\n"
	      "Continuous mode (no --output): push to a Pyroscope server\n"
	      "  --server-url URL        server (default http://localhost:4040)\n"
	      "  --server-api API        push (default: /push.v1.PusherService/Push) or ingest\n"
	      "                          (legacy /ingest, for older servers and proxies)\n"
	      "  --upload-interval DUR   close a window and push every DUR (default 15s)\n"
	      "  --upload-timeout DUR    per request (default 10s)\n"
	      "  --label KEY=VALUE       static series label (repeatable)\n"
	      "  --tenant-id ID          sends X-Scope-OrgID for multi-tenant servers\n"
	      "  --basic-auth-user USER  basic auth, with --basic-auth-password-file FILE\n"
	      "  --bearer-token-file FILE  sends Authorization: Bearer <file content>\n"
	      "  --header 'NAME: VALUE'  extra request header (repeatable)\n"
	      "  --tls-ca-file FILE, --tls-cert-file FILE, --tls-key-file FILE,\n"
	      "  --tls-server-name NAME  TLS trust, client certificate, expected server name\n"
	      "  --tls-insecure-skip-verify[=BOOL]  do not verify the server (dangerous)\n"
	      "  --queue-size N          windows held in memory while the server is away (8)\n"
	      "  --spool-dir DIR         where windows go beyond the queue and at shutdown\n"
	      "                          (default /var/lib/stoker/spool; \"\" disables)\n"
	      "  --spool-max-bytes SIZE  spool budget, oldest dropped first (default 256MiB)\n"
	      "  --metrics-addr ADDR     serve /metrics and /healthz on ADDR (e.g. :9464)\n"
	      "\n"
	      "Metadata:\n"
	      "  --kubernetes[=BOOL]     pod, namespace, container, node labels from the kubelet\n"
	      "                          (default: on when running in a cluster)\n"
	      "  --kubelet-url URL       default https://$NODE_NAME:10250\n"
	      "  --kubernetes-token-file FILE, --kubernetes-ca-file FILE (service account's)\n"
	      "  --kubelet-verify-tls[=BOOL]  verify the kubelet's certificate (default false:\n"
	      "                          kubelets usually serve self-signed ones)\n"
	      "  --docker-socket PATH    container names and compose services from Docker\n"
	      "                          (default /var/run/docker.sock when present; \"\" off)\n"
	      "  --relabel-rule SPEC     one relabel rule (the config file's relabel_configs\n"
	      "                          are the usual way to write them)\n"
	      "\n"
	      "General:\n"
	      "  --config FILE           YAML file with any of these settings (snake_case keys,\n"
	      "                          e.g. server_url, labels: {env: prod}); flags override it\n"
	      "  --log-level LEVEL       error, warn, info (default) or debug\n"
	      "  --check                 same as `stoker check`\n"
	      "  --version               print the version and exit\n"
	      "  --help                  print this help and exit\n",
	      out);
}

static int bad(const char *flag, const char *val, const char *why);

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sample_rate_hz = 19;
	cfg->log_level = LOG_INFO;
	cfg->event = SAMPLER_EVENT_CPU_CLOCK;
	cfg->kernel_stacks = true;
	cfg->unwind_tables = true;
	cfg->unwind_table_bytes = 32ull << 20;
	cfg->unwind_max_frames = 127;
	cfg->span_labels = true;
	cfg->max_samples = 200000;
	cfg->server_url = "http://localhost:4040";
	cfg->server_api = SERVER_API_PUSH;
	cfg->upload_interval_ns = 15000000000ull;
	cfg->upload_timeout_ns = 10000000000ull;
	cfg->queue_size = 8;
	cfg->spool_dir = "/var/lib/stoker/spool";
	cfg->spool_max_bytes = 256ull << 20;
	cfg->kubernetes = -1;
	cfg->k8s_token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
}

/* --label KEY=VALUE: server label rules, no reserved or duplicate names. */
static int parse_label(struct config *cfg, char *arg)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg || !eq[1])
		return bad("label", arg, "want KEY=VALUE with a non-empty key and value");
	*eq = '\0';
	if (!label_name_valid(arg)) {
		*eq = '=';
		return bad("label", arg, "key must match [a-zA-Z_][a-zA-Z0-9_]*");
	}
	if (!strncmp(arg, "__", 2)) {
		*eq = '=';
		return bad("label", arg, "keys starting with __ are reserved");
	}
	if (strlen(eq + 1) > 2048) {
		*eq = '=';
		return bad("label", arg, "value longer than 2048 bytes");
	}
	for (size_t i = 0; i < cfg->nlabels; i++) {
		if (!strcmp(cfg->labels[i].name, arg)) {
			if (!cfg->in_file_pass && i < cfg->file_nlabels) {
				/* a flag overrides the config file's value */
				cfg->labels[i].value = eq + 1;
				return 0;
			}
			*eq = '=';
			return bad("label", arg, "duplicate key");
		}
	}
	if (cfg->nlabels >= CLI_MAX_LABELS) {
		*eq = '=';
		return bad("label", arg, "too many --label flags");
	}
	cfg->labels[cfg->nlabels].name = arg;
	cfg->labels[cfg->nlabels++].value = eq + 1;
	return 0;
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

	if (argc > 1 && !strcmp(argv[1], "check")) {
		cfg->check = true;
		argc--;
		argv++;
	}
	/* 0, not 1: glibc then drops its saved scan position, which would otherwise point
	 * into the argv of an earlier call (the config-file pass, or a SIGHUP reload whose
	 * file arguments are already freed). */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, &idx)) != -1) {
		switch (c) {
		case OPT_SAMPLE_RATE:
			if (parse_u64(optarg, 1, 10000, &v))
				return bad("sample-rate", optarg,
					   "want an integer from 1 to 10000");
			cfg->sample_rate_hz = (unsigned int)v;
			break;
		case OPT_DURATION:
			if (parse_duration_ns(optarg, &cfg->duration_ns) || !cfg->duration_ns)
				return bad("duration", optarg,
					   "want a positive duration such as 10s, 2m or 1h30m");
			break;
		case OPT_PID:
			if (!cfg->in_file_pass && !cfg->cli_pids) {
				cfg->cli_pids = true; /* flags replace the file's list */
				cfg->npids = 0;
			}
			if (parse_u64(optarg, 1, 0x3fffffff, &v))
				return bad("pid", optarg, "want a process id");
			if (cfg->npids >= CLI_MAX_PIDS)
				return bad("pid", optarg, "too many --pid flags");
			cfg->pids[cfg->npids++] = (int)v;
			break;
		case OPT_OUTPUT: {
			enum output_format fmt;

			if (!cfg->in_file_pass && !cfg->cli_outputs) {
				cfg->cli_outputs = true;
				cfg->noutputs = 0;
			}
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
		case OPT_UNWIND:
			if (!strcmp(optarg, "auto"))
				cfg->unwind_tables = true;
			else if (!strcmp(optarg, "fp"))
				cfg->unwind_tables = false;
			else
				return bad("unwind", optarg, "want auto or fp");
			break;
		case OPT_UNWIND_MEMORY:
			if (parse_size(optarg, &cfg->unwind_table_bytes) ||
			    cfg->unwind_table_bytes < (64ull << 10) ||
			    cfg->unwind_table_bytes > (4ull << 30))
				return bad("unwind-table-memory", optarg,
					   "want a size from 64KiB to 4GiB such as 32MiB");
			break;
		case OPT_UNWIND_MAX_FRAMES:
			if (parse_u64(optarg, 1, 127, &v))
				return bad("unwind-max-frames", optarg,
					   "want an integer from 1 to 127");
			cfg->unwind_max_frames = (unsigned int)v;
			break;
		case OPT_MAX_SAMPLES:
			if (parse_u64(optarg, 1, 10000000, &v))
				return bad("max-samples", optarg,
					   "want an integer from 1 to 10000000");
			cfg->max_samples = (size_t)v;
			break;
		case OPT_TOP:
			if (parse_u64(optarg, 0, 1000, &v))
				return bad("top", optarg, "want an integer from 0 to 1000");
			cfg->top = (unsigned int)v;
			break;
		case OPT_SERVER_URL:
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))
				return bad("server-url", optarg, "want an http:// or https:// URL");
			cfg->server_url = optarg;
			break;
		case OPT_SERVER_API:
			if (!strcmp(optarg, "push"))
				cfg->server_api = SERVER_API_PUSH;
			else if (!strcmp(optarg, "ingest"))
				cfg->server_api = SERVER_API_INGEST;
			else
				return bad("server-api", optarg, "want push or ingest");
			break;
		case OPT_UPLOAD_INTERVAL:
			if (parse_duration_ns(optarg, &cfg->upload_interval_ns) ||
			    cfg->upload_interval_ns < 1000000000ull ||
			    cfg->upload_interval_ns > 3600000000000ull)
				return bad("upload-interval", optarg,
					   "want a duration from 1s to 1h");
			break;
		case OPT_UPLOAD_TIMEOUT:
			if (parse_duration_ns(optarg, &cfg->upload_timeout_ns) ||
			    cfg->upload_timeout_ns < 100000000ull ||
			    cfg->upload_timeout_ns > 600000000000ull)
				return bad("upload-timeout", optarg,
					   "want a duration from 100ms to 10m");
			break;
		case OPT_LABEL:
			if (parse_label(cfg, optarg))
				return -EINVAL;
			break;
		case OPT_TENANT_ID: {
			size_t l = strlen(optarg);

			if (!l || l > 150 ||
			    strspn(optarg, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
					   "QRSTUVWXYZ!-_.*'()") != l)
				return bad("tenant-id", optarg,
					   "want 1-150 characters of [0-9a-zA-Z!-_.*'()]");
			cfg->tenant_id = optarg;
			break;
		}
		case OPT_BASIC_USER:
			cfg->basic_auth_user = optarg;
			break;
		case OPT_BASIC_PASSWORD_FILE:
			cfg->basic_auth_password_file = optarg;
			break;
		case OPT_BEARER_FILE:
			cfg->bearer_token_file = optarg;
			break;
		case OPT_HEADER: {
			const char *colon = strchr(optarg, ':');

			if (!cfg->in_file_pass && !cfg->cli_headers) {
				cfg->cli_headers = true;
				cfg->nheaders = 0;
			}
			if (!colon || colon == optarg || strpbrk(optarg, "\r\n"))
				return bad("header", "(hidden)", "want 'Name: value' on one line");
			if (cfg->nheaders >= CLI_MAX_HEADERS)
				return bad("header", "(hidden)", "too many --header flags");
			cfg->headers[cfg->nheaders++] = optarg;
			break;
		}
		case OPT_TLS_CA:
			cfg->tls_ca_file = optarg;
			break;
		case OPT_TLS_CERT:
			cfg->tls_cert_file = optarg;
			break;
		case OPT_TLS_KEY:
			cfg->tls_key_file = optarg;
			break;
		case OPT_TLS_SERVER_NAME:
			cfg->tls_server_name = optarg;
			break;
		case OPT_TLS_INSECURE:
			if (parse_bool(optarg, &cfg->tls_insecure_skip_verify))
				return bad("tls-insecure-skip-verify", optarg,
					   "want true or false");
			break;
		case OPT_QUEUE_SIZE:
			if (parse_u64(optarg, 1, 1000, &v))
				return bad("queue-size", optarg, "want an integer from 1 to 1000");
			cfg->queue_size = (size_t)v;
			break;
		case OPT_SPOOL_DIR:
			cfg->spool_dir = optarg;
			break;
		case OPT_SPOOL_MAX:
			if (parse_size(optarg, &cfg->spool_max_bytes) ||
			    cfg->spool_max_bytes < 1024)
				return bad("spool-max-bytes", optarg,
					   "want a size of at least 1KiB");
			break;
		case OPT_METRICS_ADDR:
			if (!strchr(optarg, ':'))
				return bad("metrics-addr", optarg, "want HOST:PORT or :PORT");
			cfg->metrics_addr = optarg;
			break;
		case OPT_VERSION:
			cfg->show_version = true;
			break;
		case 'C':
			cfg->check = true;
			break;
		case OPT_RELABEL_RULE: {
			struct relabel_rule r;
			char why[256];

			if (cfg->nrules >= CLI_MAX_RULES)
				return bad("relabel-rule", "(rule)", "too many rules");
			if (relabel_rule_parse(optarg, &r, why, sizeof(why))) {
				fprintf(stderr, "stoker: invalid relabel rule %zu: %s\n",
					cfg->nrules, why);
				relabel_rule_free(&r);
				return -EINVAL;
			}
			relabel_rule_free(&r);
			cfg->relabel_rules[cfg->nrules++] = optarg;
			break;
		}
		case OPT_KUBERNETES: {
			bool on;

			if (parse_bool(optarg, &on))
				return bad("kubernetes", optarg, "want true or false");
			cfg->kubernetes = on;
			break;
		}
		case OPT_KUBELET_URL:
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))
				return bad("kubelet-url", optarg,
					   "want an http:// or https:// URL");
			cfg->kubelet_url = optarg;
			break;
		case OPT_K8S_TOKEN:
			cfg->k8s_token_file = optarg;
			break;
		case OPT_K8S_CA:
			cfg->k8s_ca_file = optarg;
			break;
		case OPT_KUBELET_VERIFY:
			if (parse_bool(optarg, &cfg->kubelet_verify))
				return bad("kubelet-verify-tls", optarg, "want true or false");
			break;
		case OPT_DOCKER_SOCKET:
			cfg->docker_socket = optarg;
			break;
		case OPT_SPAN_LABELS:
			if (parse_bool(optarg, &cfg->span_labels))
				return bad("span-labels", optarg, "want true or false");
			break;
		case OPT_TRACE_CONTEXT_MAP:
			if (!*optarg)
				return bad("trace-context-map", optarg,
					   "want the path of a pinned BPF map");
			cfg->trace_context_map = optarg;
			break;
		case OPT_CONFIG:
			if (cfg->in_file_pass)
				return bad("config", optarg, "a config file cannot name another");
			cfg->config_path = optarg;
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
			/* a short flag inside a cluster ("-qh") has not advanced optind */
			if (optopt)
				fprintf(stderr, "stoker: unknown flag '-%c' (see --help)\n",
					optopt);
			else
				fprintf(stderr, "stoker: unknown flag '%s' (see --help)\n",
					argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (cfg->in_file_pass)
		return 0; /* pairs are checked once everything is in */
	if (!!cfg->basic_auth_user != !!cfg->basic_auth_password_file) {
		fprintf(stderr,
			"stoker: --basic-auth-user and --basic-auth-password-file go together\n");
		return -EINVAL;
	}
	if (!!cfg->tls_cert_file != !!cfg->tls_key_file) {
		fprintf(stderr, "stoker: --tls-cert-file and --tls-key-file go together\n");
		return -EINVAL;
	}
	if (optind < argc) {
		fprintf(stderr, "stoker: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int cli_load(int argc, char **argv, struct config *cfg, struct config_args *file_args)
{
	const char *path = NULL;
	int err;

	memset(file_args, 0, sizeof(*file_args));
	config_defaults(cfg);
	/* find --config first: the file is applied before the flags that override it */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			path = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			path = argv[i] + 9;
	}
	if (path) {
		err = config_file_load(path, file_args);
		if (err)
			return -EINVAL;
		cfg->in_file_pass = true;
		err = file_args->argc ? cli_parse(file_args->argc, file_args->argv, cfg) : 0;
		cfg->in_file_pass = false;
		if (err) {
			fprintf(stderr, "stoker: (in config file %s)\n", path);
			return err;
		}
		cfg->file_nlabels = cfg->nlabels;
	}
	return cli_parse(argc, argv, cfg);
}

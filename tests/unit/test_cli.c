/* Unit tests of the command line: flags, their errors, repeated parses, and flags overriding
 * the config file. */
#include <errno.h>
#include <unistd.h>

#include "config/cli.h"
#include "config/config_file.h"
#include "config/flags.h"
#include "sampler_abi.h"
#include "test.h"

static int parse(struct config *cfg, int argc, const char **argv)
{
	config_defaults(cfg);
	return cli_parse(argc, (char **)argv, cfg);
}

static void test_flags(void)
{
	struct config cfg;
	const char *ok[] = { "stoker",
			     "--sample-rate",
			     "99",
			     "--duration",
			     "2m",
			     "--pid",
			     "12",
			     "--pid=34",
			     "--output",
			     "a.pb.gz",
			     "--output",
			     "b.html",
			     "--log-level",
			     "debug",
			     "--include-idle",
			     "--kernel-stacks=false" };
	const char *bad_rate[] = { "stoker", "--sample-rate", "0" };
	const char *unknown[] = { "stoker", "--frobnicate" };
	const char *missing[] = { "stoker", "--duration" };
	const char *stray[] = { "stoker", "positional" };
	char latin1_label[] = "site=Z\xfcrich"; /* parse_label writes into its argument */
	const char *latin1[] = { "stoker", "--label", latin1_label };

	CHECK_INT(parse(&cfg, 16, ok), 0);
	CHECK_INT(cfg.sampler.sample_rate_hz, 99);
	CHECK_U64(cfg.duration_ns, 120000000000ull);
	CHECK_INT(cfg.sampler.npids, 2);
	CHECK_INT(cfg.pids[1], 34);
	CHECK_INT(cfg.noutputs, 2);
	CHECK_INT(cfg.outputs[0].format, OUTPUT_PPROF_GZ);
	CHECK_INT(cfg.outputs[1].format, OUTPUT_HTML);
	CHECK_INT(cfg.log_level, LOG_DEBUG);
	CHECK(cfg.sampler.include_idle);
	CHECK(!cfg.sampler.kernel_stacks);
	CHECK_INT(parse(&cfg, 3, bad_rate), -EINVAL);
	CHECK_INT(parse(&cfg, 2, unknown), -EINVAL);
	CHECK_INT(parse(&cfg, 2, missing), -EINVAL);
	CHECK_INT(parse(&cfg, 2, stray), -EINVAL);
	CHECK_INT(parse(&cfg, 3, latin1), -EINVAL);
	parse(&cfg, 1, ok);
	CHECK_INT(cfg.sampler.sample_rate_hz, 19); /* default */
	/* 0: the sampler sizes the ring from the work */
	CHECK_U64(cfg.sampler.ringbuf_bytes, 0);
	CHECK_INT(cfg.kubernetes, -1); /* auto */
}

/* The rows of module option groups store where the modules read: setup hands those structs
 * over whole, so a wrong offset here would be a wrong setting there. */
static void test_rows_fill_module_options(void)
{
	const char *argv[] = { "stoker",
			       "--event=cycles",
			       "--unwind=fp",
			       "--unwind-max-frames=40",
			       "--ring-buffer-size=1MiB",
			       "--max-samples=77",
			       "--server-api=ingest",
			       "--upload-timeout=3s",
			       "--tenant-id=t1",
			       "--basic-auth-user=u",
			       "--basic-auth-password-file=/p",
			       "--header=X-A: 1",
			       "--header=X-B: 2",
			       "--tls-cert-file=/c",
			       "--tls-key-file=/k",
			       "--tls-server-name=srv",
			       "--tls-insecure-skip-verify",
			       "--queue-size=5",
			       "--spool-dir=/s",
			       "--spool-max-bytes=2KiB",
			       "--kubelet-url=https://n:1",
			       "--kubernetes-ca-file=/ca",
			       "--kubelet-verify-tls",
			       "--docker-socket=/d" };
	const struct pyroscope_client_opts *c;
	struct config cfg;

	CHECK_INT(parse(&cfg, (int)(sizeof(argv) / sizeof(argv[0])), argv), 0);
	CHECK_INT(cfg.sampler.event, SAMPLER_EVENT_CYCLES);
	CHECK(!cfg.sampler.unwind_tables);
	CHECK_INT(cfg.sampler.max_user_frames, 40);
	CHECK_U64(cfg.sampler.ringbuf_bytes, 1u << 20);
	CHECK_INT(cfg.profile.max_samples, 77);
	c = &cfg.upload.client;
	CHECK_INT(c->api, SERVER_API_INGEST);
	CHECK_U64(c->timeout_ns, 3000000000ull);
	CHECK_STR(c->tenant_id, "t1");
	CHECK_STR(c->basic_user, "u");
	CHECK_INT(c->nheaders, 2);
	CHECK_STR(cfg.headers[1], "X-B: 2");
	CHECK_STR(c->tls_cert_file, "/c");
	CHECK_STR(c->tls_key_file, "/k");
	CHECK_STR(c->tls_server_name, "srv");
	CHECK(c->tls_insecure_skip_verify);
	CHECK_STR(c->server_url, "http://localhost:4040"); /* default */
	CHECK(!c->tls_ca_file);
	CHECK_INT(cfg.upload.queue_size, 5);
	CHECK_STR(cfg.upload.spool_dir, "/s");
	CHECK_U64(cfg.upload.spool_max_bytes, 2048);
	CHECK_STR(cfg.meta.kubelet_url, "https://n:1");
	CHECK_STR(cfg.meta.k8s_ca_file, "/ca");
	CHECK_STR(cfg.meta.k8s_token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
	CHECK(cfg.meta.k8s_verify);
	CHECK_STR(cfg.meta.docker_socket, "/d");
	/* what the modules default or the agent decides stays zero */
	CHECK(!cfg.sampler.pids && !cfg.sampler.on_record && !cfg.sampler.span_context);
	CHECK(!c->headers && !c->user_agent && !c->basic_password && !c->bearer_token);
	CHECK(!cfg.upload.initial && !cfg.upload.max_age_ns && !cfg.meta.refresh_ns);
	CHECK_INT(cfg.profile.max_locations, 0);
}

static void test_flags_override_file(void)
{
	char path[] = "/tmp/stoker-cfg-XXXXXX";
	const char *y = "sample_rate: 49\nlabels: {env: prod, team: a}\npids: [1, 2]\n";
	int fd = mkstemp(path);
	struct config cfg;
	struct config_args fa;
	char a0[] = "stoker", a1[] = "--config", a3[] = "--label=env=dev", a4[] = "--pid=7",
	     a5[] = "--sample-rate=99";
	char *argv[] = { a0, a1, path, a3, a4, a5, NULL };

	CHECK(fd >= 0 && write(fd, y, strlen(y)) == (ssize_t)strlen(y));
	close(fd);
	CHECK_INT(cli_load(6, argv, &cfg, &fa), 0);
	CHECK_INT(cfg.sampler.sample_rate_hz, 99);
	CHECK_INT(cfg.nlabels, 2);
	CHECK_STR(cfg.labels[0].value, "dev");
	CHECK_STR(cfg.labels[1].value, "a");
	CHECK_INT(cfg.sampler.npids, 1); /* the flags' list replaces the file's */
	CHECK_INT(cfg.pids[0], 7);
	config_args__free(&fa);
	unlink(path);
}

/* cli_parse runs several times per process (config-file pass, flags, SIGHUP reload). An
 * error in the middle of a flag cluster leaves getopt's scan position inside that argv, which
 * may be freed by the next parse (fuzz_cli found it). The next parse must start afresh: the
 * first argv is kept alive here so that resuming in it shows up as a parsed stale 'h'. */
static void test_parse_again_after_error_in_cluster(void)
{
	char a0[] = "stoker", q[] = "-qh", a1[] = "--sample-rate=7", c1[] = "check",
	     c2[] = "--sample-rate=9";
	char *first[] = { a0, q, NULL }, *second[] = { a0, a1, NULL },
	     *third[] = { a0, c1, c2, NULL };
	struct config cfg;

	config_defaults(&cfg);
	CHECK_INT(cli_parse(2, first, &cfg), -EINVAL); /* 'q' is unknown; 'h' is left unread */
	config_defaults(&cfg);
	CHECK_INT(cli_parse(2, second, &cfg), 0);
	CHECK_INT(cfg.sampler.sample_rate_hz, 7);
	CHECK(!cfg.show_help);
	config_defaults(&cfg);
	CHECK_INT(cli_parse(2, first, &cfg), -EINVAL);
	config_defaults(&cfg);
	CHECK_INT(cli_parse(3, third, &cfg), 0);
	CHECK(cfg.check);
	CHECK(!cfg.show_help);
	CHECK_INT(cfg.sampler.sample_rate_hz, 9);
}

/* SIGHUP parses the same argv again: parsing must not have changed it (--label used to split
 * its argument in place, and the second parse saw only the key). */
static void test_load_twice(void)
{
	char a0[] = "stoker", a1[] = "--label", a2[] = "env=dev", a3[] = "--label=team=a";
	char *argv[] = { a0, a1, a2, a3, NULL };
	struct config cfg;
	struct config_args fa;

	for (int pass = 0; pass < 2; pass++) {
		CHECK_INT(cli_load(4, argv, &cfg, &fa), 0);
		CHECK_INT(cfg.nlabels, 2);
		if (cfg.nlabels == 2) {
			CHECK_STR(cfg.labels[0].name, "env");
			CHECK_STR(cfg.labels[0].value, "dev");
			CHECK_STR(cfg.labels[1].value, "a");
		}
		config_args__free(&fa);
	}
	CHECK_STR(a2, "env=dev");
}

/* SIGHUP keeps the start-up value of every flag not marked reloadable, takes the others,
 * and names the ones that changed. */
static void test_reload(void)
{
	const char *before[] = { "stoker", "--label=a=b", "--server-url=http://x", "--top=3" };
	const char *after[] = { "stoker",	    "--label=a=c", "--server-url=http://y",
				"--sample-rate=99", "--pid=5",	   "--output=x.pb" };
	struct config cur, next;
	struct config_args fa1, fa2;
	char changed[256];

	CHECK_INT(cli_load(4, (char **)before, &cur, &fa1), 0);
	CHECK_INT(cli_load(6, (char **)after, &next, &fa2), 0);
	cli_reload(&cur, &next, changed, sizeof(changed));
	CHECK_STR(changed, "--sample-rate, --pid, --output");
	CHECK_INT(cur.sampler.sample_rate_hz, 19);
	CHECK_INT(cur.sampler.npids, 0);
	CHECK_INT(cur.noutputs, 0);
	CHECK_STR(cur.upload.client.server_url, "http://y");
	CHECK_INT(cur.top, 0);
	CHECK_INT(cur.nlabels, 1);
	CHECK_STR(cur.labels[0].value, "c");
	cli_reload(&cur, &cur, changed, sizeof(changed));
	CHECK_STR(changed, "");
	config_args__free(&fa1);
	config_args__free(&fa2);
}

/* A SIGHUP that changes nothing names nothing, though every load has its own strings. */
static void test_reload_same(void)
{
	char path[] = "/tmp/stoker-cfg-XXXXXX";
	const char *y = "sample_rate: 49\npids: [1, 2]\noutputs: [a.pb]\nunwind: fp\n"
			"kubernetes: false\ntrace_context_map: /sys/fs/bpf/x\n";
	int fd = mkstemp(path);
	const char *argv[] = { "stoker", "--config", path, "--docker-socket=/d", "--label=a=b" };
	struct config cur, next;
	struct config_args fa1, fa2;
	char changed[256];

	CHECK(fd >= 0 && write(fd, y, strlen(y)) == (ssize_t)strlen(y));
	close(fd);
	CHECK_INT(cli_load(5, (char **)argv, &cur, &fa1), 0);
	CHECK_INT(cli_load(5, (char **)argv, &next, &fa2), 0);
	cli_reload(&cur, &next, changed, sizeof(changed));
	CHECK_STR(changed, "");
	CHECK_INT(cur.noutputs, 1);
	config_args__free(&fa1);
	config_args__free(&fa2);
	unlink(path);
}

/* The table itself: unique names and keys, defaults that parse, bounds that fit their field,
 * and what reload needs to compare kept values. */
static void test_flag_table(void)
{
	CHECK(cli_nflags <= CLI_MAX_FLAGS);
	for (size_t i = 0; i < cli_nflags; i++) {
		const struct flag *f = &cli_flags[i];
		struct config cfg;

		memset(&cfg, 0, sizeof(cfg));
		CHECK(f->help && *f->help);
		CHECK(f->off + f->size <= sizeof(struct config));
		for (size_t j = 0; j < i; j++) {
			CHECK(strcmp(cli_flags[j].name, f->name));
			CHECK(!f->key || !cli_flags[j].key || strcmp(cli_flags[j].key, f->key));
			CHECK(!f->short_name || cli_flags[j].short_name != f->short_name);
		}
		if (f->type != FLAG_BOOL && f->type != FLAG_SWITCH && !f->arg)
			fprintf(stderr, "  --%s takes a value but has no .arg\n", f->name);
		CHECK(f->type == FLAG_BOOL || f->type == FLAG_SWITCH || f->arg);
		if (f->type == FLAG_UINT && f->size < 8)
			CHECK(f->max < 1ull << (8 * f->size));
		if (f->type == FLAG_DURATION || f->type == FLAG_SIZE || f->type == FLAG_STRING)
			CHECK(f->why || !f->check);
		if (f->type == FLAG_DURATION || f->type == FLAG_SIZE)
			CHECK(f->why && f->size == sizeof(uint64_t));
		if (f->count_off && !f->reload)
			CHECK(f->equal != NULL);
		if (f->def && !(f->type == FLAG_BOOL && !strcmp(f->def, "auto"))) {
			char def[128];

			snprintf(def, sizeof(def), "%s", f->def);
			if (flag_set(f, def, &cfg))
				fprintf(stderr, "  the default of --%s does not parse\n", f->name);
			CHECK_INT(flag_set(f, def, &cfg), 0);
		}
	}
}

/* The packaged example config uses only known keys with valid values. */
static void test_packaged_config(void)
{
	struct config cfg;
	struct config_args fa;

	CHECK_INT(config_file_load("packaging/stoker.yaml", &fa), 0);
	config_defaults(&cfg);
	cfg.in_file_pass = true;
	CHECK_INT(cli_parse(fa.argc, fa.argv, &cfg), 0);
	CHECK(fa.argc > 1);
	config_args__free(&fa);
}

/* roff for s: '-' is "\-" (a hyphen-minus that man keeps and search finds) */
static void man_roff(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '-')
			fputs("\\-", out);
		else if (*s == '\\')
			fputs("\\e", out);
		else
			fputc(*s, out);
	}
}

/* The OPTIONS section of packaging/stoker.8, from the table (`make man` writes it). */
static void man_render(FILE *out)
{
	fputs(".SH OPTIONS\n", out);
	for (size_t i = 0; i < cli_nflags; i++) {
		const struct flag *f = &cli_flags[i];
		const char *def = flag_default_text(f);

		if (f->section) {
			size_t l = strlen(f->section);
			char sec[128];

			/* --help's "Sampling:" is the man page's "Sampling" */
			snprintf(sec, sizeof(sec), "%.*s",
				 (int)(l && f->section[l - 1] == ':' ? l - 1 : l), f->section);
			fputs(".SS ", out);
			man_roff(out, sec);
			fputc('\n', out);
		}
		fputs(".TP\n\\fB", out);
		man_roff(out, "--");
		man_roff(out, f->name);
		fputs("\\fR", out);
		if (f->type == FLAG_BOOL) {
			fputs("[=\\fIBOOL\\fR]", out);
		} else if (f->arg) {
			fputs(" \\fI", out);
			man_roff(out, f->arg);
			fputs("\\fR", out);
		}
		fputc('\n', out);
		man_roff(out, f->help);
		if (f->type == FLAG_UINT)
			fprintf(out, "; %llu to %llu", (unsigned long long)f->min,
				(unsigned long long)f->max);
		fputs(".\n", out);
		if (f->key) {
			fputs("Config file key: \\fB", out);
			man_roff(out, f->key);
			fputs("\\fR.\n", out);
		}
		if (def) {
			fputs("Default: ", out);
			man_roff(out, def);
			fputs(".\n", out);
		}
		if (f->reload)
			fputs("SIGHUP applies it.\n", out);
	}
}

/* The man page split around its OPTIONS section (up to the next .SH). */
static char *man_read(const char *path, size_t *opt_start, size_t *opt_end)
{
	FILE *f = fopen(path, "re");
	char *buf = f ? calloc(1, 1 << 20) : NULL, *s, *e;
	size_t len;

	if (!buf) {
		if (f)
			fclose(f);
		return NULL;
	}
	len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[len] = '\0';
	s = strstr(buf, "\n.SH OPTIONS\n");
	e = s ? strstr(s + 1, "\n.SH ") : NULL;
	if (!s || !e) {
		free(buf);
		return NULL;
	}
	*opt_start = (size_t)(s + 1 - buf);
	*opt_end = (size_t)(e + 1 - buf);
	return buf;
}

/* `make man`: rewrites the OPTIONS section of the man page at path from the table. */
static int man_write(const char *path)
{
	size_t a, b;
	char *buf = man_read(path, &a, &b);
	FILE *f;

	if (!buf) {
		fprintf(stderr, "%s: no .SH OPTIONS section\n", path);
		return 1;
	}
	f = fopen(path, "we");
	if (!f) {
		free(buf);
		return 1;
	}
	fwrite(buf, 1, a, f);
	man_render(f);
	fputs(buf + b, f);
	free(buf);
	return fclose(f) ? 1 : 0;
}

struct man_flag {
	char name[64], arg[64], key[64], def[128];
	bool bool_arg, reload, seen;
};

/* roff's "\-" is a plain '-' */
static void man_unescape(char *dst, size_t len, const char *s, const char *end)
{
	size_t n = 0;

	for (; s < end && n + 1 < len; s++) {
		if (s[0] == '\\' && s + 1 < end && s[1] == '-')
			s++;
		dst[n++] = *s;
	}
	dst[n] = '\0';
}

/* Copies what lies between pre and the next post in line, unescaped. */
static bool man_field(const char *line, const char *pre, const char *post, char *dst, size_t len)
{
	const char *s = strstr(line, pre), *e;

	if (!s)
		return false;
	s += strlen(pre);
	e = strstr(s, post);
	if (!e)
		return false;
	man_unescape(dst, len, s, e);
	return true;
}

/* The OPTIONS section of packaging/stoker.8: one ".TP" per flag, whose tag line is
 * "\fB\-\-NAME\fR \fIARG\fR" (or "[=\fIBOOL\fR]"), and body lines "Config file key: \fBKEY\fR.",
 * "Default: VALUE." and "SIGHUP applies it." */
static size_t man_parse(const char *path, struct man_flag *out, size_t max)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	size_t n = 0;
	bool in_options = false, tag = false;
	struct man_flag *cur = NULL;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, ".SH", 3)) {
			in_options = !strcmp(line, ".SH OPTIONS");
			cur = NULL;
			continue;
		}
		if (!in_options)
			continue;
		if (!strcmp(line, ".TP")) {
			tag = true;
			continue;
		}
		if (line[0] == '.') {
			cur = NULL;
			continue;
		}
		if (tag) {
			tag = false;
			cur = n < max ? &out[n++] : NULL;
			if (!cur)
				continue;
			memset(cur, 0, sizeof(*cur));
			if (!man_field(line, "\\fB\\-\\-", "\\fR", cur->name, sizeof(cur->name)))
				snprintf(cur->name, sizeof(cur->name), "(bad tag line %zu)", n);
			cur->bool_arg = strstr(line, "\\fR[=\\fIBOOL\\fR]") != NULL;
			if (!cur->bool_arg)
				man_field(line, "\\fR \\fI", "\\fR", cur->arg, sizeof(cur->arg));
			continue;
		}
		if (!cur)
			continue;
		man_field(line, "Config file key: \\fB", "\\fR.", cur->key, sizeof(cur->key));
		if (!strncmp(line, "Default: ", 9))
			man_unescape(cur->def, sizeof(cur->def), line + 9, line + strlen(line) - 1);
		if (!strcmp(line, "SIGHUP applies it."))
			cur->reload = true;
	}
	fclose(f);
	return n;
}

/* Every flag of the table is in the man page with the same value name, config key, default
 * and reload mark, the man page lists no flag the table lacks, and OPTIONS is exactly what
 * `make man` writes. */
static void test_man_page_agrees(void)
{
	struct man_flag man[CLI_MAX_FLAGS + 8];
	size_t n = man_parse("packaging/stoker.8", man, sizeof(man) / sizeof(man[0]));

	CHECK(n > 0);
	for (size_t i = 0; i < cli_nflags; i++) {
		const struct flag *f = &cli_flags[i];
		const char *def = flag_default_text(f);
		struct man_flag *m = NULL;

		for (size_t j = 0; j < n && !m; j++)
			if (!strcmp(man[j].name, f->name))
				m = &man[j];
		if (!m) {
			fprintf(stderr, "  --%s is missing from packaging/stoker.8\n", f->name);
			CHECK(m != NULL);
			continue;
		}
		m->seen = true;
		if (strcmp(m->def, def ? def : "") || strcmp(m->key, f->key ? f->key : "") ||
		    m->reload != f->reload || m->bool_arg != (f->type == FLAG_BOOL) ||
		    (f->type != FLAG_BOOL && strcmp(m->arg, f->arg ? f->arg : "")))
			fprintf(
			    stderr,
			    "  packaging/stoker.8 --%s: arg '%s' key '%s' default '%s' reload %d; "
			    "table: arg '%s' key '%s' default '%s' reload %d\n",
			    f->name, m->bool_arg ? "BOOL" : m->arg, m->key, m->def, m->reload,
			    f->type == FLAG_BOOL ? "BOOL"
			    : f->arg		 ? f->arg
						 : "",
			    f->key ? f->key : "", def ? def : "", f->reload);
		CHECK_STR(m->def, def ? def : "");
		CHECK_STR(m->key, f->key ? f->key : "");
		CHECK_INT(m->reload, f->reload);
		CHECK_INT(m->bool_arg, f->type == FLAG_BOOL);
		if (f->type != FLAG_BOOL)
			CHECK_STR(m->arg, f->arg ? f->arg : "");
	}
	for (size_t j = 0; j < n; j++) {
		if (!man[j].seen)
			fprintf(stderr, "  packaging/stoker.8 lists --%s, which is not a flag\n",
				man[j].name);
		CHECK(man[j].seen);
	}
	{
		size_t a, b, len = 0;
		char *buf = man_read("packaging/stoker.8", &a, &b), *want = NULL;
		FILE *m = open_memstream(&want, &len);

		CHECK(buf && m);
		if (buf && m) {
			man_render(m);
			fclose(m);
			if (len != b - a || memcmp(buf + a, want, len))
				fprintf(stderr,
					"  packaging/stoker.8 OPTIONS differs from the flag "
					"table: run `make man`\n");
			CHECK(len == b - a && !memcmp(buf + a, want, len));
		}
		free(want);
		free(buf);
	}
}

int main(void)
{
	if (getenv("STOKER_WRITE_MAN"))
		return man_write(getenv("STOKER_WRITE_MAN"));
	RUN_TEST(test_flags);
	RUN_TEST(test_rows_fill_module_options);
	RUN_TEST(test_flags_override_file);
	RUN_TEST(test_parse_again_after_error_in_cluster);
	RUN_TEST(test_load_twice);
	RUN_TEST(test_reload);
	RUN_TEST(test_reload_same);
	RUN_TEST(test_flag_table);
	RUN_TEST(test_packaged_config);
	RUN_TEST(test_man_page_agrees);
	return TEST_SUMMARY();
}

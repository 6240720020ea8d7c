/* SPDX-License-Identifier: BSD-2-Clause */
/* The flag engine: getopt_long, --help, defaults and SIGHUP's copy, all driven by the flag
 * table (flags.c); every error is one line naming the flag and its value. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cli.h"
#include "config/config_file.h"
#include "config/flags.h"
#include "util/parse_util.h"
#include "util/secret.h"

#define OPT_BASE   256 /* getopt_long's val for cli_flags[i] */
#define HELP_COL   26  /* where --help's descriptions start */
#define HELP_WIDTH 80

int flag_invalid(const char *flag, const char *val, const char *why)
{
	char shown[512];

	/* a URL's user:password stays out of the message */
	if (val && strstr(flag, "url"))
		val = redact_url(val, shown, sizeof(shown));
	fprintf(stderr, "stoker: invalid value '%s' for --%s: %s\n", val ? val : "", flag, why);
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

static void store_uint(void *p, size_t size, uint64_t v)
{
	switch (size) {
	case 1:
		*(uint8_t *)p = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)p = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)p = (uint32_t)v;
		break;
	default:
		*(uint64_t *)p = v;
		break;
	}
}

/* "want a, b or c" from the choices */
static void choices_why(const struct flag *f, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "want");

	for (const struct flag_choice *c = f->choices; c->name && n < len; c++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
				      c == f->choices ? " "
				      : c[1].name     ? ", "
						      : " or ",
				      c->name);
}

int flag_set(const struct flag *f, char *arg, struct config *cfg)
{
	void *p = (char *)cfg + f->off;
	const struct flag_choice *c;
	char why[160];
	uint64_t v;
	bool on;
	int err;

	switch (f->type) {
	case FLAG_UINT:
		if (parse_u64(arg, f->min, f->max, &v)) {
			snprintf(why, sizeof(why), "want an integer from %llu to %llu",
				 (unsigned long long)f->min, (unsigned long long)f->max);
			return flag_invalid(f->name, arg, why);
		}
		break;
	case FLAG_DURATION:
	case FLAG_SIZE:
		err = f->type == FLAG_SIZE ? parse_size(arg, &v) : parse_duration_ns(arg, &v);
		if (err || v < f->min || v > f->max)
			return flag_invalid(f->name, arg, f->why);
		break;
	case FLAG_BOOL:
		if (parse_bool(arg, &on))
			return flag_invalid(f->name, arg, "want true or false");
		v = on;
		break;
	case FLAG_CHOICE:
		for (c = f->choices; c->name && strcmp(c->name, arg); c++)
			;
		if (!c->name) {
			choices_why(f, why, sizeof(why));
			return flag_invalid(f->name, arg, f->why ? f->why : why);
		}
		v = (uint64_t)(int64_t)c->value;
		break;
	case FLAG_STRING:
		if (f->check && f->check(arg))
			return flag_invalid(f->name, arg, f->why);
		*(const char **)p = arg;
		return 0;
	case FLAG_SWITCH:
		*(bool *)p = true;
		return 0;
	case FLAG_CUSTOM:
	default:
		return f->parse(f, arg, cfg);
	}
	store_uint(p, f->size, v);
	return 0;
}

const char *flag_default_text(const struct flag *f)
{
	return f->def_text ? f->def_text : f->def;
}

bool flag_equal(const struct flag *f, const struct config *a, const struct config *b)
{
	const char *pa = (const char *)a + f->off, *pb = (const char *)b + f->off;

	if (f->equal)
		return f->equal(f, a, b);
	if (f->type == FLAG_STRING) {
		const char *sa = *(const char *const *)pa, *sb = *(const char *const *)pb;

		return sa == sb || (sa && sb && !strcmp(sa, sb));
	}
	if (f->count_off &&
	    memcmp((const char *)a + f->count_off, (const char *)b + f->count_off, sizeof(size_t)))
		return false;
	return !memcmp(pa, pb, f->size);
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < cli_nflags; i++) {
		const struct flag *f = &cli_flags[i];

		if (!f->def)
			continue;
		if (f->type == FLAG_BOOL && !strcmp(f->def, "auto"))
			store_uint((char *)cfg + f->off, f->size, (uint64_t)-1);
		else /* the unit tests check that every default parses */
			flag_set(f, (char *)f->def, cfg);
	}
}

void cli_reload(struct config *cur, const struct config *next, char *changed, size_t len)
{
	size_t n = 0;

	if (len)
		changed[0] = '\0';
	for (size_t i = 0; i < cli_nflags; i++) {
		const struct flag *f = &cli_flags[i];

		if (f->reload) {
			memcpy((char *)cur + f->off, (const char *)next + f->off, f->size);
			if (f->count_off)
				memcpy((char *)cur + f->count_off,
				       (const char *)next + f->count_off, sizeof(size_t));
		} else if (!flag_equal(f, cur, next) && n < len) {
			n += (size_t)snprintf(changed + n, len - n, "%s--%s", n ? ", " : "",
					      f->name);
		}
	}
}

/* "  --name ARG" and the help text wrapped at HELP_COL, with bounds and default. */
static void usage_flag(FILE *out, const struct flag *f)
{
	const char *def = flag_default_text(f);
	char left[64], text[512];
	size_t n, col;
	const char *w;

	snprintf(left, sizeof(left), "  --%s%s%s", f->name,
		 f->type == FLAG_BOOL ? "[=BOOL]"
		 : f->arg	      ? " "
				      : "",
		 f->type == FLAG_BOOL || !f->arg ? "" : f->arg);
	n = (size_t)snprintf(text, sizeof(text), "%s", f->help);
	if (f->type == FLAG_UINT && n < sizeof(text))
		n += (size_t)snprintf(text + n, sizeof(text) - n, " (%llu-%llu%s%s)",
				      (unsigned long long)f->min, (unsigned long long)f->max,
				      def ? ", default " : "", def ? def : "");
	else if (def && n < sizeof(text))
		snprintf(text + n, sizeof(text) - n, " (default %s)", def);
	if (strlen(left) < HELP_COL)
		col = (size_t)fprintf(out, "%-*s", HELP_COL, left);
	else
		col = (size_t)fprintf(out, "%s\n%*s", left, HELP_COL, "") - strlen(left) - 1;
	/* greedy word wrap */
	for (w = text; *w;) {
		size_t wl = strcspn(w, " ");

		if (col > HELP_COL && col + 1 + wl > HELP_WIDTH)
			col = (size_t)fprintf(out, "\n%*s", HELP_COL, "") - 1;
		else if (col > HELP_COL)
			col += (size_t)fprintf(out, " ");
		col += (size_t)fprintf(out, "%.*s", (int)wl, w);
		w += wl;
		w += strspn(w, " ");
	}
	fputc('\n', out);
}

void cli_usage(FILE *out)
{
	fputs("Usage: stoker [FLAGS]\n"
	      "       stoker check [FLAGS]   report what this host offers and lacks, with fixes\n"
	      "Samples on-CPU stacks of every process with BPF and writes profiles.\n",
	      out);
	for (size_t i = 0; i < cli_nflags; i++) {
		if (cli_flags[i].section)
			fprintf(out, "\n%s\n", cli_flags[i].section);
		usage_flag(out, &cli_flags[i]);
	}
}

int cli_parse(int argc, char **argv, struct config *cfg)
{
	struct option opts[CLI_MAX_FLAGS + 1];
	char shortopts[2 * CLI_MAX_FLAGS + 2] = ":";
	const struct flag *f;
	size_t ns = 1;
	int c, idx;

	if (cli_nflags > CLI_MAX_FLAGS)
		return -E2BIG;
	for (size_t i = 0; i < cli_nflags; i++) {
		f = &cli_flags[i];
		opts[i] = (struct option){
			.name = f->name,
			.has_arg = f->type == FLAG_SWITCH ? no_argument
				   : f->type == FLAG_BOOL ? optional_argument
							  : required_argument,
			.val = OPT_BASE + (int)i,
		};
		if (f->short_name) {
			shortopts[ns++] = f->short_name;
			if (opts[i].has_arg != no_argument)
				shortopts[ns++] = ':';
			if (opts[i].has_arg == optional_argument)
				shortopts[ns++] = ':';
		}
	}
	opts[cli_nflags] = (struct option){ 0 };
	shortopts[ns] = '\0';
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
	while ((c = getopt_long(argc, argv, shortopts, opts, &idx)) != -1) {
		f = NULL;
		if (c >= OPT_BASE && c < OPT_BASE + (int)cli_nflags)
			f = &cli_flags[c - OPT_BASE];
		for (size_t i = 0; !f && c > 0 && c < OPT_BASE && i < cli_nflags; i++)
			if (cli_flags[i].short_name == c)
				f = &cli_flags[i];
		if (f) {
			if (flag_set(f, optarg, cfg))
				return -EINVAL;
			continue;
		}
		if (c == ':') {
			fprintf(stderr, "stoker: flag '%s' needs a value (see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
		/* a short flag inside a cluster ("-qh") has not advanced optind; a long one
		 * given a value it does not take ("--help=x") sets optopt to its val */
		if (optopt && optopt < OPT_BASE)
			fprintf(stderr, "stoker: unknown flag '-%c' (see --help)\n", optopt);
		else
			fprintf(stderr, "stoker: unknown flag '%s' (see --help)\n",
				argv[optind - 1]);
		return -EINVAL;
	}
	if (cfg->in_file_pass)
		return 0; /* pairs are checked once everything is in */
	if (!!cfg->upload.client.basic_user != !!cfg->basic_auth_password_file) {
		fprintf(stderr,
			"stoker: --basic-auth-user and --basic-auth-password-file go together\n");
		return -EINVAL;
	}
	if (!!cfg->upload.client.tls_cert_file != !!cfg->upload.client.tls_key_file) {
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
	/* --label splits its argument in place: parse a copy, so that a SIGHUP reload can
	 * parse the same command line again */
	file_args->cmdline = calloc((size_t)argc + 1, sizeof(char *));
	if (!file_args->cmdline)
		return -ENOMEM;
	for (int i = 0; i < argc; i++) {
		file_args->cmdline[i] = strdup(argv[i]);
		if (!file_args->cmdline[i])
			return -ENOMEM;
	}
	return cli_parse(argc, file_args->cmdline, cfg);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* Config file parsing with libyaml's event API: a flat mapping of known keys to scalars,
 * lists (repeatable flags) or, for labels, a mapping. Anything else is an error with a line. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/config_file.h"
#include "config/flags.h"
#include "util/fileio.h"

#define CONFIG_MAX_BYTES (1u << 20)
#define CONFIG_MAX_ARGS	 4096

static const char *const rule_keys[] = { "source_labels", "separator",	 "regex",
					 "target_label",  "replacement", "action" };

static const struct flag *flag_by_key(const char *key)
{
	for (size_t i = 0; i < cli_nflags; i++)
		if (cli_flags[i].key && !strcmp(cli_flags[i].key, key))
			return &cli_flags[i];
	return NULL;
}

void config_args__free(struct config_args *a)
{
	for (int i = 0; a->argv && i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	a->argv = NULL;
	for (size_t i = 0; a->cmdline && a->cmdline[i]; i++)
		free(a->cmdline[i]);
	free(a->cmdline);
	a->cmdline = NULL;
	a->argc = 0;
}

static int push_arg(struct config_args *a, const char *flag, const char *v1, const char *v2)
{
	size_t l = strlen(flag) + strlen(v1) + (v2 ? strlen(v2) + 1 : 0) + 4;
	char **n, *s;

	if (a->argc >= CONFIG_MAX_ARGS)
		return -E2BIG;
	n = realloc(a->argv, (size_t)(a->argc + 3) * sizeof(*n)); /* stoker, the arg, NULL */
	if (!n)
		return -ENOMEM;
	a->argv = n;
	if (!a->argc) {
		a->argv[a->argc] = strdup("stoker");
		if (!a->argv[a->argc])
			return -ENOMEM;
		a->argc++;
	}
	s = malloc(l);
	if (!s)
		return -ENOMEM;
	if (v2)
		snprintf(s, l, "--%s=%s=%s", flag, v1, v2);
	else
		snprintf(s, l, "--%s=%s", flag, v1);
	a->argv[a->argc++] = s;
	a->argv[a->argc] = NULL;
	return 0;
}

static int bad(const char *name, const yaml_event_t *ev, const char *what, const char *key)
{
	fprintf(stderr, "stoker: %s:%zu: %s%s%s%s\n", name, ev->start_mark.line + 1, what,
		key ? " '" : "", key ? key : "", key ? "'" : "");
	return -EINVAL;
}

static const char *scalar(const yaml_event_t *ev)
{
	return (const char *)ev->data.scalar.value;
}

int config_file_parse(const char *buf, size_t len, const char *name, struct config_args *out)
{
	yaml_parser_t p;
	yaml_event_t ev;
	const struct flag *kf = NULL;
	int err = 0, depth = 0;
	enum {
		TOP,
		VALUE,
		IN_LIST,
		IN_MAP_KEY,
		IN_MAP_VAL,
		IN_RULES,    /* the list of relabel rules */
		IN_RULE_KEY, /* inside one rule mapping */
		IN_RULE_VAL,
		IN_RULE_SRC, /* source_labels as a list */
	} st = TOP;
	char label_key[1100], rule[4096];
	size_t rule_len = 0;
	bool rule_src_first = true;
	bool done = false, started_map = false;

	memset(out, 0, sizeof(*out));
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && !err) {
		if (!yaml_parser_parse(&p, &ev)) {
			fprintf(stderr, "stoker: %s:%zu: %s\n", name, p.problem_mark.line + 1,
				p.problem ? p.problem : "invalid YAML");
			err = -EINVAL;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_ALIAS_EVENT:
			err = bad(name, &ev, "aliases are not supported", NULL);
			break;
		case YAML_MAPPING_START_EVENT:
			if (depth == 0 && !started_map) {
				started_map = true;
				depth = 1;
			} else if (st == VALUE && kf->shape == SHAPE_MAP) {
				st = IN_MAP_KEY;
				depth++;
			} else if (st == IN_RULES) {
				st = IN_RULE_KEY;
				rule_len = 0;
				rule[0] = '\0';
				depth++;
			} else {
				err = bad(name, &ev, "unexpected mapping for", kf ? kf->key : NULL);
			}
			break;
		case YAML_MAPPING_END_EVENT:
			depth--;
			if (st == IN_MAP_KEY) {
				st = TOP;
			} else if (st == IN_RULE_KEY) {
				err = push_arg(out, kf->name, rule, NULL);
				st = IN_RULES;
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
			if (!started_map)
				err = bad(name, &ev,
					  "the config file must be a mapping of settings", NULL);
			else if (st == VALUE && kf->shape == SHAPE_LIST)
				st = IN_LIST;
			else if (st == VALUE && kf->shape == SHAPE_RULES)
				st = IN_RULES;
			else if (st == IN_RULE_VAL && !strcmp(label_key, "source_labels")) {
				st = IN_RULE_SRC;
				rule_src_first = true;
				rule_len +=
				    (size_t)snprintf(rule + rule_len, sizeof(rule) - rule_len,
						     "%ssource_labels=", rule_len ? "\x1f" : "");
			} else
				err = bad(name, &ev, "unexpected list for", kf ? kf->key : NULL);
			break;
		case YAML_SEQUENCE_END_EVENT:
			st = st == IN_RULE_SRC ? IN_RULE_KEY : TOP;
			break;
		case YAML_SCALAR_EVENT:
			if (!started_map) {
				err = bad(name, &ev,
					  "the config file must be a mapping of settings", NULL);
			} else if (st == TOP) {
				kf = flag_by_key(scalar(&ev));
				if (!kf)
					err = bad(name, &ev, "unknown key", scalar(&ev));
				else
					st = VALUE;
			} else if (st == VALUE) {
				if (kf->shape == SHAPE_MAP)
					err = bad(name, &ev,
						  "want a mapping of label names to values for",
						  kf->key);
				else
					err = push_arg(out, kf->name, scalar(&ev), NULL);
				st = TOP;
			} else if (st == IN_LIST) {
				err = push_arg(out, kf->name, scalar(&ev), NULL);
			} else if (st == IN_MAP_KEY) {
				snprintf(label_key, sizeof(label_key), "%s", scalar(&ev));
				st = IN_MAP_VAL;
			} else if (st == IN_MAP_VAL) {
				err = push_arg(out, kf->name, label_key, scalar(&ev));
				st = IN_MAP_KEY;
			} else if (st == IN_RULES) {
				err = bad(name, &ev, "each relabel rule must be a mapping", NULL);
			} else if (st == IN_RULE_KEY) {
				bool known = false;

				for (size_t i = 0; i < sizeof(rule_keys) / sizeof(rule_keys[0]);
				     i++)
					known |= !strcmp(scalar(&ev), rule_keys[i]);
				if (!known)
					err =
					    bad(name, &ev, "unknown relabel rule key", scalar(&ev));
				snprintf(label_key, sizeof(label_key), "%s", scalar(&ev));
				st = IN_RULE_VAL;
			} else if (st == IN_RULE_VAL) {
				rule_len += (size_t)snprintf(
				    rule + rule_len, sizeof(rule) - rule_len, "%s%s=%s",
				    rule_len ? "\x1f" : "", label_key, scalar(&ev));
				st = IN_RULE_KEY;
			} else if (st == IN_RULE_SRC) {
				rule_len += (size_t)snprintf(
				    rule + rule_len, sizeof(rule) - rule_len, "%s%s",
				    rule_src_first ? "" : ",", scalar(&ev));
				rule_src_first = false;
			}
			if (rule_len >= sizeof(rule))
				err = bad(name, &ev, "relabel rule too long", NULL);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (err)
		config_args__free(out);
	return err;
}

int config_file_load(const char *path, struct config_args *out)
{
	char *buf = NULL;
	size_t len = 0;
	int err;

	memset(out, 0, sizeof(*out));
	err = read_file_capped(path, CONFIG_MAX_BYTES, 0, &buf, &len);
	if (err == -EFBIG) {
		fprintf(stderr, "stoker: config %s is larger than 1 MiB\n", path);
		return err;
	}
	if (err) {
		fprintf(stderr, "stoker: failed to read config %s: %s\n", path, strerror(-err));
		return err;
	}
	err = config_file_parse(buf, len, path, out);
	free(buf);
	return err;
}

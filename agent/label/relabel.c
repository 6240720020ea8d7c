/* SPDX-License-Identifier: BSD-2-Clause */
/* Relabeling with Prometheus semantics: joined source values matched against a regex
 * anchored at both ends, $N expansion in target and replacement, empty results delete. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "label/relabel.h"

#define FIELD_SEP '\x1f'

const char *label_set__get(const struct label_set *ls, const char *name)
{
	for (size_t i = 0; i < ls->n; i++)
		if (!strcmp(ls->l[i].name, name))
			return ls->l[i].value;
	return NULL;
}

static void label_del(struct label_set *ls, size_t i)
{
	memmove(&ls->l[i], &ls->l[i + 1], (ls->n - i - 1) * sizeof(ls->l[0]));
	ls->n--;
}

int label_set__put(struct label_set *ls, const char *name, const char *value)
{
	for (size_t i = 0; i < ls->n; i++) {
		if (strcmp(ls->l[i].name, name))
			continue;
		if (!*value)
			label_del(ls, i);
		else
			snprintf(ls->l[i].value, sizeof(ls->l[i].value), "%s", value);
		return 0;
	}
	if (!*value)
		return 0;
	if (ls->n >= LABELS_MAX)
		return -ENOSPC;
	snprintf(ls->l[ls->n].name, sizeof(ls->l[0].name), "%s", name);
	snprintf(ls->l[ls->n].value, sizeof(ls->l[0].value), "%s", value);
	ls->n++;
	return 0;
}

static const struct {
	const char *name;
	enum relabel_action action;
} actions[] = {
	{ "replace", RELABEL_REPLACE },	    { "keep", RELABEL_KEEP },
	{ "drop", RELABEL_DROP },	    { "labelmap", RELABEL_LABELMAP },
	{ "labeldrop", RELABEL_LABELDROP }, { "labelkeep", RELABEL_LABELKEEP },
};

static bool name_ok(const char *n)
{
	if (!*n || strlen(n) >= LABEL_NAME_MAX)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		      (p > n && *p >= '0' && *p <= '9')))
			return false;
	return true;
}

int relabel_rule__parse(const char *spec, struct relabel_rule *r, char *err, size_t errlen)
{
	char regex[2048] = "(.*)", anchored[2100], buf[4096];
	bool have_target = false;
	const char *p = spec;
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(r->separator, sizeof(r->separator), ";");
	snprintf(r->replacement, sizeof(r->replacement), "$1");
	while (*p) {
		const char *end = strchr(p, FIELD_SEP), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len >= sizeof(buf)) {
			snprintf(err, errlen, "field too long");
			return -EINVAL;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		eq = strchr(buf, '=');
		if (!eq) {
			snprintf(err, errlen, "malformed field '%s'", buf);
			return -EINVAL;
		}
		buf[eq - buf] = '\0';
		eq++;
		if (!strcmp(buf, "action")) {
			size_t i;

			for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
				if (!strcmp(eq, actions[i].name))
					break;
			if (i == sizeof(actions) / sizeof(actions[0])) {
				snprintf(err, errlen, "unknown action '%s'", eq);
				return -EINVAL;
			}
			r->action = actions[i].action;
		} else if (!strcmp(buf, "source_labels")) {
			for (const char *s = eq; *s;) {
				const char *c = strchr(s, ',');
				size_t l = c ? (size_t)(c - s) : strlen(s);

				if (r->nsources >= RELABEL_SOURCES_MAX || !l ||
				    l >= LABEL_NAME_MAX) {
					snprintf(err, errlen, "bad source_labels");
					return -EINVAL;
				}
				memcpy(r->sources[r->nsources], s, l);
				r->sources[r->nsources++][l] = '\0';
				s += l + (c ? 1 : 0);
			}
		} else if (!strcmp(buf, "separator")) {
			snprintf(r->separator, sizeof(r->separator), "%s", eq);
		} else if (!strcmp(buf, "regex")) {
			snprintf(regex, sizeof(regex), "%s", eq);
		} else if (!strcmp(buf, "target_label")) {
			snprintf(r->target, sizeof(r->target), "%s", eq);
			have_target = true;
		} else if (!strcmp(buf, "replacement")) {
			snprintf(r->replacement, sizeof(r->replacement), "%s", eq);
		} else {
			snprintf(err, errlen, "unknown field '%s'", buf);
			return -EINVAL;
		}
		p += len + (end ? 1 : 0);
	}
	if (r->action == RELABEL_REPLACE && !have_target) {
		snprintf(err, errlen, "replace needs target_label");
		return -EINVAL;
	}
	if ((r->action == RELABEL_KEEP || r->action == RELABEL_DROP) && !r->nsources) {
		snprintf(err, errlen, "%s needs source_labels",
			 r->action == RELABEL_KEEP ? "keep" : "drop");
		return -EINVAL;
	}
	/* fully anchored, as Prometheus does: group 1 is ours, user groups start at 2 */
	snprintf(anchored, sizeof(anchored), "^(%s)$", regex);
	rc = regcomp(&r->re, anchored, REG_EXTENDED);
	if (rc) {
		char m[128];

		regerror(rc, &r->re, m, sizeof(m));
		snprintf(err, errlen, "invalid regex '%s': %s", regex, m);
		return -EINVAL;
	}
	r->compiled = true;
	return 0;
}

void relabel_rule__free(struct relabel_rule *r)
{
	if (r->compiled)
		regfree(&r->re);
	r->compiled = false;
}

#define NMATCH 10

/* Expands $N and ${N} (N: the user's groups, 0 = whole match) from src into out. */
static void expand(const char *tmpl, const char *src, const regmatch_t *m, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = tmpl; *p && o + 1 < outlen;) {
		int g = -1;

		if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
			g = p[1] - '0';
			p += 2;
		} else if (p[0] == '$' && p[1] == '{' && p[2] >= '0' && p[2] <= '9' &&
			   p[3] == '}') {
			g = p[2] - '0';
			p += 4;
		}
		if (g < 0) {
			out[o++] = *p++;
			continue;
		}
		/* user group g is regex group g + 1 (group 1 wraps the whole expression) */
		g = g == 0 ? 1 : g + 1;
		if (g < NMATCH && m[g].rm_so >= 0) {
			size_t l = (size_t)(m[g].rm_eo - m[g].rm_so);

			if (l > outlen - 1 - o)
				l = outlen - 1 - o;
			memcpy(out + o, src + m[g].rm_so, l);
			o += l;
		}
	}
	out[o] = '\0';
}

bool relabel_apply(const struct relabel_rule *rules, size_t n, struct label_set *ls)
{
	char joined[LABEL_VALUE_MAX * 2], tgt[LABEL_NAME_MAX], val[LABEL_VALUE_MAX];
	regmatch_t m[NMATCH];

	for (size_t i = 0; i < n; i++) {
		const struct relabel_rule *r = &rules[i];
		size_t o = 0;
		bool match;

		joined[0] = '\0';
		for (size_t s = 0; s < r->nsources; s++) {
			const char *v = label_set__get(ls, r->sources[s]);

			o += (size_t)snprintf(joined + o, sizeof(joined) - o, "%s%s",
					      s ? r->separator : "", v ? v : "");
			if (o >= sizeof(joined))
				o = sizeof(joined) - 1;
		}
		switch (r->action) {
		case RELABEL_REPLACE:
			if (regexec(&r->re, joined, NMATCH, m, 0))
				break;
			expand(r->target, joined, m, tgt, sizeof(tgt));
			expand(r->replacement, joined, m, val, sizeof(val));
			if (name_ok(tgt))
				label_set__put(ls, tgt, val);
			break;
		case RELABEL_KEEP:
		case RELABEL_DROP:
			match = regexec(&r->re, joined, 0, NULL, 0) == 0;
			if (match == (r->action == RELABEL_DROP))
				return false;
			break;
		case RELABEL_LABELMAP: {
			struct label_set add = { .n = 0 };

			for (size_t k = 0; k < ls->n; k++) {
				if (regexec(&r->re, ls->l[k].name, NMATCH, m, 0))
					continue;
				expand(r->replacement, ls->l[k].name, m, tgt, sizeof(tgt));
				if (name_ok(tgt))
					label_set__put(&add, tgt, ls->l[k].value);
			}
			for (size_t k = 0; k < add.n; k++)
				label_set__put(ls, add.l[k].name, add.l[k].value);
			break;
		}
		case RELABEL_LABELDROP:
		case RELABEL_LABELKEEP:
			for (size_t k = 0; k < ls->n;) {
				match = regexec(&r->re, ls->l[k].name, 0, NULL, 0) == 0;
				if (match == (r->action == RELABEL_LABELDROP))
					label_del(ls, k);
				else
					k++;
			}
			break;
		}
	}
	for (size_t k = 0; k < ls->n;) {
		if (!strncmp(ls->l[k].name, "__", 2))
			label_del(ls, k);
		else
			k++;
	}
	return true;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* Prometheus-style relabeling over a process's candidate labels: replace, keep, drop,
 * labelmap, labeldrop, labelkeep, with fully anchored POSIX extended regexes. */
#ifndef STOKER_RELABEL_H
#define STOKER_RELABEL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#define LABELS_MAX	    48
#define LABEL_NAME_MAX	    128
#define LABEL_VALUE_MAX	    1024
#define RELABEL_SOURCES_MAX 8

struct label_set {
	struct {
		char name[LABEL_NAME_MAX];
		char value[LABEL_VALUE_MAX];
	} l[LABELS_MAX];
	size_t n;
};

enum relabel_action {
	RELABEL_REPLACE = 0,
	RELABEL_KEEP,
	RELABEL_DROP,
	RELABEL_LABELMAP,
	RELABEL_LABELDROP,
	RELABEL_LABELKEEP,
};

struct relabel_rule {
	enum relabel_action action;
	char sources[RELABEL_SOURCES_MAX][LABEL_NAME_MAX];
	size_t nsources;
	char separator[16];
	char target[LABEL_NAME_MAX];
	char replacement[LABEL_VALUE_MAX];
	regex_t re;
	bool compiled;
};

/* Parses one rule from its flag form "action=A;source_labels=a,b;separator=S;regex=R;
 * target_label=T;replacement=X" (any order; fields separated by the byte 0x1f, which YAML
 * users never type). Fills defaults as Prometheus does. On error writes the reason to err
 * and returns -EINVAL. */
int relabel_rule__parse(const char *spec, struct relabel_rule *r, char *err, size_t errlen);
void relabel_rule__free(struct relabel_rule *r);

/* Applies the rules in order. Returns false when the set is dropped (keep/drop). Labels
 * whose names start with "__" are removed afterwards, as Prometheus does. */
bool relabel_apply(const struct relabel_rule *rules, size_t n, struct label_set *ls);

const char *label_set__get(const struct label_set *ls, const char *name);
/* Sets (or, with an empty value, removes) a label. Returns 0 or -ENOSPC. */
int label_set__put(struct label_set *ls, const char *name, const char *value);

#endif

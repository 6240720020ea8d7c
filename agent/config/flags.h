/* SPDX-License-Identifier: BSD-2-Clause */
/* The flag table: every flag once, with its YAML key, type, bounds, default, help and whether
 * SIGHUP applies it. The parser, --help, the defaults, the config keys and reload read it. */
#ifndef STOKER_FLAGS_H
#define STOKER_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

enum flag_type {
	FLAG_UINT,     /* integer in [min, max] into an unsigned field of .size bytes */
	FLAG_DURATION, /* parse_duration_ns in [min, max] nanoseconds, uint64_t */
	FLAG_SIZE,     /* parse_size in [min, max] bytes, uint64_t */
	FLAG_BOOL,     /* --flag[=BOOL], bare means true; bool or int field. Default "auto": -1 */
	FLAG_CHOICE,   /* one of .choices, whose value goes into a field of .size bytes */
	FLAG_STRING,   /* const char * into the argument, accepted by .check if set */
	FLAG_SWITCH,   /* no value: sets a bool */
	FLAG_CUSTOM,   /* .parse does it all (repeatable flags, labels, rules) */
};

/* How the config file writes the value: key: value, a list, a mapping (labels), rules. */
enum flag_shape { SHAPE_SCALAR, SHAPE_LIST, SHAPE_MAP, SHAPE_RULES };

struct flag_choice {
	const char *name;
	int value;
};

struct flag {
	const char *name; /* --name */
	char short_name;  /* -x, 0 if none */
	const char *key;  /* config file key; NULL: command line only */
	enum flag_shape shape;
	enum flag_type type;
	size_t off, size;     /* the value in struct config */
	size_t count_off;     /* repeatable flags: their size_t count in struct config, else 0 */
	uint64_t min, max;    /* bounds of numbers, durations and sizes */
	const char *def;      /* default as a user writes it, parsed into the config; NULL: zero */
	const char *def_text; /* the default --help shows when it is decided at run time */
	const char *arg;      /* value name in --help */
	const char *help;
	const char *why; /* the error's reason; FLAG_UINT and FLAG_CHOICE derive it if NULL */
	const struct flag_choice *choices; /* NULL-name terminated */
	int (*check)(const char *arg);	   /* FLAG_STRING: 0 or -EINVAL */
	int (*parse)(const struct flag *f, char *arg, struct config *cfg); /* FLAG_CUSTOM */
	/* FLAG_CUSTOM flags that are not reloadable: whether two configs hold the same value */
	bool (*equal)(const struct flag *f, const struct config *a, const struct config *b);
	const char *section; /* --help heading that starts at this flag */
	bool reload;	     /* SIGHUP applies it; the others keep their start-up value */
};

extern const struct flag cli_flags[];
extern const size_t cli_nflags;

/* Stores arg as f's value in cfg. Returns 0, or -EINVAL after printing one line. */
int flag_set(const struct flag *f, char *arg, struct config *cfg);
/* The default --help and the man page show: .def, else .def_text, else NULL. */
const char *flag_default_text(const struct flag *f);
/* Whether a and b hold the same value for f. */
bool flag_equal(const struct flag *f, const struct config *a, const struct config *b);
/* Prints "stoker: invalid value 'VAL' for --FLAG: WHY" and returns -EINVAL. */
int flag_invalid(const char *flag, const char *val, const char *why);

#endif

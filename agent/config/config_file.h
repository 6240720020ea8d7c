/* SPDX-License-Identifier: BSD-2-Clause */
/* The YAML config file (--config): every flag's setting under its key in the flag table,
 * turned into flags so one strict parser checks both; flags on the command line override it. */
#ifndef STOKER_CONFIG_FILE_H
#define STOKER_CONFIG_FILE_H

#include <stddef.h>

struct config_args {
	char **argv; /* argv[0] is "stoker"; strings owned here */
	int argc;
	char **cmdline; /* cli_load's copy of the command line, which parsing may write to */
};

/* Reads path and appends the equivalent flags to out. Errors name the file, line and key,
 * and are printed to stderr. Returns 0, -EINVAL (bad content) or -errno (unreadable). */
int config_file_load(const char *path, struct config_args *out);
/* Same, from a buffer (for tests and fuzzing). */
int config_file_parse(const char *buf, size_t len, const char *name, struct config_args *out);
void config_args__free(struct config_args *a);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* `stoker check`: what this host offers and lacks for profiling, line by line with a fix. */
#ifndef STOKER_PREFLIGHT_H
#define STOKER_PREFLIGHT_H

#include <stdio.h>

struct config;

/* Prints the report to out. Returns 0 when profiling can work, 1 otherwise. */
int preflight_run(const struct config *cfg, FILE *out);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* The OpenTelemetry eBPF instrumentation's pinned span map (pid_tgid -> trace id + span id):
 * opened by path and checked for that layout before the sampler reuses it. */
#ifndef STOKER_TRACE_CONTEXT_MAP_H
#define STOKER_TRACE_CONTEXT_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a map's layout is not the expected one, in words naming expected vs found; "" when it
 * is (type: BPF_MAP_TYPE_*). Returns true when the layout fits. */
bool trace_context_map_layout_ok(uint32_t type, uint32_t key_size, uint32_t value_size, char *why,
				 size_t why_len);

/* Opens the map pinned at path. Returns its fd, or -errno. required (named by
 * --trace-context-map): a missing pin is created with the instrumentation's layout and
 * pinned, so either side may start first; every failure is logged as an error. Not required
 * (the default path, used only when present): a missing pin or bpffs is silent (debug), a
 * wrong layout a warning. */
int trace_context_map_open(const char *path, bool required);

#endif

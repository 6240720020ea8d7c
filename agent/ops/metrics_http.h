/* SPDX-License-Identifier: BSD-2-Clause */
/* Self-observability endpoint: Prometheus text at /metrics and a liveness answer at /healthz,
 * served by a small thread from snapshots the agent publishes. */
#ifndef STOKER_METRICS_HTTP_H
#define STOKER_METRICS_HTTP_H

struct counters;

struct metrics_http;

/* addr is "HOST:PORT" or ":PORT". NULL + errno (logged). */
struct metrics_http *metrics_http__start(const char *addr);
/* A fresh snapshot from the sampling loop; it also tells /healthz the loop is alive. */
void metrics_http__publish(struct metrics_http *m, const struct counters *c);
void metrics_http__stop(struct metrics_http *m);

#endif

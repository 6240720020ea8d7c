/* SPDX-License-Identifier: BSD-2-Clause */
/* Asks HotSpot JVMs (JDK 17+) to write their JIT perf map, as `jcmd PID Compiler.perfmap` does,
 * through the JVM's attach protocol, from a worker thread so the sample loop never waits. */
#ifndef STOKER_JAVA_ATTACH_H
#define STOKER_JAVA_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

struct java_attach_stats {
	uint64_t requests; /* perf maps asked for (attach, command sent) */
	uint64_t written;  /* answered with success */
	uint64_t failed;   /* no socket in time, refused, an error reply */
	uint64_t dropped;  /* requests not queued: the queue was full */
};

struct java_attach_opts {
	uint64_t min_interval_ns; /* first wait between two requests to one JVM; 0: 2 s */
	uint64_t max_interval_ns; /* the wait doubles up to this; 0: 60 s */
	uint64_t timeout_ns;	  /* for the JVM to open its socket and answer; 0: 5 s */
};

struct java_attach;

/* Starts the worker. NULL + errno on failure. */
struct java_attach *java_attach__new(const struct java_attach_opts *opts);
/* Stops the worker (waiting for the attach in progress, bounded by the timeout) and frees. */
void java_attach__free(struct java_attach *ja);
/* Asks the JVM pid (nspid in its own namespace) for its perf map unless it was asked less than
 * its current interval ago. Never blocks on the JVM. */
void java_attach__request(struct java_attach *ja, int pid, int nspid);
/* True once after the JVM pid wrote its map again since the last call: the map was rewritten
 * from its start, not appended to. */
bool java_attach__rewritten(struct java_attach *ja, int pid);
void java_attach__stats(struct java_attach *ja, struct java_attach_stats *st);

#endif

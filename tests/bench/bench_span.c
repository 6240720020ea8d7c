/* Benchmark helper: ns per span set and clear through the trace-context ABI
 * (include/stoker/trace_context.h), beside pthread_setspecific, the usual way to keep
 * per-thread state without the ABI. Prints "<set ns> <clear ns> <pthread_setspecific ns>".
 * Usage: bench_span [N] */
#define STOKER_TRACE_CONTEXT_IMPLEMENTATION
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "stoker/trace_context.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 50000000;
	uint8_t trace[2][16], span[2][8];
	pthread_key_t key;
	double t0, set_ns, clear_ns, tsd_ns;

	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 16; j++)
			trace[i][j] = (uint8_t)(i * 31 + j);
		for (int j = 0; j < 8; j++)
			span[i][j] = (uint8_t)(i * 17 + j);
	}
	stoker_trace_ctx_set(trace[0], span[0]); /* publishes the offset: not timed */
	t0 = now();
	for (long i = 0; i < n; i++)
		stoker_trace_ctx_set(trace[i & 1], span[i & 1]);
	set_ns = (now() - t0) * 1e9 / (double)n;
	t0 = now();
	for (long i = 0; i < n; i++)
		stoker_trace_ctx_clear();
	clear_ns = (now() - t0) * 1e9 / (double)n;
	pthread_key_create(&key, NULL);
	t0 = now();
	for (long i = 0; i < n; i++)
		pthread_setspecific(key, span[i & 1]);
	tsd_ns = (now() - t0) * 1e9 / (double)n;
	printf("%.3f %.3f %.3f\n", set_ns, clear_ns, tsd_ns);
	return stoker_trace_ctx_v1.seq & 1; /* keeps the stores observable */
}

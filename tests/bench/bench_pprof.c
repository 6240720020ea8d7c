/* Benchmark helper: builds a window of N unique stacks (depth 8-40 over a pool of functions)
 * and times pprof encoding with gzip. Prints "<seconds per encode> <pprof.gz bytes>
 * <folded bytes>". Usage: bench_pprof N ROUNDS */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "export/output_flamegraph.h"
#include "profile/pprof_encode.h"
#include "profile/profile_builder.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000, rounds = argc > 2 ? atoi(argv[2]) : 10;
	struct profile_builder pb;
	struct pprof_meta meta = { 10101010, 1700000000000000000ll, 15000000000ll };
	struct pprof_encode_opts eo = { .gzip = true };
	uint32_t map, locs[64], svc = 0;
	unsigned int seed = 1;
	uint8_t *out = NULL;
	size_t len = 0, folded = 0;
	double t0, dt;

	profile_builder__init(&pb, NULL);
	map = profile_builder__mapping(&pb, "/usr/lib/x86_64-linux-gnu/libexample.so",
				       "0123456789abcdef");
	svc = profile_builder__string(&pb, "service_name");
	for (int i = 0; i < n; i++) {
		int depth = 8 + (int)(rand_r(&seed) % 33);
		struct pb_label l = { svc, profile_builder__string(&pb, i % 4 ? "api" : "worker") };

		for (int d = 0; d < depth; d++) {
			char name[64];
			int f = d < 3 ? d : (int)(rand_r(&seed) % 2000);

			snprintf(name, sizeof(name), "namespace::Class%d::method_%d(int)", f % 97,
				 f);
			locs[d] = profile_builder__location(&pb, map,
							    profile_builder__function(&pb, name),
							    0x1000 + (uint64_t)f * 16);
			folded += 40;
		}
		profile_builder__add_sample(&pb, locs, (size_t)depth, &l, 1, 1 + (uint64_t)(i % 7));
	}
	t0 = now();
	for (int k = 0; k < rounds; k++) {
		free(out);
		pprof_encode(&pb, &meta, &eo, &out, &len);
	}
	dt = (now() - t0) / rounds;
	printf("%.6f %zu %zu %zu\n", dt, len, folded, pb.nsamples);
	free(out);
	profile_builder__destroy(&pb);
	return 0;
}

/* Benchmark helper: builds a window of N unique stacks (depth 8-40 over a pool of functions)
 * and times pprof encoding with gzip. The same stacks are written as real folded text by the
 * agent's own writer, raw and gzipped, so sizes compare like with like. Prints "<seconds per
 * encode> <pprof.gz bytes> <folded bytes> <folded.gz bytes> <samples>".
 * Usage: bench_pprof N ROUNDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	uint8_t *out = NULL, *fgz = NULL;
	size_t len = 0, flen = 0, fgz_len = 0;
	char *ftext = NULL, *names = NULL;
	const char **frames = NULL;
	struct folded_stack *fs = NULL;
	FILE *fm;
	double t0, dt;

	names = calloc((size_t)n * 40, 64);
	frames = calloc((size_t)n * 40, sizeof(*frames));
	fs = calloc((size_t)n, sizeof(*fs));
	if (!names || !frames || !fs)
		return 1;
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
			memcpy(names + ((size_t)i * 40 + (size_t)d) * 64, name, sizeof(name));
			frames[(size_t)i * 40 + (size_t)d] =
			    names + ((size_t)i * 40 + (size_t)d) * 64;
			locs[d] = profile_builder__location(&pb, map,
							    profile_builder__function(&pb, name),
							    0x1000 + (uint64_t)f * 16);
		}
		profile_builder__add_sample(&pb, locs, (size_t)depth, &l, 1, 1 + (uint64_t)(i % 7));
		fs[i] = (struct folded_stack){ frames + (size_t)i * 40, (size_t)depth,
					       1 + (uint64_t)(i % 7) };
	}
	fm = open_memstream(&ftext, &flen);
	if (!fm || folded_write(fm, fs, (size_t)n) < 0 || fclose(fm))
		return 1;
	if (gzip_compress((const uint8_t *)ftext, flen, &fgz, &fgz_len) < 0)
		return 1;
	t0 = now();
	for (int k = 0; k < rounds; k++) {
		free(out);
		pprof_encode(&pb, &meta, &eo, &out, &len);
	}
	dt = (now() - t0) / rounds;
	printf("%.6f %zu %zu %zu %zu\n", dt, len, flen, fgz_len, pb.nsamples);
	free(out);
	free(fgz);
	free(ftext);
	free(names);
	free(frames);
	free(fs);
	profile_builder__destroy(&pb);
	return 0;
}

/* Fuzz target: JIT perf map files (/tmp/perf-PID.map is written by the profiled process). */
#include <stdint.h>
#include "proc/perf_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a small entry cap: inputs past it reach the dropped-lines path, and big inputs stay
	 * cheap (the sweep under fuzzer instrumentation ran 2k execs/s on 8k-line inputs) */
	struct perf_map *pm = perf_map__parse((const char *)data, size, 256);

	if (!pm)
		return 0;
	for (uint64_t a = 0; a < 0x3000; a += 0x101)
		perf_map__lookup(pm, a);
	perf_map__lookup(pm, UINT64_MAX);
	perf_map__free(pm);
	return 0;
}

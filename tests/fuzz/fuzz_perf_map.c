/* Fuzz target: JIT perf map files (/tmp/perf-PID.map is written by the profiled process), parsed
 * whole and read incrementally in two pieces (the second appended after the first read), which
 * must name every probed address alike. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proc/perf_map.h"

static int fd = -1;

static void read_in_two(struct perf_map *pm, const uint8_t *data, size_t size)
{
	/* cut after the first newline past the middle: whole lines only, as a JIT appends */
	const uint8_t *nl = memchr(data + size / 2, '\n', size - size / 2);
	size_t cut = nl ? (size_t)(nl - data) + 1 : size;

	if (ftruncate(fd, 0) || pwrite(fd, data, cut, 0) != (ssize_t)cut)
		abort();
	perf_map__read(pm, fd);
	if (pwrite(fd, data + cut, size - cut, (off_t)cut) != (ssize_t)(size - cut))
		abort();
	perf_map__read(pm, fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a small entry cap: inputs past it reach the dropped-lines path, and big inputs stay
	 * cheap (the sweep under fuzzer instrumentation ran 2k execs/s on 8k-line inputs) */
	struct perf_map *pm = perf_map__parse((const char *)data, size, 256), *inc;

	if (!pm)
		return 0;
	if (fd < 0)
		fd = memfd_create("fuzz_perf_map", MFD_CLOEXEC);
	inc = perf_map__new(NULL, 256);
	/* the same lines as the whole parse: each ends with a newline, and none is capped */
	if (fd >= 0 && inc && size && data[size - 1] == '\n' && perf_map__count(pm) < 128 &&
	    !memchr(data, '\0', size)) {
		read_in_two(inc, data, size);
		for (uint64_t a = 0; a < 0x3000; a += 0x101) {
			const struct perf_map_entry *x = perf_map__lookup(pm, a);
			const char *xn = x ? x->name : NULL;
			const struct perf_map_entry *y = perf_map__lookup(inc, a);

			if (!xn != !y || (xn && strcmp(xn, y->name)))
				abort();
		}
	}
	for (uint64_t a = 0; a < 0x3000; a += 0x101)
		perf_map__lookup(pm, a);
	perf_map__lookup(pm, UINT64_MAX);
	perf_map__free(inc);
	perf_map__free(pm);
	return 0;
}

/* Benchmark helper: DWARF lines and inline chains (dwarf_lines) of a list of addresses in one
 * file with debug info. cold: the DWARF is opened and indexed, then each address looked up
 * once; warm: opened beforehand, each address looked up for the first time; cached: each
 * address asked again. Prints "<seconds> <resolved> <frames> <max RSS KiB>" so bench.py can
 * compare with eu-addr2line -i on the same list; with CHAINFILE, writes each address's chain
 * there (first round, outside the clock) as eu-addr2line --pretty-print shows it.
 * Usage: bench_lines cold|warm|cached DEBUGFILE ADDRFILE ROUNDS [CHAINFILE]
 * LINES_MEMORY (bytes) and SCRATCH_DIR set --lines-memory and --scratch-dir as the agent
 * would; unset, libdw's parsed units are bounded at the default and sections decompressed
 * in the heap. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "object/dwarf_lines.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The agent's options from the environment, with an address cache of opts' size. */
static struct dwarf_lines_opts env_opts(size_t cache_bytes)
{
	struct dwarf_lines_opts o = { .max_cache_bytes = cache_bytes };

	if (getenv("LINES_MEMORY"))
		o.max_parsed_bytes = strtoull(getenv("LINES_MEMORY"), NULL, 10);
	o.scratch_dir = getenv("SCRATCH_DIR");
	return o;
}

static struct dwarf_lines *open_lines(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct dwarf_lines_opts o = env_opts(0);
	struct dwarf_lines *dl;

	if (fd < 0)
		return NULL;
	dl = dwarf_lines__open_fd(fd, &o);
	close(fd);
	return dl;
}

/* One line per address, "fn at file:line" innermost first, callers after " (inlined by) ". */
static void write_chains(const char *path, struct dwarf_lines *dl, const uint64_t *addrs, size_t n)
{
	FILE *out = fopen(path, "w");

	for (size_t i = 0; out && i < n; i++) {
		const struct dwarf_line_frame *fr;
		int got = dwarf_lines__lookup(dl, addrs[i], &fr);

		for (int k = 0; k < got; k++)
			fprintf(out, "%s%s at %s:%u", k ? " (inlined by) " : "",
				fr[k].function ? fr[k].function : "??",
				fr[k].file ? fr[k].file : "??", fr[k].line);
		fprintf(out, "%s\n", got > 0 ? "" : "??");
	}
	if (out)
		fclose(out);
}

int main(int argc, char **argv)
{
	/* every address kept: the cache must not be what the warm rounds measure */
	struct dwarf_lines_opts big = env_opts(1u << 30);
	uint64_t *addrs = NULL;
	size_t n = 0, cap = 0, resolved = 0, frames = 0;
	struct dwarf_lines *dl = NULL;
	unsigned long long a;
	struct rusage ru;
	double t0, spent = 0;
	int rounds, fd;
	FILE *f;

	if (argc != 5 && argc != 6)
		return 2;
	rounds = atoi(argv[4]);
	f = fopen(argv[3], "r");
	while (f && fscanf(f, "%llx", &a) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			addrs = realloc(addrs, cap * sizeof(*addrs));
		}
		addrs[n++] = a;
	}
	if (f)
		fclose(f);
	for (int k = 0; k < rounds; k++) {
		if (strcmp(argv[1], "cold")) {
			/* opened (and for cached, every address asked once) outside the clock */
			if (!dl || !strcmp(argv[1], "warm")) {
				dwarf_lines__free(dl);
				fd = open(argv[2], O_RDONLY | O_CLOEXEC);
				dl = fd >= 0 ? dwarf_lines__open_fd(fd, &big) : NULL;
				if (fd >= 0)
					close(fd);
				if (!dl)
					return 1;
				for (size_t i = 0; !strcmp(argv[1], "cached") && k == 0 && i < n;
				     i++) {
					const struct dwarf_line_frame *fr;

					dwarf_lines__lookup(dl, addrs[i], &fr);
				}
			}
		}
		t0 = now();
		if (!strcmp(argv[1], "cold")) {
			dwarf_lines__free(dl);
			dl = open_lines(argv[2]);
			if (!dl)
				return 1;
		}
		for (size_t i = 0; i < n; i++) {
			const struct dwarf_line_frame *fr;
			int got = dwarf_lines__lookup(dl, addrs[i], &fr);

			if (got > 0) {
				resolved++;
				frames += (size_t)got;
			}
		}
		spent += now() - t0;
		if (k == 0 && argc == 6)
			write_chains(argv[5], dl, addrs, n);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("%.6f %zu %zu %ld\n", spent, resolved, frames, ru.ru_maxrss);
	dwarf_lines__free(dl);
	free(addrs);
	return 0;
}

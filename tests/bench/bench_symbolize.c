/* Benchmark helper: symbolizes a list of file-relative addresses in one ELF with stoker's
 * symbolizer, cold (fresh load each round) or warm (loaded once). Prints
 * "<seconds> <resolved>" so bench.py can compare with eu-addr2line on the same list; with NAMES,
 * also writes each address's name (or "??"), outside the timed loop, so the answers can be
 * checked against eu-addr2line's. Usage: bench_symbolize cold|warm FILE ADDRFILE ROUNDS [NAMES] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "object/elf_symbols.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t *addrs = NULL;
	size_t n = 0, cap = 0, resolved = 0;
	unsigned long long a;
	struct elf_object *o = NULL;
	struct elf_symbol_result r;
	int rounds;
	double t0;
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
	t0 = now();
	for (int k = 0; k < rounds; k++) {
		if (!o || !strcmp(argv[1], "cold")) {
			elf_object__free(o);
			o = elf_object__open(argv[2], NULL);
			if (!o)
				return 1;
		}
		for (size_t i = 0; i < n; i++) {
			if (elf_object__lookup(o, addrs[i], &r) == 0) {
				char *d = demangle(r.name);

				resolved++;
				free(d);
			}
		}
	}
	printf("%.6f %zu\n", now() - t0, resolved);
	if (argc == 6 && o) {
		FILE *names = fopen(argv[5], "w");

		for (size_t i = 0; names && i < n; i++) {
			char *d = NULL;

			if (elf_object__lookup(o, addrs[i], &r) == 0) {
				d = demangle(r.name); /* NULL: not a mangled name */
				fprintf(names, "%s\n", d ? d : r.name);
			} else {
				fprintf(names, "??\n");
			}
			free(d);
		}
		if (names)
			fclose(names);
	}
	elf_object__free(o);
	free(addrs);
	return 0;
}

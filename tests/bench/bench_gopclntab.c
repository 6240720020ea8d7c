/* Benchmark helper: looks up a list of ELF addresses in one Go binary through Go's own table
 * (name, file and line) or through the ELF symbol table (name, demangled), loaded once.
 * Prints "<lookup seconds> <resolved> <load seconds> <checksum>" so bench.py can compare the two on
 * the same build, stripped (pclntab) and not (symtab). Usage: bench_gopclntab pclntab|symtab FILE
 * ADDRFILE ROUNDS */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "object/elf_symbols.h"
#include "object/go_pclntab.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct go_pclntab *t = NULL;
	struct elf_object *o = NULL;
	uint64_t *addrs = NULL, sum = 0;
	size_t n = 0, cap = 0, resolved = 0;
	unsigned long long a;
	double t0, t1;
	bool go;
	int rounds, fd;
	FILE *f;

	if (argc != 5)
		return 2;
	go = !strcmp(argv[1], "pclntab");
	rounds = atoi(argv[4]);
	f = fopen(argv[3], "r");
	while (f && fscanf(f, "%llx", &a) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			addrs = realloc(addrs, cap * sizeof(*addrs));
			if (!addrs)
				return 1;
		}
		addrs[n++] = a;
	}
	if (f)
		fclose(f);
	t0 = now();
	if (go) {
		fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		t = fd >= 0 ? go_pclntab__open_fd(fd, 0) : NULL;
		if (fd >= 0)
			close(fd);
	} else {
		o = elf_object__open(argv[2], NULL);
	}
	if (!t && !o)
		return 1;
	t1 = now();
	for (int k = 0; k < rounds; k++) {
		for (size_t i = 0; i < n; i++) {
			struct elf_symbol_result r;
			struct go_func g;

			if (go && go_pclntab__lookup(t, addrs[i], &g) == 0) {
				resolved++;
				sum += g.line + (g.file ? (uint8_t)g.file[0] : 0);
			} else if (!go && elf_object__lookup(o, addrs[i], &r) == 0) {
				char *d = demangle(r.name);

				resolved++;
				free(d);
			}
		}
	}
	printf("%.6f %zu %.6f %llu\n", now() - t1, resolved, t1 - t0, (unsigned long long)sum);
	go_pclntab__free(t);
	elf_object__free(o);
	free(addrs);
	return 0;
}

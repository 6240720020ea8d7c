/* Fuzz target: the names shown for symbols any process's files can define: symbol versions
 * dropped, Rust legacy and v0 names demangled under their bounds (depth, steps, output). The
 * input is tried as is and behind each Rust prefix; C++ names go to libstdc++, not fuzzed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "object/elf_symbols.h"
#include "symbolize/rust_demangle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = malloc(size + 4), out[512];
	char *dm;

	if (!name)
		return 0;
	memcpy(name + 3, data, size);
	name[size + 3] = '\0';
	/* as is: a name that starts "_Z" but is not Rust's would reach __cxa_demangle */
	if (strncmp(name + 3, "_Z", 2) || !strncmp(name + 3, "_ZN", 3)) {
		dm = demangle(name + 3);
		free(dm);
	}
	memcpy(name + 1, "_R", 2);
	rust_demangle(name + 1, out, sizeof(out));
	memcpy(name, "_ZN", 3);
	rust_demangle(name, out, sizeof(out));
	rust_demangle(name, out, 8);
	free(name);
	return 0;
}

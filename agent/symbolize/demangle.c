/* SPDX-License-Identifier: BSD-2-Clause */
/* C++ demangling through libstdc++'s __cxa_demangle (Itanium ABI). */
#include <stdlib.h>
#include <string.h>

#include "object/elf_symbols.h"

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

char *demangle(const char *name)
{
	int status = 0;
	char *out;

	if (strncmp(name, "_Z", 2) != 0)
		return NULL;
	out = __cxa_demangle(name, NULL, NULL, &status);
	if (status != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* Symbol names as people read them: the symbol version (`@@GLIBC_2.34`) dropped, Rust names
 * demangled without their hashes (rust_demangle.c), C++ through libstdc++'s __cxa_demangle. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "object/elf_symbols.h"
#include "symbolize/rust_demangle.h"

#define RUST_NAME_MAX 4096

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

static char *demangle_cxx(const char *name)
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

static char *demangle_unversioned(const char *name)
{
	char *out;

	if (!strncmp(name, "_R", 2) || !strncmp(name, "_ZN", 3)) {
		out = malloc(RUST_NAME_MAX);
		if (out && rust_demangle(name, out, RUST_NAME_MAX) == 0)
			return out;
		free(out);
	}
	return demangle_cxx(name);
}

char *demangle(const char *name)
{
	/* "name@VERSION" (hidden) or "name@@VERSION" (default): the linker's, not the name's */
	const char *at = strchr(name, '@');
	char *base, *out;

	if (!at || at == name)
		return demangle_unversioned(name);
	base = strndup(name, (size_t)(at - name));
	if (!base)
		return NULL;
	out = demangle_unversioned(base);
	if (out) {
		free(base);
		return out;
	}
	return base;
}

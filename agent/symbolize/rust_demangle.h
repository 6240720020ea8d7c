/* SPDX-License-Identifier: BSD-2-Clause */
/* Rust symbol names as people read them: v0 (`_R...`) demangled, legacy (`_ZN...17h<hash>E`)
 * without the hash, neither with the crate disambiguators. */
#ifndef STOKER_RUST_DEMANGLE_H
#define STOKER_RUST_DEMANGLE_H

#include <stddef.h>

/* Demangles name (no symbol version suffix) into out (len bytes, NUL-terminated). Returns 0,
 * -EINVAL when name is not a Rust symbol of either scheme (legacy: the last path element is
 * the h + 16 hex digits hash) or is malformed, -E2BIG when the result or the work it takes
 * would exceed the bounds (out's size, nesting, steps). */
int rust_demangle(const char *name, char *out, size_t len);

#endif

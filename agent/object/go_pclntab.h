/* SPDX-License-Identifier: BSD-2-Clause */
/* The Go runtime's own function table (.gopclntab), which survives `-ldflags='-s -w'`: function
 * names, and file and line of any PC, for the table formats of Go 1.16 through current. */
#ifndef STOKER_OBJECT_GO_PCLNTAB_H
#define STOKER_OBJECT_GO_PCLNTAB_H

#include <stddef.h>
#include <stdint.h>

#define GO_PCLNTAB_DEFAULT_MAX_BYTES (256u << 20)

struct go_pclntab;

/* What one PC resolves to; strings are owned by the table. */
struct go_func {
	const char *name;
	const char *file; /* NULL when the table names none */
	uint32_t line;	  /* 0 when unknown */
	uint64_t entry;	  /* the function's ELF virtual address */
};

/* Parses a pclntab image of size bytes (copied) starting at its header. text_start is the ELF
 * address of runtime.text, used when the header's own is 0 (Go 1.18+ PCs are relative to it).
 * Returns NULL with errno EINVAL when the image is not a pclntab of a known version or any
 * of its tables lies outside it. */
struct go_pclntab *go_pclntab__new(const void *data, size_t size, uint64_t text_start);

/* The pclntab of the ELF file behind fd: the .gopclntab section (.data.rel.ro.gopclntab in PIE
 * builds), else, for a file carrying a Go build-id note, the first valid header found in its
 * non-executable PT_LOAD segments (the section table may be gone). At most max_bytes are read
 * (0: GO_PCLNTAB_DEFAULT_MAX_BYTES). NULL with errno ENOENT when the file has none, EFBIG when
 * it is larger than the cap, ENOEXEC when the file is not ELF. */
struct go_pclntab *go_pclntab__open_fd(int fd, size_t max_bytes);
/* The same, asking reserve(ctx, bytes) before the table's memory is allocated: a negative
 * answer leaves the file unread (NULL, errno EDQUOT). */
struct go_pclntab *go_pclntab__open_fd_reserved(int fd, size_t max_bytes,
						int (*reserve)(void *ctx, size_t bytes), void *ctx);
void go_pclntab__free(struct go_pclntab *t);

/* The function whose code holds pc (an ELF virtual address), with the file and line of pc.
 * Returns 0 or -ENOENT (pc outside every function the table covers). */
int go_pclntab__lookup(const struct go_pclntab *t, uint64_t pc, struct go_func *out);

/* "1.16", "1.18" or "1.20" (the first Go release writing that format). */
const char *go_pclntab__version(const struct go_pclntab *t);
size_t go_pclntab__func_count(const struct go_pclntab *t);
/* Heap bytes held, for cache accounting. */
size_t go_pclntab__memory_bytes(const struct go_pclntab *t);

#endif

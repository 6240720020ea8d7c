/* SPDX-License-Identifier: BSD-2-Clause */
/* The DWARF sections line lookups read, copied decompressed into an unlinked file of the
 * agent's own: the kernel's page cache then holds them (reclaimable, only the pages a lookup
 * touches mapped), not the agent's heap, and no process can truncate the copy under us. */
#ifndef STOKER_OBJECT_DWARF_SPILL_H
#define STOKER_OBJECT_DWARF_SPILL_H

#include <stdbool.h>
#include <stddef.h>

struct dwarf_spill_info {
	bool copyable;	 /* the file can be copied (or, uncompressed, mapped) as is */
	bool lines;	 /* it has .debug_info and .debug_line */
	bool compressed; /* a kept section is compressed */
	bool trusted;	 /* owned by root and writable by nobody else: safe to map as it is */
	size_t bytes;	 /* the kept sections' size, decompressed */
};

/* Looks at the ELF file behind fd (through pread, never a mapping of it) and says what it is
 * in *info; with dir NULL returns 0 when it is copyable. Otherwise writes the kept DWARF
 * sections (decompressed) with a section table into a new unlinked file in dir and returns
 * its fd (the caller closes it). Errors:
 *   -ENOTSUP  the file cannot be copied this way (relocatable, foreign byte order, GNU
 *             .zdebug sections, a compression other than zlib), or dir is in memory (tmpfs)
 *   -EFBIG    the kept sections are over max_bytes
 *   -ENOEXEC  not ELF, or its section table is broken; -EBADMSG a section does not inflate
 *             to its stated size; other negative errnos from the file system.
 * info may be NULL. */
int dwarf_spill(int fd, const char *dir, size_t max_bytes, struct dwarf_spill_info *info);

#endif

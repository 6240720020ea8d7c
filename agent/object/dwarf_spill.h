/* SPDX-License-Identifier: BSD-2-Clause */
/* The DWARF sections line lookups read, copied decompressed into an unlinked file of the
 * agent's own: the kernel's page cache then holds them (reclaimable, only the pages a lookup
 * touches mapped), not the agent's heap, and no process can truncate the copy under us. */
#ifndef STOKER_OBJECT_DWARF_SPILL_H
#define STOKER_OBJECT_DWARF_SPILL_H

#include <stdbool.h>
#include <stddef.h>

/* Looks at the ELF file behind fd (through pread, never a mapping of it) and returns a new
 * unlinked file holding the DWARF sections lookups read, decompressed, with a section table
 * (the caller closes it and maps it). It is in dir, or in memory (a memfd, *in_memory set)
 * when dir is NULL or on tmpfs. Never fd itself: whoever can write a file can truncate it
 * under a mapping. Errors:
 *   -ENOTSUP  the file cannot be copied this way (relocatable, foreign byte order, GNU
 *             .zdebug sections, a compression other than zlib): its lines are not read
 *   -ENODATA  no .debug_info or no .debug_line
 *   -EFBIG    the kept sections are over max_bytes
 *   -ENOEXEC  not ELF, or its section table is broken; -EBADMSG a section does not inflate
 *             to its stated size; other negative errnos from the file system. */
int dwarf_spill(int fd, const char *dir, size_t max_bytes, bool *in_memory);

#endif

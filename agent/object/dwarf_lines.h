/* SPDX-License-Identifier: BSD-2-Clause */
/* DWARF lines and inline chains of one file's debug info (libdw): what eu-addr2line -i says
 * of an address, its frames innermost first, each with function, file and line. */
#ifndef STOKER_OBJECT_DWARF_LINES_H
#define STOKER_OBJECT_DWARF_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DWARF_LINES_MAX_FRAMES 16 /* deepest inline chain kept per address */

/* One frame of an address's inline chain. Strings are owned by the dwarf_lines. */
struct dwarf_line_frame {
	const char *function; /* linkage name demangled, else DW_AT_name; NULL when only the
			       * line table covers the address (the one frame then) */
	const char *file;     /* as the line table names it; NULL when unknown */
	uint32_t line;	      /* 0 when unknown */
	uint32_t start_line;  /* the function's DW_AT_decl_line, 0 when unknown */
};

struct dwarf_lines_opts {
	size_t max_cache_bytes;	 /* addresses' frames kept, default 4 MiB */
	size_t max_debug_bytes;	 /* a file whose DWARF would hold more (twice its decompressed
				  * sections) is refused with -EFBIG; default 1 GiB */
	size_t max_parsed_bytes; /* libdw's parsed units and line tables (estimated) before
				  * they are dropped and parsed again as needed; default 4 MiB */
	/* where a compressed (or not root-owned) file's DWARF sections are copied, decompressed,
	 * into an unlinked file that lookups map; NULL: decompressed in the heap */
	const char *scratch_dir;
};

struct dwarf_lines_stats {
	uint64_t lookups, hits;	    /* addresses asked, of them answered from the cache */
	uint64_t resolved;	    /* addresses that got at least one frame */
	uint64_t releases, reloads; /* of the DWARF, while the address cache stayed */
	uint64_t copies;	    /* loads from a copy in the scratch directory */
	uint64_t in_heap;	    /* copies written to memory (no scratch directory) */
	uint64_t resets;	    /* parsed units dropped: over budget, or after indexing */
};

struct dwarf_lines;

/* Reads the DWARF of the ELF file behind fd (the caller keeps fd; it is not used after the
 * call). Returns NULL with errno ENODATA when the file has no line tables, EFBIG when they
 * are larger than the cap, ENOEXEC when it is not ELF, ENOMEM. */
struct dwarf_lines *dwarf_lines__open_fd(int fd, const struct dwarf_lines_opts *opts);
void dwarf_lines__free(struct dwarf_lines *dl);

/* The frames at vaddr (an ELF virtual address of the file the DWARF describes), innermost
 * first; *frames stays valid until the next lookup. Returns how many (0: the DWARF does not
 * cover vaddr), -ESTALE when vaddr is not cached and the DWARF was released (reload it), or
 * -ENOMEM. */
int dwarf_lines__lookup(struct dwarf_lines *dl, uint64_t vaddr,
			const struct dwarf_line_frame **frames);

/* Memory that follows the work: the DWARF (decompressed sections, libdw's parsed units, the
 * indexes) is released while the frames of addresses already looked up stay cached; a
 * lookup of another address then needs dwarf_lines__reload_fd with the same file. Reload
 * returns 0 (also when loaded) or what open would fail with, as a negative errno. */
void dwarf_lines__release(struct dwarf_lines *dl);
int dwarf_lines__reload_fd(struct dwarf_lines *dl, int fd);
bool dwarf_lines__loaded(const struct dwarf_lines *dl);

/* Approximate bytes held: sections decompressed in the heap, libdw's parsed units, the
 * indexes, the address cache. */
size_t dwarf_lines__memory_bytes(const struct dwarf_lines *dl);
const struct dwarf_lines_stats *dwarf_lines__stats(const struct dwarf_lines *dl);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* One mapped file as every stage sees it: opened once, and everything derived from it (symbols,
 * unwind rows, the trace-context symbol, DWARF lines) built lazily on first use and kept with
 * it. */
#ifndef STOKER_OBJECT_H
#define STOKER_OBJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "object/proc_maps.h"
#include "object/dwarf_lines.h"
#include "object/elf_symbols.h"
#include "object/go_pclntab.h"
#include "object/python_elf.h"
#include "object/unwind_table.h"

struct obj_cache;

/* Identity is (dev, inode) of the mapped file as /proc/PID/maps names it and the opened file
 * confirms: the build-id a file claims is kept for output only, never to share what is derived
 * from one file with another. Fields up to build_id are read-only for users. */
struct object {
	int refcnt;
	uint64_t dev, inode;
	char *path;				 /* as first seen in /proc/PID/maps */
	const char *name;			 /* base name of path */
	char build_id[2 * ELF_BUILD_ID_MAX + 1]; /* hex, "" if none */

	/* owned by object/ */
	struct obj_cache *cache; /* NULL once the cache is gone */
	bool cached;		 /* charged to the cache's budget, which holds a reference */
	int fd;			 /* -1 once everything is derived, or closed for the fd bound */
	unsigned built;		 /* OBJECT_PART_* derived (or failed for good); 0 after eviction */
	unsigned too_big;	 /* OBJECT_PART_* that alone did not fit the budget: not retried */
	uint64_t used_tick;
	int pid;	    /* a process that maps it, for a reopen after the fd was closed */
	struct proc_map at; /* and where */
	struct elf_segment segs[ELF_MAX_SEGMENTS]; /* PT_LOAD */
	size_t nsegs;
	struct elf_object *elf;
	struct unwind_table unwind;
	int unwind_err;
	char *data_sym_name;
	int data_sym_err;
	uint64_t data_sym_vaddr, data_sym_size;
	struct go_pclntab *gopcln;
	struct python_elf python; /* OBJECT_PART_PYTHON: the CPython anchors */
	int python_err;
	struct libc_tsd libc_tsd; /* and, built with them, glibc's TSD layout */
	int libc_tsd_err;
	struct dwarf_lines *lines;
	int lines_err;	   /* -ENODATA: no debug info; -EAGAIN: a fetch may bring it */
	size_t lines_cost; /* of cost, what lines held when last charged */
	int lines_from;	   /* where the DWARF came from (object.c's LINES_FROM_*): read again there
			      after a release */
	uint64_t lines_miss_ns; /* monotonic time of the last address the cache did not hold */
	struct dwarf_lines_stats lines_told; /* of lines' stats, what stats already has */
	size_t cost;			     /* bytes charged to the cache */
	size_t symbol_bytes;		     /* of cost, the symbol tables' */
	size_t unwind_bytes;		     /* of cost, the unwind rows' */
};

enum {
	OBJECT_PART_SYMBOLS = 1,
	OBJECT_PART_UNWIND = 2,
	OBJECT_PART_DATA_SYM = 4,
	OBJECT_PART_GO_PCLNTAB = 8,
	OBJECT_PART_PYTHON = 16,
	OBJECT_PART_ALL = 31,
	/* not in ALL: only asked for with --lines (obj_cache_opts.lines) */
	OBJECT_PART_LINES = 32,
};

/* Whether part (OBJECT_PART_*) was derived already: asking for it costs no file access. */
static inline bool object__built(const struct object *o, unsigned part)
{
	return (o->built & part) == part;
}

void object_get(struct object *o);
void object_put(struct object *o);

/* The function symbols, read on first call (through the process's root for debug files).
 * NULL when the file is not a readable ELF: remembered, not retried. */
const struct elf_object *object__symbols(struct object *o);

/* Go's function table (.gopclntab), read on first call: NULL when the file has none (not Go,
 * or unreadable): remembered, not retried. */
const struct go_pclntab *object__go_pclntab(struct object *o);

/* The unwind rows, built on first call with rules and opts (the same every call: the rows hold
 * indexes into rules). Returns 0 with *out, or the build's -errno (remembered), or -errno when
 * the file could not be reopened (not remembered). */
int object__unwind_table(struct object *o, struct unwind_rules *rules,
			 const struct unwind_table_opts *opts, const struct unwind_table **out);
/* The BPF maps hold o's rows now: the heap's copy is freed (and its cost given back); a later
 * object__unwind_table builds them again. */
void object__drop_unwind_rows(struct object *o);

/* The defined data object name (.dynsym, then .symtab), searched once per object whatever the
 * offsets it is mapped at; map_vaddr is the ELF address of file_offset. Returns 0, -ENOENT,
 * -ENOEXEC, or -errno when the file could not be reopened. */
int object__data_symbol(struct object *o, const char *name, uint64_t file_offset,
			struct elf_data_symbol *out);

/* Whether the file holds a CPython interpreter (object/python_elf.h), searched once. Returns 0
 * with *out, -ENOENT, -ENOEXEC, or -errno when the file could not be reopened. */
int object__python(struct object *o, const struct python_elf **out);
/* glibc's thread-specific data layout when the file is a glibc libc.so (object/python_elf.h),
 * found with the CPython anchors. Returns 0 with *out, -ENOENT, or as object__python. */
int object__libc_tsd(struct object *o, const struct libc_tsd **out);
/* Where lines come from besides the file and its local debug file, and what is counted. */
struct object_lines_opts {
	struct dwarf_lines_opts dwarf;
	/* A debug file fetched by build-id (hex): a new fd the caller closes, -EAGAIN while a
	 * fetch may still bring it, -ENOENT when none will. NULL: no fetching. Called on the
	 * symbolizing thread: it must not block. */
	int (*fetch)(void *ctx, const char *build_id);
	void *fetch_ctx;
	struct object_lines_stats {
		uint64_t files_with_lines;  /* DWARF read: in the file or a debug file */
		uint64_t files_fetched;	    /* of those, from a fetched debug file */
		uint64_t files_no_debug;    /* no DWARF lines anywhere (yet) */
		uint64_t files_too_large;   /* DWARF over dwarf.max_debug_bytes */
		uint64_t files_wrong_fetch; /* a fetched file of another build-id */
		uint64_t dwarf_released;    /* DWARF released while idle (addresses kept) */
		uint64_t dwarf_reloaded;    /* and read again for a new address */
		uint64_t dwarf_copies;	    /* DWARF read from a copy in the scratch directory */
		uint64_t dwarf_in_heap;	    /* DWARF decompressed in the heap: no copy made */
		uint64_t dwarf_resets;	    /* parsed units dropped over --lines-memory */
	} * stats;
};

/* The inline chain at vaddr (an ELF virtual address of o), innermost first, from the DWARF
 * of the file itself, of its local debug file (build-id or .gnu_debuglink, through the
 * process's root), or of one opts->fetch brings; *frames is valid until the next call into
 * the object layer. Returns how many frames (0: the DWARF does not cover vaddr), -ENODATA
 * when o has no debug info (remembered), -EAGAIN while a fetch may bring it, -errno. */
int object__lines(struct object *o, uint64_t vaddr, const struct object_lines_opts *opts,
		  const struct dwarf_line_frame **frames);
/* Releases o's DWARF when no address missed its cache for idle_ns (the frames of those it
 * answered stay); lowers o->cost, which the caller passes on to the budget. True if released. */
bool object__release_idle_lines(struct object *o, uint64_t now_ns, uint64_t idle_ns);

#endif

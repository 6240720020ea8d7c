/* SPDX-License-Identifier: BSD-2-Clause */
/* Compact unwind tables from an ELF file's call frame information (.eh_frame, else
 * .debug_frame), read through libdw's CFI API, with rules deduplicated into a shared set. */
#ifndef STOKER_UNWIND_TABLE_H
#define STOKER_UNWIND_TABLE_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unwind_abi.h"

/* The rule set shared by every table: index = position in the BPF rule array. */
struct unwind_rules {
	struct stoker_unwind_rule rules[STOKER_UNWIND_MAX_RULES];
	uint32_t n;				     /* rules in use; rules[0] is INVALID */
	uint32_t slots[2 * STOKER_UNWIND_MAX_RULES]; /* open addressing, 0 = empty, else idx+1 */
	uint64_t full;				     /* rules that did not fit (became INVALID) */
};

void unwind_rules__init(struct unwind_rules *r);
/* Index of rule, adding it if new; 0 (INVALID) when the set is full. */
uint32_t unwind_rules__intern(struct unwind_rules *r, const struct stoker_unwind_rule *rule);

#define UNWIND_MAX_SEGMENTS 8

struct unwind_table {
	struct stoker_unwind_row *rows; /* sorted by pc, no two neighbours with the same rule */
	size_t nrows;
	const char *source;    /* "eh_frame", "debug_frame" or "none" */
	size_t fdes;	       /* FDEs read */
	size_t fp_fdes;	       /* FDEs whose body keeps CFA = FP + 16 (a frame-pointer build) */
	size_t bad_fdes;       /* FDEs skipped as unreadable */
	size_t capped_fdes;    /* FDEs cut short by the replay budgets below */
	uint64_t cfi_replayed; /* CFI bytes interpreted to build it */
	struct stoker_unwind_seg segs[UNWIND_MAX_SEGMENTS];
	size_t nsegs;
};

/* Bounded CPU per file: libdw re-interprets an FDE's instructions from its start for each of
 * its rows, so an FDE padded with DW_CFA_nop costs its length per row. Bytes interpreted are
 * capped per FDE, and per file in proportion to its CFI section: distribution files need 11
 * (python3, libc) to about 40 (gcc's cc1) times its size; the largest here, rustc's driver
 * library with 1.4 million rows, 140 MiB in all. */
#define UNWIND_CFI_BYTES_PER_FDE      (4u << 20)
#define UNWIND_CFI_BYTES_PER_FILE_MIN (4u << 20)
#define UNWIND_CFI_REPLAY_PER_BYTE    64
#define UNWIND_CFI_BYTES_PER_FILE     (256u << 20)

struct unwind_table_opts {
	size_t max_rows; /* 0: 4M; more is -E2BIG */
	/* Also read .debug_frame when .eh_frame is missing (needs a Dwarf handle). */
	bool debug_frame;
	/* Asked for the bytes the rows will hold before each growth of their array, so a cache
	 * makes room before the allocation rather than after; a negative answer ends the build
	 * with -EDQUOT. NULL: not asked. */
	int (*reserve)(void *ctx, size_t bytes);
	void *reserve_ctx;
};

/* Builds the table of elf. Returns 0 (a file without any CFI yields 0 rows and source
 * "none"), -ENOEXEC for an unusable ELF, -E2BIG past max_rows, -EDQUOT when reserve refused,
 * -ENOMEM. Never crashes on
 * malformed input. On error *out is left empty. */
int unwind_table__build(Elf *elf, struct unwind_rules *rules, const struct unwind_table_opts *opts,
			struct unwind_table *out);
void unwind_table__free(struct unwind_table *t);

/* The runtime-minus-file address of a mapping that starts at start with file offset pgoff, of
 * a file with these executable segments. Returns 0 or -ENOENT when no segment holds pgoff. */
int unwind_segments_bias(const struct stoker_unwind_seg *segs, size_t nsegs, uint64_t start,
			 uint64_t pgoff, uint64_t *bias);

/* The row for file address pc, or NULL (before the first row). */
const struct stoker_unwind_row *unwind_table__find(const struct unwind_table *t, uint64_t pc);

#endif

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The table unwinder's ABI: rows, rules and the keys and values of the maps through which the
 * agent (agent/unwind_loader.c) hands compact CFI tables to the BPF walker (bpf/unwind.bpf.h). */
#ifndef STOKER_UNWIND_ABI_H
#define STOKER_UNWIND_ABI_H

#ifdef __BPF__
/* vmlinux.h already provides __u8 .. __u64 */
#else
#include <linux/types.h>
#endif

/* Rows are found by page: the page index names the rows of one 64 KiB page of a file's
 * addresses (plus the row that starts before it), so one binary search covers at most
 * 2^16 + 1 rows: STOKER_UNWIND_BSEARCH_STEPS halvings. */
#define STOKER_UNWIND_PAGE_SHIFT    16
#define STOKER_UNWIND_BSEARCH_STEPS 17

/* Rules are deduplicated across every file (a few hundred distinct ones per file); the table
 * is global and never shrinks. Rule 0 is STOKER_CFA_INVALID. */
#define STOKER_UNWIND_MAX_RULES 32768

/* Rows live in chunks, the values of a hash map without preallocation: memory is taken as
 * tables are loaded and given back when they are evicted, so an idle host pays for the rows
 * it uses. 504 rows (4032 bytes) and the kernel's element header fill one 4 KiB allocation.
 * A table starts at a chunk's first row; row i of the pool is row i % CHUNK_ROWS of chunk
 * i / CHUNK_ROWS. */
#define STOKER_UNWIND_CHUNK_ROWS  504
#define STOKER_UNWIND_CHUNK_BYTES 4096 /* what one chunk costs the kernel */
/* Default number of chunks: 32 MiB; --unwind-table-memory. */
#define STOKER_UNWIND_DEFAULT_CHUNKS 8192
#define STOKER_UNWIND_MAX_PAGES	     65536	/* page index entries */
#define STOKER_UNWIND_MAX_MAPPINGS   (1u << 18) /* (pid, address range) prefixes */
#define STOKER_UNWIND_MAX_FILES	     4096	/* files with rows, by (device, inode) */
#define STOKER_UNWIND_FILE_SEGS	     4		/* executable PT_LOADs a file entry places */

/* Frames the walker handles per program before it tail-calls itself. */
#define STOKER_UNWIND_FRAMES_PER_PROG 8

/* How the canonical frame address (the caller's stack pointer) is found. */
enum stoker_cfa_type {
	STOKER_CFA_INVALID = 0, /* no usable rule here (gap between FDEs, unsupported
				 * expression): try frame pointers */
	STOKER_CFA_REG = 1,	/* CFA = reg + cfa_off */
	STOKER_CFA_DEREF = 2,	/* CFA = *(reg + cfa_off) + cfa_add (stack realignment) */
	STOKER_CFA_PLT = 3,	/* CFA = sp + cfa_off, + 8 when (pc & 15) >= cfa_add */
	STOKER_CFA_SIGNAL = 4,	/* signal trampoline: registers from the ucontext at sp */
	STOKER_CFA_END = 5,	/* return address undefined: the outermost frame */
};

/* Registers a rule may name. Architecture-neutral names: on x86-64 SP is rsp (DWARF 7) and
 * FP is rbp (DWARF 6); arm64 would map them to sp (31) and x29, and also needs the link
 * register (x30) for the leaf frame, which x86-64 never does. */
enum stoker_unwind_reg {
	STOKER_REG_SP = 0,
	STOKER_REG_FP = 1,
};

/* Where the caller's frame pointer is. */
enum stoker_fp_rule {
	STOKER_FP_SAME = 0,	 /* unchanged in this frame */
	STOKER_FP_AT_CFA = 1,	 /* saved at CFA + fp_off */
	STOKER_FP_UNDEFINED = 2, /* lost: frame-pointer fallback is impossible above */
};

struct stoker_unwind_rule {
	__u8 cfa_type; /* enum stoker_cfa_type */
	__u8 cfa_reg;  /* enum stoker_unwind_reg */
	__u8 fp_rule;  /* enum stoker_fp_rule */
	__u8 pad;
	__s32 cfa_off;
	__s32 cfa_add;
	__s32 fp_off;
};

/* One row: from file address pc (an ELF virtual address) up to the next row's pc, rule applies. */
struct stoker_unwind_row {
	__u32 pc;
	__u32 rule;
};

struct stoker_unwind_chunk {
	struct stoker_unwind_row rows[STOKER_UNWIND_CHUNK_ROWS];
};

struct stoker_unwind_page_key {
	__u64 table_id; /* hash of the file's build-id, else of (dev, inode, size, mtime) */
	__u64 page;	/* file address >> STOKER_UNWIND_PAGE_SHIFT */
};

struct stoker_unwind_page {
	__u32 first; /* index of the first row in the row pool (over every chunk) */
	__u32 count; /* rows to search, >= 1 */
};

/* LPM trie key: pid and address, big-endian so that a prefix of the key is a prefix of the
 * bits. prefixlen 32 alone matches every address of a registered process. */
struct stoker_unwind_map_key {
	__u32 prefixlen;
	__u32 pid_be;
	__u64 addr_be;
};

enum stoker_unwind_map_flags {
	STOKER_UMAP_TABLE = 1u << 0, /* table_id has rows loaded */
	STOKER_UMAP_FP = 1u << 1,    /* no table (JIT code, file without CFI): frame pointers */
	STOKER_UMAP_PROC = 1u << 2,  /* the /32 entry of a process: the address is in no known
				      * executable mapping (dlopen since the last scan) */
};

struct stoker_unwind_map_val {
	__u64 table_id;
	__u64 bias; /* runtime address - file address */
	__u32 flags;
	__u32 pad;
	/* The whole range the entry is a prefix of: the walker reuses the value for the next
	 * frame while its address stays inside, without another trie lookup. */
	__u64 start, end;
};

/* A file whose rows are loaded, by the identity the kernel's VMA gives (the device as
 * /proc/PID/maps prints it, MAJOR:MINOR of the inode's super block, and the inode number): a
 * process not yet registered (sampled between its exec and the agent's scan) is walked from
 * its first sample through bpf_find_vma and this map. */
struct stoker_unwind_file_key {
	__u32 major, minor;
	__u64 inode;
};

struct stoker_unwind_seg {
	__u64 offset, vaddr, filesz; /* an executable PT_LOAD */
};

struct stoker_unwind_file_val {
	__u64 table_id;
	__u32 nsegs;
	__u32 pad;
	struct stoker_unwind_seg segs[STOKER_UNWIND_FILE_SEGS];
};

/* Where a mapping of a file at runtime address start, from file offset pgoff (bytes), places
 * the file when seg holds that offset: *bias = runtime address - file address, and true.
 * The one rule for the agent's registrations and the walker's VMA lookups. */
static inline __attribute__((always_inline)) int
stoker_unwind_seg_bias(const struct stoker_unwind_seg *seg, __u64 start, __u64 pgoff, __u64 *bias)
{
	if (pgoff < (seg->offset & ~0xfffull) || pgoff >= seg->offset + seg->filesz)
		return 0;
	*bias = start - pgoff + seg->offset - seg->vaddr;
	return 1;
}

/* Why a table walk of the user stack ended: in every sample (stoker_sample.unwind_stop). */
enum stoker_unwind_stop {
	STOKER_USTOP_NONE = 0,	     /* no table walk (frame-pointer mode, kernel thread) */
	STOKER_USTOP_END = 1,	     /* reached the outermost frame: complete */
	STOKER_USTOP_DEPTH = 2,	     /* hit the depth limit: truncated */
	STOKER_USTOP_READ_FAULT = 3, /* stack memory unreadable (paged out): truncated */
	STOKER_USTOP_FP_FAILED = 4,  /* no table and the frame-pointer chain broke: truncated */
	STOKER_USTOP_BAD_RULE = 5,   /* rule that cannot be followed: truncated */
	STOKER_USTOP_NO_REGS = 6,    /* user registers unavailable: truncated */
};

/* Sample flags of the unwinder (bits 8..15 of stoker_sample.flags). */
enum stoker_unwind_sample_flags {
	STOKER_SF_UNWIND_PENDING = 1u << 8,    /* process not yet registered: frame pointers only */
	STOKER_SF_UNWIND_NO_MAPPING = 1u << 9, /* a pc outside every known mapping: rescan */
	STOKER_SF_UNWIND_TABLES = 1u << 10,    /* the user stack was walked by the table walker */
	STOKER_SF_UNWIND_VMA = 1u << 11,       /* process not yet registered: its files' tables
						* found through the kernel's VMAs */
	STOKER_SF_UNWIND_IN_EXEC = 1u << 12,   /* inside execve: the user registers were the
						* replaced program's, no user stack recorded */
};

_Static_assert(sizeof(struct stoker_unwind_rule) == 16, "rule layout");
_Static_assert(sizeof(struct stoker_unwind_row) == 8, "row layout");
_Static_assert(sizeof(struct stoker_unwind_chunk) == 4032, "chunk layout");
_Static_assert(sizeof(struct stoker_unwind_map_key) == 16, "map key layout");
_Static_assert(sizeof(struct stoker_unwind_map_val) == 40, "map value layout");
_Static_assert(sizeof(struct stoker_unwind_file_key) == 16, "file key layout");
_Static_assert(sizeof(struct stoker_unwind_file_val) == 16 + 24 * STOKER_UNWIND_FILE_SEGS,
	       "file value layout");

#endif /* STOKER_UNWIND_ABI_H */

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The user-stack table walker: from the user registers of the sampled task, one binary search
 * per frame in the rows the agent loaded (include/unwind_abi.h), frame pointers where no table
 * covers the code. Included once, by sampler.bpf.c, which defines unwind_user(). */
#ifndef STOKER_UNWIND_BPF_H
#define STOKER_UNWIND_BPF_H

/* The walker reads x86-64 registers (pt_regs ip/sp/bp, cs for the privilege level) and the
 * x86-64 signal frame; rows carry x86-64 CFA rules. Another architecture needs its own
 * user_regs(), SIGCONTEXT_* and DWARF register numbers (agent/unwind/unwind_table.c). */
#if !defined(__TARGET_ARCH_x86)
#error "bpf/unwind.bpf.h walks x86-64 user stacks only: see the comment above to port it"
#endif

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "sampler_abi.h"
#include "unwind_abi.h"

/* Configured by the agent between open and load. */
const volatile bool unwind_tables = false;     /* --unwind auto */
const volatile bool have_task_pt_regs = false; /* bpf_task_pt_regs exists (5.15+) */
const volatile bool have_find_vma = false;     /* bpf_find_vma exists (5.17+) */
const volatile __u32 max_user_frames = STOKER_MAX_STACK_DEPTH;

/* Every loaded file's rows, in chunks the agent adds and deletes as tables come and go. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, STOKER_UNWIND_DEFAULT_CHUNKS);
	__type(key, __u32);
	__type(value, struct stoker_unwind_chunk);
} unwind_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STOKER_UNWIND_MAX_RULES);
	__type(key, __u32);
	__type(value, struct stoker_unwind_rule);
} unwind_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, STOKER_UNWIND_MAX_PAGES);
	__type(key, struct stoker_unwind_page_key);
	__type(value, struct stoker_unwind_page);
} unwind_pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, STOKER_UNWIND_MAX_MAPPINGS);
	__type(key, struct stoker_unwind_map_key);
	__type(value, struct stoker_unwind_map_val);
} unwind_mappings SEC(".maps");

/* The files whose rows are loaded, by (device, inode): for processes not registered yet. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, STOKER_UNWIND_MAX_FILES);
	__type(key, struct stoker_unwind_file_key);
	__type(value, struct stoker_unwind_file_val);
} unwind_files SEC(".maps");

/* Where a walk is between tail calls. */
struct stoker_walk {
	__u64 pc, sp, bp;
	__u32 klen; /* kernel frames before the user ones in ips[] */
	__u32 n;    /* user frames so far */
	__u32 tail_calls;
	__u32 frames_fp;
	__u32 frames_table;
	__u32 table_misses;
	__u32 row_off; /* row_at()'s offset in its chunk */
	__u32 map_pid; /* whose registered mappings the walk uses (unwind_map_pid) */
	bool exact_pc; /* pc is where execution stopped (leaf, signal), not a return address */
	/* The last frame's mapping (map.end 0: none yet) and page: a caller is often in the
	 * same file, and often in the same 64 KiB of it, so most frames skip the trie and the
	 * page lookup. */
	struct stoker_unwind_map_val map;
	struct stoker_unwind_page_key pg_key;
	struct stoker_unwind_page pg; /* pg.count 0: none yet */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stoker_walk);
} unwind_scratch SEC(".maps");

int unwind_user(struct bpf_perf_event_data *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__array(values, int(void *));
} unwind_progs SEC(".maps") = {
	.values = { [0] = (void *)&unwind_user },
};

/* 127 frames at 8 per program: 16 calls, well under the kernel's 33 */
#define UNWIND_MAX_TAIL_CALLS (STOKER_MAX_STACK_DEPTH / STOKER_UNWIND_FRAMES_PER_PROG + 1)

/* x86-64 signal frame: at the trampoline, sp points at the ucontext, whose uc_mcontext
 * (struct sigcontext) starts 40 bytes in; rbp, rsp and rip are its 11th, 16th and 17th
 * words. arm64 differs (sigframe at sp, regs from offset 312). */
#define SIGFRAME_MCONTEXT 40
#define SIGCONTEXT_BP	  (SIGFRAME_MCONTEXT + 10 * 8)
#define SIGCONTEXT_SP	  (SIGFRAME_MCONTEXT + 15 * 8)
#define SIGCONTEXT_IP	  (SIGFRAME_MCONTEXT + 16 * 8)

static __always_inline int read_u64(__u64 *dst, __u64 addr)
{
	return bpf_probe_read_user(dst, sizeof(*dst), (const void *)addr);
}

/* The user registers at the moment of the sample: ctx->regs when the CPU was in user mode,
 * else those the kernel saved at its entry (the task was in a syscall or an interrupt). */
static __always_inline bool user_regs(struct bpf_perf_event_data *ctx, struct stoker_walk *st)
{
	/* perf_event context fields may only be read as whole 8-byte words */
	__u64 cs = *(__u64 *)((char *)&ctx->regs + __builtin_offsetof(struct pt_regs, cs));

	if ((cs & 3) == 3) {
		st->pc = ctx->regs.ip;
		st->sp = ctx->regs.sp;
		st->bp = ctx->regs.bp;
		return true;
	}
	if (have_task_pt_regs) {
		struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

		if (!r || (BPF_CORE_READ(r, cs) & 3) != 3)
			return false;
		st->pc = BPF_CORE_READ(r, ip);
		st->sp = BPF_CORE_READ(r, sp);
		st->bp = BPF_CORE_READ(r, bp);
		return true;
	}
	return false;
}

/* The chunk a search last looked up: rows a binary search visits after its first few
 * halvings are in one chunk, so one hash lookup serves most of a frame's 17 probes. */
struct chunk_ref {
	struct stoker_unwind_chunk *chunk;
	__u32 c;
};

/* Row idx of the pool: row idx % CHUNK_ROWS of chunk idx / CHUNK_ROWS. */
static __always_inline struct stoker_unwind_row *row_at(struct stoker_walk *st,
							struct chunk_ref *ref, __u32 idx)
{
	__u32 c = idx / STOKER_UNWIND_CHUNK_ROWS, off;
	struct stoker_unwind_chunk *chunk = ref->chunk;

	if (!chunk || ref->c != c) {
		chunk = bpf_map_lookup_elem(&unwind_rows, &c);
		if (!chunk)
			return NULL;
		ref->chunk = chunk;
		ref->c = c;
	}
	/* Through memory: the check below alone then bounds the offset for the verifier, which
	 * would otherwise track the search's lo and hi precisely and could not prune it. */
	*(volatile __u32 *)&st->row_off = idx - c * STOKER_UNWIND_CHUNK_ROWS;
	off = *(volatile __u32 *)&st->row_off;
	if (off >= STOKER_UNWIND_CHUNK_ROWS)
		return NULL;
	return &chunk->rows[off];
}

/* Whose registration covers pid's code: its own, else, for a child that has not exec'ed
 * since its fork (its mappings are still its parent's), its parent's while the parent has not
 * exec'ed either. A forked process then unwinds from its first sample, before the agent has
 * heard of it; an address it mapped since is outside the parent's ranges (NO_MAPPING). */
static __always_inline __u32 unwind_map_pid(__u32 pid)
{
	struct stoker_unwind_map_key k = { .prefixlen = 32, .pid_be = bpf_htonl(pid) };
	struct task_struct *task, *parent;
	__u64 forked_at;

	if (bpf_map_lookup_elem(&unwind_mappings, &k))
		return pid;
	task = (struct task_struct *)bpf_get_current_task();
	forked_at = BPF_CORE_READ(task, parent_exec_id);
	if (BPF_CORE_READ(task, self_exec_id) != forked_at)
		return pid;
	parent = BPF_CORE_READ(task, real_parent);
	if (!parent || BPF_CORE_READ(parent, self_exec_id) != forked_at)
		return pid;
	return BPF_CORE_READ(parent, tgid);
}

/* What bpf_find_vma's callback reads of the VMA holding an address. */
struct vma_found {
	__u64 start, end, pgoff;
	struct stoker_unwind_file_key key;
	bool file;
};

static long vma_found_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_found *v = data;
	struct file *file = BPF_CORE_READ(vma, vm_file);
	dev_t dev;

	if (!file)
		return 0;
	dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	v->key.major = dev >> 20; /* the kernel's MAJOR() and MINOR(), as /proc/PID/maps */
	v->key.minor = dev & 0xfffff;
	v->key.inode = BPF_CORE_READ(file, f_inode, i_ino);
	v->start = BPF_CORE_READ(vma, vm_start);
	v->end = BPF_CORE_READ(vma, vm_end);
	v->pgoff = BPF_CORE_READ(vma, vm_pgoff);
	v->file = true;
	return 0;
}

#ifndef ENOENT
#define ENOENT 2 /* vmlinux.h has no errno values: bpf_find_vma's "no VMA holds the address" */
#endif

enum { VMA_UNMAPPED = -1, VMA_UNKNOWN = 0, VMA_FOUND = 1 };

/* The mapping of pc in a process the agent has not registered yet (sampled between its exec
 * and the agent's scan of its maps): the file the kernel's VMA maps there, if its rows are
 * loaded, placed as the agent would place it (unwind_segments_bias). VMA_UNMAPPED when no VMA
 * holds pc at all. */
static __always_inline int vma_mapping(struct stoker_walk *st, __u64 pc)
{
	struct stoker_unwind_file_val *f;
	struct vma_found v = {};
	long err;
	__u64 off;

	if (!have_find_vma)
		return VMA_UNKNOWN;
	err = bpf_find_vma(bpf_get_current_task_btf(), pc, vma_found_cb, &v, 0);
	if (err == -ENOENT)
		return VMA_UNMAPPED;
	if (err || !v.file)
		return VMA_UNKNOWN;
	f = bpf_map_lookup_elem(&unwind_files, &v.key);
	if (!f)
		return VMA_UNKNOWN;
	off = v.pgoff << 12;
	for (int i = 0; i < STOKER_UNWIND_FILE_SEGS; i++) {
		if (i >= f->nsegs)
			break;
		if (stoker_unwind_seg_bias(&f->segs[i], v.start, off, &st->map.bias)) {
			st->map.table_id = f->table_id;
			st->map.flags = STOKER_UMAP_TABLE;
			st->map.start = v.start;
			st->map.end = v.end;
			return VMA_FOUND;
		}
	}
	return VMA_UNKNOWN;
}

/* The last row at or before rel in the page's rows; NULL when rel precedes them all. */
static __always_inline struct stoker_unwind_row *
find_row(struct stoker_walk *st, const struct stoker_unwind_page *pg, __u32 rel)
{
	__u32 lo = 0, hi = pg->count;
	struct chunk_ref ref = {};

	for (int i = 0; i < STOKER_UNWIND_BSEARCH_STEPS; i++) {
		__u32 mid;
		struct stoker_unwind_row *row;

		if (lo >= hi)
			break;
		mid = lo + (hi - lo) / 2;
		row = row_at(st, &ref, pg->first + mid);
		if (!row)
			return NULL;
		if (row->pc <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	return row_at(st, &ref, pg->first + lo - 1);
}

/* One frame up. Returns 0 to go on, or an enum stoker_unwind_stop. */
static __always_inline int unwind_step(struct stoker_walk *st, struct stoker_sample *s)
{
	struct stoker_unwind_map_key mk = { .prefixlen = 96 };
	struct stoker_unwind_page_key pk;
	struct stoker_unwind_map_val *m;
	struct stoker_unwind_page *pg;
	struct stoker_unwind_row *row;
	struct stoker_unwind_rule *rule;
	__u64 pc = st->exact_pc ? st->pc : st->pc - 1, cfa, ra, bp = st->bp;
	__u32 rule_idx;

	if (!(st->map.end && pc >= st->map.start && pc < st->map.end)) {
		mk.pid_be = bpf_htonl(st->map_pid);
		mk.addr_be = bpf_cpu_to_be64(pc);
		m = bpf_map_lookup_elem(&unwind_mappings, &mk);
		if (!m) {
			int found = vma_mapping(st, pc);

			if (found == VMA_UNMAPPED && st->n == 1) {
				/* the leaf is mapped nowhere in this address space: the registers
				 * of a program execve replaced, sampled before the new one's first
				 * instruction. No user stack exists: the kernel's frames say it. */
				st->n = 0;
				s->flags |= STOKER_SF_UNWIND_IN_EXEC;
				return STOKER_USTOP_END;
			}
			if (found != VMA_FOUND) {
				s->flags |= STOKER_SF_UNWIND_PENDING;
				goto fp;
			}
			s->flags |= STOKER_SF_UNWIND_VMA;
		} else if (m->flags & STOKER_UMAP_PROC) {
			s->flags |= STOKER_SF_UNWIND_NO_MAPPING;
			goto fp;
		} else {
			st->map = *m;
		}
	}
	if (!(st->map.flags & STOKER_UMAP_TABLE))
		goto fp;
	pc -= st->map.bias;
	if (pc > 0xffffffffull) {
		st->table_misses++;
		goto fp;
	}
	pk.table_id = st->map.table_id;
	pk.page = pc >> STOKER_UNWIND_PAGE_SHIFT;
	if (!st->pg.count || st->pg_key.table_id != pk.table_id || st->pg_key.page != pk.page) {
		pg = bpf_map_lookup_elem(&unwind_pages, &pk);
		if (!pg) {
			st->table_misses++;
			goto fp;
		}
		st->pg_key = pk;
		st->pg = *pg;
	}
	row = find_row(st, &st->pg, (__u32)pc);
	if (!row) {
		st->table_misses++;
		goto fp;
	}
	rule_idx = row->rule;
	rule = bpf_map_lookup_elem(&unwind_rules, &rule_idx);
	if (!rule)
		return STOKER_USTOP_BAD_RULE;

	switch (rule->cfa_type) {
	case STOKER_CFA_INVALID:
		goto fp;
	case STOKER_CFA_END:
		return STOKER_USTOP_END;
	case STOKER_CFA_SIGNAL:
		if (read_u64(&bp, st->sp + SIGCONTEXT_BP) ||
		    read_u64(&cfa, st->sp + SIGCONTEXT_SP) || read_u64(&ra, st->sp + SIGCONTEXT_IP))
			return STOKER_USTOP_READ_FAULT;
		st->sp = cfa;
		st->bp = bp;
		st->pc = ra;
		st->exact_pc = true; /* the interrupted instruction, not a return address */
		st->frames_table++;
		return ra ? 0 : STOKER_USTOP_END;
	case STOKER_CFA_REG:
		cfa = (rule->cfa_reg == STOKER_REG_FP ? st->bp : st->sp) + (__s64)rule->cfa_off;
		break;
	case STOKER_CFA_DEREF:
		if (read_u64(&cfa, (rule->cfa_reg == STOKER_REG_FP ? st->bp : st->sp) +
				       (__s64)rule->cfa_off))
			return STOKER_USTOP_READ_FAULT;
		cfa += (__s64)rule->cfa_add;
		break;
	case STOKER_CFA_PLT:
		cfa =
		    st->sp + (__s64)rule->cfa_off + ((st->pc & 15) >= (__u64)rule->cfa_add ? 8 : 0);
		break;
	default:
		return STOKER_USTOP_BAD_RULE;
	}
	if (read_u64(&ra, cfa - 8))
		return STOKER_USTOP_READ_FAULT;
	if (rule->fp_rule == STOKER_FP_AT_CFA) {
		if (read_u64(&bp, cfa + (__s64)rule->fp_off))
			return STOKER_USTOP_READ_FAULT;
	} else if (rule->fp_rule == STOKER_FP_UNDEFINED) {
		bp = 0;
	}
	st->sp = cfa;
	st->bp = bp;
	st->pc = ra;
	st->exact_pc = false;
	st->frames_table++;
	return ra ? 0 : STOKER_USTOP_END;

fp:
	/* No table here: the frame-pointer chain, which must grow towards the stack's base. */
	if (st->bp == 0)
		return STOKER_USTOP_END;
	if (read_u64(&bp, st->bp) || read_u64(&ra, st->bp + 8))
		return STOKER_USTOP_FP_FAILED;
	if (bp && bp <= st->bp)
		return STOKER_USTOP_FP_FAILED;
	st->sp = st->bp + 16;
	st->bp = bp;
	st->pc = ra;
	st->exact_pc = false;
	st->frames_fp++;
	return ra ? 0 : STOKER_USTOP_END;
}

/* Appends st->pc as the next user frame. Returns 0, or STOKER_USTOP_DEPTH when full. */
static __always_inline int push_frame(struct stoker_walk *st, struct stoker_sample *s)
{
	__u32 idx = st->klen + st->n;

	if (st->n >= max_user_frames || st->n >= STOKER_MAX_STACK_DEPTH ||
	    idx >= 2 * STOKER_MAX_STACK_DEPTH)
		return STOKER_USTOP_DEPTH;
	s->ips[idx] = st->pc;
	st->n++;
	return 0;
}

#endif /* STOKER_UNWIND_BPF_H */

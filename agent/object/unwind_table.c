/* SPDX-License-Identifier: BSD-2-Clause */
/* Compact unwind tables from an ELF file's call frame information: libdw interprets the CFI
 * (no DWARF expression evaluator of our own); this file only classifies what libdw says. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "object/elf_symbols.h"
#include "object/elf_open.h"
#include "object/unwind_table.h"

/* DWARF register numbers of x86-64 (arm64: sp 31, fp 29, return address 30). */
#define DWARF_REG_FP 6
#define DWARF_REG_SP 7
#define DWARF_REG_RA 16

#define DEFAULT_MAX_ROWS (4u << 20)
/* libdw replays an FDE's program from its start for every row: cap rows per FDE so a crafted
 * FDE cannot make that quadratic cost unbounded (real functions have tens). */
#define MAX_ROWS_PER_FDE 4096
#define MAX_CIES	 65536

void unwind_rules__init(struct unwind_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->n = 1; /* rule 0: INVALID, all zero */
}

static uint64_t rule_hash(const struct stoker_unwind_rule *rule)
{
	uint64_t h = 1469598103934665603ull;
	const unsigned char *p = (const unsigned char *)rule;

	for (size_t i = 0; i < sizeof(*rule); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

uint32_t unwind_rules__intern(struct unwind_rules *r, const struct stoker_unwind_rule *rule)
{
	const size_t nslots = sizeof(r->slots) / sizeof(r->slots[0]);
	size_t i = rule_hash(rule) & (nslots - 1);
	struct stoker_unwind_rule zero = { 0 };

	if (!memcmp(rule, &zero, sizeof(zero)))
		return 0;
	for (;;) {
		uint32_t s = r->slots[i];

		if (!s)
			break;
		if (!memcmp(&r->rules[s - 1], rule, sizeof(*rule)))
			return s - 1;
		i = (i + 1) & (nslots - 1);
	}
	if (r->n >= STOKER_UNWIND_MAX_RULES) {
		r->full++;
		return 0;
	}
	r->rules[r->n] = *rule;
	r->slots[i] = r->n + 1;
	return r->n++;
}

struct cie_info {
	Dwarf_Off offset;
	uint8_t fde_enc;
};

struct builder {
	struct unwind_rules *rules;
	struct stoker_unwind_row *rows;
	size_t nrows, cap, max_rows;
	const struct unwind_table_opts *opts;
	struct cie_info *cies;
	size_t ncies, cie_cap;
	bool overflow;
	uint64_t replayed, replay_budget; /* CFI bytes libdw has interpreted for this file */
};

static int push_row(struct builder *b, uint64_t pc, uint32_t rule)
{
	if (pc > UINT32_MAX)
		return 0; /* beyond what a row can name: such code unwinds by frame pointers */
	if (b->nrows >= b->max_rows) {
		b->overflow = true;
		return -E2BIG;
	}
	if (b->nrows == b->cap && b->opts && b->opts->reserve) {
		/* the capacity the array grows to, asked for before it is allocated */
		size_t next = array_grown_cap(b->cap, b->nrows + 1, b->max_rows);

		if (b->opts->reserve(b->opts->reserve_ctx, next * sizeof(b->rows[0])) < 0)
			return -EDQUOT;
	}
	if (ARRAY_RESERVE_MAX(b->rows, b->cap, b->nrows + 1, b->max_rows))
		return -ENOMEM;
	b->rows[b->nrows].pc = (uint32_t)pc;
	b->rows[b->nrows].rule = rule;
	b->nrows++;
	return 0;
}

/* Reads an n-byte (2, 4 or 8) value at *q in host order, sign-extended when sign, and steps
 * past it. Returns 0, or -EINVAL when fewer than n bytes are left. */
static int read_fixed(const uint8_t **q, const uint8_t *end, int n, bool sign, uint64_t *v)
{
	if (end - *q < n)
		return -EINVAL;
	if (n == 2) {
		uint16_t x;

		memcpy(&x, *q, 2);
		*v = sign ? (uint64_t)(int64_t)(int16_t)x : x;
	} else if (n == 4) {
		uint32_t x;

		memcpy(&x, *q, 4);
		*v = sign ? (uint64_t)(int64_t)(int32_t)x : x;
	} else {
		memcpy(v, *q, 8);
	}
	*q += n;
	return 0;
}

/* Reads a DW_EH_PE-encoded pointer at *p. field_addr is the address the field would have when
 * loaded (for pcrel). Returns 0, or -EINVAL for an encoding we do not follow. */
static int read_encoded(const uint8_t **p, const uint8_t *end, uint8_t enc, uint64_t field_addr,
			int addr_size, bool apply, uint64_t *out)
{
	const uint8_t *q = *p;
	uint64_t v = 0;
	int shift = 0;

	if (enc == DW_EH_PE_omit)
		return -EINVAL;
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
		if (read_fixed(&q, end, addr_size == 8 ? 8 : 4, false, &v))
			return -EINVAL;
		break;
	case DW_EH_PE_uleb128:
	case DW_EH_PE_sleb128: {
		uint8_t byte = 0x80;

		while (q < end && (byte & 0x80) && shift < 64) {
			byte = *q++;
			v |= (uint64_t)(byte & 0x7f) << shift;
			shift += 7;
		}
		if (byte & 0x80)
			return -EINVAL;
		if ((enc & 0x0f) == DW_EH_PE_sleb128 && shift < 64 && (byte & 0x40))
			v |= ~0ull << shift;
		break;
	}
	case DW_EH_PE_udata2:
	case DW_EH_PE_sdata2:
		if (read_fixed(&q, end, 2, (enc & 0x0f) == DW_EH_PE_sdata2, &v))
			return -EINVAL;
		break;
	case DW_EH_PE_udata4:
	case DW_EH_PE_sdata4:
		if (read_fixed(&q, end, 4, (enc & 0x0f) == DW_EH_PE_sdata4, &v))
			return -EINVAL;
		break;
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		if (read_fixed(&q, end, 8, false, &v))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (apply) {
		switch (enc & 0x70) {
		case DW_EH_PE_absptr:
			break;
		case DW_EH_PE_pcrel:
			v += field_addr;
			break;
		default:
			return -EINVAL; /* textrel/datarel/funcrel: not used for FDE addresses */
		}
		if (enc & DW_EH_PE_indirect)
			return -EINVAL;
	}
	*p = q;
	*out = v;
	return 0;
}

/* The FDE pointer encoding from a CIE's augmentation ("zR", "zPLR", "zRS", ...). */
static uint8_t cie_fde_encoding(const Dwarf_CIE *cie, int addr_size)
{
	const char *aug = cie->augmentation;
	const uint8_t *d = cie->augmentation_data;
	const uint8_t *end = d ? d + cie->augmentation_data_size : NULL;

	if (!aug || aug[0] != 'z' || !d)
		return DW_EH_PE_absptr;
	for (const char *a = aug + 1; *a; a++) {
		uint64_t ignored;

		switch (*a) {
		case 'R':
			return d < end ? *d : DW_EH_PE_absptr;
		case 'L':
			d++;
			break;
		case 'P':
			if (d >= end)
				return DW_EH_PE_absptr;
			{
				uint8_t penc = *d++;

				if (read_encoded(&d, end, penc & 0x0f, 0, addr_size, false,
						 &ignored))
					return DW_EH_PE_absptr;
			}
			break;
		case 'S':
		case 'B':
			break;
		default:
			return DW_EH_PE_absptr;
		}
		if (d > end)
			return DW_EH_PE_absptr;
	}
	return DW_EH_PE_absptr;
}

static int add_cie(struct builder *b, Dwarf_Off off, uint8_t enc)
{
	if (b->ncies >= MAX_CIES)
		return -E2BIG;
	if (ARRAY_RESERVE(b->cies, b->cie_cap, b->ncies + 1))
		return -ENOMEM;
	b->cies[b->ncies].offset = off;
	b->cies[b->ncies].fde_enc = enc;
	b->ncies++;
	return 0;
}

static const struct cie_info *find_cie(const struct builder *b, Dwarf_Off off)
{
	size_t lo = 0, hi = b->ncies;

	/* CIEs are recorded in section order, so offsets ascend */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->cies[mid].offset < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < b->ncies && b->cies[lo].offset == off ? &b->cies[lo] : NULL;
}

static bool op_breg(const Dwarf_Op *op, int *reg, int64_t *off)
{
	if (op->atom >= DW_OP_breg0 && op->atom <= DW_OP_breg31) {
		*reg = op->atom - DW_OP_breg0;
		*off = (int64_t)op->number;
		return true;
	}
	if (op->atom == DW_OP_bregx) {
		*reg = (int)op->number;
		*off = (int64_t)op->number2;
		return true;
	}
	return false;
}

static bool fits_s32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

static bool reg_of(int dwarf_reg, uint8_t *out)
{
	if (dwarf_reg == DWARF_REG_SP)
		*out = STOKER_REG_SP;
	else if (dwarf_reg == DWARF_REG_FP)
		*out = STOKER_REG_FP;
	else
		return false;
	return true;
}

/* The CFA part of a rule; false when the expression is not one the walker follows. */
static bool classify_cfa(Dwarf_Frame *fr, struct stoker_unwind_rule *r)
{
	Dwarf_Op *ops;
	size_t n;
	int reg;
	int64_t off;

	if (dwarf_frame_cfa(fr, &ops, &n) != 0 || n == 0)
		return false;
	if (!op_breg(&ops[0], &reg, &off) || !fits_s32(off) || !reg_of(reg, &r->cfa_reg))
		return false;
	r->cfa_off = (int32_t)off;
	if (n == 1) {
		r->cfa_type = STOKER_CFA_REG;
		return true;
	}
	/* -mstackrealign and friends: CFA = *(reg + off) [+ k] */
	if (ops[1].atom == DW_OP_deref &&
	    (n == 2 || (n == 3 && ops[2].atom == DW_OP_plus_uconst && ops[2].number < INT32_MAX))) {
		r->cfa_type = STOKER_CFA_DEREF;
		r->cfa_add = n == 3 ? (int32_t)ops[2].number : 0;
		return true;
	}
	/* The linker's PLT expression: rsp + off + ((rip & 15) >= k) << 3 */
	if (n == 9 && reg == DWARF_REG_SP && ops[1].atom == DW_OP_breg16 && ops[1].number == 0 &&
	    ops[2].atom == DW_OP_lit15 && ops[3].atom == DW_OP_and && ops[4].atom >= DW_OP_lit0 &&
	    ops[4].atom <= DW_OP_lit31 && ops[5].atom == DW_OP_ge && ops[6].atom == DW_OP_lit3 &&
	    ops[7].atom == DW_OP_shl && ops[8].atom == DW_OP_plus) {
		r->cfa_type = STOKER_CFA_PLT;
		r->cfa_add = ops[4].atom - DW_OP_lit0;
		return true;
	}
	return false;
}

/* A register saved at CFA + off: libdw says [call_frame_cfa] or [call_frame_cfa, plus_uconst]. */
static bool at_cfa(const Dwarf_Op *ops, size_t n, int64_t *off)
{
	if (n < 1 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (n == 1) {
		*off = 0;
		return true;
	}
	if (n == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*off = (int64_t)ops[1].number;
		return fits_s32(*off);
	}
	return false;
}

static struct stoker_unwind_rule classify(Dwarf_Frame *fr, bool signal)
{
	struct stoker_unwind_rule r = { 0 };
	Dwarf_Op mem[3], *ops;
	size_t n;
	int64_t off;

	if (signal) {
		r.cfa_type = STOKER_CFA_SIGNAL;
		return r;
	}
	if (dwarf_frame_register(fr, DWARF_REG_RA, mem, &ops, &n) != 0)
		return (struct stoker_unwind_rule){ 0 };
	if (n == 0 && ops == mem) {
		r.cfa_type = STOKER_CFA_END; /* RA undefined: nothing called this frame */
		return r;
	}
	/* x86-64 always finds the return address at CFA - 8; anything else is unusual enough
	 * to leave to the frame-pointer fallback. */
	if (!at_cfa(ops, n, &off) || off != -8)
		return (struct stoker_unwind_rule){ 0 };
	if (!classify_cfa(fr, &r))
		return (struct stoker_unwind_rule){ 0 };

	if (dwarf_frame_register(fr, DWARF_REG_FP, mem, &ops, &n) != 0)
		return (struct stoker_unwind_rule){ 0 };
	if (n == 0 && !ops)
		r.fp_rule = STOKER_FP_SAME;
	else if (n == 0)
		r.fp_rule = STOKER_FP_UNDEFINED;
	else if (at_cfa(ops, n, &off)) {
		r.fp_rule = STOKER_FP_AT_CFA;
		r.fp_off = (int32_t)off;
	} else
		r.fp_rule = STOKER_FP_UNDEFINED;
	return r;
}

/* Rows of one FDE covering [lo, hi), then a gap marker at hi (overridden if another FDE
 * starts there). libdw interprets the FDE's instructions from its start for every row, so a
 * row costs up to fde_bytes: the rows past the FDE's or the file's budget are left out (the
 * rest of the FDE unwinds by frame pointers) and *capped says so. */
static int fde_rows(struct builder *b, Dwarf_CFI *cfi, uint64_t lo, uint64_t hi, size_t fde_bytes,
		    bool *fp_built, bool *capped)
{
	uint64_t a = lo, fde_replayed = 0;
	size_t n = 0;
	int err;

	while (a < hi && n < MAX_ROWS_PER_FDE) {
		if (fde_replayed + fde_bytes > UNWIND_CFI_BYTES_PER_FDE ||
		    b->replayed + fde_bytes > b->replay_budget) {
			*capped = true;
			break;
		}
		fde_replayed += fde_bytes;
		b->replayed += fde_bytes;
		Dwarf_Frame *fr = NULL;
		Dwarf_Addr s, e;
		bool signal = false;
		struct stoker_unwind_rule r;

		if (dwarf_cfi_addrframe(cfi, a, &fr) != 0 || !fr)
			break;
		if (dwarf_frame_info(fr, &s, &e, &signal) < 0) {
			free(fr);
			break;
		}
		r = classify(fr, signal);
		free(fr);
		if (r.cfa_type == STOKER_CFA_REG && r.cfa_reg == STOKER_REG_FP && r.cfa_off == 16)
			*fp_built = true;
		err = push_row(b, a, unwind_rules__intern(b->rules, &r));
		if (err)
			return err;
		n++;
		if (e <= a)
			break;
		a = e;
	}
	if (*capped && a < hi) {
		err = push_row(b, a, 0);
		if (err)
			return err;
	}
	return push_row(b, hi, 0);
}

static int cmp_row(const void *x, const void *y)
{
	const struct stoker_unwind_row *a = x, *b = y;

	if (a->pc != b->pc)
		return a->pc < b->pc ? -1 : 1;
	/* at one address a real rule wins over the gap marker of the FDE that ended there */
	return (a->rule != 0) - (b->rule != 0);
}

static void sort_and_compact(struct builder *b)
{
	size_t out = 0;

	if (!b->nrows)
		return;
	qsort(b->rows, b->nrows, sizeof(b->rows[0]), cmp_row);
	for (size_t i = 0; i < b->nrows; i++) {
		if (out && b->rows[out - 1].pc == b->rows[i].pc) {
			b->rows[out - 1] = b->rows[i]; /* the last (preferred) one at this pc */
			if (out >= 2 && b->rows[out - 2].rule == b->rows[out - 1].rule)
				out--;
			continue;
		}
		if (out && b->rows[out - 1].rule == b->rows[i].rule)
			continue;
		b->rows[out++] = b->rows[i];
	}
	b->nrows = out;
}

static int scan_section(struct builder *b, Elf *elf, Elf_Scn *scn, bool eh_frame, Dwarf_CFI *cfi,
			struct unwind_table *t)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	int addr_size = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
	Dwarf_Off off = 0, next;
	GElf_Shdr sh;
	Elf_Data *data;
	int err = 0;

	if (!ident || !gelf_getshdr(scn, &sh))
		return -ENOEXEC;
	data = elf_section_data(scn, &sh, ELF_SECTION_READ_MAX);
	if (!data || !data->d_buf || data->d_size == 0)
		return 0;
	b->replay_budget =
	    UNWIND_CFI_BYTES_PER_FILE_MIN + (uint64_t)data->d_size * UNWIND_CFI_REPLAY_PER_BYTE;
	if (b->replay_budget > UNWIND_CFI_BYTES_PER_FILE)
		b->replay_budget = UNWIND_CFI_BYTES_PER_FILE;
	for (;;) {
		Dwarf_CFI_Entry ent;
		int rc = dwarf_next_cfi(ident, data, eh_frame, off, &next, &ent);

		if (rc > 0)
			break;
		if (rc < 0) {
			t->bad_fdes++;
			if (next == (Dwarf_Off)-1 || next <= off)
				break;
			off = next;
			continue;
		}
		if (dwarf_cfi_cie_p(&ent)) {
			err = add_cie(b, off,
				      eh_frame ? cie_fde_encoding(&ent.cie, addr_size)
					       : (uint8_t)DW_EH_PE_absptr);
			if (err)
				return err;
		} else {
			const struct cie_info *cie = find_cie(b, ent.fde.CIE_pointer);
			const uint8_t *p = ent.fde.start, *end = ent.fde.end;
			uint64_t field = sh.sh_addr + (uint64_t)(p - (const uint8_t *)data->d_buf);
			uint64_t lo, range;
			bool fp = false, capped = false;

			t->fdes++;
			if (!cie ||
			    read_encoded(&p, end, cie->fde_enc, field, addr_size, eh_frame, &lo) ||
			    read_encoded(&p, end, cie->fde_enc & 0x0f, 0, addr_size, false,
					 &range) ||
			    range == 0 || lo + range < lo) {
				t->bad_fdes++;
			} else {
				/* the CIE's initial instructions are replayed too: a few bytes */
				err = fde_rows(b, cfi, lo, lo + range,
					       (size_t)(ent.fde.end - ent.fde.start) + 16, &fp,
					       &capped);
				if (err)
					return err;
				t->fp_fdes += fp;
				t->capped_fdes += capped;
			}
		}
		if (next == (Dwarf_Off)-1 || next <= off)
			break;
		off = next;
	}
	return 0;
}

static void read_segments(Elf *elf, struct unwind_table *t)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return;
	for (size_t i = 0; i < n && t->nsegs < UNWIND_MAX_SEGMENTS; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		t->segs[t->nsegs++] =
		    (struct stoker_unwind_seg){ ph.p_offset, ph.p_vaddr, ph.p_filesz };
	}
}

int unwind_table__build(Elf *elf, struct unwind_rules *rules, const struct unwind_table_opts *opts,
			struct unwind_table *out)
{
	struct builder b = { .rules = rules, .opts = opts };
	Dwarf_CFI *cfi = NULL;
	Dwarf *dw = NULL;
	Elf_Scn *scn;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->source = "none";
	b.max_rows = opts && opts->max_rows ? opts->max_rows : DEFAULT_MAX_ROWS;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return -ENOEXEC;
	read_segments(elf, out);

	scn = elf_find_section(elf, 0, ".eh_frame", &sh);
	if (scn && !elf_cfi_fits(elf)) {
		err = -EFBIG;
		goto out;
	}
	if (scn) {
		cfi = dwarf_getcfi_elf(elf);
		if (cfi) {
			out->source = "eh_frame";
			err = scan_section(&b, elf, scn, true, cfi, out);
			dwarf_cfi_end(cfi);
			if (err)
				goto out;
		}
	}
	if (b.nrows == 0 && opts && opts->debug_frame &&
	    (scn = elf_find_section(elf, 0, ".debug_frame", &sh))) {
		/* libdw reads (and inflates) every DWARF section it knows when it begins */
		uint64_t dwarf_bytes;

		if (elf_dwarf_bytes(elf, ELF_SECTION_READ_MAX, &dwarf_bytes)) {
			err = -EFBIG;
			goto out;
		}
		dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
		cfi = dw ? dwarf_getcfi(dw) : NULL;
		if (cfi) {
			b.ncies = 0;
			out->source = "debug_frame";
			err = scan_section(&b, elf, scn, false, cfi, out);
			if (err)
				goto out;
		}
	}
	sort_and_compact(&b);
	out->cfi_replayed = b.replayed;
	out->rows = b.rows;
	out->nrows = b.nrows;
	b.rows = NULL;
out:
	if (dw)
		dwarf_end(dw);
	free(b.rows);
	free(b.cies);
	if (err) {
		/* no rows; the segments stay, so mappings of the file still get a bias */
		out->rows = NULL;
		out->nrows = 0;
		out->source = "none";
	}
	return err;
}

void unwind_table__free(struct unwind_table *t)
{
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
}

int unwind_segments_bias(const struct stoker_unwind_seg *segs, size_t nsegs, uint64_t start,
			 uint64_t pgoff, uint64_t *bias)
{
	for (size_t i = 0; i < nsegs; i++) {
		__u64 b;

		if (stoker_unwind_seg_bias(&segs[i], start, pgoff, &b)) {
			*bias = b;
			return 0;
		}
	}
	return -ENOENT;
}

const struct stoker_unwind_row *unwind_table__find(const struct unwind_table *t, uint64_t pc)
{
	size_t lo = 0, hi = t->nrows;

	if (pc > UINT32_MAX)
		return NULL;
	/* the last row with row.pc <= pc */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->rows[mid].pc <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &t->rows[lo - 1] : NULL;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* DWARF lines and inline chains (libdw), the way eu-addr2line -i finds them: the CU from an
 * index of every CU's ranges (.debug_aranges may be missing or partial), the innermost
 * function scope at the address and those around it (from an index of each CU's function
 * scopes, built on the first address in the CU: one walk of its DIEs instead of one per
 * address), the line table for the innermost frame and DW_AT_call_file/line for its callers.
 * One address's frames are computed once and kept in a byte-bounded LRU. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "util/addr_search.h"
#include "util/array.h"
#include "util/lru_cache.h"
#include "object/dwarf_lines.h"
#include "object/elf_symbols.h"

#define DEFAULT_CACHE_BYTES (4u << 20)
#define DEFAULT_DEBUG_BYTES (1ull << 30)
#define ENTRY_OVERHEAD	    64 /* the LRU's node and key, roughly */

struct cu_range {
	uint64_t lo, hi; /* [lo, hi) */
	uint32_t cu;	 /* index into cus */
};

/* A function scope of a CU (subprogram, inlined subroutine, entry point) and the function
 * scope around it: the tree eu-addr2line walks, kept so an address costs a search, not a
 * walk of the CU's DIEs. */
struct fscope {
	Dwarf_Die die;
	int32_t parent; /* index in the CU's scopes, -1 for none; always below this one's */
	uint32_t depth;
};

struct frange {
	uint64_t lo, hi;
	uint32_t scope;
	uint32_t depth; /* the scope's: at an equal start the innermost sorts last */
};

struct cu_scopes {
	bool built;
	struct fscope *scopes;
	size_t nscopes, scopes_cap;
	struct frange *ranges; /* sorted by lo, then depth */
	size_t nranges, ranges_cap;
};

/* One address's frames; demangled names are stored after the frames. */
struct dl_entry {
	uint32_t n;
	struct dwarf_line_frame frames[];
};

struct dwarf_lines {
	/* libdw's state and the indexes into it: released when idle, read again on a miss */
	bool loaded;
	Elf *elf;
	Dwarf *dbg;
	Dwarf_Die *cus;
	size_t ncus, cus_cap;
	struct cu_range *ranges; /* sorted by lo */
	size_t nranges, ranges_cap;
	struct cu_scopes *scopes; /* per CU (ncus), built on the first address in it */
	size_t scope_bytes;
	size_t section_bytes; /* decompressed DWARF sections, and the line tables parsed */
	size_t max_debug;
	/* kept across a release: entries own their strings */
	struct lru_cache *cache;
	struct dwarf_lines_stats st;
};

static void free_entry(void *v, void *ctx)
{
	free(v);
}

/* Sizes the DWARF sections as libdw will hold them; -ENODATA without line tables. */
static int measure_sections(Elf *elf, size_t *bytes)
{
	bool info = false, line = false;
	size_t shstrndx, total = 0;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -ENOEXEC;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		GElf_Chdr ch;
		const char *name;
		uint64_t size;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strncmp(name, ".debug_", 7))
			continue;
		size = sh.sh_size;
		if ((sh.sh_flags & SHF_COMPRESSED) && gelf_getchdr(scn, &ch))
			size = ch.ch_size;
		if (!strcmp(name, ".debug_info"))
			info = size > 0;
		else if (!strcmp(name, ".debug_line"))
			line = size > 0;
		/* a compressed section is held decompressed, and libdw's parsed forms (line
		 * tables, abbreviations, units) cost about as much again: reading libc6-dbg's
		 * libc (~10 MiB decompressed) and 2,000 addresses grows RSS by ~29 MiB, 4 of
		 * them the mapped file */
		total += size * 2;
	}
	*bytes = total;
	return info && line ? 0 : -ENODATA;
}

static int cmp_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Every compile unit's address ranges, from the CU DIE's low/high pc or DW_AT_ranges. */
static int index_cus(struct dwarf_lines *dl)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	while (dwarf_nextcu(dl->dbg, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Addr base, lo, hi;
		Dwarf_Die cu;
		ptrdiff_t r = 0;

		if (!dwarf_offdie(dl->dbg, off + hsize, &cu) ||
		    dwarf_tag(&cu) != DW_TAG_compile_unit)
			goto next;
		if (ARRAY_RESERVE(dl->cus, dl->cus_cap, dl->ncus + 1))
			return -ENOMEM;
		dl->cus[dl->ncus] = cu;
		while ((r = dwarf_ranges(&cu, r, &base, &lo, &hi)) > 0) {
			/* code at 0, empty and tombstoned ranges (discarded sections) name
			 * nothing */
			if (!lo || hi <= lo)
				continue;
			if (ARRAY_RESERVE(dl->ranges, dl->ranges_cap, dl->nranges + 1))
				return -ENOMEM;
			dl->ranges[dl->nranges++] = (struct cu_range){ lo, hi, (uint32_t)dl->ncus };
		}
		dl->ncus++;
	next:
		if (next <= off)
			break; /* a unit that claims no length: nothing after it can be trusted */
		off = next;
	}
	if (dl->nranges)
		qsort(dl->ranges, dl->nranges, sizeof(*dl->ranges), cmp_range);
	return 0;
}

/* The index of the CU holding addr, or -1. */
static long find_cu(struct dwarf_lines *dl, uint64_t addr)
{
	size_t i = ADDR_SEARCH(dl->ranges, dl->nranges, lo, addr);

	/* ranges rarely nest (a CU's ranges around another's): look back a few */
	for (size_t k = 0; i > 0 && k < 8; i--, k++)
		if (addr < dl->ranges[i - 1].hi)
			return (long)dl->ranges[i - 1].cu;
	return -1;
}

static void unload(struct dwarf_lines *dl)
{
	if (dl->dbg)
		dwarf_end(dl->dbg);
	if (dl->elf)
		elf_end(dl->elf);
	for (size_t i = 0; dl->scopes && i < dl->ncus; i++) {
		free(dl->scopes[i].scopes);
		free(dl->scopes[i].ranges);
	}
	free(dl->scopes);
	free(dl->cus);
	free(dl->ranges);
	dl->dbg = NULL;
	dl->elf = NULL;
	dl->scopes = NULL;
	dl->cus = NULL;
	dl->ranges = NULL;
	dl->ncus = dl->cus_cap = dl->nranges = dl->ranges_cap = dl->scope_bytes = 0;
	dl->loaded = false;
}

/* Reads fd's DWARF and indexes its CUs. On error nothing is held. */
static int load(struct dwarf_lines *dl, int fd)
{
	int err;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	dl->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!dl->elf || elf_kind(dl->elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto fail;
	}
	err = measure_sections(dl->elf, &dl->section_bytes);
	if (err)
		goto fail;
	if (dl->section_bytes > dl->max_debug) {
		err = -EFBIG;
		goto fail;
	}
	/* everything read now (or mapped), and libelf told so: the fd is the caller's again */
	if (elf_cntl(dl->elf, ELF_C_FDREAD)) {
		err = -EIO;
		goto fail;
	}
	dl->dbg = dwarf_begin_elf(dl->elf, DWARF_C_READ, NULL);
	if (!dl->dbg) {
		err = -ENODATA;
		goto fail;
	}
	err = index_cus(dl);
	if (err)
		goto fail;
	if (!dl->nranges) {
		err = -ENODATA;
		goto fail;
	}
	dl->scopes = calloc(dl->ncus, sizeof(*dl->scopes));
	if (!dl->scopes) {
		err = -ENOMEM;
		goto fail;
	}
	dl->loaded = true;
	return 0;
fail:
	unload(dl);
	return err;
}

struct dwarf_lines *dwarf_lines__open_fd(int fd, const struct dwarf_lines_opts *opts)
{
	struct lru_cache_opts lo = { 0 };
	struct dwarf_lines *dl;
	int err = -ENOMEM;

	dl = calloc(1, sizeof(*dl));
	if (!dl)
		goto fail;
	dl->max_debug = opts && opts->max_debug_bytes ? opts->max_debug_bytes : DEFAULT_DEBUG_BYTES;
	err = load(dl, fd);
	if (err)
		goto fail;
	lo.key_size = sizeof(uint64_t);
	lo.max_entries = (size_t)1 << 24;
	lo.max_cost = opts && opts->max_cache_bytes ? opts->max_cache_bytes : DEFAULT_CACHE_BYTES;
	lo.free_value = free_entry;
	dl->cache = lru_cache__new(&lo);
	if (!dl->cache) {
		err = -ENOMEM;
		goto fail;
	}
	return dl;
fail:
	dwarf_lines__free(dl);
	errno = -err;
	return NULL;
}

void dwarf_lines__free(struct dwarf_lines *dl)
{
	if (!dl)
		return;
	lru_cache__free(dl->cache);
	unload(dl);
	free(dl);
}

void dwarf_lines__release(struct dwarf_lines *dl)
{
	if (!dl->loaded)
		return;
	unload(dl);
	dl->st.releases++;
}

int dwarf_lines__reload_fd(struct dwarf_lines *dl, int fd)
{
	int err;

	if (dl->loaded)
		return 0;
	err = load(dl, fd);
	if (!err)
		dl->st.reloads++;
	return err;
}

bool dwarf_lines__loaded(const struct dwarf_lines *dl)
{
	return dl->loaded;
}

/* A scope's name as eu-addr2line gives it: the linkage name when there is one (through
 * abstract origins and specifications), else DW_AT_name. */
static const char *scope_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr)
				    ?: dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (!name)
		name = dwarf_diename(die);
	return name ? name : "??";
}

static bool is_function_scope(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_entry_point;
}

static uint32_t udata_attr(Dwarf_Die *die, unsigned int name)
{
	Dwarf_Attribute attr;
	Dwarf_Word v;

	if (dwarf_formudata(dwarf_attr(die, name, &attr), &v) || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

#define SCOPE_DEPTH_MAX 256

/* DIEs whose children may hold code, as libdw's scope walk sees them */
static bool holds_scopes(int tag)
{
	switch (tag) {
	case DW_TAG_compile_unit:
	case DW_TAG_partial_unit:
	case DW_TAG_module:
	case DW_TAG_lexical_block:
	case DW_TAG_with_stmt:
	case DW_TAG_catch_block:
	case DW_TAG_try_block:
	case DW_TAG_entry_point:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_subprogram:
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
		return true;
	default:
		return false;
	}
}

static int cmp_frange(const void *a, const void *b)
{
	const struct frange *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	/* scopes at one place (aliases of one assembly routine): the first DIE wins, as in
	 * libdw's walk */
	return x->scope > y->scope ? -1 : x->scope < y->scope;
}

static int add_scope(struct cu_scopes *cs, Dwarf_Die *die, int32_t parent, uint32_t depth)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t r = 0;

	if (ARRAY_RESERVE(cs->scopes, cs->scopes_cap, cs->nscopes + 1))
		return -ENOMEM;
	cs->scopes[cs->nscopes] = (struct fscope){ *die, parent, depth };
	while ((r = dwarf_ranges(die, r, &base, &lo, &hi)) > 0) {
		if (!lo || hi <= lo)
			continue;
		if (ARRAY_RESERVE(cs->ranges, cs->ranges_cap, cs->nranges + 1))
			return -ENOMEM;
		cs->ranges[cs->nranges++] = (struct frange){ lo, hi, (uint32_t)cs->nscopes, depth };
	}
	cs->nscopes++;
	return 0;
}

/* One walk of the CU's DIEs (only into those that may hold code, through imported units),
 * recording every function scope with its ranges and its enclosing function scope. */
static int build_cu_scopes(struct cu_scopes *cs, Dwarf_Die *cu)
{
	struct {
		Dwarf_Die die; /* the next sibling to visit at this level */
		int32_t parent;
	} stack[SCOPE_DEPTH_MAX];
	int sp = 0, err = 0;
	Dwarf_Die child;

	cs->built = true;
	if (dwarf_child(cu, &child) != 0)
		return 0;
	stack[sp++] = (__typeof__(stack[0])){ child, -1 };
	while (sp > 0) {
		Dwarf_Die die = stack[sp - 1].die, inner;
		int32_t parent = stack[sp - 1].parent, here = parent;
		int tag = dwarf_tag(&die);

		/* the level moves on to die's sibling, or ends */
		if (dwarf_siblingof(&die, &stack[sp - 1].die) != 0)
			sp--;
		if (tag == DW_TAG_imported_unit) {
			Dwarf_Attribute attr;
			Dwarf_Die unit;

			if (dwarf_formref_die(dwarf_attr(&die, DW_AT_import, &attr), &unit) &&
			    dwarf_child(&unit, &inner) == 0 && sp < SCOPE_DEPTH_MAX)
				stack[sp++] = (__typeof__(stack[0])){ inner, parent };
			continue;
		}
		if (!holds_scopes(tag))
			continue;
		if (is_function_scope(tag)) {
			err = add_scope(cs, &die, parent,
					parent < 0 ? 0 : cs->scopes[parent].depth + 1);
			if (err)
				return err;
			here = (int32_t)cs->nscopes - 1;
		}
		if (dwarf_haschildren(&die) > 0 && dwarf_child(&die, &inner) == 0 &&
		    sp < SCOPE_DEPTH_MAX)
			stack[sp++] = (__typeof__(stack[0])){ inner, here };
	}
	if (cs->nranges)
		qsort(cs->ranges, cs->nranges, sizeof(*cs->ranges), cmp_frange);
	return 0;
}

/* The innermost function scope holding addr: the last range starting at or before it, or
 * the nearest scope around that one holding addr (valid DWARF nests scopes' ranges). */
static int32_t innermost_scope(struct cu_scopes *cs, uint64_t addr)
{
	size_t i = ADDR_SEARCH(cs->ranges, cs->nranges, lo, addr);
	int32_t s;

	if (!i)
		return -1;
	if (addr < cs->ranges[i - 1].hi)
		return (int32_t)cs->ranges[i - 1].scope;
	for (s = cs->scopes[cs->ranges[i - 1].scope].parent; s >= 0; s = cs->scopes[s].parent)
		if (dwarf_haspc(&cs->scopes[s].die, addr) > 0)
			return s;
	return -1;
}

/* The inline chain at addr into frames (at most max), as eu-addr2line -i walks it. Returns
 * how many, or -ENOMEM. */
static int chain_at(struct dwarf_lines *dl, size_t cu_idx, uint64_t addr,
		    struct dwarf_line_frame *frames, size_t max)
{
	struct cu_scopes *cs = &dl->scopes[cu_idx];
	Dwarf_Die *cu = &dl->cus[cu_idx];
	Dwarf_Files *files = NULL;
	Dwarf_Line *line;
	const char *file = NULL;
	uint32_t lineno = 0;
	size_t n = 0, before;
	int32_t s;
	int l, err;

	if (!cs->built) {
		before =
		    cs->scopes_cap * sizeof(*cs->scopes) + cs->ranges_cap * sizeof(*cs->ranges);
		err = build_cu_scopes(cs, cu);
		dl->scope_bytes += cs->scopes_cap * sizeof(*cs->scopes) +
				   cs->ranges_cap * sizeof(*cs->ranges) - before;
		if (err)
			return err;
	}
	s = innermost_scope(cs, addr);
	line = dwarf_getsrc_die(cu, addr);
	if (line) {
		file = dwarf_linesrc(line, NULL, NULL);
		if (!dwarf_lineno(line, &l) && l > 0)
			lineno = (uint32_t)l;
	}
	if (s < 0) {
		/* code the line table covers but no function DIE does (compiler-made
		 * constructors, some assembly): the line, and the symbol table names it */
		if (!file || !lineno)
			return 0;
		frames[0] = (struct dwarf_line_frame){ NULL, file, lineno, 0 };
		return 1;
	}
	if (dwarf_getsrcfiles(cu, &files, NULL))
		files = NULL;
	for (; s >= 0 && n < max; s = cs->scopes[s].parent) {
		Dwarf_Die *die = &cs->scopes[s].die;
		int tag = dwarf_tag(die), decl = 0;
		uint32_t call_file;

		frames[n].function = scope_name(die);
		frames[n].file = file;
		frames[n].line = lineno;
		frames[n].start_line =
		    !dwarf_decl_line(die, &decl) && decl > 0 ? (uint32_t)decl : 0;
		n++;
		if (tag != DW_TAG_inlined_subroutine)
			break;
		/* the next frame is the caller, at the place it called the inline */
		call_file = udata_attr(die, DW_AT_call_file);
		file = files && call_file ? dwarf_filesrc(files, call_file, NULL, NULL) : NULL;
		lineno = udata_attr(die, DW_AT_call_line);
	}
	return (int)n;
}

/* Builds the cache entry of addr: frames, then their strings, copied so the entry outlives a
 * release of the DWARF: names demangled, relative file names under the CU's DW_AT_comp_dir,
 * as eu-addr2line shows them. */
static struct dl_entry *make_entry(const struct dwarf_line_frame *frames, size_t n,
				   const char *comp_dir, size_t *size)
{
	char *dm[DWARF_LINES_MAX_FRAMES] = { 0 };
	size_t bytes = sizeof(struct dl_entry) + n * sizeof(frames[0]), dir_len = 0;
	bool join[DWARF_LINES_MAX_FRAMES];
	struct dl_entry *e;
	char *p;

	if (comp_dir && comp_dir[0])
		dir_len = strlen(comp_dir);
	for (size_t i = 0; i < n; i++) {
		dm[i] = frames[i].function ? demangle(frames[i].function) : NULL;
		if (dm[i] || frames[i].function)
			bytes += strlen(dm[i] ? dm[i] : frames[i].function) + 1;
		join[i] = dir_len && frames[i].file && frames[i].file[0] != '/';
		if (join[i])
			bytes += dir_len + 1;
		if (frames[i].file)
			bytes += strlen(frames[i].file) + 1;
	}
	e = malloc(bytes);
	if (e) {
		e->n = (uint32_t)n;
		memcpy(e->frames, frames, n * sizeof(frames[0]));
		p = (char *)&e->frames[n];
		for (size_t i = 0; i < n; i++) {
			const char *fn = dm[i] ? dm[i] : frames[i].function;

			if (fn) {
				memcpy(p, fn, strlen(fn) + 1);
				e->frames[i].function = p;
				p += strlen(fn) + 1;
			}
			if (frames[i].file) {
				size_t fl = strlen(frames[i].file);

				e->frames[i].file = p;
				if (join[i]) {
					memcpy(p, comp_dir, dir_len);
					p[dir_len] = '/';
					p += dir_len + 1;
				}
				memcpy(p, frames[i].file, fl + 1);
				p += fl + 1;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(dm[i]);
	*size = bytes;
	return e;
}

int dwarf_lines__lookup(struct dwarf_lines *dl, uint64_t vaddr,
			const struct dwarf_line_frame **frames)
{
	struct dwarf_line_frame tmp[DWARF_LINES_MAX_FRAMES];
	const char *comp_dir = NULL;
	Dwarf_Attribute attr;
	struct dl_entry *e;
	size_t n = 0, size;
	long cu;
	int got;

	dl->st.lookups++;
	e = lru_cache__get(dl->cache, &vaddr);
	if (e) {
		dl->st.hits++;
		*frames = e->frames;
		return (int)e->n;
	}
	if (!dl->loaded)
		return -ESTALE;
	cu = find_cu(dl, vaddr);
	if (cu >= 0) {
		got = chain_at(dl, (size_t)cu, vaddr, tmp, DWARF_LINES_MAX_FRAMES);
		if (got < 0)
			return got;
		n = (size_t)got;
		comp_dir = dwarf_formstring(dwarf_attr(&dl->cus[cu], DW_AT_comp_dir, &attr));
	}
	/* an address without frames is remembered as well: asking libdw again costs the same */
	e = make_entry(tmp, n, comp_dir, &size);
	if (!e)
		return -ENOMEM;
	if (lru_cache__put(dl->cache, &vaddr, e, size + ENTRY_OVERHEAD)) {
		free(e);
		return -ENOMEM;
	}
	if (n)
		dl->st.resolved++;
	*frames = e->frames;
	return (int)n;
}

size_t dwarf_lines__memory_bytes(const struct dwarf_lines *dl)
{
	return sizeof(*dl) + (dl->loaded ? dl->section_bytes : 0) + dl->cus_cap * sizeof(*dl->cus) +
	       dl->ranges_cap * sizeof(*dl->ranges) + dl->ncus * sizeof(*dl->scopes) +
	       dl->scope_bytes + lru_cache__cost(dl->cache);
}

const struct dwarf_lines_stats *dwarf_lines__stats(const struct dwarf_lines *dl)
{
	return &dl->st;
}

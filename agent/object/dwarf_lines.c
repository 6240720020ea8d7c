/* SPDX-License-Identifier: BSD-2-Clause */
/* DWARF lines and inline chains (libdw), the way eu-addr2line -i finds them: the CU from an
 * index of every CU's ranges (.debug_aranges read with pread, libdw's walk for CUs it does
 * not list), the innermost function scope at the address and those around it (from an index
 * of each CU's function scopes, built on the first address in the CU: one walk of its DIEs
 * instead of one per address), the line table for the innermost frame and
 * DW_AT_call_file/line for its callers. One address's frames are computed once and kept in a
 * byte-bounded LRU.
 *
 * Memory follows the work: the sections are read from a mapping (of the file when it is
 * uncompressed and trusted, else of a decompressed copy in the scratch directory), so only
 * the pages lookups touch are resident; libdw's parsed units and line tables are dropped
 * with those pages once they pass a budget, and parsed again as addresses need them. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/addr_search.h"
#include "util/array.h"
#include "util/fileio.h"
#include "util/lru_cache.h"
#include "object/dwarf_lines.h"
#include "object/dwarf_spill.h"
#include "object/elf_symbols.h"

#define DEFAULT_CACHE_BYTES  (4u << 20)
#define DEFAULT_DEBUG_BYTES  (1ull << 30)
#define DEFAULT_PARSED_BYTES (4u << 20)
#define ENTRY_OVERHEAD	     64 /* the LRU's node and key, roughly */
/* libdw's parsed forms, as measured on libc6-dbg's libc: a unit found on the way to another
 * (its header and the abbreviations of its DIE), a unit looked up, and one row of a line
 * table (Dwarf_Line with its share of the table) */
#define FOUND_UNIT_BYTES  640
#define UNIT_BYTES	  (2u << 10)
#define LINE_ROW_BYTES	  64
#define MAX_UNITS	  (1u << 22)
#define MAX_ARANGES_BYTES (256u << 20)
/* libdw reads every unit header before the one asked for (units are found in order): the
 * agent walks them in steps this long, giving the mapped pages back after each */
#define INTERN_STEP	 32
#define DROP_EVERY_UNITS 16

struct cu_range {
	uint64_t lo, hi; /* [lo, hi) */
	uint32_t cu;	 /* index into units */
};

/* A compile unit as the index knows it, across releases: where its DIE is. */
struct cu_unit {
	uint64_t hdr_off; /* in .debug_info */
	uint64_t die_off;
	int32_t live; /* its slot in lives while parsed, else -1 */
	bool listed;  /* .debug_aranges gave its ranges */
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

/* A unit libdw has parsed since the last reset: its DIE and the index of its scopes. */
struct cu_live {
	uint32_t unit;
	Dwarf_Die die;
	struct cu_scopes sc;
};

/* One address's frames; demangled names are stored after the frames. */
struct dl_entry {
	uint32_t n;
	struct dwarf_line_frame frames[];
};

struct dwarf_lines {
	/* the sections: a mapping of our copy (map), on a disk or, without a scratch directory,
	 * in memory (heap_bytes of it) */
	bool loaded;
	void *map;
	size_t map_len;
	size_t heap_bytes;
	Elf *elf;
	Dwarf *dbg;
	/* libdw's parsed units since the last reset, and their estimated bytes */
	struct cu_live *lives;
	size_t nlives, lives_cap;
	size_t parsed_bytes;	   /* of the units looked up: what the budget bounds */
	size_t found_bytes;	   /* of the units found on the way: at most the file's, once */
	size_t interned;	   /* units libdw has found up to (a lower bound) */
	size_t entered_since_drop; /* units looked up since the mapped pages went back */
	/* the CU index, kept across releases: the file read again is the same file */
	struct cu_unit *units;
	size_t nunits, units_cap;
	struct cu_range *ranges; /* sorted by lo */
	size_t nranges, ranges_cap;
	bool indexed;
	size_t max_debug, max_parsed;
	const char *scratch_dir;
	/* kept across a release: entries own their strings */
	struct lru_cache *cache;
	struct dwarf_lines_stats st;
};

static void free_entry(void *v, void *ctx)
{
	free(v);
}

/* Where a section of the mapped image is in its file (the section table only is read). */
static bool find_section(Elf *elf, const char *want, uint64_t *off, uint64_t *size)
{
	GElf_Shdr sh;

	if (!elf_find_section(elf, 0, want, &sh) || (sh.sh_flags & SHF_COMPRESSED))
		return false;
	*off = sh.sh_offset;
	*size = sh.sh_size;
	return true;
}

static int cmp_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* Every unit header of .debug_info, read with pread (a mapping of the whole section would
 * make all of it resident): where each compile unit's DIE starts. */
static int read_units(struct dwarf_lines *dl, int fd, uint64_t sec, uint64_t size)
{
	uint64_t off = 0;

	while (off + 4 <= size && dl->nunits < MAX_UNITS) {
		uint8_t h[40];
		size_t want = size - off < sizeof(h) ? (size_t)(size - off) : sizeof(h);
		size_t init = 4, offsz = 4, p;
		uint64_t len;
		unsigned int ver, type = DW_UT_compile;
		int err = fd_pread_exact(fd, h, want, sec + off);

		if (err)
			return err;
		len = get_le(h, 4);
		if (len == 0xffffffffu) {
			if (want < 12)
				break;
			len = get_le(h + 4, 8);
			init = 12;
			offsz = 8;
		} else if (len >= 0xfffffff0u) {
			break; /* reserved: nothing after it can be trusted */
		}
		if (len > size - off - init || want < init + 2)
			break;
		ver = (unsigned int)get_le(h + init, 2);
		p = init + 2;
		if (ver == 5) {
			type = h[p];
			p += 2 + offsz;
			if (type == DW_UT_skeleton || type == DW_UT_split_compile)
				p += 8;
			else if (type == DW_UT_type || type == DW_UT_split_type)
				p += 8 + offsz;
		} else if (ver >= 2 && ver <= 4) {
			p += offsz + 1;
		} else {
			type = 0; /* a version libdw does not read either */
		}
		if ((type == DW_UT_compile || type == DW_UT_partial) && p <= init + len) {
			if (ARRAY_RESERVE(dl->units, dl->units_cap, dl->nunits + 1))
				return -ENOMEM;
			dl->units[dl->nunits++] = (struct cu_unit){ off, off + p, -1, false };
		}
		off += init + len;
	}
	return 0;
}

/* The unit whose header is at hdr_off (units are read in section order), or -1. */
static long unit_at(struct dwarf_lines *dl, uint64_t hdr_off)
{
	size_t i = ADDR_SEARCH(dl->units, dl->nunits, hdr_off, hdr_off);

	return i && dl->units[i - 1].hdr_off == hdr_off ? (long)i - 1 : -1;
}

static int add_range(struct dwarf_lines *dl, uint64_t lo, uint64_t hi, size_t unit)
{
	/* code at 0, empty and tombstoned ranges (discarded sections) name nothing */
	if (!lo || hi <= lo)
		return 0;
	if (ARRAY_RESERVE(dl->ranges, dl->ranges_cap, dl->nranges + 1))
		return -ENOMEM;
	dl->ranges[dl->nranges++] = (struct cu_range){ lo, hi, (uint32_t)unit };
	return 0;
}

/* The ranges .debug_aranges gives each unit, as dwarf_addrdie reads them. */
static int read_aranges(struct dwarf_lines *dl, int fd, uint64_t sec, uint64_t size)
{
	uint8_t *buf;
	uint64_t p = 0;
	int err;

	if (size > MAX_ARANGES_BYTES)
		return 0;
	buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	err = fd_pread_exact(fd, buf, size, sec);
	if (err)
		goto out;
	while (p + 4 <= size) {
		uint64_t len = get_le(buf + p, 4), set = p, end, cu_off, q;
		size_t init = 4, offsz = 4, asz;
		long unit;

		if (len == 0xffffffffu) {
			if (p + 12 > size)
				break;
			len = get_le(buf + p + 4, 8);
			init = 12;
			offsz = 8;
		} else if (len >= 0xfffffff0u) {
			break;
		}
		if (len > size - p - init)
			break;
		end = p + init + len;
		q = p + init;
		p = end;
		if (q + 2 + offsz + 2 > end || get_le(buf + q, 2) != 2)
			continue;
		cu_off = get_le(buf + q + 2, offsz);
		asz = buf[q + 2 + offsz];
		if ((asz != 4 && asz != 8) || buf[q + 3 + offsz] != 0)
			continue; /* segmented addresses: libdw does not read them either */
		unit = unit_at(dl, cu_off);
		if (unit < 0)
			continue;
		dl->units[unit].listed = true;
		q += 4 + offsz;
		q = set + ((q - set + 2 * asz - 1) / (2 * asz)) * (2 * asz);
		for (; q + 2 * asz <= end; q += 2 * asz) {
			uint64_t lo = get_le(buf + q, asz), n = get_le(buf + q + asz, asz);

			if (!lo && !n)
				break;
			err = add_range(dl, lo, n > UINT64_MAX - lo ? UINT64_MAX : lo + n,
					(size_t)unit);
			if (err)
				goto out;
		}
	}
out:
	free(buf);
	return err;
}

/* The ranges of the units .debug_aranges does not list, from their DIEs (libdw's walk: it
 * parses each of those units, which a reset then drops). */
static int range_unlisted(struct dwarf_lines *dl)
{
	for (size_t i = 0; i < dl->nunits; i++) {
		Dwarf_Addr base, lo, hi;
		Dwarf_Die cu;
		ptrdiff_t r = 0;

		if (dl->units[i].listed)
			continue;
		if (!dwarf_offdie(dl->dbg, dl->units[i].die_off, &cu) ||
		    dwarf_tag(&cu) != DW_TAG_compile_unit)
			continue;
		while ((r = dwarf_ranges(&cu, r, &base, &lo, &hi)) > 0)
			if (add_range(dl, lo, hi, i))
				return -ENOMEM;
	}
	return 0;
}

/* Every unit from libdw's walk of the units, for an image only libdw reads (compressed in
 * the heap, no copy): what read_units does with pread. */
static int walk_units(struct dwarf_lines *dl)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	while (dwarf_nextcu(dl->dbg, off, &next, &hsize, NULL, NULL, NULL) == 0 &&
	       dl->nunits < MAX_UNITS) {
		if (ARRAY_RESERVE(dl->units, dl->units_cap, dl->nunits + 1))
			return -ENOMEM;
		dl->units[dl->nunits++] = (struct cu_unit){ off, off + hsize, -1, false };
		if (next <= off)
			break; /* a unit that claims no length: nothing after it can be trusted */
		off = next;
	}
	return 0;
}

static int index_units(struct dwarf_lines *dl, int fd)
{
	uint64_t info_off, info_size, ar_off, ar_size;
	int err;

	if (fd >= 0 && find_section(dl->elf, ".debug_info", &info_off, &info_size)) {
		err = read_units(dl, fd, info_off, info_size);
		if (!err && find_section(dl->elf, ".debug_aranges", &ar_off, &ar_size))
			err = read_aranges(dl, fd, ar_off, ar_size);
	} else {
		err = walk_units(dl);
	}
	if (!err)
		err = range_unlisted(dl);
	if (err)
		return err;
	if (dl->nranges)
		qsort(dl->ranges, dl->nranges, sizeof(*dl->ranges), cmp_range);
	dl->indexed = true;
	return 0;
}

/* The index of the unit holding addr, or -1. */
static long find_cu(struct dwarf_lines *dl, uint64_t addr)
{
	size_t i = ADDR_SEARCH(dl->ranges, dl->nranges, lo, addr);

	/* ranges rarely nest (a CU's ranges around another's): look back a few */
	for (size_t k = 0; i > 0 && k < 8; i--, k++)
		if (addr < dl->ranges[i - 1].hi)
			return (long)dl->ranges[i - 1].cu;
	return -1;
}

static void free_lives(struct dwarf_lines *dl)
{
	for (size_t i = 0; i < dl->nlives; i++) {
		free(dl->lives[i].sc.scopes);
		free(dl->lives[i].sc.ranges);
		dl->units[dl->lives[i].unit].live = -1;
	}
	dl->nlives = 0;
	dl->parsed_bytes = 0;
	dl->found_bytes = 0;
	dl->interned = 0;
}

/* The mapped pages lookups touched go back to the page cache (a read-only private mapping of
 * a file: they fault back in from it); libdw's parsed forms in the heap stay. */
static void drop_pages(struct dwarf_lines *dl)
{
	if (dl->map)
		madvise(dl->map, dl->map_len, MADV_DONTNEED);
}

/* Has libdw find the units before unit (it reads their headers and CU DIEs on the way to
 * it), counted in the parsed bytes; with a mapping, a step at a time, so that the pages read
 * on the way are never all mapped at once. */
static void find_units_before(struct dwarf_lines *dl, size_t unit)
{
	Dwarf_Die die;

	if (unit <= dl->interned)
		return;
	/* not under the budget: a reset cannot take it back, the next unit asks for it again */
	dl->found_bytes += (unit - dl->interned) * FOUND_UNIT_BYTES;
	for (; dl->map && dl->interned + INTERN_STEP < unit; dl->interned += INTERN_STEP) {
		dwarf_offdie(dl->dbg, dl->units[dl->interned + INTERN_STEP].die_off, &die);
		drop_pages(dl);
	}
	dl->interned = unit;
}

/* Drops libdw's parsed units and the mapped pages read for them; the sections stay. */
static int reset_parsed(struct dwarf_lines *dl)
{
	free_lives(dl);
	if (dl->dbg)
		dwarf_end(dl->dbg);
	drop_pages(dl);
	dl->dbg = dwarf_begin_elf(dl->elf, DWARF_C_READ, NULL);
	dl->st.resets++;
	return dl->dbg ? 0 : -ENODATA;
}

static void unload(struct dwarf_lines *dl)
{
	free_lives(dl);
	free(dl->lives);
	dl->lives = NULL;
	dl->lives_cap = 0;
	if (dl->dbg)
		dwarf_end(dl->dbg);
	if (dl->elf)
		elf_end(dl->elf);
	if (dl->map)
		munmap(dl->map, dl->map_len);
	dl->dbg = NULL;
	dl->elf = NULL;
	dl->map = NULL;
	dl->map_len = dl->heap_bytes = 0;
	dl->loaded = false;
}

/* The sections of fd as a mapping of ours: a decompressed copy in the scratch directory, or
 * in memory without one (charged as heap_bytes). Returns the copy's fd, or an error: -ENODATA
 * also for a file whose DWARF cannot be copied (no lines are read from it). */
static int map_sections(struct dwarf_lines *dl, int fd)
{
	bool in_memory = false;
	struct stat st;
	int src, err;

	src = dwarf_spill(fd, dl->scratch_dir, dl->max_debug / 2, &in_memory);
	/* the scratch directory's fault (full, read-only, gone): in memory this time */
	if (src < 0 && dl->scratch_dir && src != -EBADMSG && src != -ENOTSUP && src != -ENODATA &&
	    src != -EFBIG && src != -ENOEXEC)
		src = dwarf_spill(fd, NULL, dl->max_debug / 2, &in_memory);
	if (src == -EBADMSG || src == -ENOTSUP)
		return -ENODATA;
	if (src < 0)
		return src;
	if (fstat(src, &st) || st.st_size <= 0) {
		err = -ENOEXEC;
		goto fail;
	}
	dl->map_len = (size_t)st.st_size;
	dl->map = mmap(NULL, dl->map_len, PROT_READ, MAP_PRIVATE, src, 0);
	if (dl->map == MAP_FAILED) {
		dl->map = NULL;
		err = -errno;
		goto fail;
	}
	/* lookups jump between units: read no more than they touch */
	madvise(dl->map, dl->map_len, MADV_RANDOM);
	dl->elf = elf_memory(dl->map, dl->map_len);
	if (!dl->elf || elf_kind(dl->elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto fail;
	}
	if (in_memory) {
		dl->heap_bytes = dl->map_len; /* written, so resident until closed */
		dl->st.in_heap++;
	} else {
		dl->st.copies++;
	}
	return src;
fail:
	close(src);
	return err;
}

/* Reads fd's DWARF and, the first time, indexes its units. On error nothing is held. */
static int load(struct dwarf_lines *dl, int fd)
{
	int err, src;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	src = map_sections(dl, fd);
	if (src < 0) {
		err = src;
		goto fail;
	}
	dl->dbg = dwarf_begin_elf(dl->elf, DWARF_C_READ, NULL);
	if (!dl->dbg) {
		err = -ENODATA;
		goto fail;
	}
	if (!dl->indexed) {
		err = index_units(dl, src);
		if (!err)
			err = reset_parsed(dl); /* the walk parsed units no lookup asked for */
		if (err)
			goto fail;
	}
	close(src);
	if (!dl->nranges) {
		unload(dl);
		return -ENODATA;
	}
	dl->loaded = true;
	return 0;
fail:
	if (src >= 0)
		close(src);
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
	dl->max_parsed =
	    opts && opts->max_parsed_bytes ? opts->max_parsed_bytes : DEFAULT_PARSED_BYTES;
	dl->scratch_dir = opts ? opts->scratch_dir : NULL;
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
	free(dl->units);
	free(dl->ranges);
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
static int chain_at(struct cu_live *cl, uint64_t addr, struct dwarf_line_frame *frames, size_t max)
{
	struct cu_scopes *cs = &cl->sc;
	Dwarf_Die *cu = &cl->die;
	Dwarf_Files *files = NULL;
	Dwarf_Line *line;
	const char *file = NULL;
	uint32_t lineno = 0;
	size_t n = 0;
	int32_t s;
	int l;

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

/* unit as libdw has it parsed, its scopes indexed: parsed now (after a reset when the
 * parsed units are over their budget) unless it already is. NULL when it is not a compile
 * unit, or with errno ENOMEM. */
static struct cu_live *enter_unit(struct dwarf_lines *dl, size_t unit)
{
	struct cu_unit *u = &dl->units[unit];
	struct cu_live *cl;
	Dwarf_Lines *lines;
	size_t nlines = 0;
	int err;

	if (u->live >= 0)
		return &dl->lives[u->live];
	if (dl->nlives && dl->parsed_bytes >= dl->max_parsed && reset_parsed(dl))
		return NULL;
	if (ARRAY_RESERVE(dl->lives, dl->lives_cap, dl->nlives + 1)) {
		errno = ENOMEM;
		return NULL;
	}
	find_units_before(dl, unit);
	cl = &dl->lives[dl->nlives];
	*cl = (struct cu_live){ .unit = (uint32_t)unit };
	if (!dwarf_offdie(dl->dbg, u->die_off, &cl->die) ||
	    dwarf_tag(&cl->die) != DW_TAG_compile_unit) {
		errno = ENOENT;
		return NULL;
	}
	/* the line table is what libdw parses largest: read now, to be counted */
	if (dwarf_getsrclines(&cl->die, &lines, &nlines))
		nlines = 0;
	err = build_cu_scopes(&cl->sc, &cl->die);
	dl->parsed_bytes += UNIT_BYTES + nlines * LINE_ROW_BYTES +
			    cl->sc.scopes_cap * sizeof(*cl->sc.scopes) +
			    cl->sc.ranges_cap * sizeof(*cl->sc.ranges);
	u->live = (int32_t)dl->nlives++;
	/* a unit's DIEs, abbreviations and line program are a few pages: given back every few
	 * units, not after each (faulting them in again cost lookups 8 times their time) */
	if (++dl->entered_since_drop >= DROP_EVERY_UNITS) {
		drop_pages(dl);
		dl->entered_since_drop = 0;
	}
	if (err) {
		errno = -err;
		return NULL;
	}
	return cl;
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
	struct cu_live *cl;
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
	cl = cu >= 0 ? enter_unit(dl, (size_t)cu) : NULL;
	if (cu >= 0 && !cl && errno == ENOMEM)
		return -ENOMEM;
	if (cl) {
		got = chain_at(cl, vaddr, tmp, DWARF_LINES_MAX_FRAMES);
		if (got < 0)
			return got;
		n = (size_t)got;
		comp_dir = dwarf_formstring(dwarf_attr(&cl->die, DW_AT_comp_dir, &attr));
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
	/* a mapping's pages are the page cache's, reclaimable: those lookups touch are about as
	 * many as the parsed bytes they made, which are counted */
	return sizeof(*dl) + dl->heap_bytes + dl->parsed_bytes + dl->found_bytes +
	       dl->lives_cap * sizeof(*dl->lives) + dl->units_cap * sizeof(*dl->units) +
	       dl->ranges_cap * sizeof(*dl->ranges) + lru_cache__cost(dl->cache);
}

const struct dwarf_lines_stats *dwarf_lines__stats(const struct dwarf_lines *dl)
{
	return &dl->st;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* What is derived from one mapped file, built on first use from the file the object holds
 * open: the symbol table, Go's function table, the unwind rows, one data symbol. Each is built at
 * most once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "object/elf_open.h"
#include "object/obj_cache.h"

/* A symbol table's estimate is charged to the budget before the table is read. */
static int reserve_symbols(void *ctx, size_t bytes)
{
	struct object *o = ctx;

	return o->cache ? obj_cache__reserve(o->cache, o, bytes) : -ENODEV;
}

const struct elf_object *object__symbols(struct object *o)
{
	struct elf_object_opts eo = { 0 };
	struct obj_cache *c = o->cache;
	char root[32];
	int fd, err;

	if (o->built & OBJECT_PART_SYMBOLS)
		return o->elf;
	if (!c)
		return NULL;
	fd = obj_cache__object_fd(c, o);
	if (fd < 0)
		return NULL;
	snprintf(root, sizeof(root), "/proc/%d/root", o->pid);
	eo.root = root;
	eo.debug_dirs = obj_cache__opts(c)->debug_dirs;
	eo.max_bytes = obj_cache__opts(c)->max_file_bytes;
	/* the MiniDebugInfo image is decompressed before its table can be estimated */
	eo.max_debugdata_bytes = eo.max_bytes;
	eo.reserve = reserve_symbols;
	eo.reserve_ctx = o;
	/* the path as the process sees it: debuglink candidates are relative to it, under root */
	o->elf = elf_object__open_fd(fd, o->at.path, &eo);
	err = errno;
	obj_cache__counters(c)->loads++;
	if (!o->elf) {
		obj_cache__counters(c)->load_failures++;
		pr_warn_ratelimited("failed to read symbols of %s (pid %d): %s; its frames keep "
				    "module+offset",
				    o->at.path, o->pid, strerror(err));
	} else {
		o->symbol_bytes = elf_object__memory_bytes(o->elf);
		o->cost += o->symbol_bytes;
		obj_cache__counters(c)->symbol_bytes += o->symbol_bytes;
		obj_cache__counters(c)->symbol_tables_refused += elf_object__tables_refused(o->elf);
		if (elf_object__tables_refused(o->elf))
			pr_warn_ratelimited(
			    "symbol table of %s (pid %d) skipped: over the symbol cache's "
			    "per-file quota or budget",
			    o->at.path, o->pid);
	}
	o->built |= OBJECT_PART_SYMBOLS;
	obj_cache__object_built(c, o);
	return o->elf; /* NULL if the object alone was over the budget and went */
}

static int reserve_for(void *ctx, size_t bytes)
{
	struct object *o = ctx;

	return obj_cache__reserve(o->cache, o, bytes);
}

const struct go_pclntab *object__go_pclntab(struct object *o)
{
	struct obj_cache *c = o->cache;
	int fd;

	if (o->built & OBJECT_PART_GO_PCLNTAB)
		return o->gopcln;
	if (!c)
		return NULL;
	fd = obj_cache__object_fd(c, o);
	if (fd < 0)
		return NULL;
	/* capped at the per-file quota, and room made in the cache before it is read; then
	 * charged like a symbol table */
	o->gopcln =
	    go_pclntab__open_fd_reserved(fd, obj_cache__opts(c)->max_file_bytes, reserve_for, o);
	if (!o->gopcln && errno == EDQUOT) {
		obj_cache__counters(c)->symbol_tables_refused++;
		pr_warn_ratelimited("Go function table of %s (pid %d) skipped: over the symbol "
				    "cache's budget",
				    o->at.path, o->pid);
	} else if (!o->gopcln && errno != ENOENT && errno != ENOEXEC) {
		pr_warn_ratelimited("failed to read the Go function table of %s (pid %d): %s; its "
				    "Go frames are named by its symbols only",
				    o->at.path, o->pid, strerror(errno));
	}
	if (o->gopcln) {
		o->symbol_bytes += go_pclntab__memory_bytes(o->gopcln);
		o->cost += go_pclntab__memory_bytes(o->gopcln);
		obj_cache__counters(c)->symbol_bytes += go_pclntab__memory_bytes(o->gopcln);
	}
	o->built |= OBJECT_PART_GO_PCLNTAB;
	obj_cache__object_built(c, o);
	return o->gopcln;
}

int object__unwind_table(struct object *o, struct unwind_rules *rules,
			 const struct unwind_table_opts *opts, const struct unwind_table **out)
{
	struct obj_cache *c = o->cache;
	struct unwind_table_opts to = opts ? *opts : (struct unwind_table_opts){ 0 };
	Elf *elf;
	int fd;

	/* room is made in the cache as the rows grow, before each allocation */
	to.reserve = reserve_for;
	to.reserve_ctx = o;
	if (o->too_big & OBJECT_PART_UNWIND)
		return -EFBIG;
	if (!(o->built & OBJECT_PART_UNWIND)) {
		if (!c)
			return -ENODEV;
		fd = obj_cache__object_fd(c, o);
		if (fd < 0)
			return fd;
		elf = elf_open_fd(fd, NULL, &o->unwind_err);
		if (elf) {
			o->unwind_err = unwind_table__build(elf, rules, &to, &o->unwind);
			elf_end(elf);
		}
		obj_cache__counters(c)->unwind_builds++;
		if (o->unwind_err == -EFBIG) {
			obj_cache__counters(c)->symbol_tables_refused++;
			pr_warn_ratelimited(
			    "unwind table of %s (pid %d) skipped: its headers claim "
			    "more than the agent reads of a file (%llu MiB a section); "
			    "its stacks use frame pointers",
			    o->at.path, o->pid, (unsigned long long)(ELF_SECTION_READ_MAX >> 20));
		} else if (o->unwind_err == -EDQUOT) {
			obj_cache__counters(c)->symbol_tables_refused++;
			pr_warn_ratelimited("unwind table of %s (pid %d) skipped: over the symbol "
					    "cache's budget; its stacks use frame pointers",
					    o->at.path, o->pid);
		}
		o->unwind_bytes = o->unwind.nrows * sizeof(o->unwind.rows[0]);
		o->cost += o->unwind_bytes;
		obj_cache__counters(c)->unwind_bytes += o->unwind_bytes;
		o->built |= OBJECT_PART_UNWIND;
		obj_cache__object_built(c, o);
		if (!(o->built & OBJECT_PART_UNWIND)) {
			o->too_big |= OBJECT_PART_UNWIND; /* evicted with its rows at once */
			return -EFBIG;
		}
	}
	if (o->unwind_err)
		return o->unwind_err;
	*out = &o->unwind;
	return 0;
}

void object__drop_unwind_rows(struct object *o)
{
	struct obj_cache *c = o->cache;

	if (!(o->built & OBJECT_PART_UNWIND) || o->unwind_err || !o->unwind.rows)
		return;
	unwind_table__free(&o->unwind);
	o->cost -= o->unwind_bytes;
	if (c)
		obj_cache__counters(c)->unwind_bytes -= o->unwind_bytes;
	o->unwind_bytes = 0;
	/* built again (its file reopened and checked) if it is ever loaded anew */
	o->built &= ~OBJECT_PART_UNWIND;
	if (c)
		obj_cache__object_built(c, o);
}

static int search_data_symbol(struct obj_cache *c, struct object *o, const char *name)
{
	struct elf_data_symbol ds = { 0 };
	uint64_t any_offset = 0;
	int fd;

	free(o->data_sym_name);
	o->data_sym_name = strdup(name);
	if (!o->data_sym_name)
		return -ENOMEM;
	fd = obj_cache__object_fd(c, o);
	if (fd < 0)
		return fd;
	/* the symbol once, at any offset the file has: each mapping's offset is applied below */
	for (size_t i = 0; i < o->nsegs; i++)
		if (o->segs[i].filesz) {
			any_offset = o->segs[i].offset;
			break;
		}
	o->data_sym_err = elf_find_data_symbol_fd(fd, name, any_offset, &ds);
	o->data_sym_vaddr = ds.vaddr;
	o->data_sym_size = ds.size;
	obj_cache__counters(c)->data_sym_searches++;
	o->built |= OBJECT_PART_DATA_SYM;
	obj_cache__object_built(c, o);
	return 0;
}

int object__data_symbol(struct object *o, const char *name, uint64_t file_offset,
			struct elf_data_symbol *out)
{
	int err;

	if (!(o->built & OBJECT_PART_DATA_SYM) || strcmp(o->data_sym_name, name)) {
		if (!o->cache)
			return -ENODEV;
		o->built &= ~OBJECT_PART_DATA_SYM;
		err = search_data_symbol(o->cache, o, name);
		if (err)
			return err;
	}
	if (o->data_sym_err)
		return o->data_sym_err;
	err = elf_segments_offset_to_vaddr(o->segs, o->nsegs, file_offset, &out->map_vaddr);
	if (err)
		return err;
	out->vaddr = o->data_sym_vaddr;
	out->size = o->data_sym_size;
	return 0;
}

static int build_python(struct object *o)
{
	struct obj_cache *c = o->cache;
	Elf *elf;
	int fd, err;

	if (o->built & OBJECT_PART_PYTHON)
		return 0;
	if (!c)
		return -ENODEV;
	fd = obj_cache__object_fd(c, o);
	if (fd < 0)
		return fd;
	elf = elf_open_fd(fd, NULL, &err);
	if (elf) {
		o->python_err = python_elf_find(elf, &o->python);
		o->libc_tsd_err = libc_tsd_find(elf, &o->libc_tsd);
		elf_end(elf);
	} else {
		o->python_err = o->libc_tsd_err = err;
	}
	o->built |= OBJECT_PART_PYTHON;
	obj_cache__object_built(c, o);
	return 0;
}

int object__python(struct object *o, const struct python_elf **out)
{
	int err = build_python(o);

	if (err)
		return err;
	if (o->python_err)
		return o->python_err;
	*out = &o->python;
	return 0;
}

int object__libc_tsd(struct object *o, const struct libc_tsd **out)
{
	int err = build_python(o);

	if (err)
		return err;
	if (o->libc_tsd_err)
		return o->libc_tsd_err;
	*out = &o->libc_tsd;
	return 0;
}

#define LINES_RECHARGE_BYTES (64u << 10)

enum { LINES_FROM_FILE = 1, LINES_FROM_DEBUG_FILE, LINES_FROM_FETCH };

/* DWARF from fd when it has any; counts what it found. */
static int open_lines(struct object *o, int fd, int from, const struct object_lines_opts *opts)
{
	o->lines = dwarf_lines__open_fd(fd, &opts->dwarf);
	o->lines_from = from;
	if (o->lines)
		return 0;
	if (errno == EFBIG && opts->stats)
		opts->stats->files_too_large++;
	return errno == EFBIG ? -EFBIG : -ENODATA;
}

/* A fetched debug file is taken only when it is the one of o's build-id. */
static bool fetched_is_ours(struct object *o, int fd, const struct object_lines_opts *opts)
{
	uint8_t bid[ELF_BUILD_ID_MAX];
	char hex[2 * ELF_BUILD_ID_MAX + 1] = "";
	int n = elf_read_build_id_fd(fd, bid, sizeof(bid));

	for (int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", bid[i]);
	if (n > 0 && !strcmp(hex, o->build_id))
		return true;
	if (opts->stats)
		opts->stats->files_wrong_fetch++;
	pr_warn_ratelimited("ignoring the debug file fetched for %s: build-id %s, not %s", o->path,
			    hex, o->build_id);
	return false;
}

static int open_fetched_lines(struct object *o, int fd, const struct object_lines_opts *opts)
{
	int err;

	if (!fetched_is_ours(o, fd, opts))
		return -ENODATA;
	err = open_lines(o, fd, LINES_FROM_FETCH, opts);
	if (!err && opts->stats)
		opts->stats->files_fetched++;
	return err;
}

/* o's local debug file (by build-id or debuglink, under the process's root), or -ENOENT. */
static int open_debug_file(struct obj_cache *c, struct object *o, int fd)
{
	struct elf_object_opts eo = { 0 };
	char root[32];

	snprintf(root, sizeof(root), "/proc/%d/root", o->pid);
	eo.root = root;
	eo.debug_dirs = obj_cache__opts(c)->debug_dirs;
	return elf_open_debug_file(fd, o->at.path, &eo);
}

/* The file itself, then its local debug file, then a fetch by build-id. */
static int build_lines(struct obj_cache *c, struct object *o, const struct object_lines_opts *opts)
{
	int fd, dfd, err;

	fd = obj_cache__object_fd(c, o);
	if (fd < 0)
		return fd;
	err = open_lines(o, fd, LINES_FROM_FILE, opts);
	if (err != -ENODATA)
		return err;
	dfd = open_debug_file(c, o, fd);
	if (dfd >= 0) {
		err = open_lines(o, dfd, LINES_FROM_DEBUG_FILE, opts);
		close(dfd);
		if (err != -ENODATA)
			return err;
	}
	return opts->fetch && o->build_id[0] ? -EAGAIN : -ENODATA;
}

/* Reads a released DWARF again from where it first came: the same checks as the first time
 * (the file's identity, the debug file's build-id or CRC, the fetched file's build-id). */
static int reload_lines(struct obj_cache *c, struct object *o, const struct object_lines_opts *opts)
{
	int fd, dfd = -ENOENT, err;

	if (o->lines_from == LINES_FROM_FETCH) {
		dfd = opts->fetch ? opts->fetch(opts->fetch_ctx, o->build_id) : -ENOENT;
	} else {
		fd = obj_cache__object_fd(c, o);
		if (fd < 0 || o->lines_from == LINES_FROM_FILE)
			return fd < 0 ? fd : dwarf_lines__reload_fd(o->lines, fd);
		dfd = open_debug_file(c, o, fd);
	}
	if (dfd < 0)
		return dfd;
	err = o->lines_from == LINES_FROM_FETCH && !fetched_is_ours(o, dfd, opts)
		  ? -ENODATA
		  : dwarf_lines__reload_fd(o->lines, dfd);
	close(dfd);
	return err;
}

/* Charges lines' current size once it grew by a step (a release lowers it: see
 * object__release_idle_lines). */
static void charge_lines(struct obj_cache *c, struct object *o)
{
	size_t cost = dwarf_lines__memory_bytes(o->lines);

	if (cost > o->lines_cost + LINES_RECHARGE_BYTES || !o->lines_cost) {
		o->cost += cost - o->lines_cost;
		o->lines_cost = cost;
		obj_cache__object_built(c, o);
	}
}

/* Passes on to the agent's counters what o's DWARF did since the last call. */
static void tell_lines(struct object *o, const struct object_lines_opts *opts)
{
	const struct dwarf_lines_stats *st = dwarf_lines__stats(o->lines);

	if (opts->stats) {
		opts->stats->dwarf_copies += st->copies - o->lines_told.copies;
		opts->stats->dwarf_in_heap += st->in_heap - o->lines_told.in_heap;
		opts->stats->dwarf_resets += st->resets - o->lines_told.resets;
	}
	o->lines_told = *st;
}

int object__lines(struct object *o, uint64_t vaddr, const struct object_lines_opts *opts,
		  const struct dwarf_line_frame **frames)
{
	struct obj_cache *c = o->cache;
	uint64_t hits;
	int n, fd, err;

	if (!(o->built & OBJECT_PART_LINES)) {
		if (!c)
			return -ENODEV;
		o->lines_err = build_lines(c, o, opts);
		if (o->lines_err == -ENOENT || o->lines_err == -ENOMEM)
			return o->lines_err; /* the file could not be reopened: not remembered */
		o->built |= OBJECT_PART_LINES;
		if (opts->stats && !o->lines_err)
			opts->stats->files_with_lines++;
		else if (opts->stats && o->lines_err == -ENODATA)
			opts->stats->files_no_debug++;
	}
	if (o->lines_err == -EAGAIN) {
		fd = opts->fetch ? opts->fetch(opts->fetch_ctx, o->build_id) : -ENOENT;
		if (fd == -EAGAIN)
			return -EAGAIN;
		o->lines_err = fd < 0 ? -ENODATA : open_fetched_lines(o, fd, opts);
		if (fd >= 0)
			close(fd);
		if (opts->stats && !o->lines_err)
			opts->stats->files_with_lines++;
		else if (opts->stats && o->lines_err == -ENODATA)
			opts->stats->files_no_debug++;
	}
	if (o->lines_err)
		return o->lines_err;
	hits = dwarf_lines__stats(o->lines)->hits;
	n = dwarf_lines__lookup(o->lines, vaddr, frames);
	if (n == -ESTALE) {
		if (!c)
			return -ENODEV;
		err = reload_lines(c, o, opts);
		if (err) {
			pr_debug("DWARF of %s (pid %d) not read again: %s", o->at.path, o->pid,
				 strerror(-err));
			return err == -EAGAIN ? -EAGAIN : -ENOENT;
		}
		if (opts->stats)
			opts->stats->dwarf_reloaded++;
		n = dwarf_lines__lookup(o->lines, vaddr, frames);
	}
	if (dwarf_lines__stats(o->lines)->hits == hits)
		o->lines_miss_ns = monotonic_ns();
	tell_lines(o, opts);
	/* the address cache grows with lookups: the budget hears of it in steps */
	if (c)
		charge_lines(c, o);
	return n;
}

bool object__release_idle_lines(struct object *o, uint64_t now_ns, uint64_t idle_ns)
{
	size_t cost;

	if (!o->lines || !dwarf_lines__loaded(o->lines) || now_ns - o->lines_miss_ns < idle_ns)
		return false;
	dwarf_lines__release(o->lines);
	/* never more than charged: the address cache is charged in steps, so a tiny DWARF's
	 * cache may have outgrown what was charged for both (by less than a step) */
	cost = dwarf_lines__memory_bytes(o->lines);
	if (cost < o->lines_cost) {
		o->cost -= o->lines_cost - cost;
		o->lines_cost = cost;
	}
	return true;
}

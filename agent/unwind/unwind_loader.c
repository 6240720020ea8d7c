/* SPDX-License-Identifier: BSD-2-Clause */
/* Loads unwind tables into the BPF walker's maps (rows in chunks added as tables are loaded
 * and deleted as they are evicted, pages and rules by update), one per mapped file (the rows
 * come from its object), evicts unused ones when the pool is full, and registers each
 * process's executable mappings (as the process cache read them) in the (pid, address) LPM
 * trie. */
#include <bpf/bpf.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/lru_cache.h"
#include "object/obj_cache.h"
#include "proc/proc_cache.h"
#include "unwind/unwind_loader.h"
#include "object/unwind_table.h"

struct utable {
	uint64_t id;
	uint64_t dev, inode;   /* the file the rows are of */
	uint32_t first, nrows; /* extent in the row pool (first: a chunk's first row); nrows 0:
				* nothing loaded */
	uint32_t refs;	       /* registered mappings using it */
	uint64_t last_used;
	uint64_t *pages; /* page index entries written (file address >> PAGE_SHIFT) */
	uint32_t npages;
	struct stoker_unwind_seg segs[UNWIND_MAX_SEGMENTS];
	size_t nsegs;
};

struct umap {
	uint64_t start, end, table_id;
};

struct uproc {
	int pid;
	size_t n;
	struct umap *maps;
	uint64_t rows, pages; /* of the tables its mappings use: charged to its quota */
	uint64_t prefixes;    /* its entries in the LPM trie */
	uint64_t scanned_ns;
	bool at_exec;  /* scanned at exec: libraries may have been mapped since */
	bool deferred; /* a table was left to build in a later turn: queued, not registered */
	struct unwind_loader *l;
};

/* Quotas in the shared maps, so that one process or file cannot crowd out the others: a file
 * whose table would take more is refused, and a process is refused new tables past its share
 * of rows and pages, and new mappings past its share of the LPM trie (all counted). */
#define FILE_PAGE_QUOTA	  (STOKER_UNWIND_MAX_PAGES / 16)
#define PROC_PAGE_QUOTA	  (STOKER_UNWIND_MAX_PAGES / 8)
#define PROC_PREFIX_QUOTA (STOKER_UNWIND_MAX_MAPPINGS / 32)

#define DEFERRED_MAX 4096

struct unwind_loader {
	struct unwind_loader_opts opts;
	size_t pool_chunks, pool_rows;
	size_t pages_used;
	/* Table building is spread over the main loop's turns: past the turn's deadline, after
	 * one build, a process's scan is deferred to unwind_loader__work. */
	uint64_t build_deadline_ns;
	bool built_this_turn;
	int deferred[DEFERRED_MAX];
	size_t deferred_head, ndeferred;
	struct stoker_unwind_chunk *chunk; /* staging for one update */
	struct unwind_rules *rules;
	uint32_t rules_synced;
	struct utable *tables;
	size_t ntables;
	struct lru_cache *procs; /* pid -> struct uproc */
	uint64_t tick;
	struct unwind_loader_stats st;
};

static struct utable *find_table(struct unwind_loader *l, uint64_t id)
{
	for (size_t i = 0; i < l->ntables; i++)
		if (l->tables[i].id == id)
			return &l->tables[i];
	return NULL;
}

static struct utable *find_file_table(struct unwind_loader *l, uint64_t dev, uint64_t inode)
{
	for (size_t i = 0; i < l->ntables; i++)
		if (l->tables[i].dev == dev && l->tables[i].inode == inode)
			return &l->tables[i];
	return NULL;
}

/* Splits [start, end) into the fewest aligned power-of-two blocks: LPM prefixes. */
static size_t prefixes(uint64_t start, uint64_t end, uint64_t *addr, uint32_t *bits, size_t max)
{
	size_t n = 0;

	while (start < end && n < max) {
		int k = start ? __builtin_ctzll(start) : 63;

		while (k > 0 &&
		       (k >= 64 || start + (1ull << k) > end || start + (1ull << k) < start))
			k--;
		addr[n] = start;
		bits[n] = 64 - (uint32_t)k;
		n++;
		start += 1ull << k;
	}
	return n;
}

static void map_key(struct stoker_unwind_map_key *k, int pid, uint64_t addr, uint32_t addr_bits)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + addr_bits;
	k->pid_be = htobe32((uint32_t)pid);
	k->addr_be = htobe64(addr);
}

/* Writes v for [start, end) of pid as LPM prefixes, or deletes them when v is NULL (a
 * missing entry is no error then: the range may never have been written). */
static int set_range(struct unwind_loader *l, struct uproc *p, uint64_t start, uint64_t end,
		     const struct stoker_unwind_map_val *v)
{
	uint64_t addr[128];
	uint32_t bits[128];
	size_t n = prefixes(start, end, addr, bits, 128);
	struct stoker_unwind_map_val val;
	int pid = p->pid;

	if (v) {
		val = *v;
		val.start = start;
		val.end = end;
	}

	if (v && p->prefixes + n > PROC_PREFIX_QUOTA)
		return -EDQUOT;
	if (v)
		p->prefixes += n;

	for (size_t i = 0; i < n; i++) {
		struct stoker_unwind_map_key k;

		map_key(&k, pid, addr[i], bits[i]);
		if (!v)
			bpf_map_delete_elem(l->opts.maps.mappings_fd, &k);
		else if (bpf_map_update_elem(l->opts.maps.mappings_fd, &k, &val, BPF_ANY))
			return -errno;
	}
	return 0;
}

static void table_unref(struct unwind_loader *l, uint64_t id)
{
	struct utable *t = id ? find_table(l, id) : NULL;

	if (t && t->refs)
		t->refs--;
}

static void free_uproc(void *v, void *ctx)
{
	struct uproc *p = v;
	struct unwind_loader *l = p->l;
	struct stoker_unwind_map_key k;

	map_key(&k, p->pid, 0, 0);
	bpf_map_delete_elem(l->opts.maps.mappings_fd, &k);
	for (size_t i = 0; i < p->n; i++) {
		set_range(l, p, p->maps[i].start, p->maps[i].end, NULL);
		table_unref(l, p->maps[i].table_id);
	}
	free(p->maps);
	free(p);
}

struct unwind_loader *unwind_loader__new(const struct unwind_loader_opts *opts)
{
	struct lru_cache_opts lo = { 0 };
	struct unwind_loader *l;
	int err;

	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->opts = *opts;
	if (!l->opts.max_procs)
		l->opts.max_procs = 16384;
	if (!l->opts.max_tables || l->opts.max_tables > STOKER_UNWIND_MAX_FILES)
		l->opts.max_tables = STOKER_UNWIND_MAX_FILES;
	if (!l->opts.rescan_interval_ns)
		l->opts.rescan_interval_ns = 2000000000ull;
	l->pool_chunks = opts->maps.chunks;
	l->pool_rows = l->pool_chunks * STOKER_UNWIND_CHUNK_ROWS;
	l->chunk = malloc(sizeof(*l->chunk));
	l->rules = malloc(sizeof(*l->rules));
	l->tables = calloc(l->opts.max_tables, sizeof(*l->tables));
	if (!l->rules || !l->tables || !l->chunk) {
		err = -ENOMEM;
		goto fail;
	}
	unwind_rules__init(l->rules);
	l->rules_synced = 1; /* rule 0 is the all-zero INVALID the array starts with */

	lo.key_size = sizeof(int);
	lo.max_entries = l->opts.max_procs;
	lo.free_value = free_uproc;
	l->procs = lru_cache__new(&lo);
	if (!l->procs) {
		err = -ENOMEM;
		goto fail;
	}
	l->st.rows_capacity = l->pool_rows;
	l->st.chunks_capacity = l->pool_chunks;
	return l;
fail:
	unwind_loader__free(l);
	errno = -err;
	return NULL;
}

void unwind_loader__free(struct unwind_loader *l)
{
	if (!l)
		return;
	lru_cache__free(l->procs); /* unregisters every process */
	for (size_t i = 0; l->tables && i < l->ntables; i++)
		free(l->tables[i].pages);
	free(l->chunk);
	free(l->tables);
	free(l->rules);
	free(l);
}

static void delete_pages(struct unwind_loader *l, struct utable *t)
{
	for (uint32_t i = 0; i < t->npages; i++) {
		struct stoker_unwind_page_key k = { .table_id = t->id, .page = t->pages[i] };

		bpf_map_delete_elem(l->opts.maps.pages_fd, &k);
	}
	l->pages_used -= t->npages;
	free(t->pages);
	t->pages = NULL;
	t->npages = 0;
}

static uint32_t chunks_of(size_t nrows)
{
	return (uint32_t)((nrows + STOKER_UNWIND_CHUNK_ROWS - 1) / STOKER_UNWIND_CHUNK_ROWS);
}

/* Deletes the chunks of rows [first, first + nrows): their memory goes back to the kernel. */
static void delete_chunks(struct unwind_loader *l, uint32_t first, uint32_t nrows)
{
	uint32_t c0 = first / STOKER_UNWIND_CHUNK_ROWS, n = chunks_of(nrows);

	for (uint32_t c = c0; c < c0 + n; c++)
		if (!bpf_map_delete_elem(l->opts.maps.rows_fd, &c))
			l->st.chunks_used--;
}

/* Writes rows at first (a chunk's first row), one chunk per update. */
static int write_chunks(struct unwind_loader *l, uint32_t first,
			const struct stoker_unwind_row *rows, size_t nrows)
{
	uint32_t c = first / STOKER_UNWIND_CHUNK_ROWS;

	for (size_t i = 0; i < nrows; i += STOKER_UNWIND_CHUNK_ROWS, c++) {
		size_t n =
		    nrows - i < STOKER_UNWIND_CHUNK_ROWS ? nrows - i : STOKER_UNWIND_CHUNK_ROWS;

		memcpy(l->chunk->rows, rows + i, n * sizeof(rows[0]));
		memset(l->chunk->rows + n, 0, (STOKER_UNWIND_CHUNK_ROWS - n) * sizeof(rows[0]));
		if (bpf_map_update_elem(l->opts.maps.rows_fd, &c, l->chunk, BPF_ANY))
			return -errno;
		l->st.chunks_used++;
	}
	return 0;
}

/* The file's entry for processes not registered yet, which the BPF walker finds through
 * their VMAs (bpf/unwind.bpf.h vma_mapping). */
static void file_key(const struct utable *t, struct stoker_unwind_file_key *k)
{
	memset(k, 0, sizeof(*k));
	k->major = major(t->dev);
	k->minor = minor(t->dev);
	k->inode = t->inode;
}

static void put_file(struct unwind_loader *l, const struct utable *t)
{
	struct stoker_unwind_file_val v = { .table_id = t->id };
	struct stoker_unwind_file_key k;

	if (l->opts.maps.files_fd < 0)
		return;
	v.nsegs = t->nsegs < STOKER_UNWIND_FILE_SEGS ? (__u32)t->nsegs : STOKER_UNWIND_FILE_SEGS;
	memcpy(v.segs, t->segs, v.nsegs * sizeof(v.segs[0]));
	file_key(t, &k);
	/* the map holds as many files as the loader holds tables: a failure is the kernel's
	 * memory, and such processes then wait for their registration, as without the map */
	if (bpf_map_update_elem(l->opts.maps.files_fd, &k, &v, BPF_ANY))
		pr_debug("unwind file entry of %llu:%llu not written: %s",
			 (unsigned long long)t->dev, (unsigned long long)t->inode, strerror(errno));
}

static void delete_file(struct unwind_loader *l, const struct utable *t)
{
	struct stoker_unwind_file_key k;

	if (l->opts.maps.files_fd < 0 || !t->nrows)
		return;
	file_key(t, &k);
	bpf_map_delete_elem(l->opts.maps.files_fd, &k);
}

static void drop_table(struct unwind_loader *l, size_t i)
{
	delete_file(l, &l->tables[i]);
	delete_pages(l, &l->tables[i]);
	delete_chunks(l, l->tables[i].first, l->tables[i].nrows);
	l->st.rows_used -= l->tables[i].nrows;
	l->tables[i] = l->tables[--l->ntables];
	l->st.tables_evicted++;
}

/* The least recently used table no process maps, or -1. */
static ssize_t lru_unused(struct unwind_loader *l)
{
	ssize_t best = -1;

	for (size_t i = 0; i < l->ntables; i++)
		if (!l->tables[i].refs &&
		    (best < 0 || l->tables[i].last_used < l->tables[best].last_used))
			best = (ssize_t)i;
	return best;
}

static int cmp_first(const void *a, const void *b)
{
	const struct utable *x = *(const struct utable *const *)a;
	const struct utable *y = *(const struct utable *const *)b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* First fit in the pool, in whole chunks (n of them); -ENOSPC when no gap is large enough. */
static int find_gap(struct unwind_loader *l, size_t n, uint32_t *first)
{
	struct utable **by = malloc((l->ntables + 1) * sizeof(*by));
	size_t m = 0;
	uint64_t at = 0;
	int err = -ENOSPC;

	if (!by)
		return -ENOMEM;
	for (size_t i = 0; i < l->ntables; i++)
		if (l->tables[i].nrows)
			by[m++] = &l->tables[i];
	qsort(by, m, sizeof(*by), cmp_first);
	for (size_t i = 0; i <= m; i++) {
		uint64_t end = i < m ? by[i]->first / STOKER_UNWIND_CHUNK_ROWS : l->pool_chunks;

		if (end >= at && end - at >= n) {
			*first = (uint32_t)(at * STOKER_UNWIND_CHUNK_ROWS);
			err = 0;
			break;
		}
		if (i < m)
			at = by[i]->first / STOKER_UNWIND_CHUNK_ROWS + chunks_of(by[i]->nrows);
	}
	free(by);
	return err;
}

static int alloc_rows(struct unwind_loader *l, size_t nrows, uint32_t *first)
{
	size_t n = chunks_of(nrows);
	int err;

	if (n > l->pool_chunks)
		return -ENOSPC;
	while ((err = find_gap(l, n, first)) == -ENOSPC) {
		ssize_t victim = lru_unused(l);

		if (victim < 0)
			return -ENOSPC;
		drop_table(l, (size_t)victim);
	}
	return err;
}

static int sync_rules(struct unwind_loader *l)
{
	for (; l->rules_synced < l->rules->n; l->rules_synced++) {
		uint32_t i = l->rules_synced;

		if (bpf_map_update_elem(l->opts.maps.rules_fd, &i, &l->rules->rules[i], BPF_ANY))
			return -errno;
	}
	return 0;
}

/* The pages of ut that need an index entry, in order, with the rows each names (its rows and
 * the one starting before it, so the walker's search never leaves the page's range): those in
 * which a row starts, or which a row with a rule covers from an earlier page. A page inside a
 * gap between FDEs needs none: a miss unwinds by frame pointers, as the gap row would, and two
 * FDEs far apart cost two pages, not every page between them. Returns the count, with at most
 * max of them in out (NULL: count only). */
static size_t table_pages(const struct unwind_table *ut, uint64_t *out, uint32_t *first,
			  uint32_t *count, size_t max)
{
	const uint64_t span = 1ull << STOKER_UNWIND_PAGE_SHIFT;
	uint64_t p = ut->rows[0].pc >> STOKER_UNWIND_PAGE_SHIFT;
	uint64_t last = ut->rows[ut->nrows - 1].pc >> STOKER_UNWIND_PAGE_SHIFT;
	size_t i = 0, n = 0;

	while (p <= last) {
		uint64_t base = p << STOKER_UNWIND_PAGE_SHIFT;
		size_t lo, hi;

		while (i + 1 < ut->nrows && ut->rows[i + 1].pc <= base)
			i++;
		lo = i;
		hi = lo;
		while (hi < ut->nrows && ut->rows[hi].pc < base + span)
			hi++;
		if (hi == lo)
			hi = lo + 1;
		if (hi == lo + 1 && ut->rows[lo].pc < base && ut->rows[lo].rule == 0) {
			p = lo + 1 < ut->nrows ? ut->rows[lo + 1].pc >> STOKER_UNWIND_PAGE_SHIFT
					       : last + 1;
			continue;
		}
		if (out && n < max) {
			out[n] = p;
			first[n] = (uint32_t)lo;
			count[n] = (uint32_t)(hi - lo);
		}
		n++;
		p++;
	}
	return n;
}

static int put_pages(struct unwind_loader *l, struct utable *t, const struct unwind_table *ut,
		     size_t npages)
{
	uint32_t *first = malloc(npages * sizeof(*first)), *count = malloc(npages * sizeof(*count));
	int err = 0;

	t->pages = malloc(npages * sizeof(*t->pages));
	if (!t->pages || !first || !count) {
		err = -ENOMEM;
		goto out;
	}
	table_pages(ut, t->pages, first, count, npages);
	for (size_t i = 0; i < npages; i++) {
		struct stoker_unwind_page_key k = { .table_id = t->id, .page = t->pages[i] };
		struct stoker_unwind_page v = { .first = t->first + first[i], .count = count[i] };

		if (bpf_map_update_elem(l->opts.maps.pages_fd, &k, &v, BPF_ANY)) {
			err = -errno;
			break;
		}
		t->npages++;
		l->pages_used++;
	}
out:
	free(first);
	free(count);
	return err;
}

/* Loads the rows of o's table (built by the object on first use, kept there) under id. A
 * table that cannot be loaded stays listed without rows, so the file is not tried again while
 * listed. NULL when the file could not be read at all (tried again at the next scan). */
static struct utable *load_table(struct unwind_loader *l, struct object *o, uint64_t id,
				 const struct uproc *p)
{
	/* a file may take half of the rows (rustc's driver library needs 1.4M, 11 MB), a
	 * process three quarters: the rest stays for the others */
	struct unwind_table_opts to = { .max_rows = l->pool_rows / 2, .debug_frame = true };
	size_t npages = 0;
	bool built = object__built(o, OBJECT_PART_UNWIND);
	const struct unwind_table *ut = NULL;
	const char *path = o->at.path;
	struct utable *t = NULL;
	uint64_t t0 = monotonic_ns();
	uint32_t first = 0;
	int err;

	if (l->ntables >= l->opts.max_tables) {
		ssize_t victim = lru_unused(l);

		if (victim < 0) {
			l->st.tables_no_room++;
			return NULL;
		}
		drop_table(l, (size_t)victim);
	}
	err = object__unwind_table(o, l->rules, &to, &ut);
	if (!object__built(o, OBJECT_PART_UNWIND))
		return NULL;
	if (!built) {
		l->built_this_turn = true;
		l->st.build_ns += monotonic_ns() - t0;
		if (err && err != -E2BIG && err != -EDQUOT) { /* refused: the object warned */
			pr_debug("no unwind table for %s: %s", path, strerror(-err));
			l->st.tables_failed++;
		}
		if (err == -E2BIG) {
			l->st.tables_over_quota++;
			pr_warn_ratelimited("%s has more unwind rows than half of "
					    "--unwind-table-memory; its stacks use frame pointers",
					    path);
		}
		if (!err && ut->nrows == 0)
			l->st.tables_without_cfi++;
		if (ut)
			l->st.fdes_capped += ut->capped_fdes;
	}
	if (!err && ut->nrows) {
		npages = table_pages(ut, NULL, NULL, NULL, 0);
		if (npages > FILE_PAGE_QUOTA) {
			if (!built) {
				l->st.tables_over_quota++;
				pr_warn_ratelimited(
				    "%s spans %zu pages of code: more than a file's "
				    "quota; its stacks use frame pointers",
				    path, npages);
			}
			err = -EDQUOT;
		} else if (p->rows + ut->nrows > l->pool_rows / 4 * 3 ||
			   p->pages + npages > PROC_PAGE_QUOTA) {
			/* not listed: another process may load it within its own quota */
			l->st.proc_quota_refused++;
			return NULL;
		}
	}
	/* pages, then rows, before the slot: evicting reorders l->tables */
	while (!err && npages && l->pages_used + npages > STOKER_UNWIND_MAX_PAGES) {
		ssize_t victim = lru_unused(l);

		if (victim < 0)
			err = -ENOSPC;
		else
			drop_table(l, (size_t)victim);
	}
	if (!err && ut->nrows)
		err = alloc_rows(l, ut->nrows, &first);
	t = &l->tables[l->ntables];
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->dev = o->dev;
	t->inode = o->inode;
	if (ut) {
		memcpy(t->segs, ut->segs, sizeof(t->segs));
		t->nsegs = ut->nsegs;
	}
	if (ut && ut->nrows) { /* built: err is the quota's or the allocation's */
		if (err == -EDQUOT) {
			/* listed without rows: not tried again while listed */
		} else if (err) {
			l->st.tables_no_room++;
			pr_warn_ratelimited(
			    "unwind table memory full (%zu rows in use): %s unwinds "
			    "by frame pointers; raise --unwind-table-memory",
			    (size_t)l->st.rows_used, path);
		} else {
			t->first = first;
			t->nrows = (uint32_t)ut->nrows;
			err = write_chunks(l, first, ut->rows, ut->nrows);
			if (!err)
				err = sync_rules(l);
			if (!err)
				err = put_pages(l, t, ut, npages);
			if (err) {
				pr_warn("failed to load the unwind table of %s: %s", path,
					strerror(-err));
				delete_pages(l, t);
				delete_chunks(l, t->first, t->nrows);
				t->nrows = 0;
			} else {
				l->st.rows_used += t->nrows;
				l->st.tables_built++;
				put_file(l, t);
				pr_debug(
				    "unwind table for %s: %zu rows from %s (%zu FDEs cut short)",
				    path, ut->nrows, ut->source, ut->capped_fdes);
				/* the rows live in BPF now; an eviction builds them again */
				object__drop_unwind_rows(o);
			}
		}
	}
	l->ntables++;
	return t;
}

/* The table for mapping m of pid (NULL: none can be had; the range unwinds by frame
 * pointers). */
static struct utable *table_for(struct unwind_loader *l, struct proc *proc,
				const struct proc_map *m, const struct uproc *p, bool *deferred)
{
	uint64_t dev = makedev(m->dev_major, m->dev_minor);
	struct {
		uint64_t dev, inode;
	} fk = { dev, m->inode };
	struct utable *t = find_file_table(l, dev, m->inode);
	struct object *o;
	uint64_t id;

	if (t)
		return t;
	o = proc_cache__object(l->opts.procs, proc, m);
	if (!o)
		return NULL;
	if (!object__built(o, OBJECT_PART_UNWIND) && l->build_deadline_ns && l->built_this_turn &&
	    monotonic_ns() >= l->build_deadline_ns) {
		*deferred = true;
		return NULL;
	}
	id = hash_bytes(&fk, sizeof(fk), 0xf11e) | 1;
	while (find_table(l, id)) /* two files, one hash: ids must differ in BPF */
		id = (id + 2) | 1;
	return load_table(l, o, id, p);
}

int unwind_loader__scan(struct unwind_loader *l, struct proc *proc)
{
	struct stoker_unwind_map_key k;
	struct stoker_unwind_map_val v = { .flags = STOKER_UMAP_PROC };
	const struct proc_map *maps = proc->maps;
	struct uproc *p = NULL, *old;
	int pid = proc->pid, n = (int)proc->nmaps, err = 0;
	bool deferred = false;

	l->st.scans++;
	if (proc->maps_failed && !proc->maps)
		n = -ESRCH;
	p = calloc(1, sizeof(*p));
	if (!p) {
		err = -ENOMEM;
		goto out;
	}
	p->pid = pid;
	p->l = l;
	p->scanned_ns = monotonic_ns();
	if (n < 0) {
		/* remembered empty, so a vanished process is not rescanned at every sample */
		l->st.scan_failures++;
		err = n;
		if (lru_cache__put(l->procs, &pid, p, 1))
			free(p);
		goto out;
	}
	p->maps = calloc((size_t)n + 1, sizeof(*p->maps));
	if (!p->maps) {
		free(p);
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const struct proc_map *m = &maps[i];
		struct stoker_unwind_map_val mv = { .flags = STOKER_UMAP_FP };
		struct utable *t = NULL;

		if (m->kind == PROC_MAP_OTHER)
			continue;
		/* TODO(vdso): the vDSO has CFI too; until it is loaded its frames use FP. */
		if (m->kind == PROC_MAP_FILE) {
			bool later = false;

			t = table_for(l, proc, m, p, &later);
			if (later) {
				deferred = true;
				continue;
			}
		}
		/* charged once per file where its mappings sit side by side, as they do */
		if (t && (!p->n || p->maps[p->n - 1].table_id != t->id)) {
			p->rows += t->nrows;
			p->pages += t->npages;
		}
		if (t && t->nrows) {
			uint64_t bias;

			if (!unwind_segments_bias(t->segs, t->nsegs, m->start, m->pgoff, &bias)) {
				mv.bias = bias;
				mv.table_id = t->id;
				mv.flags = STOKER_UMAP_TABLE;
			}
		}
		if (t) {
			t->last_used = ++l->tick;
			t->refs++;
			p->maps[p->n++] = (struct umap){ m->start, m->end, t->id };
		} else {
			p->maps[p->n++] = (struct umap){ m->start, m->end, 0 };
		}
		err = set_range(l, p, m->start, m->end, &mv);
		if (err == -EDQUOT) {
			/* the rest stays unregistered: unwound by frame pointers */
			l->st.proc_quota_refused++;
			pr_warn_ratelimited("pid %d has more mappings than its share of the unwind "
					    "map; the rest unwind by frame pointers",
					    pid);
			err = 0;
			break;
		}
		if (err) {
			pr_warn_ratelimited(
			    "failed to register mappings of pid %d for unwinding: %s", pid,
			    strerror(-err));
			break;
		}
	}
	/* Stale ranges of an earlier scan: their keys were not rewritten above. */
	old = lru_cache__get(l->procs, &pid);
	if (old) {
		for (size_t i = 0; i < old->n; i++) {
			bool kept = false;

			for (size_t j = 0; j < p->n && !kept; j++)
				kept = p->maps[j].start == old->maps[i].start &&
				       p->maps[j].end == old->maps[i].end;
			if (!kept)
				set_range(l, old, old->maps[i].start, old->maps[i].end, NULL);
			table_unref(l, old->maps[i].table_id);
		}
		old->n = 0; /* already undone: replacing it must not undo it again */
		free(old->maps);
		old->maps = NULL;
	}
	/* replacing the old entry unregisters it, so this goes first */
	if (lru_cache__put(l->procs, &pid, p, 1)) {
		free_uproc(p, NULL);
		err = -ENOMEM;
		goto out;
	}
	if (deferred && l->ndeferred < DEFERRED_MAX) {
		/* unregistered until then: its samples say their tables are loading */
		p->deferred = true;
		l->deferred[(l->deferred_head + l->ndeferred++) % DEFERRED_MAX] = pid;
		l->st.scans_deferred++;
		goto out;
	}
	/* last: the process counts as registered only once its ranges are in */
	map_key(&k, pid, 0, 0);
	if (bpf_map_update_elem(l->opts.maps.mappings_fd, &k, &v, BPF_ANY) && !err)
		err = -errno;
out:
	return err;
}

void unwind_loader__on_sample(struct unwind_loader *l, struct proc *proc, uint32_t flags)
{
	uint64_t now = monotonic_ns();
	struct uproc *p;

	/* VMA: walked through the kernel's VMAs, so not registered yet either */
	if (!(flags &
	      (STOKER_SF_UNWIND_PENDING | STOKER_SF_UNWIND_VMA | STOKER_SF_UNWIND_NO_MAPPING)))
		return;
	p = lru_cache__get(l->procs, &proc->pid);
	if (p && p->deferred)
		return; /* queued */
	/* PENDING for a registered process: a sample taken before its registration landed */
	if (p && now - p->scanned_ns < l->opts.rescan_interval_ns &&
	    !(p->at_exec && (flags & STOKER_SF_UNWIND_NO_MAPPING)))
		return;
	/* mappings changed since the last scan: fresh maps, unless read since then anyway.
	 * PENDING only says the registration had not landed yet: the maps the process cache
	 * has are good, and a change since shows up as NO_MAPPING. */
	if (p && (flags & STOKER_SF_UNWIND_NO_MAPPING))
		proc_cache__refresh_maps(l->opts.procs, proc, now - p->scanned_ns);
	unwind_loader__scan(l, proc);
}

void unwind_loader__on_exec(struct unwind_loader *l, struct proc *proc)
{
	struct uproc *p;

	l->st.exec_scans++;
	if (unwind_loader__scan(l, proc))
		return;
	p = lru_cache__get(l->procs, &proc->pid);
	if (p)
		p->at_exec = true;
}

void unwind_loader__set_deadline(struct unwind_loader *l, uint64_t deadline_ns)
{
	l->build_deadline_ns = deadline_ns;
	l->built_this_turn = false;
}

void unwind_loader__defer_builds(struct unwind_loader *l)
{
	l->build_deadline_ns = 1; /* long past */
	l->built_this_turn = true;
}

void unwind_loader__work(struct unwind_loader *l, uint64_t deadline_ns)
{
	unwind_loader__set_deadline(l, deadline_ns);
	while (l->ndeferred && (!l->built_this_turn || monotonic_ns() < deadline_ns)) {
		int pid = l->deferred[l->deferred_head];
		struct uproc *p = lru_cache__get(l->procs, &pid);
		struct proc *proc;
		bool at_exec;

		l->deferred_head = (l->deferred_head + 1) % DEFERRED_MAX;
		l->ndeferred--;
		if (!p || !p->deferred)
			continue; /* gone, or scanned since */
		at_exec = p->at_exec;
		proc = proc_cache__lookup(l->opts.procs, pid, NULL);
		if (!proc) {
			unwind_loader__forget(l, pid);
			continue;
		}
		/* what it maps now: a process queued at its exec has loaded its libraries since */
		proc_cache__refresh_maps(l->opts.procs, proc, 0);
		unwind_loader__scan(l, proc);
		p = lru_cache__get(l->procs, &pid);
		if (p && at_exec)
			p->at_exec = true;
	}
}

size_t unwind_loader__pending(const struct unwind_loader *l)
{
	return l->ndeferred;
}

void unwind_loader__forget(struct unwind_loader *l, int pid)
{
	lru_cache__remove(l->procs, &pid);
}

void unwind_loader__stats(const struct unwind_loader *l, struct unwind_loader_stats *st)
{
	*st = l->st;
	st->tables = l->ntables;
	st->rules = l->rules->n;
	st->procs = lru_cache__count(l->procs);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* Span context discovery: which processes export the trace-context ABI and where, kept in step
 * with the BPF span_procs map; bounded by an LRU table of processes. Whether a file exports the
 * ABI is asked of its object, which searches it once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/lru_cache.h"
#include "object/obj_cache.h"
#include "span/span_context.h"
#include "trace_context_abi.h"

#define DEFAULT_RESCAN_NS (5ull * 1000000000ull)

struct span_proc {
	int pid;
	uint64_t serial;       /* proc_cache entry searched: a new one means a new image */
	uint64_t scanned_ns;   /* last search */
	uint64_t maps_read_ns; /* the maps read that search used */
	uint64_t addr;	       /* published address, 0: none */
};

struct span_context {
	struct span_context_opts opts;
	struct lru_cache *procs; /* pid -> struct span_proc */
	struct span_context_stats st;
	bool closing; /* freeing: BPF entries go with the program */
};

static const char hexdig[] = "0123456789abcdef";

void span_id_hex(const uint8_t *id, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[id[i] >> 4];
		out[2 * i + 1] = hexdig[id[i] & 15];
	}
	out[2 * n] = '\0';
}

static int publish(struct span_context *sc, int pid, uint64_t addr)
{
	int err;

	if (!sc->opts.publish)
		return 0;
	err = sc->opts.publish(sc->opts.ctx, pid, addr);
	if (err) {
		sc->st.publish_errors++;
		pr_warn_ratelimited("failed to %s the span context of pid %d in BPF: %s",
				    addr ? "publish" : "remove", pid, strerror(-err));
	}
	return err;
}

/* Every way an entry leaves the table (exec/exit, eviction) removes its BPF entry too. */
static void free_proc(void *v, void *ctx)
{
	struct span_context *sc = ctx;
	struct span_proc *e = v;

	if (e->addr && !sc->closing)
		publish(sc, e->pid, 0);
	free(e);
}

struct span_context *span_context__new(const struct span_context_opts *opts)
{
	struct span_context *sc = calloc(1, sizeof(*sc));
	struct lru_cache_opts lo = { 0 };

	if (!sc)
		goto fail;
	if (opts)
		sc->opts = *opts;
	if (!sc->opts.max_procs || sc->opts.max_procs > STOKER_SPAN_PROCS_MAX)
		sc->opts.max_procs = STOKER_SPAN_PROCS_MAX;
	if (!sc->opts.rescan_ns)
		sc->opts.rescan_ns = DEFAULT_RESCAN_NS;
	lo.key_size = sizeof(int);
	lo.max_entries = sc->opts.max_procs;
	lo.free_value = free_proc;
	lo.ctx = sc;
	sc->procs = lru_cache__new(&lo);
	if (!sc->procs || !sc->opts.objs)
		goto fail;
	return sc;
fail:
	span_context__free(sc);
	errno = ENOMEM;
	return NULL;
}

void span_context__free(struct span_context *sc)
{
	if (!sc)
		return;
	sc->closing = true;
	lru_cache__free(sc->procs);
	free(sc);
}

/* Whether the object mapped at m exports the ABI. Returns 1 (with *delta), 0, or -errno when
 * the file could not be opened (the next search tries again). */
static int object_exports(struct span_context *sc, int pid, const struct proc_map *m,
			  uint64_t *delta)
{
	struct object *o = obj_cache__get(sc->opts.objs, pid, m);
	struct elf_data_symbol ds;
	bool searched;
	int err;

	if (!o)
		return -ENOENT;
	searched = object__built(o, OBJECT_PART_DATA_SYM);
	err = object__data_symbol(o, SPAN_ABI_SYMBOL, m->pgoff, &ds);
	if (!searched && object__built(o, OBJECT_PART_DATA_SYM))
		sc->st.files_checked++;
	if (err == -ENOENT || err == -ENOEXEC)
		return 0;
	if (err)
		return err;
	if (ds.size && ds.size < sizeof(struct stoker_span_tp_offset)) {
		if (!searched)
			pr_warn_ratelimited("%s exports %s of %llu bytes, not the %zu of ABI v1; "
					    "ignored",
					    m->path, SPAN_ABI_SYMBOL, (unsigned long long)ds.size,
					    sizeof(struct stoker_span_tp_offset));
		return 0;
	}
	*delta = ds.vaddr - ds.map_vaddr;
	return 1;
}

int span_context__locate(struct span_context *sc, int pid, const struct proc_map *maps, size_t n,
			 uint64_t *addr)
{
	uint64_t delta = 0;
	int r;

	/* The first object in the address space that exports the ABI: several would be a
	 * mistake (see the header), and the main executable usually comes first. */
	for (size_t i = 0; i < n; i++) {
		const struct proc_map *m = &maps[i];

		if (m->kind != PROC_MAP_FILE || !m->exec)
			continue;
		if (i > 0 && maps[i - 1].kind == PROC_MAP_FILE && maps[i - 1].inode == m->inode &&
		    maps[i - 1].pgoff == m->pgoff && maps[i - 1].dev_major == m->dev_major &&
		    maps[i - 1].dev_minor == m->dev_minor)
			continue;
		r = object_exports(sc, pid, m, &delta);
		if (r == 1) {
			*addr = m->start + delta;
			pr_debug("pid %d: trace context ABI v1 in %s at 0x%llx", pid, m->path,
				 (unsigned long long)*addr);
			return 0;
		}
		if (r < 0 && r != -ENOENT && r != -ESTALE)
			pr_debug("pid %d: cannot search %s for the trace context ABI: %s", pid,
				 m->path, strerror(-r));
	}
	return -ENOENT;
}

void span_context__on_sample(struct span_context *sc, struct proc_cache *pc, struct proc *p)
{
	struct span_proc *e = lru_cache__get(sc->procs, &p->pid);
	uint64_t now, addr = 0;

	if (e && e->serial == p->serial && e->addr)
		return; /* found: nothing to do until exec or exit */
	now = monotonic_ns();
	if (e && e->serial == p->serial && e->maps_read_ns == p->maps_read_ns &&
	    now - e->scanned_ns < sc->opts.rescan_ns)
		return;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->pid = p->pid;
		if (lru_cache__put(sc->procs, &p->pid, e, 1)) {
			free(e);
			return;
		}
	}
	/* a library dlopen'ed since the last search is only in fresh mappings */
	if (e->serial == p->serial)
		proc_cache__refresh_maps(pc, p, sc->opts.rescan_ns);
	e->serial = p->serial;
	e->scanned_ns = now;
	e->maps_read_ns = p->maps_read_ns;
	sc->st.scans++;
	if (span_context__locate(sc, p->pid, p->maps, p->nmaps, &addr))
		addr = 0;
	if (addr == e->addr)
		return;
	if (addr)
		sc->st.procs_found++;
	/* a failed publish is retried at the next search */
	e->addr = publish(sc, p->pid, addr) ? 0 : addr;
}

void span_context__forget(struct span_context *sc, int pid)
{
	lru_cache__remove(sc->procs, &pid);
}

void span_context__stats(const struct span_context *sc, struct span_context_stats *st)
{
	*st = sc->st;
}

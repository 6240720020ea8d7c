/* SPDX-License-Identifier: BSD-2-Clause */
/* Object cache: one object per mapped file identity (dev, inode) while anything holds it,
 * opened once through proc_map_open; what is derived from objects is charged against one byte
 * budget and released least recently used first; the files objects hold open are bounded. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/log.h"
#include "util/lru_cache.h"
#include "object/obj_cache.h"

struct file_key {
	uint64_t dev, inode;
};

struct obj_cache {
	struct obj_cache_opts opts;
	/* every live object, without a reference: the one object of its file while processes
	 * hold it, even after what it derived was released */
	struct lru_cache *live;
	/* objects charged to the budget, with a reference: eviction releases what they derived */
	struct lru_cache *objs;
	struct obj_cache_stats st;
	struct object *pinned; /* the last object returned: borrowed references stay valid */
	uint64_t tick;
	bool closing;
};

void object_get(struct object *o)
{
	o->refcnt++;
}

static void release_derived(struct object *o)
{
	if (o->cache) {
		o->cache->st.symbol_bytes -= o->symbol_bytes;
		o->cache->st.unwind_bytes -= o->unwind_bytes;
	}
	o->symbol_bytes = o->unwind_bytes = 0;
	elf_object__free(o->elf);
	o->elf = NULL;
	go_pclntab__free(o->gopcln);
	o->gopcln = NULL;
	unwind_table__free(&o->unwind);
	memset(&o->unwind, 0, sizeof(o->unwind));
	free(o->data_sym_name);
	o->data_sym_name = NULL;
	dwarf_lines__free(o->lines);
	o->lines = NULL;
	o->lines_cost = 0;
	o->built = 0;
}

static void close_fd(struct obj_cache *c, struct object *o)
{
	if (o->fd < 0)
		return;
	close(o->fd);
	o->fd = -1;
	if (c)
		c->st.open_fds--;
}

void object_put(struct object *o)
{
	if (!o || --o->refcnt > 0)
		return;
	if (o->cache) {
		struct file_key key = { o->dev, o->inode };

		lru_cache__remove(o->cache->live, &key);
	}
	close_fd(o->cache, o);
	release_derived(o);
	free(o->path);
	free(o);
}

/* Evicted from the budget (or the cache is freed): what it derived and its file go; a process
 * holding it keeps the object, which derives again if asked. */
static void drop_object(void *v, void *ctx)
{
	struct obj_cache *c = ctx;
	struct object *o = v;

	close_fd(c, o);
	o->cached = false;
	if (!c->closing) {
		release_derived(o);
		o->cost = sizeof(*o) + strlen(o->path);
	}
	object_put(o);
}

static int forget_cache(const void *key, void *value, void *arg)
{
	struct object *o = value;

	o->cache = NULL;
	return 0;
}

struct obj_cache *obj_cache__new(const struct obj_cache_opts *opts)
{
	struct obj_cache *c = calloc(1, sizeof(*c));
	struct lru_cache_opts lo = { 0 };

	if (!c)
		return NULL;
	if (opts)
		c->opts = *opts;
	if (!c->opts.max_files)
		c->opts.max_files = 8192;
	if (!c->opts.max_bytes)
		c->opts.max_bytes = 128u << 20;
	if (!c->opts.max_file_bytes)
		c->opts.max_file_bytes = 32u << 20;
	if (c->opts.max_file_bytes > c->opts.max_bytes)
		c->opts.max_file_bytes = c->opts.max_bytes;
	if (!c->opts.max_open_fds)
		c->opts.max_open_fds = 128;
	lo.key_size = sizeof(struct file_key);
	lo.max_entries = c->opts.max_files;
	lo.max_cost = c->opts.max_bytes;
	lo.free_value = drop_object;
	lo.ctx = c;
	c->objs = lru_cache__new(&lo);
	lo.max_entries = (size_t)1 << 30; /* bounded by what holds objects, not by itself */
	lo.max_cost = 0;
	lo.free_value = NULL;
	c->live = lru_cache__new(&lo);
	if (!c->objs || !c->live) {
		obj_cache__free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void obj_cache__free(struct obj_cache *c)
{
	if (!c)
		return;
	c->closing = true;
	object_put(c->pinned);
	lru_cache__free(c->objs);
	if (c->live) /* objects processes still hold outlive the cache */
		lru_cache__sweep(c->live, forget_cache, NULL);
	lru_cache__free(c->live);
	free(c);
}

struct fd_victim {
	struct object *o;
	const struct object *keep;
};

static int pick_fd_victim(const void *key, void *value, void *arg)
{
	struct fd_victim *v = arg;
	struct object *o = value;

	if (o->fd >= 0 && o != v->keep && (!v->o || o->used_tick < v->o->used_tick))
		v->o = o;
	return 0;
}

/* Opens the file for o, first closing the least recently used object's file when the bound
 * is reached: that one is reopened if it ever needs its file again. */
static int open_file(struct obj_cache *c, struct object *o, int pid, const struct proc_map *m)
{
	char how[PROC_MAP_PATH_MAX + 64];
	struct fd_victim v = { NULL, o };
	int fd;

	if (c->st.open_fds >= c->opts.max_open_fds) {
		lru_cache__sweep(c->objs, pick_fd_victim, &v);
		if (v.o)
			close_fd(c, v.o);
	}
	fd = proc_map_open(pid, m, how, sizeof(how));
	if (fd < 0) {
		c->st.open_failures++;
		pr_debug("failed to open %s of pid %d: %s", m->path, pid, strerror(-fd));
		return fd;
	}
	c->st.opens++;
	c->st.open_fds++;
	return fd;
}

/* PT_LOAD segments and build-id: small, read once while the file is open anyway. */
static void read_header(struct object *o)
{
	uint8_t bid[ELF_BUILD_ID_MAX];
	int n;

	n = elf_read_segments_fd(o->fd, o->segs, ELF_MAX_SEGMENTS);
	o->nsegs = n > 0 ? (size_t)n : 0;
	n = elf_read_build_id_fd(o->fd, bid, sizeof(bid));
	for (int i = 0; i < n; i++)
		snprintf(o->build_id + 2 * i, 3, "%02x", bid[i]);
}

static void remember_user(struct object *o, int pid, const struct proc_map *m)
{
	if (o->pid == pid && o->at.start == m->start && o->at.end == m->end)
		return;
	o->pid = pid;
	o->at = *m;
}

/* Puts o (back) under the budget at its current cost, as most recently used: others are
 * evicted to make room, or o itself when it alone is over the budget. */
static void charge(struct obj_cache *c, struct object *o)
{
	struct file_key key = { o->dev, o->inode };

	if (o->cached) {
		lru_cache__set_cost(c->objs, &key, o->cost);
		return;
	}
	object_get(o);
	o->cached = true; /* before the put, which may evict it at once */
	if (lru_cache__put(c->objs, &key, o, o->cost)) {
		o->cached = false;
		object_put(o);
	}
}

/* The caller's borrowed reference outlives an eviction until the next get. */
static void pin(struct obj_cache *c, struct object *o)
{
	object_get(o);
	object_put(c->pinned);
	c->pinned = o;
}

int obj_cache__reserve(struct obj_cache *c, struct object *o, size_t bytes)
{
	if (bytes > c->opts.max_bytes || o->cost > c->opts.max_bytes - bytes)
		return -EFBIG;
	o->cost += bytes;
	charge(c, o);
	o->cost -= bytes; /* the caller charges what it allocated instead */
	return 0;
}

struct object *obj_cache__get(struct obj_cache *c, int pid, const struct proc_map *m)
{
	struct file_key key = { makedev(m->dev_major, m->dev_minor), m->inode };
	struct object *o = lru_cache__get(c->objs, &key);
	bool charged;

	if (!o) {
		o = lru_cache__get(c->live, &key);
		if (o)
			charge(c, o); /* a process held it past its eviction */
	}
	if (o) {
		c->st.hits++;
		o->used_tick = ++c->tick;
		remember_user(o, pid, m);
		pin(c, o);
		return o;
	}
	c->st.misses++;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->refcnt = 1;
	o->cache = c;
	o->dev = key.dev;
	o->inode = key.inode;
	o->used_tick = ++c->tick;
	o->path = strdup(m->path);
	o->fd = -1;
	if (!o->path)
		goto fail;
	o->name = strrchr(o->path, '/') ? strrchr(o->path, '/') + 1 : o->path;
	remember_user(o, pid, m);
	o->fd = open_file(c, o, pid, m);
	if (o->fd < 0)
		goto fail;
	read_header(o);
	o->cost = sizeof(*o) + strlen(o->path);
	if (lru_cache__put(c->live, &key, o, 0))
		goto fail;
	charge(c, o);
	charged = o->cached;
	if (charged)
		pin(c, o);
	object_put(o); /* the budget holds it now, or nothing does and it goes */
	return charged ? o : NULL;
fail:
	close_fd(c, o);
	o->cache = NULL; /* not in live */
	object_put(o);
	return NULL;
}

int obj_cache__object_fd(struct obj_cache *c, struct object *o)
{
	if (o->fd >= 0)
		return o->fd;
	c->st.reopens++;
	o->fd = open_file(c, o, o->pid, &o->at);
	return o->fd;
}

void obj_cache__object_built(struct obj_cache *c, struct object *o)
{
	unsigned all = OBJECT_PART_ALL | (c->opts.lines ? OBJECT_PART_LINES : 0);

	if ((o->built & all) == all)
		close_fd(c, o);
	charge(c, o);
}

struct idle_sweep {
	struct obj_cache *c;
	uint64_t now_ns, idle_ns;
	size_t released;
};

static int release_idle(const void *key, void *value, void *arg)
{
	struct idle_sweep *sw = arg;
	struct object *o = value;

	if (object__release_idle_lines(o, sw->now_ns, sw->idle_ns)) {
		pr_debug("released the DWARF of %s: no new address for %llu s", o->path,
			 (unsigned long long)(sw->idle_ns / 1000000000ull));
		/* idle, so it keeps its place: what was used least goes first still */
		lru_cache__shrink_cost(sw->c->objs, key, o->cost);
		sw->released++;
	}
	return 0;
}

size_t obj_cache__release_idle_lines(struct obj_cache *c, uint64_t now_ns, uint64_t idle_ns)
{
	struct idle_sweep sw = { c, now_ns, idle_ns, 0 };

	lru_cache__sweep(c->objs, release_idle, &sw);
	if (sw.released)
		malloc_trim(0); /* libdw's sections are large blocks: give the pages back */
	return sw.released;
}

struct obj_cache_stats *obj_cache__counters(struct obj_cache *c)
{
	return &c->st;
}

const struct obj_cache_opts *obj_cache__opts(const struct obj_cache *c)
{
	return &c->opts;
}

void obj_cache__stats(const struct obj_cache *c, struct obj_cache_stats *st)
{
	*st = c->st;
	st->budget_bytes = c->opts.max_bytes;
	st->evictions = lru_cache__evictions(c->objs);
	st->files = lru_cache__count(c->objs);
	st->bytes = lru_cache__cost(c->objs);
}

/* Unit tests of the object layer: a file mapped by several processes and asked for its
 * symbols, unwind rows and trace-context symbol is opened once; the open-file bound reopens;
 * the byte budget evicts; a process's reference keeps one object per file past eviction. */
#define STOKER_TRACE_CONTEXT_IMPLEMENTATION
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "span/span_context.h"
#include "object/obj_cache.h"
#include "proc/proc_cache.h"
#include "object/proc_maps.h"
#include "stoker/trace_context.h"
#include "test.h"

#define NCHILD 3

struct ident {
	uint64_t dev, inode;
};

static pid_t children[NCHILD];
static struct unwind_rules rules;

static void start_children(void)
{
	for (int i = 0; i < NCHILD; i++) {
		children[i] = fork();
		if (children[i] == 0) {
			pause();
			_exit(0);
		}
	}
}

static void stop_children(void)
{
	for (int i = 0; i < NCHILD; i++) {
		if (children[i] <= 0)
			continue;
		kill(children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
	}
}

static size_t add_ident(struct ident *ids, size_t n, const struct proc_map *m)
{
	uint64_t dev = makedev(m->dev_major, m->dev_minor);

	for (size_t i = 0; i < n; i++)
		if (ids[i].dev == dev && ids[i].inode == m->inode)
			return n;
	ids[n].dev = dev;
	ids[n].inode = m->inode;
	return n + 1;
}

/* What every stage asks of one mapping: symbols, unwind rows, the span symbol. */
static int use_mapping(struct obj_cache *c, int pid, const struct proc_map *m, uint64_t *span)
{
	struct unwind_table_opts to = { .debug_frame = true };
	const struct unwind_table *ut;
	const struct python_elf *py;
	struct elf_data_symbol ds;
	struct object *o = obj_cache__get(c, pid, m);

	if (!o)
		return -ENOENT;
	object__symbols(o);
	object__unwind_table(o, &rules, &to, &ut);
	if (object__data_symbol(o, SPAN_ABI_SYMBOL, m->pgoff, &ds) == 0)
		*span = m->start + ds.vaddr - ds.map_vaddr;
	/* not an interpreter: searched once, remembered, like the others */
	CHECK_INT(object__python(o, &py), -ENOENT);
	return 0;
}

static void test_opened_once_per_identity(void)
{
	struct obj_cache *c = obj_cache__new(NULL);
	struct ident ids[512];
	struct obj_cache_stats st;
	size_t nids = 0, used = 0;
	uint64_t span = 0;

	CHECK(c != NULL);
	if (!c)
		return;
	unwind_rules__init(&rules);
	start_children();
	/* the parent and its children map the same files: each is one object */
	for (int round = 0; round < 2; round++) {
		for (int i = -1; i < NCHILD; i++) {
			int pid = i < 0 ? getpid() : children[i];
			struct proc_map *maps;
			int n = proc_maps_read(pid, 4096, &maps);

			CHECK(n > 0);
			for (int j = 0; j < n; j++) {
				if (maps[j].kind != PROC_MAP_FILE)
					continue;
				if (use_mapping(c, pid, &maps[j], &span) == 0) {
					nids = add_ident(ids, nids, &maps[j]);
					used++;
				}
			}
			free(maps);
		}
	}
	obj_cache__stats(c, &st);
	fprintf(stderr, "  %zu mappings used, %zu files, %llu opens\n", used, nids,
		(unsigned long long)st.opens);
	CHECK(nids >= 2); /* the test binary and libc at least */
	CHECK(used >= 2 * (NCHILD + 1) * nids);
	CHECK_INT(st.opens, nids);
	CHECK_INT(st.reopens, 0);
	CHECK_INT(st.loads, nids);
	CHECK_INT(st.unwind_builds, nids);
	CHECK_INT(st.data_sym_searches, nids);
	CHECK_INT(st.files, nids);
	CHECK_INT(st.open_fds, 0); /* everything derived: no file held */
	/* this binary exports the ABI: found at the same address in every forked copy */
	CHECK_U64(span, (uintptr_t)&stoker_trace_ctx_v1_tp_offset);
	stop_children();
	obj_cache__free(c);
}

/* With room for one open file, a second object closes the first one's; asking the first for
 * what it has not derived yet reopens it (counted), what it has costs nothing. */
static void test_open_file_bound(void)
{
	struct obj_cache_opts oo = { .max_open_fds = 1 };
	struct obj_cache *c = obj_cache__new(&oo);
	struct unwind_table_opts to = { .debug_frame = true };
	const struct unwind_table *ut;
	struct object *objs[2] = { 0 };
	struct obj_cache_stats st;
	struct proc_map *maps;
	int n = proc_maps_read(getpid(), 4096, &maps), k = 0;

	CHECK(c && n > 0);
	unwind_rules__init(&rules);
	for (int i = 0; i < n && k < 2; i++) {
		if (maps[i].kind != PROC_MAP_FILE || (k == 1 && objs[0]->inode == maps[i].inode))
			continue;
		objs[k] = obj_cache__get(c, getpid(), &maps[i]);
		CHECK(objs[k] != NULL);
		if (!objs[k])
			break;
		object_get(objs[k]);
		CHECK(object__symbols(objs[k]) != NULL);
		k++;
	}
	CHECK_INT(k, 2);
	obj_cache__stats(c, &st);
	CHECK_INT(st.opens, 2);
	CHECK_INT(st.open_fds, 1);
	if (k == 2) {
		CHECK(objs[0]->fd < 0);
		CHECK(object__symbols(objs[0]) != NULL); /* derived: no reopen */
		obj_cache__stats(c, &st);
		CHECK_INT(st.opens, 2);
		CHECK_INT(object__unwind_table(objs[0], &rules, &to, &ut), 0);
		obj_cache__stats(c, &st);
		CHECK_INT(st.opens, 3);
		CHECK_INT(st.reopens, 1);
		CHECK_INT(st.open_fds, 1);
	}
	for (int i = 0; i < k; i++)
		object_put(objs[i]);
	free(maps);
	obj_cache__free(c);
}

/* One byte budget for all that hangs off objects: symbol tables push older objects out. */
static void test_byte_budget(void)
{
	struct obj_cache_opts oo = { .max_bytes = 4096 };
	struct obj_cache *c = obj_cache__new(&oo);
	struct obj_cache_stats st;
	struct proc_map *maps;
	int n = proc_maps_read(getpid(), 4096, &maps), got = 0;

	CHECK(c && n > 0);
	for (int i = 0; i < n; i++) {
		struct object *o;

		if (maps[i].kind != PROC_MAP_FILE)
			continue;
		o = obj_cache__get(c, getpid(), &maps[i]);
		if (o && object__symbols(o))
			got++;
	}
	obj_cache__stats(c, &st);
	CHECK(got >= 2);
	CHECK(st.evictions > 0);
	CHECK_INT(st.files, 1); /* each symbol table alone is over 4 KiB */
	free(maps);
	obj_cache__free(c);
}

/* Evicted from the budget, an object a process holds stays the one object of its file: what
 * it derived is released and derived again (one reopen) when asked. */
static void test_process_holds_object(void)
{
	struct obj_cache_opts oo = { .max_bytes = 4096 };
	struct obj_cache *c = obj_cache__new(&oo);
	struct proc_cache_opts po = { .objs = c };
	struct proc_cache *pc = proc_cache__new(&po);
	struct object *first = NULL, *o;
	const struct proc_map *m0 = NULL;
	struct obj_cache_stats st;
	struct proc *p;

	CHECK(c && pc);
	p = pc ? proc_cache__lookup(pc, getpid(), NULL) : NULL;
	CHECK(p != NULL);
	for (size_t i = 0; p && i < p->nmaps; i++) {
		if (p->maps[i].kind != PROC_MAP_FILE)
			continue;
		o = proc_cache__object(pc, p, &p->maps[i]);
		if (!o)
			continue;
		CHECK(object__symbols(o) != NULL);
		if (!first) {
			first = o;
			m0 = &p->maps[i];
		}
	}
	CHECK(first != NULL);
	if (!first)
		goto out;
	obj_cache__stats(c, &st);
	CHECK(st.evictions > 0);
	CHECK(!first->cached);
	CHECK(!object__built(first, OBJECT_PART_SYMBOLS)); /* released with the eviction */
	CHECK(obj_cache__get(c, getpid(), m0) == first);   /* still the one object */
	CHECK(object__symbols(first) != NULL);
	obj_cache__stats(c, &st);
	fprintf(stderr, "  %llu opens, %llu reopens, %llu evictions\n",
		(unsigned long long)st.opens, (unsigned long long)st.reopens,
		(unsigned long long)st.evictions);
	CHECK_INT(st.reopens, 1);
out:
	/* the agent's order: the cache goes first, processes still hold objects */
	obj_cache__free(c);
	proc_cache__free(pc);
}

int main(void)
{
	RUN_TEST(test_opened_once_per_identity);
	RUN_TEST(test_open_file_bound);
	RUN_TEST(test_byte_budget);
	RUN_TEST(test_process_holds_object);
	return TEST_SUMMARY();
}

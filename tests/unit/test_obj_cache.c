/* Unit tests of the object layer: a file mapped by several processes and asked for its
 * symbols, unwind rows and trace-context symbol is opened once; the open-file bound reopens;
 * the byte budget evicts; a process's reference keeps one object per file past eviction. */
#define STOKER_TRACE_CONTEXT_IMPLEMENTATION
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "span/span_context.h"
#include "object/obj_cache.h"
#include "proc/proc_cache.h"
#include "object/proc_maps.h"
#include "stoker/trace_context.h"
#include "gen_elf.h"
#include "test.h"

#define NCHILD 3
#define BUDGET (64u << 10)

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

/* What every stage asks of one mapping: symbols, Go's table, unwind rows, the span symbol. */
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
	object__go_pclntab(o);
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

/* One byte budget for all that hangs off objects: symbol tables push older objects out, the
 * budget is never exceeded, and a table over the per-file quota (the budget here) is skipped. */
static void test_byte_budget(void)
{
	struct obj_cache_opts oo = { .max_bytes = BUDGET };
	struct obj_cache *c = obj_cache__new(&oo);
	struct obj_cache_stats st;
	struct proc_map *maps;
	int n = proc_maps_read(getpid(), 4096, &maps), got = 0;
	uint64_t most = 0;

	CHECK(c && n > 0);
	for (int i = 0; i < n; i++) {
		struct object *o;

		if (maps[i].kind != PROC_MAP_FILE)
			continue;
		o = obj_cache__get(c, getpid(), &maps[i]);
		if (o && object__symbols(o))
			got++;
		obj_cache__stats(c, &st);
		most = st.bytes > most ? st.bytes : most;
	}
	obj_cache__stats(c, &st);
	fprintf(stderr, "  %d tables, at most %llu bytes, %llu evictions, %llu refused\n", got,
		(unsigned long long)most, (unsigned long long)st.evictions,
		(unsigned long long)st.symbol_tables_refused);
	CHECK(got >= 2);
	CHECK(st.evictions > 0);
	CHECK(most <= BUDGET);
	CHECK_U64(st.budget_bytes, BUDGET);
	CHECK(st.symbol_tables_refused > 0); /* this sanitized binary's .symtab is bigger */
	CHECK(st.symbol_bytes <= st.bytes);
	free(maps);
	obj_cache__free(c);
}

/* Evicted from the budget, an object a process holds stays the one object of its file: what
 * it derived is released and derived again (one reopen) when asked. */
static void test_process_holds_object(void)
{
	struct obj_cache_opts oo = { .max_bytes = BUDGET };
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

#define BLOAT_SYMS 40000
#define BLOAT_NAME 4000

/* The generated 40,000-symbol file with one 4,000-byte name, mapped executable here. */
static void *map_bloat(char *path, size_t *str_size, size_t *len, struct proc_map *out)
{
	struct proc_map *maps;
	struct stat st;
	void *addr;
	int fd = mkstemp(path), n;

	*str_size = fd >= 0 ? gen_elf_write(fd, BLOAT_SYMS, BLOAT_NAME, 0) : 0;
	if (!*str_size || fstat(fd, &st)) {
		close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	addr = mmap(NULL, *len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	close(fd);
	if (addr == MAP_FAILED)
		return NULL;
	n = proc_maps_read(getpid(), 4096, &maps);
	for (int i = 0; i < n; i++)
		if (maps[i].start == (uintptr_t)addr)
			*out = maps[i];
	free(maps);
	return addr;
}

/* What the cache charges for the bloat file is bounded by its string table and a fixed cost per
 * symbol; with a per-file quota below that, the table is refused before anything is allocated
 * for it (the charged symbol bytes stay those of an object without a table). */
static void test_bloat_file_charged_bounded(void)
{
	char path[] = "/tmp/stoker-bloat-XXXXXX";
	struct proc_map m = { 0 };
	struct obj_cache_stats st;
	size_t str_size = 0, len = 0, bound;
	void *addr = map_bloat(path, &str_size, &len, &m);
	struct obj_cache *c;
	struct object *o;

	CHECK(addr != NULL);
	CHECK(m.start != 0);
	if (!addr || !m.start)
		goto out;
	c = obj_cache__new(NULL);
	o = c ? obj_cache__get(c, getpid(), &m) : NULL;
	CHECK(o != NULL && object__symbols(o) != NULL);
	obj_cache__stats(c, &st);
	bound = str_size + BLOAT_SYMS * 24 + 4096;
	fprintf(stderr, "  %llu symbol bytes for %zu symbols, bound %zu; %llu bytes charged\n",
		(unsigned long long)st.symbol_bytes, o ? elf_object__symbol_count(o->elf) : 0,
		bound, (unsigned long long)st.bytes);
	CHECK(o && elf_object__symbol_count(o->elf) == BLOAT_SYMS);
	CHECK(st.symbol_bytes <= bound);
	CHECK(st.bytes <= bound + 8192);
	CHECK_INT(st.symbol_tables_refused, 0);
	obj_cache__free(c);

	c = obj_cache__new(&(struct obj_cache_opts){ .max_file_bytes = 256 << 10 });
	o = c ? obj_cache__get(c, getpid(), &m) : NULL;
	CHECK(o != NULL && object__symbols(o) != NULL);
	obj_cache__stats(c, &st);
	CHECK_INT(st.symbol_tables_refused, 1);
	CHECK(o && elf_object__symbol_count(o->elf) == 0);
	CHECK(st.symbol_bytes < 4096); /* the empty elf_object only */
	obj_cache__free(c);
out:
	if (addr)
		munmap(addr, len);
	unlink(path);
}

/* The entry just added goes too when it alone is over the budget; nothing else is evicted to
 * make room it could never fit in. */
static void test_newest_evictable(void)
{
	struct obj_cache *c = obj_cache__new(&(struct obj_cache_opts){ .max_bytes = 512 });
	struct obj_cache_stats st;
	struct proc_map *maps;
	int n = proc_maps_read(getpid(), 4096, &maps), tried = 0;

	CHECK(c && n > 0);
	for (int i = 0; c && i < n; i++) {
		if (maps[i].kind != PROC_MAP_FILE)
			continue;
		CHECK(obj_cache__get(c, getpid(), &maps[i]) == NULL);
		tried++;
	}
	obj_cache__stats(c, &st);
	CHECK(tried > 0);
	CHECK_INT(st.files, 0);
	CHECK_INT(st.bytes, 0);
	CHECK_INT(st.evictions, tried);
	CHECK_INT(st.open_fds, 0);
	free(maps);
	obj_cache__free(c);
}

struct reserve_log {
	int answer, calls;
	size_t most;
};

static int log_reserve(void *ctx, size_t bytes)
{
	struct reserve_log *r = ctx;

	r->calls++;
	r->most = bytes > r->most ? bytes : r->most;
	return r->answer;
}

/* Unwind rows are asked for before each growth of their array: every byte the table holds was
 * reserved first, and a refusal ends the build before anything more is allocated. */
/* The object of this test's own executable in c (its maps read into *maps, freed by the
 * caller), or NULL. */
static struct object *self_object(struct obj_cache *c, struct proc_map **maps)
{
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int n = proc_maps_read(getpid(), 4096, maps);

	CHECK(c && n > 0 && len > 0);
	exe[len > 0 ? len : 0] = '\0';
	for (int i = 0; c && i < n; i++)
		if (maps[0][i].kind == PROC_MAP_FILE && !strcmp(maps[0][i].path, exe))
			return obj_cache__get(c, getpid(), &maps[0][i]);
	return NULL;
}

static void test_unwind_rows_reserved(void)
{
	struct reserve_log grant = { 0 }, refuse = { .answer = -EFBIG };
	struct unwind_table t;
	int fd = open("/proc/self/exe", O_RDONLY);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;

	CHECK(elf != NULL);
	if (!elf)
		goto out;
	unwind_rules__init(&rules);
	CHECK_INT(unwind_table__build(
		      elf, &rules,
		      &(struct unwind_table_opts){ .reserve = log_reserve, .reserve_ctx = &grant },
		      &t),
		  0);
	fprintf(stderr, "  %zu rows, %d reservations, at most %zu bytes\n", t.nrows, grant.calls,
		grant.most);
	CHECK(t.nrows > 1000);
	CHECK(grant.calls > 5);
	CHECK(grant.most >= t.nrows * sizeof(t.rows[0]));
	unwind_table__free(&t);
	CHECK_INT(unwind_table__build(
		      elf, &rules,
		      &(struct unwind_table_opts){ .reserve = log_reserve, .reserve_ctx = &refuse },
		      &t),
		  -EDQUOT);
	CHECK_INT(refuse.calls, 1);
	CHECK(t.nrows == 0 && t.rows == NULL);
	elf_end(elf);
out:
	if (fd >= 0)
		close(fd);
}

/* Through the cache: a budget smaller than a file's rows refuses its table, counted, and the
 * cache never holds more than its budget. */
static void test_unwind_rows_over_budget(void)
{
	struct obj_cache *c = obj_cache__new(&(struct obj_cache_opts){ .max_bytes = 16 << 10 });
	struct unwind_table_opts to = { .debug_frame = true };
	const struct unwind_table *ut = NULL;
	struct proc_map *maps = NULL;
	struct object *o = self_object(c, &maps);
	struct obj_cache_stats st;

	CHECK(o != NULL);
	if (o)
		CHECK_INT(object__unwind_table(o, &rules, &to, &ut), -EDQUOT);
	obj_cache__stats(c, &st);
	CHECK_INT(st.symbol_tables_refused, 1);
	CHECK_U64(st.unwind_bytes, 0);
	CHECK(st.bytes <= 16 << 10);
	free(maps);
	obj_cache__free(c);
}

/* Once the rows are in BPF the heap's copy goes: the cost and the gauge drop to what the
 * rest holds, and a later request builds the same rows again. */
static void test_unwind_rows_dropped_after_load(void)
{
	struct obj_cache *c = obj_cache__new(&(struct obj_cache_opts){ .max_bytes = 64 << 20 });
	struct unwind_table_opts to = { .debug_frame = true };
	const struct unwind_table *ut = NULL;
	struct proc_map *maps = NULL;
	struct object *o = self_object(c, &maps);
	struct obj_cache_stats st;
	size_t rows, before;

	CHECK(o != NULL);
	if (!o)
		goto out;
	CHECK_INT(object__unwind_table(o, &rules, &to, &ut), 0);
	rows = ut->nrows;
	before = o->cost;
	obj_cache__stats(c, &st);
	CHECK_U64(st.unwind_bytes, rows * sizeof(ut->rows[0]));
	object__drop_unwind_rows(o);
	obj_cache__stats(c, &st);
	CHECK_U64(st.unwind_bytes, 0);
	CHECK_U64(o->cost, before - rows * sizeof(ut->rows[0]));
	CHECK(!object__built(o, OBJECT_PART_UNWIND));
	CHECK_INT(object__unwind_table(o, &rules, &to, &ut), 0);
	CHECK_U64(ut->nrows, rows);
	CHECK(rows > 1000);
out:
	free(maps);
	obj_cache__free(c);
}

int main(void)
{
	RUN_TEST(test_opened_once_per_identity);
	RUN_TEST(test_unwind_rows_dropped_after_load);
	RUN_TEST(test_open_file_bound);
	RUN_TEST(test_byte_budget);
	RUN_TEST(test_process_holds_object);
	RUN_TEST(test_bloat_file_charged_bounded);
	RUN_TEST(test_newest_evictable);
	RUN_TEST(test_unwind_rows_reserved);
	RUN_TEST(test_unwind_rows_over_budget);
	return TEST_SUMMARY();
}

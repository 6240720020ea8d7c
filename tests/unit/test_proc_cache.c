/* Unit tests of the process cache's byte bound: processes cost their entry, maps, object slots
 * and labels; the least recently sampled go first, and the bound is never exceeded. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc/proc_cache.h"
#include "test.h"

#define NCHILD 6

static void test_bounded_in_bytes(void)
{
	struct proc_cache_opts po = { 0 };
	struct proc_cache_stats st;
	struct proc_cache *pc;
	struct proc *p, *last = NULL;
	pid_t kids[NCHILD];
	size_t one;
	uint64_t created;

	for (int i = 0; i < NCHILD; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			pause();
			_exit(0);
		}
	}
	/* what one of these processes costs, measured alone */
	pc = proc_cache__new(&po);
	p = pc ? proc_cache__lookup(pc, kids[0], NULL) : NULL;
	CHECK(p && p->nmaps > 0);
	proc_cache__stats(pc, &st);
	one = st.bytes;
	CHECK(one >= sizeof(*p) + p->nmaps * sizeof(*p->maps));
	CHECK_U64(st.budget_bytes, 64u << 20);
	proc_cache__free(pc);

	/* room for two and a half of them */
	po.max_bytes = one * 5 / 2;
	pc = proc_cache__new(&po);
	CHECK(pc != NULL);
	if (!pc)
		goto out;
	for (int i = 0; i < NCHILD; i++) {
		last = proc_cache__lookup(pc, kids[i], NULL);
		CHECK(last != NULL);
		proc_cache__stats(pc, &st);
		CHECK(st.bytes <= po.max_bytes);
	}
	proc_cache__stats(pc, &st);
	fprintf(stderr, "  %zu bytes each, %llu cached, %llu bytes of %llu, %llu evictions\n", one,
		(unsigned long long)st.procs, (unsigned long long)st.bytes,
		(unsigned long long)st.budget_bytes, (unsigned long long)st.evictions);
	CHECK(st.procs >= 1 && st.procs <= 3);
	CHECK_INT(st.evictions, NCHILD - st.procs);
	/* the most recently sampled is still there, the first one was read again */
	CHECK(proc_cache__lookup(pc, kids[NCHILD - 1], NULL) == last);
	created = st.created;
	proc_cache__lookup(pc, kids[0], NULL);
	proc_cache__stats(pc, &st);
	CHECK_INT(st.created, created + 1);
	CHECK(st.bytes <= po.max_bytes);
	proc_cache__free(pc);
out:
	for (int i = 0; i < NCHILD; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
}

/* A budget too small for a process's maps lowers the maps kept per process instead of letting
 * one process go over. */
static void test_maps_fit_the_budget(void)
{
	struct proc_cache_opts po = { .max_bytes = 16 << 10 };
	struct proc_cache *pc = proc_cache__new(&po);
	struct proc_cache_stats st;
	struct proc *p = pc ? proc_cache__lookup(pc, getpid(), NULL) : NULL;

	CHECK(p != NULL);
	proc_cache__stats(pc, &st);
	CHECK(p && p->nmaps > 0 && p->nmaps * sizeof(*p->maps) <= (16 << 10) / 4);
	CHECK_INT(st.procs, 1);
	CHECK(st.bytes <= 16 << 10);
	proc_cache__free(pc);
}

int main(void)
{
	RUN_TEST(test_bounded_in_bytes);
	RUN_TEST(test_maps_fit_the_budget);
	return TEST_SUMMARY();
}

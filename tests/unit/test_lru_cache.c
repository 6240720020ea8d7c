/* Unit tests of the bounded LRU map that every cache in the agent is built on. */
#include <errno.h>

#include "util/lru_cache.h"
#include "test.h"

static int freed;

static void count_free(void *v, void *ctx)
{
	freed++;
	free(v);
}

static void test_lru_eviction_by_count(void)
{
	struct lru_cache_opts o = { .key_size = sizeof(int),
				    .max_entries = 3,
				    .free_value = count_free };
	struct lru_cache *c = lru_cache__new(&o);

	freed = 0;
	for (int k = 0; k < 3; k++)
		CHECK_INT(lru_cache__put(c, &k, malloc(8), 1), 0);
	{
		int k0 = 0;
		CHECK(lru_cache__get(c, &k0) != NULL); /* 0 becomes most recent */
	}
	{
		int k3 = 3;
		CHECK_INT(lru_cache__put(c, &k3, malloc(8), 1), 0); /* evicts 1 */
	}
	for (int k = 0; k < 4; k++)
		CHECK((lru_cache__get(c, &k) != NULL) == (k != 1));
	CHECK_INT(lru_cache__count(c), 3);
	CHECK_INT(lru_cache__evictions(c), 1);
	CHECK_INT(freed, 1);
	lru_cache__free(c);
	CHECK_INT(freed, 4);
}

static void test_lru_cost_and_replace(void)
{
	struct lru_cache_opts o = { .key_size = sizeof(int),
				    .max_entries = 100,
				    .max_cost = 100,
				    .free_value = count_free };
	struct lru_cache *c = lru_cache__new(&o);
	int k;

	freed = 0;
	for (k = 0; k < 10; k++)
		lru_cache__put(c, &k, malloc(1), 30);
	CHECK(lru_cache__cost(c) <= 100);
	CHECK_INT(lru_cache__count(c), 3);
	k = 9;
	lru_cache__put(c, &k, malloc(1), 10); /* replace frees the old value */
	CHECK_INT(lru_cache__cost(c), 70);
	CHECK_INT(lru_cache__remove(c, &k), 0);
	CHECK_INT(lru_cache__remove(c, &k), -ENOENT);
	k = 50;
	CHECK_INT(lru_cache__put(c, &k, malloc(1), 1000), 0); /* alone over the bound */
	CHECK(lru_cache__get(c, &k) == NULL);		      /* the newest goes too */
	CHECK_INT(freed, 10);
	CHECK_INT(lru_cache__count(c), 2); /* and nothing else made room for it */
	CHECK_INT(lru_cache__cost(c), 60);
	lru_cache__free(c);
	CHECK_INT(freed, 12);
}

/* An entry that grows pushes older ones out, itself only when it alone is over the bound;
 * the cost follows the new value. */
static void test_lru_set_cost(void)
{
	struct lru_cache_opts o = { .key_size = sizeof(int),
				    .max_entries = 100,
				    .max_cost = 100,
				    .free_value = count_free };
	struct lru_cache *c = lru_cache__new(&o);
	int k;

	freed = 0;
	for (k = 0; k < 3; k++)
		lru_cache__put(c, &k, malloc(1), 20);
	k = 0;
	CHECK_INT(lru_cache__set_cost(c, &k, 70), 0); /* 70 + 20 + 20: evicts 1 */
	CHECK_INT(lru_cache__cost(c), 90);
	CHECK_INT(lru_cache__count(c), 2);
	CHECK_INT(freed, 1);
	k = 1;
	CHECK(lru_cache__get(c, &k) == NULL);
	k = 2;
	CHECK_INT(lru_cache__set_cost(c, &k, 500), 0); /* alone over the bound: evicted */
	CHECK(lru_cache__get(c, &k) == NULL);
	CHECK_INT(freed, 2);
	CHECK_INT(lru_cache__count(c), 1); /* 0 did not make room for it */
	CHECK_INT(lru_cache__cost(c), 70);
	k = 7;
	CHECK_INT(lru_cache__set_cost(c, &k, 1), -ENOENT);
	lru_cache__free(c);
	CHECK_INT(freed, 3);
}

static void test_lru_many(void)
{
	struct lru_cache_opts o = { .key_size = sizeof(int),
				    .max_entries = 5000,
				    .free_value = count_free };
	struct lru_cache *c = lru_cache__new(&o);
	int hits = 0;

	for (int k = 0; k < 20000; k++)
		lru_cache__put(c, &k, malloc(4), 1);
	for (int k = 0; k < 20000; k++)
		hits += lru_cache__get(c, &k) != NULL;
	CHECK_INT(hits, 5000);
	CHECK_INT(lru_cache__count(c), 5000);
	lru_cache__free(c);
	o.key_size = 0;
	CHECK(lru_cache__new(&o) == NULL);
}

/* A shrunk entry keeps its place: the one used least is still the first to go. */
static void test_lru_shrink_keeps_order(void)
{
	struct lru_cache_opts o = { .key_size = sizeof(int),
				    .max_entries = 10,
				    .max_cost = 100,
				    .free_value = count_free };
	struct lru_cache *c = lru_cache__new(&o);
	int k0 = 0, k1 = 1, k2 = 2;

	freed = 0;
	CHECK_INT(lru_cache__put(c, &k0, malloc(8), 40), 0);
	CHECK_INT(lru_cache__put(c, &k1, malloc(8), 40), 0);
	CHECK_INT(lru_cache__shrink_cost(c, &k0, 10), 0);
	CHECK_INT(lru_cache__cost(c), 50);
	CHECK_INT(lru_cache__shrink_cost(c, &k0, 20), -EINVAL);
	CHECK_INT(lru_cache__shrink_cost(c, &k2, 1), -ENOENT);
	/* 10 + 40 + 60 is over 100: 0, the least recently used despite its shrink, goes */
	CHECK_INT(lru_cache__put(c, &k2, malloc(8), 60), 0);
	CHECK(lru_cache__get(c, &k0) == NULL);
	CHECK(lru_cache__get(c, &k1) != NULL);
	CHECK_INT(lru_cache__cost(c), 100);
	lru_cache__free(c);
}

int main(void)
{
	RUN_TEST(test_lru_eviction_by_count);
	RUN_TEST(test_lru_cost_and_replace);
	RUN_TEST(test_lru_shrink_keeps_order);
	RUN_TEST(test_lru_set_cost);
	RUN_TEST(test_lru_many);
	return TEST_SUMMARY();
}

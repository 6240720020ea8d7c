/* Unit tests of util/array: doubling growth and its overflow checks. */
#include <errno.h>
#include <stdint.h>

#include "util/array.h"
#include "test.h"

struct rec {
	uint64_t a, b;
};

static void test_grows_and_keeps(void)
{
	struct rec *r = NULL;
	size_t cap = 0, n = 0;

	for (uint64_t i = 0; i < 1000; i++) {
		if (ARRAY_RESERVE(r, cap, n + 1))
			break;
		r[n++] = (struct rec){ i, ~i };
	}
	CHECK_INT(n, 1000);
	CHECK(cap >= 1000 && cap < 2048);
	for (size_t i = 0; i < n; i++)
		if (r[i].a != i || r[i].b != ~(uint64_t)i) {
			CHECK_INT(r[i].a, i);
			break;
		}
	free(r);
}

static void test_first_and_large_need(void)
{
	char *p = NULL;
	size_t cap = 0;

	CHECK_INT(ARRAY_RESERVE(p, cap, 1), 0);
	CHECK_INT(cap, 16);
	/* a need above double the capacity is met at once */
	CHECK_INT(ARRAY_RESERVE(p, cap, 1000), 0);
	CHECK_INT(cap, 1000);
	CHECK_INT(ARRAY_RESERVE(p, cap, 1001), 0);
	CHECK_INT(cap, 2000);
	/* nothing to do when it fits */
	CHECK_INT(ARRAY_RESERVE(p, cap, 5), 0);
	CHECK_INT(cap, 2000);
	free(p);
}

static void test_overflow_refused(void)
{
	struct rec *r = NULL, *before;
	size_t cap = 0;

	CHECK_INT(ARRAY_RESERVE(r, cap, 4), 0);
	before = r;
	/* need * sizeof(struct rec) wraps: refused without touching the array */
	CHECK_INT(ARRAY_RESERVE(r, cap, SIZE_MAX / 8), -ENOMEM);
	CHECK(r == before);
	CHECK_INT(cap, 16);
	free(r);
}

static void test_max_bound(void)
{
	uint32_t *v = NULL;
	size_t cap = 0;

	CHECK_INT(ARRAY_RESERVE_MAX(v, cap, 1, 100), 0);
	CHECK_INT(cap, 16);
	CHECK_INT(ARRAY_RESERVE_MAX(v, cap, 90, 100), 0);
	CHECK_INT(cap, 90);
	/* doubling would give 180: held at the bound */
	CHECK_INT(ARRAY_RESERVE_MAX(v, cap, 91, 100), 0);
	CHECK_INT(cap, 100);
	CHECK_INT(ARRAY_RESERVE_MAX(v, cap, 101, 100), -E2BIG);
	CHECK_INT(cap, 100);
	free(v);
}

/* array_grown_cap says what array_reserve_max will allocate: a budget asked first is asked
 * for exactly that. */
static void test_grown_cap_predicts(void)
{
	size_t cap = 0, max = 1000;
	int *a = NULL;

	for (size_t need = 1; need <= max; need++) {
		size_t want = need > cap ? array_grown_cap(cap, need, max) : cap;

		CHECK_INT(ARRAY_RESERVE_MAX(a, cap, need, max), 0);
		CHECK_U64(cap, want);
	}
	CHECK_U64(cap, max);
	free(a);
}

int main(void)
{
	RUN_TEST(test_grows_and_keeps);
	RUN_TEST(test_first_and_large_need);
	RUN_TEST(test_overflow_refused);
	RUN_TEST(test_max_bound);
	RUN_TEST(test_grown_cap_predicts);
	return TEST_SUMMARY();
}

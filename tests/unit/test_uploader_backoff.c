/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the retry schedule the README documents: 500 ms doubling to a 5 min cap,
 * each wait +-20%, no overflow however many tries failed. */
#include "export/uploader.h"
#include "test.h"

#define MS 1000000ull
#define S  1000000000ull

/* The least and most a wait can be after attempts failures, over the jitter's whole range
 * (rnd 0 and the largest remainder). */
static void bounds(unsigned int attempts, uint64_t *lo, uint64_t *hi)
{
	*lo = uploader_backoff_ns(500 * MS, 300 * S, attempts, 0);
	*hi = *lo;
	for (uint64_t r = 1; r < 5000; r += 7) {
		uint64_t d = uploader_backoff_ns(500 * MS, 300 * S, attempts, r * 982451653ull);

		*lo = d < *lo ? d : *lo;
		*hi = d > *hi ? d : *hi;
	}
}

static void test_doubling_from_500ms(void)
{
	static const uint64_t base[] = { 500 * MS, 1 * S,  2 * S,  4 * S,   8 * S,
					 16 * S,   32 * S, 64 * S, 128 * S, 256 * S };

	for (unsigned int i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		uint64_t lo, hi;

		bounds(i + 1, &lo, &hi);
		CHECK_U64(lo, base[i] - base[i] / 5);
		CHECK(hi <= base[i] + base[i] / 5);
		CHECK(hi >= base[i] + base[i] / 5 - base[i] / 50); /* the jitter spans the range */
	}
}

static void test_capped_at_5_minutes(void)
{
	static const unsigned int attempts[] = { 11, 12, 40, 64, 65, 1000, 4000000000u };

	for (unsigned int i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
		uint64_t lo, hi;

		bounds(attempts[i], &lo, &hi);
		CHECK_U64(lo, 240 * S);
		CHECK(hi <= 360 * S);
		CHECK(hi >= 354 * S);
	}
}

static void test_first_retry_after_min(void)
{
	/* attempts counts failures: after the first one the wait is the minimum */
	CHECK_U64(uploader_backoff_ns(500 * MS, 300 * S, 1, 0), 400 * MS);
	CHECK_U64(uploader_backoff_ns(500 * MS, 300 * S, 1, 200 * MS), 600 * MS);
	CHECK_U64(uploader_backoff_ns(500 * MS, 300 * S, 2, 0), 800 * MS);
}

int main(void)
{
	RUN_TEST(test_doubling_from_500ms);
	RUN_TEST(test_capped_at_5_minutes);
	RUN_TEST(test_first_retry_after_min);
	return TEST_SUMMARY();
}

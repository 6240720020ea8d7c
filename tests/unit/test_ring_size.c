/* Unit tests of the ring buffer's size from CPUs, sample rate and drain interval: what a small
 * and a large host get, the floor and the ceiling. */
#include "sample/ring_size.h"
#include "sampler_abi.h"
#include "test.h"

static void show(unsigned int ncpus, unsigned int hz, size_t got)
{
	printf("  %3u CPUs at %2u Hz, 100 ms drains: ring %zu KiB\n", ncpus, hz, got >> 10);
}

/* Each size holds a second of full-depth samples of every CPU, and is the smallest power of
 * two that does (above the floor). */
static void check_holds_a_second(unsigned int ncpus, unsigned int hz, size_t got)
{
	unsigned long long second =
	    (unsigned long long)ncpus * hz * (8 + sizeof(struct stoker_sample));

	CHECK(got >= second || got == RING_SIZE_CEILING);
	CHECK(got == RING_SIZE_FLOOR || got / 2 < second);
	CHECK((got & (got - 1)) == 0);
}

static void test_small_host(void)
{
	size_t a = ring_size_for(2, 19, 100), b = ring_size_for(2, 99, 100);

	show(2, 19, a);
	show(2, 99, b);
	CHECK_U64(a, 256u << 10); /* 2 x 19 x 2120 B = 79 KiB: the floor */
	CHECK_U64(b, 512u << 10); /* 2 x 99 x 2120 B = 410 KiB */
	check_holds_a_second(2, 19, a);
	check_holds_a_second(2, 99, b);
}

static void test_large_host(void)
{
	size_t a = ring_size_for(128, 19, 100), b = ring_size_for(128, 99, 100);

	show(128, 19, a);
	show(128, 99, b);
	CHECK_U64(a, 8u << 20);	 /* 128 x 19 x 2120 B = 4.9 MiB */
	CHECK_U64(b, 32u << 20); /* 128 x 99 x 2120 B = 25.6 MiB */
	check_holds_a_second(128, 19, a);
	check_holds_a_second(128, 99, b);
}

static void test_bounds(void)
{
	CHECK_U64(ring_size_for(1, 1, 100), RING_SIZE_FLOOR);
	CHECK_U64(ring_size_for(4096, 10000, 100), RING_SIZE_CEILING);
	/* a slower drain holds ten of its intervals */
	CHECK_U64(ring_size_for(2, 99, 1000), 8u << 20); /* 10 s x 198 x 2120 B = 4 MiB + */
}

int main(void)
{
	RUN_TEST(test_small_host);
	RUN_TEST(test_large_host);
	RUN_TEST(test_bounds);
	return TEST_SUMMARY();
}

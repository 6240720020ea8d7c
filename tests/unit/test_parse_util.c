/* Unit tests of number, duration and size parsing. */
#include <errno.h>

#include "util/parse_util.h"
#include "test.h"

static void test_durations(void)
{
	uint64_t ns = 0;

	CHECK_INT(parse_duration_ns("10s", &ns), 0);
	CHECK_U64(ns, 10000000000ull);
	CHECK_INT(parse_duration_ns("2m", &ns), 0);
	CHECK_U64(ns, 120000000000ull);
	CHECK_INT(parse_duration_ns("1h30m", &ns), 0);
	CHECK_U64(ns, 5400000000000ull);
	CHECK_INT(parse_duration_ns("500ms", &ns), 0);
	CHECK_U64(ns, 500000000ull);
	CHECK_INT(parse_duration_ns("1.5s", &ns), 0);
	CHECK_U64(ns, 1500000000ull);
	CHECK_INT(parse_duration_ns("15", &ns), 0);
	CHECK_U64(ns, 15000000000ull);
	CHECK_INT(parse_duration_ns("", &ns), -EINVAL);
	CHECK_INT(parse_duration_ns("10x", &ns), -EINVAL);
	CHECK_INT(parse_duration_ns("s", &ns), -EINVAL);
	CHECK_INT(parse_duration_ns("-5s", &ns), -EINVAL);
	CHECK_INT(parse_duration_ns("1s5", &ns), -EINVAL);
	CHECK_INT(parse_duration_ns("99999999999999h", &ns), -ERANGE);
}

static void test_numbers_and_sizes(void)
{
	uint64_t v = 0;
	const char *end;

	CHECK_INT(parse_u64("19", 1, 100, &v), 0);
	CHECK_U64(v, 19);
	CHECK_INT(parse_u64("0", 1, 100, &v), -ERANGE);
	CHECK_INT(parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	CHECK_INT(parse_u64("12a", 0, 100, &v), -EINVAL);
	CHECK_INT(parse_u64("+1", 0, 100, &v), -EINVAL);
	CHECK_INT(parse_size("8MiB", &v), 0);
	CHECK_U64(v, 8u << 20);
	CHECK_INT(parse_size("512k", &v), 0);
	CHECK_U64(v, 512u << 10);
	CHECK_INT(parse_size("1g", &v), 0);
	CHECK_U64(v, 1u << 30);
	CHECK_INT(parse_size("12q", &v), -EINVAL);
	CHECK_INT(parse_hex_u64("0xffffffff81000000 T", &end, &v), 0);
	CHECK_U64(v, 0xffffffff81000000ull);
	CHECK_STR(end, " T");
	CHECK_INT(parse_hex_u64("11111111111111111", &end, &v), -EINVAL);
	CHECK_INT(parse_hex_u64("zz", &end, &v), -EINVAL);
}

int main(void)
{
	RUN_TEST(test_durations);
	RUN_TEST(test_numbers_and_sizes);
	return TEST_SUMMARY();
}

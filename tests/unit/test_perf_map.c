/* Unit tests of JIT perf map parsing: names with spaces, 0x prefixes, overlaps where the later
 * line wins, malformed lines, caps. */
#include <errno.h>
#include <unistd.h>

#include "perf_map.h"
#include "test.h"

static const char *name_at(const struct perf_map *pm, uint64_t a)
{
	const struct perf_map_entry *e = perf_map__lookup(pm, a);

	return e ? e->name : "-";
}

static void test_parse_and_overlaps(void)
{
	const char *t = "1000 100 old func\n"
			"1050 10 new one\n"
			"zz junk\n"
			"0x2000 0x10 LazyCompile:~foo bar.js:12\r\n"
			"3000 0 zero size\n"
			"1000 20 newest";
	struct perf_map *pm = perf_map__parse(t, strlen(t), 0);

	CHECK(pm != NULL);
	if (!pm)
		return;
	CHECK_STR(name_at(pm, 0x1000), "newest");
	CHECK_STR(name_at(pm, 0x101f), "newest");
	CHECK_STR(name_at(pm, 0x1020), "old func");
	CHECK_STR(name_at(pm, 0x1055), "new one");
	CHECK_STR(name_at(pm, 0x105f), "new one");
	CHECK_STR(name_at(pm, 0x1060), "old func");
	CHECK_STR(name_at(pm, 0x10ff), "old func");
	CHECK_STR(name_at(pm, 0x1100), "-");
	CHECK_STR(name_at(pm, 0x2001), "LazyCompile:~foo bar.js:12");
	CHECK_STR(name_at(pm, 0x3000), "-");
	CHECK_STR(name_at(pm, 0xfff), "-");
	perf_map__free(pm);
}

static void test_caps_and_files(void)
{
	char path[] = "/tmp/stoker-perfmap-XXXXXX", big[64 * 40];
	struct perf_map *pm;
	size_t n = 0;
	int fd;

	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%x 10 fn_%d\n", 0x1000 + i * 0x10,
				      i);
	pm = perf_map__parse(big, n, 10);
	CHECK(pm && perf_map__count(pm) == 10);
	perf_map__free(pm);
	fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, big, n) == (ssize_t)n);
	close(fd);
	pm = perf_map__load(path, 0, 0);
	CHECK(pm && perf_map__count(pm) == 64);
	CHECK_STR(pm ? name_at(pm, 0x1015) : NULL, "fn_1");
	perf_map__free(pm);
	pm = perf_map__load(path, 0, 100); /* byte cap: only what fits is read */
	CHECK(pm && perf_map__count(pm) < 64);
	perf_map__free(pm);
	unlink(path);
	errno = 0;
	CHECK(perf_map__load("/nonexistent/perf-1.map", 0, 0) == NULL && errno == ENOENT);
}

int main(void)
{
	RUN_TEST(test_parse_and_overlaps);
	RUN_TEST(test_caps_and_files);
	return TEST_SUMMARY();
}

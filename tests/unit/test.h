/* SPDX-License-Identifier: BSD-2-Clause */
/* A minimal unit-test harness: each check prints what it compared when it fails, and each test
 * binary ends with "N passed, N failed" (summed by tests/run_unit.sh). */
#ifndef STOKER_TEST_H
#define STOKER_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_state {
	int passed, failed;
	int cur_failed;
	const char *cur;
};
static struct test_state test_st;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
			test_st.cur_failed++;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_INT(a, b)                                                                            \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (_a != _b) {                                                                    \
			fprintf(stderr, "  FAIL %s:%d: %s == %s: got %lld, want %lld\n", __FILE__, \
				__LINE__, #a, #b, _a, _b);                                         \
			test_st.cur_failed++;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_U64(a, b)                                                                            \
	do {                                                                                       \
		uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);                                   \
		if (_a != _b) {                                                                    \
			fprintf(stderr,                                                            \
				"  FAIL %s:%d: %s == %s: got 0x%" PRIx64 ", want 0x%" PRIx64 "\n", \
				__FILE__, __LINE__, #a, #b, _a, _b);                               \
			test_st.cur_failed++;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
			fprintf(stderr, "  FAIL %s:%d: %s == %s: got \"%s\", want \"%s\"\n",       \
				__FILE__, __LINE__, #a, #b, _a ? _a : "(null)",                    \
				_b ? _b : "(null)");                                               \
			test_st.cur_failed++;                                                      \
		}                                                                                  \
	} while (0)

/* An outside program a test runs (nm, readelf, python3) fails the test by name when it is not
 * installed, rather than as a confusing mismatch further on (scripts/install-deps.sh test). */
#define CHECK_PROGRAM(prog)                                                                        \
	do {                                                                                       \
		if (system("command -v '" prog "' >/dev/null 2>&1") != 0) {                        \
			fprintf(stderr, "  FAIL %s:%d: %s is not installed\n", __FILE__, __LINE__, \
				prog);                                                             \
			test_st.cur_failed++;                                                      \
		}                                                                                  \
	} while (0)

/* Address of a defined symbol according to nm (binutils), a reference independent of the code
 * under test; 0 (and the test fails) when nm is missing or does not list it. */
static inline uint64_t test_nm_addr(const char *file, const char *sym)
{
	char cmd[4200], line[512];
	unsigned long long a = 0;
	FILE *p;

	CHECK_PROGRAM("nm");
	snprintf(cmd, sizeof(cmd), "nm --defined-only '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		char t, name[256];
		unsigned long long v;

		if (sscanf(line, "%llx %c %255s", &v, &t, name) == 3 && !strcmp(name, sym))
			a = v;
	}
	if (p)
		pclose(p);
	if (!a) {
		fprintf(stderr, "  FAIL %s: nm lists no %s in %s\n", test_st.cur, sym, file);
		test_st.cur_failed++;
	}
	return a;
}

#define RUN_TEST(fn)                                                                               \
	do {                                                                                       \
		test_st.cur = #fn;                                                                 \
		test_st.cur_failed = 0;                                                            \
		fn();                                                                              \
		if (test_st.cur_failed) {                                                          \
			test_st.failed++;                                                          \
			fprintf(stderr, "not ok - %s\n", #fn);                                     \
		} else {                                                                           \
			test_st.passed++;                                                          \
			fprintf(stderr, "ok - %s\n", #fn);                                         \
		}                                                                                  \
	} while (0)

#define TEST_SUMMARY()                                                                             \
	(printf("%d passed, %d failed\n", test_st.passed, test_st.failed), test_st.failed ? 1 : 0)

#endif

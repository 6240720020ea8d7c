/* Unit tests of the CPython 3.11 location-table decoder: hand-built tables covering every entry
 * form, and real tables of Debian's python3.11 compared with CPython's own co_lines(). */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "symbolize/python_frames.h"
#include "test.h"

/* firstlineno 10; one entry per form (Objects/locations.md), the line each code unit gets */
static void test_every_form(void)
{
	static const uint8_t t[] = {
		0xe9, 0x04,			    /* 13, 2 units: delta +2 -> 12 */
		0xd0, 0x01, 0x02,		    /* 10 (one line, +0), 1 unit: 12 */
		0xe0, 0x01, 0x02,		    /* 12 (one line, +2), 1 unit: 14 */
		0x99, 0x05,			    /* 3 (short, +0), 2 units: 14 */
		0xf8,				    /* 15: no line, 1 unit */
		0xf0, 0x07, 0x00, 0x45, 0x01, 0x02, /* 14 (long): -3 -> 11, 1 unit */
		0xe8, 0x48, 0x03,		    /* 13: +100 (two-group varint) -> 111, 1 unit */
	};
	static const int want[] = { 12, 12, 12, 14, 14, 14, 0, 11, 111, 0 };

	for (int i = 0; i < (int)(sizeof(want) / sizeof(want[0])); i++) {
		int got = python_line_311(t, sizeof(t), 10, i);

		if (got != want[i])
			fprintf(stderr, "  unit %d: line %d, want %d\n", i, got, want[i]);
		CHECK_INT(got, want[i]);
	}
	CHECK_INT(python_line_311(t, sizeof(t), 10, -1), 0);
	CHECK_INT(python_line_311(t, 0, 10, 0), 0);
}

static void test_malformed(void)
{
	static const uint8_t no_start_bit[] = { 0x05 };
	static const uint8_t cut_varint[] = { 0xe8 };
	static const uint8_t cut_columns[] = { 0xd0, 0x01 };
	static const uint8_t endless[] = { 0xe8, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40 };

	CHECK_INT(python_line_311(no_start_bit, sizeof(no_start_bit), 1, 0), -EINVAL);
	CHECK_INT(python_line_311(cut_varint, sizeof(cut_varint), 1, 0), -EINVAL);
	CHECK_INT(python_line_311(cut_columns, sizeof(cut_columns), 1, 0), -EINVAL);
	CHECK_INT(python_line_311(endless, sizeof(endless), 1, 0), -EINVAL);
}

/* Tables CPython compiled, against the lines CPython itself gives each instruction. */
static const char dump_script[] =
    "import dis, inspect, json, sys\n"
    "def codes(c):\n"
    "    yield c\n"
    "    for k in c.co_consts:\n"
    "        if hasattr(k, 'co_linetable'):\n"
    "            yield from codes(k)\n"
    "src = open(dis.__file__).read()\n"
    "for c in codes(compile(src, dis.__file__, 'exec')):\n"
    "    lines = [0] * (len(c.co_code) // 2)\n"
    "    for s, e, ln in c.co_lines():\n"
    "        for u in range(s // 2, e // 2):\n"
    "            lines[u] = ln or 0\n"
    "    print(c.co_firstlineno, c.co_linetable.hex(), ' '.join(map(str, lines)))\n";

static int unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (s[0] && s[1] && s[0] != ' ' && n < cap) {
		unsigned v;

		if (sscanf(s, "%2x", &v) != 1)
			return -1;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return (int)n;
}

static void test_against_cpython(void)
{
	static char line[1 << 20];
	static uint8_t table[1 << 18];
	char path[] = "/tmp/stoker-linetable-XXXXXX";
	int fd = mkstemp(path), codes = 0, units = 0, wrong = 0;
	char cmd[256];
	FILE *f, *p;

	CHECK_PROGRAM("/usr/bin/python3");
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	fputs(dump_script, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s", path);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	while (p && fgets(line, sizeof(line), p)) {
		char *sp = strchr(line, ' '), *q;
		int first = atoi(line), n, lasti = 0;

		if (!sp)
			continue;
		n = unhex(sp + 1, table, sizeof(table));
		q = strchr(sp + 1, ' ');
		if (n < 0 || !q)
			continue;
		codes++;
		for (q++; *q && *q != '\n'; lasti++) {
			int want = (int)strtol(q, &q, 10), got;

			got = python_line_311(table, (size_t)n, first, lasti);
			units++;
			if (got != want && wrong++ < 5)
				fprintf(stderr,
					"  code at line %d, unit %d: line %d, CPython says %d\n",
					first, lasti, got, want);
			while (*q == ' ')
				q++;
		}
	}
	if (p)
		CHECK_INT(pclose(p), 0);
	unlink(path);
	fprintf(stderr, "  %d code objects, %d instructions compared\n", codes, units);
	CHECK(codes >= 20 && units >= 1000);
	CHECK_INT(wrong, 0);
}

int main(void)
{
	RUN_TEST(test_every_form);
	RUN_TEST(test_malformed);
	RUN_TEST(test_against_cpython);
	return TEST_SUMMARY();
}

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
	CHECK_INT(python_line_311(t, sizeof(t), 10, -1), 10); /* as PyCode_Addr2Line */
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

/* A code object laid out as CPython 3.11 does, in this process's memory: the reader goes
 * through process_vm_readv on our own pid exactly as on a profiled process. */
struct fake_str {
	uint64_t refcnt, type, length, hash;
	uint32_t state, pad;
	uint64_t wstr;
	union {
		char ascii[32]; /* compact ASCII: data at 48 */
		struct {
			uint64_t utf8_length, utf8, wstr_length; /* compact: data at 72 */
			uint16_t ucs2[16];
		} c;
	} u;
};

struct fake_bytes {
	uint64_t refcnt, type, size, hash;
	uint8_t data[16];
};

static void ascii_str(struct fake_str *s, const char *text)
{
	memset(s, 0, sizeof(*s));
	s->length = strlen(text);
	s->state = (1u << 2) | (1u << 5) | (1u << 6); /* kind 1, compact, ascii */
	memcpy(s->u.ascii, text, s->length);
}

static void test_reads_code_objects(void)
{
	static struct fake_str qual, file, uname;
	static struct fake_bytes lt;
	static uint8_t code[192];
	uint64_t type = 0x1234500, p;
	int32_t first = 40;
	struct python_proc pp = { .pid = getpid(), .serial = 7, .code_type = type };
	struct stoker_py_frame f = { .code = (uintptr_t)code, .lasti = 1, .info = 40 };
	struct python_frames *pf = python_frames__new(NULL);
	struct python_frame_name nm;

	CHECK(pf != NULL);
	if (!pf)
		return;
	ascii_str(&qual, "Greeter.hello");
	ascii_str(&file, "/srv/app/greet.py");
	/* 11 (one line, +1): unit 0 at line 41; 12 (one line, +2): unit 1 at line 43 */
	memcpy(lt.data, (const uint8_t[]){ 0xd8, 0x00, 0x00, 0xe0, 0x00, 0x00 }, 6);
	lt.size = 6;
	memcpy(code + 8, &type, 8);
	memcpy(code + 72, &first, 4);
	p = (uintptr_t)&file;
	memcpy(code + 112, &p, 8);
	p = (uintptr_t)&qual;
	memcpy(code + 128, &p, 8);
	p = (uintptr_t)&lt;
	memcpy(code + 136, &p, 8);

	CHECK_INT(python_frames__name(pf, &pp, &f, &nm), 0);
	CHECK_STR(nm.qualname, "Greeter.hello");
	CHECK_STR(nm.filename, "/srv/app/greet.py");
	CHECK_INT(nm.line, 43);
	f.lasti = 0;
	CHECK_INT(python_frames__name(pf, &pp, &f, &nm), 0);
	CHECK_INT(nm.line, 41);
	CHECK_U64(python_frames__stats(pf)->code_reads, 1); /* cached */

	/* another function at the same address (a new guard) is read again, not the old one */
	first = 90;
	memcpy(code + 72, &first, 4);
	ascii_str(&qual, "reused");
	f.info = 90;
	CHECK_INT(python_frames__name(pf, &pp, &f, &nm), 0);
	CHECK_STR(nm.qualname, "reused");
	CHECK_U64(python_frames__stats(pf)->code_reads, 2);

	/* a guard the object does not have: freed since the sample */
	f.info = 91;
	CHECK_INT(python_frames__name(pf, &pp, &f, &nm), -ESRCH);
	/* not a code object */
	f.info = 90;
	pp.serial = 8;
	pp.code_type = type + 8;
	CHECK_INT(python_frames__name(pf, &pp, &f, &nm), -ESRCH);
	CHECK_U64(python_frames__stats(pf)->code_failures, 2);

	/* a non-ASCII name (UCS-2) comes out as UTF-8 */
	memset(&uname, 0, sizeof(uname));
	uname.length = 3;
	uname.state = (2u << 2) | (1u << 5); /* kind 2, compact */
	uname.u.c.ucs2[0] = 0x00e9;	     /* e acute */
	uname.u.c.ucs2[1] = 0x4e2d;	     /* CJK */
	uname.u.c.ucs2[2] = 'x';
	p = (uintptr_t)&uname;
	memcpy(code + 128, &p, 8);
	pp.serial = 9;
	pp.code_type = type;
	CHECK_INT(python_frames__name(pf, &pp, &f, &nm), 0);
	CHECK_STR(nm.qualname, "\xc3\xa9\xe4\xb8\xadx");
	python_frames__free(pf);
}

int main(void)
{
	RUN_TEST(test_every_form);
	RUN_TEST(test_malformed);
	RUN_TEST(test_against_cpython);
	RUN_TEST(test_reads_code_objects);
	return TEST_SUMMARY();
}

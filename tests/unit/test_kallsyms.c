/* Unit tests of /proc/kallsyms parsing and lookup, on handmade text and on the real file. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "symbolize/kallsyms.h"
#include "test.h"

static const char text[] = "ffffffff81000000 T _stext\n"
			   "ffffffff81000100 T do_thing\n"
			   "ffffffff81000200 D some_data\n"
			   "ffffffff81000280 A abs_sym\n"
			   "ffffffff81000300 t local_fn\n"
			   "ffffffff81000400 T _etext\n"
			   "ffffffff82000000 t init_fn\n"
			   "ffffffffc0a01000 t mod_fn\t[ext4]\n"
			   "ffffffffc0a01800 t mod_fn2\t[ext4]\n"
			   "ffffffffc0b00000 T mod_other\t[nf_tables]"; /* no final newline */

static const char *name_at(const struct kallsyms *ks, uint64_t addr)
{
	const struct ksym *s = kallsyms__lookup(ks, addr);

	return s ? s->name : "-";
}

static const char *module_at(const struct kallsyms *ks, uint64_t addr)
{
	const struct ksym *s = kallsyms__lookup(ks, addr);

	return s ? s->module : "-";
}

/* Writes s to a new temporary file; returns its path in path (a mkstemp template). */
static int write_tmp(char *path, const char *s, size_t len)
{
	int fd = mkstemp(path);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, s, len);
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

static void test_parse_and_lookup(void)
{
	struct kallsyms *ks = kallsyms__parse(text, strlen(text));

	CHECK(ks != NULL);
	if (!ks)
		return;
	CHECK_INT(kallsyms__count(ks), 8);		      /* text symbols only: no D, no A */
	CHECK_STR(name_at(ks, 0xffffffff81000000), "_stext"); /* exact start */
	CHECK_STR(name_at(ks, 0xffffffff81000100), "do_thing");
	CHECK_STR(name_at(ks, 0xffffffff81000150), "do_thing"); /* middle */
	CHECK_STR(name_at(ks, 0xffffffff81000250), "do_thing"); /* data is not a function */
	CHECK_STR(name_at(ks, 0xffffffff81000290), "do_thing"); /* nor is an absolute symbol */
	CHECK_STR(name_at(ks, 0xffffffff81000300), "local_fn");
	CHECK_STR(module_at(ks, 0xffffffff81000300), "");
	CHECK_STR(name_at(ks, 0xffffffff810003ff), "local_fn");
	CHECK_STR(name_at(ks, 0xffffffff80ffffff), "-"); /* below the first symbol */
	CHECK_STR(name_at(ks, 0), "-");
	CHECK_STR(name_at(ks, 0xffffffff81000400), "-"); /* at and past _etext */
	CHECK_STR(name_at(ks, 0xffffffff81000500), "-");
	CHECK_STR(name_at(ks, 0xffffffff82000010), "-"); /* init text, freed after boot */
	CHECK_STR(name_at(ks, 0xffffffffc0a01010), "mod_fn");
	CHECK_STR(module_at(ks, 0xffffffffc0a01010), "ext4");
	CHECK_STR(name_at(ks, 0xffffffffc0a01800), "mod_fn2");
	CHECK_STR(module_at(ks, 0xffffffffc0a01800), "ext4");
	CHECK_STR(name_at(ks, 0xffffffffc0b00001), "mod_other");
	CHECK_STR(module_at(ks, 0xffffffffc0b00001), "nf_tables");
	/* past the last symbol of a module: up to 1 MiB, then nothing */
	CHECK_STR(name_at(ks, 0xffffffffc0b00000 + (1u << 20)), "mod_other");
	CHECK_STR(name_at(ks, 0xffffffffc0b00000 + (1u << 20) + 1), "-");
	CHECK_STR(name_at(ks, UINT64_MAX), "-");
	/* in a gap before the next module, within 1 MiB of mod_fn2: kallsyms gives no module ends
	 */
	CHECK_STR(name_at(ks, 0xffffffffc0b00000 - 1), "mod_fn2");
	kallsyms__free(ks);
}

static void test_no_etext(void)
{
	const char *t = "ffffffff81000000 T _stext\n"
			"ffffffff81000100 T last_fn\n";
	struct kallsyms *ks = kallsyms__parse(t, strlen(t));

	CHECK(ks != NULL);
	if (!ks)
		return;
	/* without _etext only the distance bounds the last core symbol */
	CHECK_STR(name_at(ks, 0xffffffff81000100 + 0x1000), "last_fn");
	CHECK_STR(name_at(ks, 0xffffffff81000100 + (1u << 20) + 1), "-");
	kallsyms__free(ks);
}

static void test_duplicates(void)
{
	const char *t = "ffffffff81000000 T _stext\n"
			"ffffffff81000000 T startup_64\n" /* fewer underscores wins */
			"ffffffff81000000 T _text\n"
			"ffffffff81000100 t do_thing_alias\n"
			"ffffffff81000100 T do_thing\n" /* global over local */
			"ffffffff81000200 W weak_fn\n"
			"ffffffff81000200 t strong_local\n" /* non-weak over weak */
			"ffffffff81000300 t same\n"
			"ffffffff81000300 t same\n" /* repeated line */
			"ffffffff81000400 t ab\n"
			"ffffffff81000400 t abc\n"; /* then the longer name */
	struct kallsyms *ks = kallsyms__parse(t, strlen(t));

	CHECK(ks != NULL);
	if (!ks)
		return;
	CHECK_INT(kallsyms__count(ks), 5); /* one per address */
	CHECK_STR(name_at(ks, 0xffffffff81000010), "startup_64");
	CHECK_STR(name_at(ks, 0xffffffff81000110), "do_thing");
	CHECK_STR(name_at(ks, 0xffffffff81000210), "strong_local");
	CHECK_STR(name_at(ks, 0xffffffff81000310), "same");
	CHECK_STR(name_at(ks, 0xffffffff81000410), "abc");
	kallsyms__free(ks);
}

/* A name the previous one ends with (NAME after __pfx_NAME) is kept as that one's tail: right
 * whichever of the two loses to an alias, with aliases' names dropped around them. A padding
 * symbol just before its function is one entry with it, named for the function. */
static void test_shared_names(void)
{
	const char *t = "ffffffff81000000 t dropped_alias_a\n"
			"ffffffff81000000 T kept_a\n"
			"ffffffff81000100 T __pfx_foo\n"
			"ffffffff81000110 T foo\n" /* foo's name is __pfx_foo's tail */
			"ffffffff81000120 T oo\n"  /* and oo's too */
			"ffffffff81000200 t __pfx_bar\n"
			"ffffffff81000200 T bar\n" /* the lender loses, its name stays */
			"ffffffff81000300 T __pfx_baz\n"
			"ffffffff81000300 t baz\n" /* the borrower loses */
			"ffffffff81000400 t dropped_alias_b\n"
			"ffffffff81000400 T kept_b\n"
			"ffffffff81000500 T qux\t[mod]\n"
			"ffffffff81000500 w qux\t[mod]\n" /* the same name again */
			"ffffffff81000600 T __pfx_last\n"
			"ffffffff81000610 T last";
	struct kallsyms *ks = kallsyms__parse(t, strlen(t));

	CHECK(ks != NULL);
	if (!ks)
		return;
	CHECK_INT(kallsyms__count(ks), 8);
	CHECK_STR(name_at(ks, 0xffffffff81000000), "kept_a");
	CHECK_STR(name_at(ks, 0xffffffff81000100), "foo"); /* its padding */
	CHECK_STR(name_at(ks, 0xffffffff81000110), "foo");
	CHECK_U64(kallsyms__lookup(ks, 0xffffffff81000110)->addr, 0xffffffff81000100);
	CHECK_STR(name_at(ks, 0xffffffff81000120), "oo");
	CHECK_STR(name_at(ks, 0xffffffff81000200), "bar");
	CHECK_STR(name_at(ks, 0xffffffff81000300), "__pfx_baz");
	CHECK_STR(name_at(ks, 0xffffffff81000400), "kept_b");
	CHECK_STR(name_at(ks, 0xffffffff81000500), "qux");
	CHECK_STR(module_at(ks, 0xffffffff81000500), "mod");
	CHECK_STR(name_at(ks, 0xffffffff81000600), "last");
	CHECK_STR(name_at(ks, 0xffffffff81000610), "last");
	CHECK_STR(module_at(ks, 0xffffffff81000610), "");
	kallsyms__free(ks);
}

static void test_garbage_lines(void)
{
	const char t[] = "garbage line here\n"
			 "zzzzzzzzzzzzzzzz T bad_addr\n"
			 "ffffffff81000000T no_space\n"
			 "ffffffff81000010 T\n"
			 "ffffffff81000020 Tx nope\n"
			 "ffffffff81000030 T \n"
			 "1ffffffff81000040 T too_many_digits\n"
			 "ffffffff81000050 T name trailing junk\n"
			 "ffffffff81000060 t bad_mod\t[ext4\n"
			 "ffffffff81000070 t empty_mod\t[]\n"
			 "\n"
			 "\0\0\0 binary\n"
			 "ffffffff81000100 T good_one\r\n"
			 "ffffffff81000200 t good_mod\t[ext4]  \n"
			 "ffffffff81000300 t good_bpf\t[bpf]\n";
	struct kallsyms *ks = kallsyms__parse(t, sizeof(t) - 1);

	CHECK(ks != NULL);
	if (!ks)
		return;
	CHECK_INT(kallsyms__count(ks), 3);
	CHECK_STR(name_at(ks, 0xffffffff81000100), "good_one");
	CHECK_STR(name_at(ks, 0xffffffff81000210), "good_mod");
	CHECK_STR(module_at(ks, 0xffffffff81000210), "ext4");
	CHECK_STR(module_at(ks, 0xffffffff81000300), "bpf");
	CHECK_STR(name_at(ks, 0xffffffff810000ff), "-");
	kallsyms__free(ks);
	/* only garbage: an empty table, not a kptr_restrict failure */
	ks = kallsyms__parse("junk\nmore junk\n", 15);
	CHECK(ks != NULL && kallsyms__count(ks) == 0);
	kallsyms__free(ks);
}

static void test_overlong_line(void)
{
	char buf[4096];
	const char *tail = "\nffffffff81001000 T after_long\n";
	struct kallsyms *ks;
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "ffffffff81000000 T ");
	memset(buf + n, 'a', 3000);
	n += 3000;
	memcpy(buf + n, tail, strlen(tail));
	n += strlen(tail);
	ks = kallsyms__parse(buf, n);
	CHECK(ks != NULL);
	if (!ks)
		return;
	CHECK_INT(kallsyms__count(ks), 1); /* the long one skipped, the next line kept */
	CHECK_STR(name_at(ks, 0xffffffff81001000), "after_long");
	CHECK_STR(name_at(ks, 0xffffffff81000010), "-");
	kallsyms__free(ks);
	/* a 512-byte name, the kernel's limit, is kept */
	n = (size_t)snprintf(buf, sizeof(buf), "ffffffff81000000 T ");
	memset(buf + n, 'b', 512);
	n += 512;
	ks = kallsyms__parse(buf, n);
	CHECK(ks != NULL && kallsyms__count(ks) == 1);
	if (ks)
		CHECK_INT(strlen(name_at(ks, 0xffffffff81000000)), 512);
	kallsyms__free(ks);
}

static void test_missing_newline(void)
{
	char path[] = "/tmp/stoker-kallsyms-XXXXXX";
	const char *t = "ffffffff81000000 T first\nffffffff81000100 T last_no_newline";
	struct kallsyms *ks;

	ks = kallsyms__parse(t, strlen(t));
	CHECK_STR(ks ? name_at(ks, 0xffffffff81000101) : NULL, "last_no_newline");
	kallsyms__free(ks);
	/* the length bounds the parse: a name cut at len is taken as it stands */
	ks = kallsyms__parse(t, strlen(t) - 8);
	CHECK_STR(ks ? name_at(ks, 0xffffffff81000101) : NULL, "last_no");
	kallsyms__free(ks);
	/* a buffer that ends inside a name, with no NUL after it (found by fuzzing) */
	{
		static const char u[] = "ffffffff81000000 T ____";
		char *exact = malloc(sizeof(u) - 1);

		CHECK(exact != NULL);
		if (exact) {
			memcpy(exact, u, sizeof(u) - 1);
			ks = kallsyms__parse(exact, sizeof(u) - 1);
			CHECK_STR(ks ? name_at(ks, 0xffffffff81000000) : NULL, "____");
			kallsyms__free(ks);
			free(exact);
		}
	}
	CHECK(write_tmp(path, t, strlen(t)) == 0);
	ks = kallsyms__load(path);
	CHECK(ks && kallsyms__count(ks) == 2);
	CHECK_STR(ks ? name_at(ks, 0xffffffff81000101) : NULL, "last_no_newline");
	kallsyms__free(ks);
	unlink(path);
}

/* Both tables answer addr alike: the same symbol, or none in either. */
static bool same_at(const struct kallsyms *a, const struct kallsyms *b, uint64_t addr)
{
	const struct ksym *x = kallsyms__lookup(a, addr), *y = kallsyms__lookup(b, addr);

	if (!x || !y)
		return x == y;
	return x->addr == y->addr && !strcmp(x->name, y->name) && !strcmp(x->module, y->module);
}

/* Text of n lines that end at many offsets of a read: names of every length to 100, aliases,
 * a module, a malformed and an overlong line, no newline after the last. */
static size_t make_lines(char *buf, size_t size, size_t n, uint64_t *addrs)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t addr = 0xffffffff81000000ull + (i / 3) * 0x40; /* three per address */
		size_t nlen = 1 + (i * 37) % 100;
		char name[1200];

		addrs[i] = addr + 0x10;
		for (size_t j = 0; j < nlen; j++)
			name[j] = (char)('a' + (i + j) % 26);
		name[nlen] = '\0';
		if (i % 97 == 50) {
			memset(name, 'z', 1000); /* overlong: skipped */
			name[1000] = '\0';
		}
		len += (size_t)snprintf(buf + len, size - len, "%016llx %c %s%s%s",
					(unsigned long long)addr, "TtWw"[i % 4],
					i % 89 == 7 ? "bad name" : name,
					i >= n - 20 ? "\t[mod]" : "", i + 1 < n ? "\n" : "");
	}
	return len;
}

/* The file is parsed as it is read: a line cut by the end of a read is whole once parsed, at
 * every offset of the cut, and the table is the one from the same text in memory. */
static void test_load_split_lines(void)
{
	enum { LINES = 3000 };
	char path[] = "/tmp/stoker-kallsyms-XXXXXX";
	static uint64_t addrs[LINES];
	size_t size = LINES * 140, len;
	struct kallsyms *mem, *ks;
	char *text = malloc(size);
	int fd;

	CHECK(text != NULL);
	if (!text)
		return;
	len = make_lines(text, size, LINES, addrs);
	CHECK(len > 2 * 65536); /* more than one read at the default size */
	mem = kallsyms__parse(text, len);
	CHECK(mem != NULL && kallsyms__count(mem) == LINES / 3);
	CHECK(write_tmp(path, text, len) == 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	/* 0 is raised to the longest line; then sizes that move every cut by a byte or more */
	for (size_t bufsize = 0; fd >= 0 && bufsize < 70000;
	     bufsize = bufsize < 850 ? bufsize + 1 : bufsize * 3 / 2) {
		size_t bad = 0;

		if (bufsize && bufsize < 780)
			bufsize = 780;
		CHECK(lseek(fd, 0, SEEK_SET) == 0);
		ks = kallsyms__load_fd(fd, bufsize);
		CHECK(ks != NULL);
		if (!ks)
			break;
		CHECK_INT(kallsyms__count(ks), kallsyms__count(mem));
		for (size_t i = 0; i < LINES; i++)
			bad += !same_at(ks, mem, addrs[i]);
		CHECK_INT(bad, 0);
		CHECK_STR(name_at(ks, addrs[LINES - 1]), name_at(mem, addrs[LINES - 1]));
		CHECK_STR(module_at(ks, addrs[LINES - 1]), "mod");
		kallsyms__free(ks);
	}
	if (fd >= 0)
		close(fd);
	/* through the path, at the default read size */
	ks = kallsyms__load(path);
	CHECK(ks != NULL && kallsyms__count(ks) == kallsyms__count(mem));
	for (size_t i = 0; ks && i < LINES; i++)
		if (!same_at(ks, mem, addrs[i])) {
			CHECK(same_at(ks, mem, addrs[i]));
			break;
		}
	kallsyms__free(ks);
	kallsyms__free(mem);
	unlink(path);
	free(text);
}

/* Module symbols come out of address order: the table is the same whatever the order of the
 * lines (no two aliases here tie on every preference, which would fall to file order). */
static void test_unsorted(void)
{
	enum { LINES = 3000 };
	static uint64_t addrs[LINES];
	static const char *starts[LINES];
	size_t size = LINES * 140, len, ll[LINES];
	char *text = malloc(size), *shuf = malloc(size);
	struct kallsyms *mem;

	CHECK(text && shuf);
	if (!text || !shuf)
		goto out;
	len = make_lines(text, size, LINES, addrs);
	text[len++] = '\n';
	for (size_t i = 0, off = 0; i < LINES; i++) {
		char *nl = memchr(text + off, '\n', len - off);

		starts[i] = text + off;
		ll[i] = (size_t)(nl - (text + off)) + 1;
		off += ll[i];
	}
	mem = kallsyms__parse(text, len);
	CHECK(mem != NULL);
	/* reversed, then two shuffles */
	for (unsigned int round = 0; mem && round < 3; round++) {
		static size_t order[LINES];
		struct kallsyms *ks;
		size_t off = 0, bad = 0;
		uint32_t x = round * 2654435761u + 1;

		for (size_t i = 0; i < LINES; i++)
			order[i] = LINES - 1 - i;
		for (size_t i = LINES - 1; round && i > 0; i--) {
			size_t j, t;

			x = x * 1664525u + 1013904223u;
			j = x % (i + 1);
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (size_t i = 0; i < LINES; i++) {
			memcpy(shuf + off, starts[order[i]], ll[order[i]]);
			off += ll[order[i]];
		}
		ks = kallsyms__parse(shuf, off);
		CHECK(ks && kallsyms__count(ks) == kallsyms__count(mem));
		for (size_t i = 0; ks && i < LINES; i++)
			bad += !same_at(ks, mem, addrs[i]);
		CHECK_INT(bad, 0);
		kallsyms__free(ks);
	}
	kallsyms__free(mem);
out:
	free(text);
	free(shuf);
}

static void test_restricted(void)
{
	char path[] = "/tmp/stoker-kallsyms-XXXXXX";
	const char *zeros = "0000000000000000 T _stext\n"
			    "0000000000000000 t foo\n"
			    "0000000000000000 t bar\t[ext4]\n";

	errno = 0;
	CHECK(kallsyms__parse(zeros, strlen(zeros)) == NULL);
	CHECK_INT(errno, EACCES);
	CHECK(write_tmp(path, zeros, strlen(zeros)) == 0);
	errno = 0;
	CHECK(kallsyms__load(path) == NULL);
	CHECK_INT(errno, EACCES);
	unlink(path);
}

static void test_empty(void)
{
	char path[] = "/tmp/stoker-kallsyms-XXXXXX";
	struct kallsyms *ks;

	ks = kallsyms__parse("", 0);
	CHECK(ks != NULL && kallsyms__count(ks) == 0);
	if (ks)
		CHECK(kallsyms__lookup(ks, 0x1234) == NULL);
	kallsyms__free(ks);
	ks = kallsyms__parse(NULL, 0);
	CHECK(ks != NULL && kallsyms__count(ks) == 0);
	kallsyms__free(ks);
	CHECK(write_tmp(path, "", 0) == 0);
	ks = kallsyms__load(path);
	CHECK(ks != NULL && kallsyms__count(ks) == 0);
	kallsyms__free(ks);
	unlink(path);
	CHECK(kallsyms__lookup(NULL, 1) == NULL);
	CHECK_INT(kallsyms__count(NULL), 0);
	kallsyms__free(NULL);
	errno = 0;
	CHECK(kallsyms__load("/nonexistent/kallsyms") == NULL);
	CHECK_INT(errno, ENOENT);
}

/* Finds a core text symbol's address in /proc/kallsyms with code independent of the parser. */
static unsigned long long find_symbol(const char *want)
{
	unsigned long long addr = 0, a;
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[1024], name[600], t;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %599s", &a, &t, name) == 3 && !strcmp(name, want) &&
		    !strchr(line, '[')) {
			addr = a;
			break;
		}
	}
	fclose(f);
	return addr;
}

static void test_real_kallsyms(void)
{
	unsigned long long sched = find_symbol("schedule"), etext = find_symbol("_etext");
	unsigned long long pfx = find_symbol("__pfx_schedule");
	struct timespec t0, t1;
	struct kallsyms *ks;
	const struct ksym *s;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ks = kallsyms__load("/proc/kallsyms");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	fprintf(stderr, "  /proc/kallsyms: %zu symbols in %.1f ms\n", kallsyms__count(ks), ms);
	if (!ks)
		fprintf(stderr, "  kallsyms__load: %s (run as root)\n", strerror(errno));
	CHECK(ks != NULL);
	CHECK(sched != 0);
	if (!ks || !sched)
		goto out;
	CHECK(kallsyms__count(ks) > 10000);
	CHECK(ms < 2000);
	s = kallsyms__lookup(ks, sched + 1);
	CHECK_STR(s ? s->name : NULL, "schedule");
	CHECK_STR(s ? s->module : NULL, "");
	/* from its padding on, where the kernel has one */
	CHECK_U64(s ? s->addr : 0, pfx && sched - pfx <= 64 ? pfx : sched);
	s = kallsyms__lookup(ks, sched);
	CHECK_STR(s ? s->name : NULL, "schedule");
	if (pfx) {
		s = kallsyms__lookup(ks, pfx);
		CHECK_STR(s ? s->name : NULL, "schedule");
	}
	if (etext)
		CHECK(kallsyms__lookup(ks, etext) == NULL);
out:
	kallsyms__free(ks);
}

/* One text symbol of the reference parse below. */
struct ref_sym {
	unsigned long long addr;
	int rank, underscores, len, seq;
	char *name, *module;
};

/* The alias kept for an address: T, t, W, w; then fewer leading underscores; then the longer
 * name; then the first listed. */
static int cmp_ref(const void *a, const void *b)
{
	const struct ref_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	if (x->underscores != y->underscores)
		return x->underscores - y->underscores;
	if (x->len != y->len)
		return y->len - x->len;
	return x->seq - y->seq;
}

/* /proc/kallsyms's text symbols by sscanf, sorted by cmp_ref; returns the count. */
static size_t ref_parse(struct ref_sym **out, unsigned long long *etext)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char *line = NULL, name[1024], mod[1024], t;
	struct ref_sym *v = NULL;
	size_t n = 0, cap = 0, lcap = 0;
	unsigned long long a;

	*etext = 0;
	while (f && getline(&line, &lcap, f) > 0) {
		int k = sscanf(line, "%llx %c %1023s %1023s", &a, &t, name, mod);
		const char *types = "TtWw", *r = strchr(types, t);

		if (k < 3)
			continue;
		if (k == 3 && !strcmp(name, "_etext"))
			*etext = a;
		if (!a || !t || !r)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				break;
		}
		v[n].addr = a;
		v[n].rank = (int)(r - types);
		v[n].underscores = (int)strspn(name, "_");
		v[n].len = (int)strlen(name);
		v[n].seq = (int)n;
		v[n].name = strdup(name);
		/* "[ext4]" */
		mod[k == 4 ? strlen(mod) - 1 : 0] = '\0';
		v[n].module = strdup(k == 4 ? mod + 1 : "");
		n++;
	}
	free(line);
	if (f)
		fclose(f);
	if (v)
		qsort(v, n, sizeof(*v), cmp_ref);
	*out = v;
	return v ? n : 0;
}

static void ref_free(struct ref_sym *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].module);
	}
	free(v);
}

/* Every address of the real /proc/kallsyms names what a plain parse of it does: the names kept
 * after dropping the other aliases' from the pool are the right ones, at every address. */
static void test_real_names(void)
{
	size_t bad = 0, distinct = 0, n = 0;
	unsigned long long etext = 0;
	struct ref_sym *v = NULL;
	struct kallsyms *ks = NULL;

	/* BPF programs come and go in the file: again if it changed between the two reads */
	for (int tries = 0; tries < 3; tries++) {
		ref_free(v, n);
		kallsyms__free(ks);
		n = ref_parse(&v, &etext);
		ks = kallsyms__load("/proc/kallsyms");
		bad = distinct = 0;
		for (size_t i = 0, prev = SIZE_MAX; ks && i < n; i++) {
			const struct ksym *s;
			const char *want = v[i].name;
			unsigned long long at = v[i].addr;

			if (i && v[i].addr == v[i - 1].addr)
				continue;
			/* a function right after its padding (__pfx_NAME, __cfi_NAME) is named from
			 * the padding's address on: one entry for both */
			if (prev != SIZE_MAX && v[i].addr - v[prev].addr <= 64 &&
			    strlen(v[prev].name) == strlen(v[i].name) + 6 &&
			    (!strncmp(v[prev].name, "__pfx_", 6) ||
			     !strncmp(v[prev].name, "__cfi_", 6)) &&
			    !strcmp(v[prev].name + 6, v[i].name) &&
			    !strcmp(v[prev].module, v[i].module))
				at = v[prev].addr;
			else
				distinct++;
			s = kallsyms__lookup(ks, v[i].addr);
			if (!v[i].module[0] && etext && v[i].addr >= etext) {
				bad += s != NULL; /* past core text */
				prev = i;
				continue;
			}
			if (at != v[i].addr) {
				/* the padding's address names the function too */
				const struct ksym *p = kallsyms__lookup(ks, at);

				if (!p || p->addr != at || strcmp(p->name, want))
					if (bad++ < 5)
						fprintf(stderr, "  padding %llx: %s, want %s\n", at,
							p ? p->name : "-", want);
			} else if (!strncmp(want, "__pfx_", 6) || !strncmp(want, "__cfi_", 6)) {
				/* a padding: named for the function after it when that one follows;
				 * checked then, so only its address here */
				if (!s || s->addr != at)
					bad++;
				prev = i;
				continue;
			}
			if (!s || s->addr != at || strcmp(s->name, want) ||
			    strcmp(s->module, v[i].module)) {
				if (bad++ < 5)
					fprintf(stderr, "  %llx: %s [%s], want %s [%s]\n",
						v[i].addr, s ? s->name : "-", s ? s->module : "-",
						want, v[i].module);
			}
			prev = i;
		}
		if (ks && !bad && distinct == kallsyms__count(ks))
			break;
	}
	CHECK(ks != NULL);
	CHECK(n > 10000);
	CHECK_INT(bad, 0);
	CHECK_INT(kallsyms__count(ks), distinct);
	fprintf(stderr,
		"  %zu text symbols, %zu addresses, all named as a plain parse names them\n", n,
		distinct);
	kallsyms__free(ks);
	ref_free(v, n);
}

int main(void)
{
	RUN_TEST(test_parse_and_lookup);
	RUN_TEST(test_no_etext);
	RUN_TEST(test_duplicates);
	RUN_TEST(test_shared_names);
	RUN_TEST(test_garbage_lines);
	RUN_TEST(test_overlong_line);
	RUN_TEST(test_missing_newline);
	RUN_TEST(test_load_split_lines);
	RUN_TEST(test_unsorted);
	RUN_TEST(test_restricted);
	RUN_TEST(test_empty);
	RUN_TEST(test_real_kallsyms);
	RUN_TEST(test_real_names);
	return TEST_SUMMARY();
}

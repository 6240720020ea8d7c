/* Unit tests of DWARF lines and inline chains on the -O2 -g fixture (tests/fixtures/lines.mk):
 * every address of hot against eu-addr2line -i run on the same file, the known inline of mix
 * into hot at the source's marked lines, a file without .debug_aranges, a compressed debug
 * file, a file without DWARF, and the address cache's bound; the sections copied to a
 * scratch directory (compressed, or a file another user owns) or decompressed in the heap
 * (no directory, or one in memory) answer alike, and so do parsed units dropped over their
 * budget at every new unit. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "object/dwarf_lines.h"
#include "test.h"

static char fix[PATH_MAX];

#define MAX_ADDRS 512

/* One address's chain as eu-addr2line --pretty-print -f -i prints it. */
struct ref_chain {
	int n;
	char fn[DWARF_LINES_MAX_FRAMES][128];
	char file[DWARF_LINES_MAX_FRAMES][PATH_MAX];
	unsigned line[DWARF_LINES_MAX_FRAMES];
};

/* Line number of the source line holding marker, from the fixture's source. */
static unsigned marker_line(const char *marker)
{
	FILE *f = fopen("tests/fixtures/lines_hot.c", "r");
	char buf[512];
	unsigned n = 0, found = 0;

	while (f && fgets(buf, sizeof(buf), f)) {
		n++;
		if (strstr(buf, marker) && !found)
			found = n;
	}
	if (f)
		fclose(f);
	if (!found)
		fprintf(stderr, "  marker %s not in tests/fixtures/lines_hot.c\n", marker);
	return found;
}

/* Start and size of a symbol, from nm -S. */
static int nm_symbol(const char *file, const char *sym, uint64_t *start, uint64_t *size)
{
	char cmd[PATH_MAX + 64], line[512];
	int found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s'", file);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		unsigned long long a, s;
		char t, name[256];

		if (sscanf(line, "%llx %llx %c %255s", &a, &s, &t, name) == 4 &&
		    !strcmp(name, sym)) {
			*start = a;
			*size = s;
			found = 1;
		}
	}
	if (p)
		pclose(p);
	return found ? 0 : -ENOENT;
}

/* "NAME at FILE:LINE[:COL]" */
static void parse_ref(const char *s, struct ref_chain *c)
{
	const char *at = strstr(s, " at ");
	char rest[PATH_MAX];
	char *colon;

	if (c->n >= DWARF_LINES_MAX_FRAMES || !at)
		return;
	snprintf(c->fn[c->n], sizeof(c->fn[0]), "%.*s", (int)(at - s), s);
	snprintf(rest, sizeof(rest), "%s", at + 4);
	rest[strcspn(rest, "\n")] = '\0';
	/* FILE:LINE:COL or FILE:LINE */
	colon = strrchr(rest, ':');
	if (colon && strchr(rest, ':') != colon) {
		*colon = '\0';
		colon = strrchr(rest, ':');
	}
	if (!colon)
		return;
	*colon = '\0';
	snprintf(c->file[c->n], sizeof(c->file[0]), "%s", rest);
	c->line[c->n] = (unsigned)strtoul(colon + 1, NULL, 10);
	c->n++;
}

/* eu-addr2line -i on every address of [start, start + n). */
static int addr2line(const char *file, uint64_t start, int n, struct ref_chain *out)
{
	char *cmd = malloc(PATH_MAX + 64 + (size_t)n * 20), line[PATH_MAX + 256];
	int i = -1, len;
	FILE *p;

	if (!cmd)
		return -ENOMEM;
	len = sprintf(cmd, "eu-addr2line --pretty-print -f -i -e '%s'", file);
	for (int k = 0; k < n; k++)
		len += sprintf(cmd + len, " 0x%llx", (unsigned long long)(start + (uint64_t)k));
	memset(out, 0, (size_t)n * sizeof(*out));
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		if (!strncmp(line, " (inlined by) ", 14)) {
			if (i >= 0)
				parse_ref(line + 14, &out[i]);
			continue;
		}
		if (++i >= n)
			break;
		parse_ref(line, &out[i]);
	}
	if (p)
		pclose(p);
	free(cmd);
	return i + 1;
}

static struct dwarf_lines *open_path(const char *path, const struct dwarf_lines_opts *o)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct dwarf_lines *dl;

	if (fd < 0)
		return NULL;
	dl = dwarf_lines__open_fd(fd, o);
	close(fd); /* the handle must not need it */
	return dl;
}

/* Every byte of hot in name: our chain equals eu-addr2line's on ref_name (the same code),
 * function, file and line, in order. */
static void compare_hot(const char *name, const char *ref_name)
{
	static struct ref_chain ref[MAX_ADDRS];
	char path[PATH_MAX + 64], ref_path[PATH_MAX + 64];
	struct dwarf_lines *dl;
	uint64_t start = 0, size = 0;
	int n, compared = 0, two = 0;

	snprintf(path, sizeof(path), "%s/%s", fix, name);
	snprintf(ref_path, sizeof(ref_path), "%s/%s", fix, ref_name);
	CHECK_PROGRAM("eu-addr2line");
	CHECK_INT(nm_symbol(path, "hot", &start, &size), 0);
	CHECK(size > 0 && size <= MAX_ADDRS);
	if (!size || size > MAX_ADDRS)
		return;
	n = addr2line(ref_path, start, (int)size, ref);
	CHECK_INT(n, (int)size);
	dl = open_path(path, NULL);
	CHECK(dl != NULL);
	if (!dl)
		return;
	for (int i = 0; i < n; i++) {
		const struct dwarf_line_frame *f;
		int got = dwarf_lines__lookup(dl, start + (uint64_t)i, &f);

		if (got != ref[i].n) {
			fprintf(stderr, "  %s+0x%x: %d frames, eu-addr2line %d\n", name, i, got,
				ref[i].n);
			CHECK_INT(got, ref[i].n);
			continue;
		}
		for (int k = 0; k < got; k++) {
			CHECK_STR(f[k].function, ref[i].fn[k]);
			CHECK_STR(f[k].file, ref[i].file[k]);
			CHECK_INT(f[k].line, ref[i].line[k]);
		}
		compared++;
		two += got == 2;
	}
	fprintf(stderr, "  %s: %d addresses of hot equal to eu-addr2line's, %d inlined\n", name,
		compared, two);
	CHECK_INT(compared, (int)size);
	CHECK(two > 0);
	dwarf_lines__free(dl);
}

static void test_hot_matches_addr2line(void)
{
	compare_hot("lines_hot", "lines_hot");
}

/* No .debug_aranges: the CU index is the DWARF's own ranges. eu-addr2line itself finds no
 * CU in that file (libdwfl looks in .debug_aranges only): the reference is the same code with
 * its aranges. */
static void test_no_aranges(void)
{
	compare_hot("lines_hot-noaranges", "lines_hot");
}

/* n random addresses in this test binary's executable segment (many units, many inlines),
 * found by readelf, independently of the code under test. Returns n, or 0. */
static int self_addrs(uint64_t *addrs, int n, uint64_t seed)
{
	char self[PATH_MAX], cmd[PATH_MAX + 64], line[512];
	unsigned long long lo = 0, hi = 0;
	uint64_t x = seed;
	FILE *p;

	if (!realpath("/proc/self/exe", self))
		return 0;
	snprintf(cmd, sizeof(cmd), "readelf -lW '%s'", self);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		unsigned long long off, va, pa, fsz, msz;

		if (strstr(line, " R E ") &&
		    sscanf(line, " LOAD 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx", &off, &va, &pa, &fsz,
			   &msz) == 5) {
			lo = va;
			hi = va + fsz;
		}
	}
	if (p)
		pclose(p);
	if (hi <= lo)
		return 0;
	for (int i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		addrs[i] = lo + x % (hi - lo);
	}
	return n;
}

/* 300 random addresses of this test binary (ASan, -O1 -g: many inlines, many CUs) against
 * eu-addr2line -i: functions, files and lines of every frame, in order. */
static void test_random_addresses_match_addr2line(void)
{
	static struct ref_chain ref[300];
	static uint64_t addrs[300];
	char self[PATH_MAX];
	int n = 0, compared = 0, inlined = 0;
	struct dwarf_lines *dl;

	CHECK(realpath("/proc/self/exe", self) != NULL);
	CHECK_INT(self_addrs(addrs, 300, 88172645463325252ull), 300);
	/* eu-addr2line takes a range: ask one address at a time through the range helper */
	for (int i = 0; i < 300; i++) {
		struct ref_chain one[1];

		if (addr2line(self, addrs[i], 1, one) == 1)
			ref[n] = one[0];
		else
			memset(&ref[n], 0, sizeof(ref[n]));
		n++;
	}
	dl = open_path(self, NULL);
	CHECK(dl != NULL);
	if (!dl)
		return;
	for (int i = 0; i < n; i++) {
		const struct dwarf_line_frame *f;
		int got = dwarf_lines__lookup(dl, addrs[i], &f);

		/* eu-addr2line prints "??:0" where no line covers the address: we say 0 */
		if (!ref[i].n || !strcmp(ref[i].file[0], "??")) {
			CHECK_INT(got, 0);
			continue;
		}
		if (got != ref[i].n)
			for (int k = 0; k < got || k < ref[i].n; k++)
				fprintf(stderr, "  0x%llx #%d: %s %s:%u | %s %s:%u\n",
					(unsigned long long)addrs[i], k,
					k < got ? f[k].function : "-",
					k < got && f[k].file ? f[k].file : "-",
					k < got ? f[k].line : 0, k < ref[i].n ? ref[i].fn[k] : "-",
					k < ref[i].n ? ref[i].file[k] : "-",
					k < ref[i].n ? ref[i].line[k] : 0);
		CHECK_INT(got, ref[i].n);
		for (int k = 0; k < got && k < ref[i].n; k++) {
			/* no function DIE: the agent names it from the symbol table, as
			 * eu-addr2line does */
			if (f[k].function || k)
				CHECK_STR(f[k].function, ref[i].fn[k]);
			CHECK_STR(f[k].file, ref[i].file[k]);
			CHECK_INT(f[k].line, ref[i].line[k]);
		}
		compared++;
		inlined += got > 1;
	}
	fprintf(stderr, "  %d random addresses equal to eu-addr2line's, %d inlined\n", compared,
		inlined);
	CHECK(compared > 200 && inlined > 20);
	dwarf_lines__free(dl);
}

/* The known answer, from the source's markers: mix inlined at LINE_CALL into hot. */
static void test_known_inline(void)
{
	unsigned lmix = marker_line("/* LINE_MIX */"), lcall = marker_line("/* LINE_CALL */");
	unsigned dmix = marker_line("uint64_t mix("), dhot = marker_line("static void hot(");
	char path[PATH_MAX + 64];
	struct dwarf_lines *dl;
	uint64_t start = 0, size = 0;
	int exact = 0;

	snprintf(path, sizeof(path), "%s/lines_hot", fix);
	CHECK_INT(nm_symbol(path, "hot", &start, &size), 0);
	dl = open_path(path, NULL);
	CHECK(dl != NULL);
	if (!dl)
		return;
	for (uint64_t a = start; a < start + size; a++) {
		const struct dwarf_line_frame *f;
		int n = dwarf_lines__lookup(dl, a, &f);

		if (n != 2)
			continue;
		CHECK_STR(f[0].function, "mix");
		CHECK_STR(f[1].function, "hot");
		CHECK(f[0].file && strstr(f[0].file, "tests/fixtures/lines_hot.c"));
		CHECK(f[1].file && strstr(f[1].file, "tests/fixtures/lines_hot.c"));
		CHECK_INT(f[1].line, lcall);
		CHECK_INT(f[0].start_line, dmix);
		CHECK_INT(f[1].start_line, dhot);
		exact += f[0].line == lmix;
	}
	CHECK(exact > 0);
	dwarf_lines__free(dl);
}

/* A compressed debug file (objcopy --compress-debug-sections, as Debian ships them) answers
 * for the stripped program's addresses. */
static void test_compressed_debug_file(void)
{
	static struct ref_chain ref[MAX_ADDRS];
	char dbg[PATH_MAX + 64], cmd[2 * PATH_MAX];
	struct dwarf_lines *dl;
	uint64_t start = 0, size = 0;
	int n, two = 0;

	snprintf(dbg, sizeof(dbg), "%s/lines-debug/lines_hot-stripped.debug", fix);
	snprintf(cmd, sizeof(cmd), "readelf -S -W '%s' 2>/dev/null | grep -q '\\.debug_info.* C '",
		 dbg);
	CHECK_INT(system(cmd), 0); /* the fixture is what it claims */
	CHECK_INT(nm_symbol(dbg, "hot", &start, &size), 0);
	if (!size || size > MAX_ADDRS)
		return;
	n = addr2line(dbg, start, (int)size, ref);
	dl = open_path(dbg, NULL);
	CHECK(dl != NULL);
	if (!dl)
		return;
	for (int i = 0; i < n; i++) {
		const struct dwarf_line_frame *f;
		int got = dwarf_lines__lookup(dl, start + (uint64_t)i, &f);

		CHECK_INT(got, ref[i].n);
		for (int k = 0; k < got && k < ref[i].n; k++) {
			CHECK_STR(f[k].function, ref[i].fn[k]);
			CHECK_INT(f[k].line, ref[i].line[k]);
		}
		two += got == 2;
	}
	CHECK(two > 0);
	dwarf_lines__free(dl);
}

static void test_no_debug_info(void)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/lines_hot-stripped", fix);
	errno = 0;
	CHECK(open_path(path, NULL) == NULL);
	CHECK_INT(errno, ENODATA);
	snprintf(path, sizeof(path), "%s/lines-debug/lines_hot-stripped.debug", fix);
	/* a cap below the file's DWARF refuses it */
	errno = 0;
	CHECK(open_path(path, &(struct dwarf_lines_opts){ .max_debug_bytes = 64 }) == NULL);
	CHECK_INT(errno, EFBIG);
	errno = 0;
	CHECK(open_path("tests/fixtures/lines_hot.c", NULL) == NULL);
	CHECK_INT(errno, ENOEXEC);
}

/* The address cache stays within its bytes; a repeated address is a hit. */
static void test_cache_bounded(void)
{
	struct dwarf_lines_opts o = { .max_cache_bytes = 4096 };
	char path[PATH_MAX + 64];
	struct dwarf_lines *dl;
	uint64_t start = 0, size = 0;
	size_t base;

	snprintf(path, sizeof(path), "%s/lines_hot", fix);
	CHECK_INT(nm_symbol(path, "hot", &start, &size), 0);
	dl = open_path(path, &o);
	CHECK(dl != NULL);
	if (!dl)
		return;
	{
		const struct dwarf_line_frame *f;

		/* the CU's scope index is built on its first address: a fixed cost, not cache */
		CHECK(dwarf_lines__lookup(dl, start, &f) >= 0);
	}
	base = dwarf_lines__memory_bytes(dl);
	for (int round = 0; round < 3; round++)
		for (uint64_t a = start; a < start + size; a++) {
			const struct dwarf_line_frame *f;

			CHECK(dwarf_lines__lookup(dl, a, &f) >= 0);
			CHECK(dwarf_lines__memory_bytes(dl) <= base + o.max_cache_bytes);
		}
	CHECK(dwarf_lines__stats(dl)->lookups == 3 * size + 1);
	CHECK(dwarf_lines__stats(dl)->hits < 3 * size); /* evictions happened */
	{
		const struct dwarf_line_frame *f;
		uint64_t hits = dwarf_lines__stats(dl)->hits;

		dwarf_lines__lookup(dl, start + size - 1, &f);
		CHECK_INT(dwarf_lines__stats(dl)->hits, hits + 1);
	}
	dwarf_lines__free(dl);
}

/* Released, the DWARF's answers stay (their strings are the entries' own: ASan would see a
 * read of libdw's freed sections), memory drops by the sections, a new address asks for a
 * reload, and the reloaded DWARF answers it as a fresh handle does. */
static void test_release_keeps_answers(void)
{
	char path[PATH_MAX + 64], fn[64][128], file[64][PATH_MAX];
	const struct dwarf_line_frame *f, *g;
	struct dwarf_lines *dl, *fresh;
	uint64_t start = 0, size = 0, half;
	size_t loaded, released;
	int n[64], fd;

	snprintf(path, sizeof(path), "%s/lines_hot", fix);
	CHECK_INT(nm_symbol(path, "hot", &start, &size), 0);
	dl = open_path(path, NULL);
	fresh = open_path(path, NULL);
	CHECK(dl && fresh && size >= 4);
	if (!dl || !fresh || size < 4)
		goto out;
	half = size / 2 < 64 ? size / 2 : 64;
	for (uint64_t i = 0; i < half; i++) {
		n[i] = dwarf_lines__lookup(dl, start + i, &f);
		CHECK(n[i] > 0);
		snprintf(fn[i], sizeof(fn[i]), "%s",
			 n[i] > 0 && f[0].function ? f[0].function : "");
		snprintf(file[i], sizeof(file[i]), "%s", n[i] > 0 && f[0].file ? f[0].file : "");
	}
	loaded = dwarf_lines__memory_bytes(dl);
	dwarf_lines__release(dl);
	released = dwarf_lines__memory_bytes(dl);
	fprintf(stderr, "  %zu bytes loaded, %zu released\n", loaded, released);
	CHECK(!dwarf_lines__loaded(dl));
	CHECK(released < loaded);
	for (uint64_t i = 0; i < half; i++) {
		CHECK_INT(dwarf_lines__lookup(dl, start + i, &f), n[i]);
		CHECK_STR(f[0].function ? f[0].function : "", fn[i]);
		CHECK_STR(f[0].file ? f[0].file : "", file[i]);
	}
	CHECK_INT(dwarf_lines__lookup(dl, start + size - 1, &f), -ESTALE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK_INT(dwarf_lines__reload_fd(dl, fd), 0);
	close(fd);
	CHECK(dwarf_lines__loaded(dl));
	CHECK_INT(dwarf_lines__lookup(dl, start + size - 1, &f),
		  dwarf_lines__lookup(fresh, start + size - 1, &g));
	CHECK_STR(f[0].function, g[0].function);
	CHECK_INT(f[0].line, g[0].line);
	CHECK_U64(dwarf_lines__stats(dl)->releases, 1);
	CHECK_U64(dwarf_lines__stats(dl)->reloads, 1);
	/* a large DWARF (this test's own, -g with ASan) leaves its address cache only */
	dwarf_lines__free(dl);
	dl = NULL;
	CHECK(realpath("/proc/self/exe", path) != NULL); /* nm's own /proc/self is nm */
	dl = open_path(path, NULL);
	CHECK(dl != NULL && nm_symbol(path, "main", &start, &size) == 0);
	if (!dl)
		goto out;
	CHECK(dwarf_lines__lookup(dl, start, &f) > 0);
	loaded = dwarf_lines__memory_bytes(dl);
	dwarf_lines__release(dl);
	released = dwarf_lines__memory_bytes(dl);
	fprintf(stderr, "  this test's DWARF: %zu bytes loaded, %zu released\n", loaded, released);
	CHECK(released < loaded / 20);
out:
	dwarf_lines__free(dl);
	dwarf_lines__free(fresh);
}

/* A scratch directory of the test's own on a disk, not tmpfs (which the copy refuses): the
 * build tree's, else /var/tmp's. A host with neither fails the tests that need one. */
static const char *scratch_dir(void)
{
	static char dir[PATH_MAX + 32];
	const char *bases[] = { NULL, "/var/tmp", "/var/cache" };

	for (size_t i = 0; !dir[0] && i < sizeof(bases) / sizeof(bases[0]); i++) {
		struct statfs fs;

		if (bases[i])
			snprintf(dir, sizeof(dir), "%s/stoker-test-scratch", bases[i]);
		else
			snprintf(dir, sizeof(dir), "%s/../tmp-scratch", fix);
		mkdir(dir, 0700);
		if (statfs(dir, &fs) || fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC)
			dir[0] = '\0';
	}
	if (!dir[0])
		fprintf(stderr, "  no directory on a disk for the scratch copies\n");
	return dir;
}

/* The chains of n addresses from a and b are the same, frame by frame; returns how many
 * addresses had a chain. */
static int same_chains(struct dwarf_lines *a, struct dwarf_lines *b, const uint64_t *addrs, int n)
{
	int with = 0;

	for (int i = 0; i < n; i++) {
		const struct dwarf_line_frame *f, *g;
		int x = dwarf_lines__lookup(a, addrs[i], &f), k;
		char fn[DWARF_LINES_MAX_FRAMES][128], file[DWARF_LINES_MAX_FRAMES][256];
		unsigned line[DWARF_LINES_MAX_FRAMES];

		/* f is valid until the next lookup in a only: copy before asking b */
		for (k = 0; k < x; k++) {
			snprintf(fn[k], sizeof(fn[k]), "%s", f[k].function ? f[k].function : "-");
			snprintf(file[k], sizeof(file[k]), "%s", f[k].file ? f[k].file : "-");
			line[k] = f[k].line;
		}
		CHECK_INT(dwarf_lines__lookup(b, addrs[i], &g), x);
		for (k = 0; k < x; k++) {
			CHECK_STR(g[k].function ? g[k].function : "-", fn[k]);
			CHECK_STR(g[k].file ? g[k].file : "-", file[k]);
			CHECK_INT(g[k].line, line[k]);
		}
		with += x > 0;
	}
	return with;
}

/* The compressed debug file copied to the scratch directory, decompressed, answers as the
 * heap's decompression does; a directory in memory (tmpfs) is refused for the heap. */
static void test_scratch_copy_answers_alike(void)
{
	struct dwarf_lines_opts o = { .scratch_dir = scratch_dir() };
	struct dwarf_lines *copy, *heap, *shm;
	char dbg[PATH_MAX + 64];
	uint64_t start = 0, size = 0, addrs[MAX_ADDRS];
	int n;

	snprintf(dbg, sizeof(dbg), "%s/lines-debug/lines_hot-stripped.debug", fix);
	CHECK_INT(nm_symbol(dbg, "hot", &start, &size), 0);
	CHECK(size > 0 && size <= MAX_ADDRS);
	copy = open_path(dbg, &o);
	heap = open_path(dbg, NULL);
	shm = open_path(dbg, &(struct dwarf_lines_opts){ .scratch_dir = "/dev/shm" });
	CHECK(copy && heap && shm);
	if (!copy || !heap || !shm || !size || size > MAX_ADDRS)
		goto out;
	CHECK_U64(dwarf_lines__stats(copy)->copies, 1);
	CHECK_U64(dwarf_lines__stats(copy)->in_heap, 0);
	CHECK_U64(dwarf_lines__stats(heap)->in_heap, 1);
	CHECK_U64(dwarf_lines__stats(shm)->copies, 0);
	CHECK_U64(dwarf_lines__stats(shm)->in_heap, 1);
	for (uint64_t i = 0; i < size; i++)
		addrs[i] = start + i;
	n = same_chains(copy, heap, addrs, (int)size);
	fprintf(stderr, "  %d addresses of hot alike from the copy and the heap\n", n);
	CHECK_INT(n, (int)size);
	/* released and read again: a new copy, the same answers */
	dwarf_lines__release(copy);
	{
		int fd = open(dbg, O_RDONLY | O_CLOEXEC);

		CHECK_INT(dwarf_lines__reload_fd(copy, fd), 0);
		close(fd);
	}
	CHECK_U64(dwarf_lines__stats(copy)->copies, 2);
out:
	dwarf_lines__free(copy);
	dwarf_lines__free(heap);
	dwarf_lines__free(shm);
}

/* No file is mapped as it is, not even an uncompressed one root owns (root in a container owns
 * what it writes, and whoever writes a file can truncate it under a mapping): it is copied,
 * or read by libelf with pread without a scratch directory, and answers alike. */
static void test_file_never_mapped(void)
{
	struct dwarf_lines_opts o = { .scratch_dir = scratch_dir() };
	struct dwarf_lines *own, *theirs, *heap;
	char src[PATH_MAX + 64], cp[PATH_MAX + 128], cmd[4 * PATH_MAX];
	uint64_t start = 0, size = 0, addrs[MAX_ADDRS];

	CHECK(scratch_dir()[0] != '\0');
	if (!scratch_dir()[0])
		return;
	snprintf(src, sizeof(src), "%s/lines_hot", fix);
	snprintf(cp, sizeof(cp), "%s/lines_hot-theirs", scratch_dir());
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chown 65534 '%s'", src, cp, cp);
	CHECK(geteuid() == 0); /* chown to another user needs root */
	CHECK_INT(system(cmd), 0);
	CHECK_INT(nm_symbol(src, "hot", &start, &size), 0);
	own = open_path(src, &o);
	theirs = open_path(cp, &o);
	heap = open_path(cp, NULL);
	CHECK(own && theirs && heap);
	if (!own || !theirs || !heap || !size || size > MAX_ADDRS)
		goto out;
	CHECK_U64(dwarf_lines__stats(own)->copies, 1);
	CHECK_U64(dwarf_lines__stats(own)->in_heap, 0);
	CHECK_U64(dwarf_lines__stats(theirs)->copies, 1);
	CHECK_U64(dwarf_lines__stats(heap)->in_heap, 1);
	for (uint64_t i = 0; i < size; i++)
		addrs[i] = start + i;
	CHECK_INT(same_chains(own, theirs, addrs, (int)size), (int)size);
	CHECK_INT(same_chains(own, heap, addrs, (int)size), (int)size);
out:
	unlink(cp);
	dwarf_lines__free(own);
	dwarf_lines__free(theirs);
	dwarf_lines__free(heap);
}

/* A scratch directory that cannot take the copy (gone, full, read-only) costs the copy's
 * place, not the lines: it is written to memory instead, and answers alike. */
static void test_scratch_failure_copies_to_memory(void)
{
	struct dwarf_lines_opts gone = { .scratch_dir = "/nonexistent/stoker-scratch" };
	struct dwarf_lines *disk, *mem;
	uint64_t start = 0, size = 0, addrs[MAX_ADDRS];
	char src[PATH_MAX + 64];

	snprintf(src, sizeof(src), "%s/lines_hot", fix);
	CHECK_INT(nm_symbol(src, "hot", &start, &size), 0);
	disk = open_path(src, NULL);
	mem = open_path(src, &gone);
	CHECK(disk && mem);
	if (!disk || !mem || !size || size > MAX_ADDRS)
		goto out;
	CHECK_U64(dwarf_lines__stats(mem)->copies, 0);
	CHECK_U64(dwarf_lines__stats(mem)->in_heap, 1);
	for (uint64_t i = 0; i < size; i++)
		addrs[i] = start + i;
	CHECK_INT(same_chains(disk, mem, addrs, (int)size), (int)size);
out:
	dwarf_lines__free(disk);
	dwarf_lines__free(mem);
}

/* Parsed units dropped before every new one (the smallest budget) answer as a handle that
 * keeps them all, and hold no more than about one unit's parse. */
static void test_budget_resets_answer_alike(void)
{
	struct dwarf_lines_opts tight = { .max_parsed_bytes = 1 };
	static uint64_t addrs[400];
	struct dwarf_lines *small, *big;
	char self[PATH_MAX];
	int n = self_addrs(addrs, 400, 2463534242ull), with;

	CHECK(n == 400 && realpath("/proc/self/exe", self) != NULL);
	small = open_path(self, &tight);
	big = open_path(self, &(struct dwarf_lines_opts){ .max_parsed_bytes = 1ull << 30 });
	CHECK(small && big);
	if (!small || !big)
		goto out;
	with = same_chains(small, big, addrs, n);
	fprintf(stderr, "  %d of %d addresses alike; %llu resets against %llu\n", with, n,
		(unsigned long long)dwarf_lines__stats(small)->resets,
		(unsigned long long)dwarf_lines__stats(big)->resets);
	CHECK(with > 300);
	/* one reset after indexing each, then one per new unit for the tight one */
	CHECK_U64(dwarf_lines__stats(big)->resets, 1);
	CHECK(dwarf_lines__stats(small)->resets > 50);
	CHECK(dwarf_lines__memory_bytes(small) < dwarf_lines__memory_bytes(big));
out:
	dwarf_lines__free(small);
	dwarf_lines__free(big);
}

/* A copy whose compressed section does not inflate to its stated size: refused, nothing
 * held, no crash. */
static void test_corrupt_compressed_section(void)
{
	char dbg[PATH_MAX + 64], bad[PATH_MAX + 128], cmd[4 * PATH_MAX];
	struct dwarf_lines_opts o = { .scratch_dir = scratch_dir() };
	unsigned long long off = 0;
	FILE *p;

	CHECK(scratch_dir()[0] != '\0');
	if (!scratch_dir()[0])
		return;
	snprintf(dbg, sizeof(dbg), "%s/lines-debug/lines_hot-stripped.debug", fix);
	snprintf(bad, sizeof(bad), "%s/lines_hot-corrupt.debug", scratch_dir());
	/* the offset of .debug_info, from readelf: overwrite its zlib stream past the header */
	snprintf(cmd, sizeof(cmd),
		 "readelf -SW '%s' 2>/dev/null | awk '$2 == \".debug_info\" { print $5 }'", dbg);
	p = popen(cmd, "r");
	CHECK(p && fscanf(p, "%llx", &off) == 1);
	if (p)
		pclose(p);
	snprintf(cmd, sizeof(cmd),
		 "cp '%s' '%s' && printf 'garbagegarbagegarbage' | dd of='%s' bs=1 seek=%llu "
		 "conv=notrunc status=none",
		 dbg, bad, bad, off + 24 + 2);
	CHECK(off > 0);
	CHECK_INT(system(cmd), 0);
	errno = 0;
	CHECK(open_path(bad, &o) == NULL);
	CHECK_INT(errno, ENODATA);
	unlink(bad);
}

int main(void)
{
	if (!realpath(getenv("STOKER_FIXTURES") ? getenv("STOKER_FIXTURES") : "build/fixtures",
		      fix)) {
		fprintf(stderr, "fixtures not built: run make fixtures\n");
		return 1;
	}
	RUN_TEST(test_hot_matches_addr2line);
	RUN_TEST(test_no_aranges);
	RUN_TEST(test_known_inline);
	RUN_TEST(test_random_addresses_match_addr2line);
	RUN_TEST(test_compressed_debug_file);
	RUN_TEST(test_no_debug_info);
	RUN_TEST(test_cache_bounded);
	RUN_TEST(test_release_keeps_answers);
	RUN_TEST(test_scratch_copy_answers_alike);
	RUN_TEST(test_file_never_mapped);
	RUN_TEST(test_scratch_failure_copies_to_memory);
	RUN_TEST(test_budget_resets_answer_alike);
	RUN_TEST(test_corrupt_compressed_section);
	return TEST_SUMMARY();
}

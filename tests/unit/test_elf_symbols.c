/* Unit tests of ELF symbolization on fixture binaries (tests/fixtures/elf.mk): symbol lookup
 * checked against nm, PT_LOAD offset mapping against readelf, debug files by debuglink and
 * build-id (and rejected when they do not match), MiniDebugInfo, C++ names, hostile input. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "object/elf_symbols.h"
#include "gen_elf.h"
#include "test.h"

static char fx[PATH_MAX];

/* Absolute, as paths from /proc/PID/maps are: debuglink candidates are found beside it. */
static const char *fixture(const char *name)
{
	static char path[PATH_MAX + 256];

	snprintf(path, sizeof(path), "%s/elf/%s", fx, name);
	return path;
}

static void expect_sym(const struct elf_object *o, uint64_t addr, const char *want)
{
	struct elf_symbol_result r;

	CHECK(addr != 0);
	CHECK_INT(elf_object__lookup(o, addr + 1, &r), 0);
	if (elf_object__lookup(o, addr + 1, &r) == 0)
		CHECK_STR(r.name, want);
}

static void test_pie_and_nopie(void)
{
	const char *names[] = { "prog_pie", "prog_nopie" };

	for (int i = 0; i < 2; i++) {
		char path[1024];
		struct elf_object *o;

		snprintf(path, sizeof(path), "%s", fixture(names[i]));
		o = elf_object__open(path, NULL);
		CHECK(o != NULL);
		if (!o)
			continue;
		CHECK_STR(elf_object__symbol_source(o), "symtab");
		CHECK_INT(strlen(elf_object__build_id_hex(o)), 40);
		CHECK_INT(elf_object__type(o), i == 0 ? 3 /* ET_DYN */ : 2 /* ET_EXEC */);
		expect_sym(o, test_nm_addr(path, "elf_fn_alpha"), "elf_fn_alpha");
		expect_sym(o, test_nm_addr(path, "elf_fn_beta"), "elf_fn_beta");
		expect_sym(o, test_nm_addr(path, "elf_fn_local"),
			   "elf_fn_local"); /* local symbol */
		expect_sym(o, test_nm_addr(path, "main"), "main");
		elf_object__free(o);
	}
}

/* file offset -> vaddr must agree with readelf's first executable PT_LOAD */
static void test_offset_to_vaddr(void)
{
	char cmd[1200], line[512];
	unsigned long long off = 0, va = 0;
	struct elf_object *o = elf_object__open(fixture("prog_pie"), NULL);
	uint64_t got = 0;
	FILE *p;

	CHECK_PROGRAM("readelf");
	snprintf(cmd, sizeof(cmd), "readelf -lW %s | awk '$1==\"LOAD\" && / R E / {print $2, $3}'",
		 fixture("prog_pie"));
	p = popen(cmd, "r");
	if (p && fgets(line, sizeof(line), p))
		sscanf(line, "%llx %llx", &off, &va);
	if (p)
		pclose(p);
	CHECK(o != NULL && va != 0);
	if (!o)
		return;
	CHECK_INT(elf_object__offset_to_vaddr(o, off + 0x10, &got), 0);
	CHECK_U64(got, va + 0x10);
	CHECK_INT(elf_object__offset_to_vaddr(o, 0x7fffffff, &got), -ENOENT);
	elf_object__free(o);
}

static void test_shared_library(void)
{
	struct elf_object *o = elf_object__open(fixture("libfixture.so"), NULL);

	CHECK(o != NULL);
	if (!o)
		return;
	expect_sym(o, test_nm_addr(fixture("libfixture.so"), "lib_fn_gamma"), "lib_fn_gamma");
	expect_sym(o, test_nm_addr(fixture("libfixture.so"), "lib_fn_hidden"), "lib_fn_hidden");
	elf_object__free(o);
}

static void test_stripped_with_debuglink(void)
{
	uint64_t a =
	    test_nm_addr(fixture("prog_pie"), "elf_fn_local"); /* same code as the debug file */
	struct elf_object *o = elf_object__open(fixture("prog_stripped"), NULL);

	CHECK(o != NULL);
	if (!o)
		return;
	CHECK_STR(elf_object__symbol_source(o), "debug-file");
	expect_sym(o, a, "elf_fn_local"); /* a local function: only the debug file has it */
	elf_object__free(o);
}

/* A FIFO under the debuglink's name is skipped without blocking (alarm: a hang fails). */
static void test_debuglink_fifo_does_not_block(void)
{
	char dir[] = "/tmp/stoker-dbg-XXXXXX", bin[64], fifo[64], cmd[PATH_MAX + 128];
	struct elf_object *o;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(bin, sizeof(bin), "%s/prog_stripped", dir);
	snprintf(fifo, sizeof(fifo), "%s/prog_stripped.debug", dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", fixture("prog_stripped"), bin);
	CHECK_INT(system(cmd), 0);
	CHECK_INT(mkfifo(fifo, 0600), 0);
	alarm(10);
	o = elf_object__open(bin, NULL);
	alarm(0);
	CHECK(o != NULL);
	if (o)
		CHECK(strcmp(elf_object__symbol_source(o), "debug-file") != 0);
	elf_object__free(o);
	unlink(fifo);
	unlink(bin);
	rmdir(dir);
}

static void test_debuglink_wrong_build_id_rejected(void)
{
	struct elf_object *o = elf_object__open(fixture("prog_wronglink"), NULL);

	CHECK(o != NULL);
	if (!o)
		return;
	CHECK(strcmp(elf_object__symbol_source(o), "debug-file") != 0);
	elf_object__free(o);
}

static void test_debug_file_by_build_id(void)
{
	char dir[1100];
	const char *dirs[] = { dir, NULL };
	struct elf_object_opts opts = { .debug_dirs = dirs };
	struct elf_object *o;

	snprintf(dir, sizeof(dir), "%s", fixture("debugroot/usr/lib/debug"));
	o = elf_object__open(fixture("prog_bybuildid"), &opts);
	CHECK(o != NULL);
	if (!o)
		return;
	CHECK_STR(elf_object__symbol_source(o), "debug-file");
	CHECK(elf_object__symbol_count(o) >= 4);
	elf_object__free(o);
	o = elf_object__open(fixture("prog_bybuildid"), NULL); /* not under the default dir */
	CHECK(o && strcmp(elf_object__symbol_source(o), "debug-file") != 0);
	elf_object__free(o);
}

static void test_minidebuginfo(void)
{
	struct elf_object *o = elf_object__open(fixture("prog_mini"), NULL);
	struct elf_object_opts tiny = { .max_debugdata_bytes = 64 };

	CHECK(o != NULL);
	if (!o)
		return;
	CHECK_STR(elf_object__symbol_source(o), "debugdata");
	expect_sym(o, test_nm_addr(fixture("prog_pie"), "elf_fn_local"), "elf_fn_local");
	elf_object__free(o);
	/* a cap below the decompressed size: refused, no symbols from it, no crash */
	o = elf_object__open(fixture("prog_mini"), &tiny);
	CHECK(o != NULL && strcmp(elf_object__symbol_source(o), "debugdata") != 0);
	elf_object__free(o);
}

static void test_cpp_demangle(void)
{
	struct elf_object *o = elf_object__open(fixture("prog_cpp"), NULL);
	uint64_t a = test_nm_addr(fixture("prog_cpp"), "_ZNK14stoker_fixture6Widget4spinEi");
	struct elf_symbol_result r;
	char *d;

	CHECK(o != NULL);
	if (o && elf_object__lookup(o, a, &r) == 0) {
		d = demangle(r.name);
		CHECK_STR(d, "stoker_fixture::Widget::spin(int) const");
		free(d);
	} else {
		CHECK(0);
	}
	elf_object__free(o);
	d = demangle("_ZN3foo3barEv");
	CHECK_STR(d, "foo::bar()");
	free(d);
	CHECK(demangle("main") == NULL);
	CHECK(demangle("_Znot a name") == NULL);
}

static void test_hostile_inputs(void)
{
	char path[] = "/tmp/stoker-elf-XXXXXX";
	uint8_t buf[4096], bid[64];
	struct elf_object *o;
	int fd;

	o = elf_object__open(fixture("truncated"), NULL);
	if (o) /* a truncated file may parse partially; it must never crash or hold symbols
		* that are not there */
		CHECK(elf_object__lookup(o, 0x1130, &(struct elf_symbol_result){ 0 }) != 0 ||
		      elf_object__symbol_count(o) > 0);
	elf_object__free(o);
	errno = 0;
	CHECK(elf_object__open("/nonexistent/stoker/file", NULL) == NULL);
	CHECK_INT(errno, ENOENT);
	fd = mkstemp(path);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	memcpy(buf, "\177ELF\2\1\1", 7); /* a plausible header over garbage */
	CHECK(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	o = elf_object__open(path, NULL);
	elf_object__free(o);
	CHECK(elf_read_build_id_fd(fd, bid, sizeof(bid)) <= 0);
	close(fd);
	unlink(path);
}

#define BLOAT_SYMS 40000
#define BLOAT_NAME 4000
#define PER_SYM	   24	/* what the symbol table charges per kept symbol */
#define FIXED	   4096 /* the object itself, segments and build-id */

static struct elf_object *open_generated(size_t nsyms, int overlap,
					 const struct elf_object_opts *opts, size_t *str_size)
{
	char path[] = "/tmp/stoker-bloat-XXXXXX";
	struct elf_object *o;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return NULL;
	*str_size = gen_elf_write(fd, nsyms, BLOAT_NAME, overlap);
	CHECK(*str_size > 0);
	o = elf_object__open_fd(fd, path, opts);
	close(fd);
	unlink(path);
	return o;
}

/* 40,000 symbols sharing one 4,000-byte name: the name is kept once, so the table costs the
 * file's string table plus a fixed amount per symbol (it was 160 MB of copies). */
static void test_shared_name_kept_once(void)
{
	struct elf_symbol_result r;
	struct elf_object *o;
	size_t str_size = 0, bytes, bound;

	o = open_generated(BLOAT_SYMS, 0, NULL, &str_size);
	CHECK(o != NULL);
	if (!o)
		return;
	bytes = elf_object__memory_bytes(o);
	bound = str_size + BLOAT_SYMS * PER_SYM + FIXED;
	fprintf(stderr, "  %zu bytes held for %zu symbols, bound %zu\n", bytes,
		elf_object__symbol_count(o), bound);
	CHECK_INT(elf_object__symbol_count(o), BLOAT_SYMS);
	CHECK(bytes <= bound);
	CHECK_INT(elf_object__lookup(o, GEN_ELF_TEXT + 2 * 777 + 1, &r), 0);
	CHECK_U64(r.start, GEN_ELF_TEXT + 2 * 777);
	CHECK_INT(strlen(r.name), BLOAT_NAME);
	CHECK_INT(r.name[0], 'A');
	elf_object__free(o);
}

/* Symbols naming overlapping suffixes of one long string: interning each distinct name would
 * take 8 MB; the string table is kept once instead, and every name still reads right. */
static void test_overlapping_names_bounded_by_strtab(void)
{
	struct elf_symbol_result r;
	struct elf_object *o;
	size_t str_size = 0, bytes, bound;

	o = open_generated(BLOAT_SYMS, 1, NULL, &str_size);
	CHECK(o != NULL);
	if (!o)
		return;
	bytes = elf_object__memory_bytes(o);
	bound = str_size + BLOAT_SYMS * PER_SYM + FIXED;
	fprintf(stderr, "  %zu bytes held, bound %zu\n", bytes, bound);
	CHECK(bytes <= bound);
	for (size_t i = 0; i < BLOAT_SYMS; i += 3999) {
		CHECK_INT(elf_object__lookup(o, GEN_ELF_TEXT + 2 * i, &r), 0);
		CHECK_INT(strlen(r.name), BLOAT_NAME - i % BLOAT_NAME);
	}
	elf_object__free(o);
}

struct reserve_log {
	int calls;
	size_t asked;
	int answer;
};

static int log_reserve(void *ctx, size_t bytes)
{
	struct reserve_log *l = ctx;

	l->calls++;
	l->asked = bytes;
	return l->answer;
}

/* The cost is known before reading: a table over the quota is skipped without allocating
 * anything for it, and the reserve hook is asked for the estimate first. */
static void test_quota_checked_before_reading(void)
{
	struct reserve_log log = { 0 };
	struct elf_object_opts small = { .max_bytes = 256 << 10,
					 .reserve = log_reserve,
					 .reserve_ctx = &log };
	struct elf_object_opts room = { .max_bytes = 4 << 20,
					.reserve = log_reserve,
					.reserve_ctx = &log };
	struct elf_object *o, *base;
	size_t str_size = 0, estimate = (BLOAT_SYMS + 1) * PER_SYM;

	base = open_generated(1, 0, &(struct elf_object_opts){ .max_bytes = 1 }, &str_size);
	CHECK(base != NULL);
	o = open_generated(BLOAT_SYMS, 0, &small, &str_size);
	CHECK(o != NULL);
	if (o && base) {
		CHECK_INT(elf_object__tables_refused(o), 1);
		CHECK_INT(elf_object__symbol_count(o), 0);
		/* nothing allocated for the table: what an object with no table holds */
		CHECK_INT(elf_object__memory_bytes(o), elf_object__memory_bytes(base));
		CHECK_INT(log.calls, 0); /* over the quota: not even asked for */
	}
	elf_object__free(o);
	elf_object__free(base);

	log.answer = -ENOSPC; /* the cache says no */
	o = open_generated(BLOAT_SYMS, 0, &room, &str_size);
	CHECK(o != NULL);
	if (o) {
		CHECK_INT(log.calls, 1);
		CHECK_INT(log.asked, estimate + str_size + 1);
		CHECK_INT(elf_object__tables_refused(o), 1);
		CHECK_INT(elf_object__symbol_count(o), 0);
	}
	elf_object__free(o);

	log = (struct reserve_log){ 0 };
	o = open_generated(BLOAT_SYMS, 0, &room, &str_size);
	CHECK(o != NULL);
	if (o) {
		CHECK_INT(log.calls, 1);
		CHECK_INT(elf_object__symbol_count(o), BLOAT_SYMS);
		CHECK(elf_object__memory_bytes(o) <= log.asked + FIXED); /* the estimate holds */
	}
	elf_object__free(o);
}

int main(void)
{
	if (!realpath(getenv("STOKER_FIXTURES") ? getenv("STOKER_FIXTURES") : "build/fixtures",
		      fx)) {
		fprintf(stderr, "fixtures not built: run make fixtures\n");
		return 1;
	}
	RUN_TEST(test_pie_and_nopie);
	RUN_TEST(test_offset_to_vaddr);
	RUN_TEST(test_shared_library);
	RUN_TEST(test_stripped_with_debuglink);
	RUN_TEST(test_debuglink_wrong_build_id_rejected);
	RUN_TEST(test_debuglink_fifo_does_not_block);
	RUN_TEST(test_debug_file_by_build_id);
	RUN_TEST(test_minidebuginfo);
	RUN_TEST(test_cpp_demangle);
	RUN_TEST(test_hostile_inputs);
	RUN_TEST(test_shared_name_kept_once);
	RUN_TEST(test_overlapping_names_bounded_by_strtab);
	RUN_TEST(test_quota_checked_before_reading);
	return TEST_SUMMARY();
}

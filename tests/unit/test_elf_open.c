/* Unit tests of object/elf_open: a file cut short under an open handle reads short instead of
 * raising SIGBUS, and sizes a (sparse) file claims are refused before anything is read. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include "object/elf_open.h"
#include "object/elf_symbols.h"
#include "object/unwind_table.h"
#include "test.h"

static char fx[PATH_MAX], dir[] = "/tmp/stoker-test-elf-open-XXXXXX";

/* A private copy of fixture name at dst, for the test to cut and patch. */
static int copy_of(const char *name, const char *dst)
{
	char cmd[3 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), "cp '%s/%s' '%s'", fx, name, dst);
	return system(cmd) == 0 ? open(dst, O_RDWR | O_CLOEXEC) : -1;
}

static long rss_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			v = atol(line + 6);
	if (f)
		fclose(f);
	return v;
}

/* Index and header of the section named want, read from the intact file. */
static size_t section_index(int fd, const char *want, GElf_Shdr *out)
{
	int err;
	Elf *elf = elf_open_fd(fd, NULL, &err);
	Elf_Scn *scn = elf ? elf_find_section(elf, 0, want, out) : NULL;
	size_t idx = scn ? elf_ndxscn(scn) : 0;

	if (elf)
		elf_end(elf);
	return idx;
}

/* Writes a new sh_size into section idx's header (64-bit ELF). */
static int claim_size(int fd, size_t idx, uint64_t size)
{
	Elf64_Ehdr eh;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
		return -1;
	return pwrite(fd, &size, sizeof(size),
		      (off_t)(eh.e_shoff + idx * sizeof(Elf64_Shdr) +
			      offsetof(Elf64_Shdr, sh_size))) == (ssize_t)sizeof(size)
		   ? 0
		   : -1;
}

static const char *section_name(Elf *elf, const GElf_Shdr *sh)
{
	size_t ndx;
	const char *n = elf_getshdrstrndx(elf, &ndx) ? NULL : elf_strptr(elf, ndx, sh->sh_name);

	return n ? n : "";
}

/* The owner cuts the file to one page after it was opened: every read after that comes back
 * short. Through a mapping the same reads would raise SIGBUS and end this test binary. */
static void test_cut_under_an_open_handle(void)
{
	char path[PATH_MAX + 64];
	struct unwind_rules rules;
	struct unwind_table t;
	GElf_Shdr sh;
	Elf_Scn *scn;
	Elf *elf;
	int fd, err, past = 0;

	snprintf(path, sizeof(path), "%s/cut", dir);
	fd = copy_of("elf/libfixture.so", path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	elf = elf_open_fd(fd, NULL, &err);
	CHECK(elf != NULL);
	if (elf) {
		CHECK_INT(ftruncate(fd, 4096), 0);
		unwind_rules__init(&rules);
		err = unwind_table__build(elf, &rules, NULL, &t);
		CHECK(err != 0 || t.nrows == 0);
		unwind_table__free(&t);
		/* every section past the cut that was not read before it fails to read */
		scn = NULL;
		while ((scn = elf_nextscn(elf, scn))) {
			if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !sh.sh_size ||
			    sh.sh_offset < 4096 || !strcmp(section_name(elf, &sh), ".eh_frame") ||
			    !strcmp(section_name(elf, &sh), ".eh_frame_hdr"))
				continue;
			past++;
			CHECK(elf_section_data(scn, &sh, ELF_SECTION_READ_MAX) == NULL);
		}
		CHECK(past >= 5);
		elf_end(elf);
	}
	close(fd);
}

/* A sparse file whose section headers claim a gigabyte: refused from the headers, with the
 * resident set unchanged (a read of what they claim would add the gigabyte). */
static void test_claimed_sizes_refused_before_reading(void)
{
	static const char *const names[] = { ".eh_frame", ".dynsym", ".dynstr" };
	char path[PATH_MAX + 64];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct unwind_rules rules;
		struct unwind_table t;
		GElf_Shdr sh;
		Elf_Scn *scn;
		long before;
		size_t idx;
		Elf *elf;
		int fd, err;

		snprintf(path, sizeof(path), "%s/claims%zu", dir, i);
		fd = copy_of("elf/libfixture.so", path);
		CHECK(fd >= 0);
		if (fd < 0)
			continue;
		idx = section_index(fd, names[i], &sh);
		CHECK(idx != 0);
		/* moved to the end of a 2 GiB hole so that libelf's own range check passes */
		CHECK_INT(ftruncate(fd, 2ll << 30), 0);
		CHECK_INT(claim_size(fd, idx, 1ull << 30), 0);
		before = rss_kib();
		elf = elf_open_fd(fd, NULL, &err);
		CHECK(elf != NULL);
		if (elf) {
			scn = elf_getscn(elf, idx);
			CHECK(gelf_getshdr(scn, &sh) && sh.sh_size == 1ull << 30);
			CHECK(elf_section_data(scn, &sh, ELF_SECTION_READ_MAX) == NULL);
			if (i == 0) {
				unwind_rules__init(&rules);
				CHECK_INT(unwind_table__build(elf, &rules, NULL, &t), -EFBIG);
				unwind_table__free(&t);
			} else {
				scn = elf_find_section(elf, SHT_DYNSYM, NULL, &sh);
				CHECK(scn && !elf_symtab_data(elf, scn, &sh, ELF_SECTION_READ_MAX));
			}
			elf_end(elf);
		}
		CHECK(rss_kib() - before < 64 << 10);
		close(fd);
	}
}

/* Counts in section 0 (e_shnum 0) let libelf size its tables from a claim: refused. So is a
 * section name table larger than any real one. */
static void test_header_claims_refused(void)
{
	char path[PATH_MAX + 64];
	uint16_t zero = 0;
	GElf_Shdr sh;
	size_t idx;
	Elf *elf;
	int fd, err;

	snprintf(path, sizeof(path), "%s/counts", dir);
	fd = copy_of("elf/libfixture.so", path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	elf = elf_open_fd(fd, NULL, &err);
	CHECK(elf != NULL && err == 0);
	if (elf)
		elf_end(elf);
	CHECK_INT(pwrite(fd, &zero, 2, offsetof(Elf64_Ehdr, e_shnum)), 2);
	CHECK(elf_open_fd(fd, NULL, &err) == NULL);
	CHECK_INT(err, -EFBIG);
	close(fd);

	snprintf(path, sizeof(path), "%s/names", dir);
	fd = copy_of("elf/libfixture.so", path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	idx = section_index(fd, ".shstrtab", &sh);
	CHECK(idx != 0);
	CHECK_INT(ftruncate(fd, 2ll << 30), 0);
	CHECK_INT(claim_size(fd, idx, 1ull << 30), 0);
	CHECK(elf_open_fd(fd, NULL, &err) == NULL);
	CHECK_INT(err, -ENOEXEC);
	close(fd);
}

/* .debug_* sizes add up, an inflated size counts instead of the compressed one, and the cap
 * is held. */
static void test_dwarf_bytes(void)
{
	char path[PATH_MAX + 64];
	uint64_t total = 0, dbg = 0;
	GElf_Shdr sh;
	Elf_Scn *scn = NULL;
	size_t ndx;
	Elf *elf;
	int fd, err;

	snprintf(path, sizeof(path), "%s/elf/prog_pie", fx);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	elf = fd >= 0 ? elf_open_fd(fd, NULL, &err) : NULL;
	CHECK(elf != NULL);
	if (!elf)
		goto out;
	CHECK_INT(elf_getshdrstrndx(elf, &ndx), 0);
	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) &&
		    !strncmp(elf_strptr(elf, ndx, sh.sh_name) ?: "", ".debug_", 7))
			dbg += sh.sh_size;
	CHECK(dbg > 0);
	CHECK_INT(elf_dwarf_bytes(elf, ELF_SECTION_READ_MAX, &total), 0);
	CHECK_U64(total, dbg);
	CHECK_INT(elf_dwarf_bytes(elf, dbg - 1, &total), -EFBIG);
	elf_end(elf);
out:
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	if (!realpath(getenv("STOKER_FIXTURES") ? getenv("STOKER_FIXTURES") : "build/fixtures",
		      fx) ||
	    !mkdtemp(dir)) {
		perror("fixtures or temporary directory");
		return 1;
	}
	RUN_TEST(test_cut_under_an_open_handle);
	RUN_TEST(test_claimed_sizes_refused_before_reading);
	RUN_TEST(test_header_claims_refused);
	RUN_TEST(test_dwarf_bytes);
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK_INT(system(cmd), 0);
	}
	return TEST_SUMMARY();
}

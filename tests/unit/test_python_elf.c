/* Unit tests of CPython detection in ELF files: Debian's stripped python3.11 and
 * libpython3.11.so against readelf's view of the same files (symbols, FDEs); other files are
 * not interpreters. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "object/python_elf.h"
#include "test.h"

#define PYTHON	  "/usr/bin/python3.11"
#define LIBPYTHON "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"

static int find(const char *path, struct python_elf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	Elf *elf;

	CHECK(fd >= 0);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	err = elf ? python_elf_find(elf, out) : -ENOEXEC;
	elf_end(elf);
	close(fd);
	return err;
}

/* Value and size of a .dynsym symbol according to readelf (0 when missing). */
static uint64_t readelf_sym(const char *path, const char *name, uint64_t *size)
{
	char cmd[512], line[512];
	unsigned long long v = 0, sz = 0;
	FILE *p;

	CHECK_PROGRAM("readelf");
	snprintf(cmd, sizeof(cmd), "readelf -W --dyn-syms '%s' | awk '$8 == \"%s\" {print $2, $3}'",
		 path, name);
	p = popen(cmd, "r");
	if (p && fgets(line, sizeof(line), p))
		sscanf(line, "%llx %lli", &v, &sz);
	if (p)
		pclose(p);
	if (size)
		*size = sz;
	return v;
}

/* Whether readelf lists an FDE covering exactly [start, end). */
static bool readelf_fde(const char *path, uint64_t start, uint64_t end)
{
	char cmd[512], line[512];
	bool found = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -wf '%s' | grep -c 'FDE .*pc=%016llx\\.\\.%016llx$'",
		 path, (unsigned long long)start, (unsigned long long)end);
	p = popen(cmd, "r");
	if (p && fgets(line, sizeof(line), p))
		found = atoi(line) == 1;
	if (p)
		pclose(p);
	return found;
}

static void test_debian_python(void)
{
	struct python_elf py;
	uint64_t size = 0;

	CHECK_INT(find(PYTHON, &py), 0);
	CHECK_U64(py.runtime, readelf_sym(PYTHON, "_PyRuntime", NULL));
	CHECK_U64(py.version, readelf_sym(PYTHON, "Py_Version", NULL));
	CHECK_U64(py.code_type, readelf_sym(PYTHON, "PyCode_Type", NULL));
	CHECK(py.code_type != 0);
	CHECK_U64(py.eval_start, readelf_sym(PYTHON, "_PyEval_EvalFrameDefault", &size));
	CHECK_U64(py.eval_end, py.eval_start + size);
	CHECK(py.runtime && size > 1000);
	/* stripped: the .cold part is an FDE of its own, outside the eval loop */
	fprintf(stderr, "  .cold part at 0x%llx-0x%llx\n", (unsigned long long)py.cold_start,
		(unsigned long long)py.cold_end);
	CHECK(py.cold_start && py.cold_end > py.cold_start);
	CHECK(py.cold_end <= py.eval_start || py.cold_start >= py.eval_end);
	CHECK(readelf_fde(PYTHON, py.cold_start, py.cold_end));
}

static void test_libpython(void)
{
	struct python_elf py;
	uint64_t size = 0;

	CHECK_INT(find(LIBPYTHON, &py), 0);
	CHECK_U64(py.runtime, readelf_sym(LIBPYTHON, "_PyRuntime", NULL));
	CHECK_U64(py.eval_start, readelf_sym(LIBPYTHON, "_PyEval_EvalFrameDefault", &size));
	CHECK_U64(py.eval_end, py.eval_start + size);
	/* Debian's libpython keeps its error paths inside the function: no .cold part */
	CHECK_U64(py.cold_start, 0);
}

/* glibc's TSD array offset from pthread_getspecific's code, against the disassembly:
 * "add $0xNN,%rax; shl $0x4,%rax" as objdump prints it */
static void test_libc_tsd(void)
{
	const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
	char cmd[512], line[256];
	unsigned n = 0;
	uint64_t fn = readelf_sym(libc, "pthread_getspecific@@GLIBC_2.34", NULL);
	struct libc_tsd t;
	Elf *elf;
	FILE *p;
	int fd;

	CHECK_PROGRAM("objdump");
	snprintf(cmd, sizeof(cmd), "objdump -d --start-address=0x%llx --stop-address=0x%llx %s",
		 (unsigned long long)fn, (unsigned long long)fn + 64, libc);
	p = popen(cmd, "r");
	/* "add $0xNN,%rax" directly followed by "shl $0x4,%rax" */
	while (p && fgets(line, sizeof(line), p)) {
		char *add = strstr(line, "add    $0x");
		unsigned v;

		if (n == 0 && add && strstr(line, ",%rax") && sscanf(add + 10, "%x", &v) == 1 &&
		    fgets(line, sizeof(line), p) && strstr(line, "shl    $0x4,%rax"))
			n = v;
	}
	if (p)
		pclose(p);
	CHECK(fn != 0 && n != 0);
	fd = open(libc, O_RDONLY | O_CLOEXEC);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	CHECK_INT(libc_tsd_find(elf, &t), 0);
	CHECK_INT(t.tsd_offset, n << 4);
	CHECK_INT(t.tsd_offset, 0x310); /* glibc 2.36, as FRAMES.md read it */
	elf_end(elf);
	close(fd);
	fd = open(PYTHON, O_RDONLY | O_CLOEXEC);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	CHECK_INT(libc_tsd_find(elf, &t), -ENOENT);
	elf_end(elf);
	close(fd);
}

static void test_not_python(void)
{
	struct python_elf py;

	CHECK_INT(find("/proc/self/exe", &py), -ENOENT);
	CHECK_INT(find("/lib/x86_64-linux-gnu/libc.so.6", &py), -ENOENT);
}

int main(void)
{
	RUN_TEST(test_debian_python);
	RUN_TEST(test_libpython);
	RUN_TEST(test_libc_tsd);
	RUN_TEST(test_not_python);
	return TEST_SUMMARY();
}

/* Unit tests of JIT perf map parsing: names with spaces, 0x prefixes, overlaps where the later
 * line wins, malformed lines, caps on entries and bytes, files, and which files are read at all
 * (perf's rule: a regular file of the process's user, never through a link), appended lines read
 * incrementally, rewritten files read again, and the byte budgets charged before storing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proc/perf_map.h"
#include "test.h"

static const char *name_at(struct perf_map *pm, uint64_t a)
{
	const struct perf_map_entry *e = perf_map__lookup(pm, a);

	return e ? e->name : "-";
}

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
	const char *t = "1000 100 first\n"
			"0x2000 0x10 LazyCompile:~foo bar.js:12\r\n"
			"0X3000 20 void Foo::bar(int, char const*)\n"
			"4000\t8\tspaced\tby tabs  \n"
			"7fff00000000 1000 high one";
	struct perf_map *pm = perf_map__parse(t, strlen(t), 0);

	CHECK(pm != NULL);
	if (!pm)
		return;
	CHECK_INT(perf_map__count(pm), 5);
	CHECK_STR(name_at(pm, 0x1000), "first"); /* exact start */
	CHECK_STR(name_at(pm, 0x1080), "first"); /* middle */
	CHECK_STR(name_at(pm, 0x10ff), "first"); /* last byte */
	CHECK_STR(name_at(pm, 0x1100), "-");	 /* end is exclusive */
	CHECK_STR(name_at(pm, 0xfff), "-");	 /* before the first */
	CHECK_STR(name_at(pm, 0), "-");
	CHECK_STR(name_at(pm, 0x2001), "LazyCompile:~foo bar.js:12");
	CHECK_STR(name_at(pm, 0x301f), "void Foo::bar(int, char const*)");
	CHECK_STR(name_at(pm, 0x4007), "spaced\tby tabs");
	CHECK_STR(name_at(pm, 0x7fff00000fff), "high one"); /* no final newline */
	CHECK_STR(name_at(pm, 0x7fff00001000), "-");	    /* past the end */
	CHECK_STR(name_at(pm, UINT64_MAX), "-");
	{
		const struct perf_map_entry *e = perf_map__lookup(pm, 0x2008);

		CHECK_U64(e ? e->start : 0, 0x2000);
		CHECK_U64(e ? e->size : 0, 0x10);
	}
	perf_map__free(pm);
}

static void test_overlaps(void)
{
	const char *t = "1000 100 old func\n"
			"1050 10 new one\n"
			"1000 20 newest\n"
			"2000 100 replaced\n"
			"2000 100 replacement\n" /* same range rewritten: later wins */
			"3000 10 inner\n"
			"2ff0 100 outer later\n"; /* covers an earlier one completely */
	struct perf_map *pm = perf_map__parse(t, strlen(t), 0);

	CHECK(pm != NULL);
	if (!pm)
		return;
	CHECK_STR(name_at(pm, 0x1000), "newest");
	CHECK_STR(name_at(pm, 0x101f), "newest");
	CHECK_STR(name_at(pm, 0x1020), "old func");
	CHECK_STR(name_at(pm, 0x104f), "old func");
	CHECK_STR(name_at(pm, 0x1050), "new one");
	CHECK_STR(name_at(pm, 0x105f), "new one");
	CHECK_STR(name_at(pm, 0x1060), "old func"); /* the earlier line shows again past it */
	CHECK_STR(name_at(pm, 0x10ff), "old func");
	CHECK_STR(name_at(pm, 0x1100), "-");
	CHECK_STR(name_at(pm, 0x2000), "replacement");
	CHECK_STR(name_at(pm, 0x20ff), "replacement");
	CHECK_STR(name_at(pm, 0x2ff0), "outer later");
	CHECK_STR(name_at(pm, 0x3005), "outer later");
	CHECK_STR(name_at(pm, 0x30ef), "outer later");
	CHECK_STR(name_at(pm, 0x30f0), "-");
	{
		/* the pieces of one line merge back: old func shows as [0x1020,0x1050) */
		const struct perf_map_entry *e = perf_map__lookup(pm, 0x1030);

		CHECK_U64(e ? e->start : 0, 0x1020);
		CHECK_U64(e ? e->size : 0, 0x30);
		e = perf_map__lookup(pm, 0x2ff0);
		CHECK_U64(e ? e->start : 0, 0x2ff0);
		CHECK_U64(e ? e->size : 0, 0x100);
	}
	perf_map__free(pm);
}

static void test_malformed(void)
{
	const char t[] = "zz junk\n"
			 "\n"
			 "1000\n"
			 "1000 10\n"
			 "1000 10 \n"
			 "1000x 10 bad start\n"
			 "1000 1g bad size\n"
			 "3000 0 zero size\n"
			 "ffffffffffffff00 200 wraps\n"
			 "11112222333344445 10 too many digits\n"
			 "\0\0 binary\n"
			 "5000 10 good\n";
	struct perf_map *pm = perf_map__parse(t, sizeof(t) - 1, 0);

	CHECK(pm != NULL);
	if (!pm)
		return;
	CHECK_INT(perf_map__count(pm), 1);
	CHECK_STR(name_at(pm, 0x5005), "good");
	CHECK_STR(name_at(pm, 0x1005), "-");
	CHECK_STR(name_at(pm, 0x3000), "-");
	perf_map__free(pm);
	pm = perf_map__parse("", 0, 0);
	CHECK(pm != NULL && perf_map__count(pm) == 0);
	if (pm)
		CHECK(perf_map__lookup(pm, 0x1000) == NULL);
	perf_map__free(pm);
	pm = perf_map__parse(NULL, 0, 0);
	CHECK(pm != NULL && perf_map__count(pm) == 0);
	perf_map__free(pm);
	CHECK(perf_map__lookup(NULL, 1) == NULL);
	CHECK_INT(perf_map__count(NULL), 0);
	perf_map__free(NULL);
}

static void test_long_name(void)
{
	char buf[4096];
	struct perf_map *pm;
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "1000 10 ");
	memset(buf + n, 'x', 3000);
	n += 3000;
	pm = perf_map__parse(buf, n, 0);
	CHECK(pm != NULL);
	CHECK_INT(pm ? strlen(name_at(pm, 0x1000)) : 0, 1024); /* cut, bounded */
	perf_map__free(pm);
	/* cut at a UTF-8 character boundary: "é" is 2 bytes, the 1024th byte starts one */
	n = (size_t)snprintf(buf, sizeof(buf), "1000 10 ");
	memset(buf + n, 'y', 1023);
	n += 1023;
	memcpy(buf + n, "\xc3\xa9zz", 4);
	n += 4;
	pm = perf_map__parse(buf, n, 0);
	CHECK_INT(pm ? strlen(name_at(pm, 0x1000)) : 0, 1023);
	perf_map__free(pm);
}

static void test_caps_and_files(void)
{
	char path[] = "/tmp/stoker-perfmap-XXXXXX", path2[] = "/tmp/stoker-perfmap-XXXXXX";
	char big[64 * 40];
	struct perf_map *pm;
	size_t n = 0;

	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%x 10 fn_%d\n", 0x1000 + i * 0x10,
				      i);
	pm = perf_map__parse(big, n, 10);
	CHECK(pm && perf_map__count(pm) == 10); /* the first 10 lines */
	CHECK_STR(pm ? name_at(pm, 0x1095) : NULL, "fn_9");
	CHECK_STR(pm ? name_at(pm, 0x10a5) : NULL, "-");
	perf_map__free(pm);
	CHECK(write_tmp(path, big, n) == 0);
	pm = perf_map__load(path, 0, 0);
	CHECK(pm && perf_map__count(pm) == 64);
	CHECK_STR(pm ? name_at(pm, 0x1015) : NULL, "fn_1");
	CHECK_STR(pm ? name_at(pm, 0x13f5) : NULL, "fn_63");
	perf_map__free(pm);
	/* byte cap: lines 0..9 are 13 bytes, so 100 bytes end inside line 7, which is dropped
	 * rather than parsed cut ("1070 1" would be a wrong range) */
	pm = perf_map__load(path, 0, 100);
	CHECK(pm && perf_map__count(pm) == 7);
	CHECK_STR(pm ? name_at(pm, 0x1065) : NULL, "fn_6");
	CHECK_STR(pm ? name_at(pm, 0x1070) : NULL, "-");
	perf_map__free(pm);
	pm = perf_map__load(path, 5, 0);
	CHECK(pm && perf_map__count(pm) == 5);
	perf_map__free(pm);
	unlink(path);
	/* no final newline in a file that fits: the last line counts */
	CHECK(write_tmp(path2, "1000 10 a\n2000 10 tail", 22) == 0);
	pm = perf_map__load(path2, 0, 0);
	CHECK_STR(pm ? name_at(pm, 0x2001) : NULL, "tail");
	perf_map__free(pm);
	unlink(path2);
	errno = 0;
	CHECK(perf_map__load("/nonexistent/perf-1.map", 0, 0) == NULL);
	CHECK_INT(errno, ENOENT);
	errno = 0;
	CHECK(perf_map__load("/tmp", 0, 0) == NULL); /* not a regular file */
	CHECK_INT(errno, EINVAL);
}

static void test_owner_check(void)
{
	struct stat st = { .st_mode = S_IFREG | 0644, .st_uid = 1000 };

	CHECK_INT(perf_map_check(&st, 1000), 0);
	CHECK_INT(perf_map_check(&st, 0), -EPERM); /* a user's file for a root process */
	CHECK_INT(perf_map_check(&st, 1001), -EPERM);
	st.st_uid = 0;
	CHECK_INT(perf_map_check(&st, 1000), -EPERM); /* root's file for a user's process */
	CHECK_INT(perf_map_check(&st, 0), 0);
	st.st_mode = S_IFIFO | 0644;
	CHECK_INT(perf_map_check(&st, 0), -EINVAL);
	st.st_mode = S_IFLNK | 0777;
	CHECK_INT(perf_map_check(&st, 0), -EINVAL);
	st.st_mode = S_IFCHR | 0644;
	CHECK_INT(perf_map_check(&st, 0), -EINVAL);
}

/* This process's own /tmp/perf-PID.map through perf_map_open: read when it is a file of ours,
 * refused as a symbolic link (to a file we may read) or a FIFO, which must not block. */
static void test_open_own_map(void)
{
	char path[64], target[] = "/tmp/stoker-perfmap-XXXXXX";
	const char *text = "1000 10 own_fn\n";
	struct perf_map *pm;
	struct stat st;
	uid_t euid = (uid_t)-1;
	int fd, pid = getpid();

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", pid);
	unlink(path);
	CHECK_INT(perf_map_open(pid, pid, &st, &euid), -ENOENT);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	if (fd >= 0)
		close(fd);
	fd = perf_map_open(pid, pid, &st, &euid);
	CHECK(fd >= 0);
	CHECK_INT(euid, geteuid());
	pm = fd >= 0 ? perf_map__load_fd(fd, 0, 0) : NULL;
	CHECK_STR(pm ? name_at(pm, 0x1008) : NULL, "own_fn");
	perf_map__free(pm);
	if (fd >= 0)
		close(fd);
	unlink(path);

	CHECK(write_tmp(target, text, strlen(text)) == 0);
	CHECK(symlink(target, path) == 0);
	CHECK_INT(perf_map_open(pid, pid, &st, &euid), -ELOOP);
	errno = 0;
	CHECK(perf_map__load(path, 0, 0) == NULL);
	CHECK_INT(errno, ELOOP);
	unlink(path);
	unlink(target);

	CHECK(mkfifo(path, 0644) == 0);
	CHECK_INT(perf_map_open(pid, pid, &st, &euid), -EINVAL);
	unlink(path);
}

static int append(int fd, const char *s)
{
	return write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

/* Appended lines are read from where the last read ended, a line still being written waits for
 * its newline, and later lines still win over the ranges read before. */
static void test_incremental(void)
{
	char path[] = "/tmp/stoker-perfmap-XXXXXX";
	struct perf_map_budget b = { 0 };
	struct perf_map *pm = perf_map__new(&b, 0);
	int fd = mkstemp(path);

	CHECK(pm != NULL && fd >= 0);
	if (!pm || fd < 0)
		goto out;
	CHECK(append(fd, "1000 100 first\n2000 10 second\n") == 0);
	CHECK_INT(perf_map__read(pm, fd), 2);
	CHECK_U64(b.reads, 1);
	CHECK_STR(name_at(pm, 0x1050), "first");
	CHECK_INT(perf_map__read(pm, fd), 0); /* nothing new: nothing read */
	CHECK_U64(b.reads + b.rereads, 1);
	CHECK(append(fd, "3000 10 third\n1040 20 over first\n4000 10 half wr") == 0);
	CHECK_INT(perf_map__read(pm, fd), 2);
	CHECK_U64(b.rereads, 1);
	CHECK_U64(b.reads, 1); /* not read again from the start */
	CHECK_STR(name_at(pm, 0x3005), "third");
	CHECK_STR(name_at(pm, 0x103f), "first");
	CHECK_STR(name_at(pm, 0x1040), "over first");
	CHECK_STR(name_at(pm, 0x105f), "over first");
	CHECK_STR(name_at(pm, 0x1060), "first");
	CHECK_STR(name_at(pm, 0x2005), "second");
	CHECK_STR(name_at(pm, 0x4005), "-"); /* no newline yet */
	CHECK(append(fd, "itten\n") == 0);
	CHECK_INT(perf_map__read(pm, fd), 1);
	CHECK_STR(name_at(pm, 0x4005), "half written");
	CHECK_INT(perf_map__count(pm), 6);
	CHECK_U64(b.entries, 6);
	CHECK(b.bytes > 0 && b.bytes == perf_map__bytes(pm));
out:
	perf_map__free(pm);
	CHECK_U64(b.bytes, 0); /* everything given back */
	CHECK_U64(b.entries, 0);
	if (fd >= 0)
		close(fd);
	unlink(path);
}

/* A truncated, rewritten or replaced file is read again from its start: nothing of the old one
 * stays. */
static void test_rewritten(void)
{
	char path[] = "/tmp/stoker-perfmap-XXXXXX";
	struct perf_map_budget b = { 0 };
	struct perf_map *pm = perf_map__new(&b, 0);
	int fd = mkstemp(path), fd2 = -1;

	CHECK(pm != NULL && fd >= 0);
	if (!pm || fd < 0)
		goto out;
	CHECK(append(fd, "1000 10 old_a\n2000 10 old_b\n") == 0);
	CHECK_INT(perf_map__read(pm, fd), 2);
	/* truncated and shorter: size below the offset */
	CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
	CHECK(append(fd, "5000 10 new\n") == 0);
	CHECK_INT(perf_map__read(pm, fd), 1);
	CHECK_U64(b.reads, 2);
	CHECK_STR(name_at(pm, 0x1005), "-");
	CHECK_STR(name_at(pm, 0x5005), "new");
	/* rewritten in place, longer than before (HotSpot's Compiler.perfmap): a new beginning */
	CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
	CHECK(append(fd, "6000 10 rewritten_one\n7000 10 rewritten_two\n") == 0);
	CHECK_INT(perf_map__read(pm, fd), 2);
	CHECK_U64(b.reads, 3);
	CHECK_STR(name_at(pm, 0x5005), "-");
	CHECK_STR(name_at(pm, 0x7005), "rewritten_two");
	CHECK_INT(perf_map__count(pm), 2);
	/* another file (another inode) at the same path */
	unlink(path);
	fd2 = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHECK(fd2 >= 0 &&
	      append(fd2, "6000 10 rewritten_one\n7000 10 rewritten_two\n8000 1 x\n") == 0);
	CHECK_INT(fd2 >= 0 ? perf_map__read(pm, fd2) : -1, 3);
	CHECK_U64(b.reads, 4);
	CHECK_U64(b.entries, 3);
out:
	perf_map__free(pm);
	CHECK_U64(b.bytes, 0);
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	unlink(path);
}

/* The per-map cap and the shared budget are charged before a line is stored: a map stops at
 * whichever is reached first, retries from there, and a freed map makes room for another. */
static void test_budget(void)
{
	char path[] = "/tmp/stoker-perfmap-XXXXXX", path2[] = "/tmp/stoker-perfmap-XXXXXX";
	struct perf_map_budget b = { .max_bytes = 4096, .max_map_bytes = 3000 };
	struct perf_map *pm = perf_map__new(&b, 0), *pm2 = perf_map__new(&b, 0);
	int fd = mkstemp(path), fd2 = mkstemp(path2), n;
	char line[64];

	CHECK(pm && pm2 && fd >= 0 && fd2 >= 0);
	if (!pm || !pm2 || fd < 0 || fd2 < 0)
		goto out;
	/* each line costs its name (6 bytes + NUL) and 32 bytes of ranges: 39 bytes */
	for (int i = 0; i < 1000; i++) {
		snprintf(line, sizeof(line), "%x 10 fn_%03d\n", 0x10000 + i * 0x10, i);
		CHECK(append(fd, line) == 0);
		CHECK(append(fd2, line) == 0);
	}
	n = perf_map__read(pm, fd);
	CHECK_INT(n, 3000 / 39);
	CHECK(perf_map__bytes(pm) <= 3000);
	CHECK_U64(b.refused, 1);
	CHECK_STR(name_at(pm, 0x10000 + (uint64_t)(n - 1) * 0x10), "fn_075");
	CHECK_STR(name_at(pm, 0x10000 + (uint64_t)n * 0x10), "-");
	/* at its own cap: not read again (it could never take a line more) */
	CHECK_INT(perf_map__read(pm, fd), 0);
	CHECK_U64(b.rereads, 0);
	/* the other map gets what the shared budget has left */
	n = perf_map__read(pm2, fd2);
	CHECK_INT(n, (4096 - 76 * 39) / 39);
	CHECK(b.bytes <= 4096);
	CHECK_U64(b.refused, 2);
	/* retried: still no room, counted once */
	CHECK_INT(perf_map__read(pm2, fd2), 0);
	CHECK_U64(b.refused, 2);
	perf_map__free(pm);
	pm = NULL;
	n = perf_map__read(pm2, fd2);
	CHECK_INT(n, 76 - (4096 - 76 * 39) / 39);
	CHECK_STR(name_at(pm2, 0x10000 + 75 * 0x10), "fn_075");
	CHECK(b.bytes <= 3000);
out:
	perf_map__free(pm);
	perf_map__free(pm2);
	CHECK_U64(b.bytes, 0);
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	unlink(path);
	unlink(path2);
}

/* A file far over the cap is not read past it: what is held stays within the cap. */
static void test_big_file(void)
{
	char path[] = "/tmp/stoker-perfmap-XXXXXX";
	struct perf_map_budget b = { .max_map_bytes = 1 << 20 };
	struct perf_map *pm = perf_map__new(&b, 0);
	int fd = mkstemp(path), n;
	FILE *f = fd >= 0 ? fdopen(dup(fd), "w") : NULL;

	CHECK(pm && f);
	if (!pm || !f)
		goto out;
	for (int i = 0; i < 200000; i++)
		fprintf(f, "%x 10 LazyCompile:~some_function_name_%d file:///srv/app.js:1\n",
			0x100000 + i * 0x10, i);
	fclose(f);
	n = perf_map__read(pm, fd);
	CHECK(n > 1000 && n < 20000);
	CHECK(perf_map__bytes(pm) <= 1 << 20);
	CHECK_U64(b.refused, 1);
	CHECK_U64(b.reads, 1);
out:
	perf_map__free(pm);
	if (fd >= 0)
		close(fd);
	unlink(path);
}

/* Reading a map in pieces names every address as reading it whole does: the merge of appended
 * lines over the ranges read before keeps "the later line wins". Random overlapping lines. */
static void test_incremental_equals_whole(void)
{
	char path[] = "/tmp/stoker-perfmap-XXXXXX";
	static char text[64 * 400];
	uint32_t seed = 12345;
	size_t len = 0;
	int fd = mkstemp(path), bad = 0;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	for (int round = 0; round < 20; round++) {
		struct perf_map *whole, *inc = perf_map__new(NULL, 0);
		size_t cut = 0;

		len = 0;
		CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
		for (int i = 0; i < 300; i++) {
			uint64_t start, size;

			seed = seed * 1103515245 + 12345;
			start = 0x1000 + (seed >> 8) % 0x800;
			seed = seed * 1103515245 + 12345;
			size = 1 + (seed >> 8) % 0x100;
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%llx %llx f%d\n",
						(unsigned long long)start, (unsigned long long)size,
						i);
		}
		whole = perf_map__parse(text, len, 0);
		/* appended in a few pieces at line ends, read after each */
		while (cut < len) {
			size_t next = cut + 1 + (seed = seed * 1103515245 + 12345) % 1500;
			const char *nl;

			if (next >= len)
				next = len;
			else if ((nl = memchr(text + next, '\n', len - next)))
				next = (size_t)(nl - text) + 1;
			else
				next = len;
			CHECK(write(fd, text + cut, next - cut) == (ssize_t)(next - cut));
			CHECK(perf_map__read(inc, fd) >= 0);
			cut = next;
		}
		for (uint64_t a = 0xff0; a < 0x1920; a++)
			if (strcmp(name_at(whole, a), name_at(inc, a)))
				bad++;
		perf_map__free(whole);
		perf_map__free(inc);
	}
	CHECK_INT(bad, 0);
	close(fd);
	unlink(path);
}

/* A file of no lines at all (a 1 GiB sparse hole) is gone through a bounded stretch per read and
 * in all, never to its end. */
static void test_no_lines(void)
{
	char path[] = "/tmp/stoker-perfmap-XXXXXX";
	struct perf_map_budget b = { .max_map_bytes = 1 << 20 };
	struct perf_map *pm = perf_map__new(&b, 0);
	int fd = mkstemp(path);
	struct timespec t0, t1;

	CHECK(pm && fd >= 0 && ftruncate(fd, 1ull << 30) == 0);
	if (!pm || fd < 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 10; i++)
		CHECK_INT(perf_map__read(pm, fd), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 2); /* 4 MiB gone through, not 1 GiB */
	CHECK_U64(b.refused, 1);
	CHECK_U64(b.reads + b.rereads, 1); /* given up on, not read again */
	/* a rewrite starts over */
	CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, "1000 10 fresh\n", 14, 0) == 14);
	CHECK_INT(perf_map__read(pm, fd), 1);
	CHECK_STR(name_at(pm, 0x1001), "fresh");
out:
	perf_map__free(pm);
	if (fd >= 0)
		close(fd);
	unlink(path);
}

int main(void)
{
	RUN_TEST(test_parse_and_lookup);
	RUN_TEST(test_overlaps);
	RUN_TEST(test_malformed);
	RUN_TEST(test_long_name);
	RUN_TEST(test_caps_and_files);
	RUN_TEST(test_owner_check);
	RUN_TEST(test_open_own_map);
	RUN_TEST(test_incremental);
	RUN_TEST(test_rewritten);
	RUN_TEST(test_budget);
	RUN_TEST(test_big_file);
	RUN_TEST(test_incremental_equals_whole);
	RUN_TEST(test_no_lines);
	return TEST_SUMMARY();
}

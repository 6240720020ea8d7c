/* Unit tests of util/fileio: capped whole-file reads, small reads, complete writes and atomic
 * file writes that a planted symlink cannot redirect. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "export/output_local.h"
#include "profile/pprof_encode.h"
#include "profile/profile_builder.h"
#include "util/fileio.h"
#include "test.h"

static char dir[] = "/tmp/stoker-test-fileio-XXXXXX";
static const char *const names[] = { "ten",    "empty",	 "lines",      "small",
				     "small2", "victim", "out.folded", "out.pb" };

static const char *write_tmp(const char *name, const char *data, size_t len)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT(fd_write_all(fd, data, len), 0);
		close(fd);
	}
	return path;
}

static void test_capped_under_at_and_over(void)
{
	const char *p = write_tmp("ten", "0123456789", 10);
	char *buf = (char *)1;
	size_t len = 99;

	CHECK_INT(read_file_capped(p, 11, 0, &buf, &len), 0);
	CHECK_INT(len, 10);
	CHECK_STR(buf, "0123456789");
	free(buf);
	/* exactly at the cap is not over it */
	CHECK_INT(read_file_capped(p, 10, 0, &buf, &len), 0);
	CHECK_INT(len, 10);
	CHECK_STR(buf, "0123456789");
	free(buf);
	/* one byte over: refused, nothing handed back */
	buf = (char *)1;
	CHECK_INT(read_file_capped(p, 9, 0, &buf, &len), -EFBIG);
	CHECK(buf == NULL);
	CHECK_INT(len, 0);
	CHECK_INT(read_file_capped(p, 0, 0, &buf, &len), -EFBIG);
	CHECK(buf == NULL);
}

static void test_capped_empty_and_missing(void)
{
	const char *p = write_tmp("empty", "", 0);
	char *buf = NULL;
	size_t len = 99;

	CHECK_INT(read_file_capped(p, 100, 0, &buf, &len), 0);
	CHECK(buf != NULL);
	CHECK_INT(len, 0);
	if (buf)
		CHECK_INT(buf[0], '\0');
	free(buf);
	CHECK_INT(read_file_capped("/nonexistent/stoker", 100, 0, &buf, &len), -ENOENT);
	CHECK(buf == NULL);
}

static void test_capped_truncate_lines(void)
{
	const char *p = write_tmp("lines", "aaa\nbbb\nccc\n", 12);
	char *buf = NULL;
	size_t len = 0;

	/* the cap falls inside "ccc": the complete lines before it stay */
	CHECK_INT(read_file_capped(p, 10, READ_CAPPED_TRUNCATE_LINES, &buf, &len), 1);
	CHECK_INT(len, 8);
	CHECK_STR(buf, "aaa\nbbb\n");
	free(buf);
	/* at the cap nothing is cut */
	CHECK_INT(read_file_capped(p, 12, READ_CAPPED_TRUNCATE_LINES, &buf, &len), 0);
	CHECK_STR(buf, "aaa\nbbb\nccc\n");
	free(buf);
	/* no complete line within the cap: empty, still reported as cut */
	CHECK_INT(read_file_capped(p, 2, READ_CAPPED_TRUNCATE_LINES, &buf, &len), 1);
	CHECK_INT(len, 0);
	free(buf);
}

/* A pipe hands data over in pieces and reports no size: the reader must keep going. */
static void test_capped_short_reads_from_pipe(void)
{
	char big[40000], *buf = NULL;
	int fds[2];
	size_t len = 0;
	pid_t pid;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	CHECK_INT(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		/* in pieces of 1000 so the reader sees many short reads */
		for (size_t off = 0; off < sizeof(big); off += 1000) {
			if (fd_write_all(fds[1], big + off, 1000))
				_exit(1);
			usleep(100);
		}
		_exit(0);
	}
	close(fds[1]);
	CHECK_INT(fd_read_capped(fds[0], sizeof(big), 0, &buf, &len), 0);
	CHECK_INT(len, sizeof(big));
	CHECK(buf && memcmp(buf, big, sizeof(big)) == 0 && buf[len] == '\0');
	free(buf);
	close(fds[0]);
	waitpid(pid, NULL, 0);
}

/* Larger than the first buffer of a sizeless read: growth keeps every byte. */
static void test_capped_proc_file(void)
{
	char *buf = NULL, small[64];
	size_t len = 0;
	ssize_t n;

	CHECK_INT(read_file_capped("/proc/self/maps", 1 << 24, 0, &buf, &len), 0);
	CHECK(len > 0 && strlen(buf) == len);
	CHECK(buf && buf[len - 1] == '\n');
	free(buf);
	n = read_small("/proc/self/stat", small, sizeof(small));
	CHECK_INT(n, sizeof(small) - 1);
	CHECK_INT(strlen(small), sizeof(small) - 1);
}

static void test_read_small(void)
{
	const char *p = write_tmp("small", "12345\n", 6);
	char buf[4];

	CHECK_INT(read_small(p, buf, sizeof(buf)), 3);
	CHECK_STR(buf, "123");
	p = write_tmp("small2", "", 0);
	CHECK_INT(read_small(p, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
	CHECK_INT(read_small("/nonexistent/stoker", buf, sizeof(buf)), -ENOENT);
	CHECK_STR(buf, "");
}

static int victim_intact(const char *victim)
{
	char *buf = NULL;
	size_t len = 0;
	int ok = read_file_capped(victim, 100, 0, &buf, &len) == 0 && len == 7 &&
		 memcmp(buf, "victim\n", 7) == 0;

	free(buf);
	return ok;
}

/* Another user plants a symlink where the temporary file of --output would go (the name the
 * agent used to derive from its pid): the write must neither follow it nor fail. */
static void test_output_ignores_planted_tmp_symlink(void)
{
	struct pprof_meta meta = { .period_ns = 10000000, .time_nanos = 1, .duration_nanos = 1 };
	const char *victim = write_tmp("victim", "victim\n", 7);
	char out[256], tmp[300], vpath[256], *buf = NULL;
	struct profile_builder pb;
	size_t len = 0;

	snprintf(vpath, sizeof(vpath), "%s", victim);
	CHECK_INT(profile_builder__init(&pb, NULL), 0);
	for (int f = 0; f < 2; f++) {
		struct output_spec spec = { out, f ? OUTPUT_PPROF : OUTPUT_FOLDED };
		struct stat st;

		snprintf(out, sizeof(out), "%s/%s", dir, f ? "out.pb" : "out.folded");
		snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)getpid());
		CHECK_INT(symlink(vpath, tmp), 0);
		CHECK_INT(output_local_write(&spec, &pb, &meta, "t"), 0);
		CHECK(victim_intact(vpath));
		CHECK(lstat(tmp, &st) == 0 && S_ISLNK(st.st_mode)); /* left alone */
		CHECK(lstat(out, &st) == 0 && S_ISREG(st.st_mode));
		unlink(tmp);
		/* the output name itself a symlink: replaced, never written through */
		unlink(out);
		CHECK_INT(symlink(vpath, out), 0);
		CHECK_INT(output_local_write(&spec, &pb, &meta, "t"), 0);
		CHECK(victim_intact(vpath));
		CHECK(lstat(out, &st) == 0 && S_ISREG(st.st_mode));
		if (f) {
			CHECK_INT(read_file_capped(out, 1 << 20, 0, &buf, &len), 0);
			CHECK(len > 0);
			free(buf);
		}
	}
	profile_builder__destroy(&pb);
}

static int fill_fail(int fd, void *ctx)
{
	CHECK_INT(fd_write_all(fd, "partial", 7), 0);
	return -ENOSPC;
}

static int fill_new(int fd, void *ctx)
{
	return fd_write_all(fd, "new\n", 4);
}

/* A failed fill leaves the old file and no temporary behind; a good one replaces it 0600. */
static void test_write_file_atomic(void)
{
	const char *victim = write_tmp("victim", "victim\n", 7);
	char vpath[256], *buf = NULL;
	size_t len = 0, nent = 0;
	struct stat st;
	DIR *d;

	snprintf(vpath, sizeof(vpath), "%s", victim);
	CHECK_INT(write_path_atomic(vpath, 0600, fill_fail, NULL), -ENOSPC);
	CHECK(victim_intact(vpath));
	d = opendir(dir);
	CHECK(d != NULL);
	for (struct dirent *de; d && (de = readdir(d));)
		nent += !!strstr(de->d_name, ".tmp.");
	if (d)
		closedir(d);
	CHECK_INT(nent, 0);
	CHECK_INT(write_path_atomic(vpath, 0600, fill_new, NULL), 0);
	CHECK_INT(read_file_capped(vpath, 100, 0, &buf, &len), 0);
	CHECK_STR(buf, "new\n");
	free(buf);
	CHECK(stat(vpath, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_INT(write_file_atomic(AT_FDCWD, "a/b", 0600, fill_new, NULL), -EINVAL);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN_TEST(test_capped_under_at_and_over);
	RUN_TEST(test_capped_empty_and_missing);
	RUN_TEST(test_capped_truncate_lines);
	RUN_TEST(test_capped_short_reads_from_pipe);
	RUN_TEST(test_capped_proc_file);
	RUN_TEST(test_read_small);
	RUN_TEST(test_output_ignores_planted_tmp_symlink);
	RUN_TEST(test_write_file_atomic);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[256];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return TEST_SUMMARY();
}

/* Unit tests of util/fileio: capped whole-file reads, line reads in a bounded buffer, small
 * reads, complete writes and atomic file writes that a planted symlink cannot redirect. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
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

/* What fd_read_lines passed: the lines joined by '\n', each ended by one. */
struct lines_seen {
	char *text;
	size_t len, cap;
	int calls, stop_at;
};

static int collect_line(void *ctx, const char *line, size_t len)
{
	struct lines_seen *ls = ctx;

	if (++ls->calls == ls->stop_at)
		return -ECANCELED;
	if (ls->len + len + 1 > ls->cap) {
		ls->cap = (ls->len + len + 1) * 2;
		ls->text = realloc(ls->text, ls->cap);
		if (!ls->text)
			return -ENOMEM;
	}
	memcpy(ls->text + ls->len, line, len);
	ls->len += len;
	ls->text[ls->len++] = '\n';
	return 0;
}

/* Reads the file at p with fd_read_lines; ls gets the lines, the return value is the reader's. */
static int read_lines_path(const char *p, size_t max, size_t size, size_t line_max,
			   struct lines_seen *ls, size_t *long_lines)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = fd_read_lines(fd, max, size, line_max, collect_line, ls, long_lines);
	close(fd);
	return err;
}

static bool seen_is(struct lines_seen *ls, const char *want)
{
	bool ok = ls->len == strlen(want) && (!ls->len || !memcmp(ls->text, want, ls->len));

	if (!ok)
		fprintf(stderr, "  lines seen: \"%.*s\"\n", (int)ls->len, ls->text ? ls->text : "");
	free(ls->text);
	memset(ls, 0, sizeof(*ls));
	return ok;
}

static void test_lines_basic(void)
{
	const char *p = write_tmp("lines", "aaa\n\nbb\r\n\0c\nlast", 16);
	struct lines_seen ls = { 0 };
	size_t nlong = 99;

	CHECK_INT(read_lines_path(p, 100, 64, 32, &ls, &nlong), 0);
	CHECK_INT(nlong, 0);
	CHECK_INT(ls.calls, 5);
	/* a NUL is a byte like any other */
	CHECK(ls.len == 17 && !memcmp(ls.text, "aaa\n\nbb\r\n\0c\nlast\n", 17));
	free(ls.text);
	memset(&ls, 0, sizeof(ls));
	p = write_tmp("empty", "", 0);
	CHECK_INT(read_lines_path(p, 100, 64, 32, &ls, NULL), 0);
	CHECK_INT(ls.calls, 0);
	CHECK(seen_is(&ls, ""));
	/* a newline at the very end adds no empty line */
	p = write_tmp("lines", "a\nb\n", 4);
	CHECK_INT(read_lines_path(p, 100, 64, 32, &ls, NULL), 0);
	CHECK(seen_is(&ls, "a\nb\n"));
	/* a buffer no longer than the longest line is refused */
	CHECK_INT(read_lines_path(p, 100, 32, 32, &ls, NULL), -EINVAL);
	CHECK_INT(read_lines_path("/nonexistent/stoker", 100, 64, 32, &ls, NULL), -ENOENT);
	CHECK_INT(ls.calls, 0);
}

/* Every line length up to line_max, so line ends fall at every offset of the buffer. */
static void test_lines_buffer_boundaries(void)
{
	static const size_t sizes[] = { 2, 3, 8, 13, 64, 65536 };
	struct lines_seen ls = { 0 };
	size_t len = 0, nlong;
	char *text = malloc(300000);
	const char *p;

	CHECK(text != NULL);
	if (!text)
		return;
	for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		size_t size = sizes[z], line_max = size - 1;

		len = 0;
		for (size_t i = 0; len + line_max + 1 < 300000 && i < 3000; i++) {
			size_t ll = (i * 7919) % (line_max + 1);

			for (size_t j = 0; j < ll; j++)
				text[len++] = (char)('a' + (i + j) % 26);
			text[len++] = '\n';
		}
		text[len] = '\0';
		p = write_tmp("lines", text, len);
		CHECK_INT(read_lines_path(p, len, size, line_max, &ls, &nlong), 0);
		CHECK_INT(nlong, 0);
		CHECK(seen_is(&ls, text));
		/* the same without the last newline: the last line is still whole */
		p = write_tmp("lines", text, len - 1);
		CHECK_INT(read_lines_path(p, len, size, line_max, &ls, &nlong), 0);
		CHECK(seen_is(&ls, text));
	}
	free(text);
}

static void test_lines_too_long(void)
{
	char big[200];
	struct lines_seen ls = { 0 };
	size_t nlong = 0;
	const char *p;

	p = write_tmp("lines", "ab\nabcdefghijklmnop\ncd\nabcd\nabcde", 33);
	CHECK_INT(read_lines_path(p, 100, 8, 4, &ls, &nlong), 0);
	CHECK_INT(nlong, 2); /* the one over several buffers, and the last one */
	CHECK(seen_is(&ls, "ab\ncd\nabcd\n"));
	/* one that exactly fills the buffer before its newline, then one in the next read */
	memset(big, 'x', sizeof(big));
	big[8] = '\n';
	big[12] = '\n';
	p = write_tmp("lines", big, 14);
	CHECK_INT(read_lines_path(p, 100, 8, 7, &ls, &nlong), 0);
	CHECK_INT(nlong, 1);
	CHECK(seen_is(&ls, "xxx\nx\n"));
}

static void test_lines_cap(void)
{
	const char *p = write_tmp("lines", "aaa\nbbb\nccc\n", 12);
	struct lines_seen ls = { 0 };

	/* as READ_CAPPED_TRUNCATE_LINES: the lines complete within the cap, 1 when cut */
	CHECK_INT(read_lines_path(p, 10, 64, 32, &ls, NULL), 1);
	CHECK(seen_is(&ls, "aaa\nbbb\n"));
	CHECK_INT(read_lines_path(p, 11, 64, 32, &ls, NULL), 1); /* cut before its newline */
	CHECK(seen_is(&ls, "aaa\nbbb\n"));
	CHECK_INT(read_lines_path(p, 12, 64, 32, &ls, NULL), 0);
	CHECK(seen_is(&ls, "aaa\nbbb\nccc\n"));
	CHECK_INT(read_lines_path(p, 2, 64, 32, &ls, NULL), 1);
	CHECK(seen_is(&ls, ""));
	CHECK_INT(read_lines_path(p, 0, 64, 32, &ls, NULL), 1);
	CHECK(seen_is(&ls, ""));
	/* at the cap the file's last line needs no newline; a byte more and it is cut */
	p = write_tmp("lines", "aaa\nbbb", 7);
	CHECK_INT(read_lines_path(p, 7, 64, 32, &ls, NULL), 0);
	CHECK(seen_is(&ls, "aaa\nbbb\n"));
	CHECK_INT(read_lines_path(p, 6, 64, 32, &ls, NULL), 1);
	CHECK(seen_is(&ls, "aaa\n"));
	/* the cap falls in a buffer after the first */
	CHECK_INT(read_lines_path(p, 6, 4, 3, &ls, NULL), 1);
	CHECK(seen_is(&ls, "aaa\n"));
	p = write_tmp("empty", "", 0);
	CHECK_INT(read_lines_path(p, 0, 64, 32, &ls, NULL), 0);
	CHECK(seen_is(&ls, ""));
}

static void test_lines_callback_stops(void)
{
	const char *p = write_tmp("lines", "a\nb\nc\n", 6);
	struct lines_seen ls = { .stop_at = 2 };

	CHECK_INT(read_lines_path(p, 100, 64, 32, &ls, NULL), -ECANCELED);
	CHECK_INT(ls.calls, 2);
	CHECK(seen_is(&ls, "a\n"));
}

/* A pipe hands lines over in pieces that end anywhere. */
static void test_lines_short_reads_from_pipe(void)
{
	char text[40000];
	struct lines_seen ls = { 0 };
	int fds[2];
	pid_t pid;

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = i % 37 == 36 ? '\n' : (char)('a' + i % 26);
	text[sizeof(text) - 1] = '\0';
	CHECK_INT(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		for (size_t off = 0; off < sizeof(text) - 1; off += 999) {
			size_t n = sizeof(text) - 1 - off < 999 ? sizeof(text) - 1 - off : 999;

			if (fd_write_all(fds[1], text + off, n))
				_exit(1);
			usleep(100);
		}
		_exit(0);
	}
	close(fds[1]);
	CHECK_INT(fd_read_lines(fds[0], 1 << 20, 100, 64, collect_line, &ls, NULL), 0);
	text[sizeof(text) - 1] = '\n'; /* the last line had none */
	CHECK(ls.len == sizeof(text) && !memcmp(ls.text, text, sizeof(text)));
	free(ls.text);
	close(fds[0]);
	waitpid(pid, NULL, 0);
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

/* Exactly the bytes asked at the offset asked; a file that ends first says so, and reads
 * past nothing. */
static void test_pread_exact(void)
{
	const char *path = write_tmp("pread", "0123456789", 10);
	char buf[16] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	CHECK_INT(fd_pread_exact(fd, buf, 4, 3), 0);
	CHECK(!memcmp(buf, "3456", 4));
	CHECK_INT(fd_pread_exact(fd, buf, 10, 0), 0);
	CHECK(!memcmp(buf, "0123456789", 10));
	CHECK_INT(fd_pread_exact(fd, buf, 4, 8), -ENODATA);
	CHECK_INT(fd_pread_exact(fd, buf, 1, 10), -ENODATA);
	CHECK_INT(fd_pread_exact(fd, buf, 0, 100), 0);
	if (fd >= 0)
		close(fd);
	CHECK_INT(fd_pread_exact(-1, buf, 1, 0), -EBADF);
}

/* A directory the agent makes for itself is its own, mode 0700; one another user owns, or
 * open to others, is refused. */
static void test_make_private_dir(void)
{
	char path[256], open_dir[256];

	snprintf(path, sizeof(path), "%s/a/b/private", dir);
	CHECK_INT(make_private_dir(path), 0);
	{
		struct stat st;

		CHECK(lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	}
	CHECK_INT(make_private_dir(path), 0); /* again: already there, still its own */
	snprintf(open_dir, sizeof(open_dir), "%s/open", dir);
	CHECK(mkdir(open_dir, 0755) == 0);
	CHECK_INT(make_private_dir(open_dir), -EPERM);
	CHECK_INT(make_private_dir("relative/dir"), -EINVAL);
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
	RUN_TEST(test_lines_basic);
	RUN_TEST(test_lines_buffer_boundaries);
	RUN_TEST(test_lines_too_long);
	RUN_TEST(test_lines_cap);
	RUN_TEST(test_lines_callback_stops);
	RUN_TEST(test_lines_short_reads_from_pipe);
	RUN_TEST(test_read_small);
	RUN_TEST(test_output_ignores_planted_tmp_symlink);
	RUN_TEST(test_write_file_atomic);
	RUN_TEST(test_pread_exact);
	RUN_TEST(test_make_private_dir);
	{ /* the tests leave files and directories of their own there */
		char cmd[sizeof(dir) + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK_INT(system(cmd), 0);
	}
	return TEST_SUMMARY();
}

/* Unit tests of util/secret: one reader for password and token files, wiped when done. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/secret.h"
#include "test.h"

static char dir[] = "/tmp/stoker-test-secret-XXXXXX";
static char path[256];

static void put(const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT(fd_write_all(fd, data, len), 0);
		close(fd);
	}
}

static void test_strips_trailing_newlines(void)
{
	static const char *const in[] = { "s3cret\n", "s3cret\r\n", "s3cret \r\n\n", "s3cret" };
	char *s = NULL;

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		put(in[i], strlen(in[i]));
		CHECK_INT(read_secret(path, &s), 0);
		CHECK_STR(s, "s3cret");
		free_secret(s);
		s = NULL;
	}
	/* inner white space belongs to the secret */
	put(" a b\r\n", 6);
	CHECK_INT(read_secret(path, &s), 0);
	CHECK_STR(s, " a b");
	free_secret(s);
}

static void test_empty_missing_and_too_big(void)
{
	static char big[SECRET_MAX_BYTES + 1];
	char *s = (char *)1;

	put("", 0);
	CHECK_INT(read_secret(path, &s), -ENODATA);
	CHECK(s == NULL);
	put("\n\r\n", 3);
	CHECK_INT(read_secret(path, &s), -ENODATA);
	CHECK_INT(read_secret("/nonexistent/stoker-secret", &s), -ENOENT);
	CHECK(s == NULL);
	memset(big, 'x', sizeof(big));
	put(big, SECRET_MAX_BYTES);
	CHECK_INT(read_secret(path, &s), 0);
	CHECK_INT(s ? strlen(s) : 0, SECRET_MAX_BYTES);
	free_secret(s);
	/* one byte over the cap is refused, not cut */
	put(big, sizeof(big));
	s = (char *)1;
	CHECK_INT(read_secret(path, &s), -EFBIG);
	CHECK(s == NULL);
	/* an embedded NUL would cut the secret where it is used as a string */
	put("ab\0cd\n", 6);
	CHECK_INT(read_secret(path, &s), -EINVAL);
}

static void test_wipe(void)
{
	char *s = NULL;
	size_t n;

	put("hunter2\n", 8);
	CHECK_INT(read_secret(path, &s), 0);
	n = s ? strlen(s) : 0;
	CHECK_INT(n, 7);
	wipe_secret(s);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(s[i], 0);
	free_secret(s);
	free_secret(NULL);
}

static void test_redact_url(void)
{
	static const char *const rows[][2] = {
		{ "https://user:pass@host:4040/x", "https://***@host:4040/x" },
		{ "https://user@host", "https://***@host" },
		{ "http://u:p@ss@host/a@b", "http://***@host/a@b" }, /* '@' in the password */
		{ "https://host:4040/path?q=a@b#c@d", "https://host:4040/path?q=a@b#c@d" },
		{ "https://host", "https://host" },
		{ "u:p@host:4040", "***@host:4040" },
		{ "", "" },
	};
	char buf[64], small[12];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK_STR(redact_url(rows[i][0], buf, sizeof(buf)), rows[i][1]);
	/* cut short, the password still never shows */
	CHECK_STR(redact_url("https://user:secretpw@h", small, sizeof(small)), "https://***");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/secret", dir);
	RUN_TEST(test_strips_trailing_newlines);
	RUN_TEST(test_empty_missing_and_too_big);
	RUN_TEST(test_wipe);
	RUN_TEST(test_redact_url);
	unlink(path);
	rmdir(dir);
	return TEST_SUMMARY();
}

/* Unit tests of the folded and HTML flame graph writers: exact folded text, sanitized names,
 * escaping that no name can break out of, the embedded tree totals (checked by Python's
 * JSON parser), and write errors reported. */
#include <errno.h>
#include <unistd.h>

#include "export/output_flamegraph.h"
#include "test.h"

static const char *const s1[] = { "app", "main", "work;semi\ncolon" };
static const char *const s2[] = { "app", "main", "</script><script>alert(1)</script>\"\\" };
static const char *const s3[] = { "app", "idle\xff\xfe" };
static const struct folded_stack stacks[] = { { s1, 3, 5 }, { s2, 3, 2 }, { s3, 2, 1 } };

static char *capture(int (*fn)(FILE *, const struct folded_stack *, size_t, const void *),
		     const void *opts)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK_INT(fn(f, stacks, 3, opts), 0);
	fclose(f);
	return buf;
}

static int folded_fn(FILE *f, const struct folded_stack *s, size_t n, const void *o)
{
	return folded_write(f, s, n);
}

static int html_fn(FILE *f, const struct folded_stack *s, size_t n, const void *o)
{
	return flamegraph_write_html(f, s, n, o);
}

static void test_folded(void)
{
	char *out = capture(folded_fn, NULL);

	CHECK_STR(out, "app;main;work:semi colon 5\n"
		       "app;main;</script><script>alert(1)</script>\"\\ 2\n"
		       "app;idle\xff\xfe 1\n");
	free(out);
}

static void test_html_escaped_and_tree(void)
{
	struct flamegraph_opts o = { "T<itle>", "sub" };
	char *out = capture(html_fn, &o), *b, *e, cmd[256], path[] = "/tmp/stoker-fg-XXXXXX";
	char res[256] = "";
	FILE *p;
	int fd;

	CHECK(strstr(out, "<title>T&lt;itle&gt;</title>") != NULL);
	CHECK(strstr(out, "alert(1)</script>") == NULL); /* the name cannot close the script */
	CHECK(strstr(out, "http") == NULL);		 /* self-contained */
	b = strstr(out, "/*STOKER_DATA_BEGIN*/");
	e = strstr(out, "/*STOKER_DATA_END*/");
	CHECK(b && e && e > b);
	if (!b || !e)
		goto out;
	b += strlen("/*STOKER_DATA_BEGIN*/");
	fd = mkstemp(path);
	CHECK(write(fd, b, (size_t)(e - b)) == e - b);
	close(fd);
	/* nodes are [name, value, parent] triples: root total, and app>main = 7 */
	CHECK_PROGRAM("/usr/bin/python3");
	snprintf(
	    cmd, sizeof(cmd),
	    "/usr/bin/python3 -c \"import json,sys; d=json.load(open(sys.argv[1])); n=d['nodes'];"
	    "v={d['names'][n[i]]: n[i+1] for i in range(3, len(n), 3)}; "
	    "print(n[1], v['main'], v['app'], len(d['names']))\" %s",
	    path);
	p = popen(cmd, "r");
	if (p && !fgets(res, sizeof(res), p))
		res[0] = '\0';
	if (p)
		pclose(p);
	CHECK_STR(res, "8 7 8 5\n"); /* 5 distinct names */
	unlink(path);
out:
	free(out);
}

/* Source positions: a node shows the first stack's file:line, says when others were at other
 * lines, and inlined frames are marked; the page shows them on hover. */
static void test_html_sources_and_inlines(void)
{
	static const char *const f1[] = { "app", "hot", "mix" }, *const fl1[] = { "", "a.c",
										  "a.c" };
	static const uint32_t l1[] = { 0, 21, 12 }, l2[] = { 0, 21, 11 };
	static const uint8_t i1[] = { 0, 0, 1 };
	const struct folded_stack st[] = { { f1, 3, 5, fl1, l1, i1 },
					   { f1, 3, 2, fl1, l2, i1 },
					   { f1, 2, 1, NULL, NULL, NULL } };
	char *buf = NULL, *b, *e, cmd[1024], res[256] = "", path[] = "/tmp/stoker-fg-XXXXXX";
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len), *p;
	int fd;

	CHECK_INT(flamegraph_write_html(f, st, 3, NULL), 0);
	fclose(f);
	CHECK(strstr(buf, "[inlined]") != NULL && strstr(buf, "other lines") != NULL);
	b = strstr(buf, "/*STOKER_DATA_BEGIN*/");
	e = strstr(buf, "/*STOKER_DATA_END*/");
	CHECK(b && e && e > b);
	if (!b || !e)
		goto out;
	b += strlen("/*STOKER_DATA_BEGIN*/");
	fd = mkstemp(path);
	CHECK(write(fd, b, (size_t)(e - b)) == e - b);
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c \"import json,sys; d=json.load(open(sys.argv[1])); "
		 "n,s,i,nm=d['nodes'],d['src'],d['inl'],d['names']; "
		 "print(*[(nm[n[3*k]], nm[s[3*k]] if s[3*k]>=0 else '', s[3*k+1], s[3*k+2], i[k]) "
		 "for k in range(1,len(n)//3)], sep=';')\" %s",
		 path);
	p = popen(cmd, "r");
	if (p && !fgets(res, sizeof(res), p))
		res[0] = '\0';
	if (p)
		pclose(p);
	CHECK_STR(res, "('app', '', 0, 0, 0);('hot', 'a.c', 21, 0, 0);('mix', 'a.c', 12, 1, 1)\n");
	unlink(path);
out:
	free(buf);
}

static void test_write_error(void)
{
	FILE *f = fopen("/dev/full", "w");

	CHECK(f != NULL);
	if (!f)
		return;
	setvbuf(f, NULL, _IONBF, 0);
	CHECK(folded_write(f, stacks, 3) < 0);
	CHECK(flamegraph_write_html(f, stacks, 3, NULL) < 0);
	fclose(f);
}

int main(void)
{
	RUN_TEST(test_folded);
	RUN_TEST(test_html_escaped_and_tree);
	RUN_TEST(test_html_sources_and_inlines);
	RUN_TEST(test_write_error);
	return TEST_SUMMARY();
}

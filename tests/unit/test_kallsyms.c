/* Unit tests of /proc/kallsyms parsing and lookup, on handmade text and the real file. */
#include <errno.h>

#include "kallsyms.h"
#include "test.h"

static const char text[] = "ffffffff81000000 T _stext\n"
			   "ffffffff81000100 T do_thing\n"
			   "ffffffff81000100 t do_thing_alias\n"
			   "ffffffff81000200 D some_data\n"
			   "ffffffff81000300 t local_fn\n"
			   "garbage line here\n"
			   "ffffffff81000400 T _etext\n"
			   "zzzzzzzzzzzzzzzz T bad_addr\n"
			   "ffffffffc0a01000 t mod_fn\t[ext4]\n"
			   "ffffffffc0a02000 T mod_other\t[nf_tables]"; /* no final newline */

static void test_parse_and_lookup(void)
{
	struct kallsyms *ks = kallsyms__parse(text, strlen(text));
	const struct ksym *s;

	CHECK(ks != NULL);
	if (!ks)
		return;
	CHECK_INT(kallsyms__count(ks), 6); /* text symbols only, one per address */
	s = kallsyms__lookup(ks, 0xffffffff81000150);
	CHECK_STR(s ? s->name : NULL, "do_thing");    /* the global one of two aliases */
	s = kallsyms__lookup(ks, 0xffffffff81000250); /* data symbols are not functions */
	CHECK_STR(s ? s->name : NULL, "do_thing");
	s = kallsyms__lookup(ks, 0xffffffff81000300);
	CHECK_STR(s ? s->name : NULL, "local_fn");
	CHECK_STR(s ? s->module : NULL, "");
	s = kallsyms__lookup(ks, 0xffffffffc0a01010);
	CHECK_STR(s ? s->name : NULL, "mod_fn");
	CHECK_STR(s ? s->module : NULL, "ext4");
	s = kallsyms__lookup(ks, 0xffffffffc0a02001);
	CHECK_STR(s ? s->module : NULL, "nf_tables");
	CHECK(kallsyms__lookup(ks, 0xffffffff80ffffff) == NULL); /* below the first symbol */
	CHECK(kallsyms__lookup(ks, 0xffffffff81000500) == NULL); /* past _etext */
	CHECK(kallsyms__lookup(ks, 0xffffffffc1000000) == NULL); /* far past the last */
	kallsyms__free(ks);
}

static void test_restricted_and_empty(void)
{
	const char *zeros = "0000000000000000 T _stext\n0000000000000000 T foo\n";
	char longname[3000];
	struct kallsyms *ks;

	errno = 0;
	CHECK(kallsyms__parse(zeros, strlen(zeros)) == NULL);
	CHECK_INT(errno, EACCES);
	ks = kallsyms__parse("", 0);
	CHECK(ks != NULL && kallsyms__count(ks) == 0);
	if (ks)
		CHECK(kallsyms__lookup(ks, 0x1234) == NULL);
	kallsyms__free(ks);
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "ffffffff81000000 T ", 19);
	longname[sizeof(longname) - 1] = '\0';
	ks = kallsyms__parse(longname, strlen(longname));
	CHECK(ks != NULL && kallsyms__count(ks) == 0); /* overlong name skipped */
	kallsyms__free(ks);
}

static void test_real_kallsyms(void)
{
	struct kallsyms *ks = kallsyms__load("/proc/kallsyms");
	unsigned long long addr = 0;
	char line[512];
	FILE *f = fopen("/proc/kallsyms", "r");
	const struct ksym *s;

	CHECK(ks != NULL && f != NULL);
	while (f && fgets(line, sizeof(line), f)) {
		char t, name[256];

		if (sscanf(line, "%llx %c %255s", &addr, &t, name) == 3 &&
		    !strcmp(name, "schedule"))
			break;
		addr = 0;
	}
	if (f)
		fclose(f);
	CHECK(addr != 0);
	CHECK(ks && kallsyms__count(ks) > 10000);
	s = ks ? kallsyms__lookup(ks, addr + 1) : NULL;
	CHECK_STR(s ? s->name : NULL, "schedule");
	kallsyms__free(ks);
	errno = 0;
	CHECK(kallsyms__load("/nonexistent") == NULL && errno == ENOENT);
}

int main(void)
{
	RUN_TEST(test_parse_and_lookup);
	RUN_TEST(test_restricted_and_empty);
	RUN_TEST(test_real_kallsyms);
	return TEST_SUMMARY();
}

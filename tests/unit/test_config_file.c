/* Unit tests of the YAML config file: keys become flags, unknown keys and bad shapes are
 * errors with a line number. */
#include <errno.h>

#include "config/config_file.h"
#include "test.h"

static void test_keys_become_flags(void)
{
	const char *y = "# comment\nsample_rate: 49\nserver_url: https://p.example:4040\n"
			"labels:\n  env: prod\n  team: a\npids: [12, 34]\n"
			"headers:\n  - 'X-A: 1'\ninclude_idle: true\n";
	struct config_args a;

	CHECK_INT(config_file_parse(y, strlen(y), "t.yaml", &a), 0);
	CHECK_INT(a.argc, 9);
	if (a.argc == 9) {
		CHECK_STR(a.argv[0], "stoker");
		CHECK_STR(a.argv[1], "--sample-rate=49");
		CHECK_STR(a.argv[3], "--label=env=prod");
		CHECK_STR(a.argv[6], "--pid=34");
		CHECK_STR(a.argv[7], "--header=X-A: 1");
		CHECK_STR(a.argv[8], "--include-idle=true");
	}
	config_args__free(&a);
}

static void test_relabel_configs(void)
{
	const char *y = "relabel_configs:\n"
			"  - source_labels: [a, b]\n    separator: '/'\n    target_label: t\n"
			"  - action: labeldrop\n    regex: tmp_.*\n";
	const char *bad = "relabel_configs:\n  - source_labels: [a]\n    colour: red\n";
	struct config_args a;

	CHECK_INT(config_file_parse(y, strlen(y), "t.yaml", &a), 0);
	CHECK_INT(a.argc, 3);
	if (a.argc == 3) {
		CHECK_STR(a.argv[1],
			  "--relabel-rule=source_labels=a,b\x1fseparator=/\x1ftarget_label=t");
		CHECK_STR(a.argv[2], "--relabel-rule=action=labeldrop\x1fregex=tmp_.*");
	}
	config_args__free(&a);
	CHECK_INT(config_file_parse(bad, strlen(bad), "t.yaml", &a), -EINVAL);
}

static void test_errors(void)
{
	const char *bad[] = {
		"sample_rate: 49\nbogus: 1\n", /* unknown key */
		"labels: notamap\n",	       /* wrong shape */
		"sample_rate: [1, 2]\n",       /* list for a scalar */
		"- a\n- b\n",		       /* not a mapping */
		"a: [unclosed\n",	       /* invalid YAML */
		"x: &anchor 1\ny: *anchor\n",  /* unknown key first, aliases refused anyway */
	};
	struct config_args a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(config_file_parse(bad[i], strlen(bad[i]), "t.yaml", &a), -EINVAL);
		CHECK(a.argv == NULL);
	}
	CHECK_INT(config_file_parse("", 0, "t.yaml", &a), 0); /* empty file: no settings */
	CHECK_INT(a.argc, 0);
}

int main(void)
{
	RUN_TEST(test_keys_become_flags);
	RUN_TEST(test_relabel_configs);
	RUN_TEST(test_errors);
	return TEST_SUMMARY();
}

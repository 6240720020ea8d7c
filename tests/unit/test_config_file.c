/* Unit tests of the YAML config file: keys become flags, flags override the file, unknown
 * keys and bad shapes are errors with a line number. */
#include <errno.h>
#include <unistd.h>

#include "config/cli.h"
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
	config_args_free(&a);
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
	config_args_free(&a);
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

static void test_flags_override_file(void)
{
	char path[] = "/tmp/stoker-cfg-XXXXXX";
	const char *y = "sample_rate: 49\nlabels: {env: prod, team: a}\npids: [1, 2]\n";
	int fd = mkstemp(path);
	struct config cfg;
	struct config_args fa;
	char a0[] = "stoker", a1[] = "--config", a3[] = "--label=env=dev", a4[] = "--pid=7",
	     a5[] = "--sample-rate=99";
	char *argv[] = { a0, a1, path, a3, a4, a5, NULL };

	CHECK(fd >= 0 && write(fd, y, strlen(y)) == (ssize_t)strlen(y));
	close(fd);
	CHECK_INT(cli_load(6, argv, &cfg, &fa), 0);
	CHECK_INT(cfg.sample_rate_hz, 99);
	CHECK_INT(cfg.nlabels, 2);
	CHECK_STR(cfg.labels[0].value, "dev");
	CHECK_STR(cfg.labels[1].value, "a");
	CHECK_INT(cfg.npids, 1); /* the flags' list replaces the file's */
	CHECK_INT(cfg.pids[0], 7);
	config_args_free(&fa);
	unlink(path);
}

/* cli_parse runs several times per process (config-file pass, flags, SIGHUP reload). An
 * error in the middle of a flag cluster leaves getopt's scan position inside that argv, which
 * may be freed by the next parse (fuzz_cli found it). The next parse must start afresh: the
 * first argv is kept alive here so that resuming in it shows up as a parsed stale 'h'. */
static void test_parse_again_after_error_in_cluster(void)
{
	char a0[] = "stoker", q[] = "-qh", a1[] = "--sample-rate=7", c1[] = "check",
	     c2[] = "--sample-rate=9";
	char *first[] = { a0, q, NULL }, *second[] = { a0, a1, NULL },
	     *third[] = { a0, c1, c2, NULL };
	struct config cfg;

	config_defaults(&cfg);
	CHECK_INT(cli_parse(2, first, &cfg), -EINVAL); /* 'q' is unknown; 'h' is left unread */
	config_defaults(&cfg);
	CHECK_INT(cli_parse(2, second, &cfg), 0);
	CHECK_INT(cfg.sample_rate_hz, 7);
	CHECK(!cfg.show_help);
	config_defaults(&cfg);
	CHECK_INT(cli_parse(2, first, &cfg), -EINVAL);
	config_defaults(&cfg);
	CHECK_INT(cli_parse(3, third, &cfg), 0);
	CHECK(cfg.check);
	CHECK(!cfg.show_help);
	CHECK_INT(cfg.sample_rate_hz, 9);
}

int main(void)
{
	RUN_TEST(test_keys_become_flags);
	RUN_TEST(test_relabel_configs);
	RUN_TEST(test_errors);
	RUN_TEST(test_flags_override_file);
	RUN_TEST(test_parse_again_after_error_in_cluster);
	return TEST_SUMMARY();
}

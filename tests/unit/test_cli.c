/* Unit tests of the command line: flags, their errors, repeated parses, and flags overriding
 * the config file. */
#include <errno.h>
#include <unistd.h>

#include "config/cli.h"
#include "config/config_file.h"
#include "test.h"

static int parse(struct config *cfg, int argc, const char **argv)
{
	config_defaults(cfg);
	return cli_parse(argc, (char **)argv, cfg);
}

static void test_flags(void)
{
	struct config cfg;
	const char *ok[] = { "stoker",
			     "--sample-rate",
			     "99",
			     "--duration",
			     "2m",
			     "--pid",
			     "12",
			     "--pid=34",
			     "--output",
			     "a.pb.gz",
			     "--output",
			     "b.html",
			     "--log-level",
			     "debug",
			     "--include-idle",
			     "--kernel-stacks=false" };
	const char *bad_rate[] = { "stoker", "--sample-rate", "0" };
	const char *unknown[] = { "stoker", "--frobnicate" };
	const char *missing[] = { "stoker", "--duration" };
	const char *stray[] = { "stoker", "positional" };

	CHECK_INT(parse(&cfg, 16, ok), 0);
	CHECK_INT(cfg.sample_rate_hz, 99);
	CHECK_U64(cfg.duration_ns, 120000000000ull);
	CHECK_INT(cfg.npids, 2);
	CHECK_INT(cfg.pids[1], 34);
	CHECK_INT(cfg.noutputs, 2);
	CHECK_INT(cfg.outputs[0].format, OUTPUT_PPROF_GZ);
	CHECK_INT(cfg.outputs[1].format, OUTPUT_HTML);
	CHECK_INT(cfg.log_level, LOG_DEBUG);
	CHECK(cfg.include_idle);
	CHECK(!cfg.kernel_stacks);
	CHECK_INT(parse(&cfg, 3, bad_rate), -EINVAL);
	CHECK_INT(parse(&cfg, 2, unknown), -EINVAL);
	CHECK_INT(parse(&cfg, 2, missing), -EINVAL);
	CHECK_INT(parse(&cfg, 2, stray), -EINVAL);
	parse(&cfg, 1, ok);
	CHECK_INT(cfg.sample_rate_hz, 19); /* default */
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

/* SIGHUP parses the same argv again: parsing must not have changed it (--label used to split
 * its argument in place, and the second parse saw only the key). */
static void test_load_twice(void)
{
	char a0[] = "stoker", a1[] = "--label", a2[] = "env=dev", a3[] = "--label=team=a";
	char *argv[] = { a0, a1, a2, a3, NULL };
	struct config cfg;
	struct config_args fa;

	for (int pass = 0; pass < 2; pass++) {
		CHECK_INT(cli_load(4, argv, &cfg, &fa), 0);
		CHECK_INT(cfg.nlabels, 2);
		if (cfg.nlabels == 2) {
			CHECK_STR(cfg.labels[0].name, "env");
			CHECK_STR(cfg.labels[0].value, "dev");
			CHECK_STR(cfg.labels[1].value, "a");
		}
		config_args_free(&fa);
	}
	CHECK_STR(a2, "env=dev");
}

/* SIGHUP keeps the start-up value of every flag not marked reloadable, takes the others,
 * and names the ones that changed. */
static void test_reload(void)
{
	const char *before[] = { "stoker", "--label=a=b", "--server-url=http://x", "--top=3" };
	const char *after[] = { "stoker",	    "--label=a=c", "--server-url=http://y",
				"--sample-rate=99", "--pid=5",	   "--output=x.pb" };
	struct config cur, next;
	struct config_args fa1, fa2;
	char changed[256];

	CHECK_INT(cli_load(4, (char **)before, &cur, &fa1), 0);
	CHECK_INT(cli_load(6, (char **)after, &next, &fa2), 0);
	cli_reload(&cur, &next, changed, sizeof(changed));
	CHECK_STR(changed, "--sample-rate, --pid, --output");
	CHECK_INT(cur.sample_rate_hz, 19);
	CHECK_INT(cur.npids, 0);
	CHECK_INT(cur.noutputs, 0);
	CHECK_STR(cur.server_url, "http://y");
	CHECK_INT(cur.top, 0);
	CHECK_INT(cur.nlabels, 1);
	CHECK_STR(cur.labels[0].value, "c");
	cli_reload(&cur, &cur, changed, sizeof(changed));
	CHECK_STR(changed, "");
	config_args_free(&fa1);
	config_args_free(&fa2);
}

int main(void)
{
	RUN_TEST(test_flags);
	RUN_TEST(test_flags_override_file);
	RUN_TEST(test_parse_again_after_error_in_cluster);
	RUN_TEST(test_load_twice);
	RUN_TEST(test_reload);
	return TEST_SUMMARY();
}

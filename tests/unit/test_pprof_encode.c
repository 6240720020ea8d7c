/* Unit tests of the profile builder and pprof encoder, decoded back by an independent decoder
 * (Python's protobuf runtime, tests/tools/pprof_check.py) against the same schema. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "profile/pprof_encode.h"
#include "profile/profile_builder.h"
#include "test.h"

static char *decode_with_python(const char *path)
{
	static char out[8192];
	char cmd[1024];
	size_t n;
	FILE *p;

	CHECK_PROGRAM("/usr/bin/python3");
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c \"import sys; sys.path.insert(0, 'tests/tools'); "
		 "import pprof_check as p; pr = p.load(sys.argv[1]); "
		 "v = p.validate(pr, cpu_hz=100); print('problems', len(v), v[:3]); "
		 "[print(';'.join(s['frames']), s['count'], sorted(s['labels'].items())) "
		 "for s in sorted(p.stacks(pr), key=lambda s: s['frames'])]\" %s",
		 path);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	return out;
}

static void build_sample_profile(struct profile_builder *pb)
{
	uint32_t m = pb_mapping(pb, "/usr/bin/prog", "abcdef");
	uint32_t l_main = pb_location(pb, m, pb_function(pb, "main"), 0x1000);
	uint32_t l_a = pb_location(pb, m, pb_function(pb, "hot_a"), 0x1100);
	uint32_t l_b = pb_location(pb, m, pb_function(pb, "ns::hot_b(int)"), 0x1200);
	uint32_t k = pb_location(pb, pb_mapping(pb, "[kernel.kallsyms]", ""),
				 pb_function(pb, "do_syscall_64"), 0xffffffff81000000ull);
	uint32_t s1[] = { l_a, l_main }, s2[] = { l_b, l_main }, s3[] = { k, l_b, l_main };
	struct pb_label lab[] = { { pb_string(pb, "pid"), pb_string(pb, "42") },
				  { pb_string(pb, "comm"), pb_string(pb, "prog") } };

	CHECK_INT(pb_add_sample(pb, s1, 2, lab, 2, 3), 0);
	CHECK_INT(pb_add_sample(pb, s2, 2, lab, 2, 1), 0);
	CHECK_INT(pb_add_sample(pb, s1, 2, lab, 2, 2), 0); /* merges with the first */
	CHECK_INT(pb_add_sample(pb, s3, 3, lab, 1, 4), 0);
}

static void test_builder_dedup(void)
{
	struct profile_builder pb;

	CHECK_INT(profile_builder__init(&pb, NULL), 0);
	build_sample_profile(&pb);
	CHECK_INT(pb.nsamples, 3);
	CHECK_INT(pb.nfunctions, 4);
	CHECK_INT(pb.nlocations, 4);
	CHECK_INT(pb.nmappings, 2);
	CHECK_INT(pb.total_count, 10);
	CHECK_STR(pb_str(&pb, 0), "");
	CHECK_INT(pb_string(&pb, "main"), pb_string(&pb, "main"));
	profile_builder__reset(&pb);
	CHECK_INT(pb.nsamples, 0);
	CHECK_INT(pb.nstr, 1);
	build_sample_profile(&pb); /* reusable after reset */
	CHECK_INT(pb.nsamples, 3);
	profile_builder__destroy(&pb);
}

static void test_builder_cap(void)
{
	struct profile_builder_opts o = { .max_samples = 2 };
	struct profile_builder pb;
	uint32_t locs[3];

	CHECK_INT(profile_builder__init(&pb, &o), 0);
	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		locs[i] = pb_location(&pb, 0, pb_function(&pb, name), (uint64_t)i);
	}
	CHECK_INT(pb_add_sample(&pb, &locs[0], 1, NULL, 0, 1), 0);
	CHECK_INT(pb_add_sample(&pb, &locs[1], 1, NULL, 0, 1), 0);
	CHECK_INT(pb_add_sample(&pb, &locs[2], 1, NULL, 0, 5), -ENOSPC);
	CHECK_INT(pb_add_sample(&pb, &locs[0], 1, NULL, 0, 1), 0); /* existing still counts */
	CHECK_INT(pb.dropped_count, 5);
	CHECK_INT(pb.total_count, 3);
	profile_builder__destroy(&pb);
}

static void test_encode_decoded_independently(void)
{
	struct pprof_meta meta = { .period_ns = 10000000,
				   .time_nanos = 1700000000000000000ll,
				   .duration_nanos = 10000000000ll };
	char path[] = "/tmp/stoker-pprof-XXXXXX";
	struct profile_builder pb;
	uint8_t *buf;
	size_t len;
	const char *out;
	int fd;

	CHECK_INT(profile_builder__init(&pb, NULL), 0);
	build_sample_profile(&pb);
	struct pprof_encode_opts eo = { .gzip = true };

	CHECK_INT(pprof_encode(&pb, &meta, &eo, &buf, &len), 0);
	CHECK(len > 20 && buf[0] == 0x1f && buf[1] == 0x8b);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, buf, len), (long long)len);
	close(fd);
	out = decode_with_python(path);
	CHECK(out != NULL);
	if (out) {
		CHECK_STR(out, "problems 0 []\n"
			       "main;hot_a 5 [('comm', 'prog'), ('pid', '42')]\n"
			       "main;ns::hot_b(int) 1 [('comm', 'prog'), ('pid', '42')]\n"
			       "main;ns::hot_b(int);do_syscall_64 4 [('pid', '42')]\n");
	}
	unlink(path);
	free(buf);
	profile_builder__destroy(&pb);
}

static bool keep_pid_only(const struct profile_builder *pb, const struct pb_sample *s, void *arg)
{
	return s->nlabels == 1;
}

static void test_encode_filtered_and_empty(void)
{
	struct pprof_meta meta = { .period_ns = 10000000, .time_nanos = 1, .duration_nanos = 1 };
	struct profile_builder pb;
	uint8_t *buf;
	size_t len;
	char path[] = "/tmp/stoker-pprof-XXXXXX";
	const char *out;
	int fd;

	CHECK_INT(profile_builder__init(&pb, NULL), 0);
	build_sample_profile(&pb);
	struct pprof_encode_opts eo = { .keep = keep_pid_only };
	const char *const drop[] = { "pid", NULL };
	struct pprof_encode_opts eo_drop = { .drop_labels = drop };

	CHECK_INT(pprof_encode(&pb, &meta, &eo, &buf, &len), 0);
	fd = mkstemp(path);
	CHECK_INT(write(fd, buf, len), (long long)len);
	close(fd);
	out = decode_with_python(path);
	CHECK_STR(out, "problems 0 []\nmain;ns::hot_b(int);do_syscall_64 4 [('pid', '42')]\n");
	free(buf);
	CHECK_INT(pprof_encode(&pb, &meta, &eo_drop, &buf, &len), 0);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK_INT(write(fd, buf, len), (long long)len);
	close(fd);
	out = decode_with_python(path);
	CHECK_STR(out, "problems 0 []\n"
		       "main;hot_a 5 [('comm', 'prog')]\n"
		       "main;ns::hot_b(int) 1 [('comm', 'prog')]\n"
		       "main;ns::hot_b(int);do_syscall_64 4 []\n");
	free(buf);
	profile_builder__reset(&pb);
	eo.keep = NULL;
	CHECK_INT(pprof_encode(&pb, &meta, &eo, &buf, &len), 0);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK_INT(write(fd, buf, len), (long long)len);
	close(fd);
	out = decode_with_python(path);
	CHECK_STR(out, "problems 0 []\n");
	unlink(path);
	free(buf);
	profile_builder__destroy(&pb);
}

int main(void)
{
	RUN_TEST(test_builder_dedup);
	RUN_TEST(test_builder_cap);
	RUN_TEST(test_encode_decoded_independently);
	RUN_TEST(test_encode_filtered_and_empty);
	return TEST_SUMMARY();
}

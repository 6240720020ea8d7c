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
	uint32_t m = profile_builder__mapping(pb, "/usr/bin/prog", "abcdef");
	uint32_t l_main =
	    profile_builder__location(pb, m, profile_builder__function(pb, "main"), 0x1000);
	uint32_t l_a =
	    profile_builder__location(pb, m, profile_builder__function(pb, "hot_a"), 0x1100);
	uint32_t l_b = profile_builder__location(
	    pb, m, profile_builder__function(pb, "ns::hot_b(int)"), 0x1200);
	uint32_t k = profile_builder__location(
	    pb, profile_builder__mapping(pb, "[kernel.kallsyms]", ""),
	    profile_builder__function(pb, "do_syscall_64"), 0xffffffff81000000ull);
	uint32_t s1[] = { l_a, l_main }, s2[] = { l_b, l_main }, s3[] = { k, l_b, l_main };
	struct pb_label lab[] = {
		{ profile_builder__string(pb, "pid"), profile_builder__string(pb, "42") },
		{ profile_builder__string(pb, "comm"), profile_builder__string(pb, "prog") }
	};

	CHECK_INT(profile_builder__add_sample(pb, s1, 2, lab, 2, 3), 0);
	CHECK_INT(profile_builder__add_sample(pb, s2, 2, lab, 2, 1), 0);
	CHECK_INT(profile_builder__add_sample(pb, s1, 2, lab, 2, 2), 0); /* merges with the first */
	CHECK_INT(profile_builder__add_sample(pb, s3, 3, lab, 1, 4), 0);
}

static void test_builder_dedup(void)
{
	struct profile_builder pb;
	uint32_t nstr, idx;

	CHECK_INT(profile_builder__init(&pb, NULL), 0);
	build_sample_profile(&pb);
	CHECK_INT(pb.nsamples, 3);
	CHECK_INT(pb.nfunctions, 4);
	CHECK_INT(pb.nlocations, 4);
	CHECK_INT(pb.nmappings, 2);
	CHECK_INT(pb.total_count, 10);
	CHECK_STR(profile_builder__str(&pb, 0), "");
	/* "main" was interned by pb_function: asking again finds it, adds nothing */
	nstr = pb.nstr;
	idx = profile_builder__string(&pb, "main");
	CHECK(idx != 0);
	CHECK_STR(profile_builder__str(&pb, idx), "main");
	CHECK_INT(pb.nstr, nstr);
	CHECK_INT(profile_builder__string(&pb, "not yet seen"), nstr);
	CHECK_INT(pb.nstr, nstr + 1);
	CHECK_INT(profile_builder__string(&pb, "main"), idx);
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
		locs[i] = profile_builder__location(&pb, 0, profile_builder__function(&pb, name),
						    (uint64_t)i);
	}
	CHECK_INT(profile_builder__add_sample(&pb, &locs[0], 1, NULL, 0, 1), 0);
	CHECK_INT(profile_builder__add_sample(&pb, &locs[1], 1, NULL, 0, 1), 0);
	CHECK_INT(profile_builder__add_sample(&pb, &locs[2], 1, NULL, 0, 5), -ENOSPC);
	CHECK_INT(profile_builder__add_sample(&pb, &locs[0], 1, NULL, 0, 1),
		  0); /* existing still counts */
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

/* Encodes pb with opts into path and returns what Python decodes of it. */
static const char *encode_decoded(const struct profile_builder *pb, const struct pprof_meta *meta,
				  const struct pprof_encode_opts *opts, const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd;

	CHECK_INT(pprof_encode(pb, meta, opts, &buf, &len), 0);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK_INT(write(fd, buf, len), (long long)len);
	close(fd);
	free(buf);
	return decode_with_python(path);
}

/* Bytes a process controls (its file name, comm, symbols) that are not UTF-8 would make a
 * strict decoder refuse the whole profile: they reach it as U+FFFD, counted. */
static void test_builder_repairs_utf8(void)
{
	struct pprof_meta meta = { .period_ns = 10000000,
				   .time_nanos = 1700000000000000000ll,
				   .duration_nanos = 10000000000ll };
	struct pprof_encode_opts eo = { .gzip = false };
	struct profile_builder pb;
	struct pb_label lab[2];
	uint32_t m, loc, idx;
	char path[] = "/tmp/stoker-pprof-XXXXXX";
	int fd;

	CHECK_INT(profile_builder__init(&pb, NULL), 0);
	idx = profile_builder__string(&pb, "bad\xff\xfe");
	CHECK_STR(profile_builder__str(&pb, idx), "bad\xef\xbf\xbd\xef\xbf\xbd");
	CHECK_INT(pb.strings_repaired, 1);
	/* the same bytes find the same string; valid text is never touched */
	CHECK_INT(profile_builder__string(&pb, "bad\xff\xfe"), idx);
	CHECK_INT(profile_builder__string(&pb, "caf\xc3\xa9 \xf0\x9f\x94\xa5"), idx + 1);
	CHECK_INT(pb.strings_repaired, 1);
	/* overlong U+FFFD (what an unchecked encoder writes for a code point past U+10FFFF),
	 * a surrogate, a cut sequence */
	idx = profile_builder__string(&pb, "a\xf0\x8f\xbf\xbd b\xed\xa0\x80 c\xe2\x82");
	CHECK_STR(profile_builder__str(&pb, idx),
		  "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
		  "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
		  "c\xef\xbf\xbd\xef\xbf\xbd");
	m = profile_builder__mapping(&pb, "/tmp/x\x80y", "");
	loc = profile_builder__location(&pb, m, profile_builder__function(&pb, "f\xc0\xaf"), 0x10);
	lab[0] = (struct pb_label){ profile_builder__string(&pb, "comm"),
				    profile_builder__string(&pb, "\xfe\xff") };
	lab[1] = (struct pb_label){ profile_builder__string(&pb, "pid"),
				    profile_builder__string(&pb, "7") };
	CHECK_INT(profile_builder__add_sample(&pb, &loc, 1, lab, 2, 3), 0);
	CHECK_INT(pb.strings_repaired, 5);
	profile_builder__reset(&pb);
	CHECK_INT(pb.strings_repaired, 5); /* a lifetime counter: /metrics reads it */
	m = profile_builder__mapping(&pb, "/tmp/x\x80y", "");
	loc = profile_builder__location(&pb, m, profile_builder__function(&pb, "f\xc0\xaf"), 0x10);
	lab[0] = (struct pb_label){ profile_builder__string(&pb, "comm"),
				    profile_builder__string(&pb, "\xfe\xff") };
	CHECK_INT(profile_builder__add_sample(&pb, &loc, 1, lab, 1, 3), 0);
	CHECK_INT(pb.strings_repaired, 8); /* counted again in the new window */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK_STR(encode_decoded(&pb, &meta, &eo, path),
		  "problems 0 []\n"
		  "f\xef\xbf\xbd\xef\xbf\xbd 3 [('comm', '\xef\xbf\xbd\xef\xbf\xbd')]\n");
	unlink(path);
	profile_builder__destroy(&pb);
}

static void test_encode_filtered_and_empty(void)
{
	struct pprof_meta meta = { .period_ns = 10000000, .time_nanos = 1, .duration_nanos = 1 };
	struct profile_builder pb;
	char path[] = "/tmp/stoker-pprof-XXXXXX";
	const char *const drop[] = { "pid", NULL };
	/* the one sample with the pid label alone */
	uint32_t pid_only[] = { 2 };
	struct pprof_encode_opts eo = { .only = pid_only, .nonly = 1 };
	struct pprof_encode_opts eo_drop = { .drop_labels = drop };
	/* an explicit list of samples: the last two of the three, and an index past the end
	 * (ignored) */
	uint32_t only[] = { 1, 2, 99 };
	struct pprof_encode_opts eo_only = { .only = only, .nonly = 3, .drop_labels = drop };

	CHECK_INT(profile_builder__init(&pb, NULL), 0);
	build_sample_profile(&pb);
	close(mkstemp(path));
	CHECK_STR(encode_decoded(&pb, &meta, &eo, path),
		  "problems 0 []\nmain;ns::hot_b(int);do_syscall_64 4 [('pid', '42')]\n");
	CHECK_STR(encode_decoded(&pb, &meta, &eo_drop, path),
		  "problems 0 []\n"
		  "main;hot_a 5 [('comm', 'prog')]\n"
		  "main;ns::hot_b(int) 1 [('comm', 'prog')]\n"
		  "main;ns::hot_b(int);do_syscall_64 4 []\n");
	CHECK_STR(encode_decoded(&pb, &meta, &eo_only, path),
		  "problems 0 []\n"
		  "main;ns::hot_b(int) 1 [('comm', 'prog')]\n"
		  "main;ns::hot_b(int);do_syscall_64 4 []\n");
	profile_builder__reset(&pb);
	eo.only = NULL;
	CHECK_STR(encode_decoded(&pb, &meta, &eo, path), "problems 0 []\n");
	unlink(path);
	profile_builder__destroy(&pb);
}

/* Lines, functions and mapping flags of every location, as Python's protobuf runtime reads
 * them (locations in id order, lines as stored: innermost first). */
static char *decode_lines_with_python(const char *path)
{
	static char out[8192];
	char cmd[1536];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c \"import sys; sys.path.insert(0, 'tests/tools'); "
		 "import pprof_check as p; pr = p.load(sys.argv[1]); "
		 "v = p.validate(pr, cpu_hz=100); print('problems', len(v), v[:3]); "
		 "s = lambda i: pr.string_table[i]; fn = {f.id: f for f in pr.function}; "
		 "[print(hex(l.address), s(pr.mapping[l.mapping_id - 1].filename) if l.mapping_id "
		 "else '-', [(s(fn[x.function_id].name), s(fn[x.function_id].filename), x.line, "
		 "fn[x.function_id].start_line) "
		 "for x in l.line]) for l in pr.location]; "
		 "[print(s(m.filename), m.has_functions, m.has_filenames, m.has_line_numbers, "
		 "m.has_inline_frames) for m in pr.mapping]; "
		 "[print(';'.join(x['frames']), x['count']) for x in p.stacks(pr)]\" %s",
		 path);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	return out;
}

/* One address where two functions were inlined into a third: one Location, three Lines,
 * innermost first; Functions carry their file; the mapping says what it has. */
static void test_encode_inline_frames(void)
{
	struct pprof_meta meta = { .period_ns = 10000000, .time_nanos = 1, .duration_nanos = 1 };
	const struct frame chain[] = {
		{ .function = "arena_for_chunk",
		  .file = "arena.c",
		  .line = 156,
		  .start_line = 150,
		  .mapping = "/lib/libc.so.6",
		  .build_id = "aa",
		  .address = 0x9a0f0,
		  .inlined = true },
		{ .function = "tcache_get",
		  .file = "malloc.c",
		  .line = 3170,
		  .mapping = "/lib/libc.so.6",
		  .build_id = "aa",
		  .address = 0x9a0f0,
		  .inlined = true },
		{ .function = "malloc",
		  .file = "malloc.c",
		  .line = 3338,
		  .start_line = 3287,
		  .mapping = "/lib/libc.so.6",
		  .build_id = "aa",
		  .address = 0x9a0f0 },
	};
	const struct frame caller = { .function = "main",
				      .mapping = "/usr/bin/prog",
				      .address = 0x1140 };
	/* nothing named it: the mapping says it has no functions */
	const struct frame unnamed = { .function = "libx.so+0x10",
				       .mapping = "/lib/libx.so",
				       .address = 0x10,
				       .unnamed = true };
	struct pprof_encode_opts eo = { 0 };
	char path[] = "/tmp/stoker-pprof-XXXXXX";
	struct profile_builder pb;
	uint32_t locs[3];
	const char *out;
	uint8_t *buf;
	size_t len;
	int fd;

	CHECK_INT(profile_builder__init(&pb, NULL), 0);
	locs[0] = profile_builder__frames_location(&pb, chain, 3);
	locs[1] = profile_builder__frames_location(&pb, &caller, 1);
	CHECK(locs[0] != 0 && locs[1] != 0);
	CHECK_INT(profile_builder__frames_location(&pb, chain, 3), locs[0]); /* interned */
	CHECK(profile_builder__frames_location(&pb, chain + 1, 2) !=
	      locs[0]); /* other lines: other location */
	CHECK_INT(pb.nlocations, 3);
	CHECK_INT(pb.nlines, 6);
	CHECK_INT(pb.nfunctions, 4);
	/* same name in another file is another function */
	CHECK(profile_builder__frames_location(
		  &pb, &(struct frame){ .function = "malloc", .file = "other.c" }, 1) != 0);
	CHECK_INT(pb.nfunctions, 5);
	locs[2] = profile_builder__frames_location(&pb, &unnamed, 1);
	CHECK(locs[2] != 0);
	CHECK_INT(profile_builder__add_sample(&pb, locs, 3, NULL, 0, 3), 0);
	CHECK_INT(pprof_encode(&pb, &meta, &eo, &buf, &len), 0);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, buf, len), (long long)len);
	close(fd);
	out = decode_lines_with_python(path);
	CHECK_STR(out, "problems 0 []\n"
		       "0x9a0f0 /lib/libc.so.6 [('arena_for_chunk', 'arena.c', 156, 150), "
		       "('tcache_get', 'malloc.c', 3170, 0), ('malloc', 'malloc.c', 3338, 3287)]\n"
		       "0x1140 /usr/bin/prog [('main', '', 0, 0)]\n"
		       "0x10 /lib/libx.so [('libx.so+0x10', '', 0, 0)]\n"
		       "/lib/libc.so.6 True True True True\n"
		       "/usr/bin/prog True False False False\n"
		       "/lib/libx.so False False False False\n"
		       "libx.so+0x10;main;malloc;tcache_get;arena_for_chunk 3\n");
	unlink(path);
	free(buf);
	profile_builder__destroy(&pb);
}

int main(void)
{
	RUN_TEST(test_builder_dedup);
	RUN_TEST(test_builder_cap);
	RUN_TEST(test_encode_decoded_independently);
	RUN_TEST(test_builder_repairs_utf8);
	RUN_TEST(test_encode_filtered_and_empty);
	RUN_TEST(test_encode_inline_frames);
	return TEST_SUMMARY();
}

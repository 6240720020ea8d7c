/* Unit tests of window splitting into series, the spool file format and the spool directory:
 * round trips, torn and corrupt files, limits. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "export/spool.h"
#include "test.h"
#include "export/upload_batch.h"

static void fill(struct profile_builder *pb, int services, int stacks_per_service)
{
	uint32_t k = pb_string(pb, "service_name");

	for (int s = 0; s < services; s++) {
		char svc[32];

		snprintf(svc, sizeof(svc), "svc%d", s);
		for (int i = 0; i < stacks_per_service; i++) {
			char fn[32];
			uint32_t loc;
			struct pb_label l = { k, pb_string(pb, svc) };

			snprintf(fn, sizeof(fn), "f_%d_%d", s, i);
			loc = pb_location(pb, 0, pb_function(pb, fn), (uint64_t)i);
			pb_add_sample(pb, &loc, 1, &l, 1, 2);
		}
	}
}

static const char *label(const struct series_profile *sp, const char *name)
{
	for (size_t i = 0; i < sp->nlabels; i++)
		if (!strcmp(sp->labels[i].name, name))
			return sp->labels[i].value;
	return NULL;
}

static void test_split_by_service_and_limit(void)
{
	struct pprof_meta meta = { 10000000, 1700000000000000000ll, 15000000000ll };
	struct label_pair st[] = { { (char *)"env", (char *)"prod" } };
	struct batch_opts bo = {
		.static_labels = st, .nstatic = 1, .host_name = "h1", .max_samples_per_profile = 100
	};
	struct profile_builder pb;
	struct upload_batch *b;

	profile_builder__init(&pb, NULL);
	fill(&pb, 3, 250); /* 3 services x 250 stacks: 3 profiles each at 100 per profile */
	CHECK_INT(upload_batch_from_window(&pb, &meta, &bo, &b), 0);
	CHECK(b != NULL);
	if (b) {
		CHECK_INT(b->nseries, 9);
		CHECK_INT(b->samples, 1500);
		CHECK_STR(label(&b->series[0], "__name__"), "process_cpu");
		CHECK_STR(label(&b->series[0], "service_name"), "svc0");
		CHECK_STR(label(&b->series[8], "service_name"), "svc2");
		CHECK_STR(label(&b->series[0], "env"), "prod");
		CHECK_STR(label(&b->series[0], "host_name"), "h1");
		CHECK(b->series[0].pprof_gz[0] == 0x1f);
		upload_batch_free(b);
	}
	/* byte limit: tiny cap forces halving until single samples */
	bo.max_samples_per_profile = 0;
	bo.max_profile_bytes = 1; /* every profile is bigger: split down to one sample each */
	profile_builder__reset(&pb);
	fill(&pb, 1, 8);
	CHECK_INT(upload_batch_from_window(&pb, &meta, &bo, &b), 0);
	CHECK(b != NULL);
	CHECK_INT(b ? b->nseries : 0, 8);
	upload_batch_free(b);
	profile_builder__reset(&pb);
	CHECK_INT(upload_batch_from_window(&pb, &meta, &bo, &b), 0);
	CHECK(b == NULL); /* empty window: nothing to send */
	profile_builder__destroy(&pb);
}

static void test_static_label_overrides_service(void)
{
	struct pprof_meta meta = { 10000000, 1, 1 };
	struct label_pair st[] = { { (char *)"service_name", (char *)"checkout" } };
	struct batch_opts bo = { .static_labels = st, .nstatic = 1 };
	struct profile_builder pb;
	struct upload_batch *b;

	profile_builder__init(&pb, NULL);
	fill(&pb, 2, 3);
	CHECK_INT(upload_batch_from_window(&pb, &meta, &bo, &b), 0);
	CHECK(b && b->nseries == 2);
	if (b) {
		CHECK_STR(label(&b->series[0], "service_name"), "checkout");
		CHECK_INT(b->series[0].nlabels, 2); /* no duplicate service_name */
	}
	upload_batch_free(b);
	profile_builder__destroy(&pb);
}

static struct upload_batch *small_batch(void)
{
	struct pprof_meta meta = { 10000000, 1700000000000000000ll, 15000000000ll };
	struct batch_opts bo = { 0 };
	struct profile_builder pb;
	struct upload_batch *b = NULL;

	profile_builder__init(&pb, NULL);
	fill(&pb, 2, 5);
	upload_batch_from_window(&pb, &meta, &bo, &b);
	profile_builder__destroy(&pb);
	return b;
}

static void test_serialize_roundtrip_and_corruption(void)
{
	struct upload_batch *b = small_batch(), *p = NULL;
	uint8_t *buf;
	size_t len;

	CHECK(b != NULL);
	if (!b)
		return;
	CHECK_INT(upload_batch_serialize(b, &buf, &len), 0);
	CHECK_INT(upload_batch_parse(buf, len, &p), 0);
	CHECK(p != NULL);
	if (p) {
		CHECK_INT(p->nseries, b->nseries);
		CHECK_INT(p->start_ns, b->start_ns);
		CHECK_INT(p->end_ns, b->end_ns);
		CHECK_INT(p->sample_rate_hz, 100);
		CHECK_INT(p->samples, b->samples);
		CHECK_INT(p->series[1].len, b->series[1].len);
		CHECK(!memcmp(p->series[1].pprof_gz, b->series[1].pprof_gz, b->series[1].len));
		CHECK_STR(label(&p->series[1], "service_name"), "svc1");
		upload_batch_free(p);
	}
	/* every truncation and a flipped byte anywhere is rejected, never crashes */
	for (size_t cut = 0; cut < len; cut += 7)
		CHECK_INT(upload_batch_parse(buf, cut, &p), -EBADMSG);
	for (size_t i = 0; i < len; i += 5) {
		buf[i] ^= 0x40;
		CHECK_INT(upload_batch_parse(buf, len, &p), -EBADMSG);
		buf[i] ^= 0x40;
	}
	free(buf);
	upload_batch_free(b);
}

static void test_spool_dir(void)
{
	char dir[] = "/tmp/stoker-spool-XXXXXX", torn[4200], junk[4200];
	struct upload_batch *b = small_batch(), *r = NULL;
	char *p1 = NULL, *p2 = NULL, **paths;
	uint64_t bytes, *sizes;
	int n, fd;

	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(spool_prepare(dir), 0);
	CHECK_INT(spool_write(dir, b, 2, &p2, &bytes), 0);
	b->start_ns -= 1000; /* an older window sorts first */
	CHECK_INT(spool_write(dir, b, 1, &p1, &bytes), 0);
	snprintf(torn, sizeof(torn), "%s/00000000000000000001-00000009.spool.tmp", dir);
	fd = open(torn, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1);
	close(fd);
	n = spool_list(dir, &paths, &sizes);
	CHECK_INT(n, 2);
	CHECK(access(torn, F_OK) != 0); /* leftover temporary removed */
	if (n == 2) {
		CHECK_STR(paths[0], p1);
		CHECK_STR(paths[1], p2);
		CHECK_U64(sizes[0], bytes);
		CHECK_INT(spool_read(paths[0], 1 << 20, &r), 0);
		CHECK(r && r->nseries == b->nseries && r->spool_path && !strcmp(r->spool_path, p1));
		upload_batch_free(r);
		CHECK_INT(spool_read(paths[0], 10, &r), -EBADMSG); /* over the size cap */
		for (int i = 0; i < n; i++)
			free(paths[i]);
		free(paths);
		free(sizes);
	}
	/* a truncated spool file is reported, not trusted */
	CHECK_INT(truncate(p2, 60), 0);
	CHECK_INT(spool_read(p2, 1 << 20, &r), -EBADMSG);
	snprintf(junk, sizeof(junk), "%s/junk.spool", dir);
	fd = open(junk, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, "not a spool file at all, not at all", 35) == 35);
	close(fd);
	CHECK_INT(spool_read(junk, 1 << 20, &r), -EBADMSG);
	unlink(p1);
	unlink(p2);
	unlink(junk);
	rmdir(dir);
	free(p1);
	free(p2);
	upload_batch_free(b);
}

static void test_label_names(void)
{
	CHECK(label_name_valid("service_name"));
	CHECK(label_name_valid("k8s_pod"));
	CHECK(!label_name_valid("k8s.pod")); /* rejected, renamed or hidden by the server */
	CHECK(!label_name_valid("9lives"));
	CHECK(!label_name_valid("a-b"));
	CHECK(!label_name_valid(""));
	CHECK(!label_name_valid(".x"));
}

int main(void)
{
	RUN_TEST(test_split_by_service_and_limit);
	RUN_TEST(test_static_label_overrides_service);
	RUN_TEST(test_serialize_roundtrip_and_corruption);
	RUN_TEST(test_spool_dir);
	RUN_TEST(test_label_names);
	return TEST_SUMMARY();
}

/* Unit tests of window splitting into series and the serialized (spool file) form: round
 * trips, torn and corrupt input, limits. The spool directory is tested in test_spool.c. */
#include <errno.h>

#include "profile/pprof_encode.h"
#include "profile/profile_builder.h"
#include "test.h"
#include "export/upload_batch.h"

static void fill(struct profile_builder *pb, int services, int stacks_per_service)
{
	uint32_t k = profile_builder__string(pb, "service_name");

	for (int s = 0; s < services; s++) {
		char svc[32];

		snprintf(svc, sizeof(svc), "svc%d", s);
		for (int i = 0; i < stacks_per_service; i++) {
			char fn[32];
			uint32_t loc;
			struct pb_label l = { k, profile_builder__string(pb, svc) };

			snprintf(fn, sizeof(fn), "f_%d_%d", s, i);
			loc = profile_builder__location(pb, 0, profile_builder__function(pb, fn),
							(uint64_t)i);
			profile_builder__add_sample(pb, &loc, 1, &l, 1, 2);
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
	CHECK_INT(upload_batch__from_window(&pb, &meta, &bo, &b), 0);
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
		upload_batch__free(b);
	}
	/* byte limit: tiny cap forces halving until single samples */
	bo.max_samples_per_profile = 0;
	bo.max_profile_bytes = 1; /* every profile is bigger: split down to one sample each */
	profile_builder__reset(&pb);
	fill(&pb, 1, 8);
	CHECK_INT(upload_batch__from_window(&pb, &meta, &bo, &b), 0);
	CHECK(b != NULL);
	CHECK_INT(b ? b->nseries : 0, 8);
	upload_batch__free(b);
	profile_builder__reset(&pb);
	CHECK_INT(upload_batch__from_window(&pb, &meta, &bo, &b), 0);
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
	CHECK_INT(upload_batch__from_window(&pb, &meta, &bo, &b), 0);
	CHECK(b && b->nseries == 2);
	if (b) {
		CHECK_STR(label(&b->series[0], "service_name"), "checkout");
		CHECK_INT(b->series[0].nlabels, 2); /* no duplicate service_name */
	}
	upload_batch__free(b);
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
	upload_batch__from_window(&pb, &meta, &bo, &b);
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
	CHECK_INT(upload_batch__serialize(b, &buf, &len), 0);
	CHECK_INT(upload_batch__parse(buf, len, &p), 0);
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
		upload_batch__free(p);
	}
	/* every truncation and a flipped byte anywhere is rejected, never crashes */
	for (size_t cut = 0; cut < len; cut += 7)
		CHECK_INT(upload_batch__parse(buf, cut, &p), -EBADMSG);
	for (size_t i = 0; i < len; i += 5) {
		buf[i] ^= 0x40;
		CHECK_INT(upload_batch__parse(buf, len, &p), -EBADMSG);
		buf[i] ^= 0x40;
	}
	free(buf);
	upload_batch__free(b);
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
	RUN_TEST(test_label_names);
	return TEST_SUMMARY();
}

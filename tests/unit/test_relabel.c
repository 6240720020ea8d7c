/* Unit tests of relabeling, mirroring the examples of Prometheus' relabel_config docs. */
#include <errno.h>

#include "label/relabel.h"
#include "test.h"

#define S "\x1f"

static struct label_set base(void)
{
	struct label_set ls = { .n = 0 };

	label_set__put(&ls, "service_name", "api");
	label_set__put(&ls, "__meta_process_comm", "nginx");
	label_set__put(&ls, "__meta_process_exe", "/usr/sbin/nginx");
	label_set__put(&ls, "__meta_kubernetes_pod_label_app", "shop");
	label_set__put(&ls, "__meta_kubernetes_pod_label_tier", "web");
	label_set__put(&ls, "env", "prod");
	label_set__put(&ls, "tmp_debug", "1");
	return ls;
}

static bool apply(const char *const *specs, size_t n, struct label_set *ls)
{
	struct relabel_rule rules[8] = { 0 };
	char err[256];
	bool kept;

	for (size_t i = 0; i < n; i++) {
		int rc = relabel_rule__parse(specs[i], &rules[i], err, sizeof(err));

		CHECK_INT(rc, 0);
		if (rc)
			fprintf(stderr, "    rule %zu: %s\n", i, err);
	}
	kept = relabel_apply(rules, n, ls);
	for (size_t i = 0; i < n; i++)
		relabel_rule__free(&rules[i]);
	return kept;
}

static void test_replace(void)
{
	const char *const rules[] = {
		"source_labels=__meta_process_comm" S "target_label=service_name",
		"source_labels=env,service_name" S "separator=/" S "regex=(.*)/(.*)" S
		"target_label=id" S "replacement=$2@${1}",
		"source_labels=env" S "regex=pro" S "target_label=unanchored" S "replacement=x",
		"source_labels=env" S "regex=prod" S "target_label=tmp_debug" S "replacement=",
	};
	struct label_set ls = base();

	CHECK(apply(rules, 4, &ls));
	CHECK_STR(label_set__get(&ls, "service_name"), "nginx");
	CHECK_STR(label_set__get(&ls, "id"), "nginx@prod");
	CHECK(label_set__get(&ls, "unanchored") == NULL); /* "pro" must not match "prod" */
	CHECK(label_set__get(&ls, "tmp_debug") == NULL);  /* empty replacement deletes */
	CHECK(label_set__get(&ls, "__meta_process_comm") ==
	      NULL); /* __ labels removed at the end */
}

static void test_keep_and_drop(void)
{
	const char *const keep_prod[] = { "action=keep" S "source_labels=env" S
					  "regex=prod|staging" };
	const char *const keep_dev[] = { "action=keep" S "source_labels=env" S "regex=dev" };
	const char *const drop_nginx[] = { "action=drop" S "source_labels=__meta_process_exe" S
					   "regex=.*/nginx" };
	struct label_set ls = base();

	CHECK(apply(keep_prod, 1, &ls));
	ls = base();
	CHECK(!apply(keep_dev, 1, &ls));
	ls = base();
	CHECK(!apply(drop_nginx, 1, &ls));
}

static void test_labelmap_labeldrop_labelkeep(void)
{
	const char *const m[] = { "action=labelmap" S "regex=__meta_kubernetes_pod_label_(.+)" };
	const char *const d[] = { "action=labeldrop" S "regex=tmp_.*" };
	const char *const k[] = { "action=labelkeep" S "regex=service_name|env" };
	struct label_set ls = base();

	CHECK(apply(m, 1, &ls));
	CHECK_STR(label_set__get(&ls, "app"), "shop");
	CHECK_STR(label_set__get(&ls, "tier"), "web");
	ls = base();
	CHECK(apply(d, 1, &ls));
	CHECK(label_set__get(&ls, "tmp_debug") == NULL);
	CHECK_STR(label_set__get(&ls, "env"), "prod");
	ls = base();
	CHECK(apply(k, 1, &ls));
	CHECK_INT(ls.n, 2);
}

static void test_invalid_rules(void)
{
	const char *bad[] = {
		"action=frobnicate",
		"action=replace" S "source_labels=a", /* no target_label */
		"action=keep",			      /* no source_labels */
		"source_labels=a" S "target_label=b" S "regex=(unclosed",
		"source_labels=a" S "target_label=b" S "color=blue", /* unknown field */
		"garbage",
	};
	struct relabel_rule r;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_INT(relabel_rule__parse(bad[i], &r, err, sizeof(err)), -EINVAL);
		CHECK(err[0] != '\0');
		relabel_rule__free(&r);
	}
}

int main(void)
{
	RUN_TEST(test_replace);
	RUN_TEST(test_keep_and_drop);
	RUN_TEST(test_labelmap_labeldrop_labelkeep);
	RUN_TEST(test_invalid_rules);
	return TEST_SUMMARY();
}

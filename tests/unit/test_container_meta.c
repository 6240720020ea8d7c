/* Unit tests of the kubelet /pods and Docker /containers/json parsers on recorded answers
 * (tests/fixtures/metadata), and on broken ones. */
#include <errno.h>

#include "label/container_meta.h"
#include "test.h"

struct seen {
	int n;
	char ids[8][80];
	struct container_info ci[8];
};

static void collect(const char *id, const struct container_info *ci, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", id);
		s->ci[s->n++] = *ci;
	}
}

static char *slurp(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf = calloc(1, 1 << 16);

	snprintf(path, sizeof(path), "tests/fixtures/metadata/%s", name);
	f = fopen(path, "r");
	*len = f ? fread(buf, 1, (1 << 16) - 1, f) : 0;
	if (f)
		fclose(f);
	return buf;
}

static void test_kubelet_pods(void)
{
	size_t len;
	char *j = slurp("kubelet-pods.json", &len);
	struct seen s = { 0 };

	CHECK_INT(container_meta_parse_pods(j, len, collect, &s), 3);
	CHECK_STR(s.ids[0], "@APP_ID@"); /* runtime prefix stripped */
	CHECK_STR(s.ci[0].pod, "checkout-7d9f8b6c5-x2x9q");
	CHECK_STR(s.ci[0].namespace, "shop");
	CHECK_STR(s.ci[0].container, "app");
	CHECK_STR(s.ci[0].node, "node-a");
	CHECK_STR(s.ci[0].service_annotation, "checkout-svc");
	CHECK_STR(s.ci[1].container, "sidecar");
	CHECK_STR(s.ids[2], "@WEB_ID@"); /* cri-o:// too */
	CHECK_STR(s.ci[2].service_annotation, "");
	free(j);
}

static void test_docker(void)
{
	size_t len;
	char *j = slurp("docker-containers.json", &len);
	struct seen s = { 0 };

	CHECK_INT(container_meta_parse_docker(j, len, collect, &s), 2);
	CHECK_STR(s.ci[0].docker_name, "shop-api-1");
	CHECK_STR(s.ci[0].compose_service, "api");
	CHECK_STR(s.ci[1].docker_name, "lonely");
	CHECK_STR(s.ci[1].compose_service, "");
	free(j);
}

static void test_garbage(void)
{
	const char *bad[] = {
		"", "{", "[]", "{\"items\": 5}", "{\"items\": [1, \"x\", null]}", "null", "\xff\xfe"
	};
	struct seen s = { 0 };

	CHECK_INT(container_meta_parse_pods(bad[0], 0, collect, &s), -EBADMSG);
	CHECK_INT(container_meta_parse_pods(bad[1], 1, collect, &s), -EBADMSG);
	CHECK_INT(container_meta_parse_pods(bad[2], 2, collect, &s), -EBADMSG);
	CHECK_INT(container_meta_parse_pods(bad[3], strlen(bad[3]), collect, &s), -EBADMSG);
	CHECK_INT(container_meta_parse_pods(bad[4], strlen(bad[4]), collect, &s), 0);
	CHECK_INT(container_meta_parse_docker(bad[5], 4, collect, &s), -EBADMSG);
	CHECK_INT(container_meta_parse_docker(bad[6], 2, collect, &s), -EBADMSG);
	CHECK_INT(container_meta_parse_docker("[{\"Names\": 3}, 7]", 17, collect, &s), 0);
	CHECK_INT(s.n, 0);
}

int main(void)
{
	RUN_TEST(test_kubelet_pods);
	RUN_TEST(test_docker);
	RUN_TEST(test_garbage);
	return TEST_SUMMARY();
}

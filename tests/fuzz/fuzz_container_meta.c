/* Fuzz target: kubelet /pods and Docker /containers/json answers (a compromised or broken
 * node API answers anything); the first byte picks the parser. */
#include <stdint.h>
#include <string.h>

#include "label/container_meta.h"

static void touch(const char *id, const struct container_info *ci, void *arg)
{
	size_t *sum = arg;

	/* every field must be a terminated string of its array */
	*sum += strlen(id) + strnlen(ci->pod, sizeof(ci->pod)) +
		strnlen(ci->namespace, sizeof(ci->namespace)) +
		strnlen(ci->container, sizeof(ci->container)) +
		strnlen(ci->node, sizeof(ci->node)) +
		strnlen(ci->service_annotation, sizeof(ci->service_annotation)) +
		strnlen(ci->docker_name, sizeof(ci->docker_name)) +
		strnlen(ci->compose_service, sizeof(ci->compose_service));
	if (ci->pod[sizeof(ci->pod) - 1] || ci->namespace[sizeof(ci->namespace) - 1] ||
	    ci->container[sizeof(ci->container) - 1] || ci->node[sizeof(ci->node) - 1] ||
	    ci->docker_name[sizeof(ci->docker_name) - 1])
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sum = 0;

	if (!size)
		return 0;
	if (data[0] & 1)
		container_meta_parse_docker((const char *)data + 1, size - 1, touch, &sum);
	else
		container_meta_parse_pods((const char *)data + 1, size - 1, touch, &sum);
	return 0;
}

/* Fuzz target: /proc/PID/cgroup text and cgroup paths -> identity (any container can pick
 * odd cgroup names). */
#include <stdint.h>
#include <string.h>

#include "label/cgroup_identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgroup_identity id;
	char path[1024];

	cgroup_identity_from_proc((const char *)data, size, &id);
	if (size < sizeof(path)) {
		memcpy(path, data, size);
		path[size] = '\0';
		cgroup_identity_from_path(path, &id);
	}
	return 0;
}

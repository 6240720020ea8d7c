/* Fuzz target: /proc/PID/maps text (any process can shape its own mappings and names). */
#include <stdint.h>
#include <stdlib.h>

#include "object/proc_maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_map *maps = NULL;
	int n = proc_maps_parse((const char *)data, size, 64, &maps, NULL);

	for (int i = 0; i < n; i++)
		proc_maps_find(maps, (size_t)n, maps[i].start + (maps[i].end - maps[i].start) / 2);
	proc_maps_find(maps, n > 0 ? (size_t)n : 0, 0x7f0000000000ull);
	free(maps);
	return 0;
}

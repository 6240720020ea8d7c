/* Fuzz target: CPython 3.11 location tables -> lines (co_linetable is read from the profiled
 * process, whose memory may hold anything). The first two bytes pick co_firstlineno. */
#include <stdint.h>

#include "symbolize/python_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int first;

	if (size < 2)
		return 0;
	first = (int)(int16_t)(data[0] | data[1] << 8);
	for (int lasti = -1; lasti <= (int)(size * 8) + 1; lasti++)
		python_line_311(data + 2, size - 2, first, lasti);
	return 0;
}

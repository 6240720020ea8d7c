/* Fuzz target: /proc/kallsyms text. */
#include <stdint.h>
#include "symbolize/kallsyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kallsyms *ks = kallsyms__parse((const char *)data, size);

	if (!ks)
		return 0;
	for (uint64_t a = 0xffffffff81000000ull; a < 0xffffffff81003000ull; a += 0x111)
		kallsyms__lookup(ks, a);
	kallsyms__lookup(ks, 0);
	kallsyms__lookup(ks, UINT64_MAX);
	kallsyms__free(ks);
	return 0;
}

/* Fuzz target: spool files (a torn write, a full disk or another program may leave
 * anything in the spool directory). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export/upload_batch.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The input as it is, and again with a valid header and checksum in front of its tail, so
 * the fuzzer reaches the payload parser instead of stopping at the CRC. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct upload_batch *b = NULL;
	uint8_t *fixed;

	if (upload_batch__parse(data, size, &b) == 0)
		upload_batch__free(b);
	if (size < 24)
		return 0;
	fixed = malloc(48 + size - 24);
	if (!fixed)
		return 0;
	memcpy(fixed, "STKSPL01", 8);
	put32(fixed + 8, 1);
	memcpy(fixed + 12, data, 4);	  /* sample rate */
	memcpy(fixed + 16, data + 4, 16); /* window start and end */
	for (int i = 0; i < 8; i++)
		fixed[32 + i] = (uint8_t)((uint64_t)(size - 24) >> (8 * i));
	memcpy(fixed + 44, data + 20, 4); /* samples */
	memcpy(fixed + 48, data + 24, size - 24);
	put32(fixed + 40, (uint32_t)crc32(crc32(crc32(0L, fixed + 8, 32), fixed + 44, 4),
					  fixed + 48, (uInt)(size - 24)));
	b = NULL;
	if (upload_batch__parse(fixed, 48 + size - 24, &b) == 0) {
		uint8_t *out;
		size_t len;

		if (upload_batch__serialize(b, &out, &len) == 0)
			free(out);
		upload_batch__free(b);
	}
	free(fixed);
	return 0;
}

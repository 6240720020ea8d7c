/* Fuzz target: cli_parse (argv split on newlines) and cli_reload of its result, and the
 * duration, size and number parsers its flags use. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cli.h"
#include "util/parse_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[64];
	int argc = 1;
	struct config cfg;
	uint64_t v;
	FILE *saved = stderr;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	parse_duration_ns(buf, &v);
	parse_size(buf, &v);
	parse_u64(buf, 0, UINT64_MAX, &v);
	parse_hex_u64(buf, NULL, &v);
	argv[0] = (char *)"stoker";
	for (char *p = buf; argc < 63 && p;) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		argv[argc++] = p;
		p = nl ? nl + 1 : NULL;
	}
	argv[argc] = NULL;
	stderr = fopen("/dev/null", "w");
	config_defaults(&cfg);
	if (!cli_parse(argc, argv, &cfg)) {
		struct config running;
		char changed[256];

		/* what a SIGHUP does with the parsed config */
		config_defaults(&running);
		cli_reload(&running, &cfg, changed, sizeof(changed));
	}
	fclose(stderr);
	stderr = saved;
	free(buf);
	return 0;
}

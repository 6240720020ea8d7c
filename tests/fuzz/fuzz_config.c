/* Fuzz target: the YAML config file, through the same flag parser that checks it. */
#include <stdint.h>
#include <stdio.h>

#include "config/cli.h"
#include "config/config_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_args a;
	struct config cfg;
	FILE *saved = stderr;

	stderr = fopen("/dev/null", "w"); /* errors are expected and printed: keep output quiet */
	if (config_file_parse((const char *)data, size, "fuzz.yaml", &a) == 0 && a.argc) {
		config_defaults(&cfg);
		cli_parse(a.argc, a.argv, &cfg);
	}
	config_args__free(&a);
	fclose(stderr);
	stderr = saved;
	return 0;
}

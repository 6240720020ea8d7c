/* Fuzz target: /proc/kallsyms text, parsed from memory and read from a file in the smallest
 * reads the loader allows (lines cut at every offset), which must name every probed address
 * alike. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "symbolize/kallsyms.h"
#include "util/log.h"

static int fd = -1;

static void same_at(const struct kallsyms *a, const struct kallsyms *b, uint64_t addr)
{
	const struct ksym *x = kallsyms__lookup(a, addr), *y = kallsyms__lookup(b, addr);

	if (!x != !y)
		abort();
	if (x && (x->addr != y->addr || strcmp(x->name, y->name) || strcmp(x->module, y->module)))
		abort();
}

/* The address a line starts with, as far as it has hex digits. */
static uint64_t line_addr(const uint8_t *p, const uint8_t *end)
{
	uint64_t a = 0;

	for (int i = 0; i < 16 && p < end; i++, p++) {
		int c = *p, v = c >= '0' && c <= '9'   ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
						       : -1;

		if (v < 0)
			break;
		a = a << 4 | (uint64_t)v;
	}
	return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kallsyms *ks = kallsyms__parse((const char *)data, size), *kf = NULL;
	const uint8_t *p = data, *end = data + size;

	/* every all-zero input would warn about kptr_restrict */
	log_set_level(LOG_ERROR);
	if (fd < 0)
		fd = memfd_create("fuzz_kallsyms", MFD_CLOEXEC);
	if (fd >= 0 && !ftruncate(fd, 0) && pwrite(fd, data, size, 0) == (ssize_t)size &&
	    !lseek(fd, 0, SEEK_SET))
		kf = kallsyms__load_fd(fd, 0);
	else
		abort();
	/* both refuse (every address zero) or both load */
	if (!ks != !kf)
		abort();
	if (!ks)
		return 0;
	if (kallsyms__count(ks) != kallsyms__count(kf))
		abort();
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		uint64_t a = line_addr(p, end);

		same_at(ks, kf, a);
		same_at(ks, kf, a - 1);
		same_at(ks, kf, a + 1);
		p = nl ? nl + 1 : end;
	}
	for (uint64_t a = 0xffffffff81000000ull; a < 0xffffffff81003000ull; a += 0x111)
		same_at(ks, kf, a);
	same_at(ks, kf, 0);
	same_at(ks, kf, UINT64_MAX);
	kallsyms__free(kf);
	kallsyms__free(ks);
	return 0;
}

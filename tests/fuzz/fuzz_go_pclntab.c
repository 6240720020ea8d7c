/* Fuzz target: Go's pclntab reader over arbitrary bytes (any process can map a crafted "Go"
 * binary): an input starting with the ELF magic goes through the file path (section, Go note,
 * segment scan), any other is parsed as a pclntab image; lookups then walk its functab and
 * pcvalue tables across the PCs it claims. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "object/go_pclntab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct go_pclntab *t = NULL;
	struct go_func f;

	if (size >= 4 && !memcmp(data, "\177ELF", 4)) {
		int fd = memfd_create("fuzz-go", MFD_CLOEXEC);

		if (fd < 0)
			return 0;
		if (write(fd, data, size) == (ssize_t)size)
			t = go_pclntab__open_fd(fd, 1 << 20);
		close(fd);
	} else {
		t = go_pclntab__new(data, size, 0x401000);
	}
	if (!t)
		return 0;
	/* around the synthetic seeds' text (0x401000) and every first PCs a header may claim */
	for (uint64_t pc = 0x400ff0; pc < 0x401080; pc++)
		go_pclntab__lookup(t, pc, &f);
	for (uint64_t pc = 0; pc < 0x100; pc += 7)
		go_pclntab__lookup(t, pc, &f);
	go_pclntab__free(t);
	return 0;
}

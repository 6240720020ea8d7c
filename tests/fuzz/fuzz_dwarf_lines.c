/* Fuzz target: DWARF lines and inline chains of an arbitrary ELF image (a container's binary,
 * a debug file, one a debuginfod server sent): section sizing, compressed sections, the copy
 * to a scratch directory (section table, inflate, unit headers and .debug_aranges read with
 * pread), the CU range index and the inline-chain walk, parsed units dropped over a small
 * budget, the release and reload of the DWARF, through our code on libdw. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "object/dwarf_lines.h"

/* elfutils 0.188's dwarf_getscopes leaks the scopes it found when the walk to an inline's
 * abstract origin then fails on broken DWARF (it returns -1 without freeing them): a libdw
 * leak of a few bytes per such address, bounded in the agent by the address cache (each
 * address is asked once). Not ours to fix here. libdw has no frame pointers, so the leak's
 * stack names only the module: leaks allocated inside libdw are not reported; ours are. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libdw.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dwarf_lines_opts opts = { .max_cache_bytes = 1 << 16, .max_debug_bytes = 64 << 20 };
	struct dwarf_lines *dl;
	int fd = memfd_create("fuzz-dwarf", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	/* the memfd is writable by all, as a file another user owns: copied when there is a
	 * scratch directory (half the inputs), else read by libelf; and half drop their parsed
	 * units at every new unit */
	if (size & 1)
		opts.scratch_dir = "/var/tmp";
	if (size & 2)
		opts.max_parsed_bytes = 1;
	if (write(fd, data, size) == (ssize_t)size) {
		dl = dwarf_lines__open_fd(fd, &opts);
		if (dl) {
			/* the text of small programs sits here; then from the cache with the
			 * DWARF released (the frames' strings must be the cache's own), then
			 * more addresses after a reload */
			for (int round = 0; round < 3; round++) {
				if (round == 1)
					dwarf_lines__release(dl);
				if (round == 2 && dwarf_lines__reload_fd(dl, fd))
					break;
				for (uint64_t a = 0x1000; a < 0x1400 + 0x100 * (round == 2);
				     a += 0x7) {
					const struct dwarf_line_frame *f;
					int n = dwarf_lines__lookup(dl, a, &f);

					/* reading every string: ASan sees a freed one */
					for (int i = 0; i < n; i++)
						(void)(strlen(f[i].function ? f[i].function : "") +
						       strlen(f[i].file ? f[i].file : ""));
				}
			}
			dwarf_lines__memory_bytes(dl);
			dwarf_lines__free(dl);
		}
	}
	close(fd);
	return 0;
}

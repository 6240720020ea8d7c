/* Fuzz target: symbol lookup over an arbitrary ELF image (any process can map a crafted
 * ELF): build-id notes, symbol tables, .gnu_debuglink resolution and .gnu_debugdata
 * decompression under a small cap, PT_LOAD segments, the trace-context symbol lookup, all
 * through our code on libelf. */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "object/elf_symbols.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* debuglink candidates are searched beside this path and under this root: a name that
	 * escaped them would be visible as an open() outside /nonexistent */
	struct elf_object_opts opts = { .root = "/nonexistent-root",
					.max_debugdata_bytes = 1 << 20,
					.max_symbols = 1 << 16 };
	struct elf_symbol_result r;
	struct elf_object *o;
	uint8_t bid[64];
	uint64_t va;
	int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		struct elf_segment segs[ELF_MAX_SEGMENTS];
		struct elf_data_symbol ds;
		int n;

		/* what the object layer reads of every mapped file when it opens it */
		elf_read_build_id_fd(fd, bid, sizeof(bid));
		n = elf_read_segments_fd(fd, segs, ELF_MAX_SEGMENTS);
		if (n > 0)
			elf_segments_offset_to_vaddr(segs, (size_t)n, 0x1000, &va);
		/* the trace-context ABI lookup (object__data_symbol) reads the same files */
		elf_find_data_symbol_fd(fd, "stoker_trace_ctx_v1_tp_offset", 0, &ds);
		o = elf_object__open_fd(fd, "/nonexistent/dir/bin", &opts);
		if (o) {
			for (uint64_t a = 0; a < 0x4000; a += 0x40)
				elf_object__lookup(o, a, &r);
			elf_object__offset_to_vaddr(o, 0x1000, &va);
			elf_object__free(o);
		}
	}
	close(fd);
	return 0;
}

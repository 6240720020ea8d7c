/* Fuzz target: unwind-table generation from an arbitrary ELF image's .eh_frame/.debug_frame
 * (any process can map a crafted ELF), through our code on libdw's CFI reader, plus lookups
 * and bias computation over whatever table results. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "object/unwind_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct unwind_rules *rules;
	struct unwind_table_opts o = { .max_rows = 1 << 16, .debug_frame = true };
	struct unwind_table t;
	uint64_t bias;
	char *copy;
	Elf *elf;

	if (!rules) {
		elf_version(EV_CURRENT);
		rules = malloc(sizeof(*rules));
		if (!rules)
			return 0;
	}
	/* a fresh set per input, so rule indices are always the ones this input made */
	unwind_rules__init(rules);
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	elf = elf_memory(copy, size);
	if (elf) {
		if (!unwind_table__build(elf, rules, &o, &t)) {
			for (size_t i = 0; i < t.nrows; i++) {
				if (t.rows[i].rule >= rules->n)
					abort(); /* a row naming a rule that does not exist */
				if (i && t.rows[i].pc <= t.rows[i - 1].pc)
					abort(); /* rows must be strictly sorted for the BPF search
						  */
			}
			unwind_table__find(&t, 0x1000);
			unwind_segments_bias(t.segs, t.nsegs, 0x7f0000000000ull, 0x1000, &bias);
			unwind_table__free(&t);
		}
		elf_end(elf);
	}
	free(copy);
	return 0;
}

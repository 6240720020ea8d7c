/* SPDX-License-Identifier: BSD-2-Clause */
/* What symbolizing one address yields: a short list of frames, innermost first, more than one
 * when the code at the address was inlined (or an interpreter ran frames of its own there). */
#ifndef STOKER_FRAME_H
#define STOKER_FRAME_H

#include <stdbool.h>
#include <stdint.h>

/* Frames one address may yield: the deepest inline chain kept. */
#define FRAME_MAX_PER_ADDR 16

enum frame_kind {
	FRAME_NATIVE = 0,  /* machine code of a mapped file (or of no known mapping) */
	FRAME_KERNEL,	   /* kernel or module text */
	FRAME_JIT,	   /* anonymous executable memory, named by a perf map if at all */
	FRAME_INTERPRETED, /* a frame of an interpreter's own stack */
};

/* One function activation at an address. The strings are borrowed from whoever produced the
 * frame and valid only while it is being handed over (a callback's duration). */
struct frame {
	const char *function; /* as shown: demangled, or "module+0xoffset" when nothing names it */
	const char *file;     /* source file, NULL when unknown */
	uint32_t line;	      /* source line, 0 when unknown */
	uint32_t start_line;  /* the function's first line, 0 when unknown */
	const char *mapping;  /* module as the process maps it: a path, "[kernel.kallsyms]",
			       * "[ext4]", "[jit]", "[vdso]"; NULL when no mapping contains it */
	const char *build_id; /* hex, NULL or "" when none */
	/* normalized address, the same for every frame of the list: ELF virtual address when
	 * the symbol table named it, else the file offset; kernel and JIT addresses as is */
	uint64_t address;
	enum frame_kind kind;
	bool inlined; /* inlined into the next frame of the list */
	bool unnamed; /* function only says where it is: nothing named the address */
};

#endif

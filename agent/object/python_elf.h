/* SPDX-License-Identifier: BSD-2-Clause */
/* Whether an ELF file holds a CPython interpreter (the python3.x executable or libpython3.x.so),
 * found by its symbols, never its name: where its runtime state, version and eval loop are. */
#ifndef STOKER_OBJECT_PYTHON_ELF_H
#define STOKER_OBJECT_PYTHON_ELF_H

#include <stdint.h>

#include <gelf.h>

/* ELF virtual addresses of the file's CPython anchors. */
struct python_elf {
	uint64_t runtime;	       /* _PyRuntime */
	uint64_t version;	       /* Py_Version (3.11+: PY_VERSION_HEX in .rodata), 0: none */
	uint64_t code_type;	       /* PyCode_Type, the type of every code object; 0: none */
	uint64_t eval_start, eval_end; /* _PyEval_EvalFrameDefault */
	uint64_t cold_start, cold_end; /* its .cold part; 0, 0 when none was found */
};

/* Fills out from elf's .dynsym and .symtab. The .cold part comes from a .symtab symbol when
 * there is one, else from the call frame information: the FDE most of the eval loop's jumps
 * out of itself land in. Returns 0, or -ENOENT when elf has no _PyRuntime or eval loop. */
int python_elf_find(Elf *elf, struct python_elf *out);

#endif

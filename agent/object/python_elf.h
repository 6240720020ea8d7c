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

/* glibc's thread-specific data in a libc.so: pthread_getspecific finds key k's value at
 * thread pointer + tsd_offset + 16 * k + 8 (k < 32). */
struct libc_tsd {
	uint32_t tsd_offset; /* 0: not a glibc whose layout this reads */
};

/* Reads the layout from pthread_getspecific's code (x86-64: add $n,%rax; shl $4,%rax, then
 * the thread pointer is added: tsd_offset = n << 4). Returns 0, or -ENOENT for any other
 * file or code. */
int libc_tsd_find(Elf *elf, struct libc_tsd *out);

/* Fills out from elf's .dynsym and .symtab. The .cold part comes from a .symtab symbol when
 * there is one, else from the call frame information: the FDE most of the eval loop's jumps
 * out of itself land in. Returns 0, or -ENOENT when elf has no _PyRuntime or eval loop. */
int python_elf_find(Elf *elf, struct python_elf *out);

#endif

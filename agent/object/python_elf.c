/* SPDX-License-Identifier: BSD-2-Clause */
/* CPython anchors of an ELF file: symbols by name, and the eval loop's .cold fragment, which a
 * stripped interpreter only shows through the branches into it and its own FDE; and the glibc
 * layout through which the interpreter's thread states are found. */
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "object/elf_open.h"
#include "object/elf_symbols.h"
#include "object/python_elf.h"

#define EVAL_SYMBOL "_PyEval_EvalFrameDefault"
#define COLD_SYMBOL "_PyEval_EvalFrameDefault.cold"
/* Jumps that must land in one FDE before it is taken for the .cold part: GCC moves hundreds
 * of error paths there, while byte patterns that only look like jumps scatter. */
#define COLD_MIN_VOTES	 16
#define COLD_MAX_TARGETS 65536
/* The eval loop is about 50 KiB of code in every CPython release; its claimed size is capped
 * before it is read. */
#define CODE_READ_MAX (4u << 20)

static void scan_symbols(Elf *elf, Elf64_Word type, struct python_elf *out)
{
	Elf_Data *data;
	Elf_Scn *scn;
	GElf_Shdr sh;
	size_t n;

	scn = elf_find_section(elf, type, NULL, &sh);
	if (!scn)
		return;
	data = elf_symtab_data(elf, scn, &sh, ELF_SECTION_READ_MAX);
	if (!data || !sh.sh_entsize)
		return;
	n = data->d_size / sh.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		const char *name;
		GElf_Sym sym;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		if (sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name || (name[0] != '_' && name[0] != 'P'))
			continue;
		if (!out->runtime && !strcmp(name, "_PyRuntime"))
			out->runtime = sym.st_value;
		else if (!out->version && !strcmp(name, "Py_Version"))
			out->version = sym.st_value;
		else if (!out->code_type && !strcmp(name, "PyCode_Type"))
			out->code_type = sym.st_value;
		else if (!out->eval_start && sym.st_size && !strcmp(name, EVAL_SYMBOL)) {
			out->eval_start = sym.st_value;
			out->eval_end = sym.st_value + sym.st_size;
		} else if (!out->cold_start && sym.st_size && !strcmp(name, COLD_SYMBOL)) {
			out->cold_start = sym.st_value;
			out->cold_end = sym.st_value + sym.st_size;
		}
	}
}

/* The bytes of [vaddr, vaddr + size) from the code section holding them (its header in *out),
 * read from the file; NULL past CODE_READ_MAX or outside every code section. */
static const uint8_t *code_bytes(Elf *elf, uint64_t vaddr, uint64_t size, GElf_Shdr *out)
{
	Elf_Scn *scn = NULL;
	Elf_Data *d;

	if (!size || size > CODE_READ_MAX)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, out) || out->sh_type != SHT_PROGBITS ||
		    !(out->sh_flags & SHF_EXECINSTR))
			continue;
		if (vaddr < out->sh_addr || vaddr - out->sh_addr > out->sh_size ||
		    size > out->sh_size - (vaddr - out->sh_addr))
			continue;
		/* libelf checks the range against the file */
		d = elf_getdata_rawchunk(elf, (int64_t)(out->sh_offset + (vaddr - out->sh_addr)),
					 size, ELF_T_BYTE);
		return d ? d->d_buf : NULL;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Targets of the rel32 jumps (jmp, jcc) in the eval loop that leave it, counted per FDE. */
static void find_cold(Elf *elf, struct python_elf *out)
{
	uint64_t size = out->eval_end - out->eval_start, *targets = NULL, best = 0;
	uint64_t best_start = 0, best_end = 0;
	const uint8_t *code;
	Dwarf_CFI *cfi = NULL;
	size_t nt = 0;
	GElf_Shdr sh;

	code = code_bytes(elf, out->eval_start, size, &sh);
	if (!code || size < 8)
		return;
	targets = malloc(COLD_MAX_TARGETS * sizeof(*targets));
	if (!targets)
		return;
	for (uint64_t i = 0; i + 6 <= size && nt < COLD_MAX_TARGETS; i++) {
		uint64_t next, t;
		int32_t rel;

		if (code[i] == 0x0f && (code[i + 1] & 0xf0) == 0x80) {
			memcpy(&rel, code + i + 2, 4);
			next = out->eval_start + i + 6;
		} else if (code[i] == 0xe9) {
			memcpy(&rel, code + i + 1, 4);
			next = out->eval_start + i + 5;
		} else {
			continue;
		}
		t = next + (uint64_t)(int64_t)rel;
		if (t >= out->eval_start && t < out->eval_end)
			continue;
		if (t < sh.sh_addr || t >= sh.sh_addr + sh.sh_size)
			continue;
		targets[nt++] = t;
	}
	cfi = elf_cfi_fits(elf) ? dwarf_getcfi_elf(elf) : NULL;
	if (!cfi || !nt)
		goto out;
	qsort(targets, nt, sizeof(*targets), cmp_u64);
	for (size_t i = 0; i < nt;) {
		Dwarf_Frame *fr = NULL;
		Dwarf_Addr s = 0, e = 0;
		size_t j = i + 1;

		if (dwarf_cfi_addrframe(cfi, targets[i], &fr) != 0 || !fr ||
		    dwarf_frame_info(fr, &s, &e, NULL) < 0 || e <= targets[i]) {
			free(fr);
			i++;
			continue;
		}
		free(fr);
		while (j < nt && targets[j] < e)
			j++;
		if (j - i > best) {
			best = j - i;
			best_start = s;
			best_end = e;
		}
		i = j;
	}
	/* the FDE's range, which may start before the first jump target */
	if (best >= COLD_MIN_VOTES) {
		out->cold_start = best_start;
		out->cold_end = best_end;
	}
out:
	if (cfi)
		dwarf_cfi_end(cfi);
	free(targets);
}

int python_elf_find(Elf *elf, struct python_elf *out)
{
	memset(out, 0, sizeof(*out));
	scan_symbols(elf, SHT_DYNSYM, out);
	if (!out->runtime || !out->eval_start || !out->cold_start)
		scan_symbols(elf, SHT_SYMTAB, out);
	if (!out->runtime || !out->eval_start)
		return -ENOENT;
	if (!out->cold_start)
		find_cold(elf, out);
	return 0;
}

int libc_tsd_find(Elf *elf, struct libc_tsd *out)
{
	static const uint8_t add_rax[] = { 0x48, 0x83, 0xc0 },
			     shl4_rax[] = { 0x48, 0xc1, 0xe0, 0x04 };
	uint64_t fn = 0, size = 0;
	const uint8_t *code;
	GElf_Shdr sh;
	GElf_Sym sym;

	memset(out, 0, sizeof(*out));
	if (elf_find_symbol(elf, SHT_DYNSYM, STT_FUNC, "pthread_getspecific", &sym) == 0) {
		fn = sym.st_value;
		size = sym.st_size < 64 ? sym.st_size : 64;
	}
	code = fn ? code_bytes(elf, fn, size, &sh) : NULL;
	for (uint64_t i = 0; code && i + 8 <= size; i++)
		if (!memcmp(code + i, add_rax, 3) && !memcmp(code + i + 4, shl4_rax, 4) &&
		    code[i + 3] < 0x80) {
			out->tsd_offset = (uint32_t)code[i + 3] << 4;
			return 0;
		}
	return -ENOENT;
}

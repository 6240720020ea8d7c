/* SPDX-License-Identifier: BSD-2-Clause */
/* The one way the agent opens an ELF file a process maps: read with pread, section by section,
 * never through a mapping, and every section read whole is held to a cap first. */
#ifndef STOKER_ELF_OPEN_H
#define STOKER_ELF_OPEN_H

#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>

/* A section read whole into memory (.eh_frame, a symbol or string table) past this is refused:
 * the size is the file's claim, and a sparse file can claim anything. The largest real ones
 * (Chromium's .eh_frame, an unstripped LLVM's .symtab) are a fraction of it. */
#define ELF_SECTION_READ_MAX (64ull << 20)
/* Notes (build-id, Go's build-id): a few hundred bytes in real files. */
#define ELF_NOTES_READ_MAX (1ull << 20)

/* libelf over fd with ELF_C_READ: a mapping of a file its owner truncates raises SIGBUS on the
 * next access to a page past the end, while a read only comes back short. Header checked into
 * *eh when eh is not NULL. Returns the handle, or NULL with *err set to -ENOSYS (libelf
 * unusable), -EFBIG (section or program header counts past 16 bits) or -ENOEXEC (not ELF, or a
 * section name table over ELF_NOTES_READ_MAX). */
Elf *elf_open_fd(int fd, GElf_Ehdr *eh, int *err);
/* The data of scn (header sh), read only if sh_size is at most max; NULL otherwise, for
 * SHT_NOBITS, or when the read fails. */
Elf_Data *elf_section_data(Elf_Scn *scn, const GElf_Shdr *sh, uint64_t max);
/* A symbol table's entries, read only if it and its string table are each at most max bytes;
 * elf_strptr on sh->sh_link then reads a table this has checked. NULL otherwise. */
Elf_Data *elf_symtab_data(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, uint64_t max);
/* Whether libdw's dwarf_getcfi_elf may read this file's CFI: it reads .eh_frame and
 * .eh_frame_hdr whole, so both must be sections under the cap. Without an .eh_frame section
 * libdw would size the table from the program headers' claims instead: refused. */
bool elf_cfi_fits(Elf *elf);
/* What libdw's dwarf_begin_elf holds for this file: it reads every .debug_* section whole and
 * inflates the compressed ones. Their sizes (inflated sizes for those) add up to *total; -EFBIG
 * past max, found from the headers before anything past max is read; -ENOEXEC. */
int elf_dwarf_bytes(Elf *elf, uint64_t max, uint64_t *total);

#endif

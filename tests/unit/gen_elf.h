/* SPDX-License-Identifier: BSD-2-Clause */
/* Test helper: writes a small loadable ELF whose .symtab has many function symbols that share
 * one long name (the "bloat" attack of #17), for the symbol and object cache tests. */
#ifndef STOKER_TESTS_GEN_ELF_H
#define STOKER_TESTS_GEN_ELF_H

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GEN_ELF_TEXT 0x1000 /* file offset and address of the first symbol */

/* nsyms GLOBAL FUNC symbols of 2 bytes each from GEN_ELF_TEXT, all named by one string of
 * name_len 'A's; with overlap, symbol i names the suffix at 1 + i % name_len instead (names
 * that overlap inside one string). The code is a 2-byte self-loop per symbol on x86-64. Returns
 * the string table's size, or 0 when the file could not be written. */
static inline size_t gen_elf_write(int fd, size_t nsyms, size_t name_len, int overlap)
{
	static const char shstr[] = "\0.text\0.symtab\0.strtab\0.shstrtab";
	size_t text_size = 2 * nsyms, str_size = name_len + 2;
	size_t sym_off = GEN_ELF_TEXT + ((text_size + 7) & ~(size_t)7);
	size_t sym_size = (nsyms + 1) * sizeof(Elf64_Sym);
	size_t str_off = sym_off + sym_size, shstr_off = str_off + str_size;
	size_t sh_off = (shstr_off + sizeof(shstr) + 7) & ~(size_t)7;
	size_t total = sh_off + 5 * sizeof(Elf64_Shdr);
	unsigned char *b = calloc(1, total);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(*eh));
	Elf64_Sym *sym = (Elf64_Sym *)(b + sym_off);
	Elf64_Shdr *sh = (Elf64_Shdr *)(b + sh_off);
	ssize_t w;

	if (!b)
		return 0;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_shoff = sh_off;
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	eh->e_shentsize = sizeof(*sh);
	eh->e_shnum = 5;
	eh->e_shstrndx = 4;
	*ph = (Elf64_Phdr){ .p_type = PT_LOAD,
			    .p_flags = PF_R | PF_X,
			    .p_filesz = total,
			    .p_memsz = total,
			    .p_align = 0x1000 };
	for (size_t i = 0; i < nsyms; i++) {
		b[GEN_ELF_TEXT + 2 * i] = 0xeb; /* jmp . */
		b[GEN_ELF_TEXT + 2 * i + 1] = 0xfe;
		sym[i + 1] = (Elf64_Sym){ .st_name = (Elf64_Word)(overlap ? 1 + i % name_len : 1),
					  .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
					  .st_shndx = 1,
					  .st_value = GEN_ELF_TEXT + 2 * i,
					  .st_size = 2 };
	}
	memset(b + str_off + 1, 'A', name_len);
	memcpy(b + shstr_off, shstr, sizeof(shstr));
	sh[1] = (Elf64_Shdr){ .sh_name = 1,
			      .sh_type = SHT_PROGBITS,
			      .sh_flags = SHF_ALLOC | SHF_EXECINSTR,
			      .sh_addr = GEN_ELF_TEXT,
			      .sh_offset = GEN_ELF_TEXT,
			      .sh_size = text_size,
			      .sh_addralign = 1 };
	sh[2] = (Elf64_Shdr){ .sh_name = 7,
			      .sh_type = SHT_SYMTAB,
			      .sh_offset = sym_off,
			      .sh_size = sym_size,
			      .sh_link = 3,
			      .sh_info = 1,
			      .sh_addralign = 8,
			      .sh_entsize = sizeof(Elf64_Sym) };
	sh[3] = (Elf64_Shdr){ .sh_name = 15,
			      .sh_type = SHT_STRTAB,
			      .sh_offset = str_off,
			      .sh_size = str_size,
			      .sh_addralign = 1 };
	sh[4] = (Elf64_Shdr){ .sh_name = 23,
			      .sh_type = SHT_STRTAB,
			      .sh_offset = shstr_off,
			      .sh_size = sizeof(shstr),
			      .sh_addralign = 1 };
	w = pwrite(fd, b, total, 0);
	free(b);
	return w == (ssize_t)total ? str_size : 0;
}

#endif

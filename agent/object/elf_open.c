// SPDX-License-Identifier: BSD-2-Clause
/* Opens ELF files for reading with pread only, and reads whole sections only under a cap. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "object/elf_open.h"

static int once_init(void)
{
	static int ok = -1; /* elf_version is process-wide and idempotent */

	if (ok < 0)
		ok = elf_version(EV_CURRENT) != EV_NONE;
	return ok ? 0 : -ENOSYS;
}

/* Section and program header counts past 16 bits live in section 0 (e_shnum 0, e_phnum
 * PN_XNUM): only relocatable objects need them, and libelf sizes its tables from the claim
 * before reading anything, so a file that uses them is refused here. */
static bool counts_fit(int fd)
{
	union {
		unsigned char ident[EI_NIDENT];
		Elf32_Ehdr e32;
		Elf64_Ehdr e64;
	} h;
	uint64_t shoff;
	unsigned int shnum, phnum;

	if (pread(fd, &h, sizeof(h), 0) < (ssize_t)sizeof(h.e32) ||
	    memcmp(h.ident, ELFMAG, SELFMAG))
		return true; /* not ELF, or too short to be: libelf says which */
	if (h.ident[EI_CLASS] == ELFCLASS64) {
		shoff = h.e64.e_shoff;
		shnum = h.e64.e_shnum;
		phnum = h.e64.e_phnum;
	} else {
		shoff = h.e32.e_shoff;
		shnum = h.e32.e_shnum;
		phnum = h.e32.e_phnum;
	}
	return !(shoff && !shnum) && phnum != PN_XNUM;
}

/* The section name table is read whole by every lookup by name: a few hundred bytes in real
 * files. A table libelf cannot find is no risk (a truncated file's program headers and notes
 * still read). */
static bool names_fit(Elf *elf)
{
	size_t ndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &ndx) || ndx == SHN_UNDEF ||
	    !gelf_getshdr(elf_getscn(elf, ndx), &sh))
		return true;
	return sh.sh_size <= ELF_NOTES_READ_MAX;
}

Elf *elf_open_fd(int fd, GElf_Ehdr *eh, int *err)
{
	GElf_Ehdr tmp;
	Elf *elf;

	*err = once_init();
	if (*err)
		return NULL;
	if (!counts_fit(fd)) {
		*err = -EFBIG;
		return NULL;
	}
	/* never ELF_C_READ_MMAP, and never elf_rawfile on this handle: it reads the whole file */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf &&
	    (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, eh ? eh : &tmp) || !names_fit(elf))) {
		elf_end(elf);
		elf = NULL;
	}
	if (!elf)
		*err = -ENOEXEC;
	return elf;
}

Elf_Data *elf_section_data(Elf_Scn *scn, const GElf_Shdr *sh, uint64_t max)
{
	if (!scn || sh->sh_type == SHT_NOBITS || sh->sh_size > max)
		return NULL;
	return elf_getdata(scn, NULL);
}

Elf_Data *elf_symtab_data(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, uint64_t max)
{
	GElf_Shdr ssh;

	if (!gelf_getshdr(elf_getscn(elf, sh->sh_link), &ssh) || ssh.sh_type != SHT_STRTAB ||
	    ssh.sh_size > max)
		return NULL;
	return elf_section_data(scn, sh, max);
}

bool elf_cfi_fits(Elf *elf)
{
	bool eh_frame = false;
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (strcmp(name, ".eh_frame") && strcmp(name, ".eh_frame_hdr"))
			continue;
		if (sh.sh_size > ELF_SECTION_READ_MAX)
			return false;
		eh_frame |= name[9] == '\0';
	}
	return eh_frame;
}

int elf_dwarf_bytes(Elf *elf, uint64_t max, uint64_t *total_out)
{
	Elf_Scn *scn = NULL;
	uint64_t total = 0;
	size_t shstrndx;

	*total_out = 0;
	if (elf_getshdrstrndx(elf, &shstrndx))
		return -ENOEXEC;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		GElf_Chdr ch;
		GElf_Shdr sh;
		uint64_t size;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
		    (strncmp(name, ".debug_", 7) && strncmp(name, ".zdebug_", 8)))
			continue;
		if (sh.sh_size > max - total)
			return -EFBIG;
		size = sh.sh_size;
		/* the header is read from the section's bytes, which are under the cap */
		if (sh.sh_flags & SHF_COMPRESSED)
			size = gelf_getchdr(scn, &ch) ? ch.ch_size : max + 1;
		else if (name[1] == 'z')
			size = max + 1; /* GNU's old format: no size before inflating */
		if (size > max - total)
			return -EFBIG;
		total += size;
	}
	*total_out = total;
	return 0;
}

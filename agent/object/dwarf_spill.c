/* SPDX-License-Identifier: BSD-2-Clause */
/* Copies the DWARF sections line lookups need, decompressed, into an unlinked file in the
 * agent's scratch directory: a minimal ELF image (header, sections, names, section table). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <zlib.h>

#include "object/dwarf_spill.h"
#include "util/fileio.h"

#define MAX_SECTIONS   (1u << 16)
#define MAX_SHSTRTAB   (1u << 20)
#define MAX_KEPT       16
#define CHUNK	       (64u << 10)
#define NAME_MAX_BYTES 32

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_DATA ELFDATA2LSB
#else
#define NATIVE_DATA ELFDATA2MSB
#endif

/* What libdw reads for CUs, scopes, names and line tables; location lists, macros, call
 * frames and name indexes are left out (libc6-dbg's .debug_loclists alone is 1.4 MiB). */
static const char *const kept_names[] = {
	".debug_info",	   ".debug_abbrev",	 ".debug_line",	 ".debug_line_str",
	".debug_str",	   ".debug_str_offsets", ".debug_addr",	 ".debug_ranges",
	".debug_rnglists", ".debug_aranges",	 ".debug_types", ".gnu_debugaltlink",
	".debug_sup",
};

struct shdr {
	uint32_t name, type;
	uint64_t flags, offset, size, addralign, entsize;
};

struct kept {
	const char *name;
	struct shdr in;
	bool compressed;
	uint64_t in_offset, in_size; /* the bytes to copy or inflate */
	uint64_t out_offset, out_size, out_align;
};

/* What read_image finds out about the file. */
struct spill_info {
	bool lines;   /* it has .debug_info and .debug_line */
	size_t bytes; /* the kept sections' size, decompressed */
};

struct image {
	int fd;
	bool is64;
	union {
		Elf64_Ehdr e64;
		Elf32_Ehdr e32;
	};
	struct kept kept[MAX_KEPT];
	size_t nkept;
};

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

static void get_shdr(const struct image *im, const void *raw, struct shdr *s)
{
	if (im->is64) {
		const Elf64_Shdr *h = raw;

		*s = (struct shdr){ h->sh_name, h->sh_type,	 h->sh_flags,  h->sh_offset,
				    h->sh_size, h->sh_addralign, h->sh_entsize };
	} else {
		const Elf32_Shdr *h = raw;

		*s = (struct shdr){ h->sh_name, h->sh_type,	 h->sh_flags,  h->sh_offset,
				    h->sh_size, h->sh_addralign, h->sh_entsize };
	}
}

static const char *kept_name(const char *name)
{
	for (size_t i = 0; i < sizeof(kept_names) / sizeof(kept_names[0]); i++)
		if (!strcmp(name, kept_names[i]))
			return kept_names[i];
	return NULL;
}

/* A compressed section's header: its stated size and alignment; only zlib is inflated here. */
static int read_chdr(struct image *im, struct kept *k)
{
	size_t csize = im->is64 ? sizeof(Elf64_Chdr) : sizeof(Elf32_Chdr);
	union {
		Elf64_Chdr c64;
		Elf32_Chdr c32;
	} ch;
	uint32_t type;

	if (k->in.size < csize)
		return -ENOEXEC;
	if (fd_pread_exact(im->fd, &ch, csize, k->in.offset))
		return -ENOEXEC;
	type = im->is64 ? ch.c64.ch_type : ch.c32.ch_type;
	if (type != ELFCOMPRESS_ZLIB)
		return -ENOTSUP;
	k->out_size = im->is64 ? ch.c64.ch_size : ch.c32.ch_size;
	k->out_align = im->is64 ? ch.c64.ch_addralign : ch.c32.ch_addralign;
	k->in_offset = k->in.offset + csize;
	k->in_size = k->in.size - csize;
	return 0;
}

/* The ELF header, then the kept sections out of the section table. */
static int read_image(struct image *im, struct spill_info *info)
{
	unsigned char ident[EI_NIDENT];
	uint64_t shoff, shnum, shstrndx, shentsize, type;
	void *table = NULL;
	char *names = NULL;
	bool has_info = false, has_line = false;
	struct shdr strs;
	int err;

	if (fd_pread_exact(im->fd, ident, sizeof(ident), 0) || memcmp(ident, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if (ident[EI_CLASS] != ELFCLASS64 && ident[EI_CLASS] != ELFCLASS32)
		return -ENOEXEC;
	im->is64 = ident[EI_CLASS] == ELFCLASS64;
	if (fd_pread_exact(im->fd, &im->e64, im->is64 ? sizeof(im->e64) : sizeof(im->e32), 0))
		return -ENOEXEC;
	shoff = im->is64 ? im->e64.e_shoff : im->e32.e_shoff;
	shnum = im->is64 ? im->e64.e_shnum : im->e32.e_shnum;
	shstrndx = im->is64 ? im->e64.e_shstrndx : im->e32.e_shstrndx;
	shentsize = im->is64 ? im->e64.e_shentsize : im->e32.e_shentsize;
	type = im->is64 ? im->e64.e_type : im->e32.e_type;
	if (shentsize != (im->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr)) || !shoff)
		return -ENOEXEC;
	if (shnum == 0 || shstrndx == SHN_XINDEX) {
		/* extended numbering: the real counts are in section 0 */
		union {
			Elf64_Shdr s64;
			Elf32_Shdr s32;
		} s0;
		struct shdr z;

		if (fd_pread_exact(im->fd, &s0, shentsize, shoff))
			return -ENOEXEC;
		get_shdr(im, &s0, &z);
		if (shnum == 0)
			shnum = z.size;
		if (shstrndx == SHN_XINDEX)
			shstrndx = im->is64 ? s0.s64.sh_link : s0.s32.sh_link;
	}
	if (!shnum || shnum > MAX_SECTIONS || shstrndx >= shnum)
		return -ENOEXEC;
	table = malloc(shnum * shentsize);
	if (!table)
		return -ENOMEM;
	err = -ENOEXEC; /* a table past the file's end is a broken one */
	if (fd_pread_exact(im->fd, table, shnum * shentsize, shoff))
		goto out;
	get_shdr(im, (char *)table + shstrndx * shentsize, &strs);
	err = -ENOEXEC;
	if (strs.type != SHT_STRTAB || !strs.size || strs.size > MAX_SHSTRTAB)
		goto out;
	names = malloc(strs.size + 1);
	if (!names) {
		err = -ENOMEM;
		goto out;
	}
	if (fd_pread_exact(im->fd, names, strs.size, strs.offset))
		goto out;
	names[strs.size] = '\0';
	for (uint64_t i = 1; i < shnum; i++) {
		struct kept *k = &im->kept[im->nkept];
		struct shdr s;
		const char *name;

		get_shdr(im, (char *)table + i * shentsize, &s);
		if (s.name >= strs.size || s.type == SHT_NOBITS)
			continue;
		if (!strncmp(names + s.name, ".zdebug", 7)) {
			err = -ENOTSUP; /* GNU's old compression: libdw reads those itself */
			goto out;
		}
		name = kept_name(names + s.name);
		if (!name || im->nkept == MAX_KEPT)
			continue;
		*k = (struct kept){ .name = name,
				    .in = s,
				    .in_offset = s.offset,
				    .in_size = s.size,
				    .out_size = s.size,
				    .out_align = s.addralign };
		if (s.flags & SHF_COMPRESSED) {
			k->compressed = true;
			err = read_chdr(im, k);
			if (err)
				goto out;
		}
		info->bytes += k->out_size;
		if (!strcmp(name, ".debug_info"))
			has_info = k->out_size > 0;
		else if (!strcmp(name, ".debug_line"))
			has_line = k->out_size > 0;
		im->nkept++;
	}
	info->lines = has_info && has_line;
	err = 0;
	if (type == ET_REL || ident[EI_DATA] != NATIVE_DATA)
		err = -ENOTSUP; /* libdw applies relocations, or swaps bytes: not for a copy */
out:
	free(names);
	free(table);
	return err;
}

static int copy_plain(const struct image *im, const struct kept *k, int out, char *buf)
{
	for (uint64_t done = 0; done < k->in_size;) {
		size_t n = k->in_size - done < CHUNK ? (size_t)(k->in_size - done) : CHUNK;
		int err = fd_pread_exact(im->fd, buf, n, k->in_offset + done);

		if (!err)
			err = pwrite_all(out, buf, n, k->out_offset + done);
		if (err)
			return err;
		done += n;
	}
	return 0;
}

static int inflate_section(const struct image *im, const struct kept *k, int out, char *in_buf,
			   char *out_buf)
{
	uint64_t read_off = 0, written = 0;
	z_stream zs = { 0 };
	int zr = Z_OK, err = 0;

	if (inflateInit(&zs) != Z_OK)
		return -ENOMEM;
	while (zr != Z_STREAM_END) {
		if (!zs.avail_in) {
			size_t n =
			    k->in_size - read_off < CHUNK ? (size_t)(k->in_size - read_off) : CHUNK;

			if (!n) {
				err = -EBADMSG; /* the stream wants more than the section holds */
				goto out;
			}
			err = fd_pread_exact(im->fd, in_buf, n, k->in_offset + read_off);
			if (err)
				goto out;
			read_off += n;
			zs.next_in = (Bytef *)in_buf;
			zs.avail_in = (uInt)n;
		}
		zs.next_out = (Bytef *)out_buf;
		zs.avail_out = CHUNK;
		zr = inflate(&zs, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END) {
			err = -EBADMSG;
			goto out;
		}
		if (CHUNK - zs.avail_out) {
			size_t n = CHUNK - zs.avail_out;

			if (written + n > k->out_size) {
				err = -EBADMSG; /* more than its header said */
				goto out;
			}
			err = pwrite_all(out, out_buf, n, k->out_offset + written);
			if (err)
				goto out;
			written += n;
		}
	}
	if (written != k->out_size)
		err = -EBADMSG;
out:
	inflateEnd(&zs);
	return err;
}

/* The header and section table of the copy: the source's identity (class, machine, type),
 * the kept sections decompressed, and their names. */
static int write_tables(struct image *im, int out, uint64_t strtab_off, const char *strtab,
			size_t strtab_len, const uint32_t *name_off)
{
	uint64_t shoff = (strtab_off + strtab_len + 7) & ~7ull;
	size_t n = im->nkept + 2, entsize = im->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	char *table = calloc(n, entsize);
	int err;

	if (!table)
		return -ENOMEM;
	for (size_t i = 0; i <= im->nkept; i++) {
		bool str = i == im->nkept;
		const struct kept *k = str ? NULL : &im->kept[i];
		uint64_t flags = str ? 0 : k->in.flags & ~(uint64_t)SHF_COMPRESSED;
		uint64_t off = str ? strtab_off : k->out_offset;
		uint64_t size = str ? strtab_len : k->out_size;
		/* sections start 8-aligned in the copy: a stated alignment past that (or not
		 * a power of two, from a hostile file) is not passed on */
		uint64_t align =
		    str || !k->out_align || k->out_align > 8 || (k->out_align & (k->out_align - 1))
			? 1
			: k->out_align;
		uint32_t type = str ? SHT_STRTAB : k->in.type;
		uint64_t ent = str ? 0 : k->in.entsize;

		if (im->is64) {
			Elf64_Shdr *s = (Elf64_Shdr *)table + i + 1;

			*s = (Elf64_Shdr){ .sh_name = name_off[i],
					   .sh_type = type,
					   .sh_flags = flags,
					   .sh_offset = off,
					   .sh_size = size,
					   .sh_addralign = align,
					   .sh_entsize = ent };
		} else {
			Elf32_Shdr *s = (Elf32_Shdr *)table + i + 1;

			if (off > UINT32_MAX || size > UINT32_MAX) {
				free(table);
				return -EFBIG;
			}
			*s = (Elf32_Shdr){ .sh_name = name_off[i],
					   .sh_type = type,
					   .sh_flags = (uint32_t)flags,
					   .sh_offset = (uint32_t)off,
					   .sh_size = (uint32_t)size,
					   .sh_addralign = (uint32_t)align,
					   .sh_entsize = (uint32_t)ent };
		}
	}
	err = pwrite_all(out, strtab, strtab_len, strtab_off);
	if (!err)
		err = pwrite_all(out, table, n * entsize, shoff);
	free(table);
	if (err)
		return err;
	if (im->is64) {
		Elf64_Ehdr e = im->e64;

		e.e_entry = 0;
		e.e_phoff = 0;
		e.e_phnum = 0;
		e.e_shoff = shoff;
		e.e_shnum = (Elf64_Half)n;
		e.e_shstrndx = (Elf64_Half)n - 1;
		e.e_ehsize = sizeof(e);
		return pwrite_all(out, &e, sizeof(e), 0);
	} else {
		Elf32_Ehdr e = im->e32;

		if (shoff > UINT32_MAX)
			return -EFBIG;
		e.e_entry = 0;
		e.e_phoff = 0;
		e.e_phnum = 0;
		e.e_shoff = (Elf32_Off)shoff;
		e.e_shnum = (Elf32_Half)n;
		e.e_shstrndx = (Elf32_Half)n - 1;
		e.e_ehsize = sizeof(e);
		return pwrite_all(out, &e, sizeof(e), 0);
	}
}

/* A new file no path names: O_TMPFILE in dir (the agent's own, mode 0700), or where the file
 * system lacks it a random name unlinked at once. Without dir, or where dir is in memory
 * (tmpfs), a memfd: the agent's memory either way, said in *in_memory. */
static int open_scratch(const char *dir, bool *in_memory)
{
	struct statfs fs;
	char path[4096];
	int fd = -1;

	*in_memory = false;
	if (dir) {
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
			if (snprintf(path, sizeof(path), "%s/.dwarf-XXXXXX", dir) >=
			    (int)sizeof(path))
				return -ENAMETOOLONG;
			fd = mkostemp(path, O_CLOEXEC);
			if (fd >= 0)
				unlink(path);
		}
		if (fd < 0)
			return -errno;
		if (!fstatfs(fd, &fs) && fs.f_type != TMPFS_MAGIC && fs.f_type != RAMFS_MAGIC)
			return fd;
		close(fd);
	}
	*in_memory = true;
	fd = memfd_create("stoker-dwarf", MFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int write_copy(struct image *im, int out)
{
	uint32_t name_off[MAX_KEPT + 1];
	char strtab[MAX_KEPT * NAME_MAX_BYTES + 16], *in_buf, *out_buf;
	size_t strtab_len = 1;
	uint64_t off;
	int err = 0;

	in_buf = malloc(CHUNK);
	out_buf = malloc(CHUNK);
	if (!in_buf || !out_buf) {
		err = -ENOMEM;
		goto out;
	}
	strtab[0] = '\0';
	off = im->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	for (size_t i = 0; i <= im->nkept; i++) {
		const char *name = i == im->nkept ? ".shstrtab" : im->kept[i].name;

		name_off[i] = (uint32_t)strtab_len;
		memcpy(strtab + strtab_len, name, strlen(name) + 1);
		strtab_len += strlen(name) + 1;
	}
	for (size_t i = 0; i < im->nkept; i++) {
		struct kept *k = &im->kept[i];

		off = (off + 7) & ~7ull;
		k->out_offset = off;
		err = k->compressed ? inflate_section(im, k, out, in_buf, out_buf)
				    : copy_plain(im, k, out, in_buf);
		if (err)
			goto out;
		off += k->out_size;
	}
	err = write_tables(im, out, off, strtab, strtab_len, name_off);
out:
	free(in_buf);
	free(out_buf);
	return err;
}

int dwarf_spill(int fd, const char *dir, size_t max_bytes, bool *in_memory)
{
	struct spill_info info = { 0 };
	struct image im = { .fd = fd };
	int err, out;

	err = read_image(&im, &info);
	if (err)
		return err;
	if (!info.lines)
		return -ENODATA;
	if (info.bytes > max_bytes)
		return -EFBIG;
	/* never the file itself, even root's: root in a container owns what it writes in its
	 * image's top layer, and can truncate it under a mapping (SIGBUS in the agent); and
	 * never libelf's section buffers: libdw reads strings past a section's end (a
	 * string table without its last NUL), which in the copy stays inside the image */
	out = open_scratch(dir, in_memory);
	if (out < 0)
		return out;
	err = write_copy(&im, out);
	if (err) {
		close(out);
		return err;
	}
	return out;
}

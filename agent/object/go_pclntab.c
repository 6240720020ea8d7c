/* SPDX-License-Identifier: BSD-2-Clause */
/* Go's pclntab read from a copy of its bytes: header by magic, the functab searched by PC, the
 * pcfile/pcln value tables decoded for the file and line. Every offset the file holds is
 * checked against the copy before it is used: any process can map a crafted "Go" binary. */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileio.h"
#include "object/elf_open.h"
#include "object/go_pclntab.h"

#define MAGIC_116     0xfffffffau
#define MAGIC_118     0xfffffff0u
#define MAGIC_120     0xfffffff1u
#define SCAN_CHUNK    (1u << 20)
#define NOTE_MAX      (64u << 10)
#define NT_GO_BUILDID 4

enum pcln_version { V116, V118, V120 };

struct go_pclntab {
	uint8_t *data;
	size_t size;
	enum pcln_version ver;
	uint8_t quantum, ptrsize;
	uint64_t nfunc, text_start;
	/* offsets into data */
	uint64_t funcname, cu, filetab, pctab, functab;
	size_t field; /* bytes per functab field: 4 (1.18+) or ptrsize */
};

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rdptr(const struct go_pclntab *t, const uint8_t *p)
{
	uint64_t v;

	if (t->ptrsize == 4)
		return rd32(p);
	memcpy(&v, p, 8);
	return v;
}

/* [off, off+len) lies inside the image */
static bool in_image(const struct go_pclntab *t, uint64_t off, uint64_t len)
{
	return off <= t->size && len <= t->size - off;
}

/* A NUL-terminated string at off, or NULL. */
static const char *str_at(const struct go_pclntab *t, uint64_t off)
{
	if (off >= t->size || !memchr(t->data + off, '\0', t->size - off))
		return NULL;
	return (const char *)t->data + off;
}

/* Functab field i (entries are pairs; field 2*nfunc is the end of text). */
static uint64_t functab_field(const struct go_pclntab *t, uint64_t i)
{
	const uint8_t *p = t->data + t->functab + i * t->field;

	return t->field == 4 ? rd32(p) : rdptr(t, p);
}

/* A function's entry as an ELF address. */
static uint64_t entry_pc(const struct go_pclntab *t, uint64_t i)
{
	uint64_t v = functab_field(t, 2 * i);

	return t->ver == V116 ? v : t->text_start + v;
}

static bool valid_magic(uint32_t magic)
{
	return magic == MAGIC_116 || magic == MAGIC_118 || magic == MAGIC_120;
}

static bool valid_header_bytes(const uint8_t *p)
{
	return valid_magic(rd32(p)) && !p[4] && !p[5] && (p[6] == 1 || p[6] == 2 || p[6] == 4) &&
	       (p[7] == 4 || p[7] == 8);
}

static int parse_header(struct go_pclntab *t, uint64_t text_fallback)
{
	uint64_t off[8], nwords, fsz;
	size_t ps;
	uint32_t magic;

	if (t->size < 8 || !valid_header_bytes(t->data))
		return -EINVAL;
	magic = rd32(t->data);
	t->ver = magic == MAGIC_116 ? V116 : magic == MAGIC_118 ? V118 : V120;
	t->quantum = t->data[6];
	t->ptrsize = t->data[7];
	ps = t->ptrsize;
	nwords = t->ver == V116 ? 7 : 8;
	if (!in_image(t, 8, nwords * ps))
		return -EINVAL;
	for (uint64_t i = 0; i < nwords; i++)
		off[i] = rdptr(t, t->data + 8 + i * ps);
	t->nfunc = off[0];
	if (t->ver == V116) {
		t->text_start = 0;
		memmove(off + 3, off + 2, 5 * sizeof(off[0]));
	} else {
		t->text_start = off[2] ? off[2] : text_fallback;
		if (!t->text_start)
			return -EINVAL;
	}
	t->funcname = off[3];
	t->cu = off[4];
	t->filetab = off[5];
	t->pctab = off[6];
	t->functab = off[7];
	t->field = t->ver == V116 ? ps : 4;
	/* the writer lays the tables out in this order after the header */
	if (t->funcname < 8 + nwords * ps || t->cu < t->funcname || t->filetab < t->cu ||
	    t->pctab < t->filetab || t->functab < t->pctab || !t->nfunc ||
	    t->nfunc > t->size / (2 * t->field))
		return -EINVAL;
	fsz = (2 * t->nfunc + 1) * t->field;
	if (!in_image(t, t->functab, fsz))
		return -EINVAL;
	/* sorted entries, each _func record inside the image: a lookup may then trust the order */
	for (uint64_t i = 0; i < t->nfunc; i++) {
		uint64_t fo = functab_field(t, 2 * i + 1);

		if (functab_field(t, 2 * i) > functab_field(t, 2 * i + 2) ||
		    !in_image(t, t->functab, fo) || !in_image(t, t->functab + fo, ps + 32))
			return -EINVAL;
	}
	return 0;
}

struct go_pclntab *go_pclntab__new(const void *data, size_t size, uint64_t text_start)
{
	struct go_pclntab *t = calloc(1, sizeof(*t));
	int err = -ENOMEM;

	if (!t)
		goto fail;
	t->data = malloc(size ? size : 1);
	if (!t->data)
		goto fail;
	memcpy(t->data, data, size);
	t->size = size;
	err = parse_header(t, text_start);
	if (err)
		goto fail;
	return t;
fail:
	go_pclntab__free(t);
	errno = -err;
	return NULL;
}

void go_pclntab__free(struct go_pclntab *t)
{
	if (!t)
		return;
	free(t->data);
	free(t);
}

/* Go's varint: 7 bits a byte, low first; a u32 needs at most 5 bytes. */
static bool read_uvarint(const struct go_pclntab *t, uint64_t *pos, uint64_t end, uint32_t *out)
{
	uint32_t v = 0;

	for (unsigned shift = 0; shift < 35; shift += 7) {
		uint8_t b;

		if (*pos >= end)
			return false;
		b = t->data[(*pos)++];
		v |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* The value a pcvalue table (at pctab + off) holds at pc for the function entered at entry.
 * Each step is a zig-zag value delta then a PC delta in quanta; a zero byte after the first
 * step ends the table. Returns false when the table does not cover pc or is malformed. */
static bool pcvalue(const struct go_pclntab *t, uint32_t off, uint64_t entry, uint64_t pc,
		    int32_t *out)
{
	uint64_t pos = t->pctab + off, end = t->functab;
	uint64_t cur = entry;
	int32_t val = -1;
	bool first = true;

	if (!off || pos >= end)
		return false;
	while (pos < end) {
		uint32_t uv, pcd;

		if (!t->data[pos] && !first)
			return false;
		if (!read_uvarint(t, &pos, end, &uv) || !read_uvarint(t, &pos, end, &pcd))
			return false;
		/* wrapping, as Go's int32 arithmetic does: a hostile table may overflow it */
		val = (int32_t)((uint32_t)val + ((uv >> 1) ^ (0u - (uv & 1))));
		cur += (uint64_t)pcd * t->quantum;
		first = false;
		if (pc < cur) {
			*out = val;
			return true;
		}
	}
	return false;
}

/* Field word (4 bytes) n of the _func record at fo, after its entry. */
static uint32_t func_word(const struct go_pclntab *t, uint64_t fo, unsigned n)
{
	size_t entry_size = t->ver == V116 ? t->ptrsize : 4;

	return rd32(t->data + fo + entry_size + 4 * n);
}

int go_pclntab__lookup(const struct go_pclntab *t, uint64_t pc, struct go_func *out)
{
	uint64_t lo = 0, hi = t->nfunc, fo, entry, end;
	uint32_t name_off, pcfile, pcln, cu_off;
	int32_t fileno, line;

	if (t->ver != V116 && pc < t->text_start)
		return -ENOENT;
	end = t->ver == V116 ? functab_field(t, 2 * t->nfunc)
			     : t->text_start + functab_field(t, 2 * t->nfunc);
	if (pc < entry_pc(t, 0) || pc >= end)
		return -ENOENT;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (entry_pc(t, mid) <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	entry = entry_pc(t, lo - 1);
	fo = t->functab + functab_field(t, 2 * (lo - 1) + 1);
	/* _func: entry, nameOff, args, deferreturn, pcsp, pcfile, pcln, npcdata, cuOffset */
	name_off = func_word(t, fo, 0);
	pcfile = func_word(t, fo, 4);
	pcln = func_word(t, fo, 5);
	cu_off = func_word(t, fo, 7);
	out->name = str_at(t, t->funcname + name_off);
	if (!out->name || t->funcname + name_off >= t->cu)
		return -ENOENT;
	/* code the table has no line for is not Go's (C linked in by cgo): not this function */
	if (!pcvalue(t, pcln, entry, pc, &line) || line < 0)
		return -ENOENT;
	out->entry = entry;
	out->line = (uint32_t)line;
	out->file = NULL;
	if (pcvalue(t, pcfile, entry, pc, &fileno) && fileno >= 0) {
		uint64_t slot = t->cu + 4 * ((uint64_t)cu_off + (uint64_t)fileno);

		if (slot + 4 <= t->filetab) {
			uint32_t foff = rd32(t->data + slot);

			if (foff != UINT32_MAX && t->filetab + foff < t->pctab)
				out->file = str_at(t, t->filetab + foff);
		}
	}
	return 0;
}

const char *go_pclntab__version(const struct go_pclntab *t)
{
	static const char *const names[] = { [V116] = "1.16", [V118] = "1.18", [V120] = "1.20" };

	return names[t->ver];
}

size_t go_pclntab__func_count(const struct go_pclntab *t)
{
	return (size_t)t->nfunc;
}

size_t go_pclntab__memory_bytes(const struct go_pclntab *t)
{
	return sizeof(*t) + t->size;
}

/* --- finding it in an ELF file --- */

/* How much may be read, and who is asked before it is allocated. */
struct read_limits {
	size_t max;
	int (*reserve)(void *ctx, size_t bytes);
	void *ctx;
	bool refused; /* reserve said no: nothing more is tried */
};

/* Reads [off, off+len) of the file into a table. */
static struct go_pclntab *load_range(int fd, uint64_t off, uint64_t len, uint64_t text_start,
				     struct read_limits *lim)
{
	struct go_pclntab *t;
	uint8_t *buf;
	int err;

	if (len > lim->max) {
		errno = EFBIG;
		return NULL;
	}
	/* the budget first: what the table will cost is known before it is read */
	if (lim->reserve && lim->reserve(lim->ctx, sizeof(*t) + len) < 0) {
		lim->refused = true;
		errno = EDQUOT;
		return NULL;
	}
	buf = malloc(len ? len : 1);
	if (!buf) {
		errno = ENOMEM;
		return NULL;
	}
	err = fd_pread_exact(fd, buf, len, off);
	if (err) {
		free(buf);
		errno = -err;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	t->data = buf;
	t->size = len;
	err = parse_header(t, text_start);
	if (err) {
		go_pclntab__free(t);
		errno = -err;
		return NULL;
	}
	return t;
}

static bool go_note_in(Elf_Data *d)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0)
		/* the Go linker pads the owner name: "Go\0\0" */
		if (nh.n_type == NT_GO_BUILDID && (nh.n_namesz == 3 || nh.n_namesz == 4) &&
		    !memcmp((char *)d->d_buf + name_off, "Go", 3))
			return true;
	return false;
}

/* Whether a PT_NOTE segment carries Go's build-id note: the program headers outlive the
 * section table. */
static bool has_go_note(Elf *elf, uint64_t file_size)
{
	size_t nph = 0;

	if (elf_getphdrnum(elf, &nph))
		return false;
	for (size_t i = 0; i < nph && i < 256; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset > file_size || ph.p_filesz > file_size - ph.p_offset ||
		    ph.p_filesz > NOTE_MAX)
			continue;
		d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		if (d && go_note_in(d))
			return true;
	}
	return false;
}

/* The .text section's address, for a header whose textStart reads 0; 0 when unknown. */
static uint64_t text_section_addr(Elf *elf)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && !strcmp(n, ".text"))
			return sh.sh_addr;
	}
	return 0;
}

static bool find_section(Elf *elf, GElf_Shdr *out)
{
	static const char *const names[] = { ".gopclntab", ".data.rel.ro.gopclntab" };
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, out) || out->sh_type == SHT_NOBITS)
			continue;
		n = elf_strptr(elf, shstrndx, out->sh_name);
		for (size_t i = 0; n && i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(n, names[i]))
				return true;
	}
	return false;
}

/* Scans one segment's file bytes, 8-byte aligned, for a header that parses; the table then
 * runs at most to the segment's end. */
static struct go_pclntab *scan_segment(int fd, const GElf_Phdr *ph, uint64_t text_start,
				       struct read_limits *lim, uint8_t *chunk)
{
	uint64_t pos = 0;

	while (pos < ph->p_filesz) {
		uint64_t len = ph->p_filesz - pos < SCAN_CHUNK ? ph->p_filesz - pos : SCAN_CHUNK;

		if (fd_pread_exact(fd, chunk, len, ph->p_offset + pos))
			return NULL;
		/* i such that the header's address, p_vaddr + pos + i, is 8-byte aligned */
		for (uint64_t i = (8 - ((ph->p_vaddr + pos) & 7)) & 7; i + 8 <= len; i += 8) {
			struct go_pclntab *t;
			uint64_t at = pos + i, rest = ph->p_filesz - at;

			if (chunk[i + 1] != 0xff || !valid_header_bytes(chunk + i))
				continue;
			t = load_range(fd, ph->p_offset + at, rest > lim->max ? lim->max : rest,
				       text_start, lim);
			if (t || lim->refused)
				return t;
		}
		if (len < SCAN_CHUNK)
			break;
		pos += len - 8; /* a header across the boundary is seen in the next chunk */
	}
	return NULL;
}

static struct go_pclntab *scan_segments(Elf *elf, int fd, uint64_t file_size, uint64_t text_start,
					struct read_limits *lim)
{
	struct go_pclntab *t = NULL;
	uint8_t *chunk = malloc(SCAN_CHUNK);
	size_t nph = 0;

	if (!chunk || elf_getphdrnum(elf, &nph))
		goto out;
	for (size_t i = 0; i < nph && i < 256 && !t && !lim->refused; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || (ph.p_flags & PF_X))
			continue;
		if (ph.p_offset > file_size || ph.p_filesz > file_size - ph.p_offset)
			continue;
		t = scan_segment(fd, &ph, text_start, lim, chunk);
	}
out:
	free(chunk);
	return t;
}

struct go_pclntab *go_pclntab__open_fd(int fd, size_t max_bytes)
{
	return go_pclntab__open_fd_reserved(fd, max_bytes, NULL, NULL);
}

struct go_pclntab *go_pclntab__open_fd_reserved(int fd, size_t max_bytes,
						int (*reserve)(void *ctx, size_t bytes), void *ctx)
{
	struct read_limits lim = { max_bytes ? max_bytes : GO_PCLNTAB_DEFAULT_MAX_BYTES, reserve,
				   ctx };
	struct go_pclntab *t = NULL;
	uint64_t text_start;
	struct stat st;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf *elf;
	int err = ENOEXEC, ret;

	if (fstat(fd, &st))
		goto out_noelf;
	elf = elf_open_fd(fd, &eh, &ret);
	if (!elf)
		goto out_noelf;
	text_start = text_section_addr(elf);
	err = ENOENT;
	if (find_section(elf, &sh)) {
		if (sh.sh_offset > (uint64_t)st.st_size ||
		    sh.sh_size > (uint64_t)st.st_size - sh.sh_offset) {
			err = EINVAL;
			goto out;
		}
		t = load_range(fd, sh.sh_offset, sh.sh_size, text_start, &lim);
		err = errno;
	} else if (has_go_note(elf, (uint64_t)st.st_size)) {
		t = scan_segments(elf, fd, (uint64_t)st.st_size, text_start, &lim);
	}
out:
	elf_end(elf);
out_noelf:
	if (lim.refused)
		err = EDQUOT;
	if (!t)
		errno = err == EINVAL ? ENOENT : err;
	return t;
}

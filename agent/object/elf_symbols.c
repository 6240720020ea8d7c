/* SPDX-License-Identifier: BSD-2-Clause */
/* ELF symbol tables for symbolization (libelf): build-id, PT_LOAD segments, function symbols
 * from .symtab, a separate debug file (build-id or .gnu_debuglink) or MiniDebugInfo. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/array.h"
#include "util/addr_search.h"
#include "util/fileio.h"
#include "util/log.h"
#include "object/elf_open.h"
#include "object/elf_symbols.h"
#include "object/proc_maps.h"

#define MAX_SEGMENTS	      ELF_MAX_SEGMENTS
#define DEFAULT_MAX_SYMBOLS   (4u << 20)
#define DEFAULT_MAX_DEBUGDATA (64u << 20)
#define SYM_NAME_MAX	      4096
#define MAX_SYMBOLS	      (1u << 24) /* elf_sym.seq */
#define DEBUG_FILE_MAX	      (4ull << 30)

struct elf_sym {
	uint64_t addr, size;
	uint32_t name;	   /* pool offset (the string table's while a table is read) */
	uint32_t bind : 8; /* STB_* */
	uint32_t seq : 24; /* order read: of aliases ranked alike, the first one read is named */
};

_Static_assert(sizeof(struct elf_sym) == 24, "the per-symbol cost estimates assume it");

struct elf_object {
	int type;
	char build_id[2 * ELF_BUILD_ID_MAX + 1];
	uint8_t build_id_raw[ELF_BUILD_ID_MAX];
	size_t build_id_len;
	struct elf_segment segs[MAX_SEGMENTS];
	int nsegs;
	struct elf_sym *syms;
	size_t nsyms, syms_cap;
	char *pool;
	size_t pool_len, pool_cap;
	size_t max_symbols;
	uint64_t dropped_symbols;
	size_t max_bytes; /* quota on syms and pool together, 0: none */
	int (*reserve)(void *ctx, size_t bytes);
	void *reserve_ctx;
	uint64_t tables_refused;
	const char *source;
};

static const char *const default_debug_dirs[] = { "/usr/lib/debug", NULL };

/* The string table a symbol table names, its bytes as libelf reads them. */
static Elf_Data *strtab_data(Elf *elf, const GElf_Shdr *sh, size_t *size)
{
	Elf_Scn *scn = elf_getscn(elf, sh->sh_link);
	GElf_Shdr ssh;
	Elf_Data *d;

	*size = 0;
	if (!scn || !gelf_getshdr(scn, &ssh) || ssh.sh_type != SHT_STRTAB)
		return NULL;
	d = elf_section_data(scn, &ssh, ELF_SECTION_READ_MAX);
	if (!d || !d->d_buf || !d->d_size)
		return NULL;
	*size = d->d_size;
	return d;
}

/* The size a string table claims, from its header alone: 0 when it is not one. */
static uint64_t strtab_size(Elf *elf, const GElf_Shdr *sh)
{
	GElf_Shdr ssh;

	if (!gelf_getshdr(elf_getscn(elf, sh->sh_link), &ssh) || ssh.sh_type != SHT_STRTAB)
		return 0;
	return ssh.sh_size;
}

/* A function symbol with a name that is not empty, not too long and ends inside the string
 * table str of str_size bytes. */
static bool keep_sym(const GElf_Sym *sym, const char *str, size_t str_size)
{
	int type = GELF_ST_TYPE(sym->st_info);
	size_t l, room;

	if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym->st_shndx == SHN_UNDEF ||
	    !sym->st_value || sym->st_name >= str_size)
		return false;
	room = str_size - sym->st_name < SYM_NAME_MAX ? str_size - sym->st_name : SYM_NAME_MAX;
	l = strnlen(str + sym->st_name, room);
	return l && l < room;
}

static int cmp_name_off(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;

	return x->name < y->name ? -1 : x->name > y->name;
}

/* Gives syms[first..nsyms), whose name is still the offset in the string table str, names in
 * the pool: each distinct name once, or the whole string table once when that is smaller (names
 * that overlap inside one long string). Either way the pool grows by at most the table's size:
 * symbols sharing a name never copy it again. */
static int intern_names(struct elf_object *o, size_t first, const char *str, size_t str_size)
{
	struct elf_sym *s = o->syms + first;
	size_t n = o->nsyms - first, distinct = 0, base = o->pool_len, need;
	char *pool;

	qsort(s, n, sizeof(*s), cmp_name_off);
	for (size_t i = 0; i < n; i++)
		if (!i || s[i].name != s[i - 1].name)
			distinct += strlen(str + s[i].name) + 1;
	need = distinct <= str_size ? distinct : str_size + 1;
	if (need > UINT32_MAX - base)
		return -EFBIG;
	pool = realloc(o->pool, base + need);
	if (!pool)
		return -ENOMEM;
	o->pool = pool;
	o->pool_cap = o->pool_len = base + need;
	if (distinct > str_size) {
		memcpy(pool + base, str, str_size);
		pool[base + str_size] = '\0';
		for (size_t i = 0; i < n; i++)
			s[i].name += (uint32_t)base;
		return 0;
	}
	for (size_t i = 0, at = base, prev = 0; i < n; i++) {
		uint32_t off = s[i].name;

		if (!i || off != prev) {
			size_t l = strlen(str + off) + 1;

			memcpy(pool + at, str + off, l);
			prev = off;
			s[i].name = (uint32_t)at;
			at += l;
		} else {
			s[i].name = s[i - 1].name;
		}
	}
	return 0;
}

/* Reads the function symbols of one symbol table section. Its cost is known from the section
 * sizes before anything is allocated: a table over the quota, or one the reserve hook refuses,
 * is skipped (-EFBIG) without reading it. */
static int read_symtab(struct elf_object *o, Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh)
{
	size_t n, str_size, want = 0, first = o->nsyms, estimate, have;
	uint64_t claimed = strtab_size(elf, sh);
	Elf_Data *data, *strd;
	struct elf_sym *syms;
	int err;

	/* charged from the headers' claims, before either table is read into memory */
	if (!sh->sh_entsize || !claimed)
		return -EINVAL;
	n = sh->sh_size / sh->sh_entsize;
	estimate = n * sizeof(struct elf_sym) + claimed + 1;
	have = elf_object__memory_bytes(o) - sizeof(*o);
	if (sh->sh_size > ELF_SECTION_READ_MAX || claimed > ELF_SECTION_READ_MAX ||
	    (o->max_bytes && (estimate > o->max_bytes || have > o->max_bytes - estimate)) ||
	    (o->reserve && o->reserve(o->reserve_ctx, estimate))) {
		o->tables_refused++;
		return -EFBIG;
	}
	data = elf_section_data(scn, sh, ELF_SECTION_READ_MAX);
	strd = strtab_data(elf, sh, &str_size);
	if (!data || !strd)
		return -EINVAL;
	n = data->d_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		if (keep_sym(&sym, strd->d_buf, str_size))
			want++;
	}
	if (want > o->max_symbols - o->nsyms) {
		o->dropped_symbols += want - (o->max_symbols - o->nsyms);
		want = o->max_symbols - o->nsyms;
	}
	if (!want)
		return 0;
	syms = realloc(o->syms, (o->nsyms + want) * sizeof(*syms));
	if (!syms)
		return -ENOMEM;
	o->syms = syms;
	o->syms_cap = o->nsyms + want;
	for (size_t i = 0; i < n && o->nsyms < o->syms_cap; i++) {
		GElf_Sym sym;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		if (!keep_sym(&sym, strd->d_buf, str_size))
			continue;
		o->syms[o->nsyms] = (struct elf_sym){ sym.st_value, sym.st_size, sym.st_name,
						      GELF_ST_BIND(sym.st_info), o->nsyms };
		o->nsyms++;
	}
	err = intern_names(o, first, strd->d_buf, str_size);
	if (err)
		o->nsyms = first;
	return err;
}

Elf_Scn *elf_find_section(Elf *elf, Elf64_Word type, const char *name, GElf_Shdr *out)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (name) {
			n = elf_strptr(elf, shstrndx, sh.sh_name);
			if (!n || strcmp(n, name) || sh.sh_type == SHT_NOBITS)
				continue;
		} else if (sh.sh_type != type) {
			continue;
		}
		*out = sh;
		return scn;
	}
	return NULL;
}

/* The GNU build-id note in one block of notes, copied to buf. Returns its length or 0. */
static int build_id_in_notes(Elf_Data *d, uint8_t *buf, size_t buf_len)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp((char *)d->d_buf + name_off, "GNU", 4) && nh.n_descsz &&
		    nh.n_descsz <= buf_len) {
			memcpy(buf, (char *)d->d_buf + desc_off, nh.n_descsz);
			return (int)nh.n_descsz;
		}
	}
	return 0;
}

static int read_build_id_elf(Elf *elf, uint8_t *buf, size_t buf_len)
{
	size_t nph = 0;
	Elf_Scn *scn = NULL;
	Elf_Data *d;
	int n;

	/* Notes in PT_NOTE segments survive strip; sections are the fallback. */
	if (elf_getphdrnum(elf, &nph) == 0) {
		for (size_t i = 0; i < nph && i < 256; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
				continue;
			/* libelf checks the range against the file; the size is ours to cap */
			if (ph.p_filesz > ELF_NOTES_READ_MAX)
				continue;
			d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
						 ELF_T_NHDR);
			if (d && (n = build_id_in_notes(d, buf, buf_len)) > 0)
				return n;
		}
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_section_data(scn, &sh, ELF_NOTES_READ_MAX);
		if (d && (n = build_id_in_notes(d, buf, buf_len)) > 0)
			return n;
	}
	return 0;
}

int elf_read_build_id_fd(int fd, uint8_t *buf, size_t buf_len)
{
	Elf *elf;
	int n;

	elf = elf_open_fd(fd, NULL, &n);
	if (!elf)
		return n;
	n = read_build_id_elf(elf, buf, buf_len);
	elf_end(elf);
	return n;
}

/* The CRC-32 .gnu_debuglink records, over the file's size bytes, read in chunks. */
static int crc_fd(int fd, uint64_t size, uint32_t *out)
{
	enum { CHUNK = 64 << 10 };
	unsigned char *buf = malloc(CHUNK);
	uLong crc = crc32(0L, Z_NULL, 0);
	int err = buf ? 0 : -ENOMEM;

	for (uint64_t off = 0; !err && off < size; off += CHUNK) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;

		err = fd_pread_exact(fd, buf, n, off);
		if (!err)
			crc = crc32(crc, buf, (uInt)n);
	}
	free(buf);
	*out = (uint32_t)crc;
	return err;
}

/* Opens a debug file candidate and accepts it only if it belongs to o. */
static Elf *open_debug_candidate(struct elf_object *o, const char *root, const char *path,
				 uint32_t crc, bool check_crc, int *fd_out)
{
	uint8_t bid[ELF_BUILD_ID_MAX];
	struct stat st;
	Elf *elf;
	int fd, n;

	/* Under the process's root, resolved as it would (a link it planted cannot lead into
	 * ours; distributions link .build-id entries to the debug files). Never blocking: a FIFO
	 * planted under the debuglink name must not hang the agent in open. What is opened is
	 * used only if it is a regular ELF file whose build-id or CRC proves it is o's. */
	if (root[0])
		fd = proc_open_under(root, path, true);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > DEBUG_FILE_MAX)
		goto fail;
	elf = elf_open_fd(fd, NULL, &n);
	if (!elf)
		goto fail;
	if (o->build_id_len) {
		n = read_build_id_elf(elf, bid, sizeof(bid));
		if (n != (int)o->build_id_len || memcmp(bid, o->build_id_raw, o->build_id_len)) {
			pr_debug("ignoring debug file %s: build-id does not match", path);
			goto fail_elf;
		}
	} else if (check_crc) {
		uint32_t got;

		if (crc_fd(fd, (uint64_t)st.st_size, &got) || got != crc) {
			pr_debug("ignoring debug file %s: CRC does not match", path);
			goto fail_elf;
		}
	} else {
		goto fail_elf; /* nothing to prove it belongs to o */
	}
	*fd_out = fd;
	return elf;
fail_elf:
	elf_end(elf);
fail:
	close(fd);
	return NULL;
}

/* A .gnu_debuglink name is a plain file name: no path, no "..": it must never lead out of
 * the directories searched. */
static bool debuglink_name_ok(const char *name, size_t len)
{
	return len && len < 256 && !memchr(name, '/', len) && strcmp(name, ".") &&
	       strcmp(name, "..");
}

static Elf *find_debug_file(struct elf_object *o, Elf *elf, const char *path,
			    const struct elf_object_opts *opts, int *fd_out)
{
	const char *const *dirs = opts && opts->debug_dirs ? opts->debug_dirs : default_debug_dirs;
	const char *root = opts && opts->root ? opts->root : "";
	const char *roots[2] = { root, "" };
	char cand[4096], dir[2048];
	GElf_Shdr sh;
	Elf_Scn *scn;
	Elf *dbg;

	for (int r = 0; r < (root[0] ? 2 : 1); r++) {
		for (const char *const *d = dirs; o->build_id_len && *d; d++) {
			snprintf(cand, sizeof(cand), "%s/.build-id/%.2s/%s.debug", *d, o->build_id,
				 o->build_id + 2);
			dbg = open_debug_candidate(o, roots[r], cand, 0, false, fd_out);
			if (dbg)
				return dbg;
		}
	}
	scn = elf_find_section(elf, 0, ".gnu_debuglink", &sh);
	if (scn && path && path[0] == '/') {
		Elf_Data *d = elf_section_data(scn, &sh, 4096); /* a name under 256 and a CRC */
		const char *name;
		size_t nlen, crc_off;
		uint32_t crc;
		const char *slash;

		if (!d || d->d_size < 8)
			return NULL;
		name = d->d_buf;
		nlen = strnlen(name, d->d_size);
		crc_off = (nlen + 4) & ~(size_t)3;
		if (nlen == d->d_size || crc_off + 4 > d->d_size || !debuglink_name_ok(name, nlen))
			return NULL;
		memcpy(&crc, (const char *)d->d_buf + crc_off, 4);
		slash = strrchr(path, '/');
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		for (int r = 0; r < (root[0] ? 2 : 1); r++) {
			const char *fmts[] = { "%s/%s", "%s/.debug/%s" };

			for (int f = 0; f < 2; f++) {
				snprintf(cand, sizeof(cand), fmts[f], dir, name);
				dbg = open_debug_candidate(o, roots[r], cand, crc, true, fd_out);
				if (dbg)
					return dbg;
			}
			for (const char *const *dd = dirs; *dd; dd++) {
				snprintf(cand, sizeof(cand), "%s%s/%s", *dd, dir, name);
				dbg = open_debug_candidate(o, roots[r], cand, crc, true, fd_out);
				if (dbg)
					return dbg;
			}
		}
	}
	return NULL;
}

int elf_open_debug_file(int fd, const char *path, const struct elf_object_opts *opts)
{
	struct elf_object *o = calloc(1, sizeof(*o)); /* only its build-id is used */
	Elf *elf = NULL, *dbg = NULL;
	int dbg_fd = -1, err, n;

	if (!o)
		return -ENOMEM;
	elf = elf_open_fd(fd, NULL, &err);
	if (!elf)
		goto out;
	n = read_build_id_elf(elf, o->build_id_raw, sizeof(o->build_id_raw));
	if (n > 0) {
		o->build_id_len = (size_t)n;
		for (int i = 0; i < n; i++)
			snprintf(o->build_id + 2 * i, 3, "%02x", o->build_id_raw[i]);
	}
	dbg = find_debug_file(o, elf, path, opts, &dbg_fd);
	err = dbg ? dbg_fd : -ENOENT;
out:
	if (dbg)
		elf_end(dbg);
	if (elf)
		elf_end(elf);
	free(o);
	return err;
}

/* Decompresses .gnu_debugdata (xz) into a buffer of at most cap bytes; an xz bomb stops at
 * the cap and is refused. */
static int xz_decompress(const uint8_t *in, size_t in_len, size_t cap, uint8_t **out,
			 size_t *out_len)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	size_t bufsz = in_len * 4 < cap ? in_len * 4 + 4096 : cap;
	uint8_t *buf = malloc(bufsz);
	lzma_ret ret;
	int err = -EINVAL;

	if (!buf)
		return -ENOMEM;
	if (lzma_stream_decoder(&strm, 256u << 20, 0) != LZMA_OK) {
		free(buf);
		return -ENOMEM;
	}
	strm.next_in = in;
	strm.avail_in = in_len;
	strm.next_out = buf;
	strm.avail_out = bufsz;
	for (;;) {
		ret = lzma_code(&strm, LZMA_FINISH);
		if (ret == LZMA_STREAM_END) {
			err = 0;
			break;
		}
		if (ret != LZMA_OK && ret != LZMA_BUF_ERROR)
			break;
		if (strm.avail_out == 0) {
			size_t used = bufsz;
			int gerr = ARRAY_RESERVE_MAX(buf, bufsz, used + 1, cap);

			if (gerr) {
				err = gerr == -E2BIG ? -EFBIG : gerr;
				break;
			}
			strm.next_out = buf + used;
			strm.avail_out = bufsz - used;
		} else if (ret == LZMA_BUF_ERROR) {
			break; /* truncated input */
		}
	}
	*out_len = strm.total_out;
	lzma_end(&strm);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	return 0;
}

static int read_debugdata(struct elf_object *o, Elf *elf, const char *path,
			  const struct elf_object_opts *opts)
{
	size_t cap =
	    opts && opts->max_debugdata_bytes ? opts->max_debugdata_bytes : DEFAULT_MAX_DEBUGDATA;
	GElf_Shdr sh, ssh;
	Elf_Scn *scn = elf_find_section(elf, 0, ".gnu_debugdata", &sh), *sscn;
	uint8_t *img = NULL;
	size_t img_len = 0;
	Elf_Data *d;
	Elf *mini;
	int err;

	if (!scn)
		return -ENOENT;
	if (sh.sh_size > cap) /* xz never makes anything real larger */
		return -EFBIG;
	d = elf_section_data(scn, &sh, cap);
	if (!d || !d->d_size)
		return -EINVAL;
	err = xz_decompress(d->d_buf, d->d_size, cap, &img, &img_len);
	if (err) {
		pr_warn_ratelimited("failed to decompress .gnu_debugdata of %s: %s", path,
				    err == -EFBIG ? "larger than the cap" : strerror(-err));
		return err;
	}
	mini = elf_memory((char *)img, img_len);
	err = -EINVAL;
	if (mini && elf_kind(mini) == ELF_K_ELF &&
	    (sscn = elf_find_section(mini, SHT_SYMTAB, NULL, &ssh)))
		err = read_symtab(o, mini, sscn, &ssh);
	if (mini)
		elf_end(mini);
	free(img);
	return err;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;
	static const int rank[] = { [STB_LOCAL] = 2, [STB_GLOBAL] = 0, [STB_WEAK] = 1 };
	int rx = x->bind <= STB_WEAK ? rank[x->bind] : 3,
	    ry = y->bind <= STB_WEAK ? rank[y->bind] : 3;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (rx != ry)
		return rx - ry; /* GLOBAL before WEAK before LOCAL */
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void sort_dedupe(struct elf_object *o)
{
	size_t k = 0;

	if (!o->nsyms)
		return;
	qsort(o->syms, o->nsyms, sizeof(*o->syms), cmp_sym);
	for (size_t i = 0; i < o->nsyms; i++)
		if (!k || o->syms[k - 1].addr != o->syms[i].addr)
			o->syms[k++] = o->syms[i];
	o->nsyms = k;
}

/* PT_LOAD program headers, at most max. Returns how many, or -ENOEXEC. */
static int read_load_segments(Elf *elf, struct elf_segment *segs, size_t max)
{
	size_t nph = 0;
	int n = 0;

	if (elf_getphdrnum(elf, &nph))
		return -ENOEXEC;
	for (size_t i = 0; i < nph && (size_t)n < max; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		segs[n++] = (struct elf_segment){ ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz,
						  ph.p_flags };
	}
	return n;
}

static int read_segments(struct elf_object *o, Elf *elf)
{
	int n = read_load_segments(elf, o->segs, MAX_SEGMENTS);

	if (n < 0)
		return n;
	o->nsegs = n;
	return 0;
}

int elf_read_segments_fd(int fd, struct elf_segment *segs, size_t max)
{
	Elf *elf;
	int n;

	elf = elf_open_fd(fd, NULL, &n);
	if (!elf)
		return n;
	n = read_load_segments(elf, segs, max);
	elf_end(elf);
	return n;
}

struct elf_object *elf_object__open_fd(int fd, const char *path, const struct elf_object_opts *opts)
{
	struct elf_object *o = NULL;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf_Scn *scn;
	Elf *elf = NULL, *dbg = NULL;
	int dbg_fd = -1, err = -ENOEXEC, n;

	elf = elf_open_fd(fd, &eh, &err);
	if (!elf)
		goto fail;
	o = calloc(1, sizeof(*o));
	if (!o) {
		err = -ENOMEM;
		goto fail;
	}
	o->type = eh.e_type;
	o->max_symbols = opts && opts->max_symbols ? opts->max_symbols : DEFAULT_MAX_SYMBOLS;
	if (o->max_symbols > MAX_SYMBOLS)
		o->max_symbols = MAX_SYMBOLS;
	if (opts) {
		o->max_bytes = opts->max_bytes;
		o->reserve = opts->reserve;
		o->reserve_ctx = opts->reserve_ctx;
	}
	o->source = "none";
	err = read_segments(o, elf);
	if (err)
		goto fail;
	n = read_build_id_elf(elf, o->build_id_raw, sizeof(o->build_id_raw));
	if (n > 0) {
		o->build_id_len = (size_t)n;
		for (int i = 0; i < n; i++)
			snprintf(o->build_id + 2 * i, 3, "%02x", o->build_id_raw[i]);
	}

	scn = elf_find_section(elf, SHT_SYMTAB, NULL, &sh);
	if (scn && read_symtab(o, elf, scn, &sh) == 0 && o->nsyms) {
		o->source = "symtab";
		goto done;
	}
	dbg = find_debug_file(o, elf, path, opts, &dbg_fd);
	if (dbg) {
		scn = elf_find_section(dbg, SHT_SYMTAB, NULL, &sh);
		if (scn && read_symtab(o, dbg, scn, &sh) == 0 && o->nsyms) {
			o->source = "debug-file";
			goto done;
		}
	}
	scn = elf_find_section(elf, SHT_DYNSYM, NULL, &sh);
	if (scn && read_symtab(o, elf, scn, &sh) == 0 && o->nsyms)
		o->source = "dynsym";
	if (read_debugdata(o, elf, path, opts) == 0)
		o->source = "debugdata";
done:
	if (o->dropped_symbols)
		pr_warn_ratelimited("%s has more than %zu symbols: %llu dropped", path,
				    o->max_symbols, (unsigned long long)o->dropped_symbols);
	sort_dedupe(o);
	if (dbg)
		elf_end(dbg);
	if (dbg_fd >= 0)
		close(dbg_fd);
	elf_end(elf);
	return o;
fail:
	elf_object__free(o);
	if (elf)
		elf_end(elf);
	errno = -err;
	return NULL;
}

int elf_find_symbol(Elf *elf, Elf64_Word table, unsigned char stt, const char *name, GElf_Sym *out)
{
	Elf_Data *data;
	Elf_Scn *scn;
	GElf_Shdr sh;
	size_t n;

	scn = elf_find_section(elf, table, NULL, &sh);
	if (!scn)
		return -ENOENT;
	data = elf_symtab_data(elf, scn, &sh, ELF_SECTION_READ_MAX);
	if (!data || !sh.sh_entsize)
		return -ENOENT;
	n = data->d_size / sh.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		const char *sname;
		GElf_Sym sym;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		if (GELF_ST_TYPE(sym.st_info) != stt || sym.st_shndx == SHN_UNDEF ||
		    !(stt == STT_FUNC ? sym.st_size : sym.st_value))
			continue;
		sname = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (sname && !strcmp(sname, name)) {
			*out = sym;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_find_data_symbol_fd(int fd, const char *name, uint64_t file_offset,
			    struct elf_data_symbol *out)
{
	struct elf_object segs; /* only its PT_LOAD table is used */
	GElf_Sym sym;
	Elf *elf;
	int err;

	elf = elf_open_fd(fd, NULL, &err);
	if (!elf)
		return err;
	memset(&segs, 0, sizeof(segs));
	err = read_segments(&segs, elf);
	if (err)
		goto out;
	/* .dynsym first: small, and what a stripped shared object still has */
	err = elf_find_symbol(elf, SHT_DYNSYM, STT_OBJECT, name, &sym);
	if (err)
		err = elf_find_symbol(elf, SHT_SYMTAB, STT_OBJECT, name, &sym);
	if (err)
		goto out;
	err = elf_object__offset_to_vaddr(&segs, file_offset, &out->map_vaddr);
	if (err)
		goto out;
	out->vaddr = sym.st_value;
	out->size = sym.st_size;
out:
	elf_end(elf);
	return err;
}

struct elf_object *elf_object__open(const char *path, const struct elf_object_opts *opts)
{
	struct elf_object *o;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return NULL;
	o = elf_object__open_fd(fd, path, opts);
	err = errno;
	close(fd);
	errno = err;
	return o;
}

void elf_object__free(struct elf_object *o)
{
	if (!o)
		return;
	free(o->syms);
	free(o->pool);
	free(o);
}

const char *elf_object__build_id_hex(const struct elf_object *o)
{
	return o->build_id;
}

int elf_object__type(const struct elf_object *o)
{
	return o->type;
}

int elf_segments_offset_to_vaddr(const struct elf_segment *segs, size_t n, uint64_t off,
				 uint64_t *vaddr)
{
	ssize_t best = -1;

	for (size_t i = 0; i < n; i++) {
		const struct elf_segment *s = &segs[i];

		if (off < s->offset || off - s->offset >= s->filesz)
			continue;
		if (best < 0 || (s->flags & PF_X))
			best = (ssize_t)i;
	}
	if (best < 0)
		return -ENOENT;
	*vaddr = off - segs[best].offset + segs[best].vaddr;
	return 0;
}

int elf_object__offset_to_vaddr(const struct elf_object *o, uint64_t off, uint64_t *vaddr)
{
	return elf_segments_offset_to_vaddr(o->segs, (size_t)o->nsegs, off, vaddr);
}

int elf_object__lookup(const struct elf_object *o, uint64_t vaddr, struct elf_symbol_result *res)
{
	size_t lo = ADDR_SEARCH(o->syms, o->nsyms, addr, vaddr);
	const struct elf_sym *s;

	if (lo == 0)
		return -ENOENT;
	s = &o->syms[lo - 1];
	/* A sized symbol covers only its size; a zero-size one reaches the next symbol. */
	if (s->size && vaddr - s->addr >= s->size)
		return -ENOENT;
	if (!s->size && lo == o->nsyms)
		return -ENOENT;
	res->name = o->pool + s->name;
	res->start = s->addr;
	res->size = s->size;
	return 0;
}

size_t elf_object__symbol_count(const struct elf_object *o)
{
	return o->nsyms;
}

const char *elf_object__symbol_source(const struct elf_object *o)
{
	return o->source;
}

uint64_t elf_object__tables_refused(const struct elf_object *o)
{
	return o->tables_refused;
}

size_t elf_object__memory_bytes(const struct elf_object *o)
{
	return sizeof(*o) + o->syms_cap * sizeof(*o->syms) + o->pool_cap;
}

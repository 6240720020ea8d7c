/* SPDX-License-Identifier: BSD-2-Clause */
/* CPython frame naming: code objects read with process_vm_readv (bounded sizes), cached by
 * (process entry, address, guard) within a byte budget; the 3.11 location-table decoder. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/lru_cache.h"
#include "util/utf8.h"
#include "symbolize/python_frames.h"

#define DEFAULT_MAX_BYTES   (16u << 20)
#define DEFAULT_MAX_ENTRIES 65536
#define NAME_MAX_CHARS	    1024
#define FILE_MAX_CHARS	    4096
#define LINETABLE_MAX	    (256u << 10)

/* CPython 3.11, x86-64 (Include/cpython/code.h, unicodeobject.h, bytesobject.h). */
#define CO_HDR_BYTES   144
#define CO_TYPE	       8 /* ob_type */
#define CO_FIRSTLINENO 72
#define CO_FILENAME    112
#define CO_QUALNAME    128
#define CO_LINETABLE   136
#define STR_LENGTH     16
#define STR_STATE      32
#define STR_ASCII_DATA 48
#define STR_DATA       72
#define BYTES_SIZE     16
#define BYTES_DATA     32

struct code_key {
	uint64_t serial;
	uint64_t code;
	uint32_t guard;
	uint32_t pad;
};

struct code_info {
	char *qualname, *filename; /* NULL: unreadable */
	uint8_t *linetable;
	size_t nlinetable;
	int firstlineno;
};

struct python_frames {
	struct python_frames_opts opts;
	struct lru_cache *codes;
	struct python_frames_stats st;
};

static void free_code(void *v, void *ctx)
{
	struct code_info *ci = v;

	free(ci->qualname);
	free(ci->filename);
	free(ci->linetable);
	free(ci);
}

struct python_frames *python_frames__new(const struct python_frames_opts *opts)
{
	struct python_frames *pf = calloc(1, sizeof(*pf));
	struct lru_cache_opts lo = { 0 };

	if (!pf)
		return NULL;
	if (opts)
		pf->opts = *opts;
	if (!pf->opts.max_bytes)
		pf->opts.max_bytes = DEFAULT_MAX_BYTES;
	if (!pf->opts.max_entries)
		pf->opts.max_entries = DEFAULT_MAX_ENTRIES;
	lo.key_size = sizeof(struct code_key);
	lo.max_entries = pf->opts.max_entries;
	lo.max_cost = pf->opts.max_bytes;
	lo.free_value = free_code;
	pf->codes = lru_cache__new(&lo);
	if (!pf->codes) {
		free(pf);
		errno = ENOMEM;
		return NULL;
	}
	return pf;
}

void python_frames__free(struct python_frames *pf)
{
	if (!pf)
		return;
	lru_cache__free(pf->codes);
	free(pf);
}

static uint64_t u64_at(const uint8_t *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* A compact str object as a NUL-terminated UTF-8 copy, or NULL. */
static char *read_str(int pid, uint64_t addr, size_t max_chars)
{
	uint8_t hdr[STR_DATA];
	uint32_t state, kind;
	uint64_t len;
	uint8_t *raw = NULL;
	char *out = NULL;
	size_t o = 0;

	if (!addr || proc_read_mem(pid, addr, hdr, sizeof(hdr)))
		return NULL;
	len = u64_at(hdr, STR_LENGTH);
	memcpy(&state, hdr + STR_STATE, sizeof(state));
	kind = (state >> 2) & 7;
	if (!(state & (1u << 5)) || len > max_chars || (kind != 1 && kind != 2 && kind != 4))
		return NULL; /* not compact: code objects' strings always are */
	raw = malloc(len * kind + 1);
	out = malloc(len * 4 + 1);
	if (!raw || !out ||
	    proc_read_mem(pid, addr + ((state & (1u << 6)) ? STR_ASCII_DATA : STR_DATA), raw,
			  len * kind)) {
		free(out);
		out = NULL;
		goto done;
	}
	for (size_t i = 0; i < len; i++) {
		uint32_t c = kind == 1 ? raw[i] : 0;

		if (kind == 2) {
			uint16_t u;

			memcpy(&u, raw + 2 * i, 2);
			c = u;
		} else if (kind == 4) {
			memcpy(&c, raw + 4 * i, 4);
		}
		/* control characters would break folded output and logs; a str freed under us
		 * may hold surrogates or values past U+10FFFF, which utf8_put replaces */
		o += utf8_put(out + o, c < 0x20 || c == 0x7f ? '?' : c);
	}
	out[o] = '\0';
done:
	free(raw);
	return out;
}

static struct code_info *read_code(struct python_frames *pf, const struct python_proc *pp,
				   uint64_t code, uint32_t guard, size_t *cost)
{
	struct code_info *ci = calloc(1, sizeof(*ci));
	int pid = pp->pid;
	uint8_t hdr[CO_HDR_BYTES], bh[BYTES_DATA];
	uint64_t lt, n;
	int32_t first;

	if (!ci)
		return NULL;
	*cost = sizeof(*ci) + 64;
	pf->st.code_reads++;
	if (proc_read_mem(pid, code, hdr, sizeof(hdr)))
		goto fail;
	if (pp->code_type && u64_at(hdr, CO_TYPE) != pp->code_type)
		goto fail; /* not a code object (any more) */
	memcpy(&first, hdr + CO_FIRSTLINENO, sizeof(first));
	if (((uint32_t)first & STOKER_PYF_GUARD_MASK) != guard)
		goto fail; /* another object than BPF saw: freed since */
	ci->firstlineno = first;
	ci->qualname = read_str(pid, u64_at(hdr, CO_QUALNAME), NAME_MAX_CHARS);
	ci->filename = read_str(pid, u64_at(hdr, CO_FILENAME), FILE_MAX_CHARS);
	if (!ci->qualname)
		goto fail;
	lt = u64_at(hdr, CO_LINETABLE);
	if (lt && proc_read_mem(pid, lt, bh, sizeof(bh)) == 0) {
		n = u64_at(bh, BYTES_SIZE);
		if (n && n <= LINETABLE_MAX) {
			ci->linetable = malloc(n);
			if (ci->linetable &&
			    proc_read_mem(pid, lt + BYTES_DATA, ci->linetable, n)) {
				free(ci->linetable);
				ci->linetable = NULL;
			}
			if (ci->linetable)
				ci->nlinetable = n;
		}
	}
	*cost += strlen(ci->qualname) + (ci->filename ? strlen(ci->filename) : 0) + ci->nlinetable;
	return ci;
fail:
	pf->st.code_failures++;
	free(ci->qualname);
	free(ci->filename);
	ci->qualname = ci->filename = NULL;
	return ci; /* remembered as unreadable */
}

int python_frames__name(struct python_frames *pf, const struct python_proc *pp,
			const struct stoker_py_frame *f, struct python_frame_name *out)
{
	struct code_key key = { .serial = pp->serial,
				.code = f->code,
				.guard = f->info & STOKER_PYF_GUARD_MASK };
	struct code_info *ci = lru_cache__get(pf->codes, &key);
	size_t cost;
	int line;

	if (!ci) {
		ci = read_code(pf, pp, f->code, key.guard, &cost);
		if (!ci)
			return -ENOMEM;
		if (lru_cache__put(pf->codes, &key, ci, cost)) {
			free_code(ci, NULL);
			return -ENOMEM;
		}
	}
	if (!ci->qualname)
		return -ESRCH;
	out->qualname = ci->qualname;
	out->filename = ci->filename;
	line = ci->linetable
		   ? python_line_311(ci->linetable, ci->nlinetable, ci->firstlineno, f->lasti)
		   : 0;
	out->line = line > 0 ? (uint32_t)line : 0;
	pf->st.frames++;
	return 0;
}

struct python_frames_stats *python_frames__stats(struct python_frames *pf)
{
	pf->st.cache_bytes = lru_cache__cost(pf->codes);
	pf->st.cache_evictions = lru_cache__evictions(pf->codes);
	return &pf->st;
}

/* Objects/locations.md: 6-bit groups, least significant first, bit 6 set on all but the last. */
static int varint(const uint8_t *t, size_t len, size_t *i, uint32_t *out)
{
	uint32_t v = 0;

	for (unsigned shift = 0; shift < 32; shift += 6) {
		uint8_t b;

		if (*i >= len)
			return -EINVAL;
		b = t[(*i)++];
		v |= (uint32_t)(b & 63) << shift;
		if (!(b & 64)) {
			*out = v;
			return 0;
		}
	}
	return -EINVAL;
}

static int svarint(const uint8_t *t, size_t len, size_t *i, int32_t *out)
{
	uint32_t u;

	if (varint(t, len, i, &u))
		return -EINVAL;
	*out = (u & 1) ? -(int32_t)(u >> 1) : (int32_t)(u >> 1);
	return 0;
}

int python_line_311(const uint8_t *t, size_t len, int firstlineno, int lasti)
{
	int64_t line = firstlineno;
	uint32_t unit = 0, skip;
	size_t i = 0;

	/* a frame entered but not yet at its first instruction: CPython's PyCode_Addr2Line
	 * answers the def line */
	if (lasti < 0)
		return firstlineno > 0 ? firstlineno : 0;
	while (i < len) {
		uint8_t b = t[i++];
		unsigned code = (b >> 3) & 15, n = (b & 7) + 1;
		int32_t delta = 0;
		bool none = false;

		if (!(b & 0x80))
			return -EINVAL; /* every entry starts with bit 7 set */
		if (code <= 9) {
			i += 1; /* column */
		} else if (code <= 12) {
			delta = (int32_t)code - 10;
			i += 2; /* start and end columns */
		} else if (code == 13) {
			if (svarint(t, len, &i, &delta))
				return -EINVAL;
		} else if (code == 14) {
			if (svarint(t, len, &i, &delta) || varint(t, len, &i, &skip) ||
			    varint(t, len, &i, &skip) || varint(t, len, &i, &skip))
				return -EINVAL;
		} else {
			none = true;
		}
		if (i > len)
			return -EINVAL;
		line += delta;
		if ((uint32_t)lasti < unit + n)
			return none || line <= 0 || line > INT32_MAX ? 0 : (int)line;
		unit += n;
	}
	return 0;
}

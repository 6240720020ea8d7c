/* SPDX-License-Identifier: BSD-2-Clause */
/* Kernel symbols: the text symbols of /proc/kallsyms sorted by address, names in one string
 * pool, and the rule for how far past a symbol an address still belongs to it. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbolize/kallsyms.h"
#include "util/addr_search.h"
#include "util/array.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/parse_util.h"

/* /proc/kallsyms is ~5 MiB for a distribution kernel, ~15 MiB with hundreds of modules. It is
 * read KALLSYMS_READ_SIZE at a time and parsed as it comes: the text is never held whole. */
#define KALLSYMS_MAX_BYTES   (64u << 20)
#define KALLSYMS_READ_SIZE   (64u << 10)
#define KALLSYMS_MAX_ENTRIES (2u << 20)
/* KSYM_NAME_LEN is 512 since 6.1; MODULE_NAME_LEN is 64, BPF and ftrace pseudo-modules fit too. */
#define KSYM_NAME_MAX	512
#define KSYM_MODULE_MAX 128
#define KSYM_LINE_MAX	(16 + 3 + KSYM_NAME_MAX + 3 + KSYM_MODULE_MAX + 2)
/* Lookup rule: an address names the last text symbol at or below it, unless
 *  - it is more than KSYM_MAX_DISTANCE past that symbol: no kernel function is this long, so
 *    the address is in a gap, a module we did not see, or garbage; or
 *  - that symbol is core kernel and the address is at or past _etext: core text ends there
 *    (what follows is init text, freed after boot, then nothing until module space).
 * Past the last symbol of a module only the distance applies: kallsyms gives no module ends. */
#define KSYM_MAX_DISTANCE (1u << 20)
/* Function padding is 16 bytes (64 with call depth tracking's thunks): farther apart, a
 * __pfx_ symbol is left its own entry. */
#define KSYM_PADDING_MAX 64

/* A parsed line before sorting; names are pool offsets since the pool moves as it grows. */
struct ksym_raw {
	uint64_t addr;
	uint32_t name, module; /* pool offsets; module 0 is "" (core kernel) */
	uint32_t seq;	       /* file order */
	uint8_t type_rank : 2; /* among aliases: T, then t, then W, then w (as perf does) */
	uint8_t lends : 1;     /* the next symbol's name is the end of this one's (add_name) */
	uint8_t borrows : 1;   /* this name is the end of the previous symbol's */
	uint8_t underscores;   /* then fewer leading underscores: startup_64 over _stext */
	uint16_t name_len;     /* then the longer name */
};

struct kallsyms {
	struct ksym *syms; /* sorted by addr, one per address */
	size_t n;
	char *pool;
	uint64_t etext; /* end of core kernel text, 0 if not listed */
};

struct parse_state {
	struct ksym_raw *raw;
	size_t n, cap;
	char *pool;
	size_t pool_len, pool_cap;
	uint32_t last_module; /* modules are listed contiguously: intern the previous one */
	uint64_t etext;
	size_t zero, nonzero, skipped, bad;
};

static int cmp_ksym_raw(const void *a, const void *b)
{
	const struct ksym_raw *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->type_rank != y->type_rank)
		return x->type_rank < y->type_rank ? -1 : 1;
	if (x->underscores != y->underscores)
		return x->underscores < y->underscores ? -1 : 1;
	if (x->name_len != y->name_len)
		return x->name_len > y->name_len ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int type_rank(char t)
{
	switch (t) {
	case 'T':
		return 0;
	case 't':
		return 1;
	case 'W':
		return 2;
	case 'w':
		return 3;
	default:
		return -1; /* data, bss, absolute ('A'), ...: not code */
	}
}

/* The name is not NUL-terminated here. */
static size_t leading_underscores(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && n < 255 && s[n] == '_')
		n++;
	return n;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Appends [s, s+len) and a NUL to the pool; returns its offset or 0 on ENOMEM. */
static uint32_t pool_add(struct parse_state *ps, const char *s, size_t len)
{
	uint32_t off;

	if (ARRAY_RESERVE(ps->pool, ps->pool_cap, ps->pool_len + len + 1))
		return 0;
	off = (uint32_t)ps->pool_len;
	memcpy(ps->pool + ps->pool_len, s, len);
	ps->pool[ps->pool_len + len] = '\0';
	ps->pool_len += len + 1;
	return off;
}

/* The pool offset of r's name, r being the next raw entry. With function padding (x86 since 6.2)
 * kallsyms lists __pfx_NAME (__cfi_NAME with kCFI) just before each NAME, about half of all
 * symbols: a name the previous symbol's ends with is that name's tail instead of a copy (40% of
 * the names' bytes on a 6.18 kernel). 0 on ENOMEM. */
static uint32_t add_name(struct parse_state *ps, struct ksym_raw *r, const char *name, size_t nlen)
{
	struct ksym_raw *prev = ps->n ? &ps->raw[ps->n - 1] : NULL;

	if (prev && prev->name_len >= nlen &&
	    !memcmp(ps->pool + prev->name + prev->name_len - nlen, name, nlen)) {
		prev->lends = 1;
		r->borrows = 1;
		return prev->name + prev->name_len - (uint32_t)nlen;
	}
	return pool_add(ps, name, nlen);
}

/* Parses "ADDR TYPE NAME[\t[MODULE]]" in [p, le). Returns 0 (kept or not text), -EINVAL for a
 * malformed line, -ENOMEM. */
static int parse_line(struct parse_state *ps, const char *p, const char *le)
{
	const char *q, *name, *ne, *mod = NULL, *me = NULL;
	struct ksym_raw *r;
	uint64_t addr;
	size_t nlen, mlen = 0;
	int rank;
	char type;

	if ((size_t)(le - p) > KSYM_LINE_MAX)
		return -EINVAL;
	while (le > p && is_space(le[-1]))
		le--;
	if (parse_hex_u64_n(p, le, &q, &addr) || le - q < 4 || q[0] != ' ' || q[2] != ' ')
		return -EINVAL;
	type = q[1];
	name = q + 3;
	for (ne = name; ne < le && !is_space(*ne); ne++)
		;
	nlen = (size_t)(ne - name);
	if (!nlen || nlen > KSYM_NAME_MAX)
		return -EINVAL;
	for (q = ne; q < le && is_space(*q); q++)
		;
	if (q < le) {
		if (*q != '[' || le[-1] != ']')
			return -EINVAL;
		mod = q + 1;
		me = le - 1;
		mlen = (size_t)(me - mod);
		if (!mlen || mlen > KSYM_MODULE_MAX || memchr(mod, ']', mlen))
			return -EINVAL;
	}
	if (addr)
		ps->nonzero++;
	else
		ps->zero++;
	if (!mod && nlen == 6 && !memcmp(name, "_etext", 6))
		ps->etext = addr;
	rank = type_rank(type);
	if (rank < 0 || !addr)
		return 0;
	if (ps->n == KALLSYMS_MAX_ENTRIES) {
		ps->skipped++;
		return 0;
	}
	if (ARRAY_RESERVE(ps->raw, ps->cap, ps->n + 1))
		return -ENOMEM;
	r = &ps->raw[ps->n];
	r->addr = addr;
	r->seq = (uint32_t)ps->n;
	r->type_rank = (uint8_t)rank;
	r->lends = 0;
	r->borrows = 0;
	r->underscores = (uint8_t)leading_underscores(name, nlen);
	r->name_len = (uint16_t)nlen;
	r->name = add_name(ps, r, name, nlen);
	if (!r->name)
		return -ENOMEM;
	r->module = 0;
	if (mod) {
		const char *last = ps->pool + ps->last_module;

		if (ps->last_module && strlen(last) == mlen && !memcmp(last, mod, mlen)) {
			r->module = ps->last_module;
		} else {
			r->module = pool_add(ps, mod, mlen);
			if (!r->module)
				return -ENOMEM;
			ps->last_module = r->module;
		}
	}
	ps->n++;
	return 0;
}

static void sift_down(struct ksym_raw *a, size_t i, size_t n)
{
	struct ksym_raw t = a[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && cmp_ksym_raw(&a[c], &a[c + 1]) < 0)
			c++;
		if (cmp_ksym_raw(&t, &a[c]) >= 0)
			break;
		a[i] = a[c];
		i = c;
	}
	a[i] = t;
}

/* Into address order, in place: glibc's qsort merge-sorts through a copy of the array (2.9 MB
 * here). The core kernel's symbols come in address order, a module's do not: a heap sort unless
 * the addresses are all in order already (finish picks among the aliases of an address, so
 * their order does not matter). */
static void sort_raw(struct ksym_raw *a, size_t n)
{
	size_t i;

	for (i = 1; i < n && a[i - 1].addr <= a[i].addr; i++)
		;
	if (i >= n)
		return;
	for (i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (i = n; i-- > 1;) {
		struct ksym_raw t = a[0];

		a[0] = a[i];
		a[i] = t;
		sift_down(a, 0, i);
	}
}

/* The name of an alias that lost to another at its address: dropped from the pool, unless it
 * is not the alias's own (borrows) or a kept symbol's is part of it (lends). */
struct pool_gap {
	uint32_t off;	  /* where the name was */
	uint32_t dropped; /* its size with the NUL, then (pool_compact) the bytes dropped up to
			   * its end */
};

static int cmp_pool_gap(const void *a, const void *b)
{
	const struct pool_gap *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Drops the names at the gaps (sorted by offset) by moving what follows each down. */
static void pool_compact(struct parse_state *ps, struct pool_gap *g, size_t ng)
{
	size_t w = g[0].off, dropped = 0;

	for (size_t i = 0; i < ng; i++) {
		size_t from = g[i].off + g[i].dropped;
		size_t to = i + 1 < ng ? g[i + 1].off : ps->pool_len;

		memmove(ps->pool + w, ps->pool + from, to - from);
		w += to - from;
		dropped += g[i].dropped;
		g[i].dropped = (uint32_t)dropped;
	}
	ps->pool_len = w;
}

/* Where the string that was at off is after pool_compact. */
static uint32_t pool_moved(const struct pool_gap *g, size_t ng, uint32_t off)
{
	size_t lo = 0, hi = ng;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return off - (lo ? g[lo - 1].dropped : 0);
}

/* Sorts, keeps the preferred alias per address and only its name in the pool, and turns the raw
 * entries into the table's in place (a second array would add to the peak), pool offsets into
 * pointers. Pool and table are left at their exact sizes: they are kept for the agent's life. */
/* Whether pad is the padding the kernel puts before fn (CONFIG_FUNCTION_PADDING: __pfx_NAME,
 * or __cfi_NAME with kCFI), the next address listed. */
static bool leads_to(const struct parse_state *ps, const struct ksym_raw *pad,
		     const struct ksym_raw *fn)
{
	const char *name = ps->pool + pad->name;

	return pad->name_len == fn->name_len + 6u && pad->module == fn->module &&
	       fn->addr > pad->addr && fn->addr - pad->addr <= KSYM_PADDING_MAX &&
	       (!memcmp(name, "__pfx_", 6) || !memcmp(name, "__cfi_", 6)) &&
	       !memcmp(name + 6, ps->pool + fn->name, fn->name_len);
}

/* A function and its padding become one entry from the padding on, named for the function:
 * an address in the padding names the function it leads to, and the table halves on kernels
 * with padding (6.x on x86). raw holds one entry per address, sorted; returns the new count.
 * The padding's name stays in the pool (a function's name is often its tail). */
static size_t merge_padding(const struct parse_state *ps, struct ksym_raw *raw, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (k && leads_to(ps, &raw[k - 1], &raw[i])) {
			raw[k - 1].name = raw[i].name;
			raw[k - 1].name_len = raw[i].name_len;
			continue;
		}
		raw[k++] = raw[i];
	}
	return k;
}

static int finish(struct kallsyms *ks, struct parse_state *ps)
{
	struct ksym_raw *raw = ps->raw;
	struct pool_gap *gaps = NULL;
	size_t n = ps->n, k = 0, ng = 0;
	char *out, *pool;

	_Static_assert(sizeof(struct ksym) <= sizeof(struct ksym_raw),
		       "a table entry must fit where its raw entry was");
	sort_raw(raw, n);
	/* room for every entry that shares its address and owns its name: the losers are some */
	for (size_t i = 0; i < n; i++)
		ng += ((i && raw[i].addr == raw[i - 1].addr) ||
		       (i + 1 < n && raw[i].addr == raw[i + 1].addr)) &&
		      !raw[i].lends && !raw[i].borrows;
	if (ng) {
		gaps = malloc(ng * sizeof(*gaps));
		if (!gaps)
			return -ENOMEM;
	}
	ng = 0;
	for (size_t i = 0, j; i < n; i = j) {
		size_t best = i;

		for (j = i + 1; j < n && raw[j].addr == raw[i].addr; j++) {
			size_t lost = j;

			if (cmp_ksym_raw(&raw[j], &raw[best]) < 0) {
				lost = best;
				best = j;
			}
			if (raw[lost].lends || raw[lost].borrows)
				continue;
			gaps[ng].off = raw[lost].name;
			gaps[ng++].dropped = raw[lost].name_len + 1u;
		}
		raw[k++] = raw[best];
	}
	k = merge_padding(ps, raw, k);
	if (ng) {
		qsort(gaps, ng, sizeof(*gaps), cmp_pool_gap);
		pool_compact(ps, gaps, ng);
	}
	/* only shrinks, which keep the block where it is if they fail */
	pool = realloc(ps->pool, ps->pool_len);
	ks->pool = pool ? pool : ps->pool;
	ps->pool = NULL;
	/* entry i is read whole before its bytes are written: memcpy, not a store through another
	 * struct type the compiler could order before the read */
	out = (char *)raw;
	for (size_t i = 0; i < k; i++) {
		struct ksym_raw r = raw[i];
		struct ksym s = { r.addr, ks->pool + pool_moved(gaps, ng, r.name),
				  ks->pool + pool_moved(gaps, ng, r.module) };

		memcpy(out + i * sizeof(s), &s, sizeof(s));
	}
	free(gaps);
	ps->raw = NULL;
	if (!k) {
		free(raw);
		return 0;
	}
	ks->syms = realloc(raw, k * sizeof(*ks->syms));
	if (!ks->syms)
		ks->syms = (struct ksym *)raw;
	ks->n = k;
	return 0;
}

/* One line from memory or from the file: the same parser for both. */
static int parse_line_cb(void *ctx, const char *line, size_t len)
{
	struct parse_state *ps = ctx;
	int err = parse_line(ps, line, line + len);

	if (err == -EINVAL) {
		ps->bad++;
		err = 0;
	}
	return err;
}

static int parse_init(struct parse_state *ps)
{
	memset(ps, 0, sizeof(*ps));
	/* offset 0 is "", the core kernel's module */
	if (ARRAY_RESERVE(ps->pool, ps->pool_cap, 1))
		return -ENOMEM;
	ps->pool[0] = '\0';
	ps->pool_len = 1;
	return 0;
}

/* The table from every line parsed into ps, unless err (the parse's) is set; ps is released
 * either way. NULL + errno on failure, EACCES when every address read as zero. */
static struct kallsyms *parse_finish(struct parse_state *ps, int err)
{
	struct kallsyms *ks = NULL;

	if (err)
		goto out;
	if (!ps->nonzero && ps->zero) {
		err = -EACCES;
		goto out;
	}
	if (ps->bad)
		pr_debug("kallsyms: skipped %zu malformed lines", ps->bad);
	if (ps->skipped)
		pr_warn("kallsyms: more than %u text symbols, %zu not loaded: their frames keep "
			"addresses",
			KALLSYMS_MAX_ENTRIES, ps->skipped);
	ks = calloc(1, sizeof(*ks));
	if (!ks) {
		err = -ENOMEM;
		goto out;
	}
	ks->etext = ps->etext;
	err = finish(ks, ps);
out:
	free(ps->raw);
	free(ps->pool);
	ps->raw = NULL;
	ps->pool = NULL;
	if (err) {
		kallsyms__free(ks);
		errno = -err;
		return NULL;
	}
	return ks;
}

struct kallsyms *kallsyms__parse(const char *buf, size_t len)
{
	struct parse_state ps;
	size_t off = 0;
	int err;

	err = parse_init(&ps);
	while (!err && off < len) {
		const char *p = buf + off, *nl = memchr(p, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - p) : len - off;

		err = parse_line_cb(&ps, p, ll);
		off += ll + 1;
	}
	return parse_finish(&ps, err);
}

/* name is the file's, for the warnings. */
static struct kallsyms *load_fd(int fd, const char *name, size_t bufsize)
{
	struct parse_state ps;
	struct kallsyms *ks;
	size_t long_lines = 0;
	int err;

	if (bufsize <= KSYM_LINE_MAX)
		bufsize = KSYM_LINE_MAX + 1;
	err = parse_init(&ps);
	/* past the cap only the lines complete within it: a cut one would name a wrong symbol */
	if (!err)
		err = fd_read_lines(fd, KALLSYMS_MAX_BYTES, bufsize, KSYM_LINE_MAX, parse_line_cb,
				    &ps, &long_lines);
	if (err == 1) {
		pr_warn("%s is larger than %u MiB: symbols past that are not loaded", name,
			KALLSYMS_MAX_BYTES >> 20);
		err = 0;
	}
	/* too long for the reader's buffer, they are malformed as parse_line would find them */
	ps.bad += long_lines;
	ks = parse_finish(&ps, err);
	if (!ks && errno == EACCES)
		pr_warn("failed to load %s: every address reads as zero (kernel.kptr_restrict); "
			"run as root or with CAP_SYSLOG to name kernel frames",
			name);
	return ks;
}

struct kallsyms *kallsyms__load_fd(int fd, size_t bufsize)
{
	return load_fd(fd, "kallsyms", bufsize);
}

struct kallsyms *kallsyms__load(const char *path)
{
	struct kallsyms *ks;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ks = load_fd(fd, path, KALLSYMS_READ_SIZE);
	err = errno;
	close(fd);
	if (!ks)
		errno = err;
	return ks;
}

const struct ksym *kallsyms__lookup(const struct kallsyms *ks, uint64_t addr)
{
	const struct ksym *s;
	size_t lo;

	if (!ks)
		return NULL;
	lo = ADDR_SEARCH(ks->syms, ks->n, addr, addr);
	if (lo == 0)
		return NULL;
	s = &ks->syms[lo - 1];
	if (addr - s->addr > KSYM_MAX_DISTANCE)
		return NULL;
	if (!s->module[0] && ks->etext && addr >= ks->etext)
		return NULL;
	return s;
}

size_t kallsyms__count(const struct kallsyms *ks)
{
	return ks ? ks->n : 0;
}

void kallsyms__free(struct kallsyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->pool);
	free(ks);
}

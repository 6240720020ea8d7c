/* SPDX-License-Identifier: BSD-2-Clause */
/* Kernel symbols: /proc/kallsyms text symbols sorted by address in one string pool; a lookup
 * returns the symbol at or below an address, within a bounded distance. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kallsyms.h"
#include "log.h"
#include "parse_util.h"

#define KALLSYMS_MAX_BYTES (64u << 20)
#define KSYM_NAME_MAX	   512
/* No kernel function is this long: an address further than this past the nearest symbol is
 * not in it (it is in a gap, a module we did not see, or garbage). */
#define KSYM_MAX_DISTANCE (1u << 20)

struct ksym_entry {
	uint64_t addr;
	uint32_t name, module; /* offsets into pool */
	uint32_t local;	       /* 't'/'w': an alias at the same address prefers a global */
};

struct kallsyms {
	struct ksym_entry *syms;
	size_t n;
	char *pool;
	size_t pool_len;
	uint64_t etext; /* end of core kernel text, 0 if unknown */
	struct ksym result;
};

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym_entry *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->local != y->local)
		return x->local < y->local ? -1 : 1;
	/* then by input position: equal addresses keep their file order */
	return x->name < y->name ? -1 : x->name > y->name;
}

static bool is_text(char t)
{
	return t == 't' || t == 'T' || t == 'w' || t == 'W';
}

struct kallsyms *kallsyms__parse(const char *buf, size_t len)
{
	struct kallsyms *ks = calloc(1, sizeof(*ks));
	const char *p = buf, *end = buf + len;
	size_t cap = 0, pool_cap = 0, nonzero = 0, lines = 0;
	int err = -ENOMEM;

	if (!ks)
		return NULL;
	/* offset 0 of the pool is "" (core kernel module name) */
	pool_cap = len / 2 + 64;
	ks->pool = malloc(pool_cap);
	if (!ks->pool)
		goto fail;
	ks->pool[0] = '\0';
	ks->pool_len = 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *q, *name, *ne, *mod = NULL, *me = NULL;
		uint64_t addr;
		char type;

		lines++;
		if (parse_hex_u64_n(p, le, &q, &addr) || q >= le || *q != ' ')
			goto next;
		if (addr)
			nonzero++;
		if (q + 3 > le || q[2] != ' ')
			goto next;
		type = q[1];
		name = q + 3;
		ne = name;
		while (ne < le && *ne != '\t' && *ne != ' ')
			ne++;
		if (ne == name || (size_t)(ne - name) >= KSYM_NAME_MAX)
			goto next;
		if (ne < le) {
			mod = memchr(ne, '[', (size_t)(le - ne));
			if (mod) {
				mod++;
				me = memchr(mod, ']', (size_t)(le - mod));
				if (!me || (size_t)(me - mod) >= KSYM_NAME_MAX)
					mod = NULL;
			}
		}
		if ((size_t)(ne - name) == 6 && !memcmp(name, "_etext", 6))
			ks->etext = addr;
		if (!is_text(type) || !addr)
			goto next;
		if (ks->n == cap) {
			size_t nc = cap ? cap * 2 : 4096;
			struct ksym_entry *ns = realloc(ks->syms, nc * sizeof(*ns));

			if (!ns)
				goto fail;
			ks->syms = ns;
			cap = nc;
		}
		{
			size_t need = (size_t)(ne - name) + 1 + (mod ? (size_t)(me - mod) + 1 : 0);

			while (ks->pool_len + need > pool_cap) {
				char *np = realloc(ks->pool, pool_cap * 2);

				if (!np)
					goto fail;
				ks->pool = np;
				pool_cap *= 2;
			}
		}
		ks->syms[ks->n].addr = addr;
		ks->syms[ks->n].local = type == 't' || type == 'w';
		ks->syms[ks->n].name = (uint32_t)ks->pool_len;
		memcpy(ks->pool + ks->pool_len, name, (size_t)(ne - name));
		ks->pool_len += (size_t)(ne - name);
		ks->pool[ks->pool_len++] = '\0';
		ks->syms[ks->n].module = 0;
		if (mod) {
			ks->syms[ks->n].module = (uint32_t)ks->pool_len;
			memcpy(ks->pool + ks->pool_len, mod, (size_t)(me - mod));
			ks->pool_len += (size_t)(me - mod);
			ks->pool[ks->pool_len++] = '\0';
		}
		ks->n++;
	next:
		p = nl ? nl + 1 : end;
	}
	if (lines && !nonzero) {
		err = -EACCES;
		goto fail;
	}
	if (ks->n > 1) {
		size_t k = 0;

		qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_ksym);
		/* one symbol per address: the first after sorting (global, then file order) */
		for (size_t i = 0; i < ks->n; i++)
			if (!k || ks->syms[k - 1].addr != ks->syms[i].addr)
				ks->syms[k++] = ks->syms[i];
		ks->n = k;
	}
	return ks;
fail:
	kallsyms__free(ks);
	errno = -err;
	return NULL;
}

struct kallsyms *kallsyms__load(const char *path)
{
	struct kallsyms *ks = NULL;
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	int fd, err = 0;
	ssize_t r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* /proc/kallsyms reports size 0: read until EOF, bounded. */
	for (;;) {
		if (cap - len < 65536) {
			if (cap >= KALLSYMS_MAX_BYTES) {
				err = -EFBIG;
				goto out;
			}
			cap = cap ? cap * 2 : 1u << 20;
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	ks = kallsyms__parse(buf, len);
	if (!ks) {
		err = -errno;
		if (err == -EACCES)
			pr_warn(
			    "%s shows only zero addresses (kernel.kptr_restrict): run as root or "
			    "with CAP_SYSLOG to name kernel frames",
			    path);
	}
out:
	free(buf);
	close(fd);
	if (err && !ks)
		errno = -err;
	return ks;
}

const struct ksym *kallsyms__lookup(const struct kallsyms *ks, uint64_t addr)
{
	struct kallsyms *mks = (struct kallsyms *)ks;
	const struct ksym_entry *e;
	size_t lo = 0, hi = ks->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	e = &ks->syms[lo - 1];
	if (addr - e->addr > KSYM_MAX_DISTANCE)
		return NULL;
	/* Core kernel text ends at _etext; past it (before modules) nothing is named. */
	if (!e->module && ks->etext && addr >= ks->etext)
		return NULL;
	mks->result.addr = e->addr;
	mks->result.name = ks->pool + e->name;
	mks->result.module = ks->pool + e->module;
	return &mks->result;
}

size_t kallsyms__count(const struct kallsyms *ks)
{
	return ks->n;
}

void kallsyms__free(struct kallsyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->pool);
	free(ks);
}

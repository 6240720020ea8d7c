/* SPDX-License-Identifier: BSD-2-Clause */
/* JIT symbol maps (/tmp/perf-PID.map): parsed into non-overlapping ranges where a later line
 * wins over an earlier one, since JITs reuse code memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "parse_util.h"
#include "perf_map.h"

#define PERF_MAP_DEFAULT_ENTRIES (1u << 20)
#define PERF_MAP_DEFAULT_BYTES	 (64u << 20)
#define PERF_MAP_NAME_MAX	 1024

struct pm_line {
	uint64_t start, end;
	uint32_t name; /* pool offset */
	uint32_t seq;  /* line order: later wins */
};

struct perf_map {
	struct perf_map_entry *entries; /* sorted, non-overlapping */
	size_t n;
	char *pool;
};

static int cmp_start(const void *a, const void *b)
{
	const struct pm_line *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Max-heap of line indices by seq, for the sweep below. */
struct heap {
	uint32_t *v;
	size_t n;
};

static void heap_push(struct heap *h, const struct pm_line *l, uint32_t i)
{
	size_t c = h->n++;

	h->v[c] = i;
	while (c && l[h->v[(c - 1) / 2]].seq < l[h->v[c]].seq) {
		uint32_t t = h->v[c];

		h->v[c] = h->v[(c - 1) / 2];
		h->v[(c - 1) / 2] = t;
		c = (c - 1) / 2;
	}
}

static void heap_pop(struct heap *h, const struct pm_line *l)
{
	size_t c = 0;

	h->v[0] = h->v[--h->n];
	for (;;) {
		size_t a = 2 * c + 1, b = a + 1, m = c;

		if (a < h->n && l[h->v[a]].seq > l[h->v[m]].seq)
			m = a;
		if (b < h->n && l[h->v[b]].seq > l[h->v[m]].seq)
			m = b;
		if (m == c)
			break;
		uint32_t t = h->v[c];
		h->v[c] = h->v[m];
		h->v[m] = t;
		c = m;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Resolves overlaps with a sweep over range boundaries: each elementary interval belongs to
 * the latest line covering it (JITs reuse code memory), then equal neighbours are merged.
 * O(n log n) whatever the input. */
static int flatten(struct pm_line *l, size_t n, struct perf_map *pm)
{
	uint64_t *pts = malloc((2 * n + 1) * sizeof(*pts));
	struct heap h = { malloc((n + 1) * sizeof(uint32_t)), 0 };
	struct perf_map_entry *out = calloc(2 * n + 1, sizeof(*out));
	size_t np = 0, k = 0, next = 0;
	int err = -ENOMEM;

	if (!pts || !h.v || !out)
		goto fail;
	if (n > 1)
		qsort(l, n, sizeof(*l), cmp_start);
	for (size_t i = 0; i < n; i++) {
		pts[np++] = l[i].start;
		pts[np++] = l[i].end;
	}
	qsort(pts, np, sizeof(*pts), cmp_u64);
	for (size_t i = 0; i + 1 < np; i++) {
		uint64_t a = pts[i], b = pts[i + 1];

		if (a == b)
			continue;
		while (next < n && l[next].start <= a)
			heap_push(&h, l, (uint32_t)next++);
		while (h.n && l[h.v[0]].end <= a)
			heap_pop(&h, l);
		if (!h.n)
			continue;
		/* the top may still hide ended lines below it: harmless, it is the winner */
		if (k && out[k - 1].start + out[k - 1].size == a &&
		    out[k - 1].name == (const char *)(uintptr_t)l[h.v[0]].name) {
			out[k - 1].size += b - a;
			continue;
		}
		out[k].start = a;
		out[k].size = b - a;
		out[k].name = (const char *)(uintptr_t)l[h.v[0]].name;
		k++;
	}
	pm->entries = out;
	pm->n = k;
	out = NULL;
	err = 0;
fail:
	free(out);
	free(pts);
	free(h.v);
	return err;
}

struct perf_map *perf_map__parse(const char *buf, size_t len, size_t max_entries)
{
	struct perf_map *pm = calloc(1, sizeof(*pm));
	struct pm_line *lines = NULL;
	const char *p = buf, *end = buf + len;
	size_t n = 0, cap = 0, pool_len = 0, bad = 0;
	int err = -ENOMEM;

	if (!max_entries)
		max_entries = PERF_MAP_DEFAULT_ENTRIES;
	if (!pm)
		return NULL;
	pm->pool = malloc(len + 1);
	if (!pm->pool)
		goto fail;
	while (p < end && n < max_entries) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *q;
		uint64_t start, size;
		size_t nlen;

		if (parse_hex_u64_n(p, le, &q, &start) || q >= le || *q != ' ' ||
		    parse_hex_u64_n(q + 1, le, &q, &size) || q >= le || *q != ' ' || !size ||
		    start + size < start) {
			bad++;
			goto next;
		}
		q++;
		while (le > q && (le[-1] == '\r' || le[-1] == ' '))
			le--;
		nlen = (size_t)(le - q);
		if (!nlen || nlen > PERF_MAP_NAME_MAX) {
			bad++;
			goto next;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct pm_line *nlp = realloc(lines, nc * sizeof(*nlp));

			if (!nlp)
				goto fail;
			lines = nlp;
			cap = nc;
		}
		lines[n].start = start;
		lines[n].end = start + size;
		lines[n].seq = (uint32_t)n;
		lines[n].name = (uint32_t)pool_len;
		memcpy(pm->pool + pool_len, q, nlen);
		pool_len += nlen;
		pm->pool[pool_len++] = '\0';
		n++;
	next:
		p = nl ? nl + 1 : end;
	}
	if (bad)
		pr_debug("perf map: skipped %zu malformed lines", bad);
	err = flatten(lines, n, pm);
	if (err)
		goto fail;
	for (size_t i = 0; i < pm->n; i++)
		pm->entries[i].name = pm->pool + (uintptr_t)pm->entries[i].name;
	free(lines);
	return pm;
fail:
	free(lines);
	perf_map__free(pm);
	errno = -err;
	return NULL;
}

struct perf_map *perf_map__load(const char *path, size_t max_entries, size_t max_bytes)
{
	struct perf_map *pm = NULL;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, err = 0;

	if (!max_bytes)
		max_bytes = PERF_MAP_DEFAULT_BYTES;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	/* A file that keeps growing is read up to the cap: the rest waits for the next reload. */
	buf = malloc(max_bytes < (size_t)st.st_size + 1 ? max_bytes : (size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size && got < max_bytes) {
		size_t want =
		    ((size_t)st.st_size < max_bytes ? (size_t)st.st_size : max_bytes) - got;
		ssize_t r = read(fd, buf + got, want);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	pm = perf_map__parse(buf, got, max_entries);
	if (!pm)
		err = -errno;
out:
	free(buf);
	close(fd);
	if (!pm)
		errno = -err;
	return pm;
}

const struct perf_map_entry *perf_map__lookup(const struct perf_map *pm, uint64_t addr)
{
	size_t lo = 0, hi = pm->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->entries[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	return addr - pm->entries[lo - 1].start < pm->entries[lo - 1].size ? &pm->entries[lo - 1]
									   : NULL;
}

size_t perf_map__count(const struct perf_map *pm)
{
	return pm->n;
}

void perf_map__free(struct perf_map *pm)
{
	if (!pm)
		return;
	free(pm->entries);
	free(pm->pool);
	free(pm);
}

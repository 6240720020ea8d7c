/* SPDX-License-Identifier: BSD-2-Clause */
/* JIT symbol maps (/tmp/perf-PID.map): parsed into sorted, non-overlapping ranges where a later
 * line wins over an earlier one, since JITs reuse code memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/addr_search.h"
#include "util/array.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/parse_util.h"
#include "object/proc_maps.h"
#include "proc/perf_map.h"

#define PERF_MAP_DEFAULT_ENTRIES (1u << 20)
#define PERF_MAP_DEFAULT_BYTES	 (64u << 20)
/* Longer names (deeply generic Java signatures) are cut here, at a UTF-8 character boundary. */
#define PERF_MAP_NAME_MAX 1024

struct pm_line {
	uint64_t start, end;
	uint32_t name; /* pool offset */
	uint32_t seq;  /* line order: later wins */
};

struct perf_map {
	struct perf_map_entry *entries; /* sorted by start, non-overlapping */
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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Max-heap of indices into the line array, ordered by seq. */
struct heap {
	uint32_t *v;
	size_t n;
};

static void heap_swap(struct heap *h, size_t a, size_t b)
{
	uint32_t t = h->v[a];

	h->v[a] = h->v[b];
	h->v[b] = t;
}

static void heap_push(struct heap *h, const struct pm_line *l, uint32_t i)
{
	size_t c = h->n++;

	h->v[c] = i;
	while (c && l[h->v[(c - 1) / 2]].seq < l[h->v[c]].seq) {
		heap_swap(h, c, (c - 1) / 2);
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
		heap_swap(h, c, m);
		c = m;
	}
}

/* Sweeps the range boundaries: each elementary interval between two boundaries belongs to the
 * latest line covering it, and neighbouring pieces of one line merge back. O(n log n). */
static int flatten(struct perf_map *pm, struct pm_line *l, size_t n)
{
	struct perf_map_entry *out = NULL;
	struct heap h = { NULL, 0 };
	uint64_t *pts = NULL;
	size_t np = 0, k = 0, next = 0;
	int err = 0;

	if (!n)
		goto out;
	pts = malloc(2 * n * sizeof(*pts));
	h.v = malloc(n * sizeof(*h.v));
	out = malloc((2 * n - 1) * sizeof(*out));
	if (!pts || !h.v || !out) {
		err = -ENOMEM;
		goto out;
	}
	qsort(l, n, sizeof(*l), cmp_start);
	for (size_t i = 0; i < n; i++) {
		pts[np++] = l[i].start;
		pts[np++] = l[i].end;
	}
	qsort(pts, np, sizeof(*pts), cmp_u64);
	for (size_t i = 0; i + 1 < np; i++) {
		uint64_t a = pts[i], b = pts[i + 1];
		const struct pm_line *w;

		if (a == b)
			continue;
		while (next < n && l[next].start <= a)
			heap_push(&h, l, (uint32_t)next++);
		/* lazy deletion: lines that ended only matter once they reach the top */
		while (h.n && l[h.v[0]].end <= a)
			heap_pop(&h, l);
		if (!h.n)
			continue;
		/* the top started at or before a and ends at a boundary past a: it covers [a, b) */
		w = &l[h.v[0]];
		if (k && out[k - 1].start + out[k - 1].size == a &&
		    out[k - 1].name == pm->pool + w->name) {
			out[k - 1].size += b - a;
			continue;
		}
		out[k].start = a;
		out[k].size = b - a;
		out[k].name = pm->pool + w->name;
		k++;
	}
	pm->entries = out;
	pm->n = k;
	out = NULL;
out:
	free(out);
	free(pts);
	free(h.v);
	return err;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Parses "START SIZE name with spaces" in [p, le) into *line, the name into the pool.
 * Returns 0 or -EINVAL. */
static int parse_line(struct perf_map *pm, size_t *pool_len, const char *p, const char *le,
		      struct pm_line *line)
{
	uint64_t start, size;
	const char *q;
	size_t nlen;

	if (parse_hex_u64_n(p, le, &q, &start) || q == le || !is_blank(*q))
		return -EINVAL;
	while (q < le && is_blank(*q))
		q++;
	if (parse_hex_u64_n(q, le, &q, &size) || q == le || !is_blank(*q))
		return -EINVAL;
	/* an empty range names nothing; a wrapping one is garbage */
	if (!size || start + size < start)
		return -EINVAL;
	while (q < le && is_blank(*q))
		q++;
	while (le > q && is_blank(le[-1]))
		le--;
	nlen = (size_t)(le - q);
	if (!nlen)
		return -EINVAL;
	if (nlen > PERF_MAP_NAME_MAX) {
		nlen = PERF_MAP_NAME_MAX;
		while (nlen && ((unsigned char)q[nlen] & 0xc0) == 0x80)
			nlen--;
	}
	line->start = start;
	line->end = start + size;
	line->name = (uint32_t)*pool_len;
	memcpy(pm->pool + *pool_len, q, nlen);
	pm->pool[*pool_len + nlen] = '\0';
	*pool_len += nlen + 1;
	return 0;
}

struct perf_map *perf_map__parse(const char *buf, size_t len, size_t max_entries)
{
	struct pm_line *lines = NULL;
	struct perf_map *pm;
	size_t off = 0, n = 0, cap = 0, pool_len = 0, bad = 0, dropped = 0;
	int err = 0;

	if (!max_entries)
		max_entries = PERF_MAP_DEFAULT_ENTRIES;
	pm = calloc(1, sizeof(*pm));
	if (!pm) {
		err = -ENOMEM;
		goto out;
	}
	/* every name is a piece of the input: the pool never outgrows it, so pointers into it
	 * stay valid */
	pm->pool = malloc(len + 1);
	if (!pm->pool) {
		err = -ENOMEM;
		goto out;
	}
	while (off < len) {
		const char *p = buf + off, *nl = memchr(p, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - p) : len - off;

		off += ll + 1;
		if (n == max_entries) {
			dropped++;
			continue;
		}
		if (ARRAY_RESERVE(lines, cap, n + 1)) {
			err = -ENOMEM;
			goto out;
		}
		if (parse_line(pm, &pool_len, p, p + ll, &lines[n])) {
			bad++;
			continue;
		}
		lines[n].seq = (uint32_t)n;
		n++;
	}
	if (bad)
		pr_debug("perf map: skipped %zu malformed lines", bad);
	if (dropped)
		pr_warn_ratelimited(
		    "perf map: more than %zu entries, the last %zu lines not loaded", max_entries,
		    dropped);
	err = flatten(pm, lines, n);
out:
	free(lines);
	if (err) {
		perf_map__free(pm);
		errno = -err;
		return NULL;
	}
	return pm;
}

struct perf_map *perf_map__load_fd(int fd, size_t max_entries, size_t max_bytes)
{
	struct perf_map *pm = NULL;
	char *buf = NULL;
	struct stat st;
	size_t len = 0;
	int err;

	if (!max_bytes)
		max_bytes = PERF_MAP_DEFAULT_BYTES;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	/* cut by the byte cap: the partial last line would parse into a wrong range */
	err = fd_read_capped(fd, max_bytes, READ_CAPPED_TRUNCATE_LINES, &buf, &len);
	if (err < 0)
		goto out;
	err = 0;
	pm = perf_map__parse(buf, len, max_entries);
	if (!pm)
		err = -errno;
out:
	free(buf);
	if (!pm)
		errno = -err;
	return pm;
}

struct perf_map *perf_map__load(const char *path, size_t max_entries, size_t max_bytes)
{
	struct perf_map *pm;
	int fd, err;

	/* the profiled process owns this file: O_NONBLOCK so a FIFO cannot stall us */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	pm = perf_map__load_fd(fd, max_entries, max_bytes);
	err = errno;
	close(fd);
	errno = err;
	return pm;
}

int perf_map_check(const struct stat *st, uid_t euid)
{
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	/* Anyone can plant a file at a /tmp path, or a hard link to one they may not read: only
	 * the process's own user can have written its symbols. */
	if (st->st_uid != euid)
		return -EPERM;
	return 0;
}

/* The effective uid of the "Uid:" line of /proc/PID/status (real, effective, saved, fs);
 * -EIO when unreadable, so it is never taken for a refusal. */
static int proc_euid(int pid, uid_t *euid)
{
	char path[64], buf[4096], *line, *end;
	unsigned long v;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	line = strstr(buf, "\nUid:");
	if (!line)
		return -EIO;
	errno = 0;
	(void)strtoul(line + 5, &end, 10);
	if (errno || end == line + 5)
		return -EIO;
	v = strtoul(end, &line, 10);
	if (errno || line == end || v > (uid_t)-1)
		return -EIO;
	*euid = (uid_t)v;
	return 0;
}

int perf_map_open(int pid, int nspid, struct stat *st, uid_t *euid)
{
	char path[64];
	int fd, err;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", nspid);
	fd = proc_open_in_root(pid, path);
	if (fd < 0)
		return fd;
	if (fstat(fd, st)) {
		err = -errno;
		goto fail;
	}
	err = proc_euid(pid, euid);
	if (err)
		goto fail;
	err = perf_map_check(st, *euid);
	if (err)
		goto fail;
	return fd;
fail:
	close(fd);
	return err;
}

const struct perf_map_entry *perf_map__lookup(const struct perf_map *pm, uint64_t addr)
{
	const struct perf_map_entry *e;
	size_t lo;

	if (!pm)
		return NULL;
	lo = ADDR_SEARCH(pm->entries, pm->n, start, addr);
	if (lo == 0)
		return NULL;
	e = &pm->entries[lo - 1];
	return addr - e->start < e->size ? e : NULL;
}

size_t perf_map__count(const struct perf_map *pm)
{
	return pm ? pm->n : 0;
}

void perf_map__free(struct perf_map *pm)
{
	if (!pm)
		return;
	free(pm->entries);
	free(pm->pool);
	free(pm);
}

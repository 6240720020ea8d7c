/* SPDX-License-Identifier: BSD-2-Clause */
/* JIT symbol maps (/tmp/perf-PID.map): sorted, non-overlapping ranges where a later line wins
 * over an earlier one, since JITs reuse code memory; read incrementally as the JIT appends, names
 * in one arena, every byte charged to a per-map cap and a budget shared by all maps. */
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
/* Read size: bounds what one read holds besides the map (lines of a chunk before they merge). */
#define PERF_MAP_CHUNK (256u << 10)
/* File bytes one read goes through at most: the sample loop waits for it (milliseconds). */
#define PERF_MAP_READ_MAX (16u << 20)
/* File bytes a map goes through in all, per byte of its cap: a line worth storing costs about
 * what it takes in the file, so past this the file is mostly what is not (malformed lines, one
 * endless line, a sparse hole) and is read no further. */
#define PERF_MAP_SCAN_FACTOR 4
/* The file's first bytes, kept to tell a rewrite in place from an append. */
#define PERF_MAP_HEAD 64

/* One range as stored: 16 bytes, the name an arena offset. A line's size must fit 32 bits
 * (JIT functions are far smaller); pieces of a line are never larger than the line. */
struct pm_ent {
	uint64_t start;
	uint32_t size;
	uint32_t name;
};

struct pm_line {
	uint64_t start, end;
	uint32_t name; /* arena offset */
	uint32_t seq;  /* line order: later wins */
};

/* Lines parsed from one chunk, before they merge into the map. */
struct pm_batch {
	struct pm_line *lines;
	size_t n, cap;
};

struct perf_map {
	struct pm_ent *ents; /* sorted by start, non-overlapping */
	size_t n;
	char *arena;
	size_t arena_len, arena_cap;
	struct perf_map_budget *budget;
	struct perf_map_budget own; /* when the caller shares none */
	size_t max_entries, nlines;
	uint64_t charged;
	/* the file read so far */
	bool have_file, skip_line, capped;
	bool full; /* at its own cap: nothing more is read until the file is rewritten */
	dev_t dev;
	ino_t ino;
	uint64_t offset; /* where the last read ended: after a whole line */
	char head[PERF_MAP_HEAD];
	size_t head_len;
	struct perf_map_entry hit;
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

/* Sweeps the range boundaries of n lines: each elementary interval between two boundaries
 * belongs to the latest line covering it, and neighbouring pieces of one line merge back.
 * O(n log n); *out gets at most 2n - 1 ranges. */
static int flatten(struct pm_line *l, size_t n, struct pm_ent **outp, size_t *nout)
{
	struct pm_ent *out = NULL;
	struct heap h = { NULL, 0 };
	uint64_t *pts = NULL;
	size_t np = 0, k = 0, next = 0;
	int err = 0;

	*outp = NULL;
	*nout = 0;
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
		if (k && out[k - 1].start + out[k - 1].size == a && out[k - 1].name == w->name) {
			out[k - 1].size += (uint32_t)(b - a);
			continue;
		}
		out[k].start = a;
		out[k].size = (uint32_t)(b - a);
		out[k].name = w->name;
		k++;
	}
	*outp = out;
	*nout = k;
	out = NULL;
out:
	free(out);
	free(pts);
	free(h.v);
	return err;
}

static void emit(struct pm_ent *out, size_t *k, uint64_t start, uint64_t end, uint32_t name)
{
	if (end > start)
		out[(*k)++] = (struct pm_ent){ start, (uint32_t)(end - start), name };
}

/* The map's ranges with b's (newer, sorted, non-overlapping) laid over them: each of b's
 * ranges cuts at most one old range in two, so the result has at most n + 2k ranges. */
static int merge(struct perf_map *pm, const struct pm_ent *b, size_t nb)
{
	const struct pm_ent *a = pm->ents;
	size_t na = pm->n, i = 0, j = 0, k = 0;
	struct pm_ent *out;
	uint64_t as = 0, ae = 0;

	out = malloc((na + 2 * nb) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	if (na) {
		as = a[0].start;
		ae = as + a[0].size;
	}
	while (i < na || j < nb) {
		uint64_t bs, be;

		if (j == nb || i == na) {
			if (i < na) {
				emit(out, &k, as, ae, a[i].name);
				memcpy(out + k, a + i + 1, (na - i - 1) * sizeof(*out));
				k += na - i - 1;
			} else {
				memcpy(out + k, b + j, (nb - j) * sizeof(*out));
				k += nb - j;
			}
			break;
		}
		bs = b[j].start;
		be = bs + b[j].size;
		if (ae <= bs || be <= as) {
			if (ae <= bs) {
				emit(out, &k, as, ae, a[i].name);
				goto next_a;
			}
			out[k++] = b[j++];
			continue;
		}
		emit(out, &k, as, bs, a[i].name); /* the old range's part before the new one */
		if (ae > be) {
			/* the part after stays, to be weighed against the next new range */
			as = be;
			out[k++] = b[j++];
			continue;
		}
	next_a:
		if (++i < na) {
			as = a[i].start;
			ae = as + a[i].size;
		}
	}
	free(pm->ents);
	pm->budget->entries += k - pm->n;
	pm->ents = out;
	pm->n = k;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Parses "START SIZE name with spaces" in [p, le): the range, and the name at *name (*nlen
 * bytes, cut to PERF_MAP_NAME_MAX). Returns 0 or -EINVAL. */
static int parse_line(const char *p, const char *le, uint64_t *startp, uint64_t *sizep,
		      const char **name, size_t *nlenp)
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
	/* an empty range names nothing; a wrapping one is garbage; no function spans 4 GiB */
	if (!size || start + size < start || size > UINT32_MAX)
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
	*startp = start;
	*sizep = size;
	*name = q;
	*nlenp = nlen;
	return 0;
}

/* What a line costs: its name, and the two ranges it can become (itself, and the piece of an
 * older range it cuts in two). */
static uint64_t line_cost(size_t nlen)
{
	return nlen + 1 + 2 * sizeof(struct pm_ent);
}

static bool over_cap(const struct perf_map *pm, uint64_t cost)
{
	const struct perf_map_budget *b = pm->budget;

	return pm->nlines >= pm->max_entries || pm->charged + cost > b->max_map_bytes ||
	       b->bytes + cost > b->max_bytes;
}

/* Parses the lines of buf[0, len) into bt, names into the arena, each charged before it is
 * stored. A last line without a newline counts only when eof. Returns the bytes consumed: all of
 * them, or up to the first line a cap refused (*capped set). */
static size_t feed(struct perf_map *pm, struct pm_batch *bt, const char *buf, size_t len, bool eof,
		   bool *capped, size_t *bad)
{
	size_t off = 0;

	*capped = false;
	/* names are pieces of buf: room for all of them at once, trimmed when the read ends */
	if (ARRAY_RESERVE(pm->arena, pm->arena_cap, pm->arena_len + len + 1))
		return 0;
	while (off < len) {
		const char *p = buf + off, *nl = memchr(p, '\n', len - off), *name;
		size_t ll = nl ? (size_t)(nl - p) : len - off, nlen;
		uint64_t start, size, cost;

		if (!nl && !eof)
			break;
		if (pm->skip_line) {
			/* the rest of a line longer than a read */
			pm->skip_line = false;
			off += ll + 1;
			continue;
		}
		if (parse_line(p, p + ll, &start, &size, &name, &nlen)) {
			(*bad)++;
			off += ll + 1;
			continue;
		}
		cost = line_cost(nlen);
		if (over_cap(pm, cost) || ARRAY_RESERVE(bt->lines, bt->cap, bt->n + 1)) {
			*capped = true;
			/* the shared budget may have room later; the map's own cap never will */
			pm->full = pm->nlines >= pm->max_entries ||
				   pm->charged + cost > pm->budget->max_map_bytes;
			break;
		}
		pm->charged += cost;
		pm->budget->bytes += cost;
		bt->lines[bt->n++] = (struct pm_line){ start, start + size, (uint32_t)pm->arena_len,
						       (uint32_t)pm->nlines++ };
		memcpy(pm->arena + pm->arena_len, name, nlen);
		pm->arena[pm->arena_len + nlen] = '\0';
		pm->arena_len += nlen + 1;
		off += ll + 1;
	}
	return off > len ? len : off;
}

/* Lays the batch's lines over the map and empties the batch. */
static int commit(struct perf_map *pm, struct pm_batch *bt)
{
	struct pm_ent *b;
	size_t nb;
	int err;

	err = flatten(bt->lines, bt->n, &b, &nb);
	bt->n = 0;
	if (err)
		return err;
	if (!pm->n) {
		free(pm->ents);
		pm->budget->entries += nb;
		pm->ents = b;
		pm->n = nb;
		return 0;
	}
	err = merge(pm, b, nb);
	free(b);
	return err;
}

/* Gives back what the arena holds beyond its names once a read is over. */
static void trim_arena(struct perf_map *pm)
{
	char *p;

	if (pm->arena_cap <= pm->arena_len + 1)
		return;
	p = realloc(pm->arena, pm->arena_len + 1);
	if (p) {
		pm->arena = p;
		pm->arena_cap = pm->arena_len + 1;
	}
}

static void note_capped(struct perf_map *pm, bool capped)
{
	if (capped && !pm->capped)
		pm->budget->refused++;
	pm->capped = capped;
}

struct perf_map *perf_map__new(struct perf_map_budget *b, size_t max_entries)
{
	struct perf_map *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pm->budget = b ? b : &pm->own;
	if (!pm->budget->max_bytes)
		pm->budget->max_bytes = PERF_MAP_DEFAULT_TOTAL;
	if (!pm->budget->max_map_bytes)
		pm->budget->max_map_bytes = PERF_MAP_DEFAULT_PER_MAP;
	pm->max_entries = max_entries ? max_entries : PERF_MAP_DEFAULT_ENTRIES;
	return pm;
}

void perf_map__reset(struct perf_map *pm)
{
	if (!pm)
		return;
	pm->budget->bytes -= pm->charged;
	pm->budget->entries -= pm->n;
	free(pm->ents);
	free(pm->arena);
	pm->ents = NULL;
	pm->arena = NULL;
	pm->n = pm->arena_len = pm->arena_cap = pm->nlines = 0;
	pm->charged = 0;
	pm->have_file = pm->skip_line = pm->capped = pm->full = false;
	pm->offset = 0;
	pm->head_len = 0;
}

/* Whether the file at fd is still the one read so far, grown by appends only. */
static bool same_file(struct perf_map *pm, int fd, const struct stat *st)
{
	char head[PERF_MAP_HEAD];

	if (st->st_dev != pm->dev || st->st_ino != pm->ino || (uint64_t)st->st_size < pm->offset)
		return false;
	/* a JIT rewriting its map in place (HotSpot's Compiler.perfmap truncates and writes
	 * again) shows a new beginning, or a shorter one */
	return pread(fd, head, pm->head_len, 0) == (ssize_t)pm->head_len &&
	       !memcmp(head, pm->head, pm->head_len);
}

int perf_map__read(struct perf_map *pm, int fd)
{
	struct pm_batch bt = { 0 };
	size_t added = 0, bad = 0;
	bool capped = false;
	struct stat st;
	char *buf = NULL;
	uint64_t off;
	int err = 0;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (pm->have_file && !same_file(pm, fd, &st))
		perf_map__reset(pm);
	if (!pm->have_file) {
		pm->have_file = true;
		pm->dev = st.st_dev;
		pm->ino = st.st_ino;
	}
	off = pm->offset;
	if ((uint64_t)st.st_size <= off || pm->full)
		return 0;
	if (off)
		pm->budget->rereads++;
	else
		pm->budget->reads++;
	buf = malloc(PERF_MAP_CHUNK);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (!capped && off - pm->offset < PERF_MAP_READ_MAX) {
		ssize_t n;
		const char *last;
		size_t used;

		if (off >= PERF_MAP_SCAN_FACTOR * pm->budget->max_map_bytes) {
			capped = pm->full = true;
			break;
		}
		n = pread(fd, buf, PERF_MAP_CHUNK, (off_t)off);

		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (!n)
			break;
		last = memrchr(buf, '\n', (size_t)n);
		if (!last) {
			if ((size_t)n < PERF_MAP_CHUNK)
				break; /* a line still being written */
			/* a line longer than a read: garbage, skipped to its end */
			off += (uint64_t)n;
			pm->skip_line = true;
			continue;
		}
		used = feed(pm, &bt, buf, (size_t)(last - buf) + 1, false, &capped, &bad);
		if (!off && !pm->head_len) {
			pm->head_len = (size_t)n < PERF_MAP_HEAD ? (size_t)n : PERF_MAP_HEAD;
			memcpy(pm->head, buf, pm->head_len);
		}
		off += used;
		added += bt.n;
		err = commit(pm, &bt);
		if (err)
			goto out;
		if (!used)
			break;
	}
	note_capped(pm, capped);
	if (bad)
		pr_debug("perf map: skipped %zu malformed lines", bad);
out:
	pm->offset = off;
	trim_arena(pm);
	free(bt.lines);
	free(buf);
	return err ? err : (int)(added > INT32_MAX ? INT32_MAX : added);
}

struct perf_map *perf_map__parse(const char *buf, size_t len, size_t max_entries)
{
	struct pm_batch bt = { 0 };
	struct perf_map *pm;
	size_t bad = 0;
	bool capped = false;
	int err = 0;

	pm = perf_map__new(NULL, max_entries);
	if (!pm)
		return NULL;
	if (len) {
		feed(pm, &bt, buf, len, true, &capped, &bad);
		err = commit(pm, &bt);
	}
	note_capped(pm, capped);
	if (bad)
		pr_debug("perf map: skipped %zu malformed lines", bad);
	if (capped)
		pr_warn_ratelimited("perf map: more than %zu entries or %llu bytes, the rest not "
				    "loaded",
				    pm->max_entries, (unsigned long long)pm->budget->max_map_bytes);
	trim_arena(pm);
	free(bt.lines);
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

const struct perf_map_entry *perf_map__lookup(struct perf_map *pm, uint64_t addr)
{
	const struct pm_ent *e;
	size_t lo;

	if (!pm)
		return NULL;
	lo = ADDR_SEARCH(pm->ents, pm->n, start, addr);
	if (lo == 0)
		return NULL;
	e = &pm->ents[lo - 1];
	if (addr - e->start >= e->size)
		return NULL;
	pm->hit = (struct perf_map_entry){ e->start, e->size, pm->arena + e->name };
	return &pm->hit;
}

size_t perf_map__count(const struct perf_map *pm)
{
	return pm ? pm->n : 0;
}

uint64_t perf_map__bytes(const struct perf_map *pm)
{
	return pm ? pm->charged : 0;
}

void perf_map__free(struct perf_map *pm)
{
	if (!pm)
		return;
	perf_map__reset(pm);
	free(pm);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* Local output files: each written to a new temporary file, fsynced and renamed
 * (write_path_atomic), so a reader never sees half a profile and a planted symlink is never
 * followed; plus the top-functions table printed at exit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile/pprof_encode.h"
#include "profile/profile_builder.h"
#include "util/fileio.h"
#include "util/log.h"
#include "export/output_flamegraph.h"
#include "export/output_local.h"

/* The folded stacks' arrays: frame names, and per frame its file, line and inlined flag. */
struct folded_arrays {
	const char **frames, **files;
	uint32_t *lines;
	uint8_t *inlined;
	char *pool; /* function:line names */
};

static void folded_arrays__free(struct folded_arrays *fa)
{
	free(fa->frames);
	free(fa->files);
	free(fa->lines);
	free(fa->inlined);
	free(fa->pool);
}

/* Folded stacks: root first, with the process name as the root frame; a location's inlined
 * frames are frames of their own, the function they were inlined into first. by_line names
 * each frame function:line where the line is known. */
static int build_folded(const struct profile_builder *pb, bool by_line, struct folded_stack **out,
			struct folded_arrays *fa)
{
	struct folded_stack *st = calloc(pb->nsamples + 1, sizeof(*st));
	size_t nframes = pb->nsamples + 1, fi = 0, pool_len = 0, pool_cap = 1;

	memset(fa, 0, sizeof(*fa));
	for (size_t i = 0; i < pb->nsamples; i++) {
		const struct pb_sample *s = &pb->samples[i];

		for (uint32_t j = 0; j < s->nlocs; j++) {
			const struct pb_location *l =
			    &pb->locations[pb->loc_ids[s->first_loc + j] - 1];

			nframes += l->nlines ? l->nlines : 1;
			for (uint32_t k = 0; by_line && k < l->nlines; k++)
				pool_cap +=
				    strlen(profile_builder__str(
					pb, pb->functions[pb->lines[l->first_line + k].function - 1]
						.name)) +
				    12;
		}
	}
	fa->frames = calloc(nframes, sizeof(*fa->frames));
	fa->files = calloc(nframes, sizeof(*fa->files));
	fa->lines = calloc(nframes, sizeof(*fa->lines));
	fa->inlined = calloc(nframes, sizeof(*fa->inlined));
	fa->pool = malloc(pool_cap);
	if (!st || !fa->frames || !fa->files || !fa->lines || !fa->inlined || !fa->pool) {
		free(st);
		folded_arrays__free(fa);
		return -ENOMEM;
	}
	for (size_t i = 0; i < pb->nsamples; i++) {
		const struct pb_sample *s = &pb->samples[i];
		const char *comm = profile_builder__sample_label(pb, s, "comm");

		if (!comm)
			comm = profile_builder__sample_label(pb, s, "service_name");
		st[i].frames = &fa->frames[fi];
		st[i].files = &fa->files[fi];
		st[i].lines = &fa->lines[fi];
		st[i].inlined = &fa->inlined[fi];
		fa->frames[fi++] = comm ? comm : "[process]";
		for (uint32_t j = s->nlocs; j-- > 0;) {
			const struct pb_location *l =
			    &pb->locations[pb->loc_ids[s->first_loc + j] - 1];

			/* a location without a line: its function did not fit the tables */
			if (!l->nlines)
				fa->frames[fi++] = "[unknown]";
			for (uint32_t k = l->nlines; k-- > 0;) {
				const struct pb_line *ln = &pb->lines[l->first_line + k];
				const struct pb_function *f = &pb->functions[ln->function - 1];
				const char *name = profile_builder__str(pb, f->name);

				fa->files[fi] = profile_builder__str(pb, f->filename);
				fa->lines[fi] = ln->line;
				fa->inlined[fi] = k + 1 < l->nlines; /* lines are innermost first */
				if (by_line && ln->line) {
					int w = snprintf(fa->pool + pool_len, pool_cap - pool_len,
							 "%s:%u", name, ln->line);

					name = fa->pool + pool_len;
					pool_len += (size_t)w + 1;
				}
				fa->frames[fi++] = name;
			}
		}
		st[i].nframes = (size_t)(&fa->frames[fi] - st[i].frames);
		st[i].count = s->count;
	}
	*out = st;
	return 0;
}

static int cmp_folded(const void *a, const void *b)
{
	const struct folded_stack *x = a, *y = b;

	for (size_t i = 0; i < x->nframes && i < y->nframes; i++) {
		int c = strcmp(x->frames[i], y->frames[i]);

		if (c)
			return c;
	}
	return x->nframes < y->nframes ? -1 : x->nframes > y->nframes;
}

/* Samples differ by address; folded stacks only by name: merge equal ones. */
static size_t merge_folded(struct folded_stack *st, size_t n)
{
	size_t k = 0;

	qsort(st, n, sizeof(*st), cmp_folded);
	for (size_t i = 0; i < n; i++) {
		if (k && !cmp_folded(&st[k - 1], &st[i]))
			st[k - 1].count += st[i].count;
		else
			st[k++] = st[i];
	}
	return k;
}

int output_format_from_path(const char *path, enum output_format *fmt)
{
	static const struct {
		const char *suffix;
		enum output_format fmt;
	} sfx[] = {
		{ ".pb.gz", OUTPUT_PPROF_GZ }, { ".pprof.gz", OUTPUT_PPROF_GZ },
		{ ".pb", OUTPUT_PPROF },       { ".pprof", OUTPUT_PPROF },
		{ ".folded", OUTPUT_FOLDED },  { ".txt", OUTPUT_FOLDED },
		{ ".html", OUTPUT_HTML },      { ".htm", OUTPUT_HTML },
	};
	size_t len = strlen(path);

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t l = strlen(sfx[i].suffix);

		if (len > l && strcmp(path + len - l, sfx[i].suffix) == 0) {
			*fmt = sfx[i].fmt;
			return 0;
		}
	}
	return -EINVAL;
}

struct local_fill {
	const struct output_spec *spec;
	const struct profile_builder *pb;
	const struct pprof_meta *meta;
	const char *subtitle;
};

static int fill_output(int fd, void *ctx)
{
	const struct local_fill *lf = ctx;
	struct folded_stack *st = NULL;
	struct folded_arrays fa = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0, nst;
	FILE *f = NULL;
	int dfd, err = -EINVAL;

	switch (lf->spec->format) {
	case OUTPUT_PPROF_GZ:
	case OUTPUT_PPROF: {
		struct pprof_encode_opts eo = { .gzip = lf->spec->format == OUTPUT_PPROF_GZ };

		err = pprof_encode(lf->pb, lf->meta, &eo, &buf, &len);
		if (!err)
			err = fd_write_all(fd, buf, len);
		break;
	}
	case OUTPUT_FOLDED:
	case OUTPUT_HTML: {
		struct flamegraph_opts fo = { "stoker CPU profile", lf->subtitle };

		err = build_folded(lf->pb, lf->spec->by_line, &st, &fa);
		if (err)
			break;
		nst = merge_folded(st, lf->pb->nsamples);
		/* the stream gets its own fd: the caller still owns fd and closes it */
		dfd = dup(fd);
		f = dfd < 0 ? NULL : fdopen(dfd, "w");
		if (!f) {
			err = -errno;
			if (dfd >= 0)
				close(dfd);
			break;
		}
		err = lf->spec->format == OUTPUT_FOLDED ? folded_write(f, st, nst)
							: flamegraph_write_html(f, st, nst, &fo);
		if (fclose(f) && !err)
			err = -EIO;
		break;
	}
	}
	free(buf);
	free(st);
	folded_arrays__free(&fa);
	return err;
}

int output_local_write(const struct output_spec *spec, const struct profile_builder *pb,
		       const struct pprof_meta *meta, const char *subtitle)
{
	struct local_fill lf = { spec, pb, meta, subtitle };
	int err;

	/* 0644 as before: a profile the user asked for, to be read by other tools */
	err = write_path_atomic(spec->path, 0644, fill_output, &lf);
	if (err)
		pr_err("failed to write %s: %s", spec->path, strerror(-err));
	return err;
}

struct fn_total {
	uint32_t fn;
	uint64_t self;
};

static int cmp_total(const void *a, const void *b)
{
	const struct fn_total *x = a, *y = b;

	if (x->self != y->self)
		return x->self < y->self ? 1 : -1;
	return x->fn < y->fn ? -1 : x->fn > y->fn;
}

void output_print_top(FILE *out, const struct profile_builder *pb, unsigned int n)
{
	struct fn_total *t;
	uint64_t total = 0;
	size_t nt = 0;

	if (!n || !pb->nfunctions)
		return;
	t = calloc(pb->nfunctions, sizeof(*t));
	if (!t)
		return;
	for (size_t i = 0; i < pb->nfunctions; i++)
		t[i].fn = (uint32_t)i + 1;
	for (size_t i = 0; i < pb->nsamples; i++) {
		const struct pb_sample *s = &pb->samples[i];

		total += s->count;
		if (s->nlocs) {
			const struct pb_location *l = &pb->locations[pb->loc_ids[s->first_loc] - 1];

			/* self time is the innermost frame's, inlined or not */
			if (l->nlines)
				t[pb->lines[l->first_line].function - 1].self += s->count;
		}
	}
	qsort(t, pb->nfunctions, sizeof(*t), cmp_total);
	fprintf(out, "%-8s %-8s %s\n", "self%", "samples", "function");
	for (size_t i = 0; i < pb->nfunctions && nt < n && t[i].self; i++, nt++)
		fprintf(out, "%6.2f%%  %-8llu %s\n",
			total ? 100.0 * (double)t[i].self / (double)total : 0.0,
			(unsigned long long)t[i].self,
			profile_builder__str(pb, pb->functions[t[i].fn - 1].name));
	free(t);
}

struct line_total {
	uint32_t fn, line;
	uint64_t self;
};

static int cmp_line_key(const void *a, const void *b)
{
	const struct line_total *x = a, *y = b;

	if (x->fn != y->fn)
		return x->fn < y->fn ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_line_total(const void *a, const void *b)
{
	const struct line_total *x = a, *y = b;

	if (x->self != y->self)
		return x->self < y->self ? 1 : -1;
	return cmp_line_key(a, b);
}

void output_print_top_lines(FILE *out, const struct profile_builder *pb, unsigned int n)
{
	struct line_total *t;
	uint64_t total = 0;
	size_t nt = 0, k = 0;

	if (!n || !pb->nsamples)
		return;
	t = calloc(pb->nsamples, sizeof(*t));
	if (!t)
		return;
	for (size_t i = 0; i < pb->nsamples; i++) {
		const struct pb_sample *s = &pb->samples[i];

		total += s->count;
		if (s->nlocs) {
			const struct pb_location *l = &pb->locations[pb->loc_ids[s->first_loc] - 1];

			/* the innermost frame's line, inlined or not */
			if (l->nlines)
				t[nt++] =
				    (struct line_total){ pb->lines[l->first_line].function,
							 pb->lines[l->first_line].line, s->count };
		}
	}
	qsort(t, nt, sizeof(*t), cmp_line_key);
	for (size_t i = 0; i < nt; i++) {
		if (k && !cmp_line_key(&t[k - 1], &t[i]))
			t[k - 1].self += t[i].self;
		else
			t[k++] = t[i];
	}
	qsort(t, k, sizeof(*t), cmp_line_total);
	fprintf(out, "%-8s %-8s %s\n", "self%", "samples", "function at file:line");
	for (size_t i = 0; i < k && i < n; i++) {
		const struct pb_function *f = &pb->functions[t[i].fn - 1];
		const char *file = profile_builder__str(pb, f->filename);

		fprintf(out, "%6.2f%%  %-8llu %s",
			total ? 100.0 * (double)t[i].self / (double)total : 0.0,
			(unsigned long long)t[i].self, profile_builder__str(pb, f->name));
		if (*file || t[i].line)
			fprintf(out, " at %s:%u", *file ? file : "?", t[i].line);
		fputc('\n', out);
	}
	free(t);
}

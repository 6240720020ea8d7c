/* SPDX-License-Identifier: BSD-2-Clause */
/* pprof encoding: maps the builder's tables onto the generated protobuf-c structs (ids are
 * re-numbered densely for the selected samples) and gzips the result. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile/pprof_encode.h"
#include "profile/profile_builder.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Label Label;

int gzip_compress(const uint8_t *buf, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream zs;
	uLong bound;
	uint8_t *dst;
	int zr;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&zs, (uLong)len) + 32;
	dst = malloc(bound);
	if (!dst) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)buf;
	zs.avail_in = (uInt)len;
	zs.next_out = dst;
	zs.avail_out = (uInt)bound;
	zr = deflate(&zs, Z_FINISH);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	if (zr != Z_STREAM_END) {
		free(dst);
		return -EIO;
	}
	*out = dst;
	return 0;
}

/* Dense renumbering: old 1-based id -> new 1-based id, 0 = not yet used. */
struct remap {
	uint32_t *map;
	size_t n;
};

static uint32_t remap_use(struct remap *r, uint32_t old, size_t *next)
{
	if (!old || old > r->n)
		return 0;
	if (!r->map[old - 1])
		r->map[old - 1] = (uint32_t)++(*next);
	return r->map[old - 1];
}

static bool label_dropped(const struct profile_builder *pb, const struct pb_label *l,
			  const char *const *drop)
{
	for (; drop && *drop; drop++)
		if (strcmp(profile_builder__str(pb, l->key), *drop) == 0)
			return true;
	return false;
}

int pprof_encode(const struct profile_builder *pb, const struct pprof_meta *meta,
		 const struct pprof_encode_opts *opts, uint8_t **out, size_t *out_len)
{
	Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	ValueType st = PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
		  pt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	ValueType *stp = &st;
	struct remap rstr = { 0 }, rmap = { 0 }, rfn = { 0 }, rloc = { 0 };
	size_t nstr = 0, nmap = 0, nfn = 0, nloc = 0, ns = 0, nlabels = 0, nlocids = 0;
	Sample *samples = NULL, **sample_ptrs = NULL;
	Location *locs = NULL, **loc_ptrs = NULL;
	Line *lines = NULL, **line_ptrs = NULL;
	Function *fns = NULL, **fn_ptrs = NULL;
	Mapping *maps = NULL, **map_ptrs = NULL;
	Label *labels = NULL, **label_ptrs = NULL;
	uint64_t *loc_ids = NULL;
	int64_t *values = NULL;
	char **strings = NULL;
	uint8_t *buf = NULL;
	size_t len, nsel, sel_locs, sel_labels;
	int err = -ENOMEM;

	*out = NULL;
	*out_len = 0;
	rstr.n = pb->nstr;
	rmap.n = pb->nmappings;
	rfn.n = pb->nfunctions;
	rloc.n = pb->nlocations;
	rstr.map = calloc(rstr.n + 1, sizeof(uint32_t));
	rmap.map = calloc(rmap.n + 1, sizeof(uint32_t));
	rfn.map = calloc(rfn.n + 1, sizeof(uint32_t));
	rloc.map = calloc(rloc.n + 1, sizeof(uint32_t));
	/* per-sample arrays sized by the selection: a window encoded as many series allocates
	 * (and zeroes) its frame references once in all, not once per series */
	nsel = opts->only ? opts->nonly : pb->nsamples;
	sel_locs = opts->only ? 0 : pb->nloc_ids;
	sel_labels = opts->only ? 0 : pb->nlabels;
	for (size_t i = 0; opts->only && i < nsel; i++) {
		if (opts->only[i] < pb->nsamples) {
			sel_locs += pb->samples[opts->only[i]].nlocs;
			sel_labels += pb->samples[opts->only[i]].nlabels;
		}
	}
	samples = calloc(nsel + 1, sizeof(*samples));
	sample_ptrs = calloc(nsel + 1, sizeof(*sample_ptrs));
	values = calloc(nsel + 1, sizeof(*values));
	loc_ids = calloc(sel_locs + 1, sizeof(*loc_ids));
	labels = calloc(sel_labels + 1, sizeof(*labels));
	label_ptrs = calloc(sel_labels + 1, sizeof(*label_ptrs));
	locs = calloc(pb->nlocations + 1, sizeof(*locs));
	loc_ptrs = calloc(pb->nlocations + 1, sizeof(*loc_ptrs));
	lines = calloc(pb->nlines + 1, sizeof(*lines));
	line_ptrs = calloc(pb->nlines + 1, sizeof(*line_ptrs));
	fns = calloc(pb->nfunctions + 1, sizeof(*fns));
	fn_ptrs = calloc(pb->nfunctions + 1, sizeof(*fn_ptrs));
	maps = calloc(pb->nmappings + 1, sizeof(*maps));
	map_ptrs = calloc(pb->nmappings + 1, sizeof(*map_ptrs));
	strings = calloc(pb->nstr + 4, sizeof(*strings));
	if (!rstr.map || !rmap.map || !rfn.map || !rloc.map || !samples || !sample_ptrs ||
	    !values || !loc_ids || !labels || !label_ptrs || !locs || !loc_ptrs || !lines ||
	    !line_ptrs || !fns || !fn_ptrs || !maps || !map_ptrs || !strings)
		goto out;

	/* String 0 must be "" and every table refers to strings by new index; index 0 of the
	 * old table is "" too, so map it first. */
	rstr.map[0] = 1;
	strings[nstr++] = (char *)"";
#define STR(old)                                                                                   \
	({                                                                                         \
		uint32_t _o = (old);                                                               \
		if (!rstr.map[_o]) {                                                               \
			strings[nstr] = (char *)profile_builder__str(pb, _o);                      \
			rstr.map[_o] = (uint32_t)++nstr;                                           \
		}                                                                                  \
		(int64_t)(rstr.map[_o] - 1);                                                       \
	})
	/* The value type's names need not be in the builder: they get their own entries. */
	strings[nstr++] = (char *)"cpu";
	strings[nstr++] = (char *)"nanoseconds";
	st.type = 1;
	st.unit = 2;
	pt = st;

	for (size_t i = 0; i < nsel; i++) {
		size_t idx = opts->only ? opts->only[i] : i;
		const struct pb_sample *s;
		Sample *ps = &samples[ns];

		if (idx >= pb->nsamples)
			continue;
		s = &pb->samples[idx];
		perftools__profiles__sample__init(ps);
		ps->location_id = &loc_ids[nlocids];
		for (uint32_t j = 0; j < s->nlocs; j++) {
			uint32_t old = pb->loc_ids[s->first_loc + j];
			size_t before = nloc;
			uint32_t nid = remap_use(&rloc, old, &nloc);

			if (!nid)
				continue;
			if (nloc != before) {
				const struct pb_location *l = &pb->locations[old - 1];
				Location *pl = &locs[nid - 1];

				perftools__profiles__location__init(pl);
				pl->id = nid;
				pl->address = l->address;
				pl->mapping_id = 0;
				if (l->mapping) {
					size_t mb = nmap;
					uint32_t mid = remap_use(&rmap, l->mapping, &nmap);

					if (mid && nmap != mb) {
						const struct pb_mapping *m =
						    &pb->mappings[l->mapping - 1];
						uint8_t mf = l->mapping <= pb->mapping_flags_cap
								 ? pb->mapping_flags[l->mapping - 1]
								 : 0;
						Mapping *pm = &maps[mid - 1];

						perftools__profiles__mapping__init(pm);
						pm->id = mid;
						pm->filename = STR(m->file);
						pm->build_id = STR(m->build_id);
						pm->has_functions = mf & PB_MAP_FUNCTIONS;
						pm->has_filenames = mf & PB_MAP_FILENAMES;
						pm->has_line_numbers = mf & PB_MAP_LINE_NUMBERS;
						pm->has_inline_frames = mf & PB_MAP_INLINE_FRAMES;
						map_ptrs[mid - 1] = pm;
					}
					pl->mapping_id = mid;
				}
				/* lines innermost first: pprof's order for inlined frames */
				pl->line = &line_ptrs[l->first_line];
				for (uint32_t k = 0; k < l->nlines; k++) {
					const struct pb_line *bl = &pb->lines[l->first_line + k];
					Line *ln = &lines[l->first_line + k];
					size_t fb = nfn;
					uint32_t fid = remap_use(&rfn, bl->function, &nfn);

					perftools__profiles__line__init(ln);
					if (fid && nfn != fb) {
						const struct pb_function *f =
						    &pb->functions[bl->function - 1];
						Function *pf = &fns[fid - 1];

						perftools__profiles__function__init(pf);
						pf->id = fid;
						pf->name = STR(f->name);
						pf->system_name = pf->name;
						pf->filename = STR(f->filename);
						pf->start_line = f->start_line;
						fn_ptrs[fid - 1] = pf;
					}
					ln->function_id = fid;
					ln->line = bl->line;
					line_ptrs[l->first_line + k] = ln;
				}
				pl->n_line = l->nlines;
				loc_ptrs[nid - 1] = pl;
			}
			loc_ids[nlocids++] = nid;
			ps->n_location_id++;
		}
		values[ns] = (int64_t)(s->count * meta->period_ns);
		ps->value = &values[ns];
		ps->n_value = 1;
		ps->label = &label_ptrs[nlabels];
		for (uint32_t j = 0; j < s->nlabels; j++) {
			const struct pb_label *l = &pb->labels[s->first_label + j];
			Label *pl = &labels[nlabels];

			if (label_dropped(pb, l, opts->drop_labels))
				continue;
			perftools__profiles__label__init(pl);
			pl->key = STR(l->key);
			pl->str = STR(l->str);
			label_ptrs[nlabels++] = pl;
			ps->n_label++;
		}
		sample_ptrs[ns++] = ps;
	}
#undef STR

	prof.n_sample_type = 1;
	prof.sample_type = &stp;
	prof.period_type = &pt;
	prof.period = (int64_t)meta->period_ns;
	prof.time_nanos = meta->time_nanos;
	prof.duration_nanos = meta->duration_nanos;
	prof.n_sample = ns;
	prof.sample = sample_ptrs;
	prof.n_location = nloc;
	prof.location = loc_ptrs;
	prof.n_function = nfn;
	prof.function = fn_ptrs;
	prof.n_mapping = nmap;
	prof.mapping = map_ptrs;
	prof.n_string_table = nstr;
	prof.string_table = strings;

	len = perftools__profiles__profile__get_packed_size(&prof);
	buf = malloc(len ? len : 1);
	if (!buf)
		goto out;
	perftools__profiles__profile__pack(&prof, buf);
	if (opts->gzip) {
		err = gzip_compress(buf, len, out, out_len);
		if (err)
			goto out;
	} else {
		*out = buf;
		*out_len = len;
		buf = NULL;
	}
	err = 0;
out:
	free(buf);
	free(rstr.map);
	free(rmap.map);
	free(rfn.map);
	free(rloc.map);
	free(samples);
	free(sample_ptrs);
	free(values);
	free(loc_ids);
	free(labels);
	free(label_ptrs);
	free(locs);
	free(loc_ptrs);
	free(lines);
	free(line_ptrs);
	free(fns);
	free(fn_ptrs);
	free(maps);
	free(map_ptrs);
	free(strings);
	return err;
}

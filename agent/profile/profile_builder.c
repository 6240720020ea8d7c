/* SPDX-License-Identifier: BSD-2-Clause */
/* Profile builder: interning tables and sample aggregation for one window. Arrays grow by
 * doubling; every table has a cap so a hostile workload cannot grow it without bound. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/lru_cache.h"
#include "util/utf8.h"
#include "profile/profile_builder.h"

/* Open addressing over indices: slot value is index + 1, 0 is empty. */
typedef uint64_t (*hash_fn)(const struct profile_builder *pb, uint32_t idx);

static int table_rehash(const struct profile_builder *pb, uint32_t **tab, size_t *cap, size_t n,
			hash_fn hf)
{
	size_t nc = *cap ? *cap * 2 : 256;
	uint32_t *t = calloc(nc, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t s = hf(pb, (uint32_t)i) & (nc - 1);

		while (t[s])
			s = (s + 1) & (nc - 1);
		t[s] = (uint32_t)i + 1;
	}
	free(*tab);
	*tab = t;
	*cap = nc;
	return 0;
}

static uint64_t hash_str_idx(const struct profile_builder *pb, uint32_t idx)
{
	const char *s = profile_builder__str(pb, idx);

	return hash_bytes(s, strlen(s), 1);
}

static uint64_t hash_map_idx(const struct profile_builder *pb, uint32_t idx)
{
	return hash_bytes(&pb->mappings[idx], sizeof(pb->mappings[idx]), 2);
}

static uint64_t hash_fn_idx(const struct profile_builder *pb, uint32_t idx)
{
	return hash_bytes(&pb->functions[idx], sizeof(pb->functions[idx]), 3);
}

/* A location is its mapping, address and lines: the same address in the same file can name
 * other functions (JIT code replaced, a file rewritten under one name). One pass over them, as
 * locations are interned for every new stack. */
static uint64_t hash_loc_parts(uint32_t mapping, uint64_t address, const struct pb_line *lines,
			       size_t nlines)
{
	struct {
		uint64_t address;
		uint32_t mapping;
		struct pb_line lines[FRAME_MAX_PER_ADDR];
	} k;

	_Static_assert(offsetof(__typeof__(k), lines) == 12, "no padding is hashed");
	if (nlines > FRAME_MAX_PER_ADDR)
		nlines = FRAME_MAX_PER_ADDR;
	k.address = address;
	k.mapping = mapping;
	if (nlines)
		memcpy(k.lines, lines, nlines * sizeof(*lines));
	return hash_bytes(&k, offsetof(__typeof__(k), lines) + nlines * sizeof(*lines), 4);
}

static uint64_t hash_loc_idx(const struct profile_builder *pb, uint32_t idx)
{
	const struct pb_location *l = &pb->locations[idx];

	return hash_loc_parts(l->mapping, l->address, pb->lines + l->first_line, l->nlines);
}

static uint64_t hash_sample_parts(const uint32_t *locs, size_t nlocs, const struct pb_label *l,
				  size_t nl)
{
	if (!nlocs || !nl)
		return hash_bytes(nlocs ? (const void *)locs : "", nlocs * sizeof(*locs), 5) ^
		       (hash_bytes(nl ? (const void *)l : "", nl * sizeof(*l), 6) * 31);
	return hash_bytes(locs, nlocs * sizeof(*locs), 5) ^
	       (hash_bytes(l, nl * sizeof(*l), 6) * 31);
}

static uint64_t hash_sample_idx(const struct profile_builder *pb, uint32_t idx)
{
	const struct pb_sample *s = &pb->samples[idx];

	return hash_sample_parts(pb->loc_ids + s->first_loc, s->nlocs, pb->labels + s->first_label,
				 s->nlabels);
}

int profile_builder__init(struct profile_builder *pb, const struct profile_builder_opts *opts)
{
	memset(pb, 0, sizeof(*pb));
	if (opts)
		pb->opts = *opts;
	if (!pb->opts.max_samples)
		pb->opts.max_samples = 200000;
	if (!pb->opts.max_locations)
		pb->opts.max_locations = 1000000;
	return profile_builder__string(pb, "") == 0 && pb->nstr == 1 ? 0 : -ENOMEM;
}

void profile_builder__reset(struct profile_builder *pb)
{
	pb->pool_len = pb->nstr = pb->nmappings = pb->nfunctions = pb->nlocations = 0;
	pb->nlines = 0;
	pb->nsamples = pb->nloc_ids = pb->nlabels = 0;
	pb->total_count = pb->dropped_count = 0;
	if (pb->h_str)
		memset(pb->h_str, 0, pb->hcap_str * sizeof(uint32_t));
	if (pb->h_map)
		memset(pb->h_map, 0, pb->hcap_map * sizeof(uint32_t));
	if (pb->h_fn)
		memset(pb->h_fn, 0, pb->hcap_fn * sizeof(uint32_t));
	if (pb->h_loc)
		memset(pb->h_loc, 0, pb->hcap_loc * sizeof(uint32_t));
	if (pb->h_sample)
		memset(pb->h_sample, 0, pb->hcap_sample * sizeof(uint32_t));
	profile_builder__string(pb, "");
}

void profile_builder__destroy(struct profile_builder *pb)
{
	free(pb->pool);
	free(pb->str_off);
	free(pb->mappings);
	free(pb->functions);
	free(pb->locations);
	free(pb->lines);
	free(pb->mapping_flags);
	free(pb->samples);
	free(pb->loc_ids);
	free(pb->labels);
	free(pb->h_str);
	free(pb->h_map);
	free(pb->h_fn);
	free(pb->h_loc);
	free(pb->h_sample);
	memset(pb, 0, sizeof(*pb));
}

static uint32_t intern_string(struct profile_builder *pb, const char *s, size_t len)
{
	uint64_t h = hash_bytes(s, len, 1);
	size_t slot;

	if (pb->hcap_str) {
		for (slot = h & (pb->hcap_str - 1); pb->h_str[slot];
		     slot = (slot + 1) & (pb->hcap_str - 1)) {
			uint32_t idx = pb->h_str[slot] - 1;

			if (strcmp(profile_builder__str(pb, idx), s) == 0)
				return idx;
		}
	}
	if (pb->nstr >= pb->opts.max_locations * 2)
		return 0;
	if ((pb->nstr + 1) * 2 > pb->hcap_str &&
	    table_rehash(pb, &pb->h_str, &pb->hcap_str, pb->nstr, hash_str_idx))
		return 0;
	if (ARRAY_RESERVE(pb->str_off, pb->str_cap, pb->nstr + 1))
		return 0;
	if (ARRAY_RESERVE(pb->pool, pb->pool_cap, pb->pool_len + len + 1))
		return 0;
	memcpy(pb->pool + pb->pool_len, s, len + 1);
	pb->str_off[pb->nstr] = (uint32_t)pb->pool_len;
	pb->pool_len += len + 1;
	for (slot = h & (pb->hcap_str - 1); pb->h_str[slot]; slot = (slot + 1) & (pb->hcap_str - 1))
		;
	pb->h_str[slot] = (uint32_t)pb->nstr + 1;
	return (uint32_t)pb->nstr++;
}

uint32_t profile_builder__string(struct profile_builder *pb, const char *s)
{
	size_t len = strlen(s), nstr;
	uint32_t idx;
	char *fixed;

	if (utf8_valid(s, len))
		return intern_string(pb, s, len);
	/* One bad byte in a file name, comm or symbol would make the server refuse the whole
	 * batch: every process's samples, not just the liar's. */
	fixed = malloc(UTF8_REPAIR_SIZE(len));
	if (!fixed)
		return 0;
	nstr = pb->nstr;
	idx = intern_string(pb, fixed, utf8_repair(s, len, fixed));
	free(fixed);
	pb->strings_repaired += pb->nstr > nstr;
	return idx;
}

/* Finds or inserts a fixed-size record; returns its 1-based id or 0. */
#define INTERN_RECORD(pb, arr, n, cap, htab, hcap, hf, rec, seed)                                  \
	({                                                                                         \
		uint64_t _h = hash_bytes(&(rec), sizeof(rec), (seed));                             \
		uint32_t _id = 0;                                                                  \
		size_t _s;                                                                         \
		if (hcap) {                                                                        \
			for (_s = _h & ((hcap)-1); (htab)[_s]; _s = (_s + 1) & ((hcap)-1)) {       \
				if (memcmp(&(arr)[(htab)[_s] - 1], &(rec), sizeof(rec)) == 0) {    \
					_id = (htab)[_s];                                          \
					break;                                                     \
				}                                                                  \
			}                                                                          \
		}                                                                                  \
		if (!_id && (n) < (pb)->opts.max_locations &&                                      \
		    !(((n) + 1) * 2 > (hcap) &&                                                    \
		      table_rehash((pb), &(htab), &(hcap), (n), (hf))) &&                          \
		    !ARRAY_RESERVE((arr), (cap), (n) + 1)) {                                       \
			(arr)[(n)] = (rec);                                                        \
			for (_s = _h & ((hcap)-1); (htab)[_s]; _s = (_s + 1) & ((hcap)-1))         \
				;                                                                  \
			(htab)[_s] = (uint32_t)(n) + 1;                                            \
			_id = (uint32_t)++(n);                                                     \
		}                                                                                  \
		_id;                                                                               \
	})

uint32_t profile_builder__mapping(struct profile_builder *pb, const char *file,
				  const char *build_id)
{
	struct pb_mapping m = { profile_builder__string(pb, file),
				profile_builder__string(pb, build_id ? build_id : "") };
	size_t before = pb->nmappings;
	uint32_t id = INTERN_RECORD(pb, pb->mappings, pb->nmappings, pb->mappings_cap, pb->h_map,
				    pb->hcap_map, hash_map_idx, m, 2);

	if (pb->nmappings == before)
		return id;
	if (ARRAY_RESERVE(pb->mapping_flags, pb->mapping_flags_cap, pb->nmappings))
		return id; /* the flags are optional: this mapping reports none */
	pb->mapping_flags[id - 1] = 0;
	return id;
}

static uint32_t function_at(struct profile_builder *pb, const char *name, const char *file,
			    uint32_t start_line)
{
	struct pb_function f = { profile_builder__string(pb, name),
				 file ? profile_builder__string(pb, file) : 0, start_line };

	if ((!f.name && *name) || (!f.filename && file && *file))
		return 0;
	return INTERN_RECORD(pb, pb->functions, pb->nfunctions, pb->functions_cap, pb->h_fn,
			     pb->hcap_fn, hash_fn_idx, f, 3);
}

uint32_t profile_builder__function(struct profile_builder *pb, const char *name)
{
	return function_at(pb, name, NULL, 0);
}

static uint32_t location_lines(struct profile_builder *pb, uint32_t mapping, uint64_t address,
			       const struct pb_line *lines, size_t nlines)
{
	uint64_t h = hash_loc_parts(mapping, address, lines, nlines);
	size_t s;

	if (pb->hcap_loc) {
		for (s = h & (pb->hcap_loc - 1); pb->h_loc[s]; s = (s + 1) & (pb->hcap_loc - 1)) {
			const struct pb_location *x = &pb->locations[pb->h_loc[s] - 1];

			if (x->mapping == mapping && x->address == address && x->nlines == nlines &&
			    (!nlines ||
			     !memcmp(pb->lines + x->first_line, lines, nlines * sizeof(*lines))))
				return pb->h_loc[s];
		}
	}
	if (pb->nlocations >= pb->opts.max_locations)
		return 0;
	if ((pb->nlocations + 1) * 2 > pb->hcap_loc &&
	    table_rehash(pb, &pb->h_loc, &pb->hcap_loc, pb->nlocations, hash_loc_idx))
		return 0;
	if (ARRAY_RESERVE(pb->lines, pb->lines_cap, pb->nlines + nlines) ||
	    ARRAY_RESERVE(pb->locations, pb->locations_cap, pb->nlocations + 1))
		return 0;
	pb->locations[pb->nlocations] = (struct pb_location){
		.mapping = mapping,
		.first_line = (uint32_t)pb->nlines,
		.nlines = (uint32_t)nlines,
		.address = address,
	};
	if (nlines)
		memcpy(pb->lines + pb->nlines, lines, nlines * sizeof(*lines));
	pb->nlines += nlines;
	for (s = h & (pb->hcap_loc - 1); pb->h_loc[s]; s = (s + 1) & (pb->hcap_loc - 1))
		;
	pb->h_loc[s] = (uint32_t)pb->nlocations + 1;
	return (uint32_t)++pb->nlocations;
}

uint32_t profile_builder__location(struct profile_builder *pb, uint32_t mapping, uint32_t function,
				   uint64_t address)
{
	struct pb_line line = { function, 0 };

	return location_lines(pb, mapping, address, &line, function ? 1 : 0);
}

uint32_t profile_builder__frames_location(struct profile_builder *pb, const struct frame *frames,
					  size_t n)
{
	struct pb_line lines[FRAME_MAX_PER_ADDR];
	uint32_t mapping = 0;
	uint8_t flags = 0;
	size_t nl = 0;

	if (!n)
		return 0;
	if (n > FRAME_MAX_PER_ADDR)
		n = FRAME_MAX_PER_ADDR;
	if (frames[0].mapping)
		mapping = profile_builder__mapping(pb, frames[0].mapping, frames[0].build_id);
	for (size_t i = 0; i < n; i++) {
		/* a frame whose function did not fit (cap) is left out, as a single frame's
		 * location is then kept without a line */
		lines[nl].function =
		    function_at(pb, frames[i].function, frames[i].file, frames[i].start_line);
		lines[nl].line = frames[i].line;
		if (!lines[nl].function)
			continue;
		nl++;
		if (!frames[i].unnamed)
			flags |= PB_MAP_FUNCTIONS;
		if (frames[i].file && frames[i].file[0])
			flags |= PB_MAP_FILENAMES;
		if (frames[i].line)
			flags |= PB_MAP_LINE_NUMBERS;
		if (frames[i].inlined)
			flags |= PB_MAP_INLINE_FRAMES;
	}
	if (mapping && mapping <= pb->mapping_flags_cap)
		pb->mapping_flags[mapping - 1] |= flags;
	return location_lines(pb, mapping, frames[0].address, lines, nl);
}

int pb_stack__add_frames(void *ctx, const struct frame *frames, size_t nframes)
{
	struct pb_stack *st = ctx;
	uint32_t loc;

	if (st->n >= st->max)
		return 1;
	loc = profile_builder__frames_location(st->pb, frames, nframes);
	if (loc)
		st->locs[st->n++] = loc;
	return st->n >= st->max;
}

int profile_builder__add_sample(struct profile_builder *pb, const uint32_t *locs, size_t nlocs,
				const struct pb_label *labels, size_t nlabels, uint64_t count)
{
	uint64_t h;
	size_t s;

	if (nlocs > PB_MAX_FRAMES)
		nlocs = PB_MAX_FRAMES;
	if (nlabels > PB_MAX_LABELS)
		nlabels = PB_MAX_LABELS;
	h = hash_sample_parts(locs, nlocs, labels, nlabels);
	if (pb->hcap_sample) {
		for (s = h & (pb->hcap_sample - 1); pb->h_sample[s];
		     s = (s + 1) & (pb->hcap_sample - 1)) {
			struct pb_sample *x = &pb->samples[pb->h_sample[s] - 1];

			if (x->nlocs == nlocs && x->nlabels == nlabels &&
			    (!nlocs ||
			     !memcmp(pb->loc_ids + x->first_loc, locs, nlocs * sizeof(*locs))) &&
			    (!nlabels || !memcmp(pb->labels + x->first_label, labels,
						 nlabels * sizeof(*labels)))) {
				x->count += count;
				pb->total_count += count;
				return 0;
			}
		}
	}
	if (pb->nsamples >= pb->opts.max_samples)
		goto full;
	if ((pb->nsamples + 1) * 2 > pb->hcap_sample &&
	    table_rehash(pb, &pb->h_sample, &pb->hcap_sample, pb->nsamples, hash_sample_idx))
		goto full;
	if (ARRAY_RESERVE(pb->loc_ids, pb->loc_ids_cap, pb->nloc_ids + nlocs) ||
	    ARRAY_RESERVE(pb->labels, pb->labels_cap, pb->nlabels + nlabels))
		goto full;
	if (ARRAY_RESERVE(pb->samples, pb->samples_cap, pb->nsamples + 1))
		goto full;
	pb->samples[pb->nsamples] = (struct pb_sample){
		.first_loc = (uint32_t)pb->nloc_ids,
		.nlocs = (uint16_t)nlocs,
		.nlabels = (uint16_t)nlabels,
		.first_label = (uint32_t)pb->nlabels,
		.count = count,
	};
	if (nlocs)
		memcpy(pb->loc_ids + pb->nloc_ids, locs, nlocs * sizeof(*locs));
	pb->nloc_ids += nlocs;
	if (nlabels)
		memcpy(pb->labels + pb->nlabels, labels, nlabels * sizeof(*labels));
	pb->nlabels += nlabels;
	for (s = h & (pb->hcap_sample - 1); pb->h_sample[s]; s = (s + 1) & (pb->hcap_sample - 1))
		;
	pb->h_sample[s] = (uint32_t)pb->nsamples + 1;
	pb->nsamples++;
	pb->total_count += count;
	return 0;
full:
	pb->dropped_count += count;
	return -ENOSPC;
}

const char *profile_builder__sample_label(const struct profile_builder *pb,
					  const struct pb_sample *s, const char *key)
{
	for (uint32_t i = 0; i < s->nlabels; i++) {
		const struct pb_label *l = &pb->labels[s->first_label + i];

		if (strcmp(profile_builder__str(pb, l->key), key) == 0)
			return profile_builder__str(pb, l->str);
	}
	return NULL;
}

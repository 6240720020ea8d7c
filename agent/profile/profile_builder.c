/* SPDX-License-Identifier: BSD-2-Clause */
/* Profile builder: interning tables and sample aggregation for one window. Arrays grow by
 * doubling; every table has a cap so a hostile workload cannot grow it without bound. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/lru_cache.h"
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
	const char *s = pb_str(pb, idx);

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

static uint64_t hash_loc_idx(const struct profile_builder *pb, uint32_t idx)
{
	return hash_bytes(&pb->locations[idx], sizeof(pb->locations[idx]), 4);
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
	return pb_string(pb, "") == 0 && pb->nstr == 1 ? 0 : -ENOMEM;
}

void profile_builder__reset(struct profile_builder *pb)
{
	pb->pool_len = pb->nstr = pb->nmappings = pb->nfunctions = pb->nlocations = 0;
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
	pb_string(pb, "");
}

void profile_builder__destroy(struct profile_builder *pb)
{
	free(pb->pool);
	free(pb->str_off);
	free(pb->mappings);
	free(pb->functions);
	free(pb->locations);
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

uint32_t pb_string(struct profile_builder *pb, const char *s)
{
	size_t len = strlen(s), slot;
	uint64_t h = hash_bytes(s, len, 1);

	if (pb->hcap_str) {
		for (slot = h & (pb->hcap_str - 1); pb->h_str[slot];
		     slot = (slot + 1) & (pb->hcap_str - 1)) {
			uint32_t idx = pb->h_str[slot] - 1;

			if (strcmp(pb_str(pb, idx), s) == 0)
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

uint32_t pb_mapping(struct profile_builder *pb, const char *file, const char *build_id)
{
	struct pb_mapping m = { pb_string(pb, file), pb_string(pb, build_id ? build_id : "") };

	return INTERN_RECORD(pb, pb->mappings, pb->nmappings, pb->mappings_cap, pb->h_map,
			     pb->hcap_map, hash_map_idx, m, 2);
}

uint32_t pb_function(struct profile_builder *pb, const char *name)
{
	struct pb_function f = { pb_string(pb, name) };

	if (!f.name && *name)
		return 0;
	return INTERN_RECORD(pb, pb->functions, pb->nfunctions, pb->functions_cap, pb->h_fn,
			     pb->hcap_fn, hash_fn_idx, f, 3);
}

uint32_t pb_location(struct profile_builder *pb, uint32_t mapping, uint32_t function,
		     uint64_t address)
{
	struct pb_location l;

	memset(&l, 0, sizeof(l)); /* padding takes part in hashing */
	l.mapping = mapping;
	l.function = function;
	l.address = address;
	return INTERN_RECORD(pb, pb->locations, pb->nlocations, pb->locations_cap, pb->h_loc,
			     pb->hcap_loc, hash_loc_idx, l, 4);
}

int pb_add_sample(struct profile_builder *pb, const uint32_t *locs, size_t nlocs,
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

const char *pb_sample_label(const struct profile_builder *pb, const struct pb_sample *s,
			    const char *key)
{
	for (uint32_t i = 0; i < s->nlabels; i++) {
		const struct pb_label *l = &pb->labels[s->first_label + i];

		if (strcmp(pb_str(pb, l->key), key) == 0)
			return pb_str(pb, l->str);
	}
	return NULL;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* One window's profile in pprof's own model: interned strings, mappings, functions, locations
 * and samples deduplicated by (locations, labels), bounded by a cap on unique samples. */
#ifndef STOKER_PROFILE_BUILDER_H
#define STOKER_PROFILE_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolize/frame.h"

#define PB_MAX_LABELS 16
#define PB_MAX_FRAMES 512

/* profile_builder.mapping_flags */
#define PB_MAP_FILENAMES     1u
#define PB_MAP_LINE_NUMBERS  2u
#define PB_MAP_INLINE_FRAMES 4u
#define PB_MAP_FUNCTIONS     8u

struct pb_mapping {
	uint32_t file;	   /* string index */
	uint32_t build_id; /* string index */
};

struct pb_function {
	uint32_t name;	     /* string index */
	uint32_t filename;   /* string index, 0 ("") when unknown */
	uint32_t start_line; /* 0 when unknown */
};

/* One frame of a location: pprof's Line. */
struct pb_line {
	uint32_t function; /* 1-based function id */
	uint32_t line;	   /* source line, 0 when unknown */
};

/* An address and the frames there: one line, or an inline chain innermost first. */
struct pb_location {
	uint32_t mapping;    /* 1-based mapping id, 0 for none */
	uint32_t first_line; /* index into lines */
	uint32_t nlines;     /* 0 when the function could not be interned */
	uint64_t address;    /* normalized: ELF virtual address in the file, kernel address */
};

struct pb_label {
	uint32_t key, str; /* string indices */
};

struct pb_sample {
	uint32_t first_loc; /* index into the shared location-id array */
	uint16_t nlocs;
	uint16_t nlabels;
	uint32_t first_label;
	uint64_t count;
};

struct profile_builder_opts {
	size_t max_samples;   /* unique samples kept; default 200000 */
	size_t max_locations; /* default 1M; also caps functions and strings */
};

struct profile_builder {
	struct profile_builder_opts opts;
	/* strings: offsets into one pool; index 0 is "" */
	char *pool;
	size_t pool_len, pool_cap;
	uint32_t *str_off;
	size_t nstr, str_cap;
	struct pb_mapping *mappings; /* id = index + 1 */
	size_t nmappings, mappings_cap;
	struct pb_function *functions;
	size_t nfunctions, functions_cap;
	struct pb_location *locations;
	size_t nlocations, locations_cap;
	struct pb_line *lines; /* locations' lines, back to back */
	size_t nlines, lines_cap;
	/* per mapping (id - 1): PB_MAP_* of what its locations carried, for pprof's has_* */
	uint8_t *mapping_flags;
	size_t mapping_flags_cap;
	struct pb_sample *samples;
	size_t nsamples, samples_cap;
	uint32_t *loc_ids; /* samples' location ids, leaf first */
	size_t nloc_ids, loc_ids_cap;
	struct pb_label *labels;
	size_t nlabels, labels_cap;
	/* open-addressing indices (slot holds index + 1) */
	uint32_t *h_str, *h_map, *h_fn, *h_loc, *h_sample;
	size_t hcap_str, hcap_map, hcap_fn, hcap_loc, hcap_sample;
	uint64_t total_count;
	uint64_t dropped_count; /* samples not kept: a cap was reached */
	/* strings of a window whose bytes that were not UTF-8 became U+FFFD; kept by reset */
	uint64_t strings_repaired;
};

int profile_builder__init(struct profile_builder *pb, const struct profile_builder_opts *opts);
void profile_builder__reset(struct profile_builder *pb); /* empties it, keeps allocations */
void profile_builder__destroy(struct profile_builder *pb);

/* Interning; each returns a 1-based id (string: 0-based index), or 0 when a cap is reached.
 * Strings are interned as valid UTF-8, whatever bytes they came with. */
uint32_t profile_builder__string(struct profile_builder *pb, const char *s);
uint32_t profile_builder__mapping(struct profile_builder *pb, const char *file,
				  const char *build_id);
uint32_t profile_builder__function(struct profile_builder *pb, const char *name);
/* A location of one line (function 0: none). */
uint32_t profile_builder__location(struct profile_builder *pb, uint32_t mapping, uint32_t function,
				   uint64_t address);
/* The location of one address from its frames (innermost first, as symbolization yields
 * them): one Line per frame, mapping and address from the first. */
uint32_t profile_builder__frames_location(struct profile_builder *pb, const struct frame *frames,
					  size_t n);
/* Adds count to the sample (locs leaf first; labels as interned key/str pairs). Returns 0, or
 * -ENOSPC when the sample cap is reached (the count is then added to dropped_count). */
int profile_builder__add_sample(struct profile_builder *pb, const uint32_t *locs, size_t nlocs,
				const struct pb_label *labels, size_t nlabels, uint64_t count);

/* Gathers a stack's location ids (leaf first) from symbolize_stack's per-address frames:
 * pass pb_stack__add_frames as its callback with a struct pb_stack. Addresses whose location
 * could not be interned are left out; the walk stops when locs is full. */
struct pb_stack {
	struct profile_builder *pb;
	uint32_t *locs;
	size_t n, max;
};
int pb_stack__add_frames(void *ctx, const struct frame *frames, size_t nframes);

static inline const char *profile_builder__str(const struct profile_builder *pb, uint32_t idx)
{
	return idx < pb->nstr ? pb->pool + pb->str_off[idx] : "";
}

/* The value of label key in sample s, or NULL. */
const char *profile_builder__sample_label(const struct profile_builder *pb,
					  const struct pb_sample *s, const char *key);

#endif

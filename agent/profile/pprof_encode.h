/* SPDX-License-Identifier: BSD-2-Clause */
/* Serializes a profile_builder as a pprof Profile (protobuf-c), optionally gzipped (zlib). */
#ifndef STOKER_PPROF_ENCODE_H
#define STOKER_PPROF_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb_sample;
struct profile_builder;

struct pprof_meta {
	uint64_t period_ns;	/* 1e9 / sample rate */
	int64_t time_nanos;	/* wall-clock start of the window */
	int64_t duration_nanos; /* window length */
};

struct pprof_encode_opts {
	/* The samples to encode, by index in the builder (NULL: every one): a window split into
	 * many series encodes each from its own list, in time proportional to it rather than to
	 * the window. */
	const uint32_t *only;
	size_t nonly;
	/* Sample label keys left out of the profile, NULL-terminated (NULL: keep all): labels
	 * that travel as series labels must not also be sample labels. */
	const char *const *drop_labels;
	bool gzip;
};

/* Encodes the selected samples as pprof; each sample's value is count * period. *out is
 * malloc'ed. Returns 0 or -errno. */
int pprof_encode(const struct profile_builder *pb, const struct pprof_meta *meta,
		 const struct pprof_encode_opts *opts, uint8_t **out, size_t *out_len);

/* gzip-compresses buf (zlib, level 6). Returns 0 or -errno; *out is malloc'ed. */
int gzip_compress(const uint8_t *buf, size_t len, uint8_t **out, size_t *out_len);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* A closed window ready to upload: one gzipped pprof per series label set, split so that every
 * profile stays within the server's limits; also its serialized (spool) form. */
#ifndef STOKER_UPLOAD_BATCH_H
#define STOKER_UPLOAD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pprof_meta;
struct profile_builder;

struct label_pair {
	char *name, *value;
};

struct series_profile {
	struct label_pair *labels;
	size_t nlabels;
	uint8_t *pprof_gz;
	size_t len;
};

struct upload_batch {
	int64_t start_ns, end_ns; /* wall clock of the window */
	unsigned int sample_rate_hz;
	struct series_profile *series;
	size_t nseries;
	size_t next_series; /* ingest API: series already delivered */
	uint64_t samples;   /* samples in the window, for accounting */
	size_t bytes;	    /* sum of profile sizes */
	/* delivery state, owned by the uploader */
	unsigned int attempts;
	uint64_t next_attempt_ns;
	char *spool_path; /* set when the batch lives on disk: its name in the spool */
	struct upload_batch *next;
};

struct batch_opts {
	const struct label_pair *static_labels; /* --label, validated */
	size_t nstatic;
	const char *host_name;		/* NULL: no host_name label */
	size_t max_samples_per_profile; /* default 15000 (server limit 16000) */
	size_t max_profile_bytes;	/* uncompressed, default 1 MiB (server burst 2 MB) */
};

/* Builds a batch from the window's samples grouped by their service_name sample label.
 * Returns 0 (with *out NULL when the window is empty) or -errno. */
int upload_batch__from_window(const struct profile_builder *pb, const struct pprof_meta *meta,
			      const struct batch_opts *opts, struct upload_batch **out);
void upload_batch__free(struct upload_batch *b);
/* Frees the series (profiles and labels) only: the batch keeps its place and state. */
void upload_batch__free_series(struct upload_batch *b);

/* Serialized form: a PushRequest (push.proto) with a fixed header (spool files). */
int upload_batch__serialize(const struct upload_batch *b, uint8_t **out, size_t *len);
/* Parses a serialized batch; never trusts sizes in the input. Returns 0, -EBADMSG, -ENOMEM. */
int upload_batch__parse(const uint8_t *buf, size_t len, struct upload_batch **out);
/* Encodes the batch's series (from next_series on) as a PushRequest body. */
int upload_batch__push_request(const struct upload_batch *b, uint8_t **out, size_t *len);

/* Label names every Pyroscope shows as sent: [a-zA-Z_][a-zA-Z0-9_]*, at most 1024 bytes
 * (older servers reject a dot, 1.x turns it into '_', 2.x hides it from most readers). */
bool label_name_valid(const char *name);

#endif

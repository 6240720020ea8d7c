/* SPDX-License-Identifier: BSD-2-Clause */
/* Upload batches: splits a window into per-series pprof profiles within the server's limits,
 * and (de)serializes a batch as a checksummed PushRequest for the on-disk spool. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile/pprof_encode.h"
#include "profile/profile_builder.h"
#include "util/array.h"
#include "util/lru_cache.h"
#include "push.pb-c.h"
#include "export/upload_batch.h"

#define SPOOL_MAGIC	  "STKSPL01"
#define SPOOL_HDR	  48
#define SPOOL_MAX_PAYLOAD (256u << 20)
#define MAX_SPLIT_DEPTH	  12

bool label_name_valid(const char *n)
{
	size_t len = strlen(n);

	if (!len || len > 1024)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (i > 0 && c >= '0' && c <= '9');

		if (!ok)
			return false;
	}
	return true;
}

void upload_batch__free_series(struct upload_batch *b)
{
	for (size_t i = 0; i < b->nseries; i++) {
		for (size_t j = 0; j < b->series[i].nlabels; j++) {
			free(b->series[i].labels[j].name);
			free(b->series[i].labels[j].value);
		}
		free(b->series[i].labels);
		free(b->series[i].pprof_gz);
	}
	free(b->series);
	b->series = NULL;
	b->nseries = 0;
}

void upload_batch__free(struct upload_batch *b)
{
	if (!b)
		return;
	upload_batch__free_series(b);
	free(b->spool_path);
	free(b);
}

struct chunk_sel {
	size_t from, to; /* range within the group's members */
	const uint32_t *members;
};

/* Sample labels that never become series labels: per-process identity would multiply series
 * and span ids are sample labels by the server's own rule. */
static const char *const sample_only[] = { "pid", "comm", "span_id", "trace_id", NULL };

static bool is_sample_only(const char *key)
{
	for (const char *const *p = sample_only; *p; p++)
		if (!strcmp(*p, key))
			return true;
	return false;
}

static int add_label(struct series_profile *sp, const char *name, const char *value)
{
	struct label_pair *l;

	for (size_t i = 0; i < sp->nlabels; i++) {
		if (strcmp(sp->labels[i].name, name) == 0) {
			/* later sources (static labels) override inferred ones */
			char *v = strdup(value);

			if (!v)
				return -ENOMEM;
			free(sp->labels[i].value);
			sp->labels[i].value = v;
			return 0;
		}
	}
	l = realloc(sp->labels, (sp->nlabels + 1) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	sp->labels = l;
	l[sp->nlabels].name = strdup(name);
	l[sp->nlabels].value = strdup(value);
	if (!l[sp->nlabels].name || !l[sp->nlabels].value) {
		free(l[sp->nlabels].name);
		free(l[sp->nlabels].value);
		return -ENOMEM;
	}
	sp->nlabels++;
	return 0;
}

static int emit_series(struct upload_batch *b, const struct profile_builder *pb,
		       const struct pprof_meta *meta, const struct batch_opts *o,
		       struct chunk_sel *sel, int depth)
{
	struct series_profile sp = { 0 };
	const struct pb_sample *first = &pb->samples[sel->members[sel->from]];
	const char *drop[PB_MAX_LABELS + 4];
	struct pprof_encode_opts eo = { .only = sel->members + sel->from,
					.nonly = sel->to - sel->from,
					.drop_labels = drop };
	uint8_t *raw = NULL;
	size_t raw_len = 0, nd = 0;
	int err;

	/* Series labels travel in the request, so they leave the profile's samples. */
	for (uint32_t j = 0; j < first->nlabels; j++) {
		const char *k = profile_builder__str(pb, pb->labels[first->first_label + j].key);

		if (!is_sample_only(k))
			drop[nd++] = k;
	}
	drop[nd++] = "pid";
	drop[nd++] = "comm";
	drop[nd] = NULL;

	err = pprof_encode(pb, meta, &eo, &raw, &raw_len);
	if (err)
		return err;
	if (raw_len > o->max_profile_bytes && sel->to - sel->from > 1 && depth < MAX_SPLIT_DEPTH) {
		struct chunk_sel a = *sel, c = *sel;

		free(raw);
		a.to = c.from = sel->from + (sel->to - sel->from) / 2;
		err = emit_series(b, pb, meta, o, &a, depth + 1);
		return err ? err : emit_series(b, pb, meta, o, &c, depth + 1);
	}
	err = gzip_compress(raw, raw_len, &sp.pprof_gz, &sp.len);
	free(raw);
	if (err)
		return err;
	err = add_label(&sp, "__name__", "process_cpu");
	if (!err)
		err = add_label(&sp, "service_name", "unknown_service");
	for (uint32_t j = 0; !err && j < first->nlabels; j++) {
		const struct pb_label *l = &pb->labels[first->first_label + j];
		const char *k = profile_builder__str(pb, l->key),
			   *v = profile_builder__str(pb, l->str);

		if (!is_sample_only(k) && *v && label_name_valid(k))
			err = add_label(&sp, k, v);
	}
	if (!err && o->host_name && *o->host_name)
		err = add_label(&sp, "host_name", o->host_name);
	for (size_t i = 0; !err && i < o->nstatic; i++)
		err = add_label(&sp, o->static_labels[i].name, o->static_labels[i].value);
	if (!err) {
		struct series_profile *ns = realloc(b->series, (b->nseries + 1) * sizeof(*ns));

		if (!ns) {
			err = -ENOMEM;
		} else {
			b->series = ns;
			b->series[b->nseries++] = sp;
			b->bytes += sp.len;
			return 0;
		}
	}
	for (size_t j = 0; j < sp.nlabels; j++) {
		free(sp.labels[j].name);
		free(sp.labels[j].value);
	}
	free(sp.labels);
	free(sp.pprof_gz);
	return err;
}

/* Distinct label sets of a window (linear probing over a small list: windows hold few). */
struct label_sets {
	struct {
		uint64_t h;
		size_t n;
		struct pb_label l[PB_MAX_LABELS];
	} * keys;
	size_t n, cap;
};

static uint32_t label_set_id(struct label_sets *ls, const struct pb_label *l, size_t n)
{
	uint64_t h = n ? hash_bytes(l, n * sizeof(*l), 7) : 7;

	for (size_t i = 0; i < ls->n; i++)
		if (ls->keys[i].h == h && ls->keys[i].n == n &&
		    (!n || !memcmp(ls->keys[i].l, l, n * sizeof(*l))))
			return (uint32_t)i;
	if (ARRAY_RESERVE(ls->keys, ls->cap, ls->n + 1))
		return UINT32_MAX;
	ls->keys[ls->n].h = h;
	ls->keys[ls->n].n = n;
	if (n)
		memcpy(ls->keys[ls->n].l, l, n * sizeof(*l));
	return (uint32_t)ls->n++;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int upload_batch__from_window(const struct profile_builder *pb, const struct pprof_meta *meta,
			      const struct batch_opts *opts, struct upload_batch **out)
{
	struct batch_opts o = *opts;
	uint32_t *svc_of = NULL, *members = NULL;
	uint64_t *order = NULL;
	struct upload_batch *b = NULL;
	struct label_sets sets = { 0 };
	int err = -ENOMEM;

	*out = NULL;
	if (!pb->nsamples)
		return 0;
	if (!o.max_samples_per_profile)
		o.max_samples_per_profile = 15000;
	if (!o.max_profile_bytes)
		o.max_profile_bytes = 1u << 20;
	b = calloc(1, sizeof(*b));
	svc_of = calloc(pb->nsamples, sizeof(*svc_of));
	order = calloc(pb->nsamples, sizeof(*order));
	members = calloc(pb->nsamples, sizeof(*members));
	if (!b || !svc_of || !order || !members)
		goto out;
	b->start_ns = meta->time_nanos;
	b->end_ns = meta->time_nanos + meta->duration_nanos;
	b->sample_rate_hz = (unsigned int)(1000000000ull / meta->period_ns);
	b->samples = pb->total_count;

	/* The series of a sample is its set of series labels: give each distinct set an id. */
	for (size_t i = 0; i < pb->nsamples; i++) {
		const struct pb_sample *s = &pb->samples[i];
		struct pb_label key[PB_MAX_LABELS];
		size_t nk = 0;

		for (uint32_t j = 0; j < s->nlabels; j++) {
			const struct pb_label *l = &pb->labels[s->first_label + j];

			if (!is_sample_only(profile_builder__str(pb, l->key)))
				key[nk++] = *l;
		}
		svc_of[i] = label_set_id(&sets, key, nk);
		if (svc_of[i] == UINT32_MAX)
			goto out;
		order[i] = (uint64_t)svc_of[i] << 32 | i;
	}
	/* One sort of (service, index) keys groups the samples, by index within a group. */
	qsort(order, pb->nsamples, sizeof(*order), cmp_u64);
	for (size_t i = 0; i < pb->nsamples;) {
		uint32_t set = (uint32_t)(order[i] >> 32);
		size_t n = 0;

		while (i < pb->nsamples && (uint32_t)(order[i] >> 32) == set)
			members[n++] = (uint32_t)order[i++];
		for (size_t from = 0; from < n; from += o.max_samples_per_profile) {
			struct chunk_sel sel = { from, n, members };

			if (n - from > o.max_samples_per_profile)
				sel.to = from + o.max_samples_per_profile;
			err = emit_series(b, pb, meta, &o, &sel, 0);
			if (err)
				goto out;
		}
	}
	*out = b;
	b = NULL;
	err = 0;
out:
	free(sets.keys);
	upload_batch__free(b);
	free(svc_of);
	free(order);
	free(members);
	return err;
}

int upload_batch__push_request(const struct upload_batch *b, uint8_t **out, size_t *len)
{
	Push__V1__PushRequest req = PUSH__V1__PUSH_REQUEST__INIT;
	size_t n = b->nseries - b->next_series, nl = 0;
	Push__V1__RawProfileSeries *series = calloc(n + 1, sizeof(*series));
	Push__V1__RawProfileSeries **sp = calloc(n + 1, sizeof(*sp));
	Push__V1__RawSample *samples = calloc(n + 1, sizeof(*samples));
	Push__V1__RawSample **smp = calloc(n + 1, sizeof(*smp));
	Push__V1__LabelPair *labels, **lp;
	int err = -ENOMEM;

	for (size_t i = b->next_series; i < b->nseries; i++)
		nl += b->series[i].nlabels;
	labels = calloc(nl + 1, sizeof(*labels));
	lp = calloc(nl + 1, sizeof(*lp));
	*out = NULL;
	if (!series || !sp || !samples || !smp || !labels || !lp)
		goto out;
	nl = 0;
	for (size_t i = 0; i < n; i++) {
		const struct series_profile *s = &b->series[b->next_series + i];

		push__v1__raw_profile_series__init(&series[i]);
		push__v1__raw_sample__init(&samples[i]);
		samples[i].raw_profile.data = s->pprof_gz;
		samples[i].raw_profile.len = s->len;
		smp[i] = &samples[i];
		series[i].samples = &smp[i];
		series[i].n_samples = 1;
		series[i].labels = &lp[nl];
		for (size_t j = 0; j < s->nlabels; j++) {
			push__v1__label_pair__init(&labels[nl]);
			labels[nl].name = s->labels[j].name;
			labels[nl].value = s->labels[j].value;
			lp[nl] = &labels[nl];
			nl++;
		}
		series[i].n_labels = s->nlabels;
		sp[i] = &series[i];
	}
	req.series = sp;
	req.n_series = n;
	*len = push__v1__push_request__get_packed_size(&req);
	*out = malloc(*len ? *len : 1);
	if (!*out)
		goto out;
	push__v1__push_request__pack(&req, *out);
	err = 0;
out:
	free(series);
	free(sp);
	free(samples);
	free(smp);
	free(labels);
	free(lp);
	return err;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* Covers every header field after the magic, and the payload. */
static uint32_t spool_crc(const uint8_t *buf, size_t plen)
{
	uLong c = crc32(0L, buf + 8, 32);

	c = crc32(c, buf + 44, 4);
	return (uint32_t)crc32(c, buf + SPOOL_HDR, (uInt)plen);
}

int upload_batch__serialize(const struct upload_batch *b, uint8_t **out, size_t *len)
{
	struct upload_batch whole = *b;
	uint8_t *req, *buf;
	size_t rlen;
	int err;

	whole.next_series = b->next_series; /* only what is still undelivered */
	err = upload_batch__push_request(&whole, &req, &rlen);
	if (err)
		return err;
	buf = malloc(SPOOL_HDR + rlen);
	if (!buf) {
		free(req);
		return -ENOMEM;
	}
	memcpy(buf, SPOOL_MAGIC, 8);
	put_u32(buf + 8, 1);
	put_u32(buf + 12, b->sample_rate_hz);
	put_u64(buf + 16, (uint64_t)b->start_ns);
	put_u64(buf + 24, (uint64_t)b->end_ns);
	put_u64(buf + 32, rlen);
	put_u32(buf + 44, (uint32_t)b->samples);
	memcpy(buf + SPOOL_HDR, req, rlen);
	put_u32(buf + 40, spool_crc(buf, rlen));
	free(req);
	*out = buf;
	*len = SPOOL_HDR + rlen;
	return 0;
}

int upload_batch__parse(const uint8_t *buf, size_t len, struct upload_batch **out)
{
	Push__V1__PushRequest *req = NULL;
	struct upload_batch *b = NULL;
	uint64_t plen;
	int err = -EBADMSG;

	*out = NULL;
	if (len < SPOOL_HDR || memcmp(buf, SPOOL_MAGIC, 8) || get_u32(buf + 8) != 1)
		return -EBADMSG;
	plen = get_u64(buf + 32);
	if (plen != len - SPOOL_HDR || plen > SPOOL_MAX_PAYLOAD)
		return -EBADMSG;
	if (spool_crc(buf, plen) != get_u32(buf + 40))
		return -EBADMSG;
	req = push__v1__push_request__unpack(NULL, plen, buf + SPOOL_HDR);
	if (!req)
		return -EBADMSG;
	b = calloc(1, sizeof(*b));
	if (!b) {
		err = -ENOMEM;
		goto out;
	}
	b->sample_rate_hz = get_u32(buf + 12);
	b->start_ns = (int64_t)get_u64(buf + 16);
	b->end_ns = (int64_t)get_u64(buf + 24);
	b->samples = get_u32(buf + 44);
	if (!b->sample_rate_hz || b->sample_rate_hz > 100000)
		goto out;
	b->series = calloc(req->n_series + 1, sizeof(*b->series));
	if (!b->series) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < req->n_series; i++) {
		Push__V1__RawProfileSeries *s = req->series[i];
		struct series_profile *sp = &b->series[b->nseries];

		if (s->n_samples != 1 || !s->samples[0]->raw_profile.len)
			goto out;
		b->nseries++;
		sp->len = s->samples[0]->raw_profile.len;
		sp->pprof_gz = malloc(sp->len);
		if (!sp->pprof_gz) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(sp->pprof_gz, s->samples[0]->raw_profile.data, sp->len);
		b->bytes += sp->len;
		for (size_t j = 0; j < s->n_labels; j++) {
			if (!s->labels[j]->name || !s->labels[j]->value ||
			    add_label(sp, s->labels[j]->name, s->labels[j]->value)) {
				err = -ENOMEM;
				goto out;
			}
		}
	}
	*out = b;
	b = NULL;
	err = 0;
out:
	upload_batch__free(b);
	push__v1__push_request__free_unpacked(req, NULL);
	return err;
}

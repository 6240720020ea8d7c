/* SPDX-License-Identifier: BSD-2-Clause */
/* Pyroscope HTTP client: one reused curl handle (keep-alive, HTTP/2 where the server offers
 * it); classifies every outcome as delivered, worth retrying, or rejected for good. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/secret.h"
#include "export/push_pyroscope.h"
#include "export/upload_batch.h"

#define RESPONSE_MAX 4096

struct pyroscope_client {
	struct pyroscope_client_opts opts;
	CURL *curl;
	struct curl_slist *base_headers;
	struct curl_slist *connect_to;
	char *url_base; /* server_url without trailing '/', host replaced for tls_server_name */
	char resp[RESPONSE_MAX];
	size_t resp_len;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct pyroscope_client *c = ud;
	size_t n = size * nmemb, room = sizeof(c->resp) - 1 - c->resp_len;

	/* Keep only the beginning of an answer: it is for the log, and bounded. */
	if (room) {
		size_t k = n < room ? n : room;

		memcpy(c->resp + c->resp_len, ptr, k);
		c->resp_len += k;
		c->resp[c->resp_len] = '\0';
	}
	return n;
}

static void client_free_parts(struct pyroscope_client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->base_headers);
	curl_slist_free_all(c->connect_to);
	free(c->url_base);
}

/* With --tls-server-name the URL carries that name (SNI and certificate check) and
 * CURLOPT_CONNECT_TO sends the connection to the real host. */
static int setup_server_name(struct pyroscope_client *c)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *url = NULL, buf[600];
	int err = -EINVAL;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, c->opts.server_url, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT))
		goto out;
	snprintf(buf, sizeof(buf), "%s:%s:%s:%s", c->opts.tls_server_name, port, host, port);
	c->connect_to = curl_slist_append(NULL, buf);
	if (!c->connect_to || curl_url_set(u, CURLUPART_HOST, c->opts.tls_server_name, 0) ||
	    curl_url_get(u, CURLUPART_URL, &url, 0))
		goto out;
	free(c->url_base);
	c->url_base = strdup(url);
	err = c->url_base ? 0 : -ENOMEM;
out:
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
	return err;
}

struct pyroscope_client *pyroscope_client__new(const struct pyroscope_client_opts *opts)
{
	struct pyroscope_client *c = calloc(1, sizeof(*c));
	char buf[4096];
	size_t l;
	int err = -ENOMEM;

	if (!c)
		return NULL;
	c->opts = *opts;
	c->url_base = strdup(opts->server_url);
	if (!c->url_base)
		goto fail;
	if (opts->tls_server_name && setup_server_name(c)) {
		pr_err("failed to apply --tls-server-name to %s",
		       redact_url(opts->server_url, buf, sizeof(buf)));
		err = -EINVAL;
		goto fail;
	}
	l = strlen(c->url_base);
	while (l && c->url_base[l - 1] == '/')
		c->url_base[--l] = '\0';
	c->curl = curl_easy_init();
	if (!c->curl)
		goto fail;
	if (opts->tenant_id) {
		snprintf(buf, sizeof(buf), "X-Scope-OrgID: %s", opts->tenant_id);
		c->base_headers = curl_slist_append(c->base_headers, buf);
	}
	if (opts->bearer_token) {
		snprintf(buf, sizeof(buf), "Authorization: Bearer %s", opts->bearer_token);
		c->base_headers = curl_slist_append(c->base_headers, buf);
		explicit_bzero(buf, sizeof(buf));
	}
	for (size_t i = 0; i < opts->nheaders; i++)
		c->base_headers = curl_slist_append(c->base_headers, opts->headers[i]);
	/* curl would otherwise send "Expect: 100-continue" and wait on large bodies. */
	c->base_headers = curl_slist_append(c->base_headers, "Expect:");
	if (!c->base_headers)
		goto fail;
	return c;
fail:
	client_free_parts(c);
	free(c);
	errno = -err;
	return NULL;
}

void pyroscope_client__free(struct pyroscope_client *c)
{
	if (!c)
		return;
	client_free_parts(c);
	free(c);
}

static void apply_common(struct pyroscope_client *c)
{
	CURL *h = c->curl;
	long ms = (long)(c->opts.timeout_ns / 1000000);

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 10000L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 && ms < 5000 ? ms : 5000L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->opts.user_agent ? c->opts.user_agent : "stoker");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->connect_to)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
	if (c->opts.basic_user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->opts.basic_user);
		curl_easy_setopt(h, CURLOPT_PASSWORD,
				 c->opts.basic_password ? c->opts.basic_password : "");
	}
	if (c->opts.tls_ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->opts.tls_ca_file);
	if (c->opts.tls_cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->opts.tls_cert_file);
	if (c->opts.tls_key_file)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->opts.tls_key_file);
	if (c->opts.tls_insecure_skip_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	c->resp_len = 0;
	c->resp[0] = '\0';
}

static enum send_result classify(CURLcode cc, long code)
{
	if (cc != CURLE_OK)
		return SEND_RETRY;
	if (code >= 200 && code < 300)
		return SEND_OK;
	if (code == 408 || code == 429 || code >= 500 || code == 0)
		return SEND_RETRY;
	return SEND_REJECTED;
}

static enum send_result post(struct pyroscope_client *c, const char *url,
			     struct curl_slist *headers, const uint8_t *body, size_t len,
			     struct send_status *st)
{
	uint64_t t0 = monotonic_ns();
	CURLcode cc;
	long code = 0;

	apply_common(c);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, (const char *)body);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	cc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	st->http_code = code;
	st->latency_ns = monotonic_ns() - t0;
	if (cc != CURLE_OK) {
		snprintf(st->message, sizeof(st->message), "%s", curl_easy_strerror(cc));
	} else {
		/* The server's own words, on one line. */
		snprintf(st->message, sizeof(st->message), "%.511s", c->resp);
		for (char *p = st->message; *p; p++)
			if (*p == '\n' || *p == '\r' || (unsigned char)*p < 0x20)
				*p = ' ';
		st->bytes_sent += len;
	}
	return classify(cc, code);
}

static enum send_result send_push(struct pyroscope_client *c, struct upload_batch *b,
				  struct send_status *st)
{
	struct curl_slist *h = NULL;
	enum send_result r = SEND_RETRY;
	char url[2048];
	uint8_t *body;
	size_t len;

	if (upload_batch__push_request(b, &body, &len)) {
		snprintf(st->message, sizeof(st->message), "out of memory encoding the request");
		return SEND_RETRY;
	}
	for (struct curl_slist *p = c->base_headers; p; p = p->next)
		h = curl_slist_append(h, p->data);
	h = curl_slist_append(h, "Content-Type: application/proto");
	snprintf(url, sizeof(url), "%s/push.v1.PusherService/Push", c->url_base);
	if (h)
		r = post(c, url, h, body, len, st);
	if (r == SEND_OK)
		b->next_series = b->nseries;
	curl_slist_free_all(h);
	free(body);
	return r;
}

/* Appends s to the legacy name. The application part may only hold [A-Za-z0-9_./-]
 * (the server's ValidateServiceName) and a tag value ends at ',' or '}': anything else
 * would get the window rejected, so it becomes '_'. Returns how many bytes it replaced. */
static int legacy_append(char *name, size_t size, size_t *n, const char *s, bool app)
{
	int replaced = 0;

	for (; *s && *n + 1 < size; s++) {
		char ch = *s;
		bool ok = app ? (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				    (ch >= '0' && ch <= '9') || strchr("_./-", ch)
			      : ch != ',' && ch != '}';

		replaced += !ok;
		name[(*n)++] = ok ? ch : '_';
	}
	name[*n] = '\0';
	return replaced;
}

/* name=SERVICE{k=v,...}: every series label but __name__ and service_name is a tag; a
 * service_name the application part cannot hold also travels as a tag, which the server
 * prefers over the application part. */
static int ingest_url(struct pyroscope_client *c, const struct upload_batch *b,
		      const struct series_profile *s, char *url, size_t len)
{
	char name[4096], *esc;
	const char *svc = "unknown_service";
	size_t n = 0;
	int tags = 0;

	for (size_t i = 0; i < s->nlabels; i++)
		if (!strcmp(s->labels[i].name, "service_name"))
			svc = s->labels[i].value;
	if (legacy_append(name, sizeof(name), &n, svc, true)) {
		n += (size_t)snprintf(name + n, sizeof(name) - n, "{service_name=");
		tags++;
		if (n < sizeof(name))
			legacy_append(name, sizeof(name), &n, svc, false);
	} else if (n < sizeof(name)) {
		n += (size_t)snprintf(name + n, sizeof(name) - n, "{");
	}
	for (size_t i = 0; i < s->nlabels && n < sizeof(name); i++) {
		if (!strcmp(s->labels[i].name, "service_name") ||
		    !strcmp(s->labels[i].name, "__name__"))
			continue;
		n += (size_t)snprintf(name + n, sizeof(name) - n, "%s%s=", tags++ ? "," : "",
				      s->labels[i].name);
		if (n < sizeof(name))
			legacy_append(name, sizeof(name), &n, s->labels[i].value, false);
	}
	if (n + 2 >= sizeof(name))
		return -ENAMETOOLONG;
	name[n++] = '}';
	name[n] = '\0';
	esc = curl_easy_escape(c->curl, name, (int)n);
	if (!esc)
		return -ENOMEM;
	n = (size_t)snprintf(url, len,
			     "%s/ingest?name=%s&from=%lld&until=%lld&sampleRate=%u&spyName=stoker"
			     "&format=pprof",
			     c->url_base, esc, (long long)(b->start_ns / 1000000000),
			     (long long)((b->end_ns + 999999999) / 1000000000), b->sample_rate_hz);
	curl_free(esc);
	return n < len ? 0 : -ENAMETOOLONG;
}

static enum send_result send_ingest(struct pyroscope_client *c, struct upload_batch *b,
				    struct send_status *st)
{
	struct curl_slist *h = NULL;
	enum send_result r = SEND_OK;
	char url[8192];

	for (struct curl_slist *p = c->base_headers; p; p = p->next)
		h = curl_slist_append(h, p->data);
	h = curl_slist_append(h, "Content-Type: application/octet-stream");
	if (!h)
		return SEND_RETRY;
	while (b->next_series < b->nseries) {
		const struct series_profile *s = &b->series[b->next_series];

		if (ingest_url(c, b, s, url, sizeof(url))) {
			snprintf(st->message, sizeof(st->message),
				 "series labels too long for a URL");
			r = SEND_REJECTED;
			break;
		}
		r = post(c, url, h, s->pprof_gz, s->len, st);
		if (r != SEND_OK)
			break;
		b->next_series++;
	}
	curl_slist_free_all(h);
	return r;
}

enum send_result pyroscope_client__send(struct pyroscope_client *c, struct upload_batch *b,
					struct send_status *st)
{
	memset(st, 0, sizeof(*st));
	if (b->next_series >= b->nseries)
		return SEND_OK;
	return c->opts.api == SERVER_API_INGEST ? send_ingest(c, b, st) : send_push(c, b, st);
}

int pyroscope_client__probe(struct pyroscope_client *c, long *http_code)
{
	CURLcode cc;

	apply_common(c);
	curl_easy_setopt(c->curl, CURLOPT_URL, c->url_base);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->base_headers);
	curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	cc = curl_easy_perform(c->curl);
	*http_code = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, http_code);
	return cc == CURLE_OK ? 0 : -ECONNREFUSED;
}

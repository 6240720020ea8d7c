/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTP client for a Pyroscope server (libcurl): the Connect push API and the legacy ingest
 * API, with tenancy, basic/bearer auth, extra headers and TLS. */
#ifndef STOKER_PUSH_PYROSCOPE_H
#define STOKER_PUSH_PYROSCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct upload_batch;

enum server_api {
	SERVER_API_PUSH = 0,
	SERVER_API_INGEST,
};

struct pyroscope_client_opts {
	const char *server_url; /* e.g. http://localhost:4040 (no trailing path needed) */
	enum server_api api;
	const char *tenant_id;	    /* X-Scope-OrgID, NULL for none */
	const char *basic_user;	    /* with basic_password */
	const char *basic_password; /* secret: never logged */
	const char *bearer_token;   /* secret: never logged */
	const char *const *headers; /* "Name: value", may hold secrets: never logged */
	size_t nheaders;
	const char *tls_ca_file, *tls_cert_file, *tls_key_file, *tls_server_name;
	bool tls_insecure_skip_verify;
	uint64_t timeout_ns;
	const char *user_agent;
};

enum send_result {
	SEND_OK = 0,
	SEND_RETRY,    /* timeout, connection error, 408, 429, 5xx */
	SEND_REJECTED, /* any other answer: retrying cannot help */
};

struct send_status {
	long http_code;	   /* 0 when no answer */
	char message[512]; /* curl error or the server's answer, for the log */
	uint64_t bytes_sent;
	uint64_t latency_ns;
};

struct pyroscope_client;

struct pyroscope_client *pyroscope_client__new(const struct pyroscope_client_opts *opts);
void pyroscope_client__free(struct pyroscope_client *c);
/* Sends the batch's undelivered series (advancing b->next_series as they are accepted). */
enum send_result pyroscope_client__send(struct pyroscope_client *c, struct upload_batch *b,
					struct send_status *st);
/* GETs the server's root URL to tell whether it answers (for the preflight). Returns 0 or
 * -errno, with the HTTP code in *http_code. */
int pyroscope_client__probe(struct pyroscope_client *c, long *http_code);

#endif

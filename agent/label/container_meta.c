/* SPDX-License-Identifier: BSD-2-Clause */
/* Container metadata thread: polls the API server's (or a kubelet's) pods and Docker's
 * /containers/json with libcurl (the latter over the unix socket), parses them with json-c, and
 * keeps an id-keyed table under a mutex. Unreachable sources are logged once and retried; labels
 * just stay fewer meanwhile. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "util/array.h"
#include "util/clock.h"
#include "label/container_meta.h"
#include "util/log.h"
#include "util/lru_cache.h"
#include "util/secret.h"

#define RESPONSE_MAX	    (64u << 20)
#define MISS_REFRESH_MIN_NS 5000000000ull

struct id_key {
	char id[64];
};

struct container_meta {
	struct container_meta_opts opts;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct lru_cache *table; /* id -> struct container_info */
	atomic_uint_fast64_t generation;
	bool started, stop, want_refresh;
	uint64_t last_refresh_ns;
	bool k8s_failed_logged, docker_failed_logged;
	char *token;
};

static void free_info(void *v, void *ctx)
{
	free(v);
}

static void copy(char *dst, size_t len, json_object *o)
{
	const char *s = o ? json_object_get_string(o) : NULL;

	snprintf(dst, len, "%s", s ? s : "");
}

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* "containerd://<id>", "docker://<id>", "cri-o://<id>" -> <id> */
static const char *strip_runtime(const char *cid)
{
	const char *p = cid ? strstr(cid, "://") : NULL;

	return p ? p + 3 : cid;
}

int container_meta_parse_pods(const char *json, size_t len,
			      void (*cb)(const char *id, const struct container_info *ci,
					 void *arg),
			      void *arg)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	json_object *root, *items;
	int n = 0;

	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, json, (int)len);
	json_tokener_free(tok);
	items = get(root, "items");
	if (!root || !items || !json_object_is_type(items, json_type_array)) {
		json_object_put(root);
		return -EBADMSG;
	}
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		json_object *pod = json_object_array_get_idx(items, i),
			    *meta = get(pod, "metadata");
		json_object *statuses = get(get(pod, "status"), "containerStatuses");
		struct container_info ci;

		memset(&ci, 0, sizeof(ci));
		copy(ci.pod, sizeof(ci.pod), get(meta, "name"));
		copy(ci.namespace, sizeof(ci.namespace), get(meta, "namespace"));
		copy(ci.node, sizeof(ci.node), get(get(pod, "spec"), "nodeName"));
		copy(ci.service_annotation, sizeof(ci.service_annotation),
		     get(get(meta, "annotations"), "pyroscope.io/service_name"));
		if (!statuses || !json_object_is_type(statuses, json_type_array))
			continue;
		for (size_t j = 0; j < json_object_array_length(statuses); j++) {
			json_object *cs = json_object_array_get_idx(statuses, j);
			const char *id =
			    strip_runtime(json_object_get_string(get(cs, "containerID")));

			if (!id || !*id)
				continue;
			copy(ci.container, sizeof(ci.container), get(cs, "name"));
			cb(id, &ci, arg);
			n++;
		}
	}
	json_object_put(root);
	return n;
}

int container_meta_parse_docker(const char *json, size_t len,
				void (*cb)(const char *id, const struct container_info *ci,
					   void *arg),
				void *arg)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	json_object *root;
	int n = 0;

	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, json, (int)len);
	json_tokener_free(tok);
	if (!root || !json_object_is_type(root, json_type_array)) {
		json_object_put(root);
		return -EBADMSG;
	}
	for (size_t i = 0; i < json_object_array_length(root); i++) {
		json_object *c = json_object_array_get_idx(root, i), *names = get(c, "Names");
		const char *id = json_object_get_string(get(c, "Id")), *name = NULL;
		struct container_info ci;

		if (!id || !*id)
			continue;
		memset(&ci, 0, sizeof(ci));
		if (names && json_object_is_type(names, json_type_array) &&
		    json_object_array_length(names))
			name = json_object_get_string(json_object_array_get_idx(names, 0));
		snprintf(ci.docker_name, sizeof(ci.docker_name), "%s",
			 name ? name + (name[0] == '/') : "");
		copy(ci.compose_service, sizeof(ci.compose_service),
		     get(get(c, "Labels"), "com.docker.compose.service"));
		cb(id, &ci, arg);
		n++;
	}
	json_object_put(root);
	return n;
}

struct buf {
	char *p;
	size_t len, cap;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;

	if (b->len + n > RESPONSE_MAX)
		return 0; /* abort: a metadata answer is never this big */
	if (ARRAY_RESERVE(b->p, b->cap, b->len + n + 1))
		return 0;
	memcpy(b->p + b->len, ptr, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

static int fetch(struct container_meta *m, const char *url, const char *unix_socket,
		 struct buf *out, char *err, size_t errlen)
{
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	char auth[8300];
	long code = 0;
	CURLcode cc;

	if (!c)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (unix_socket) {
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_socket);
	} else {
		if (m->token) {
			snprintf(auth, sizeof(auth), "Authorization: Bearer %s", m->token);
			h = curl_slist_append(h, auth);
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		}
		if (m->opts.k8s_ca_file)
			curl_easy_setopt(c, CURLOPT_CAINFO, m->opts.k8s_ca_file);
		if (!m->opts.k8s_verify) {
			curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		}
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	explicit_bzero(auth, sizeof(auth));
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(cc));
		return -EIO;
	}
	if (code != 200) {
		snprintf(err, errlen, "HTTP %ld", code);
		return -EIO;
	}
	return 0;
}

struct merge {
	struct lru_cache *t;
	bool docker;
	bool changed; /* any entry new or different: labels computed before are stale */
};

static void put_entry(const char *id, const struct container_info *ci, void *arg)
{
	struct merge *mg = arg;
	struct id_key k;
	struct container_info *cur, *n;

	memset(&k, 0, sizeof(k));
	snprintf(k.id, sizeof(k.id), "%.63s", id);
	cur = lru_cache__get(mg->t, &k);
	n = malloc(sizeof(*n));
	if (!n)
		return;
	if (cur)
		*n = *cur;
	else
		memset(n, 0, sizeof(*n));
	if (mg->docker) {
		memcpy(n->docker_name, ci->docker_name, sizeof(n->docker_name));
		memcpy(n->compose_service, ci->compose_service, sizeof(n->compose_service));
	} else {
		memcpy(n->pod, ci->pod, sizeof(n->pod));
		memcpy(n->namespace, ci->namespace, sizeof(n->namespace));
		memcpy(n->container, ci->container, sizeof(n->container));
		memcpy(n->node, ci->node, sizeof(n->node));
		memcpy(n->service_annotation, ci->service_annotation,
		       sizeof(n->service_annotation));
	}
	if (cur && !memcmp(cur, n, sizeof(*n))) {
		free(n);
		return;
	}
	if (lru_cache__put(mg->t, &k, n, 1) == 0)
		mg->changed = true;
}

typedef int (*parse_answer_fn)(const char *json, size_t len,
			       void (*cb)(const char *id, const struct container_info *ci,
					  void *arg),
			       void *arg);

/* Asks one source and merges its answer; a source that cannot be reached is logged once
 * until it answers again. */
static void refresh_from(struct container_meta *m, const char *url, const char *unix_socket,
			 bool docker, parse_answer_fn parse, const char *what, const char *lost,
			 bool *failed_logged)
{
	struct buf b = { 0 };
	struct merge mg;
	char err[256];
	int n;

	if (fetch(m, url, unix_socket, &b, err, sizeof(err)) == 0) {
		pthread_mutex_lock(&m->mu);
		mg = (struct merge){ m->table, docker, false };
		n = parse(b.p, b.len, put_entry, &mg);
		if (mg.changed)
			atomic_fetch_add(&m->generation, 1);
		pthread_mutex_unlock(&m->mu);
		if (n < 0)
			pr_warn_ratelimited("failed to parse the answer of %s", what);
		*failed_logged = false;
	} else if (!*failed_logged) {
		pr_warn("failed to reach %s: %s; %s until it answers", what, err, lost);
		*failed_logged = true;
	}
	free(b.p);
}

static void refresh(struct container_meta *m)
{
	char url[2048], what[2100], shown[2048];

	if (m->opts.kubelet_url) {
		snprintf(url, sizeof(url), "%s/pods", m->opts.kubelet_url);
		if (m->opts.pods_url)
			snprintf(url, sizeof(url), "%s", m->opts.pods_url);
		snprintf(what, sizeof(what), "the %s at %s",
			 m->opts.pods_url ? "API server" : "kubelet",
			 redact_url(m->opts.kubelet_url, shown, sizeof(shown)));
		refresh_from(m, url, NULL, false, container_meta_parse_pods, what,
			     "pods go without Kubernetes labels", &m->k8s_failed_logged);
	}
	if (m->opts.docker_socket) {
		snprintf(what, sizeof(what), "Docker at %s", m->opts.docker_socket);
		refresh_from(m, "http://localhost/containers/json", m->opts.docker_socket, true,
			     container_meta_parse_docker, what, "containers go without names",
			     &m->docker_failed_logged);
	}
}

static void *thread_main(void *arg)
{
	struct container_meta *m = arg;

	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		struct timespec ts;
		uint64_t now = monotonic_ns();

		if (m->want_refresh || now - m->last_refresh_ns >= m->opts.refresh_ns ||
		    !m->last_refresh_ns) {
			m->want_refresh = false;
			m->last_refresh_ns = now;
			pthread_mutex_unlock(&m->mu);
			refresh(m);
			pthread_mutex_lock(&m->mu);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&m->cv, &m->mu, &ts);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

struct container_meta *container_meta__new(const struct container_meta_opts *opts)
{
	struct container_meta *m = calloc(1, sizeof(*m));
	struct lru_cache_opts lo = { 0 };
	pthread_condattr_t ca;

	if (!m)
		return NULL;
	m->opts = *opts;
	if (!m->opts.refresh_ns)
		m->opts.refresh_ns = 30000000000ull;
	lo.key_size = sizeof(struct id_key);
	lo.max_entries = m->opts.max_entries ? m->opts.max_entries : 16384;
	lo.free_value = free_info;
	m->table = lru_cache__new(&lo);
	if (!m->table) {
		free(m);
		return NULL;
	}
	if (m->opts.kubelet_url && m->opts.k8s_token_file) {
		int err = read_secret(m->opts.k8s_token_file, &m->token);

		if (err)
			pr_warn("failed to read the Kubernetes token %s: %s; asking without it",
				m->opts.k8s_token_file, strerror(-err));
	}
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	return m;
}

int container_meta__start(struct container_meta *m)
{
	int err = -pthread_create(&m->thread, NULL, thread_main, m);

	m->started = err == 0;
	return err;
}

void container_meta__stop(struct container_meta *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	if (m->started)
		pthread_join(m->thread, NULL);
	lru_cache__free(m->table);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	free_secret(m->token);
	free(m);
}

int container_meta__lookup(struct container_meta *m, const char *id, struct container_info *out)
{
	struct container_info *ci;
	struct id_key k;
	int err = 0;

	memset(&k, 0, sizeof(k));
	snprintf(k.id, sizeof(k.id), "%.63s", id);
	pthread_mutex_lock(&m->mu);
	ci = lru_cache__get(m->table, &k);
	if (ci) {
		*out = *ci;
	} else {
		err = -ENOENT;
		if (monotonic_ns() - m->last_refresh_ns >= MISS_REFRESH_MIN_NS) {
			m->want_refresh = true;
			pthread_cond_signal(&m->cv);
		}
	}
	pthread_mutex_unlock(&m->mu);
	return err;
}

uint64_t container_meta__generation(struct container_meta *m)
{
	return atomic_load(&m->generation);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* Container metadata by container id: Kubernetes pod, namespace, container, node and the
 * pyroscope.io/service_name annotation from the API server (or a kubelet); Docker container name
 * and compose service from the Engine API. Fetched by a background thread; lookups never block. */
#ifndef STOKER_CONTAINER_META_H
#define STOKER_CONTAINER_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct container_meta_opts {
	const char *kubelet_url; /* e.g. https://node:10250, NULL: no Kubernetes */
	/* a PodList URL used instead of kubelet_url's /pods: the API server's pods on this
	 * node, which needs only pods list access (kubelet_url then names the API server) */
	const char *pods_url;
	const char *k8s_token_file; /* bearer token (service account) */
	const char *k8s_ca_file;    /* CA of the server's certificate, NULL: system CAs */
	bool k8s_verify;	    /* false: the token goes to whoever answers */
	const char *docker_socket;  /* e.g. /var/run/docker.sock, NULL: no Docker */
	uint64_t refresh_ns;	    /* periodic refresh, default 30 s */
	size_t max_entries;	    /* default 16384 */
};

struct container_info {
	char pod[254], namespace[64], container[254], node[254];
	char service_annotation[254]; /* pyroscope.io/service_name */
	char docker_name[254], compose_service[254];
};

struct container_meta;

/* Reads the token; the thread waits for container_meta__start, so that it starts with the
 * capabilities the agent keeps, not those it loads BPF with. */
struct container_meta *container_meta__new(const struct container_meta_opts *opts);
/* Starts the polling thread. Returns 0 or -errno. */
int container_meta__start(struct container_meta *m);
void container_meta__stop(struct container_meta *m);
/* Copies what is known about container id into *out. Returns 0, or -ENOENT (and asks the
 * thread for a refresh, at most every few seconds). */
int container_meta__lookup(struct container_meta *m, const char *id, struct container_info *out);
/* Changes whenever the known metadata changes: labels computed earlier may be stale. */
uint64_t container_meta__generation(struct container_meta *m);

/* Parses a kubelet /pods (PodList) or Docker /containers/json answer into entries; exposed
 * for tests and fuzzing. cb is called per container. Returns entries seen or -EBADMSG. */
int container_meta_parse_pods(const char *json, size_t len,
			      void (*cb)(const char *id, const struct container_info *ci,
					 void *arg),
			      void *arg);
int container_meta_parse_docker(const char *json, size_t len,
				void (*cb)(const char *id, const struct container_info *ci,
					   void *arg),
				void *arg);

#endif

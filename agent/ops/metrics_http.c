/* SPDX-License-Identifier: BSD-2-Clause */
/* Metrics endpoint: one thread, one connection at a time, bounded request reads; it only ever
 * reads snapshots, so it can never slow down sampling. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "ops/counters.h"
#include "ops/metrics_http.h"

struct metrics_http {
	int lfd;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t mu;
	struct counters c;
	uint64_t last_publish_mono_ns;
};

static int listen_on(const char *addr)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL;
	char host[256];
	const char *colon = strrchr(addr, ':');
	size_t hl = (size_t)(colon - addr);
	int fd = -1, one = 1, err;

	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 1 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	err = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (err)
		return -EINVAL;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 16)) {
		err = -errno;
		close(fd);
		goto out;
	}
	err = fd;
out:
	freeaddrinfo(res);
	return err;
}

static void respond(int fd, const char *status, const char *type, const char *body, size_t len)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, type, len);

	if (write(fd, hdr, (size_t)n) == n && len)
		(void)!write(fd, body, len);
}

static void serve_one(struct metrics_http *m, int fd)
{
	char req[1024], *body;
	size_t got = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	/* A slow or silent client gets a second, then is dropped. */
	while (got < sizeof(req) - 1 && poll(&p, 1, 1000) > 0) {
		ssize_t r = read(fd, req + got, sizeof(req) - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[got] = '\0';
	if (!strncmp(req, "GET /metrics", 12)) {
		struct counters c;

		pthread_mutex_lock(&m->mu);
		c = m->c;
		pthread_mutex_unlock(&m->mu);
		body = malloc(COUNTERS_TEXT_MAX);
		if (body) {
			size_t n = counters__render(&c, body, COUNTERS_TEXT_MAX);

			if (n < COUNTERS_TEXT_MAX)
				respond(fd, "200 OK", "text/plain; version=0.0.4", body, n);
			else /* never half a scrape */
				respond(fd, "500 Internal Server Error", "text/plain", "too long\n",
					9);
			free(body);
		}
	} else if (!strncmp(req, "GET /healthz", 12)) {
		uint64_t last;

		pthread_mutex_lock(&m->mu);
		last = m->last_publish_mono_ns;
		pthread_mutex_unlock(&m->mu);
		/* Healthy while the sampling loop keeps draining. */
		if (last && monotonic_ns() - last < 10000000000ull)
			respond(fd, "200 OK", "text/plain", "ok\n", 3);
		else
			respond(fd, "503 Service Unavailable", "text/plain", "stalled\n", 8);
	} else {
		respond(fd, "404 Not Found", "text/plain", "not found\n", 10);
	}
}

static void *thread_main(void *arg)
{
	struct metrics_http *m = arg;
	struct pollfd p = { .fd = m->lfd, .events = POLLIN };

	while (!atomic_load(&m->stop)) {
		int fd;

		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_one(m, fd);
		close(fd);
	}
	return NULL;
}

struct metrics_http *metrics_http__start(const char *addr)
{
	struct metrics_http *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	m->lfd = listen_on(addr);
	if (m->lfd < 0) {
		err = m->lfd;
		pr_err("failed to listen on --metrics-addr %s: %s", addr, strerror(-err));
		goto fail;
	}
	err = -pthread_create(&m->thread, NULL, thread_main, m);
	if (err) {
		close(m->lfd);
		goto fail;
	}
	pr_info("serving /metrics and /healthz on %s", addr);
	return m;
fail:
	pthread_mutex_destroy(&m->mu);
	free(m);
	errno = -err;
	return NULL;
}

void metrics_http__publish(struct metrics_http *m, const struct counters *c)
{
	uint64_t now = monotonic_ns();

	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->c = *c;
	m->last_publish_mono_ns = now;
	pthread_mutex_unlock(&m->mu);
}

void metrics_http__stop(struct metrics_http *m)
{
	if (!m)
		return;
	atomic_store(&m->stop, true);
	pthread_join(m->thread, NULL);
	close(m->lfd);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

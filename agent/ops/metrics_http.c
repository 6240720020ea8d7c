/* SPDX-License-Identifier: BSD-2-Clause */
/* Metrics endpoint: one thread polling a fixed set of connection slots, each with a total
 * deadline, so no client can hold /healthz from the others; it only reads snapshots, so it can
 * never slow down sampling. */
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

/* A slot holds one connection from accept to close: the request is read within READ_NS of
 * accept, the answer written within WRITE_NS after it, whatever the client's pace. When all
 * slots are busy a new connection takes the oldest one's slot, so a few slow clients cannot
 * lock the others out; memory stays SLOTS * (REQ_MAX + one answer). */
#define SLOTS	 8
#define REQ_MAX	 1024
#define READ_NS	 2000000000ull
#define WRITE_NS 2000000000ull

struct slot {
	int fd; /* -1 when free */
	uint64_t deadline_ns;
	uint64_t accepted_ns;
	size_t got;
	char *out; /* the whole answer once the request is in; NULL while reading */
	size_t out_len, sent;
	char req[REQ_MAX];
};

struct metrics_http {
	int lfd;
	struct slot slots[SLOTS];
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
	/* Non-blocking: a connection reset between poll and accept must not stall the thread. */
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
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

/* The whole answer, header and body, in one buffer: writes then never block on a half. */
static char *answer(const char *status, const char *type, const char *body, size_t len,
		    size_t *out_len)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, type, len);
	char *out = malloc((size_t)n + len);

	if (!out)
		return NULL;
	memcpy(out, hdr, (size_t)n);
	memcpy(out + n, body, len);
	*out_len = (size_t)n + len;
	return out;
}

static char *route(struct metrics_http *m, const char *req, size_t *out_len)
{
	char *body, *out = NULL;

	if (!strncmp(req, "GET /metrics", 12)) {
		struct counters c;

		pthread_mutex_lock(&m->mu);
		c = m->c;
		pthread_mutex_unlock(&m->mu);
		body = malloc(COUNTERS_TEXT_MAX);
		if (body) {
			size_t n = counters__render(&c, body, COUNTERS_TEXT_MAX);

			if (n < COUNTERS_TEXT_MAX)
				out =
				    answer("200 OK", "text/plain; version=0.0.4", body, n, out_len);
			else /* never half a scrape */
				out = answer("500 Internal Server Error", "text/plain",
					     "too long\n", 9, out_len);
			free(body);
		}
	} else if (!strncmp(req, "GET /healthz", 12)) {
		uint64_t last;

		pthread_mutex_lock(&m->mu);
		last = m->last_publish_mono_ns;
		pthread_mutex_unlock(&m->mu);
		/* Healthy while the sampling loop keeps draining. */
		if (last && monotonic_ns() - last < 10000000000ull)
			out = answer("200 OK", "text/plain", "ok\n", 3, out_len);
		else
			out = answer("503 Service Unavailable", "text/plain", "stalled\n", 8,
				     out_len);
	} else {
		out = answer("404 Not Found", "text/plain", "not found\n", 10, out_len);
	}
	return out;
}

static void slot__close(struct slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->out);
	s->fd = -1;
	s->out = NULL;
}

static void slot__open(struct slot *s, int fd, uint64_t now)
{
	s->fd = fd;
	s->accepted_ns = now;
	s->deadline_ns = now + READ_NS;
	s->got = 0;
	s->out = NULL;
	s->out_len = s->sent = 0;
}

static void accept_one(struct metrics_http *m, uint64_t now)
{
	struct slot *s = NULL;
	int fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (int i = 0; i < SLOTS; i++) {
		struct slot *c = &m->slots[i];

		if (c->fd < 0) {
			s = c;
			break;
		}
		/* Evict the oldest, preferring one still reading over an answer in flight. */
		if (!s || (s->out && !c->out) ||
		    (!s->out == !c->out && c->accepted_ns < s->accepted_ns))
			s = c;
	}
	slot__close(s);
	slot__open(s, fd, now);
}

/* Reads what the client sent; once the request line and headers are in (or the buffer is full,
 * or the client stopped sending), builds the answer. */
static void slot__read(struct metrics_http *m, struct slot *s, uint64_t now)
{
	ssize_t r = read(s->fd, s->req + s->got, REQ_MAX - 1 - s->got);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r < 0) {
		slot__close(s);
		return;
	}
	if (r > 0) {
		s->got += (size_t)r;
		s->req[s->got] = '\0';
		if (!strstr(s->req, "\r\n\r\n") && !strstr(s->req, "\n\n") && s->got < REQ_MAX - 1)
			return;
	}
	s->req[s->got] = '\0';
	s->out = route(m, s->req, &s->out_len);
	if (!s->out) {
		slot__close(s);
		return;
	}
	s->deadline_ns = now + WRITE_NS;
}

static void slot__write(struct slot *s)
{
	ssize_t w = send(s->fd, s->out + s->sent, s->out_len - s->sent, MSG_NOSIGNAL);

	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (w <= 0) {
		slot__close(s);
		return;
	}
	s->sent += (size_t)w;
	if (s->sent == s->out_len)
		slot__close(s);
}

static void *thread_main(void *arg)
{
	struct metrics_http *m = arg;
	struct pollfd p[SLOTS + 1];

	while (!atomic_load(&m->stop)) {
		uint64_t now = monotonic_ns();
		int timeout_ms = 200, n;

		p[0] = (struct pollfd){ .fd = m->lfd, .events = POLLIN };
		for (int i = 0; i < SLOTS; i++) {
			struct slot *s = &m->slots[i];

			p[i + 1] =
			    (struct pollfd){ .fd = s->fd, .events = s->out ? POLLOUT : POLLIN };
			if (s->fd >= 0) {
				uint64_t left_ms =
				    s->deadline_ns > now ? (s->deadline_ns - now) / 1000000 + 1 : 0;

				if (left_ms < (uint64_t)timeout_ms)
					timeout_ms = (int)left_ms;
			}
		}
		n = poll(p, SLOTS + 1, timeout_ms);
		if (n < 0)
			continue;
		now = monotonic_ns();
		for (int i = 0; i < SLOTS; i++) {
			struct slot *s = &m->slots[i];

			if (s->fd < 0 || p[i + 1].fd != s->fd)
				continue;
			if ((p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) && !s->out)
				slot__read(m, s, now);
			else if ((p[i + 1].revents & (POLLOUT | POLLHUP | POLLERR)) && s->out)
				slot__write(s);
			if (s->fd >= 0 && now >= s->deadline_ns)
				slot__close(s);
		}
		/* Accept after serving, so a new connection never evicts an answer ready this
		 * round. */
		if (p[0].revents & POLLIN)
			accept_one(m, now);
	}
	for (int i = 0; i < SLOTS; i++)
		slot__close(&m->slots[i]);
	return NULL;
}

struct metrics_http *metrics_http__start(const char *addr)
{
	struct metrics_http *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	for (int i = 0; i < SLOTS; i++)
		m->slots[i].fd = -1;
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

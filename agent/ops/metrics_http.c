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
#include "ops/metrics_http.h"
#include "proc/proc_cache.h"

struct metrics_http {
	int lfd;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t mu;
	struct agent_counters c;
	struct uploader *up;
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

static size_t render(struct metrics_http *m, char *buf, size_t cap)
{
	struct agent_counters c;
	struct upload_stats u = { 0 };
	size_t n = 0;

	pthread_mutex_lock(&m->mu);
	c = m->c;
	pthread_mutex_unlock(&m->mu);
	if (m->up)
		uploader__stats(m->up, &u);
#define M(name, help, type, val)                                                                   \
	if (n < cap)                                                                               \
	n += (size_t)snprintf(buf + n, cap - n,                                                    \
			      "# HELP stoker_" name " " help "\n# TYPE stoker_" name " " type      \
			      "\nstoker_" name " %llu\n",                                          \
			      (unsigned long long)(val))
	M("samples_recorded_total", "Samples the BPF program wrote.", "counter",
	  c.samples_recorded);
	M("samples_received_total", "Samples the agent read.", "counter", c.samples_received);
	M("samples_dropped_ringbuf_full_total", "Samples lost: ring buffer full.", "counter",
	  c.dropped_ringbuf);
	M("samples_dropped_window_full_total", "Samples lost: window table full.", "counter",
	  c.dropped_window);
	M("process_events_dropped_total", "exec/exit events lost.", "counter", c.events_dropped);
	M("frames_total", "Frames symbolized.", "counter", c.frames);
	M("frames_unnamed_total", "Frames left as module+offset.", "counter", c.frames_unnamed);
	M("processes_seen_total", "Processes sampled.", "counter", c.procs_seen);
	M("symbol_cache_files", "Files in the symbol cache.", "gauge", c.symbol_files);
	M("symbol_cache_bytes", "Bytes held by the symbol cache.", "gauge", c.symbol_bytes);
	M("windows_closed_total", "Profile windows closed.", "counter", c.windows_closed);
	M("unwind_frames_table_total", "User frames found through unwind tables.", "counter",
	  c.unwind_frames_table);
	M("unwind_frames_fp_total", "User frames found through frame pointers.", "counter",
	  c.unwind_frames_fp);
	M("unwind_stacks_truncated_total", "Table walks stopped before the outermost frame.",
	  "counter", c.unwind_truncated);
	M("unwind_table_misses_total", "PCs in a file with a table but no row.", "counter",
	  c.unwind_table_misses);
	M("unwind_samples_pending_total", "Samples taken before the process's tables loaded.",
	  "counter", c.unwind_pending);
	M("unwind_tables", "Files with unwind tables loaded.", "gauge", c.unwind_tables);
	M("unwind_table_bytes", "BPF memory used by unwind table rows.", "gauge",
	  c.unwind_table_bytes);
	M("span_samples_total", "Samples taken inside a trace span.", "counter", c.span_samples);
	M("span_processes_found_total", "Processes found exporting the trace-context ABI.",
	  "counter", c.span_procs_found);
	M("span_files_checked_total", "Mapped objects searched for the trace-context ABI.",
	  "counter", c.span_files_checked);
	M("windows_delivered_total", "Windows the server accepted.", "counter",
	  u.windows_delivered);
	M("profiles_pushed_total", "Series profiles the server accepted.", "counter",
	  u.profiles_pushed);
	M("upload_requests_total", "HTTP requests to the server.", "counter", u.requests);
	M("upload_retries_total", "Failed requests to be retried.", "counter", u.retries);
	M("windows_rejected_total", "Windows dropped: refused by the server.", "counter",
	  u.rejected);
	M("windows_expired_total", "Windows dropped: too old for the server.", "counter",
	  u.expired);
	M("windows_spooled_total", "Windows written to the spool.", "counter", u.spooled);
	M("windows_spool_dropped_total", "Windows dropped: spool full.", "counter",
	  u.spool_dropped);
	M("spool_corrupt_total", "Spool files skipped as corrupt.", "counter", u.spool_corrupt);
	M("windows_dropped_no_spool_total", "Windows dropped: queue full, no spool.", "counter",
	  u.dropped_no_spool);
	M("upload_bytes_total", "Request bytes sent.", "counter", u.bytes_sent);
	M("upload_queue_windows", "Windows waiting (memory and spool).", "gauge", u.queue_len);
	M("spool_bytes", "Bytes in the spool.", "gauge", u.spool_bytes);
#undef M
	/* Prometheus wants base units: seconds, as a float */
	if (n < cap)
		n += (size_t)snprintf(
		    buf + n, cap - n,
		    "# HELP stoker_upload_last_latency_seconds Latency of the last "
		    "push.\n# TYPE stoker_upload_last_latency_seconds gauge\n"
		    "stoker_upload_last_latency_seconds %.6f\n",
		    (double)u.last_latency_ns / 1e9);
	return n < cap ? n : cap;
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
		body = malloc(16384);
		if (body) {
			size_t n = render(m, body, 16384);

			respond(fd, "200 OK", "text/plain; version=0.0.4", body, n);
			free(body);
		}
	} else if (!strncmp(req, "GET /healthz", 12)) {
		uint64_t last;

		pthread_mutex_lock(&m->mu);
		last = m->c.last_drain_mono_ns;
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

struct metrics_http *metrics_http__start(const char *addr, struct uploader *up)
{
	struct metrics_http *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return NULL;
	m->up = up;
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

void metrics_http__publish(struct metrics_http *m, const struct agent_counters *c)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->c = *c;
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

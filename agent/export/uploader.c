/* SPDX-License-Identifier: BSD-2-Clause */
/* Uploader thread: a FIFO of batches (in memory or spooled), head-of-line delivery so windows
 * arrive in order, and all disk I/O off the sampling thread. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/secret.h"
#include "export/spool.h"
#include "export/upload_batch.h"
#include "export/uploader.h"

#define SPOOL_FILE_MAX (512u << 20)

struct uploader {
	struct uploader_opts opts;
	struct pyroscope_client *client;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* guarded by mu */
	struct upload_batch *head, *tail;
	size_t queue_len;
	bool stopping;
	uint64_t deadline_ns;
	struct upload_stats st;
	int spool_fd; /* the spool directory (spool_open), -1 without a spool */
	/* owned by the thread */
	uint64_t spool_seq;
	uint64_t rng;
	struct log_ratelimit rl_reject, rl_retry;
};

uint64_t uploader_backoff_ns(uint64_t min_ns, uint64_t max_ns, unsigned int attempts, uint64_t rnd)
{
	uint64_t d = min_ns;

	for (unsigned int i = 1; i < attempts && d < max_ns; i++)
		d *= 2;
	if (d > max_ns)
		d = max_ns;
	/* +-20% jitter so a fleet does not retry in lockstep */
	return d - d / 5 + (rnd % (d / 5 * 2 + 1));
}

static uint64_t backoff_ns(struct uploader *u, unsigned int attempts)
{
	/* xorshift, state owned by the upload thread */
	u->rng ^= u->rng << 13;
	u->rng ^= u->rng >> 7;
	u->rng ^= u->rng << 17;
	return uploader_backoff_ns(u->opts.backoff_min_ns, u->opts.backoff_max_ns, attempts,
				   u->rng);
}

/* Caller holds mu (or the thread is not running yet): b goes to the end of the queue. */
static void append(struct uploader *u, struct upload_batch *b)
{
	b->next = NULL;
	if (u->tail)
		u->tail->next = b;
	else
		u->head = b;
	u->tail = b;
	u->queue_len++;
}

/* Caller holds mu: takes the batch at *pp out of the queue (the link and the tail). */
static void unlink_at(struct uploader *u, struct upload_batch **pp)
{
	struct upload_batch *b = *pp;

	*pp = b->next;
	if (u->tail == b) {
		u->tail = NULL;
		for (struct upload_batch *x = u->head; x; x = x->next)
			u->tail = x;
	}
	b->next = NULL;
	u->queue_len--;
}

/* Caller holds mu. */
static struct upload_batch *pop_head(struct uploader *u)
{
	struct upload_batch *b = u->head;

	if (b)
		unlink_at(u, &u->head);
	return b;
}

static void drop_batch(struct uploader *u, struct upload_batch *b)
{
	if (b->spool_path)
		spool_remove(u->spool_fd, b->spool_path);
	upload_batch__free(b);
}

/* Moves one in-memory batch to disk, keeping its place in the queue. Caller holds mu; the
 * disk write happens with mu held, which only delays submit, never sampling. */
static int spool_batch(struct uploader *u, struct upload_batch *b)
{
	uint64_t bytes = 0;
	char *path;
	int err;

	if (!u->opts.spool_dir)
		return -ENOENT;
	err = spool_write(u->spool_fd, b, ++u->spool_seq, &path, &bytes);
	if (err) {
		pr_warn_ratelimited("failed to spool a window to %s: %s", u->opts.spool_dir,
				    strerror(-err));
		return err;
	}
	for (size_t i = 0; i < b->nseries; i++) {
		free(b->series[i].pprof_gz);
		b->series[i].pprof_gz = NULL;
	}
	b->spool_path = path;
	b->bytes = bytes;
	u->st.spooled++;
	u->st.spool_files++;
	u->st.spool_bytes += bytes;
	return 0;
}

/* Keeps the spool under its byte budget by dropping the oldest spooled windows. */
static void prune_spool(struct uploader *u)
{
	struct upload_batch **pp = &u->head;

	while (u->st.spool_bytes > u->opts.spool_max_bytes && *pp) {
		struct upload_batch *b = *pp;

		if (!b->spool_path) {
			pp = &b->next;
			continue;
		}
		unlink_at(u, pp);
		u->st.spool_files--;
		u->st.spool_bytes -= b->bytes;
		u->st.spool_dropped++;
		pr_warn_ratelimited("spool over %llu bytes: dropped the oldest window (%s)",
				    (unsigned long long)u->opts.spool_max_bytes, b->spool_path);
		drop_batch(u, b);
	}
}

/* Caller holds mu: beyond queue_size, the oldest in-memory windows go to disk. */
static void enforce_queue(struct uploader *u)
{
	size_t in_mem = 0;

	for (struct upload_batch *b = u->head; b; b = b->next)
		in_mem += !b->spool_path;
	for (struct upload_batch **pp = &u->head; *pp && in_mem > u->opts.queue_size;) {
		struct upload_batch *b = *pp;

		/* The head may be mid-delivery only while mu is released; here it is not. */
		if (b->spool_path) {
			pp = &b->next;
			continue;
		}
		in_mem--;
		if (spool_batch(u, b) == 0) {
			pp = &b->next;
			continue;
		}
		unlink_at(u, pp);
		u->st.dropped_no_spool++;
		pr_warn_ratelimited(
		    "upload queue full (%zu windows) and no spool: dropped a window",
		    u->opts.queue_size);
		upload_batch__free(b);
	}
	prune_spool(u);
}

/* Loads a spooled batch's profiles back into memory for sending. */
static int unspool(struct uploader *u, struct upload_batch *b)
{
	struct upload_batch *loaded;
	int err = spool_read(u->spool_fd, b->spool_path, SPOOL_FILE_MAX, &loaded);

	if (err)
		return err;
	/* Swap contents, keep queue links and delivery state. */
	upload_batch__free_series(b);
	b->series = loaded->series;
	b->nseries = loaded->nseries;
	b->next_series = 0;
	b->start_ns = loaded->start_ns;
	b->end_ns = loaded->end_ns;
	b->sample_rate_hz = loaded->sample_rate_hz;
	b->samples = loaded->samples;
	loaded->series = NULL;
	loaded->nseries = 0;
	upload_batch__free(loaded);
	return 0;
}

static bool loaded(const struct upload_batch *b)
{
	return !b->spool_path || (b->nseries && b->series[0].pprof_gz);
}

static void finish_head(struct uploader *u, struct upload_batch *b)
{
	if (u->head == b)
		pop_head(u);
	if (b->spool_path) {
		u->st.spool_files--;
		u->st.spool_bytes -= b->bytes;
	}
	drop_batch(u, b);
}

static void *thread_main(void *arg)
{
	struct uploader *u = arg;

	pthread_mutex_lock(&u->mu);
	for (;;) {
		struct upload_batch *b = u->head;
		uint64_t now = monotonic_ns();
		struct send_status ss;
		enum send_result r;

		enforce_queue(u);
		b = u->head;
		if (u->stopping && (!b || now >= u->deadline_ns))
			break;
		if (!b || (b->next_attempt_ns > now && !u->stopping)) {
			struct timespec ts;
			uint64_t wake = b ? b->next_attempt_ns : now + 1000000000ull;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			wake =
			    wake - now + (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
			ts.tv_sec = (time_t)(wake / 1000000000ull);
			ts.tv_nsec = (long)(wake % 1000000000ull);
			pthread_cond_timedwait(&u->cv, &u->mu, &ts);
			continue;
		}
		if (u->stopping && b->next_attempt_ns > now) {
			/* Shutting down: one more try now rather than waiting out the backoff. */
			b->next_attempt_ns = now;
		}
		if (wall_ns() - b->start_ns > (int64_t)u->opts.max_age_ns) {
			u->st.expired++;
			pr_warn("dropped a window from %lld s ago: older than the server accepts",
				(long long)((wall_ns() - b->start_ns) / 1000000000));
			finish_head(u, b);
			continue;
		}
		if (!loaded(b)) {
			int err = unspool(u, b);

			if (err) {
				u->st.spool_corrupt++;
				pr_warn("skipped spool file %s/%s: %s", u->opts.spool_dir,
					b->spool_path,
					err == -EBADMSG ? "torn or corrupt"
					: err == -EPERM ? "not a regular file owned by the agent"
							: strerror(-err));
				finish_head(u, b);
				continue;
			}
		}
		pthread_mutex_unlock(&u->mu);
		r = pyroscope_client__send(u->client, b, &ss);
		pthread_mutex_lock(&u->mu);
		u->st.requests++;
		u->st.bytes_sent += ss.bytes_sent;
		u->st.last_http_code = ss.http_code;
		if (ss.latency_ns)
			u->st.last_latency_ns = ss.latency_ns;
		switch (r) {
		case SEND_OK:
			u->st.windows_delivered++;
			u->st.profiles_pushed += b->nseries;
			b->attempts = 0;
			finish_head(u, b);
			break;
		case SEND_RETRY:
			u->st.retries++;
			b->attempts++;
			b->next_attempt_ns = monotonic_ns() + backoff_ns(u, b->attempts);
			if (log_ratelimit__ok(&u->rl_retry, 60, 3)) {
				char code[32] = "", url[512];

				if (ss.http_code)
					snprintf(code, sizeof(code), "HTTP %ld: ", ss.http_code);
				pr_warn("failed to push to %s (%s%.200s); retrying in %.1f s",
					redact_url(u->opts.client.server_url, url, sizeof(url)),
					code, ss.message,
					(double)(b->next_attempt_ns - monotonic_ns()) / 1e9);
			}
			/* At shutdown one failed try is enough: the rest waits in the spool. */
			if (u->stopping)
				u->deadline_ns = 0;
			break;
		case SEND_REJECTED:
			u->st.rejected++;
			if (log_ratelimit__ok(&u->rl_reject, 60, 3))
				pr_err("server rejected a window (HTTP %ld): %.300s; dropped it",
				       ss.http_code, ss.message);
			finish_head(u, b);
			break;
		}
	}
	/* Whatever is left goes to disk for the next run. */
	for (struct upload_batch *b = u->head; b; b = b->next) {
		if (b->spool_path)
			continue;
		if (spool_batch(u, b))
			u->st.dropped_no_spool++;
	}
	prune_spool(u);
	while (u->head)
		upload_batch__free(pop_head(u));
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

static void load_spool(struct uploader *u)
{
	char **paths;
	uint64_t *sizes;
	int n = spool_list(u->spool_fd, &paths, &sizes);

	if (n < 0) {
		pr_warn("failed to list spool %s: %s", u->opts.spool_dir, strerror(-n));
		return;
	}
	for (int i = 0; i < n; i++) {
		struct upload_batch *b = calloc(1, sizeof(*b));

		if (!b) {
			free(paths[i]);
			continue;
		}
		b->spool_path = paths[i];
		b->bytes = sizes[i];
		/* start_ns from the name lets expiry work before the file is read */
		b->start_ns = strtoll(paths[i], NULL, 10);
		append(u, b);
		u->st.spool_files++;
		u->st.spool_bytes += sizes[i];
	}
	if (n)
		pr_info("replaying %d spooled windows from %s", n, u->opts.spool_dir);
	free(paths);
	free(sizes);
}

struct uploader *uploader__start(const struct uploader_opts *opts)
{
	struct uploader *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return NULL;
	u->opts = *opts;
	u->spool_fd = -1;
	if (!u->opts.queue_size)
		u->opts.queue_size = 8;
	if (!u->opts.spool_max_bytes)
		u->opts.spool_max_bytes = 256u << 20;
	if (!u->opts.max_age_ns)
		u->opts.max_age_ns = 55ull * 60 * 1000000000ull;
	if (!u->opts.backoff_min_ns)
		u->opts.backoff_min_ns = 500000000ull;
	if (!u->opts.backoff_max_ns)
		u->opts.backoff_max_ns = 300ull * 1000000000ull;
	if (opts->initial) {
		u->st = *opts->initial;
		/* gauges describe this uploader's queue and spool, recounted below */
		u->st.queue_len = u->st.spool_files = u->st.spool_bytes = 0;
	}
	u->rng = monotonic_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
	pthread_mutex_init(&u->mu, NULL);
	{
		/* deadlines below are CLOCK_MONOTONIC: the default (REALTIME) would make every
		 * wait return at once and spin the thread through each backoff */
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&u->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	u->client = pyroscope_client__new(&u->opts.client);
	if (!u->client) {
		err = errno ? -errno : -ENOMEM;
		goto fail;
	}
	if (u->opts.spool_dir) {
		err = spool_open(u->opts.spool_dir);
		if (err == -EPERM || err == -ELOOP || err == -ENOTDIR) {
			/* whoever can write the spool can push windows as the agent */
			pr_err("refused spool directory %s: %s; undeliverable windows beyond "
			       "the queue will be dropped and counted",
			       u->opts.spool_dir,
			       err == -EPERM   ? "it must be owned by the agent's user with mode "
						 "0700 (no group or other access)"
			       : err == -ELOOP ? "it is a symbolic link"
					       : "not a directory");
			u->opts.spool_dir = NULL;
		} else if (err < 0) {
			pr_warn("failed to use spool directory %s: %s; undeliverable windows "
				"beyond the queue will be dropped and counted",
				u->opts.spool_dir, strerror(-err));
			u->opts.spool_dir = NULL;
		} else {
			u->spool_fd = err;
			load_spool(u);
		}
	}
	err = -pthread_create(&u->thread, NULL, thread_main, u);
	if (err)
		goto fail;
	u->thread_started = true;
	return u;
fail:
	pyroscope_client__free(u->client);
	while (u->head)
		upload_batch__free(pop_head(u));
	if (u->spool_fd >= 0)
		close(u->spool_fd);
	free(u);
	errno = -err;
	return NULL;
}

void uploader__submit(struct uploader *u, struct upload_batch *b)
{
	pthread_mutex_lock(&u->mu);
	append(u, b);
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

void uploader__stop(struct uploader *u, uint64_t deadline_ns, struct upload_stats *final)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->mu);
	u->stopping = true;
	u->deadline_ns = deadline_ns;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
	if (u->thread_started)
		pthread_join(u->thread, NULL);
	if (final) {
		*final = u->st;
		final->queue_len = u->queue_len;
	}
	pyroscope_client__free(u->client);
	if (u->spool_fd >= 0)
		close(u->spool_fd);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	free(u);
}

void uploader__stats(struct uploader *u, struct upload_stats *st)
{
	pthread_mutex_lock(&u->mu);
	*st = u->st;
	st->queue_len = u->queue_len;
	pthread_mutex_unlock(&u->mu);
}

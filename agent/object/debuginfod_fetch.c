/* SPDX-License-Identifier: BSD-2-Clause */
/* debuginfod client: build-ids queued by the symbolizer are fetched one at a time by a worker
 * thread through libdebuginfod into the agent's own cache directory, kept under a byte bound
 * (oldest first); failures are remembered for a while. The symbolizing thread only looks up
 * what the worker recorded, under a mutex, and opens files already on disk. */
#include <dirent.h>
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/array.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/lru_cache.h"
#include "object/debuginfod_fetch.h"
#include "object/elf_symbols.h"

#define BUILD_ID_HEX  (2 * ELF_BUILD_ID_MAX + 1)
#define KEY_LEN	      LRU_KEY_MAX /* leading hex digits: ids are checked again on open */
#define DEFAULT_CACHE (1ull << 30)

enum entry_state { ENTRY_PENDING, ENTRY_READY, ENTRY_MISSING };

struct entry {
	enum entry_state state;
	char *path;	   /* ENTRY_READY: the file in the cache directory */
	uint64_t until_ns; /* ENTRY_MISSING: asked again after this */
};

struct debuginfod_fetch {
	struct debuginfod_fetch_opts opts;
	char *cache_dir;
	pthread_t worker;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* under lock */
	struct lru_cache *entries;
	char (*queue)[BUILD_ID_HEX];
	size_t qhead, qlen;
	struct debuginfod_fetch_stats st;
	/* read without the lock */
	atomic_bool stop;
	atomic_uint_fast64_t arrivals;
	uint64_t deadline_ns; /* the worker's own */
};

static void free_entry(void *v, void *ctx)
{
	struct entry *e = v;

	free(e->path);
	free(e);
}

static void make_key(const char *build_id, char key[KEY_LEN])
{
	size_t l = strnlen(build_id, KEY_LEN);

	memset(key, 0, KEY_LEN);
	memcpy(key, build_id, l);
}

static int set_env_u64(const char *name, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return setenv(name, buf, 1) ? -errno : 0;
}

struct cached_file {
	char name[BUILD_ID_HEX];
	uint64_t size, used_ns;
};

static int cmp_used(const void *a, const void *b)
{
	const struct cached_file *x = a, *y = b;

	return x->used_ns < y->used_ns ? -1 : x->used_ns > y->used_ns;
}

/* Sums the fetched files (DIR/<build-id>/debuginfo) and removes the least recently used
 * until they fit the bound; the symbolizer forgets those, so it would fetch them again. */
static void enforce_cache_bound(struct debuginfod_fetch *d)
{
	struct cached_file *files = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0, evicted = 0;
	struct dirent *de;
	DIR *dir;
	int dfd;

	dir = opendir(d->cache_dir);
	if (!dir)
		return;
	dfd = dirfd(dir);
	while ((de = readdir(dir))) {
		char rel[sizeof(de->d_name) + 16];
		struct stat st;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= BUILD_ID_HEX)
			continue;
		snprintf(rel, sizeof(rel), "%s/debuginfo", de->d_name);
		/* size 0 is libdebuginfod's own negative entry */
		if (fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode) ||
		    !st.st_size)
			continue;
		if (ARRAY_RESERVE(files, cap, n + 1))
			break;
		memcpy(files[n].name, de->d_name, strlen(de->d_name) + 1);
		files[n].size = (uint64_t)st.st_size;
		files[n].used_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec;
		total += files[n].size;
		n++;
	}
	if (total > d->opts.cache_max_bytes)
		qsort(files, n, sizeof(*files), cmp_used);
	for (size_t i = 0; i < n && total > d->opts.cache_max_bytes; i++) {
		char rel[sizeof(files[i].name) + 16], key[KEY_LEN];

		snprintf(rel, sizeof(rel), "%s/debuginfo", files[i].name);
		if (unlinkat(dfd, rel, 0))
			continue;
		unlinkat(dfd, files[i].name, AT_REMOVEDIR);
		total -= files[i].size;
		evicted++;
		make_key(files[i].name, key);
		pthread_mutex_lock(&d->lock);
		lru_cache__remove(d->entries, key);
		pthread_mutex_unlock(&d->lock);
	}
	closedir(dir);
	free(files);
	pthread_mutex_lock(&d->lock);
	d->st.cache_bytes = total;
	d->st.evicted += evicted;
	pthread_mutex_unlock(&d->lock);
}

/* libdebuginfod calls this while a transfer runs: non-zero aborts it. */
static int progress(debuginfod_client *c, long a, long b)
{
	struct debuginfod_fetch *d = debuginfod_get_user_data(c);

	return atomic_load(&d->stop) || monotonic_ns() > d->deadline_ns;
}

static void record(struct debuginfod_fetch *d, const char *build_id, int fd, char *path)
{
	char key[KEY_LEN];
	struct entry *e;

	make_key(build_id, key);
	pthread_mutex_lock(&d->lock);
	e = lru_cache__get(d->entries, key);
	if (e && fd >= 0) {
		e->state = ENTRY_READY;
		e->path = path;
		path = NULL;
		d->st.fetched++;
	} else if (e) {
		e->state = ENTRY_MISSING;
		e->until_ns = monotonic_ns() + d->opts.retry_ns;
		if (fd == -ENOENT)
			d->st.not_found++;
		else
			d->st.failed++;
	}
	pthread_mutex_unlock(&d->lock);
	if (fd >= 0)
		atomic_fetch_add(&d->arrivals, 1);
	else if (fd != -ENOENT && !atomic_load(&d->stop))
		pr_warn_ratelimited("failed to fetch the debug file of build-id %s: %s; its frames "
				    "stay without lines for now",
				    build_id, strerror(-fd));
	free(path);
}

static void *worker(void *arg)
{
	struct debuginfod_fetch *d = arg;
	debuginfod_client *client = debuginfod_begin();
	char build_id[BUILD_ID_HEX];

	if (!client) {
		pr_warn("failed to start the debuginfod client: debug files are not fetched");
		return NULL;
	}
	debuginfod_set_user_data(client, d);
	debuginfod_set_progressfn(client, progress);
	for (;;) {
		char *path = NULL;
		int fd;

		pthread_mutex_lock(&d->lock);
		while (!atomic_load(&d->stop) && !d->qlen)
			pthread_cond_wait(&d->wake, &d->lock);
		if (atomic_load(&d->stop)) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		memcpy(build_id, d->queue[d->qhead], sizeof(build_id));
		d->qhead = (d->qhead + 1) % d->opts.max_pending;
		d->qlen--;
		pthread_mutex_unlock(&d->lock);

		d->deadline_ns = monotonic_ns() + d->opts.timeout_ns;
		fd = debuginfod_find_debuginfo(client, (const unsigned char *)build_id, 0, &path);
		if (fd >= 0)
			close(fd); /* the symbolizer opens it again, on its own thread */
		record(d, build_id, fd, fd >= 0 ? path : NULL);
		if (fd < 0)
			free(path);
		else
			enforce_cache_bound(d);
	}
	debuginfod_end(client);
	return NULL;
}

struct debuginfod_fetch *debuginfod_fetch__new(const struct debuginfod_fetch_opts *opts)
{
	struct debuginfod_fetch *d = calloc(1, sizeof(*d));
	struct lru_cache_opts lo = { 0 };
	uint64_t secs;
	int err = -ENOMEM;

	if (!d)
		goto fail;
	d->opts = *opts;
	if (!d->opts.urls || !d->opts.cache_dir) {
		err = -EINVAL;
		goto fail;
	}
	if (!d->opts.cache_max_bytes)
		d->opts.cache_max_bytes = DEFAULT_CACHE;
	if (!d->opts.timeout_ns)
		d->opts.timeout_ns = 30000000000ull;
	if (!d->opts.retry_ns)
		d->opts.retry_ns = 3600000000000ull;
	if (!d->opts.max_pending)
		d->opts.max_pending = 256;
	if (!d->opts.max_entries)
		d->opts.max_entries = 16384;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->wake, NULL);
	d->cache_dir = strdup(d->opts.cache_dir);
	d->queue = calloc(d->opts.max_pending, sizeof(*d->queue));
	lo.key_size = KEY_LEN;
	lo.max_entries = d->opts.max_entries;
	lo.free_value = free_entry;
	d->entries = lru_cache__new(&lo);
	if (!d->cache_dir || !d->queue || !d->entries)
		goto fail;
	err = make_private_dir(d->cache_dir);
	if (err)
		goto fail;
	/* libdebuginfod reads its settings from the environment at each fetch */
	secs = (d->opts.timeout_ns + 999999999ull) / 1000000000ull;
	if (setenv("DEBUGINFOD_URLS", d->opts.urls, 1) ||
	    setenv("DEBUGINFOD_CACHE_PATH", d->cache_dir, 1) ||
	    set_env_u64("DEBUGINFOD_TIMEOUT", secs) || set_env_u64("DEBUGINFOD_MAXTIME", secs) ||
	    set_env_u64("DEBUGINFOD_MAXSIZE", d->opts.cache_max_bytes) ||
	    unsetenv("DEBUGINFOD_PROGRESS") || unsetenv("DEBUGINFOD_VERBOSE")) {
		err = -errno;
		goto fail;
	}
	enforce_cache_bound(d);
	return d;
fail:
	debuginfod_fetch__stop(d);
	errno = -err;
	return NULL;
}

int debuginfod_fetch__run(struct debuginfod_fetch *d)
{
	int err = -pthread_create(&d->worker, NULL, worker, d);

	if (!err)
		d->started = true;
	return err;
}

void debuginfod_fetch__stop(struct debuginfod_fetch *d)
{
	if (!d)
		return;
	if (d->started) {
		pthread_mutex_lock(&d->lock);
		atomic_store(&d->stop, true);
		pthread_cond_signal(&d->wake);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->worker, NULL);
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->wake);
	}
	lru_cache__free(d->entries);
	free(d->queue);
	free(d->cache_dir);
	free(d);
}

/* Opens a fetched file: a regular file, not a link, in the cache directory. */
static int open_fetched(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int debuginfod_fetch__get(struct debuginfod_fetch *d, const char *build_id)
{
	char key[KEY_LEN], *path = NULL;
	struct entry *e;
	int ret = -EAGAIN;

	if (!build_id[0] || strlen(build_id) >= BUILD_ID_HEX)
		return -ENOENT;
	make_key(build_id, key);
	pthread_mutex_lock(&d->lock);
	e = lru_cache__get(d->entries, key);
	if (e && e->state == ENTRY_READY) {
		path = strdup(e->path);
		ret = path ? 0 : -ENOMEM;
	} else if (e && e->state == ENTRY_MISSING && monotonic_ns() < e->until_ns) {
		ret = -ENOENT;
	} else if (!e || e->state == ENTRY_MISSING) {
		struct entry *ne = NULL;

		if (d->qlen >= d->opts.max_pending) {
			d->st.queue_full++;
		} else if (!e && !(ne = calloc(1, sizeof(*ne)))) {
			ret = -ENOMEM;
		} else if (ne && lru_cache__put(d->entries, key, ne, 0)) {
			free(ne);
			ret = -ENOMEM;
		} else {
			if (ne)
				e = ne;
			e->state = ENTRY_PENDING;
			snprintf(d->queue[(d->qhead + d->qlen) % d->opts.max_pending], BUILD_ID_HEX,
				 "%s", build_id);
			d->qlen++;
			d->st.requests++;
			pthread_cond_signal(&d->wake);
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (path) {
		ret = open_fetched(path);
		free(path);
		/* gone from disk (evicted): the next ask fetches it again */
		if (ret < 0) {
			pthread_mutex_lock(&d->lock);
			lru_cache__remove(d->entries, key);
			pthread_mutex_unlock(&d->lock);
			ret = -EAGAIN;
		}
	}
	return ret;
}

uint64_t debuginfod_fetch__arrivals(struct debuginfod_fetch *d)
{
	return atomic_load(&d->arrivals);
}

void debuginfod_fetch__stats(struct debuginfod_fetch *d, struct debuginfod_fetch_stats *st)
{
	pthread_mutex_lock(&d->lock);
	*st = d->st;
	pthread_mutex_unlock(&d->lock);
}

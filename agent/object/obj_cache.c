/* SPDX-License-Identifier: BSD-2-Clause */
/* Object cache: opens mapped files as the process sees them and keeps their symbol tables,
 * keyed by (dev, inode) with a second index by build-id so identical files load once. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/log.h"
#include "util/lru_cache.h"
#include "object/obj_cache.h"

struct file_key {
	uint64_t dev, inode;
};

struct bid_key {
	char hex[2 * ELF_BUILD_ID_MAX < LRU_KEY_MAX ? 2 * ELF_BUILD_ID_MAX : LRU_KEY_MAX];
};

struct obj_cache {
	struct obj_cache_opts opts;
	struct lru_cache *by_file;
	struct lru_cache *by_build_id;
	struct obj_cache_stats st;
};

static void sym_file_put(void *v, void *ctx)
{
	struct sym_file *f = v;

	if (!f || --f->refcnt > 0)
		return;
	elf_object__free(f->elf);
	free(f->path);
	free(f);
}

struct obj_cache *obj_cache__new(const struct obj_cache_opts *opts)
{
	struct obj_cache *c = calloc(1, sizeof(*c));
	struct lru_cache_opts lo = { 0 };

	if (!c)
		return NULL;
	if (opts)
		c->opts = *opts;
	if (!c->opts.max_files)
		c->opts.max_files = 8192;
	if (!c->opts.max_bytes)
		c->opts.max_bytes = 512u << 20;
	lo.key_size = sizeof(struct file_key);
	lo.max_entries = c->opts.max_files;
	lo.max_cost = c->opts.max_bytes;
	lo.free_value = sym_file_put;
	c->by_file = lru_cache__new(&lo);
	lo.key_size = sizeof(struct bid_key);
	c->by_build_id = lru_cache__new(&lo);
	if (!c->by_file || !c->by_build_id) {
		obj_cache__free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void obj_cache__free(struct obj_cache *c)
{
	if (!c)
		return;
	lru_cache__free(c->by_file);
	lru_cache__free(c->by_build_id);
	free(c);
}

static struct sym_file *load_file(struct obj_cache *c, int pid, const struct proc_map *m,
				  const struct file_key *key)
{
	struct elf_object_opts eo = { 0 };
	struct sym_file *f, *shared;
	uint8_t bid[ELF_BUILD_ID_MAX];
	char root[64], opened[PROC_MAP_PATH_MAX + 64];
	struct bid_key bk;
	int fd, n, err;

	fd = proc_map_open(pid, m, opened, sizeof(opened));
	if (fd < 0) {
		pr_debug("failed to open %s of pid %d: %s", m->path, pid, strerror(-fd));
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		goto err_close;
	f->refcnt = 1;
	f->dev = key->dev;
	f->inode = key->inode;
	f->path = strdup(m->path);
	if (!f->path)
		goto err_free;
	f->name = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;

	n = elf_read_build_id_fd(fd, bid, sizeof(bid));
	if (n > 0) {
		for (int i = 0; i < n; i++)
			snprintf(f->build_id + 2 * i, 3, "%02x", bid[i]);
		memset(&bk, 0, sizeof(bk));
		memcpy(bk.hex, f->build_id, strnlen(f->build_id, sizeof(bk.hex)));
		shared = lru_cache__get(c->by_build_id, &bk);
		if (shared && shared->elf) {
			/* Same build-id seen through another inode (another container's copy). */
			f->elf = NULL;
			sym_file_put(f, NULL);
			close(fd);
			shared->refcnt++;
			c->st.shared_by_build_id++;
			return shared;
		}
	}

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	eo.root = root;
	eo.debug_dirs = c->opts.debug_dirs;
	/* the path as the process sees it: debuglink candidates are relative to it, under root */
	f->elf = elf_object__open_fd(fd, m->path, &eo);
	err = errno;
	close(fd);
	c->st.loads++;
	if (!f->elf) {
		c->st.load_failures++;
		pr_warn_ratelimited("failed to read symbols of %s (pid %d): %s; its frames keep "
				    "module+offset",
				    m->path, pid, strerror(err));
	} else if (f->build_id[0]) {
		f->refcnt++;
		if (lru_cache__put(c->by_build_id, &bk, f, elf_object__memory_bytes(f->elf)))
			f->refcnt--;
	}
	return f;

err_free:
	free(f->path);
	free(f);
err_close:
	close(fd);
	return NULL;
}

struct sym_file *obj_cache__get(struct obj_cache *c, int pid, const struct proc_map *m)
{
	struct file_key key = { makedev(m->dev_major, m->dev_minor), m->inode };
	struct sym_file *f = lru_cache__get(c->by_file, &key);
	size_t cost;

	if (f) {
		c->st.hits++;
		return f;
	}
	c->st.misses++;
	f = load_file(c, pid, m, &key);
	if (!f)
		return NULL;
	/* Cost is charged where the object is owned by build-id, too: count it once here. */
	cost = f->elf ? elf_object__memory_bytes(f->elf) : 256;
	if (lru_cache__put(c->by_file, &key, f, cost)) {
		sym_file_put(f, NULL);
		return NULL;
	}
	return f;
}

void obj_cache__stats(const struct obj_cache *c, struct obj_cache_stats *st)
{
	*st = c->st;
	st->evictions = lru_cache__evictions(c->by_file);
	st->files = lru_cache__count(c->by_file);
	st->bytes = lru_cache__cost(c->by_file);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* A bounded hash map with LRU eviction by entry count and by a caller-defined cost (bytes). */
#ifndef STOKER_LRU_CACHE_H
#define STOKER_LRU_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define LRU_KEY_MAX 64

struct lru_cache_opts {
	size_t key_size;    /* bytes compared, 1..LRU_KEY_MAX */
	size_t max_entries; /* > 0 */
	size_t max_cost;    /* 0: no cost bound */
	/* Called for every value that leaves the cache (evicted, replaced, removed, freed). */
	void (*free_value)(void *value, void *ctx);
	void *ctx;
};

struct lru_cache;

struct lru_cache *lru_cache__new(const struct lru_cache_opts *opts);
void lru_cache__free(struct lru_cache *c);
/* Returns the value and marks it most recently used, or NULL. */
void *lru_cache__get(struct lru_cache *c, const void *key);
/* Inserts or replaces; evicts least recently used entries to stay within the bounds. An entry
 * whose cost alone exceeds max_cost is evicted at once (free_value called) and nothing else is.
 * Returns 0 (value owned by the cache, possibly freed already) or -ENOMEM (value not taken). */
int lru_cache__put(struct lru_cache *c, const void *key, void *value, size_t cost);
/* Changes the cost of an entry whose value grew or shrank and marks it most recently used,
 * evicting others to stay within the bounds, or this one alone when its cost exceeds max_cost.
 * Returns 0 or -ENOENT. */
int lru_cache__set_cost(struct lru_cache *c, const void *key, size_t cost);
/* Lowers the cost of an entry that shrank without being used, keeping its place in the
 * order (safe inside lru_cache__sweep). Returns 0, -ENOENT, or -EINVAL for a higher cost. */
int lru_cache__shrink_cost(struct lru_cache *c, const void *key, size_t cost);
/* Removes the entry if present (its value is freed). Returns 0 or -ENOENT. */
int lru_cache__remove(struct lru_cache *c, const void *key);
/* Calls fn for every entry; fn returns non-zero to remove that entry. */
void lru_cache__sweep(struct lru_cache *c, int (*fn)(const void *key, void *value, void *arg),
		      void *arg);
size_t lru_cache__count(const struct lru_cache *c);
size_t lru_cache__cost(const struct lru_cache *c);
uint64_t lru_cache__evictions(const struct lru_cache *c);

uint64_t hash_bytes(const void *data, size_t len, uint64_t seed);

#endif

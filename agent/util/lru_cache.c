/* SPDX-License-Identifier: BSD-2-Clause */
/* Bounded LRU hash map: chained buckets plus one intrusive recency list. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/lru_cache.h"

struct lru_node {
	struct lru_node *hnext;	      /* bucket chain */
	struct lru_node *prev, *next; /* recency list: head is most recent */
	uint64_t hash;
	size_t cost;
	void *value;
	unsigned char key[];
};

struct lru_cache {
	struct lru_cache_opts opts;
	struct lru_node **buckets;
	size_t nbuckets; /* power of two */
	size_t count, cost;
	uint64_t evictions;
	struct lru_node *head, *tail;
};

uint64_t hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

struct lru_cache *lru_cache__new(const struct lru_cache_opts *opts)
{
	struct lru_cache *c;

	if (!opts || !opts->key_size || opts->key_size > LRU_KEY_MAX || !opts->max_entries) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->opts = *opts;
	c->nbuckets = 64;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

static void list_unlink(struct lru_cache *c, struct lru_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		c->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		c->tail = n->prev;
	n->prev = n->next = NULL;
}

static void list_push_front(struct lru_cache *c, struct lru_node *n)
{
	n->prev = NULL;
	n->next = c->head;
	if (c->head)
		c->head->prev = n;
	c->head = n;
	if (!c->tail)
		c->tail = n;
}

static struct lru_node **find_slot(struct lru_cache *c, const void *key, uint64_t h)
{
	struct lru_node **pp = &c->buckets[h & (c->nbuckets - 1)];

	while (*pp && ((*pp)->hash != h || memcmp((*pp)->key, key, c->opts.key_size) != 0))
		pp = &(*pp)->hnext;
	return pp;
}

static void drop_node(struct lru_cache *c, struct lru_node **slot)
{
	struct lru_node *n = *slot;

	*slot = n->hnext;
	list_unlink(c, n);
	c->count--;
	c->cost -= n->cost;
	if (c->opts.free_value)
		c->opts.free_value(n->value, c->opts.ctx);
	free(n);
}

static void grow(struct lru_cache *c)
{
	size_t nb = c->nbuckets * 2;
	struct lru_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* keep working with longer chains */
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct lru_node *n = c->buckets[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
}

void *lru_cache__get(struct lru_cache *c, const void *key)
{
	uint64_t h = hash_bytes(key, c->opts.key_size, 0);
	struct lru_node *n = *find_slot(c, key, h);

	if (!n)
		return NULL;
	if (c->head != n) {
		list_unlink(c, n);
		list_push_front(c, n);
	}
	return n->value;
}

/* Evicts least recently used entries to get back within the bounds. keep, the entry just put or
 * grown, goes only when it alone is over the cost bound, and then first: nothing else is
 * evicted to make room that it could never fit in. */
static void evict_lru(struct lru_cache *c, struct lru_node *keep)
{
	if (keep && c->opts.max_cost && keep->cost > c->opts.max_cost) {
		drop_node(c, find_slot(c, keep->key, keep->hash));
		c->evictions++;
	}
	while (c->tail && (c->count > c->opts.max_entries ||
			   (c->opts.max_cost && c->cost > c->opts.max_cost))) {
		struct lru_node *victim = c->tail;

		drop_node(c, find_slot(c, victim->key, victim->hash));
		c->evictions++;
	}
}

int lru_cache__put(struct lru_cache *c, const void *key, void *value, size_t cost)
{
	uint64_t h = hash_bytes(key, c->opts.key_size, 0);
	struct lru_node **slot = find_slot(c, key, h), *n;

	if (*slot)
		drop_node(c, slot);
	n = calloc(1, sizeof(*n) + c->opts.key_size);
	if (!n)
		return -ENOMEM;
	memcpy(n->key, key, c->opts.key_size);
	n->hash = h;
	n->value = value;
	n->cost = cost;
	if (c->count + 1 > c->nbuckets && c->nbuckets < (1u << 24))
		grow(c);
	slot = &c->buckets[h & (c->nbuckets - 1)];
	n->hnext = *slot;
	*slot = n;
	list_push_front(c, n);
	c->count++;
	c->cost += cost;
	evict_lru(c, n);
	return 0;
}

int lru_cache__set_cost(struct lru_cache *c, const void *key, size_t cost)
{
	uint64_t h = hash_bytes(key, c->opts.key_size, 0);
	struct lru_node *n = *find_slot(c, key, h);

	if (!n)
		return -ENOENT;
	c->cost = c->cost - n->cost + cost;
	n->cost = cost;
	/* it just grew because it was used: most recent, so what goes is older */
	if (c->head != n) {
		list_unlink(c, n);
		list_push_front(c, n);
	}
	evict_lru(c, n);
	return 0;
}

int lru_cache__shrink_cost(struct lru_cache *c, const void *key, size_t cost)
{
	struct lru_node *n = *find_slot(c, key, hash_bytes(key, c->opts.key_size, 0));

	if (!n)
		return -ENOENT;
	if (cost > n->cost)
		return -EINVAL;
	c->cost -= n->cost - cost;
	n->cost = cost;
	return 0;
}

int lru_cache__remove(struct lru_cache *c, const void *key)
{
	uint64_t h = hash_bytes(key, c->opts.key_size, 0);
	struct lru_node **slot = find_slot(c, key, h);

	if (!*slot)
		return -ENOENT;
	drop_node(c, slot);
	return 0;
}

void lru_cache__sweep(struct lru_cache *c, int (*fn)(const void *key, void *value, void *arg),
		      void *arg)
{
	struct lru_node *n = c->head, *next;

	for (; n; n = next) {
		next = n->next;
		if (fn(n->key, n->value, arg))
			drop_node(c, find_slot(c, n->key, n->hash));
	}
}

size_t lru_cache__count(const struct lru_cache *c)
{
	return c->count;
}

size_t lru_cache__cost(const struct lru_cache *c)
{
	return c->cost;
}

uint64_t lru_cache__evictions(const struct lru_cache *c)
{
	return c->evictions;
}

void lru_cache__free(struct lru_cache *c)
{
	if (!c)
		return;
	while (c->head)
		drop_node(c, find_slot(c, c->head->key, c->head->hash));
	free(c->buckets);
	free(c);
}

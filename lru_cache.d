lru_cache.o: agent/lru_cache.c agent/lru_cache.h

agent/lru_cache.h:

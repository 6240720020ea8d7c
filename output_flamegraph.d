output_flamegraph.o: agent/output_flamegraph.c agent/lru_cache.h \
  agent/output_flamegraph.h

agent/lru_cache.h:

agent/output_flamegraph.h:

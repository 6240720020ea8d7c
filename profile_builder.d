profile_builder.o: agent/profile_builder.c agent/lru_cache.h \
  agent/profile_builder.h

agent/lru_cache.h:

agent/profile_builder.h:

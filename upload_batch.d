upload_batch.o: agent/upload_batch.c agent/log.h agent/lru_cache.h \
  build/push.pb-c.h agent/upload_batch.h agent/pprof_encode.h \
  agent/profile_builder.h

agent/log.h:

agent/lru_cache.h:

build/push.pb-c.h:

agent/upload_batch.h:

agent/pprof_encode.h:

agent/profile_builder.h:

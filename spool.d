spool.o: agent/spool.c agent/log.h agent/spool.h agent/upload_batch.h \
  agent/pprof_encode.h agent/profile_builder.h

agent/log.h:

agent/spool.h:

agent/upload_batch.h:

agent/pprof_encode.h:

agent/profile_builder.h:

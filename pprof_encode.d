pprof_encode.o: agent/pprof_encode.c agent/pprof_encode.h \
  agent/profile_builder.h build/profile.pb-c.h

agent/pprof_encode.h:

agent/profile_builder.h:

build/profile.pb-c.h:

preflight.o: agent/preflight.c agent/preflight.h agent/cli.h \
  agent/config_file.h agent/log.h agent/push_pyroscope.h \
  agent/upload_batch.h agent/pprof_encode.h agent/profile_builder.h \
  agent/sampler.h include/sampler_abi.h

agent/preflight.h:

agent/cli.h:

agent/config_file.h:

agent/log.h:

agent/push_pyroscope.h:

agent/upload_batch.h:

agent/pprof_encode.h:

agent/profile_builder.h:

agent/sampler.h:

include/sampler_abi.h:

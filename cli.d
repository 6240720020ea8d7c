cli.o: agent/cli.c agent/cli.h agent/config_file.h agent/log.h \
  agent/push_pyroscope.h agent/upload_batch.h agent/pprof_encode.h \
  agent/profile_builder.h agent/sampler.h include/sampler_abi.h \
  agent/parse_util.h agent/relabel.h

agent/cli.h:

agent/config_file.h:

agent/log.h:

agent/push_pyroscope.h:

agent/upload_batch.h:

agent/pprof_encode.h:

agent/profile_builder.h:

agent/sampler.h:

include/sampler_abi.h:

agent/parse_util.h:

agent/relabel.h:

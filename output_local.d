output_local.o: agent/output_local.c agent/log.h \
  agent/output_flamegraph.h agent/output_local.h agent/cli.h \
  agent/config_file.h agent/push_pyroscope.h agent/upload_batch.h \
  agent/pprof_encode.h agent/profile_builder.h agent/sampler.h \
  include/sampler_abi.h

agent/log.h:

agent/output_flamegraph.h:

agent/output_local.h:

agent/cli.h:

agent/config_file.h:

agent/push_pyroscope.h:

agent/upload_batch.h:

agent/pprof_encode.h:

agent/profile_builder.h:

agent/sampler.h:

include/sampler_abi.h:

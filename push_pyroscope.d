push_pyroscope.o: agent/push_pyroscope.c agent/log.h agent/proc_cache.h \
  agent/cgroup_identity.h agent/container_meta.h agent/perf_map.h \
  agent/proc_maps.h agent/relabel.h agent/push_pyroscope.h \
  agent/upload_batch.h agent/pprof_encode.h agent/profile_builder.h

agent/log.h:

agent/proc_cache.h:

agent/cgroup_identity.h:

agent/container_meta.h:

agent/perf_map.h:

agent/proc_maps.h:

agent/relabel.h:

agent/push_pyroscope.h:

agent/upload_batch.h:

agent/pprof_encode.h:

agent/profile_builder.h:

metrics_http.o: agent/metrics_http.c agent/log.h agent/metrics_http.h \
  agent/uploader.h agent/push_pyroscope.h agent/upload_batch.h \
  agent/pprof_encode.h agent/profile_builder.h agent/proc_cache.h \
  agent/cgroup_identity.h agent/container_meta.h agent/perf_map.h \
  agent/proc_maps.h agent/relabel.h

agent/log.h:

agent/metrics_http.h:

agent/uploader.h:

agent/push_pyroscope.h:

agent/upload_batch.h:

agent/pprof_encode.h:

agent/profile_builder.h:

agent/proc_cache.h:

agent/cgroup_identity.h:

agent/container_meta.h:

agent/perf_map.h:

agent/proc_maps.h:

agent/relabel.h:

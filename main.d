main.o: agent/main.c agent/caps.h agent/cli.h agent/config_file.h \
  agent/log.h agent/push_pyroscope.h agent/upload_batch.h \
  agent/pprof_encode.h agent/profile_builder.h agent/sampler.h \
  include/sampler_abi.h agent/collector.h agent/symbolize.h \
  agent/kallsyms.h agent/obj_cache.h agent/proc_maps.h \
  agent/symbolize_elf.h agent/proc_cache.h agent/cgroup_identity.h \
  agent/container_meta.h agent/perf_map.h agent/relabel.h \
  agent/metrics_http.h agent/uploader.h agent/output_local.h \
  agent/parse_util.h agent/preflight.h agent/sd_notify.h

agent/caps.h:

agent/cli.h:

agent/config_file.h:

agent/log.h:

agent/push_pyroscope.h:

agent/upload_batch.h:

agent/pprof_encode.h:

agent/profile_builder.h:

agent/sampler.h:

include/sampler_abi.h:

agent/collector.h:

agent/symbolize.h:

agent/kallsyms.h:

agent/obj_cache.h:

agent/proc_maps.h:

agent/symbolize_elf.h:

agent/proc_cache.h:

agent/cgroup_identity.h:

agent/container_meta.h:

agent/perf_map.h:

agent/relabel.h:

agent/metrics_http.h:

agent/uploader.h:

agent/output_local.h:

agent/parse_util.h:

agent/preflight.h:

agent/sd_notify.h:

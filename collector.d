collector.o: agent/collector.c agent/collector.h agent/profile_builder.h \
  agent/symbolize.h agent/kallsyms.h agent/obj_cache.h agent/proc_maps.h \
  agent/symbolize_elf.h agent/proc_cache.h agent/cgroup_identity.h \
  agent/container_meta.h agent/perf_map.h agent/relabel.h agent/log.h \
  agent/lru_cache.h include/sampler_abi.h

agent/collector.h:

agent/profile_builder.h:

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

agent/log.h:

agent/lru_cache.h:

include/sampler_abi.h:

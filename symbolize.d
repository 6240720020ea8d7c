symbolize.o: agent/symbolize.c agent/log.h agent/symbolize.h \
  agent/kallsyms.h agent/obj_cache.h agent/proc_maps.h \
  agent/symbolize_elf.h agent/proc_cache.h agent/cgroup_identity.h \
  agent/container_meta.h agent/perf_map.h agent/relabel.h \
  agent/profile_builder.h

agent/log.h:

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

agent/profile_builder.h:

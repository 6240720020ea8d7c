container_meta.o: agent/container_meta.c agent/container_meta.h \
  agent/log.h agent/lru_cache.h agent/proc_cache.h \
  agent/cgroup_identity.h agent/perf_map.h agent/proc_maps.h \
  agent/relabel.h

agent/container_meta.h:

agent/log.h:

agent/lru_cache.h:

agent/proc_cache.h:

agent/cgroup_identity.h:

agent/perf_map.h:

agent/proc_maps.h:

agent/relabel.h:

proc_cache.o: agent/proc_cache.c agent/log.h agent/lru_cache.h \
  agent/proc_cache.h agent/cgroup_identity.h agent/container_meta.h \
  agent/perf_map.h agent/proc_maps.h agent/relabel.h

agent/log.h:

agent/lru_cache.h:

agent/proc_cache.h:

agent/cgroup_identity.h:

agent/container_meta.h:

agent/perf_map.h:

agent/proc_maps.h:

agent/relabel.h:

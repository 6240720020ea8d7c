obj_cache.o: agent/obj_cache.c agent/log.h agent/lru_cache.h \
  agent/obj_cache.h agent/proc_maps.h agent/symbolize_elf.h

agent/log.h:

agent/lru_cache.h:

agent/obj_cache.h:

agent/proc_maps.h:

agent/symbolize_elf.h:

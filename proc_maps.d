proc_maps.o: agent/proc_maps.c agent/parse_util.h agent/proc_maps.h

agent/parse_util.h:

agent/proc_maps.h:

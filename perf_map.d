perf_map.o: agent/perf_map.c agent/log.h agent/parse_util.h \
  agent/perf_map.h

agent/log.h:

agent/parse_util.h:

agent/perf_map.h:

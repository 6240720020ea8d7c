kallsyms.o: agent/kallsyms.c agent/kallsyms.h agent/log.h \
  agent/parse_util.h

agent/kallsyms.h:

agent/log.h:

agent/parse_util.h:

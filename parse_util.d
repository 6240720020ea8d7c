parse_util.o: agent/parse_util.c agent/parse_util.h

agent/parse_util.h:

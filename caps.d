caps.o: agent/caps.c agent/caps.h

agent/caps.h:

relabel.o: agent/relabel.c agent/relabel.h

agent/relabel.h:

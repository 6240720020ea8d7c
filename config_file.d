config_file.o: agent/config_file.c agent/config_file.h

agent/config_file.h:

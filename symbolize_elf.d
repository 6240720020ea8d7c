symbolize_elf.o: agent/symbolize_elf.c agent/log.h agent/symbolize_elf.h

agent/log.h:

agent/symbolize_elf.h:

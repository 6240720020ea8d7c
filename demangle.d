demangle.o: agent/demangle.c agent/symbolize_elf.h

agent/symbolize_elf.h:

sd_notify.o: agent/sd_notify.c agent/parse_util.h agent/sd_notify.h

agent/parse_util.h:

agent/sd_notify.h:

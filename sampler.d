sampler.o: agent/sampler.c agent/log.h agent/sampler.h \
  include/sampler_abi.h build/sampler.skel.h

agent/log.h:

agent/sampler.h:

include/sampler_abi.h:

build/sampler.skel.h:

cgroup_identity.o: agent/cgroup_identity.c agent/cgroup_identity.h

agent/cgroup_identity.h:

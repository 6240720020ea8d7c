/* SPDX-License-Identifier: BSD-2-Clause */
/* What a process's cgroup says about it: container id and runtime, Kubernetes pod UID and QoS
 * class, systemd unit. Pure parsing of /proc/PID/cgroup text (v1, hybrid and v2). */
#ifndef STOKER_CGROUP_IDENTITY_H
#define STOKER_CGROUP_IDENTITY_H

#include <stddef.h>

struct cgroup_identity {
	char path[512];		/* the cgroup path the rest was read from */
	char container_id[65];	/* 64 lowercase hex (or 32 for some runtimes), "" if none */
	char runtime[16];	/* docker, containerd, crio, podman, "" */
	char pod_uid[37];	/* 8-4-4-4-12 with dashes, "" if none */
	char qos_class[16];	/* guaranteed, burstable, besteffort, "" */
	char systemd_unit[128]; /* e.g. nginx.service, "" */
};

/* Chooses the most specific path in a /proc/PID/cgroup text (the v2 line unless it is "/",
 * then name=systemd, then the first v1 line) and parses it. Returns 0 or -EINVAL when no
 * line parses. */
int cgroup_identity_from_proc(const char *text, size_t len, struct cgroup_identity *out);
/* Parses one cgroup path such as
 * /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope
 */
void cgroup_identity_from_path(const char *path, struct cgroup_identity *out);

#endif

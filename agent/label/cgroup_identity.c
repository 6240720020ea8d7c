/* SPDX-License-Identifier: BSD-2-Clause */
/* cgroup path parsing: segment by segment, recognising the names container runtimes, the
 * kubelet (cgroupfs and systemd drivers) and systemd give their cgroups, where only they can
 * have made them. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "label/cgroup_identity.h"

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return n > 0;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t l = strlen(suffix);

	return n >= l && memcmp(s + n - l, suffix, l) == 0;
}

/* <prefix><64 or 32 hex>[.scope] -> container id */
static bool match_container(const char *seg, size_t n, const char *prefix, const char *runtime,
			    struct cgroup_identity *out)
{
	size_t pl = strlen(prefix), idl;

	if (n <= pl || memcmp(seg, prefix, pl) != 0)
		return false;
	idl = n - pl;
	if (ends_with(seg, n, ".scope"))
		idl -= 6;
	if ((idl != 64 && idl != 32) || !all_hex(seg + pl, idl))
		return false;
	memcpy(out->container_id, seg + pl, idl);
	out->container_id[idl] = '\0';
	snprintf(out->runtime, sizeof(out->runtime), "%s", runtime);
	return true;
}

/* pod<uid>, with '-' (cgroupfs) or '_' (systemd driver) separators */
static bool match_pod(const char *seg, size_t n, struct cgroup_identity *out)
{
	const char *p = NULL;
	size_t l;

	/* "pod<uid>" or "...-pod<uid>.slice": the last "pod" that starts the name or follows '-' */
	for (size_t i = 0; i + 3 <= n; i++)
		if (!memcmp(seg + i, "pod", 3) && (i == 0 || seg[i - 1] == '-'))
			p = seg + i;
	if (!p)
		return false;
	p += 3;
	l = (size_t)(seg + n - p);
	if (ends_with(seg, n, ".slice"))
		l -= 6;
	if (l != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		char c = p[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? (c != '-' && c != '_') : !all_hex(&c, 1))
			return false;
		out->pod_uid[i] = dash ? '-' : c;
	}
	out->pod_uid[36] = '\0';
	return true;
}

/* The services whose subtree a container runtime (root) fills: containerd's systemd driver on
 * v1 nests pod slices under its own unit. */
static bool runtime_service(const char *seg, size_t n)
{
	static const char *const names[] = { "containerd.service", "docker.service",
					     "crio.service" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (n == strlen(names[i]) && !memcmp(seg, names[i], n))
			return true;
	return false;
}

/* Names are believed only where their place says systemd or a runtime made them: a segment
 * is trusted while every segment above it is a slice or a runtime's own cgroup. Below any
 * other unit (a user's user@UID.service, a delegated service, a container) whoever owns
 * that unit names the cgroups, so "nginx.service" or "docker-<hex>.scope" there says
 * nothing. */
void cgroup_identity_from_path(const char *path, struct cgroup_identity *out)
{
	static const struct {
		const char *prefix, *runtime;
	} scopes[] = {
		{ "docker-", "docker" },
		{ "cri-containerd-", "containerd" },
		{ "crio-", "crio" },
		{ "libpod-", "podman" },
	};
	const char *seg = path, *end;
	bool in_kubepods = false, in_docker = false, trusted = true;

	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", path);
	while (*seg && trusted) {
		size_t n;
		bool container = false, keep = false;

		while (*seg == '/' || *seg == ':')
			seg++;
		/* containerd's systemd driver on v1 writes "<pod slice>:cri-containerd:<id>" */
		end = strpbrk(seg, "/:");
		n = end ? (size_t)(end - seg) : strlen(seg);
		if (!n)
			break;
		/* a path relative to our cgroup namespace: the ancestors it skips are ours */
		if (n == 2 && !memcmp(seg, "..", 2)) {
			seg += 2;
			continue;
		}
		if (in_kubepods && n == 14 && !memcmp(seg, "cri-containerd", 14)) {
			snprintf(out->runtime, sizeof(out->runtime), "containerd");
			keep = true;
		}
		for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]) && !container; i++)
			container =
			    match_container(seg, n, scopes[i].prefix, scopes[i].runtime, out);
		/* cgroupfs drivers: /docker/<id>, /kubepods/<qos>/pod<uid>/<id> */
		if (!container && (in_docker || in_kubepods) && (n == 64) && all_hex(seg, n)) {
			memcpy(out->container_id, seg, n);
			out->container_id[n] = '\0';
			if (in_docker || !out->runtime[0])
				snprintf(out->runtime, sizeof(out->runtime), "%s",
					 in_docker ? "docker" : "containerd");
			container = true;
		}
		/* below a container, its own processes name the cgroups */
		if (container)
			break;
		if (n == 6 && !memcmp(seg, "docker", 6))
			in_docker = keep = true;
		if (n >= 8 && !memcmp(seg, "kubepods", 8))
			in_kubepods = true;
		if (in_kubepods && n >= 8 && memmem(seg, n, "kubepods", 8)) {
			keep = true;
			if (memmem(seg, n, "burstable", 9))
				strcpy(out->qos_class, "burstable");
			else if (memmem(seg, n, "besteffort", 10))
				strcpy(out->qos_class, "besteffort");
		}
		if (in_kubepods && (n == 9 && !memcmp(seg, "burstable", 9))) {
			strcpy(out->qos_class, "burstable");
			keep = true;
		}
		if (in_kubepods && (n == 10 && !memcmp(seg, "besteffort", 10))) {
			strcpy(out->qos_class, "besteffort");
			keep = true;
		}
		if (in_kubepods && match_pod(seg, n, out))
			keep = true;
		/* the outermost unit is the one systemd made; a container's own scope is the
		 * container, never a unit: handled above */
		if (ends_with(seg, n, ".service") && n < sizeof(out->systemd_unit) &&
		    !out->systemd_unit[0]) {
			memcpy(out->systemd_unit, seg, n);
			out->systemd_unit[n] = '\0';
		}
		trusted = keep || ends_with(seg, n, ".slice") || runtime_service(seg, n);
		if (!end)
			break;
		seg = end;
	}
	if (out->pod_uid[0] && !out->qos_class[0])
		strcpy(out->qos_class, "guaranteed");
	/* Inside a pod or a container, the node's units above it are not the process's unit. */
	if (out->container_id[0] || out->pod_uid[0])
		out->systemd_unit[0] = '\0';
}

int cgroup_identity_from_proc(const char *text, size_t len, struct cgroup_identity *out)
{
	const char *p = text, *end = text + len;
	char v2[512] = "", sysd[512] = "", first[512] = "";
	bool any = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *c1 = memchr(p, ':', l), *c2, *path;
		size_t pl;

		if (c1 && (c2 = memchr(c1 + 1, ':', (size_t)(p + l - c1 - 1)))) {
			path = c2 + 1;
			pl = (size_t)(p + l - path);
			if (pl && path[0] == '/' && pl < sizeof(v2)) {
				char *dst = NULL;

				if (c2 == c1 + 1 && c1 - p == 1 && p[0] == '0')
					dst = v2;
				else if ((size_t)(c2 - c1 - 1) == 12 &&
					 !memcmp(c1 + 1, "name=systemd", 12))
					dst = sysd;
				else if (!first[0] || (!strcmp(first, "/") && pl > 1))
					dst =
					    first; /* the first v1 hierarchy that is not the root */
				if (dst) {
					memcpy(dst, path, pl);
					dst[pl] = '\0';
					any = true;
				}
			}
		}
		p += l + (nl ? 1 : 0);
	}
	if (!any)
		return -EINVAL;
	if (v2[0] && strcmp(v2, "/") != 0)
		cgroup_identity_from_path(v2, out);
	else if (sysd[0] && strcmp(sysd, "/") != 0)
		cgroup_identity_from_path(sysd, out);
	else if (first[0])
		cgroup_identity_from_path(first, out);
	else
		cgroup_identity_from_path("/", out);
	return 0;
}

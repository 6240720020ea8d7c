/* SPDX-License-Identifier: BSD-2-Clause */
/* Pinned OpenTelemetry span map: bpf_obj_get by path, then its type, key and value sizes
 * checked against the layout the sampler's otel_traces_ctx map declares. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "log.h"
#include "trace_context_abi.h"
#include "trace_context_map.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static const char *map_type_name(uint32_t t)
{
	switch (t) {
	case BPF_MAP_TYPE_HASH:
		return "hash";
	case BPF_MAP_TYPE_LRU_HASH:
		return "lru_hash";
	case BPF_MAP_TYPE_ARRAY:
		return "array";
	case BPF_MAP_TYPE_PERCPU_HASH:
		return "percpu_hash";
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		return "lru_percpu_hash";
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return "percpu_array";
	default:
		return "another type";
	}
}

bool trace_context_map_layout_ok(uint32_t type, uint32_t key_size, uint32_t value_size, char *why,
				 size_t why_len)
{
	bool ok = (type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH) &&
		  key_size == sizeof(__u64) && value_size == sizeof(struct stoker_otel_span_ctx);

	if (ok)
		snprintf(why, why_len, "%s", "");
	else
		snprintf(why, why_len,
			 "expected a hash or lru_hash map with %zu-byte keys (pid_tgid) and "
			 "%zu-byte values (trace id 16 + span id 8), found %s (type %u) with "
			 "%u-byte keys and %u-byte values",
			 sizeof(__u64), sizeof(struct stoker_otel_span_ctx), map_type_name(type),
			 type, key_size, value_size);
	return ok;
}

int trace_context_map_open(const char *path, bool required)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char why[256];
	struct statfs sfs;
	int fd, err;

	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT && !required) {
			/* say whether bpffs is there at all: the usual reason nothing is */
			pr_debug("no OpenTelemetry span map at %s%s", path,
				 statfs("/sys/fs/bpf", &sfs) || sfs.f_type != BPF_FS_MAGIC
				     ? " (bpffs is not mounted at /sys/fs/bpf)"
				     : "");
			return err;
		}
		if (required)
			pr_err("--trace-context-map %s: cannot open the pinned map: %s%s", path,
			       strerror(-err),
			       err == -ENOENT ? " (nothing is pinned there)"
			       : err == -EINVAL
				   ? " (not a BPF pin: is bpffs mounted there, and is it a map?)"
				   : "");
		else
			pr_warn("cannot open the OpenTelemetry span map %s: %s; spans come only "
				"from the in-process ABI",
				path, strerror(-err));
		return err;
	}
	memset(&info, 0, sizeof(info));
	/* the generic call: libbpf 0.x has no bpf_map_get_info_by_fd */
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		err = -errno;
		if (required)
			pr_err("--trace-context-map %s: not a BPF map (%s)", path, strerror(-err));
		else
			pr_warn("%s is not a BPF map (%s); ignored", path, strerror(-err));
		goto fail;
	}
	if (!trace_context_map_layout_ok(info.type, info.key_size, info.value_size, why,
					 sizeof(why))) {
		err = -EINVAL;
		if (required)
			pr_err("--trace-context-map %s: wrong layout: %s", path, why);
		else
			pr_warn("OpenTelemetry span map %s has the wrong layout: %s; ignored", path,
				why);
		goto fail;
	}
	pr_info("reading span context from the OpenTelemetry map %s (%s, %u entries)", path,
		map_type_name(info.type), info.max_entries);
	return fd;
fail:
	close(fd);
	return err;
}

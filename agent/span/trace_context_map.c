/* SPDX-License-Identifier: BSD-2-Clause */
/* Pinned OpenTelemetry span map: bpf_obj_get by path (a named one is created and pinned when
 * missing), then its type, key and value sizes checked against otel_traces_ctx's layout. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "util/log.h"
#include "trace_context_abi.h"
#include "span/trace_context_map.h"

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

static bool on_bpffs(const char *dir)
{
	struct statfs sfs;

	return !statfs(dir, &sfs) && sfs.f_type == BPF_FS_MAGIC;
}

/* Creates the map with the OpenTelemetry eBPF instrumentation's definition (LRU hash,
 * 2^14 entries) and pins it at path, in a new 01700 directory if need be, as that spec asks
 * of whichever of the two starts first. Returns the fd, or -errno (-EEXIST: lost a race
 * with another creator, whose pin is then the one to open). */
static int create_and_pin(const char *path)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	char dir[PATH_MAX];
	char *slash;
	int fd, err;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return -EPERM; /* a pin cannot sit in / */
	*slash = '\0';
	if (!on_bpffs(dir)) {
		/* create one level only, and only inside bpffs: nothing is left behind elsewhere */
		char *up = strrchr(dir, '/');
		bool ok;

		if (!up || up == dir)
			return -EPERM;
		*up = '\0';
		ok = on_bpffs(dir);
		*up = '/';
		if (!ok)
			return -EPERM;
		if (mkdir(dir, 01700) && errno != EEXIST)
			return -errno;
	}
	fd =
	    bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "traces_ctx_v1", sizeof(__u64),
			   sizeof(struct stoker_otel_span_ctx), STOKER_OTEL_TRACES_MAP_ENTRIES, &o);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int trace_context_map_open(const char *path, bool required)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char why[256];
	struct statfs sfs;
	int fd, err;

	fd = bpf_obj_get(path);
	if (fd < 0 && errno == ENOENT && required) {
		/* named: the instrumentation may start after us and then reuses this pin */
		fd = create_and_pin(path);
		if (fd == -EEXIST)
			fd = bpf_obj_get(path);
		if (fd >= 0) {
			pr_info("created and pinned the OpenTelemetry span map %s (lru_hash, %u "
				"entries) for the instrumentation to fill",
				path, STOKER_OTEL_TRACES_MAP_ENTRIES);
			return fd;
		}
		errno = -fd;
	}
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
			pr_err("--trace-context-map %s: cannot open or create the pinned map: %s%s",
			       path, strerror(-err),
			       err == -ENOENT ? " (its directory is missing)"
			       : err == -EINVAL || err == -EPERM
				   ? " (not on a bpffs mount, or not a map)"
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

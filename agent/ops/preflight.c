/* SPDX-License-Identifier: BSD-2-Clause */
/* Preflight checks: each prints "ok", "warn" or "FAIL", what was found, and how to fix it;
 * BPF features are probed by loading, never inferred from the kernel version. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config/cli.h"
#include "ops/caps.h"
#include "ops/preflight.h"
#include "export/push_pyroscope.h"
#include "util/fileio.h"
#include "util/secret.h"
#include "object/obj_cache.h"
#include "proc/python_process.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

struct report {
	FILE *out;
	int fails, warns;
};

static void line(struct report *r, int level, const char *what, const char *found, const char *fix)
{
	static const char *const tags[] = { "ok  ", "warn", "FAIL" };

	fprintf(r->out, "[%s] %-22s %s\n", tags[level], what, found);
	if (level && fix && *fix)
		fprintf(r->out, "       fix: %s\n", fix);
	if (level == 1)
		r->warns++;
	if (level == 2)
		r->fails++;
}

static int read_int_file(const char *path, long *v)
{
	char buf[64];
	ssize_t n = read_small(path, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	if (n == 0)
		return -EIO;
	*v = strtol(buf, NULL, 10);
	return 0;
}

static void check_caps(struct report *r)
{
	static const struct {
		int cap;
		const char *name, *why;
	} caps[] = {
		{ CAP_BPF, "CAP_BPF", "load the BPF sampler and create its maps" },
		{ CAP_PERFMON, "CAP_PERFMON", "open perf events on every CPU and read stacks" },
		{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE", "read other processes' maps and mapped files" },
		{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", "open binaries other users own" },
	};
	bool sysadmin = caps_have(CAP_SYS_ADMIN);
	char found[160];

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		bool have = caps_have(caps[i].cap);
		bool covered =
		    !have && sysadmin && (caps[i].cap == CAP_BPF || caps[i].cap == CAP_PERFMON);

		snprintf(found, sizeof(found), "%s (%s)%s",
			 have	   ? "present"
			 : covered ? "covered by CAP_SYS_ADMIN"
				   : "missing",
			 caps[i].why, "");
		line(r, have || covered ? 0 : 2, caps[i].name, found,
		     "run as root, or grant it (systemd AmbientCapabilities=, Kubernetes "
		     "securityContext.capabilities.add)");
	}
}

/* Loads a tiny program of the given type: the feature exists iff the kernel accepts it. */
static bool probe_prog(enum bpf_prog_type type)
{
	return libbpf_probe_bpf_prog_type(type, NULL) == 1;
}

static void check_bpf(struct report *r)
{
	struct statfs sf;
	bool ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	bool perf_prog = probe_prog(BPF_PROG_TYPE_PERF_EVENT);
	bool raw_tp = probe_prog(BPF_PROG_TYPE_RAW_TRACEPOINT);
	bool get_stack =
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_get_stack, NULL) == 1;
	bool bpf_loop = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_loop, NULL) == 1;
	bool task_btf = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT,
						BPF_FUNC_get_current_task_btf, NULL) == 1;
	bool find_vma =
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_find_vma, NULL) == 1;

	line(r, perf_prog ? 0 : 2, "BPF perf_event progs", perf_prog ? "loadable" : "not loadable",
	     "needs CAP_BPF (or root) and a kernel with CONFIG_BPF_EVENTS");
	line(r, ringbuf ? 0 : 2, "BPF ring buffer", ringbuf ? "available" : "missing",
	     "needs Linux 5.8 or newer");
	line(r, get_stack ? 0 : 2, "bpf_get_stack", get_stack ? "available" : "missing",
	     "needs Linux 4.18 or newer");
	line(r, raw_tp ? 0 : 1, "raw tracepoints", raw_tp ? "available" : "missing",
	     "exec/exit tracking off: pid reuse may mislabel a process briefly");
	line(r, 0, "bpf_loop", bpf_loop ? "available" : "missing (not needed yet)", NULL);
	line(r, 0, "task BTF helpers", task_btf ? "available" : "missing (not needed yet)", NULL);
	line(r, find_vma ? 0 : 1, "bpf_find_vma",
	     find_vma ? "available: new processes unwind from their first sample" : "missing",
	     "needs Linux 5.17 or newer; until then a new process's samples taken before the "
	     "agent reads its maps walk by frame pointers");
	if (statfs("/sys/fs/bpf", &sf) == 0 && (unsigned long)sf.f_type == BPF_FS_MAGIC)
		line(r, 0, "bpffs", "mounted at /sys/fs/bpf", NULL);
	else
		line(r, 1, "bpffs", "not mounted at /sys/fs/bpf (only needed for pinned maps)",
		     "mount -t bpf bpf /sys/fs/bpf");
}

static void check_perf(struct report *r)
{
	struct perf_event_attr attr;
	char found[128];
	long paranoid = 0;
	int fd;

	if (read_int_file("/proc/sys/kernel/perf_event_paranoid", &paranoid) == 0) {
		snprintf(found, sizeof(found), "perf_event_paranoid = %ld%s", paranoid,
			 paranoid > 2 ? " (Debian: CAP_PERFMON or root still work)" : "");
		line(r, 0, "perf_event_paranoid", found, NULL);
	}
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.freq = 1;
	attr.sample_freq = 19;
	fd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		line(r, 0, "cpu-clock perf event", "opens on CPU 0", NULL);
	} else {
		snprintf(found, sizeof(found), "cannot open: %s", strerror(errno));
		line(r, 2, "cpu-clock perf event", found,
		     "grant CAP_PERFMON (or root), or lower /proc/sys/kernel/perf_event_paranoid");
	}
	attr.type = PERF_TYPE_HARDWARE;
	attr.config = PERF_COUNT_HW_CPU_CYCLES;
	fd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0)
		close(fd);
	line(r, 0, "hardware cycles event",
	     fd >= 0 ? "available" : "unavailable (cpu-clock is used)", NULL);
}

/* Which running processes are Python and whether their frames will be read. */
static void check_python(struct report *r)
{
	struct obj_cache *objs = obj_cache__new(NULL);
	struct python_census pc;
	char found[192];

	if (!objs || python_census(objs, &pc)) {
		line(r, 1, "python", "could not look at the running processes", NULL);
		obj_cache__free(objs);
		return;
	}
	obj_cache__free(objs);
	snprintf(found, sizeof(found),
		 "%u of %u processes run CPython: %u 3.11 (frames read), %u other versions "
		 "(native frames only)",
		 pc.supported + pc.unsupported, pc.processes, pc.supported, pc.unsupported);
	line(r, pc.unsupported ? 1 : 0, "python", found,
	     "only CPython 3.11 (Debian 12's) frames are read so far");
}

int preflight_run(const struct config *cfg, FILE *out)
{
	struct report r = { out, 0, 0 };
	struct utsname u;
	struct statfs sf;
	char found[256];

	fprintf(out, "stoker %s preflight\n", STOKER_VERSION);
	if (uname(&u) == 0) {
		snprintf(found, sizeof(found), "%s %s", u.release, u.machine);
		line(&r, strcmp(u.machine, "x86_64") ? 1 : 0, "kernel", found,
		     "only x86_64 is tested so far");
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		line(&r, 0, "kernel BTF", "/sys/kernel/btf/vmlinux", NULL);
	else
		line(&r, 2, "kernel BTF", "missing /sys/kernel/btf/vmlinux",
		     "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian, Ubuntu, RHEL 8.2+ "
		     "do)");
	check_caps(&r);
	check_perf(&r);
	check_bpf(&r);
	if (statfs("/sys/fs/cgroup", &sf) == 0 && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC)
		line(&r, 0, "cgroups", "v2 (unified)", NULL);
	else if (statfs("/sys/fs/cgroup/unified", &sf) == 0 &&
		 (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC)
		line(&r, 0, "cgroups", "hybrid (v2 at /sys/fs/cgroup/unified)", NULL);
	else
		line(&r, 0, "cgroups", "v1", NULL);
	if (access("/proc/kallsyms", R_OK) == 0)
		line(&r, 0, "kallsyms", "readable", NULL);
	else
		line(&r, 1, "kallsyms", "not readable: kernel frames keep addresses",
		     "run as root or set kernel.kptr_restrict=0");
	check_python(&r);
	if (cfg->noutputs == 0) {
		const struct pyroscope_client_opts *up = &cfg->upload.client;
		/* an unauthenticated GET of the root: no credentials, a short timeout */
		struct pyroscope_client_opts co = { .server_url = up->server_url,
						    .timeout_ns = 3000000000ull,
						    .tls_ca_file = up->tls_ca_file,
						    .tls_insecure_skip_verify =
							up->tls_insecure_skip_verify,
						    .tenant_id = up->tenant_id };
		struct pyroscope_client *c = pyroscope_client__new(&co);
		char url[512];
		long code = 0;

		if (c && pyroscope_client__probe(c, &code) == 0) {
			snprintf(found, sizeof(found), "%s answers (HTTP %ld)",
				 redact_url(up->server_url, url, sizeof(url)), code);
			line(&r, 0, "server", found, NULL);
		} else {
			snprintf(found, sizeof(found), "%s does not answer",
				 redact_url(up->server_url, url, sizeof(url)));
			line(
			    &r, 1, "server", found,
			    "start Pyroscope there or pass --server-url; windows wait in the spool "
			    "meanwhile");
		}
		pyroscope_client__free(c);
	}
	fprintf(out, "%s: %d failed, %d warnings\n",
		r.fails ? "profiling cannot work here" : "profiling can work here", r.fails,
		r.warns);
	return r.fails ? 1 : 0;
}

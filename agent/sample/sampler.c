/* SPDX-License-Identifier: BSD-2-Clause */
/* Sampler: the only user of sampler.skel.h. Configures rodata and map sizes between open and
 * load, opens one frequency-based perf event per online CPU and drains the ring buffer. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "util/clock.h"
#include "util/log.h"
#include "sample/ring_size.h"
#include "sample/sampler.h"
#include "sampler.skel.h"
#include "trace_context_abi.h"

struct sampler {
	struct sampler_opts opts;
	struct sampler_bpf *skel;
	struct ring_buffer *rb;
	int ncpus;
	int *pfds;
	struct bpf_link **links;
	const char *event_name;
	uint64_t drain_deadline_ns; /* sampler__drain_until: stop handing records after it */
	unsigned int drained;	    /* records handed in this drain */
};

static int perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu)
{
	return (int)syscall(__NR_perf_event_open, attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static int handle_record(void *ctx, void *data, size_t len)
{
	struct sampler *s = ctx;

	s->opts.on_record(data, len, s->opts.ctx);
	/* a negative return stops the consumer after this record, which counts as read */
	if (++s->drained % 32 == 0 && monotonic_ns() >= s->drain_deadline_ns)
		return -EAGAIN;
	return 0;
}

static size_t round_pow2(size_t v)
{
	size_t p = 4096;

	while (p < v && p < (1ul << 30))
		p <<= 1;
	return p;
}

static int open_events(struct sampler *s, bool cycles)
{
	struct perf_event_attr attr;
	int err;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = cycles ? PERF_TYPE_HARDWARE : PERF_TYPE_SOFTWARE;
	attr.config = cycles ? PERF_COUNT_HW_CPU_CYCLES : PERF_COUNT_SW_CPU_CLOCK;
	attr.freq = 1;
	attr.sample_freq = s->opts.sample_rate_hz;

	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		s->pfds[cpu] = perf_event_open(&attr, -1, cpu);
		if (s->pfds[cpu] < 0) {
			err = -errno;
			/* An offline CPU has nothing to sample. */
			if (err == -ENODEV)
				continue;
			return err;
		}
	}
	return 0;
}

static void close_events(struct sampler *s)
{
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		bpf_link__destroy(s->links[cpu]);
		s->links[cpu] = NULL;
		if (s->pfds[cpu] >= 0)
			close(s->pfds[cpu]);
		s->pfds[cpu] = -1;
	}
}

struct sampler *sampler__open(const struct sampler_opts *opts)
{
	struct sampler *s;
	size_t ring_bytes;
	int err = 0;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->opts = *opts;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		err = s->ncpus ? s->ncpus : -ENODEV;
		pr_err("failed to count CPUs: %s", strerror(-err));
		goto fail;
	}
	s->pfds = calloc((size_t)s->ncpus, sizeof(int));
	s->links = calloc((size_t)s->ncpus, sizeof(*s->links));
	if (!s->pfds || !s->links) {
		err = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < s->ncpus; i++)
		s->pfds[i] = -1;

	s->skel = sampler_bpf__open();
	if (!s->skel) {
		err = -errno;
		pr_err("failed to open BPF object: %s", strerror(-err));
		goto fail;
	}
	s->skel->rodata->include_idle = opts->include_idle;
	s->skel->rodata->want_kernel_stacks = opts->kernel_stacks;
	s->skel->rodata->filter_pids = opts->npids > 0;
	ring_bytes = opts->ringbuf_bytes
			 ? round_pow2(opts->ringbuf_bytes)
			 : ring_size_for((unsigned int)s->ncpus, opts->sample_rate_hz,
					 opts->drain_interval_ms ? opts->drain_interval_ms : 100);
	bpf_map__set_max_entries(s->skel->maps.events, (__u32)ring_bytes);
	pr_debug("ring buffer: %zu KiB", ring_bytes >> 10);
	if (opts->npids)
		bpf_map__set_max_entries(s->skel->maps.pid_filter, (__u32)opts->npids);
	s->skel->rodata->unwind_tables = opts->unwind_tables;
	s->skel->rodata->max_user_frames =
	    opts->max_user_frames && opts->max_user_frames < STOKER_MAX_STACK_DEPTH
		? opts->max_user_frames
		: STOKER_MAX_STACK_DEPTH;
	/* 5.15+: the user registers of a task sampled in kernel mode; older kernels walk only
	 * samples taken in user mode by table, the rest by frame pointers */
	s->skel->rodata->have_task_pt_regs =
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_task_pt_regs, NULL) > 0;
	/* 5.17+: a process sampled before the agent registered it walks its files' tables
	 * through the kernel's VMAs; older kernels walk it by frame pointers until then */
	s->skel->rodata->have_find_vma =
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_find_vma, NULL) > 0;
	bpf_map__set_max_entries(
	    s->skel->maps.unwind_rows,
	    opts->unwind_tables
		? (__u32)(opts->unwind_chunks ? opts->unwind_chunks : STOKER_UNWIND_DEFAULT_CHUNKS)
		: 1);
	if (!opts->unwind_tables) {
		/* nothing will be loaded: keep the maps minimal */
		bpf_map__set_max_entries(s->skel->maps.unwind_rules, 1);
		bpf_map__set_max_entries(s->skel->maps.unwind_pages, 1);
		bpf_map__set_max_entries(s->skel->maps.unwind_mappings, 1);
	}
	s->skel->rodata->want_span_context = opts->span_context;
	if (opts->span_context && opts->otel_map) {
		/* the pinned map replaces the placeholder; its layout was checked by the caller */
		err = bpf_map__reuse_fd(s->skel->maps.otel_traces_ctx, opts->otel_map_fd);
		if (err) {
			pr_err("failed to use the OpenTelemetry span map: %s", strerror(-err));
			goto fail;
		}
		s->skel->rodata->read_otel_traces = true;
	}

	err = sampler_bpf__load(s->skel);
	if (err) {
		pr_err(
		    "failed to load BPF programs: %s (needs CAP_BPF and CAP_PERFMON, or root, and "
		    "a kernel with BTF and BPF ring buffers, 5.8 or newer)",
		    strerror(-err));
		goto fail;
	}
	for (size_t i = 0; i < opts->npids; i++) {
		__u32 pid = (__u32)opts->pids[i];
		__u8 one = 1;

		err = bpf_map__update_elem(s->skel->maps.pid_filter, &pid, sizeof(pid), &one,
					   sizeof(one), BPF_ANY);
		if (err) {
			pr_err("failed to add pid %d to the filter: %s", opts->pids[i],
			       strerror(-err));
			goto fail;
		}
	}

	if (opts->on_loaded)
		opts->on_loaded(opts->loaded_ctx, s);

	s->event_name = "cpu-clock";
	if (opts->event == SAMPLER_EVENT_CYCLES) {
		err = open_events(s, true);
		if (err == 0) {
			s->event_name = "cycles";
		} else {
			pr_warn("hardware cycles event unavailable (%s); falling back to cpu-clock",
				strerror(-err));
			close_events(s);
		}
	}
	if (strcmp(s->event_name, "cycles") != 0) {
		err = open_events(s, false);
		if (err) {
			pr_err("failed to open cpu-clock perf events: %s (check "
			       "/proc/sys/kernel/perf_event_paranoid and CAP_PERFMON)",
			       strerror(-err));
			goto fail;
		}
	}
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		if (s->pfds[cpu] < 0)
			continue;
		s->links[cpu] =
		    bpf_program__attach_perf_event(s->skel->progs.on_cpu_sample, s->pfds[cpu]);
		if (!s->links[cpu]) {
			err = -errno;
			pr_err("failed to attach sampler to CPU %d: %s", cpu, strerror(-err));
			goto fail;
		}
	}
	err = sampler_bpf__attach(s->skel);
	if (err) {
		pr_err("failed to attach exec/exit tracepoints: %s", strerror(-err));
		goto fail;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), handle_record, s, NULL);
	if (!s->rb) {
		err = -errno;
		pr_err("failed to open ring buffer: %s", strerror(-err));
		goto fail;
	}
	return s;
fail:
	sampler__close(s);
	errno = -err;
	return NULL;
}

void sampler__close(struct sampler *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	if (s->pfds && s->links)
		close_events(s);
	sampler_bpf__destroy(s->skel);
	free(s->pfds);
	free(s->links);
	free(s);
}

int sampler__fd(const struct sampler *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

int sampler__drain(struct sampler *s)
{
	return sampler__drain_until(s, UINT64_MAX);
}

int sampler__drain_until(struct sampler *s, uint64_t deadline_ns)
{
	s->drain_deadline_ns = deadline_ns;
	s->drained = 0;
	return ring_buffer__consume(s->rb);
}

int sampler__read_stats(struct sampler *s, uint64_t *out)
{
	int ncpu = s->ncpus;
	__u64 *vals = calloc((size_t)ncpu, sizeof(__u64));
	int err = 0;

	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < STOKER_STAT_MAX; i++) {
		out[i] = 0;
		err = bpf_map__lookup_elem(s->skel->maps.stats, &i, sizeof(i), vals,
					   sizeof(__u64) * (size_t)ncpu, 0);
		if (err)
			break;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return err;
}

int sampler__skip_pid(struct sampler *s, int pid, bool skip)
{
	__u32 key = (__u32)pid;
	__u8 one = 1;

	if (skip)
		return bpf_map__update_elem(s->skel->maps.pid_skip, &key, sizeof(key), &one,
					    sizeof(one), BPF_ANY);
	bpf_map__delete_elem(s->skel->maps.pid_skip, &key, sizeof(key), 0);
	return 0;
}

int sampler__set_span_proc(struct sampler *s, int pid, uint64_t addr)
{
	struct stoker_span_proc v = { .tp_offset_addr = addr };
	__u32 key = (__u32)pid;
	int err;

	if (addr)
		return bpf_map__update_elem(s->skel->maps.span_procs, &key, sizeof(key), &v,
					    sizeof(v), BPF_ANY);
	err = bpf_map__delete_elem(s->skel->maps.span_procs, &key, sizeof(key), 0);
	return err == -ENOENT ? 0 : err;
}

int sampler__set_python_proc(struct sampler *s, int pid, const struct stoker_py_proc *v)
{
	__u32 key = (__u32)pid;
	int err;

	if (v)
		return bpf_map__update_elem(s->skel->maps.py_procs, &key, sizeof(key), v,
					    sizeof(*v), BPF_ANY);
	err = bpf_map__delete_elem(s->skel->maps.py_procs, &key, sizeof(key), 0);
	return err == -ENOENT ? 0 : err;
}

const char *sampler__event_name(const struct sampler *s)
{
	return s->event_name;
}

void sampler__unwind_maps(const struct sampler *s, struct sampler_unwind_maps *out)
{
	out->rows_fd = out->rules_fd = out->pages_fd = out->mappings_fd = out->files_fd = -1;
	out->chunks = 0;
	if (!s->opts.unwind_tables)
		return;
	out->rows_fd = bpf_map__fd(s->skel->maps.unwind_rows);
	out->rules_fd = bpf_map__fd(s->skel->maps.unwind_rules);
	out->pages_fd = bpf_map__fd(s->skel->maps.unwind_pages);
	out->mappings_fd = bpf_map__fd(s->skel->maps.unwind_mappings);
	out->files_fd = bpf_map__fd(s->skel->maps.unwind_files);
	out->chunks = bpf_map__max_entries(s->skel->maps.unwind_rows);
}

int sampler__ncpus(const struct sampler *s)
{
	return s->ncpus;
}

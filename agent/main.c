/* SPDX-License-Identifier: BSD-2-Clause */
/* stoker's entry point: owns the agent's context (every long-lived object), the event loop,
 * signal handling and the final flush. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "cli.h"
#include "collector.h"
#include "kallsyms.h"
#include "log.h"
#include "obj_cache.h"
#include "output_local.h"
#include "parse_util.h"
#include "proc_cache.h"
#include "profile_builder.h"
#include "sampler.h"
#include "symbolize.h"

#define DRAIN_INTERVAL_MS 100

struct agent {
	struct config cfg;
	struct sampler *sampler;
	struct proc_cache *procs;
	struct obj_cache *objs;
	struct kallsyms *ksyms;
	struct symbolizer sz;
	struct profile_builder pb;
	struct collector col;
	int sigfd, epfd;
	uint64_t start_mono_ns;
	int64_t start_wall_ns;
	bool stop;
};

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level l = level == LIBBPF_WARN ? LOG_WARN :
			   level == LIBBPF_INFO ? LOG_DEBUG : LOG_DEBUG + 1;

	if (l <= LOG_DEBUG)
		log_vmsg(l, fmt, ap);
	return 0;
}

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int setup_signals(struct agent *a)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	a->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (a->sigfd < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int setup(struct agent *a)
{
	struct sampler_opts so = { 0 };
	struct profile_builder_opts po = { 0 };
	struct collector_opts co = { 0 };
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	a->sigfd = a->epfd = -1;
	err = setup_signals(a);
	if (err) {
		pr_err("failed to set up signal handling: %s", strerror(-err));
		return err;
	}
	a->procs = proc_cache__new(NULL);
	a->objs = obj_cache__new(NULL);
	if (!a->procs || !a->objs)
		return -ENOMEM;
	a->ksyms = kallsyms__load("/proc/kallsyms");
	if (!a->ksyms)
		pr_warn("failed to load /proc/kallsyms: %s; kernel frames keep their addresses",
			strerror(errno));
	a->sz.procs = a->procs;
	a->sz.objs = a->objs;
	a->sz.ksyms = a->ksyms;
	po.max_samples = a->cfg.max_samples;
	err = profile_builder__init(&a->pb, &po);
	if (err)
		return err;
	co.pid_labels = true;
	err = collector__init(&a->col, &co, &a->sz, &a->pb);
	if (err)
		return err;

	so.sample_rate_hz = a->cfg.sample_rate_hz;
	so.event = a->cfg.event;
	so.include_idle = a->cfg.include_idle;
	so.kernel_stacks = a->cfg.kernel_stacks;
	so.pids = a->cfg.pids;
	so.npids = a->cfg.npids;
	so.ringbuf_bytes = a->cfg.ringbuf_bytes;
	so.on_record = collector__on_record;
	so.ctx = &a->col;
	a->sampler = sampler__open(&so);
	if (!a->sampler)
		return -errno;

	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a->epfd < 0)
		return -errno;
	ev.data.fd = a->sigfd;
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->sigfd, &ev))
		return -errno;
	ev.data.fd = sampler__fd(a->sampler);
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	a->start_mono_ns = monotonic_ns();
	a->start_wall_ns = wall_ns();
	pr_info("sampling %s at %u Hz on %d CPUs%s", sampler__event_name(a->sampler),
		a->cfg.sample_rate_hz, sampler__ncpus(a->sampler),
		a->cfg.npids ? " (selected pids only)" : "");
	return 0;
}

static void handle_signal(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->sigfd, &si, sizeof(si)) == sizeof(si)) {
		pr_info("received %s, flushing and exiting", strsignal((int)si.ssi_signo));
		a->stop = true;
	}
}

static int run_loop(struct agent *a)
{
	struct epoll_event evs[4];
	int n, err;

	while (!a->stop) {
		uint64_t now = monotonic_ns();
		int timeout = DRAIN_INTERVAL_MS;

		if (a->cfg.duration_ns) {
			uint64_t end = a->start_mono_ns + a->cfg.duration_ns;

			if (now >= end)
				break;
			if ((end - now) / 1000000 < (uint64_t)timeout)
				timeout = (int)((end - now) / 1000000) + 1;
		}
		n = epoll_wait(a->epfd, evs, 4, timeout);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			pr_err("failed to wait for events: %s", strerror(-err));
			return err;
		}
		for (int i = 0; i < n; i++)
			if (evs[i].data.fd == a->sigfd)
				handle_signal(a);
		/* Drain on every wakeup and every tick: the BPF side wakes us only when the ring
		 * is filling up. */
		err = sampler__drain(a->sampler);
		if (err < 0 && err != -EINTR)
			pr_warn_ratelimited("failed to drain the ring buffer: %s", strerror(-err));
	}
	sampler__drain(a->sampler);
	return 0;
}

static void report(struct agent *a)
{
	uint64_t bs[STOKER_STAT_MAX] = { 0 };
	struct obj_cache_stats os;
	struct proc_cache_stats ps;

	sampler__read_stats(a->sampler, bs);
	obj_cache__stats(a->objs, &os);
	proc_cache__stats(a->procs, &ps);
	pr_info("samples: %llu recorded, %llu received, %llu dropped (ring buffer full), %llu "
		"dropped (window full), %llu exec/exit events lost",
		(unsigned long long)bs[STOKER_STAT_SAMPLES], (unsigned long long)a->col.st.samples,
		(unsigned long long)bs[STOKER_STAT_DROP_RINGBUF_FULL],
		(unsigned long long)a->col.st.samples_dropped_full,
		(unsigned long long)bs[STOKER_STAT_EVENTS_DROPPED]);
	pr_info("symbols: %llu frames, %llu named, %llu unnamed, %llu outside any mapping; %llu "
		"files loaded (%llu failed), %llu processes seen",
		(unsigned long long)a->sz.st.frames, (unsigned long long)a->sz.st.named,
		(unsigned long long)(a->sz.st.unnamed + a->sz.st.kernel_unnamed),
		(unsigned long long)a->sz.st.no_mapping, (unsigned long long)os.loads,
		(unsigned long long)os.load_failures, (unsigned long long)ps.created);
}

static int write_outputs(struct agent *a)
{
	struct pprof_meta meta;
	char subtitle[160], dur[32];
	uint64_t elapsed = monotonic_ns() - a->start_mono_ns;
	int err = 0;

	meta.period_ns = 1000000000ull / a->cfg.sample_rate_hz;
	meta.time_nanos = a->start_wall_ns;
	meta.duration_nanos = (int64_t)elapsed;
	format_duration(elapsed, dur, sizeof(dur));
	snprintf(subtitle, sizeof(subtitle), "%s at %u Hz, %s, %llu samples",
		 sampler__event_name(a->sampler), a->cfg.sample_rate_hz, dur,
		 (unsigned long long)a->pb.total_count);
	for (size_t i = 0; i < a->cfg.noutputs; i++) {
		int e = output_local_write(&a->cfg.outputs[i], &a->pb, &meta, subtitle);

		if (e)
			err = e;
		else
			pr_info("wrote %s", a->cfg.outputs[i].path);
	}
	if (a->cfg.top)
		output_print_top(stdout, &a->pb, a->cfg.top);
	return err;
}

static void teardown(struct agent *a)
{
	sampler__close(a->sampler);
	collector__destroy(&a->col);
	profile_builder__destroy(&a->pb);
	kallsyms__free(a->ksyms);
	obj_cache__free(a->objs);
	proc_cache__free(a->procs);
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->sigfd >= 0)
		close(a->sigfd);
}

int main(int argc, char **argv)
{
	struct agent a;
	int err;

	memset(&a, 0, sizeof(a));
	a.sigfd = a.epfd = -1;
	config_defaults(&a.cfg);
	if (cli_parse(argc, argv, &a.cfg))
		return 2;
	if (a.cfg.show_help) {
		cli_usage(stdout);
		return 0;
	}
	if (a.cfg.show_version) {
		printf("stoker %s\n", STOKER_VERSION);
		return 0;
	}
	log_set_level(a.cfg.log_level);
	libbpf_set_print(libbpf_log);
	if (!a.cfg.noutputs) {
		fprintf(stderr, "stoker: no --output given: uploading to a server is not available "
				"in this build; use --output FILE\n");
		return 2;
	}

	err = setup(&a);
	if (!err)
		err = run_loop(&a);
	if (a.sampler) {
		report(&a);
		if (write_outputs(&a) && !err)
			err = -EIO;
	}
	teardown(&a);
	return err ? 1 : 0;
}

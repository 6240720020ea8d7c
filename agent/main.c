/* SPDX-License-Identifier: BSD-2-Clause */
/* stoker's entry point: owns the agent's context (every long-lived object), the event loop,
 * signal handling and the final flush. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <curl/curl.h>

#include "util/clock.h"
#include "ops/caps.h"
#include "config/cli.h"
#include "config/config_file.h"
#include "sample/collector.h"
#include "label/container_meta.h"
#include "symbolize/kallsyms.h"
#include "util/fileio.h"
#include "util/log.h"
#include "ops/counters.h"
#include "ops/metrics_http.h"
#include "object/obj_cache.h"
#include "export/output_local.h"
#include "util/parse_util.h"
#include "util/secret.h"
#include "ops/preflight.h"
#include "proc/proc_cache.h"
#include "profile/pprof_encode.h"
#include "profile/profile_builder.h"
#include "sample/sampler.h"
#include "ops/sd_notify.h"
#include "span/span_context.h"
#include "proc/python_process.h"
#include "symbolize/python_frames.h"
#include "symbolize/symbolize.h"
#include "unwind/unwind_loader.h"
#include "unwind/unwind_table_cmd.h"
#include "trace_context_abi.h"
#include "span/trace_context_map.h"
#include "export/upload_batch.h"
#include "export/uploader.h"

#define SERVICE_ACCOUNT_CA "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

#define DRAIN_INTERVAL_MS 100
/* Unwind tables are built in slices this long (one table at least) between drains: an exec
 * event waits for one table, not for a turn's worth of them (up to 95 ms under a storm of
 * new processes, whose samples until then have no tables). */
#define BUILD_SLICE_MS 5
/* What is left in the ring at the end is read for at most this long: a saturated host must
 * not stretch --duration or a shutdown. */
#define FINAL_DRAIN_MS 500

struct agent {
	struct config cfg;
	struct sampler *sampler;
	struct unwind_loader *unwind; /* NULL with --unwind fp */
	struct proc_cache *procs;
	struct obj_cache *objs;
	struct kallsyms *ksyms;
	struct debuginfod_fetch *fetch; /* NULL without --debuginfod-urls */
	struct symbolizer sz;
	struct profile_builder pb;
	struct collector col;
	struct span_context *spans; /* NULL with --span-labels=false */
	struct python_procs *pyprocs;
	struct python_frames *pyframes;
	bool otel_map_used; /* BPF reads an OpenTelemetry span map too */
	int sigfd, epfd;
	uint64_t start_mono_ns;
	int64_t start_wall_ns;
	bool stop;
	/* continuous mode */
	bool push_mode;
	struct uploader *uploader;
	struct metrics_http *metrics;
	uint64_t window_start_mono_ns;
	int64_t window_start_wall_ns;
	struct window_stats win;
	uint64_t last_status_log_ns;
	uint64_t last_lines_sweep_ns;
	uint64_t watchdog_ns, last_watchdog_ns; /* systemd watchdog: ping every half interval */
	char *basic_password, *bearer_token;
	char host_name[256];
	char scratch_tmp[40]; /* this run's own scratch directory, removed at exit; "" none */
	struct config_args file_args;	/* strings the start-up config points into */
	struct config_args reload_args; /* and those of the last SIGHUP's settings */
	int argc;
	char **argv;
	bool reload;
	struct upload_stats upload_totals; /* carried across reloads */
	struct relabel_rule rules[CLI_MAX_RULES];
	size_t nrules;
	struct container_meta *meta;
	char kubelet_url[512], pods_url[1024];
};

/* Reads the secret a flag names, when it names one. */
static int read_secret_flag(const char *flag, const char *path, char **out)
{
	int err;

	if (!path)
		return 0;
	err = read_secret(path, out);
	if (err)
		pr_err("failed to read %s %s: %s", flag, path, strerror(-err));
	return err;
}

static int setup_push(struct agent *a)
{
	char url[512];
	struct uploader_opts uo;
	int err;

	err = read_secret_flag("--basic-auth-password-file", a->cfg.basic_auth_password_file,
			       &a->basic_password);
	if (err)
		return err;
	err = read_secret_flag("--bearer-token-file", a->cfg.bearer_token_file, &a->bearer_token);
	if (err)
		return err;
	if (a->cfg.upload.client.tls_insecure_skip_verify)
		pr_warn("--tls-insecure-skip-verify: the server's certificate is NOT verified; "
			"anyone on the path can read and alter profiles and credentials");
	if (gethostname(a->host_name, sizeof(a->host_name) - 1))
		a->host_name[0] = '\0';
	uo = a->cfg.upload;
	uo.client.basic_password = a->basic_password;
	uo.client.bearer_token = a->bearer_token;
	uo.client.headers = a->cfg.headers;
	uo.client.user_agent = "stoker/" STOKER_VERSION;
	if (uo.spool_dir && !*uo.spool_dir)
		uo.spool_dir = NULL; /* --spool-dir "" */
	uo.initial = &a->upload_totals;
	a->uploader = uploader__start(&uo);
	if (!a->uploader) {
		err = -errno;
		pr_err("failed to start the uploader: %s", strerror(-err));
		return err;
	}
	if (a->cfg.metrics_addr) {
		a->metrics = metrics_http__start(a->cfg.metrics_addr);
		if (!a->metrics)
			return -errno;
	}
	pr_info("pushing to %s (%s API) every %llu s",
		redact_url(a->cfg.upload.client.server_url, url, sizeof(url)),
		a->cfg.upload.client.api == SERVER_API_PUSH ? "push" : "ingest",
		(unsigned long long)(a->cfg.upload_interval_ns / 1000000000ull));
	return 0;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level l = level == LIBBPF_WARN	  ? LOG_WARN
			   : level == LIBBPF_INFO ? LOG_DEBUG
						  : LOG_DEBUG + 1;

	if (l <= LOG_DEBUG)
		log_vmsg(l, fmt, ap);
	return 0;
}

static int setup_signals(struct agent *a)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	a->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (a->sigfd < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Compiles the configured relabel rules (already validated by the flag parser). */
static int compile_rules(const struct config *cfg, struct relabel_rule *rules, size_t *n)
{
	char why[256];

	*n = 0;
	for (size_t i = 0; i < cfg->nrules; i++) {
		if (relabel_rule__parse(cfg->relabel_rules[i], &rules[i], why, sizeof(why))) {
			pr_err("invalid relabel rule %zu: %s", i, why);
			relabel_rule__free(&rules[i]);
			while (i--)
				relabel_rule__free(&rules[i]);
			return -EINVAL;
		}
		(*n)++;
	}
	return 0;
}

static void free_rules(struct relabel_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		relabel_rule__free(&rules[i]);
}

/* This node's pods from the API server: a service account needs only pods list access
 * (a kubelet's /pods needs nodes/proxy, which reaches every kubelet API), and the server's
 * certificate is always checked against the cluster's CA before the token is sent. */
static void api_server_pods(struct agent *a, struct container_meta_opts *mo)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *node = getenv("NODE_NAME");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");

	mo->kubelet_url = NULL;
	if (!host || !*host || !node || !*node ||
	    strspn(node, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(node)) {
		pr_warn("pods go without Kubernetes labels: KUBERNETES_SERVICE_HOST or NODE_NAME "
			"(a node name) is not set; set them or pass --kubelet-url");
		return;
	}
	snprintf(a->kubelet_url, sizeof(a->kubelet_url), "https://%s%s%s:%s",
		 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
		 port && *port ? port : "443");
	snprintf(a->pods_url, sizeof(a->pods_url),
		 "%s/api/v1/pods?fieldSelector=spec.nodeName%%3D%s", a->kubelet_url, node);
	mo->kubelet_url = a->kubelet_url;
	mo->pods_url = a->pods_url;
	mo->k8s_verify = true;
}

/* Kubernetes when asked, or when the in-cluster service account is there; Docker when asked,
 * or when its socket exists. Neither being reachable only means fewer labels. */
static int setup_meta(struct agent *a)
{
	char url[512];
	struct container_meta_opts mo = a->cfg.meta;
	bool k8s = a->cfg.kubernetes == 1 ||
		   (a->cfg.kubernetes == -1 && getenv("KUBERNETES_SERVICE_HOST") &&
		    access(mo.k8s_token_file, R_OK) == 0);

	if (!mo.docker_socket && access("/var/run/docker.sock", F_OK) == 0)
		mo.docker_socket = "/var/run/docker.sock";
	if (mo.docker_socket && !*mo.docker_socket)
		mo.docker_socket = NULL;
	if (!k8s)
		mo.kubelet_url = NULL;
	else if (!mo.kubelet_url)
		api_server_pods(a, &mo);
	if (mo.kubelet_url && !mo.k8s_ca_file && access(SERVICE_ACCOUNT_CA, R_OK) == 0)
		mo.k8s_ca_file = SERVICE_ACCOUNT_CA;
	if (!mo.kubelet_url && !mo.docker_socket)
		return 0;
	a->meta = container_meta__new(&mo);
	if (!a->meta)
		return -ENOMEM;
	pr_info("container metadata from%s%s%s%s",
		!mo.kubelet_url ? ""
		: mo.pods_url	? " the API server at "
				: " the kubelet at ",
		mo.kubelet_url ? redact_url(mo.kubelet_url, url, sizeof(url)) : "",
		mo.docker_socket ? " Docker at " : "", mo.docker_socket ? mo.docker_socket : "");
	return 0;
}

static void skip_pid(void *ctx, int pid, bool skip)
{
	struct agent *a = ctx;

	if (a->sampler)
		sampler__skip_pid(a->sampler, pid, skip);
}

static void unwind_hint(void *ctx, int pid, uint32_t flags)
{
	struct agent *a = ctx;
	struct proc *p;

	if (!a->unwind)
		return;
	if (!(flags & ~COLLECTOR_HINT_EXEC)) {
		unwind_loader__forget(a->unwind, pid);
		if (!flags)
			return;
	}
	/* after a sample the collector looked the process up just before: this finds it; after
	 * an exec it reads the new image's mappings, registered before the first sample */
	p = proc_cache__lookup(a->procs, pid, NULL);
	if (p && flags == COLLECTOR_HINT_EXEC)
		unwind_loader__on_exec(a->unwind, p);
	else if (p)
		unwind_loader__on_sample(a->unwind, p, flags);
}

static int publish_python_proc(void *ctx, int pid, const struct stoker_py_proc *v)
{
	struct agent *a = ctx;

	return a->sampler ? sampler__set_python_proc(a->sampler, pid, v) : -EAGAIN;
}

static int publish_span_proc(void *ctx, int pid, uint64_t addr)
{
	struct agent *a = ctx;

	return a->sampler ? sampler__set_span_proc(a->sampler, pid, addr) : -EAGAIN;
}

/* --pid processes are searched for the trace-context ABI and a Python interpreter before
 * sampling starts, not at their first sample: samples taken before that would go without
 * their spans and Python frames. */
static void prime_pids(void *ctx, struct sampler *s)
{
	struct agent *a = ctx;

	/* for publish_span_proc and publish_python_proc; sampler__open returns this pointer */
	a->sampler = s;
	for (size_t i = 0; i < a->cfg.sampler.npids; i++) {
		struct proc *p = proc_cache__lookup(a->procs, a->cfg.pids[i], NULL);

		if (p && a->spans)
			span_context__on_sample(a->spans, a->procs, p);
		if (p && a->pyprocs)
			python_procs__on_sample(a->pyprocs, a->procs, p);
	}
}

/* The maps exist, no sample has been taken: what must be in them from the first sample. */
static void on_sampler_loaded(void *ctx, struct sampler *s)
{
	struct agent *a = ctx;

	prime_pids(ctx, s);
	if (a->cfg.sampler.unwind_tables) {
		struct unwind_loader_opts uo = { 0 };

		sampler__unwind_maps(s, &uo.maps);
		uo.procs = a->procs;
		a->unwind = unwind_loader__new(&uo);
		if (!a->unwind)
			pr_warn("unwind tables unavailable (%s): user stacks use frame pointers",
				strerror(errno));
	}
	/* --pid processes are known now: registered before their first sample */
	for (size_t i = 0; a->unwind && i < a->cfg.sampler.npids; i++) {
		struct proc *p = proc_cache__lookup(a->procs, a->cfg.pids[i], NULL);

		if (p)
			unwind_loader__scan(a->unwind, p);
	}
}

/* The in-process ABI always (with --span-labels); the OpenTelemetry map when one is pinned
 * at the default path or named. A named map that cannot be used is a startup error. */
static int setup_spans(struct agent *a, struct sampler_opts *so)
{
	struct span_context_opts sco = { 0 };
	const char *path = a->cfg.trace_context_map;
	int fd;

	if (!a->cfg.span_labels) {
		if (path)
			pr_warn("--trace-context-map %s ignored: --span-labels=false", path);
		return 0;
	}
	sco.objs = a->objs;
	sco.publish = publish_span_proc;
	sco.ctx = a;
	a->spans = span_context__new(&sco);
	if (!a->spans)
		return -ENOMEM;
	so->span_context = true;
	fd = trace_context_map_open(path ? path : STOKER_OTEL_TRACES_MAP_DEFAULT, path != NULL);
	if (fd < 0)
		return path ? fd : 0;
	so->otel_map = true;
	a->otel_map_used = true;
	so->otel_map_fd = fd;
	return 0;
}

/* Python processes are found as they are sampled; their frames are named by the symbolizer. */
static int setup_python(struct agent *a)
{
	struct python_procs_opts po = { .objs = a->objs, .publish = publish_python_proc, .ctx = a };

	a->pyprocs = python_procs__new(&po);
	a->pyframes = python_frames__new(NULL);
	if (!a->pyprocs || !a->pyframes)
		return -ENOMEM;
	a->sz.pyprocs = a->pyprocs;
	a->sz.pyframes = a->pyframes;
	return 0;
}

/* Debug files by build-id when servers are named: lines come without them, so a fetcher
 * that cannot start only costs the lines it would have brought. */
static void setup_fetch(struct agent *a)
{
	const char *urls = a->cfg.debuginfod.urls;

	if (!urls || !*urls || !a->cfg.lines) {
		/* only the flag turns fetching on: nothing the agent links may do it on its
		 * own because the service's environment says so */
		unsetenv("DEBUGINFOD_URLS");
		return;
	}
	a->fetch = debuginfod_fetch__new(&a->cfg.debuginfod);
	if (!a->fetch) {
		pr_warn("failed to set up fetching debug files into %s: %s; frames without "
			"local debug files have no lines",
			a->cfg.debuginfod.cache_dir,
			errno == EPERM ? "not a directory of the agent's user with mode 0700"
				       : strerror(errno));
		return;
	}
	pr_info("fetching missing debug files from %s into %s", urls, a->cfg.debuginfod.cache_dir);
}

/* Where DWARF is copied to: a directory of the agent's own (the configured one, else a fresh
 * one for this run), else the heap. */
static void setup_scratch(struct agent *a)
{
	const char *dir = a->cfg.scratch_dir;
	int err;

	a->sz.lines_opts.dwarf.max_parsed_bytes = a->cfg.lines_memory_bytes;
	if (!a->cfg.lines || !dir || !*dir)
		return;
	err = make_private_dir(dir);
	if (err) {
		/* e.g. the systemd unit's DynamicUser owns /var/cache/stoker and root runs stoker
		 * by hand: a fresh directory of its own for this run, mkdtemp's, is as safe */
		snprintf(a->scratch_tmp, sizeof(a->scratch_tmp), "/var/tmp/stoker-scratch-XXXXXX");
		if (!mkdtemp(a->scratch_tmp))
			a->scratch_tmp[0] = '\0';
		pr_warn("scratch directory %s: %s; %s%s", dir,
			err == -EPERM ? "not a directory of the agent's user with mode 0700"
				      : strerror(-err),
			a->scratch_tmp[0] ? "using this run's own " : "",
			a->scratch_tmp[0] ? a->scratch_tmp
					  : "compressed debug sections are decompressed in memory");
		if (!a->scratch_tmp[0])
			return;
		dir = a->scratch_tmp;
	}
	a->sz.lines_opts.dwarf.scratch_dir = dir;
}

static int setup(struct agent *a)
{
	struct sampler_opts so = a->cfg.sampler;
	struct collector_opts co = { 0 };
	struct proc_cache_opts pco = { 0 };
	struct epoll_event ev = { .events = EPOLLIN };
	char missing[64];
	int err;

	a->sigfd = a->epfd = -1;
	err = setup_signals(a);
	if (err) {
		pr_err("failed to set up signal handling: %s", strerror(-err));
		return err;
	}
	/* before any thread starts: the fetcher sets libdebuginfod's environment */
	setup_fetch(a);
	setup_scratch(a);
	err = compile_rules(&a->cfg, a->rules, &a->nrules);
	if (err)
		return err;
	err = setup_meta(a);
	if (err)
		return err;
	pco.meta = a->meta;
	pco.rules = a->rules;
	pco.nrules = a->nrules;
	a->objs =
	    obj_cache__new(&(struct obj_cache_opts){ .max_bytes = a->cfg.symbol_cache_bytes,
						     .max_file_bytes = a->cfg.symbol_file_bytes,
						     .lines = a->cfg.lines });
	pco.objs = a->objs;
	pco.max_bytes = a->cfg.process_cache_bytes;
	a->procs = proc_cache__new(&pco);
	if (!a->procs || !a->objs)
		return -ENOMEM;
	a->sz.procs = a->procs;
	a->sz.st.perf_maps.max_bytes = a->cfg.perf_map_bytes;
	a->sz.st.perf_maps.max_map_bytes = a->cfg.perf_map_proc_bytes;
	err = setup_python(a);
	if (err)
		return err;
	a->sz.lines = a->cfg.lines;
	a->sz.lines_opts.stats = &a->sz.st.lines;
	symbolizer__set_fetch(&a->sz, a->fetch);
	err = profile_builder__init(&a->pb, &a->cfg.profile);
	if (err)
		return err;
	/* pid and comm as sample labels would become series labels on the server. */
	co.pid_labels = !a->push_mode;
	co.skip_pid = skip_pid;
	co.skip_ctx = a;
	co.unwind_hint = unwind_hint;
	err = setup_spans(a, &so);
	if (err)
		return err;
	co.span_labels = a->cfg.span_labels;
	co.spans = a->spans;
	err = collector__init(&a->col, &co, &a->sz, &a->pb);
	if (err) {
		if (so.otel_map)
			close(so.otel_map_fd);
		return err;
	}

	so.pids = a->cfg.pids;
	so.on_loaded = on_sampler_loaded;
	so.loaded_ctx = a;
	so.drain_interval_ms = DRAIN_INTERVAL_MS;
	so.unwind_chunks = a->cfg.unwind_table_bytes / STOKER_UNWIND_CHUNK_BYTES;
	so.on_record = collector__on_record;
	so.ctx = &a->col;
	caps_missing_for_load(missing, sizeof(missing));
	a->sampler = sampler__open(&so);
	err = -errno;
	if (so.otel_map)
		close(so.otel_map_fd); /* the loaded program holds the map */
	if (!a->sampler) {
		/* made when the maps were loaded; they are gone now */
		unwind_loader__free(a->unwind);
		a->unwind = NULL;
		if (missing[0])
			pr_err("missing capability %s: grant it (or run as root) to load "
			       "the BPF "
			       "sampler",
			       missing);
		return err;
	}
	/* Loading parsed the kernel's BTF (11 MiB at its peak here): its memory goes back
	 * before the kernel's symbols are read, so that the two peaks do not add up. */
	malloc_trim(0);
	a->ksyms = kallsyms__load("/proc/kallsyms");
	if (!a->ksyms)
		pr_warn("failed to load /proc/kallsyms: %s; kernel frames keep their addresses",
			strerror(errno));
	a->sz.ksyms = a->ksyms;
	/* Before any thread exists: every thread then runs with the reduced set. */
	err = caps_reduce_to_steady(!a->push_mode, a->cfg.java_perfmap);
	if (err) {
		pr_err("failed to drop the capabilities used to load BPF: %s",
		       err == -EBUSY ? "a thread started before the drop" : strerror(-err));
		return err;
	}
	if (a->meta) {
		err = container_meta__start(a->meta);
		if (err) {
			pr_err("failed to start the container metadata thread: %s", strerror(-err));
			return err;
		}
	}
	if (a->fetch) {
		err = debuginfod_fetch__run(a->fetch);
		if (err)
			pr_warn("failed to start fetching debug files: %s; frames without local "
				"debug files have no lines",
				strerror(-err));
	}
	if (a->cfg.java_perfmap) {
		/* a thread of its own, started with the capabilities the agent keeps */
		a->sz.java = java_attach__new(NULL);
		if (!a->sz.java)
			pr_warn("failed to start asking JVMs for perf maps: %s; Java JIT "
				"frames stay unnamed",
				strerror(errno));
	}

	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a->epfd < 0)
		return -errno;
	ev.data.fd = a->sigfd;
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->sigfd, &ev))
		return -errno;
	ev.data.fd = sampler__fd(a->sampler);
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	if (a->push_mode) {
		err = setup_push(a);
		if (err)
			return err;
	} else if (a->cfg.metrics_addr) {
		/* a long local run is watched the same way; upload counters stay zero */
		a->metrics = metrics_http__start(a->cfg.metrics_addr);
		if (!a->metrics)
			return -errno;
	}
	a->start_mono_ns = monotonic_ns();
	a->start_wall_ns = wall_ns();
	a->window_start_mono_ns = a->start_mono_ns;
	a->window_start_wall_ns = a->start_wall_ns;
	pr_info("sampling %s at %u Hz on %d CPUs%s", sampler__event_name(a->sampler),
		a->cfg.sampler.sample_rate_hz, sampler__ncpus(a->sampler),
		a->cfg.sampler.npids ? " (selected pids only)" : "");
	a->watchdog_ns = sd_watchdog_usec() * 1000 / 2;
	sd_notify_send("READY=1\nSTATUS=sampling");
	return 0;
}

static void handle_signal(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			a->reload = true;
			continue;
		}
		pr_info("received %s, flushing and exiting", strsignal((int)si.ssi_signo));
		a->stop = true;
	}
}

/* Every counter's current value. final: the uploader's last stats, once it has stopped. */
static void gather_counters(struct agent *a, const struct upload_stats *final, struct counters *c)
{
	struct counter_sources s = { 0 };
	struct obj_cache_stats os;
	struct proc_cache_stats ps;
	struct unwind_loader_stats us = { 0 };
	struct span_context_stats ss = { 0 };
	struct python_procs_stats pys = { 0 };
	struct python_frames_stats pyf = { 0 };
	struct upload_stats u = { 0 };
	struct java_attach_stats js;

	sampler__read_stats(a->sampler, s.bpf);
	if (a->sz.java) {
		java_attach__stats(a->sz.java, &js);
		s.java = &js;
	}
	if (a->fetch)
		debuginfod_fetch__stats(a->fetch, &a->sz.st.fetch);
	obj_cache__stats(a->objs, &os);
	proc_cache__stats(a->procs, &ps);
	if (a->unwind)
		unwind_loader__stats(a->unwind, &us);
	if (a->spans)
		span_context__stats(a->spans, &ss);
	if (a->pyprocs)
		python_procs__stats(a->pyprocs, &pys);
	if (a->pyframes)
		pyf = *python_frames__stats(a->pyframes);
	if (final)
		u = *final;
	else if (a->uploader)
		uploader__stats(a->uploader, &u);
	s.col = &a->col.st;
	s.pb = &a->pb;
	s.sz = &a->sz.st;
	s.obj = &os;
	s.proc = &ps;
	s.unwind = &us;
	s.span = &ss;
	s.py = &pys;
	s.pyf = &pyf;
	s.up = &u;
	s.win = &a->win;
	counters__gather(c, &s);
}

static void publish_counters(struct agent *a)
{
	struct counters c;

	if (!a->metrics)
		return;
	gather_counters(a, NULL, &c);
	metrics_http__publish(a->metrics, &c);
}

static void log_status(struct agent *a)
{
	struct counters c;
	const uint64_t *v = c.v;

	gather_counters(a, NULL, &c);
	pr_info(
	    "status: %llu samples (%llu dropped), %llu windows closed, %llu delivered, "
	    "%llu retries, %llu rejected, %llu expired, %llu spooled, %llu dropped from "
	    "spool, %llu queued, last push %.0f ms (HTTP %llu)",
	    (unsigned long long)v[COUNTER_SAMPLES_RECEIVED],
	    (unsigned long long)(v[COUNTER_DROP_RINGBUF_FULL] + v[COUNTER_SAMPLES_DROPPED_WINDOW]),
	    (unsigned long long)v[COUNTER_WINDOWS_CLOSED],
	    (unsigned long long)v[COUNTER_WINDOWS_DELIVERED],
	    (unsigned long long)v[COUNTER_UPLOAD_RETRIES],
	    (unsigned long long)v[COUNTER_WINDOWS_REJECTED],
	    (unsigned long long)v[COUNTER_WINDOWS_EXPIRED],
	    (unsigned long long)v[COUNTER_WINDOWS_SPOOLED],
	    (unsigned long long)(v[COUNTER_WINDOWS_SPOOL_DROPPED] +
				 v[COUNTER_WINDOWS_DROPPED_NO_SPOOL]),
	    (unsigned long long)v[COUNTER_UPLOAD_QUEUE],
	    (double)v[COUNTER_UPLOAD_LAST_LATENCY] / 1e6,
	    (unsigned long long)v[COUNTER_UPLOAD_LAST_STATUS]);
}

/* Once a second: the hot addresses of a steady workload are all answered after a while, and
 * what libdw holds for their files goes until a new address needs it (--lines-idle). */
static void release_idle_lines(struct agent *a)
{
	uint64_t now = monotonic_ns();

	if (!a->cfg.lines || now - a->last_lines_sweep_ns < 1000000000ull)
		return;
	a->last_lines_sweep_ns = now;
	a->sz.st.lines.dwarf_released +=
	    obj_cache__release_idle_lines(a->objs, now, a->cfg.lines_idle_ns);
}

/* Closes the open window: encodes it per series and hands it to the uploader. */
static void close_window(struct agent *a)
{
	struct pprof_meta meta;
	struct batch_opts bo = { 0 };
	struct upload_batch *b = NULL;
	uint64_t now = monotonic_ns();
	int err;

	meta.period_ns = 1000000000ull / a->cfg.sampler.sample_rate_hz;
	meta.time_nanos = a->window_start_wall_ns;
	meta.duration_nanos = (int64_t)(now - a->window_start_mono_ns);
	bo.static_labels = a->cfg.labels;
	bo.nstatic = a->cfg.nlabels;
	bo.host_name = a->host_name;
	bo.max_profile_bytes = (size_t)a->cfg.upload_max_bytes;
	bo.max_samples_per_profile = a->cfg.upload_max_samples;
	if (a->pb.dropped_count)
		pr_warn("window dropped %llu samples: more than --max-samples %zu unique "
			"stacks",
			(unsigned long long)a->pb.dropped_count, a->cfg.profile.max_samples);
	err = upload_batch__from_window(&a->pb, &meta, &bo, &b);
	if (err) {
		pr_err("failed to encode a window (%llu samples lost): %s",
		       (unsigned long long)a->pb.total_count, strerror(-err));
		a->win.closed++;
		a->win.unencodable++;
	} else if (b) {
		uploader__submit(a->uploader, b);
		a->win.closed++;
	} else {
		a->win.empty++; /* nothing ran on a CPU: nothing to send */
	}
	profile_builder__reset(&a->pb);
	collector__window_reset(&a->col);
	/* the next window starts where this one ended, on both clocks: encoding a big window
	 * takes a while, and wall_ns() after it would leave a gap the samples drained
	 * meanwhile were not taken in (1 s for a 13000-sample window in 55 parts) */
	a->window_start_wall_ns += now - a->window_start_mono_ns;
	a->window_start_mono_ns = now;
	if (now - a->last_status_log_ns > 4 * a->cfg.upload_interval_ns) {
		a->last_status_log_ns = now;
		log_status(a);
	}
}

/* SIGHUP: re-reads flags and config file; the flags the table marks reloadable (labels,
 * server and upload settings, relabel rules, log level) take effect from the open window
 * on. The others need the BPF side or metadata rebuilt: they wait for a restart. A config
 * that does not parse changes nothing. */
static void reload(struct agent *a)
{
	struct config ncfg, next;
	struct config_args nfa;
	char changed[512];
	int err;

	a->reload = false;
	if (cli_load(a->argc, a->argv, &ncfg, &nfa)) {
		config_args__free(&nfa);
		pr_err("failed to reload the configuration; keeping the running one");
		return;
	}
	/* the start-up values that stay point into a->file_args, which is kept */
	next = a->cfg;
	cli_reload(&next, &ncfg, changed, sizeof(changed));
	if (changed[0])
		pr_warn("reload: %s change only at restart", changed);
	if (a->push_mode) {
		/* The old uploader spools what it holds; the new one replays it in order.
		 */
		metrics_http__stop(a->metrics);
		a->metrics = NULL;
		uploader__stop(a->uploader, monotonic_ns(), &a->upload_totals);
		a->uploader = NULL;
		free_secret(a->basic_password);
		free_secret(a->bearer_token);
		a->basic_password = a->bearer_token = NULL;
	}
	{
		struct relabel_rule nrules[CLI_MAX_RULES];
		size_t nn;

		if (compile_rules(&next, nrules, &nn)) {
			config_args__free(&nfa);
			pr_err("failed to reload the configuration; keeping the running one");
			return;
		}
		/* processes are re-labeled on their next sample under the new rules */
		proc_cache__clear(a->procs);
		free_rules(a->rules, a->nrules);
		memcpy(a->rules, nrules, sizeof(nrules));
		a->nrules = nn;
		proc_cache__set_rules(a->procs, a->rules, a->nrules);
	}
	a->cfg = next;
	config_args__free(&a->reload_args);
	a->reload_args = nfa;
	log_set_level(a->cfg.log_level);
	if (a->push_mode) {
		err = setup_push(a);
		if (err) {
			pr_err("reload: failed to restart uploads (%s); exiting so the "
			       "service "
			       "manager restarts cleanly",
			       strerror(-err));
			a->stop = true;
			return;
		}
	}
	pr_info("configuration reloaded");
}

static int run_loop(struct agent *a)
{
	struct epoll_event evs[4];
	int n, err;

	while (!a->stop) {
		uint64_t now = monotonic_ns(), drain_end;
		int timeout = DRAIN_INTERVAL_MS;

		if (a->cfg.duration_ns) {
			uint64_t end = a->start_mono_ns + a->cfg.duration_ns;

			if (now >= end)
				break;
			if ((end - now) / 1000000 < (uint64_t)timeout)
				timeout = (int)((end - now) / 1000000) + 1;
		}
		if (a->push_mode) {
			uint64_t wend = a->window_start_mono_ns + a->cfg.upload_interval_ns;

			if (wend > now && (wend - now) / 1000000 < (uint64_t)timeout)
				timeout = (int)((wend - now) / 1000000) + 1;
		}
		/* tables left to build: the next slice right after a drain */
		if (a->unwind && unwind_loader__pending(a->unwind))
			timeout = 0;
		n = epoll_wait(a->epfd, evs, 4, timeout);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			pr_err("failed to wait for events: %s", strerror(-err));
			return err;
		}
		for (int i = 0; i < n; i++)
			if (evs[i].data.fd == a->sigfd)
				handle_signal(a);
		if (a->reload)
			reload(a);
		/* Drain on every wakeup and every tick: the BPF side wakes us only when the ring
		 * is filling up. One interval at most, and never past --duration: signals and
		 * deadlines are checked between pieces of work, and the rest waits a turn. */
		drain_end = monotonic_ns() + DRAIN_INTERVAL_MS * 1000000ull;
		if (a->cfg.duration_ns && drain_end > a->start_mono_ns + a->cfg.duration_ns)
			drain_end = a->start_mono_ns + a->cfg.duration_ns;
		/* no table is built while draining: the samples, and the exec events that register
		 * new processes, never wait behind one */
		if (a->unwind)
			unwind_loader__defer_builds(a->unwind);
		err = sampler__drain_until(a->sampler, drain_end);
		if (err < 0 && err != -EINTR && err != -EAGAIN)
			pr_warn_ratelimited("failed to drain the ring buffer: %s", strerror(-err));
		/* then a slice of the tables the drain asked for (one at least) */
		if (a->unwind) {
			uint64_t slice_end = monotonic_ns() + BUILD_SLICE_MS * 1000000ull;

			unwind_loader__work(a->unwind,
					    slice_end < drain_end ? slice_end : drain_end);
		}
		if (a->push_mode &&
		    monotonic_ns() - a->window_start_mono_ns >= a->cfg.upload_interval_ns)
			close_window(a);
		release_idle_lines(a);
		publish_counters(a); /* nothing without --metrics-addr */
		/* The loop itself is what the watchdog vouches for. */
		if (a->watchdog_ns && monotonic_ns() - a->last_watchdog_ns >= a->watchdog_ns) {
			sd_notify_send("WATCHDOG=1");
			a->last_watchdog_ns = monotonic_ns();
		}
	}
	sampler__drain_until(a->sampler, monotonic_ns() + FINAL_DRAIN_MS * 1000000ull);
	sd_notify_send("STOPPING=1");
	return 0;
}

/* The exit summary: one line per part that ran, from the counter registry. */
static void report(struct agent *a)
{
	struct counters c;
	char line[COUNTERS_LINE_MAX];

	gather_counters(a, NULL, &c);
	pr_info("%s", counters__summary(&c, COUNTER_LINE_SAMPLES, line, sizeof(line)));
	pr_info("%s", counters__summary(&c, COUNTER_LINE_SYMBOLS, line, sizeof(line)));
	pr_info("%s", counters__summary(&c, COUNTER_LINE_OBJECTS, line, sizeof(line)));
	if (a->cfg.lines)
		pr_info("%s", counters__summary(&c, COUNTER_LINE_LINES, line, sizeof(line)));
	if (a->unwind)
		pr_info("%s", counters__summary(&c, COUNTER_LINE_UNWIND, line, sizeof(line)));
	/* only when a Python process was seen: the line says how many were walked */
	if (c.v[COUNTER_PY_PROCS_FOUND] || c.v[COUNTER_PY_PROCS_UNSUPPORTED])
		pr_info("%s", counters__summary(&c, COUNTER_LINE_PYTHON, line, sizeof(line)));
	/* the first thing to read when spans do not show up in Grafana */
	if (a->spans)
		pr_info("%s%s", counters__summary(&c, COUNTER_LINE_SPANS, line, sizeof(line)),
			a->otel_map_used ? "; OpenTelemetry span map in use" : "");
}

static int write_outputs(struct agent *a)
{
	struct pprof_meta meta;
	char subtitle[160], dur[32];
	uint64_t elapsed = monotonic_ns() - a->start_mono_ns;
	int err = 0;

	meta.period_ns = 1000000000ull / a->cfg.sampler.sample_rate_hz;
	meta.time_nanos = a->start_wall_ns;
	meta.duration_nanos = (int64_t)elapsed;
	format_duration(elapsed, dur, sizeof(dur));
	snprintf(subtitle, sizeof(subtitle), "%s at %u Hz, %s, %llu samples",
		 sampler__event_name(a->sampler), a->cfg.sampler.sample_rate_hz, dur,
		 (unsigned long long)a->pb.total_count);
	for (size_t i = 0; i < a->cfg.noutputs; i++) {
		struct output_spec spec = a->cfg.outputs[i];
		int e;

		spec.by_line = a->cfg.by_line;
		e = output_local_write(&spec, &a->pb, &meta, subtitle);

		if (e)
			err = e;
		else
			pr_info("wrote %s", a->cfg.outputs[i].path);
	}
	if (a->cfg.top && a->cfg.by_line)
		output_print_top_lines(stdout, &a->pb, a->cfg.top);
	else if (a->cfg.top)
		output_print_top(stdout, &a->pb, a->cfg.top);
	return err;
}

static void teardown(struct agent *a)
{
	metrics_http__stop(a->metrics);
	if (a->uploader) {
		/* A few seconds to deliver what is left; then it waits in the spool. */
		uint64_t grace = a->cfg.upload.client.timeout_ns < 5000000000ull
				     ? a->cfg.upload.client.timeout_ns
				     : 5000000000ull;
		struct upload_stats u;
		struct counters c;
		char line[COUNTERS_LINE_MAX];

		uploader__stop(a->uploader, monotonic_ns() + grace, &u);
		gather_counters(a, &u, &c);
		pr_info("%s", counters__summary(&c, COUNTER_LINE_UPLOADS, line, sizeof(line)));
	}
	free_secret(a->basic_password);
	free_secret(a->bearer_token);
	unwind_loader__free(a->unwind);
	java_attach__free(a->sz.java);
	span_context__free(a->spans);	/* before the sampler: its entries need no removal */
	python_procs__free(a->pyprocs); /* likewise */
	python_frames__free(a->pyframes);
	sampler__close(a->sampler);
	debuginfod_fetch__stop(a->fetch);
	collector__destroy(&a->col);
	profile_builder__destroy(&a->pb);
	kallsyms__free(a->ksyms);
	obj_cache__free(a->objs);
	if (a->scratch_tmp[0]) /* the copies in it were unlinked at birth */
		rmdir(a->scratch_tmp);
	proc_cache__free(a->procs);
	free_rules(a->rules, a->nrules);
	container_meta__stop(a->meta);
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
	a.argc = argc;
	a.argv = argv;
	if (argc > 1 && !strcmp(argv[1], "unwind-table"))
		return unwind_table_cmd(argc - 1, argv + 1);
	if (cli_load(argc, argv, &a.cfg, &a.file_args)) {
		config_args__free(&a.file_args);
		return 2;
	}
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
	a.push_mode = a.cfg.noutputs == 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "stoker: failed to initialize libcurl\n");
		return 1;
	}
	if (a.cfg.check) {
		err = preflight_run(&a.cfg, stdout);
		curl_global_cleanup();
		return err;
	}

	err = setup(&a);
	if (!err)
		err = run_loop(&a);
	if (a.sampler) {
		report(&a);
		if (a.push_mode) {
			if (a.uploader)
				close_window(&a);
		} else if (write_outputs(&a) && !err) {
			err = -EIO;
		}
	}
	teardown(&a);
	curl_global_cleanup();
	config_args__free(&a.file_args);
	config_args__free(&a.reload_args);
	return err ? 1 : 0;
}

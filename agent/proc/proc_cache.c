/* SPDX-License-Identifier: BSD-2-Clause */
/* Process cache: one refcounted entry per live pid, bounded in count and bytes by LRU (least
 * recently sampled first); entries that windows still reference outlive eviction and process
 * exit through their refcount. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/lru_cache.h"
#include "object/obj_cache.h"
#include "proc/proc_cache.h"

struct proc_cache {
	struct proc_cache_opts opts;
	struct lru_cache *procs;
	struct proc_cache_stats st;
	uint64_t next_serial;
};

void proc__get(struct proc *p)
{
	p->refcnt++;
}

static void put_objects(struct proc *p)
{
	for (size_t i = 0; p->objs && i < p->nmaps; i++)
		object_put(p->objs[i]);
	free(p->objs);
	p->objs = NULL;
}

void proc__put(struct proc *p)
{
	if (!p || --p->refcnt > 0)
		return;
	put_objects(p);
	free(p->maps);
	perf_map__free(p->perf_map);
	for (size_t i = 0; i < 2 * p->nlabels; i++)
		free(p->labels[i]);
	free(p->labels);
	free(p);
}

static void proc_put_cb(void *v, void *ctx)
{
	struct proc *p = v;

	p->dead = true;
	proc__put(p);
}

/* What p holds on the heap: the entry, its maps and their objects' slots, its labels. */
static size_t proc_cost(const struct proc_cache *c, const struct proc *p)
{
	size_t cost = sizeof(*p) + p->nmaps * sizeof(*p->maps);

	if (p->objs)
		cost += p->nmaps * sizeof(*p->objs);
	for (size_t i = 0; i < 2 * p->nlabels; i++)
		cost += strlen(p->labels[i]) + 1 + sizeof(char *);
	/* never over the budget alone: the maps bound keeps a process well under it */
	return cost < c->opts.max_bytes ? cost : c->opts.max_bytes;
}

/* p's size changed: charged again (as recently used), older processes evicted for it. */
static void recharge(struct proc_cache *c, struct proc *p)
{
	if (!p->dead)
		lru_cache__set_cost(c->procs, &p->pid, proc_cost(c, p));
}

static struct lru_cache *new_table(const struct proc_cache *c)
{
	struct lru_cache_opts lo = { 0 };

	lo.key_size = sizeof(int);
	lo.max_entries = c->opts.max_procs;
	lo.max_cost = c->opts.max_bytes;
	lo.free_value = proc_put_cb;
	return lru_cache__new(&lo);
}

struct proc_cache *proc_cache__new(const struct proc_cache_opts *opts)
{
	struct proc_cache *c = calloc(1, sizeof(*c));
	size_t per_map = sizeof(struct proc_map) + sizeof(struct object *);

	if (!c)
		return NULL;
	if (opts)
		c->opts = *opts;
	if (!c->opts.max_procs)
		c->opts.max_procs = 32768;
	if (!c->opts.max_bytes)
		c->opts.max_bytes = 64u << 20;
	if (!c->opts.max_maps_per_proc)
		c->opts.max_maps_per_proc = 8192;
	/* one process's maps take at most a quarter of the budget */
	if (c->opts.max_maps_per_proc > c->opts.max_bytes / 4 / per_map)
		c->opts.max_maps_per_proc = c->opts.max_bytes / 4 / per_map;
	if (!c->opts.max_maps_per_proc)
		c->opts.max_maps_per_proc = 1;
	c->procs = new_table(c);
	if (!c->procs) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void proc_cache__free(struct proc_cache *c)
{
	if (!c)
		return;
	lru_cache__free(c->procs);
	free(c);
}

static void read_exe_name(struct proc *p)
{
	char path[64], buf[PROC_MAP_PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", p->pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (n > 10 && strcmp(buf + n - 10, " (deleted)") == 0)
		buf[n - 10] = '\0';
	base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	if (*base)
		snprintf(p->exe_name, sizeof(p->exe_name), "%.63s", base);
}

/* The innermost NSpid of /proc/PID/status: JITs name their perf map with the pid they see. */
static int read_nspid(int pid)
{
	char path[64], buf[4096], *line;
	int nspid = pid;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return pid;
	line = strstr(buf, "\nNSpid:");
	if (!line)
		return pid;
	/* "NSpid:\t123\t7\n": the last number is the innermost namespace's pid. */
	for (char *q = line + 7; *q && *q != '\n';) {
		long v = 0;

		while (*q == ' ' || *q == '\t')
			q++;
		if (*q < '0' || *q > '9')
			break;
		while (*q >= '0' && *q <= '9' && v < (1L << 30))
			v = v * 10 + (*q++ - '0');
		if (v > 0 && v < (1L << 30))
			nspid = (int)v;
	}
	return nspid;
}

static void read_cgroup(struct proc *p)
{
	char path[64], buf[8192];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", p->pid);
	n = read_small(path, buf, sizeof(buf));
	if (n > 0)
		cgroup_identity_from_proc(buf, (size_t)n, &p->cg);
}

/* service_name when nothing more specific (pod annotation, container name) is known: the
 * systemd unit without its suffix, else the executable's name. */
static void infer_service(struct proc *p)
{
	const char *unit = p->cg.systemd_unit;
	size_t l = strlen(unit);

	/* a user's manager runs whatever the user starts: the unit says nothing of the service */
	if (!strncmp(unit, "user@", 5))
		snprintf(p->service_name, sizeof(p->service_name), "%s", p->exe_name);
	else if (l > 8 && !strcmp(unit + l - 8, ".service") && !strchr(unit, '@'))
		snprintf(p->service_name, sizeof(p->service_name), "%.*s", (int)(l - 8), unit);
	else if (l > 8 && !strcmp(unit + l - 8, ".service"))
		/* template instances: getty@tty1.service -> getty */
		snprintf(p->service_name, sizeof(p->service_name), "%.*s",
			 (int)(strchr(unit, '@') - unit), unit);
	else
		snprintf(p->service_name, sizeof(p->service_name), "%s", p->exe_name);
}

bool proc_cache__refresh_maps(struct proc_cache *c, struct proc *p, uint64_t min_age_ns)
{
	uint64_t now = monotonic_ns();
	struct proc_map *maps;
	int n;

	if (p->dead || (p->maps_read_ns && now - p->maps_read_ns < min_age_ns))
		return false;
	p->maps_read_ns = now;
	c->st.maps_reads++;
	n = proc_maps_read(p->pid, c->opts.max_maps_per_proc, &maps);
	if (n < 0) {
		c->st.maps_failures++;
		p->maps_failed = true;
		pr_debug("failed to read maps of pid %d: %s", p->pid, strerror(-n));
		return false;
	}
	put_objects(p);
	free(p->maps);
	p->maps = maps;
	p->nmaps = (size_t)n;
	p->maps_failed = false;
	recharge(c, p);
	return true;
}

struct object *proc_cache__object(struct proc_cache *c, struct proc *p, const struct proc_map *m)
{
	size_t i = (size_t)(m - p->maps);
	struct object *o;

	if (m < p->maps || i >= p->nmaps || !c->opts.objs)
		return NULL;
	if (!p->objs) {
		p->objs = calloc(p->nmaps, sizeof(*p->objs));
		if (!p->objs)
			return NULL;
		recharge(c, p);
	}
	/* through the cache every time: it keeps recency and re-derives after an eviction */
	o = obj_cache__get(c->opts.objs, p->pid, m);
	if (o && !p->objs[i]) {
		object_get(o);
		p->objs[i] = o;
	}
	return o;
}

static void read_text(int pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	n = read_small(path, buf, len);
	if (n <= 0)
		return;
	/* cmdline: NUL-separated arguments become spaces; control bytes are not kept */
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20)
			buf[i] = ' ';
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
}

/* Candidate labels, then the user's relabel rules; what survives is the process's labels. */
static void compute_labels(struct proc_cache *c, struct proc *p)
{
	struct label_set *ls = calloc(1, sizeof(*ls));
	char buf[1024], exe[PROC_MAP_PATH_MAX];
	ssize_t n;

	if (!ls)
		return;
	label_set__put(ls, "service_name", p->service_name);
	label_set__put(ls, "container_id", p->cg.container_id);
	if (c->opts.meta && p->cg.container_id[0]) {
		struct container_info ci;

		p->meta_gen = container_meta__generation(c->opts.meta);
		if (container_meta__lookup(c->opts.meta, p->cg.container_id, &ci) == 0) {
			char ns_c[512];

			label_set__put(ls, "pod", ci.pod);
			label_set__put(ls, "namespace", ci.namespace);
			label_set__put(ls, "node", ci.node);
			label_set__put(ls, "container",
				       ci.container[0] ? ci.container : ci.docker_name);
			label_set__put(ls, "compose_service", ci.compose_service);
			/* service_name: the pod annotation; namespace/container; the compose
			 * service or container name; (already set) the unit, else the exe */
			snprintf(ns_c, sizeof(ns_c), "%s/%s", ci.namespace, ci.container);
			if (ci.service_annotation[0])
				label_set__put(ls, "service_name", ci.service_annotation);
			else if (ci.namespace[0] && ci.container[0])
				label_set__put(ls, "service_name", ns_c);
			else if (ci.compose_service[0])
				label_set__put(ls, "service_name", ci.compose_service);
			else if (ci.docker_name[0])
				label_set__put(ls, "service_name", ci.docker_name);
		}
	}
	label_set__put(ls, "systemd_unit", p->cg.systemd_unit);
	snprintf(buf, sizeof(buf), "%d", p->pid);
	label_set__put(ls, "__meta_process_pid", buf);
	label_set__put(ls, "__meta_process_comm", p->comm);
	snprintf(buf, sizeof(buf), "/proc/%d/exe", p->pid);
	n = readlink(buf, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	label_set__put(ls, "__meta_process_exe", exe);
	read_text(p->pid, "cmdline", buf, sizeof(buf));
	label_set__put(ls, "__meta_process_cmdline", buf);
	label_set__put(ls, "__meta_cgroup_path", p->cg.path);
	p->dropped = !relabel_apply(c->opts.rules, c->opts.nrules, ls);
	p->labels = calloc(2 * ls->n + 1, sizeof(char *));
	for (size_t i = 0; p->labels && i < ls->n; i++) {
		p->labels[2 * i] = strdup(ls->l[i].name);
		p->labels[2 * i + 1] = strdup(ls->l[i].value);
		if (!p->labels[2 * i] || !p->labels[2 * i + 1])
			break;
		p->nlabels++;
	}
	free(ls);
}

void proc_cache__refresh_labels(struct proc_cache *c, struct proc *p)
{
	if (!c->opts.meta || !p->cg.container_id[0] ||
	    p->meta_gen == container_meta__generation(c->opts.meta))
		return;
	for (size_t i = 0; i < 2 * p->nlabels; i++)
		free(p->labels[i]);
	free(p->labels);
	p->labels = NULL;
	p->nlabels = 0;
	compute_labels(c, p);
	recharge(c, p);
}

void proc_cache__clear(struct proc_cache *c)
{
	lru_cache__free(c->procs);
	c->procs = new_table(c);
}

void proc_cache__set_rules(struct proc_cache *c, const struct relabel_rule *rules, size_t n)
{
	c->opts.rules = rules;
	c->opts.nrules = n;
}

struct proc *proc_cache__lookup(struct proc_cache *c, int pid, const char *comm)
{
	struct proc *p = lru_cache__get(c->procs, &pid);

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->refcnt = 1;
	p->pid = pid;
	p->serial = ++c->next_serial;
	if (comm)
		snprintf(p->comm, sizeof(p->comm), "%s", comm);
	else
		read_text(pid, "comm", p->comm, sizeof(p->comm));
	snprintf(p->exe_name, sizeof(p->exe_name), "%s", p->comm);
	read_exe_name(p);
	p->nspid = read_nspid(pid);
	read_cgroup(p);
	infer_service(p);
	compute_labels(c, p);
	proc_cache__refresh_maps(c, p, 0);
	c->st.created++;
	if (lru_cache__put(c->procs, &pid, p, proc_cost(c, p))) {
		proc__put(p);
		return NULL;
	}
	return p;
}

void proc_cache__retire(struct proc_cache *c, int pid)
{
	lru_cache__remove(c->procs, &pid);
}

void proc_cache__stats(const struct proc_cache *c, struct proc_cache_stats *st)
{
	*st = c->st;
	st->procs = lru_cache__count(c->procs);
	st->evictions = lru_cache__evictions(c->procs);
	st->bytes = lru_cache__cost(c->procs);
	st->budget_bytes = c->opts.max_bytes;
}

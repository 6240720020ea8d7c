/* SPDX-License-Identifier: BSD-2-Clause */
/* Python process discovery: the interpreter's anchors from its file (object__python), its
 * version and TSS key from its memory, the per-version offsets, and the BPF entry that makes
 * the sampler walk its frames. Bounded by an LRU table of processes. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/lru_cache.h"
#include "proc/python_process.h"

#define DEFAULT_RESCAN_NS (5ull * 1000000000ull)
/* An interpreter found before it created its TSS key is looked at again this soon. */
#define NOT_READY_RETRY_NS (50ull * 1000000ull)

/* glibc (2.34 and later, x86-64): struct pthread's specific_1stblock, 16-byte entries
 * {seq, data}, from the thread pointer; pthread_getspecific reads it for keys below 32. Used
 * when the process's libc does not say (libc_tsd_find); a thread state found through a wrong
 * layout fails the thread-id check in BPF. */
#define GLIBC_TSD_OFFSET 0x310

/* CPython 3.11, x86-64: _PyRuntime.gilstate.autoTSSkey is a Py_tss_t {int initialized;
 * unsigned key} at 592 (checked against Debian 12's python3.11 3.11.2). */
#define PY311_TSS_INITIALIZED 592

struct python_procs {
	struct python_procs_opts opts;
	struct lru_cache *procs; /* pid -> struct python_proc */
	struct python_procs_stats st;
	bool closing;
};

int proc_read_mem(int pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

int python_offsets(uint32_t version, struct stoker_py_proc *out)
{
	memset(out, 0, sizeof(*out));
	out->version = version;
	out->tsd_offset = GLIBC_TSD_OFFSET;
	switch (version) {
	case 0x030b: /* Include/cpython/pystate.h, Include/internal/pycore_frame.h, code.h */
		out->ts_cframe = 56;
		out->ts_thread_id = 160;
		out->cf_current = 8;
		out->fr_code = 32;
		out->fr_previous = 48;
		out->fr_instr = 56;
		out->fr_entry = 68;
		out->fr_owner = 69;
		out->co_firstlineno = 72;
		out->co_code = 184;
		return 0;
	default:
		return -ENOTSUP;
	}
}

static int publish(struct python_procs *pp, int pid, const struct stoker_py_proc *v)
{
	int err;

	if (!pp->opts.publish)
		return 0;
	err = pp->opts.publish(pp->opts.ctx, pid, v);
	if (err) {
		pp->st.publish_errors++;
		pr_warn_ratelimited("failed to %s Python process %d in BPF: %s",
				    v ? "register" : "remove", pid, strerror(-err));
	}
	return err;
}

static void free_proc(void *v, void *ctx)
{
	struct python_procs *pp = ctx;
	struct python_proc *e = v;

	if (e->published && !pp->closing)
		publish(pp, e->pid, NULL);
	free(e);
}

struct python_procs *python_procs__new(const struct python_procs_opts *opts)
{
	struct python_procs *pp = calloc(1, sizeof(*pp));
	struct lru_cache_opts lo = { 0 };

	if (!pp)
		goto fail;
	if (opts)
		pp->opts = *opts;
	if (!pp->opts.max_procs || pp->opts.max_procs > STOKER_PY_PROCS_MAX)
		pp->opts.max_procs = STOKER_PY_PROCS_MAX;
	if (!pp->opts.rescan_ns)
		pp->opts.rescan_ns = DEFAULT_RESCAN_NS;
	lo.key_size = sizeof(int);
	lo.max_entries = pp->opts.max_procs;
	lo.free_value = free_proc;
	lo.ctx = pp;
	pp->procs = lru_cache__new(&lo);
	if (!pp->procs || !pp->opts.objs)
		goto fail;
	return pp;
fail:
	python_procs__free(pp);
	errno = ENOMEM;
	return NULL;
}

void python_procs__free(struct python_procs *pp)
{
	if (!pp)
		return;
	pp->closing = true;
	lru_cache__free(pp->procs);
	free(pp);
}

static bool same_file(const struct proc_map *a, const struct proc_map *b)
{
	return a->kind == PROC_MAP_FILE && b->kind == PROC_MAP_FILE && a->inode == b->inode &&
	       a->dev_major == b->dev_major && a->dev_minor == b->dev_minor;
}

/* glibc's TSD layout from the libc.so the process maps; 0 when none tells (static or musl). */
static uint32_t libc_tsd_offset(struct obj_cache *objs, int pid, const struct proc_map *maps,
				size_t nmaps)
{
	for (size_t i = 0; i < nmaps; i++) {
		const struct libc_tsd *t;
		struct object *o;

		if (maps[i].kind != PROC_MAP_FILE || !maps[i].exec ||
		    (i > 0 && same_file(&maps[i - 1], &maps[i]) && maps[i - 1].exec))
			continue;
		o = obj_cache__get(objs, pid, &maps[i]);
		if (o && object__libc_tsd(o, &t) == 0)
			return t->tsd_offset;
	}
	return 0;
}

/* The first executable mapping of a file holding an interpreter: its anchors, relocated. */
static int locate(struct obj_cache *objs, int pid, const struct proc_map *maps, size_t nmaps,
		  struct python_proc *e)
{
	for (size_t i = 0; i < nmaps; i++) {
		const struct proc_map *m = &maps[i];
		const struct python_elf *py;
		struct object *o;
		uint64_t map_vaddr, bias;

		if (m->kind != PROC_MAP_FILE || !m->exec)
			continue;
		if (i > 0 && same_file(&maps[i - 1], m) && maps[i - 1].exec)
			continue;
		o = obj_cache__get(objs, pid, m);
		if (!o || object__python(o, &py))
			continue;
		if (elf_segments_offset_to_vaddr(o->segs, o->nsegs, m->pgoff, &map_vaddr))
			continue;
		bias = m->start - map_vaddr;
		e->runtime = py->runtime + bias;
		e->code_type = py->code_type ? py->code_type + bias : 0;
		e->tsd_offset = libc_tsd_offset(objs, pid, maps, nmaps);
		e->eval_start = py->eval_start + bias;
		e->eval_end = py->eval_end + bias;
		e->cold_start = py->cold_start ? py->cold_start + bias : 0;
		e->cold_end = py->cold_start ? py->cold_end + bias : 0;
		e->version = 0;
		if (py->version) {
			uint32_t hex;

			if (proc_read_mem(pid, py->version + bias, &hex, sizeof(hex)) == 0)
				e->version = hex >> 16;
		}
		pr_debug("pid %d: CPython %u.%u in %s, eval loop at 0x%llx", pid, e->version >> 8,
			 e->version & 0xff, m->path, (unsigned long long)e->eval_start);
		return 0;
	}
	return -ENOENT;
}

/* The TSS key once the interpreter created it: -EAGAIN before. */
static int read_tss_key(int pid, const struct python_proc *e, uint32_t *key)
{
	int32_t tss[2];
	int err;

	err = proc_read_mem(pid, e->runtime + PY311_TSS_INITIALIZED, tss, sizeof(tss));
	if (err)
		return err;
	if (tss[0] != 1)
		return -EAGAIN;
	if ((uint32_t)tss[1] >= 32)
		return -ERANGE; /* beyond glibc's first block: not walked */
	*key = (uint32_t)tss[1];
	return 0;
}

void python_procs__on_sample(struct python_procs *pp, struct proc_cache *pc, struct proc *p)
{
	struct python_proc *e = lru_cache__get(pp->procs, &p->pid);
	struct stoker_py_proc v;
	uint64_t now;
	int err;

	if (e && e->serial == p->serial && (e->published || e->unsupported))
		return;
	now = monotonic_ns();
	if (e && e->serial == p->serial && e->maps_read_ns == p->maps_read_ns &&
	    now - e->scanned_ns < (e->eval_start ? NOT_READY_RETRY_NS : pp->opts.rescan_ns))
		return;
	if (!e || e->serial != p->serial) {
		if (!e) {
			e = calloc(1, sizeof(*e));
			if (!e)
				return;
			if (lru_cache__put(pp->procs, &p->pid, e, 1)) {
				free(e);
				return;
			}
		} else if (e->published) {
			publish(pp, p->pid, NULL);
		}
		memset(e, 0, sizeof(*e));
		e->pid = p->pid;
		e->serial = p->serial;
	} else if (!e->eval_start) {
		/* libpython dlopen'ed since the last search is only in fresh mappings */
		proc_cache__refresh_maps(pc, p, pp->opts.rescan_ns);
	}
	e->scanned_ns = now;
	e->maps_read_ns = p->maps_read_ns;
	if (!e->eval_start && locate(pp->opts.objs, p->pid, p->maps, p->nmaps, e))
		return;
	if (python_offsets(e->version, &v)) {
		e->unsupported = true;
		pp->st.unsupported++;
		if (e->version)
			pr_info("pid %d runs CPython %u.%u, whose frames stoker cannot read (3.11 "
				"only): its native frames stay",
				p->pid, e->version >> 8, e->version & 0xff);
		else
			pr_info(
			    "pid %d runs a CPython older than 3.11 (no Py_Version), whose frames "
			    "stoker cannot read: its native frames stay",
			    p->pid);
		return;
	}
	if (e->tsd_offset)
		v.tsd_offset = e->tsd_offset;
	else
		pr_debug("pid %d: no glibc layout found in its libc; assuming glibc 2.34+'s",
			 p->pid);
	err = read_tss_key(p->pid, e, &v.tss_key);
	if (err == -EAGAIN) {
		pp->st.not_ready++;
		return;
	}
	if (err) {
		e->unsupported = true;
		pp->st.unsupported++;
		pr_info("pid %d: cannot find the thread states of its Python interpreter (%s): its "
			"native frames stay",
			p->pid, strerror(-err));
		return;
	}
	if (publish(pp, p->pid, &v))
		return; /* retried at the next look */
	e->published = true;
	pp->st.found++;
}

const struct python_proc *python_procs__find(struct python_procs *pp, const struct proc *p)
{
	struct python_proc *e = lru_cache__get(pp->procs, &p->pid);

	return e && e->serial == p->serial && e->eval_start ? e : NULL;
}

void python_procs__forget(struct python_procs *pp, int pid)
{
	lru_cache__remove(pp->procs, &pid);
}

void python_procs__stats(const struct python_procs *pp, struct python_procs_stats *st)
{
	*st = pp->st;
}

int python_census(struct obj_cache *objs, struct python_census *out)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	memset(out, 0, sizeof(*out));
	if (!d)
		return -errno;
	while ((de = readdir(d)) && out->processes < PYTHON_CENSUS_MAX_PROCS) {
		struct python_proc e = { 0 };
		struct stoker_py_proc v;
		struct proc_map *maps = NULL;
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int n;

		if (*end || pid <= 0 || pid > INT32_MAX)
			continue;
		out->processes++;
		n = proc_maps_read((int)pid, 8192, &maps);
		if (n > 0 && locate(objs, (int)pid, maps, (size_t)n, &e) == 0) {
			if (python_offsets(e.version, &v) == 0)
				out->supported++;
			else
				out->unsupported++;
		}
		free(maps);
	}
	closedir(d);
	return 0;
}

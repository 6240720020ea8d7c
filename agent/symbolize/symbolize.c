/* SPDX-License-Identifier: BSD-2-Clause */
/* Symbolization of one stack, the way perf and elfutils do it: file offset from the mapping,
 * ELF vaddr from PT_LOAD, return addresses looked up at address - 1; Go's own table names
 * what a stripped Go binary's symbols cannot, and gives Go frames their file and line. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "symbolize/symbolize.h"

#define MAPS_REFRESH_MIN_NS 1000000000ull
/* a miss re-reads what was appended at most this often: V8 writes new code's line as it
 * compiles, and samples in it stay unnamed until the next read (an idle check is an open, an
 * fstat and the status read: tens of microseconds) */
#define PERF_MAP_RECHECK_NS	250000000ull
#define PERF_MAP_HIT_RECHECK_NS 10000000000ull
/* DWARF lines may take a quarter of the symbolizing thread, in bursts of up to 2 s (a large
 * debug file, decompressed and indexed once, takes a fraction of that) */
#define LINES_CPU_SHARE	    4
#define LINES_BUDGET_MAX_NS 2000000000ull

/* What an address is called when nothing names it: where it is, module+0xoffset. */
static const char *unnamed_name(struct frame *f, char *buf, size_t len, const char *module,
				uint64_t off)
{
	f->unnamed = true;
	snprintf(buf, len, "%s+0x%llx", module, (unsigned long long)off);
	return buf;
}

static int kernel_frame(struct symbolizer *sz, uint64_t ip, symbolize_frames_fn fn, void *ctx)
{
	const struct ksym *ks = sz->ksyms ? kallsyms__lookup(sz->ksyms, ip) : NULL;
	struct frame f = { .mapping = "[kernel.kallsyms]", .address = ip, .kind = FRAME_KERNEL };
	char modname[80], name[64];

	if (!ks) {
		sz->st.kernel_unnamed++;
		f.function = unnamed_name(&f, name, sizeof(name), "[kernel]", ip);
		return fn(ctx, &f, 1);
	}
	if (ks->module && ks->module[0]) {
		snprintf(modname, sizeof(modname), "[%s]", ks->module);
		f.mapping = modname;
	}
	sz->st.named++;
	f.function = ks->name;
	return fn(ctx, &f, 1);
}

/* Why a perf map was refused, for the warning; false when the error is not a refusal. */
static bool perf_map_refusal(int err, const struct stat *st, uid_t euid, char *why, size_t len)
{
	switch (err) {
	case -ELOOP:
		snprintf(why, len, "it is a symbolic link");
		return true;
	case -EINVAL:
		snprintf(why, len, "it is not a regular file");
		return true;
	case -EPERM:
		snprintf(why, len, "it is owned by uid %u, not by the process's user (uid %u)",
			 (unsigned int)st->st_uid, (unsigned int)euid);
		return true;
	default:
		return false;
	}
}

/* Whether the process runs HotSpot: libjvm.so is mapped. */
static bool is_jvm(const struct proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++) {
		const char *base = strrchr(p->maps[i].path, '/');

		if (p->maps[i].kind == PROC_MAP_FILE && base && !strcmp(base, "/libjvm.so"))
			return true;
	}
	return false;
}

/* Reads what the process's JIT map gained, at most once per interval: on a miss four times a
 * second, so code compiled after the last read is named soon; on a hit only now and then, to notice
 * a map that was replaced or is no longer the process's own. */
static void refresh_perf_map(struct symbolizer *sz, struct proc *p, bool miss)
{
	uint64_t now = monotonic_ns(), every = miss ? PERF_MAP_RECHECK_NS : PERF_MAP_HIT_RECHECK_NS;
	struct stat st = { 0 };
	uid_t euid = 0;
	char why[96];
	int fd, n;

	if (p->perf_map_checked_ns && now - p->perf_map_checked_ns < every)
		return;
	p->perf_map_checked_ns = now;
	/* a JVM writes its map only when asked; the asking runs elsewhere and is rate-limited */
	if (miss && sz->java && is_jvm(p))
		java_attach__request(sz->java, p->pid, p->nspid);
	/* opened, not stat'ed by path: a stat would follow the link a refusal is about */
	fd = perf_map_open(p->pid, p->nspid, &st, &euid);
	if (fd < 0 && perf_map_refusal(fd, &st, euid, why, sizeof(why))) {
		/* what the process wrote before stays only while the file is its own */
		perf_map__free(p->perf_map);
		p->perf_map = NULL;
		if (p->perf_map_refused != fd) {
			sz->st.perf_maps_refused++;
			pr_warn_ratelimited(
			    "refusing JIT map /tmp/perf-%d.map of pid %d: %s; its JIT "
			    "frames stay unnamed",
			    p->nspid, p->pid, why);
		}
		p->perf_map_refused = fd;
		return;
	}
	if (fd < 0)
		return;
	p->perf_map_refused = 0;
	/* HotSpot rewrites its map from the start when asked: not an append */
	if (sz->java && java_attach__rewritten(sz->java, p->pid))
		perf_map__reset(p->perf_map);
	if (!p->perf_map)
		p->perf_map = perf_map__new(&sz->st.perf_maps, 0);
	n = p->perf_map ? perf_map__read(p->perf_map, fd) : -ENOMEM;
	if (n < 0)
		pr_warn_ratelimited("failed to read JIT map /tmp/perf-%d.map of pid %d: %s",
				    p->nspid, p->pid, strerror(-n));
	close(fd);
}

/* File and line of a Go function's PC, from Go's own table when the symbol table named the
 * same function (a cgo binary's C functions are not in it). */
static void go_lines(const struct go_pclntab *t, uint64_t vaddr, uint64_t sym_start,
		     struct frame *fr)
{
	struct go_func gf;

	if (t && go_pclntab__lookup(t, vaddr, &gf) == 0 && gf.entry == sym_start) {
		fr->file = gf.file;
		fr->line = gf.line;
	}
}

/* Counts JIT code left unnamed where a read to come may name it: the process has a map, or its
 * anonymous code may be a JVM's that is asked for one. Stacks through such code are not cached
 * by the collector; others (a JIT that writes no map, a stray address outside every mapping)
 * are, as nothing would name them later. */
static void jit_unnamed(struct symbolizer *sz, const struct proc *p, bool anon)
{
	if (p->perf_map || (anon && sz->java))
		sz->st.jit_unnamed++;
}

/* The JIT map's name for ip, re-reading the map (rate-limited) when it has none yet. Looked up
 * again after the refresh: a read may move the names, a refusal free the map. */
static const struct perf_map_entry *jit_lookup(struct symbolizer *sz, struct proc *p, uint64_t ip)
{
	refresh_perf_map(sz, p, !perf_map__lookup(p->perf_map, ip));
	return perf_map__lookup(p->perf_map, ip);
}

static void refill_lines_budget(struct symbolizer *sz, uint64_t now)
{
	if (now > sz->lines_budget_at)
		sz->lines_budget_ns += (now - sz->lines_budget_at) / LINES_CPU_SHARE;
	if (!sz->lines_budget_at || sz->lines_budget_ns > LINES_BUDGET_MAX_NS)
		sz->lines_budget_ns = LINES_BUDGET_MAX_NS;
	sz->lines_budget_at = now > sz->lines_budget_at ? now : sz->lines_budget_at;
}

/* The inline chain at vaddr from the object's DWARF, handed to fn as one address's frames.
 * Returns fn's answer, or -1 when the DWARF has nothing to say (the symbol table then names
 * the address). */
static int dwarf_frames(struct symbolizer *sz, struct object *o, const struct elf_object *elf,
			const struct frame *base, uint64_t vaddr, symbolize_frames_fn fn, void *ctx)
{
	struct frame frames[FRAME_MAX_PER_ADDR];
	const struct dwarf_line_frame *df;
	uint64_t t0 = monotonic_ns(), spent;
	struct elf_symbol_result sym;
	char *dm = NULL;
	int n, ret;

	/* DWARF work is a share of the thread that drains samples: past it, frames are named
	 * from the symbol table until the budget refills */
	refill_lines_budget(sz, t0);
	if (!sz->lines_budget_ns) {
		sz->st.lines_deferred++;
		return -1;
	}
	n = object__lines(o, vaddr, &sz->lines_opts, &df);
	spent = monotonic_ns() - t0;
	sz->lines_budget_ns -= spent < sz->lines_budget_ns ? spent : sz->lines_budget_ns;
	if (n == -EAGAIN)
		sz->st.lines_pending++;
	if (n <= 0)
		return -1;
	if (n > FRAME_MAX_PER_ADDR)
		n = FRAME_MAX_PER_ADDR;
	/* a line without a function DIE: the symbol table's name, or nothing to say */
	if (!df[0].function) {
		if (elf_object__lookup(elf, vaddr, &sym))
			return -1;
		dm = demangle(sym.name);
	}
	for (int i = 0; i < n; i++) {
		frames[i] = *base;
		frames[i].address = vaddr;
		frames[i].function = df[i].function ? df[i].function : dm ? dm : sym.name;
		frames[i].file = df[i].file;
		frames[i].line = df[i].line;
		frames[i].start_line = df[i].start_line;
		frames[i].inlined = i + 1 < n;
	}
	sz->st.named++;
	sz->st.frames_with_lines++;
	sz->st.inlined_frames += (uint64_t)n - 1;
	ret = fn(ctx, frames, (size_t)n) ? 1 : 0;
	free(dm);
	return ret;
}

static int user_frame(struct symbolizer *sz, struct proc *p, uint64_t ip, symbolize_frames_fn fn,
		      void *ctx)
{
	const struct proc_map *m = proc_maps_find(p->maps, p->nmaps, ip);
	struct frame fr = { .kind = FRAME_NATIVE };
	char name[PROC_MAP_PATH_MAX + 32];
	const struct go_pclntab *gopcln;
	const struct elf_object *elf;
	struct elf_symbol_result sym;
	struct go_func gf;
	struct object *f;
	uint64_t off, vaddr;
	char *dm;
	int ret;

	if (!m && proc_cache__refresh_maps(sz->procs, p, MAPS_REFRESH_MIN_NS))
		m = proc_maps_find(p->maps, p->nmaps, ip);
	if (!m) {
		/* code a JIT mapped since the maps were read: its map may know it already */
		const struct perf_map_entry *e = jit_lookup(sz, p, ip);

		if (e) {
			sz->st.named++;
			fr.kind = FRAME_JIT;
			fr.address = ip;
			fr.mapping = "[jit]";
			fr.function = e->name;
			return fn(ctx, &fr, 1);
		}
		sz->st.no_mapping++;
		jit_unnamed(sz, p, false);
		fr.address = ip;
		fr.function = unnamed_name(&fr, name, sizeof(name), "[unknown]", ip);
		return fn(ctx, &fr, 1);
	}
	off = ip - m->start + m->pgoff;
	fr.address = off;
	switch (m->kind) {
	case PROC_MAP_FILE:
		f = proc_cache__object(sz->procs, p, m);
		elf = f ? object__symbols(f) : NULL;
		fr.mapping = m->path;
		if (!elf) {
			const char *base = strrchr(m->path, '/');

			sz->st.unnamed++;
			fr.build_id = f ? f->build_id : NULL;
			fr.function =
			    unnamed_name(&fr, name, sizeof(name), base ? base + 1 : m->path, off);
			return fn(ctx, &fr, 1);
		}
		fr.build_id = f->build_id;
		if (elf_object__offset_to_vaddr(elf, off, &vaddr))
			vaddr = off;
		else if (sz->lines && (ret = dwarf_frames(sz, f, elf, &fr, vaddr, fn, ctx)) >= 0)
			return ret;
		gopcln = object__go_pclntab(f);
		if (elf_object__lookup(elf, vaddr, &sym) == 0) {
			dm = demangle(sym.name);
			sz->st.named++;
			fr.function = dm ? dm : sym.name;
			fr.address = vaddr;
			go_lines(gopcln, vaddr, sym.start, &fr);
			ret = fn(ctx, &fr, 1);
			free(dm);
			return ret;
		}
		if (gopcln && go_pclntab__lookup(gopcln, vaddr, &gf) == 0) {
			sz->st.named++;
			fr.function = gf.name;
			fr.file = gf.file;
			fr.line = gf.line;
			fr.address = vaddr;
			return fn(ctx, &fr, 1);
		}
		sz->st.unnamed++;
		fr.function = unnamed_name(&fr, name, sizeof(name), f->name, off);
		return fn(ctx, &fr, 1);
	case PROC_MAP_ANON: {
		const struct perf_map_entry *e = jit_lookup(sz, p, ip);

		fr.kind = FRAME_JIT;
		fr.address = ip;
		if (e) {
			sz->st.named++;
			fr.mapping = "[jit]";
			fr.function = e->name;
			return fn(ctx, &fr, 1);
		}
		sz->st.unnamed++;
		jit_unnamed(sz, p, true);
		fr.mapping = "[anon]";
		fr.function = unnamed_name(&fr, name, sizeof(name), "[anon]", ip);
		return fn(ctx, &fr, 1);
	}
	case PROC_MAP_VDSO:
		sz->st.unnamed++;
		fr.mapping = "[vdso]";
		fr.function = unnamed_name(&fr, name, sizeof(name), "[vdso]", off);
		return fn(ctx, &fr, 1);
	default:
		sz->st.unnamed++;
		fr.mapping = m->path;
		fr.function = unnamed_name(&fr, name, sizeof(name), m->path, off);
		return fn(ctx, &fr, 1);
	}
}

static bool in_eval_loop(const struct python_proc *pyp, uint64_t ip)
{
	return (ip >= pyp->eval_start && ip < pyp->eval_end) ||
	       (ip >= pyp->cold_start && ip < pyp->cold_end);
}

/* The Python frames of one eval-loop activation, from *next up to its entry frame. Returns
 * fn's verdict; *handed counts the frames given. */
static int python_activation(struct symbolizer *sz, const struct python_proc *pyp,
			     const struct stoker_py_stack *py, size_t *next, size_t *handed,
			     symbolize_frames_fn fn, void *ctx)
{
	size_t n = py->nframes < STOKER_PY_MAX_FRAMES ? py->nframes : STOKER_PY_MAX_FRAMES;

	while (*next < n) {
		const struct stoker_py_frame *f = &py->frames[(*next)++];
		struct frame fr = { .kind = FRAME_INTERPRETED };
		struct python_frame_name nm;
		int stop;

		/* 3.12+: shims of the C stack between activations name no function */
		if (pyp->version >= 0x030c && STOKER_PYF_OWNER(f->info) == 3)
			continue;
		if (python_frames__name(sz->pyframes, pyp, f, &nm) == 0) {
			sz->st.named++;
			fr.function = nm.qualname;
			fr.file = nm.filename;
			fr.line = nm.line;
		} else {
			sz->st.unnamed++;
			fr.function = "[unknown Python code]";
		}
		sz->st.frames++;
		(*handed)++;
		stop = fn(ctx, &fr, 1);
		if (stop || (f->info & STOKER_PYF_ENTRY))
			return stop;
	}
	/* the walk stopped inside this activation: its outer frames are missing here */
	if (py->flags & (STOKER_PYS_TRUNCATED | STOKER_PYS_FAULT)) {
		struct frame fr = { .kind = FRAME_INTERPRETED,
				    .function = py->flags & STOKER_PYS_TRUNCATED
						    ? "[truncated: deeper Python stack]"
						    : "[truncated: unreadable Python frame]" };

		(*handed)++;
		return fn(ctx, &fr, 1);
	}
	return 0;
}

size_t symbolize_stack(struct symbolizer *sz, struct proc *p, const __u64 *kips, size_t nk,
		       const __u64 *uips, size_t nu, const struct stoker_py_stack *py,
		       symbolize_frames_fn fn, void *ctx)
{
	const struct python_proc *pyp = NULL;
	size_t n = 0, next_py = 0;

	if (py && py->nframes && sz->pyprocs && sz->pyframes)
		pyp = python_procs__find(sz->pyprocs, p);

	for (size_t i = 0; i < nk; i++) {
		/* Only the sampled PC is exact; callers' entries are return addresses. */
		int stop = kernel_frame(sz, i == 0 ? kips[i] : kips[i] - 1, fn, ctx);

		sz->st.frames++;
		n++;
		if (stop)
			return n;
	}
	for (size_t i = 0; i < nu; i++) {
		uint64_t ip = uips[i];
		int stop;

		/* The first user ip is exact only when the sample interrupted user mode; after a
		 * kernel entry it is the instruction after the syscall, a return address too. */
		if (i > 0 || nk > 0)
			ip -= 1;
		if (!ip)
			continue;
		if (pyp && next_py < py->nframes && in_eval_loop(pyp, ip)) {
			if (python_activation(sz, pyp, py, &next_py, &n, fn, ctx))
				return n;
			continue;
		}
		stop = user_frame(sz, p, ip, fn, ctx);
		sz->st.frames++;
		n++;
		if (stop)
			return n;
	}
	/* The native walk ended before the eval loops of these frames (frame pointers through
	 * code without them, tables still loading): they are the outermost Python frames, so
	 * they go at the root end, where a truncated stack is marked. */
	if (pyp && next_py < py->nframes) {
		python_frames__stats(sz->pyframes)->frames_unplaced += py->nframes - next_py;
		while (next_py < py->nframes)
			if (python_activation(sz, pyp, py, &next_py, &n, fn, ctx))
				break;
	}
	return n;
}

static int fetch_debug_file(void *ctx, const char *build_id)
{
	return debuginfod_fetch__get(ctx, build_id);
}

void symbolizer__set_fetch(struct symbolizer *sz, struct debuginfod_fetch *d)
{
	sz->fetch = d;
	sz->lines_opts.fetch = d ? fetch_debug_file : NULL;
	sz->lines_opts.fetch_ctx = d;
}

bool symbolizer__lines_arrived(struct symbolizer *sz)
{
	uint64_t n;

	/* frames named without lines while the budget was spent get them once half of it is
	 * back */
	if (sz->st.lines_deferred != sz->deferred_seen) {
		refill_lines_budget(sz, monotonic_ns());
		if (sz->lines_budget_ns >= LINES_BUDGET_MAX_NS / 2) {
			sz->deferred_seen = sz->st.lines_deferred;
			return true;
		}
	}
	if (!sz->fetch)
		return false;
	n = debuginfod_fetch__arrivals(sz->fetch);
	if (n == sz->fetch_arrivals)
		return false;
	sz->fetch_arrivals = n;
	return true;
}

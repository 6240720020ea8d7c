/* SPDX-License-Identifier: BSD-2-Clause */
/* Symbolization of one stack, the way perf and elfutils do it: file offset from the mapping,
 * ELF vaddr from PT_LOAD, return addresses looked up at address - 1. */
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
#define PERF_MAP_RECHECK_NS 1000000000ull
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

static void refresh_perf_map(struct symbolizer *sz, struct proc *p)
{
	uint64_t now = monotonic_ns();
	struct stat st = { 0 };
	uid_t euid = 0;
	char why[96];
	int fd;

	if (p->perf_map_checked_ns && now - p->perf_map_checked_ns < PERF_MAP_RECHECK_NS)
		return;
	p->perf_map_checked_ns = now;
	/* opened, not stat'ed by path: a stat would follow the link a refusal is about */
	fd = perf_map_open(p->pid, p->nspid, &st, &euid);
	if (fd < 0 && perf_map_refusal(fd, &st, euid, why, sizeof(why))) {
		/* what the process wrote before stays only while the file is its own */
		perf_map__free(p->perf_map);
		p->perf_map = NULL;
		p->perf_map_mtime = 0;
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
	if (st.st_mtime == p->perf_map_mtime) {
		close(fd);
		return;
	}
	perf_map__free(p->perf_map);
	p->perf_map = perf_map__load_fd(fd, 0, 0);
	p->perf_map_mtime = st.st_mtime;
	if (!p->perf_map)
		pr_warn_ratelimited("failed to read JIT map /tmp/perf-%d.map of pid %d: %m",
				    p->nspid, p->pid);
	close(fd);
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
	const struct elf_object *elf;
	struct elf_symbol_result sym;
	struct object *f;
	uint64_t off, vaddr;
	char *dm;
	int ret;

	if (!m && proc_cache__refresh_maps(sz->procs, p, MAPS_REFRESH_MIN_NS))
		m = proc_maps_find(p->maps, p->nmaps, ip);
	if (!m) {
		sz->st.no_mapping++;
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
		if (elf_object__lookup(elf, vaddr, &sym) == 0) {
			dm = demangle(sym.name);
			sz->st.named++;
			fr.function = dm ? dm : sym.name;
			fr.address = vaddr;
			ret = fn(ctx, &fr, 1);
			free(dm);
			return ret;
		}
		sz->st.unnamed++;
		fr.function = unnamed_name(&fr, name, sizeof(name), f->name, off);
		return fn(ctx, &fr, 1);
	case PROC_MAP_ANON:
		fr.kind = FRAME_JIT;
		fr.address = ip;
		refresh_perf_map(sz, p);
		if (p->perf_map) {
			const struct perf_map_entry *e = perf_map__lookup(p->perf_map, ip);

			if (e) {
				sz->st.named++;
				fr.mapping = "[jit]";
				fr.function = e->name;
				return fn(ctx, &fr, 1);
			}
		}
		sz->st.unnamed++;
		fr.mapping = "[anon]";
		fr.function = unnamed_name(&fr, name, sizeof(name), "[anon]", ip);
		return fn(ctx, &fr, 1);
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

size_t symbolize_stack(struct symbolizer *sz, struct proc *p, const __u64 *kips, size_t nk,
		       const __u64 *uips, size_t nu, symbolize_frames_fn fn, void *ctx)
{
	size_t n = 0;

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
		stop = user_frame(sz, p, ip, fn, ctx);
		sz->st.frames++;
		n++;
		if (stop)
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

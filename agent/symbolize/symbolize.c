/* SPDX-License-Identifier: BSD-2-Clause */
/* Symbolization of one stack, the way perf and elfutils do it: file offset from the mapping,
 * ELF vaddr from PT_LOAD, return addresses looked up at address - 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/clock.h"
#include "util/log.h"
#include "symbolize/symbolize.h"

#define MAPS_REFRESH_MIN_NS 1000000000ull
#define PERF_MAP_RECHECK_NS 1000000000ull

static uint32_t unnamed_location(struct profile_builder *pb, const char *module, uint64_t off,
				 uint32_t mapping)
{
	char name[PROC_MAP_PATH_MAX + 32];

	snprintf(name, sizeof(name), "%s+0x%llx", module, (unsigned long long)off);
	return pb_location(pb, mapping, pb_function(pb, name), off);
}

static uint32_t kernel_frame(struct symbolizer *sz, uint64_t ip, struct profile_builder *pb)
{
	const struct ksym *ks = sz->ksyms ? kallsyms__lookup(sz->ksyms, ip) : NULL;
	char modname[80];
	uint32_t map;

	if (!ks) {
		sz->st.kernel_unnamed++;
		return unnamed_location(pb, "[kernel]", ip,
					pb_mapping(pb, "[kernel.kallsyms]", ""));
	}
	if (ks->module && ks->module[0]) {
		snprintf(modname, sizeof(modname), "[%s]", ks->module);
		map = pb_mapping(pb, modname, "");
	} else {
		map = pb_mapping(pb, "[kernel.kallsyms]", "");
	}
	sz->st.named++;
	return pb_location(pb, map, pb_function(pb, ks->name), ip);
}

static void refresh_perf_map(struct proc *p)
{
	uint64_t now = monotonic_ns();
	char path[96];
	struct stat st;

	if (p->perf_map_checked_ns && now - p->perf_map_checked_ns < PERF_MAP_RECHECK_NS)
		return;
	p->perf_map_checked_ns = now;
	snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", p->pid, p->nspid);
	if (stat(path, &st) || st.st_mtime == p->perf_map_mtime)
		return;
	perf_map__free(p->perf_map);
	p->perf_map = perf_map__load(path, 0, 0);
	p->perf_map_mtime = st.st_mtime;
	if (!p->perf_map)
		pr_warn_ratelimited("failed to read JIT map %s: %m", path);
}

static uint32_t user_frame(struct symbolizer *sz, struct proc *p, uint64_t ip,
			   struct profile_builder *pb)
{
	const struct proc_map *m = proc_maps_find(p->maps, p->nmaps, ip);
	const struct elf_object *elf;
	struct elf_symbol_result sym;
	struct object *f;
	uint64_t off, vaddr;
	uint32_t map;

	if (!m && proc_cache__refresh_maps(sz->procs, p, MAPS_REFRESH_MIN_NS))
		m = proc_maps_find(p->maps, p->nmaps, ip);
	if (!m) {
		sz->st.no_mapping++;
		return unnamed_location(pb, "[unknown]", ip, 0);
	}
	off = ip - m->start + m->pgoff;
	switch (m->kind) {
	case PROC_MAP_FILE:
		f = proc_cache__object(sz->procs, p, m);
		elf = f ? object__symbols(f) : NULL;
		if (!elf) {
			const char *base = strrchr(m->path, '/');

			sz->st.unnamed++;
			return unnamed_location(pb, base ? base + 1 : m->path, off,
						pb_mapping(pb, m->path, f ? f->build_id : ""));
		}
		map = pb_mapping(pb, m->path, f->build_id);
		if (elf_object__offset_to_vaddr(elf, off, &vaddr))
			vaddr = off;
		if (elf_object__lookup(elf, vaddr, &sym) == 0) {
			char *dm = demangle(sym.name);
			uint32_t fn = pb_function(pb, dm ? dm : sym.name);

			free(dm);
			sz->st.named++;
			return pb_location(pb, map, fn, vaddr);
		}
		sz->st.unnamed++;
		return unnamed_location(pb, f->name, off, map);
	case PROC_MAP_ANON:
		refresh_perf_map(p);
		if (p->perf_map) {
			const struct perf_map_entry *e = perf_map__lookup(p->perf_map, ip);

			if (e) {
				sz->st.named++;
				return pb_location(pb, pb_mapping(pb, "[jit]", ""),
						   pb_function(pb, e->name), ip);
			}
		}
		sz->st.unnamed++;
		return unnamed_location(pb, "[anon]", ip, pb_mapping(pb, "[anon]", ""));
	case PROC_MAP_VDSO:
		sz->st.unnamed++;
		return unnamed_location(pb, "[vdso]", off, pb_mapping(pb, "[vdso]", ""));
	default:
		sz->st.unnamed++;
		return unnamed_location(pb, m->path, off, pb_mapping(pb, m->path, ""));
	}
}

size_t symbolize_stack(struct symbolizer *sz, struct proc *p, const __u64 *kips, size_t nk,
		       const __u64 *uips, size_t nu, struct profile_builder *pb, uint32_t *locs,
		       size_t max)
{
	size_t n = 0;
	uint32_t loc;

	for (size_t i = 0; i < nk && n < max; i++) {
		/* Only the sampled PC is exact; callers' entries are return addresses. */
		loc = kernel_frame(sz, i == 0 ? kips[i] : kips[i] - 1, pb);
		sz->st.frames++;
		if (loc)
			locs[n++] = loc;
	}
	for (size_t i = 0; i < nu && n < max; i++) {
		uint64_t ip = uips[i];

		/* The first user ip is exact only when the sample interrupted user mode; after a
		 * kernel entry it is the instruction after the syscall, a return address too. */
		if (i > 0 || nk > 0)
			ip -= 1;
		if (!ip)
			continue;
		loc = user_frame(sz, p, ip, pb);
		sz->st.frames++;
		if (loc)
			locs[n++] = loc;
	}
	return n;
}

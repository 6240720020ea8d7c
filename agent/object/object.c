/* SPDX-License-Identifier: BSD-2-Clause */
/* What is derived from one mapped file, built on first use from the file the object holds
 * open: the symbol table, the unwind rows, one data symbol. Each is built at most once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "object/obj_cache.h"

const struct elf_object *object__symbols(struct object *o)
{
	struct elf_object_opts eo = { 0 };
	struct obj_cache *c = o->cache;
	char root[32];
	int fd, err;

	if (o->built & OBJECT_PART_SYMBOLS)
		return o->elf;
	if (!c)
		return NULL;
	fd = obj_cache__object_fd(c, o);
	if (fd < 0)
		return NULL;
	snprintf(root, sizeof(root), "/proc/%d/root", o->pid);
	eo.root = root;
	eo.debug_dirs = obj_cache__opts(c)->debug_dirs;
	/* the path as the process sees it: debuglink candidates are relative to it, under root */
	o->elf = elf_object__open_fd(fd, o->at.path, &eo);
	err = errno;
	obj_cache__counters(c)->loads++;
	if (!o->elf) {
		obj_cache__counters(c)->load_failures++;
		pr_warn_ratelimited("failed to read symbols of %s (pid %d): %s; its frames keep "
				    "module+offset",
				    o->at.path, o->pid, strerror(err));
	} else {
		o->cost += elf_object__memory_bytes(o->elf);
	}
	o->built |= OBJECT_PART_SYMBOLS;
	obj_cache__object_built(c, o);
	return o->elf;
}

int object__unwind_table(struct object *o, struct unwind_rules *rules,
			 const struct unwind_table_opts *opts, const struct unwind_table **out)
{
	struct obj_cache *c = o->cache;
	Elf *elf;
	int fd;

	if (!(o->built & OBJECT_PART_UNWIND)) {
		if (!c)
			return -ENODEV;
		fd = obj_cache__object_fd(c, o);
		if (fd < 0)
			return fd;
		elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		if (elf) {
			o->unwind_err = unwind_table__build(elf, rules, opts, &o->unwind);
			elf_end(elf);
		} else {
			o->unwind_err = -ENOEXEC;
		}
		obj_cache__counters(c)->unwind_builds++;
		o->cost += o->unwind.nrows * sizeof(o->unwind.rows[0]);
		o->built |= OBJECT_PART_UNWIND;
		obj_cache__object_built(c, o);
	}
	if (o->unwind_err)
		return o->unwind_err;
	*out = &o->unwind;
	return 0;
}

static int search_data_symbol(struct obj_cache *c, struct object *o, const char *name)
{
	struct elf_data_symbol ds = { 0 };
	uint64_t any_offset = 0;
	int fd;

	free(o->data_sym_name);
	o->data_sym_name = strdup(name);
	if (!o->data_sym_name)
		return -ENOMEM;
	fd = obj_cache__object_fd(c, o);
	if (fd < 0)
		return fd;
	/* the symbol once, at any offset the file has: each mapping's offset is applied below */
	for (size_t i = 0; i < o->nsegs; i++)
		if (o->segs[i].filesz) {
			any_offset = o->segs[i].offset;
			break;
		}
	o->data_sym_err = elf_find_data_symbol_fd(fd, name, any_offset, &ds);
	o->data_sym_vaddr = ds.vaddr;
	o->data_sym_size = ds.size;
	obj_cache__counters(c)->data_sym_searches++;
	o->built |= OBJECT_PART_DATA_SYM;
	obj_cache__object_built(c, o);
	return 0;
}

int object__data_symbol(struct object *o, const char *name, uint64_t file_offset,
			struct elf_data_symbol *out)
{
	int err;

	if (!(o->built & OBJECT_PART_DATA_SYM) || strcmp(o->data_sym_name, name)) {
		if (!o->cache)
			return -ENODEV;
		o->built &= ~OBJECT_PART_DATA_SYM;
		err = search_data_symbol(o->cache, o, name);
		if (err)
			return err;
	}
	if (o->data_sym_err)
		return o->data_sym_err;
	err = elf_segments_offset_to_vaddr(o->segs, o->nsegs, file_offset, &out->map_vaddr);
	if (err)
		return err;
	out->vaddr = o->data_sym_vaddr;
	out->size = o->data_sym_size;
	return 0;
}

static int build_python(struct object *o)
{
	struct obj_cache *c = o->cache;
	Elf *elf;
	int fd;

	if (o->built & OBJECT_PART_PYTHON)
		return 0;
	if (!c)
		return -ENODEV;
	fd = obj_cache__object_fd(c, o);
	if (fd < 0)
		return fd;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF) {
		o->python_err = python_elf_find(elf, &o->python);
		o->libc_tsd_err = libc_tsd_find(elf, &o->libc_tsd);
	} else {
		o->python_err = o->libc_tsd_err = -ENOEXEC;
	}
	elf_end(elf);
	o->built |= OBJECT_PART_PYTHON;
	obj_cache__object_built(c, o);
	return 0;
}

int object__python(struct object *o, const struct python_elf **out)
{
	int err = build_python(o);

	if (err)
		return err;
	if (o->python_err)
		return o->python_err;
	*out = &o->python;
	return 0;
}

int object__libc_tsd(struct object *o, const struct libc_tsd **out)
{
	int err = build_python(o);

	if (err)
		return err;
	if (o->libc_tsd_err)
		return o->libc_tsd_err;
	*out = &o->libc_tsd;
	return 0;
}

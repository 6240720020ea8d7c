/* SPDX-License-Identifier: BSD-2-Clause */
/* The ELF reading of a mapped file: build-id, PT_LOAD segments, and the function symbols of
 * .symtab/.dynsym, of a separate debug file (by build-id or .gnu_debuglink) or MiniDebugInfo. */
#ifndef STOKER_OBJECT_ELF_SYMBOLS_H
#define STOKER_OBJECT_ELF_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gelf.h>

#define ELF_BUILD_ID_MAX 64 /* bytes; GNU build-ids are 20 (sha1) or 16 (md5/uuid) */
#define ELF_MAX_SEGMENTS 32 /* PT_LOAD segments kept */

/* One PT_LOAD program header. */
struct elf_segment {
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags;
};

struct elf_object_opts {
	/* Filesystem root the object's process sees, e.g. "/proc/123/root"; debug files are looked
	 * up under it first, then on the host. NULL or "" means the host's root. */
	const char *root;
	/* Debug directories (absolute, relative to root), NULL-terminated; NULL means
	 * { "/usr/lib/debug", NULL }. */
	const char *const *debug_dirs;
	/* Cap on symbols kept per object (0: default 4M); the rest are dropped and counted. */
	size_t max_symbols;
	/* Cap on decompressed .gnu_debugdata bytes (0: default 64 MiB); larger is skipped. */
	size_t max_debugdata_bytes;
	/* Quota on the heap the symbol tables take (0: none). Each table's cost is estimated from
	 * its section sizes (entries * per-symbol cost + string table size) before it is read: a
	 * table that would go over is skipped, and the next source tried. Names are kept once
	 * each, so what a table takes is at most its estimate. */
	size_t max_bytes;
	/* Called with a table's estimate before it is read, to make room for it; non-zero skips
	 * the table like the quota does. NULL: none. */
	int (*reserve)(void *ctx, size_t bytes);
	void *reserve_ctx;
};

struct elf_symbol_result {
	const char *name; /* mangled as in the ELF; owned by the object */
	uint64_t start;	  /* symbol's ELF virtual address */
	uint64_t size;
};

struct elf_object;

/* Opens and indexes the ELF file at path. Returns NULL and sets errno (ENOEXEC for a file that
 * is not a usable ELF). Never crashes on malformed input. */
struct elf_object *elf_object__open(const char *path, const struct elf_object_opts *opts);
/* Same, from a file descriptor the caller keeps; path is used for messages and debuglink. */
struct elf_object *elf_object__open_fd(int fd, const char *path,
				       const struct elf_object_opts *opts);
void elf_object__free(struct elf_object *obj);

/* Opens the separate debug file of the ELF file behind fd the way elf_object__open_fd finds
 * it (build-id directories, then .gnu_debuglink next to path and under the debug
 * directories), accepted only when its build-id (or debuglink CRC) matches. Returns its fd
 * (O_CLOEXEC, the caller's), -ENOENT, or -errno. */
int elf_open_debug_file(int fd, const char *path, const struct elf_object_opts *opts);

/* Reads only the GNU build-id note of the file behind fd. Returns its length in bytes, 0 when
 * the file has none, or a negative errno. */
int elf_read_build_id_fd(int fd, uint8_t *buf, size_t buf_len);

/* Reads the PT_LOAD segments (at most max) of the file behind fd. Returns how many, or
 * -ENOEXEC for a file that is not ELF. */
int elf_read_segments_fd(int fd, struct elf_segment *segs, size_t max);
/* Maps a file offset to the ELF virtual address through the segment holding it, executable
 * segments first. Returns 0 or -ENOENT. */
int elf_segments_offset_to_vaddr(const struct elf_segment *segs, size_t n, uint64_t off,
				 uint64_t *vaddr);

/* A section by type (SHT_SYMTAB/SHT_DYNSYM; name NULL) or by name (type ignored; an
 * SHT_NOBITS section of that name does not count), its header copied to *out. */
Elf_Scn *elf_find_section(Elf *elf, Elf64_Word type, const char *name, GElf_Shdr *out);
/* The first defined symbol named name of type stt (STT_OBJECT or STT_FUNC) in the table of
 * section type table (SHT_DYNSYM or SHT_SYMTAB): an object must have an address, a function a
 * size. Returns 0 with *out, or -ENOENT. */
int elf_find_symbol(Elf *elf, Elf64_Word table, unsigned char stt, const char *name, GElf_Sym *out);

/* A defined data object found by name (elf_find_data_symbol_fd). */
struct elf_data_symbol {
	uint64_t vaddr;	    /* the symbol's ELF virtual address */
	uint64_t size;	    /* its st_size */
	uint64_t map_vaddr; /* ELF virtual address of the file offset asked for */
};

/* Looks up the data object (STT_OBJECT) name in .dynsym, then .symtab, of the file behind fd
 * without indexing the other symbols, and maps file_offset (a mapping's pgoff) to its ELF
 * virtual address through PT_LOAD, so runtime address = start + vaddr - map_vaddr. Returns
 * 0, -ENOENT when the file does not define name or file_offset is in no segment, -ENOEXEC for
 * a file that is not ELF. */
int elf_find_data_symbol_fd(int fd, const char *name, uint64_t file_offset,
			    struct elf_data_symbol *out);

/* Build-id as lowercase hex ("" when the file has none). */
const char *elf_object__build_id_hex(const struct elf_object *obj);
/* ET_EXEC, ET_DYN, ... */
int elf_object__type(const struct elf_object *obj);
/* Maps a file offset (from /proc/PID/maps: addr - start + pgoff) to the ELF virtual address,
 * through the PT_LOAD segment that contains it. Returns 0 or -ENOENT. */
int elf_object__offset_to_vaddr(const struct elf_object *obj, uint64_t file_offset,
				uint64_t *vaddr);
/* Finds the function symbol containing vaddr. Returns 0 or -ENOENT. */
int elf_object__lookup(const struct elf_object *obj, uint64_t vaddr, struct elf_symbol_result *res);
size_t elf_object__symbol_count(const struct elf_object *obj);
/* Where the symbols came from: "symtab", "dynsym", "debug-file", "debugdata", "none". */
const char *elf_object__symbol_source(const struct elf_object *obj);
/* Symbol tables skipped for the quota or the reserve hook (elf_object_opts.max_bytes). */
uint64_t elf_object__tables_refused(const struct elf_object *obj);
/* Heap bytes held, for cache accounting: at most the estimates of the tables read. */
size_t elf_object__memory_bytes(const struct elf_object *obj);

/* The name as people read it: without its symbol version (`@@GLIBC_2.34`), C++ (Itanium ABI)
 * and Rust (legacy, without the hash; v0) demangled. Returns a malloc'ed string, or NULL when
 * name is shown as is (the caller then uses name). */
char *demangle(const char *name);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/* Kernel symbols from /proc/kallsyms: address-sorted text symbols with their module names. */
#ifndef STOKER_KALLSYMS_H
#define STOKER_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

struct ksym {
	uint64_t addr;
	const char *name;   /* owned by the table */
	const char *module; /* "" for the core kernel, e.g. "ext4" for "[ext4]" */
};

struct kallsyms;

/* Loads path (normally "/proc/kallsyms"). NULL + errno on failure; EPERM-like failure when
 * every address reads as zero (kptr_restrict) is reported as -EACCES via errno. */
struct kallsyms *kallsyms__load(const char *path);
/* The same from an open file, read bufsize bytes at a time (kallsyms__load reads 64 KiB; a
 * size below the longest line kallsyms accepts is raised to it). */
struct kallsyms *kallsyms__load_fd(int fd, size_t bufsize);
/* Parses a kallsyms text buffer (not NUL-terminated necessarily). Malformed lines are skipped. */
struct kallsyms *kallsyms__parse(const char *buf, size_t len);
/* The text symbol at or before addr, or NULL (addr below the first symbol or past the end
 * of the kernel's text). */
const struct ksym *kallsyms__lookup(const struct kallsyms *ks, uint64_t addr);
size_t kallsyms__count(const struct kallsyms *ks);
void kallsyms__free(struct kallsyms *ks);

#endif

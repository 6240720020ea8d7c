/* SPDX-License-Identifier: BSD-2-Clause */
/* /proc/PID/maps parsing: strict field by field, every malformed line rejected, not guessed. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/addr_search.h"
#include "util/array.h"
#include "util/fileio.h"
#include "util/parse_util.h"
#include "object/proc_maps.h"

#define MAPS_MAX_BYTES (16u << 20)

static const char *skip_spaces(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Parses hex up to a delimiter inside [p, end). */
static int hex_field(const char **p, const char *end, uint64_t *out)
{
	char tmp[24];
	const char *s = *p, *e;
	size_t n = 0;

	while (s + n < end && n < sizeof(tmp) - 1 &&
	       ((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f') ||
		(s[n] >= 'A' && s[n] <= 'F')))
		n++;
	if (!n || n > 16)
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (parse_hex_u64(tmp, &e, out) || *e)
		return -EINVAL;
	*p = s + n;
	return 0;
}

int proc_map_parse_line(const char *line, size_t len, struct proc_map *m)
{
	const char *p = line, *end = line + len;
	uint64_t v;
	size_t plen;

	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	memset(m, 0, sizeof(*m));
	if (hex_field(&p, end, &m->start) || p >= end || *p++ != '-')
		return -EINVAL;
	if (hex_field(&p, end, &m->end) || m->end <= m->start)
		return -EINVAL;
	p = skip_spaces(p, end);
	if (end - p < 5)
		return -EINVAL;
	if ((p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
	    (p[2] != 'x' && p[2] != '-') || (p[3] != 'p' && p[3] != 's'))
		return -EINVAL;
	m->exec = p[2] == 'x';
	p += 4;
	if (p >= end || (*p != ' ' && *p != '\t'))
		return -EINVAL;
	p = skip_spaces(p, end);
	if (hex_field(&p, end, &m->pgoff))
		return -EINVAL;
	p = skip_spaces(p, end);
	if (hex_field(&p, end, &v) || v > 0xfffff || p >= end || *p++ != ':')
		return -EINVAL;
	m->dev_major = (uint32_t)v;
	if (hex_field(&p, end, &v) || v > 0xfffff)
		return -EINVAL;
	m->dev_minor = (uint32_t)v;
	p = skip_spaces(p, end);
	{
		uint64_t ino = 0;
		const char *s = p;

		while (p < end && *p >= '0' && *p <= '9') {
			if (ino > UINT64_MAX / 10 - 10)
				return -EINVAL;
			ino = ino * 10 + (uint64_t)(*p++ - '0');
		}
		if (p == s)
			return -EINVAL;
		m->inode = ino;
	}
	if (p < end && *p != ' ' && *p != '\t')
		return -EINVAL;
	p = skip_spaces(p, end);
	plen = (size_t)(end - p);
	if (plen >= sizeof(m->path))
		return -EINVAL;
	memcpy(m->path, p, plen);
	m->path[plen] = '\0';
	if (plen > 10 && strcmp(m->path + plen - 10, " (deleted)") == 0) {
		m->deleted = true;
		m->path[plen - 10] = '\0';
	}
	if (m->path[0] == '\0')
		m->kind = PROC_MAP_ANON;
	else if (strcmp(m->path, "[vdso]") == 0)
		m->kind = PROC_MAP_VDSO;
	else if (m->path[0] == '[')
		m->kind = strncmp(m->path, "[anon", 5) == 0 ? PROC_MAP_ANON : PROC_MAP_OTHER;
	else if (m->path[0] == '/' && m->inode != 0)
		m->kind = PROC_MAP_FILE;
	else if (strncmp(m->path, "/memfd:", 7) == 0 || m->path[0] == '/')
		m->kind = PROC_MAP_FILE; /* memfd and friends: inode 0 is possible only for anon */
	else
		m->kind = PROC_MAP_OTHER;
	return 0;
}

static int cmp_map(const void *a, const void *b)
{
	const struct proc_map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int proc_maps_parse(const char *buf, size_t len, size_t max_maps, struct proc_map **out,
		    size_t *bad)
{
	struct proc_map *maps = NULL;
	size_t n = 0, cap = 0, nbad = 0;
	const char *p = buf, *end = buf + len;
	struct proc_map m;

	*out = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (l && proc_map_parse_line(p, l, &m) == 0) {
			if (m.exec && n < max_maps) {
				if (ARRAY_RESERVE(maps, cap, n + 1)) {
					free(maps);
					return -ENOMEM;
				}
				maps[n++] = m;
			}
		} else if (l) {
			nbad++;
		}
		p += l + (nl ? 1 : 0);
	}
	if (n > 1)
		qsort(maps, n, sizeof(*maps), cmp_map);
	if (bad)
		*bad = nbad;
	*out = maps;
	return (int)n;
}

int proc_maps_read(int pid, size_t max_maps, struct proc_map **out)
{
	char path[64], *buf = NULL;
	size_t len = 0;
	int err;

	*out = NULL;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	err = read_file_capped(path, MAPS_MAX_BYTES, 0, &buf, &len);
	if (err)
		return err;
	/* A process that is gone between open and read yields an empty file. */
	if (len == 0)
		err = -ESRCH;
	else
		err = proc_maps_parse(buf, len, max_maps, out, NULL);
	free(buf);
	return err;
}

const struct proc_map *proc_maps_find(const struct proc_map *maps, size_t n, uint64_t addr)
{
	size_t lo = ADDR_SEARCH(maps, n, start, addr);

	if (lo == 0)
		return NULL;
	return addr < maps[lo - 1].end ? &maps[lo - 1] : NULL;
}

/* Opens path under the process's root as the process would resolve it: absolute symlinks and
 * ".." stay inside root, magic links (/proc/self/fd/N planted in a container) are refused. Kernels
 * without openat2 (before 5.6) get a plain open that at least refuses a symlink as last
 * component. */
int proc_open_under(const char *root, const char *path, bool follow)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char full[PROC_MAP_PATH_MAX + 64];
	int dfd, fd, err;

	dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	err = fd < 0 ? -errno : 0;
	close(dfd);
	if (fd >= 0 || (err != -ENOSYS && err != -EPERM && err != -EINVAL))
		return fd >= 0 ? fd : err;
	/* ENOSYS: no openat2; EPERM: a seccomp filter that does not know it */
	snprintf(full, sizeof(full), "%s%s", root, path);
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* The one way a file a process maps is opened, for every reader (symbols, unwind rows, span
 * symbol): map_files names the exact mapped file without path resolution and survives renames
 * and deletions; /proc/PID/root is the fallback where map_files is not readable. Never blocks
 * (O_NONBLOCK: a FIFO or device planted at the path) and never reads what is not a regular
 * file of the mapped inode. */
int proc_map_open(int pid, const struct proc_map *m, char *how, size_t how_len)
{
	char path[PROC_MAP_PATH_MAX + 64], root[32];
	struct stat st;
	int fd, err;

	if (m->path[0] != '/')
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	/* a magic link by design: no O_NOFOLLOW here, the kernel resolves it to the mapping */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(root, sizeof(root), "/proc/%d/root", pid);
		fd = proc_open_under(root, m->path, false);
		if (fd < 0)
			return fd;
		snprintf(path, sizeof(path), "%s%s", root, m->path);
	}
	if (fstat(fd, &st)) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EBADF;
		goto fail;
	}
	if ((uint64_t)st.st_ino != m->inode) {
		/* Not the inode that is mapped (replaced on disk, or a different mount). */
		err = -ESTALE;
		goto fail;
	}
	snprintf(how, how_len, "%s", path);
	return fd;
fail:
	close(fd);
	return err;
}

int proc_open_in_root(int pid, const char *path)
{
	char root[32];

	if (path[0] != '/')
		return -EINVAL;
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	return proc_open_under(root, path, false);
}

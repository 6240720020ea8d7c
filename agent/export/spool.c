/* SPDX-License-Identifier: BSD-2-Clause */
/* Spool files: names sort by window start so replay keeps order; a file is complete or
 * absent (write_file_atomic), its checksum catches the rest, and only a private directory
 * and files the agent owns are trusted. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/upload_batch.h"
#include "util/array.h"
#include "util/fileio.h"
#include "export/spool.h"

int spool_open(const char *dir)
{
	char buf[4096];
	size_t len = strlen(dir);
	struct stat st;
	int dfd, err;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	/* checked on the open directory, not the path: nothing can be swapped in between */
	dfd = open(buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		err = -errno;
		/* a symlink to a directory reports ENOTDIR with O_DIRECTORY on some kernels */
		if (err == -ENOTDIR && lstat(buf, &st) == 0 && S_ISLNK(st.st_mode))
			err = -ELOOP;
		return err;
	}
	if (fstat(dfd, &st)) {
		err = -errno;
		goto fail;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 0777) != 0700) {
		err = -EPERM;
		goto fail;
	}
	return dfd;
fail:
	close(dfd);
	return err;
}

static int fill_buf(int fd, void *ctx)
{
	const struct {
		const uint8_t *buf;
		size_t len;
	} *c = ctx;

	return fd_write_all(fd, c->buf, c->len);
}

int spool_write(int dirfd, const struct upload_batch *b, uint64_t seq, char **name, uint64_t *bytes)
{
	char final[64];
	struct {
		const uint8_t *buf;
		size_t len;
	} c;
	uint8_t *buf = NULL;
	size_t len;
	int err;

	*name = NULL;
	snprintf(final, sizeof(final), "%020lld-%08llu%s", (long long)b->start_ns,
		 (unsigned long long)seq, SPOOL_SUFFIX);
	err = upload_batch__serialize(b, &buf, &len);
	if (err)
		return err;
	c.buf = buf;
	c.len = len;
	err = write_file_atomic(dirfd, final, 0600, fill_buf, &c);
	if (err)
		goto out;
	*name = strdup(final);
	if (!*name) {
		unlinkat(dirfd, final, 0);
		err = -ENOMEM;
		goto out;
	}
	*bytes = len;
out:
	free(buf);
	return err;
}

/* Only what this agent could have written: another user's file would be windows pushed with
 * the agent's credentials, and a FIFO or device could block or never end. */
static bool trusted(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == geteuid();
}

int spool_read(int dirfd, const char *name, size_t max_bytes, struct upload_batch **out)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd, err;

	*out = NULL;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!trusted(&st)) {
		err = -EPERM;
		goto out;
	}
	err = fd_read_capped(fd, max_bytes, 0, &buf, &len);
	/* empty or over the cap: not a file this agent wrote */
	if (err == -EFBIG || (!err && !len))
		err = -EBADMSG;
	if (err)
		goto out;
	err = upload_batch__parse((const uint8_t *)buf, len, out);
	if (!err) {
		(*out)->spool_path = strdup(name);
		if (!(*out)->spool_path) {
			upload_batch__free(*out);
			*out = NULL;
			err = -ENOMEM;
		}
	}
out:
	close(fd);
	free(buf);
	return err;
}

int spool_remove(int dirfd, const char *name)
{
	return unlinkat(dirfd, name, 0) ? -errno : 0;
}

struct spool_ent {
	char *name;
	uint64_t size;
};

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct spool_ent *)a)->name, ((const struct spool_ent *)b)->name);
}

int spool_list(int dirfd, char ***names_out, uint64_t **sizes_out)
{
	size_t n = 0, cap = 0, sl = strlen(SPOOL_SUFFIX);
	struct spool_ent *e = NULL;
	char **names = NULL;
	uint64_t *sizes = NULL;
	struct dirent *de;
	DIR *d;
	int fd, err = 0;

	*names_out = NULL;
	*sizes_out = NULL;
	/* a fresh open, not a dup: a dup would share (and move) dirfd's read position */
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		err = -errno;
		close(fd);
		return err;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct stat st;

		if (strstr(de->d_name, SPOOL_SUFFIX ".tmp")) {
			/* An interrupted write: never complete, never renamed. */
			unlinkat(dirfd, de->d_name, 0);
			continue;
		}
		if (l <= sl || strcmp(de->d_name + l - sl, SPOOL_SUFFIX) != 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !trusted(&st))
			continue;
		if (ARRAY_RESERVE(e, cap, n + 1)) {
			err = -ENOMEM;
			break;
		}
		e[n].name = strdup(de->d_name);
		if (!e[n].name) {
			err = -ENOMEM;
			break;
		}
		e[n++].size = (uint64_t)st.st_size;
	}
	closedir(d);
	if (!err && n) {
		names = calloc(n, sizeof(*names));
		sizes = calloc(n, sizeof(*sizes));
		if (!names || !sizes)
			err = -ENOMEM;
	}
	if (err) {
		for (size_t i = 0; i < n; i++)
			free(e[i].name);
		free(names);
		free(sizes);
		free(e);
		return err;
	}
	if (n)
		qsort(e, n, sizeof(*e), cmp_ent);
	for (size_t i = 0; i < n; i++) {
		names[i] = e[i].name;
		sizes[i] = e[i].size;
	}
	free(e);
	*names_out = names;
	*sizes_out = sizes;
	return (int)n;
}

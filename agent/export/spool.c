/* SPDX-License-Identifier: BSD-2-Clause */
/* Spool files: names sort by window start so replay keeps order; a file is complete or
 * absent (temporary name + fsync + rename), and its checksum catches the rest. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/upload_batch.h"
#include "util/array.h"
#include "util/fileio.h"
#include "export/spool.h"

int spool_prepare(const char *dir)
{
	char buf[4096];
	size_t len = strlen(dir);

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
	return access(buf, W_OK) ? -errno : 0;
}

int spool_write(const char *dir, const struct upload_batch *b, uint64_t seq, char **path,
		uint64_t *bytes)
{
	char final[4096], tmp[4096 + 8];
	uint8_t *buf = NULL;
	size_t len;
	int fd = -1, dfd = -1, err;

	*path = NULL;
	if ((size_t)snprintf(final, sizeof(final), "%s/%020lld-%08llu%s", dir,
			     (long long)b->start_ns, (unsigned long long)seq,
			     SPOOL_SUFFIX) >= sizeof(final))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", final);
	err = upload_batch__serialize(b, &buf, &len);
	if (err)
		return err;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = fd_write_all(fd, buf, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	fd = -1;
	if (!err && rename(tmp, final))
		err = -errno;
	if (err)
		goto out;
	/* The rename is durable only once the directory is synced. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	*path = strdup(final);
	if (!*path) {
		err = -ENOMEM;
		goto out;
	}
	*bytes = len;
out:
	if (err)
		unlink(tmp);
	free(buf);
	return err;
}

int spool_read(const char *path, size_t max_bytes, struct upload_batch **out)
{
	char *buf = NULL;
	size_t len = 0;
	int err;

	*out = NULL;
	err = read_file_capped(path, max_bytes, 0, &buf, &len);
	/* empty or over the cap: not a file this agent wrote */
	if (err == -EFBIG || (!err && !len))
		err = -EBADMSG;
	if (err)
		goto out;
	err = upload_batch__parse((const uint8_t *)buf, len, out);
	if (!err) {
		(*out)->spool_path = strdup(path);
		if (!(*out)->spool_path) {
			upload_batch__free(*out);
			*out = NULL;
			err = -ENOMEM;
		}
	}
out:
	free(buf);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int spool_list(const char *dir, char ***paths_out, uint64_t **sizes_out)
{
	char **paths = NULL;
	uint64_t *sizes = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int err = 0;

	*paths_out = NULL;
	*sizes_out = NULL;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), sl = strlen(SPOOL_SUFFIX);
		char full[4096];
		struct stat st;

		if ((size_t)snprintf(full, sizeof(full), "%s/%s", dir, de->d_name) >= sizeof(full))
			continue;
		if (l > sl + 4 && strcmp(de->d_name + l - 4, ".tmp") == 0 &&
		    strstr(de->d_name, SPOOL_SUFFIX)) {
			/* An interrupted write: never complete, never renamed. */
			unlink(full);
			continue;
		}
		if (l <= sl || strcmp(de->d_name + l - sl, SPOOL_SUFFIX) != 0)
			continue;
		if (stat(full, &st) || !S_ISREG(st.st_mode))
			continue;
		if (ARRAY_RESERVE(paths, cap, n + 1)) {
			err = -ENOMEM;
			break;
		}
		paths[n] = strdup(full);
		if (!paths[n]) {
			err = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (!err && n) {
		qsort(paths, n, sizeof(*paths), cmp_str);
		sizes = calloc(n, sizeof(*sizes));
		if (!sizes)
			err = -ENOMEM;
		for (size_t i = 0; !err && i < n; i++) {
			struct stat st;

			sizes[i] = stat(paths[i], &st) ? 0 : (uint64_t)st.st_size;
		}
	}
	if (err) {
		for (size_t i = 0; i < n; i++)
			free(paths[i]);
		free(paths);
		free(sizes);
		return err;
	}
	*paths_out = paths;
	*sizes_out = sizes;
	return (int)n;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/* File I/O helpers: whole reads under a cap, line reads in a bounded buffer, small one-shot
 * reads, complete writes despite short writes and signals, atomic writes through a temporary
 * file no one else can plant. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/array.h"
#include "util/fileio.h"

/* First buffer when fstat gives no size (/proc files, pipes). */
#define READ_CAPPED_FIRST 16384

static ssize_t read_retry(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int fd_read_capped(int fd, size_t max, unsigned int flags, char **out, size_t *len)
{
	size_t got = 0, cap = 0, want = READ_CAPPED_FIRST, limit;
	char *buf = NULL;
	struct stat st;
	int err = 0;

	*out = NULL;
	*len = 0;
	if (max >= SIZE_MAX / 2)
		return -EINVAL;
	/* up to max + 1 bytes and the NUL: reading one byte past the cap is how a file over it
	 * is told apart from one at it */
	limit = max + 2;
	/* a regular file's size is the right first guess; the read that returns 0 proves the end */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		want = (uint64_t)st.st_size < max ? (size_t)st.st_size + 2 : limit;
	if (ARRAY_RESERVE_MAX(buf, cap, want < limit ? want : limit, limit))
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (got + 1 == cap) {
			if (cap == limit)
				break;
			if (ARRAY_RESERVE_MAX(buf, cap, cap + 1, limit)) {
				err = -ENOMEM;
				goto out;
			}
		}
		n = read_retry(fd, buf + got, cap - 1 - got);
		if (n < 0) {
			err = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > max) {
		if (!(flags & READ_CAPPED_TRUNCATE_LINES)) {
			err = -EFBIG;
			goto out;
		}
		got = max;
		while (got && buf[got - 1] != '\n')
			got--;
		err = 1;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	return err;
}

int read_file_capped(const char *path, size_t max, unsigned int flags, char **out, size_t *len)
{
	int fd, err;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fd_read_capped(fd, max, flags, out, len);
	close(fd);
	return err;
}

int fd_read_lines(int fd, size_t max, size_t size, size_t line_max, line_fn fn, void *ctx,
		  size_t *long_lines)
{
	size_t start = 0, end = 0, total = 0, skipped = 0;
	bool in_long = false, over = false;
	char *buf;
	int err = 0;

	if (long_lines)
		*long_lines = 0;
	if (size <= line_max || max >= SIZE_MAX / 2)
		return -EINVAL;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		/* never 0: what is kept between reads is at most line_max < size bytes */
		size_t room = size - end;
		ssize_t n;
		char *nl;

		/* one byte past the cap tells a file over it from one at it */
		if (room > max + 1 - total)
			room = max + 1 - total;
		n = read_retry(fd, buf + end, room);
		if (n < 0) {
			err = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		end += (size_t)n;
		if (total > max) {
			over = true;
			end--;
		}
		while ((nl = memchr(buf + start, '\n', end - start))) {
			size_t len = (size_t)(nl - buf) - start;

			if (in_long) {
				in_long = false;
				skipped++;
			} else {
				err = fn(ctx, buf + start, len);
				if (err)
					goto out;
			}
			start += len + 1;
		}
		/* the partial line at the cap would parse into a wrong entry */
		if (over)
			break;
		/* a line too long to pass is dropped as it comes, up to its end */
		if (in_long || end - start > line_max) {
			in_long = true;
			start = end;
		}
		if (start) {
			memmove(buf, buf + start, end - start);
			end -= start;
			start = 0;
		}
	}
	if (over)
		err = 1;
	else if (in_long)
		skipped++;
	else if (end > start)
		err = fn(ctx, buf + start, end - start);
out:
	if (long_lines)
		*long_lines = skipped;
	free(buf);
	return err;
}

ssize_t fd_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read_retry(fd, (char *)buf + got, len - got);

		if (n < 0)
			return n;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int make_private_dir(const char *dir)
{
	char path[4096];
	struct stat st;

	if (strlen(dir) >= sizeof(path) || dir[0] != '/')
		return -EINVAL;
	memcpy(path, dir, strlen(dir) + 1);
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077))
		return -EPERM;
	return 0;
}

int fd_pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		got += (size_t)n;
	}
	return 0;
}

ssize_t read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	if (!size)
		return -EINVAL;
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* seq_file entries in /proc may come in more than one read */
	n = fd_read_full(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A name nobody can plant ahead of time: with O_EXCL a planted one only costs a retry. Not
 * O_TMPFILE: linkat cannot replace an existing name, so a temporary name would still be needed
 * for the rename, and linking an unnamed file needs /proc or CAP_DAC_READ_SEARCH. */
static int tmp_name(char *buf, size_t size, const char *name)
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		/* no entropy yet (early boot): O_EXCL still refuses whatever is there */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
		    ((uint64_t)getpid() << 40);
	}
	if ((size_t)snprintf(buf, size, "%s.tmp.%016llx", name, (unsigned long long)r) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int write_file_atomic(int dirfd, const char *name, mode_t mode, file_fill_fn fill, void *ctx)
{
	char tmp[4096];
	int fd = -1, err = -EEXIST;

	if (!*name || strchr(name, '/'))
		return -EINVAL;
	for (int tries = 0; tries < 16 && err == -EEXIST; tries++) {
		err = tmp_name(tmp, sizeof(tmp), name);
		if (err)
			return err;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		err = fd < 0 ? -errno : 0;
	}
	if (err)
		return err;
	err = fill(fd, ctx);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	if (err) {
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	/* the rename is durable only once the directory is synced */
	fsync(dirfd);
	return 0;
}

int write_path_atomic(const char *path, mode_t mode, file_fill_fn fill, void *ctx)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int dfd, err;

	if (!slash) {
		dir[0] = '.';
		dir[1] = '\0';
	} else if (slash == path) {
		dir[0] = '/';
		dir[1] = '\0';
	} else if ((size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	} else {
		return -ENAMETOOLONG;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	err = write_file_atomic(dfd, slash ? slash + 1 : path, mode, fill, ctx);
	close(dfd);
	return err;
}

/* Unit tests of the spool directory: files sort oldest first, leftovers of interrupted writes
 * go, torn, corrupt, empty or oversized files are refused rather than trusted, and a spool
 * another user could write, links, FIFOs and others' files are refused. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/spool.h"
#include "export/upload_batch.h"
#include "test.h"

/* A batch made by hand: the spool stores profiles as opaque bytes. */
static struct upload_batch *small_batch(void)
{
	struct upload_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->start_ns = 1700000000000000000ll;
	b->end_ns = b->start_ns + 15000000000ll;
	b->sample_rate_hz = 100;
	b->samples = 10;
	b->series = calloc(2, sizeof(*b->series));
	if (!b->series)
		goto fail;
	for (int i = 0; i < 2; i++) {
		struct series_profile *sp = &b->series[i];
		char svc[16];

		snprintf(svc, sizeof(svc), "svc%d", i);
		sp->labels = calloc(1, sizeof(*sp->labels));
		sp->pprof_gz = malloc(100);
		b->nseries++;
		if (!sp->labels || !sp->pprof_gz)
			goto fail;
		sp->nlabels = 1;
		sp->labels[0].name = strdup("service_name");
		sp->labels[0].value = strdup(svc);
		if (!sp->labels[0].name || !sp->labels[0].value)
			goto fail;
		memset(sp->pprof_gz, 'a' + i, 100);
		sp->len = 100;
		b->bytes += sp->len;
	}
	return b;
fail:
	upload_batch__free(b);
	return NULL;
}

static int victim_intact(const char *victim)
{
	char buf[16] = "";
	int fd = open(victim, O_RDONLY | O_CLOEXEC), n = -1;

	if (fd >= 0) {
		n = (int)read(fd, buf, sizeof(buf));
		close(fd);
	}
	return n == 7 && memcmp(buf, "victim\n", 7) == 0;
}

static void make_victim(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0 && write(fd, "victim\n", 7) == 7);
	if (fd >= 0)
		close(fd);
}

static void test_spool_dir(void)
{
	char dir[] = "/tmp/stoker-spool-XXXXXX", torn[4200], junk[4200];
	struct upload_batch *b = small_batch(), *r = NULL;
	char *p1 = NULL, *p2 = NULL, **paths;
	uint64_t bytes, *sizes;
	int n, fd, dfd;

	CHECK(mkdtemp(dir) != NULL);
	dfd = spool_open(dir);
	CHECK(dfd >= 0);
	CHECK_INT(spool_write(dfd, b, 2, &p2, &bytes), 0);
	b->start_ns -= 1000; /* an older window sorts first */
	CHECK_INT(spool_write(dfd, b, 1, &p1, &bytes), 0);
	CHECK(p1 && !strchr(p1, '/'));
	snprintf(torn, sizeof(torn), "%s/00000000000000000001-00000009.spool.tmp.0123456789abcdef",
		 dir);
	fd = open(torn, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1);
	close(fd);
	n = spool_list(dfd, &paths, &sizes);
	CHECK_INT(n, 2);
	CHECK(access(torn, F_OK) != 0); /* leftover temporary removed */
	if (n == 2) {
		CHECK_STR(paths[0], p1);
		CHECK_STR(paths[1], p2);
		CHECK_U64(sizes[0], bytes);
		CHECK_INT(spool_read(dfd, paths[0], 1 << 20, &r), 0);
		CHECK(r && r->nseries == b->nseries && r->spool_path && !strcmp(r->spool_path, p1));
		upload_batch__free(r);
		CHECK_INT(spool_read(dfd, paths[0], 10, &r), -EBADMSG); /* over the size cap */
		/* a file exactly at the cap is read; one byte under it is not */
		CHECK_INT(spool_read(dfd, paths[0], (size_t)bytes, &r), 0);
		upload_batch__free(r);
		r = NULL;
		CHECK_INT(spool_read(dfd, paths[0], (size_t)bytes - 1, &r), -EBADMSG);
		for (int i = 0; i < n; i++)
			free(paths[i]);
		free(paths);
		free(sizes);
	}
	/* a truncated spool file is reported, not trusted */
	CHECK_INT(ftruncate(fd = openat(dfd, p2, O_WRONLY | O_CLOEXEC), 60), 0);
	close(fd);
	CHECK_INT(spool_read(dfd, p2, 1 << 20, &r), -EBADMSG);
	snprintf(junk, sizeof(junk), "%s/junk.spool", dir);
	fd = open(junk, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, "not a spool file at all, not at all", 35) == 35);
	close(fd);
	CHECK_INT(spool_read(dfd, "junk.spool", 1 << 20, &r), -EBADMSG);
	CHECK_INT(spool_remove(dfd, p1), 0);
	CHECK_INT(spool_remove(dfd, p2), 0);
	CHECK_INT(spool_remove(dfd, "junk.spool"), 0);
	close(dfd);
	CHECK_INT(rmdir(dir), 0);
	free(p1);
	free(p2);
	upload_batch__free(b);
}

static void test_empty_file_refused(void)
{
	char dir[] = "/tmp/stoker-spool-XXXXXX", path[4200];
	struct upload_batch *r = (struct upload_batch *)1;
	int fd, dfd;

	CHECK(mkdtemp(dir) != NULL);
	dfd = spool_open(dir);
	CHECK(dfd >= 0);
	snprintf(path, sizeof(path), "%s/00000000000000000001-00000001.spool", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK_INT(spool_read(dfd, "00000000000000000001-00000001.spool", 1 << 20, &r), -EBADMSG);
	CHECK(r == NULL);
	CHECK_INT(spool_read(dfd, "nonexistent.spool", 1 << 20, &r), -ENOENT);
	unlink(path);
	close(dfd);
	rmdir(dir);
}

/* Another user plants a symlink at the temporary name the agent used to derive from the
 * window (<final>.tmp): writing the window must not follow it. */
static void test_write_ignores_planted_tmp_symlink(void)
{
	char dir[] = "/tmp/stoker-spool-XXXXXX", victim[] = "/tmp/stoker-victim-XXXXXX";
	char tmp[4200], *name = NULL, **names;
	struct upload_batch *b = small_batch(), *r = NULL;
	uint64_t bytes = 0, *sizes;
	struct stat st;
	int fd, dfd, n;

	CHECK(mkdtemp(dir) != NULL);
	fd = mkstemp(victim);
	CHECK(fd >= 0);
	close(fd);
	make_victim(victim);
	dfd = spool_open(dir);
	CHECK(dfd >= 0);
	snprintf(tmp, sizeof(tmp), "%s/%020lld-%08llu%s.tmp", dir, (long long)b->start_ns, 7ull,
		 SPOOL_SUFFIX);
	CHECK_INT(symlink(victim, tmp), 0);
	CHECK_INT(spool_write(dfd, b, 7, &name, &bytes), 0);
	CHECK(victim_intact(victim));
	CHECK(stat(victim, &st) == 0 && st.st_size == 7);
	n = spool_list(dfd, &names, &sizes);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_STR(names[0], name);
		CHECK_INT(spool_read(dfd, names[0], 1 << 20, &r), 0);
		upload_batch__free(r);
		free(names[0]);
		free(names);
		free(sizes);
	}
	/* the leftover-temporary sweep removed the planted link, never its target */
	CHECK(lstat(tmp, &st) != 0);
	CHECK(victim_intact(victim));
	if (name)
		spool_remove(dfd, name);
	free(name);
	close(dfd);
	CHECK_INT(rmdir(dir), 0);
	unlink(victim);
	upload_batch__free(b);
}

/* Whoever can write the spool can have the agent push windows with its credentials: only a
 * real directory of the agent's euid with permission bits exactly 0700 is used. */
static void test_unsafe_dir_refused(void)
{
	char base[] = "/tmp/stoker-spool-XXXXXX", dir[4200], link[4200], file[4200];
	static const mode_t bad[] = { 0777, 0755, 0750, 0710, 0701, 0704, 0500 };
	struct stat st;
	mode_t old;
	int dfd;

	CHECK(mkdtemp(base) != NULL);
	snprintf(dir, sizeof(dir), "%s/a/spool", base);
	/* created 0700 even under a permissive umask */
	old = umask(0);
	dfd = spool_open(dir);
	umask(old);
	CHECK(dfd >= 0);
	if (dfd >= 0)
		close(dfd);
	CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(chmod(dir, bad[i]), 0);
		dfd = spool_open(dir);
		if (dfd >= 0)
			close(dfd);
		CHECK_INT(dfd, -EPERM);
	}
	CHECK_INT(chmod(dir, 0700), 0);
	/* owned by another user (nobody), even with the right mode */
	CHECK(geteuid() == 0); /* chown needs root: the unit tests run as root */
	CHECK_INT(chown(dir, 65534, 65534), 0);
	dfd = spool_open(dir);
	if (dfd >= 0)
		close(dfd);
	CHECK_INT(dfd, -EPERM);
	CHECK_INT(chown(dir, geteuid(), getegid()), 0);
	/* a symlink to a good directory: the path could be swapped later */
	snprintf(link, sizeof(link), "%s/link", base);
	CHECK_INT(symlink(dir, link), 0);
	dfd = spool_open(link);
	if (dfd >= 0)
		close(dfd);
	CHECK_INT(dfd, -ELOOP);
	snprintf(file, sizeof(file), "%s/file", base);
	make_victim(file);
	dfd = spool_open(file);
	if (dfd >= 0)
		close(dfd);
	CHECK_INT(dfd, -ENOTDIR);
	unlink(file);
	unlink(link);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/a", base);
	rmdir(dir);
	rmdir(base);
}

/* A symlink, a FIFO or another user's file named like a spool file is neither listed nor
 * read (a FIFO would block the upload thread; the others inject or leak windows). */
static void test_untrusted_entries_skipped(void)
{
	char dir[] = "/tmp/stoker-spool-XXXXXX", p[4200], victim[] = "/tmp/stoker-victim-XXXXXX";
	static const char *const names[] = { "00000000000000000001-00000001.spool",
					     "00000000000000000002-00000001.spool",
					     "00000000000000000003-00000001.spool" };
	struct upload_batch *b = small_batch(), *r = NULL;
	char *good = NULL, *foreign = NULL, **list;
	uint64_t bytes, *sizes;
	int fd, dfd, n;

	CHECK(mkdtemp(dir) != NULL);
	dfd = spool_open(dir);
	CHECK(dfd >= 0);
	/* a valid spool file to link to and one to hand to another user */
	CHECK_INT(spool_write(dfd, b, 1, &good, &bytes), 0);
	b->start_ns += 1000;
	CHECK_INT(spool_write(dfd, b, 2, &foreign, &bytes), 0);
	CHECK(foreign && fchownat(dfd, foreign, 65534, 65534, 0) == 0);
	fd = mkstemp(victim);
	CHECK(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/%s", dir, good);
	CHECK_INT(rename(p, victim), 0); /* the valid file now lives outside the spool */
	snprintf(p, sizeof(p), "%s/%s", dir, names[0]);
	CHECK_INT(symlink(victim, p), 0);
	snprintf(p, sizeof(p), "%s/%s", dir, names[1]);
	CHECK_INT(mkfifo(p, 0600), 0);
	snprintf(p, sizeof(p), "%s/%s", dir, names[2]);
	CHECK_INT(mkdir(p, 0700), 0);
	n = spool_list(dfd, &list, &sizes);
	CHECK_INT(n, 0);
	for (int i = 0; i < n; i++)
		free(list[i]);
	if (n >= 0) {
		free(list);
		free(sizes);
	}
	CHECK_INT(spool_read(dfd, names[0], 1 << 20, &r), -EPERM);
	CHECK_INT(spool_read(dfd, names[1], 1 << 20, &r), -EPERM); /* and did not block */
	CHECK_INT(spool_read(dfd, names[2], 1 << 20, &r), -EPERM);
	CHECK_INT(spool_read(dfd, foreign, 1 << 20, &r), -EPERM);
	CHECK(r == NULL);
	unlinkat(dfd, names[0], 0);
	unlinkat(dfd, names[1], 0);
	unlinkat(dfd, names[2], AT_REMOVEDIR);
	if (foreign)
		unlinkat(dfd, foreign, 0);
	close(dfd);
	CHECK_INT(rmdir(dir), 0);
	unlink(victim);
	free(good);
	free(foreign);
	upload_batch__free(b);
}

int main(void)
{
	RUN_TEST(test_spool_dir);
	RUN_TEST(test_empty_file_refused);
	RUN_TEST(test_write_ignores_planted_tmp_symlink);
	RUN_TEST(test_unsafe_dir_refused);
	RUN_TEST(test_untrusted_entries_skipped);
	return TEST_SUMMARY();
}

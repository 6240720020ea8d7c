/* Unit tests of the spool directory: files sort oldest first, leftovers of interrupted writes
 * go, and torn, corrupt, empty or oversized files are refused rather than trusted. */
#include <errno.h>
#include <fcntl.h>
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

static void test_spool_dir(void)
{
	char dir[] = "/tmp/stoker-spool-XXXXXX", torn[4200], junk[4200];
	struct upload_batch *b = small_batch(), *r = NULL;
	char *p1 = NULL, *p2 = NULL, **paths;
	uint64_t bytes, *sizes;
	int n, fd;

	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(spool_prepare(dir), 0);
	CHECK_INT(spool_write(dir, b, 2, &p2, &bytes), 0);
	b->start_ns -= 1000; /* an older window sorts first */
	CHECK_INT(spool_write(dir, b, 1, &p1, &bytes), 0);
	snprintf(torn, sizeof(torn), "%s/00000000000000000001-00000009.spool.tmp", dir);
	fd = open(torn, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1);
	close(fd);
	n = spool_list(dir, &paths, &sizes);
	CHECK_INT(n, 2);
	CHECK(access(torn, F_OK) != 0); /* leftover temporary removed */
	if (n == 2) {
		CHECK_STR(paths[0], p1);
		CHECK_STR(paths[1], p2);
		CHECK_U64(sizes[0], bytes);
		CHECK_INT(spool_read(paths[0], 1 << 20, &r), 0);
		CHECK(r && r->nseries == b->nseries && r->spool_path && !strcmp(r->spool_path, p1));
		upload_batch__free(r);
		CHECK_INT(spool_read(paths[0], 10, &r), -EBADMSG); /* over the size cap */
		/* a file exactly at the cap is read; one byte under it is not */
		CHECK_INT(spool_read(paths[0], (size_t)bytes, &r), 0);
		upload_batch__free(r);
		r = NULL;
		CHECK_INT(spool_read(paths[0], (size_t)bytes - 1, &r), -EBADMSG);
		for (int i = 0; i < n; i++)
			free(paths[i]);
		free(paths);
		free(sizes);
	}
	/* a truncated spool file is reported, not trusted */
	CHECK_INT(truncate(p2, 60), 0);
	CHECK_INT(spool_read(p2, 1 << 20, &r), -EBADMSG);
	snprintf(junk, sizeof(junk), "%s/junk.spool", dir);
	fd = open(junk, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, "not a spool file at all, not at all", 35) == 35);
	close(fd);
	CHECK_INT(spool_read(junk, 1 << 20, &r), -EBADMSG);
	unlink(p1);
	unlink(p2);
	unlink(junk);
	rmdir(dir);
	free(p1);
	free(p2);
	upload_batch__free(b);
}

static void test_empty_file_refused(void)
{
	char dir[] = "/tmp/stoker-spool-XXXXXX", path[4200];
	struct upload_batch *r = (struct upload_batch *)1;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/00000000000000000001-00000001.spool", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK_INT(spool_read(path, 1 << 20, &r), -EBADMSG);
	CHECK(r == NULL);
	CHECK_INT(spool_read("/nonexistent/stoker.spool", 1 << 20, &r), -ENOENT);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	RUN_TEST(test_spool_dir);
	RUN_TEST(test_empty_file_refused);
	return TEST_SUMMARY();
}

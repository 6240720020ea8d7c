/* Unit tests of /proc/PID/maps parsing, including malformed and hostile lines, and of the one
 * open path for mapped files. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "object/proc_maps.h"
#include "test.h"

static void test_parse_file_line(void)
{
	const char *l = "7f3a1c000000-7f3a1c1b6000 r-xp 00028000 fd:01 1312345                    "
			"/usr/lib/x86_64-linux-gnu/libc.so.6\n";
	struct proc_map m;

	CHECK_INT(proc_map_parse_line(l, strlen(l), &m), 0);
	CHECK_U64(m.start, 0x7f3a1c000000ull);
	CHECK_U64(m.end, 0x7f3a1c1b6000ull);
	CHECK_U64(m.pgoff, 0x28000);
	CHECK_INT(m.dev_major, 0xfd);
	CHECK_INT(m.dev_minor, 1);
	CHECK_U64(m.inode, 1312345);
	CHECK(m.exec);
	CHECK_INT(m.kind, PROC_MAP_FILE);
	CHECK_STR(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

static void test_parse_special(void)
{
	struct proc_map m;
	const char *vdso = "7ffd3b5f0000-7ffd3b5f2000 r-xp 00000000 00:00 0      [vdso]";
	const char *anon = "7f0000000000-7f0000100000 rwxp 00000000 00:00 0 ";
	const char *del = "55d0c0000000-55d0c0001000 r-xp 00001000 08:02 42 /tmp/a b (deleted)";

	CHECK_INT(proc_map_parse_line(vdso, strlen(vdso), &m), 0);
	CHECK_INT(m.kind, PROC_MAP_VDSO);
	CHECK_INT(proc_map_parse_line(anon, strlen(anon), &m), 0);
	CHECK_INT(m.kind, PROC_MAP_ANON);
	CHECK(m.exec);
	CHECK_INT(proc_map_parse_line(del, strlen(del), &m), 0);
	CHECK(m.deleted);
	CHECK_STR(m.path, "/tmp/a b");
	CHECK_INT(m.kind, PROC_MAP_FILE);
}

static void test_reject_garbage(void)
{
	const char *bad[] = {
		"",
		"garbage",
		"7f00-7e00 r-xp 00000000 00:00 0 /x",	    /* end before start */
		"7f00-7f10 r-zp 00000000 00:00 0 /x",	    /* bad perms */
		"7f00-7f10 r-xp 00000000 0000 0 /x",	    /* bad dev */
		"7f00+7f10 r-xp 00000000 00:00 0 /x",	    /* bad range */
		"11111111111111111-7f10 r-xp 0 00:00 0 /x", /* 17 hex digits */
		"7f00-7f10 r-xp 00000000 00:00 abc /x",	    /* bad inode */
		"7f00-7f10 r-xp",			    /* truncated */
	};
	struct proc_map m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(proc_map_parse_line(bad[i], strlen(bad[i]), &m), -EINVAL);
}

static void test_parse_whole_and_find(void)
{
	const char *text = "55d0c0002000-55d0c0003000 r-xp 00002000 08:02 42 /bin/prog\n"
			   "55d0c0000000-55d0c0001000 r--p 00000000 08:02 42 /bin/prog\n"
			   "this line is junk\n"
			   "7f0000001000-7f0000002000 r-xp 00001000 08:02 43 /lib/libx.so\n"
			   "7f0000000000-7f0000001000 r-xp 00000000 08:02 44 /lib/liby.so";
	struct proc_map *maps;
	size_t bad = 0;
	int n = proc_maps_parse(text, strlen(text), 100, &maps, &bad);

	CHECK_INT(n, 3); /* executable ones only */
	CHECK_INT(bad, 1);
	if (n == 3) {
		CHECK_STR(maps[0].path, "/bin/prog"); /* sorted by start */
		CHECK_STR(maps[1].path, "/lib/liby.so");
		CHECK(proc_maps_find(maps, 3, 0x7f0000001800) == &maps[2]);
		CHECK(proc_maps_find(maps, 3, 0x7f0000000000) == &maps[1]);
		CHECK(proc_maps_find(maps, 3, 0x7f0000002000) == NULL);
		CHECK(proc_maps_find(maps, 3, 0x1000) == NULL);
		CHECK(proc_maps_find(maps, 3, 0x55d0c0002fff) == &maps[0]);
	}
	free(maps);
	n = proc_maps_parse(text, strlen(text), 1, &maps, NULL);
	CHECK_INT(n, 1); /* capped */
	free(maps);
}

static void test_read_self(void)
{
	struct proc_map *maps;
	int n = proc_maps_read(getpid(), 4096, &maps);
	bool found = false;

	CHECK(n > 0);
	for (int i = 0; i < n; i++)
		if (proc_maps_find(maps, (size_t)n, (uint64_t)(uintptr_t)&test_read_self) ==
		    &maps[i])
			found = true;
	CHECK(found);
	free(maps);
	CHECK_INT(proc_maps_read(0x3fffffff, 10, &maps), -ENOENT);
}

/* A mapping that map_files does not know (no such range) goes by path under /proc/PID/root:
 * a FIFO there must not block, and a symlink, a directory or another inode is not opened. */
static void test_open_fallback_refuses(void)
{
	char dir[] = "/tmp/stoker-open-XXXXXX", path[64], how[PROC_MAP_PATH_MAX + 64];
	struct proc_map m = { .start = 0x1000, .end = 0x2000, .kind = PROC_MAP_FILE };
	struct stat st;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	close(fd);
	snprintf(m.path, sizeof(m.path), "%s", path);
	m.inode = st.st_ino;
	fd = proc_map_open(getpid(), &m, how, sizeof(how));
	CHECK(fd >= 0); /* the regular file of the mapped inode */
	if (fd >= 0)
		close(fd);
	m.inode = st.st_ino + 1;
	CHECK_INT(proc_map_open(getpid(), &m, how, sizeof(how)), -ESTALE);

	snprintf(m.path, sizeof(m.path), "%s/link", dir);
	CHECK_INT(symlink(path, m.path), 0);
	m.inode = st.st_ino;
	CHECK_INT(proc_map_open(getpid(), &m, how, sizeof(how)), -ELOOP);
	unlink(m.path);

	snprintf(m.path, sizeof(m.path), "%s/fifo", dir);
	CHECK_INT(mkfifo(m.path, 0600), 0);
	CHECK(stat(m.path, &st) == 0);
	m.inode = st.st_ino;
	CHECK_INT(proc_map_open(getpid(), &m, how, sizeof(how)), -EBADF); /* and returns */
	unlink(m.path);

	CHECK(stat(dir, &st) == 0);
	snprintf(m.path, sizeof(m.path), "%s", dir);
	m.inode = st.st_ino;
	CHECK_INT(proc_map_open(getpid(), &m, how, sizeof(how)), -EBADF);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	RUN_TEST(test_parse_file_line);
	RUN_TEST(test_parse_special);
	RUN_TEST(test_reject_garbage);
	RUN_TEST(test_parse_whole_and_find);
	RUN_TEST(test_read_self);
	RUN_TEST(test_open_fallback_refuses);
	return TEST_SUMMARY();
}

/* Unit tests of stack symbolization end to end: fixed stacks over fixture ELFs, kallsyms, a JIT
 * map and special mappings, symbolized into a profile and written as pprof, folded and HTML.
 * The outputs must equal the goldens in tests/unit/golden/, made by the code before frames
 * replaced locations in the symbolizer (#15): pprof byte for byte once the two
 * machine-dependent strings (fixture directory, build-ids) are replaced by placeholders. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/cli.h"
#include "export/output_local.h"
#include "profile/pprof_encode.h"
#include "profile/profile_builder.h"
#include "symbolize/symbolize.h"
#include "util/clock.h"
#include "test.h"

#define GOLDEN_DIR "tests/unit/golden/"

static char fx[PATH_MAX];
static bool write_golden; /* STOKER_WRITE_GOLDEN=1: rewrite the goldens (and fail) */

static const char ksyms_text[] = "ffffffff81000000 T _stext\n"
				 "ffffffff81001000 T do_syscall_64\n"
				 "ffffffff81002000 T entry_SYSCALL_64\n"
				 "ffffffff81003000 T _etext\n"
				 "ffffffffc0a01000 t ext4_file_read_iter\t[ext4]\n";

/* Mappings: each fixture's text segment (file offset 0x1000 = vaddr 0x1000, checked by
 * test_elf_symbols against readelf) at its own base, then special ones. */
enum { M_PIE, M_CPP, M_LIB, M_STRIPPED, M_GONE, M_TRUNC, M_JIT, M_VDSO, M_VSYSCALL, M_N };
static const uint64_t map_base[M_N] = {
	0x555500001000ull, 0x555600001000ull, 0x7f0000001000ull,
	0x7f1000001000ull, 0x7f2000001000ull, 0x7f3000001000ull,
	0x7f4000000000ull, 0x7ffff7fc1000ull, 0xffffffffff600000ull,
};
static const char *const map_file[M_N] = {
	"prog_pie", "prog_cpp", "libfixture.so", "prog_stripped", NULL, "truncated", NULL,
	NULL,	    NULL,
};

static int fake_maps(struct proc_map *maps)
{
	for (int i = 0; i < M_N; i++) {
		struct proc_map *m = &maps[i];
		struct stat st;

		memset(m, 0, sizeof(*m));
		m->start = map_base[i];
		m->end = map_base[i] + 0x1000;
		m->exec = true;
		if (map_file[i]) {
			if ((size_t)snprintf(m->path, sizeof(m->path), "%s/elf/%s", fx,
					     map_file[i]) >= sizeof(m->path))
				return -ENAMETOOLONG;
			if (stat(m->path, &st))
				return -errno;
			m->inode = st.st_ino;
			m->pgoff = 0x1000;
			m->kind = PROC_MAP_FILE;
		}
	}
	/* a library deleted and gone from disk: only its name is left */
	snprintf(maps[M_GONE].path, sizeof(maps[M_GONE].path), "/nonexistent/libgone.so.1");
	maps[M_GONE].inode = 12345;
	maps[M_GONE].pgoff = 0x3000;
	maps[M_JIT].kind = PROC_MAP_ANON;
	maps[M_JIT].end = map_base[M_JIT] + 0x10000;
	maps[M_VDSO].kind = PROC_MAP_VDSO;
	snprintf(maps[M_VDSO].path, sizeof(maps[M_VDSO].path), "[vdso]");
	maps[M_VSYSCALL].kind = PROC_MAP_OTHER;
	snprintf(maps[M_VSYSCALL].path, sizeof(maps[M_VSYSCALL].path), "[vsyscall]");
	return 0;
}

static uint64_t sym_ip(int map, const char *sym)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/elf/%s", fx, map_file[map]);
	return map_base[map] + test_nm_addr(path, sym) - 0x1000;
}

/* Returns addresses of callers: the symbolizer looks them up at ip - 1. */
static uint64_t ret_ip(int map, const char *sym)
{
	return sym_ip(map, sym) + 3;
}

struct fixture {
	struct symbolizer sz;
	struct obj_cache *objs;
	struct profile_builder pb;
	struct proc *p;
	char perf_map[64];
};

static int fixture_open(struct fixture *f)
{
	struct proc_map *maps = calloc(M_N, sizeof(*maps));
	char buf[256];
	int fd, n, err;

	memset(f, 0, sizeof(*f));
	if (!maps)
		return -ENOMEM;
	err = fake_maps(maps);
	if (err) {
		free(maps);
		return err;
	}
	f->objs = obj_cache__new(&(struct obj_cache_opts){ 0 });
	f->sz.procs = proc_cache__new(&(struct proc_cache_opts){ .objs = f->objs });
	f->sz.ksyms = kallsyms__parse(ksyms_text, strlen(ksyms_text));
	if (!f->objs || !f->sz.procs || !f->sz.ksyms || profile_builder__init(&f->pb, NULL)) {
		free(maps);
		return -ENOMEM;
	}
	f->p = proc_cache__lookup(f->sz.procs, getpid(), "golden");
	if (!f->p) {
		free(maps);
		return -ENOMEM;
	}
	free(f->p->maps);
	f->p->maps = maps;
	f->p->nmaps = M_N;
	/* the JIT's map, as /tmp/perf-NSPID.map seen through the process's root */
	snprintf(f->perf_map, sizeof(f->perf_map), "/tmp/perf-%d.map", f->p->nspid);
	fd = open(f->perf_map, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%llx 100 LazyCompile:*hot js/app.js:12\n%llx 40 stub\n",
		     (unsigned long long)map_base[M_JIT] + 0x100,
		     (unsigned long long)map_base[M_JIT] + 0x400);
	err = write(fd, buf, (size_t)n) == n ? 0 : -EIO;
	close(fd);
	return err;
}

static void fixture_close(struct fixture *f)
{
	if (f->perf_map[0])
		unlink(f->perf_map);
	profile_builder__destroy(&f->pb);
	kallsyms__free(f->sz.ksyms);
	proc_cache__free(f->sz.procs); /* drops its references to objects first */
	obj_cache__free(f->objs);
}

static size_t symbolize(struct fixture *f, const __u64 *k, size_t nk, const __u64 *u, size_t nu,
			uint32_t *locs)
{
	/* keep the fake maps: an address outside them must not re-read the real ones */
	f->p->maps_read_ns = monotonic_ns();
	struct pb_stack st = { &f->pb, locs, 0, PB_MAX_FRAMES };

	symbolize_stack(&f->sz, f->p, k, nk, u, nu, NULL, pb_stack__add_frames, &st);
	return st.n;
}

/* Three samples over every kind of frame the symbolizer names (or cannot name). */
static void build_profile(struct fixture *f)
{
	const __u64 k1[] = { 0xffffffff81001010ull, 0xffffffffc0a01020ull, 0xffffffff81002030ull,
			     0xffffffff80000000ull };
	const __u64 u1[] = {
		ret_ip(M_CPP, "_ZNK14stoker_fixture6Widget4spinEi"),
		ret_ip(M_LIB, "lib_fn_gamma"),
		ret_ip(M_LIB, "lib_fn_hidden"),
		/* stripped: named from its .gnu_debuglink file; nm reads the unstripped copy */
		map_base[M_STRIPPED] + ret_ip(M_PIE, "elf_fn_beta") - map_base[M_PIE],
		map_base[M_PIE] + 0x800, /* past the segment's code: no symbol */
		map_base[M_GONE] + 0x20,
		map_base[M_TRUNC] + 0x30,
		map_base[M_JIT] + 0x120,
		map_base[M_JIT] + 0x2000, /* JIT code the map does not name */
		map_base[M_VDSO] + 0x9c0,
		map_base[M_VSYSCALL] + 0x1,
		0x10, /* no mapping */
		ret_ip(M_PIE, "elf_fn_local"),
		ret_ip(M_PIE, "main"),
	};
	const __u64 u2[] = { sym_ip(M_PIE, "elf_fn_alpha"), ret_ip(M_PIE, "elf_fn_beta"),
			     ret_ip(M_PIE, "main") };
	struct pb_label l1[] = { { profile_builder__string(&f->pb, "pid"),
				   profile_builder__string(&f->pb, "4242") },
				 { profile_builder__string(&f->pb, "comm"),
				   profile_builder__string(&f->pb, "golden") } };
	struct pb_label l2[] = { { profile_builder__string(&f->pb, "comm"),
				   profile_builder__string(&f->pb, "other") } };
	uint32_t locs[PB_MAX_FRAMES + 1];
	size_t n;

	n = symbolize(f, k1, 4, u1, sizeof(u1) / sizeof(u1[0]), locs);
	CHECK_INT(n, 4 + sizeof(u1) / sizeof(u1[0]));
	CHECK_INT(profile_builder__add_sample(&f->pb, locs, n, l1, 2, 7), 0);
	n = symbolize(f, NULL, 0, u2, 3, locs);
	CHECK_INT(n, 3);
	CHECK_INT(profile_builder__add_sample(&f->pb, locs, n, l1, 2, 5), 0);
	/* the collector's root marker for a stack cut at the depth limit */
	locs[n++] = profile_builder__location(&f->pb, 0,
					      profile_builder__function(&f->pb, "[truncated]"), 0);
	CHECK_INT(profile_builder__add_sample(&f->pb, locs, n, l2, 1, 2), 0);
	n = symbolize(f, k1, 1, u2 + 1, 2, locs); /* kernel leaf over user return addresses */
	CHECK_INT(n, 3);
	CHECK_INT(profile_builder__add_sample(&f->pb, locs, n, l2, 1, 1), 0);
}

/* Replaces, in a pprof's string table (field 6, top level), the fixture directory with "@FX@"
 * and each 40-hex-digit build-id with "@BUILDID<n>@" in order of appearance: the only bytes
 * that depend on where and by whom the fixtures were built. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

static int get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *pos < len && shift < 64; shift += 7) {
		uint8_t b = p[(*pos)++];

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -EINVAL;
}

static bool is_build_id(const char *s, size_t n)
{
	if (n != 40)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

static uint8_t *normalize_pprof(const uint8_t *in, size_t len, size_t *out_len)
{
	uint8_t *out = malloc(len + 4096);
	char seen[16][41], s[PATH_MAX + 64];
	size_t pos = 0, o = 0, fxlen = strlen(fx), nseen = 0;

	while (out && pos < len) {
		size_t start = pos, n;
		uint64_t tag, v;

		if (get_varint(in, len, &pos, &tag))
			goto bad;
		switch (tag & 7) {
		case 0:
			if (get_varint(in, len, &pos, &v))
				goto bad;
			break;
		case 1:
			pos += 8;
			break;
		case 5:
			pos += 4;
			break;
		case 2:
			if (get_varint(in, len, &pos, &v) || v > len - pos)
				goto bad;
			pos += v;
			if (tag >> 3 != 6 || v >= sizeof(s) - 64)
				break;
			memcpy(s, in + pos - v, v);
			s[v] = '\0';
			if (!strncmp(s, fx, fxlen)) {
				memmove(s + 4, s + fxlen, v - fxlen + 1);
				memcpy(s, "@FX@", 4);
			} else if (is_build_id(s, v)) {
				size_t i;

				for (i = 0; i < nseen && strcmp(seen[i], s); i++)
					;
				if (i == nseen && nseen < 16)
					memcpy(seen[nseen++], s, sizeof(seen[0]));
				snprintf(s, sizeof(s), "@BUILDID%zu@", i);
			} else {
				break;
			}
			n = strlen(s);
			o += put_varint(out + o, tag);
			o += put_varint(out + o, n);
			memcpy(out + o, s, n);
			o += n;
			continue;
		default:
			goto bad;
		}
		if (pos > len)
			goto bad;
		memcpy(out + o, in + start, pos - start);
		o += pos - start;
	}
	*out_len = o;
	return out;
bad:
	free(out);
	return NULL;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* Compares buf with the golden file name; prints where they first differ. */
static void check_golden(const char *name, const uint8_t *buf, size_t len)
{
	char path[256];
	uint8_t *want;
	size_t wlen = 0, i;

	snprintf(path, sizeof(path), GOLDEN_DIR "%s", name);
	if (write_golden) {
		FILE *f = fopen(path, "wb");

		CHECK(f && fwrite(buf, 1, len, f) == len);
		if (f)
			fclose(f);
		fprintf(stderr, "  wrote %s (%zu bytes): rerun without STOKER_WRITE_GOLDEN\n", path,
			len);
		test_st.cur_failed++;
		return;
	}
	want = read_file(path, &wlen);
	CHECK(want != NULL);
	if (!want)
		return;
	for (i = 0; i < len && i < wlen && buf[i] == want[i]; i++)
		;
	if (i != len || len != wlen)
		fprintf(stderr, "  %s: %zu bytes, golden %zu, first difference at byte %zu\n", name,
			len, wlen, i);
	CHECK_INT(len, wlen);
	CHECK(len == wlen && !memcmp(buf, want, len));
	free(want);
}

static void test_pprof_golden(void)
{
	struct pprof_meta meta = { .period_ns = 10000000,
				   .time_nanos = 1700000000000000000ll,
				   .duration_nanos = 10000000000ll };
	struct pprof_encode_opts eo = { 0 };
	uint8_t *buf = NULL, *norm;
	struct fixture f;
	size_t len, nlen;

	CHECK_INT(fixture_open(&f), 0);
	build_profile(&f);
	CHECK_INT(pprof_encode(&f.pb, &meta, &eo, &buf, &len), 0);
	norm = buf ? normalize_pprof(buf, len, &nlen) : NULL;
	CHECK(norm != NULL);
	if (norm)
		check_golden("symbolize_stack.pb", norm, nlen);
	/* a second window in the same builder after reset: the same profile */
	profile_builder__reset(&f.pb);
	build_profile(&f);
	free(buf);
	free(norm);
	buf = norm = NULL;
	CHECK_INT(pprof_encode(&f.pb, &meta, &eo, &buf, &len), 0);
	norm = buf ? normalize_pprof(buf, len, &nlen) : NULL;
	CHECK(norm != NULL);
	if (norm && !write_golden)
		check_golden("symbolize_stack.pb", norm, nlen);
	free(buf);
	free(norm);
	fixture_close(&f);
}

static void test_local_outputs_golden(void)
{
	struct pprof_meta meta = { .period_ns = 10000000, .time_nanos = 1, .duration_nanos = 1 };
	const struct {
		enum output_format format;
		const char *golden;
	} outs[] = { { OUTPUT_FOLDED, "symbolize_stack.folded" },
		     { OUTPUT_HTML, "symbolize_stack.html" } };
	struct fixture f;
	char top[4096];
	FILE *mf;

	CHECK_INT(fixture_open(&f), 0);
	build_profile(&f);
	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
		char path[] = "/tmp/stoker-golden-XXXXXX";
		struct output_spec spec = { path, outs[i].format };
		uint8_t *buf;
		size_t len = 0;
		int fd = mkstemp(path);

		CHECK(fd >= 0);
		if (fd < 0)
			continue;
		close(fd);
		CHECK_INT(output_local_write(&spec, &f.pb, &meta, "golden test"), 0);
		buf = read_file(path, &len);
		CHECK(buf != NULL);
		if (buf)
			check_golden(outs[i].golden, buf, len);
		free(buf);
		unlink(path);
	}
	mf = fmemopen(top, sizeof(top), "w");
	CHECK(mf != NULL);
	if (mf) {
		output_print_top(mf, &f.pb, 8);
		fclose(mf);
		top[sizeof(top) - 1] = '\0';
		check_golden("symbolize_stack.top", (const uint8_t *)top, strlen(top));
	}
	fixture_close(&f);
}

/* Inlined frames are frames of their own in folded stacks, the innermost one gets the self
 * time, and a location whose function did not fit the tables still counts as a frame. */
static void test_inline_frames_local_outputs(void)
{
	const struct frame chain[] = {
		{ .function = "arena_for_chunk", .address = 0x9a0f0, .inlined = true },
		{ .function = "malloc", .address = 0x9a0f0 },
	};
	const struct frame caller = { .function = "main", .address = 0x1140 };
	struct pprof_meta meta = { .period_ns = 10000000, .time_nanos = 1, .duration_nanos = 1 };
	char path[] = "/tmp/stoker-inline-XXXXXX", top[512];
	struct output_spec spec = { path, OUTPUT_FOLDED };
	struct pb_label comm;
	struct profile_builder pb;
	uint32_t locs[3];
	size_t len = 0;
	uint8_t *buf;
	FILE *mf;
	int fd;

	CHECK_INT(profile_builder__init(&pb, NULL), 0);
	comm = (struct pb_label){ profile_builder__string(&pb, "comm"),
				  profile_builder__string(&pb, "app") };
	locs[0] = profile_builder__frames_location(&pb, chain, 2);
	locs[1] = profile_builder__frames_location(&pb, &caller, 1);
	locs[2] = profile_builder__location(&pb, 0, 0, 0x10); /* no line */
	CHECK_INT(profile_builder__add_sample(&pb, locs, 3, &comm, 1, 3), 0);
	CHECK_INT(profile_builder__add_sample(&pb, locs + 1, 2, &comm, 1, 1), 0);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK_INT(output_local_write(&spec, &pb, &meta, "inline"), 0);
	buf = read_file(path, &len);
	CHECK_STR((const char *)buf, "app;[unknown];main 1\n"
				     "app;[unknown];main;malloc;arena_for_chunk 3\n");
	free(buf);
	unlink(path);
	mf = fmemopen(top, sizeof(top), "w");
	CHECK(mf != NULL);
	if (mf) {
		output_print_top(mf, &pb, 4);
		fclose(mf);
		top[sizeof(top) - 1] = '\0';
		CHECK_STR(top, "self%    samples  function\n"
			       " 75.00%  3        arena_for_chunk\n"
			       " 25.00%  1        main\n");
	}
	profile_builder__destroy(&pb);
}

/* --granularity line: folded frames are function:line where the line is known, and --top
 * ranks the innermost frames' lines. */
static void test_local_outputs_by_line(void)
{
	const struct frame at12[] = {
		{ .function = "mix",
		  .file = "a.c",
		  .line = 12,
		  .address = 0x11c3,
		  .inlined = true },
		{ .function = "hot", .file = "a.c", .line = 21, .address = 0x11c3 },
	};
	const struct frame at11[] = {
		{ .function = "mix",
		  .file = "a.c",
		  .line = 11,
		  .address = 0x11b0,
		  .inlined = true },
		{ .function = "hot", .file = "a.c", .line = 21, .address = 0x11b0 },
	};
	const struct frame caller = { .function = "main", .address = 0x1076 };
	struct pprof_meta meta = { .period_ns = 10000000, .time_nanos = 1, .duration_nanos = 1 };
	char path[] = "/tmp/stoker-byline-XXXXXX", top[512];
	struct output_spec spec = { path, OUTPUT_FOLDED, true };
	struct pb_label comm;
	struct profile_builder pb;
	uint32_t locs[2];
	size_t len = 0;
	uint8_t *buf;
	FILE *mf;
	int fd;

	CHECK_INT(profile_builder__init(&pb, NULL), 0);
	comm = (struct pb_label){ profile_builder__string(&pb, "comm"),
				  profile_builder__string(&pb, "app") };
	locs[1] = profile_builder__frames_location(&pb, &caller, 1);
	locs[0] = profile_builder__frames_location(&pb, at12, 2);
	CHECK_INT(profile_builder__add_sample(&pb, locs, 2, &comm, 1, 3), 0);
	locs[0] = profile_builder__frames_location(&pb, at11, 2);
	CHECK_INT(profile_builder__add_sample(&pb, locs, 2, &comm, 1, 1), 0);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK_INT(output_local_write(&spec, &pb, &meta, "by line"), 0);
	buf = read_file(path, &len);
	CHECK_STR((const char *)buf, "app;main;hot:21;mix:11 1\n"
				     "app;main;hot:21;mix:12 3\n");
	free(buf);
	spec.by_line = false;
	CHECK_INT(output_local_write(&spec, &pb, &meta, "by function"), 0);
	buf = read_file(path, &len);
	CHECK_STR((const char *)buf, "app;main;hot;mix 4\n");
	free(buf);
	unlink(path);
	mf = fmemopen(top, sizeof(top), "w");
	CHECK(mf != NULL);
	if (mf) {
		output_print_top_lines(mf, &pb, 4);
		fclose(mf);
		top[sizeof(top) - 1] = '\0';
		CHECK_STR(top, "self%    samples  function at file:line\n"
			       " 75.00%  3        mix at a.c:12\n"
			       " 25.00%  1        mix at a.c:11\n");
	}
	profile_builder__destroy(&pb);
}

/* What the callback saw: one line per address, "kind function mapping build-id? address". */
struct seen {
	char text[2048];
	size_t len;
	int calls, stop_after;
};

static const char *base_name(const char *path)
{
	if (!path)
		return "-";
	return strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
}

static int record_frames(void *ctx, const struct frame *frames, size_t n)
{
	struct seen *sn = ctx;

	for (size_t i = 0; i < n; i++) {
		const struct frame *fr = &frames[i];

		sn->len += (size_t)snprintf(
		    sn->text + sn->len, sizeof(sn->text) - sn->len, "%d %s %s %s 0x%llx %s%s\n",
		    fr->kind, fr->function, base_name(fr->mapping),
		    fr->build_id && fr->build_id[0] ? "id" : "-", (unsigned long long)fr->address,
		    fr->file ? fr->file : "-", fr->inlined ? " inlined" : "");
	}
	return ++sn->calls == sn->stop_after;
}

/* The frames themselves: kind, name, mapping, build-id and normalized address of each, and
 * the callback's say over where the walk stops. */
static void test_frames_of_each_kind(void)
{
	const __u64 k[] = { 0xffffffff81001010ull, 0xffffffffc0a01020ull };
	const __u64 u[] = { ret_ip(M_PIE, "elf_fn_beta"), map_base[M_JIT] + 0x120,
			    map_base[M_JIT] + 0x2000, map_base[M_VDSO] + 0x9c0, 0x10 };
	struct seen sn = { .stop_after = -1 };
	char want[1024], path[PATH_MAX + 32];
	struct fixture f;
	size_t n;

	CHECK_INT(fixture_open(&f), 0);
	snprintf(path, sizeof(path), "%s/elf/prog_pie", fx);
	f.p->maps_read_ns = monotonic_ns();
	n = symbolize_stack(&f.sz, f.p, k, 2, u, 5, NULL, record_frames, &sn);
	CHECK_INT(n, 7);
	snprintf(want, sizeof(want),
		 "1 do_syscall_64 [kernel.kallsyms] - 0xffffffff81001010 -\n"
		 "1 ext4_file_read_iter [ext4] - 0xffffffffc0a0101f -\n"
		 "0 elf_fn_beta prog_pie id 0x%llx -\n"
		 "2 LazyCompile:*hot js/app.js:12 [jit] - 0x7f400000011f -\n"
		 "2 [anon]+0x7f4000001fff [anon] - 0x7f4000001fff -\n"
		 "0 [vdso]+0x9bf [vdso] - 0x9bf -\n"
		 "0 [unknown]+0xf - - 0xf -\n",
		 (unsigned long long)test_nm_addr(path, "elf_fn_beta") + 2);
	CHECK_STR(sn.text, want);
	CHECK_INT(f.sz.st.frames, 7);
	CHECK_INT(f.sz.st.named, 4);
	CHECK_INT(f.sz.st.unnamed, 2);
	CHECK_INT(f.sz.st.no_mapping, 1);
	/* a callback that says stop ends the walk there, kernel side included */
	memset(&sn, 0, sizeof(sn));
	sn.stop_after = 1;
	CHECK_INT(symbolize_stack(&f.sz, f.p, k, 2, u, 5, NULL, record_frames, &sn), 1);
	CHECK_INT(sn.calls, 1);
	memset(&sn, 0, sizeof(sn));
	sn.stop_after = 4;
	CHECK_INT(symbolize_stack(&f.sz, f.p, k, 2, u, 5, NULL, record_frames, &sn), 4);
	CHECK_INT(f.sz.st.frames, 7 + 1 + 4);
	fixture_close(&f);
}

static int first_frame_line(void *ctx, const struct frame *frames, size_t n)
{
	*(int *)ctx = n ? (int)frames[0].line : -1;
	return 0;
}

/* --lines: the fixture's DWARF names the address with eu-addr2line's file:line; with the
 * time budget spent, the symbol table names it and the deferral is counted. */
static void test_frames_with_lines(void)
{
	const __u64 u[] = { ret_ip(M_PIE, "elf_fn_beta") };
	struct seen sn = { .stop_after = -1 };
	char path[PATH_MAX + 32], cmd[PATH_MAX + 96], ref[PATH_MAX + 32] = "", want[1024];
	int first_line = 0;
	uint64_t vaddr;
	struct fixture f;
	FILE *p;

	CHECK_PROGRAM("eu-addr2line");
	CHECK_INT(fixture_open(&f), 0);
	snprintf(path, sizeof(path), "%s/elf/prog_pie", fx);
	vaddr = test_nm_addr(path, "elf_fn_beta") + 3;
	snprintf(cmd, sizeof(cmd), "eu-addr2line -e '%s' 0x%llx", path, (unsigned long long)vaddr);
	p = popen(cmd, "r");
	if (p && !fgets(ref, sizeof(ref), p))
		ref[0] = '\0';
	if (p)
		pclose(p);
	ref[strcspn(ref, "\n")] = '\0';
	CHECK(strstr(ref, "tests/fixtures/elf_prog.c:") != NULL);
	f.sz.lines = true;
	f.sz.lines_opts.stats = &f.sz.st.lines;
	f.p->maps_read_ns = monotonic_ns();
	CHECK_INT(symbolize_stack(&f.sz, f.p, NULL, 0, u, 1, NULL, record_frames, &sn), 1);
	CHECK_INT(symbolize_stack(&f.sz, f.p, NULL, 0, u, 1, NULL, first_frame_line, &first_line),
		  1);
	snprintf(want, sizeof(want), "0 elf_fn_beta prog_pie id 0x%llx %.*s\n",
		 (unsigned long long)vaddr, (int)(strchr(ref, ':') ? strchr(ref, ':') - ref : 0),
		 ref);
	CHECK_STR(sn.text, want);
	CHECK_INT(first_line, strchr(ref, ':') ? atoi(strchr(ref, ':') + 1) : -1);
	CHECK_INT(f.sz.st.frames_with_lines, 2); /* both walks */
	CHECK_INT(f.sz.st.lines.files_with_lines, 1);
	/* no time left, and none coming back for a while */
	f.sz.lines_budget_ns = 0;
	f.sz.lines_budget_at = monotonic_ns() + 60000000000ull;
	memset(&sn, 0, sizeof(sn));
	sn.stop_after = -1;
	CHECK_INT(symbolize_stack(&f.sz, f.p, NULL, 0, u, 1, NULL, record_frames, &sn), 1);
	snprintf(want, sizeof(want), "0 elf_fn_beta prog_pie id 0x%llx -\n",
		 (unsigned long long)vaddr);
	CHECK_STR(sn.text, want);
	CHECK_INT(f.sz.st.lines_deferred, 1);
	CHECK_INT(f.sz.st.frames_with_lines, 2); /* both walks */
	/* the deferred frames are worth another walk once time is back, and only then, once */
	CHECK(!symbolizer__lines_arrived(&f.sz));
	f.sz.lines_budget_at = monotonic_ns() - 10000000000ull;
	CHECK(symbolizer__lines_arrived(&f.sz));
	CHECK(!symbolizer__lines_arrived(&f.sz));
	fixture_close(&f);
}

int main(void)
{
	const char *dir = getenv("STOKER_FIXTURES") ? getenv("STOKER_FIXTURES") : "build/fixtures";

	if (!realpath(dir, fx)) {
		fprintf(stderr, "fixtures not built: run make fixtures\n");
		return 1;
	}
	write_golden = getenv("STOKER_WRITE_GOLDEN") && !strcmp(getenv("STOKER_WRITE_GOLDEN"), "1");
	RUN_TEST(test_pprof_golden);
	RUN_TEST(test_local_outputs_golden);
	RUN_TEST(test_inline_frames_local_outputs);
	RUN_TEST(test_local_outputs_by_line);
	RUN_TEST(test_frames_with_lines);
	RUN_TEST(test_frames_of_each_kind);
	return TEST_SUMMARY();
}

/* Unit tests of Go's pclntab reader: images of the Go 1.16, 1.18 and 1.20 formats written here
 * field by field from the layout the Go linker writes (two functions, two files, line and file
 * tables of known values), looked up at every PC; an ELF with no section table found by its
 * Go note; and truncated or corrupted images refused without a read outside them (ASan).
 * Then real binaries of the installed Go, built now: stripped and not against `go tool
 * addr2line`, PIE against nm and with its section table cut off. End to end, profiling them,
 * in tests/integration/test_go.py.
 * STOKER_WRITE_SEEDS=DIR writes the images as fuzz seeds (tests/fuzz/corpus/fuzz_go_pclntab). */
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "object/go_pclntab.h"
#include "test.h"

#define TEXT 0x401000ull

struct img {
	uint8_t b[4096];
	size_t n;
};

static void put(struct img *m, const void *p, size_t len)
{
	memcpy(m->b + m->n, p, len);
	m->n += len;
}

static void put_u32(struct img *m, uint32_t v)
{
	put(m, &v, 4);
}

static void put_u64(struct img *m, uint64_t v)
{
	put(m, &v, 8);
}

static void put_uvarint(struct img *m, uint32_t v)
{
	while (v >= 0x80) {
		m->b[m->n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	m->b[m->n++] = (uint8_t)v;
}

/* A pcvalue table: n (value, pc length) steps from the entry, zig-zag deltas from -1. */
static uint32_t put_table(struct img *m, size_t pctab, const int32_t *vals, const uint32_t *lens,
			  size_t n, unsigned quantum)
{
	uint32_t off = (uint32_t)(m->n - pctab);
	int32_t prev = -1;

	for (size_t i = 0; i < n; i++) {
		int32_t d = vals[i] - prev;

		put_uvarint(m, ((uint32_t)d << 1) ^ (uint32_t)(d >> 31));
		put_uvarint(m, lens[i] / quantum);
		prev = vals[i];
	}
	m->b[m->n++] = 0;
	return off;
}

enum ver { V116, V118, V120 };

/* Functions main.a [TEXT, +0x40): lines 10 then 12 from +0x10, all in a.go; main.b
 * [+0x40, +0x60): line 20, b.go for 8 bytes then a.go. The header's textStart is written as
 * header_text (1.18+). */
static void build(struct img *m, enum ver v, unsigned quantum, uint64_t header_text)
{
	static const uint32_t magic[] = { 0xfffffffa, 0xfffffff0, 0xfffffff1 };
	size_t hdr_words = v == V116 ? 7 : 8, funcname, cu, filetab, pctab, functab, fstart;
	uint32_t a_name, b_name, file_a, file_b, tabs[4];
	uint64_t entries[3] = { 0, 0x40, 0x60 };

	memset(m, 0, sizeof(*m));
	put_u32(m, magic[v]);
	m->b[m->n++] = 0;
	m->b[m->n++] = 0;
	m->b[m->n++] = (uint8_t)quantum;
	m->b[m->n++] = 8;
	m->n += 8 * hdr_words; /* filled below */

	funcname = m->n;
	put(m, "\0main.a\0main.b", 15);
	a_name = 1;
	b_name = 8;
	cu = m->n;
	file_a = 1;
	file_b = 6;
	put_u32(m, file_a);
	put_u32(m, file_b);
	filetab = m->n;
	put(m, "\0a.go\0b.go", 11);
	pctab = m->n;
	m->b[m->n++] = 0;
	{
		int32_t la[] = { 10, 12 }, fa[] = { 0 }, lb[] = { 20 }, fb[] = { 1, 0 };
		uint32_t lla[] = { 0x10, 0x30 }, lfa[] = { 0x40 }, llb[] = { 0x20 },
			 lfb[] = { 0x8, 0x18 };

		tabs[0] = put_table(m, pctab, la, lla, 2, quantum);
		tabs[1] = put_table(m, pctab, fa, lfa, 1, quantum);
		tabs[2] = put_table(m, pctab, lb, llb, 1, quantum);
		tabs[3] = put_table(m, pctab, fb, lfb, 2, quantum);
	}
	while (m->n % 8)
		m->b[m->n++] = 0;
	functab = m->n;
	/* pairs {entry, funcoff} and the end of text; then the _func records */
	fstart = v == V116 ? 5 * 8 : 5 * 4;
	for (int i = 0; i < 3; i++) {
		uint64_t e = v == V116 ? TEXT + entries[i] : entries[i];
		uint64_t fo = fstart + (uint64_t)i * 64;

		if (v == V116) {
			put_u64(m, e);
			if (i < 2)
				put_u64(m, fo);
		} else {
			put_u32(m, (uint32_t)e);
			if (i < 2)
				put_u32(m, (uint32_t)fo);
		}
	}
	for (int i = 0; i < 2; i++) {
		size_t rec = functab + fstart + (size_t)i * 64;

		m->n = rec;
		if (v == V116)
			put_u64(m, TEXT + entries[i]);
		else
			put_u32(m, (uint32_t)entries[i]);
		put_u32(m, i ? b_name : a_name); /* nameOff */
		put_u32(m, 0);			 /* args */
		put_u32(m, 0);			 /* deferreturn */
		put_u32(m, 0);			 /* pcsp */
		put_u32(m, tabs[2 * i + 1]);	 /* pcfile */
		put_u32(m, tabs[2 * i]);	 /* pcln */
		put_u32(m, 0);			 /* npcdata */
		put_u32(m, 0);			 /* cuOffset */
		if (v == V120)
			put_u32(m, 1); /* startLine */
		put_u32(m, 0);	       /* funcID, flag, _, nfuncdata */
	}
	m->n = functab + fstart + 2 * 64;
	{
		uint64_t w[8], *p = w;

		*p++ = 2; /* nfunc */
		*p++ = 2; /* nfiles */
		if (v != V116)
			*p++ = header_text;
		*p++ = funcname;
		*p++ = cu;
		*p++ = filetab;
		*p++ = pctab;
		*p++ = functab;
		memcpy(m->b + 8, w, 8 * hdr_words);
	}
}

static void check_lookups(const struct go_pclntab *t)
{
	struct go_func f;

	CHECK_INT(go_pclntab__func_count(t), 2);
	CHECK_INT(go_pclntab__lookup(t, TEXT, &f), 0);
	CHECK_STR(f.name, "main.a");
	CHECK_STR(f.file, "a.go");
	CHECK_INT(f.line, 10);
	CHECK_U64(f.entry, TEXT);
	CHECK_INT(go_pclntab__lookup(t, TEXT + 0xf, &f), 0);
	CHECK_INT(f.line, 10);
	CHECK_INT(go_pclntab__lookup(t, TEXT + 0x10, &f), 0);
	CHECK_INT(f.line, 12);
	CHECK_INT(go_pclntab__lookup(t, TEXT + 0x3f, &f), 0);
	CHECK_STR(f.name, "main.a");
	CHECK_INT(f.line, 12);
	CHECK_INT(go_pclntab__lookup(t, TEXT + 0x40, &f), 0);
	CHECK_STR(f.name, "main.b");
	CHECK_STR(f.file, "b.go");
	CHECK_INT(f.line, 20);
	CHECK_U64(f.entry, TEXT + 0x40);
	CHECK_INT(go_pclntab__lookup(t, TEXT + 0x48, &f), 0);
	CHECK_STR(f.file, "a.go");
	CHECK_INT(go_pclntab__lookup(t, TEXT + 0x5f, &f), 0);
	CHECK_STR(f.name, "main.b");
	CHECK_INT(go_pclntab__lookup(t, TEXT + 0x60, &f), -ENOENT);
	CHECK_INT(go_pclntab__lookup(t, TEXT - 1, &f), -ENOENT);
	CHECK_INT(go_pclntab__lookup(t, 0, &f), -ENOENT);
}

static void test_versions(void)
{
	static const char *const names[] = { "1.16", "1.18", "1.20" };
	struct img m;

	for (int v = V116; v <= V120; v++) {
		for (unsigned q = 1; q <= 4; q *= 4) {
			struct go_pclntab *t;

			build(&m, (enum ver)v, q, TEXT);
			t = go_pclntab__new(m.b, m.n, 0);
			CHECK(t != NULL);
			if (!t)
				continue;
			CHECK_STR(go_pclntab__version(t), names[v]);
			check_lookups(t);
			CHECK(go_pclntab__memory_bytes(t) >= m.n);
			go_pclntab__free(t);
		}
	}
}

/* 1.18+ PCs are relative to textStart; a header with 0 there takes the .text address. */
static void test_text_start_fallback(void)
{
	struct go_pclntab *t;
	struct img m;

	build(&m, V118, 1, 0);
	errno = 0;
	CHECK(go_pclntab__new(m.b, m.n, 0) == NULL);
	CHECK_INT(errno, EINVAL);
	t = go_pclntab__new(m.b, m.n, TEXT);
	CHECK(t != NULL);
	if (t)
		check_lookups(t);
	go_pclntab__free(t);
}

static void test_malformed(void)
{
	struct go_pclntab *t;
	struct go_func f;
	struct img m, bad;
	size_t functab;

	build(&m, V118, 1, TEXT);
	memcpy(&functab, m.b + 8 + 7 * 8, 8);
	/* every truncation short of the last _func record's fields is refused */
	for (size_t n = 0; n < m.n; n++) {
		t = go_pclntab__new(m.b, n, 0);
		if (t) {
			for (uint64_t pc = TEXT - 4; pc < TEXT + 0x64; pc++)
				go_pclntab__lookup(t, pc, &f);
			go_pclntab__free(t);
		}
		CHECK(n >= functab + 5 * 4 + 64 + 40 || t == NULL);
	}
	/* a bad magic, pad, quantum or pointer size */
	for (int i = 0; i < 8; i++) {
		bad = m;
		bad.b[i] ^= 0x40;
		CHECK(go_pclntab__new(bad.b, bad.n, 0) == NULL);
	}
	/* unsorted functab */
	bad = m;
	memcpy(bad.b + functab + 8, (uint32_t[]){ 0x100 }, 4);
	CHECK(go_pclntab__new(bad.b, bad.n, 0) == NULL);
	/* every single byte flipped: a refusal or lookups that stay inside (ASan says) */
	for (size_t i = 8; i < m.n; i++) {
		bad = m;
		bad.b[i] ^= 0xff;
		t = go_pclntab__new(bad.b, bad.n, 0);
		for (uint64_t pc = TEXT; t && pc < TEXT + 0x60; pc += 3) {
			if (go_pclntab__lookup(t, pc, &f) == 0) {
				CHECK(f.name != NULL);
				CHECK(f.entry <= pc);
			}
		}
		go_pclntab__free(t);
	}
}

/* A minimal ELF: no section table, a PT_NOTE with Go's build-id note and a read-only PT_LOAD
 * holding the image at an 8-aligned address after some bytes that almost look like one. */
static int write_elf(int fd, const struct img *m, bool go_note)
{
	static uint8_t file[8192];
	Elf64_Ehdr *eh = (Elf64_Ehdr *)file;
	Elf64_Phdr *ph = (Elf64_Phdr *)(file + sizeof(*eh));
	size_t note_off = 0x100, data_off = 0x200, img_off = data_off + 0x38;
	uint32_t note[3] = { 4, 4, 4 }; /* namesz, descsz, NT_GO_BUILDID */

	memset(file, 0, sizeof(file));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] =
	    (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = note_off, .p_filesz = 20, .p_align = 4 };
	memcpy(file + note_off, note, sizeof(note));
	memcpy(file + note_off + 12, go_note ? "Go\0\0" : "Xx\0\0", 4);
	memcpy(file + note_off + 16, "abcd", 4);
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_flags = PF_R,
			      .p_offset = data_off,
			      .p_vaddr = 0x500000 + data_off,
			      .p_filesz = 0x38 + m->n,
			      .p_memsz = 0x38 + m->n,
			      .p_align = 0x1000 };
	/* decoys: a magic at an unaligned address and one with a bad pointer size */
	memcpy(file + data_off + 3, m->b, 8);
	memcpy(file + data_off + 0x10, m->b, 8);
	file[data_off + 0x17] = 3;
	memcpy(file + img_off, m->b, m->n);
	return pwrite(fd, file, img_off + m->n, 0) == (ssize_t)(img_off + m->n) ? 0 : -1;
}

struct reserve_log {
	int answer;
	int calls;
	size_t bytes; /* the last request */
};

static int log_reserve(void *ctx, size_t bytes)
{
	struct reserve_log *r = ctx;

	r->calls++;
	r->bytes = bytes;
	return r->answer;
}

static void test_elf_without_sections(void)
{
	struct go_pclntab *t;
	struct img m;
	int fd = memfd_create("go-elf", MFD_CLOEXEC);

	CHECK(fd >= 0);
	build(&m, V120, 1, TEXT);
	CHECK_INT(write_elf(fd, &m, true), 0);
	t = go_pclntab__open_fd(fd, 0);
	CHECK(t != NULL);
	if (t) {
		CHECK_STR(go_pclntab__version(t), "1.20");
		check_lookups(t);
	}
	go_pclntab__free(t);
	/* the cap is applied to what would be copied */
	errno = 0;
	CHECK(go_pclntab__open_fd(fd, 64) == NULL);
	/* the budget is asked before the copy: refused, nothing is read */
	struct reserve_log refuse = { .answer = -EFBIG }, grant = { .answer = 0 };

	errno = 0;
	CHECK(go_pclntab__open_fd_reserved(fd, 0, log_reserve, &refuse) == NULL);
	CHECK_INT(errno, EDQUOT);
	CHECK(refuse.calls >= 1 && refuse.bytes >= m.n);
	t = go_pclntab__open_fd_reserved(fd, 0, log_reserve, &grant);
	CHECK(t != NULL && grant.calls >= 1);
	if (t)
		CHECK(grant.bytes >= go_pclntab__memory_bytes(t));
	go_pclntab__free(t);
	/* no Go note: not scanned, not Go */
	CHECK_INT(ftruncate(fd, 0), 0);
	CHECK_INT(write_elf(fd, &m, false), 0);
	errno = 0;
	CHECK(go_pclntab__open_fd(fd, 0) == NULL);
	CHECK_INT(errno, ENOENT);
	close(fd);
	/* not ELF */
	fd = memfd_create("go-raw", MFD_CLOEXEC);
	CHECK_INT(write(fd, m.b, m.n), (long long)m.n);
	errno = 0;
	CHECK(go_pclntab__open_fd(fd, 0) == NULL);
	CHECK_INT(errno, ENOEXEC);
	close(fd);
}

/* --- real binaries of the installed Go (golang-go), built now --- */

static const char go_src[] = "package main\n"
			     "\n"
			     "import (\n"
			     "\t\"fmt\"\n"
			     "\t\"os\"\n"
			     "\t\"sort\"\n"
			     ")\n"
			     "\n"
			     "//go:noinline\n"
			     "func hot(xs []string) int {\n"
			     "\tsort.Strings(xs)\n"
			     "\treturn len(xs)\n"
			     "}\n"
			     "\n"
			     "func main() {\n"
			     "\tfmt.Println(hot(os.Args))\n"
			     "}\n";

static struct go_pclntab *open_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct go_pclntab *t;

	if (fd < 0)
		return NULL;
	t = go_pclntab__open_fd(fd, 0);
	close(fd);
	return t;
}

static uint64_t text_bounds(const char *path, uint64_t *end)
{
	char cmd[4200], line[512];
	unsigned long long a = 0, sz = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -SW '%s' | sed -n 's/.* \\.text  *PROGBITS *//p'",
		 path);
	p = popen(cmd, "r");
	if (p && fgets(line, sizeof(line), p))
		sscanf(line, "%llx %*x %llx", &a, &sz);
	if (p)
		pclose(p);
	*end = a + sz;
	return a;
}

/* Names, files and lines at every 61st byte of the text against `go tool addr2line`, Go's
 * own reader of the same table (it reads non-PIE builds only). */
static void compare_addr2line(const char *dir, const char *bin)
{
	char path[4200], cmd[8600], name[1024], where[4096];
	uint64_t lo, hi;
	struct go_pclntab *t;
	FILE *in, *out;
	int total = 0, same = 0, named = 0, shown = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, bin);
	t = open_path(path);
	CHECK(t != NULL);
	lo = text_bounds(path, &hi);
	CHECK(lo && hi > lo);
	if (!t || !lo)
		goto out;
	snprintf(cmd, sizeof(cmd), "%s/addrs", dir);
	in = fopen(cmd, "w");
	for (uint64_t a = lo; in && a < hi; a += 61)
		fprintf(in, "0x%llx\n", (unsigned long long)a);
	if (in)
		fclose(in);
	snprintf(cmd, sizeof(cmd), "cd %s && go tool addr2line %s < addrs", dir, bin);
	out = popen(cmd, "r");
	for (uint64_t a = lo; out && a < hi; a += 61) {
		struct go_func f;
		char ours[4200];

		if (!fgets(name, sizeof(name), out) || !fgets(where, sizeof(where), out))
			break;
		name[strcspn(name, "\n")] = where[strcspn(where, "\n")] = '\0';
		total++;
		if (go_pclntab__lookup(t, a, &f) == 0) {
			named++;
			snprintf(ours, sizeof(ours), "%s %s:%u", f.name, f.file ? f.file : "?",
				 f.line);
		} else {
			snprintf(ours, sizeof(ours), "? ?:0");
		}
		/* past the end of a function's line table (padding): Go's reader names the
		 * function at line -1, this one leaves it to the symbol table or unnamed */
		if (strlen(where) >= 3 && !strcmp(where + strlen(where) - 3, ":-1"))
			snprintf(cmd, sizeof(cmd), "? ?:0");
		else
			snprintf(cmd, sizeof(cmd), "%s %s", name, where);
		if (!strcmp(ours, cmd))
			same++;
		else if (shown++ < 5)
			fprintf(stderr, "  0x%llx: ours %s, addr2line %s\n", (unsigned long long)a,
				ours, cmd);
	}
	if (out)
		pclose(out);
	fprintf(stderr, "  %s: %d of %d addresses as go tool addr2line reads them (%d named)\n",
		bin, same, total, named);
	CHECK(total > 1000);
	CHECK(named > total * 9 / 10);
	CHECK_INT(same, total);
out:
	go_pclntab__free(t);
}

/* PIE builds: every function symbol nm lists is the function the table says starts there;
 * the same build stripped, and without its section table, reads the same at every address. */
static void compare_pie(const char *dir)
{
	char path[4200], cmd[4400], line[1024];
	struct go_pclntab *pie, *bare;
	int funcs = 0, same = 0, addrs = 0, agree = 0;
	uint64_t lo, hi;
	FILE *p;

	snprintf(path, sizeof(path), "%s/pie", dir);
	pie = open_path(path);
	lo = text_bounds(path, &hi);
	snprintf(path, sizeof(path), "%s/pie-noshdr", dir);
	bare = open_path(path);
	CHECK(pie && bare && lo);
	if (!pie || !bare)
		goto out;
	snprintf(cmd, sizeof(cmd), "nm --defined-only %s/pie | grep -E ' [Tt] '", dir);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		unsigned long long a;
		char sym[900];
		struct go_func f;

		size_t l;

		/* generated equality functions are named "[...]" in Go's table, "[5]" (and with
		 * spaces) in the ELF's; runtime.text is a label on the first function */
		if (sscanf(line, "%llx %*c %899s", &a, sym) != 2 || !strchr(sym, '.') ||
		    !strncmp(sym, "type..", 6) || !strcmp(sym, "runtime.text"))
			continue;
		/* the ELF symbol of an assembly function carries its ABI, Go's table does not */
		l = strlen(sym);
		if (l > 5 && !strcmp(sym + l - 5, ".abi0"))
			sym[l - 5] = '\0';
		if (go_pclntab__lookup(pie, a, &f) != 0 || f.entry != a)
			continue; /* assembly labels inside functions */
		funcs++;
		if (!strcmp(f.name, sym))
			same++;
		else if (same + 5 > funcs)
			fprintf(stderr, "  0x%llx: ours %s, nm %s\n", a, f.name, sym);
	}
	if (p)
		pclose(p);
	fprintf(stderr, "  pie: %d of %d function symbols named alike\n", same, funcs);
	CHECK(funcs > 1000);
	CHECK_INT(same, funcs);
	for (uint64_t a = lo; a < hi; a += 61) {
		struct go_func f, g;
		int r1 = go_pclntab__lookup(pie, a, &f), r2 = go_pclntab__lookup(bare, a, &g);

		addrs++;
		agree += r1 == r2 && (r1 || (!strcmp(f.name, g.name) && f.line == g.line &&
					     !strcmp(f.file ? f.file : "", g.file ? g.file : "")));
	}
	fprintf(stderr, "  pie-noshdr: %d of %d addresses as in pie\n", agree, addrs);
	CHECK_INT(agree, addrs);
out:
	go_pclntab__free(pie);
	go_pclntab__free(bare);
}

static void test_real_go_binaries(void)
{
	char dir[] = "/tmp/stoker-gopcln-XXXXXX", path[64], cmd[2048];
	FILE *f;

	CHECK_PROGRAM("go");
	CHECK_PROGRAM("readelf");
	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/main.go", dir);
	f = fopen(path, "w");
	CHECK(f && fputs(go_src, f) >= 0);
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/go.mod", dir);
	f = fopen(path, "w");
	CHECK(f && fputs("module gopcln\n\ngo 1.16\n", f) >= 0);
	if (f)
		fclose(f);
	/* offline, caches in the directory; pie-noshdr: the section table cut off the header */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && export GOCACHE=$PWD/cache GOPATH=$PWD/path GOFLAGS=-mod=mod GOPROXY=off "
		 "GO111MODULE=on GOTOOLCHAIN=local CGO_ENABLED=0 HOME=$PWD && "
		 "go build -o plain . && go build -ldflags='-s -w' -o stripped . && "
		 "go build -buildmode=pie -o pie . && "
		 "go build -buildmode=pie -ldflags='-s -w' -o pie-noshdr . && "
		 "printf '\\0\\0\\0\\0\\0\\0\\0\\0' | dd of=pie-noshdr bs=1 seek=40 conv=notrunc "
		 "status=none && printf '\\0\\0\\0\\0' | dd of=pie-noshdr bs=1 seek=60 "
		 "conv=notrunc status=none && readelf -S pie-noshdr | grep -q 'no sections'",
		 dir);
	CHECK_INT(system(cmd), 0);
	compare_addr2line(dir, "plain");
	compare_addr2line(dir, "stripped");
	compare_pie(dir);
	snprintf(cmd, sizeof(cmd), "chmod -R u+w %s; rm -rf %s", dir, dir);
	CHECK_INT(system(cmd), 0);
}

static void write_seeds(const char *dir)
{
	static const char *const names[] = { "v116", "v118", "v120" };
	char path[4096];
	struct img m;

	for (int v = V116; v <= V120; v++) {
		int fd;

		build(&m, (enum ver)v, 1, TEXT);
		snprintf(path, sizeof(path), "%s/%s", dir, names[v]);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		CHECK(fd >= 0 && write(fd, m.b, m.n) == (ssize_t)m.n);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/elf-nosections", dir);
	{
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		build(&m, V118, 1, TEXT);
		CHECK(fd >= 0 && write_elf(fd, &m, true) == 0);
		close(fd);
	}
}

int main(void)
{
	const char *seeds = getenv("STOKER_WRITE_SEEDS");

	RUN_TEST(test_versions);
	RUN_TEST(test_text_start_fallback);
	RUN_TEST(test_malformed);
	RUN_TEST(test_elf_without_sections);
	RUN_TEST(test_real_go_binaries);
	if (seeds)
		write_seeds(seeds);
	return TEST_SUMMARY();
}

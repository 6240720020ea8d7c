/* Unit tests of the counter registry: its rows are well formed, every row is gathered from its
 * source, rendered on /metrics and, when it has one, printed on its exit summary line. */
#include <ctype.h>
#include <stdbool.h>

#include "ops/counters.h"
#include "export/uploader.h"
#include "span/span_context.h"
#include "object/obj_cache.h"
#include "proc/proc_cache.h"
#include "sample/collector.h"
#include "symbolize/symbolize.h"
#include "unwind/unwind_loader.h"
#include "test.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static size_t count_substr(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_rows_well_formed(void)
{
	for (size_t i = 0; i < COUNTER_MAX; i++) {
		const struct counter_desc *d = &counter_descs[i];

		CHECK(d->name && d->name[0]);
		CHECK(d->help && d->help[0]);
		if (!d->name || !d->help)
			continue;
		for (const char *p = d->name; *p; p++)
			if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
			    *p != '_') {
				fprintf(stderr, "  %s: not a Prometheus name\n", d->name);
				CHECK(false);
			}
		/* HELP text must not need escaping */
		CHECK(!strchr(d->help, '\n') && !strchr(d->help, '\\'));
		if (d->type == COUNTER_TYPE_COUNTER)
			CHECK(ends_with(d->name, "_total"));
		else
			CHECK(d->type == COUNTER_TYPE_GAUGE && !ends_with(d->name, "_total"));
		if (d->unit == COUNTER_UNIT_NS)
			CHECK(strstr(d->name, "_seconds") != NULL);
		CHECK((d->line == COUNTER_LINE_NONE) == (d->fragment == NULL));
		for (size_t j = 0; j < i; j++)
			if (!strcmp(d->name, counter_descs[j].name)) {
				fprintf(stderr, "  %s: two rows\n", d->name);
				CHECK(false);
			}
	}
}

/* A fragment is printed with a runtime format: exactly one conversion, and the one its unit's
 * value is passed as (unsigned long long, or double for MiB and ms). */
static void test_fragments_match_units(void)
{
	bool seen[COUNTER_LINE_MAX] = { false };

	for (size_t i = 0; i < COUNTER_MAX; i++) {
		const struct counter_desc *d = &counter_descs[i];
		const char *pct;

		if (!d->fragment)
			continue;
		pct = strchr(d->fragment, '%');
		CHECK(pct && count_substr(d->fragment, "%") == 1);
		if (!pct)
			continue;
		if (d->unit == COUNTER_UNIT_COUNT)
			CHECK(!strncmp(pct, "%llu", 4));
		else
			CHECK(pct[1] == '.' && isdigit((unsigned char)pct[2]) && pct[3] == 'f');
		/* the first fragment of a line opens it; the others start with their separator */
		if (!seen[d->line])
			CHECK(d->fragment[0] == '%');
		else
			CHECK(strchr(",; ", d->fragment[0]) != NULL);
		seen[d->line] = true;
	}
	for (int l = COUNTER_LINE_NONE + 1; l < COUNTER_LINE_MAX; l++)
		CHECK(seen[l]);
}

static void test_bpf_rows_first(void)
{
	/* the sampler's rows keep their map index in the agent's registry */
#define SAME(id, ...) CHECK_INT(COUNTER_##id, STOKER_STAT_##id);
	STOKER_SAMPLER_COUNTERS(SAME)
#undef SAME
	CHECK((int)COUNTER_MAX > (int)STOKER_STAT_MAX);
}

/* Every source field set to the same non-zero pattern: a row wired to nothing reads zero. */
static void test_gather_reads_every_row(void)
{
	struct collector_stats col;
	struct symbolizer_stats sz;
	struct obj_cache_stats obj;
	struct proc_cache_stats proc;
	struct unwind_loader_stats unw;
	struct span_context_stats span;
	struct python_procs_stats py;
	struct python_frames_stats pyf;
	struct upload_stats up;
	struct window_stats win;
	struct java_attach_stats java;
	struct profile_builder pb;
	struct counter_sources s = { .col = &col,
				     .sz = &sz,
				     .obj = &obj,
				     .proc = &proc,
				     .unwind = &unw,
				     .span = &span,
				     .py = &py,
				     .pyf = &pyf,
				     .up = &up,
				     .win = &win,
				     .java = &java,
				     .pb = &pb };
	struct counters c;

	memset(&java, 1, sizeof(java));
	memset(&pb, 1, sizeof(pb));
	memset(&col, 1, sizeof(col));
	memset(&sz, 1, sizeof(sz));
	memset(&obj, 1, sizeof(obj));
	memset(&proc, 1, sizeof(proc));
	memset(&unw, 1, sizeof(unw));
	memset(&span, 1, sizeof(span));
	memset(&py, 1, sizeof(py));
	memset(&pyf, 1, sizeof(pyf));
	memset(&up, 1, sizeof(up));
	memset(&win, 1, sizeof(win));
	for (int i = 0; i < STOKER_STAT_MAX; i++)
		s.bpf[i] = 1000 + i;
	counters__gather(&c, &s);
	for (size_t i = 0; i < COUNTER_MAX; i++)
		if (!c.v[i]) {
			fprintf(stderr, "  %s reads zero\n", counter_descs[i].name);
			CHECK(false);
		}
	for (int i = 0; i < STOKER_STAT_MAX; i++)
		CHECK_U64(c.v[i], 1000 + i);

	memset(&sz, 0, sizeof(sz));
	memset(&unw, 0, sizeof(unw));
	memset(&up, 0, sizeof(up));
	memset(&win, 0, sizeof(win));
	sz.unnamed = 1;
	sz.kernel_unnamed = 2;
	sz.no_mapping = 4;
	unw.chunks_used = 3;
	unw.build_ns = 7;
	up.spool_dropped = 1;
	up.dropped_no_spool = 2;
	up.last_http_code = -1;
	win.unencodable = 4;
	counters__gather(&c, &s);
	CHECK_U64(c.v[COUNTER_FRAMES_UNNAMED], 7);
	CHECK_U64(c.v[COUNTER_FRAMES_UNMAPPED], 4);
	CHECK_U64(c.v[COUNTER_UNWIND_TABLE_BYTES], 3 * 4096); /* chunks of rows */
	CHECK_U64(c.v[COUNTER_UNWIND_BUILD_TIME], 7);
	CHECK_U64(c.v[COUNTER_WINDOWS_DROPPED], 7);
	CHECK_U64(c.v[COUNTER_UPLOAD_LAST_STATUS], 0);
}

static void test_render_every_row(void)
{
	static const char *const type_name[] = { "counter", "gauge" };
	struct counters c;
	char *buf = malloc(COUNTERS_TEXT_MAX), want[512], value[32];
	size_t n;

	for (size_t i = 0; i < COUNTER_MAX; i++)
		c.v[i] = i + 1;
	c.v[COUNTER_UPLOAD_LAST_LATENCY] = 250000000; /* ns */
	n = counters__render(&c, buf, COUNTERS_TEXT_MAX);
	CHECK(n < COUNTERS_TEXT_MAX);
	CHECK_INT(strlen(buf), n);
	for (size_t i = 0; i < COUNTER_MAX; i++) {
		const struct counter_desc *d = &counter_descs[i];

		if (d->unit == COUNTER_UNIT_NS)
			snprintf(value, sizeof(value), "%.6f", (double)c.v[i] / 1e9);
		else
			snprintf(value, sizeof(value), "%llu", (unsigned long long)c.v[i]);
		snprintf(want, sizeof(want),
			 "# HELP stoker_%s %s\n# TYPE stoker_%s %s\nstoker_%s %s\n", d->name,
			 d->help, d->name, type_name[d->type], d->name, value);
		if (count_substr(buf, want) != 1) {
			fprintf(stderr, "  not once in /metrics:\n%s", want);
			CHECK(false);
		}
	}
	CHECK(strstr(buf, "\nstoker_upload_last_latency_seconds 0.250000\n") != NULL);
	CHECK(strstr(buf, "\nstoker_samples_recorded_total 1\n") != NULL);
	CHECK_INT(count_substr(buf, "# TYPE "), COUNTER_MAX);

	/* the largest values still fit the endpoint's buffer */
	for (size_t i = 0; i < COUNTER_MAX; i++)
		c.v[i] = UINT64_MAX;
	n = counters__render(&c, buf, COUNTERS_TEXT_MAX);
	CHECK(n < COUNTERS_TEXT_MAX);
	CHECK_INT(strlen(buf), n);

	/* a short buffer says how much it needed and stays a string */
	CHECK_INT(counters__render(&c, buf, 64), n);
	CHECK_INT(strlen(buf), 63);
	free(buf);
}

static void test_summary_lines(void)
{
	struct counters c;
	char line[COUNTERS_LINE_MAX];

	memset(&c, 0, sizeof(c));
	c.v[COUNTER_SAMPLES] = 100;
	c.v[COUNTER_DROP_RINGBUF_FULL] = 1;
	c.v[COUNTER_USTACK_ERRORS] = 2;
	c.v[COUNTER_KSTACK_ERRORS] = 3;
	c.v[COUNTER_EVENTS_DROPPED] = 4;
	c.v[COUNTER_SAMPLES_RECEIVED] = 99;
	c.v[COUNTER_SAMPLES_DROPPED_WINDOW] = 5;
	CHECK_STR(counters__summary(&c, COUNTER_LINE_SAMPLES, line, sizeof(line)),
		  "samples: 100 recorded, 1 dropped (ring buffer full), 2 user stack errors, 3 "
		  "kernel stack errors, 4 exec/exit events lost; 99 received, 5 dropped (window "
		  "full)");

	c.v[COUNTER_FRAMES] = 50;
	c.v[COUNTER_FRAMES_NAMED] = 40;
	c.v[COUNTER_FRAMES_UNNAMED] = 10;
	c.v[COUNTER_FRAMES_UNMAPPED] = 3;
	c.v[COUNTER_SYMBOL_FILES_LOADED] = 6;
	c.v[COUNTER_SYMBOL_FILES_FAILED] = 1;
	c.v[COUNTER_PROCS_SEEN] = 2;
	CHECK_STR(
	    counters__summary(&c, COUNTER_LINE_SYMBOLS, line, sizeof(line)),
	    "symbols: 50 frames, 40 named, 10 unnamed (3 outside any mapping); 6 files loaded "
	    "(1 failed), 2 processes seen");

	c.v[COUNTER_FRAMES_WITH_LINES] = 30;
	c.v[COUNTER_FRAMES_INLINED] = 12;
	c.v[COUNTER_LINE_FILES] = 3;
	c.v[COUNTER_LINE_FILES_NO_DEBUG] = 2;
	c.v[COUNTER_LINE_DWARF_RELEASED] = 4;
	c.v[COUNTER_LINE_DWARF_RELOADED] = 1;
	c.v[COUNTER_LINE_DWARF_COPIES] = 3;
	c.v[COUNTER_LINE_DWARF_RESETS] = 7;
	CHECK_STR(counters__summary(&c, COUNTER_LINE_LINES, line, sizeof(line)),
		  "lines: 30 frames with lines (12 inlined frames); 3 files with lines, 2 without "
		  "debug info; DWARF released 4 times, read again 1; from scratch copies 3, in "
		  "memory 0, parsed units dropped 7 times; debuginfod: 0 asked, 0 fetched, "
		  "0 not found, 0 failed");

	/* tests/integration/test_agent.py reads this one */
	c.v[COUNTER_OBJECT_OPENS] = 46;
	c.v[COUNTER_OBJECT_REOPENS] = 1;
	c.v[COUNTER_PROC_MAPS_READS] = 4;
	CHECK_STR(counters__summary(&c, COUNTER_LINE_OBJECTS, line, sizeof(line)),
		  "objects: 46 files opened (1 reopened), 4 maps reads");

	c.v[COUNTER_UNWIND_FRAMES_TABLE] = 10;
	c.v[COUNTER_UNWIND_FRAMES_FP] = 20;
	c.v[COUNTER_UNWIND_TRUNCATED] = 1;
	c.v[COUNTER_UNWIND_TABLE_MISSES] = 2;
	c.v[COUNTER_UNWIND_PENDING] = 3;
	c.v[COUNTER_UNWIND_TABLES] = 4;
	c.v[COUNTER_UNWIND_TABLE_BYTES] = 3 << 19;
	c.v[COUNTER_UNWIND_TABLE_CAPACITY] = 32 << 20;
	c.v[COUNTER_UNWIND_RULES] = 12;
	c.v[COUNTER_UNWIND_BUILD_TIME] = 250000000;
	c.v[COUNTER_UNWIND_VMA] = 5;
	CHECK_STR(
	    counters__summary(&c, COUNTER_LINE_UNWIND, line, sizeof(line)),
	    "unwinding: 10 user frames by table, 20 by frame pointer; 1 stacks truncated, 2 "
	    "table misses, 3 samples before tables loaded, 5 walked through kernel VMAs before "
	    "registration, 0 inside execve, 0 without user registers; 4 tables "
	    "(0 without CFI), 1.5 of 32.0 MiB of rows, 12 rules, 250 ms "
	    "building");

	/* README names this line */
	c.v[COUNTER_SPAN_SAMPLES] = 9;
	c.v[COUNTER_SPAN_PROCS_FOUND] = 1;
	c.v[COUNTER_SPAN_FILES_CHECKED] = 3;
	CHECK_STR(counters__summary(&c, COUNTER_LINE_SPANS, line, sizeof(line)),
		  "spans: 9 samples inside a trace span; 1 processes export the trace-context ABI "
		  "(3 objects searched)");

	/* tests/integration/test_push.py and the soak read this one */
	c.v[COUNTER_WINDOWS_CLOSED] = 7;
	c.v[COUNTER_WINDOWS_DELIVERED] = 5;
	c.v[COUNTER_WINDOWS_REJECTED] = 1;
	c.v[COUNTER_SPOOL_FILES] = 2;
	c.v[COUNTER_WINDOWS_DROPPED] = 1;
	c.v[COUNTER_UPLOAD_RETRIES] = 3;
	c.v[COUNTER_WINDOWS_EMPTY] = 4;
	CHECK_STR(
	    counters__summary(&c, COUNTER_LINE_UPLOADS, line, sizeof(line)),
	    "uploads: 7 windows closed, 5 delivered, 1 rejected, 0 expired, 2 in the spool, 1 "
	    "dropped (spool full or unavailable, or not encodable), 3 retries; 4 empty windows "
	    "not sent");

	CHECK_STR(counters__summary(&c, COUNTER_LINE_NONE, line, sizeof(line)), "");
}

/* Every line with every value at its largest still fits the buffer callers give it. */
static void test_summary_fits(void)
{
	struct counters c;
	char line[COUNTERS_LINE_MAX];

	for (size_t i = 0; i < COUNTER_MAX; i++)
		c.v[i] = UINT64_MAX;
	for (int l = COUNTER_LINE_NONE + 1; l < COUNTER_LINE_MAX; l++) {
		size_t n = strlen(counters__summary(&c, (enum counter_line)l, line, sizeof(line)));

		CHECK(n > 0 && n < sizeof(line) - 1);
	}
	counters__summary(&c, COUNTER_LINE_UNWIND, line, 16);
	CHECK_STR(line, "unwinding: 1844");
}

int main(void)
{
	RUN_TEST(test_rows_well_formed);
	RUN_TEST(test_fragments_match_units);
	RUN_TEST(test_bpf_rows_first);
	RUN_TEST(test_gather_reads_every_row);
	RUN_TEST(test_render_every_row);
	RUN_TEST(test_summary_lines);
	RUN_TEST(test_summary_fits);
	return TEST_SUMMARY();
}

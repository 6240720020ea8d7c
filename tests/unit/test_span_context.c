/* Unit tests of span context: hex ids, finding the trace-context ABI in this very process (it
 * defines it), the publish/forget lifecycle, and the OpenTelemetry map layout check. */
#define STOKER_TRACE_CONTEXT_IMPLEMENTATION
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <pthread.h>
#include <unistd.h>

#include "proc/proc_cache.h"
#include "span/span_context.h"
#include "object/elf_symbols.h"
#include "stoker/trace_context.h"
#include "trace_context_abi.h"
#include "span/trace_context_map.h"
#include "test.h"

static void test_hex(void)
{
	uint8_t span[8] = { 0x00, 0x01, 0x0a, 0x7f, 0x80, 0xab, 0xcd, 0xff };
	uint8_t trace[16];
	char out[33];

	span_id_hex(span, sizeof(span), out);
	CHECK_STR(out, "00010a7f80abcdff");
	memset(trace, 0, sizeof(trace));
	trace[15] = 0x42;
	span_id_hex(trace, sizeof(trace), out);
	CHECK_STR(out, "00000000000000000000000000000042");
	CHECK_INT(strlen(out), 32);
}

/* The agent's mirror of the ABI must match the public header byte for byte. */
static void test_layout_matches_public_header(void)
{
	CHECK_INT(sizeof(struct stoker_trace_ctx_v1), sizeof(struct stoker_span_ctx_v1));
	CHECK_INT(offsetof(struct stoker_trace_ctx_v1, valid), 4);
	CHECK_INT(offsetof(struct stoker_trace_ctx_v1, trace_id), 8);
	CHECK_INT(offsetof(struct stoker_trace_ctx_v1, span_id), 24);
	CHECK_INT(sizeof(struct stoker_trace_tp_offset_v1), sizeof(struct stoker_span_tp_offset));
	CHECK_INT(offsetof(struct stoker_trace_tp_offset_v1, tp_offset), 8);
	CHECK_U64(STOKER_TRACE_CTX_V1_MAGIC, STOKER_SPAN_ABI_V1_MAGIC);
	CHECK(!memcmp(&(uint64_t){ STOKER_TRACE_CTX_V1_MAGIC }, "STKTRC01", 8));
}

static void *other_thread(void *arg)
{
	uint8_t t[16] = { 1 }, s[8] = { 2 };
	uintptr_t *where = arg;

	stoker_trace_ctx_set(t, s);
	/* initial-exec: the same offset from every thread's own thread pointer */
	*where = (uintptr_t)stoker_trace_ctx__thread_pointer() +
		     (uintptr_t)stoker_trace_ctx_v1_tp_offset.tp_offset ==
		 (uintptr_t)&stoker_trace_ctx_v1;
	return NULL;
}

static void test_abi_set_clear(void)
{
	uint8_t t[16], s[8], gt[16], gs[8];
	uintptr_t same = 0;
	pthread_t th;

	memset(t, 0x11, sizeof(t));
	memset(s, 0xa1, sizeof(s));
	CHECK_INT(stoker_trace_ctx_get(gt, gs), 0);
	stoker_trace_ctx_set(t, s);
	CHECK_U64(stoker_trace_ctx_v1_tp_offset.magic, STOKER_TRACE_CTX_V1_MAGIC);
	CHECK_U64((uintptr_t)stoker_trace_ctx__thread_pointer() +
		      (uintptr_t)stoker_trace_ctx_v1_tp_offset.tp_offset,
		  (uintptr_t)&stoker_trace_ctx_v1);
	CHECK_INT(stoker_trace_ctx_v1.seq & 1, 0);
	CHECK_INT(stoker_trace_ctx_v1.seq, 2);
	CHECK_INT(stoker_trace_ctx_get(gt, gs), 1);
	CHECK(!memcmp(gt, t, 16) && !memcmp(gs, s, 8));
	stoker_trace_ctx_clear();
	CHECK_INT(stoker_trace_ctx_v1.seq, 4);
	CHECK_INT(stoker_trace_ctx_v1.valid, 0);
	CHECK_INT(pthread_create(&th, NULL, other_thread, &same), 0);
	pthread_join(th, NULL);
	CHECK(same);
}

struct published {
	int calls, pid;
	uint64_t addr;
};

static int record_publish(void *ctx, int pid, uint64_t addr)
{
	struct published *p = ctx;

	p->calls++;
	p->pid = pid;
	p->addr = addr;
	return 0;
}

static void test_locate_self(void)
{
	struct published pub = { 0 };
	struct obj_cache *objs = obj_cache__new(NULL);
	struct span_context_opts o = { .objs = objs, .publish = record_publish, .ctx = &pub };
	struct span_context *sc = span_context__new(&o);
	struct proc_cache *pc = proc_cache__new(NULL);
	struct span_context_stats st;
	struct proc_map *maps = NULL;
	uint64_t addr = 0;
	struct proc *p;
	int n;

	CHECK(sc && pc);
	if (!sc || !pc)
		goto out;
	n = proc_maps_read(getpid(), 8192, &maps);
	CHECK(n > 0);
	CHECK_INT(span_context__locate(sc, getpid(), maps, (size_t)n, &addr), 0);
	CHECK_U64(addr, (uintptr_t)&stoker_trace_ctx_v1_tp_offset);
	/* no mappings, no ABI */
	CHECK_INT(span_context__locate(sc, getpid(), maps, 0, &addr), -ENOENT);

	p = proc_cache__lookup(pc, getpid(), NULL);
	CHECK(p != NULL);
	if (!p)
		goto out;
	span_context__on_sample(sc, pc, p);
	CHECK_INT(pub.calls, 1);
	CHECK_INT(pub.pid, getpid());
	CHECK_U64(pub.addr, (uintptr_t)&stoker_trace_ctx_v1_tp_offset);
	span_context__on_sample(sc, pc, p); /* found: nothing more to do */
	CHECK_INT(pub.calls, 1);
	span_context__stats(sc, &st);
	CHECK_INT(st.procs_found, 1);
	CHECK_INT(st.scans, 1);
	span_context__forget(sc, getpid()); /* exec/exit: the BPF entry goes */
	CHECK_INT(pub.calls, 2);
	CHECK_U64(pub.addr, 0);
	span_context__forget(sc, getpid());
	CHECK_INT(pub.calls, 2);
out:
	free(maps);
	span_context__free(sc);
	proc_cache__free(pc);
	obj_cache__free(objs);
}

static void test_no_abi_in_a_file(void)
{
	struct elf_data_symbol ds;
	int fd = open("/bin/sh", O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(elf_find_data_symbol_fd(fd, SPAN_ABI_SYMBOL, 0, &ds), -ENOENT);
	close(fd);
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	CHECK_INT(elf_find_data_symbol_fd(fd, SPAN_ABI_SYMBOL, 0, &ds), -ENOEXEC);
	close(fd);
}

static void test_otel_layout(void)
{
	char why[256];

	CHECK(trace_context_map_layout_ok(1 /* HASH */, 8, 24, why, sizeof(why)));
	CHECK_STR(why, "");
	CHECK(trace_context_map_layout_ok(9 /* LRU_HASH */, 8, 24, why, sizeof(why)));
	CHECK(!trace_context_map_layout_ok(2 /* ARRAY */, 4, 8, why, sizeof(why)));
	CHECK(strstr(why, "expected a hash or lru_hash map with 8-byte keys") != NULL);
	CHECK(strstr(why, "found array (type 2) with 4-byte keys and 8-byte values") != NULL);
	CHECK(!trace_context_map_layout_ok(1, 8, 32, why, sizeof(why)));
	CHECK(strstr(why, "32-byte values") != NULL);
	CHECK(!trace_context_map_layout_ok(1, 4, 24, why, sizeof(why)));
}

int main(void)
{
	RUN_TEST(test_hex);
	RUN_TEST(test_layout_matches_public_header);
	RUN_TEST(test_abi_set_clear);
	RUN_TEST(test_locate_self);
	RUN_TEST(test_no_abi_in_a_file);
	RUN_TEST(test_otel_layout);
	return TEST_SUMMARY();
}

/* The applications' trace-context header used from C++ (the OpenTelemetry C++ SDK's language):
 * it compiles warning-free and set/get/clear behave as from C. */
#define STOKER_TRACE_CONTEXT_IMPLEMENTATION
#include <stoker/trace_context.h>

#include <cstdint>
#include <thread>

#include "test.h"

static void test_set_get_clear(void)
{
	uint8_t t[16], s[8], gt[16] = { 0 }, gs[8] = { 0 };

	for (int i = 0; i < 16; i++)
		t[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 8; i++)
		s[i] = (uint8_t)(0x10 + i);
	CHECK_INT(stoker_trace_ctx_get(gt, gs), 0);
	stoker_trace_ctx_set(t, s);
	CHECK_INT(stoker_trace_ctx_get(gt, gs), 1);
	CHECK(memcmp(gt, t, 16) == 0);
	CHECK(memcmp(gs, s, 8) == 0);
	CHECK_INT(stoker_trace_ctx_v1.seq % 2, 0); /* not left mid-write */
	/* what the agent reads: the thread pointer plus the published offset is the context */
	CHECK_U64(stoker_trace_ctx_v1_tp_offset.magic, STOKER_TRACE_CTX_V1_MAGIC);
	CHECK((char *)stoker_trace_ctx__thread_pointer() +
		  stoker_trace_ctx_v1_tp_offset.tp_offset ==
	      (char *)&stoker_trace_ctx_v1);
	stoker_trace_ctx_clear();
	CHECK_INT(stoker_trace_ctx_get(gt, gs), 0);
}

/* per thread: a span set on one thread is not seen on another */
static void test_per_thread(void)
{
	uint8_t t[16] = { 1 }, s[8] = { 2 }, gt[16], gs[8];
	int other = -1;

	stoker_trace_ctx_set(t, s);
	bool same_offset = false;
	std::thread th([&] {
		other = stoker_trace_ctx_get(gt, gs);
		same_offset = (char *)stoker_trace_ctx__thread_pointer() +
				  stoker_trace_ctx_v1_tp_offset.tp_offset ==
			      (char *)&stoker_trace_ctx_v1;
	});
	th.join();
	CHECK_INT(other, 0);
	CHECK(same_offset); /* one offset serves every thread */
	CHECK_INT(stoker_trace_ctx_get(gt, gs), 1);
	stoker_trace_ctx_clear();
}

int main(void)
{
	RUN_TEST(test_set_get_clear);
	RUN_TEST(test_per_thread);
	return TEST_SUMMARY();
}

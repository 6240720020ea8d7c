/* SPDX-License-Identifier: (Apache-2.0 OR MIT OR BSD-2-Clause) */
/* stoker trace-context ABI v1: lets an application tell the stoker profiler which trace span
 * each thread is running, so CPU samples taken inside a span carry its span_id and trace_id.
 *
 * Header-only C (C99 or later, also valid C++). Exactly ONE translation unit per process
 * defines the variables:
 *
 *     #define STOKER_TRACE_CONTEXT_IMPLEMENTATION
 *     #include <stoker/trace_context.h>
 *
 * every other file includes the header without the macro. Setting or clearing the span is a
 * handful of plain stores to a thread-local struct: no syscall, no lock, no allocation.
 *
 * How the profiler finds it: at each sample it reads the sampled thread's thread pointer, adds
 * the offset published in `stoker_trace_ctx_v1_tp_offset` (found by name in the ELF symbol
 * tables of the mapped objects) and reads the thread's `struct stoker_trace_ctx_v1` there.
 *
 * Layout, for FFI users (Rust, Go with cgo, Zig, ...) who define the two symbols themselves:
 *
 *   symbol `stoker_trace_ctx_v1`: thread-local (TLS model initial-exec, so its offset from the
 *   thread pointer is the same in every thread), 32 bytes, alignment 8, native byte order:
 *     offset  0  u32  seq        even when stable; the writer makes it odd before changing
 *                                anything and even again after (a seqlock)
 *     offset  4  u32  valid      1: trace_id/span_id are the running span; 0: no span
 *     offset  8  u8[16] trace_id W3C trace id, bytes in wire order (hex "4bf92f...")
 *     offset 24  u8[8]  span_id  W3C span id, bytes in wire order
 *
 *   symbol `stoker_trace_ctx_v1_tp_offset`: process-wide global, 16 bytes, alignment 8:
 *     offset  0  u64  magic      STOKER_TRACE_CTX_V1_MAGIC once tp_offset is valid, else 0
 *     offset  8  i64  tp_offset  (char *)&stoker_trace_ctx_v1 - (char *)thread_pointer,
 *                                written before magic
 *
 *   The thread pointer is what the kernel keeps as the thread's TLS base: %fs base on x86-64
 *   (__builtin_thread_pointer(), `mov %fs:0`), TPIDR_EL0 on arm64.
 *   Both symbols must have default visibility and be in .dynsym or .symtab of the object that
 *   defines them (a stripped executable keeps them only in .dynsym: link it with
 *   -Wl,--export-dynamic-symbol=stoker_trace_ctx_v1_tp_offset, or -rdynamic).
 *
 * Define the symbols once per process: if two shared objects both define them, the dynamic
 * linker binds every reference to the first one, and stoker uses the first object in the
 * process's address space that exports them. */
#ifndef STOKER_TRACE_CONTEXT_H
#define STOKER_TRACE_CONTEXT_H

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "STKTRC01" read as a little-endian u64 */
#define STOKER_TRACE_CTX_V1_MAGIC 0x31304352544b5453ull

struct stoker_trace_ctx_v1 {
	uint32_t seq;
	uint32_t valid;
	uint8_t trace_id[16];
	uint8_t span_id[8];
};

struct stoker_trace_tp_offset_v1 {
	uint64_t magic;
	int64_t tp_offset;
};

#if defined(__GNUC__) || defined(__clang__)
#define STOKER__TC_EXPORT __attribute__((visibility("default")))
#define STOKER__TC_IE	  __attribute__((tls_model("initial-exec")))
#define STOKER__TC_DEF	  __attribute__((used, weak))
#define STOKER__TC_COLD	  __attribute__((noinline, cold, unused))
#else
#error "stoker/trace_context.h needs GCC or Clang (TLS model and visibility attributes)"
#endif

/* __thread in C++ too: thread_local would route accesses through TLS init wrappers */
#define STOKER__TC_THREAD __thread

extern STOKER__TC_EXPORT STOKER__TC_IE
    STOKER__TC_THREAD struct stoker_trace_ctx_v1 stoker_trace_ctx_v1;
extern STOKER__TC_EXPORT struct stoker_trace_tp_offset_v1 stoker_trace_ctx_v1_tp_offset;

#ifdef STOKER_TRACE_CONTEXT_IMPLEMENTATION
/* used: kept even when nothing in this object sets a span yet (the agent looks them up);
 * weak: two static libraries that both carry the implementation merge into one definition at
 * link time instead of failing with a duplicate symbol */
STOKER__TC_EXPORT STOKER__TC_IE STOKER__TC_DEF
    STOKER__TC_THREAD struct stoker_trace_ctx_v1 stoker_trace_ctx_v1;
STOKER__TC_EXPORT STOKER__TC_DEF struct stoker_trace_tp_offset_v1 stoker_trace_ctx_v1_tp_offset;
#endif

static inline void *stoker_trace_ctx__thread_pointer(void)
{
#if defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
#define STOKER__TC_HAVE_TP 1
	return __builtin_thread_pointer();
#endif
#endif
#ifndef STOKER__TC_HAVE_TP
#if defined(__x86_64__)
	void *tp;

	__asm__("mov %%fs:0, %0" : "=r"(tp)); /* the TCB points at itself (glibc, musl) */
	return tp;
#elif defined(__aarch64__)
	void *tp;

	__asm__("mrs %0, tpidr_el0" : "=r"(tp));
	return tp;
#else
#error "stoker/trace_context.h: no thread pointer on this architecture"
#endif
#endif
}

/* Publishes the TLS offset; runs once per process (racing threads all store the same
 * values). Out of line so the fast paths below stay small. */
static STOKER__TC_COLD void stoker_trace_ctx__publish(void)
{
	int64_t off =
	    (int64_t)((char *)&stoker_trace_ctx_v1 - (char *)stoker_trace_ctx__thread_pointer());

	__atomic_store_n(&stoker_trace_ctx_v1_tp_offset.tp_offset, off, __ATOMIC_RELAXED);
	/* release: a reader that sees the magic sees the offset */
	__atomic_store_n(&stoker_trace_ctx_v1_tp_offset.magic, STOKER_TRACE_CTX_V1_MAGIC,
			 __ATOMIC_RELEASE);
}

/* Makes the span (trace_id: 16 bytes, span_id: 8 bytes) the calling thread's running span.
 * Async-signal-safe; the profiler interrupts the thread at any instruction, so the stores are
 * ordered for an observer on the same CPU by compiler fences, bracketed by the odd seq. */
static inline void stoker_trace_ctx_set(const uint8_t trace_id[16], const uint8_t span_id[8])
{
	struct stoker_trace_ctx_v1 *c = &stoker_trace_ctx_v1;
	uint32_t seq = c->seq;

	if (__builtin_expect(__atomic_load_n(&stoker_trace_ctx_v1_tp_offset.magic,
					     __ATOMIC_RELAXED) != STOKER_TRACE_CTX_V1_MAGIC,
			     0))
		stoker_trace_ctx__publish();
	__atomic_store_n(&c->seq, seq | 1u, __ATOMIC_RELAXED); /* odd: writing */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	memcpy(c->trace_id, trace_id, 16);
	memcpy(c->span_id, span_id, 8);
	c->valid = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&c->seq, (seq | 1u) + 1u, __ATOMIC_RELAXED); /* even: stable */
}

/* The calling thread runs no span from now on. */
static inline void stoker_trace_ctx_clear(void)
{
	struct stoker_trace_ctx_v1 *c = &stoker_trace_ctx_v1;
	uint32_t seq = c->seq;

	__atomic_store_n(&c->seq, seq | 1u, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	c->valid = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&c->seq, (seq | 1u) + 1u, __ATOMIC_RELAXED);
}

/* The calling thread's running span, for saving before a child span and restoring after it
 * (OnStart/OnEnd of a span processor). Returns 1 with the ids copied out, 0 when none. */
static inline int stoker_trace_ctx_get(uint8_t trace_id[16], uint8_t span_id[8])
{
	const struct stoker_trace_ctx_v1 *c = &stoker_trace_ctx_v1;

	if (!c->valid)
		return 0;
	memcpy(trace_id, c->trace_id, 16);
	memcpy(span_id, c->span_id, 8);
	return 1;
}

#ifdef __cplusplus
}
#endif

#endif /* STOKER_TRACE_CONTEXT_H */

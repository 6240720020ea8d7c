/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The BPF sampler's counters, one row each: the row gives the `stats` map index (enum
 * stoker_stat) and how the agent reports the counter, so a counter is added in one place. */
#ifndef STOKER_SAMPLER_COUNTERS_H
#define STOKER_SAMPLER_COUNTERS_H

/*
 * X(ID, name, TYPE, UNIT, help, LINE, fragment)
 *
 * ID        the map index is STOKER_STAT_<ID>; bpf/sampler.bpf.c increments it per CPU, the agent
 *           sums the CPUs (sampler__read_stats) and reports the sum
 * name      the /metrics name after "stoker_"; counters end in _total
 * TYPE      COUNTER (only grows) or GAUGE
 * UNIT      COUNT, BYTES or NS (agent/ops/counters.h says how each is shown)
 * help      the /metrics HELP text
 * LINE      the exit summary line the counter is printed on (NONE: /metrics only)
 * fragment  its text on that line: one conversion for the value, led by the separator from
 *           the previous fragment (the first on a line has none); NULL with LINE NONE
 *
 * Rows print in this order within a line, before the agent's own rows. Every row here counts
 * events on the sampling path; none may be dropped without a row saying so.
 */
#define STOKER_SAMPLER_COUNTERS(X)                                                                 \
	X(SAMPLES, "samples_recorded_total", COUNTER, COUNT, "Samples the BPF program wrote.",     \
	  SAMPLES, "%llu recorded")                                                                \
	X(DROP_RINGBUF_FULL, "samples_dropped_ringbuf_full_total", COUNTER, COUNT,                 \
	  "Samples lost: ring buffer full.", SAMPLES, ", %llu dropped (ring buffer full)")         \
	X(SKIPPED_IDLE, "samples_skipped_idle_total", COUNTER, COUNT,                              \
	  "Samples of the idle task skipped in BPF (not an error).", NONE, NULL)                   \
	X(SKIPPED_FILTER, "samples_skipped_filter_total", COUNTER, COUNT,                          \
	  "Samples of processes outside --pid or dropped by relabel rules, skipped in BPF.", NONE, \
	  NULL)                                                                                    \
	X(USTACK_ERRORS, "user_stack_errors_total", COUNTER, COUNT,                                \
	  "Samples whose frame-pointer user stack could not be read.", SAMPLES,                    \
	  ", %llu user stack errors")                                                              \
	X(KSTACK_ERRORS, "kernel_stack_errors_total", COUNTER, COUNT,                              \
	  "Samples whose kernel stack could not be read.", SAMPLES, ", %llu kernel stack errors")  \
	X(EVENTS_DROPPED, "process_events_dropped_total", COUNTER, COUNT,                          \
	  "exec/exit events lost.", SAMPLES, ", %llu exec/exit events lost")                       \
	X(UNWIND_FRAMES_TABLE, "unwind_frames_table_total", COUNTER, COUNT,                        \
	  "User frames found through unwind tables.", UNWIND, "%llu user frames by table")         \
	X(UNWIND_FRAMES_FP, "unwind_frames_fp_total", COUNTER, COUNT,                              \
	  "User frames found through frame pointers.", UNWIND, ", %llu by frame pointer")          \
	X(UNWIND_TRUNCATED, "unwind_stacks_truncated_total", COUNTER, COUNT,                       \
	  "Table walks stopped before the outermost frame.", UNWIND, "; %llu stacks truncated")    \
	X(UNWIND_TABLE_MISSES, "unwind_table_misses_total", COUNTER, COUNT,                        \
	  "PCs in a file with a table but no row.", UNWIND, ", %llu table misses")                 \
	X(UNWIND_PENDING, "unwind_samples_pending_total", COUNTER, COUNT,                          \
	  "Samples taken before the process's tables loaded.", UNWIND,                             \
	  ", %llu samples before tables loaded")                                                   \
	X(UNWIND_VMA, "unwind_samples_vma_total", COUNTER, COUNT,                                  \
	  "Samples of processes not yet registered, walked through the kernel's VMAs.", UNWIND,    \
	  ", %llu walked through kernel VMAs before registration")                                 \
	X(UNWIND_IN_EXEC, "unwind_samples_in_exec_total", COUNTER, COUNT,                          \
	  "Samples inside execve before the new program ran: kernel stack only (the user "         \
	  "registers were the replaced program's).",                                               \
	  UNWIND, ", %llu inside execve")                                                          \
	X(UNWIND_NO_REGS, "unwind_samples_no_regs_total", COUNTER, COUNT,                          \
	  "Samples whose user registers were unavailable.", UNWIND,                                \
	  ", %llu without user registers")                                                         \
	X(PY_STACKS, "python_stacks_walked_total", COUNTER, COUNT,                                 \
	  "Samples of Python threads whose interpreter frames were walked.", PYTHON,               \
	  "%llu stacks walked")                                                                    \
	X(PY_FRAMES, "python_frames_walked_total", COUNTER, COUNT,                                 \
	  "Interpreter frames read in BPF.", PYTHON, ", %llu frames")                              \
	X(PY_TRUNCATED, "python_stacks_truncated_total", COUNTER, COUNT,                           \
	  "Python stacks cut by the frame limit or an unreadable frame.", PYTHON,                  \
	  ", %llu cut short")                                                                      \
	X(PY_WALK_FAILED, "python_walks_failed_total", COUNTER, COUNT,                             \
	  "Samples of Python threads whose thread state could not be read: native stack only.",    \
	  PYTHON, ", %llu failed")                                                                 \
	X(PY_DROPPED, "python_stacks_dropped_total", COUNTER, COUNT,                               \
	  "Python stacks lost: ring buffer full.", PYTHON, ", %llu dropped")                       \
	X(PY_NO_THREAD_STATE, "python_samples_no_thread_state_total", COUNTER, COUNT,              \
	  "Samples of threads of Python processes without a thread state (not an error).", NONE,   \
	  NULL)

/* Indexes of the per-CPU `stats` array map. (clang-format cannot tell the list expands to
 * enumerators.) */
/* clang-format off */
enum stoker_stat {
#define STOKER_STAT_ENUM(id, ...) STOKER_STAT_##id,
	STOKER_SAMPLER_COUNTERS(STOKER_STAT_ENUM)
#undef STOKER_STAT_ENUM
	STOKER_STAT_MAX,
};
/* clang-format on */

#endif /* STOKER_SAMPLER_COUNTERS_H */
